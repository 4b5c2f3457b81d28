"""The registry's factories, ``(variant, environ) -> provider``, and the settings they read.

The environment:

- ``REPLICATE_API_TOKEN``: the key (required);
- ``STUDIO_REPLICATE_BASE_URL``: send the requests elsewhere (a proxy, the tests' fake);
- ``STUDIO_REPLICATE_POLL_INTERVAL``: seconds between polls of a running prediction;
- ``STUDIO_REPLICATE_TIMEOUT``: seconds a whole call may take.

The variant after the colon picks the model: ``replicate:black-forest-labs/flux-dev``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from studio.errors import InvalidInput
from studio.providers._registry import require_key
from studio.providers.replicate._image import ReplicateImageModel
from studio.providers.replicate._music import ReplicateMusicModel
from studio.providers.replicate._video import ReplicateVideoModel

__all__ = ["base_url", "image_model", "music_model", "settings", "video_model"]


def base_url(environ: Mapping[str, str]) -> str | None:
    """``STUDIO_REPLICATE_BASE_URL``: a proxy, or the tests' fake service."""
    return environ.get("STUDIO_REPLICATE_BASE_URL", "").strip() or None


def _seconds(environ: Mapping[str, str], variable: str) -> float | None:
    text = environ.get(variable, "").strip()
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise InvalidInput(
            f"{variable} is {text[:40]!r}, not a positive number of seconds",
            hint=f"set {variable} to a number such as 2, or unset it",
        )
    return value


def settings(environ: Mapping[str, str]) -> dict[str, Any]:
    """The keyword arguments the environment sets for a Replicate provider."""
    found: dict[str, Any] = {"base_url": base_url(environ)}
    poll = _seconds(environ, "STUDIO_REPLICATE_POLL_INTERVAL")
    timeout = _seconds(environ, "STUDIO_REPLICATE_TIMEOUT")
    if poll is not None:
        found["poll_interval"] = poll
    if timeout is not None:
        found["timeout"] = timeout
    return found


def image_model(variant: str | None, environ: Mapping[str, str]) -> ReplicateImageModel:
    key = require_key("replicate", environ, doing="image generation")
    return ReplicateImageModel(key, model=variant, **settings(environ))


def video_model(variant: str | None, environ: Mapping[str, str]) -> ReplicateVideoModel:
    key = require_key("replicate", environ, doing="video generation")
    return ReplicateVideoModel(key, model=variant, **settings(environ))


def music_model(variant: str | None, environ: Mapping[str, str]) -> ReplicateMusicModel:
    key = require_key("replicate", environ, doing="music generation")
    return ReplicateMusicModel(key, model=variant, **settings(environ))
