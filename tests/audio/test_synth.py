"""The demo-song synthesiser: its audio must match the truth it reports."""

from __future__ import annotations

import re

import librosa
import numpy as np
import pytest

from studio.audio import demo_lyrics_lrc, synthesize_song
from studio.errors import InvalidInput

SR = 22050
SHORT = (("intro", 2), ("verse", 4), ("chorus", 4), ("outro", 2))


def onsets(audio: np.ndarray, sr: int) -> np.ndarray:
    mono = audio.mean(axis=1)
    return librosa.onset.onset_detect(y=mono, sr=sr, units="time", backtrack=False)


def near(times: list[float], found: np.ndarray, tolerance: float) -> float:
    """The share of ``times`` with a detected onset within ``tolerance`` seconds."""
    hits = [np.min(np.abs(found - t)) <= tolerance for t in times]
    return float(np.mean(hits))


@pytest.mark.parametrize("tempo", [70.0, 120.0, 180.0])
def test_every_beat_of_the_drum_sections_is_heard(tempo: float) -> None:
    audio, truth = synthesize_song(tempo=tempo, structure=SHORT, sample_rate=SR)
    drummed = [
        b
        for b in truth.beats
        if any(s <= b < e and name in ("verse", "chorus") for s, e, name in truth.sections)
    ]
    assert near(drummed, onsets(audio, SR), 0.05) >= 0.95


def test_the_grid_is_exact() -> None:
    _, truth = synthesize_song(tempo=120.0, structure=SHORT, sample_rate=SR)
    assert np.allclose(np.diff(truth.beats), 0.5)
    assert truth.downbeats == truth.beats[::4]
    assert [name for _, _, name in truth.sections] == ["intro", "verse", "chorus", "outro"]
    assert truth.sections[0][0] == 0.0
    assert all(a[1] == b[0] for a, b in zip(truth.sections, truth.sections[1:], strict=False))
    assert truth.sections[-1][1] == pytest.approx(12 * 4 * 0.5)
    assert truth.duration == pytest.approx(truth.sections[-1][1] + 1.0, abs=1e-3)


def test_three_four_has_bars_of_three() -> None:
    audio, truth = synthesize_song(tempo=90.0, meter=3, structure=SHORT, sample_rate=SR)
    assert truth.downbeats == truth.beats[::3]
    assert len(truth.beats) == 12 * 3
    drummed = [b for b in truth.downbeats if truth.sections[1][0] <= b < truth.sections[2][1]]
    assert near(drummed, onsets(audio, SR), 0.05) >= 0.95


def test_a_tempo_change_takes_effect_at_its_bar() -> None:
    _, truth = synthesize_song(
        tempo=100.0, tempo_change=(6, 150.0), structure=SHORT, sample_rate=SR
    )
    gaps = np.diff(truth.beats)
    assert np.allclose(gaps[: 6 * 4 - 1], 0.6) and np.allclose(gaps[6 * 4 :], 0.4)


def test_swing_delays_the_off_beats() -> None:
    audio, truth = synthesize_song(
        tempo=100.0, swing=0.2, structure=(("intro", 4),), sample_rate=SR
    )
    beat = 0.6
    swung = [b + beat * 0.7 for b in truth.beats]  # hats play alone in the intro
    straight = [b + beat * 0.5 for b in truth.beats]
    found = onsets(audio, SR)
    assert near(swung, found, 0.03) >= 0.9
    assert near(straight, found, 0.03) <= 0.1


def test_the_chorus_is_the_loudest_section() -> None:
    audio, truth = synthesize_song(structure=SHORT, sample_rate=SR)
    rms = {}
    for start, end, name in truth.sections:
        chunk = audio[int(start * SR) : int(end * SR)]
        rms[name] = float(np.sqrt(np.mean(chunk**2)))
    assert rms["chorus"] > rms["verse"] > rms["intro"]
    assert float(np.max(np.abs(audio))) == pytest.approx(0.89, abs=1e-3)


def test_deterministic_for_a_seed_and_varied_across_seeds() -> None:
    a, _ = synthesize_song(structure=SHORT, sample_rate=SR, seed=3)
    b, _ = synthesize_song(structure=SHORT, sample_rate=SR, seed=3)
    c, _ = synthesize_song(structure=SHORT, sample_rate=SR, seed=4)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)
    assert a.shape[1] == 2 and a.dtype == np.float32


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"tempo": 300.0}, "outside 40-240"),
        ({"meter": 5}, "meter 5"),
        ({"key": "H"}, "key H"),
        ({"swing": 0.7}, "swing 0.7"),
        ({"structure": (("drop", 4),)}, "unknown section drop"),
        ({"tempo_change": (99, 120.0)}, "outside the song"),
    ],
)
def test_bad_settings_are_refused(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        synthesize_song(**kwargs)  # type: ignore[arg-type]


def test_the_lyrics_sit_on_the_bars_of_the_sung_sections() -> None:
    _, truth = synthesize_song(tempo=120.0, sample_rate=SR)
    lrc = demo_lyrics_lrc(truth)
    stamps = [
        int(m) * 60 + float(s) for m, s in re.findall(r"^\[(\d\d):(\d\d\.\d\d)\]\S", lrc, re.M)
    ]
    sung = [(s, e) for s, e, name in truth.sections if name in ("verse", "chorus")]
    assert len(stamps) == sum(8 // 2 for _ in sung)  # one line every two bars
    assert all(any(s <= t < e for s, e in sung) for t in stamps)
    assert all(min(abs(d - t) for d in truth.downbeats) < 0.006 for t in stamps)
