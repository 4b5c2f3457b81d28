"""Running ffmpeg so that a job can stop it: raw frames piped into an encoder (the loop the clip
maker and the render share), or a command that only has to run to its end.

On Linux the frames are handed to the encoder's pipe by reference (``vmsplice``): the encoder
copies them straight out of the renderer's memory, where a plain ``write`` copies every byte
into the pipe first. At 720p that halves the CPU the hand-over costs, CPU the encoder wants on
a small machine.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import os
import subprocess
import threading
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from studio.errors import JobCancelled, RenderError
from studio.render._probe import ProgressParser

__all__ = ["feed", "run", "widen"]


def feed(
    command: list[str],
    chunks: Iterable[Any],
    *,
    what: str,
    stop: threading.Event | None = None,
    on_progress: Callable[[dict[str, float | str]], None] | None = None,
) -> None:
    """Run ``command`` and write ``chunks`` (buffers: frames or their planes) to its stdin.
    Setting ``stop`` kills the encoder within a chunk and raises ``JobCancelled``; a failing
    encoder raises ``RenderError`` with its last words. With ``on_progress``, the command's
    ``-progress pipe:1`` blocks are parsed as they come."""
    proc = subprocess.Popen(
        command,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE if on_progress else subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    assert proc.stdin is not None and proc.stderr is not None
    pipe = _Pipe(proc.stdin)
    reader = None
    if on_progress is not None:
        reader = threading.Thread(target=_progress, args=(proc.stdout, on_progress), daemon=True)
        reader.start()
    try:
        for chunk in chunks:
            if stop is not None and stop.is_set():
                raise JobCancelled(f"the {what} was cancelled")
            pipe.write(chunk)
        proc.stdin.close()
        error = proc.stderr.read().decode(errors="replace")
        if proc.wait() != 0:
            raise RenderError(f"ffmpeg could not encode the {what}", hint=error[-300:].strip())
    except BrokenPipeError as exc:
        proc.wait()
        raise RenderError(
            f"ffmpeg stopped while the {what} was being encoded",
            hint=proc.stderr.read().decode(errors="replace")[-300:].strip(),
        ) from exc
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        with contextlib.suppress(OSError):
            proc.stdin.close()
        if reader is not None:
            reader.join(timeout=5)


def _progress(stream: Any, on_progress: Callable[[dict[str, float | str]], None]) -> None:
    parser = ProgressParser()
    for raw in stream:
        block = parser.feed(raw.decode(errors="replace"))
        if block is not None:
            on_progress(block)


def run(command: list[str], *, what: str, stop: threading.Event | None = None) -> str:
    """Run ``command`` to its end and return what it said on stderr. Setting ``stop`` kills
    it within a tenth of a second and raises ``JobCancelled``; a failing command raises
    ``RenderError`` with its last words."""
    if stop is not None and stop.is_set():
        raise JobCancelled(f"the {what} was cancelled")
    proc = subprocess.Popen(
        command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        while True:
            try:
                _, err = proc.communicate(timeout=0.1)
                break
            except subprocess.TimeoutExpired:
                if stop is not None and stop.is_set():
                    raise JobCancelled(f"the {what} was cancelled") from None
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    said = err.decode(errors="replace")
    if proc.returncode != 0:
        raise RenderError(f"ffmpeg could not make the {what}", hint=said[-300:].strip())
    return said


class _Iovec(ctypes.Structure):
    _fields_ = [("base", ctypes.c_void_p), ("length", ctypes.c_size_t)]


_libc = ctypes.CDLL(None, use_errno=True)
_vmsplice = getattr(_libc, "vmsplice", None)
if _vmsplice is not None:
    _vmsplice.argtypes = [ctypes.c_int, ctypes.POINTER(_Iovec), ctypes.c_size_t, ctypes.c_uint]
    _vmsplice.restype = ctypes.c_ssize_t
_PIPE_BYTES = 1 << 20
"""The pipe is made this large (Linux lets anyone have 1 MiB): fewer, larger hand-overs."""


def widen(fd: int) -> None:
    """Make the pipe ``fd`` 1 MiB where the system allows (Linux lets anyone): fewer, larger
    hand-overs. Elsewhere, or refused, it stays as it is."""
    with contextlib.suppress(AttributeError, OSError):
        fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, _PIPE_BYTES)


class _Pipe:
    """Writes buffers to a subprocess's stdin: by reference with ``vmsplice`` where it works,
    else with ``write``.

    A buffer handed by reference must not change until the reader has copied it. The pipe holds
    at most its size in bytes, so once that many more bytes have been handed over after a
    buffer, the reader has taken it; until then this keeps a reference to it (the renderer
    makes a new array for every frame, so nothing writes to one that is kept)."""

    def __init__(self, stdin: Any) -> None:
        self._stdin = stdin
        self._fd = stdin.fileno()
        self._held: deque[np.ndarray] = deque()
        self._bytes = 0  # of the buffers held
        self._capacity = 0
        if _vmsplice is not None:
            widen(self._fd)
            with contextlib.suppress(OSError):
                self._capacity = fcntl.fcntl(self._fd, fcntl.F_GETPIPE_SZ)

    def write(self, chunk: Any) -> None:
        if not self._capacity:
            self._stdin.write(chunk)
            return
        data = np.frombuffer(chunk, np.uint8)
        if not self._splice(data):
            self._capacity = 0  # not a pipe vmsplice takes: write from here on
            self._stdin.write(chunk)
            return
        self._held.append(data)
        self._bytes += data.nbytes
        while self._held and self._bytes - self._held[0].nbytes >= self._capacity:
            self._bytes -= self._held.popleft().nbytes

    def _splice(self, data: np.ndarray) -> bool:
        assert _vmsplice is not None
        address, left = data.ctypes.data, data.nbytes
        while left:
            done = _vmsplice(self._fd, ctypes.byref(_Iovec(address, left)), 1, 0)
            if done < 0:
                err = ctypes.get_errno()
                if err == errno.EINTR:
                    continue
                if err == errno.EPIPE:
                    raise BrokenPipeError(err, "the encoder stopped reading")
                if address == data.ctypes.data and err in (errno.EINVAL, errno.ENOSYS):
                    return False
                raise OSError(err, f"handing a frame to the encoder failed: {os.strerror(err)}")
            address += done
            left -= done
        return True
