"""The library's entries, read for many projects at once."""

from __future__ import annotations

from pathlib import Path

from studio.engine._app import library_items
from studio.model import Character, Mood, Project, Render, RenderStatus, Take
from studio.store import Database


def _picture(p: Project, owner: str, kind: str, sha: str | None, **more: object) -> Take:
    return Take(
        project_id=p.id, owner_kind=kind, owner_id=owner, kind="image", asset_sha256=sha,
        media_type="image/png", **more,
    )  # type: ignore[arg-type]  # fmt: skip


def test_each_project_asked_gives_its_entries_and_no_other(tmp_path: Path) -> None:
    db = Database(tmp_path / "store.duckdb")
    with db.transaction() as tx:
        night, summer, hidden = (
            tx.projects.insert(Project(name=n)) for n in ("Night", "Summer", "Hidden")
        )
        tx.characters.insert(
            Character(project_id=night.id, name="Driver", reference_assets=["a" * 64])
        )
        rain = tx.moods.insert(Mood(project_id=night.id, name="Rain"))
        tx.moods.insert(Mood(project_id=summer.id, name="Sun"))
        tx.takes.add(_picture(night, rain.id, "mood", None, status="failed", error="offline"))
        tx.takes.add(_picture(night, rain.id, "mood", "1" * 64))  # its first picture
        tx.takes.add(_picture(night, rain.id, "mood", "2" * 64))
        tx.takes.add(_picture(summer, "scn_1", "scene", "3" * 64, inputs={"prompt": "a beach"}))
        tx.takes.add(_picture(hidden, "scn_2", "scene", "4" * 64))
        tx.renders.insert(
            Render(project_id=summer.id, status=RenderStatus.SUCCEEDED, asset_sha256="5" * 64)
        )
        tx.renders.insert(Render(project_id=summer.id))  # not finished: not in the library
    tx = db.read()
    items = library_items(tx, [tx.projects.get(night.id), tx.projects.get(summer.id)])
    by_name = {(i["kind"], i["name"]): i for i in items}
    assert set(by_name) == {
        ("character", "Driver"), ("mood", "Rain"), ("mood", "Sun"), ("image", "image v1"),
        ("render", "16:9 1080p mp4"),
    }  # fmt: skip
    assert by_name["mood", "Rain"]["sha256"] == "1" * 64
    assert by_name["mood", "Sun"]["sha256"] is None
    beach = by_name["image", "image v1"]
    assert (beach["project_name"], beach["sha256"]) == ("Summer", "3" * 64)
    assert "a beach" in beach["text"] and "Summer" in beach["text"]
    assert by_name["character", "Driver"]["project_id"] == night.id
    assert library_items(tx, []) == []
