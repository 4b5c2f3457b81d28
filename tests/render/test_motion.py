"""Camera moves and the offline clip maker, measured on decoded frames of real ffmpeg output."""

from __future__ import annotations

import asyncio
import io
import tempfile
from pathlib import Path

import cv2
import imageio_ffmpeg
import numpy as np
import pytest
from PIL import Image

from studio.errors import InvalidInput
from studio.model import CameraMove
from studio.providers import VideoModel, VideoRequest, resolve_video_model
from studio.providers.local import paint
from studio.render import LocalVideoModel, camera_at, make_clip, probe, read_rgb
from studio.render import frames as frames_of

W, H, FPS = 320, 180, 24


def _png(pixels: np.ndarray) -> bytes:
    out = io.BytesIO()
    Image.fromarray(pixels.astype(np.uint8)).save(out, format="PNG")
    return out.getvalue()


def _blob(x: float, y: float) -> np.ndarray:
    """A dark picture with one soft bright spot at (x, y), in 0..1 of the picture."""
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float64)
    spot = np.exp(-(((xx - x * W) / 6) ** 2 + ((yy - y * H) / 6) ** 2) / 2)
    return np.repeat((20 + 220 * spot)[..., None], 3, axis=2)


def _decoded(data: bytes) -> list[np.ndarray]:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "clip.mp4"
        path.write_bytes(data)
        reader = imageio_ffmpeg.read_frames(str(path))
        meta = next(reader)
        w, h = meta["size"]
        return [np.frombuffer(f, np.uint8).reshape(h, w, 3).copy() for f in reader]


def _spot(frame: np.ndarray) -> tuple[float, float]:
    lum = frame[..., 1].astype(np.float64)
    weight = np.clip(lum - 128, 0, None)
    yy, xx = np.mgrid[0 : frame.shape[0], 0 : frame.shape[1]]
    return float((weight * xx).sum() / weight.sum()), float((weight * yy).sum() / weight.sum())


def _clip(pixels: np.ndarray, camera: CameraMove, seconds: float = 2.0, **kw: object) -> bytes:
    request = VideoRequest(
        first_frame=_png(pixels), camera=camera, duration=seconds, width=W, height=H, fps=FPS,
        **kw,  # type: ignore[arg-type]
    )  # fmt: skip
    return make_clip(request)


def test_a_slow_zoom_moves_every_frame_outwards_smoothly_on_decoded_frames() -> None:
    frames = _decoded(_clip(_blob(0.8, 0.5), CameraMove.ZOOM_IN))
    assert len(frames) == 2 * FPS
    xs = np.array([_spot(f)[0] for f in frames])
    steps = np.diff(xs)
    assert (steps > 0).all(), "the spot must move outwards on every frame, never back"
    # Smooth: from one frame to the next the step changes by under a tenth of a pixel (ffmpeg's
    # zoompan steps whole pixels: 0, 1, 0, 1 ...), measured through H.264 and back.
    assert np.abs(np.diff(steps)).max() < 0.1
    raw = np.diff([_spot(f)[0] for f in frames_of(_blob(0.8, 0.5).astype(np.uint8), "zoom_in", 48)])
    assert (raw > 0).all() and np.abs(np.diff(raw)).max() < 0.05  # before encoding: 1/32 px
    centre = (W - 1) / 2
    assert (xs[-1] - centre) / (xs[0] - centre) == pytest.approx(1.15, rel=0.02)


@pytest.mark.parametrize(
    ("camera", "axis", "sign"),
    [
        (CameraMove.PAN_RIGHT, 0, -1),
        (CameraMove.PAN_LEFT, 0, 1),
        (CameraMove.PAN_DOWN, 1, -1),
        (CameraMove.PAN_UP, 1, 1),
    ],
)
def test_a_pan_slides_the_picture_the_other_way_every_frame(
    camera: CameraMove, axis: int, sign: int
) -> None:
    frames = _decoded(_clip(_blob(0.5, 0.5), camera, seconds=1.0))
    along = np.array([_spot(f)[axis] for f in frames])
    assert (sign * np.diff(along) > 0).all()


def test_a_still_camera_gives_the_same_frame_throughout() -> None:
    frames = _decoded(_clip(_blob(0.3, 0.6), CameraMove.STATIC, seconds=0.5))
    assert len(frames) == 12
    assert max(np.abs(f.astype(int) - frames[0]).max() for f in frames) <= 2


def test_every_move_keeps_the_camera_inside_the_picture() -> None:
    for move in CameraMove:
        for u in np.linspace(0, 1, 21):
            m = camera_at(move, float(u), width=W, height=H, focus=(0.9, 0.1)).matrix(W, H)
            corners = np.array([[0, 0, 1], [W - 1, 0, 1], [0, H - 1, 1], [W - 1, H - 1, 1]])
            src = corners @ m.T
            assert (src[:, 0] >= -0.5).all() and (src[:, 0] <= W - 0.5).all(), (move, u)
            assert (src[:, 1] >= -0.5).all() and (src[:, 1] <= H - 0.5).all(), (move, u)


