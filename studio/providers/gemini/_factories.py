"""The registry's way in: ``(variant, environ) -> provider`` for each role Gemini plays, the
key and the service's address read from the environment (the key is handed on, never shown)."""

from __future__ import annotations

from collections.abc import Mapping

from studio.errors import Unauthorized
from studio.providers.gemini._image import GeminiImageModel
from studio.providers.gemini._planner import GeminiPlanner
from studio.providers.gemini._text import GeminiTextModel
from studio.providers.gemini._transcriber import GeminiTranscriber
from studio.providers.gemini._video import GeminiVideoModel

__all__ = [
    "base_url",
    "gemini_key",
    "image_model",
    "planner",
    "text_model",
    "transcriber",
    "video_model",
]


def gemini_key(environ: Mapping[str, str], *, doing: str, otherwise: str) -> str:
    """The Gemini key from ``environ``; ``Unauthorized`` saying what else to do without one."""
    from studio.providers._registry import GEMINI_KEY_VARIABLES, key_from

    key = key_from("gemini", environ)
    if key is None:
        raise Unauthorized(
            f"{doing} needs a Gemini API key, and none is set",
            hint=f"set {GEMINI_KEY_VARIABLES[0]} (or {GEMINI_KEY_VARIABLES[1]}), or {otherwise}",
        )
    return key


def base_url(environ: Mapping[str, str]) -> str | None:
    """``STUDIO_GEMINI_BASE_URL``: a proxy, or the tests' fake service."""
    return environ.get("STUDIO_GEMINI_BASE_URL", "").strip() or None


def transcriber(variant: str | None, environ: Mapping[str, str]) -> GeminiTranscriber:
    key = gemini_key(
        environ,
        doing="transcription",
        otherwise="import the lyrics from an LRC/SRT/VTT file instead",
    )
    return GeminiTranscriber(key, model=variant or None, base_url=base_url(environ))


def text_model(variant: str | None, environ: Mapping[str, str]) -> GeminiTextModel:
    key = gemini_key(
        environ, doing="writing with Gemini", otherwise="choose the offline text model (local)"
    )
    return GeminiTextModel(key, model=variant or None, base_url=base_url(environ))


def planner(variant: str | None, environ: Mapping[str, str]) -> GeminiPlanner:
    key = gemini_key(
        environ, doing="planning with Gemini", otherwise="choose the offline planner (local)"
    )
    return GeminiPlanner(GeminiTextModel(key, model=variant or None, base_url=base_url(environ)))


def image_model(variant: str | None, environ: Mapping[str, str]) -> GeminiImageModel:
    key = gemini_key(
        environ, doing="painting with Gemini", otherwise="choose the offline painter (local)"
    )
    return GeminiImageModel(key, model=variant or None, base_url=base_url(environ))


def video_model(variant: str | None, environ: Mapping[str, str]) -> GeminiVideoModel:
    key = gemini_key(
        environ,
        doing="making clips with Veo",
        otherwise="choose the local clip maker (local) or another video provider",
    )
    return GeminiVideoModel(key, model=variant or None, base_url=base_url(environ))
