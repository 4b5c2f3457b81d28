"""The song's job: check an uploaded audio file, analyse it (or find the analysis in the
store), and make it the project's song.

Uploads wait in ``<work>/uploads`` until the job has looked at them: a file that cannot be a
song is refused with the reason and leaves nothing behind, neither an asset nor a row.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import Field

from studio.audio import ANALYZER, lyrics_from_words
from studio.errors import Conflict, RenderError, StudioError, error_from_payload
from studio.jobs._context import JobContext
from studio.jobs._handler import JobHandler, validated
from studio.model import Analysis, AudioTrack, StudioModel
from studio.providers import resolve_transcriber
from studio.render import compact_audio_command
from studio.store import Tx

__all__ = [
    "UPLOADS",
    "AnalyzeHandler",
    "AnalyzeParams",
    "PreviewHandler",
    "TranscribeHandler",
    "TranscribeParams",
    "sweep_uploads",
    "upload_path",
]

UPLOADS = "uploads"
"""The folder under the engine's work folder where uploads wait for their job."""
_UPLOAD_NAME = r"^upload-[A-Za-z0-9_-]{8,64}\.bin$"


def upload_path(work: Path, name: str) -> Path:
    return work / UPLOADS / name


def sweep_uploads(work: Path, max_age: float = 86400.0) -> int:
    """Remove staged uploads older than ``max_age`` seconds (left by an engine that stopped
    between an upload and its job); returns how many went."""
    folder = work / UPLOADS
    if not folder.is_dir():
        return 0
    cutoff = time.time() - max_age
    old = [p for p in folder.iterdir() if p.is_file() and p.stat().st_mtime < cutoff]
    for p in old:
        p.unlink(missing_ok=True)
    return len(old)


class AnalyzeParams(StudioModel):
    upload: str = Field(pattern=_UPLOAD_NAME)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    filename: str = Field(min_length=1, max_length=255)
    size: int = Field(ge=0)
    media_type: str = Field(default="application/octet-stream", max_length=127)
    project_id: str | None = None


class AnalyzeHandler(JobHandler):
    """``audio.analyze``: the analysis runs in its own process (``python -m studio.audio``)."""

    kind = "audio.analyze"
    concurrency = 1
    max_attempts = 1

    def check(self, params: dict[str, Any]) -> dict[str, Any]:
        return validated(AnalyzeParams, params, self.kind)

    async def run(self, ctx: JobContext) -> dict[str, Any]:
        p = AnalyzeParams.model_validate(ctx.params)
        staged = upload_path(ctx.workdir.parent, p.upload)
        try:
            return await self._run(ctx, p, staged)
        finally:
            staged.unlink(missing_ok=True)

    async def _run(self, ctx: JobContext, p: AnalyzeParams, staged: Path) -> dict[str, Any]:
        ctx.stage("lookup", "looking for an earlier analysis of this file")
        analysis = await ctx.store.read(lambda tx: tx.analyses.find(p.sha256))
        cached = analysis is not None and analysis.analyzer == ANALYZER
        stages: dict[str, float] = {}
        max_rss_mb = 0.0
        if not cached:
            if not staged.is_file():
                raise StudioError(
                    f"the upload of {p.filename} is gone", hint="upload the song again"
                )
            ctx.stage("analysis", f"analysing {p.filename}")
            ctx.progress(0.1)
            analysis, stages, max_rss_mb = await self._analyse(ctx, staged, p.sha256)
        assert analysis is not None
        ctx.stage("store", "storing the song and its map")
        # The master is kept exactly as uploaded: it is the audio the render muxes.
        if p.project_id is not None and not ctx.assets.exists(p.sha256):
            sha, _ = await asyncio.to_thread(ctx.assets.put_file, staged)
            if sha != p.sha256:
                raise StudioError("the upload changed while it was analysed")
        found = analysis
        await ctx.store.write(lambda tx: self._save(tx, p, found, fresh=not cached))
        ctx.progress(1.0, "done")
        return {
            "sha256": p.sha256,
            "cached": cached,
            "summary": analysis.summary(),
            "tempo": analysis.tempo,
            "duration": analysis.duration,
            "stages": stages,
            "max_rss_mb": round(max_rss_mb, 1),
        }

    async def _analyse(
        self, ctx: JobContext, staged: Path, sha: str
    ) -> tuple[Analysis, dict[str, float], float]:
        out = ctx.workdir / "analysis.json"
        cmd = [sys.executable, "-m", "studio.audio", "analyze", str(staged), "--sha", sha]
        code, err = await ctx.run_process([*cmd, "--out", str(out)])
        if not out.is_file():
            raise StudioError(
                f"the analysis stopped without an answer (exit code {code})",
                hint=err.strip()[-300:] or "see engine.log",
            )
        result = json.loads(out.read_text())
        if "error" in result:
            raise error_from_payload(result["error"])
        analysis = Analysis.model_validate(result["analysis"])
        return analysis, result["stages"], float(result.get("max_rss_mb", 0.0))

    @staticmethod
    def _save(tx: Tx, p: AnalyzeParams, analysis: Analysis, *, fresh: bool) -> None:
        if fresh:
            tx.analyses.put(analysis)
        if p.project_id is None:
            return
        tx.assets.add(p.sha256, p.size, p.media_type)
        project = tx.projects.get(p.project_id)
        same_song = project.audio is not None and project.audio.asset_sha256 == p.sha256
        kept = project.audio.corrections if same_song and project.audio else None
        audio = AudioTrack(
            asset_sha256=p.sha256,
            filename=p.filename,
            duration=analysis.duration,
            sample_rate=analysis.sample_rate,
            channels=analysis.channels,
            **({"corrections": kept} if kept is not None else {}),
        )
        tx.projects.set_audio(project, audio)


