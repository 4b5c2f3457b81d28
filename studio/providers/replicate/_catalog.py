"""Which Replicate model a setting names: ``owner/name``, optionally pinned ``owner/name:version``.

Official models (FLUX, Kling, Seedance) run by name through
``POST /v1/models/{owner}/{name}/predictions``; community models (MusicGen, SDXL) need a
version id and run through ``POST /v1/predictions``. The studio only runs models it knows the
inputs and the price of (the budget cap depends on the price), so a name is looked up in a
table of known models; a known model may be pinned to another version.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TypeVar

from studio.errors import InvalidInput

__all__ = ["ModelRef", "ModelSpec", "lookup"]

_PART = r"[a-z0-9](?:[a-z0-9._-]{0,98}[a-z0-9])?"
_NAME_RE = re.compile(rf"^{_PART}/{_PART}$")
_VERSION_RE = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class ModelSpec:
    """What the studio knows of a model before calling it: its version (for a community
    model), its price, and how many predictions may run at once."""

    version: str | None = None
    usd_per_call: float = 0.0
    usd_per_second: float = 0.0
    max_concurrency: int = 4


S = TypeVar("S", bound=ModelSpec)


@dataclass(frozen=True)
class ModelRef:
    """A model on Replicate: its ``owner/name``, and the version to run when it needs one."""

    name: str
    version: str | None = None

    def __str__(self) -> str:
        return self.name if self.version is None else f"{self.name}:{self.version}"

    @classmethod
    def parse(cls, text: str) -> ModelRef:
        """``"owner/name"`` or ``"owner/name:<64 hex digits>"``; ``InvalidInput`` otherwise."""
        name, sep, version = str(text).strip().partition(":")
        name = name.strip().lower()
        version = version.strip().lower()
        if not _NAME_RE.fullmatch(name) or (sep and not _VERSION_RE.fullmatch(version)):
            raise InvalidInput(
                f"{str(text)[:80]!r} is not a Replicate model",
                hint="write owner/name, such as 'black-forest-labs/flux-dev', or "
                "owner/name:<64-hex version id>",
            )
        return cls(name, version or None)


def lookup(
    text: str | None, known: Mapping[str, S], *, default: str, role: str
) -> tuple[ModelRef, S]:
    """The model ``text`` names (``default`` when None) and what the studio knows of it.

    A known model without a version runs at the version in the table, if it has one."""
    ref = ModelRef.parse(text or default)
    spec = known.get(ref.name)
    if spec is None:
        raise InvalidInput(
            f"the studio does not know the Replicate {role} model {ref.name!r}",
            hint=f"known {role} models: {', '.join(sorted(known))}; the studio must know a "
            "model's inputs and price before it spends money on it",
        )
    return ModelRef(ref.name, ref.version or spec.version), spec
