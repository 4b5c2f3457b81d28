"""The render job through the engine: the demo song's approved storyboard to a checked MP4 whose
cuts sit on the song's beats; segments cached so a second render and a render after a small edit
re-encode only what changed; a teaser on downbeats; cancel and bad input leave nothing behind."""

from __future__ import annotations

import asyncio
import json
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from studio.engine import Client, EngineServer, Home
from studio.errors import InvalidInput, JobCancelled, JobFailed
from studio.model import JobStatus, RenderStatus
from studio.render import probe
from tests.conftest import EngineProcess
from tests.engine.test_api import call
from tests.engine.test_storyboard import _planned, demo_song
from tests.engine.test_takes import _images_approved
from tests.render.helpers import cut_frames, decoded_frames

__all__ = ["demo_song"]

PREVIEW = {"preset": "preview", "resolution": 240, "fps": 24}


async def _ready(c: Client, song: Path, lrc: str) -> str:
    pid = await _planned(c, song, lrc)
    await _images_approved(c, pid)
    return pid


@pytest.mark.slow
def test_the_demo_storyboard_renders_in_sync_and_resumes_from_its_segments(
    home: Home, engine: EngineServer, demo_song: tuple[Path, str], tmp_path: Path
) -> None:
    song, lrc = demo_song

    async def go(c: Client) -> None:
        pid = await _ready(c, song, lrc)
        job = await c.submit_job("render.video", {"project_id": pid, **PREVIEW})
        done = await c.wait_job(job.id, timeout=600)
        assert done.result is not None
        result: dict[str, Any] = done.result
        mapped = await c.song_map(pid)
        fps = 24
        assert result["frames"] == round(mapped.duration * fps)
        assert result["verification"]["offset"] == 0.0
        assert result["segments_reused"] == 0 and not result["audio_reused"]
        out = await c.download(result["sha256"], tmp_path / "render.mp4")
        info = probe(out, count_frames=True)
        assert (info.width, info.height, info.audio) == (426, 240, "aac")
        assert info.frames == result["frames"]
        # every cut read back from the pictures sits within half a frame of a beat
        scenes = await c.scenes(pid)
        cuts = cut_frames(decoded_frames(out, 426, 240))
        assert len(cuts) == len(scenes) - 1
        beats = np.asarray(mapped.beats)
        for frame in cuts:
            assert np.min(np.abs(beats - frame / fps)) <= 0.5 / fps + 1e-9
        renders = await c.renders(pid)
        assert renders[0]["status"] == RenderStatus.SUCCEEDED.value
        assert renders[0]["asset_sha256"] == result["sha256"]

        again = await c.wait_job(
            (await c.submit_job("render.video", {"project_id": pid, **PREVIEW})).id
        )
        assert again.result is not None
        assert again.result["segments_reused"] == again.result["segments"]
        assert again.result["audio_reused"]
        assert again.result["sha256"] == result["sha256"]

        # the same timeline for an edit suite, and the storyboard as a contact sheet
        otio = json.loads(await c.export_timeline(pid, "otio", fps=24))
        video = otio["tracks"]["children"][0]["children"]
        assert len([i for i in video if i["OTIO_SCHEMA"].startswith("Clip")]) == len(scenes)
        edl = await c.export_timeline(pid, "edl", fps=24)
        assert edl.count(" V     C ") == len(scenes) and "FCM: NON-DROP FRAME" in edl
        sheet = await c.export_timeline(pid, "html")
        assert sheet.count("data:image/jpeg;base64,") == len(scenes)
        assert "[Events]" in await c.export_timeline(pid, "ass")
        assert "-->" in await c.export_timeline(pid, "srt")
        with pytest.raises(InvalidInput, match="not 'mov'"):
            await c.export_timeline(pid, "mov")

        # a crossfade into the last clip touches only the last segment or two
        timeline = await c.build_timeline(pid)
        last = timeline.clips[-1]
        edit = {"op": "set_transition", "clip_id": last.id,
                "transition": {"kind": "crossfade", "duration": 0.5}}  # fmt: skip
        await c.edit_timeline(pid, [edit], revision=timeline.revision)
        third = await c.wait_job(
            (await c.submit_job("render.video", {"project_id": pid, **PREVIEW})).id
        )
        assert third.result is not None
        redone = third.result["segments"] - third.result["segments_reused"]
        assert 1 <= redone <= 2
        assert third.result["audio_reused"]  # the song is the same: its track is kept

    call(home, go)


@pytest.mark.slow
def test_a_teaser_is_cut_on_downbeats_around_the_peak_and_made_into_a_gif(
    home: Home, engine: EngineServer, demo_song: tuple[Path, str], tmp_path: Path
) -> None:
    song, lrc = demo_song

    async def go(c: Client) -> None:
        pid = await _ready(c, song, lrc)
        timeline = await c.build_timeline(pid)
        sidecar = {"op": "set_subtitles", "subtitles": {"mode": "sidecar"}}
        await c.edit_timeline(pid, [sidecar], revision=timeline.revision)
        params = {"project_id": pid, **PREVIEW, "teaser": 15, "animation": "gif"}
        done = await c.wait_job((await c.submit_job("render.video", params)).id, timeout=600)
        assert done.result is not None
        mapped = await c.song_map(pid)
        start, length = done.result["start"], done.result["duration"]
        downbeats = np.asarray(mapped.downbeats)
        assert np.min(np.abs(downbeats - start)) <= 0.5 / 24
        assert np.min(np.abs(downbeats - (start + length))) <= 0.5 / 24
        assert 12 <= length <= 18
        peak = max(mapped.sections, key=lambda s: s.label == "chorus")
        assert start < peak.end and start + length > peak.start
        gif = await c.download(done.result["animation"]["sha256"], tmp_path / "teaser.gif")
        assert gif.read_bytes()[:6] in (b"GIF89a", b"GIF87a")
        # the lyrics beside it, on the teaser's own clock
        srt = (await c.download(done.result["subtitles"]["srt"], tmp_path / "t.srt")).read_text()
        sung = [
            line  # every line sung during the teaser, one that started before it too
            for line in (await c.lyrics(pid)).lines
            if line.end > start and line.start < start + length
        ]
        assert srt.count(" --> ") == len(sung) > 0
        first = srt.split(" --> ")[0].splitlines()[-1]
        h, m, sec = first.replace(",", ".").split(":")
        assert abs(int(h) * 3600 + int(m) * 60 + float(sec) - max(0, sung[0].start - start)) < 0.002
        ass = (await c.download(done.result["subtitles"]["ass"], tmp_path / "t.ass")).read_text()
        assert ass.count("Dialogue:") == len(sung)

    call(home, go)