class TranscribeParams(StudioModel):
    project_id: str
    provider: str | None = Field(default=None, max_length=120)
    """A transcriber by name (``"gemini"``, ``"gemini:<model>"``); default: the configured one."""
    language: str | None = Field(default=None, max_length=20)
    align: bool = True
    """Give the transcriber the project's current lyrics text, so it only has to place it."""


class TranscribeHandler(JobHandler):
    """``audio.transcribe``: the song's words with their times, from a transcription provider.

    The provider is resolved when the job is submitted, so a missing key is refused at once
    (with what to set, or to import a lyrics file instead), not after a wait in the queue.
    """

    kind = "audio.transcribe"
    concurrency = 2
    max_attempts = 3

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        self._environ = environ

    def check(self, params: dict[str, Any]) -> dict[str, Any]:
        checked = validated(TranscribeParams, params, self.kind)
        resolve_transcriber(checked["provider"], environ=self._environ)
        return checked

    async def run(self, ctx: JobContext) -> dict[str, Any]:
        p = TranscribeParams.model_validate(ctx.params)
        transcriber = resolve_transcriber(p.provider, environ=self._environ)

        project, found = await ctx.store.read(lambda tx: tx.song(p.project_id))
        assert project.audio is not None
        song_sha = project.audio.asset_sha256
        ctx.stage("compact", "making a small copy of the song to send")
        compact = ctx.workdir / "song.ogg"
        master = ctx.assets.path(song_sha)
        code, err = await ctx.run_process(compact_audio_command(master, compact))
        if code != 0:
            raise RenderError("ffmpeg could not make a copy of the song", hint=err.strip()[-300:])
        hint = project.audio.lyrics.text if p.align and project.audio.lyrics else None
        ctx.stage("transcribe", f"asking {transcriber.name} for the words")
        ctx.progress(0.2)
        heard = await transcriber.transcribe(
            compact.read_bytes(), "audio/ogg", language=p.language, hint=hint
        )
        mapped = found.corrected(project.audio.corrections)
        breaks = [s.start for s in mapped.sections[1:]]
        lyrics = lyrics_from_words(
            [(w.text, w.start, w.end) for w in heard.words],
            breaks=breaks,
            language=heard.language,
        )

        def save(tx: Tx) -> None:
            current = tx.projects.get(p.project_id)
            if current.audio is None or current.audio.asset_sha256 != song_sha:
                raise Conflict("the project's song changed while it was transcribed")
            tx.projects.set_audio(current, current.audio.model_copy(update={"lyrics": lyrics}))

        ctx.stage("store", "keeping the words")
        await ctx.store.write(save)
        ctx.progress(1.0, "done")
        return {
            "lines": len(lyrics.lines),
            "words": len(heard.words),
            "provider": heard.provider,
            "model": heard.model,
            "language": heard.language,
        }


class PreviewParams(StudioModel):
    project_id: str


PREVIEW_BITRATE = "64k"


class PreviewHandler(JobHandler):
    """``audio.preview``: a small copy of the project's song for playing in a browser (Opus,
    mono, 64 kbps: under 2 MB for four minutes), made once per song and kept as an asset."""

    kind = "audio.preview"
    concurrency = 2
    max_attempts = 2

    def check(self, params: dict[str, Any]) -> dict[str, Any]:
        return validated(PreviewParams, params, self.kind)

    async def run(self, ctx: JobContext) -> dict[str, Any]:
        p = PreviewParams.model_validate(ctx.params)
        project, _ = await ctx.store.read(lambda tx: tx.song(p.project_id))
        assert project.audio is not None
        song_sha = project.audio.asset_sha256

        async def make() -> dict[str, Any]:
            small = ctx.workdir / "preview.ogg"
            small.parent.mkdir(parents=True, exist_ok=True)
            command = compact_audio_command(
                ctx.assets.path(song_sha), small, bitrate=PREVIEW_BITRATE
            )
            code, err = await ctx.run_process(command)
            if code != 0:
                raise RenderError(
                    "ffmpeg could not make a preview of the song", hint=err.strip()[-300:]
                )
            sha, size = await asyncio.to_thread(ctx.assets.put_file, small)
            small.unlink(missing_ok=True)
            await ctx.store.write(lambda tx: tx.assets.add(sha, size, "audio/ogg"))
            return {"sha256": sha, "size": size, "media_type": "audio/ogg"}

        made: dict[str, Any] = await ctx.once(
            "preview", {"song": song_sha, "bitrate": PREVIEW_BITRATE}, make
        )
        ctx.progress(1.0, "done")
        return made
