"""The embedded providers: every stage offline, with no key and no network.

The factories at the bottom are what the registry calls: ``(variant, environ) -> provider``.
"""

from __future__ import annotations

from collections.abc import Mapping

from studio.providers.local._image import LocalImageModel
from studio.providers.local._painter import Scene, paint, read_scene
from studio.providers.local._planner import LocalPlanner
from studio.providers.local._text import LocalTextModel

__all__ = [
    "LocalImageModel",
    "LocalPlanner",
    "LocalTextModel",
    "Scene",
    "image_model",
    "paint",
    "planner",
    "read_scene",
    "text_model",
]


def image_model(variant: str | None, environ: Mapping[str, str]) -> LocalImageModel:
    del variant, environ
    return LocalImageModel()


def planner(variant: str | None, environ: Mapping[str, str]) -> LocalPlanner:
    del variant, environ
    return LocalPlanner()


def text_model(variant: str | None, environ: Mapping[str, str]) -> LocalTextModel:
    del variant, environ
    return LocalTextModel()
