"""Engine round trips and sustained writes, beside two references measured in the same run.

    python -m benchmarks.engine_roundtrip [--seconds 8] [--samples 1000]

- latency: a small read (one project) and a small write (one comment) through the studio
  client over the engine's Unix socket, sequentially: p50 and p99.
- throughput: writes/s acknowledged by the engine with 1, 4 and 8 client processes.
- references, run side by side on the same machine in the same run (shared machines are noisy,
  so what counts are the ratios): (1) the floor: one process committing single-row transactions
  straight into a DuckDB file, no engine; (2) what the engine replaced: 4 processes that each
  open the DuckDB file for every write and retry on its lock.

Results go to stdout as a Markdown table and to benchmarks/results/engine_roundtrip.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from studio.engine import Client, EngineInfo, Home, find_engine, spawn_engine, stop_engine
from studio.model import Comment, Project
from studio.store import Database

RESULTS = Path(__file__).with_name("results") / "engine_roundtrip.json"


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _start_engine(home: Home) -> EngineInfo:
    spawn_engine(home)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        info = find_engine(home)
        if info is not None:
            return info
        time.sleep(0.05)
    raise RuntimeError("the engine did not start")


async def _latency(home: Home, samples: int) -> dict[str, float]:
    async with Client(home, autostart=False) as c:
        project = await c.create_project("latency")
        for _ in range(50):  # warm up
            await c.get_project(project.id)
        reads, writes = [], []
        for i in range(samples):
            t = time.perf_counter()
            await c.get_project(project.id)
            reads.append(time.perf_counter() - t)
            t = time.perf_counter()
            await c.add_comment(project.id, f"c{i}", author="bench")
            writes.append(time.perf_counter() - t)
    ms = 1000.0
    return {
        "read_p50_ms": statistics.median(reads) * ms,
        "read_p99_ms": _percentile(reads, 0.99) * ms,
        "write_p50_ms": statistics.median(writes) * ms,
        "write_p99_ms": _percentile(writes, 0.99) * ms,
    }


def _load(mode: str, where: str, target: str, clients: int, seconds: float) -> float:
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "benchmarks._writer", mode, where, target, str(seconds)],
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(clients)
    ]
    total = sum(int(p.communicate(timeout=seconds + 120)[0].strip() or 0) for p in procs)
    return total / seconds


def _direct_floor(path: Path, seconds: float) -> float:
    db = Database(path)
    with db.transaction() as tx:
        project = tx.projects.insert(Project(name="floor"))
    done = 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with db.transaction() as tx:
            tx.comments.insert(
                Comment(project_id=project.id, target_id=project.id, author="b", body="x")
            )
        done += 1
    db.close()
    return done / seconds


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--samples", type=int, default=1000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="studio-bench-") as tmp:
        root = Path(tmp)
        home = Home.resolve(root / "home")
        _start_engine(home)
        try:
            latency = asyncio.run(_latency(home, args.samples))
            project_id = asyncio.run(_project(home))
            throughput = {
                n: _load("engine", str(home.root), project_id, n, args.seconds) for n in (1, 4, 8)
            }
        finally:
            stop_engine(home)
        floor = _direct_floor(root / "floor.duckdb", args.seconds)
        per_write_db = root / "perwrite.duckdb"
        db = Database(per_write_db)
        with db.transaction() as tx:
            pw_project = tx.projects.insert(Project(name="per-write"))
        db.close()
        per_write = _load("per-write", str(per_write_db), pw_project.id, 4, args.seconds)
    result: dict[str, Any] = {
        "machine": f"{platform.machine()}, {platform.python_version()}",
        "seconds": args.seconds,
        **{k: round(v, 2) for k, v in latency.items()},
        "engine_writes_per_s": {str(k): round(v, 1) for k, v in throughput.items()},
        "reference_direct_duckdb_commits_per_s": round(floor, 1),
        "reference_connection_per_write_4_clients_per_s": round(per_write, 1),
        "ratio_engine8_to_direct_floor": round(throughput[8] / floor, 3),
        "ratio_engine4_to_connection_per_write4": round(throughput[4] / max(per_write, 0.1), 1),
    }
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print("| measure | value |\n|---|---|")
    for kind in ("read", "write"):
        p50, p99 = latency[f"{kind}_p50_ms"], latency[f"{kind}_p99_ms"]
        print(f"| small {kind}, p50 / p99 | {p50:.2f} ms / {p99:.2f} ms |")
    for n, rate in throughput.items():
        print(f"| engine writes/s, {n} client process(es) | {rate:.0f} |")
    print(f"| reference: direct DuckDB commits/s, 1 process, no engine | {floor:.0f} |")
    print(f"| reference: connection per write + retry, 4 processes | {per_write:.0f} |")
    print(f"| engine (8 clients) / direct floor | {result['ratio_engine8_to_direct_floor']:.2f}x |")
    ratio = result["ratio_engine4_to_connection_per_write4"]
    print(f"| engine (4 clients) / connection per write (4) | {ratio:.1f}x |")


async def _project(home: Home) -> str:
    async with Client(home, autostart=False) as c:
        return (await c.create_project("throughput")).id


if __name__ == "__main__":
    main()
