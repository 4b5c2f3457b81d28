"""``make demo`` / ``python -m studio.demo``: the studio's offline demo, as far as it is built.

The engine is started on first use; the built-in demo song is made, uploaded, analysed and
drawn, its lyrics imported; a session turns a one-line brief into concepts, moods, a
storyboard on the beat grid and image and clip takes for every scene, then moves the chorus to dusk;
a contact sheet of the storyboard is drawn; a segmented test-card render runs as a job with
live progress and is verified; the project is exported to one archive. The real render of the
timeline joins it with the render issue.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import textwrap
import time
from pathlib import Path

from studio.engine import Client, Home, find_engine, stop_engine
from studio.model import JobStatus

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


def _demo_song(folder: Path) -> tuple[Path, str]:
    """The built-in demo song as a FLAC file, and its lyrics as LRC."""
    import soundfile as sf

    from studio.audio import demo_lyrics_lrc, synthesize_song

    audio, truth = synthesize_song()
    path = folder / "neon-night.flac"
    sf.write(path, audio, truth.sample_rate)
    return path, demo_lyrics_lrc(truth)


async def demo(home: Home) -> None:
    async with Client(home) as studio:
        health = await studio.health()
        print(f"engine {health['version']} running, pid {health['pid']}, home {home.root}")
        name = f"Demo {time.strftime('%Y-%m-%d %H:%M:%S')}"
        project = await studio.create_project(name, brief={"text": "night drive, neon, rain"})
        print(f"project: {project.name} ({project.id})")
        OUT.mkdir(exist_ok=True)
        song, lrc = _demo_song(OUT)
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
            "how much did it cost?",
        ):
            print(f"  you: {message}")
            started = time.perf_counter()
            reply = await studio.say(session.id, message, timeout=1800)
            took = time.perf_counter() - started
            for line in textwrap.wrap(reply.text, 92) or ["(no answer)"]:
                print(f"    studio: {line}")
            print(f"    ({', '.join(u.name for u in reply.tools) or 'no tools'}; {took:.1f} s)")
        sheet = await _contact_sheet(studio, project.id, OUT / "storyboard.png")
        print(f"  storyboard: {sheet}")
        job = await studio.submit_job(
            "render.testcard",
            {"duration": 12, "fps": 25, "width": 640, "height": 360, "segment": 4},
            project_id=project.id,
            force=True,
        )
        while True:
            job = await studio.job(job.id)
            bar = "#" * int(job.progress * 30)
            print(f"\r  render [{bar:<30}] {job.progress * 100:5.1f}% {job.message:<24}", end="")
            if job.status.finished:
                break
            await asyncio.sleep(0.2)
        print()
        if job.status is not JobStatus.SUCCEEDED or job.result is None:
            raise SystemExit(f"the render did not succeed: {job.error}")
        video = await studio.download(job.result["sha256"], OUT / "testcard.mp4")
        frames, seconds = job.result["frames"], job.result["duration"]
        print(f"  verified: {frames} frames, {seconds:.2f} s -> {video}")
        archive = await studio.export_project(project.id, OUT / "demo.studio.zip")
        print(f"  exported: {archive} ({archive.stat().st_size:,} bytes)")
        print("next: `studio list`, `studio show NAME`, `studio jobs` (.venv/bin/studio)")


def main() -> None:
    home = Home.resolve()
    was_running = find_engine(home) is not None
    try:
        asyncio.run(demo(home))
    finally:
        if not was_running:
            stop_engine(home)
    sys.exit(0)


if __name__ == "__main__":
    main()
