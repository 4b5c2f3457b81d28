"""Editing the timeline: build it from the storyboard, then cut, trim, split, reorder and dress.

Every function here is pure: it takes a :class:`~studio.model.Timeline` and returns a new one,
and every result is a valid timeline, gap-free and exactly as long as the song. A refused edit
raises :class:`~studio.errors.InvalidInput` naming the clip by its number (1 is the first) and
saying what to do instead. The revision is the store's to raise when the result is kept.

An edit is data (``{"op": "move_cut", "index": 3, "to": "next_downbeat"}``), so a widget, the
engine and a notebook all send the same thing, and a list of them applies all or nothing.
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping, Sequence
from typing import Annotated, Literal

from pydantic import Field

from studio.errors import IllegalTransition, InvalidInput, NotFound
from studio.model import (
    ID_PATTERN,
    Effect,
    Scene,
    StudioModel,
    SubtitleTrack,
    Take,
    TakeKind,
    TakeStatus,
    Timeline,
    TimelineClip,
    Transition,
    TransitionKind,
    utcnow,
)

__all__ = [
    "MIN_CLIP",
    "BeatStep",
    "Edit",
    "MoveCut",
    "RemoveClip",
    "ReorderClip",
    "SetEffects",
    "SetFocus",
    "SetSubtitles",
    "SetTake",
    "SetTransition",
    "SplitClip",
    "TrimClip",
    "apply_edit",
    "apply_edits",
    "build_timeline",
]

MIN_CLIP = 0.25
"""The shortest a clip may last, in seconds (six frames at 24 fps)."""

# Times closer than this are the same time (the model's own tolerance for a gap).
_EPS = 1e-6

BeatStep = Literal["prev_beat", "next_beat", "prev_downbeat", "next_downbeat"]
"""Where on the song's grid a cut may be moved: the beat or bar line before or after it."""

_Unit = Annotated[float, Field(ge=0, le=1)]


# ---- the edits --------------------------------------------------------------------------------


class MoveCut(StudioModel):
    """Roll a cut: the clip before it gets longer or shorter, the clip after it starts later or
    earlier, and the later clip's picture stays anchored to the song (its in-point moves too)."""

    op: Literal["move_cut"] = "move_cut"
    index: int = Field(ge=1)
    """The cut where clip ``index`` begins, counting clips from 0 (so 1 is the first cut)."""
    to: Annotated[float, Field(ge=0)] | BeatStep
    """A time on the song's clock in seconds, or a step along the beat grid."""


class TrimClip(StudioModel):
    """Slip which part of the take plays; the clip's place on the timeline does not change."""

    op: Literal["trim"] = "trim"
    clip_id: str
    in_point: float = Field(ge=0)


class SplitClip(StudioModel):
    """Cut a clip in two at a time on the song's clock; both halves show the same take."""

    op: Literal["split"] = "split"
    clip_id: str
    at: float = Field(ge=0)


class ReorderClip(StudioModel):
    """Move a clip to another position; every clip keeps its length."""

    op: Literal["reorder"] = "reorder"
    clip_id: str
    index: int = Field(ge=0)
    """The clip's new position, counting from 0."""


class RemoveClip(StudioModel):
    """Take a clip out; the clip before it (after it, for the first) fills its time."""

    op: Literal["remove"] = "remove"
    clip_id: str


class SetTake(StudioModel):
    op: Literal["set_take"] = "set_take"
    clip_id: str
    take_id: str = Field(pattern=ID_PATTERN)


class SetTransition(StudioModel):
    op: Literal["set_transition"] = "set_transition"
    clip_id: str
    transition: Transition


class SetEffects(StudioModel):
    op: Literal["set_effects"] = "set_effects"
    clip_id: str
    effects: list[Effect] = Field(default_factory=list, max_length=16)


class SetFocus(StudioModel):
    op: Literal["set_focus"] = "set_focus"
    clip_id: str
    focus: tuple[_Unit, _Unit]
    """The point to keep in frame when reframing, as fractions of width and height."""


class SetSubtitles(StudioModel):
    op: Literal["set_subtitles"] = "set_subtitles"
    subtitles: SubtitleTrack


Edit = Annotated[
    MoveCut
    | TrimClip
    | SplitClip
    | ReorderClip
    | RemoveClip
    | SetTake
    | SetTransition
    | SetEffects
    | SetFocus
    | SetSubtitles,
    Field(discriminator="op"),
]
"""One edit of the timeline, told apart by its ``op``."""


# ---- building from the storyboard -------------------------------------------------------------


