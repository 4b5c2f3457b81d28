from __future__ import annotations

from pathlib import Path

import pytest

from studio.errors import Conflict, MigrationError, NotFound
from studio.model import Comment, Project, Scene, Session, Spend, Take, Turn
from studio.store import SCHEMA_VERSION, Database


@pytest.fixture
def db(tmp_path: Path) -> Database:
    return Database(tmp_path / "store.duckdb")


def _take(p: Project, owner: str, sha: str = "b" * 64) -> Take:
    return Take(project_id=p.id, owner_kind="scene", owner_id=owner, kind="image", asset_sha256=sha)  # type: ignore[arg-type]


def test_project_names_are_unique_regardless_of_case(db: Database) -> None:
    with db.transaction() as tx:
        p = tx.projects.insert(Project(name="Night Drive"))
    with pytest.raises(Conflict, match="exists already"), db.transaction() as tx:
        tx.projects.insert(Project(name="night drive"))
    assert db.read().projects.resolve("NIGHT DRIVE").id == p.id
    assert db.read().projects.resolve(p.id).name == "Night Drive"
    with pytest.raises(NotFound, match="studio list"):
        db.read().projects.resolve("Day Drive")


def test_a_failed_transaction_leaves_nothing(db: Database) -> None:
    with pytest.raises(RuntimeError), db.transaction() as tx:
        tx.projects.insert(Project(name="half"))
        raise RuntimeError("boom")
    assert db.read().projects.all() == []


def test_scene_writes_refuse_a_stale_revision(db: Database) -> None:
    with db.transaction() as tx:
        p = tx.projects.insert(Project(name="p"))
        s = tx.scenes.insert(Scene(project_id=p.id, index=0, start=0, end=1))
    first = s.apply("approve_text")
    with db.transaction() as tx:
        tx.scenes.save(first, expected_revision=s.revision)
    second = s.apply("edit", prompt="someone else's edit")
    with pytest.raises(Conflict, match="changed meanwhile"), db.transaction() as tx:
        tx.scenes.save(second, expected_revision=s.revision)
    assert db.read().scenes.get(s.id).state.value == "text_approved"


def test_take_history_is_never_overwritten(db: Database) -> None:
    with db.transaction() as tx:
        p = tx.projects.insert(Project(name="p"))
        owner = "scn_00000000000000000001"
        v1 = tx.takes.add(_take(p, owner, "1" * 64))
        v2 = tx.takes.add(_take(p, owner, "2" * 64))
        other = tx.takes.add(_take(p, "scn_00000000000000000002"))
    assert (v1.version, v2.version, other.version) == (1, 2, 1)
    with pytest.raises(Conflict, match="never changed"), db.transaction() as tx:
        tx.takes.replace(v1.model_copy(update={"asset_sha256": "3" * 64}))
    history = db.read().takes.of(owner)
    assert [(t.version, t.asset_sha256) for t in history] == [(1, "1" * 64), (2, "2" * 64)]


def test_the_rows_of_several_projects_come_in_one_read(db: Database) -> None:
    with db.transaction() as tx:
        a, b, c = (tx.projects.insert(Project(name=n)) for n in "abc")
        for p, owner in [(c, "scn_3"), (a, "scn_2"), (b, "scn_9"), (a, "scn_1"), (a, "scn_2")]:
            tx.takes.add(_take(p, owner))
    read = db.read()
    found = read.takes.list_in([a.id, c.id])
    # the order of one project's list: by owner, kind and version
    assert [(t.project_id, t.owner_id, t.version) for t in found] == [
        (a.id, "scn_1", 1), (a.id, "scn_2", 1), (a.id, "scn_2", 2), (c.id, "scn_3", 1),
    ]  # fmt: skip
    assert found == read.takes.list_in([c.id, a.id])
    assert read.takes.list_in([]) == [] and read.moods.list_in([a.id]) == []


def test_deleting_a_project_removes_its_rows_only(db: Database) -> None:
    with db.transaction() as tx:
        a = tx.projects.insert(Project(name="a"))
        b = tx.projects.insert(Project(name="b"))
        for p in (a, b):
            s = tx.scenes.insert(Scene(project_id=p.id, index=0, start=0, end=1))
            tx.takes.add(_take(p, s.id))
    with db.transaction() as tx:
        tx.delete_project(a.id)
    read = db.read()
    assert [p.name for p in read.projects.all()] == ["b"]
    assert read.scenes.list(a.id) == [] and len(read.scenes.list(b.id)) == 1
    assert read.takes.list(a.id) == [] and len(read.takes.list(b.id)) == 1


