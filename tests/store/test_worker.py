from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from studio.errors import Conflict
from studio.model import Comment, Project
from studio.store import Database, StoreWorker, Tx


def test_concurrent_writes_are_grouped_and_a_failure_is_isolated(tmp_path: Path) -> None:
    worker = StoreWorker(Database(tmp_path / "s.duckdb"))

    async def main() -> list[object]:
        project = await worker.write(lambda tx: tx.projects.insert(Project(name="p")))

        def add(n: int) -> object:
            def op(tx: Tx) -> Comment:
                if n == 13:
                    tx.comments.insert(
                        Comment(
                            project_id=project.id, target_id=project.id, author="x", body="half"
                        )
                    )
                    raise Conflict("unlucky")
                return tx.comments.insert(
                    Comment(project_id=project.id, target_id=project.id, author="x", body=str(n))
                )

            return op

        return await asyncio.gather(
            *(worker.write(add(n)) for n in range(60)), return_exceptions=True
        )

    results = asyncio.run(main())
    failures = [r for r in results if isinstance(r, BaseException)]
    assert len(failures) == 1 and isinstance(failures[0], Conflict)
    bodies = sorted(
        int(c.body) for c in worker.db.read().comments.list(worker.db.read().projects.all()[0].id)
    )
    assert bodies == [n for n in range(60) if n != 13]  # the failing write's half is gone
    assert worker.commits < worker.writes  # writes were grouped into fewer commits
    worker.close()


def test_reads_see_committed_writes(tmp_path: Path) -> None:
    worker = StoreWorker(Database(tmp_path / "s.duckdb"))

    async def main() -> int:
        await worker.write(lambda tx: tx.projects.insert(Project(name="p")))
        return len(await worker.read(lambda tx: tx.projects.all()))

    assert asyncio.run(main()) == 1
    worker.close()
    with pytest.raises(Exception, match="closed"):
        asyncio.run(worker.read(lambda tx: None))
