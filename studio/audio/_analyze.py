"""From decoded samples to the song's map (:class:`~studio.model.Analysis`).

Deterministic: the same file always gives the same map. ``analyze`` also reports how long each
stage took, for the benchmark and the job's log.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from studio.audio import _dsp
from studio.audio._ingest import DecodedAudio, load_audio
from studio.audio._rhythm import FPS, find_rhythm, onset_envelopes
from studio.audio._structure import bar_features, find_key, find_sections, key_moments
from studio.model import Analysis, Curve, KeyMoment, Section, TempoChange

__all__ = ["ANALYZER", "CURVE_HOP", "analyze", "analyze_file"]

ANALYZER = "studio-1"
"""Names the algorithm; a stored analysis made by another version is made again."""
CURVE_HOP = 0.02
"""Curves are sampled at 50 per second: every video frame rate up to 50 fps gets its own
value, and 60 fps interpolates."""
_BANDS = {"bass": (20.0, 150.0), "mids": (150.0, 2000.0), "highs": (2000.0, 11025.0)}
_DB_RANGE = 40.0
"""Curves show the top 40 dB of each signal as 0..1."""

F64 = NDArray[np.float64]


class Timings:
    """Seconds per stage, in order."""

    def __init__(self) -> None:
        self.stages: dict[str, float] = {}

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.stages[name] = self.stages.get(name, 0.0) + time.perf_counter() - start


def analyze_file(path: Path, sha256: str) -> tuple[Analysis, dict[str, float]]:
    """Decode ``path`` (refusing what cannot be a song) and analyse it."""
    timings = Timings()
    with timings.stage("decode"):
        decoded = load_audio(path)
    analysis, stages = analyze(decoded, sha256)
    return analysis, {**timings.stages, **stages}


def _db(power: F64) -> F64:
    return np.asarray(10 * np.log10(np.maximum(power, 1e-12)))


def _curve(values: F64, times: F64, *, db: bool) -> Curve:
    """``values`` (at ``times``) resampled onto the :data:`CURVE_HOP` grid, as 0..1."""
    grid = np.arange(0.0, float(times[-1]) + 1e-9, CURVE_HOP)
    resampled = np.interp(grid, times, values)
    if db:
        top = float(np.percentile(resampled, 99.5))
        scaled = (resampled - (top - _DB_RANGE)) / _DB_RANGE
    else:
        top = float(np.percentile(resampled, 99.5)) or 1.0
        scaled = resampled / top
    return Curve(hop=CURVE_HOP, values=np.round(np.clip(scaled, 0, 1), 4).tolist())


def _waveform(y: NDArray[np.float32]) -> Curve:
    step = round(_dsp.SR * CURVE_HOP)
    n = len(y) // step
    peaks = np.abs(y[: n * step]).reshape(n, step).max(axis=1) if n else np.zeros(0)
    top = float(peaks.max()) if n else 1.0
    return Curve(hop=CURVE_HOP, values=np.round(peaks / (top or 1.0), 4).tolist())


def _onset_times(env: F64) -> list[float]:
    """Peaks of the onset envelope that stand out from their neighbourhood."""
    width = 3
    padded = np.pad(env, width, mode="edge")
    windows = np.lib.stride_tricks.sliding_window_view(padded, 2 * width + 1)
    local_max = env >= windows.max(axis=1)
    kernel = np.ones(round(FPS)) / round(FPS)
    threshold = np.convolve(env, kernel, mode="same") + 0.5 * env.std()
    frames = np.flatnonzero(local_max & (env > threshold))
    kept: list[int] = []
    for f in frames:
        if not kept or f - kept[-1] >= 3:
            kept.append(int(f))
    return [round(f / FPS, 4) for f in kept]


def analyze(decoded: DecodedAudio, sha256: str) -> tuple[Analysis, dict[str, float]]:
    """The map of ``decoded`` and the seconds each stage took."""
    t = Timings()
    with t.stage("resample"):
        y = _dsp.resample_mono(decoded.samples, decoded.sample_rate)
    with t.stage("spectrum"):
        short = _dsp.spectrum(y, 1024)
        full = _dsp.spectrum(y)
    with t.stage("features"):
        mel = _dsp.mel_filters(short.freqs, 64) @ short.power
        envs = onset_envelopes(mel, _dsp.mel_edges(64)[1:-1])
        env = envs.full
        # Chroma from a long window (2.7 Hz bins resolve semitones down to the bass), every
        # fourth frame, repeated onto the common frame grid.
        tonal = _dsp.spectrum(y, 8192, 4 * _dsp.HOP)
        chroma = np.repeat(_dsp.chroma_filters(tonal.freqs) @ np.sqrt(tonal.power), 4, axis=1)
        chroma = chroma[:, : full.frames]
        band_db = {
            name: _db(
                full.power[(full.freqs >= lo) & (full.freqs < hi)].sum(axis=0, dtype=np.float64)
            )
            for name, (lo, hi) in _BANDS.items()
        }
        total = full.power.sum(axis=0).astype(np.float64)
        timbre = _db((_dsp.mel_filters(full.freqs, 24) @ full.power).astype(np.float64))
        frame_times = full.times()
    with t.stage("rhythm"):
        rhythm = find_rhythm(envs, chroma)
    with t.stage("structure"):
        downbeats = rhythm.downbeats
        bar_frames = np.round(downbeats * FPS).astype(np.int64)
        # Whole bars only: the last ends a bar after the last downbeat, not at the song's end.
        bar_length = int(np.median(np.diff(bar_frames))) if len(bar_frames) > 1 else full.frames
        last = min(full.frames, int(bar_frames[-1]) + bar_length) if len(bar_frames) else 0
        edges = np.unique(np.clip(np.concatenate([bar_frames, [last]]), 0, full.frames))
        # Bars start on the downbeats themselves (to a fraction of a frame), not on frames.
        bar_times = np.append(downbeats, edges[-1] / FPS)[: len(edges)]
        norm_chroma = chroma / (chroma.sum(axis=0, keepdims=True) + 1e-9)
        groups = [
            timbre,
            norm_chroma.astype(np.float64),
            np.stack(list(band_db.values())),
        ]
        # Onsets per beat, not per second: a tempo change is not a new section.
        per_beat = [[env[a:b].sum() / rhythm.meter for a, b in itertools.pairwise(edges)]]
        bars = (
            bar_features(groups, edges, [np.asarray(per_beat)])
            if len(edges) > 1
            else np.zeros((0, 1))
        )
        loud = _db(total)
        bar_loud = np.array([loud[a : max(b, a + 1)].mean() for a, b in itertools.pairwise(edges)])
        energy = _curve(loud, frame_times, db=True)
        specs = find_sections(bars, bar_times, bar_loud, decoded.duration)
        moments = key_moments(specs, np.asarray(energy.values), CURVE_HOP)
        openings = []
        for spec in specs:
            a = int(np.searchsorted(edges, round(spec.start * FPS) - 1))
            if a + 1 < len(edges):
                openings.append(chroma[:, edges[a] : edges[a + 1]].mean(axis=1).astype(np.float64))
        key, mode, key_r = find_key(chroma, total / (total.max() or 1.0), openings)
    with t.stage("curves"):
        bands = {name: _curve(db, frame_times, db=True) for name, db in band_db.items()}
        onset_curve = _curve(env, frame_times, db=False)
        waveform = _waveform(y)
        onsets = _onset_times(env)
    with t.stage("loudness"):
        lufs, peak = _dsp.loudness(decoded.samples, decoded.sample_rate)
    analysis = Analysis(
        audio_sha256=sha256,
        duration=round(decoded.duration, 4),
        sample_rate=decoded.sample_rate,
        channels=decoded.channels,
        tempo=round(rhythm.tempo, 3),
        tempo_confidence=rhythm.confidence,
        tempo_map=[TempoChange(start=s.start, bpm=s.bpm) for s in rhythm.tempo_map],
        meter=rhythm.meter,
        beats=np.round(rhythm.beats, 4).tolist(),
        downbeats=np.round(downbeats, 4).tolist(),
        onsets=onsets,
        sections=[Section(start=s.start, end=s.end, label=s.label) for s in specs],
        key_moments=[
            KeyMoment(time=m.time, kind=m.kind, description=m.description) for m in moments
        ],
        key=key,
        mode=mode,
        key_confidence=round(key_r, 3),
        loudness_lufs=lufs,
        true_peak_dbtp=peak,
        energy=energy,
        bands=bands,
        onset_strength=onset_curve,
        waveform=waveform,
        analyzer=ANALYZER,
    )
    return analysis, t.stages