def test_a_store_made_by_migration_1_opens_at_the_latest_version(tmp_path: Path) -> None:
    path = tmp_path / "old.duckdb"
    old = Database(path, migrate_to=1)
    assert old.version == 1
    with old.transaction() as tx:
        p = tx.projects.insert(Project(name="Made in v1"))
        s = tx.scenes.insert(Scene(project_id=p.id, index=0, start=0, end=2, prompt="kept"))
    old.close()
    new = Database(path)
    assert new.version == SCHEMA_VERSION == 4
    assert new.read().projects.get(p.id).name == "Made in v1"
    assert new.read().scenes.get(s.id).prompt == "kept"
    with new.transaction() as tx:  # the tables migration 2 added work
        tx.idempotency.put("k", {"ok": 1})
        tx.stages.put("fp", "job", "stage", {"sha256": None})
    assert new.read().idempotency.find("k") == {"ok": 1}
    with new.transaction() as tx:  # and those of migration 3
        ses = tx.sessions.insert(Session(project_id=p.id))
        tx.turns.insert(Turn(project_id=p.id, session_id=ses.id, index=0, role="user", text="hi"))
        tx.ledger.insert(Spend(project_id=p.id, stage="image", provider="x", usd=0.5))
    assert [t.text for t in new.read().turns.of(ses.id)] == ["hi"]
    assert new.read().ledger.committed(p.id) == 0.5


def test_a_store_from_a_newer_studio_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "future.duckdb"
    db = Database(path)
    db.read()._conn.execute("INSERT INTO schema_version VALUES (99, now()::TIMESTAMP, 'future')")
    db.close()
    with pytest.raises(MigrationError, match="schema version 99") as err:
        Database(path)
    assert err.value.hint == "upgrade the studio package to open it"


def test_the_store_connection_is_offline(db: Database) -> None:
    row = (
        db.read()
        ._conn.execute(
            "SELECT current_setting('autoinstall_known_extensions'), "
            "current_setting('autoload_known_extensions')"
        )
        .fetchone()
    )
    assert row == (False, False)


def test_rows_of_an_unknown_project_are_refused(db: Database) -> None:
    ghost = "prj_00000000000000000000"
    with pytest.raises(NotFound, match=f"no project has the id {ghost}"), db.transaction() as tx:
        tx.scenes.insert(Scene(project_id=ghost, index=0, start=0, end=1))
    with pytest.raises(NotFound), db.transaction() as tx:
        tx.takes.add(
            Take(
                project_id=ghost,
                owner_kind="scene",
                owner_id="x",
                kind="image",
                asset_sha256="c" * 64,
            )
        )  # type: ignore[arg-type]
    assert db.read().scenes.list(ghost) == [] and db.read().takes.list(ghost) == []


def test_a_project_created_in_a_rolled_back_transaction_is_not_known(db: Database) -> None:
    with pytest.raises(RuntimeError), db.transaction() as tx:
        p = tx.projects.insert(Project(name="never"))
        tx.scenes.insert(Scene(project_id=p.id, index=0, start=0, end=1))  # fine inside
        raise RuntimeError("roll back")
    with pytest.raises(NotFound), db.transaction() as tx:
        tx.scenes.insert(Scene(project_id=p.id, index=0, start=0, end=1))


def test_a_write_after_a_delete_in_the_same_transaction_is_refused(db: Database) -> None:
    with db.transaction() as tx:
        p = tx.projects.insert(Project(name="doomed"))
    with db.transaction() as tx:
        tx.scenes.insert(Scene(project_id=p.id, index=0, start=0, end=1))  # p is known now
    with pytest.raises(NotFound), db.transaction() as tx:
        tx.delete_project(p.id)
        tx.comments.insert(Comment(project_id=p.id, target_id=p.id, author="a", body="orphan"))
    with db.transaction() as tx:  # the delete itself, alone, goes through
        tx.delete_project(p.id)
    with pytest.raises(NotFound), db.transaction() as tx:
        tx.comments.insert(Comment(project_id=p.id, target_id=p.id, author="a", body="orphan"))
    assert db.read().comments.list(p.id) == []
