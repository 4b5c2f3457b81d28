"""Render settings (aspect, size, frame rate, quality) and the record of a render."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import Field, model_validator

from studio.model._base import StudioModel, new_id, utcnow

__all__ = ["Aspect", "Container", "Quality", "Render", "RenderSettings", "RenderStatus"]


class Aspect(StrEnum):
    LANDSCAPE = "16:9"
    PORTRAIT = "9:16"
    SQUARE = "1:1"
    FEED = "4:5"

    @property
    def ratio(self) -> tuple[int, int]:
        w, h = self.value.split(":")
        return int(w), int(h)


class Quality(StrEnum):
    DRAFT = "draft"
    STANDARD = "standard"
    HIGH = "high"


class Container(StrEnum):
    MP4 = "mp4"
    WEBM = "webm"


RESOLUTIONS = (240, 360, 480, 540, 720, 1080, 1440, 2160)
FRAME_RATES = (24, 25, 30, 60)


class RenderSettings(StudioModel):
    """``resolution`` is the short side in pixels: 1080 is 1920x1080 at 16:9, 1080x1920 at 9:16."""

    aspect: Aspect = Aspect.LANDSCAPE
    resolution: int = 1080
    fps: int = 30
    quality: Quality = Quality.STANDARD
    container: Container = Container.MP4
    normalize_loudness: bool = False
    target_lufs: float = Field(default=-14.0, ge=-40, le=-5)

    @model_validator(mode="after")
    def _supported(self) -> RenderSettings:
        if self.resolution not in RESOLUTIONS:
            raise ValueError(f"resolution {self.resolution} is not one of {RESOLUTIONS}")
        if self.fps not in FRAME_RATES:
            raise ValueError(f"fps {self.fps} is not one of {FRAME_RATES}")
        if self.resolution > 1080 and self.aspect is not Aspect.LANDSCAPE:
            raise ValueError(f"{self.aspect.value} goes up to 1080; above that only 16:9")
        return self

    @property
    def size(self) -> tuple[int, int]:
        """Width and height in pixels, both even (H.264 with 4:2:0 needs even sizes)."""
        w, h = self.aspect.ratio
        short = self.resolution
        long = round(short * max(w, h) / min(w, h) / 2) * 2
        return (long, short) if w >= h else (short, long)


class RenderStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


class Render(StudioModel):
    id: str = Field(default_factory=lambda: new_id("rnd"))
    project_id: str
    job_id: str | None = None
    settings: RenderSettings = Field(default_factory=RenderSettings)
    timeline_revision: int = Field(default=0, ge=0)
    status: RenderStatus = RenderStatus.QUEUED
    asset_sha256: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")
    verification: dict[str, Any] = Field(default_factory=dict)
    created_at: datetime = Field(default_factory=utcnow)
    finished_at: datetime | None = None
