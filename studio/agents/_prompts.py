"""The prompt factory: what each scene asks of the image and video providers.

A scene's own prompt says what it shows; the factory adds what must stay the same across the
video (the mood's look, the characters' descriptions and reference pictures, the brief's style)
and what no picture should have. Everything the factory reads is in ``Scene.image_inputs`` and
``Upstream``, so a take's fingerprint covers all that made it.
"""

from __future__ import annotations

import math

from studio.model import Brief, Character, Mood, Scene
from studio.providers import ImageRequest, ProviderCard, VideoRequest

__all__ = ["NEGATIVE", "clip_length", "clip_request", "image_request"]

NEGATIVE = "text, watermark, logo, signature, blurry, deformed hands, extra limbs"
"""What no frame of a music video should show, added to every scene's own negative prompt."""

_MOVES = {
    "static": "a still, locked-off camera",
    "zoom_in": "a slow zoom in",
    "zoom_out": "a slow zoom out",
    "pan_left": "a slow pan to the left",
    "pan_right": "a slow pan to the right",
    "pan_up": "a slow tilt up",
    "pan_down": "a slow tilt down",
    "push_in": "a slow push in on the subject",
    "rotate": "a slow, gentle rotation",
}


def image_request(
    scene: Scene,
    *,
    mood: Mood | None,
    characters: list[Character],
    brief: Brief,
    width: int,
    height: int,
    references: list[bytes] | None = None,
) -> ImageRequest:
    """The image request of ``scene``: its prompt, then who is in it, the mood and the style."""
    parts = [scene.prompt.strip() or scene.visual_intent.strip() or "an empty stage"]
    parts += [f"{c.name}: {c.description.strip()}" for c in characters if c.description.strip()]
    if mood is not None and mood.keywords:
        parts.append("mood: " + ", ".join(mood.keywords[:8]))
    if brief.style.strip():
        parts.append("style: " + brief.style.strip())
    negative = ", ".join(p for p in (scene.negative_prompt.strip(), NEGATIVE) if p)
    return ImageRequest(
        prompt=". ".join(parts)[:4000],
        negative=negative[:2000],
        width=width,
        height=height,
        seed=scene.seed,
        palette=mood.palette if mood else [],
        references=(references or [])[:8],
    )


def clip_length(seconds: float, card: ProviderCard) -> float:
    """How long a clip to ask for to cover ``seconds``: the provider's shortest native length
    that does (the render trims it), its longest if none does, or exactly ``seconds`` when any
    length works."""
    if not card.clip_lengths:
        return seconds
    for native in card.clip_lengths:
        if native + 1e-6 >= seconds:
            return native
    return card.clip_lengths[-1]


def clip_request(
    scene: Scene,
    *,
    first_frame: bytes,
    card: ProviderCard,
    width: int,
    height: int,
    fps: int,
    last_frame: bytes | None = None,
) -> VideoRequest:
    """The clip request of ``scene``: its approved picture set in motion by its camera move, at
    ``width`` x ``height`` or, if the model makes less, the largest size of that shape it makes."""
    motion = _MOVES.get(scene.camera.value, "a slow camera move")
    fit = min(1.0, card.max_width / width, card.max_height / height)
    if fit < 1.0:
        width, height = max(16, int(width * fit) // 2 * 2), max(16, int(height * fit) // 2 * 2)
    intent = scene.visual_intent.strip() or scene.prompt.strip()
    seconds = clip_length(scene.duration, card)
    if not card.clip_lengths:  # any length: whole frames that cover the scene
        seconds = math.ceil(seconds * fps - 1e-6) / fps
    return VideoRequest(
        first_frame=first_frame,
        last_frame=last_frame,
        prompt=f"{intent}. Camera: {motion}."[:4000],
        negative=", ".join(p for p in (scene.negative_prompt.strip(), NEGATIVE) if p)[:2000],
        camera=scene.camera,
        duration=seconds,
        width=width,
        height=height,
        fps=fps,
        seed=scene.seed,
    )
