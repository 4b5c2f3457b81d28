"""The song's map: tempo, beat grid, sections, energy. Audio analysis fills it in."""

from __future__ import annotations

import itertools
from datetime import datetime

from pydantic import Field, model_validator

from studio.model._base import StudioModel, utcnow

__all__ = ["Analysis", "Curve", "KeyMoment", "Section"]


class Section(StudioModel):
    """A stretch of the song with a label such as verse or chorus."""

    start: float = Field(ge=0)
    end: float = Field(gt=0)
    label: str = Field(max_length=40)

    @model_validator(mode="after")
    def _ordered(self) -> Section:
        if self.end <= self.start:
            raise ValueError(f"section ends at {self.end} s, before it starts at {self.start} s")
        return self


class KeyMoment(StudioModel):
    """A point where the visuals should turn: build, climax, drop, resolution."""

    time: float = Field(ge=0)
    kind: str = Field(max_length=40)
    description: str = Field(default="", max_length=500)


class Curve(StudioModel):
    """Values sampled every ``hop`` seconds from time zero."""

    hop: float = Field(gt=0)
    values: list[float]


class Analysis(StudioModel):
    """What the studio knows of one audio file, keyed by the file's sha256."""

    audio_sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    duration: float = Field(gt=0)
    sample_rate: int = Field(gt=0)
    tempo: float = Field(gt=0, le=400)
    beats: list[float] = Field(default_factory=list)
    downbeats: list[float] = Field(default_factory=list)
    sections: list[Section] = Field(default_factory=list)
    key_moments: list[KeyMoment] = Field(default_factory=list)
    key: str | None = None
    mode: str | None = None
    loudness_lufs: float | None = None
    true_peak_dbtp: float | None = None
    energy: Curve | None = None
    bands: dict[str, Curve] = Field(default_factory=dict)
    analyzer: str = "unknown"
    created_at: datetime = Field(default_factory=utcnow)

    @model_validator(mode="after")
    def _beats_sorted(self) -> Analysis:
        for name in ("beats", "downbeats"):
            times = getattr(self, name)
            if any(b < a for a, b in itertools.pairwise(times)):
                raise ValueError(f"{name} must be in time order")
        return self
