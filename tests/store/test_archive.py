from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from studio.errors import Conflict, InvalidInput
from studio.model import Comment, Mood, Project, Scene, Take, Timeline, TimelineClip, fingerprint
from studio.store import (
    AssetStore,
    Database,
    ProjectSnapshot,
    read_archive,
    restore,
    snapshot,
    write_archive,
)


def _project(db: Database, assets: AssetStore) -> ProjectSnapshot:
    image, _ = assets.put_bytes(b"\x89PNG an image")
    clip, _ = assets.put_bytes(b"an mp4 clip" * 1000)
    with db.transaction() as tx:
        p = tx.projects.insert(
            Project(name="Café ☕ Nights", brief={"text": "neon, rain", "style": "noir"})
        )  # type: ignore[arg-type]
        mood = tx.moods.insert(Mood(project_id=p.id, name="Rain", palette=["#101820", "#f2aa4c"]))
        s = tx.scenes.insert(
            Scene(project_id=p.id, index=0, start=0, end=2, prompt="wet street", mood_id=mood.id)
        )
        tx.assets.add(image, 14, "image/png")
        tx.assets.add(clip, 11000, "video/mp4")
        t = tx.takes.add(
            Take(
                project_id=p.id,
                owner_kind="scene",
                owner_id=s.id,
                kind="image",
                asset_sha256=image,
                fingerprint=fingerprint(s.image_inputs()),
            )
        )  # type: ignore[arg-type]
        tx.takes.add(
            Take(project_id=p.id, owner_kind="scene", owner_id=s.id, kind="clip", asset_sha256=clip)
        )  # type: ignore[arg-type]
        tx.scenes.replace(s.apply("approve_text").apply("add_image", take=t))
        tx.timelines.put(
            Timeline(
                project_id=p.id,
                duration=2,
                clips=[TimelineClip(scene_id=s.id, take_id=t.id, start=0, duration=2)],
            ),
            expected_revision=None,
        )
        tx.comments.insert(
            Comment(
                project_id=p.id, target_id=s.id, target_kind="scene", author="Ana", body="lovely"
            )
        )  # type: ignore[arg-type]
    return snapshot(db.read(), p.id)


def _stores(root: Path) -> tuple[Database, AssetStore]:
    return Database(root / "store.duckdb"), AssetStore(root / "assets")


def test_export_then_import_elsewhere_is_equal(tmp_path: Path) -> None:
    db, assets = _stores(tmp_path / "a")
    original = _project(db, assets)
    archive = write_archive(original, assets, tmp_path / "out.studio.zip")
    db2, assets2 = _stores(tmp_path / "b")
    checked = read_archive(archive, assets2, max_bytes=1 << 30)
    with db2.transaction() as tx:
        restore(tx, checked)
    again = snapshot(db2.read(), original.project.id)
    assert again == original
    assert all(assets2.verify(a.sha256) for a in again.assets)
    assert len(again.assets) == 2


def test_importing_twice_is_a_conflict_that_changes_nothing(tmp_path: Path) -> None:
    db, assets = _stores(tmp_path / "a")
    original = _project(db, assets)
    archive = write_archive(original, assets, tmp_path / "out.zip")
    checked = read_archive(archive, assets, max_bytes=1 << 30)
    with pytest.raises(Conflict, match="already in this store"), db.transaction() as tx:
        restore(tx, checked)
    assert snapshot(db.read(), original.project.id) == original


def _rewrite(src: Path, dest: Path, edit: object) -> Path:
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dest, "w") as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            result = edit(info.filename, data)  # type: ignore[operator]
            if result is not None:
                zout.writestr(result[0], result[1])
    return dest


def _manifest_edit(change: object) -> object:
    def edit(name: str, data: bytes) -> tuple[str, bytes]:
        if name == "manifest.json":
            doc = json.loads(data)
            change(doc)  # type: ignore[operator]
            return name, json.dumps(doc).encode()
        return name, data

    return edit


def _bad_archives(good: Path, tmp: Path, original: ProjectSnapshot) -> dict[str, tuple[Path, str]]:
    other_sha = "f" * 64
    truncated = tmp / "truncated.zip"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    text = tmp / "text.zip"
    text.write_text("not a zip at all")
    return {
        "truncated": (truncated, "not a zip file or it is cut short"),
        "not a zip": (text, "not a zip file"),
        "path traversal": (
            _rewrite(
                good,
                tmp / "trav.zip",
                lambda n, d: (f"../../{n}" if n.startswith("assets/") else n, d),
            ),
            "unexpected entry '../../assets/",
        ),
        "extra file": (
            _rewrite(
                good, tmp / "extra.zip", lambda n, d: ("evil.py" if n == "manifest.json" else n, d)
            ),
            "unexpected entry 'evil.py'",
        ),
        "asset swapped": (
            _rewrite(
                good,
                tmp / "swap.zip",
                lambda n, d: (n, b"other bytes" if n.startswith("assets/") else d),
            ),
            "does not match its hash",
        ),
        "asset missing": (
            _rewrite(
                good, tmp / "miss.zip", lambda n, d: None if n.startswith("assets/") else (n, d)
            ),
            "is listed but not included",
        ),
        "manifest invalid": (
            _rewrite(
                good, tmp / "inv.zip", _manifest_edit(lambda doc: doc["scenes"][0].update(end=-1))
            ),
            "manifest is invalid at scenes.0.end",
        ),
        "manifest not json": (
            _rewrite(
                good, tmp / "nj.zip", lambda n, d: (n, b"{nope" if n == "manifest.json" else d)
            ),
            "manifest cannot be read",
        ),
        "foreign row": (
            _rewrite(
                good,
                tmp / "for.zip",
                _manifest_edit(
                    lambda doc: doc["comments"][0].update(project_id="prj_00000000000000000009")
                ),
            ),
            "belongs to another project",
        ),
        "unlisted asset ref": (
            _rewrite(
                good,
                tmp / "ref.zip",
                _manifest_edit(lambda doc: doc["takes"][0].update(asset_sha256=other_sha)),
            ),
            "does not list",
        ),
    }


def test_corrupt_archives_are_refused_and_change_nothing(tmp_path: Path) -> None:
    db, assets = _stores(tmp_path / "a")
    original = _project(db, assets)
    good = write_archive(original, assets, tmp_path / "good.zip")
    db2, assets2 = _stores(tmp_path / "b")
    for case, (path, why) in _bad_archives(good, tmp_path, original).items():
        with pytest.raises(InvalidInput) as err:
            read_archive(path, assets2, max_bytes=1 << 30)
        assert why in err.value.message, case
        assert err.value.hint == "export the project again with `studio export`", case
        assert db2.read().projects.all() == [], case


def test_an_archive_over_the_size_limit_is_refused(tmp_path: Path) -> None:
    db, assets = _stores(tmp_path / "a")
    good = write_archive(_project(db, assets), assets, tmp_path / "good.zip")
    with pytest.raises(InvalidInput, match="over the limit of 1,000"):
        read_archive(good, AssetStore(tmp_path / "b"), max_bytes=1000)


def test_export_never_leaves_a_half_archive(tmp_path: Path) -> None:
    db, assets = _stores(tmp_path / "a")
    snap = _project(db, assets)
    assets.path(snap.assets[0].sha256).unlink()
    with pytest.raises(InvalidInput, match="missing from the store"):
        write_archive(snap, assets, tmp_path / "out" / "p.zip")
    assert list((tmp_path / "out").iterdir()) == []
