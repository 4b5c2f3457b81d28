"""``render.video``: the project's timeline to a finished, checked video in the asset store.

The timeline (built from the approved storyboard if the project has none yet) is compiled and
every file it needs is read before encoding starts. Segments are encoded one after another and
each is cached by exactly what it shows, so a render that was stopped resumes where it was, and
a render after an edit re-encodes only the segments the edit touched. The song is muxed in
once at the end and the result read back (frames, duration, audio against video) before it
counts.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import threading
import time
from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from studio.audio import to_srt
from studio.errors import InvalidInput, JobCancelled, NotFound
from studio.jobs._context import JobContext
from studio.jobs._handler import JobHandler, validated
from studio.jobs._storyboard import song_of
from studio.model import (
    FRAME_RATES,
    Analysis,
    Aspect,
    CameraMove,
    Container,
    Lyrics,
    OwnerKind,
    Project,
    Quality,
    Render,
    RenderSettings,
    RenderStatus,
    StudioModel,
    SubtitleMode,
    SubtitleStyle,
    Take,
    TakeKind,
    Timeline,
    fingerprint,
    utcnow,
)
from studio.render import (
    MOTION_MODEL,
    PRESETS,
    ClipMedia,
    Renderer,
    RenderPlan,
    Segment,
    animation_command,
    ass_document,
    build_timeline,
    compile_plan,
    probe,
    teaser_window,
    windowed_lines,
)
from studio.store import Tx

__all__ = ["RenderHandler", "RenderParams", "rebuild_timeline", "timeline_takes"]


class RenderParams(StudioModel):
    project_id: str
    preset: str = "final"
    """A named set of settings (``studio.render.PRESETS``); the fields below override it."""
    aspect: Aspect | None = None
    resolution: int | None = None
    fps: int | None = None
    """Frames per second; by default the clip takes' own rate when they share one (motion is
    never resampled when it need not be), else the preset's."""
    quality: Quality | None = None
    container: Container | None = None
    normalize_loudness: bool | None = None
    teaser: Literal[15, 30, 60] | None = None
    """Render only this many seconds around the song's peak section, cut on downbeats."""
    animation: Literal["gif", "webp"] | None = None
    """Also make a silent looping animation of the render (for a teaser)."""
    segment_seconds: float = Field(default=10.0, ge=1, le=120)

    def settings(self) -> RenderSettings:
        if self.preset not in PRESETS:
            raise InvalidInput(
                f"there is no render preset {self.preset!r}",
                hint=f"use one of {', '.join(PRESETS)}",
            )
        chosen = {
            k: v
            for k, v in self.model_dump(
                include={
                    "aspect",
                    "resolution",
                    "fps",
                    "quality",
                    "container",
                    "normalize_loudness",
                }
            ).items()
            if v is not None
        }
        try:
            return RenderSettings.model_validate(PRESETS[self.preset].model_dump() | chosen)
        except ValueError as exc:
            raise InvalidInput(f"these render settings do not go together: {exc}") from exc


class _Media(StudioModel):
    sha256: str
    kind: str
    camera: CameraMove = CameraMove.STATIC
    label: str = ""
    span: float | None = None


class _Inputs(StudioModel):
    project: Project
    analysis: Analysis
    timeline: Timeline
    media: dict[str, _Media]
    """What each clip shows, by clip id."""


def timeline_takes(tx: Tx, project_id: str) -> dict[str, Take]:
    """The project's scene takes by id: what a timeline clip may show."""
    return {t.id: t for t in tx.takes.list(project_id) if t.owner_kind is OwnerKind.SCENE}


def rebuild_timeline(tx: Tx, project_id: str, *, keep_edits: bool = True) -> Timeline:
    """Lay the storyboard's approved takes on the timeline (one clip per scene, cut where each
    scene starts) and keep it; ``keep_edits`` keeps what a person set on the clips."""
    _, found = tx.song(project_id)
    scenes = tx.scenes.list(project_id)
    takes = timeline_takes(tx, project_id)
    previous = tx.timelines.of_project(project_id) if keep_edits else None
    built = build_timeline(project_id, scenes, takes, found.duration, previous=previous)
    return tx.timelines.put(built, expected_revision=None)


