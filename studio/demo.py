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
import time
from pathlib import Path

from studio.engine import Client, Home, find_engine, stop_engine
from studio.errors import InvalidInput, StudioError
from studio.pipeline import make_video

__all__ = ["BRIEF", "OUT", "demo", "demo_song", "lyrics_sung_before", "main", "run_demo"]

OUT = Path("demo-output")
BRIEF = "a night drive through the neon city, rain on the windscreen"


def demo_song(folder: Path, seconds: float | None) -> tuple[Path, str]:
    """The built-in demo song as a FLAC file (its first ``seconds`` if given), and its lyrics
    as LRC (the lines sung in that stretch)."""
    import soundfile as sf

    from studio.audio import demo_lyrics_lrc, synthesize_song

    audio, truth = synthesize_song()
    lrc = demo_lyrics_lrc(truth)
    if seconds is not None:
        if seconds < 10:
            raise InvalidInput(
                f"the demo needs at least 10 seconds of the song, not {seconds:g}",
                hint="give 10 seconds or more",
            )
        audio = audio[: round(seconds * truth.sample_rate)]
        lrc = lyrics_sung_before(lrc, seconds - 2)
    path = folder / "neon-night.flac"
    sf.write(path, audio, truth.sample_rate)
    return path, lrc


def lyrics_sung_before(lrc: str, seconds: float) -> str:
    """The LRC lines of a shortened song: the metadata, and the lines that start before
    ``seconds``."""
    return "\n".join(line for line in lrc.splitlines() if _sung_before(line, seconds)) + "\n"


def _sung_before(line: str, seconds: float) -> bool:
    if not line.startswith("[") or not line[1:2].isdigit():
        return True
    minutes, _, rest = line[1:].partition(":")
    return int(minutes) * 60 + float(rest.split("]")[0]) < seconds


async def demo(home: Home, *, aspect: str = "16:9", seconds: float | None = None) -> None:
    async with Client(home) as studio:
        health = await studio.health()
        print(f"engine {health['version']} running, pid {health['pid']}, home {home.root}")
        OUT.mkdir(exist_ok=True)
        song, lrc = demo_song(OUT, seconds)
        made = await make_video(
            studio,
            song,
            brief=BRIEF,
            out=OUT,
            aspect=aspect,
            lyrics_lrc=lrc,
            name=f"Demo {time.strftime('%Y-%m-%d %H:%M:%S')}",
            revisions=("make the chorus scenes at dusk",),
        )
        archive = await studio.export_project(made.project_id, OUT / "demo.studio.zip")
        print(f"  exported: {archive}, {', '.join(str(p) for p in made.exports)}")
        print(f"video: {made.video.resolve()}")
        print(f"contact sheet: {made.storyboard.resolve()} (and {made.contact_sheet})")
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
    try:
        run_demo(Home.resolve())
    except StudioError as exc:
        sys.exit(f"demo: {exc}")
    sys.exit(0)


if __name__ == "__main__":
    main()
