"""Batch throughput: videos an hour for 60 s songs at 720p, the batch running two at a time
against the same videos made one after another, side by side in one run.

    python -m benchmarks.batch [--videos 4] [--seconds 60] [--jobs 2]

The workload: ``--videos`` synthesised songs of ``--seconds`` (different tempos and keys, no
lyrics), each made into a video by the ``make_music_video`` notebook under papermill, offline:
concepts, moods, a storyboard on the beat grid, a picture and a clip for every scene, the
timeline dressed, a 1280x720 render (the ``hd`` preset) read back and checked.

Contenders, each a real ``studio batch`` process in a fresh studio home of its own (so nothing
is answered from a store the other filled), the engine started and stopped by the batch:

- one after another: ``studio batch --jobs 1``: each video made alone, the next when it is done.
  Its summary's per-run times add up to the sum of running each alone.
- the batch: ``studio batch --jobs 2``: two kernels at once against the one engine.

Times are wall clock, from the command's start to its end, so both include starting and
stopping the engine. The machine is shared and noisy: read the ratio, not the seconds. Results
to stdout as Markdown and to benchmarks/results/batch.json.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import soundfile as sf

from benchmarks._machine import machine as machine_info
from studio.audio import synthesize_song

RESULTS = Path(__file__).with_name("results") / "batch.json"
SONGS = (  # tempo, key, mode: a different song each, so every video is its own work
    (118.0, "A", "minor"), (96.0, "E", "major"), (128.0, "D", "minor"), (104.0, "G", "major"),
    (110.0, "C", "minor"), (124.0, "F", "major"),
)  # fmt: skip
STRUCTURE = (("intro", 2), ("verse", 8), ("chorus", 8), ("bridge", 4), ("chorus", 8), ("outro", 4))
BRIEF = "a dancer on a rooftop at dawn, the city waking below"


def _songs(folder: Path, n: int, seconds: float) -> list[Path]:
    made = []
    for i in range(n):
        tempo, key, mode = SONGS[i % len(SONGS)]
        audio, truth = synthesize_song(tempo=tempo, key=key, mode=mode, structure=STRUCTURE, seed=i)
        length = round(seconds * truth.sample_rate)
        if len(audio) < length:
            raise SystemExit(f"song {i} is only {len(audio) / truth.sample_rate:.1f} s long")
        made.append(folder / f"song-{i + 1}.flac")
        sf.write(made[-1], audio[:length], truth.sample_rate)
    return made


def _batch(songs: list[Path], jobs: int, folder: Path) -> dict[str, Any]:
    """One ``studio batch`` in a fresh home; its wall time and its summary."""
    home, out = folder / "home", folder / "out"
    started = time.perf_counter()
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "studio.cli",
            "batch",
            *map(str, songs),
            "--brief",
            BRIEF,
            "--jobs",
            str(jobs),
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        env=os.environ | {"STUDIO_HOME": str(home)},
    )
    wall = time.perf_counter() - started
    with (out / "summary.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    if done.returncode != 0 or any(r["status"] != "succeeded" for r in rows):
        raise SystemExit(
            f"the batch with --jobs {jobs} failed:\n{done.stdout}\n{done.stderr[-3000:]}"
        )
    runs = [float(r["seconds"]) for r in rows]
    return {
        "jobs": jobs,
        "videos": len(rows),
        "wall_seconds": wall,
        "videos_per_hour": len(rows) / wall * 3600,
        "run_seconds": runs,
        "sum_of_runs_seconds": sum(runs),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--videos", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    machine = machine_info()
    with tempfile.TemporaryDirectory(prefix="batch-bench-") as tmp:
        folder = Path(tmp)
        songs = _songs(folder, args.videos, args.seconds)
        alone = _batch(songs, 1, folder / "one-after-another")
        together = _batch(songs, args.jobs, folder / "batch")
    ratio = together["videos_per_hour"] / alone["videos_per_hour"]
    found = {
        **machine,
        "settings": {
            "videos": args.videos, "song_seconds": args.seconds, "preset": "hd (1280x720, 30 fps)",
            "brief": BRIEF, "providers": "local (offline)",
        },
        "one_after_another": alone,
        "batch": together,
        "throughput_ratio": ratio,
        "batch_vs_sum_of_each_alone": together["wall_seconds"] / alone["sum_of_runs_seconds"],
    }  # fmt: skip
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(found, indent=1) + "\n")
    print(f"## Batch throughput ({args.videos} videos of {args.seconds:g} s songs at 720p)\n")
    print("| contender | wall (s) | videos/hour | per video (s, each run) |\n|---|---|---|---|")
    for name, r in (("one after another (--jobs 1)", alone),
                    (f"studio batch --jobs {args.jobs}", together)):  # fmt: skip
        each = ", ".join(f"{s:.0f}" for s in r["run_seconds"])
        print(f"| {name} | {r['wall_seconds']:.0f} | {r['videos_per_hour']:.1f} | {each} |")
    print(
        f"\nbatch / one after another: {ratio:.2f}x the throughput; the batch took "
        f"{found['batch_vs_sum_of_each_alone']:.2f}x the sum of running each alone "
        f"({alone['sum_of_runs_seconds']:.0f} s)"
    )


if __name__ == "__main__":
    main()
