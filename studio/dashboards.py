"""``studio dashboards``: the Voila dashboards (review, gallery, studio) served with safe
defaults, and the links ``studio share`` hands out for them.

Safe defaults: bound to 127.0.0.1 unless told otherwise; a token on the server (made when not
given); tracebacks never sent to the browser; notebook sources stripped; only media files served
as static files; idle kernels culled. Each dashboard acts only as the key in its link (see
``studio.ui._dashboard``): ``STUDIO_DASHBOARD=1`` in the kernels' environment makes a link
without a key a refusal, not the owner.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import urllib.parse
from dataclasses import asdict, dataclass
from pathlib import Path

from studio.engine import Home
from studio.errors import InvalidInput
from studio.files import replacing
from studio.ui._dashboard import DASHBOARD_ENV, DASHBOARDS

__all__ = ["DASHBOARDS", "Served", "dashboard_folder", "serve", "share_link", "voila_command"]

MEDIA_FILES = r".*\.(png|jpg|jpeg|webp|gif|svg|mp4|webm|m4a|opus|ogg|mp3)"
CULL_IDLE_SECONDS = 15 * 60


def dashboard_folder() -> Path:
    """``dashboards/`` of a checkout, or the copy an installed wheel carries."""
    here = Path(__file__).resolve().parent
    inside = here / "_dashboards"
    return inside if inside.is_dir() else here.parent / "dashboards"


@dataclass(frozen=True)
class Served:
    """Where ``studio dashboards`` serves (kept in the home, 0600, while it runs)."""

    url: str
    token: str
    pid: int

    @staticmethod
    def path(home: Home) -> Path:
        return home.root / "dashboards.json"

    def write(self, home: Home) -> None:
        with replacing(self.path(home), private=True) as tmp:
            tmp.write_text(json.dumps(asdict(self)))

    @classmethod
    def read(cls, home: Home) -> Served | None:
        try:
            return cls(**json.loads(cls.path(home).read_text()))
        except (OSError, ValueError, TypeError):
            return None


def voila_command(folder: Path, *, host: str, port: int, token: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "voila",
        str(folder),
        f"--Voila.ip={host}",
        f"--port={port}",
        f"--Voila.token={token}",
        "--no-browser",
        "--show_tracebacks=False",
        "--strip_sources=True",
        f"--VoilaConfiguration.file_allowlist=['{MEDIA_FILES}']",
        f"--MappingKernelManager.cull_idle_timeout={CULL_IDLE_SECONDS}",
        "--MappingKernelManager.cull_interval=60",
        "--MappingKernelManager.cull_connected=False",
    ]


def share_link(served: Served, dashboard: str, key: str, project: str | None = None) -> str:
    query = {"token": served.token, "key": key} | ({"project": project} if project else {})
    return f"{served.url}/voila/render/{dashboard}.ipynb?{urllib.parse.urlencode(query)}"


def serve(
    home: Home, *, host: str = "127.0.0.1", port: int = 8866, token: str | None = None
) -> int:
    """Run Voila on the dashboards until it stops (Ctrl-C); returns its exit code."""
    token = token or secrets.token_urlsafe(24)
    if len(token) < 16:
        raise InvalidInput(
            "the token is too short to guess-proof", hint="use 16 characters or more"
        )
    folder = dashboard_folder()
    env = os.environ | {DASHBOARD_ENV: "1", "STUDIO_HOME": str(home.root)}
    command = voila_command(folder, host=host, port=port, token=token)
    process = subprocess.Popen(command, env=env)

    def stop(_signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)  # stopped by pid: Voila is stopped too
    served = Served(f"http://{host}:{port}", token, process.pid)
    served.write(home)
    print(f"dashboards at {served.url}/voila/tree (token in dashboards.json of the studio home)")
    print("share a project: studio share PROJECT --name NAME  (prints the review link)")
    try:
        return process.wait()
    except KeyboardInterrupt:
        process.terminate()
        return process.wait()
    finally:
        if Served.read(home) == served:
            Served.path(home).unlink(missing_ok=True)
