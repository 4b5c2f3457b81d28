"""Ingest: every format the issue names decodes, and every bad file is refused clearly."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from studio.audio import load_audio, synthesize_song
from studio.errors import InvalidInput, PayloadTooLarge
from studio.render import ffmpeg_path

SONG = (("verse", 2), ("chorus", 2))  # 8 s at 120 BPM, plus a 1 s tail


@pytest.fixture(scope="module")
def song(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, np.ndarray, int]:
    audio, truth = synthesize_song(tempo=120.0, structure=SONG, sample_rate=44100)
    path = tmp_path_factory.mktemp("song") / "song.wav"
    sf.write(path, audio, truth.sample_rate, subtype="FLOAT")
    return path, audio, truth.sample_rate


def ffmpeg(*args: str) -> None:
    subprocess.run([ffmpeg_path(), "-hide_banner", "-loglevel", "error", "-y", *args], check=True)


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize(
    ("suffix", "args", "decoder"),
    [
        (".flac", (), "libsndfile"),
        (".ogg", ("-c:a", "libvorbis"), "libsndfile"),
        (".mp3", ("-c:a", "libmp3lame"), "ffmpeg"),
        (".opus", ("-c:a", "libopus"), "ffmpeg"),
        (".m4a", ("-c:a", "aac"), "ffmpeg"),
    ],
)
def test_formats_decode_to_the_same_song(
    song: tuple[Path, np.ndarray, int],
    tmp_path: Path,
    suffix: str,
    args: tuple[str, ...],
    decoder: str,
) -> None:
    source, audio, rate = song
    path = tmp_path / f"song{suffix}"
    ffmpeg("-i", str(source), *args, str(path))
    before = digest(path)
    got = load_audio(path)
    assert got.decoder == decoder and got.channels == 2
    assert abs(got.duration - len(audio) / rate) < 0.1  # codecs pad a little
    # the same music: loudness within 1.5 dB of the original
    rms = lambda x: float(np.sqrt(np.mean(np.square(x))))  # noqa: E731
    assert abs(20 * np.log10(rms(got.samples) / rms(audio))) < 1.5
    assert digest(path) == before  # the master is never touched


def test_wav_mono_at_any_rate(tmp_path: Path) -> None:
    audio, truth = synthesize_song(tempo=120.0, structure=SONG, sample_rate=22050)
    path = tmp_path / "mono.wav"
    sf.write(path, audio.mean(axis=1), 22050, subtype="PCM_16")
    got = load_audio(path)
    assert (got.channels, got.sample_rate) == (1, 22050)
    assert got.duration == pytest.approx(truth.duration, abs=1e-3)


def test_a_video_gives_its_sound_track(song: tuple[Path, np.ndarray, int], tmp_path: Path) -> None:
    video = tmp_path / "clip.mp4"
    ffmpeg(
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=160x90:rate=10",
        "-i",
        str(song[0]),
        "-shortest",
        "-c:v",
        "libx264",
        "-c:a",
        "aac",
        str(video),
    )
    got = load_audio(video)
    assert got.decoder == "ffmpeg" and got.duration > 8.5


def test_six_channels_are_mixed_to_stereo(
    song: tuple[Path, np.ndarray, int], tmp_path: Path
) -> None:
    path = tmp_path / "surround.flac"
    ffmpeg("-i", str(song[0]), "-ac", "6", str(path))
    assert load_audio(path).channels == 2


def _bad_files(tmp: Path, song: Path) -> dict[str, tuple[Path, str]]:
    empty = tmp / "empty.wav"
    empty.write_bytes(b"")
    text = tmp / "notes.mp3"
    text.write_text("these are the lyrics, not the song")
    truncated = tmp / "cut.wav"
    truncated.write_bytes(song.read_bytes()[: song.stat().st_size // 2])
    damaged = tmp / "damaged.m4a"
    ffmpeg("-i", str(song), "-c:a", "aac", str(tmp / "whole.m4a"))
    damaged.write_bytes((tmp / "whole.m4a").read_bytes()[:2000])
    short, silent, long_ = tmp / "short.wav", tmp / "silent.wav", tmp / "long.flac"
    sf.write(short, np.zeros((2 * 8000, 1)) + 0.1, 8000)
    sf.write(silent, np.zeros((6 * 8000, 2)), 8000)
    ffmpeg("-f", "lavfi", "-i", "sine=frequency=220:sample_rate=8000:duration=1260", str(long_))
    mute_video = tmp / "mute.mp4"
    ffmpeg(
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=160x90:rate=10:duration=6",
        "-c:v",
        "libx264",
        str(mute_video),
    )
    return {
        "missing": (tmp / "nowhere.wav", "there is no file"),
        "empty": (empty, "is empty (0 bytes)"),
        "not audio": (text, "not an audio or video file that can be read"),
        "truncated wav": (truncated, "is cut short"),
        "damaged m4a": (damaged, "not an audio or video file that can be read"),
        "too short": (short, "2.0 s long; a song needs at least 5 s"),
        "too long": (long_, "21.0 min long; the limit is 20 min"),
        "silent": (silent, "is silent"),
        "video without sound": (mute_video, "a video with no sound track"),
    }


def test_bad_files_are_refused_clearly_and_left_as_they_were(
    song: tuple[Path, np.ndarray, int], tmp_path: Path
) -> None:
    for case, (path, message) in _bad_files(tmp_path, song[0]).items():
        before = digest(path) if path.exists() else None
        with pytest.raises(InvalidInput) as err:
            load_audio(path)
        assert message in err.value.message, case
        assert err.value.hint, case
        assert (digest(path) if path.exists() else None) == before, case


def test_a_file_over_the_size_limit_is_refused_before_it_is_read(
    song: tuple[Path, np.ndarray, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    import studio.audio._ingest as ingest

    monkeypatch.setattr(ingest, "MAX_BYTES", song[0].stat().st_size - 1)
    with pytest.raises(PayloadTooLarge) as err:
        load_audio(song[0])
    assert "the limit is" in err.value.message and err.value.hint
