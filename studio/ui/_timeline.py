"""The timeline: the song's waveform with its beat grid (downbeats stronger), section bands and
energy curve; the clips as thumbnail blocks. Drag a cut and it snaps to the beats; drag a clip
to reorder; slip a clip's picture by a beat; pick the transition between two clips; split at
the playhead; undo and redo. A playhead plays the song (a small Opus copy sent as binary) with
the picture of the clip under it."""

from __future__ import annotations

import bisect
from typing import Any

import traitlets

from studio.errors import InvalidInput, NotFound
from studio.model import Timeline as TimelineDoc
from studio.model import TransitionKind
from studio.ui._songmap import SongMapWidget

__all__ = ["Timeline"]

UNDO_DEPTH = 50
SNAPS = ("beat", "downbeat", "none")
STEPS = ("prev_beat", "next_beat", "prev_downbeat", "next_downbeat")


class Timeline(SongMapWidget):
    """``Timeline("Night Drive")``: the project's timeline on the song's grid, live."""

    front = "timeline"
    listens = ("timeline.", "project.updated", "analysis.", "take.", "scene.")

    clips = traitlets.List(traitlets.Dict()).tag(sync=True)
    revision = traitlets.Int(0).tag(sync=True)
    built = traitlets.Bool(False).tag(sync=True)
    transitions = traitlets.List(traitlets.Unicode()).tag(sync=True)
    can_undo = traitlets.Bool(False).tag(sync=True)
    can_redo = traitlets.Bool(False).tag(sync=True)

    def __init__(self, project: Any, **kwargs: Any) -> None:
        self._undo: list[TimelineDoc] = []
        self._redo: list[TimelineDoc] = []
        self._timeline: TimelineDoc | None = None
        self._pictures: dict[str, str] = {}
        kwargs.setdefault("transitions", [k.value for k in TransitionKind])
        super().__init__(project, **kwargs)

    # ---- what it shows --------------------------------------------------------------------------

    async def load(self) -> None:
        song = await self.client.song_map(self.project_id)
        try:
            timeline: TimelineDoc | None = await self.client.timeline(self.project_id)
        except NotFound:
            timeline = None
        await self._read_pictures()
        with self.hold_sync():
            self.show_song(song)
            self._show(timeline)
        await self.load_audio()

    def media_keys(self) -> set[tuple[str, str]]:
        return super().media_keys() | {(c["thumb"], "thumb") for c in self.clips if c["thumb"]}

    # ---- what it does ---------------------------------------------------------------------------

    async def _edit(self, *edits: dict[str, Any]) -> None:
        """Apply ``edits`` to the timeline shown; the one before is kept for undo."""
        before = self._shown()
        after = await self.client.edit_timeline(
            self.project_id, list(edits), revision=before.revision
        )
        self._undo = [*self._undo, before][-UNDO_DEPTH:]
        self._redo = []
        self._show(after)

    async def _read_pictures(self) -> None:
        """Which picture stands for each take (read again with every reload, which the
        storyboard's changes bring: an edit of the timeline makes no new take)."""
        self._pictures = _pictures((await self.client.storyboard(self.project_id))["scenes"])

    def _show(self, timeline: TimelineDoc | None) -> None:
        shown = self._timeline
        if (
            timeline is not None
            and shown is not None
            and timeline.id == shown.id
            and timeline.revision < shown.revision
        ):
            return  # read by a reload that began before an edit shown since: keep that
        self._timeline = timeline
        clips = timeline.clips if timeline else []
        with self.hold_sync():
            self.built = timeline is not None
            self.revision = timeline.revision if timeline else 0
            self.clips = [_clip(i, c, self._pictures) for i, c in enumerate(clips)]
            self.can_undo, self.can_redo = bool(self._undo), bool(self._redo)

    def _shown(self) -> TimelineDoc:
        if self._timeline is None:
            raise InvalidInput("there is no timeline yet", hint="build it from the storyboard")
        return self._timeline

    def _index(self, clip: Any) -> int:
        for i, c in enumerate(self.clips):
            if c["id"] == clip:
                return i
        raise InvalidInput(
            f"clip {str(clip)[:40]!r} is not on this timeline", hint="use a clip shown"
        )

    async def _act_build(self, _content: dict[str, Any]) -> None:
        if self._timeline is not None:
            self._undo = [*self._undo, self._timeline][-UNDO_DEPTH:]
        built = await self.client.build_timeline(self.project_id)
        await self._read_pictures()  # the approved takes it was built from
        self._show(built)

    async def _act_move_cut(self, content: dict[str, Any]) -> None:
        """Move the cut where clip ``index`` begins to ``to`` seconds, snapped to the nearest
        beat or downbeat (``snap``), or one step along the grid (``to`` is a step name)."""
        index = content.get("index")
        if not isinstance(index, int) or not 1 <= index < len(self.clips):
            raise InvalidInput(f"there is no cut {str(index)[:20]}")
        to = content.get("to")
        if isinstance(to, str):
            if to not in STEPS:
                raise InvalidInput(f"a cut steps to one of {', '.join(STEPS)}")
            await self._edit({"op": "move_cut", "index": index, "to": to})
            return
        if not isinstance(to, int | float) or not 0 <= to <= self.duration:
            raise InvalidInput("a cut moves to a time within the song")
        snap = content.get("snap", "beat")
        if snap not in SNAPS:
            raise InvalidInput(f"snap to one of {', '.join(SNAPS)}")
        grid = {"beat": self.beats, "downbeat": self.downbeats}.get(snap) or []
        await self._edit({"op": "move_cut", "index": index, "to": _nearest(grid, float(to))})

    async def _act_reorder(self, content: dict[str, Any]) -> None:
        index = content.get("index")
        if not isinstance(index, int) or not 0 <= index < len(self.clips):
            raise InvalidInput("a clip moves to a place on the timeline")
        clip = self.clips[self._index(content.get("clip"))]["id"]
        await self._edit({"op": "reorder", "clip_id": clip, "index": index})

    async def _act_slip(self, content: dict[str, Any]) -> None:
        """Slide the clip's picture under its cuts by ``beats`` beats (its in-point moves)."""
        i = self._index(content.get("clip"))
        beats = content.get("beats")
        if not isinstance(beats, int) or beats == 0 or abs(beats) > 64:
            raise InvalidInput("slip by a whole number of beats, up to 64")
        beat = 60.0 / self.tempo
        clip = self.clips[i]
        in_point = max(0.0, clip["in_point"] + beats * beat)
        await self._edit({"op": "trim", "clip_id": clip["id"], "in_point": in_point})

    async def _act_transition(self, content: dict[str, Any]) -> None:
        clip = self.clips[self._index(content.get("clip"))]["id"]
        kind = content.get("kind")
        if kind not in self.transitions:
            raise InvalidInput(f"a transition is one of {', '.join(self.transitions)}")
        length = 0.0 if kind == "cut" else content.get("duration", 0.5)
        if not isinstance(length, int | float) or not 0 <= length <= 4:
            raise InvalidInput("a transition lasts 0 to 4 s")
        await self._edit(
            {
                "op": "set_transition",
                "clip_id": clip,
                "transition": {"kind": kind, "duration": float(length), "beat_synced": True},
            }
        )

    async def _act_split(self, content: dict[str, Any]) -> None:
        """Split the clip under ``at`` seconds, at the beat nearest to it."""
        at = content.get("at")
        if not isinstance(at, int | float) or not 0 < at < self.duration:
            raise InvalidInput("split at a time within the song")
        snapped = _nearest(self.beats, float(at))
        clip = next((c for c in self.clips if c["start"] < snapped < c["end"]), None)
        if clip is None:
            raise InvalidInput("there is no clip to split there (the beat falls on a cut)")
        await self._edit({"op": "split", "clip_id": clip["id"], "at": snapped})

    async def _act_undo(self, _content: dict[str, Any]) -> None:
        await self._swap(self._undo, self._redo, "undo")

    async def _act_redo(self, _content: dict[str, Any]) -> None:
        await self._swap(self._redo, self._undo, "redo")

    async def _swap(self, source: list[TimelineDoc], other: list[TimelineDoc], what: str) -> None:
        if not source:
            raise InvalidInput(f"nothing to {what}")
        current = self._shown()
        wanted = source.pop()
        restored = await self.client.put_timeline(
            self.project_id,
            wanted.model_dump(mode="json", include={"duration", "clips", "subtitles"}),
            expected_revision=current.revision,
        )
        other.append(current)
        self._show(restored)


