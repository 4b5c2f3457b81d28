"""The offline storyboard through the engine: from the demo song and a one-line brief to a
concept, four moods, scenes on the beat grid, and an image take for every scene; regenerating
one scene touches only that scene; a killed run picks up where it stopped."""

from __future__ import annotations

import asyncio
import io
import itertools
from pathlib import Path

import pytest
import soundfile as sf
from PIL import Image

from studio.audio import DEFAULT_STRUCTURE, demo_lyrics_lrc, synthesize_song
from studio.engine import Client, EngineServer, Home
from studio.errors import InvalidInput, JobFailed
from studio.model import SceneState
from tests.engine.test_api import call
from tests.engine.test_song import project_with_song


@pytest.fixture(scope="module")
def demo_song(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    audio, truth = synthesize_song()
    path = tmp_path_factory.mktemp("demo") / "neon-night.flac"
    sf.write(path, audio, truth.sample_rate)
    return path, demo_lyrics_lrc(truth)


async def _planned(c: Client, song: Path, lrc: str) -> str:
    project = await project_with_song(c, "Night Drive", song)
    await c.update_project(project.id, brief={"text": "a night drive through the neon city"})
    await c.import_lyrics(project.id, lrc, "neon-night.lrc")
    job = await c.submit_job("storyboard.plan", {"project_id": project.id, "seed": 2})
    done = await c.wait_job(job.id, timeout=120)
    assert done.result is not None and done.result["moods"] == 4
    return project.id


def test_from_a_brief_to_image_takes_for_every_scene(
    home: Home, engine: EngineServer, demo_song: tuple[Path, str], tmp_path: Path
) -> None:
    song, lrc = demo_song

    async def go(c: Client) -> None:
        pid = await _planned(c, song, lrc)
        project = await c.get_project(pid)
        assert project.concept_id and project.mood_id
        snap = await c.snapshot(pid)
        assert len(snap.concepts) == 3 and len(snap.moods) == 4
        scenes = await c.scenes(pid)
        mapped = await c.song_map(pid)
        assert scenes[0].start == 0.0 and scenes[-1].end == mapped.duration
        for a, b in itertools.pairwise(scenes):
            assert a.end == b.start
            assert min(abs(b.start - beat) for beat in mapped.beats) < 1e-3
        assert {s.section for s in scenes} == {name for name, _ in DEFAULT_STRUCTURE}
        assert all(s.prompt and s.mood_id == project.mood_id for s in scenes)
        assert any("neon" in s.lyric.lower() for s in scenes)
        # Planning twice is refused: the storyboard is there.
        again = await c.submit_job("storyboard.plan", {"project_id": pid})
        with pytest.raises(JobFailed, match="has a storyboard already"):
            await c.wait_job(again.id, timeout=60)

        # Only scenes whose text is approved are painted.
        for s in scenes[:-1]:
            await c.scene_action(s.id, "approve_text")
        job = await c.submit_job("takes.images", {"project_id": pid, "width": 320, "height": 180})
        done = await c.wait_job(job.id, timeout=300)
        assert done.result is not None and done.result["made"] == len(scenes) - 1
        scenes = await c.scenes(pid)
        assert [s.state for s in scenes[:-1]] == [SceneState.IMAGE_READY] * (len(scenes) - 1)
        assert scenes[-1].state is SceneState.DRAFT
        takes = await c.takes(scenes[0].id)
        assert [(t["version"], t["stale"]) for t in takes] == [(1, False)]
        picture = tmp_path / "scene1.png"
        await c.download(takes[0]["asset_sha256"], picture)
        assert Image.open(io.BytesIO(picture.read_bytes())).size == (320, 180)

        # Nothing changed: nothing is painted again.
        job = await c.submit_job("takes.images", {"project_id": pid, "width": 320, "height": 180})
        assert (await c.wait_job(job.id, timeout=60)).result["made"] == 0  # type: ignore[index]

        # A new prompt for scene 4: only scene 4 gets a new take, and keeps the old one.
        k = scenes[3]
        edited = await c.scene_action(k.id, "edit", prompt="close shot, a singer by the sea")
        await c.scene_action(edited.id, "approve_text")
        job = await c.submit_job("takes.images", {"project_id": pid, "width": 320, "height": 180})
        redo = await c.wait_job(job.id, timeout=60)
        assert redo.result is not None and redo.result["made"] == 1
        versions = [(t["version"], t["stale"]) for t in await c.takes(k.id)]
        assert versions == [(1, True), (2, False)]
        for other in scenes[:3] + scenes[4:-1]:
            assert len(await c.takes(other.id)) == 1

        with pytest.raises(InvalidInput, match="no image provider called"):
            await c.submit_job("takes.images", {"project_id": pid, "provider": "dalle-9"})

    call(home, go)


def test_planning_needs_a_song(home: Home, engine: EngineServer) -> None:
    async def go(c: Client) -> None:
        project = await c.create_project("No song")
        job = await c.submit_job("storyboard.plan", {"project_id": project.id})
        with pytest.raises(JobFailed, match="has no song yet"):
            await c.wait_job(job.id, timeout=60)
        with pytest.raises(InvalidInput, match="not a range"):
            await c.submit_job(
                "storyboard.plan", {"project_id": project.id, "shortest": 9, "longest": 4}
            )

    call(home, go)


@pytest.mark.slow
def test_a_killed_engine_paints_only_what_is_missing(
    home: Home, demo_song: tuple[Path, str]
) -> None:
    song, lrc = demo_song
    with EngineServer(home, flush_interval=0.05, backoff_base=0.01):

        async def start(c: Client) -> tuple[str, str, int]:
            pid = await _planned(c, song, lrc)
            scenes = await c.scenes(pid)
            for s in scenes:
                await c.scene_action(s.id, "approve_text")
            params = {"project_id": pid, "width": 640, "height": 360}
            job = await c.submit_job("takes.images", params)
            while True:  # wait until a few pictures are in, then pull the plug
                painted = 0
                for s in scenes:
                    painted += len(await c.takes(s.id))
                if painted >= 3:
                    return pid, job.id, len(scenes)
                await asyncio.sleep(0.05)

        pid, job_id, count = call(home, start)
    # The engine stopped mid-run (its job was left running). A new engine resumes it.
    with EngineServer(home, flush_interval=0.05, backoff_base=0.01):

        async def finish(c: Client) -> None:
            done = await c.wait_job(job_id, timeout=300)
            assert done.result is not None
            scenes = await c.scenes(pid)
            per_scene = [len(await c.takes(s.id)) for s in scenes]
            assert per_scene == [1] * count  # every scene painted exactly once

        call(home, finish)
