"""A project and the creative documents it gathers: brief, song, concepts, moods, characters."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from studio.model._analysis import AnalysisCorrections
from studio.model._base import Name, Palette, StudioModel, new_id, utcnow
from studio.model._lyrics import Lyrics

__all__ = ["AudioTrack", "Brief", "Character", "Concept", "Mood", "Project"]

_SHA256 = r"^[0-9a-f]{64}$"


class Brief(StudioModel):
    """What the video should be, in the client's words."""

    text: str = Field(default="", max_length=20_000)
    style: str = Field(default="", max_length=500)
    audience: str = Field(default="", max_length=500)
    references: list[str] = Field(default_factory=list, max_length=50)


class AudioTrack(StudioModel):
    """The song: the master file kept untouched in the asset store, muxed once at render."""

    asset_sha256: str = Field(pattern=_SHA256)
    filename: str = Field(max_length=255)
    duration: float = Field(gt=0)
    sample_rate: int = Field(gt=0)
    channels: int = Field(ge=1, le=16)
    corrections: AnalysisCorrections = Field(default_factory=AnalysisCorrections)
    """What a person changed in the detected map of this song (beat grid, sections)."""
    lyrics: Lyrics | None = None
    """The words and when they are sung (imported, spread over the song, or transcribed)."""


class Project(StudioModel):
    """The unit of work: one song, one brief, and everything made from them."""

    id: str = Field(default_factory=lambda: new_id("prj"))
    name: Name
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    brief: Brief = Field(default_factory=Brief)
    audio: AudioTrack | None = None
    concept_id: str | None = None
    mood_id: str | None = None
    budget_usd: float | None = Field(default=None, ge=0)
    providers: dict[str, str] = Field(default_factory=dict)
    """Per-project provider overrides, stage -> provider name (``{"image": "replicate:flux"}``)."""


class Concept(StudioModel):
    """One proposed idea for the video."""

    id: str = Field(default_factory=lambda: new_id("cpt"))
    project_id: str
    title: Name
    logline: str = Field(default="", max_length=1000)
    description: str = Field(default="", max_length=20_000)
    created_at: datetime = Field(default_factory=utcnow)


class Mood(StudioModel):
    """A mood board: a name, a palette and words that steer every prompt made under it."""

    id: str = Field(default_factory=lambda: new_id("mod"))
    project_id: str
    name: Name
    palette: Palette = Field(default_factory=list, max_length=12)
    keywords: list[str] = Field(default_factory=list, max_length=40)
    description: str = Field(default="", max_length=5000)
    created_at: datetime = Field(default_factory=utcnow)


class Character(StudioModel):
    """A recurring person or product, with reference images that keep it consistent."""

    id: str = Field(default_factory=lambda: new_id("chr"))
    project_id: str
    name: Name
    description: str = Field(default="", max_length=5000)
    reference_assets: list[str] = Field(default_factory=list, max_length=16)
    created_at: datetime = Field(default_factory=utcnow)
