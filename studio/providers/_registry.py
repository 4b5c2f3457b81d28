"""Providers by name: a setting such as ``"gemini"`` or ``"replicate:black-forest-labs/flux-dev"``
becomes a provider.

Which provider plays each role (text, planner, image, video, music, transcriber) is settled in
this order, first answer wins:

1. the name the caller passes (a job's parameter);
2. the project's own choice (``Project.providers``, e.g. ``{"video": "replicate"}``);
3. the environment: ``STUDIO_<ROLE>_PROVIDER`` (``STUDIO_VIDEO_PROVIDER=modal``);
4. the ``[providers]`` table of ``studio.toml`` (``$STUDIO_CONFIG``, else ``./studio.toml``, else
   ``$STUDIO_HOME/studio.toml``);
5. the default: a service whose key is set, else the offline ``local`` provider.

A name is ``base`` or ``base:variant`` (the variant picks the model). Bases come from the studio
itself and from the ``studio.providers`` entry-point group, where an entry named
``"<role>:<base>"`` points at a factory ``(variant, environ) -> provider``. Keys come from the
environment only and are handed to the provider, never shown.
"""

from __future__ import annotations

import importlib
import os
import tomllib
from collections.abc import Callable, Mapping
from functools import cache
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, Literal, cast, get_args

from studio.errors import InvalidInput, Unauthorized
from studio.providers._protocols import (
    ImageModel,
    MusicModel,
    Planner,
    TextModel,
    Transcriber,
    VideoModel,
)

__all__ = [
    "GEMINI_KEY_VARIABLES",
    "KEY_VARIABLES",
    "ROLES",
    "Choice",
    "Factory",
    "SettingsRole",
    "choose",
    "key_from",
    "known_providers",
    "require_key",
    "resolve",
    "resolve_image_model",
    "resolve_music_model",
    "resolve_planner",
    "resolve_text_model",
    "resolve_transcriber",
    "resolve_video_model",
]

SettingsRole = Literal["text", "planner", "image", "video", "music", "transcriber"]
ROLES: tuple[SettingsRole, ...] = get_args(SettingsRole)

Factory = Callable[[str | None, Mapping[str, str]], Any]
"""Makes a provider from the variant after the colon (or None) and the environment."""

GEMINI_KEY_VARIABLES = ("GEMINI_API_KEY", "GOOGLE_API_KEY")
"""Where a Gemini key is looked for, first match wins. ``STUDIO_GEMINI_BASE_URL`` sends the
requests elsewhere (a proxy, or the tests' fake service)."""

KEY_VARIABLES: dict[str, tuple[str, ...]] = {
    "gemini": GEMINI_KEY_VARIABLES,
    "replicate": ("REPLICATE_API_TOKEN",),
    "modal": ("MODAL_TOKEN_ID",),
}
"""The environment variables that hold each service's key (never the key itself)."""

# role -> base -> "module:factory", imported only when chosen (no SDK is imported before)
_BUILTIN: dict[SettingsRole, dict[str, str]] = {
    "text": {
        "local": "studio.providers.local:text_model",
        "gemini": "studio.providers.gemini:text_model",
    },
    "planner": {
        "local": "studio.providers.local:planner",
        "gemini": "studio.providers.gemini:planner",
    },
    "image": {
        "local": "studio.providers.local:image_model",
        "gemini": "studio.providers.gemini:image_model",
        "replicate": "studio.providers.replicate:image_model",
    },
    "video": {
        # the local clip maker (studio.render, it runs ffmpeg) and the local music maker
        # (studio.audio, the synthesiser) join through entry points, as third parties do
        "gemini": "studio.providers.gemini:video_model",
        "replicate": "studio.providers.replicate:video_model",
        "modal": "studio.providers.modal:video_model",
    },
    "music": {
        "replicate": "studio.providers.replicate:music_model",
    },
    "transcriber": {
        "gemini": "studio.providers.gemini:transcriber",
    },
}

# the default per role when nothing is configured: the first service whose key is set
_PREFERENCE: dict[SettingsRole, tuple[str, ...]] = {
    "text": ("gemini",),
    "planner": ("gemini",),
    "image": ("gemini", "replicate"),
    "video": ("replicate", "modal", "gemini"),
    "music": ("replicate",),
    "transcriber": ("gemini",),
}


def key_from(service: str, environ: Mapping[str, str]) -> str | None:
    """The key for ``service`` from ``environ``, or None when none is set."""
    for variable in KEY_VARIABLES.get(service, ()):
        value = environ.get(variable, "").strip()
        if value:
            return value
    return None


def require_key(service: str, environ: Mapping[str, str], *, doing: str) -> str:
    """The key for ``service``; ``Unauthorized`` with the variable to set when it is missing."""
    key = key_from(service, environ)
    if key is None:
        variables = " or ".join(KEY_VARIABLES[service])
        raise Unauthorized(
            f"{doing} with {service} needs a key, and none is set",
            hint=f"set {variables}, or choose the offline provider (local)",
        )
    return key


@cache
def _entry_points() -> dict[SettingsRole, dict[str, Any]]:
    found: dict[SettingsRole, dict[str, Any]] = {role: {} for role in ROLES}
    for ep in entry_points(group="studio.providers"):
        role, _, base = ep.name.partition(":")
        if role in found and base:
            found[role][base.strip().lower()] = ep
    return found


def known_providers(role: SettingsRole) -> list[str]:
    """The bases that can play ``role``: the studio's own and those of installed packages."""
    return sorted(set(_BUILTIN[role]) | set(_entry_points()[role]))