def build_timeline(
    project_id: str,
    scenes: Sequence[Scene],
    takes: Mapping[str, Take],
    duration: float,
    *,
    previous: Timeline | None = None,
) -> Timeline:
    """One clip per scene, in storyboard order, cut where each scene starts. The first clip
    starts at 0 and the last ends with the song, so small gaps or overlaps in the storyboard
    are closed here. A clip shows its scene's approved clip take if it is ready, else its
    approved image take, else nothing yet (the render refuses that clip, saying so).

    With ``previous``, what a person set is kept: the subtitle track and, on each scene's clip,
    its transition, effects and focus, and a take they chose, as long as that take is still
    ready and the scene has not changed since the timeline did (else the newer approval wins).
    """
    ordered = sorted(scenes, key=lambda s: s.index)
    if not ordered:
        raise IllegalTransition(
            "the project has no storyboard yet",
            hint="plan the storyboard first; the timeline is built from its scenes",
        )
    starts = [0.0, *(s.start for s in ordered[1:])]
    ends = [*starts[1:], duration]
    for n, (scene, start, end) in enumerate(zip(ordered, starts, ends, strict=True), start=1):
        if end - start <= _EPS:
            if start >= duration:
                raise InvalidInput(
                    f"clip {n}: scene {scene.index + 1} starts at {start:.3f} s, "
                    f"after the song ends at {duration:.3f} s",
                    hint="plan the storyboard again for this song",
                )
            following = ordered[n]
            raise InvalidInput(
                f"clip {n}: scene {following.index + 1} starts at {end:.3f} s, "
                f"not after scene {scene.index + 1} at {start:.3f} s",
                hint="fix the scenes' times so that each starts after the one before it",
            )
    earlier = {c.scene_id: c for c in reversed(previous.clips) if c.scene_id} if previous else {}
    clips: list[TimelineClip] = []
    for scene, start in zip(ordered, starts, strict=True):
        clip = TimelineClip(
            scene_id=scene.id, take_id=_approved_take(scene, takes), start=start, duration=1
        )
        if previous is not None and scene.id in earlier:
            clip = _carried(clip, earlier[scene.id], scene, takes, previous)
        clips.append(clip)
    base = Timeline(project_id=project_id, duration=duration)
    if previous is not None:
        base = previous.model_copy(
            update={"project_id": project_id, "clips": [], "duration": duration}
        )
    return _laid(base, clips, starts)


def _approved_take(scene: Scene, takes: Mapping[str, Take]) -> str | None:
    for take_id in (scene.clip_take_id, scene.image_take_id):
        if take_id is not None and _ready(takes.get(take_id)):
            return take_id
    return None


def _ready(take: Take | None) -> bool:
    return take is not None and take.status is TakeStatus.READY


def _carried(
    clip: TimelineClip,
    old: TimelineClip,
    scene: Scene,
    takes: Mapping[str, Take],
    previous: Timeline,
) -> TimelineClip:
    """``clip`` with what a person set on ``old``, the scene's clip in ``previous``."""
    # The timeline holds no flag for "chosen by hand", so the later decision wins: a take picked
    # on the timeline after the scene last changed stays; a newer approval replaces it.
    chosen = (
        old.take_id is not None
        and _ready(takes.get(old.take_id))
        and scene.updated_at <= previous.updated_at
    )
    take_id = old.take_id if chosen else clip.take_id
    update: dict[str, object] = {
        "id": old.id,
        "take_id": take_id,
        "transition_in": old.transition_in,
        "effects": old.effects,
        "focus": old.focus,
    }
    if take_id == old.take_id:
        # the same picture stays where it was on the song's clock, as after a rolled cut
        update["in_point"] = max(0.0, old.in_point + (clip.start - old.start))
    return clip.model_copy(update=update)


# ---- applying edits ---------------------------------------------------------------------------


def apply_edits(
    timeline: Timeline,
    edits: Sequence[Edit],
    *,
    beats: Sequence[float] = (),
    downbeats: Sequence[float] = (),
    takes: Mapping[str, Take] | None = None,
) -> Timeline:
    """``edits`` applied in order; if one is refused, the error names it and none applies."""
    result = timeline
    for n, edit in enumerate(edits, start=1):
        try:
            result = apply_edit(result, edit, beats=beats, downbeats=downbeats, takes=takes)
        except InvalidInput as exc:
            if len(edits) == 1:
                raise
            raise type(exc)(
                f"edit {n} of {len(edits)} ({edit.op}): {exc.message}",
                hint=exc.hint,
                **(exc.details | {"edit": n}),
            ) from exc
    return result


