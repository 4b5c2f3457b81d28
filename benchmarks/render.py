"""The render of issue 5's reference workload, beside the encode-only floor and the two usual
ways of making the same video, run side by side in one run.

    python -m benchmarks.render [--seconds 60 180] [--rounds 3] [--skip-moviepy] [--skip-1080]
    python -m benchmarks.render --studio-only --seconds 180 --rounds 11

The workload, for each length of song: a still per five seconds (12 for 60 s, 36 for 180 s;
1280x720 pictures by the offline painter), each with a slow camera move (zoom in, zoom out,
pan left, pan right, push in, in turn), 0.5 s crossfades between all scenes, six lyric lines a
minute burned in (karaoke ASS, DejaVu Sans), 1280x720 at 30 fps, H.264 at the studio's
"standard" settings (libx264 veryfast, CRF 20) and AAC 192 kbps at 48 kHz, in an MP4.

Contenders, each making a real MP4 of the song's length, one at a time, each in its own
process so one's memory never counts for another:

- encode-only floor: one ffmpeg encoding the very frames the studio's renderer makes, its
  burned lyrics included (YUV 4:2:0, written beforehand to a raw file in RAM where there is
  room, so ffmpeg converts nothing and reads no disk) with the same encoder settings, and
  encoding and muxing the song's AAC in the same command: what the encoder alone needs for
  this video. Two more floors read the same frames without the lyrics: as they are (the floor
  of earlier runs; x264 takes at most 1 % less on frames without text), and with the lyrics
  burned by ffmpeg's ``ass`` filter (same command), the usual way to burn them and what the
  studio did before it burned them into its own frames.
- studio: ``compile_plan`` and ``render_video`` (segments, mux, and read-back verification;
  the verification is timed again on its own afterwards). Its resampler's machine code is in
  the cache, as on any machine after its first render (making the floor's frames put it
  there); a compile would add 0.1-0.2 s of CPU.
- MoviePy 2 (the ``bench`` extra), the idiomatic way: an ImageClip per scene resized by a
  function of time inside a 1280x720 composite, CrossFadeIn between scenes, TextClip lyrics
  (plain lines: it has no karaoke fill), ``write_videofile``. It renders about four times
  slower than real time, so by default only songs up to 60 s (``--moviepy-up-to``).
- one plain ffmpeg command: ``zoompan`` per still, ``xfade`` between them, the ``ass`` filter.

Each contender runs ``--rounds`` times (MoviePy once), the contenders taking turns; a row shows
the median wall time, and its ratio to the floor is the median of each round's ratio to that
round's floor (the lowest and highest of those beside it, and from five rounds on an interval
that holds the median ratio with at least 90 % confidence: the k-th lowest and k-th highest
of the rounds' ratios, whatever their distribution). ``--studio-only`` runs the two floors
without ``ass`` and the studio alone, for many rounds in the time a full run takes; it writes
benchmarks/results/render-studio-only-<lengths>.json. Times are wall clock; a Python
contender's time starts after its imports. CPU is user and system time of the contender and
every process it waited for (its encoders), also from after its imports: less noisy than wall
time on a shared machine, and on two cores what a contender adds to the encoder's work is what
it costs. Peak memory is the sum of the resident memory of the contender's process tree (its
encoders included), sampled every 20 ms, with an upper bound for what happened between samples
(each live process's own peak, summed). The machine is shared and noisy: read the ratios, not
the seconds. Results go to stdout as Markdown and to benchmarks/results/render.json."""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import psutil

from benchmarks._machine import machine as machine_info
from studio.model import (
    CameraMove,
    LyricLine,
    Lyrics,
    LyricWord,
    RenderSettings,
    SubtitleStyle,
    Timeline,
    TimelineClip,
    Transition,
    TransitionKind,
)
from studio.render import (
    ClipMedia,
    Renderer,
    RenderPlan,
    ass_document,
    compile_plan,
    ffmpeg_path,
    font_dir,
    probe,
)
from studio.render._ffmpeg import encode_video_command, subtitles_filter, video_codec

