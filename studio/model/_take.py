"""Takes: versioned generated assets of a scene, a mood or a character."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import Field, model_validator

from studio.model._base import StudioModel, new_id, utcnow

__all__ = ["OwnerKind", "Take", "TakeKind", "TakeStatus"]


class TakeKind(StrEnum):
    IMAGE = "image"
    CLIP = "clip"
    AUDIO = "audio"


class OwnerKind(StrEnum):
    SCENE = "scene"
    MOOD = "mood"
    CHARACTER = "character"
    PROJECT = "project"


class TakeStatus(StrEnum):
    READY = "ready"
    FAILED = "failed"


class Take(StudioModel):
    """One version of a generated asset. Takes are never changed once written: a new attempt is
    a new take with the next version number, so the history of a scene is always there."""

    id: str = Field(default_factory=lambda: new_id("tk"))
    project_id: str
    owner_kind: OwnerKind
    owner_id: str
    kind: TakeKind
    version: int = Field(default=0, ge=0)
    """1, 2, 3 ... per owner and kind; 0 until the store assigns the next one."""
    status: TakeStatus = TakeStatus.READY
    asset_sha256: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")
    media_type: str | None = None
    inputs: dict[str, Any] = Field(default_factory=dict)
    """What made it: prompt, seed, span, upstream take; ``fingerprint`` is their hash."""
    fingerprint: str = ""
    provider: str = "local"
    model: str = ""
    seed: int | None = None
    cost_usd: float = Field(default=0.0, ge=0)
    error: str | None = None
    created_at: datetime = Field(default_factory=utcnow)

    @model_validator(mode="after")
    def _ready_has_asset(self) -> Take:
        if self.status is TakeStatus.READY and self.asset_sha256 is None:
            raise ValueError("a ready take needs an asset_sha256")
        if self.status is TakeStatus.FAILED and not self.error:
            raise ValueError("a failed take needs an error that says what went wrong")
        return self
