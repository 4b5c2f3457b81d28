"""Shared fixtures: a private studio home per test, an in-process engine, a real engine process."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from studio.engine import EngineInfo, EngineServer, Home, find_engine, spawn_engine


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Home:
    h = Home.resolve(tmp_path / "home")
    monkeypatch.setenv("STUDIO_HOME", str(h.root))
    return h


@pytest.fixture
def engine(home: Home) -> Iterator[EngineServer]:
    """An engine running in this process (a thread), with fast progress flushes and retries."""
    server = EngineServer(home, flush_interval=0.05, backoff_base=0.01)
    server.start_in_thread()
    yield server
    server.stop()


class EngineProcess:
    """A real engine process for a home, stopped by pid when the test ends."""

    def __init__(self, home: Home) -> None:
        self.home = home
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self, timeout: float = 60.0) -> EngineInfo:
        proc = spawn_engine(self.home)
        self.procs.append(proc)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            info = find_engine(self.home)
            if info is not None and info.pid == proc.pid:
                return info
            if proc.poll() is not None:
                raise RuntimeError(f"engine exited: {self.home.log_path.read_text()[-2000:]}")
            time.sleep(0.05)
        raise RuntimeError("engine did not start")

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs, as in a crash."""
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                proc.wait()

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(15)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()


@pytest.fixture
def engine_process(home: Home) -> Iterator[EngineProcess]:
    ep = EngineProcess(home)
    yield ep
    ep.stop()
    info = EngineInfo.read(home)
    if info is not None:  # an engine some client started on its own
        with contextlib.suppress(ProcessLookupError):
            os.kill(info.pid, signal.SIGTERM)


@pytest.fixture(autouse=True, scope="session")
def _cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """What the studio keeps between processes (the resampler's machine code) goes to a folder
    of the test run's, not the user's cache; engine processes started by tests inherit it."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("STUDIO_CACHE", str(tmp_path_factory.mktemp("cache")))
        yield
