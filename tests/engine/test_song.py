"""The song through the engine: upload, analysis job, the store as a cache, refusals that
leave nothing behind, and corrections kept beside the detected map."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from studio.audio import DEFAULT_STRUCTURE, SongTruth, demo_lyrics_lrc, synthesize_song
from studio.engine import Client, EngineServer, Home
from studio.errors import InvalidInput, JobFailed, NotFound, PayloadTooLarge, Unauthorized
from studio.model import AnalysisCorrections, Project, SectionEdit
from tests.audio.test_ingest import _bad_files
from tests.engine.test_api import call
from tests.providers.test_gemini_transcriber import FakeGemini, Reply, answer


@pytest.fixture(scope="module")
def song(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, SongTruth]:
    audio, truth = synthesize_song(tempo=124, seed=5)
    path = tmp_path_factory.mktemp("song") / "neon night.wav"
    sf.write(path, audio, truth.sample_rate, subtype="PCM_16")
    return path, truth


async def project_with_song(c: Client, name: str, song: Path) -> Project:
    """A new project whose song has been uploaded and analysed."""
    project = await c.create_project(name)
    await c.wait_job((await c.upload_song(song, project_id=project.id)).id, timeout=120)
    return project


@pytest.fixture
def gemini() -> Iterator[FakeGemini]:
    with FakeGemini.running() as fake:
        yield fake


def test_a_song_becomes_the_projects_song_with_its_map(
    home: Home, engine: EngineServer, song: tuple[Path, SongTruth]
) -> None:
    path, truth = song

    async def go(c: Client) -> None:
        project = await c.create_project("Neon")
        job = await c.upload_song(path, project_id=project.id)
        assert job.kind == "audio.analyze"
        done = await c.wait_job(job.id, timeout=120)
        assert done.result is not None and done.result["cached"] is False
        assert set(done.result["stages"]) >= {"decode", "rhythm", "structure", "loudness"}
        project = await c.get_project(project.id)
        assert project.audio is not None
        sha = hashlib.sha256(path.read_bytes()).hexdigest()
        assert project.audio.asset_sha256 == sha
        assert project.audio.filename == "neon night.wav"
        assert project.audio.duration == pytest.approx(truth.duration, abs=0.01)
        # The master is kept byte for byte.
        copy = path.parent / "copy.wav"
        await c.download(sha, copy)
        assert copy.read_bytes() == path.read_bytes()
        mapped = await c.song_map(project.id)
        assert mapped.tempo == pytest.approx(124, rel=0.01)
        assert [s.label for s in mapped.sections] == [name for name, _ in DEFAULT_STRUCTURE]
        assert (await c.analysis(sha)).beats == mapped.beats

        # The same file again (for another project): served from the store, not analysed.
        other = await c.create_project("Neon, again")
        again = await c.wait_job((await c.upload_song(path, project_id=other.id)).id, timeout=60)
        assert again.result is not None and again.result["cached"] is True
        assert again.result["stages"] == {}
        assert (await c.song_map(other.id)).model_dump(exclude={"created_at"}) == (
            mapped.model_dump(exclude={"created_at"})
        )

    call(home, go)
    assert not list((home.work / "uploads").iterdir())


def test_corrections_are_kept_beside_the_detected_map(
    home: Home, engine: EngineServer, song: tuple[Path, SongTruth]
) -> None:
    path, _ = song

    async def go(c: Client) -> None:
        project = await project_with_song(c, "Corrected", path)
        detected = await c.song_map(project.id, detected=True)
        events: list[str] = []

        async def listen() -> None:
            async for event in c.events(project_id=project.id):
                events.append(event["type"])
                if event["type"] == "analysis.corrected":
                    return

        listener = asyncio.create_task(listen())
        await asyncio.sleep(0.2)
        chorus = next(s for s in detected.sections if s.label == "chorus")
        corrected = await c.correct_song_map(
            project.id,
            tempo=120.0,
            sections=[SectionEdit(at=chorus.start, label="hook")],
        )
        await asyncio.wait_for(listener, 10)
        assert corrected.tempo == 120.0
        assert np.allclose(np.diff(corrected.beats), 0.5, atol=1e-3)
        assert "hook" in [s.label for s in corrected.sections]
        # Every later reader gets the corrected map; the detected one is still there.
        assert (await c.song_map(project.id)).beats == corrected.beats
        assert (await c.song_map(project.id, detected=True)).beats == detected.beats
        saved = (await c.get_project(project.id)).audio
        assert saved is not None and saved.corrections.tempo == 120.0
        assert saved.corrections.updated_at is not None

        # A correction that cannot apply changes nothing.
        with pytest.raises(InvalidInput, match="no section starts at"):
            await c.correct_song_map(project.id, sections=[SectionEdit(at=1.234, label="x")])
        with pytest.raises(InvalidInput, match="too few"):
            await c.correct_song_map(project.id, taps=[1.0, 1.5])
        assert (await c.song_map(project.id)).beats == corrected.beats

        # Tapping four bars along sets the tempo and the phase.
        taps = [0.25 + i * 60 / 126 for i in range(16)]
        tapped = await c.correct_song_map(project.id, AnalysisCorrections(taps=taps))
        assert tapped.tempo == pytest.approx(126, abs=0.01)
        assert min(abs(b - 0.25) for b in tapped.beats) < 1e-3

    call(home, go)


def test_a_project_without_a_song_says_so(home: Home, engine: EngineServer) -> None:
    async def go(c: Client) -> None:
        project = await c.create_project("Silent film")
        with pytest.raises(NotFound, match="has no song yet"):
            await c.song_map(project.id)
        with pytest.raises(InvalidInput, match="there is no file"):
            await c.upload_song(Path("/nowhere/song.wav"), project_id=project.id)

    call(home, go)


@pytest.mark.slow
def test_bad_files_are_refused_and_leave_nothing_behind(
    home: Home, engine: EngineServer, song: tuple[Path, SongTruth], tmp_path: Path
) -> None:
    cases = {k: v for k, v in _bad_files(tmp_path, song[0]).items() if k != "missing"}

    async def go(c: Client) -> None:
        project = await c.create_project("Refusals")
        assets_before = sum(1 for p in (home.root / "assets").rglob("*") if p.is_file())
        for case, (path, message) in cases.items():
            job = await c.upload_song(path, project_id=project.id)
            with pytest.raises(JobFailed) as err:
                await c.wait_job(job.id, timeout=120)
            assert message in str(err.value), case
            failed = await c.job(job.id)
            assert failed.error is not None and failed.error["type"] == "InvalidInput", case
            assert failed.error["hint"], case
            sha = hashlib.sha256(path.read_bytes()).hexdigest()
            with pytest.raises(NotFound):
                await c.analysis(sha)
        assert (await c.get_project(project.id)).audio is None
        assets_after = sum(1 for p in (home.root / "assets").rglob("*") if p.is_file())
        assert assets_after == assets_before

    call(home, go)
    assert not list((home.work / "uploads").iterdir())


def test_lyrics_are_imported_spread_and_exported(
    home: Home, engine: EngineServer, song: tuple[Path, SongTruth]
) -> None:
    path, truth = song

    async def go(c: Client) -> None:
        project = await project_with_song(c, "Sung", path)
        with pytest.raises(NotFound, match="no lyrics yet"):
            await c.lyrics(project.id)
        lrc = demo_lyrics_lrc(truth)
        imported = await c.import_lyrics(project.id, lrc, "neon.lrc")
        assert imported.source == "lrc" and not imported.estimated
        assert imported.lines[0].start == pytest.approx(truth.sections[1][0], abs=0.01)
        exported = await c.export_lyrics(project.id, "srt")
        assert "-->" in exported and imported.lines[0].text in exported
        # A broken file changes nothing.
        with pytest.raises(InvalidInput, match="line 2"):
            await c.import_lyrics(project.id, "[00:01.00]one\n[00:99.00]two\n", "bad.lrc")
        assert (await c.lyrics(project.id)) == imported
        # Plain words are spread over the sung sections, on bar lines, and say so.
        plain = "first line\nsecond line\n\nthird line\nfourth line\n"
        spread = await c.import_lyrics(project.id, plain)
        assert spread.estimated and [line.text for line in spread.lines][:2] == [
            "first line",
            "second line",
        ]
        sung = [
            (s.start, s.end)
            for s in (await c.song_map(project.id)).sections
            if s.label in {"verse", "chorus", "bridge"}
        ]
        downbeats = (await c.song_map(project.id)).downbeats
        for line in spread.lines:
            assert any(a <= line.start < b for a, b in sung)
            assert min(abs(d - line.start) for d in downbeats) < 0.01

    call(home, go)


def test_the_song_is_transcribed_into_timed_lines(
    home: Home,
    engine: EngineServer,
    song: tuple[Path, SongTruth],
    gemini: FakeGemini,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    path, truth = song
    verse = truth.sections[1][0]
    words = [
        {"text": w, "start": verse + 0.5 * i, "end": verse + 0.5 * i + 0.4}
        for i, w in enumerate(["streetlights", "count", "the", "minutes", "down"])
    ] + [{"text": "rain", "start": verse + 6.0, "end": verse + 6.5}]
    gemini.reply = Reply(body=answer(words))

    async def go(c: Client) -> None:
        project = await c.create_project("Heard")
        # Without a key the job is refused when it is asked for, with what to do.
        monkeypatch.delenv("GEMINI_API_KEY", raising=False)
        monkeypatch.delenv("GOOGLE_API_KEY", raising=False)
        with pytest.raises(Unauthorized) as err:
            await c.submit_job("audio.transcribe", {"project_id": project.id})
        assert "LRC" in (err.value.hint or "")
        monkeypatch.setenv("GEMINI_API_KEY", "test-key-never-shown-123")
        monkeypatch.setenv("STUDIO_GEMINI_BASE_URL", gemini.base_url)
        await c.wait_job((await c.upload_song(path, project_id=project.id)).id, timeout=120)
        job = await c.submit_job("audio.transcribe", {"project_id": project.id})
        done = await c.wait_job(job.id, timeout=60)
        assert done.result is not None and done.result["words"] == 6
        sent = gemini.requests[-1]
        inline = next(p for p in sent.parts if "inlineData" in p)["inlineData"]
        assert inline.get("mimeType", inline.get("mime_type")) == "audio/ogg"
        assert base64.urlsafe_b64decode(inline["data"])[:4] == b"OggS"  # a compact copy
        lyrics = await c.lyrics(project.id)
        assert lyrics.source == "transcribed"
        # A pause of over a second starts a new line.
        assert [line.text for line in lyrics.lines] == [
            "streetlights count the minutes down",
            "rain",
        ]
        assert lyrics.lines[0].words[0].start == pytest.approx(verse, abs=0.001)
        assert "test-key-never-shown-123" not in str(done.model_dump())

    call(home, go)


def test_a_song_over_the_upload_limit_is_refused_and_not_kept(
    home: Home, song: tuple[Path, SongTruth], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STUDIO_MAX_UPLOAD", str(song[0].stat().st_size // 2))
    with EngineServer(home):

        async def work(c: Client) -> None:
            project = await c.create_project("Too big")
            with pytest.raises(PayloadTooLarge):
                await c.upload_song(song[0], project_id=project.id)
            assert (await c.get_project(project.id)).audio is None
            assert await c.jobs() == []

        call(home, work)
    uploads = home.work / "uploads"
    assert not uploads.exists() or not list(uploads.iterdir())
    assert not [p for p in home.assets.rglob("*") if p.is_file()]


def test_an_engine_start_sweeps_uploads_no_job_took(home: Home) -> None:
    uploads = home.work / "uploads"
    uploads.mkdir(parents=True)
    stale, fresh = uploads / "upload-stale12345.bin", uploads / "upload-fresh12345.bin"
    stale.write_bytes(b"left behind")
    fresh.write_bytes(b"its job is queued")
    day_ago = time.time() - 2 * 86400
    os.utime(stale, (day_ago, day_ago))
    with EngineServer(home):
        pass
    assert not stale.exists() and fresh.exists()
