"""One plane of a frame resampled through a camera's matrix, bilinear and sub-pixel exact.

Most of a render's frames are a still seen through a zoom or a pan: a matrix with no turn in
it. Those are resampled in two passes, rows then columns, each a blend of two whole source rows
(the columns pass works on the transposed image, so it blends rows too; a still keeps its
transpose, so its passes go columns then rows and need one transpose, not two); both run as
vectorised loops compiled by numba, a quarter of the CPU of OpenCV's ``warpAffine``, which
computes a source position for every pixel. Positions are exact to 1/256 of a pixel; each pass
rounds to 8 bits, so a value is at most one level from the exact blend (far below what the
encoder keeps) and the passes and the transpose between them move bytes, not words. A matrix
with a turn in it, or a picture with more than one channel, goes to ``warpAffine``.

The edge is clamped: a source position outside the picture takes the nearest edge pixel. The
camera moves keep inside the picture, so the edge is never seen.
"""

from __future__ import annotations

import functools
import threading

import cv2
import numpy as np
from numba import njit
from numpy.typing import NDArray

__all__ = ["resample", "warm_up"]

_ONE = 256
"""A whole pixel in the blend weights: positions are exact to 1/256 pixel."""


def resample(
    picture: NDArray[np.uint8],
    matrix: NDArray[np.float64],
    *,
    turned: NDArray[np.uint8] | None = None,
) -> NDArray[np.uint8]:
    """``picture`` resampled to its own size: output pixel (x, y) takes the source at
    ``matrix @ (x, y, 1)`` (an inverse map, as ``cv2.WARP_INVERSE_MAP``). ``turned``, the
    picture's transpose, saves a transpose of the picture's size where a caller keeps one (a
    still seen through many frames)."""
    h, w = picture.shape[:2]
    (ax, turn_x, bx), (turn_y, ay, by) = matrix.tolist()
    if picture.ndim == 2 and turn_x == 0 and turn_y == 0 and ax > 0 and ay > 0 and min(h, w) > 1:
        rows, columns = _taps(ay, by, h, h), _taps(ax, bx, w, w)
        if turned is not None:  # columns first, on the transpose: the result stands upright
            out = np.empty((h, w), np.uint8)
            _passes(turned, columns, rows, out)
            return out
        out = _scratch(w, h, 2)
        _passes(picture, rows, columns, out)
        return np.asarray(cv2.transpose(out), dtype=np.uint8)
    return np.asarray(
        cv2.warpAffine(
            picture,
            matrix,
            (w, h),
            flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
            borderMode=cv2.BORDER_REPLICATE,
        ),
        dtype=np.uint8,
    )


@functools.cache  # once in a process
def warm_up() -> None:
    """Start loading the compiled passes on a thread of their own. numba reads them from its
    cache on first use: about 0.4 s, mostly holding the GIL, that a render spends meanwhile
    on starting its encoders. A ``resample`` that comes first waits for the load (numba
    loads under one lock)."""
    threading.Thread(target=_load, name="resampler-load", daemon=True).start()


def _load() -> None:
    resample(np.zeros((4, 4), np.uint8), np.array([[0.5, 0.0, 0.0], [0.0, 0.5, 0.0]]))


Taps = tuple[NDArray[np.int32], NDArray[np.int32]]


def _passes(source: NDArray[np.uint8], first: Taps, second: Taps, out: NDArray[np.uint8]) -> None:
    """Blend ``source``'s rows by the ``first`` taps (only the columns the ``second`` taps
    reach), transpose, and blend those rows by the ``second`` taps into ``out``: the two
    passes of a resample, whose result is the transpose of ``source``'s orientation."""
    (index, weight), (across, across_weight) = first, second
    lo, hi = int(across[0]), int(across[-1]) + 2  # the taps are in order: the scale is > 0
    blended = _scratch(index.size, hi - lo, 0)
    _blend_rows(source[:, lo:hi], index, weight, blended)
    flipped = _scratch(hi - lo, index.size, 1)
    cv2.transpose(blended, flipped)
    _blend_rows(flipped, across - lo, across_weight, out)


_buffers = threading.local()


def _scratch(rows: int, columns: int, slot: int) -> NDArray[np.uint8]:
    """A contiguous buffer this thread reuses from frame to frame (a fresh one each frame costs
    more in page faults than the blends themselves; a strided one is not vectorised)."""
    kept: dict[int, NDArray[np.uint8]] | None = getattr(_buffers, "kept", None)
    if kept is None:
        kept = _buffers.kept = {}
    found = kept.get(slot)
    if found is None or found.size < rows * columns:
        found = kept[slot] = np.empty(rows * columns, np.uint8)
    return found[: rows * columns].reshape(rows, columns)


@njit(cache=True, nogil=True)
def _taps(a: float, b: float, count: int, size: int) -> tuple[NDArray[np.int32], NDArray[np.int32]]:
    """For outputs 0..count-1 at source positions ``a * i + b`` (clamped to the picture of
    ``size``): the first of the two source indices each blends, and the second's weight."""
    index = np.empty(count, np.int32)
    weight = np.empty(count, np.int32)
    for i in range(count):
        s = min(max(a * i + b, 0.0), size - 1.0)
        k = min(int(s), size - 2)
        index[i] = k
        weight[i] = int((s - k) * _ONE + 0.5)
    return index, weight


@njit(cache=True, nogil=True)
def _blend_rows(
    source: NDArray[np.uint8],
    index: NDArray[np.int32],
    weight: NDArray[np.int32],
    out: NDArray[np.uint8],
) -> None:
    """``out[i] = source[index[i]] * (1 - t) + source[index[i] + 1] * t``, rounded."""
    for i in range(index.size):
        first, second = source[index[i]], source[index[i] + 1]
        t = np.uint16(weight[i])
        s = np.uint16(_ONE) - t
        row = out[i]
        for j in range(row.size):
            row[j] = np.uint8(
                (np.uint16(first[j]) * s + np.uint16(second[j]) * t + np.uint16(_ONE // 2)) >> 8
            )
