"""Frames handed to ffmpeg arrive as they were made, whether handed by reference (Linux's
vmsplice) or written."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from studio.render import ffmpeg_path
from studio.render._pipe import _Pipe, feed

FRAME = 64 * 48 * 3 // 2  # a small YUV 4:2:0 frame


def _copy_command(out: Path) -> list[str]:
    return [
        ffmpeg_path(), "-hide_banner", "-nostdin", "-y", "-loglevel", "error",
        "-f", "rawvideo", "-pix_fmt", "yuv420p", "-s", "64x48", "-r", "25", "-i", "pipe:0",
        "-c:v", "rawvideo", "-f", "rawvideo", str(out),
    ]  # fmt: skip


def test_frames_dropped_as_soon_as_they_are_handed_over_arrive_intact(tmp_path: Path) -> None:
    # each frame lives only until the next is made, and the next is the same size, so the
    # allocator gives it the same memory: a frame the encoder had not yet read would be
    # overwritten if the pipe did not keep it until it was read
    count = 400
    expected = hashlib.sha256()
    for k in range(count):
        expected.update(bytes([k % 251]) * FRAME)
    out = tmp_path / "frames.yuv"
    feed(_copy_command(out), (np.full(FRAME, k % 251, np.uint8).data for k in range(count)),
         what="test")  # fmt: skip
    assert out.stat().st_size == count * FRAME
    assert hashlib.sha256(out.read_bytes()).hexdigest() == expected.hexdigest()


def test_a_file_that_is_not_a_pipe_is_written_plainly(tmp_path: Path) -> None:
    out = tmp_path / "plain.bin"
    chunks = [np.arange(k, k + 5000, dtype=np.uint16).view(np.uint8) for k in range(3)]
    with out.open("wb") as stdin:
        pipe = _Pipe(stdin)
        for chunk in chunks:
            pipe.write(chunk.data)
    assert out.read_bytes() == b"".join(c.tobytes() for c in chunks)