RESULTS = Path(__file__).with_name("results") / "render.json"
ROOT = Path(__file__).resolve().parents[1]
FPS = 30
SCENE_SECONDS = 5.0
CROSSFADE = 0.5
LINES_PER_MINUTE = 6
MOVES = [
    CameraMove.ZOOM_IN,
    CameraMove.ZOOM_OUT,
    CameraMove.PAN_LEFT,
    CameraMove.PAN_RIGHT,
    CameraMove.PUSH_IN,
]
PROMPTS = [
    "empty highway at dusk, headlights far away",
    "neon signs reflected in wet asphalt, a city street in the rain at night",
    "a crowd of dancers in the city at night, neon lights",
    "a singer alone on the beach at sunset",
    "misty mountains at dawn, a forest below",
    "abstract dreamy circles, bokeh",
]
LYRICS = [
    "we drove all night with the windows down",
    "the city lights were calling out our names",
    "nothing to lose and nowhere to be",
    "hold on to the sound of the morning",
    "every street a song we used to know",
    "and the radio played it one more time",
]
# the studio's "standard" MP4 settings (libx264 high, veryfast, CRF 20) with its keyframe
# rules, for every contender; and the studio's audio settings for the song
CODEC = video_codec("mp4", "standard")
GOP = ["-g", str(2 * FPS), "-x264-params", "scenecut=0:open-gop=0"]
AUDIO = ["-c:a", "aac", "-b:a", "192k", "-ar", "48000"]
FLOOR = "encode-only floor"
PLAIN_FLOOR = "floor, frames without lyrics"


@dataclass(frozen=True)
class Workload:
    """One length of the reference workload, as files and the timeline that uses them;
    JSON-able so a contender's process can rebuild it."""

    seconds: float
    song: str
    stills: list[str]
    focus: list[tuple[float, float]]
    """Where each still's push-in heads (the studio finds it itself; the others are told)."""
    width: int = 1280
    height: int = 720

    @property
    def scenes(self) -> int:
        return len(self.stills)

    @property
    def frames(self) -> int:
        return round(self.seconds * FPS)

    def cut(self, k: int) -> int:
        """The frame scene ``k`` begins on (the song's length for ``k == scenes``)."""
        return round(self.seconds * k / self.scenes * FPS)

    def shown(self, k: int) -> tuple[int, int]:
        """Frames where scene ``k`` is on screen, its crossfades included: each crossfade is
        centred on its cut, as the studio's beat-synced transitions are."""
        blend = round(CROSSFADE * FPS)
        lead = blend // 2
        first = self.cut(k) - lead if k > 0 else 0
        last = self.cut(k + 1) + blend - lead if k < self.scenes - 1 else self.frames
        return first, last

    def timeline(self) -> Timeline:
        fade = Transition(kind=TransitionKind.CROSSFADE, duration=CROSSFADE)
        clips = [
            TimelineClip(
                start=self.cut(k) / FPS,
                duration=(self.cut(k + 1) - self.cut(k)) / FPS,
                transition_in=fade if k else Transition(),
            )
            for k in range(self.scenes)
        ]
        return Timeline(project_id="bench", duration=self.frames / FPS, clips=clips)

    def lyrics(self) -> Lyrics:
        """Six lines a minute, each sung for eight of its ten seconds, word by word."""
        lines = []
        gap = 60 / LINES_PER_MINUTE
        for i in range(int(self.seconds / gap)):
            start, end = i * gap + 1.0, i * gap + 9.0
            text = LYRICS[i % len(LYRICS)]
            words = text.split()
            step = (end - start) / len(words)
            timed = [
                LyricWord(start=start + j * step, end=start + (j + 1) * step, text=w)
                for j, w in enumerate(words)
            ]
            lines.append(LyricLine(start=start, end=end, text=text, words=timed))
        return Lyrics(lines=lines, source="lrc")

    def subtitles(self) -> str:
        return ass_document(self.lyrics(), SubtitleStyle(), width=self.width, height=self.height)

    def plan(self) -> RenderPlan:
        timeline = self.timeline()
        media = {
            clip.id: ClipMedia(Path(self.stills[k]), "still", MOVES[k % len(MOVES)])
            for k, clip in enumerate(timeline.clips)
        }
        settings = RenderSettings(resolution=self.height, fps=FPS)
        return compile_plan(
            timeline, media, settings, song=Path(self.song), subtitles=self.subtitles()
        )

    def save(self, path: Path) -> Path:
        path.write_text(json.dumps(asdict(self)))
        return path

    @classmethod
    def load(cls, path: Path) -> Workload:
        data = json.loads(path.read_text())
        return cls(**{**data, "focus": [tuple(f) for f in data["focus"]]})


# -- the workload's files


