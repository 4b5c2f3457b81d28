"""The offline storyboard for a three-minute song, per stage, through an engine: from the
song to approved clip takes for about 30 scenes.

    python -m benchmarks.storyboard [--minutes 3]

Stages: the song uploaded and analysed; the plan (concepts, moods, scenes on the beat grid,
4-8 s each); every scene's text approved; an image take per scene at 1280x720 by the offline
painter; every image approved; a clip take per scene asked at 1280x720, 24 fps, of the offline
clip maker, which makes 640x360 previews of its camera moves (the render redraws them at full
size from the pictures); every clip approved.

The reference, run side by side: the encode-only floor, the same number of 640x360 frames of
one still piped through the same ffmpeg command (x264 veryfast), so the clips' ratio to it says
what the camera moves cost on top of encoding. Results to stdout and
benchmarks/results/storyboard.json.
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import soundfile as sf

from benchmarks._engine import with_engine
from benchmarks.analysis import _long_song
from studio.engine import Client
from studio.providers.local import paint
from studio.render import encode_frames_command

RESULTS = Path(__file__).with_name("results") / "storyboard.json"
CLIPS = "clip takes asked at 1280x720, 24 fps (the offline maker's 640x360 previews)"
PREVIEW = (640, 360)
"""The size the offline clip maker makes (its card's limit): the render redraws its moves."""


async def _run(c: Client, song: Path) -> dict[str, Any]:
    timings: dict[str, float] = {}
    start = time.perf_counter()
    project = await c.create_project("Storyboard benchmark")
    await c.update_project(project.id, brief={"text": "a night drive through the neon city"})
    await c.wait_job((await c.upload_song(song, project_id=project.id)).id, timeout=600)
    timings["song: upload and analysis"] = time.perf_counter() - start
    start = time.perf_counter()
    plan = await c.submit_job(
        "storyboard.plan", {"project_id": project.id, "shortest": 4.0, "longest": 8.0}
    )
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
    start = time.perf_counter()
    for scene in await c.scenes(project.id):
        take = [t for t in await c.takes(scene.id) if t["kind"] == "image"][-1]
        await c.scene_action(scene.id, "approve_image", take_id=take["id"])
    timings["approve every image"] = time.perf_counter() - start
    start = time.perf_counter()
    clips = await c.submit_job("takes.clips", {"project_id": project.id, "fps": 24})
    await c.wait_job(clips.id, timeout=1800, poll=0.05)
    timings[CLIPS] = time.perf_counter() - start
    start = time.perf_counter()
    frames = 0
    for scene in await c.scenes(project.id):
        take = [t for t in await c.takes(scene.id) if t["kind"] == "clip"][-1]
        frames += math.ceil(scene.duration * 24 - 1e-6)
        await c.scene_action(scene.id, "approve_clip", take_id=take["id"])
    timings["approve every clip"] = time.perf_counter() - start
    return {"scenes": len(scenes), "frames": frames, "stages": timings}


def _encode_floor(frames: int) -> float:
    """Seconds to encode ``frames`` frames of one still with the clip maker's command."""
    width, height = PREVIEW
    picture = paint("a city at night", width, height, seed=1).tobytes()
    with tempfile.TemporaryDirectory() as tmp:
        command = encode_frames_command(Path(tmp) / "floor.mp4", width=width, height=height, fps=24)
        start = time.perf_counter()
        proc = subprocess.Popen(command, stdin=subprocess.PIPE)
        assert proc.stdin is not None
        for _ in range(frames):
            proc.stdin.write(picture)
        proc.stdin.close()
        proc.wait()
        return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--minutes", type=float, default=3.0)
    args = parser.parse_args()
    audio, truth = _long_song(args.minutes)
    with tempfile.TemporaryDirectory() as tmp:
        song = Path(tmp) / "song.flac"
        sf.write(song, audio, truth.sample_rate)
        result = with_engine(lambda c: _run(c, song))
    floor = _encode_floor(result["frames"])
    clips = result["stages"][CLIPS]
    result["reference"] = {"encode-only floor, same frames": floor, "clips / floor": clips / floor}
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
    print(
        f"clip takes: {result['frames']} frames in {clips:.1f} s; the encode-only floor for "
        f"the same frames took {floor:.1f} s (ratio {clips / floor:.2f})"
    )
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps({"song_seconds": truth.duration, **result}, indent=2))


if __name__ == "__main__":
    main()
