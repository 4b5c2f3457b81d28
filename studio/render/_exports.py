"""The edit handed to other tools: an OpenTimelineIO file and a CMX3600 EDL for an editor
(DaVinci Resolve, Premiere, Avid) to conform, and a printable contact sheet for people.

Both edit lists use the renderer's frame grid: a clip covers frames ``round(start * fps)`` up to
the next clip's first frame, and a transition of ``round(duration * fps)`` frames (at least one)
starts half of itself before the cut when beat-synced, on the cut otherwise. The files say what
the studio's own render shows.
"""

from __future__ import annotations

import base64
import html
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from studio.model import Timeline, TimelineClip, TransitionKind
from studio.render._plan import frame_grid

__all__ = ["SheetEntry", "contact_sheet_html", "to_edl", "to_otio"]


@dataclass(frozen=True)
class _Shot:
    """A clip on the frame grid, with the transition into it in frames."""

    clip: TimelineClip
    first: int
    last: int
    source_in: int
    blend: int
    """Frames the transition into this clip lasts (0 for a cut)."""
    lead: int
    """Frames of it before the cut."""


def _shots(timeline: Timeline, fps: int) -> list[_Shot]:
    return [
        _Shot(clip, at.first, at.last, round(clip.in_point * fps), at.blend, at.lead)
        for clip, at in zip(timeline.clips, frame_grid(timeline, fps), strict=True)
    ]


# --- OpenTimelineIO --------------------------------------------------------------------------


def to_otio(
    timeline: Timeline,
    *,
    fps: int,
    media: Mapping[str, tuple[str, str]],
    song: str,
    name: str,
) -> str:
    """The timeline as an ``.otio`` file: a video track of clips and transitions over an audio
    track holding the song. ``media`` maps a clip id to its name and its media's URL; a clip
    without one gets a missing reference, which editors show offline rather than refuse."""
    shots = _shots(timeline, fps)
    total = shots[-1].last if shots else round(timeline.duration * fps)
    video: list[dict[str, Any]] = []
    for i, shot in enumerate(shots):
        if shot.blend:
            video.append(_otio_transition(shots[i - 1], shot, fps))
        clip = shot.clip
        clip_name, url = media.get(clip.id, (clip.id, ""))
        studio = {
            "clip_id": clip.id,
            "scene_id": clip.scene_id,
            "take_id": clip.take_id,
            "effects": [e.model_dump(mode="json") for e in clip.effects],
            "focus": list(clip.focus),
        }
        reference = (
            {**_otio_object("ExternalReference.1", clip_name), "target_url": url}
            if url
            else _otio_object("MissingReference.1", clip_name)
        )
        reference |= {"available_range": None, "available_image_bounds": None}
        duration = shot.last - shot.first
        video.append(
            _otio_clip(clip_name, reference, shot.source_in, duration, fps=fps, studio=studio)
        )
    song_name = song.rstrip("/").rsplit("/", 1)[-1] or "song"
    song_reference = {
        **_otio_object("ExternalReference.1", song_name),
        "available_range": None,
        "available_image_bounds": None,
        "target_url": song,
    }
    audio = [_otio_clip(song_name, song_reference, 0, total, fps=fps, studio={"song": True})]
    document = {
        **_otio_object("Timeline.1", name),
        "metadata": {
            "studio": {
                "timeline_id": timeline.id,
                "project_id": timeline.project_id,
                "revision": timeline.revision,
                "fps": fps,
            }
        },
        "global_start_time": None,
        "tracks": {
            **_otio_item("Stack.1", "tracks"),
            "children": [
                {**_otio_item("Track.1", "Video 1"), "children": video, "kind": "Video"},
                {**_otio_item("Track.1", "Audio 1"), "children": audio, "kind": "Audio"},
            ],
        },
    }
    return json.dumps(document, indent=4)


def _otio_object(schema: str, name: str) -> dict[str, Any]:
    return {"OTIO_SCHEMA": schema, "metadata": {}, "name": name}


def _otio_item(schema: str, name: str) -> dict[str, Any]:
    return {
        **_otio_object(schema, name),
        "source_range": None,
        "effects": [],
        "markers": [],
        "enabled": True,
    }