def _song(seconds: float, path: Path) -> Path:
    """The demo song at 120 BPM, cut to exactly ``seconds``."""
    import soundfile as sf

    from studio.audio import synthesize_song

    bars = max(4, round(seconds / 2))
    structure: list[tuple[str, int]] = [("intro", 2)]
    while sum(n for _, n in structure) < bars:
        kind = "chorus" if len(structure) % 2 == 0 else "verse"
        structure.append((kind, min(8, bars - sum(n for _, n in structure))))
    audio, truth = synthesize_song(tempo=120.0, structure=tuple(structure), seed=11)
    sf.write(path, audio[: round(seconds * truth.sample_rate)], truth.sample_rate)
    return path


def _stills(count: int, folder: Path) -> tuple[list[str], list[tuple[float, float]]]:
    from PIL import Image

    from studio.providers.local import paint
    from studio.render import focus_point

    paths, focus = [], []
    for k in range(count):
        picture = paint(PROMPTS[k % len(PROMPTS)], 1280, 720, seed=k)
        path = folder / f"still-{k:02d}.png"
        Image.fromarray(picture).save(path, compress_level=1)
        paths.append(str(path))
        focus.append(focus_point(picture))
    return paths, focus


def _workload(seconds: float, folder: Path, stills: tuple[list[str], list[Any]]) -> Workload:
    scenes = round(seconds / SCENE_SECONDS)
    song = _song(seconds, folder / f"song-{seconds:g}.wav")
    return Workload(seconds, str(song), stills[0][:scenes], stills[1][:scenes])


# -- measuring one contender in its own process


def _tree(pid: int) -> dict[int, tuple[int, int, str]]:
    """``pid`` and all its descendants, now: resident kB, peak resident kB, program name."""
    found, stack = {}, [pid]
    while stack:
        p = stack.pop()
        try:
            status = Path(f"/proc/{p}/status").read_text()
            fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
            rss, hwm = (int(fields[k].split()[0]) for k in ("VmRSS", "VmHWM"))
            found[p] = (rss, hwm, fields["Name"].strip())
            for task in os.listdir(f"/proc/{p}/task"):
                children = Path(f"/proc/{p}/task/{task}/children").read_text()
                stack.extend(int(c) for c in children.split())
        except (OSError, KeyError, ValueError):
            continue  # it ended while we looked
    return found


@dataclass
class Run:
    wall: float
    """Seconds from start to exit, as the parent saw it."""
    peak_mb: float
    """Peak of the process tree's summed resident memory, sampled every 20 ms."""
    bound_mb: float
    """An upper bound of that peak between samples: the largest sum, over the processes alive
    at one sample, of each one's own lifetime peak (``VmHWM``)."""
    processes: dict[str, float]
    """The largest peak (``VmHWM``) of each program in the tree, by name."""
    report: dict[str, Any]
    """What a Python contender printed (its own timings) as JSON on its last line."""
    cpu: float
    """CPU seconds (user and system) of the process and every process it waited for."""


def _measure(command: list[str], log: Path) -> Run:
    """Run ``command`` to its end, timing it and sampling its process tree's memory."""
    peak = bound = 0
    processes: dict[str, int] = {}
    with log.open("w") as err, log.with_suffix(".out").open("w+") as out:
        start = time.perf_counter()
        proc = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=out, stderr=err, cwd=ROOT)
        done = threading.Event()

        def sample() -> None:
            nonlocal peak, bound
            while not done.is_set():
                now = _tree(proc.pid)
                peak = max(peak, sum(rss for rss, _, _ in now.values()))
                bound = max(bound, sum(hwm for _, hwm, _ in now.values()))
                for _, hwm, name in now.values():
                    processes[name] = max(processes.get(name, 0), hwm)
                done.wait(0.02)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        # wait4 reaps it: the sampler stops seeing it only once it has ended
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        done.set()
        sampler.join()
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            raise RuntimeError(f"{command[:3]} failed: {log.read_text()[-2000:]}")
        out.seek(0)
        lines = out.read().strip().splitlines()
    report = json.loads(lines[-1]) if lines and lines[-1].startswith("{") else {}
    mb = {name: kb / 1024 for name, kb in processes.items()}
    cpu = usage.ru_utime + usage.ru_stime
    return Run(wall, peak / 1024, bound / 1024, mb, report, cpu)


# -- the contenders


def _frames_file(work: Workload, path: Path, *, lyrics: bool) -> float:
    """Write the frames the studio's renderer makes for ``work``, with their burned lyrics or
    without, to ``path`` (raw YUV 4:2:0); returns the seconds that took. Synced to disk, so
    the floor reads settled files."""
    plan = work.plan() if lyrics else replace(work.plan(), subtitles=None)
    renderer = Renderer(plan, path.parent)
    renderer.prepare()
    start = time.perf_counter()
    with path.open("wb") as f:
        for picture in renderer.frames(plan.first, plan.last):
            for plane in (picture.y, picture.u, picture.v):
                f.write(plane.data)
        f.flush()
        os.fsync(f.fileno())
    return time.perf_counter() - start


