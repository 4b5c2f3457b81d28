"""The edit: clips laid end to end on the song's clock, with transitions, effects, subtitles."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import Field, model_validator

from studio.model._base import StudioModel, new_id, utcnow

__all__ = [
    "Effect",
    "SubtitleMode",
    "SubtitleStyle",
    "SubtitleTrack",
    "Timeline",
    "TimelineClip",
    "Transition",
    "TransitionKind",
]

# Clips meet within this many seconds (well below one frame at 60 fps); anything more is a gap.
_TOLERANCE = 1e-6


class TransitionKind(StrEnum):
    CUT = "cut"
    CROSSFADE = "crossfade"
    DIP_BLACK = "dip_black"
    DIP_WHITE = "dip_white"
    WIPE_LEFT = "wipe_left"
    WIPE_RIGHT = "wipe_right"
    SLIDE_LEFT = "slide_left"
    SLIDE_RIGHT = "slide_right"
    ZOOM = "zoom"


class Transition(StudioModel):
    """How a clip begins after the one before it."""

    kind: TransitionKind = TransitionKind.CUT
    duration: float = Field(default=0.0, ge=0, le=10)
    beat_synced: bool = True

    @model_validator(mode="after")
    def _cut_is_instant(self) -> Transition:
        if self.kind is TransitionKind.CUT and self.duration:
            raise ValueError("a cut has no duration; use crossfade for a soft change")
        return self


class Effect(StudioModel):
    """A per-clip effect by name (``zoom_pulse``, ``shake``, ``flash``...) with its settings."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_]{0,39}$")
    intensity: float = Field(default=0.5, ge=0, le=1)
    params: dict[str, float | str | bool] = Field(default_factory=dict)


class TimelineClip(StudioModel):
    id: str = Field(default_factory=lambda: new_id("clp"))
    scene_id: str | None = None
    take_id: str | None = None
    start: float = Field(ge=0)
    """Where the clip begins on the song's clock, in seconds."""
    duration: float = Field(gt=0)
    in_point: float = Field(default=0.0, ge=0)
    """Where in the take the clip starts playing."""
    transition_in: Transition = Field(default_factory=Transition)
    effects: list[Effect] = Field(default_factory=list, max_length=16)
    focus: tuple[float, float] = (0.5, 0.5)
    """Point to keep in frame when reframing, as fractions of width and height."""

    @property
    def end(self) -> float:
        return self.start + self.duration


class SubtitleMode(StrEnum):
    OFF = "off"
    BURN = "burn"
    SIDECAR = "sidecar"


class SubtitleStyle(StudioModel):
    position: str = Field(default="bottom", pattern=r"^(top|middle|bottom)$")
    font: str = Field(default="DejaVu Sans", max_length=80)
    size: int = Field(default=48, ge=8, le=400)
    outline: float = Field(default=2.0, ge=0, le=20)
    karaoke: bool = True


class SubtitleTrack(StudioModel):
    mode: SubtitleMode = SubtitleMode.OFF
    style: SubtitleStyle = Field(default_factory=SubtitleStyle)


class Timeline(StudioModel):
    """One timeline per project. Clips are gap-free and cover the song exactly."""

    id: str = Field(default_factory=lambda: new_id("tln"))
    project_id: str
    duration: float = Field(gt=0)
    clips: list[TimelineClip] = Field(default_factory=list)
    subtitles: SubtitleTrack = Field(default_factory=SubtitleTrack)
    revision: int = Field(default=1, ge=1)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)

    @model_validator(mode="after")
    def _gap_free(self) -> Timeline:
        if not self.clips:
            return self
        cursor = 0.0
        for n, clip in enumerate(self.clips, start=1):
            if abs(clip.start - cursor) > _TOLERANCE:
                word = "gap" if clip.start > cursor else "overlap"
                raise ValueError(
                    f"clip {n} starts at {clip.start:.6f} s: a {word} after {cursor:.6f} s"
                )
            cursor = clip.end
        if abs(cursor - self.duration) > _TOLERANCE:
            raise ValueError(f"clips end at {cursor:.6f} s but the song is {self.duration:.6f} s")
        return self
