"""Frames as the encoder takes them: planar YUV 4:2:0 (BT.709, limited range), and the sources
of a render's frames: a still seen through a camera move, or a clip take decoded by ffmpeg.

The render works in YUV from start to end. A still is converted once; every frame after that is
one resample of each plane (the camera move and any audio-reactive motion folded into one
matrix), a blend at a transition, and a write to the encoder's pipe: half the bytes of RGB and
no colour conversion inside ffmpeg, so the render costs little more than the encode itself.
"""

from __future__ import annotations

import contextlib
import subprocess
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from numpy.typing import NDArray

from studio.errors import RenderError
from studio.render._ffmpeg import decode_video_command
from studio.render._motion import Camera, seen

__all__ = ["Planes", "VideoSource", "black", "from_rgb", "transposed", "warp"]

Plane = NDArray[np.uint8]


@dataclass(frozen=True)
class Planes:
    """One frame: luma at full size, the two chroma planes at half width and half height."""

    y: Plane
    u: Plane
    v: Plane

    @property
    def size(self) -> tuple[int, int]:
        return self.y.shape[1], self.y.shape[0]

    @classmethod
    def from_bytes(cls, data: bytes, width: int, height: int) -> Planes:
        flat = np.frombuffer(data, dtype=np.uint8)
        ys, cs = width * height, (width // 2) * (height // 2)
        return cls(
            flat[:ys].reshape(height, width),
            flat[ys : ys + cs].reshape(height // 2, width // 2),
            flat[ys + cs : ys + 2 * cs].reshape(height // 2, width // 2),
        )


# BT.709, limited range: Y in 16..235, Cb and Cr in 16..240 (the last column is the offset)
_RGB_TO_YUV = np.hstack(
    [
        np.array(
            [
                [0.2126, 0.7152, 0.0722],
                [-0.2126 / 1.8556, -0.7152 / 1.8556, 0.5],
                [0.5, -0.7152 / 1.5748, -0.0722 / 1.5748],
            ]
        )
        * np.array([[219 / 255], [224 / 255], [224 / 255]]),
        [[16], [128], [128]],
    ]
)


def from_rgb(rgb: NDArray[np.uint8]) -> Planes:
    """An RGB picture (even width and height) as BT.709 limited-range 4:2:0 planes (each value
    at most one level from the exact conversion; the chroma planes are 2x2 averages)."""
    h, w = rgb.shape[:2]
    y, u, v = cv2.split(cv2.transform(rgb, _RGB_TO_YUV))
    half = (w // 2, h // 2)
    return Planes(
        np.asarray(y, np.uint8),
        np.asarray(cv2.resize(u, half, interpolation=cv2.INTER_AREA), np.uint8),
        np.asarray(cv2.resize(v, half, interpolation=cv2.INTER_AREA), np.uint8),
    )


def black(width: int, height: int, *, white: bool = False) -> Planes:
    luma = 235 if white else 16
    return Planes(
        np.full((height, width), luma, np.uint8),
        np.full((height // 2, width // 2), 128, np.uint8),
        np.full((height // 2, width // 2), 128, np.uint8),
    )


def warp(frame: Planes, camera: Camera, *, turned: Planes | None = None) -> Planes:
    """``frame`` seen through ``camera``, each plane resampled once (the chroma planes at their
    own half size, so the move is the same fraction of the picture). ``turned``: the frame's
    planes transposed (``transposed``), kept by a caller that warps the frame many times."""
    if camera == Camera():
        return frame
    planes = (frame.y, frame.u, frame.v)
    turns = (None, None, None) if turned is None else (turned.y, turned.u, turned.v)
    return Planes(*(seen(p, camera, turned=t) for p, t in zip(planes, turns, strict=True)))


def transposed(frame: Planes) -> Planes:
    """Each of ``frame``'s planes transposed (rows become columns)."""
    return Planes(*(np.asarray(cv2.transpose(p), np.uint8) for p in (frame.y, frame.u, frame.v)))


class VideoSource:
    """A clip take decoded by ffmpeg at the render's size and frame rate (scaled to cover the
    frame, cropped around ``focus``), read front to back from ``start`` seconds into the take.
    Before its first frame the first is held, after its last the last."""

    def __init__(
        self,
        path: Path,
        *,
        width: int,
        height: int,
        fps: int,
        start: float,
        first_index: int,
        focus: tuple[float, float] = (0.5, 0.5),
    ) -> None:
        self.width, self.height = width, height
        self._size = width * height * 3 // 2
        self._next = max(0, first_index)
        self._current: Planes | None = None
        self._done = False
        command = decode_video_command(
            path, width=width, height=height, fps=fps, start=max(0.0, start), focus=focus
        )
        self._proc = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        self._first = first_index

    def _read(self) -> Planes | None:
        assert self._proc.stdout is not None
        data = self._proc.stdout.read(self._size)
        if len(data) < self._size:
            return None
        return Planes.from_bytes(data, self.width, self.height)

    def frame(self, index: int) -> Planes:
        index = max(index, self._first, 0)
        while (self._current is None or self._next <= index) and not self._done:
            found = self._read()
            if found is None:
                self._done = True
                break
            self._current = found
            self._next += 1
        if self._current is None:
            err = self._proc.stderr.read().decode(errors="replace") if self._proc.stderr else ""
            self.close()
            raise RenderError(
                "ffmpeg decoded no frame of a clip take", hint=err.strip()[-300:] or None
            )
        return self._current

    def close(self) -> None:
        if self._proc.poll() is None:
            self._proc.kill()
        with contextlib.suppress(OSError, ValueError):
            self._proc.wait()
            for stream in (self._proc.stdout, self._proc.stderr):
                if stream is not None:
                    stream.close()
