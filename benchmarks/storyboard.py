"""The offline storyboard for a three-minute song, per stage, through an engine.

    python -m benchmarks.storyboard [--minutes 3]

Stages: the song uploaded and analysed; the plan (concepts, moods, scenes on the beat grid);
every scene's text approved; an image take per scene at 1280x720 by the offline painter. Clip
takes are not built yet. Results to stdout and benchmarks/results/storyboard.json.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import soundfile as sf

from benchmarks._engine import with_engine
from benchmarks.analysis import _long_song
from studio.engine import Client

RESULTS = Path(__file__).with_name("results") / "storyboard.json"


async def _run(c: Client, song: Path) -> dict[str, Any]:
    timings: dict[str, float] = {}
    start = time.perf_counter()
    project = await c.create_project("Storyboard benchmark")
    await c.update_project(project.id, brief={"text": "a night drive through the neon city"})
    await c.wait_job((await c.upload_song(song, project_id=project.id)).id, timeout=600)
    timings["song: upload and analysis"] = time.perf_counter() - start
    start = time.perf_counter()
    plan = await c.submit_job("storyboard.plan", {"project_id": project.id})
    await c.wait_job(plan.id, timeout=600, poll=0.02)
    timings["plan: concepts, moods, scenes"] = time.perf_counter() - start
    start = time.perf_counter()
    scenes = await c.scenes(project.id)
    for scene in scenes:
        await c.scene_action(scene.id, "approve_text")
    timings["approve every scene's text"] = time.perf_counter() - start
    start = time.perf_counter()
    images = await c.submit_job("takes.images", {"project_id": project.id})
    await c.wait_job(images.id, timeout=1200, poll=0.05)
    timings["image takes at 1280x720"] = time.perf_counter() - start
    return {"scenes": len(scenes), "stages": timings}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--minutes", type=float, default=3.0)
    args = parser.parse_args()
    audio, truth = _long_song(args.minutes)
    with tempfile.TemporaryDirectory() as tmp:
        song = Path(tmp) / "song.flac"
        sf.write(song, audio, truth.sample_rate)
        result = with_engine(lambda c: _run(c, song))
    total = sum(result["stages"].values())
    print(
        f"## Offline storyboard: {truth.duration / 60:.1f}-minute song, {result['scenes']} scenes\n"
    )
    print("| stage | seconds |\n|---|---|")
    for stage, seconds in result["stages"].items():
        print(f"| {stage} | {seconds:.2f} |")
    print(f"| total | {total:.2f} |")
    per_image = result["stages"]["image takes at 1280x720"] / result["scenes"]
    print(f"\nper image take (paint, PNG, store): {per_image * 1000:.0f} ms")
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps({"song_seconds": truth.duration, **result}, indent=2))


if __name__ == "__main__":
    main()
