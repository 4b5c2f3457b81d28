"""A load process for the benchmarks: ``python -m benchmarks._writer MODE HOME TARGET SECONDS``.

MODE ``engine``: small writes (comments) through the studio client, as fast as it can.
MODE ``per-write``: open the DuckDB file, write, close, for every write, retrying on the lock
(the design the engine replaced). Prints how many writes were acknowledged.
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

from studio.engine import Client, Home
from studio.errors import StoreError
from studio.model import Comment
from studio.store import Database


async def engine_writes(home: str, project_id: str, seconds: float) -> int:
    done = 0
    deadline = time.monotonic() + seconds
    async with Client(Home.resolve(home), autostart=False) as client:
        while time.monotonic() < deadline:
            await client.add_comment(project_id, f"w{done}", author="bench")
            done += 1
    return done


def per_write(path: str, project_id: str, seconds: float) -> int:
    done = 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            db = Database(Path(path))
        except StoreError:
            time.sleep(0.001)
            continue
        try:
            with db.transaction() as tx:
                tx.comments.insert(
                    Comment(project_id=project_id, target_id=project_id, author="bench", body="x")
                )
            done += 1
        finally:
            db.read()._conn.close()
    return done


if __name__ == "__main__":
    mode, home, target, seconds = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
    if mode == "engine":
        print(asyncio.run(engine_writes(home, target, seconds)))
    else:
        print(per_write(home, target, seconds))