@contextlib.contextmanager
def _raw_folder(size: int, fallback: Path) -> Iterator[Path]:
    """Where the floors' raw frames go: a folder in RAM (``/dev/shm``, removed afterwards)
    when it has room for ``size`` bytes and a gigabyte to spare, else ``fallback``. On this
    machine the kernel drops a file's cached pages within a minute of their last read (about
    40 % of 2.3 GB in 45 s), so from a file on disk the floor read part of its frames from the
    disk again in every round: up to 10 % slower, at random, which flattered every ratio."""
    shm = Path("/dev/shm")
    available = psutil.virtual_memory().available  # what RAM can give without swapping
    room = min(shutil.disk_usage(shm).free, available) if shm.is_dir() else 0
    if room < size + (1 << 30):
        print(f"  no room in RAM for {size / 2**30:.1f} GB of raw frames: the floors read "
              f"them from {fallback}, and their ratios flatter", file=sys.stderr)  # fmt: skip
        yield fallback
        return
    with tempfile.TemporaryDirectory(prefix="render-bench-", dir=shm) as tmp:
        yield Path(tmp)


def _floor_command(work: Workload, raw: Path, out: Path, burn: str | None) -> list[str]:
    """The studio's own segment encoder command reading ``raw`` instead of a pipe, with the
    song added and encoded to AAC as the studio's mux does."""
    command = encode_video_command(
        out, width=work.width, height=work.height, fps=FPS, codec=CODEC, burn=burn
    )
    at = command.index("pipe:0")
    command[at : at + 1] = [str(raw), "-i", work.song]
    at = command.index("-an")
    command[at : at + 1] = [
        "-map", "0:v:0", "-map", "1:a:0", *AUDIO, "-t", f"{work.frames / FPS:.6f}",
        "-movflags", "+faststart",
    ]  # fmt: skip
    return command


_CPU = """
import resource


def cpu():  # this process and the ones it has waited for (its encoders)
    return sum(u.ru_utime + u.ru_stime for u in map(resource.getrusage, (0, -1)))
"""

_STUDIO = (
    _CPU
    + """
import json, sys, time
from pathlib import Path
from benchmarks.render import Workload
from studio.render import render_video, verify

work, out = Workload.load(Path(sys.argv[1])), Path(sys.argv[2])
start, used = time.perf_counter(), cpu()
plan = work.plan()
render_video(plan, out, workdir=out.parent)
rendered, used = time.perf_counter(), cpu() - used
verify(out, frames=plan.frames, fps=plan.fps)
verified = time.perf_counter()
print(json.dumps({"seconds": rendered - start, "cpu_seconds": used,
                  "verify_seconds": verified - rendered}))
"""
)


def _zoompan(
    move: CameraMove, frames: int, focus: tuple[float, float], size: tuple[int, int]
) -> str:
    """A camera move as ``zoompan`` expressions (linear in the output frame ``on``)."""
    u = f"on/{max(1, frames - 1)}"
    middle = "x=(iw-iw/zoom)/2:y=(ih-ih/zoom)/2"
    if move is CameraMove.ZOOM_IN:
        how = f"z=1+0.15*{u}:{middle}"
    elif move is CameraMove.ZOOM_OUT:
        how = f"z=1.15-0.15*{u}:{middle}"
    elif move is CameraMove.PAN_LEFT:
        how = f"z=1.15:x=(iw-iw/zoom)*(1-{u}):y=(ih-ih/zoom)/2"
    elif move is CameraMove.PAN_RIGHT:
        how = f"z=1.15:x=(iw-iw/zoom)*{u}:y=(ih-ih/zoom)/2"
    else:
        fx, fy = focus
        how = f"z=1+0.3*{u}:x=(iw-iw/zoom)*{fx:.3f}:y=(ih-ih/zoom)*{fy:.3f}"
    return f"zoompan={how}:d={frames}:s={size[0]}x{size[1]}:fps={FPS}"


