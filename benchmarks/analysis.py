"""Song analysis: speed end to end, memory, and accuracy beside librosa's defaults.

    python -m benchmarks.analysis [--minutes 3]

- speed: a song of about three minutes (the demo-song synthesiser, so the truth is known) is
  uploaded to an engine, checked, analysed and stored; the time from upload to stored result,
  the analysis worker's peak memory, and the seconds per stage (from the job's result).
- the reference, run in the same process on the same file: librosa's default beat tracker
  (``librosa.beat.beat_track`` after ``librosa.load`` at 22.05 kHz), cold (its import and JIT
  included, as a fresh worker pays) and warm.
- accuracy on the test songs (70-180 BPM, 3/4, swing, tempo changes): tempo error and the beat
  F-measure at 70 ms (mir_eval), the studio's analysis beside librosa's defaults.

Results go to stdout as Markdown tables and to benchmarks/results/analysis.json.
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import mir_eval
import numpy as np
import soundfile as sf

from benchmarks._engine import with_engine
from studio.audio import DecodedAudio, analyze, synthesize_song
from studio.engine import Client

RESULTS = Path(__file__).with_name("results") / "analysis.json"
CASES: list[dict[str, Any]] = [
    {"tempo": 70},
    {"tempo": 90},
    {"tempo": 120},
    {"tempo": 150},
    {"tempo": 180},
    {"tempo": 100, "meter": 3},
    {"tempo": 140, "meter": 3},
    {"tempo": 110, "swing": 0.3},
    {"tempo": 100, "tempo_change": (12, 130)},
    {"tempo": 120, "tempo_change": (24, 96)},
]
_LIBROSA = """
import sys, time, json
t0 = time.perf_counter()
import librosa
y, sr = librosa.load(sys.argv[1], sr=22050)
t1 = time.perf_counter()
tempo, beats = librosa.beat.beat_track(y=y, sr=sr, units="time")
t2 = time.perf_counter()
tempo, beats = librosa.beat.beat_track(y=y, sr=sr, units="time")
t3 = time.perf_counter()
bpm = float(tempo[0] if hasattr(tempo, "__len__") else tempo)
out = {"cold": t2 - t0, "warm": t3 - t2, "tempo": bpm, "beats": list(map(float, beats))}
print(json.dumps(out))
"""


def _long_song(minutes: float) -> tuple[np.ndarray, Any]:
    structure = (
        ("intro", 4),
        ("verse", 8),
        ("chorus", 8),
        ("verse", 8),
        ("chorus", 8),
        ("bridge", 8),
        ("chorus", 8),
        ("chorus", 8),
        ("outro", 4),
    )
    bars = sum(n for _, n in structure)
    tempo = bars * 4 * 60 / (minutes * 60 - 1)
    return synthesize_song(tempo=round(tempo, 2), structure=structure, seed=11)


def _engine_run(song: Path) -> dict[str, Any]:
    async def go(c: Client) -> dict[str, Any]:
        project = await c.create_project("Benchmark")
        start = time.perf_counter()
        job = await c.upload_song(song, project_id=project.id)
        done = await c.wait_job(job.id, timeout=600, poll=0.02)
        elapsed = time.perf_counter() - start
        start = time.perf_counter()
        again = await c.upload_song(song, project_id=project.id)
        await c.wait_job(again.id, timeout=600, poll=0.02)
        cached = time.perf_counter() - start
        assert done.result is not None
        return {"seconds": elapsed, "cached_seconds": cached, **done.result}

    return with_engine(go)


def _librosa(path: Path) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, "-c", _LIBROSA, str(path)], capture_output=True, text=True, check=True
    )
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def _accuracy() -> list[dict[str, Any]]:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for case in CASES:
            audio, truth = synthesize_song(**case)
            path = Path(tmp) / "case.wav"
            sf.write(path, audio, truth.sample_rate, subtype="PCM_16")
            ours, _ = analyze(DecodedAudio(audio, truth.sample_rate, "bench"), "0" * 64)
            theirs = _librosa(path)
            reference = np.array(truth.beats)
            tempi = [truth.tempo] + ([truth.tempo_change[1]] if truth.tempo_change else [])
            rows.append(
                {
                    "case": ", ".join(f"{k}={v}" for k, v in case.items()),
                    "true_tempo": "/".join(f"{t:g}" for t in tempi),
                    "studio_tempo": "/".join(f"{t.bpm:.1f}" for t in ours.tempo_map),
                    "studio_f": mir_eval.beat.f_measure(reference, np.array(ours.beats), 0.07),
                    "librosa_tempo": f"{theirs['tempo']:.1f}",
                    "librosa_f": mir_eval.beat.f_measure(
                        reference, np.array(theirs["beats"]), 0.07
                    ),
                }
            )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--minutes", type=float, default=3.0)
    args = parser.parse_args()
    audio, truth = _long_song(args.minutes)
    with tempfile.TemporaryDirectory() as tmp:
        song = Path(tmp) / "three-minutes.wav"
        sf.write(song, audio, truth.sample_rate, subtype="PCM_16")
        run = _engine_run(song)
        reference = _librosa(song)
    accuracy = _accuracy()
    duration = truth.duration
    print(f"## Analysis of a {duration / 60:.1f}-minute song ({platform.node()})\n")
    print("| measure | value |\n|---|---|")
    print(f"| upload to stored map (engine, cold worker) | {run['seconds']:.2f} s |")
    print(f"| real-time factor | {duration / run['seconds']:.0f}x |")
    print(f"| same file again (served from the store) | {run['cached_seconds']:.2f} s |")
    print(f"| analysis worker peak memory | {run['max_rss_mb']:.0f} MB |")
    print(f"| librosa defaults, beats only, cold (import + JIT) | {reference['cold']:.2f} s |")
    print(f"| librosa defaults, beats only, warm | {reference['warm']:.2f} s |")
    ratio = run["seconds"] / reference["cold"]
    print(f"| ratio: studio full map / librosa cold beats | {ratio:.2f} |")
    print("\n| stage | seconds |\n|---|---|")
    for stage, seconds in run["stages"].items():
        print(f"| {stage} | {seconds:.3f} |")
    print("\n| song | true BPM | studio BPM | studio beat F | librosa BPM | librosa beat F |")
    print("|---|---|---|---|---|---|")
    for row in accuracy:
        print(
            f"| {row['case']} | {row['true_tempo']} | {row['studio_tempo']} | "
            f"{row['studio_f']:.3f} | {row['librosa_tempo']} | {row['librosa_f']:.3f} |"
        )
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {"song_seconds": duration, "engine": run, "librosa": reference, "accuracy": accuracy},
            indent=2,
            default=str,
        )
    )


if __name__ == "__main__":
    main()
