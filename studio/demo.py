"""``make demo`` / ``python -m studio.demo``: the studio's offline demo, as far as it is built.

Today it exercises the engine room and the song's map end to end: the engine is started on
first use, the built-in demo song is made, uploaded, analysed and drawn, its lyrics imported, a
project with a small storyboard on the song's sections is written, scenes go through their
approval gates, a segmented test-card render runs as a job with live progress and is verified,
and the project is exported to one archive. Generation and the real render join it as they land.
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

from studio.engine import Client, Home, find_engine, stop_engine
from studio.model import JobStatus

OUT = Path("demo-output")
PROMPTS = {
    "intro": ("empty highway at dusk, headlights far away", "zoom_in"),
    "verse": ("neon signs reflected in wet asphalt", "pan_left"),
    "chorus": ("the city skyline explodes into light", "push_in"),
}


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
        for section in song_map.sections[:3]:
            prompt, camera = PROMPTS.get(section.label, PROMPTS["verse"])
            scene = await studio.add_scene(
                project.id,
                start=section.start,
                end=section.end,
                section=section.label,
                prompt=prompt,
                camera=camera,
            )
            await studio.scene_action(scene.id, "approve_text")
            span = f"{section.start:5.1f}-{section.end:5.1f}s"
            print(f"  scene {scene.index + 1}: {span} {section.label:<7} {prompt}")
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