def apply_edit(
    timeline: Timeline,
    edit: Edit,
    *,
    beats: Sequence[float] = (),
    downbeats: Sequence[float] = (),
    takes: Mapping[str, Take] | None = None,
) -> Timeline:
    """The timeline after one edit. ``beats`` and ``downbeats`` are the song's grid (from the
    corrected analysis) for moving a cut to a beat; with ``takes``, a take chosen for a clip
    must be one of them and ready."""
    match edit:
        case MoveCut():
            return _move_cut(timeline, edit, beats, downbeats)
        case TrimClip():
            i = _position(timeline, edit.clip_id)
            return _changed(timeline, i, in_point=edit.in_point)
        case SplitClip():
            return _split(timeline, edit)
        case ReorderClip():
            return _reorder(timeline, edit)
        case RemoveClip():
            return _remove(timeline, edit)
        case SetTake():
            i = _position(timeline, edit.clip_id)
            if takes is not None:
                _check_take(i, edit.take_id, takes)
            return _changed(timeline, i, take_id=edit.take_id)
        case SetTransition():
            return _set_transition(timeline, edit)
        case SetEffects():
            i = _position(timeline, edit.clip_id)
            return _changed(timeline, i, effects=edit.effects)
        case SetFocus():
            i = _position(timeline, edit.clip_id)
            return _changed(timeline, i, focus=edit.focus)
        case SetSubtitles():
            return _laid(timeline.model_copy(update={"subtitles": edit.subtitles}))
    raise InvalidInput(f"unknown timeline edit {edit!r}")  # pragma: no cover


def _move_cut(
    timeline: Timeline, edit: MoveCut, beats: Sequence[float], downbeats: Sequence[float]
) -> Timeline:
    clips = timeline.clips
    if not 1 <= edit.index < len(clips):
        raise InvalidInput(
            f"there is no cut {edit.index}: the timeline has {len(clips)} clips",
            hint=f"cuts are numbered 1 to {len(clips) - 1}"
            if len(clips) > 1
            else "split the clip to make a cut",
        )
    before, after = clips[edit.index - 1], clips[edit.index]
    a, b = edit.index, edit.index + 1  # the two clips' numbers, as a person counts them
    at, cut = after.start, f"the cut between clips {a} and {b}"
    to = edit.to if isinstance(edit.to, float) else _beat_from(at, edit.to, beats, downbeats, cut)
    where = f"moving {cut} to {to:.3f} s"
    if to - before.start < MIN_CLIP - _EPS:
        raise InvalidInput(
            f"{where} would leave clip {a} {max(0.0, to - before.start):.3f} s long",
            hint=f"each clip lasts at least {MIN_CLIP} s; move the cut to "
            f"{before.start + MIN_CLIP:.3f} s or later",
        )
    if after.end - to < MIN_CLIP - _EPS:
        raise InvalidInput(
            f"{where} would leave clip {b} {max(0.0, after.end - to):.3f} s long",
            hint=f"each clip lasts at least {MIN_CLIP} s; move the cut to "
            f"{after.end - MIN_CLIP:.3f} s or earlier",
        )
    in_point = after.in_point + (to - at)
    if in_point < -_EPS:
        raise InvalidInput(
            f"{where} would start clip {b} {-in_point:.3f} s before its take begins",
            hint=f"trim clip {b} to start later in its take first, or move the cut later",
        )
    starts = [c.start for c in clips]
    starts[edit.index] = to
    moved = [*clips]
    moved[edit.index] = after.model_copy(update={"in_point": max(0.0, in_point)})
    return _laid(timeline, moved, starts)


def _beat_from(
    at: float, step: BeatStep, beats: Sequence[float], downbeats: Sequence[float], cut: str
) -> float:
    grid = downbeats if step.endswith("downbeat") else beats
    word = "bar line" if step.endswith("downbeat") else "beat"
    if step.startswith("next"):
        i = bisect.bisect_right(grid, at + _EPS)
        found = grid[i] if i < len(grid) else None
    else:
        i = bisect.bisect_left(grid, at - _EPS) - 1
        found = grid[i] if i >= 0 else None
    if found is None:
        side = "after" if step.startswith("next") else "before"
        raise InvalidInput(
            f"there is no {word} {side} {cut} ({at:.3f} s)",
            hint="give the time in seconds instead"
            if grid
            else "the song has no beat grid; give the time in seconds",
        )
    return float(found)


def _split(timeline: Timeline, edit: SplitClip) -> Timeline:
    i = _position(timeline, edit.clip_id)
    clip = timeline.clips[i]
    lo, hi = clip.start + MIN_CLIP, clip.end - MIN_CLIP
    if not lo - _EPS <= edit.at <= hi + _EPS:
        raise InvalidInput(
            f"clip {i + 1} runs from {clip.start:.3f} to {clip.end:.3f} s; "
            f"it cannot be split at {edit.at:.3f} s",
            hint=f"split it between {lo:.3f} and {hi:.3f} s so both parts last at least "
            f"{MIN_CLIP} s"
            if lo <= hi
            else f"it is too short to split: both parts must last at least {MIN_CLIP} s",
        )
    second = TimelineClip.model_validate(
        clip.model_dump(exclude={"id", "transition_in"})
        | {"in_point": clip.in_point + (edit.at - clip.start)}
    )
    clips = [*timeline.clips[: i + 1], second, *timeline.clips[i + 1 :]]
    starts = [c.start for c in timeline.clips]
    starts.insert(i + 1, edit.at)
    return _laid(timeline, clips, starts)


