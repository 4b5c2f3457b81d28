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
    "VideoCodec",
    "animation_command",
    "audio_command",
    "compact_audio_command",
    "concat_command",
    "decode_audio_command",
    "decode_video_command",
    "encode_frames_command",
    "encode_video_command",
    "ffmpeg_info",
    "ffmpeg_path",
    "looks_command",
    "loudness_command",
    "mux_command",
    "packets_command",
    "subtitles_filter",
    "testcard_command",
    "video_codec",
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


def decode_video_command(
    source: Path,
    *,
    width: int,
    height: int,
    fps: int,
    start: float = 0.0,
    focus: tuple[float, float] = (0.5, 0.5),
) -> list[str]:
    """A video as raw BT.709 YUV 4:2:0 frames on stdout, at ``fps``, from ``start`` seconds,
    scaled to cover ``width`` x ``height`` and cropped with ``focus`` (fractions of the
    picture) as near the middle as the picture allows: a 16:9 take reframed to 9:16 keeps its
    subject."""
    fx, fy = (min(1.0, max(0.0, f)) for f in focus)
    chain = (
        f"fps={fps}:round=near,"
        f"scale={width}:{height}:force_original_aspect_ratio=increase:flags=bicubic"
        ":out_color_matrix=bt709:out_range=tv,"
        f"crop={width}:{height}:max(0\\,min(iw-{width}\\,iw*{fx:.4f}-{width / 2}))"
        f":max(0\\,min(ih-{height}\\,ih*{fy:.4f}-{height / 2})),format=yuv420p"
    )
    return [
        ffmpeg_path(), "-hide_banner", "-nostdin", "-loglevel", "error",
        "-ss", f"{start:.6f}", "-i", str(source), "-map", "0:v:0", "-an", "-sn",
        "-vf", chain, "-f", "rawvideo", "-pix_fmt", "yuv420p", "pipe:1",
    ]  # fmt: skip


@dataclass(frozen=True)
class VideoCodec:
    """The encoder settings of one output format and quality."""

    container: str
    args: tuple[str, ...]


_H264 = ("-c:v", "libx264", "-pix_fmt", "yuv420p", "-profile:v", "high")
_VP9 = ("-c:v", "libvpx-vp9", "-pix_fmt", "yuv420p", "-b:v", "0", "-row-mt", "1")
_CODECS = {
    ("mp4", "draft"): (*_H264, "-preset", "ultrafast", "-crf", "26"),
    ("mp4", "standard"): (*_H264, "-preset", "veryfast", "-crf", "20"),
    ("mp4", "high"): (*_H264, "-preset", "medium", "-crf", "18"),
    ("webm", "draft"): (*_VP9, "-crf", "40", "-deadline", "realtime", "-cpu-used", "8"),
    ("webm", "standard"): (*_VP9, "-crf", "33", "-deadline", "realtime", "-cpu-used", "6"),
    ("webm", "high"): (*_VP9, "-crf", "31", "-deadline", "good", "-cpu-used", "4"),
}


def video_codec(container: str, quality: str) -> VideoCodec:
    try:
        return VideoCodec(container, _CODECS[(container, quality)])
    except KeyError:
        known = ", ".join(sorted({f"{c}/{q}" for c, q in _CODECS}))
        raise RenderError(
            f"no encoder settings for {container} at {quality} quality", hint=f"use one of {known}"
        ) from None


