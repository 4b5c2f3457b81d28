"""Camera moves on still pictures, exact to the sub-pixel, and the morph between two pictures.

A move is a function of time ``u`` in 0..1 to a camera (scale, centre in the picture, angle);
each frame is the picture seen through that camera, resampled once with bilinear filtering
(``_resample``, 1/256-pixel exact), so a slow zoom grows by a little every frame and
never steps back the way ffmpeg's ``zoompan`` does on its whole-pixel grid. The camera always
stays inside the picture: no border ever shows.

The render (issue 5's effects) and the offline clip maker share these moves.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from numpy.typing import NDArray
from PIL import Image

from studio.model import CameraMove
from studio.render._resample import resample

__all__ = [
    "Camera",
    "Frame",
    "camera_at",
    "cover",
    "ease",
    "focus_point",
    "frames",
    "morph",
    "read_rgb",
    "seen",
]

Frame = NDArray[np.uint8]
"""An RGB picture, height x width x 3."""

ZOOM = 1.15
"""How far a zoom goes over a clip: 15 %, at a constant perceived rate."""
PAN_SCALE = 1.15
"""How far the camera is zoomed in to have room to pan (the pan crosses the spare margin)."""
PUSH = 1.3
ROTATE_DEGREES = 2.5
"""A slow rotation turns from -2.5 to +2.5 degrees."""


@dataclass(frozen=True)
class Camera:
    """What the camera sees: ``scale`` >= 1 times the picture, centred on ``(cx, cy)`` (0..1 of
    the picture's width and height), turned by ``angle`` degrees (counter-clockwise)."""

    scale: float = 1.0
    cx: float = 0.5
    cy: float = 0.5
    angle: float = 0.0

    def matrix(self, width: int, height: int) -> NDArray[np.float64]:
        """The 2x3 map from an output pixel to the picture's pixel (both ``width`` x ``height``;
        pixel centres at whole numbers, as OpenCV has them)."""
        theta = math.radians(self.angle)
        c, s = math.cos(theta) / self.scale, math.sin(theta) / self.scale
        ox, oy = (width - 1) / 2, (height - 1) / 2
        sx, sy = self.cx * width - 0.5, self.cy * height - 0.5
        return np.array([[c, -s, sx - c * ox + s * oy], [s, c, sy - s * ox - c * oy]])


def ease(u: float) -> float:
    """Half linear, half cosine: starts and ends gently but never stops, so every frame moves a
    little and the motion is monotonic."""
    u = min(1.0, max(0.0, u))
    return 0.5 * u + 0.25 * (1 - math.cos(math.pi * u))


def _clamp_centre(value: float, scale: float) -> float:
    half = 0.5 / scale
    return min(1 - half, max(half, value))


def _rotation_scale(width: int, height: int, degrees: float) -> float:
    """The least zoom at which a picture turned by ``degrees`` still covers the frame."""
    t = math.radians(abs(degrees))
    long, short = max(width, height), min(width, height)
    return math.cos(t) + long / short * math.sin(t)


def camera_at(
    move: CameraMove | str,
    u: float,
    *,
    width: int = 16,
    height: int = 9,
    focus: tuple[float, float] = (0.5, 0.5),
) -> Camera:
    """The camera of ``move`` at time ``u`` (0..1 of the clip, eased here)."""
    move = CameraMove(move)
    e = ease(u)
    if move is CameraMove.ZOOM_IN:
        return Camera(scale=ZOOM**e)
    if move is CameraMove.ZOOM_OUT:
        return Camera(scale=ZOOM ** (1 - e))
    if move in (CameraMove.PAN_LEFT, CameraMove.PAN_RIGHT, CameraMove.PAN_UP, CameraMove.PAN_DOWN):
        lo, hi = 0.5 / PAN_SCALE, 1 - 0.5 / PAN_SCALE
        forward = move in (CameraMove.PAN_RIGHT, CameraMove.PAN_DOWN)
        along = lo + (hi - lo) * (e if forward else 1 - e)
        if move in (CameraMove.PAN_LEFT, CameraMove.PAN_RIGHT):
            return Camera(scale=PAN_SCALE, cx=along)
        return Camera(scale=PAN_SCALE, cy=along)
    if move is CameraMove.PUSH_IN:
        scale = PUSH**e
        cx = _clamp_centre(0.5 + (focus[0] - 0.5) * e, scale)
        cy = _clamp_centre(0.5 + (focus[1] - 0.5) * e, scale)
        return Camera(scale=scale, cx=cx, cy=cy)
    if move is CameraMove.ROTATE:
        scale = _rotation_scale(width, height, ROTATE_DEGREES) * 1.01
        return Camera(scale=scale, angle=-ROTATE_DEGREES + 2 * ROTATE_DEGREES * e)
    return Camera()


def read_rgb(source: Path | bytes) -> Frame:
    """The pixels of a picture file (or its bytes) as RGB, its alpha dropped. A PNG is decoded
    by OpenCV, in half the time Pillow takes to decode it and copy it out (a 1280x720 PNG in
    about 18 ms against 30 to 36); any other format, or a PNG OpenCV refuses, by Pillow, whose
    ``UnidentifiedImageError`` or ``OSError`` then says why."""
    data = source.read_bytes() if isinstance(source, Path) else source
    with Image.open(io.BytesIO(data)) as image:  # the header only, with Pillow's size checks
        if image.format == "PNG":
            flags = cv2.IMREAD_COLOR | cv2.IMREAD_IGNORE_ORIENTATION  # as Pillow: no turning
            bgr = cv2.imdecode(np.frombuffer(data, np.uint8), flags)
            if bgr is not None:
                return np.asarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB, dst=bgr), np.uint8)
        return np.asarray(image.convert("RGB"))


