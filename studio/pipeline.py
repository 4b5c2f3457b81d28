"""One song and a brief to a checked music video, through the engine: the pipeline that
``make demo``, the ``make_music_video`` notebook and ``studio batch`` share.

``make_video`` creates a project (the brief with its style, the budget, the provider choices),
uploads and analyses the song and draws its map, imports the lyrics, and then talks to a
session as a person would: the brief, "make the whole video" (concepts, moods, a storyboard on
the beat grid, pictures and clips for every scene), any revisions, the clips brought up to date
and approved. It dresses the timeline (lyrics burned in when there are any, a crossfade where
the song changes section, a pulse on the chorus), has the session render it, and writes the
video, the song map, the contact sheets and the timeline's OTIO and EDL into one folder.

A tool that fails inside a turn is reported back to the session rather than raised there; here
it stops the pipeline with ``JobFailed`` naming the step, so a batch sees the real cause.
"""

from __future__ import annotations

import asyncio
import tempfile
import textwrap
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from studio.engine import Client
from studio.errors import Conflict, InvalidInput, JobFailed, StudioError
from studio.model import Project, Render, Turn

__all__ = ["ASPECTS", "PRESETS", "VideoResult", "contact_sheet", "make_video"]

ASPECTS = ("16:9", "9:16", "1:1", "4:5")
"""The shapes a video can have."""
PRESETS = ("preview", "hd", "final")
"""The render presets the pipeline asks for: 640x360, 720p, 1080p (on the short side)."""
# how the session is asked for each shape (the words its offline text model understands)
_SHAPE_WORDS = {"16:9": "", "9:16": " vertical", "1:1": " square", "4:5": " 4:5"}

Log = Callable[[str], None]


@dataclass(frozen=True)
class VideoResult:
    """What ``make_video`` made, and what it cost."""

    project_id: str
    project_name: str
    video: Path
    """The rendered MP4."""
    song_map: Path
    """The song's map drawn (PNG): waveform, beats, sections, key moments."""
    contact_sheet: Path
    """Every scene's picture in song order, numbered (PNG)."""
    storyboard: Path
    """The storyboard as an HTML contact sheet with the shots' words (prints to PDF)."""
    exports: list[Path]
    """The timeline as OTIO and as a CMX3600 EDL."""
    aspect: str
    size: tuple[int, int]
    """The video's width and height in pixels."""
    duration: float
    """The video's length in seconds."""
    frames: int
    sync: dict[str, float]
    """The render read back against the song: frames, duration, when the picture and the sound
    start and end, and their offset (seconds)."""
    cost_usd: float
    """What the generation calls cost (the ledger's spent lines)."""
    ledger: dict[str, Any]
    """The project's ledger: ``budget_usd``, ``spent_usd``, ``committed_usd`` and the lines."""
    seconds: float
    """Wall-clock time the pipeline took."""
    transcript: list[tuple[str, str]] = field(default_factory=list)
    """The session: each message and the studio's answer."""

    def to_json(self) -> dict[str, Any]:
        """The result as JSON-ready values (paths as strings)."""
        data = asdict(self)
        for key, value in data.items():
            if isinstance(value, Path):
                data[key] = str(value)
        data["exports"] = [str(p) for p in self.exports]
        data["size"] = list(self.size)
        data["transcript"] = [list(pair) for pair in self.transcript]
        return data


def _check(aspect: str, preset: str, seed: int, budget_usd: float | None, audio: Path) -> None:
    if aspect not in ASPECTS:
        raise InvalidInput(
            f"aspect {aspect!r} is not one the studio renders", hint=f"use {', '.join(ASPECTS)}"
        )
    if preset not in PRESETS:
        raise InvalidInput(f"preset {preset!r} is unknown", hint=f"use {', '.join(PRESETS)}")
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**31:
        raise InvalidInput(f"seed {seed!r} is not a whole number from 0 to 2147483647")
    if budget_usd is not None and not budget_usd >= 0:
        raise InvalidInput(f"a budget of {budget_usd!r} US dollars is not possible")
    if not audio.is_file():
        raise InvalidInput(f"there is no song file at {audio}", hint="check the path")


