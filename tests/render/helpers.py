"""Reading renders back for tests: decoded pictures and sound, and where the cuts are."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from studio.render import decode_audio_command, ffmpeg_path, probe


def decoded_frames(path: Path, width: int, height: int) -> NDArray[np.uint8]:
    """Every frame of ``path`` as RGB, ``(frames, height, width, 3)``."""
    done = subprocess.run(
        [ffmpeg_path(), "-v", "error", "-i", str(path), "-map", "0:v:0",
         "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
        capture_output=True, check=True,
    )  # fmt: skip
    return np.frombuffer(done.stdout, np.uint8).reshape(-1, height, width, 3)


def cut_frames(frames: NDArray[np.uint8], *, factor: float = 4.0) -> list[int]:
    """The frames where the picture changes at once: a jump much larger than the frame-to-frame
    change of camera moves around it."""
    diffs = np.abs(np.diff(frames.astype(np.int16), axis=0)).mean(axis=(1, 2, 3))
    threshold = max(8.0, factor * float(np.median(diffs)))
    return [i + 1 for i, d in enumerate(diffs) if d > threshold]


def decoded_audio(path: Path, rate: int = 48000) -> NDArray[np.float32]:
    """The first audio stream of ``path``, mixed to mono."""
    done = subprocess.run(
        decode_audio_command(path, sample_rate=rate), capture_output=True, check=True
    )
    channels = probe(path).audio_channels or 1
    return np.frombuffer(done.stdout, np.float32).reshape(-1, channels).mean(axis=1)
