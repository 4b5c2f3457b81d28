"""The job kinds the engine room ships: a resumable, segmented test-card render (the smallest
real render: ffmpeg encodes, progress, cancel, resume, verify) and project export."""

from __future__ import annotations

import asyncio
import math
import os
from importlib.metadata import entry_points
from typing import Any

from pydantic import Field

from studio.errors import RenderError
from studio.jobs._audio import AnalyzeHandler, PreviewHandler, TranscribeHandler
from studio.jobs._context import JobContext
from studio.jobs._handler import JobHandler, validated
from studio.jobs._render import RenderHandler
from studio.jobs._session import SessionToolHandler, SessionTurnHandler
from studio.jobs._storyboard import PlanHandler
from studio.jobs._takes import ClipsHandler, ImagesHandler
from studio.model import StudioModel
from studio.render import ProgressParser, concat_command, probe, testcard_command
from studio.store import snapshot, write_archive

__all__ = ["ExportHandler", "TestcardHandler", "builtin_handlers", "load_handlers"]


class TestcardParams(StudioModel):
    duration: float = Field(default=4.0, gt=0, le=600)
    fps: int = Field(default=25, ge=1, le=60)
    width: int = Field(default=320, ge=16, le=1920, multiple_of=2)
    height: int = Field(default=180, ge=16, le=1080, multiple_of=2)
    segment: float = Field(default=2.0, gt=0, le=60)


class TestcardHandler(JobHandler):
    """Renders a test card in segments, each cached by its inputs, then joins and verifies."""

    kind = "render.testcard"
    concurrency = 1
    max_attempts = 2

    def check(self, params: dict[str, Any]) -> dict[str, Any]:
        return validated(TestcardParams, params, self.kind)

    async def run(self, ctx: JobContext) -> dict[str, Any]:
        p = TestcardParams.model_validate(ctx.params)
        frames_total = round(p.duration * p.fps)
        per_segment = max(1, round(p.segment * p.fps))
        count = math.ceil(frames_total / per_segment)
        shas: list[str] = []
        done_frames = 0
        for index in range(count):
            frames = min(per_segment, frames_total - index * per_segment)
            inputs = {"index": index, "frames": frames, "fps": p.fps, "w": p.width, "h": p.height}
            ctx.stage("segments", f"segment {index + 1} of {count}")
            base = done_frames

            async def encode(
                frames: int = frames, base: int = base, index: int = index
            ) -> dict[str, Any]:
                out = ctx.workdir / f"segment-{index:05d}.mp4.part"
                cmd = testcard_command(
                    out, duration=frames / p.fps, width=p.width, height=p.height, fps=p.fps
                )
                parser = ProgressParser()

                def on_line(line: str) -> None:
                    block = parser.feed(line)
                    if block and "frame" in block:
                        ctx.progress(0.95 * (base + float(block["frame"])) / frames_total)

                try:
                    code, err = await ctx.run_process(cmd, on_line=on_line)
                    if code != 0:
                        raise RenderError(
                            f"ffmpeg failed on segment {index + 1}", hint=err.strip()[-300:]
                        )
                    sha, size = await asyncio.to_thread(ctx.assets.put_file, out)
                finally:
                    out.unlink(missing_ok=True)
                await ctx.store.write(lambda tx: tx.assets.add(sha, size, "video/mp4"))
                return {"sha256": sha}

            result = await ctx.once("segment", inputs, encode)
            shas.append(result["sha256"])
            done_frames += frames
            ctx.progress(0.95 * done_frames / frames_total)
        ctx.stage("join", "joining segments")
        return await self._join(ctx, shas, p, frames_total, count)

    async def _join(
        self, ctx: JobContext, shas: list[str], p: TestcardParams, frames_total: int, count: int
    ) -> dict[str, Any]:
        listing = ctx.workdir / "segments.ffconcat"
        listing.write_text(
            "ffconcat version 1.0\n" + "".join(f"file '{ctx.assets.path(s)}'\n" for s in shas)
        )
        out = ctx.workdir / "testcard.mp4.part"
        code, err = await ctx.run_process(concat_command(listing, out))
        if code != 0:
            raise RenderError("ffmpeg could not join the segments", hint=err.strip()[-300:])
        info = await asyncio.to_thread(probe, out, count_frames=True)
        tolerance = 1.0 / p.fps
        if (
            info.frames != frames_total
            or abs(info.duration - frames_total / p.fps) > tolerance + 0.05
        ):
            raise RenderError(
                f"the test card has {info.frames} frames and lasts {info.duration:.3f} s; "
                f"expected {frames_total} frames, {frames_total / p.fps:.3f} s"
            )
        sha, size = await asyncio.to_thread(ctx.assets.put_file, out)
        out.unlink(missing_ok=True)
        await ctx.store.write(lambda tx: tx.assets.add(sha, size, "video/mp4"))
        ctx.progress(1.0, "done")
        return {
            "sha256": sha,
            "size": size,
            "frames": info.frames,
            "duration": info.duration,
            "segments": count,
            "segments_reused": ctx.reused,
        }


class ExportParams(StudioModel):
    project_id: str


class ExportHandler(JobHandler):
    """Writes a project archive into the asset store, ready to download."""

    kind = "project.export"
    concurrency = 2

    def check(self, params: dict[str, Any]) -> dict[str, Any]:
        return validated(ExportParams, params, self.kind)

    async def run(self, ctx: JobContext) -> dict[str, Any]:
        pid = ctx.params["project_id"]
        ctx.stage("snapshot", "reading the project")
        snap = await ctx.store.read(lambda tx: snapshot(tx, pid))
        ctx.stage("archive", f"writing {len(snap.assets)} assets")
        ctx.progress(0.2)
        dest = ctx.workdir / f"{pid}.studio.zip"
        await asyncio.to_thread(write_archive, snap, ctx.assets, dest)
        sha, size = await asyncio.to_thread(ctx.assets.put_file, dest)
        os.unlink(dest)
        await ctx.store.write(lambda tx: tx.assets.add(sha, size, "application/zip"))
        ctx.progress(1.0, "archive ready")
        return {"sha256": sha, "size": size, "filename": _archive_name(snap.project.name)}


def _archive_name(name: str) -> str:
    safe = "".join(c if c.isalnum() or c in "-_" else "-" for c in name).strip("-") or "project"
    return f"{safe[:60]}.studio.zip"


def builtin_handlers() -> dict[str, JobHandler]:
    return {
        h.kind: h
        for h in (
            TestcardHandler(),
            ExportHandler(),
            AnalyzeHandler(),
            TranscribeHandler(),
            PreviewHandler(),
            PlanHandler(),
            ImagesHandler(),
            ClipsHandler(),
            SessionTurnHandler(),
            SessionToolHandler(),
            RenderHandler(),
        )
    }


def load_handlers() -> dict[str, JobHandler]:
    """Built-in handlers plus those third parties register under the ``studio.jobs`` entry point."""
    handlers = builtin_handlers()
    for ep in entry_points(group="studio.jobs"):
        handler = ep.load()()
        if not isinstance(handler, JobHandler):
            raise TypeError(f"entry point {ep.name} gives {handler!r}, not a JobHandler")
        handlers[handler.kind] = handler
    return handlers