def encode_video_command(
    out: Path,
    *,
    width: int,
    height: int,
    fps: int,
    codec: VideoCodec,
    first_frame: int = 0,
    burn: str | None = None,
    cuts: tuple[int, ...] = (),
    first_number: int = 0,
) -> list[str]:
    """Raw YUV 4:2:0 frames on stdin to video-only files (BT.709, tagged), reporting on stdout
    with ``-progress``. ``burn`` is a filter (subtitles) applied on the song's clock: the
    frames are stamped from ``first_frame`` while it runs, then back from zero.

    With ``cuts`` (frame numbers counted from the first frame piped), one encoder makes a
    file per stretch: ``out`` is then a pattern with one ``%05d``, numbered from
    ``first_number``. Each file starts on a keyframe made for it and at zero, so the files
    join without gaps; the muxer closes each file before it opens the next."""
    if burn:
        shift = f"setpts=PTS+{first_frame}/({fps}*TB),{burn},setpts=PTS-STARTPTS"
        video_filter = ["-vf", shift]
    else:
        video_filter = []
    # one keyframe at the start of each file and then every two seconds; no scene-cut
    # keyframes at odd places, so the files join cleanly
    gop = ["-g", str(2 * fps)]
    if codec.container == "mp4":
        gop += ["-x264-params", "scenecut=0:open-gop=0"]
    if cuts:
        forced = "+".join(f"eq(n,{n})" for n in cuts)
        output = [
            "-force_key_frames", f"expr:{forced}", "-f", "segment",
            "-segment_format", codec.container,
            "-segment_frames", ",".join(str(n) for n in cuts),
            "-segment_start_number", str(first_number), "-reset_timestamps", "1",
        ]  # fmt: skip
    else:
        output = ["-f", codec.container]
    return [
        ffmpeg_path(), "-hide_banner", "-nostdin", "-y", "-loglevel", "error",
        "-progress", "pipe:1", "-nostats",
        "-f", "rawvideo", "-pix_fmt", "yuv420p", "-s", f"{width}x{height}", "-r", str(fps),
        "-colorspace", "bt709", "-color_primaries", "bt709", "-color_trc", "bt709",
        "-color_range", "tv", "-i", "pipe:0", *video_filter,
        *codec.args, *gop,
        "-colorspace", "bt709", "-color_primaries", "bt709", "-color_trc", "bt709",
        "-color_range", "tv", "-an", *output, str(out),
    ]  # fmt: skip


def loudness_command(song: Path, *, start: float, duration: float, target: float) -> list[str]:
    """The first pass of EBU R128 loudness normalisation: measures the song's stretch and
    prints loudnorm's JSON on stderr."""
    return [
        ffmpeg_path(), "-hide_banner", "-nostdin", "-loglevel", "info",
        "-ss", f"{start:.6f}", "-t", f"{duration:.6f}", "-i", str(song), "-vn",
        "-af", f"loudnorm=I={target}:TP=-1:LRA=11:print_format=json", "-f", "null", "-",
    ]  # fmt: skip


def audio_command(
    song: Path,
    out: Path,
    *,
    container: str,
    start: float,
    duration: float,
    audio_filter: str | None = None,
) -> list[str]:
    """The song's ``start``..``start + duration`` stretch encoded once, as a render's audio
    track: AAC in an MP4 for MP4, Opus in a WebM for WebM, at 48 kHz, lasting exactly
    ``duration``."""
    mp4 = container == "mp4"
    codec = ["-c:a", "aac", "-b:a", "192k"] if mp4 else ["-c:a", "libopus", "-b:a", "160k"]
    filters = ["-af", audio_filter] if audio_filter else []
    return [
        ffmpeg_path(), "-hide_banner", "-nostdin", "-y", "-loglevel", "error",
        "-ss", f"{start:.6f}", "-t", f"{duration:.6f}", "-i", str(song),
        "-map", "0:a:0", "-vn", *filters, *codec, "-ar", "48000",
        "-t", f"{duration:.6f}", "-f", container, str(out),
    ]  # fmt: skip


def mux_command(
    segments: Path, audio: Path, out: Path, *, container: str, duration: float
) -> list[str]:
    """Join the encoded segments (an ffconcat list) and add the audio track, both copied as
    they are: the output lasts exactly the video's length."""
    faststart = ["-movflags", "+faststart"] if container == "mp4" else []
    return [
        ffmpeg_path(), "-hide_banner", "-nostdin", "-y", "-loglevel", "error",
        "-f", "concat", "-safe", "0", "-i", str(segments), "-i", str(audio),
        "-map", "0:v:0", "-map", "1:a:0", "-c", "copy",
        "-t", f"{duration:.6f}", *faststart, "-f", container, str(out),
    ]  # fmt: skip


