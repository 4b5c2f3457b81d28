"""Finding, starting and stopping the engine of a studio home (synchronous: used by the client
from a thread, and by the CLI).

Two clients that find no engine at the same moment must end up with one: each takes the start
lock (``engine.start.lock``) in turn; the first starts the engine and waits until it answers, the
second then finds it answering and starts nothing.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx

from studio.engine._home import EngineInfo, Home
from studio.errors import EngineUnavailable

__all__ = ["ensure_engine", "find_engine", "ping", "spawn_engine", "stop_engine"]


def _http(info: EngineInfo, timeout: float) -> httpx.Client:
    # verify=False: the engine speaks plain HTTP on its socket or loopback port, so there is no
    # TLS to verify, and loading the certificate store would cost 40-90 ms per client
    if info.socket:
        return httpx.Client(
            transport=httpx.HTTPTransport(uds=info.socket, verify=False),
            base_url="http://studio",
            timeout=timeout,
        )
    return httpx.Client(base_url=f"http://{info.host}:{info.port}", timeout=timeout, verify=False)


def ping(info: EngineInfo, timeout: float = 2.0) -> bool:
    """True if the engine described by ``info`` answers its health check."""
    try:
        with _http(info, timeout) as client:
            reply = client.get("/v1/health", headers={"authorization": f"Bearer {info.token}"})
        return reply.status_code == 200
    except httpx.HTTPError:
        return False


def find_engine(home: Home) -> EngineInfo | None:
    """The running engine of ``home``, or None."""
    info = EngineInfo.read(home)
    return info if info is not None and ping(info) else None


@contextlib.contextmanager
def _start_lock(home: Home, timeout: float) -> Iterator[None]:
    fd = os.open(home.start_lock, os.O_RDWR | os.O_CREAT, 0o600)
    deadline = time.monotonic() + timeout
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise EngineUnavailable(
                        "another process has been starting the engine for too long",
                        hint=f"see {home.log_path}",
                    ) from None
                time.sleep(0.02)
        yield
    finally:
        os.close(fd)


def spawn_engine(home: Home, *, tcp_port: int | None = None) -> subprocess.Popen[bytes]:
    """Start an engine process that outlives its parent (its own session, output to the log)."""
    args = [sys.executable, "-m", "studio.engine", "--home", str(home.root)]
    if tcp_port is not None:
        args += ["--tcp", str(tcp_port)]
    with open(home.log_path, "ab") as log:
        return subprocess.Popen(
            args,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def _log_tail(home: Home, lines: int = 8) -> str:
    try:
        return "\n".join(home.log_path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def ensure_engine(home: Home, *, timeout: float = 60.0, tcp_port: int | None = None) -> EngineInfo:
    """The running engine of ``home``, started if there is none."""
    found = find_engine(home)
    if found is not None:
        return found
    with _start_lock(home, timeout):
        found = find_engine(home)
        if found is not None:
            return found
        proc = spawn_engine(home, tcp_port=tcp_port)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = find_engine(home)
            if found is not None and found.pid == proc.pid:
                return found
            if proc.poll() is not None:
                found = find_engine(home)
                if found is not None:  # someone else's engine won the run lock
                    return found
                raise EngineUnavailable(
                    f"the engine exited at start (code {proc.returncode})",
                    hint=f"its log {home.log_path} ends with:\n{_log_tail(home)}",
                )
            time.sleep(0.05)
        proc.terminate()
        raise EngineUnavailable(
            f"the engine did not answer within {timeout:.0f} s", hint=f"see {home.log_path}"
        )


def stop_engine(home: Home, *, timeout: float = 20.0) -> int | None:
    """Ask the engine to stop (SIGTERM if it does not); returns its pid, or None if none ran."""
    info = EngineInfo.read(home)
    if info is None or not ping(info):
        return None
    try:
        with _http(info, 5.0) as client:
            client.post("/v1/shutdown", headers={"authorization": f"Bearer {info.token}"})
    except httpx.HTTPError:
        pass
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _alive(info.pid):
            return info.pid
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError):
        os.kill(info.pid, signal.SIGTERM)
    return info.pid


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a zombie child of ours counts as gone
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False
