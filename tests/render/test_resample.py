"""The resampler behind every camera move: the same picture as OpenCV's bilinear warp, with
finer positions, and the warp itself wherever the fast paths do not apply. Each test runs each
way a plane is resampled: in one pass, by each CPU's way of gathering columns that this CPU has
(AVX-512 VBMI, AVX2), in two passes from the picture alone, and in two passes from the picture
with its transpose kept beside it (as a still's is), where the passes run in the other order."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import cv2
import numpy as np
import pytest

from studio.render import _resample
from studio.render._resample import keeps_transpose, resample

Resample = Callable[[np.ndarray, np.ndarray], np.ndarray]

ONE_PASSES = {"one pass, AVX-512 VBMI": _resample._VBMI, "one pass, AVX2": _resample._AVX2}


def _this_cpus(name: str) -> _resample._OnePass:
    way = ONE_PASSES[name]
    if not _resample._usable(way):
        pytest.skip(f"this CPU has no {', '.join(way.features)}: its renders take another way")
    return way


@pytest.fixture(params=[*ONE_PASSES, "two passes", "transpose kept"])
def way(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Resample:
    if request.param in ONE_PASSES:
        one_pass = _this_cpus(request.param)
        monkeypatch.setattr(_resample, "_best", lambda: one_pass)
    else:
        monkeypatch.setattr(_resample, "_one_pass", lambda ax, width: None)
    kept = request.param == "transpose kept"

    def run(picture: np.ndarray, matrix: np.ndarray) -> np.ndarray:
        turned = np.ascontiguousarray(picture.T) if kept else None
        return resample(picture, matrix, turned=turned)

    return run


def _warp(picture: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    h, w = picture.shape[:2]
    flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
    return cv2.warpAffine(picture, matrix, (w, h), flags=flags, borderMode=cv2.BORDER_REPLICATE)


@pytest.mark.parametrize(
    "matrix",
    [
        [[0.93, 0, 40.3], [0, 0.93, 20.7]],  # zoomed in, off centre
        [[0.5, 0, 0.25], [0, 0.75, 3.9]],  # unequal scales
        [[1.0, 0, 7.61], [0, 1.0, 0.02]],  # a pan: only a shift
    ],
)
def test_zooms_and_pans_give_the_bilinear_warps_picture(
    matrix: list[list[float]], way: Resample
) -> None:
    picture = np.random.default_rng(1).integers(0, 256, (181, 322), dtype=np.uint8)
    m = np.array(matrix)
    made, warped = way(picture, m), _warp(picture, m)
    assert made.shape == picture.shape and made.dtype == np.uint8
    # positions rounded to 1/256 pixel here, values carried at 16 bits: a level apart at most
    assert np.abs(made.astype(int) - warped.astype(int)).max() <= 1
    assert np.abs(made.astype(int) - warped.astype(int)).mean() < 0.3


def test_a_half_pixel_shift_lands_halfway_between_pixels(way: Resample) -> None:
    ramp = np.tile(np.arange(0, 256, 2, dtype=np.uint8), (6, 1))  # 0, 2, 4, ... per column
    shifted = way(ramp, np.array([[1.0, 0, 0.5], [0, 1.0, 0]]))
    assert shifted[:, :-1].tolist() == [list(range(1, 255, 2))] * 6
    assert (shifted[:, -1] == 254).all()  # past the edge: the edge pixel, never a border colour


def test_positions_are_exact_to_a_small_fraction_of_a_pixel(way: Resample) -> None:
    step = np.zeros((4, 128), np.uint8)
    step[:, 64:] = 255  # a hard edge between columns 63 and 64
    at = [way(step, np.array([[1.0, 0, k / 256], [0, 1.0, 0]]))[0, 63] for k in range(256)]
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


def test_each_frame_is_its_own_array(way: Resample) -> None:
    """The buffers reused between frames never leak out: two frames made one after the other
    are both intact."""
    picture = np.random.default_rng(3).integers(0, 256, (90, 160), dtype=np.uint8)
    first = way(picture, np.array([[0.9, 0, 4.0], [0, 0.9, 2.0]]))
    copy = first.copy()
    way(picture, np.array([[0.8, 0, 9.0], [0, 0.8, 5.0]]))
    assert np.array_equal(first, copy)


def test_a_4k_plane_on_a_worker_thread_gives_the_warps_picture(way: Resample) -> None:
    """The widest pictures the render makes, on a thread as a render job runs: the pass keeps
    each row's taps on the stack, which a thread's stack must hold. The picture is smooth:
    OpenCV's positions, in 1/32 pixel, would be levels off on noise this many pixels wide."""
    noise = np.random.default_rng(4).integers(0, 256, (2160, 3840), dtype=np.uint8)
    picture = np.asarray(cv2.GaussianBlur(noise, (0, 0), 2), np.uint8)
    m = np.array([[0.97, 0, 51.37], [0, 0.97, 30.11]])
    with ThreadPoolExecutor(1) as pool:
        made = pool.submit(way, picture, m).result()
    assert np.abs(made.astype(int) - _warp(picture, m).astype(int)).max() <= 1


