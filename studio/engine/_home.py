"""The studio home (``STUDIO_HOME``, default ``~/.studio``): where the store, the assets, the
engine's socket and its address file live. Everything in it is private to the user (0700)."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

from studio.files import replacing

__all__ = ["EngineInfo", "Home"]

_MAX_SOCKET_PATH = 100  # AF_UNIX paths are limited to 108 bytes on Linux


@dataclass(frozen=True)
class Home:
    root: Path

    @classmethod
    def resolve(cls, root: Path | str | None = None) -> Home:
        path = Path(root or os.environ.get("STUDIO_HOME") or Path.home() / ".studio")
        path = path.expanduser().resolve()
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
        return cls(path)

    @property
    def store_path(self) -> Path:
        return self.root / "store.duckdb"

    @property
    def assets(self) -> Path:
        return self.root / "assets"

    @property
    def work(self) -> Path:
        """Scratch space for jobs (segments, archives in the making)."""
        return self.root / "work"

    @property
    def info_path(self) -> Path:
        return self.root / "engine.json"

    @property
    def start_lock(self) -> Path:
        return self.root / "engine.start.lock"

    @property
    def run_lock(self) -> Path:
        return self.root / "engine.lock"

    @property
    def log_path(self) -> Path:
        return self.root / "engine.log"

    @property
    def socket_path(self) -> Path:
        """``engine.sock`` in the home, or in a private folder under /tmp when that path is too
        long for a Unix socket."""
        path = self.root / "engine.sock"
        if len(str(path)) <= _MAX_SOCKET_PATH:
            return path
        digest = hashlib.sha256(str(self.root).encode()).hexdigest()[:16]
        short = Path(tempfile.gettempdir()) / f"studio-{os.getuid()}-{digest}"
        short.mkdir(mode=0o700, exist_ok=True)
        return short / "engine.sock"


@dataclass(frozen=True)
class EngineInfo:
    """How to reach a running engine; written by the engine to ``engine.json`` (0600)."""

    pid: int
    token: str
    socket: str | None = None
    host: str | None = None
    port: int | None = None
    version: str = ""
    epoch: str = ""

    @property
    def address(self) -> str:
        return self.socket or f"http://{self.host}:{self.port}"

    def write(self, home: Home) -> None:
        with replacing(home.info_path, private=True) as tmp:
            tmp.write_text(json.dumps(asdict(self)))

    @classmethod
    def read(cls, home: Home) -> EngineInfo | None:
        try:
            data = json.loads(home.info_path.read_text())
            return cls(**data)
        except (OSError, ValueError, TypeError):
            return None