def test_a_morph_slides_the_first_picture_into_the_last_on_decoded_frames() -> None:
    painted = paint("a city at night with a singer", W + 40, H + 20, seed=3)
    first, last = painted[10 : 10 + H, :W], painted[10 : 10 + H, 24 : 24 + W]  # 24 px apart
    frames = _decoded(_clip(np.ascontiguousarray(first), CameraMove.STATIC, seconds=1.0,
                            last_frame=_png(np.ascontiguousarray(last))))  # fmt: skip

    def grey(x: np.ndarray) -> np.ndarray:
        return np.asarray(cv2.cvtColor(x.astype(np.uint8), cv2.COLOR_RGB2GRAY), np.float32)

    shifts = [cv2.phaseCorrelate(grey(first), grey(f))[0][0] for f in frames]
    assert shifts[0] == pytest.approx(0, abs=0.5) and shifts[-1] == pytest.approx(-24, abs=0.5)
    # It moves across (a cross-fade alone would jump from 0 to -24 half-way), frame by frame.
    assert shifts[len(shifts) // 2] == pytest.approx(-12, abs=2)
    assert (np.diff(shifts) <= 0.25).all()


def test_the_clip_has_exactly_the_frames_asked_for_and_bad_pictures_are_refused() -> None:
    data = _clip(_blob(0.5, 0.5), CameraMove.ROTATE, seconds=1.25)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "c.mp4"
        path.write_bytes(data)
        info = probe(path, count_frames=True)
    assert (info.video, info.width, info.height, info.frames) == ("h264", W, H, 30)
    with pytest.raises(InvalidInput, match="first frame is not a picture"):
        make_clip(VideoRequest(first_frame=b"nope", duration=1, width=W, height=H))


def test_the_local_video_model_comes_from_its_entry_point_and_costs_nothing() -> None:
    model = resolve_video_model(environ={})
    assert isinstance(model, LocalVideoModel) and isinstance(model, VideoModel)
    request = VideoRequest(first_frame=_png(_blob(0.5, 0.5)), duration=0.5, width=W, height=H)
    assert model.estimate(request) == 0.0 and model.card.clip_lengths == []
    clip = asyncio.run(model.generate(request))
    assert clip.media_type == "video/mp4" and clip.duration == pytest.approx(0.5)


def test_a_clip_request_fits_the_largest_size_of_its_shape_the_model_makes() -> None:
    from studio.agents._prompts import clip_request
    from studio.model import Scene
    from studio.render import LocalVideoModel

    scene = Scene(project_id="p", index=0, start=0.0, end=4.0)
    card = LocalVideoModel.card
    for asked, made in (
        ((1280, 720), (640, 360)),
        ((720, 1280), (360, 640)),
        ((320, 180), (320, 180)),
    ):
        request = clip_request(
            scene, first_frame=b"", card=card, width=asked[0], height=asked[1], fps=24
        )
        assert (request.width, request.height) == made


def test_pictures_read_as_pillow_reads_them_png_fast_and_anything_else_by_pillow() -> None:
    rng = np.random.default_rng(5)
    rgb = rng.integers(0, 256, (36, 64, 3), np.uint8)
    alpha = rng.integers(0, 256, (36, 64), np.uint8)
    pictures = {
        "rgb": Image.fromarray(rgb),
        "rgba": Image.fromarray(np.dstack([rgb, alpha])),
        "grey": Image.fromarray(rgb[..., 0]),
        "palette": Image.fromarray(rgb).quantize(32),
        "grey+alpha": Image.fromarray(rgb[..., :2].copy()).convert("LA"),
    }
    for name, picture in pictures.items():
        for fmt in ("PNG", "JPEG", "WEBP"):
            if fmt == "JPEG" and picture.mode not in ("RGB", "L"):
                continue
            out = io.BytesIO()
            picture.save(out, format=fmt)
            data = out.getvalue()
            expected = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
            got = read_rgb(data)
            assert got.shape == expected.shape and got.dtype == np.uint8, (name, fmt)
            assert np.array_equal(got, expected), (name, fmt)
    with tempfile.TemporaryDirectory() as tmp:  # from a file, too
        path = Path(tmp) / "p.png"
        pictures["rgb"].save(path)
        assert np.array_equal(read_rgb(path), rgb)
    png = _png(rgb)
    # OpenCV refuses a PNG without its end chunk; Pillow reads its pixels, and so does this
    assert np.array_equal(read_rgb(png[:-12]), rgb)
    with pytest.raises(OSError):  # the image data cut short
        read_rgb(png[: len(png) // 2])
    broken = bytearray(png)
    broken[len(png) // 2] ^= 0xFF  # a flipped byte in the image data
    with pytest.raises(OSError):
        read_rgb(bytes(broken))