def _nearest(grid: list[float], t: float) -> float:
    """The time on ``grid`` nearest to ``t`` (``t`` itself on an empty grid)."""
    if not grid:
        return t
    i = bisect.bisect_left(grid, t)
    near = [grid[j] for j in (i - 1, i) if 0 <= j < len(grid)]
    return min(near, key=lambda g: abs(g - t))


def _pictures(scenes: list[dict[str, Any]]) -> dict[str, str]:
    """Take id -> the sha256 of the picture that stands for it: an image take's own, a clip
    take's scene's chosen (or newest) image."""
    found: dict[str, str] = {}
    for scene in scenes:
        images = [t for t in scene["takes"] if t["kind"] == "image" and t["asset_sha256"]]
        chosen = next((t for t in images if t["id"] == scene["image_take_id"]), None)
        still = chosen or (images[-1] if images else None)
        for take in scene["takes"]:
            if take["kind"] == "image" and take["asset_sha256"]:
                found[take["id"]] = take["asset_sha256"]
            elif still is not None:
                found[take["id"]] = still["asset_sha256"]
        if still is not None:
            found.setdefault(f"scene:{scene['id']}", still["asset_sha256"])
    return found


def _clip(i: int, clip: Any, pictures: dict[str, str]) -> dict[str, Any]:
    thumb = pictures.get(clip.take_id or "") or pictures.get(f"scene:{clip.scene_id}", "")
    return {
        "id": clip.id,
        "number": i + 1,
        "scene_id": clip.scene_id,
        "take_id": clip.take_id,
        "start": clip.start,
        "end": clip.end,
        "in_point": clip.in_point,
        "thumb": thumb,
        "transition": {
            "kind": clip.transition_in.kind.value,
            "duration": clip.transition_in.duration,
        },
    }
