"""The analysis against songs whose every beat, bar and section is known (the synthesiser's
truth), scored the way the beat-tracking literature scores it (mir_eval's F-measure)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import mir_eval
import numpy as np
import pytest
import soundfile as sf

from studio.audio import DecodedAudio, SongTruth, analyze, analyze_file, synthesize_song
from studio.audio._dsp import loudness
from studio.render import ffmpeg_path

SHA = "a" * 64

CASES = [
    pytest.param({"tempo": 70}, id="70bpm"),
    pytest.param({"tempo": 90, "key": "D", "mode": "major", "seed": 2}, id="90bpm-D-major"),
    pytest.param({"tempo": 120}, id="120bpm"),
    pytest.param({"tempo": 150, "key": "F#", "seed": 4}, id="150bpm"),
    pytest.param({"tempo": 180}, id="180bpm"),
    pytest.param({"tempo": 100, "meter": 3}, id="100bpm-3/4"),
    pytest.param({"tempo": 140, "meter": 3, "key": "E", "mode": "major"}, id="140bpm-3/4"),
    pytest.param({"tempo": 110, "swing": 0.3}, id="110bpm-swing"),
    pytest.param({"tempo": 100, "tempo_change": (12, 130)}, id="100-to-130bpm"),
    pytest.param({"tempo": 120, "tempo_change": (24, 96)}, id="120-to-96bpm"),
]


def _analysed(settings: dict[str, object]) -> tuple[object, SongTruth]:
    audio, truth = synthesize_song(**settings)  # type: ignore[arg-type]
    analysis, _ = analyze(DecodedAudio(audio, truth.sample_rate, "test"), SHA)
    return analysis, truth


@pytest.mark.parametrize("settings", CASES)
def test_tempo_beats_bars_and_sections_match_the_truth(settings: dict[str, object]) -> None:
    a, truth = _analysed(settings)
    # Tempo within 1 %, per stretch of steady tempo.
    expected = [truth.tempo] + ([truth.tempo_change[1]] if truth.tempo_change else [])
    assert [round(t.bpm / e - 1, 2) for t, e in zip(a.tempo_map, expected, strict=True)] == [
        0.0
    ] * len(expected)
    if truth.tempo_change:
        bar, _ = truth.tempo_change
        # Where the change is placed: within two bars (the tracker needs a few beats to
        # notice it).
        two_bars = 2 * truth.meter * 60 / truth.tempo
        assert a.tempo_map[1].start == pytest.approx(truth.downbeats[bar], abs=two_bars)
    # Beats: mir_eval's F-measure with its 70 ms window.
    beats_f = mir_eval.beat.f_measure(np.array(truth.beats), np.array(a.beats), 0.07)
    assert beats_f >= 0.95
    # Bars: the meter, and the downbeats on most bars.
    assert a.meter == truth.meter
    downbeats_f = mir_eval.beat.f_measure(np.array(truth.downbeats), np.array(a.downbeats), 0.07)
    assert downbeats_f >= 0.9
    # Sections: as many as there are, each boundary within a bar of the truth.
    bar_seconds = 60.0 / min(expected) * truth.meter
    starts = [s.start for s in a.sections]
    assert len(starts) == len(truth.sections)
    for found, (start, _, _) in zip(starts, truth.sections, strict=True):
        assert abs(found - start) < bar_seconds
    assert a.sections[-1].end == pytest.approx(truth.duration, abs=0.01)


def test_sections_are_named_from_repetition_and_energy() -> None:
    a, truth = _analysed({"tempo": 120})
    assert [s.label for s in a.sections] == [label for *_, label in truth.sections]


def test_key_moments_mark_the_turns_of_the_song() -> None:
    a, truth = _analysed({"tempo": 120})
    moments = {m.kind: m.time for m in a.key_moments}
    starts = {label: start for start, _, label in reversed(truth.sections)}  # first of each
    last_chorus = max(start for start, _, label in truth.sections if label == "chorus")
    assert moments["intro"] == 0.0
    assert moments["bridge"] == pytest.approx(starts["bridge"], abs=0.05)
    assert moments["climax"] == pytest.approx(last_chorus, abs=0.05)
    assert moments["build"] < starts["chorus"]
    chorus_spans = [(s, e) for s, e, label in truth.sections if label == "chorus"]
    assert any(s <= moments["peak"] <= e for s, e in chorus_spans)
    assert all(m.description for m in a.key_moments)


@pytest.mark.parametrize(
    ("key", "mode"), [("A", "minor"), ("E", "major"), ("G#", "major"), ("B", "minor")]
)
def test_the_key_and_mode(key: str, mode: str) -> None:
    a, _ = _analysed({"tempo": 118, "key": key, "mode": mode, "seed": 1})
    assert (a.key, a.mode) == (key, mode)


def test_the_same_song_gives_the_same_map() -> None:
    audio, truth = synthesize_song(tempo=104, seed=7)
    first, _ = analyze(DecodedAudio(audio, truth.sample_rate, "test"), SHA)
    second, _ = analyze(DecodedAudio(audio.copy(), truth.sample_rate, "test"), SHA)
    assert first.model_dump(exclude={"created_at"}) == second.model_dump(exclude={"created_at"})


def test_curves_are_on_a_regular_grid_and_follow_the_arrangement() -> None:
    a, truth = _analysed({"tempo": 120})
    assert a.energy is not None and a.waveform is not None and a.onset_strength is not None
    assert set(a.bands) == {"bass", "mids", "highs"}
    for curve in [a.energy, a.waveform, a.onset_strength, *a.bands.values()]:
        assert curve.hop == 0.02
        assert abs(len(curve.values) * curve.hop - truth.duration) < 0.1
        assert min(curve.values) >= 0 and max(curve.values) <= 1

    def mean(curve: object, label: str) -> float:
        spans = [(s, e) for s, e, name in truth.sections if name == label]
        return float(np.mean([curve.at(t) for s, e in spans for t in np.arange(s, e, 0.1)]))  # type: ignore[attr-defined]

    assert mean(a.energy, "chorus") > mean(a.energy, "verse") > mean(a.energy, "intro")
    # The bridge has no hi-hats; the intro has no bass.
    assert mean(a.bands["highs"], "bridge") < mean(a.bands["highs"], "chorus")
    assert mean(a.bands["bass"], "intro") < mean(a.bands["bass"], "verse")
    # Onsets: every drum-section beat has one near it.
    onsets = np.array(a.onsets)
    verse = [b for b in truth.beats if truth.sections[1][0] <= b < truth.sections[1][1]]
    assert all(np.min(np.abs(onsets - b)) < 0.03 for b in verse)


def test_loudness_and_true_peak_follow_bs1770() -> None:
    rate = 48000
    t = np.arange(rate * 10) / rate
    tone = (0.1 * np.sin(2 * np.pi * 997 * t)).astype(np.float32)  # -20 dBFS
    lufs, peak = loudness(tone, rate)
    assert lufs == pytest.approx(-23.0, abs=0.1)  # the standard's calibration: -3.01 + ...
    assert peak == pytest.approx(-20.0, abs=0.05)
    stereo_lufs, _ = loudness(np.stack([tone, tone], axis=1), rate)
    assert stereo_lufs == pytest.approx(lufs + 3.01, abs=0.05)
    # A sine at a quarter of the rate, sampled 45 degrees off its crests: the samples peak
    # 3 dB below the wave, and the true peak finds the wave.
    n = np.arange(44100 * 6)
    shifted = (0.9 * np.sin(2 * np.pi * n / 4 + np.pi / 4)).astype(np.float32)
    sample_peak = 20 * np.log10(np.max(np.abs(shifted)))
    _, true_peak = loudness(shifted, 44100)
    assert sample_peak < -3.5
    assert true_peak == pytest.approx(20 * np.log10(0.9), abs=0.2)


@pytest.mark.slow
def test_an_mp3_with_noise_still_gives_the_beats(tmp_path: Path) -> None:
    audio, truth = synthesize_song(tempo=126, seed=3)
    noise = np.random.default_rng(0).standard_normal(audio.shape).astype(np.float32)
    noisy = audio + noise * 0.01  # about 30 dB below the music
    wav, mp3 = tmp_path / "song.wav", tmp_path / "song.mp3"
    sf.write(wav, noisy / np.max(np.abs(noisy)) * 0.9, truth.sample_rate)
    subprocess.run(
        [ffmpeg_path(), "-v", "error", "-i", str(wav), "-b:a", "128k", str(mp3)], check=True
    )
    a, stages = analyze_file(mp3, SHA)
    assert stages["decode"] > 0 and "rhythm" in stages
    assert a.tempo == pytest.approx(126, rel=0.01)
    assert mir_eval.beat.f_measure(np.array(truth.beats), np.array(a.beats), 0.07) >= 0.95
    # mp3 encoders add a little silence at the start; the beats may move by that, no more.
    assert abs(a.duration - truth.duration) < 0.1
