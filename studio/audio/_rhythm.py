"""Tempo, beats and bars.

The onset envelope is spectral flux on a log-mel spectrogram (as in librosa). The tempo comes
from its autocorrelation; the metrical level (the half/double-tempo question) from the beats
themselves: the beat is the fastest pulse whose every pulse is about as strong as the others,
so an off-beat hi-hat does not double the tempo, and a kick-snare backbeat does not halve it.
Beats are tracked by dynamic programming (Ellis 2007) with a period that may change over the
song, placed on the envelope's peaks to a fraction of a frame, and the tempo is read back from
the beats by regression, per stretch of steady tempo. The bar (meter and where "one" falls) is
where the harmony changes and the low drums hit.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.fft
from numpy.typing import NDArray

from studio.audio._dsp import HOP, SR

__all__ = ["Envelopes", "Rhythm", "TempoStretch", "find_rhythm", "onset_envelopes"]

F64 = NDArray[np.float64]
FPS = SR / HOP
_MIN_BPM, _MAX_BPM = 40.0, 240.0
_BEAT_MIN_BPM, _BEAT_MAX_BPM = 55.0, 200.0
"""The range the beat level is chosen in (the tempo a listener taps)."""
_EVEN_PULSE = 0.6
"""A pulse between two beats at least this strong (relative to the beats) is itself a beat."""
_LEAD = 0.008
"""Seconds the flux peak comes before a note starts: the 46 ms analysis window centred on a
frame already sees the attack a little before it; measured on songs with known beat times."""


@dataclass(frozen=True)
class TempoStretch:
    start: float
    bpm: float


@dataclass(frozen=True)
class Rhythm:
    tempo: float
    tempo_map: list[TempoStretch]
    beats: F64
    meter: int
    downbeat_indices: NDArray[np.int64]
    """Which of ``beats`` are downbeats."""
    confidence: float

    @property
    def downbeats(self) -> F64:
        return np.asarray(self.beats[self.downbeat_indices])


@dataclass(frozen=True)
class Envelopes:
    """Onset strength per frame: spectral flux over the whole spectrum (log-mel, for timing),
    and the accents below 200 Hz (kick, bass) and from 200 Hz to 2 kHz (snare, chords,
    voice), measured on magnitudes so that a loud hit outweighs a quiet one."""

    full: F64
    low: F64
    mid: F64


def _rise(values: NDArray[np.float32]) -> NDArray[np.float32]:
    return np.maximum(np.diff(values, axis=1, prepend=values[:, :1] * 0 + values.min()), 0.0)


def onset_envelopes(mel: NDArray[np.float32], centres: F64) -> Envelopes:
    """Envelopes from a mel power spectrogram whose filters peak at ``centres`` (Hz)."""
    log_mel = 10 * np.log10(np.maximum(mel, 1e-10))
    log_mel = np.maximum(log_mel, log_mel.max() - 80.0)
    magnitude = _rise(np.sqrt(mel))

    def accent(mask: NDArray[np.bool_]) -> F64:
        return np.asarray(magnitude[mask].sum(axis=0), dtype=np.float64)

    return Envelopes(
        full=np.asarray(_rise(log_mel).mean(axis=0), dtype=np.float64),
        low=accent(centres < 200.0),
        mid=accent((centres >= 200.0) & (centres < 2000.0)),
    )


def _autocorrelation(x: F64, max_lag: int) -> F64:
    x = x - x.mean()
    n = scipy.fft.next_fast_len(2 * len(x))
    spec = scipy.fft.rfft(x, n)
    acf = scipy.fft.irfft(spec.real**2 + spec.imag**2, n)[: max_lag + 1]
    return np.asarray(acf / max(acf[0], 1e-12))


def _lag_bpm(lag: float) -> float:
    return 60.0 * FPS / lag


def _peak(values: F64, i: int) -> float:
    """``i`` moved to the vertex of the parabola through its neighbours."""
    if 0 < i < len(values) - 1:
        a, b, c = values[i - 1], values[i], values[i + 1]
        denom = a - 2 * b + c
        if denom < 0:
            return float(i + 0.5 * (a - c) / denom)
    return float(i)


def _global_tempo(env: F64) -> float:
    """The strongest periodicity between 40 and 240 BPM, with a weak preference for 120."""
    lo, hi = math.ceil(60 * FPS / _MAX_BPM), math.floor(60 * FPS / _MIN_BPM)
    acf = _autocorrelation(env, hi + 1)
    lags = np.arange(lo, hi + 1)
    prior = np.exp(-0.5 * (np.log2(_lag_bpm(1) / lags / 120.0) / 1.0) ** 2)
    best = int(lags[np.argmax(acf[lo : hi + 1] * prior)])
    return _lag_bpm(_peak(acf, best))


def _local_periods(env: F64, bpm: float) -> F64:
    """Frames per beat at every frame, following tempo changes of up to about a third."""
    window, step = round(8 * FPS), round(2 * FPS)
    lo = max(2, math.floor(60 * FPS / (bpm * 1.4)))
    hi = math.ceil(60 * FPS / (bpm / 1.4))
    if len(env) < window + step:
        return np.full(len(env), 60 * FPS / bpm)
    centres, periods = [], []
    for start in range(0, len(env) - window + 1, step):
        acf = _autocorrelation(env[start : start + window], hi + 1)
        lag = lo + int(np.argmax(acf[lo : hi + 1]))
        centres.append(start + window / 2)
        periods.append(_peak(acf, lag))
    smooth = np.asarray(periods)
    if len(smooth) >= 3:
        padded = np.concatenate([smooth[:1], smooth, smooth[-1:]])
        smooth = np.median(np.stack([padded[:-2], padded[1:-1], padded[2:]]), axis=0)
    return np.asarray(np.interp(np.arange(len(env)), centres, smooth), dtype=np.float64)


def _track(env: F64, period: F64, tightness: float = 100.0) -> NDArray[np.int64]:
    """Beat frames by dynamic programming: every beat is an onset, about a period apart.

    Frames are scored in blocks of half the shortest period, where no frame can depend on
    another of its block, so the recursion runs vectorised.
    """
    n = len(env)
    norm = env / (env.std() or 1.0)
    width = max(1, round(float(np.median(period)) / 32))
    kernel = np.exp(-0.5 * (np.arange(-2 * width, 2 * width + 1) / width) ** 2)
    local = np.convolve(norm, kernel, mode="same")
    cum = np.zeros(n)
    back = np.full(n, -1, dtype=np.int64)
    t = 0
    while t < n:
        p = float(period[t])
        block = max(1, math.floor(float(np.min(period[t : t + round(p)])) / 2))
        ts = np.arange(t, min(n, t + block))
        d = np.arange(max(1, round(p / 2)), round(2 * p) + 1)
        taus = ts[:, None] - d[None, :]
        valid = taus >= 0
        gap = np.log(d[None, :] / period[ts][:, None])
        scores = np.where(valid, cum[np.maximum(taus, 0)] - tightness * gap * gap, -np.inf)
        best = np.argmax(scores, axis=1)
        chosen = scores[np.arange(len(ts)), best]
        linked = chosen > 0
        cum[ts] = local[ts] + np.where(linked, chosen, 0.0)
        back[ts] = np.where(linked, taus[np.arange(len(ts)), best], -1)
        t += block
    # End on the best-scoring beat near the end, then follow the links back.
    tail = max(1, round(float(period[-1]) * 2))
    last = n - tail + int(np.argmax(cum[-tail:]))
    beats = []
    while last >= 0:
        beats.append(last)
        last = int(back[last])
    frames = np.asarray(beats[::-1], dtype=np.int64)
    return _trim(frames, local)


def _trim(frames: NDArray[np.int64], local: F64) -> NDArray[np.int64]:
    """Drop beats at either end that land on nothing (silence before or after the song)."""
    if len(frames) < 3:
        return frames
    strength = local[frames]
    floor = 0.1 * float(np.median(strength))
    keep = np.flatnonzero(strength > floor)
    return frames[keep[0] : keep[-1] + 1] if len(keep) else frames


def _strength(env: F64, frames: NDArray[Any]) -> F64:
    """The envelope's peak within a frame or two of each (fractional) frame."""
    idx = np.clip(np.round(frames).astype(int), 0, len(env) - 1)
    around = np.stack([env[np.clip(idx + k, 0, len(env) - 1)] for k in (-2, -1, 0, 1, 2)])
    return np.asarray(around.max(axis=0))