class _Session:
    """A session spoken to with one seed, each exchange logged and kept."""

    def __init__(self, studio: Client, session_id: str, seed: int, log: Log) -> None:
        self.studio, self.id, self.seed, self.log = studio, session_id, seed, log
        self.transcript: list[tuple[str, str]] = []

    async def say(self, message: str) -> Turn:
        self.log(f"  you: {message}")
        started = time.perf_counter()
        reply = await self.studio.say(self.id, message, seed=self.seed, timeout=1800)
        took = time.perf_counter() - started
        for line in textwrap.wrap(reply.text, 92) or ["(no answer)"]:
            self.log(f"    studio: {line}")
        self.log(f"    ({', '.join(u.name for u in reply.tools) or 'no tools'}; {took:.1f} s)")
        self.transcript.append((message, reply.text))
        failed = [u for u in reply.tools if u.status == "failed"]
        if failed:
            use = failed[0]
            raise JobFailed(
                f"the session's {use.name} step failed: {use.error}",
                hint=f"the studio answered {message!r} with: {reply.text[:200]}",
            )
        return reply


async def contact_sheet(studio: Client, project_id: str, dest: Path) -> Path:
    """Every scene's latest picture in song order, six to a row, numbered."""
    from PIL import Image, ImageDraw

    scenes = await studio.scenes(project_id)
    tile, cols = (320, 180), 6
    rows = max(1, -(-len(scenes) // cols))
    sheet = Image.new("RGB", (cols * tile[0], rows * tile[1]), "#111111")
    draw = ImageDraw.Draw(sheet)
    with tempfile.TemporaryDirectory() as tmp:
        for n, scene in enumerate(scenes):
            images = [t for t in await studio.takes(scene.id) if t["kind"] == "image"]
            if not images:
                continue
            path = await studio.download(images[-1]["asset_sha256"], Path(tmp) / f"{n}.png")
            x, y = (n % cols) * tile[0], (n // cols) * tile[1]
            with Image.open(path) as picture:
                sheet.paste(picture.convert("RGB").resize(tile), (x, y))
            label = f"{n + 1} {scene.section or ''} {scene.start:.1f}s"
            draw.text((x + 6, y + 4), label, fill="#ffffff")
    sheet.save(dest)
    return dest


async def _dress_timeline(studio: Client, project_id: str, *, lyrics: bool, log: Log) -> None:
    """Karaoke lyrics (if the song has words), a crossfade where the song changes section, a
    pulse on the chorus."""
    timeline = await studio.build_timeline(project_id)
    scenes = {s.id: s for s in await studio.scenes(project_id)}
    edits: list[dict[str, Any]] = []
    if lyrics:
        edits.append({"op": "set_subtitles", "subtitles": {"mode": "burn"}})
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
    if edits:
        await studio.edit_timeline(project_id, edits, revision=timeline.revision)
    words = "lyrics burned in, " if lyrics else ""
    log(f"  timeline: {len(timeline.clips)} clips; {words}{len(edits) - lyrics} edits")


async def _new_project(
    studio: Client, name: str | None, audio: Path, style: str, aspect: str, **fields: Any
) -> Project:
    """The project, named ``name``; or, with no name given, after the song, the style, the
    aspect and the time, numbered if another run made one of that name in the same second."""
    if name is not None:
        return await studio.create_project(name, **fields)
    base = " ".join(
        [
            audio.stem[:30],
            *([style[:20]] if style else []),
            aspect,
            time.strftime("%Y-%m-%d %H:%M:%S"),
        ]
    )
    for n in range(1, 100):
        try:
            return await studio.create_project(base if n == 1 else f"{base} ({n})", **fields)
        except Conflict:
            continue
    raise Conflict(f"there are 99 projects named {base!r} already", hint="give the video a name")


async def make_video(
    studio: Client,
    audio: Path,
    *,
    brief: str,
    out: Path,
    style: str = "",
    aspect: str = "16:9",
    providers: Mapping[str, str] | None = None,
    seed: int = 0,
    budget_usd: float | None = None,
    lyrics_lrc: str | None = None,
    name: str | None = None,
    revisions: Sequence[str] = (),
    preset: str = "hd",
    log: Log = print,
) -> VideoResult:
    """Make a music video of ``audio`` from ``brief`` into the folder ``out``.

    ``style`` goes into the brief's style (every picture's prompt carries it); ``providers``
    picks a provider per role for this project only (``{"image": "replicate:flux"}``; none:
    the settings' defaults, offline without keys); ``seed`` is the session's seed (the same
    seed, the same video); ``budget_usd`` caps what the generation calls may cost;
    ``lyrics_lrc`` is the song's words as LRC text; ``revisions`` are said to the session
    after the storyboard and its takes are made ("make the chorus scenes at dusk"), before
    the clips are brought up to date. ``log`` gets a line for each step."""
    audio = Path(audio)
    _check(aspect, preset, seed, budget_usd, audio)
    started = time.perf_counter()
    from studio.audio import load_audio

    # the engine checks the song too, but this names the file as the caller knows it, and
    # leaves no project behind for a song that cannot be used
    await asyncio.to_thread(load_audio, audio)
    project = await _new_project(
        studio, name, audio, style, aspect, brief={"text": brief, "style": style},
        budget_usd=budget_usd,
    )  # fmt: skip
    log(f"project: {project.name} ({project.id})")
    if providers:
        await studio.update_project(project.id, providers=dict(providers))
        log(f"  providers: {', '.join(f'{k} {v}' for k, v in providers.items())}")
    out.mkdir(parents=True, exist_ok=True)

    job = await studio.wait_job((await studio.upload_song(audio, project_id=project.id)).id)
    song_map = await studio.song_map(project.id)
    stages = job.result["stages"] if job.result else {}
    log(f"  song: {song_map.summary()} (analysed in {sum(stages.values()):.2f} s)")
    song_map.plot().savefig(out / "song-map.png")
    log(f"  map drawn -> {out / 'song-map.png'}")
    if lyrics_lrc:
        lyrics = await studio.import_lyrics(project.id, lyrics_lrc, f"{audio.stem}.lrc")
        first = f", first at {lyrics.lines[0].start:.2f} s" if lyrics.lines else ""
        log(f"  lyrics: {len(lyrics.lines)} lines{first}")

    session = _Session(
        studio, (await studio.start_session(project.id, title=project.name)).id, seed, log
    )
    if brief.strip():
        await session.say(f"brief: {brief.strip()}")
    for message in ("make the whole video", *revisions, "make the clips", "approve all clips"):
        await session.say(message)
    await _dress_timeline(studio, project.id, lyrics=bool(lyrics_lrc), log=log)
    reply = await session.say(f"render it in {preset}{_SHAPE_WORDS[aspect]}")
    await session.say("how much did it cost?")
    made = next((u.result for u in reply.tools if u.name == "render" and u.result), None)
    if made is None:
        raise StudioError(f"the render did not succeed: {reply.text}")

    video = await studio.download(made["sha256"], out / made["filename"])
    storyboard = out / "storyboard.html"
    storyboard.write_text(await studio.export_timeline(project.id, "html"), encoding="utf-8")
    sheet = await contact_sheet(studio, project.id, out / "storyboard.png")
    exports = []
    for fmt in ("otio", "edl"):
        exports.append(out / f"timeline.{fmt}")
        exports[-1].write_text(await studio.export_timeline(project.id, fmt, fps=24), "utf-8")
    render = next(
        Render.model_validate(r) for r in await studio.renders(project.id)
        if r["id"] == made["render_id"]
    )  # fmt: skip
    ledger = await studio.ledger(project.id)
    return VideoResult(
        project_id=project.id,
        project_name=project.name,
        video=video,
        song_map=out / "song-map.png",
        contact_sheet=sheet,
        storyboard=storyboard,
        exports=exports,
        aspect=render.settings.aspect.value,
        size=render.settings.size,
        duration=float(made["duration"]),
        frames=int(made["frames"]),
        sync={k: float(v) for k, v in render.verification.items()},
        cost_usd=float(ledger["spent_usd"]),
        ledger=ledger,
        seconds=time.perf_counter() - started,
        transcript=session.transcript,
    )
