"""What a file is, read from its bytes: the media type, an image's size, a WAV's length and
rate, an MP4's size, length and frame rate.

Replicate hands back URLs, and the file behind a URL is whatever the model wrote; the studio
reports what it got, not what it asked for. Everything here reads headers only, in pure
Python (no ffmpeg: the render layer owns that).
"""

from __future__ import annotations

import io
import mimetypes
import struct
import wave
from dataclasses import dataclass
from urllib.parse import urlsplit

__all__ = [
    "VideoInfo",
    "extension_for",
    "image_size",
    "image_type",
    "media_type",
    "mp4_info",
    "wav_info",
]

_IMAGE_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)
_EXTENSIONS = {
    "image/png": ".png",
    "image/jpeg": ".jpg",
    "image/gif": ".gif",
    "image/webp": ".webp",
}


def image_type(data: bytes) -> str | None:
    """``image/png``, ``image/jpeg``, ``image/webp`` or ``image/gif``, or None."""
    for magic, kind in _IMAGE_MAGIC:
        if data.startswith(magic):
            return kind
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def extension_for(kind: str) -> str:
    return _EXTENSIONS.get(kind, ".bin")


def _sniff(data: bytes) -> str | None:
    image = image_type(data)
    if image:
        return image
    if data[4:8] == b"ftyp":
        return "video/quicktime" if data[8:12] == b"qt  " else "video/mp4"
    if data.startswith(b"\x1a\x45\xdf\xa3"):
        return "video/webm"
    if data[:4] == b"RIFF" and data[8:12] == b"WAVE":
        return "audio/wav"
    if data.startswith(b"fLaC"):
        return "audio/flac"
    if data.startswith(b"OggS"):
        return "audio/ogg"
    if data.startswith(b"ID3") or (len(data) > 1 and data[0] == 0xFF and data[1] & 0xE0 == 0xE0):
        return "audio/mpeg"
    return None


def media_type(data: bytes, url: str = "", content_type: str | None = None) -> str:
    """The media type of ``data``: from its first bytes, else the URL's extension, else the
    server's Content-Type, else ``application/octet-stream``."""
    found = _sniff(data)
    if found:
        return found
    guessed, _ = mimetypes.guess_type(urlsplit(url).path) if url else (None, None)
    if guessed:
        return guessed
    if content_type:
        kind = content_type.split(";")[0].strip().lower()
        if kind and kind != "application/octet-stream":
            return kind
    return "application/octet-stream"


def image_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) from the image's header, or None if it cannot be read."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as image:
            width, height = image.size
    except (UnidentifiedImageError, OSError, ValueError):
        return None
    return (int(width), int(height)) if width > 0 and height > 0 else None


def wav_info(data: bytes) -> tuple[float, int] | None:
    """(seconds, sample rate) of a WAV file, or None if it is not one Python can read."""
    try:
        with wave.open(io.BytesIO(data), "rb") as wav:
            rate = wav.getframerate()
            frames = wav.getnframes()
    except (wave.Error, EOFError, OSError, ValueError):
        return None
    return (frames / rate, rate) if rate > 0 else None


@dataclass(frozen=True)
class VideoInfo:
    """What an MP4's video track says about itself."""

    width: int
    height: int
    duration: float
    fps: float | None


def _boxes(data: bytes, start: int, end: int) -> list[tuple[bytes, int, int]]:
    """The ISO-BMFF boxes between ``start`` and ``end``: (type, payload start, payload end)."""
    found: list[tuple[bytes, int, int]] = []
    at = start
    while at + 8 <= end:
        size, kind = struct.unpack(">I4s", data[at : at + 8])
        header = 8
        if size == 1:
            if at + 16 > end:
                break
            size = struct.unpack(">Q", data[at + 8 : at + 16])[0]
            header = 16
        elif size == 0:
            size = end - at
        if size < header or at + size > end:
            break
        found.append((kind, at + header, at + size))
        at += size
    return found


def _child(data: bytes, box: tuple[bytes, int, int], *path: bytes) -> tuple[bytes, int, int] | None:
    current: tuple[bytes, int, int] | None = box
    for name in path:
        if current is None:
            return None
        current = next((b for b in _boxes(data, current[1], current[2]) if b[0] == name), None)
    return current


def _timescale_and_duration(data: bytes, box: tuple[bytes, int, int]) -> tuple[int, int] | None:
    """(timescale, duration) of an ``mvhd`` or ``mdhd`` box."""
    _, at, end = box
    if at + 4 > end:
        return None
    version = data[at]
    if version == 1 and at + 32 <= end:
        timescale, duration = struct.unpack(">IQ", data[at + 20 : at + 32])
    elif version == 0 and at + 20 <= end:
        timescale, duration = struct.unpack(">II", data[at + 12 : at + 20])
    else:
        return None
    return (timescale, duration) if timescale > 0 else None


def mp4_info(data: bytes) -> VideoInfo | None:
    """Size, length and frame rate of an MP4/MOV's first video track, or None."""
    moov = next((b for b in _boxes(data, 0, len(data)) if b[0] == b"moov"), None)
    if moov is None:
        return None
    movie = _child(data, moov, b"mvhd")
    movie_time = _timescale_and_duration(data, movie) if movie else None
    for trak in (b for b in _boxes(data, moov[1], moov[2]) if b[0] == b"trak"):
        handler = _child(data, trak, b"mdia", b"hdlr")
        if handler is None or data[handler[1] + 8 : handler[1] + 12] != b"vide":
            continue
        header = _child(data, trak, b"tkhd")
        if header is None or header[2] - header[1] < 84:
            continue
        width, height = struct.unpack(">II", data[header[2] - 8 : header[2]])
        width, height = width >> 16, height >> 16
        media = _child(data, trak, b"mdia", b"mdhd")
        media_time = _timescale_and_duration(data, media) if media else None
        timing = media_time or movie_time
        if timing is None or width <= 0 or height <= 0:
            return None
        duration = timing[1] / timing[0]
        fps: float | None = None
        stts = _child(data, trak, b"mdia", b"minf", b"stbl", b"stts")
        if stts is not None and media_time is not None and duration > 0:
            _, at, end = stts
            count = struct.unpack(">I", data[at + 4 : at + 8])[0] if at + 8 <= end else 0
            frames = 0
            for i in range(count):
                entry = at + 8 + 8 * i
                if entry + 8 > end:
                    break
                frames += struct.unpack(">I", data[entry : entry + 4])[0]
            fps = round(frames / duration, 3) if frames else None
        return VideoInfo(width=width, height=height, duration=round(duration, 3), fps=fps)
    return None