def _rational(frames: int, fps: int) -> dict[str, Any]:
    # floats, as opentimelineio itself writes them
    return {"OTIO_SCHEMA": "RationalTime.1", "rate": float(fps), "value": float(frames)}


def _range(start: int, duration: int, fps: int) -> dict[str, Any]:
    return {
        "OTIO_SCHEMA": "TimeRange.1",
        "duration": _rational(duration, fps),
        "start_time": _rational(start, fps),
    }


def _otio_clip(
    name: str,
    reference: dict[str, Any],
    start: int,
    duration: int,
    *,
    fps: int,
    studio: dict[str, Any],
) -> dict[str, Any]:
    return {
        **_otio_item("Clip.2", name),
        "metadata": {"studio": studio},
        "source_range": _range(start, duration, fps),
        "media_references": {"DEFAULT_MEDIA": reference},
        "active_media_reference_key": "DEFAULT_MEDIA",
    }


def _otio_transition(before: _Shot, shot: _Shot, fps: int) -> dict[str, Any]:
    kind = shot.clip.transition_in.kind
    dissolve = kind is TransitionKind.CROSSFADE
    return {
        **_otio_object("Transition.1", kind.value),
        "metadata": {
            "studio": {
                "kind": kind.value,
                "beat_synced": shot.clip.transition_in.beat_synced,
                "from_clip_id": before.clip.id,
                "to_clip_id": shot.clip.id,
            }
        },
        "in_offset": _rational(shot.lead, fps),
        "out_offset": _rational(shot.blend - shot.lead, fps),
        "transition_type": "SMPTE_Dissolve" if dissolve else "Custom_Transition",
    }


# --- CMX3600 EDL -----------------------------------------------------------------------------


def to_edl(timeline: Timeline, *, fps: int, title: str, reels: Mapping[str, str]) -> str:
    """The timeline as a CMX3600 edit list, non-drop-frame at ``fps``, record time from zero.

    ``reels`` maps a clip id to its media's name: the reel column takes up to eight letters,
    digits or underscores of it, the ``FROM CLIP NAME`` comment all of it (editors conform by
    either). CMX3600 knows only cuts, dissolves and wipes, so every transition is written as a
    dissolve with a comment naming the studio's kind.
    """
    shots = _shots(timeline, fps)
    lines = [f"TITLE: {_one_line(title)[:70]}", "FCM: NON-DROP FRAME", ""]
    held = 0  # where the last video event ended in its source

    for number, shot in enumerate(shots, start=1):
        clip_id = shot.clip.id
        reel = reels.get(clip_id, "")
        # a clip's event runs from where the change into it starts to where the next one starts
        after = shots[number] if number < len(shots) else None
        rec_in = shot.first - shot.lead
        rec_out = after.first - after.lead if after is not None else shot.last
        # a clip without frames before its in point starts the change on its first frame
        src_in = max(0, shot.source_in - shot.lead)
        if shot.blend:
            # the CMX way: the outgoing clip for no time where the change starts, then under the
            # same number the incoming clip as a dissolve lasting `blend` frames
            before = shots[number - 2].clip.id
            lines.append(_event(number, reels.get(before, ""), held, rec_in, 0, fps=fps))
            lines.append(
                _event(number, reel, src_in, rec_in, rec_out - rec_in, fps=fps, blend=shot.blend)
            )
            lines.append(f"* FROM CLIP NAME: {_one_line(reels.get(before) or before)}")
            lines.append(f"* TO CLIP NAME: {_one_line(reels.get(clip_id) or clip_id)}")
            lines.append(f"* TRANSITION: {shot.clip.transition_in.kind.value}")
        else:
            lines.append(_event(number, reel, src_in, rec_in, rec_out - rec_in, fps=fps))
            lines.append(f"* FROM CLIP NAME: {_one_line(reels.get(clip_id) or clip_id)}")
        lines.append("")
        held = src_in + rec_out - rec_in
    total = shots[-1].last if shots else round(timeline.duration * fps)
    lines.append(_event(len(shots) + 1, "AX", 0, 0, total, fps=fps, track="AA"))
    lines += ["* FROM CLIP NAME: song", ""]
    return "\n".join(lines)


