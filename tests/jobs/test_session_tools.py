"""The session's tools against a real store."""

from __future__ import annotations

import asyncio
from pathlib import Path
from types import SimpleNamespace

import pytest

from studio.jobs._session import _Tools
from studio.model import OwnerKind, Project, Scene, SceneAction, SceneState, Take, TakeKind
from studio.store import Database, StoreWorker


def test_a_scene_action_that_the_store_runs_twice_keeps_its_take(tmp_path: Path) -> None:
    """The store may run a write twice (its batch rolled back for another write's failure):
    approving an image take must approve that take on the second run too."""
    worker = StoreWorker(Database(tmp_path / "s.duckdb"))
    with worker.db.transaction() as tx:
        project = tx.projects.insert(Project(name="p"))
        scene = tx.scenes.insert(Scene(project_id=project.id, index=0, start=0, end=1))
        take = tx.takes.add(
            Take(project_id=project.id, owner_kind=OwnerKind.SCENE, owner_id=scene.id,
                 kind=TakeKind.IMAGE, asset_sha256="a" * 64)
        )  # fmt: skip
        scene = tx.scenes.save(
            scene.apply(SceneAction.APPROVE_TEXT), expected_revision=scene.revision
        )
        scene = tx.scenes.save(
            scene.apply(SceneAction.ADD_IMAGE, take=take), expected_revision=scene.revision
        )
    tools = _Tools(SimpleNamespace(store=worker, publish=lambda *a: None), project.id, 1)  # type: ignore[arg-type]

    def failing(tx: object) -> None:
        raise OSError("the other write of the batch fails")

    async def both() -> Scene:
        approving = asyncio.ensure_future(
            tools.act(scene, SceneAction.APPROVE_IMAGE, take_id=take.id)
        )
        await asyncio.sleep(0)  # its write is in the batch now
        with pytest.raises(OSError):
            await worker.write(failing)
        return await approving

    try:
        approved = asyncio.run(both())
    finally:
        worker.close()
    assert approved.state is SceneState.IMAGE_APPROVED
    assert approved.image_take_id == take.id
