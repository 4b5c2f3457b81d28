"""A procedural painter: a real picture from a prompt's words and a mood's palette, offline.

The prompt's words choose what is in the picture (sky and time of day, sun or moon, mountains,
a city with lit windows, the sea with the sky's reflection, a road to the horizon, trees,
figures, abstract forms, light, rain, fog, snow); the shot chooses the composition (where the
horizon sits, how large the figures stand); the palette colours it. Everything is drawn with
whole-frame numpy operations in float32, so a 1280x720 picture takes tens of milliseconds, and
the same prompt, size and seed always give the same picture.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageFilter

__all__ = ["PAINTED", "Scene", "paint", "read_scene"]

F32 = NDArray[np.float32]
RGB = NDArray[np.float32]

PAINTED: dict[str, set[str]] = {
    "night": {"night", "midnight", "neon", "moon", "moonlight", "stars", "starry", "dark"},
    "dusk": {"dusk", "sunset", "twilight", "evening", "golden", "hour"},
    "dawn": {"dawn", "sunrise", "morning", "daybreak"},
    "city": {"city", "skyline", "street", "streets", "building", "buildings", "downtown",
             "neon", "tower", "towers", "urban", "rooftop", "rooftops", "alley"},
    "sea": {"sea", "ocean", "beach", "water", "lake", "river", "shore", "waves", "harbor",
            "harbour", "bay", "coast"},
    "mountains": {"mountain", "mountains", "hills", "hill", "peaks", "valley", "cliff",
                  "cliffs", "canyon"},
    "road": {"road", "highway", "freeway", "drive", "driving", "car", "headlights", "asphalt",
             "motorway"},
    "trees": {"tree", "trees", "forest", "woods", "pine", "pines", "jungle", "park"},
    "figure": {"figure", "person", "woman", "man", "girl", "boy", "dancer", "singer",
               "character", "silhouette", "couple", "crowd", "people", "band", "hero"},
    "abstract": {"abstract", "shapes", "geometric", "circles", "dream", "dreamy", "surreal",
                 "kaleidoscope", "particles", "bokeh"},
    "light": {"light", "lights", "glow", "glowing", "neon", "lamp", "lamps", "flare",
              "sunbeam", "spotlight", "bright", "explodes", "fireworks"},
    "rain": {"rain", "rainy", "raining", "storm", "wet", "drizzle"},
    "fog": {"fog", "foggy", "mist", "misty", "haze", "hazy", "smoke"},
    "snow": {"snow", "snowy", "snowing", "winter", "frost"},
    "desert": {"desert", "dunes", "sand", "field", "fields", "plain", "prairie", "grass"},
}  # fmt: skip
_CROWD = {"crowd", "people", "band", "couple"}
_SKIES = {
    "day": ("#3d7cc9", "#bcdcf2"),
    "dusk": ("#2b2a5c", "#f29a5c"),
    "dawn": ("#4a5f9e", "#f7c6a3"),
    "night": ("#05060f", "#1d2247"),
}


@dataclass(frozen=True)
class Scene:
    """What a prompt asks for, read from its words."""

    time: str
    elements: frozenset[str]
    crowd: bool


def read_scene(prompt: str) -> Scene:
    words = set(re.findall(r"[a-z]+", prompt.lower()))
    found = frozenset(name for name, keys in PAINTED.items() if words & keys)
    time = next((t for t in ("night", "dusk", "dawn") if t in found), "day")
    return Scene(time=time, elements=found, crowd=bool(words & _CROWD))


def _rgb(colour: str) -> RGB:
    value = colour.lstrip("#")
    return np.array([int(value[i : i + 2], 16) / 255 for i in (0, 2, 4)], dtype=np.float32)


def _mix(a: RGB, b: RGB, t: F32 | float) -> F32:
    t_arr = np.asarray(t, dtype=np.float32)
    return np.asarray(a + (b - a) * t_arr[..., None], dtype=np.float32)


def _blend(canvas: F32, colour: RGB | F32, alpha: F32) -> None:
    """``canvas`` painted over with ``colour`` where ``alpha`` (0..1, per pixel) says; only
    the rows and columns ``alpha`` touches are worked on."""
    alpha = np.broadcast_to(alpha, canvas.shape[:2])
    rows = np.flatnonzero(alpha.any(axis=1))
    if not rows.size:
        return
    cols = np.flatnonzero(alpha.any(axis=0))
    r0, r1, c0, c1 = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
    region = canvas[r0:r1, c0:c1]
    paint = colour[r0:r1, c0:c1] if np.ndim(colour) == 3 else colour
    region += alpha[r0:r1, c0:c1, None] * (paint - region)


def _ridge(rng: np.random.Generator, width: int, base: float, height: float, rough: float) -> F32:
    """A skyline of hills: a sum of sines with random phases, per column (in pixels)."""
    x = np.linspace(0, 1, width, dtype=np.float32)
    ridge = np.zeros(width, dtype=np.float32)
    for octave in range(4):
        freq = (1.5 + rng.random()) * 2**octave * rough
        ridge += np.sin(2 * np.pi * (freq * x + rng.random())).astype(np.float32) / 2**octave
    span = float(np.ptp(ridge)) or 1.0
    return np.asarray(base - height * (ridge - ridge.min()) / span, dtype=np.float32)


def _figure(canvas: F32, cx: float, top: float, tall: float, rim: RGB | F32) -> None:
    """A standing person's silhouette, ``tall`` pixels high from ``top``, centred on ``cx``,
    with a thin rim of light on its edges."""
    height, width = canvas.shape[:2]
    half = tall * 0.2
    x0, x1 = max(0, int(cx - half)), min(width, int(cx + half) + 1)
    y0, y1 = max(0, int(top)), min(height, int(top + tall) + 1)
    if x1 <= x0 or y1 <= y0:
        return
    u = (np.arange(y0, y1, dtype=np.float32)[:, None] - top) / tall  # 0 at the head, 1 at the feet
    v = np.abs(np.arange(x0, x1, dtype=np.float32)[None, :] - cx) / tall
    head = v**2 + (u - 0.065) ** 2 < 0.062**2
    neck = (u >= 0.12) & (u < 0.16) & (v < 0.025)
    shoulders = 0.12 - 0.02 * np.clip((u - 0.16) / 0.36, 0, 1)
    torso = (u >= 0.15) & (u < 0.52) & (v < shoulders - 0.03 * np.clip((0.2 - u) / 0.05, 0, 1))
    gap = 0.012 + 0.03 * np.clip((u - 0.52) / 0.48, 0, 1)
    legs = (u >= 0.5) & (u <= 1.0) & (v < 0.075 - 0.02 * (u - 0.5)) & (v > gap - 0.012)
    body = (head | neck | torso | legs).astype(np.float32)
    box = canvas[y0:y1, x0:x1]
    edge = np.zeros_like(body)
    edge[:, 1:] = np.abs(np.diff(body, axis=1))
    _blend(box, np.asarray(rim, np.float32), np.clip(edge * 0.8, 0, 1))
    _blend(box, _rgb("#07070b"), body * (1 - edge))


def _soften(plane: F32, step: int) -> F32:
    """A wide, smooth blur: shrink by ``step`` (box means), then grow back bilinearly."""
    height, width = plane.shape
    levels = Image.fromarray(np.asarray(np.clip(plane, 0, 1) * 255, np.uint8))
    small = levels.reduce(step).filter(ImageFilter.BoxBlur(2))
    grown = small.resize((width, height), Image.Resampling.BILINEAR)
    return np.asarray(np.asarray(grown, np.float32) / 255, dtype=np.float32)


def _seed(prompt: str, seed: int) -> int:
    digest = hashlib.sha256(f"{seed}\x00{prompt}".encode()).digest()
    return int.from_bytes(digest[:8], "little")


def paint(
    prompt: str,
    width: int,
    height: int,
    *,
    seed: int = 0,
    palette: list[str] | None = None,
    shot: str | None = None,
) -> NDArray[np.uint8]:
    """The picture for ``prompt`` as ``(height, width, 3)`` bytes."""
    scene = read_scene(prompt)
    rng = np.random.default_rng(_seed(prompt, seed))
    colours = [_rgb(c) for c in (palette or [])]
    sky_top, sky_low = (_rgb(c) for c in _SKIES[scene.time])
    if colours:  # the mood tints the sky and lends its colours to everything else
        sky_low = _mix(sky_low, colours[0], 0.55)
        sky_top = _mix(sky_top, colours[-1] if len(colours) > 1 else colours[0], 0.25)
    accent = colours[1] if len(colours) > 1 else (colours[0] if colours else _rgb("#ff3d7f"))
    ground_colour = _mix(sky_top * 0.35, colours[-1] if colours else _rgb("#2f3a2a"), 0.4)

    horizon_at = {"wide": 0.64, "medium": 0.56, "close": 0.48}.get(shot or "medium", 0.56)
    horizon = int(height * (horizon_at + rng.uniform(-0.04, 0.04)))
    y = np.linspace(0, 1, height, dtype=np.float32)[:, None]
    x = np.linspace(0, 1, width, dtype=np.float32)[None, :]
    aspect = width / height

    # Sky: a gradient to the horizon, a little uneven.
    t = np.clip(y / max(horizon / height, 1e-3), 0, 1) ** 1.3
    canvas = np.broadcast_to(_mix(sky_top, sky_low, t), (height, width, 3)).copy()

    # Sun or moon, with a glow; stars at night.
    cx, cy = rng.uniform(0.2, 0.8), horizon / height * rng.uniform(0.35, 0.8)
    dist = np.sqrt(((x - cx) * aspect) ** 2 + (y - cy) ** 2)
    disc = _rgb("#fff4d6") if scene.time != "night" else _rgb("#e8ecff")
    radius = 0.05 if scene.time != "day" else 0.04
    _blend(canvas, disc, np.clip((radius - dist) / 0.004, 0, 1))
    glow = np.exp(-((dist / (radius * 4)) ** 2)) * (0.55 if scene.time != "night" else 0.25)
    _blend(canvas, _mix(disc, sky_low, 0.4), glow.astype(np.float32))
    if scene.time == "night":
        count = int(width * height / 900)
        sx = rng.integers(0, width, count)
        sy = rng.integers(0, max(1, horizon), count)
        canvas[sy, sx] += rng.uniform(0.3, 0.9, (count, 1)).astype(np.float32)

    below = (np.arange(height) >= horizon)[:, None]
    # The ground (or the sea) under the horizon.
    depth = np.clip((y - horizon / height) / max(1 - horizon / height, 1e-3), 0, 1)
    if "sea" in scene.elements:
        reflection = canvas[np.clip(2 * horizon - np.arange(height), 0, height - 1)]
        water = _mix(sky_low * 0.6, _mix(accent, sky_top, 0.7) * 0.5, depth)
        ripples = 0.5 + 0.5 * np.sin(y * height * (0.6 + depth * 0.8) + rng.random() * 6)
        ripples = ripples * (0.5 + 0.5 * np.sin(x * 40 + y * 300).astype(np.float32))
        sea = 0.55 * reflection + 0.45 * water
        sea += (ripples[..., None] * 0.06 * (1 - depth[..., None])).astype(np.float32)
        canvas = np.where(below[..., None], sea, canvas)
    else:
        ground = _mix(_mix(ground_colour, sky_low, 0.35), ground_colour * 0.6, depth)
        if "desert" in scene.elements:
            ground = _mix(ground, _mix(_rgb("#c9a36b"), accent, 0.2), 0.5)
        if "snow" in scene.elements:
            ground = _mix(ground, _rgb("#e9eef5"), 0.7)
        canvas = np.where(below[..., None], ground, canvas)

    # Mountains: ridges, the far ones paler (air between them and the eye).
    if "mountains" in scene.elements:
        for layer in range(3):
            ridge = _ridge(rng, width, horizon + 2, height * (0.28 - layer * 0.07), 1 + layer)
            colour = _mix(ground_colour * (0.5 + 0.2 * layer), sky_low, 0.55 - layer * 0.2)
            mask = (np.arange(height)[:, None] >= ridge[None, :]) & ~below
            _blend(canvas, colour, mask.astype(np.float32))

    # Trees: dark triangles along the horizon.
    if "trees" in scene.elements:
        count = int(12 * aspect) + 4
        tree_colour = ground_colour * 0.45
        for _ in range(count):
            tx, th = rng.uniform(0, 1) * width, height * rng.uniform(0.08, 0.22)
            half = th * 0.35
            x0, x1 = max(0, int(tx - half)), min(width, int(tx + half) + 1)
            y0, y1 = max(0, int(horizon - th)), min(height, horizon + 2)
            if x1 <= x0 or y1 <= y0:
                continue
            rows = (np.arange(y0, y1, dtype=np.float32)[:, None] - (horizon - th)) / th
            inside = np.abs(np.arange(x0, x1, dtype=np.float32)[None, :] - tx) < half * rows
            _blend(canvas[y0:y1, x0:x1], tree_colour, inside.astype(np.float32))

    # A city: blocks of buildings with lit windows in the accent colour.
    if "city" in scene.elements:
        edges = np.sort(rng.uniform(0, 1, int(14 * aspect) + 6))
        tops = horizon - height * rng.uniform(0.1, 0.42, len(edges) + 1) ** 1.2
        column = np.searchsorted(edges, x[0])
        roof = tops[column]
        body = (np.arange(height)[:, None] >= roof[None, :]) & ~below
        building = _mix(sky_top * 0.3, accent * 0.15, 0.3)
        _blend(canvas, building, body.astype(np.float32))
        wy = (np.arange(height)[:, None] // max(3, height // 90)) % 2 == 0
        wx = (np.arange(width)[None, :] // max(3, width // 160)) % 3 == 0
        lit_cells = rng.random((height // 12 + 1, width // 12 + 1)) < (
            0.35 if scene.time == "night" else 0.12
        )
        lit = np.repeat(np.repeat(lit_cells, 12, axis=0), 12, axis=1)[:height, :width]
        windows = body & wy & wx & lit
        window_colour = _mix(accent, _rgb("#ffe9a8"), 0.5)
        _blend(canvas, window_colour, windows.astype(np.float32) * 0.9)

    # A road to the horizon, with its dashed middle line.
    if "road" in scene.elements:
        vx = 0.5 + rng.uniform(-0.08, 0.08)
        spread = depth * 0.45
        road = below & (np.abs(x - vx) < spread + 0.004)
        _blend(canvas, _rgb("#1c1c22"), road.astype(np.float32) * 0.92)
        dashes = (np.sin(np.log1p(depth * 40) * 9) > 0.2) & (np.abs(x - vx) < 0.004 + depth * 0.01)
        _blend(canvas, _mix(accent, _rgb("#fff8d0"), 0.6), (below & dashes).astype(np.float32))

    # Figures: silhouettes whose size follows the shot.
    if "figure" in scene.elements:
        scale = {"wide": 0.22, "medium": 0.42, "close": 0.8}.get(shot or "medium", 0.42)
        count = int(rng.integers(4, 9)) if scene.crowd else 1
        rim = _mix(accent, disc, 0.5)
        for i in range(count):
            fx = (
                rng.uniform(0.3, 0.7)
                if count == 1
                else (i + 0.5) / count + rng.uniform(-0.03, 0.03)
            )
            fh = scale * (rng.uniform(0.7, 1.0) if count > 1 else 1.0)
            feet = min(0.99, horizon / height + fh * 0.55)
            _figure(canvas, fx * width, (feet - fh) * height, fh * height, rim)

    # Abstract forms: soft translucent circles in the mood's colours.
    if "abstract" in scene.elements:
        for i in range(int(rng.integers(5, 11))):
            colour = (
                colours[i % len(colours)] if colours else rng.uniform(0.2, 1, 3).astype(np.float32)
            )
            ax, ay = rng.uniform(0, 1) * width, rng.uniform(0, 1) * height
            r = rng.uniform(0.05, 0.3) * height
            x0, x1 = max(0, int(ax - r)), min(width, int(ax + r) + 1)
            y0, y1 = max(0, int(ay - r)), min(height, int(ay + r) + 1)
            if x1 <= x0 or y1 <= y0:
                continue
            d = np.sqrt(
                (np.arange(x0, x1, dtype=np.float32)[None, :] - ax) ** 2
                + (np.arange(y0, y1, dtype=np.float32)[:, None] - ay) ** 2
            )
            alpha = np.asarray(np.clip((r - d) / (0.02 * height), 0, 1) * 0.45, np.float32)
            _blend(canvas[y0:y1, x0:x1], np.asarray(colour, np.float32), alpha)

    # Light: a bloom of the brightest parts, tinted by the accent.
    if "light" in scene.elements:
        bright = np.clip(canvas.mean(axis=2) - 0.55, 0, 1)
        bloom = _soften(bright, max(4, width // 96))
        canvas += bloom[..., None] * _mix(accent, disc, 0.5) * 1.2

    # Weather over everything.
    if "fog" in scene.elements:
        haze = np.clip(1 - np.abs(y - horizon / height) * 3, 0, 1) * 0.6
        _blend(canvas, sky_low, np.broadcast_to(haze, (height, width)).astype(np.float32))
    if "rain" in scene.elements:
        drops = int(height * width * 0.008 / 3)
        length = max(2, height // 40)
        step = np.arange(length)
        ys = (rng.integers(0, height, drops)[:, None] + step) % height
        xs = (rng.integers(0, width, drops)[:, None] + step // 2) % width
        rain = np.zeros((height, width), dtype=np.float32)
        rain[ys, xs] = 0.35  # slanted streaks, one pixel wide
        _blend(canvas, _mix(sky_low, _rgb("#ffffff"), 0.5), rain)
    if "snow" in scene.elements:
        flakes = rng.random((height, width)) > 0.996
        _blend(canvas, _rgb("#ffffff"), flakes.astype(np.float32) * 0.9)

    # The lens: a vignette and a little grain.
    vignette = 1 - 0.35 * (((x - 0.5) * 1.6) ** 2 + ((y - 0.5) * 1.6) ** 2)
    canvas *= vignette[..., None]
    canvas += (rng.random((height, width, 1), dtype=np.float32) - 0.5) * 0.04
    return np.asarray(np.clip(canvas, 0, 1) * 255 + 0.5, dtype=np.uint8)
