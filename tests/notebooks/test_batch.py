"""`studio batch` as a producer runs it: three short songs (one of them not a song at all) x two
aspects, two at a time; then the same batch again."""

from __future__ import annotations

import asyncio
import csv
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from studio.engine import Client, Home, find_engine
from studio.render import probe

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]


def _batch(home: Home, songs: dict[str, Path], out: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "studio.cli",
            "batch",
            str(songs["rooftop"]),
            str(songs["broken"]),
            str(songs["harbour"]),
            "--brief",
            "a dancer on a rooftop at dawn",
            "--aspects",
            "16:9,9:16",
            "--jobs",
            "2",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        env=os.environ | {"STUDIO_HOME": str(home.root)},
        timeout=800,
    )


def _summary(out: Path) -> list[dict[str, str]]:
    with (out / "summary.csv").open() as handle:
        return list(csv.DictReader(handle))


def _projects(home: Home) -> int:
    async def count() -> int:
        async with Client(home) as c:
            return len(await c.list_projects())

    return asyncio.run(count())


def test_a_batch_keeps_going_past_a_broken_song_and_a_second_run_redoes_nothing(
    kernel_home: Home, songs: dict[str, Path], tmp_path: Path
) -> None:
    out = tmp_path / "batch"
    started = time.perf_counter()
    first = _batch(kernel_home, songs, out)
    took_first = time.perf_counter() - started
    assert first.returncode == 1, first.stdout + first.stderr[-3000:]  # a run failed
    assert "Traceback" not in first.stdout
    assert "batch: 100%" in first.stderr  # the progress bar reached the end

    rows = _summary(out)
    assert len(rows) == 5  # the broken song is one row for both its aspects
    made = [r for r in rows if r["status"] == "succeeded"]
    (failed,) = [r for r in rows if r["status"] == "failed"]
    assert len(made) == 4 and [r["song"] for r in rows].index(failed["song"]) == 2
    # the cause in one line, naming the file as given, not a traceback; no kernel was spent
    assert Path(failed["song"]).name == "broken.wav" and failed["variant"] == "every variant"
    assert failed["error"].startswith("broken.wav is not an audio or video file that can be read")
    assert "\n" not in failed["error"] and "Traceback" not in failed["error"]
    assert failed["notebook"] == "" and not (out / "broken").exists()
    for r in made:
        video = Path(r["video"])
        info = probe(video)
        want = (1280, 720) if r["aspect"] == "16:9" else (720, 1280)
        assert (info.width, info.height) == want and video.parent == Path(r["notebook"]).parent
        record = json.loads((video.parent / "result.json").read_text())
        assert record["status"] == "succeeded" and record["result"]["video"] == str(video)
        assert abs(info.duration - record["result"]["duration"]) < 0.1
        assert float(r["seconds"]) > 0 and r["cost_usd"] == "0.0000"
    html = (out / "summary.html").read_text()
    assert html.count("<tr>") == 6 and "broken.wav is not an audio" in html
    assert find_engine(kernel_home) is None  # the batch stopped the engine it started

    # the second run: every video is there with the same parameters, so none is made again
    kept = {
        Path(r["notebook"]): (Path(r["notebook"]).stat().st_mtime_ns,
                              (Path(r["notebook"]).parent / "result.json").stat().st_mtime_ns)
        for r in made
    }  # fmt: skip
    projects = _projects(kernel_home)
    assert projects == 4  # a song that cannot be read leaves no project behind
    started = time.perf_counter()
    second = _batch(kernel_home, songs, out)
    took_second = time.perf_counter() - started
    assert second.returncode == 1, second.stderr[-3000:]  # the broken song is tried again
    assert "0 succeeded, 4 skipped, 1 failed" in second.stdout
    again = _summary(out)
    assert [r["status"] for r in again] == [
        "skipped" if r["status"] == "succeeded" else r["status"] for r in rows
    ]
    for notebook, stamps in kept.items():  # no notebook ran, no record was written
        assert (notebook.stat().st_mtime_ns,
                (notebook.parent / "result.json").stat().st_mtime_ns) == stamps  # fmt: skip
    assert _projects(kernel_home) == projects  # and the engine made nothing new
    print(f"first batch {took_first:.1f} s, second {took_second:.1f} s")
