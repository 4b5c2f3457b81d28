"""What a benchmark's results record about the machine they were measured on."""

from __future__ import annotations

import json
import os
import platform
from pathlib import Path
from typing import Any

from studio.render import ffmpeg_info


def machine(**more: Any) -> dict[str, Any]:
    """The CPU, its cores, the load when the run began and the ffmpeg used, with ``more``."""
    cpu = next(
        (line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
         if line.startswith("model name")),
        platform.processor(),
    )  # fmt: skip
    return {
        "machine": f"{platform.machine()}, {platform.python_version()}",
        "cpu": cpu,
        "cores": os.cpu_count(),
        "load_average_at_start": os.getloadavg(),
        "ffmpeg": ffmpeg_info().version,
    } | more


def record(results: Path, found: dict[str, Any]) -> dict[str, Any]:
    """``found`` with the machine added, written to ``results`` (JSON); returns it."""
    found = found | machine()
    results.parent.mkdir(exist_ok=True)
    results.write_text(json.dumps(found, indent=1, default=str) + "\n")
    return found