def _filtergraph_command(work: Workload, subtitles: Path, out: Path) -> list[str]:
    """One ffmpeg command: each still zoompanned for the frames it is on screen, chained
    with ``xfade`` at each crossfade, the lyrics burned with the ``ass`` filter."""
    inputs, chains = [], []
    for k, still in enumerate(work.stills):
        first, last = work.shown(k)
        inputs += ["-i", still]
        size = (work.width, work.height)
        move = _zoompan(MOVES[k % len(MOVES)], last - first, work.focus[k], size)
        chains.append(f"[{k}:v]{move},format=yuv420p,setsar=1[s{k}]")
    previous = "s0"
    for k in range(1, work.scenes):
        first, _ = work.shown(k)
        chains.append(
            f"[{previous}][s{k}]xfade=transition=fade:duration={CROSSFADE}"
            f":offset={first / FPS:.6f}[x{k}]"
        )
        previous = f"x{k}"
    chains.append(f"[{previous}]{subtitles_filter(subtitles, font_dir())}[video]")
    return [
        ffmpeg_path(), "-hide_banner", "-nostdin", "-y", "-loglevel", "error",
        *inputs, "-i", work.song, "-filter_complex", ";".join(chains),
        "-map", "[video]", "-map", f"{work.scenes}:a:0", *CODEC.args, *GOP, *AUDIO,
        "-t", f"{work.frames / FPS:.6f}", "-movflags", "+faststart", "-f", "mp4", str(out),
    ]  # fmt: skip


_MOVIEPY = (
    _CPU
    + """
import json, sys, time
from moviepy import AudioFileClip, CompositeVideoClip, ImageClip, TextClip, vfx

spec = json.load(open(sys.argv[1]))
W, H, FPS = spec["width"], spec["height"], spec["fps"]
start, used = time.perf_counter(), cpu()


def scene(s):
    d = s["duration"]
    image = ImageClip(s["still"]).with_duration(d)
    if s["move"] == "zoom_in":
        image = image.resized(lambda t: 1 + 0.15 * t / d).with_position("center")
    elif s["move"] == "zoom_out":
        image = image.resized(lambda t: 1.15 - 0.15 * t / d).with_position("center")
    elif s["move"] in ("pan_left", "pan_right"):
        ahead = s["move"] == "pan_right"
        image = image.resized(1.15).with_position(
            lambda t: (-0.15 * W * (t / d if ahead else 1 - t / d), -0.075 * H)
        )
    else:  # push in, towards the still's focus
        fx, fy = s["focus"]
        grow = lambda t: 1 + 0.3 * t / d
        image = image.resized(grow).with_position(
            lambda t: (-(grow(t) - 1) * W * fx, -(grow(t) - 1) * H * fy)
        )
    clip = CompositeVideoClip([image], size=(W, H), bg_color=(0, 0, 0)).with_duration(d)
    clip = clip.with_start(s["start"])
    return clip.with_effects([vfx.CrossFadeIn(s["fade"])]) if s["fade"] else clip


def line(l):
    text = TextClip(
        font=spec["font"], text=l["text"], font_size=spec["font_size"], color="white",
        stroke_color="black", stroke_width=2, margin=(4, 4),
    )
    text = text.with_start(l["start"]).with_duration(l["end"] - l["start"])
    return text.with_position(("center", H - spec["margin"] - text.h))


clips = [scene(s) for s in spec["scenes"]] + [line(l) for l in spec["lines"]]
video = CompositeVideoClip(clips, size=(W, H), bg_color=(0, 0, 0)).with_duration(spec["seconds"])
video = video.with_audio(AudioFileClip(spec["song"]).with_duration(spec["seconds"]))
video.write_videofile(
    spec["out"], fps=FPS, codec="libx264", preset="veryfast", ffmpeg_params=spec["params"],
    audio_codec="aac", audio_bitrate="192k", audio_fps=48000, logger=None,
    temp_audiofile_path=spec["temp"],
)
print(json.dumps({"seconds": time.perf_counter() - start, "cpu_seconds": cpu() - used}))
"""
)


def _moviepy_spec(work: Workload, out: Path) -> dict[str, Any]:
    scenes = []
    for k in range(work.scenes):
        first, last = work.shown(k)
        scenes.append(
            {
                "still": work.stills[k],
                "move": MOVES[k % len(MOVES)].value,
                "focus": work.focus[k],
                "start": first / FPS,
                "duration": (last - first) / FPS,
                "fade": CROSSFADE if k else 0.0,
            }
        )
    lines = [{"start": x.start, "end": x.end, "text": x.text} for x in work.lyrics().lines]
    params = [a for a in CODEC.args if a not in ("-c:v", "libx264", "-preset", "veryfast")]
    return {
        "width": work.width, "height": work.height, "fps": FPS, "seconds": work.frames / FPS,
        "song": work.song, "out": str(out), "temp": str(out.parent), "scenes": scenes,
        "lines": lines, "params": [*params, *GOP], "font": str(font_dir() / "DejaVuSans.ttf"),
        # the size and margin ass_document gives the default style at this height
        "font_size": round(SubtitleStyle().size * work.height / 1080),
        "margin": round(work.height * 0.06),
    }  # fmt: skip