def animation_command(source: Path, out: Path, *, kind: str, width: int, fps: int) -> list[str]:
    """A silent looping teaser (animated GIF with a palette made for it, or animated WebP)
    from a rendered video."""
    scale = f"fps={fps},scale={width}:-2:flags=lanczos"
    if kind == "gif":
        palette = "palettegen=stats_mode=diff[p];[b][p]paletteuse=dither=sierra2_4a"
        chain = f"{scale},split[a][b];[a]{palette}"
        codec = ["-loop", "0", "-f", "gif"]
    elif kind == "webp":
        chain = scale
        codec = ["-c:v", "libwebp_anim", "-quality", "75", "-loop", "0", "-f", "webp"]
    else:
        raise RenderError(f"no teaser format {kind!r}", hint="use gif or webp")
    return [
        ffmpeg_path(), "-hide_banner", "-nostdin", "-y", "-loglevel", "error",
        "-i", str(source), "-an", "-filter_complex", chain, *codec, str(out),
    ]  # fmt: skip


def packets_command(
    source: Path, *, streams: tuple[str, ...] = ("0",), decode_first: bool = False
) -> list[str]:
    """Every packet of ``streams`` (ffmpeg maps: ``0:v:0``, ``0:a:0``; numbered in that order
    in the output) with its timestamps and size, copied, not decoded (``framecrc``); or with
    ``decode_first`` the first decoded frame of the first stream only, whose time is where
    the stream really starts (an AAC track's priming samples come before zero and are dropped by the
    decoder)."""
    maps = [arg for stream in streams for arg in ("-map", stream)]
    how = ["-frames", "1"] if decode_first else ["-c", "copy"]
    return [
        ffmpeg_path(), "-hide_banner", "-nostdin", "-loglevel", "error",
        "-i", str(source), *maps, *how, "-f", "framecrc", "-",
    ]  # fmt: skip


def subtitles_filter(ass_path: Path, fonts: Path) -> str:
    """The ``ass`` filter burning ``ass_path`` with the fonts in ``fonts``, ready for ``-vf`` or
    ``-filter_complex`` whatever characters the paths hold."""
    return f"ass=filename={_filter_value(ass_path)}:fontsdir={_filter_value(fonts)}"


def looks_command(
    document: Path, fonts: Path, *, width: int, height: int, times_ms: list[int]
) -> list[str]:
    """The ``ass`` filter drawing ``document`` on a transparent canvas (BT.709, limited range)
    at each of ``times_ms`` (rising), one raw yuva420p frame each to stdout. A frame stamped
    half a millisecond after its time is drawn at that time (the filter truncates); the stamps
    are a balanced tree of ``if``s on the frame's number (ffmpeg's expressions refuse a sum
    of a hundred terms), about 23 characters a time."""

    def stamps(lo: int, hi: int) -> str:
        if hi - lo == 1:
            return str(2 * times_ms[lo] + 1)
        mid = (lo + hi) // 2
        return f"if(lt(N,{mid}),{stamps(lo, mid)},{stamps(mid, hi)})"

    graph = (
        f"settb=1/2000,setpts='{stamps(0, len(times_ms))}',"
        f"{subtitles_filter(document, fonts)}:alpha=1,settb=1,setpts=N"
    )
    return [
        ffmpeg_path(), "-hide_banner", "-nostdin", "-loglevel", "error",
        "-f", "lavfi", "-i",
        f"color=c=black@0:s={width}x{height}:r=1,format=yuva420p,"
        "setparams=colorspace=bt709:color_primaries=bt709:color_trc=bt709:range=tv",
        "-vf", graph, "-frames:v", str(len(times_ms)), "-fps_mode", "passthrough",
        "-f", "rawvideo", "-pix_fmt", "yuva420p", "pipe:1",
    ]  # fmt: skip


def _filter_value(path: Path) -> str:
    """A path as an option value in a filtergraph. ffmpeg unescapes twice: the graph parser
    first (where ``[ ] , ;`` end a filter), then the filter's option parser (where ``:`` ends
    a value); each level takes ``\\`` and ``'`` as escapes and trims unescaped spaces at the
    ends, so every special character and every space is escaped once per level."""
    value = re.sub(r"([\\':\s])", r"\\\1", str(path.absolute()))
    return re.sub(r"([\\'\[\],;\s])", r"\\\1", value)