def _gather(tx: Tx, project_id: str) -> _Inputs:
    project, analysis = song_of(tx, project_id)
    assert project.audio is not None
    timeline = tx.timelines.of_project(project_id)
    if timeline is None:
        raise NotFound("the project has no timeline yet", hint="build it from the storyboard first")
    scenes = {s.id: s for s in tx.scenes.list(project_id)}
    takes = {t.id: t for t in tx.takes.list(project_id)}
    media: dict[str, _Media] = {}
    for clip in timeline.clips:
        take = takes.get(clip.take_id) if clip.take_id else None
        if take is None or take.asset_sha256 is None:
            continue
        scene = scenes.get(clip.scene_id) if clip.scene_id else None
        camera = scene.camera if scene is not None else CameraMove.STATIC
        label = f"{take.kind.value} take v{take.version}"
        if scene is not None:
            label = f"scene {scene.index + 1}'s {label}"
        if take.kind is not TakeKind.CLIP:
            media[clip.id] = _Media(
                sha256=take.asset_sha256, kind="still", camera=camera, label=label
            )
            continue
        media[clip.id] = _redrawn(take, takes, label) or _Media(
            sha256=take.asset_sha256, kind="video", label=label
        )
    return _Inputs(project=project, analysis=analysis, timeline=timeline, media=media)


def _redrawn(take: Take, takes: dict[str, Take], label: str) -> _Media | None:
    """An offline camera-move clip as the move itself on its picture: the render draws it at
    its own size and rate instead of scaling up the clip maker's preview."""
    if take.provider != "local" or take.model != MOTION_MODEL:
        return None
    picture = takes.get(str(take.inputs.get("image_take_id")))
    if picture is None or picture.asset_sha256 is None:
        return None
    return _Media(
        sha256=picture.asset_sha256, kind="still", label=f"{label} (its picture)",
        camera=CameraMove(take.inputs.get("camera", "static")),
        span=float(take.inputs.get("duration") or 0) or None,
    )  # fmt: skip


