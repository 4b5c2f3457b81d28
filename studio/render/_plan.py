"""A timeline compiled to a render plan: every clip on the output's frame grid, with its media,
its camera, its transition and its effects, checked before a single frame is encoded.

The frame grid is the clock. A clip from ``start`` to ``end`` seconds covers the frames
``round(start * fps)`` up to ``round(end * fps)``, each computed from the song's time and never
by adding durations, so a cut lands within half a frame of its beat however long the song is.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from studio.errors import InvalidInput
from studio.model import (
    Analysis,
    Aspect,
    CameraMove,
    Container,
    Effect,
    Quality,
    RenderSettings,
    Section,
    Timeline,
    TransitionKind,
)
from studio.render._effects import check as check_effects

__all__ = [
    "PRESETS",
    "ClipMedia",
    "OnGrid",
    "PlannedClip",
    "RenderPlan",
    "compile_plan",
    "frame_grid",
    "teaser_window",
]


@dataclass(frozen=True)
class ClipMedia:
    """What a clip shows: a still (moved by ``camera``) or a video take."""

    path: Path
    kind: str
    """``"still"`` or ``"video"``."""
    camera: CameraMove = CameraMove.STATIC
    label: str = ""
    """How errors name it: "scene 4's image take v2"."""
    span: float | None = None
    """For a still that stands in for an offline camera-move clip: the clip's length in
    seconds, so the move runs over the take (from the clip's in point), not over the cut."""


@dataclass(frozen=True)
class PlannedClip:
    number: int
    """1-based position on the timeline (how messages name the clip)."""
    first: int
    last: int
    """Frames ``first`` up to (not including) ``last`` on the song's frame grid."""
    media: ClipMedia
    in_point: float
    focus: tuple[float, float]
    effects: tuple[Effect, ...]
    transition: TransitionKind
    blend: int
    """Frames the transition into this clip lasts (0 for a cut)."""
    lead: int
    """Frames of the transition before the cut (half of it when beat-synced: the change is
    at its fullest on the beat)."""
    tail: int = 0
    """Frames it is still seen after ``last``: the lead of the transition into the next clip."""

    @property
    def length(self) -> int:
        return self.last - self.first

    @property
    def blend_start(self) -> int:
        return self.first - self.lead

    @property
    def seen_until(self) -> int:
        """The frame after the last one that shows any of it."""
        return self.last + self.tail

    def seen_in(self, first: int, last: int) -> bool:
        """Whether any of the frames ``first`` up to ``last`` shows this clip."""
        return self.blend_start < last and self.seen_until > first


@dataclass(frozen=True)
class RenderPlan:
    settings: RenderSettings
    clips: tuple[PlannedClip, ...]
    first: int
    last: int
    """The frames rendered: the whole song, or a teaser's stretch of it."""
    song: Path
    analysis: Analysis | None = None
    subtitles: str | None = None
    """An ASS document to burn in, on the song's clock."""
    extras: dict[str, object] = field(default_factory=dict)

    @property
    def fps(self) -> int:
        return self.settings.fps

    @property
    def size(self) -> tuple[int, int]:
        return self.settings.size

    @property
    def frames(self) -> int:
        return self.last - self.first

    @property
    def excerpt(self) -> bool:
        """Whether the render is a stretch of the song (a teaser), not all of it."""
        return self.first > 0 or self.last < self.clips[-1].last

    @property
    def start(self) -> float:
        """Where the render begins on the song's clock, in seconds."""
        return self.first / self.fps

    def at(self, frame: int) -> tuple[PlannedClip, PlannedClip | None, float]:
        """Who shows at ``frame``: the clip, and during a transition the clip being left and
        how far the change has gone (0..1)."""
        index = _find(self.clips, frame)
        clip = self.clips[index]
        if clip.blend and frame < clip.blend_start + clip.blend and index > 0:
            return clip, self.clips[index - 1], (frame - clip.blend_start + 0.5) / clip.blend
        if index + 1 < len(self.clips):
            after = self.clips[index + 1]
            if after.blend and frame >= after.blend_start:
                return after, clip, (frame - after.blend_start + 0.5) / after.blend
        return clip, None, 1.0


def _find(clips: tuple[PlannedClip, ...], frame: int) -> int:
    lo, hi = 0, len(clips) - 1
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if clips[mid].first <= frame:
            lo = mid
        else:
            hi = mid - 1
    return lo


@dataclass(frozen=True)
class OnGrid:
    """Where a timeline clip falls on the frame grid, and the frames of the transition into
    it: the one rule the render and the exports share."""

    first: int
    last: int
    blend: int
    lead: int


def frame_grid(timeline: Timeline, fps: int) -> list[OnGrid]:
    """Every clip of ``timeline`` on the grid of ``fps``: each cut is ``round(time * fps)``
    of the song's time (one clip's end is the next one's start, so no frame is lost or shown
    twice); a transition is at least one frame and, beat-synced, half of it comes before the
    cut. The first clip has nothing to change from: its transition counts as a cut."""
    cuts = [round(c.start * fps) for c in timeline.clips] + [round(timeline.duration * fps)]
    grid = []
    for n, clip in enumerate(timeline.clips):
        t = clip.transition_in
        blend = 0 if t.kind is TransitionKind.CUT or n == 0 else max(1, round(t.duration * fps))
        grid.append(OnGrid(cuts[n], cuts[n + 1], blend, blend // 2 if t.beat_synced else 0))
    return grid


def compile_plan(
    timeline: Timeline,
    media: Mapping[str, ClipMedia],
    settings: RenderSettings,
    *,
    song: Path,
    analysis: Analysis | None = None,
    window: tuple[float, float] | None = None,
    subtitles: str | None = None,
) -> RenderPlan:
    """Check the timeline against what exists and lay it on the frame grid. ``media`` maps a
    clip id to its media (the caller checked the files); ``window`` renders part of the song
    (a teaser). Every fault is an ``InvalidInput`` naming the clip, before any encoding."""
    fps = settings.fps
    if not timeline.clips:
        raise InvalidInput("the timeline has no clips", hint="build it from the storyboard first")
    if not song.is_file():
        raise InvalidInput(f"the song file {song.name} is missing", hint="upload the song again")
    planned: list[PlannedClip] = []
    if timeline.clips[0].transition_in.kind is not TransitionKind.CUT:
        raise InvalidInput("the first clip cannot begin with a transition", hint="use a cut")
    grid = frame_grid(timeline, fps)
    for number, (clip, at) in enumerate(zip(timeline.clips, grid, strict=True), start=1):
        found = media.get(clip.id)
        if found is None:
            raise InvalidInput(
                f"clip {number} has no picture or video to show",
                hint="make or choose a take for its scene, or remove the clip",
            )
        if at.last <= at.first:
            raise InvalidInput(
                f"clip {number} lasts {clip.duration * 1000:.1f} ms, less than one frame at "
                f"{fps} fps",
                hint="lengthen it (move a cut) or remove it",
            )
        check_effects(clip.effects)
        planned.append(
            PlannedClip(
                number=number, first=at.first, last=at.last, media=found,
                in_point=clip.in_point, focus=clip.focus, effects=tuple(clip.effects),
                transition=clip.transition_in.kind, blend=at.blend, lead=at.lead,
            )
        )  # fmt: skip
    planned = [
        clip if after is None else replace(clip, tail=after.lead)
        for clip, after in zip(planned, [*planned[1:], None], strict=True)
    ]
    _check_transitions(planned, fps)
    total = planned[-1].last
    first, last = 0, total
    if window is not None:
        a, b = window
        if not 0 <= a < b <= timeline.duration + 1e-6:
            raise InvalidInput(
                f"the stretch {a:.2f}-{b:.2f} s is not inside the song "
                f"(0-{timeline.duration:.2f} s)"
            )
        first, last = round(a * fps), min(total, round(b * fps))
    return RenderPlan(
        settings=settings, clips=tuple(planned), first=first, last=last, song=song,
        analysis=analysis, subtitles=subtitles,
    )  # fmt: skip


def _check_transitions(clips: list[PlannedClip], fps: int) -> None:
    """A transition borrows frames from both clips around its cut; two may not overlap, and a
    clip must be long enough to give what is asked of it."""
    for i, clip in enumerate(clips):
        after = clips[i + 1] if i + 1 < len(clips) else None
        taken = (clip.blend - clip.lead) + (after.lead if after is not None else 0)
        if taken > clip.length:
            raise InvalidInput(
                f"clip {clip.number} lasts {clip.length / fps:.2f} s, too short for the "
                f"transitions on its sides ({taken / fps:.2f} s)",
                hint="shorten a transition or lengthen the clip",
            )


PRESETS: dict[str, RenderSettings] = {
    "final": RenderSettings(),
    "hd": RenderSettings(resolution=720),
    "preview": RenderSettings(resolution=360, quality=Quality.DRAFT),
    "vertical": RenderSettings(aspect=Aspect.PORTRAIT),
    "square": RenderSettings(aspect=Aspect.SQUARE),
    "feed": RenderSettings(aspect=Aspect.FEED),
    "4k": RenderSettings(resolution=2160, quality=Quality.HIGH),
    "web": RenderSettings(container=Container.WEBM),
}
"""Named render settings: ``final`` is 1920x1080 at 30 fps, H.264 and AAC; ``preview`` a fast
640x360 draft for review; the aspect presets are 1080 on the short side."""


def teaser_window(analysis: Analysis, seconds: float) -> tuple[float, float]:
    """``seconds`` of the song around its peak section (the one with the most energy, else
    the middle), starting and ending on downbeats where the song has them."""
    duration = analysis.duration
    if seconds >= duration:
        return 0.0, duration
    centre = duration / 2
    if analysis.sections:
        energy = analysis.energy

        def level(s: Section) -> float:
            if energy is None:
                return s.end - s.start
            points = [energy.at(s.start + (s.end - s.start) * i / 16) for i in range(17)]
            return sum(points) / len(points)

        peak = max(analysis.sections, key=level)
        centre = (peak.start + peak.end) / 2
    start = min(max(0.0, centre - seconds / 2), duration - seconds)
    bars = [d for d in analysis.downbeats if d <= duration - seconds + 1e-6]
    if bars:
        start = min(bars, key=lambda d: abs(d - start))
    end = start + seconds
    later = [d for d in analysis.downbeats if start < d <= duration]
    if later:
        end = min(later, key=lambda d: abs(d - end))
    return start, min(end, duration)
