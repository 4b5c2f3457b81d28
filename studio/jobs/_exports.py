"""The timeline for other tools: JSON, OpenTimelineIO, a CMX3600 EDL, the lyrics as SRT or
ASS, and the storyboard as an HTML contact sheet (print it to PDF from the browser)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from studio.audio import to_srt
from studio.errors import InvalidInput, NotFound
from studio.model import Project, Scene, Take, TakeKind, Timeline
from studio.render import (
    PRESETS,
    SheetEntry,
    ass_document,
    contact_sheet_html,
    thumbnail_jpeg,
    to_edl,
    to_otio,
)
from studio.store import AssetStore, Tx

__all__ = ["EXPORT_FORMATS", "TimelineExport", "export_timeline", "read_export"]

EXPORT_FORMATS = {
    "json": ("application/json", "timeline.json"),
    "otio": ("application/json", "timeline.otio"),
    "edl": ("text/plain; charset=utf-8", "timeline.edl"),
    "srt": ("text/plain; charset=utf-8", "lyrics.srt"),
    "ass": ("text/plain; charset=utf-8", "lyrics.ass"),
    "html": ("text/html; charset=utf-8", "storyboard.html"),
}


@dataclass(frozen=True)
class TimelineExport:
    project: Project
    timeline: Timeline
    scenes: dict[str, Scene]
    takes: dict[str, Take]


def read_export(tx: Tx, project_id: str) -> TimelineExport:
    project = tx.projects.get(project_id)
    timeline = tx.timelines.of_project(project_id)
    if timeline is None:
        raise NotFound("the project has no timeline yet", hint="build it from the storyboard")
    return TimelineExport(
        project=project,
        timeline=timeline,
        scenes={s.id: s for s in tx.scenes.list(project_id)},
        takes={t.id: t for t in tx.takes.list(project_id)},
    )


def export_timeline(
    data: TimelineExport, fmt: str, assets: AssetStore, *, fps: int = 30
) -> tuple[str, str, str]:
    """The export as (text, media type, file name)."""
    if fmt not in EXPORT_FORMATS:
        raise InvalidInput(f"the timeline exports as {', '.join(EXPORT_FORMATS)}, not {fmt[:20]!r}")
    media_type, filename = EXPORT_FORMATS[fmt]
    timeline, project = data.timeline, data.project
    if fmt == "json":
        return timeline.model_dump_json(indent=2), media_type, filename
    if fmt in ("otio", "edl"):
        names = {}
        for n, clip in enumerate(timeline.clips, start=1):
            scene = data.scenes.get(clip.scene_id) if clip.scene_id else None
            take = data.takes.get(clip.take_id) if clip.take_id else None
            label = f"scene {scene.index + 1}" if scene is not None else f"clip {n}"
            url = assets.path(take.asset_sha256).as_uri() if take and take.asset_sha256 else ""
            names[clip.id] = (label, url)
        if fmt == "otio":
            song = assets.path(project.audio.asset_sha256).as_uri() if project.audio else ""
            text = to_otio(timeline, fps=fps, media=names, song=song, name=project.name)
        else:
            reels = {cid: label.replace("scene ", "S") for cid, (label, _) in names.items()}
            text = to_edl(timeline, fps=fps, title=project.name, reels=reels)
        return text, media_type, filename
    if fmt in ("srt", "ass"):
        lyrics = project.audio.lyrics if project.audio else None
        if lyrics is None:
            raise NotFound("the song has no lyrics", hint="import them first (studio lyrics)")
        if fmt == "srt":
            return to_srt(lyrics), media_type, filename
        width, height = PRESETS["final"].size
        style = timeline.subtitles.style
        return ass_document(lyrics, style, width=width, height=height), media_type, filename
    return _contact_sheet(data, assets), media_type, filename


def _contact_sheet(data: TimelineExport, assets: AssetStore) -> str:
    entries = []
    for scene in sorted(data.scenes.values(), key=lambda s: s.index):
        take = data.takes.get(scene.image_take_id) if scene.image_take_id else None
        if take is None:
            images = [
                t for t in data.takes.values()
                if t.owner_id == scene.id and t.kind is TakeKind.IMAGE and t.asset_sha256
            ]  # fmt: skip
            take = max(images, key=lambda t: t.version) if images else None
        thumb = _thumbnail(assets.path(take.asset_sha256)) if take and take.asset_sha256 else None
        entries.append(
            SheetEntry(
                index=scene.index + 1, start=scene.start, end=scene.end, section=scene.section,
                lyric=scene.lyric, prompt=scene.prompt, state=scene.state.value,
                thumbnail_jpeg=thumb,
            )
        )  # fmt: skip
    return contact_sheet_html(entries, title=data.project.name)


def _thumbnail(path: Path) -> bytes | None:
    try:
        return thumbnail_jpeg(path, (384, 384))
    except InvalidInput:
        return None  # a missing or broken picture leaves its card without one
