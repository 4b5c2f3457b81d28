"""Running the engine: take the run lock, open the store, bind a private socket, serve.

The run lock (an ``flock`` on ``engine.lock``, held for the engine's life) makes sure one engine
owns a home; the kernel drops it when the process dies, even by SIGKILL, so a crash never leaves
a stale lock. The Unix socket is created with mode 0600 inside the 0700 home; a TCP engine binds
127.0.0.1 only. Either way every request carries the token from ``engine.json`` (0600).
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import secrets
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import uvicorn

import studio
from studio.engine._app import EngineState, create_app
from studio.engine._events import EventBus
from studio.engine._home import EngineInfo, Home
from studio.errors import EngineUnavailable
from studio.jobs import JobHandler, JobRunner, load_handlers, sweep_uploads
from studio.store import AssetStore, Database, StoreWorker

__all__ = ["EngineServer", "max_upload_bytes"]

log = logging.getLogger("studio.engine")


def max_upload_bytes() -> int:
    value = os.environ.get("STUDIO_MAX_UPLOAD", "")
    return int(value) if value.isdigit() else 4 << 30


@contextlib.contextmanager
def _run_lock(home: Home) -> Iterator[None]:
    fd = os.open(home.run_lock, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            info = EngineInfo.read(home)
            raise EngineUnavailable(
                f"an engine already runs for {home.root}" + (f" (pid {info.pid})" if info else ""),
                hint="use it, or stop it with `studio engine stop`",
            ) from exc
        yield
    finally:
        os.close(fd)


def _bind_unix(path: Path) -> socket.socket:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()  # we hold the run lock: a socket file here is a dead engine's
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old = os.umask(0o177)
    try:
        sock.bind(str(path))
    finally:
        os.umask(old)
    os.chmod(path, 0o600)
    return sock


def _bind_tcp(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    return sock


class EngineServer:
    """One engine for one studio home. ``run()`` in a process of its own, or
    ``start_in_thread()`` for tests and one-shot scripts (the in-process mode)."""

    def __init__(
        self,
        home: Home,
        *,
        tcp_port: int | None = None,
        handlers: dict[str, JobHandler] | None = None,
        flush_interval: float = 1.0,
        backoff_base: float = 1.0,
    ) -> None:
        self.home = home
        self.tcp_port = tcp_port
        self.handlers = handlers
        self.flush_interval = flush_interval
        self.backoff_base = backoff_base
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._failure: BaseException | None = None
        self.info: EngineInfo | None = None

    def run(self) -> None:
        """Serve until stopped, on uvloop (a faster event loop) when it is installed."""
        try:
            import uvloop
        except ImportError:
            asyncio.run(self.serve())
        else:
            uvloop.run(self.serve())

    async def serve(self) -> None:
        with _run_lock(self.home):
            async with self._open() as (state, sock, info):
                config = uvicorn.Config(
                    create_app(state),
                    http="httptools",  # the C parser: a fraction of h11's cost per request
                    log_level="warning",
                    access_log=False,
                    lifespan="off",
                    timeout_graceful_shutdown=3,
                    timeout_keep_alive=30,
                )
                server = uvicorn.Server(config)
                self._server = server
                state.request_shutdown = lambda: setattr(server, "should_exit", True)
                info.write(self.home)
                self.info = info
                self._ready.set()
                try:
                    await server.serve(sockets=[sock])
                finally:
                    state.bus.close()

    @contextlib.asynccontextmanager
    async def _open(self) -> AsyncIterator[tuple[EngineState, socket.socket, EngineInfo]]:
        db = await asyncio.to_thread(Database, self.home.store_path)
        worker = StoreWorker(db)
        assets = AssetStore(self.home.assets)
        bus = EventBus()
        runner = JobRunner(
            worker,
            assets,
            self.handlers if self.handlers is not None else load_handlers(),
            bus.publish,
            self.home.work,
            flush_interval=self.flush_interval,
            backoff_base=self.backoff_base,
        )
        token = secrets.token_urlsafe(32)
        if self.tcp_port is not None:
            sock = _bind_tcp("127.0.0.1", self.tcp_port)
            host, port = sock.getsockname()[:2]
            info = EngineInfo(
                os.getpid(),
                token,
                host=host,
                port=port,
                version=studio.__version__,
                epoch=bus.epoch,
            )
        else:
            sock = _bind_unix(self.home.socket_path)
            info = EngineInfo(
                os.getpid(),
                token,
                socket=str(self.home.socket_path),
                version=studio.__version__,
                epoch=bus.epoch,
            )
        state = EngineState(
            store=worker,
            assets=assets,
            bus=bus,
            runner=runner,
            token=token,
            workdir=self.home.work,
            max_upload=max_upload_bytes(),
            started_at=time.time(),
        )
        state.access.load(await worker.read(lambda tx: tx.grants.all()))
        swept = sweep_uploads(self.home.work)
        if swept:
            log.warning("removed %d upload(s) no job looked at within a day", swept)
        resumed = await runner.start()
        if resumed:
            log.warning("resumed %d job(s) left running by the last engine", resumed)
        try:
            yield state, sock, info
        finally:
            await runner.stop()
            current = EngineInfo.read(self.home)
            if current is not None and current.pid == os.getpid() and current.token == token:
                self.home.info_path.unlink(missing_ok=True)
            if info.socket:
                with contextlib.suppress(FileNotFoundError):
                    Path(info.socket).unlink()
            sock.close()
            worker.close()

    # ---- in-process mode ----------------------------------------------------------------------

    def start_in_thread(self, timeout: float = 30.0) -> EngineInfo:
        def target() -> None:
            try:
                asyncio.run(self.serve())
            except BaseException as exc:
                self._failure = exc
                self._ready.set()

        self._thread = threading.Thread(target=target, name="studio-engine", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout):
            raise EngineUnavailable("the in-process engine did not start in time")
        if self._failure is not None:
            raise self._failure
        deadline = time.monotonic() + timeout
        while not (self._server and self._server.started):
            if time.monotonic() > deadline or (self._thread and not self._thread.is_alive()):
                raise EngineUnavailable("the in-process engine did not start listening")
            time.sleep(0.01)
        assert self.info is not None
        return self.info

    def stop(self, timeout: float = 30.0) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout)

    def __enter__(self) -> EngineServer:
        self.start_in_thread()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
