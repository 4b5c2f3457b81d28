"""The offline painter: a real picture from a prompt's words, the shot and the mood's colours."""

from __future__ import annotations

import asyncio
import io

import numpy as np
import pytest
from PIL import Image

from studio.providers import ImageModel, ImageRequest
from studio.providers.local import LocalImageModel, paint, read_scene


def _pixels(prompt: str, **options: object) -> np.ndarray:
    size = {"width": 320, "height": 180} | options
    return paint(prompt, size.pop("width"), size.pop("height"), **size).astype(float)  # type: ignore[arg-type]


def _luminance(img: np.ndarray) -> float:
    return float((img @ np.array([0.2126, 0.7152, 0.0722])).mean())


def test_it_is_an_image_model_that_answers_with_a_png_of_the_asked_size() -> None:
    model = LocalImageModel()
    assert isinstance(model, ImageModel)
    for width, height in ((1280, 720), (1080, 1920), (64, 64)):
        request = ImageRequest(prompt="a road at dusk", width=width, height=height, seed=3)
        assert model.estimate(request) == 0.0
        image = asyncio.run(model.generate(request))
        assert image.media_type == "image/png" and image.provider == "local"
        decoded = Image.open(io.BytesIO(image.data))
        assert decoded.size == (width, height) and decoded.mode == "RGB"


def test_the_same_request_gives_the_same_picture_and_seeds_vary_it() -> None:
    model = LocalImageModel()
    request = ImageRequest(prompt="a city street at night, neon", width=320, height=180, seed=7)
    assert model.render(request).data == model.render(request).data
    other = _pixels("a city street at night, neon", seed=8)
    assert np.abs(_pixels("a city street at night, neon", seed=7) - other).mean() > 2


def test_the_words_choose_what_is_in_the_picture() -> None:
    scene = read_scene("Neon signs in a rainy city street, a singer under the lights")
    assert scene.time == "night"
    assert {"city", "rain", "figure", "light"} <= scene.elements
    assert read_scene("misty mountains at dawn").elements >= {"fog", "mountains"}
    assert read_scene("a meadow").time == "day"
    # Night is darker than day; a city at night has lit windows a field does not.
    assert _luminance(_pixels("a field at night")) < 0.6 * _luminance(_pixels("a field by day"))
    city = _pixels("a city at night", palette=["#00e5ff", "#ff2e88"], width=640, height=360)
    field = _pixels("a field at night", palette=["#00e5ff", "#ff2e88"], width=640, height=360)

    def detail(img: np.ndarray) -> float:
        """Edges (of buildings, of lit windows) in the band above the horizon; 4x4 blocks
        first, so the film grain does not count."""
        luma = img[40:200] @ np.array([0.2126, 0.7152, 0.0722])
        blocks = luma.reshape(40, 4, 160, 4).mean(axis=(1, 3))
        return float(np.abs(np.diff(blocks, axis=1)).mean())

    assert detail(city) > 2 * detail(field)


def test_the_shot_sets_how_large_a_figure_stands() -> None:
    def dark_share(shot: str) -> float:
        img = _pixels("a figure on a beach at sunset", shot=shot)
        middle = img[:, 130:190]
        return float((middle.max(axis=2) < 20).mean())

    assert dark_share("close") > 2 * dark_share("wide")


def test_the_palette_colours_the_picture() -> None:
    warm = _pixels("abstract shapes", palette=["#ff5a1f", "#ffb000", "#c0142a"])
    cool = _pixels("abstract shapes", palette=["#1f6bff", "#00c2d1", "#2a14c0"])
    redness = lambda img: float((img[..., 0] - img[..., 2]).mean())  # noqa: E731
    assert redness(warm) > redness(cool) + 20


def test_bad_requests_are_refused() -> None:
    with pytest.raises(ValueError, match="greater than or equal to 16"):
        ImageRequest(prompt="x", width=0, height=100)
    with pytest.raises(ValueError, match="#a1b2c3"):
        ImageRequest(prompt="x", width=64, height=64, palette=["red"])
    with pytest.raises(ValueError, match="at least 1 character"):
        ImageRequest(prompt="", width=64, height=64)
