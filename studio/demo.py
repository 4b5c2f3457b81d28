"""``make demo`` / ``studio demo``: the whole offline pipeline on the built-in demo song.

The engine is started on first use; the demo song is made, uploaded, analysed and drawn, its
lyrics imported; a session turns a one-line brief into concepts, moods, a storyboard on the beat
grid and image and clip takes for every scene, moves the chorus to dusk and makes its clips
again; the clips are approved; the timeline gets the lyrics burned in as karaoke, crossfades
where the song changes section and a pulse on the chorus beats; the session renders it and
the render is checked against the song. It ends by printing the MP4 and the contact sheet.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any

from studio.engine import Client, Home, find_engine, stop_engine

OUT = Path("demo-output")


async def _contact_sheet(studio: Client, project_id: str, dest: Path) -> Path:
    """Every scene's latest picture in song order, six to a row, numbered."""
    from PIL import Image, ImageDraw

    scenes = await studio.scenes(project_id)
    tile, cols = (320, 180), 6
    rows = -(-len(scenes) // cols)
    sheet = Image.new("RGB", (cols * tile[0], rows * tile[1]), "#111111")
    draw = ImageDraw.Draw(sheet)
    with tempfile.TemporaryDirectory() as tmp:
        for n, scene in enumerate(scenes):
            images = [t for t in await studio.takes(scene.id) if t["kind"] == "image"]
            if not images:
                continue
            path = await studio.download(images[-1]["asset_sha256"], Path(tmp) / f"{n}.png")
            with Image.open(path) as picture:
                x, y = (n % cols) * tile[0], (n // cols) * tile[1]
                sheet.paste(picture.convert("RGB").resize(tile), (x, y))
            label = f"{n + 1} {scene.section or ''} {scene.start:.1f}s"
            draw.text((x + 6, y + 4), label, fill="#ffffff")
    sheet.save(dest)
    return dest


def _demo_song(folder: Path, seconds: float | None) -> tuple[Path, str]:
    """The built-in demo song as a FLAC file (its first ``seconds`` if given), and its lyrics
    as LRC (the lines sung in that stretch)."""
    import soundfile as sf

    from studio.audio import demo_lyrics_lrc, synthesize_song

    audio, truth = synthesize_song()
    lrc = demo_lyrics_lrc(truth)
    if seconds is not None:
        if seconds < 10:
            raise SystemExit("the demo needs at least 10 seconds of the song")
        audio = audio[: round(seconds * truth.sample_rate)]
        lrc = "\n".join(line for line in lrc.splitlines() if _sung_before(line, seconds - 2))
    path = folder / "neon-night.flac"
    sf.write(path, audio, truth.sample_rate)
    return path, lrc


def _sung_before(line: str, seconds: float) -> bool:
    """An LRC line kept in a shortened song: metadata, or a line that starts before the end."""
    if not line.startswith("[") or not line[1:2].isdigit():
        return True
    minutes, _, rest = line[1:].partition(":")
    return int(minutes) * 60 + float(rest.split("]")[0]) < seconds


async def _say(studio: Client, session_id: str, message: str) -> Any:
    print(f"  you: {message}")
    started = time.perf_counter()
    reply = await studio.say(session_id, message, timeout=1800)
    took = time.perf_counter() - started
    for line in textwrap.wrap(reply.text, 92) or ["(no answer)"]:
        print(f"    studio: {line}")
    print(f"    ({', '.join(u.name for u in reply.tools) or 'no tools'}; {took:.1f} s)")
    return reply


async def _dress_timeline(studio: Client, project_id: str) -> None:
    """Karaoke lyrics, a crossfade where the song changes section, a pulse on the chorus."""
    timeline = await studio.build_timeline(project_id)
    scenes = {s.id: s for s in await studio.scenes(project_id)}
    edits: list[dict[str, Any]] = [{"op": "set_subtitles", "subtitles": {"mode": "burn"}}]
    previous = None
    for clip in timeline.clips:
        section = scenes[clip.scene_id].section if clip.scene_id in scenes else None
        if previous is not None and section != previous and clip.duration > 1.2:
            change = {"kind": "crossfade", "duration": 0.5}
            edits.append({"op": "set_transition", "clip_id": clip.id, "transition": change})
        if section == "chorus":
            pulse = [{"name": "zoom_pulse", "intensity": 0.5}, {"name": "flash", "intensity": 0.3}]
            edits.append({"op": "set_effects", "clip_id": clip.id, "effects": pulse})
        previous = section
    await studio.edit_timeline(project_id, edits, revision=timeline.revision)
    print(f"  timeline: {len(timeline.clips)} clips; lyrics burned in, {len(edits) - 1} edits")


async def demo(home: Home, *, aspect: str = "16:9", seconds: float | None = None) -> None:
    async with Client(home) as studio:
        health = await studio.health()
        print(f"engine {health['version']} running, pid {health['pid']}, home {home.root}")
        name = f"Demo {time.strftime('%Y-%m-%d %H:%M:%S')}"
        project = await studio.create_project(name, brief={"text": "night drive, neon, rain"})
        print(f"project: {project.name} ({project.id})")
        OUT.mkdir(exist_ok=True)
        song, lrc = _demo_song(OUT, seconds)
        job = await studio.wait_job((await studio.upload_song(song, project_id=project.id)).id)
        song_map = await studio.song_map(project.id)
        stages = job.result["stages"] if job.result else {}
        print(f"  song: {song_map.summary()} (analysed in {sum(stages.values()):.2f} s)")
        song_map.plot().savefig(OUT / "song-map.png")
        print(f"  map drawn -> {OUT / 'song-map.png'}")
        lyrics = await studio.import_lyrics(project.id, lrc, "neon-night.lrc")
        print(f"  lyrics: {len(lyrics.lines)} lines, first at {lyrics.lines[0].start:.2f} s")
        session = await studio.start_session(project.id, title="demo")
        for message in (
            "a night drive through the neon city, rain on the windscreen",
            "make the whole video",
            "make the chorus scenes at dusk",
            "make the clips",
            "approve all clips",
        ):
            await _say(studio, session.id, message)
        await _dress_timeline(studio, project.id)
        shape = (
            ""
            if aspect == "16:9"
            else {"9:16": " vertical", "1:1": " square"}.get(aspect, f" {aspect}")
        )
        reply = await _say(studio, session.id, f"render it in hd{shape}")
        await _say(studio, session.id, "how much did it cost?")
        render = next((u.result for u in reply.tools if u.name == "render" and u.result), None)
        if render is None:
            raise SystemExit(f"the render did not succeed: {reply.text}")
        video = await studio.download(render["sha256"], OUT / render["filename"])
        sheet = OUT / "storyboard.html"
        sheet.write_text(await studio.export_timeline(project.id, "html"), encoding="utf-8")
        picture = await _contact_sheet(studio, project.id, OUT / "storyboard.png")
        for fmt in ("otio", "edl"):
            text = await studio.export_timeline(project.id, fmt, fps=24)
            (OUT / f"timeline.{fmt}").write_text(text, encoding="utf-8")
        archive = await studio.export_project(project.id, OUT / "demo.studio.zip")
        print(f"  exported: {archive}, {OUT / 'timeline.otio'}, {OUT / 'timeline.edl'}")
        print(f"video: {video.resolve()}")
        print(f"contact sheet: {sheet.resolve()} (and {picture})")
        print("next: `studio list`, `studio show NAME`, `studio render NAME --preview`")


def run_demo(home: Home, *, aspect: str = "16:9", seconds: float | None = None) -> None:
    """The demo, stopping the engine afterwards if it started it."""
    was_running = find_engine(home) is not None
    try:
        asyncio.run(demo(home, aspect=aspect, seconds=seconds))
    finally:
        if not was_running:
            stop_engine(home)


def main() -> None:
    run_demo(Home.resolve())
    sys.exit(0)


if __name__ == "__main__":
    main()