def _reorder(timeline: Timeline, edit: ReorderClip) -> Timeline:
    i = _position(timeline, edit.clip_id)
    n = len(timeline.clips)
    if edit.index >= n:
        raise InvalidInput(
            f"clip {i + 1} cannot move to position {edit.index + 1}: the timeline has {n} clips",
            hint=f"give an index from 0 to {n - 1}",
        )
    clips = [*timeline.clips]
    clips.insert(edit.index, clips.pop(i))
    starts, cursor = [], 0.0
    for clip in clips:
        starts.append(cursor)
        cursor += clip.duration
    return _laid(timeline, clips, starts)


def _remove(timeline: Timeline, edit: RemoveClip) -> Timeline:
    i = _position(timeline, edit.clip_id)
    if len(timeline.clips) == 1:
        raise InvalidInput(
            "clip 1 is the only clip; a timeline cannot be empty",
            hint="change its take, or build the timeline again from the storyboard",
        )
    clips = [c for j, c in enumerate(timeline.clips) if j != i]
    starts = [c.start for c in clips]
    starts[0] = 0.0  # removing the first clip: the next one starts the song
    return _laid(timeline, clips, starts)


def _set_transition(timeline: Timeline, edit: SetTransition) -> Timeline:
    i = _position(timeline, edit.clip_id)
    transition = edit.transition
    if i == 0 and transition.kind is not TransitionKind.CUT:
        raise InvalidInput(
            f"clip 1 opens the video; it cannot begin with a {transition.kind.value}",
            hint="set the transition on a later clip",
        )
    if i > 0:
        room = min(timeline.clips[i].duration, timeline.clips[i - 1].duration)
        if transition.duration > room + _EPS:
            shorter = i + 1 if timeline.clips[i].duration <= room else i
            raise InvalidInput(
                f"a {transition.duration:.2f} s {transition.kind.value} into clip {i + 1} "
                f"is longer than clip {shorter} ({room:.2f} s)",
                hint=f"make it {room:.2f} s or shorter",
            )
    return _changed(timeline, i, transition_in=transition)


def _check_take(i: int, take_id: str, takes: Mapping[str, Take]) -> None:
    take = takes.get(take_id)
    if take is None:
        raise NotFound(
            f"clip {i + 1} cannot show take {take_id}: the project has no such take",
            hint="choose one of the scene's image or clip takes",
        )
    if take.kind not in (TakeKind.IMAGE, TakeKind.CLIP):
        raise InvalidInput(
            f"clip {i + 1} cannot show take {take_id}: it is an {take.kind.value} take",
            hint="choose an image or a clip take",
        )
    if take.status is not TakeStatus.READY:
        raise InvalidInput(
            f"clip {i + 1} cannot show take {take_id}: that take failed",
            hint="choose a ready take, or generate a new one",
        )


# ---- shared steps -----------------------------------------------------------------------------


def _position(timeline: Timeline, clip_id: str) -> int:
    for i, clip in enumerate(timeline.clips):
        if clip.id == clip_id:
            return i
    raise NotFound(
        f"the timeline has no clip {clip_id[:40]!r}",
        hint="reload the timeline: splitting or removing clips changes their ids",
    )


def _changed(timeline: Timeline, i: int, **update: object) -> Timeline:
    clips = [*timeline.clips]
    clips[i] = clips[i].model_copy(update=update)
    return _laid(timeline, clips)


def _laid(
    timeline: Timeline,
    clips: Sequence[TimelineClip] | None = None,
    starts: Sequence[float] | None = None,
) -> Timeline:
    """``timeline`` with ``clips`` laid end to end from ``starts``: each clip lasts until the
    next one starts and the last until the song ends, so no gap can open and rounding cannot
    pile up. A transition that no longer fits is shortened, and the first clip begins with a
    cut. Checked as a whole by the model; the revision is left to the store."""
    clips = timeline.clips if clips is None else clips
    starts = [c.start for c in clips] if starts is None else starts
    ends = [*starts[1:], timeline.duration]
    placed: list[TimelineClip] = []
    for clip, start, end in zip(clips, starts, ends, strict=True):
        transition = clip.transition_in
        if not placed:
            transition = Transition()
        else:
            room = min(end - start, placed[-1].duration)
            if transition.duration > room:
                transition = transition.model_copy(update={"duration": room})
        placed.append(
            clip.model_copy(
                update={"start": start, "duration": end - start, "transition_in": transition}
            )
        )
    data = timeline.model_dump() | {
        "clips": [c.model_dump() for c in placed],
        "updated_at": utcnow(),
    }
    return Timeline.model_validate(data)
