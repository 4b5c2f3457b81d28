"""Reading ffmpeg: its ``-progress`` stream, and what a media file holds (with ffmpeg alone:
the imageio-ffmpeg wheel ships no ffprobe)."""

from __future__ import annotations

import contextlib
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from studio.errors import RenderError
from studio.render._ffmpeg import ffmpeg_path

__all__ = ["MediaInfo", "ProgressParser", "probe"]


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