def _event(
    number: int,
    reel: str,
    src: int,
    rec: int,
    frames: int,
    *,
    fps: int,
    track: str = "V",
    blend: int | None = None,
) -> str:
    """An event line: a cut, or with ``blend`` a dissolve of that many frames."""
    kind, length = ("C", "") if blend is None else ("D", f"{blend:03d}")
    return (
        f"{number:03d}  {_reel(reel):<8} {track:<5} {kind:<4} {length:>3} "
        f"{_timecode(src, fps)} {_timecode(src + frames, fps)} "
        f"{_timecode(rec, fps)} {_timecode(rec + frames, fps)}"
    )


def _timecode(frame: int, fps: int) -> str:
    seconds, frames = divmod(frame, fps)
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}:{frames:02d}"


def _reel(name: str) -> str:
    return re.sub(r"[^A-Z0-9_]", "_", name.upper())[:8] or "AX"


def _one_line(text: str) -> str:
    return " ".join(text.split())


# --- contact sheet ---------------------------------------------------------------------------


@dataclass(frozen=True)
class SheetEntry:
    """One scene on the contact sheet."""

    index: int
    start: float
    end: float
    section: str | None
    lyric: str
    prompt: str
    state: str
    thumbnail_jpeg: bytes | None


_SHEET_CSS = """
* { box-sizing: border-box; }
body { font: 13px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 24px;
       color: #1d1d1f; background: #f4f4f6; }
h1 { font-size: 20px; margin: 0 0 16px; }
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(240px, 1fr)); gap: 14px; }
.card { background: #fff; border: 1px solid #ddd; border-radius: 8px; overflow: hidden;
        break-inside: avoid; page-break-inside: avoid; }
.thumb { display: block; width: 100%; aspect-ratio: 16 / 9; object-fit: cover; background: #222; }
.body { padding: 8px 10px 10px; }
.head { display: flex; justify-content: space-between; align-items: baseline; gap: 6px; }
.num { font-weight: 700; font-size: 15px; }
.time { font-variant-numeric: tabular-nums; color: #555; }
.section { color: #555; text-transform: uppercase; font-size: 11px; letter-spacing: .04em; }
.lyric { font-style: italic; margin: 6px 0 4px; }
.prompt { color: #333; margin: 4px 0; }
.state { display: inline-block; font-size: 11px; padding: 1px 6px; border-radius: 9px;
         background: #e8e8ee; color: #333; }
@media print {
  @page { margin: 12mm; }
  body { margin: 0; background: #fff; }
  .grid { grid-template-columns: repeat(3, 1fr); gap: 8px; }
  .card { border-color: #bbb; }
  * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
}
"""


def contact_sheet_html(entries: Sequence[SheetEntry], *, title: str) -> str:
    """One HTML file with everything inside it (styles, thumbnails as data URIs), so it can be
    mailed or opened anywhere; printing it ("Save as PDF") gives a clean sheet of cards."""
    cards = "\n".join(_card(e) for e in entries)
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)}</title>
<style>{_SHEET_CSS}</style>
</head>
<body>
<h1>{html.escape(title)}</h1>
<main class="grid">
{cards}
</main>
</body>
</html>
"""


def _card(entry: SheetEntry) -> str:
    e = html.escape
    if entry.thumbnail_jpeg:
        data = base64.b64encode(entry.thumbnail_jpeg).decode("ascii")
        thumb = f'<img class="thumb" alt="scene {entry.index}" src="data:image/jpeg;base64,{data}">'
    else:
        thumb = '<div class="thumb"></div>'
    section = f'<div class="section">{e(entry.section)}</div>' if entry.section else ""
    lyric = f'<p class="lyric">{e(entry.lyric)}</p>' if entry.lyric else ""
    return f"""<article class="card">
{thumb}
<div class="body">
<div class="head"><span class="num">{entry.index}</span>\
<span class="time">{_clock(entry.start)}&ndash;{_clock(entry.end)}</span></div>
{section}{lyric}<p class="prompt">{e(entry.prompt)}</p>
<span class="state">{e(entry.state)}</span>
</div>
</article>"""


def _clock(seconds: float) -> str:
    """m:ss.cc"""
    cs = round(seconds * 100)
    minutes, rest = divmod(cs, 6000)
    return f"{minutes}:{rest // 100:02d}.{rest % 100:02d}"