def _run_all(
    work: Workload, folder: Path, *, moviepy: bool, rounds: int, studio_only: bool = False
) -> tuple[list[dict[str, Any]], float]:
    """Every contender on ``work`` (the floor and the studio alone with ``studio_only``), one
    at a time, ``rounds`` times over; returns a row per contender (``_rows``) and the seconds
    the studio's frames took to make alone (written to the floor's raw file)."""
    subtitles = folder / "lyrics.ass"
    subtitles.write_text(work.subtitles(), encoding="utf-8")
    spec = work.save(folder / "workload.json")
    burn = subtitles_filter(subtitles, font_dir())
    others = [
        ("studio", [sys.executable, "-c", _STUDIO, str(spec), str(folder / "studio.mp4")]),
        ("ffmpeg filtergraph", _filtergraph_command(work, subtitles, folder / "graph.mp4")),
    ]
    if moviepy:
        moviepy_spec = folder / "moviepy.json"
        moviepy_spec.write_text(json.dumps(_moviepy_spec(work, folder / "moviepy.mp4")))
        others.append(("moviepy 2", [sys.executable, "-c", _MOVIEPY, str(moviepy_spec)]))
    size = work.frames * work.width * work.height * 3 // 2
    with _raw_folder(2 * size, folder) as where:
        frames, plain = where / "frames.yuv", where / "plain.yuv"
        making = _frames_file(work, frames, lyrics=True)
        _frames_file(work, plain, lyrics=False)
        floors = [
            (FLOOR, _floor_command(work, frames, folder / "floor.mp4", None)),
            (PLAIN_FLOOR, _floor_command(work, plain, folder / "plain.mp4", None)),
            ("floor + burned lyrics", _floor_command(work, plain, folder / "lyrics.mp4", burn)),
        ]
        contenders = floors + others
        if studio_only:
            contenders = [c for c in contenders if c[0] in (FLOOR, PLAIN_FLOOR, "studio")]
        runs = _rounds(work, contenders, folder, rounds)
        frames.unlink()
        plain.unlink()
    return _rows(work, runs), making


def _rounds(
    work: Workload, contenders: list[tuple[str, list[str]]], folder: Path, rounds: int
) -> dict[str, list[dict[str, Any]]]:
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name, _ in contenders}
    for r in range(rounds):
        for name, command in contenders:
            if name == "moviepy 2" and r > 0:
                continue  # one run says all there is to say about it, and it is slow
            print(f"  {work.seconds:g} s, round {r + 1}: {name}...", file=sys.stderr, flush=True)
            run = _measure(command, folder / "contender.log")
            # every contender writes the one MP4 in the folder; check what it holds
            (out,) = folder.glob("*.mp4")
            info = probe(out, count_frames=True)
            out.unlink()
            runs[name].append(
                {
                    # a Python contender's own time (after its imports) where it reports one
                    "wall_seconds": run.report.get("seconds", run.wall),
                    "cpu_seconds": run.report.get("cpu_seconds", run.cpu),
                    "process_seconds": run.wall,
                    "peak_rss_mb": run.peak_mb,
                    "peak_rss_bound_mb": run.bound_mb,
                    "process_peaks_mb": run.processes,
                    "frames": info.frames,
                    "duration": info.duration,
                    "audio": info.audio,
                    **{k: v for k, v in run.report.items() if k != "seconds"},
                }
            )
    return runs


