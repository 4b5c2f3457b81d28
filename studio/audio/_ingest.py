"""Reading a song from a file, and refusing what cannot be one.

wav, flac and ogg are read with libsndfile; mp3, opus, m4a/aac and the audio track of a video
go through the bundled ffmpeg. Mono and stereo at any sample rate come back as float32 frames
``(n, channels)``; more channels are mixed down to stereo. The file itself is never changed: it
stays the master that the final render muxes. Every refusal is an ``InvalidInput`` that says
what is wrong with the file and what to do.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
from numpy.typing import NDArray

from studio.errors import InvalidInput, PayloadTooLarge, RenderError
from studio.render import decode_audio_command, probe

__all__ = ["MAX_BYTES", "MAX_SECONDS", "MIN_SECONDS", "DecodedAudio", "load_audio"]

MIN_SECONDS = 5.0
MAX_SECONDS = 20 * 60.0
MAX_BYTES = 1 << 30
_SILENT_PEAK = 10 ** (-60 / 20)  # -60 dBFS
_LIBSNDFILE = {".wav", ".wave", ".flac", ".ogg", ".oga", ".aif", ".aiff"}


@dataclass(frozen=True)
class DecodedAudio:
    samples: NDArray[np.float32]
    """Frames as rows, one column per channel, in -1..1."""
    sample_rate: int
    decoder: str
    """``libsndfile`` or ``ffmpeg``."""

    @property
    def channels(self) -> int:
        return int(self.samples.shape[1])

    @property
    def duration(self) -> float:
        return len(self.samples) / self.sample_rate

    def mono(self) -> NDArray[np.float32]:
        return np.asarray(self.samples.mean(axis=1), dtype=np.float32)


def load_audio(path: Path) -> DecodedAudio:
    """Decode ``path`` and check it can be a song; raises ``InvalidInput`` saying why not."""
    path = Path(path)
    if not path.is_file():
        raise InvalidInput(f"there is no file at {path}", hint="check the path")
    size = path.stat().st_size
    if size == 0:
        raise InvalidInput(f"{path.name} is empty (0 bytes)", hint="export the song again")
    if size > MAX_BYTES:
        raise PayloadTooLarge(
            f"{path.name} is {size / 2**20:,.0f} MiB; the limit is {MAX_BYTES / 2**20:,.0f} MiB",
            hint="use a compressed copy (flac, mp3, m4a) of the song",
        )
    decoded = _libsndfile(path) if _for_libsndfile(path) else None
    if decoded is None:
        decoded = _ffmpeg(path)
    _check(path, decoded)
    return decoded


def _for_libsndfile(path: Path) -> bool:
    """wav, flac, ogg and aiff go to libsndfile by their name; wav and flac also by their
    first bytes (an upload may have lost its name)."""
    if path.suffix.lower() in _LIBSNDFILE:
        return True
    with path.open("rb") as handle:
        head = handle.read(12)
    return head[:4] == b"fLaC" or (head[:4] == b"RIFF" and head[8:12] == b"WAVE")


def _libsndfile(path: Path) -> DecodedAudio | None:
    try:
        data, rate = sf.read(str(path), dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, TypeError):
        return None  # let ffmpeg try, and explain if it cannot either
    missing = _wav_missing_bytes(path)
    if missing:
        raise InvalidInput(
            f"{path.name} is cut short: {missing:,} bytes of its audio are missing",
            hint="the file was not copied whole; copy or export it again",
        )
    return DecodedAudio(_to_stereo_or_mono(data), int(rate), "libsndfile")


def _wav_missing_bytes(path: Path) -> int:
    """For a RIFF/WAVE file, how many bytes its data chunk declares beyond the end of the file
    (libsndfile reads a cut file without complaint, trimming its frame count to what is there)."""
    with path.open("rb") as handle:
        head = handle.read(12)
        if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            return 0
        while True:
            chunk = handle.read(8)
            if len(chunk) < 8:
                return 0
            size = int.from_bytes(chunk[4:], "little")
            if chunk[:4] == b"data":
                present = path.stat().st_size - handle.tell()
                return max(0, size - present) if size != 0xFFFFFFFF else 0
            handle.seek(size + (size & 1), 1)


def _ffmpeg(path: Path) -> DecodedAudio:
    try:
        info = probe(path)
    except RenderError as exc:
        raise InvalidInput(
            f"{path.name} is not an audio or video file that can be read "
            "(it may be cut short or damaged)",
            hint="use wav, flac, mp3, ogg/opus, m4a/aac, or a video with a sound track",
        ) from exc
    if info.audio is None or not info.audio_rate:
        what = "a video with no sound track" if info.video else "a file with no audio"
        raise InvalidInput(f"{path.name} is {what}", hint="give the song's audio file")
    done = subprocess.run(decode_audio_command(path), capture_output=True, timeout=600)
    channels = info.audio_channels or 2
    raw = np.frombuffer(done.stdout, dtype="<f4")
    if done.returncode != 0 or raw.size < channels:
        raise InvalidInput(
            f"{path.name} cannot be decoded (it may be cut short or damaged)",
            hint=done.stderr.decode(errors="replace").strip()[-200:] or "export it again",
        )
    frames = raw[: raw.size - raw.size % channels].reshape(-1, channels)
    return DecodedAudio(_to_stereo_or_mono(frames), info.audio_rate, "ffmpeg")


def _to_stereo_or_mono(data: NDArray[np.float32]) -> NDArray[np.float32]:
    if data.shape[1] <= 2:
        return np.ascontiguousarray(data, dtype=np.float32)
    left = data[:, 0::2].mean(axis=1)
    right = data[:, 1::2].mean(axis=1)
    return np.stack([left, right], axis=1).astype(np.float32)


def _check(path: Path, audio: DecodedAudio) -> None:
    if not np.all(np.isfinite(audio.samples)):
        raise InvalidInput(
            f"{path.name} holds invalid samples (NaN or infinity)", hint="export it again"
        )
    if audio.duration < MIN_SECONDS:
        raise InvalidInput(
            f"{path.name} is {audio.duration:.1f} s long; "
            f"a song needs at least {MIN_SECONDS:.0f} s",
            hint="give the whole song",
        )
    if audio.duration > MAX_SECONDS:
        raise InvalidInput(
            f"{path.name} is {audio.duration / 60:.1f} min long; "
            f"the limit is {MAX_SECONDS / 60:.0f} min",
            hint="cut the song to the part the video is for",
        )
    if float(np.max(np.abs(audio.samples))) < _SILENT_PEAK:
        raise InvalidInput(f"{path.name} is silent", hint="check that the right file was exported")
