"""Providers by name: a setting such as ``"gemini"`` or ``"gemini:gemini-2.5-pro"`` becomes a
provider. Keys come from the environment only, and are handed to the provider, never shown."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any

from studio.errors import InvalidInput, Unauthorized
from studio.providers._protocols import ImageModel, Planner, Transcriber
from studio.providers.gemini import GeminiTranscriber

__all__ = [
    "GEMINI_KEY_VARIABLES",
    "resolve_image_model",
    "resolve_planner",
    "resolve_transcriber",
]

GEMINI_KEY_VARIABLES = ("GEMINI_API_KEY", "GOOGLE_API_KEY")
"""Where a Gemini key is looked for, first match wins. ``STUDIO_GEMINI_BASE_URL`` sends the
requests elsewhere (a proxy, or the tests' fake service)."""


def _gemini_key(environ: Mapping[str, str]) -> str | None:
    for variable in GEMINI_KEY_VARIABLES:
        value = environ.get(variable, "").strip()
        if value:
            return value
    return None


def _gemini_transcriber(model: str | None, environ: Mapping[str, str]) -> Transcriber:
    key = _gemini_key(environ)
    if key is None:
        raise Unauthorized(
            "transcription needs a Gemini API key, and none is set",
            hint="set GEMINI_API_KEY (or GOOGLE_API_KEY), or import the lyrics from an "
            "LRC/SRT/VTT file instead",
        )
    base_url = environ.get("STUDIO_GEMINI_BASE_URL", "").strip() or None
    if model:
        return GeminiTranscriber(key, model=model, base_url=base_url)
    return GeminiTranscriber(key, base_url=base_url)


_TRANSCRIBERS: dict[str, Callable[[str | None, Mapping[str, str]], Transcriber]] = {
    "gemini": _gemini_transcriber,
}


def _default_transcriber(environ: Mapping[str, str]) -> str:
    # Gemini is the only transcriber so far; with no key it says how to get lyrics without one.
    del environ
    return "gemini"


def resolve_transcriber(
    name: str | None = None, *, environ: Mapping[str, str] | None = None
) -> Transcriber:
    """The transcriber called ``name`` (``"gemini"``, or ``"gemini:<model>"`` for another
    model), or the default one. ``environ`` replaces ``os.environ`` (tests pass their own).

    Raises ``InvalidInput`` for an unknown name and ``Unauthorized`` when its key is not set.
    """
    env: Mapping[str, str] = os.environ if environ is None else environ
    spec = _default_transcriber(env) if name is None else str(name).strip()
    base, _, variant = spec.partition(":")
    factory = _TRANSCRIBERS.get(base.strip().lower())
    if factory is None:
        raise InvalidInput(
            f"there is no transcriber called {spec[:60]!r}",
            hint=f"known transcribers: {', '.join(sorted(_TRANSCRIBERS))}",
        )
    return factory(variant.strip() or None, env)


def _by_name(kind: str, name: str | None, known: Mapping[str, Callable[[], Any]]) -> Any:
    spec = (name or "local").strip().lower()
    factory = known.get(spec)
    if factory is None:
        raise InvalidInput(
            f"there is no {kind} called {spec[:60]!r}",
            hint=f"known {kind}s: {', '.join(sorted(known))}",
        )
    return factory()


def resolve_planner(name: str | None = None) -> Planner:
    """The planner called ``name``; ``"local"`` (the default) works offline."""
    from studio.providers.local import LocalPlanner

    return _by_name("planner", name, {"local": LocalPlanner})  # type: ignore[no-any-return]


def resolve_image_model(name: str | None = None) -> ImageModel:
    """The image model called ``name``; ``"local"`` (the default) paints offline."""
    from studio.providers.local import LocalImageModel

    return _by_name("image model", name, {"local": LocalImageModel})  # type: ignore[no-any-return]
