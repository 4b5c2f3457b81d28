"""The `studio` command, run as a person runs it: a real process, output read back."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from studio.engine import Home, find_engine, stop_engine

pytestmark = pytest.mark.slow
FAKE_KEY = "sk-test-9f8e7d6c5b4a-never-print-me"


@pytest.fixture
def cli_home(home: Home) -> Iterator[Home]:
    yield home
    stop_engine(home)


def studio(
    home: Home, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    full_env = os.environ | {"STUDIO_HOME": str(home.root)} | (env or {})
    return subprocess.run(
        [sys.executable, "-m", "studio.cli", *args],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=120,
    )


def test_new_list_show(cli_home: Home) -> None:
    made = studio(cli_home, "new", "Night Drive", "--brief", "neon rain")
    assert made.returncode == 0, made.stderr
    assert made.stdout.startswith("created Night Drive (prj_")
    listed = studio(cli_home, "list", "--json")
    assert [p["name"] for p in json.loads(listed.stdout)] == ["Night Drive"]
    shown = json.loads(studio(cli_home, "show", "night drive", "--json").stdout)
    assert shown["project"]["brief"]["text"] == "neon rain" and shown["scenes"] == []


def test_bad_input_gets_a_message_not_a_traceback(cli_home: Home) -> None:
    for args, message in [
        (("new", "../../etc/passwd"), "looks like a path"),
        (("show", "no such project"), "no project is called"),
        (("import", "/nonexistent.zip"), "is not a file"),
    ]:
        done = studio(cli_home, *args)
        assert done.returncode == 1
        assert message in done.stderr and "Traceback" not in done.stderr
    assert "->" in studio(cli_home, "show", "nope").stderr  # the hint on its own line


def test_export_import_round_trip(cli_home: Home, tmp_path: Path) -> None:
    assert studio(cli_home, "new", "Café ☕").returncode == 0
    archive = tmp_path / "cafe.studio.zip"
    done = studio(cli_home, "export", "Café ☕", str(archive))
    assert done.returncode == 0, done.stderr
    assert archive.is_file()
    other = Home.resolve(tmp_path / "other")
    try:
        imported = studio(other, "import", str(archive))
        assert imported.returncode == 0, imported.stderr
        assert (
            json.loads(studio(other, "show", "café ☕", "--json").stdout)["project"]["name"]
            == "Café ☕"
        )
        corrupt = tmp_path / "corrupt.zip"
        corrupt.write_bytes(archive.read_bytes()[:100])
        refused = studio(other, "import", str(corrupt))
        assert refused.returncode == 1 and "not a usable studio archive" in refused.stderr
    finally:
        stop_engine(other)


def test_engine_commands(cli_home: Home) -> None:
    assert studio(cli_home, "engine", "status").returncode == 1
    started = studio(cli_home, "engine", "start")
    assert started.returncode == 0 and "engine running, pid" in started.stdout
    status = json.loads(studio(cli_home, "engine", "status", "--json").stdout)
    assert status["running"] and status["address"].endswith("engine.sock")
    jobs = studio(cli_home, "jobs")
    assert jobs.returncode == 0 and "no jobs" in jobs.stdout
    stopped = studio(cli_home, "engine", "stop")
    assert stopped.returncode == 0 and "stopped" in stopped.stdout
    assert "no engine was running" in studio(cli_home, "engine", "stop").stdout


def test_doctor_names_keys_but_never_prints_them(cli_home: Home) -> None:
    done = studio(
        cli_home, "doctor", env={"GEMINI_API_KEY": FAKE_KEY, "REPLICATE_API_TOKEN": FAKE_KEY}
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "ok   ffmpeg:" in done.stdout and "libx264" in done.stdout
    assert "provider gemini: key set (GEMINI_API_KEY)" in done.stdout
    assert "provider modal: no key" in done.stdout
    assert FAKE_KEY not in done.stdout + done.stderr
    assert FAKE_KEY not in "".join(
        p.read_text(errors="replace")
        for p in cli_home.root.glob("*")
        if p.is_file() and p.suffix != ".duckdb"
    )


def test_analyze_prints_the_map_keeps_it_and_draws_it(cli_home: Home, tmp_path: Path) -> None:
    import soundfile as sf

    from studio.audio import synthesize_song

    audio, truth = synthesize_song(tempo=132, seed=2)
    song = tmp_path / "song.flac"
    sf.write(song, audio, truth.sample_rate)
    picture = tmp_path / "map.png"
    first = studio(cli_home, "analyze", str(song), "--plot", str(picture))
    assert first.returncode == 0, first.stderr
    assert "132.0 BPM in 4" in first.stdout
    assert "chorus" in first.stdout and "climax" in first.stdout
    assert picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not list(tmp_path.glob(".*part*"))
    again = studio(cli_home, "analyze", str(song), "--json")
    assert again.returncode == 0, again.stderr
    data = json.loads(again.stdout)
    assert data["tempo"] == pytest.approx(132, rel=0.01)
    assert "energy" not in data and len(data["beats"]) == len(truth.beats)
    # The second answer came from the store: one analysis job ran, not two.
    jobs = json.loads(studio(cli_home, "jobs", "--json").stdout)
    assert [j["kind"] for j in jobs].count("audio.analyze") == 1
    missing = studio(cli_home, "analyze", str(tmp_path / "nope.wav"))
    assert missing.returncode != 0 and "there is no file" in missing.stderr


def test_the_demo_runs_offline_from_song_to_render(home: Home, tmp_path: Path) -> None:
    env = os.environ | {"STUDIO_HOME": str(home.root)}
    for key in ("GEMINI_API_KEY", "GOOGLE_API_KEY", "REPLICATE_API_TOKEN"):
        env.pop(key, None)
    done = subprocess.run(
        [sys.executable, "-m", "studio.demo"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "112.0 BPM in 4" in done.stdout and "A minor" in done.stdout
    from studio.audio import demo_lyrics_lrc, synthesize_song

    sung = [
        line for line in demo_lyrics_lrc(synthesize_song()[1]).splitlines() if line[1:2].isdigit()
    ]
    assert f"lyrics: {len(sung)} lines" in done.stdout
    out = tmp_path / "demo-output"
    assert (out / "song-map.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (out / "testcard.mp4").stat().st_size > 0
    assert (out / "demo.studio.zip").stat().st_size > 0
    assert find_engine(home) is None  # the demo stops the engine it started
