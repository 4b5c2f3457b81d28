"""The resampler behind every camera move: the same picture as OpenCV's bilinear warp, with
finer positions, and the warp itself wherever the fast path does not apply. The fast path is
tried both ways: from the picture alone, and from the picture with its transpose kept beside
it (as a still's is), where the passes run in the other order."""

from __future__ import annotations

import itertools
from concurrent.futures import ThreadPoolExecutor

import cv2
import numpy as np
import pytest

from studio.render._resample import resample

KEPT = pytest.mark.parametrize("kept", [False, True], ids=["upright", "transpose kept"])


def _resample(picture: np.ndarray, matrix: np.ndarray, kept: bool) -> np.ndarray:
    turned = np.ascontiguousarray(picture.T) if kept else None
    return resample(picture, matrix, turned=turned)


def _warp(picture: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    h, w = picture.shape[:2]
    flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
    return cv2.warpAffine(picture, matrix, (w, h), flags=flags, borderMode=cv2.BORDER_REPLICATE)


@KEPT
@pytest.mark.parametrize(
    "matrix",
    [
        [[0.93, 0, 40.3], [0, 0.93, 20.7]],  # zoomed in, off centre
        [[0.5, 0, 0.25], [0, 0.75, 3.9]],  # unequal scales
        [[1.0, 0, 7.61], [0, 1.0, 0.02]],  # a pan: only a shift
    ],
)
def test_zooms_and_pans_give_the_bilinear_warps_picture(
    matrix: list[list[float]], kept: bool
) -> None:
    picture = np.random.default_rng(1).integers(0, 256, (181, 322), dtype=np.uint8)
    m = np.array(matrix)
    made, warped = _resample(picture, m, kept), _warp(picture, m)
    assert made.shape == picture.shape and made.dtype == np.uint8
    # positions rounded to 1/256 pixel here, values carried at 16 bits: a level apart at most
    assert np.abs(made.astype(int) - warped.astype(int)).max() <= 1
    assert np.abs(made.astype(int) - warped.astype(int)).mean() < 0.3


@KEPT
def test_a_half_pixel_shift_lands_halfway_between_pixels(kept: bool) -> None:
    ramp = np.tile(np.arange(0, 200, 10, dtype=np.uint8), (6, 1))  # 0, 10, 20, ... per column
    shifted = _resample(ramp, np.array([[1.0, 0, 0.5], [0, 1.0, 0]]), kept)
    assert shifted[:, :-1].tolist() == [list(range(5, 195, 10))] * 6
    assert (shifted[:, -1] == 190).all()  # past the edge: the edge pixel, never a border colour


@KEPT
def test_positions_are_exact_to_a_small_fraction_of_a_pixel(kept: bool) -> None:
    step = np.zeros((4, 8), np.uint8)
    step[:, 4:] = 255  # a hard edge between columns 3 and 4
    at = [
        _resample(step, np.array([[1.0, 0, k / 256], [0, 1.0, 0]]), kept)[0, 3] for k in range(256)
    ]
    assert all(b >= a for a, b in itertools.pairwise(at))  # a smooth, monotonic sweep
    assert len(set(at)) > 200  # a shift of 1/256 pixel shows (whole-pixel steps give 2 values)


def test_a_turn_or_colour_picture_is_left_to_opencv() -> None:
    rng = np.random.default_rng(2)
    angle = np.deg2rad(3)
    turned = np.array([[np.cos(angle), -np.sin(angle), 5.0], [np.sin(angle), np.cos(angle), 2.0]])
    grey = rng.integers(0, 256, (60, 80), dtype=np.uint8)
    assert np.array_equal(resample(grey, turned), _warp(grey, turned))
    colour = rng.integers(0, 256, (60, 80, 3), dtype=np.uint8)
    zoom = np.array([[0.9, 0, 3.3], [0, 0.9, 1.1]])
    assert np.array_equal(resample(colour, zoom), _warp(colour, zoom))


@KEPT
def test_each_frame_is_its_own_array(kept: bool) -> None:
    """The buffers reused between frames never leak out: two frames made one after the other
    are both intact."""
    picture = np.random.default_rng(3).integers(0, 256, (90, 160), dtype=np.uint8)
    first = _resample(picture, np.array([[0.9, 0, 4.0], [0, 0.9, 2.0]]), kept)
    copy = first.copy()
    _resample(picture, np.array([[0.8, 0, 9.0], [0, 0.8, 5.0]]), kept)
    assert np.array_equal(first, copy)


def test_a_4k_plane_on_a_worker_thread_gives_the_warps_picture() -> None:
    """The widest pictures the render makes, on a thread as a render job runs: the pass keeps
    each row's taps on the stack, which a thread's stack must hold. The picture is smooth:
    OpenCV's positions, in 1/32 pixel, would be levels off on noise this many pixels wide."""
    noise = np.random.default_rng(4).integers(0, 256, (2160, 3840), dtype=np.uint8)
    picture = np.asarray(cv2.GaussianBlur(noise, (0, 0), 2), np.uint8)
    m = np.array([[0.97, 0, 51.37], [0, 0.97, 30.11]])
    with ThreadPoolExecutor(1) as pool:
        made = pool.submit(resample, picture, m, turned=np.ascontiguousarray(picture.T)).result()
    assert np.abs(made.astype(int) - _warp(picture, m).astype(int)).max() <= 1
