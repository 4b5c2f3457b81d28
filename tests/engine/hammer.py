"""A client process for the process tests: small writes as fast as it can for a while.

``python hammer.py HOME PROJECT_ID WORKER SECONDS OUT.json`` writes comments with idempotency
keys and records which were acknowledged and which were in flight when the engine went away.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path

from studio.engine import Client, Home
from studio.errors import EngineUnavailable


async def main(home: str, project_id: str, worker: str, seconds: float, out: str) -> None:
    acked: dict[str, str] = {}
    uncertain: list[str] = []
    deadline = time.monotonic() + seconds
    n = 0
    async with Client(Home.resolve(home), autostart=False) as client:
        while time.monotonic() < deadline:
            key = f"{worker}-{n}"
            n += 1
            try:
                comment = await client.add_comment(
                    project_id, key, author=f"w{worker}", idempotency_key=key
                )
                acked[key] = comment.id
            except EngineUnavailable:
                uncertain.append(key)
                await asyncio.sleep(0.05)
    Path(out).write_text(json.dumps({"acked": acked, "uncertain": uncertain}))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4]), sys.argv[5]))