class RenderHandler(JobHandler):
    kind = "render.video"
    concurrency = 1
    max_attempts = 2

    def check(self, params: dict[str, Any]) -> dict[str, Any]:
        checked = validated(RenderParams, params, self.kind)
        RenderParams.model_validate(checked).settings()  # an unknown preset is refused at once
        return checked

    async def run(self, ctx: JobContext) -> dict[str, Any]:
        p = RenderParams.model_validate(ctx.params)
        settings = p.settings()
        ctx.stage("plan", "reading the timeline")

        def ensure(tx: Tx) -> Timeline | None:
            if tx.timelines.of_project(p.project_id) is not None:
                return None
            return rebuild_timeline(tx, p.project_id)

        made = await ctx.store.write(ensure)
        if made is not None:
            ctx.publish("timeline.updated", made.model_dump(mode="json"))
        found = await ctx.store.read(lambda tx: _gather(tx, p.project_id))
        if p.fps is None:
            settings = await asyncio.to_thread(_native_rate, settings, ctx, found)
        plan = self._plan(ctx, p, settings, found)
        renderer = Renderer(plan, ctx.workdir)
        ctx.stage("check", "reading every picture and clip")
        await asyncio.to_thread(renderer.prepare)
        record = Render(
            project_id=p.project_id, job_id=ctx.job.id, settings=settings,
            timeline_revision=found.timeline.revision, status=RenderStatus.RUNNING,
        )  # fmt: skip

        def begin(tx: Tx) -> Render:
            # a job resumed after a crash carries on with the render row it started
            for earlier in tx.renders.list(p.project_id):
                if earlier.job_id == ctx.job.id:
                    return tx.renders.replace(
                        record.model_copy(
                            update={"id": earlier.id, "created_at": earlier.created_at}
                        )
                    )
            return tx.renders.insert(record)

        record = await ctx.store.write(begin)
        try:
            result = await self._render(ctx, p, renderer, found)
        except BaseException as exc:
            status = (
                RenderStatus.CANCELLED
                if isinstance(exc, asyncio.CancelledError | JobCancelled)
                else RenderStatus.FAILED
            )
            failed = record.model_copy(update={"status": status, "finished_at": utcnow()})
            with contextlib.suppress(Exception):
                await asyncio.shield(ctx.store.write(lambda tx: tx.renders.replace(failed)))
            raise
        done = record.model_copy(
            update={
                "status": RenderStatus.SUCCEEDED, "asset_sha256": result["sha256"],
                "verification": result["verification"], "finished_at": utcnow(),
            }
        )  # fmt: skip
        await ctx.store.write(lambda tx: tx.renders.replace(done))
        ctx.publish("render.finished", {"render_id": record.id, "sha256": result["sha256"]})
        return {"render_id": record.id, **result}

    def _plan(
        self, ctx: JobContext, p: RenderParams, settings: RenderSettings, found: _Inputs
    ) -> RenderPlan:
        assert found.project.audio is not None
        audio = found.project.audio
        media = {
            clip_id: ClipMedia(ctx.assets.path(m.sha256), m.kind, m.camera, m.label, m.span)
            for clip_id, m in found.media.items()
        }
        width, height = settings.size
        subtitles = None
        track = found.timeline.subtitles
        if track.mode is SubtitleMode.BURN:
            if audio.lyrics is None:
                raise InvalidInput(
                    "the timeline burns in the lyrics, but the song has none",
                    hint="import the lyrics (studio lyrics PROJECT FILE) or turn subtitles off",
                )
            subtitles = ass_document(audio.lyrics, track.style, width=width, height=height)
        window = teaser_window(found.analysis, p.teaser) if p.teaser else None
        return compile_plan(
            found.timeline, media, settings, song=ctx.assets.path(audio.asset_sha256),
            analysis=found.analysis, window=window, subtitles=subtitles,
        )  # fmt: skip

    async def _render(
        self, ctx: JobContext, p: RenderParams, renderer: Renderer, found: _Inputs
    ) -> dict[str, Any]:
        plan = renderer.plan
        segments = renderer.segments(p.segment_seconds)
        keys = [_segment_key(plan, segment, found) for segment in segments]
        quiet = threading.Event()  # stops the audio when the video fails
        audio_encoded = False

        async def encode_audio() -> dict[str, Any]:
            nonlocal audio_encoded
            audio_encoded = True
            return await self._audio(ctx, renderer, quiet)

        # the audio track needs no frame: it is encoded beside the video, not after it
        sound = asyncio.ensure_future(ctx.once("audio", _audio_key(plan), encode_audio))
        try:
            shas: dict[int, str] = {}
            for segment, key in zip(segments, keys, strict=True):
                cached = await ctx.cached("segment", key)
                if cached is not None:
                    shas[segment.index] = cached["sha256"]
            reused = len(shas)
            for run in _runs([s for s in segments if s.index not in shas]):
                first, last = run[0].index + 1, run[-1].index + 1
                ctx.stage("encode", f"segments {first}-{last} of {len(segments)}")
                done = sum(s.frames for s in segments if s.index in shas)
                shas.update(await self._encode(ctx, renderer, run, keys, done))
        except BaseException:
            quiet.set()
            with contextlib.suppress(Exception):
                await sound
            raise
        ctx.stage("mux", "adding the song and checking the result")
        audio = (await sound)["sha256"]
        ext = plan.settings.container.value
        out = ctx.workdir / f"render.{ext}"
        report = await asyncio.to_thread(
            renderer.mux,
            [ctx.assets.path(shas[s.index]) for s in segments],
            ctx.assets.path(audio),
            out,
        )
        media_type = _MEDIA_TYPES[ext]
        sha, size = await _keep_file(ctx, out, media_type)
        made: dict[str, Any] = {
            "sha256": sha, "size": size, "media_type": media_type,
            "filename": _filename(found.project.name, plan, ext),
            "frames": plan.frames, "duration": plan.frames / plan.fps,
            "start": plan.start, "verification": report,
            "segments": len(segments), "segments_reused": reused,
            "audio_reused": not audio_encoded,
            "redrawn": sum(1 for m in found.media.values() if m.span),
        }  # fmt: skip
        if p.animation:
            made["animation"] = await self._animation(ctx, sha, p.animation, plan)
        track, lyrics = found.timeline.subtitles, found.project.audio
        if track.mode is SubtitleMode.SIDECAR and lyrics is not None and lyrics.lyrics:
            made["subtitles"] = await self._sidecars(ctx, plan, lyrics.lyrics, track.style)
        ctx.progress(1.0, "done")
        return made

    async def _encode(
        self,
        ctx: JobContext,
        renderer: Renderer,
        run: list[Segment],
        keys: list[dict[str, Any]],
        done: int,
    ) -> dict[int, str]:
        """Encode ``run`` (consecutive segments) with one encoder. Each segment is kept, as
        an asset and a finished stage, as soon as its file is complete, so a render stopped
        or killed resumes after it. ``done``: frames of the render already made."""
        plan = renderer.plan
        loop = asyncio.get_running_loop()
        stop = threading.Event()
        started = time.monotonic()
        made: dict[int, str] = {}

        async def keep(segment: Segment, part: Path) -> None:
            sha, _ = await _keep_file(ctx, part, _MEDIA_TYPES[plan.settings.container.value])
            await ctx.remember("segment", keys[segment.index], {"sha256": sha})
            made[segment.index] = sha

        def finished(segment: Segment, part: Path) -> None:  # on the encoder's thread
            asyncio.run_coroutine_threadsafe(keep(segment, part), loop).result()

        def report(block: dict[str, float | str]) -> None:
            if "frame" not in block:
                return
            now = float(block["frame"])
            elapsed = time.monotonic() - started
            eta = (plan.frames - done - now) * elapsed / now if now > 0 else float("nan")
            speed = block.get("speed")
            said = f", {speed:.2f}x" if isinstance(speed, float) else ""
            ctx.progress(
                0.95 * (done + now) / plan.frames,
                f"frame {int(done + now)} of {plan.frames}{said}, about {eta:.0f} s left",
            )

        work = asyncio.ensure_future(
            asyncio.to_thread(
                renderer.encode, run, stop=stop, on_progress=report, on_segment=finished
            )
        )
        try:
            await asyncio.shield(work)
        except asyncio.CancelledError:
            stop.set()  # the encoder dies within a frame; the job lets go only after that
            with contextlib.suppress(Exception):
                await work
            raise
        return made

    async def _audio(
        self, ctx: JobContext, renderer: Renderer, quiet: threading.Event
    ) -> dict[str, Any]:
        ext = renderer.plan.settings.container.value
        part = ctx.workdir / f"audio.{ext}"
        await asyncio.to_thread(renderer.audio, part, stop=quiet)
        sha, _ = await _keep_file(ctx, part, f"audio/{ext}")
        return {"sha256": sha}

    async def _sidecars(
        self, ctx: JobContext, plan: RenderPlan, lyrics: Lyrics, style: SubtitleStyle
    ) -> dict[str, str]:
        """The lyrics beside the video, on its clock (a teaser's start is its zero)."""
        window = (plan.start, plan.start + plan.frames / plan.fps)
        width, height = plan.size
        texts = {
            "ass": ass_document(lyrics, style, width=width, height=height, window=window),
            "srt": to_srt(
                lyrics.model_copy(update={"lines": windowed_lines(lyrics.lines, window)})
            ),
        }
        shas = {}
        for fmt, text in texts.items():
            data = text.encode("utf-8")
            sha, size = await asyncio.to_thread(ctx.assets.put_bytes, data)
            await ctx.store.write(functools.partial(_keep_asset, sha=sha, size=size))
            shas[fmt] = sha
        return shas

    async def _animation(
        self, ctx: JobContext, source: str, kind: str, plan: RenderPlan
    ) -> dict[str, Any]:
        ctx.stage("animation", f"making the {kind}")
        out = ctx.workdir / f"teaser.{kind}"
        width = min(480, plan.size[0])
        code, err = await ctx.run_process(
            animation_command(ctx.assets.path(source), out, kind=kind, width=width, fps=12)
        )
        if code != 0:
            out.unlink(missing_ok=True)
            raise InvalidInput(f"ffmpeg could not make the {kind}", hint=err.strip()[-300:])
        media_type = f"image/{kind}"
        sha, size = await _keep_file(ctx, out, media_type)
        return {"sha256": sha, "size": size, "media_type": media_type}