@pytest.mark.slow
def test_cancel_kills_the_encoder_and_keeps_no_render(
    home: Home, engine: EngineServer, demo_song: tuple[Path, str]
) -> None:
    song, lrc = demo_song

    async def go(c: Client) -> None:
        pid = await _ready(c, song, lrc)
        params = {"project_id": pid, "preset": "hd", "fps": 30, "segment_seconds": 60}
        job = await c.submit_job("render.video", params)
        for _ in range(600):
            seen = await c.job(job.id)
            if seen.stage == "encode" and seen.progress > 0.02:
                break
            await asyncio.sleep(0.05)
        else:
            pytest.fail("the render never started encoding")
        await c.cancel_job(job.id)
        with pytest.raises(JobCancelled):
            await c.wait_job(job.id, timeout=30)
        assert (await c.job(job.id)).status is JobStatus.CANCELLED
        assert _encoders(home) == []
        renders = await c.renders(pid)
        assert [r["status"] for r in renders] == [RenderStatus.CANCELLED.value]
        assert renders[0]["asset_sha256"] is None

    call(home, go)


def _encoders(home: Home) -> list[str]:
    """ffmpeg processes still writing under this studio home."""
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if cmdline and b"ffmpeg" in cmdline[0] and str(home.root).encode() in b" ".join(cmdline):
            found.append(pid)
    return found


@pytest.mark.slow
def test_a_bad_render_is_refused_before_encoding(
    home: Home, engine: EngineServer, demo_song: tuple[Path, str]
) -> None:
    song, lrc = demo_song

    async def go(c: Client) -> None:
        pid = await _planned(c, song, lrc)
        with pytest.raises(InvalidInput, match="no render preset 'cinema'"):
            await c.submit_job("render.video", {"project_id": pid, "preset": "cinema"})
        # no takes yet: the first clip has nothing to show
        job = await c.submit_job("render.video", {"project_id": pid, **PREVIEW})
        with pytest.raises(JobFailed, match="clip 1 has no picture or video"):
            await c.wait_job(job.id, timeout=120)
        assert await c.renders(pid) == []

    call(home, go)


@pytest.mark.slow
def test_a_render_killed_with_its_engine_resumes_from_its_finished_segments(
    home: Home, engine_process: EngineProcess, demo_song: tuple[Path, str]
) -> None:
    song, lrc = demo_song
    engine_process.start()
    params = {**PREVIEW, "preset": "hd", "segment_seconds": 4}

    async def started(c: Client) -> tuple[str, str]:
        pid = await _ready(c, song, lrc)
        job = await c.submit_job("render.video", {"project_id": pid, **params})
        while (await c.job(job.id)).progress < 0.3:
            await asyncio.sleep(0.05)
        return pid, job.id

    pid, job_id = call(home, started)
    engine_process.kill()  # SIGKILL mid-render
    time.sleep(0.5)
    engine_process.start()

    async def finished(c: Client) -> tuple[Any, list[dict[str, Any]]]:
        return await c.wait_job(job_id, timeout=600), await c.renders(pid)

    job, renders = call(home, finished)
    assert job.status is JobStatus.SUCCEEDED and job.attempts == 2
    assert job.result is not None and job.result["segments_reused"] >= 3
    assert job.result["verification"]["frames"] == job.result["frames"]
    # one render, carried on by the second attempt, not a stale "running" row beside it
    assert [(r["job_id"], r["status"]) for r in renders] == [(job_id, "succeeded")]


@pytest.mark.slow
def test_offline_clips_are_redrawn_at_full_size_from_their_pictures(
    home: Home, engine: EngineServer, demo_song: tuple[Path, str]
) -> None:
    song, lrc = demo_song

    async def go(c: Client) -> None:
        pid = await _ready(c, song, lrc)
        made = await c.submit_job("takes.clips", {"project_id": pid, "fps": 12})
        await c.wait_job(made.id, timeout=600)
        scenes = await c.scenes(pid)
        for s in scenes:
            clip = [t for t in await c.takes(s.id) if t["kind"] == "clip"][-1]
            await c.scene_action(s.id, "approve_clip", take_id=clip["id"])
        timeline = await c.build_timeline(pid)
        assert all(clip.take_id for clip in timeline.clips)
        done = await c.wait_job(
            (await c.submit_job("render.video", {"project_id": pid, **PREVIEW})).id
        )
        assert done.result is not None
        # every clip take is the offline maker's preview: the render drew each move itself,
        # at its own 24 fps from the 12 fps clips' pictures, and the cuts still sit on beats
        assert done.result["redrawn"] == len(scenes)
        assert done.result["frames"] == round((await c.song_map(pid)).duration * 24)

    call(home, go)