def _midpoints(frames: NDArray[np.int64]) -> F64:
    return np.asarray((frames[:-1] + frames[1:]) / 2.0)


def _pulse_ratios(envs: tuple[F64, ...], strong: NDArray[Any], weak: NDArray[Any]) -> list[float]:
    """How strong the ``weak`` pulses are against the ``strong`` ones, in each envelope."""
    return [
        float(np.median(_strength(e, weak)) / max(float(np.median(_strength(e, strong))), 1e-9))
        for e in envs
    ]


def _choose_level(envs: Envelopes, bpm: float) -> float:
    """Move from ``bpm`` to the metrical level a listener taps (see the module's notes).

    The pulses between two beats are compared with the beats in the low band (kick, bass) and
    the middle band (snare, chords, voice): a pulse as strong as the beats in either band is a
    beat too (a backbeat snare keeps the tempo), while hi-hats and quiet passing notes alone do
    not make one.
    """
    env, bands = envs.full, (envs.low, envs.mid)
    frames = _track(env, _local_periods(env, bpm))
    while bpm / 2 >= _BEAT_MIN_BPM and len(frames) >= 8:
        strong, weak = frames[0::2], frames[1::2]
        if np.median(_strength(env, weak)) > np.median(_strength(env, strong)):
            strong, weak = weak, strong
        if bpm <= _BEAT_MAX_BPM and max(_pulse_ratios(bands, strong, weak)) >= _EVEN_PULSE:
            break
        bpm, frames = bpm / 2, strong
    while bpm * 2 <= _BEAT_MAX_BPM and len(frames) >= 4:
        between = _midpoints(frames)
        if max(_pulse_ratios(bands, frames.astype(float), between)) < _EVEN_PULSE:
            break
        bpm = bpm * 2
        frames = np.sort(np.concatenate([frames, np.round(between).astype(np.int64)]))
    return bpm