@pytest.mark.parametrize("name", ONE_PASSES)
def test_the_one_pass_gives_exactly_the_two_passes_picture(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Any size a vector wide or more (not only whole vectors: the last vector of a row
    overlaps the one before), any scale it takes, from below the picture to past its edges,
    and a picture that is a view into a wider one."""
    one_pass = _this_cpus(name)
    monkeypatch.setattr(_resample, "_best", lambda: one_pass)
    rng = np.random.default_rng(5)
    cases = []
    for _ in range(60):
        h, w = int(rng.integers(2, 300)), int(rng.integers(one_pass.lanes, 700))
        matrix = np.array(
            [
                [rng.uniform(0.05, one_pass.reach), 0, rng.uniform(-20, w)],
                [0, rng.uniform(0.05, 3.0), rng.uniform(-20, h)],
            ]
        )
        cases.append((rng.integers(0, 256, (h, w), dtype=np.uint8), matrix))
    wide = rng.integers(0, 256, (120, 400), dtype=np.uint8)
    cases.append((wide[:, 7:301], np.array([[0.9, 0, 5.5], [0, 0.9, 3.3]])))
    cases.append((wide, np.array([[one_pass.reach, 0, 0.4], [0, 1.0, 0.7]])))  # its widest reach
    for picture, matrix in cases:
        assert _resample._one_pass(matrix[0, 0], picture.shape[1]) is not None
    one = [resample(picture, matrix) for picture, matrix in cases]
    monkeypatch.setattr(_resample, "_one_pass", lambda ax, width: None)
    two = [resample(picture, matrix) for picture, matrix in cases]
    for a, b in zip(one, two, strict=True):
        assert np.array_equal(a, b)


@pytest.mark.parametrize("name", ONE_PASSES)
def test_what_the_one_pass_cannot_reach_takes_the_two_passes(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A row narrower than a vector, or a scale whose taps spread past the one pass's reach
    (shrinking the picture, a little for AVX2, to less than about half for VBMI), still comes
    out as the warp's picture."""
    one_pass = _this_cpus(name)
    monkeypatch.setattr(_resample, "_best", lambda: one_pass)
    rng = np.random.default_rng(6)
    narrow = rng.integers(0, 256, (40, one_pass.lanes - 1), dtype=np.uint8)
    noise = rng.integers(0, 256, (80, 600), dtype=np.uint8)
    shrink = np.asarray(cv2.GaussianBlur(noise, (0, 0), 2), np.uint8)
    for picture, matrix in [
        (narrow, np.array([[0.9, 0, 2.2], [0, 0.9, 1.1]])),
        (shrink, np.array([[one_pass.reach * 1.01, 0, 0.3], [0, 1.0, 0.0]])),
    ]:
        assert _resample._one_pass(matrix[0, 0], picture.shape[1]) is None
        made = resample(picture, matrix)
        assert np.abs(made.astype(int) - _warp(picture, matrix).astype(int)).max() <= 1


@pytest.mark.parametrize("name", ONE_PASSES)
def test_a_still_keeps_its_transpose_only_where_its_moves_take_the_two_passes(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A camera move never shrinks the picture (column scale at most 1), which every one pass
    reaches: a still a vector wide or more has no use for its transpose."""
    one_pass = _this_cpus(name)
    monkeypatch.setattr(_resample, "_best", lambda: one_pass)
    assert _resample._one_pass(1.0, one_pass.lanes) is not None
    assert not keeps_transpose(one_pass.lanes)
    assert keeps_transpose(one_pass.lanes - 1)
    monkeypatch.setattr(_resample, "_best", lambda: None)  # a CPU with no one pass
    assert keeps_transpose(4096)


def test_the_machine_code_is_kept_for_the_next_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STUDIO_CACHE", str(tmp_path))
    picture = np.random.default_rng(5).integers(0, 256, (90, 200), dtype=np.uint8)
    zoom = np.array([[0.9, 0, 9.3], [0, 0.9, 4.1]])
    way = _resample._best()
    *made, from_disk = _resample._build(way)
    assert from_disk is False  # nothing kept yet: compiled, and kept
    (kept,) = tmp_path.glob("resampler-*.o")
    *loaded, from_disk = _resample._build(way)
    assert from_disk is True
    monkeypatch.setattr(_resample, "_compiled", lambda _: tuple(made))
    compiled = resample(picture, zoom)
    monkeypatch.setattr(_resample, "_compiled", lambda _: tuple(loaded))
    assert np.array_equal(resample(picture, zoom), compiled)
    assert np.abs(compiled.astype(int) - _warp(picture, zoom).astype(int)).max() <= 1
    assert kept.stat().st_size > 1000


def test_a_damaged_kept_code_is_made_again_not_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STUDIO_CACHE", str(tmp_path))
    way = _resample._best()
    _resample._build(way)
    (kept,) = tmp_path.glob("resampler-*.o")
    whole = kept.read_bytes()
    for damaged in (whole[: len(whole) // 2], whole[:-8] + b"\x90" * 8, b""):
        kept.write_bytes(damaged)
        assert _resample._build(way)[3] is False
        assert kept.read_bytes() == whole  # made again and kept again
        assert _resample._build(way)[3] is True


def test_where_nothing_can_be_kept_it_compiles_each_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocked = tmp_path / "a file, not a folder"
    blocked.write_text("")
    monkeypatch.setenv("STUDIO_CACHE", str(blocked))
    way = _resample._best()
    assert _resample._build(way)[3] is False
    assert _resample._build(way)[3] is False
    assert blocked.read_text() == ""
