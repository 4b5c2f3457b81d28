"""Reading ffmpeg: its ``-progress`` stream, and what a media file holds (with ffmpeg alone:
the imageio-ffmpeg wheel ships no ffprobe)."""

from __future__ import annotations

import contextlib
import re
import subprocess
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from studio.errors import RenderError
from studio.render._ffmpeg import ffmpeg_path, packets_command

__all__ = ["MediaInfo", "ProgressParser", "StreamTimes", "probe", "verify"]


class ProgressParser:
    """Collects ``key=value`` lines of ``-progress``; each ``progress=`` line ends a block."""

    def __init__(self) -> None:
        self._block: dict[str, str] = {}

    def feed(self, line: str) -> dict[str, float | str] | None:
        key, sep, value = line.strip().partition("=")
        if not sep:
            return None
        self._block[key] = value.strip()
        if key != "progress":
            return None
        block, self._block = self._block, {}
        out: dict[str, float | str] = {"progress": block.get("progress", "")}
        for name in ("frame", "fps"):
            with contextlib.suppress(KeyError, ValueError):
                out[name] = float(block[name])
        with contextlib.suppress(KeyError, ValueError):
            out["time"] = int(block["out_time_us"]) / 1e6
        speed = block.get("speed", "").rstrip("x")
        with contextlib.suppress(ValueError):
            out["speed"] = float(speed)
        return out


@dataclass(frozen=True)
class MediaInfo:
    duration: float
    video: str | None
    width: int | None
    height: int | None
    audio: str | None
    frames: int | None
    audio_rate: int | None = None
    audio_channels: int | None = None
    fps: float | None = None


def probe(path: Path, *, count_frames: bool = False) -> MediaInfo:
    """Duration and streams of a media file; ``count_frames`` decodes nothing but reads every
    packet of the first video stream to count its frames."""
    args = [ffmpeg_path(), "-hide_banner", "-nostdin", "-i", str(path)]
    if count_frames:
        args += ["-map", "0:v:0", "-c", "copy", "-f", "null", "-"]
    done = subprocess.run(args, capture_output=True, text=True, timeout=120)
    text = done.stderr
    duration = re.search(r"Duration: (\d+):(\d+):(\d+\.\d+)", text)
    if not duration:
        raise RenderError(
            f"{path.name} is not a media file ffmpeg can read", hint=text[-300:].strip()
        )
    h, m, s = duration.groups()
    video = re.search(r"Stream #\S+.*?: Video: (\w+).*?, (\d{2,5})x(\d{2,5})", text)
    audio = re.search(r"Stream #\S+.*?: Audio: (\w+)[^\n]*?, (\d+) Hz, ([^,\n]+)", text)
    rate = re.search(r"Stream #\S+.*?: Video: [^\n]*?, (\d+(?:\.\d+)?) fps", text)
    frames = None
    if count_frames:
        found = re.findall(r"frame=\s*(\d+)", text)
        frames = int(found[-1]) if found else None
    return MediaInfo(
        duration=int(h) * 3600 + int(m) * 60 + float(s),
        video=video.group(1) if video else None,
        width=int(video.group(2)) if video else None,
        height=int(video.group(3)) if video else None,
        audio=audio.group(1) if audio else None,
        frames=frames,
        audio_rate=int(audio.group(2)) if audio else None,
        audio_channels=_channels(audio.group(3)) if audio else None,
        fps=float(rate.group(1)) if rate else None,
    )


def _channels(layout: str) -> int:
    """ffmpeg's channel layout words as a count: mono 1, stereo 2, 5.1 6, '3 channels' 3."""
    layout = layout.strip()
    named = {"mono": 1, "stereo": 2, "2.1": 3, "quad": 4, "5.0": 5, "5.1": 6, "7.1": 8}
    base = layout.split("(")[0].strip()
    if base in named:
        return named[base]
    count = re.match(r"(\d+) channels", layout)
    return int(count.group(1)) if count else 2


