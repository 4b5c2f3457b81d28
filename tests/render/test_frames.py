"""The conversion of a still to the encoder's planes: BT.709, limited range, 4:2:0."""

from __future__ import annotations

import numpy as np
import pytest

from studio.render import from_rgb

# the textbook BT.709 limited-range values of the primaries and of black and white
KNOWN = {
    (255, 0, 0): (63, 102, 240),
    (0, 255, 0): (173, 42, 26),
    (0, 0, 255): (32, 240, 118),
    (0, 0, 0): (16, 128, 128),
    (255, 255, 255): (235, 128, 128),
}


@pytest.mark.parametrize(("rgb", "yuv"), KNOWN.items())
def test_a_flat_colour_gets_its_bt709_values(
    rgb: tuple[int, int, int], yuv: tuple[int, int, int]
) -> None:
    planes = from_rgb(np.full((36, 64, 3), rgb, np.uint8))
    assert planes.y.shape == (36, 64) and planes.u.shape == planes.v.shape == (18, 32)
    for plane, want in zip((planes.y, planes.u, planes.v), yuv, strict=True):
        assert np.abs(plane.astype(int) - want).max() <= 1


def test_chroma_is_the_average_of_each_two_by_two_block() -> None:
    rgb = np.random.default_rng(3).integers(0, 256, (72, 128, 3), dtype=np.uint8)
    planes = from_rgb(rgb)
    m = np.array(
        [
            [0.2126, 0.7152, 0.0722],
            [-0.2126 / 1.8556, -0.7152 / 1.8556, 0.5],
            [0.5, -0.7152 / 1.5748, -0.0722 / 1.5748],
        ]
    ) * np.array([[219], [224], [224]])
    exact = rgb.astype(float) / 255 @ m.T + [16, 128, 128]
    blocks = exact.reshape(36, 2, 64, 2, 3).mean(axis=(1, 3))
    assert np.abs(planes.y - exact[..., 0]).max() <= 1
    assert np.abs(planes.u - blocks[..., 1]).max() <= 1
    assert np.abs(planes.v - blocks[..., 2]).max() <= 1