def _factory(role: SettingsRole, base: str) -> Factory | None:
    target = _BUILTIN[role].get(base)
    if target is not None:
        module, _, attr = target.partition(":")
        return cast(Factory, getattr(importlib.import_module(module), attr))
    ep = _entry_points()[role].get(base)
    return None if ep is None else cast(Factory, ep.load())


class Choice:
    """Which provider plays a role, and where that was decided (for ``studio doctor``)."""

    def __init__(self, role: SettingsRole, spec: str, source: str) -> None:
        self.role, self.spec, self.source = role, spec, source

    def __repr__(self) -> str:
        return f"Choice({self.role!r}, {self.spec!r}, from {self.source})"


def _config_file(environ: Mapping[str, str]) -> Path | None:
    named = environ.get("STUDIO_CONFIG", "").strip()
    if named:
        path = Path(named).expanduser()
        if not path.is_file():
            raise InvalidInput(
                f"STUDIO_CONFIG names {named!r}, which is not a file",
                hint="point it at a studio.toml, or unset it",
            )
        return path
    home = Path(environ.get("STUDIO_HOME") or Path.home() / ".studio").expanduser()
    for path in (Path("studio.toml"), home / "studio.toml"):
        if path.is_file():
            return path
    return None


def _configured(environ: Mapping[str, str]) -> tuple[dict[str, str], str]:
    path = _config_file(environ)
    if path is None:
        return {}, ""
    try:
        table = tomllib.loads(path.read_text(encoding="utf-8")).get("providers", {})
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InvalidInput(
            f"{path} is not valid TOML: {exc}", hint="fix the line it names, or move it away"
        ) from exc
    if not isinstance(table, dict):
        raise InvalidInput(f"[providers] in {path} is not a table", hint='write image = "local"')
    unknown = sorted(set(table) - set(ROLES))
    bad = [k for k, v in table.items() if not isinstance(v, str)]
    if unknown or bad:
        raise InvalidInput(
            f"[providers] in {path} has {'unknown roles ' + str(unknown) if unknown else ''}"
            f"{'non-text values for ' + str(bad) if bad else ''}",
            hint=f'roles are {", ".join(ROLES)}; each value is a provider name such as "local"',
        )
    return table, str(path)


def choose(
    role: SettingsRole,
    name: str | None = None,
    *,
    project: Mapping[str, str] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Choice:
    """Which provider plays ``role``, following the order in this module's docstring."""
    if role not in ROLES:
        raise InvalidInput(f"there is no provider role {role!r}", hint=f"roles: {', '.join(ROLES)}")
    env: Mapping[str, str] = os.environ if environ is None else environ
    if name is not None and str(name).strip():
        return Choice(role, str(name).strip(), "the request")
    if project and project.get(role, "").strip():
        return Choice(role, project[role].strip(), "the project's settings")
    variable = f"STUDIO_{role.upper()}_PROVIDER"
    if env.get(variable, "").strip():
        return Choice(role, env[variable].strip(), variable)
    table, path = _configured(env)
    if table.get(role, "").strip():
        return Choice(role, table[role].strip(), path)
    for service in _PREFERENCE[role]:
        if key_from(service, env) is not None:
            return Choice(role, service, f"the default ({KEY_VARIABLES[service][0]} is set)")
    if "local" in known_providers(role):
        return Choice(role, "local", "the default (no key set)")
    return Choice(role, _PREFERENCE[role][0], "the default")


def resolve(
    role: SettingsRole,
    name: str | None = None,
    *,
    project: Mapping[str, str] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Any:
    """The provider that plays ``role``. Raises ``InvalidInput`` for an unknown name and
    ``Unauthorized`` when its key is not set."""
    env: Mapping[str, str] = os.environ if environ is None else environ
    choice = choose(role, name, project=project, environ=env)
    base, _, variant = choice.spec.partition(":")
    factory = _factory(role, base.strip().lower())
    if factory is None:
        raise InvalidInput(
            f"there is no {role} provider called {choice.spec[:60]!r} (from {choice.source})",
            hint=f"known {role} providers: {', '.join(known_providers(role))}",
        )
    return factory(variant.strip() or None, env)


def resolve_transcriber(
    name: str | None = None,
    *,
    project: Mapping[str, str] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Transcriber:
    """The transcriber (``"gemini"``, or ``"gemini:<model>"``); without a key it says how to get
    lyrics without one."""
    return cast(Transcriber, resolve("transcriber", name, project=project, environ=environ))


def resolve_text_model(
    name: str | None = None,
    *,
    project: Mapping[str, str] | None = None,
    environ: Mapping[str, str] | None = None,
) -> TextModel:
    return cast(TextModel, resolve("text", name, project=project, environ=environ))


def resolve_planner(
    name: str | None = None,
    *,
    project: Mapping[str, str] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Planner:
    return cast(Planner, resolve("planner", name, project=project, environ=environ))


def resolve_image_model(
    name: str | None = None,
    *,
    project: Mapping[str, str] | None = None,
    environ: Mapping[str, str] | None = None,
) -> ImageModel:
    return cast(ImageModel, resolve("image", name, project=project, environ=environ))


def resolve_video_model(
    name: str | None = None,
    *,
    project: Mapping[str, str] | None = None,
    environ: Mapping[str, str] | None = None,
) -> VideoModel:
    return cast(VideoModel, resolve("video", name, project=project, environ=environ))


def resolve_music_model(
    name: str | None = None,
    *,
    project: Mapping[str, str] | None = None,
    environ: Mapping[str, str] | None = None,
) -> MusicModel:
    return cast(MusicModel, resolve("music", name, project=project, environ=environ))
