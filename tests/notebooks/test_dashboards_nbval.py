"""`pytest --nbval-lax dashboards/`: the dashboards run as notebooks too (opened in JupyterLab
they act as the owner), on a home with a project and on an empty one."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from studio.dashboards import dashboard_folder
from studio.engine import Client, Home

pytestmark = [pytest.mark.slow]


def _nbval(folder: Path, home: Home) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "--nbval-lax", str(folder), "-p", "no:cacheprovider",
         "-q"],
        cwd=folder.parent, capture_output=True, text=True, timeout=600,
        env=os.environ | {"STUDIO_HOME": str(home.root)},
    )  # fmt: skip


@pytest.mark.parametrize("with_project", [False, True])
def test_every_dashboard_runs_under_nbval(
    kernel_home: Home, tmp_path: Path, with_project: bool
) -> None:
    if with_project:

        async def make() -> None:
            async with Client(kernel_home) as c:
                await c.create_project("Night Drive")

        asyncio.run(make())
    copy = tmp_path / "dashboards"
    shutil.copytree(dashboard_folder(), copy)
    assert sorted(p.name for p in copy.glob("*.ipynb")) == [
        "gallery.ipynb", "review.ipynb", "studio.ipynb",
    ]  # fmt: skip
    done = _nbval(copy, kernel_home)
    tail = done.stdout[-3000:] + done.stderr[-2000:]
    assert done.returncode == 0, tail
    assert re.search(r"\b3 passed", done.stdout), tail