def _refine(env: F64, frames: NDArray[np.int64]) -> F64:
    """Each beat moved to the envelope's peak nearby, to a fraction of a frame."""
    out = np.empty(len(frames))
    for i, f in enumerate(frames):
        lo, hi = max(0, f - 2), min(len(env), f + 3)
        k = lo + int(np.argmax(env[lo:hi]))
        out[i] = _peak(env, k)
    times = out / FPS + _LEAD
    return np.asarray(np.maximum(times, 0.0))


def _fit(beats: F64, a: int, b: int) -> tuple[float, float]:
    """Seconds per beat over beats ``a..b`` (inclusive) and the squared error of the line."""
    index = np.arange(a, b + 1)
    slope, intercept = np.polyfit(index, beats[a : b + 1], 1)
    residual = beats[a : b + 1] - (slope * index + intercept)
    return float(slope), float(residual @ residual)


def _tempo_map(beats: F64) -> list[TempoStretch]:
    """Stretches of steady tempo, each with its tempo regressed from its beats.

    A change is suspected where the local beat period moves by more than 3 % and stays moved;
    it is then placed on the beat that best splits the neighbourhood into two straight lines.
    """
    if len(beats) < 4:
        bpm = 60.0 / float(np.median(np.diff(beats))) if len(beats) >= 2 else 120.0
        return [TempoStretch(0.0, round(bpm, 2))]
    ioi = np.diff(beats)
    half = 4
    local = np.array(
        [np.median(ioi[max(0, i - half) : i + half + 1]) for i in range(len(ioi))], dtype=float
    )
    cuts = [0]
    for i in range(1, len(ioi)):
        here = np.median(local[cuts[-1] : i])
        if abs(math.log(local[i] / here)) > 0.03 and i - cuts[-1] >= 2 * half:
            ahead = local[i : i + half]
            if len(ahead) == half and np.all(np.abs(np.log(ahead / here)) > 0.03):
                cuts.append(i)
    cuts.append(len(beats) - 1)
    for k in range(1, len(cuts) - 1):
        lo, hi = cuts[k - 1] + 2, cuts[k + 1] - 2
        options = range(max(lo, cuts[k] - 3 * half), min(hi, cuts[k] + 3 * half) + 1)
        if options:
            cuts[k] = min(
                options,
                key=lambda c: _fit(beats, cuts[k - 1], c)[1] + _fit(beats, c, cuts[k + 1])[1],
            )
    stretches: list[TempoStretch] = []
    for a, b in itertools.pairwise(cuts):
        bpm = 60.0 / _fit(beats, a, b)[0]
        if stretches and abs(math.log(bpm / stretches[-1].bpm)) < 0.02:
            continue
        stretches.append(TempoStretch(round(float(beats[a]), 3), round(bpm, 2)))
    return stretches


