"""Where ffmpeg is, what it can do, and the command lines the studio runs with it."""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from studio.errors import RenderError

__all__ = [
    "FfmpegInfo",
    "compact_audio_command",
    "concat_command",
    "decode_audio_command",
    "encode_frames_command",
    "ffmpeg_info",
    "ffmpeg_path",
    "testcard_command",
]


def ffmpeg_path() -> str:
    """``STUDIO_FFMPEG`` if set, else the binary of the imageio-ffmpeg wheel (which itself honours
    ``IMAGEIO_FFMPEG_EXE`` and falls back to a system ffmpeg)."""
    explicit = os.environ.get("STUDIO_FFMPEG")
    if explicit:
        found = shutil.which(explicit) or (explicit if Path(explicit).is_file() else None)
        if not found:
            raise RenderError(
                f"STUDIO_FFMPEG points at {explicit!r}, which is not an executable",
                hint="fix or unset STUDIO_FFMPEG",
            )
        return found
    try:
        import imageio_ffmpeg

        return str(imageio_ffmpeg.get_ffmpeg_exe())
    except (ImportError, RuntimeError) as exc:
        system = shutil.which("ffmpeg")
        if system:
            return system
        raise RenderError(
            "no ffmpeg found",
            hint="reinstall the studio (it brings imageio-ffmpeg) or set STUDIO_FFMPEG",
        ) from exc


@dataclass(frozen=True)
class FfmpegInfo:
    path: str
    version: str
    encoders: frozenset[str] = field(default_factory=frozenset)
    filters: frozenset[str] = field(default_factory=frozenset)


def _names(output: str) -> frozenset[str]:
    # lines look like " V....D libx264   H.264 ..." after a legend ending in "------"
    body = output.split("------", 1)[-1]
    return frozenset(m.group(1) for m in re.finditer(r"^\s*\S+\s+(\S+)", body, re.M))


@functools.cache
def ffmpeg_info() -> FfmpegInfo:
    exe = ffmpeg_path()

    def run(*args: str) -> str:
        try:
            done = subprocess.run(
                [exe, "-hide_banner", *args], capture_output=True, text=True, timeout=30
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise RenderError(f"ffmpeg at {exe} does not run: {exc}") from exc
        return done.stdout

    first = run("-version").splitlines()
    version = first[0] if first else "unknown"
    return FfmpegInfo(exe, version, _names(run("-encoders")), _names(run("-filters")))


def testcard_command(out: Path, *, duration: float, width: int, height: int, fps: int) -> list[str]:
    """A test card (moving pattern and a 440 Hz tone) of ``duration`` seconds, H.264 + AAC."""
    return [
        ffmpeg_path(), "-hide_banner", "-nostdin", "-y", "-loglevel", "error",
        "-progress", "pipe:1", "-nostats",
        "-f", "lavfi", "-i", f"testsrc2=size={width}x{height}:rate={fps}:duration={duration:.6f}",
        "-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=48000:duration={duration:.6f}",
        "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-g", str(fps),
        "-c:a", "aac", "-b:a", "96k", "-shortest", "-movflags", "+faststart",
        "-f", "mp4", str(out),
    ]  # fmt: skip


def concat_command(list_file: Path, out: Path) -> list[str]:
    """Join segments listed in an ffconcat file without re-encoding."""
    return [
        ffmpeg_path(), "-hide_banner", "-nostdin", "-y", "-loglevel", "error",
        "-progress", "pipe:1", "-nostats",
        "-f", "concat", "-safe", "0", "-i", str(list_file),
        "-c", "copy", "-movflags", "+faststart", "-f", "mp4", str(out),
    ]  # fmt: skip


def decode_audio_command(source: Path, *, sample_rate: int | None = None) -> list[str]:
    """Decode the first audio stream of any file ffmpeg reads (a video's too) to 32-bit float
    PCM on stdout, interleaved, at the file's own rate unless ``sample_rate`` is given."""
    rate = ["-ar", str(sample_rate)] if sample_rate else []
    return [
        ffmpeg_path(), "-hide_banner", "-nostdin", "-loglevel", "error",
        "-i", str(source), "-map", "0:a:0", "-vn", *rate,
        "-f", "f32le", "-acodec", "pcm_f32le", "pipe:1",
    ]  # fmt: skip


def compact_audio_command(source: Path, dest: Path, *, bitrate: str = "32k") -> list[str]:
    """A small mono Opus copy of a song (Ogg), for sending to a provider (32 kbps: about
    4 MB for 20 minutes; speech and singing stay clear)."""
    return [
        ffmpeg_path(), "-hide_banner", "-nostdin", "-loglevel", "error", "-y",
        "-i", str(source), "-map", "0:a:0", "-vn", "-ac", "1",
        "-c:a", "libopus", "-b:a", bitrate, "-f", "ogg", str(dest),
    ]  # fmt: skip


def encode_frames_command(
    out: Path, *, width: int, height: int, fps: int, crf: int = 17, preset: str = "veryfast"
) -> list[str]:
    """Raw RGB frames on stdin to an H.264 MP4 (BT.709, tagged), for intermediate clips: a low
    CRF so the final render's re-encode starts from near-lossless material."""
    return [
        ffmpeg_path(), "-hide_banner", "-nostdin", "-y", "-loglevel", "error",
        "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{width}x{height}", "-r", str(fps),
        "-i", "pipe:0",
        "-vf", "scale=out_color_matrix=bt709:out_range=tv",
        "-c:v", "libx264", "-preset", preset, "-crf", str(crf), "-pix_fmt", "yuv420p",
        "-colorspace", "bt709", "-color_primaries", "bt709", "-color_trc", "bt709",
        "-g", str(fps * 2), "-movflags", "+faststart", "-an", "-f", "mp4", str(out),
    ]  # fmt: skip
