"""`pytest --nbval-lax notebooks/`: every notebook runs from top to bottom, as committed, with
its default parameters, offline, in a private studio home."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from studio.engine import Home
from tests.notebooks.conftest import NOTEBOOKS

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1500)]


def test_every_notebook_runs_under_nbval(kernel_home: Home, tmp_path: Path) -> None:
    # a copy, so what the notebooks write (videos, a sweep's runs) stays out of the checkout
    copy = tmp_path / "notebooks"
    shutil.copytree(NOTEBOOKS, copy, ignore=shutil.ignore_patterns("*-output", ".ipynb_*"))
    assert sorted(p.name for p in copy.glob("*.ipynb")) == [
        "make_music_video.ipynb", "quickstart.ipynb", "variant_sweep.ipynb",
    ]  # fmt: skip
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "--nbval-lax",
            str(copy),
            "-p",
            "no:cacheprovider",
            "-q",
            "--nbval-cell-timeout",
            "900",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=os.environ | {"STUDIO_HOME": str(kernel_home.root)},
        timeout=1400,
    )
    tail = done.stdout[-3000:] + done.stderr[-2000:]
    assert done.returncode == 0, tail
    summary = re.search(r"(\d+) passed", done.stdout)
    assert summary is not None and int(summary.group(1)) > 0, tail
    assert not re.search(r"\d+ (failed|error|skipped)", done.stdout), tail
    # what the notebooks made, where they said they would
    assert any((copy / "video-output").glob("*.mp4"))
    assert (copy / "sweep-output" / "comparison.png").is_file()