_MEDIA_TYPES = {"mp4": "video/mp4", "webm": "video/webm"}


async def _keep_file(ctx: JobContext, path: Path, media_type: str) -> tuple[str, int]:
    """Move a finished file into the asset store and record it; its sha256 and size."""
    sha, size = await asyncio.to_thread(ctx.assets.put_file, path)
    path.unlink(missing_ok=True)
    await ctx.store.write(lambda tx: tx.assets.add(sha, size, media_type))
    return sha, size


def _runs(segments: list[Segment]) -> list[list[Segment]]:
    """``segments`` in runs of consecutive ones, each made by one encoder."""
    runs: list[list[Segment]] = []
    for segment in segments:
        if runs and runs[-1][-1].index + 1 == segment.index:
            runs[-1].append(segment)
        else:
            runs.append([segment])
    return runs


def _keep_asset(tx: Tx, *, sha: str, size: int) -> None:
    tx.assets.add(sha, size, "text/plain; charset=utf-8")


def _native_rate(settings: RenderSettings, ctx: JobContext, found: _Inputs) -> RenderSettings:
    """The preset's settings at the clip takes' frame rate, when they all share one the
    render can make."""
    rates = set()
    for m in found.media.values():
        if m.kind == "video":
            path = ctx.assets.path(m.sha256)
            rates.add(probe(path).fps if path.is_file() else None)
    if len(rates) == 1:
        (rate,) = rates
        if rate is not None and float(rate).is_integer() and int(rate) in FRAME_RATES:
            return settings.model_copy(update={"fps": int(rate)})
    return settings


