"""The `studio` command, run as a person runs it: a real process, output read back."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from studio.engine import Client, Home, find_engine, stop_engine
from studio.providers import ROLES
from studio.render import probe
from tests.engine.test_access import call

pytestmark = pytest.mark.slow
FAKE_KEY = "sk-test-9f8e7d6c5b4a-never-print-me"


@pytest.fixture
def cli_home(home: Home) -> Iterator[Home]:
    yield home
    stop_engine(home)


def studio(
    home: Home,
    *args: str,
    env: dict[str, str] | None = None,
    stdin: str | None = None,
    cwd: Path | None = None,
) -> subprocess.CompletedProcess[str]:
    full_env = os.environ | {"STUDIO_HOME": str(home.root)} | (env or {})
    return subprocess.run(
        [sys.executable, "-m", "studio.cli", *args],
        capture_output=True,
        text=True,
        env=full_env,
        input=stdin,
        cwd=cwd,
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
        timeout=1200,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "112.0 BPM in 4" in done.stdout and "A minor" in done.stdout
    # the session: a one-line brief to clips for every scene, then a revision and the cost
    said = " ".join(line.strip().removeprefix("studio: ") for line in done.stdout.splitlines())
    assert "(make_everything;" in said and "26 new clip takes" in said
    assert "Revised scenes" in said and "new image takes" in said
    assert "Still to make: 0 images and 0 clips" in said  # the chorus clips were made again
    assert "Approved clips of 26 scenes" in said and "The hd render is ready" in said
    from studio.audio import demo_lyrics_lrc, synthesize_song

    sung = [
        line for line in demo_lyrics_lrc(synthesize_song()[1]).splitlines() if line[1:2].isdigit()
    ]
    assert f"lyrics: {len(sung)} lines" in done.stdout
    out = tmp_path / "demo-output"
    assert (out / "song-map.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (out / "storyboard.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    video = Path(done.stdout.split("video: ", 1)[1].splitlines()[0])
    info = probe(video, count_frames=True)
    assert (info.width, info.height, info.audio) == (1280, 720, "aac")
    song_seconds = synthesize_song()[0].shape[0] / 44100
    # the offline clips are camera moves the render redraws at full size, at the preset's rate
    assert info.frames == round(song_seconds * 30)
    sheet = Path(done.stdout.split("contact sheet: ", 1)[1].split(" (")[0])
    assert sheet.read_text().count("data:image/jpeg;base64,") == 26
    assert json.loads((out / "timeline.otio").read_text())["OTIO_SCHEMA"] == "Timeline.1"
    assert "FCM: NON-DROP FRAME" in (out / "timeline.edl").read_text()
    assert (out / "demo.studio.zip").stat().st_size > 0
    assert find_engine(home) is None  # the demo stops the engine it started


# no key and no provider setting of the machine running the tests reaches the studio
OFFLINE = {
    name: ""
    for name in (
        "GEMINI_API_KEY",
        "GOOGLE_API_KEY",
        "REPLICATE_API_TOKEN",
        "MODAL_TOKEN_ID",
        "MODAL_TOKEN_SECRET",
        "STUDIO_CONFIG",
        *(f"STUDIO_{role.upper()}_PROVIDER" for role in ROLES),
    )
}


def test_chat_plan_and_budget_on_the_demo_song(cli_home: Home, tmp_path: Path) -> None:
    import soundfile as sf

    from studio.audio import synthesize_song

    audio, truth = synthesize_song()
    song = tmp_path / "neon-night.flac"
    sf.write(song, audio, truth.sample_rate)

    def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        done = studio(cli_home, *args, env=OFFLINE, stdin=stdin, cwd=tmp_path)
        assert done.returncode == 0, done.stdout + done.stderr
        assert "Traceback" not in done.stderr
        return done

    run("new", "Night Drive")
    run("analyze", str(song), "--project", "Night Drive")
    assert "no conversation yet" in run("chat", "night drive", stdin="").stdout

    said = run("chat", "Night Drive", "a", "night", "drive", "through the neon city").stdout
    assert said.splitlines()[1:] == [
        "  ✓ write_brief",  # the offline reply is the tool's summary, said once
        "  next: propose three concepts · make the whole video",
    ]
    # one message a line from a pipe, blank lines skipped, in the same session
    piped = run("chat", "Night Drive", stdin="propose three concepts\n\nbuild the storyboard\n")
    assert "  ✓ propose_concepts" in piped.stdout and "  ✓ build_storyboard" in piped.stdout

    # nothing on stdin: the conversation so far
    history = run("chat", "Night Drive", stdin="").stdout.splitlines()
    assert history[0].startswith("session ses_") and history[0].endswith(", 6 messages")
    assert history[1] == "you: a night drive through the neon city"
    assert [line.split(":")[0] for line in history if not line.startswith(" ")][1:] == [
        "you", "studio", "you", "studio", "you", "studio"
    ]  # fmt: skip

    turn = json.loads(run("chat", "Night Drive", "how much will it cost?", "--json").stdout)
    assert turn["role"] == "assistant" and turn["tools"][0]["name"] == "estimate_cost"
    assert turn["tools"][0]["status"] == "done"

    dry = json.loads(run("plan", "Night Drive", "--json").stdout)
    n = len(dry["scenes"])
    assert n >= 8 and f"Storyboard: {n} scenes" in piped.stdout
    assert [r["scene"] for r in dry["scenes"]] == list(range(1, n + 1))
    assert dry["totals"] == turn["tools"][0]["result"]["plan"]["totals"]
    table = run("plan", "Night Drive").stdout.splitlines()
    assert table[0] == f"Night Drive: {n} scenes; {n} pictures and {n} clips to make, $0.00"
    first = table[2].split()
    assert first[:2] == ["1", "0.00-"] and first[3:6] == [dry["scenes"][0]["section"], "*", "local"]
    assert "by provider: local $0.00" in table and table[-1].startswith("budget: not set")

    assert run("budget", "Night Drive", "12.5").stdout.startswith("Night Drive: budget $12.50,")
    assert "$12.50 left" in run("budget", "Night Drive").stdout
    assert json.loads(run("budget", "Night Drive", "--json").stdout)["budget_usd"] == 12.5

    # a second session with --new, then --session picks the first one again
    run("chat", "Night Drive", "--new", "hmm?")
    assert ", 2 messages" in run("chat", "Night Drive", stdin="").stdout.splitlines()[0]
    first_session = history[0].split()[1]
    again = run("chat", "Night Drive", "--session", first_session, stdin="").stdout
    assert again.startswith(f"session {first_session}") and ", 8 messages" in again

    for args, says in [
        (("chat", "Night Drive", "--new", "--session", first_session, "hi"), "do not go together"),
        (("budget", "Night Drive", "--", "-3"), "greater than or equal to 0"),
        (("budget", "Night Drive", "inf"), "is not an amount"),
    ]:
        refused = studio(cli_home, *args, env=OFFLINE, cwd=tmp_path)
        assert refused.returncode in (1, 2) and says in refused.stderr
        assert "Traceback" not in refused.stderr


def test_providers_say_who_plays_each_role_and_never_print_a_key(
    cli_home: Home, tmp_path: Path
) -> None:
    config = tmp_path / "studio.toml"
    config.write_text(
        '[providers]\nimage = "replicate:black-forest-labs/flux-dev"\nmusic = "local"\n'
    )
    env = OFFLINE | {"STUDIO_CONFIG": str(config), "GEMINI_API_KEY": FAKE_KEY}
    done = studio(cli_home, "providers", env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert FAKE_KEY not in done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].split()[:2] == ["text", "gemini"]
    assert lines[0].endswith(" from the default (GEMINI_API_KEY is set)")
    image = lines.index(f"image        {'replicate:black-forest-labs/flux-dev':<24} from {config}")
    assert lines[image + 1].strip().startswith("✗ image generation with replicate needs a key")
    assert "-> set REPLICATE_API_TOKEN" in lines[image + 2]
    assert any(line.startswith("video        gemini ") for line in lines)
    assert "clips of" in done.stdout and "a second" in done.stdout  # Veo's card

    listed = studio(cli_home, "providers", "--json", env=env, cwd=tmp_path)
    rows = {r["role"]: r for r in json.loads(listed.stdout)}
    assert list(rows) == list(ROLES)
    assert rows["text"]["card"]["model"].startswith("gemini")
    assert rows["text"]["card"]["needs_key"] == "GEMINI_API_KEY"
    assert rows["image"]["error"]["type"] == "Unauthorized" and rows["image"]["card"] is None
    assert (rows["music"]["provider"], rows["music"]["source"]) == ("local", str(config))
    assert rows["music"]["card"]["usd_per_call"] == 0
    env_wins = studio(
        cli_home, "providers", "--json", env=env | {"STUDIO_IMAGE_PROVIDER": "local"}, cwd=tmp_path
    )
    image_row = next(r for r in json.loads(env_wins.stdout) if r["role"] == "image")
    assert image_row["source"] == "STUDIO_IMAGE_PROVIDER" and image_row["error"] is None
    assert find_engine(cli_home) is None  # no engine was needed

    # a project's own choice comes before the environment (and studio.toml)
    assert studio(cli_home, "new", "Mine", env=OFFLINE, cwd=tmp_path).returncode == 0

    async def choose_local(c: Client) -> None:
        await c.update_project((await c.get_project("Mine")).id, providers={"image": "local"})

    call(cli_home, choose_local)
    env_says = env | {"STUDIO_IMAGE_PROVIDER": "gemini"}
    mine = studio(cli_home, "providers", "--project", "Mine", "--json", env=env_says, cwd=tmp_path)
    rows = {r["role"]: r for r in json.loads(mine.stdout)}
    assert rows["image"]["provider"] == "local"
    assert rows["image"]["source"] == "the project's settings"
    assert rows["text"]["provider"] == "gemini"
    assert FAKE_KEY not in mine.stdout + mine.stderr

    config.write_text("[providers\n")
    broken = studio(cli_home, "providers", env=env, cwd=tmp_path)
    assert broken.returncode == 1 and f"{config} is not valid TOML" in broken.stderr
    assert "Traceback" not in broken.stderr


def test_a_short_vertical_demo_then_a_preview_teaser_and_the_timeline(
    cli_home: Home, tmp_path: Path
) -> None:
    def run(*args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
        done = studio(cli_home, *args, env=OFFLINE, cwd=tmp_path)
        assert (done.returncode == 0) is ok, done.stdout + done.stderr
        assert "Traceback" not in done.stderr
        return done

    shown = run("demo", "--aspect", "9:16", "--seconds", "16").stdout
    video = Path(shown.split("video: ", 1)[1].splitlines()[0])
    info = probe(video, count_frames=True)
    assert (info.width, info.height) == (720, 1280)
    assert info.frames == 16 * 30
    name = shown.split("project: ", 1)[1].split(" (")[0]

    listing = run("timeline", name).stdout.splitlines()
    assert listing[0].startswith(f"timeline of {name}: ")
    clips = int(listing[0].split(": ")[1].split(" clips")[0])
    assert clips >= 2 and len(listing) == 1 + clips
    assert all(" tk_" in row for row in listing[1:])  # every clip shows an approved take

    made = run("render", name, "--preview", "--teaser", "15", "--gif", "-o", "teaser.mp4")
    assert "wrote teaser.mp4" in made.stdout and "wrote teaser.gif" in made.stdout
    teaser = probe(tmp_path / "teaser.mp4")
    assert teaser.height == 360 and 12 <= teaser.duration <= 16
    assert (tmp_path / "teaser.gif").read_bytes()[:4] == b"GIF8"

    refused = run("render", name, "--preset", "cinema", ok=False)
    assert "no render preset 'cinema'" in refused.stderr and "use one of final" in refused.stderr


def test_share_prints_a_link_keys_lists_and_revokes(cli_home: Home) -> None:
    assert studio(cli_home, "new", "Night Drive").returncode == 0
    from studio.dashboards import Served

    Served("http://127.0.0.1:8866", "server-token-0123456789", os.getpid()).write(cli_home)
    made = studio(cli_home, "share", "Night Drive", "--name", "Ana")
    assert made.returncode == 0, made.stderr
    link = made.stdout.strip().splitlines()[-1]
    assert link.startswith("http://127.0.0.1:8866/voila/render/review.ipynb?token=server-token")
    key = link.split("key=")[1].split("&")[0]
    assert call(cli_home, lambda c: c.whoami(), key=key)["name"] == "Ana"
    listed = studio(cli_home, "keys")
    assert "reviewer" in listed.stdout and "Ana" in listed.stdout and key not in listed.stdout
    grant = listed.stdout.split()[0]
    assert studio(cli_home, "keys", "--revoke", grant).returncode == 0
    assert "revoked" in studio(cli_home, "keys").stdout
    unknown = studio(cli_home, "share", "No Such Project", "--name", "Ana")
    assert unknown.returncode != 0 and "Traceback" not in unknown.stderr
    nowhere = studio(cli_home, "share", "Night Drive", "--name", "Bo", "--dashboard", "nope")
    assert nowhere.returncode != 0 and "no dashboard is called 'nope'" in nowhere.stderr
    assert "Bo" not in studio(cli_home, "keys").stdout  # no key was made for it
