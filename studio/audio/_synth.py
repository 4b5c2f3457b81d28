"""The demo song: a royalty-free song made in code, with its true beat and section times.

Drums, bass, chords and a lead play a structure of sections (intro, verse, chorus, bridge,
chorus, outro by default) at a chosen tempo, meter and key. Because the song is built from its
score, the times of every beat, downbeat and section are known exactly: the song is the studio's
offline demo and the ground truth of the audio tests. Optional swing delays the off-beat eighth
notes; an optional tempo change takes effect at a chosen bar.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from studio.errors import InvalidInput

__all__ = ["DEFAULT_STRUCTURE", "SongTruth", "demo_lyrics_lrc", "synthesize_song"]

Audio = NDArray[np.float32]

DEFAULT_STRUCTURE: tuple[tuple[str, int], ...] = (
    ("intro", 4),
    ("verse", 8),
    ("chorus", 8),
    ("bridge", 4),
    ("chorus", 8),
    ("outro", 4),
)
_NOTES = {
    "C": 0,
    "C#": 1,
    "D": 2,
    "D#": 3,
    "E": 4,
    "F": 5,
    "F#": 6,
    "G": 7,
    "G#": 8,
    "A": 9,
    "A#": 10,
    "B": 11,
}
# Chords as (degree, third) per bar: the verse and the chorus have progressions of their own.
_PROGRESSIONS = {
    "minor": ((0, 3), (8, 4), (3, 4), (10, 4)),  # i-VI-III-VII
    "major": ((0, 4), (7, 4), (9, 3), (5, 4)),  # I-V-vi-IV
}
_CHORUS_PROGRESSIONS = {
    "minor": ((8, 4), (10, 4), (0, 3), (7, 3)),  # VI-VII-i-v
    "major": ((5, 4), (7, 4), (0, 4), (9, 3)),  # IV-V-I-vi
}
_PENTATONIC = {"minor": (0, 3, 5, 7, 10), "major": (0, 2, 4, 7, 9)}

# What plays in each kind of section, and how loud (the chorus is the strongest).
_ARRANGEMENT: dict[str, tuple[frozenset[str], float]] = {
    "intro": (frozenset({"pad", "hats"}), 0.5),
    "verse": (frozenset({"kick", "snare", "hats", "bass", "pad"}), 0.7),
    "chorus": (frozenset({"kick", "snare", "hats", "bass", "pad", "lead"}), 1.0),
    "bridge": (frozenset({"kick", "pad", "bass"}), 0.55),
    "outro": (frozenset({"pad", "hats"}), 0.45),
}


@dataclass(frozen=True)
class SongTruth:
    """What the song is, exactly: times in seconds from the first sample."""

    tempo: float
    meter: int
    key: str
    mode: str
    sample_rate: int
    duration: float
    beats: list[float] = field(default_factory=list)
    downbeats: list[float] = field(default_factory=list)
    sections: list[tuple[float, float, str]] = field(default_factory=list)
    tempo_change: tuple[int, float] | None = None


def _midi_hz(note: float) -> float:
    return float(440.0 * 2 ** ((note - 69) / 12))


def _beat_times(
    bars: int, meter: int, tempo: float, change: tuple[int, float] | None
) -> list[float]:
    times, t = [], 0.0
    for bar in range(bars):
        bpm = change[1] if change is not None and bar >= change[0] else tempo
        for _ in range(meter):
            times.append(t)
            t += 60.0 / bpm
    times.append(t)  # where the last bar ends
    return times


class _Mixer:
    def __init__(self, length: int, sample_rate: int) -> None:
        self.sr = sample_rate
        self.left = np.zeros(length, dtype=np.float64)
        self.right = np.zeros(length, dtype=np.float64)

    def add(self, start: float, sound: NDArray[np.float64], gain: float, pan: float = 0.0) -> None:
        i = round(start * self.sr)
        if i >= len(self.left):
            return
        n = min(len(sound), len(self.left) - i)
        self.left[i : i + n] += sound[:n] * gain * (1 - max(pan, 0))
        self.right[i : i + n] += sound[:n] * gain * (1 + min(pan, 0))


def _kick(sr: int) -> NDArray[np.float64]:
    t = np.arange(int(0.35 * sr)) / sr
    freq = 45 + 85 * np.exp(-t * 28)
    return np.sin(2 * np.pi * np.cumsum(freq) / sr) * np.exp(-t * 9)


def _snare(sr: int, rng: np.random.Generator) -> NDArray[np.float64]:
    t = np.arange(int(0.22 * sr)) / sr
    noise = rng.standard_normal(len(t)) * np.exp(-t * 22)
    tone = np.sin(2 * np.pi * 190 * t) * np.exp(-t * 30)
    return 0.6 * noise + 0.5 * tone


def _hat(sr: int, rng: np.random.Generator) -> NDArray[np.float64]:
    t = np.arange(int(0.05 * sr)) / sr
    noise = rng.standard_normal(len(t))
    noise = np.diff(noise, prepend=0.0)  # a crude high-pass
    return noise * np.exp(-t * 90) * 0.5


def _tone(
    freq: float, seconds: float, sr: int, *, attack: float, harmonics: int
) -> NDArray[np.float64]:
    t = np.arange(int(seconds * sr)) / sr
    wave = sum(np.sin(2 * np.pi * freq * k * t) / k for k in range(1, harmonics + 1))
    env = np.minimum(1.0, t / attack) * np.exp(-t * 1.5 / max(seconds, 1e-3))
    fade = np.minimum(1.0, (seconds - t) / 0.01)
    return np.asarray(wave * env * fade, dtype=np.float64)


def synthesize_song(
    *,
    tempo: float = 112.0,
    meter: int = 4,
    key: str = "A",
    mode: str = "minor",
    structure: tuple[tuple[str, int], ...] = DEFAULT_STRUCTURE,
    swing: float = 0.0,
    tempo_change: tuple[int, float] | None = None,
    sample_rate: int = 44100,
    seed: int = 0,
) -> tuple[Audio, SongTruth]:
    """Make the song; returns stereo samples (shape ``(n, 2)``, float32 in -1..1) and its truth.

    ``swing`` (0 to 0.5) delays every off-beat eighth by that fraction of a beat;
    ``tempo_change=(bar, bpm)`` switches the tempo from that bar on.
    """
    if not 40 <= tempo <= 240:
        raise InvalidInput(
            f"tempo {tempo} BPM is outside 40-240", hint="choose a tempo a song can have"
        )
    if meter not in (3, 4):
        raise InvalidInput(f"meter {meter} is not supported", hint="use 3 or 4 beats to the bar")
    if key not in _NOTES or mode not in _PROGRESSIONS:
        raise InvalidInput(
            f"key {key} {mode} is unknown", hint=f"keys: {', '.join(_NOTES)}; modes: major, minor"
        )
    if not 0 <= swing <= 0.5:
        raise InvalidInput(f"swing {swing} is outside 0-0.5")
    unknown = [name for name, _ in structure if name not in _ARRANGEMENT]
    if unknown or not structure:
        raise InvalidInput(
            f"unknown section {unknown[0] if unknown else '(none)'}",
            hint=f"use {', '.join(_ARRANGEMENT)}",
        )
    bars = sum(n for _, n in structure)
    if tempo_change is not None and not (
        0 < tempo_change[0] < bars and 40 <= tempo_change[1] <= 240
    ):
        raise InvalidInput(f"tempo change {tempo_change} is outside the song or 40-240 BPM")

    rng = np.random.default_rng(seed)
    grid = _beat_times(bars, meter, tempo, tempo_change)
    duration = grid[-1] + 1.0  # a second of tail after the last bar
    mix = _Mixer(int(duration * sample_rate), sample_rate)
    kick, snare = _kick(sample_rate), _snare(sample_rate, rng)
    hats = [_hat(sample_rate, rng) for _ in range(4)]
    root = 36 + _NOTES[key] if _NOTES[key] <= 7 else 24 + _NOTES[key]  # C2 .. G2, G#1 .. B1
    scale = _PENTATONIC[mode]
    melody = rng.integers(0, len(scale), size=(bars, meter * 2))

    sections: list[tuple[float, float, str]] = []
    bar = 0
    for name, length in structure:
        start = grid[bar * meter]
        instruments, level = _ARRANGEMENT[name]
        for b in range(bar, bar + length):
            beat0 = b * meter
            beat_len = grid[beat0 + 1] - grid[beat0]
            chords = _CHORUS_PROGRESSIONS if name == "chorus" else _PROGRESSIONS
            degree, third = chords[mode][b % 4]
            bar_len = grid[beat0 + meter] - grid[beat0]
            if "pad" in instruments:
                for interval, pan in ((0, 0.0), (third, -0.4), (7, 0.4)):
                    pad = _tone(
                        _midi_hz(root + 12 + degree + interval),
                        bar_len,
                        sample_rate,
                        attack=0.08,
                        harmonics=3,
                    )
                    mix.add(grid[beat0], pad, 0.07 * level, pan)
            for k in range(meter):
                t = grid[beat0 + k]
                strong = k == 0 or (meter == 4 and k == 2)
                if "kick" in instruments and strong:
                    mix.add(t, kick, 0.9 * level)
                if "snare" in instruments and meter == 4 and k in (1, 3):
                    mix.add(t, snare, 0.45 * level, 0.1)
                if "bass" in instruments:
                    bass = _tone(
                        _midi_hz(root + degree),
                        beat_len * 0.9,
                        sample_rate,
                        attack=0.005,
                        harmonics=4,
                    )
                    mix.add(t, bass, 0.25 * level)
                for half in (0, 1):
                    at = t + half * beat_len * (0.5 + swing)
                    if "hats" in instruments:
                        mix.add(
                            at, hats[(k * 2 + half) % 4], (0.18 if half else 0.28) * level, -0.3
                        )
                    if "lead" in instruments:
                        note = root + 24 + scale[melody[b, k * 2 + half]]
                        lead = _tone(
                            _midi_hz(note), beat_len * 0.45, sample_rate, attack=0.01, harmonics=2
                        )
                        mix.add(at, lead, 0.12 * level, 0.25)
        bar += length
        sections.append((start, grid[bar * meter], name))

    stereo = np.stack([mix.left, mix.right], axis=1)
    peak = float(np.max(np.abs(stereo))) or 1.0
    audio = (stereo / peak * 0.89).astype(np.float32)  # about -1 dBFS
    beats = grid[:-1]
    truth = SongTruth(
        tempo=tempo,
        meter=meter,
        key=key,
        mode=mode,
        sample_rate=sample_rate,
        duration=len(audio) / sample_rate,
        beats=beats,
        downbeats=beats[::meter],
        sections=sections,
        tempo_change=tempo_change,
    )
    return audio, truth


_LYRICS = {
    "verse": [
        "Streetlights count the minutes down",
        "Rain is writing on the glass",
        "Every signal turning green",
        "Every mile a memory passed",
    ],
    "chorus": [
        "We drive into the neon night",
        "Hold on, the city's burning bright",
        "We drive until the morning light",
        "Hold on, hold on tonight",
    ],
}


def _lrc_time(seconds: float) -> str:
    minutes, rest = divmod(round(seconds * 100) / 100, 60)
    return f"[{int(minutes):02d}:{rest:05.2f}]"


def demo_lyrics_lrc(truth: SongTruth) -> str:
    """Lyrics for the demo song as LRC: one line every two bars of each verse and chorus."""
    lines = ["[ti:Neon Night (studio demo song)]", "[ar:studio]"]
    for start, end, name in truth.sections:
        words = _LYRICS.get(name)
        if not words:
            continue
        bar_starts = [t for t in truth.downbeats if start <= t < end]
        for n, t in enumerate(bar_starts[::2]):
            lines.append(f"{_lrc_time(t)}{words[n % len(words)]}")
    return "\n".join(lines) + "\n"