def _segment_key(plan: RenderPlan, segment: Segment, found: _Inputs) -> dict[str, Any]:
    """Everything the frames of ``segment`` depend on, and nothing else: an edit elsewhere in
    the timeline leaves this segment's cache good."""
    near = [c for c in plan.clips if c.seen_in(segment.first, segment.last)]
    clips = []
    for c in near:
        clips.append(
            {
                "media": c.media.path.name, "kind": c.media.kind, "span": c.media.span,
                "camera": c.media.camera.value, "first": c.first, "last": c.last,
                "in": c.in_point, "focus": list(c.focus), "transition": c.transition.value,
                "blend": c.blend, "lead": c.lead,
                "effects": [e.model_dump() for e in c.effects],
            }
        )  # fmt: skip
    uses_analysis = any(c["effects"] for c in clips)
    return {
        "first": segment.first, "last": segment.last,
        "settings": plan.settings.model_dump(mode="json"), "clips": clips,
        "subtitles": fingerprint(plan.subtitles) if plan.subtitles else None,
        "analysis": fingerprint(found.analysis.model_dump(mode="json")) if uses_analysis else None,
    }  # fmt: skip


def _audio_key(plan: RenderPlan) -> dict[str, Any]:
    """Everything the audio track depends on: the song's stretch and how it is encoded."""
    s = plan.settings
    return {
        "song": plan.song.name, "first": plan.first, "last": plan.last, "fps": plan.fps,
        "container": s.container.value,
        "loudness": s.target_lufs if s.normalize_loudness else None,
        "excerpt": plan.excerpt,
    }  # fmt: skip


def _filename(name: str, plan: RenderPlan, ext: str) -> str:
    safe = "".join(c if c.isalnum() or c in "-_" else "-" for c in name).strip("-") or "render"
    w, h = plan.size
    return f"{safe[:60]}-{w}x{h}.{ext}"
