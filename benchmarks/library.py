"""The library across many projects: the engine's ``GET /v1/library``, what the Library widget
reads, beside the store's own read of the same rows, run side by side.

    python -m benchmarks.library [--projects 10 40] [--rounds 7]

Each project holds what an offline storyboard of a three-minute song leaves: 4 characters with
2 reference pictures each, 4 moods with 3 pictures each, 60 scenes with 2 picture takes and a
clip take each, and 2 finished renders (190 library entries). The rows are written straight
into the engine's store before it starts; the files they name are not needed for a listing.

Timed through the studio client over the engine's socket, each the median of ``--rounds``:
the widget's first page (newest 300 of everything), the whole library (up to 2000), a search
(``q``), one kind (clips), and one project's. The floor, in this process on the same store file
while the engine is stopped: one query per table the library reads, every project's rows, the
documents fetched and nothing parsed. Results to stdout and benchmarks/results/library.json.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from benchmarks._machine import record
from studio.engine import Client, EngineServer, Home
from studio.model import (
    Character,
    Mood,
    OwnerKind,
    Project,
    Render,
    RenderStatus,
    Scene,
    Take,
    TakeKind,
    utcnow,
)
from studio.store import Database

RESULTS = Path(__file__).with_name("results") / "library.json"
CHARACTERS, MOODS, MOOD_PICTURES, SCENES, RENDERS = 4, 4, 3, 60, 2
PROMPTS = ["neon rain on a night street", "a singer alone on the beach", "misty mountains"]
TABLES = ("characters", "moods", "takes", "renders")


def _sha(*parts: object) -> str:
    return hashlib.sha256("/".join(map(str, parts)).encode()).hexdigest()


def _seed(db: Database, projects: int) -> int:
    """Write ``projects`` projects' rows; returns how many library entries they make."""
    at = utcnow() - timedelta(days=30)
    entries = 0
    for p in range(projects):
        with db.transaction() as tx:
            project = tx.projects.insert(Project(name=f"Night drive {p}"))
            for k in range(CHARACTERS):
                refs = [_sha(p, "character", k, r) for r in range(2)]
                tx.characters.insert(
                    Character(project_id=project.id, name=f"Driver {k}", reference_assets=refs)
                )
            for k in range(MOODS):
                mood = tx.moods.insert(
                    Mood(project_id=project.id, name=f"Mood {k}", keywords=["neon", "rain"])
                )
                for v in range(MOOD_PICTURES):
                    tx.takes.add(
                        _take(project.id, (OwnerKind.MOOD, mood.id), TakeKind.IMAGE, v, at)
                    )
            for k in range(SCENES):
                scene = tx.scenes.insert(
                    Scene(project_id=project.id, index=k, start=3 * k, end=3 * k + 3,
                          prompt=PROMPTS[k % len(PROMPTS)])
                )  # fmt: skip
                for v, kind in enumerate((TakeKind.IMAGE, TakeKind.IMAGE, TakeKind.CLIP)):
                    tx.takes.add(_take(project.id, (OwnerKind.SCENE, scene.id), kind, v, at))
                at += timedelta(seconds=1)
            for k in range(RENDERS):
                tx.renders.insert(
                    Render(project_id=project.id, status=RenderStatus.SUCCEEDED,
                           asset_sha256=_sha(p, "render", k))
                )  # fmt: skip
        entries += CHARACTERS + MOODS + SCENES * 3 + RENDERS
    return entries


def _take(project_id: str, owner: tuple[OwnerKind, str], kind: TakeKind, v: int, at: Any) -> Take:
    image = kind is TakeKind.IMAGE
    return Take(
        project_id=project_id, owner_kind=owner[0], owner_id=owner[1], kind=kind, version=v,
        asset_sha256=_sha(owner[1], kind.value, v),
        media_type="image/png" if image else "video/mp4",
        inputs={"prompt": PROMPTS[v % len(PROMPTS)], "seed": v},
        model="painter" if image else "mover", created_at=at,
    )  # fmt: skip


def _floor(db: Database) -> int:
    """Every row the library reads, one query per table, the documents fetched, none parsed."""
    tx = db.read()
    rows = 0
    for table in TABLES:
        rows += len(tx._conn.execute(f"SELECT id, project_id, doc FROM {table}").fetchall())
    return rows


async def _timed(rounds: int, call: Callable[[], Awaitable[Any]]) -> tuple[float, Any]:
    await call()  # warm up
    times, result = [], None
    for _ in range(rounds):
        start = time.perf_counter()
        result = await call()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def _run(projects: int, rounds: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        home = Home.resolve(Path(tmp) / "home")
        home.root.mkdir(parents=True, exist_ok=True)
        db = Database(home.store_path)
        entries = _seed(db, projects)
        floor_times = []
        for _ in range(rounds):
            start = time.perf_counter()
            rows = _floor(db)
            floor_times.append(time.perf_counter() - start)
        db.close()
        with EngineServer(home):

            async def go() -> dict[str, Any]:
                async with Client(home, autostart=False) as c:
                    one = (await c.list_projects())[0].id
                    calls: dict[str, Callable[[], Awaitable[Any]]] = {
                        "first page (newest 300)": lambda: c.library(limit=300),
                        "whole library (up to 2000)": lambda: c.library(limit=2000),
                        "search 'beach'": lambda: c.library(q="beach", limit=300),
                        "clips only": lambda: c.library(kind="clip", limit=300),
                        "one project": lambda: c.library(project_id=one, limit=300),
                    }
                    found = {}
                    for name, call in calls.items():
                        seconds, items = await _timed(rounds, call)
                        found[name] = {"seconds": seconds, "items": len(items)}
                    return found

            timings = asyncio.run(go())
    return {
        "projects": projects,
        "entries": entries,
        "floor": {"seconds": statistics.median(floor_times), "rows": rows},
        "library": timings,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--projects", type=int, nargs="+", default=[10, 40])
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    runs = [_run(n, args.rounds) for n in args.projects]
    print("## The library across projects (medians)\n")
    print("| projects | entries | read | items | time | ratio to the store's read |")
    print("|---|---|---|---|---|---|")
    for run in runs:
        floor = run["floor"]["seconds"]
        print(f"| {run['projects']} | {run['entries']} | floor: the store's rows, unparsed | "
              f"{run['floor']['rows']} | {floor * 1000:.0f} ms | 1.00 |")  # fmt: skip
        for name, got in run["library"].items():
            print(f"| {run['projects']} | {run['entries']} | {name} | {got['items']} | "
                  f"{got['seconds'] * 1000:.0f} ms | {got['seconds'] / floor:.2f} |")  # fmt: skip
    record(RESULTS, {"rounds": args.rounds, "runs": runs})


if __name__ == "__main__":
    main()