def _stretch_periods(stretches: list[TempoStretch], frames: int) -> F64:
    """Frames per beat at every frame, constant within each stretch."""
    period = np.empty(frames)
    for i, s in enumerate(stretches):
        start = 0 if i == 0 else round(s.start * FPS)
        period[start:] = 60.0 * FPS / s.bpm
    return period


def _main_tempo(stretches: list[TempoStretch], beats: F64) -> float:
    ends = [s.start for s in stretches[1:]] + [float(beats[-1])]
    longest = max(range(len(stretches)), key=lambda i: ends[i] - stretches[i].start)
    return stretches[longest].bpm


def _bar_cue(beats: F64, env_low: F64, chroma: NDArray[np.float32]) -> F64:
    """Per beat, how much it sounds like a "one": the harmony changes and the low drums hit."""
    frames = np.round(beats * FPS).astype(int)
    edges = np.concatenate([frames, [chroma.shape[1]]])
    sync = np.stack(
        [chroma[:, a : max(b, a + 1)].mean(axis=1) for a, b in itertools.pairwise(edges)]
    )
    sync /= np.linalg.norm(sync, axis=1, keepdims=True) + 1e-9
    change = np.concatenate([[0.0], 1.0 - np.sum(sync[1:] * sync[:-1], axis=1)])
    low = _strength(env_low, frames.astype(float))

    def z(x: F64) -> F64:
        return np.asarray((x - x.mean()) / (x.std() or 1.0))

    return np.asarray(z(change) + 0.5 * z(low))


def _phase(cue: F64, meter: int) -> tuple[int, float]:
    """The phase whose beats stand out most from the others, and by how much."""
    best = (0, -math.inf)
    for phase in range(min(meter, len(cue))):
        on = cue[phase::meter]
        off = np.delete(cue, np.arange(phase, len(cue), meter))
        contrast = float(on.mean() - (off.mean() if len(off) else 0.0))
        if contrast > best[1] + 1e-9:
            best = (phase, contrast)
    return best


def _downbeats(
    beats: F64, cue: F64, stretches: list[TempoStretch]
) -> tuple[int, NDArray[np.int64]]:
    """Meter (3 or 4) for the song, and the indices of the downbeats.

    The phase is found per stretch of steady tempo: where the tempo changes, the tracker may
    gain or lose a beat, and the bar lines after the change must not inherit the error.
    """
    if len(beats) < 8:
        return 4, np.arange(0, len(beats), 4)
    meter = max((4, 3), key=lambda m: _phase(cue, m)[1])
    starts = [int(np.searchsorted(beats, s.start - 1e-6)) for s in stretches] + [len(beats)]
    indices: list[int] = []
    for a, b in itertools.pairwise(starts):
        if b - a < 2 * meter:  # too short to tell: carry the bar on
            phase = (indices[-1] + meter - a) % meter if indices else 0
        else:
            phase = _phase(cue[a:b], meter)[0]
        indices.extend(range(a + phase, b, meter))
    return meter, np.asarray(indices, dtype=np.int64)


def find_rhythm(envs: Envelopes, chroma: NDArray[np.float32]) -> Rhythm:
    """Tempo, tempo map, beats and bars of a song from its onset envelopes and chroma."""
    env = envs.full
    first = _global_tempo(env)
    bpm = _choose_level(envs, first)
    frames = _track(env, _local_periods(env, bpm))
    beats = _refine(env, frames)
    stretches = _tempo_map(beats)
    if len(stretches) > 1:  # track again with each stretch's own steady period
        frames = _track(env, _stretch_periods(stretches, len(env)))
        beats = _refine(env, frames)
        stretches = _tempo_map(beats)
    meter, downbeats = _downbeats(beats, _bar_cue(beats, envs.low, chroma), stretches)
    on_beats = _strength(env, beats * FPS)
    off_beats = _strength(env, _midpoints(frames))
    confidence = float(np.clip(1.0 - np.median(off_beats) / (np.median(on_beats) + 1e-9), 0, 1))
    return Rhythm(
        tempo=_main_tempo(stretches, beats),
        tempo_map=stretches,
        beats=beats,
        meter=meter,
        downbeat_indices=downbeats,
        confidence=round(confidence, 3),
    )