def cover(
    picture: Frame, width: int, height: int, focus: tuple[float, float] = (0.5, 0.5)
) -> Frame:
    """``picture`` scaled to cover ``width`` x ``height``, cropped with ``focus`` (0..1 across
    and down) as near the middle as the picture allows: a reframe keeps its subject."""
    h, w = picture.shape[:2]
    if (w, h) == (width, height):
        return picture
    scale = max(width / w, height / h)
    size = (max(width, round(w * scale)), max(height, round(h * scale)))
    if size != (w, h):
        interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
        picture = np.asarray(cv2.resize(picture, size, interpolation=interpolation), np.uint8)
    x0 = min(size[0] - width, max(0, round(size[0] * focus[0] - width / 2)))
    y0 = min(size[1] - height, max(0, round(size[1] * focus[1] - height / 2)))
    return np.ascontiguousarray(picture[y0 : y0 + height, x0 : x0 + width])


def focus_point(picture: Frame) -> tuple[float, float]:
    """Where the eye goes (0..1, 0..1): the region that stands out most from the picture's
    average, on a blurred thumbnail; a push-in moves towards it."""
    small = cv2.resize(picture, (64, 36), interpolation=cv2.INTER_AREA).astype(np.float32)
    lum = small @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    salience = cv2.GaussianBlur(np.abs(lum - lum.mean()), (0, 0), 3)
    y, x = np.unravel_index(int(np.argmax(salience)), salience.shape)
    return (x + 0.5) / 64, (y + 0.5) / 36


def morph(first: Frame, last: Frame) -> Callable[[float], Frame]:
    """A morph from ``first`` to ``last`` (same size): each picture is carried along its optical
    flow towards the other (DIS, on a quarter-size copy) while they cross-fade, so what moves
    slides across instead of fading out in one place and in at another. Returns the frame at
    any ``w`` in 0..1."""
    h, w = first.shape[:2]
    scale = 4 if min(h, w) >= 256 else 1
    size = (max(8, w // scale), max(8, h // scale))

    def grey(p: Frame) -> NDArray[np.uint8]:
        small = cv2.resize(p, size, interpolation=cv2.INTER_AREA)
        return np.asarray(cv2.cvtColor(small, cv2.COLOR_RGB2GRAY), dtype=np.uint8)

    def flow(a: Frame, b: Frame) -> NDArray[np.float32]:
        dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)  # type: ignore[attr-defined]
        small = dis.calc(grey(a), grey(b), None)
        return np.asarray(
            cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR) * (w / size[0]),
            dtype=np.float32,
        )

    forward, backward = flow(first, last), flow(last, first)
    gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))

    def carried(picture: Frame, field: NDArray[np.float32], t: float) -> Frame:
        # the point that lands on each pixel after moving t of its flow: q = p - t * F(q),
        # solved by a few fixed-point steps (the flow is smooth at this scale)
        qx, qy = gx, gy
        for _ in range(4):
            at = cv2.remap(field, qx, qy, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
            qx, qy = gx - t * at[..., 0], gy - t * at[..., 1]
        return np.asarray(
            cv2.remap(picture, qx, qy, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT),
            dtype=np.uint8,
        )

    def at(weight: float) -> Frame:
        a = carried(first, forward, weight)
        b = carried(last, backward, 1 - weight)
        return np.asarray(cv2.addWeighted(a, 1 - weight, b, weight, 0), dtype=np.uint8)

    return at


def frames(
    first: Frame,
    move: CameraMove | str,
    count: int,
    *,
    last: Frame | None = None,
) -> Iterator[Frame]:
    """``count`` frames of ``first`` seen through ``move`` (morphing into ``last`` if given),
    each the size of ``first``."""
    h, w = first.shape[:2]
    focus = focus_point(first)
    blend = morph(first, last) if last is not None else None
    for i in range(count):
        u = i / (count - 1) if count > 1 else 0.0
        picture = first if blend is None else blend(ease(u))
        yield seen(picture, camera_at(move, u, width=w, height=h, focus=focus))


def seen(
    picture: NDArray[np.uint8], camera: Camera, *, turned: NDArray[np.uint8] | None = None
) -> NDArray[np.uint8]:
    """``picture`` (any number of channels) through ``camera``, the same size: one bilinear
    resample, sub-pixel exact (see ``_resample``; ``turned``, the picture's transpose if the
    caller keeps one, saves work)."""
    if camera == Camera():
        return picture
    h, w = picture.shape[:2]
    return resample(picture, camera.matrix(w, h), turned=turned)