@dataclass(frozen=True)
class StreamTimes:
    packets: int
    start: float
    end: float


def _framecrc(text: str) -> dict[int, StreamTimes]:
    """Per stream: packet count, first time, and end (the last packet's time plus its
    duration), from ``framecrc`` lines ``stream, dts, pts, duration, size, crc``."""
    bases: dict[int, float] = {}
    for n, num, den in re.findall(r"^#tb (\d+): (\d+)/(\d+)", text, re.M):
        bases[int(n)] = int(num) / int(den)
    counts: dict[int, int] = {}
    starts: dict[int, int] = {}
    ends: dict[int, int] = {}
    for line in text.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        fields = [f.strip() for f in line.split(",")]
        stream, pts, duration = int(fields[0]), int(fields[2]), int(fields[3])
        counts[stream] = counts.get(stream, 0) + 1
        starts[stream] = min(starts.get(stream, pts), pts)
        ends[stream] = max(ends.get(stream, pts + duration), pts + duration)
    return {
        s: StreamTimes(counts[s], starts[s] * bases.get(s, 1.0), ends[s] * bases.get(s, 1.0))
        for s in counts
    }


def _run(args: list[str]) -> str:
    try:
        done = subprocess.run(args, capture_output=True, text=True, timeout=300)
    except subprocess.TimeoutExpired as exc:
        raise RenderError("ffmpeg took too long reading a render back") from exc
    if done.returncode != 0:
        raise RenderError("ffmpeg could not read a render back", hint=done.stderr[-300:].strip())
    return done.stdout


def verify(path: Path, *, frames: int, fps: int, audio: bool = True) -> dict[str, float]:
    """Read a finished render back and check it against what was asked for: the frame count,
    the duration to within one frame, video and audio starting together (within one frame)
    and ending together. Returns what it measured; raises ``RenderError`` naming the fault."""
    frame = 1.0 / fps
    streams = ("0:v:0", "0:a:0") if audio else ("0:v:0",)
    # the short reads, each an ffmpeg of its own, run side by side
    with ThreadPoolExecutor(len(streams) + 1) as pool:
        listing = pool.submit(_run, packets_command(path, streams=streams))
        starts = [pool.submit(_first_time, path, stream) for stream in streams]
        packets = _framecrc(listing.result())
        video = packets.get(0)
        if video is None:
            raise RenderError(f"{path.name} has no video stream")
        sound = packets.get(1)
        if audio and sound is None:
            raise RenderError(f"{path.name} has no audio stream")
        times = [start.result() for start in starts]
    report = {
        "frames": float(video.packets),
        "duration": video.end - video.start,
        "video_start": times[0],
    }
    faults = []
    if video.packets != frames:
        faults.append(f"{video.packets} frames instead of {frames}")
    if abs(report["duration"] - frames / fps) > frame:
        faults.append(f"video lasts {report['duration']:.3f} s instead of {frames / fps:.3f} s")
    if sound is not None:
        report["audio_start"] = times[1]
        report["audio_end"] = sound.end
        report["offset"] = report["audio_start"] - report["video_start"]
        if abs(report["offset"]) > frame:
            faults.append(f"audio starts {report['offset'] * 1000:+.1f} ms from the video")
        if abs(sound.end - frames / fps) > frame:
            faults.append(f"audio ends at {sound.end:.3f} s, the video at {frames / fps:.3f} s")
    if faults:
        raise RenderError(
            f"the render of {path.name} does not check out: " + "; ".join(faults),
            hint="render again; if it repeats, report it with the job's log",
        )
    return report


def _first_time(path: Path, stream: str) -> float:
    """When the first decoded frame of ``stream`` starts (one stream a run: with two, ffmpeg
    may end the run before a decoder with a delay has given its first frame)."""
    command = packets_command(path, streams=(stream,), decode_first=True)
    found = _framecrc(_run(command)).get(0)
    if found is None:
        raise RenderError(f"{path.name}: stream {stream} has no frame to decode")
    return found.start