def _rows(work: Workload, runs: dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """A row per contender: its median wall time; its ratio to the floor the median of each
    round's ratio to that round's floor, those ratios kept beside it (and the same against the
    floor without lyrics, to compare with runs made before the floor had them)."""

    def ratios(found: list[dict[str, Any]], floor: str, key: str) -> list[float]:
        # MoviePy's one run against the first round's floor
        return [r[key] / f[key] for r, f in zip(found, runs[floor], strict=False)]

    rows = []
    for name, found in runs.items():
        walls = [r["wall_seconds"] for r in found]
        each = ratios(found, FLOOR, "wall_seconds")
        plain = ratios(found, PLAIN_FLOOR, "wall_seconds")
        rows.append(
            {
                **found[-1],
                "contender": name,
                "song_seconds": work.frames / FPS,
                "scenes": work.scenes,
                "rounds": len(found),
                "wall_seconds": statistics.median(walls),
                "wall_seconds_each": walls,
                "ratio_to_floor": statistics.median(each),
                "ratio_to_floor_each": each,
                "ratio_to_floor_interval": _median_interval(each),
                "ratio_to_floor_without_lyrics": statistics.median(plain),
                "cpu_seconds": statistics.median(r["cpu_seconds"] for r in found),
                "cpu_ratio_to_floor": statistics.median(ratios(found, FLOOR, "cpu_seconds")),
                "peak_rss_mb": max(r["peak_rss_mb"] for r in found),
                "peak_rss_bound_mb": max(r["peak_rss_bound_mb"] for r in found),
            }
        )
    return rows


def _studio_alone(work: Workload, folder: Path) -> dict[str, Any]:
    spec = work.save(folder / "workload.json")
    out = folder / "studio.mp4"
    run = _measure([sys.executable, "-c", _STUDIO, str(spec), str(out)], folder / "studio.log")
    info = probe(out, count_frames=True)
    out.unlink()
    return {
        "contender": f"studio at {work.width}x{work.height}",
        "song_seconds": work.frames / FPS,
        "wall_seconds": run.report["seconds"],
        "verify_seconds": run.report["verify_seconds"],
        "peak_rss_mb": run.peak_mb,
        "peak_rss_bound_mb": run.bound_mb,
        "process_peaks_mb": run.processes,
        "frames": info.frames,
    }


def _machine() -> dict[str, Any]:
    try:
        from importlib.metadata import version

        moviepy = version("moviepy")
    except ImportError:
        moviepy = None
    return machine_info(moviepy=moviepy)


HAVE_MOVIEPY = importlib.util.find_spec("moviepy") is not None
"""MoviePy comes with the ``bench`` extra (``pip install -e '.[bench]'``); without it, its
run is skipped."""


def _median_interval(values: list[float], level: float = 0.9) -> dict[str, float] | None:
    """An interval holding the median of what ``values`` are drawn from with at least
    ``level`` confidence, whatever its distribution: the k-th lowest to the k-th highest value,
    for the largest k that keeps the chance of the median falling outside (each value is as
    likely above it as below: a binomial tail on each side) under ``1 - level``. None with
    too few values (four give at most 87.5 %)."""
    n, ordered = len(values), sorted(values)
    found = None
    for k in range(1, n // 2 + 1):
        outside = 2 * sum(math.comb(n, i) for i in range(k)) / 2**n
        if 1 - outside < level:
            break
        found = {"low": ordered[k - 1], "high": ordered[n - k], "confidence": 1 - outside}
    return found


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, nargs="+", default=[60.0, 180.0])
    parser.add_argument("--skip-moviepy", action="store_true")
    parser.add_argument(
        "--moviepy-up-to",
        type=float,
        default=60.0,
        help="run MoviePy only for songs up to this many seconds (it is slow)",
    )
    parser.add_argument("--skip-1080", action="store_true", help="skip studio's 1080p run")
    parser.add_argument(
        "--rounds", type=int, default=3, help="runs of each contender (MoviePy runs once)"
    )
    parser.add_argument(
        "--studio-only",
        action="store_true",
        help="run only the floor and the studio (no MoviePy, filtergraph or 1080p run)",
    )
    args = parser.parse_args()
    if args.studio_only:
        args.skip_moviepy = args.skip_1080 = True
    machine = _machine()
    rows: list[dict[str, Any]] = []
    making: dict[float, float] = {}
    with tempfile.TemporaryDirectory(prefix="render-bench-") as tmp:
        folder = Path(tmp)
        longest = max(args.seconds)
        stills = _stills(round(longest / SCENE_SECONDS), folder)
        for seconds in args.seconds:
            work = _workload(seconds, folder, stills)
            moviepy = not args.skip_moviepy and seconds <= args.moviepy_up_to and HAVE_MOVIEPY
            found, making[work.frames / FPS] = _run_all(
                work, folder, moviepy=moviepy, rounds=args.rounds, studio_only=args.studio_only
            )
            rows += found
        full_hd = None
        if not args.skip_1080:
            base = _workload(60.0, folder, stills)
            work = Workload(base.seconds, base.song, base.stills, base.focus, 1920, 1080)
            full_hd = _studio_alone(work, folder)
    for r in rows:
        r["x_real_time"] = r["song_seconds"] / r["wall_seconds"]
    _print(machine, rows, making, full_hd, args)
    studio = {r["song_seconds"]: r["wall_seconds"] for r in rows if r["contender"] == "studio"}
    linearity = None
    if len(studio) >= 2:
        (short, a), (long, b) = min(studio.items()), max(studio.items())
        linearity = {"lengths": [short, long], "ratio": b / a, "ideal": long / short}
        print(f"\nstudio linearity: {long:g} s took {b / a:.2f}x the {short:g} s render "
              f"(ideal {long / short:.1f})")  # fmt: skip
    results = RESULTS
    if args.studio_only:  # e.g. render-studio-only-180s.json
        lengths = "-".join(f"{s:g}s" for s in args.seconds)
        results = RESULTS.with_name(f"render-studio-only-{lengths}.json")
    results.parent.mkdir(exist_ok=True)
    results.write_text(
        json.dumps(
            {
                **machine,
                "settings": {
                    "size": "1280x720", "fps": FPS, "video": [*CODEC.args, *GOP],
                    "audio": AUDIO, "scene_seconds": SCENE_SECONDS, "crossfade": CROSSFADE,
                    "lyric_lines_per_minute": LINES_PER_MINUTE,
                    "moves": [m.value for m in MOVES],
                },
                "runs": rows,
                "studio_frames_alone_seconds": making,
                "studio_linearity": linearity,
                "studio_1080p": full_hd,
            },
            indent=2,
        )
    )  # fmt: skip


def _print(
    machine: dict[str, Any],
    rows: list[dict[str, Any]],
    making: dict[float, float],
    full_hd: dict[str, Any] | None,
    args: argparse.Namespace,
) -> None:
    print(f"## Render of issue 5's reference workload ({machine['cpu']}, {machine['cores']} "
          f"cores, load {machine['load_average_at_start'][0]:.2f})\n")  # fmt: skip
    print(
        "| contender | song (s) | wall (s) | ratio to floor (rounds) | CPU (s) | CPU ratio "
        "| x real time | peak RSS (MB; bound) |\n|---|---|---|---|---|---|---|---|"
    )
    for r in rows:
        print(
            f"| {r['contender']} | {r['song_seconds']:g} | {r['wall_seconds']:.1f} | "
            f"{r['ratio_to_floor']:.2f} ({_spread(r)}) | "
            f"{r['cpu_seconds']:.1f} | "
            f"{r['cpu_ratio_to_floor']:.2f} | {r['x_real_time']:.2f} | "
            f"{r['peak_rss_mb']:.0f} (<= {r['peak_rss_bound_mb']:.0f}) |"
        )
    print()
    for r in rows:
        if r["contender"] == "studio":
            alone = making[r["song_seconds"]]
            print(
                f"studio at {r['song_seconds']:g} s: verification read-back "
                f"{r['verify_seconds']:.1f} s (inside its wall time; timed again after the "
                f"render); its frames alone (made and written to a raw file, no encoder) "
                f"{alone:.1f} s; its ratio to the floor without lyrics "
                f"{r['ratio_to_floor_without_lyrics']:.2f}"
            )
    if not args.skip_moviepy:
        skipped = [s for s in args.seconds if s > args.moviepy_up_to]
        if skipped:
            print(f"MoviePy not run at {', '.join(f'{s:g}' for s in skipped)} s (too slow; "
                  "see --moviepy-up-to)")  # fmt: skip
    if full_hd is not None:
        seconds, wall = full_hd["song_seconds"], full_hd["wall_seconds"]
        print(
            f"studio at 1920x1080, {seconds:g} s: {wall:.1f} s ({seconds / wall:.2f}x real "
            f"time), peak RSS {full_hd['peak_rss_mb']:.0f} MB sampled, at most "
            f"{full_hd['peak_rss_bound_mb']:.0f} MB between samples; by program: "
            + ", ".join(f"{k} {v:.0f} MB" for k, v in full_hd["process_peaks_mb"].items())
        )


def _spread(row: dict[str, Any]) -> str:
    """The lowest and highest of a row's per-round ratios (how far the machine's noise moved
    it in this run), and the interval holding their median, where there are rounds enough."""
    values = row["ratio_to_floor_each"]
    low, high = min(values), max(values)
    said = f"{low:.2f}" if high - low < 0.005 else f"{low:.2f} to {high:.2f}"
    interval = row.get("ratio_to_floor_interval")
    if interval is not None and row["contender"] != FLOOR:
        said += (f"; median within {interval['low']:.2f} to {interval['high']:.2f}, "
                 f"{interval['confidence']:.0%} sure")  # fmt: skip
    return said


if __name__ == "__main__":
    main()
