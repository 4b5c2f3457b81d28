"""Running ffmpeg so that a job can stop it: raw frames piped into an encoder (the loop the clip
maker and the render share), or a command that only has to run to its end."""

from __future__ import annotations

import contextlib
import subprocess
import threading
from collections.abc import Callable, Iterable
from typing import Any

from studio.errors import JobCancelled, RenderError
from studio.render._probe import ProgressParser

__all__ = ["feed", "run"]


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
    reader = None
    if on_progress is not None:
        reader = threading.Thread(target=_progress, args=(proc.stdout, on_progress), daemon=True)
        reader.start()
    try:
        for chunk in chunks:
            if stop is not None and stop.is_set():
                raise JobCancelled(f"the {what} was cancelled")
            proc.stdin.write(chunk)
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
