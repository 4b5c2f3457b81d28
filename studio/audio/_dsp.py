"""The signal processing under the analysis: resampling, a spectrogram, mel and chroma filter
banks, band energies, and BS.1770 loudness with true peak.

Written on numpy, scipy.fft and soxr rather than librosa: librosa's import alone (numba
compiling its beat tracker) takes about six seconds on this machine, longer than the whole
analysis is allowed to take. The algorithms are the textbook ones librosa also uses.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import scipy.fft
import soxr
from numpy.typing import NDArray

__all__ = [
    "HOP",
    "N_FFT",
    "SR",
    "Spectrum",
    "chroma_filters",
    "k_weighting",
    "loudness",
    "mel_edges",
    "mel_filters",
    "resample_mono",
    "spectrum",
    "true_peak",
]

F32 = NDArray[np.float32]
F64 = NDArray[np.float64]

SR = 22050
"""The rate every feature is computed at."""
N_FFT = 2048
HOP = 256
"""11.6 ms between frames: beat times land within a few ms after peak interpolation."""
_BLOCK = 1024  # frames transformed at once, so memory stays flat for long songs


def resample_mono(samples: F32, sample_rate: int) -> F32:
    """Mix to mono and resample to :data:`SR` (soxr, high quality)."""
    mono = samples.mean(axis=1, dtype=np.float32) if samples.ndim == 2 else samples
    if sample_rate == SR:
        return np.ascontiguousarray(mono, dtype=np.float32)
    return np.asarray(soxr.resample(mono, sample_rate, SR, quality="HQ"), dtype=np.float32)


@dataclass(frozen=True)
class Spectrum:
    """Power spectrogram ``(bins, frames)``; frame ``t`` is centred on sample ``t * HOP``."""

    power: F32
    freqs: F64

    @property
    def frames(self) -> int:
        return int(self.power.shape[1])

    def times(self) -> F64:
        return np.arange(self.frames) * HOP / SR


def spectrum(y: F32, n_fft: int = N_FFT, hop: int = HOP) -> Spectrum:
    """Short-time power spectrum with a Hann window, computed in blocks of frames."""
    pad = n_fft // 2
    padded = np.pad(y, (pad, pad), mode="constant")
    frames = len(y) // hop + 1
    padded = np.pad(padded, (0, max(0, (frames - 1) * hop + n_fft - len(padded))))
    window = np.hanning(n_fft + 1)[:-1].astype(np.float32)
    view = np.lib.stride_tricks.sliding_window_view(padded, n_fft)[::hop][:frames]
    power = np.empty((n_fft // 2 + 1, frames), dtype=np.float32)
    for start in range(0, frames, _BLOCK):
        block = view[start : start + _BLOCK] * window
        spec = scipy.fft.rfft(block, axis=1, workers=-1)
        power[:, start : start + len(block)] = (spec.real**2 + spec.imag**2).T
    return Spectrum(power=power, freqs=np.fft.rfftfreq(n_fft, 1 / SR).astype(np.float64))


def _hz_to_mel(hz: F64 | float) -> F64:
    return np.asarray(2595.0 * np.log10(1.0 + np.asarray(hz) / 700.0))


def _mel_to_hz(mel: F64) -> F64:
    return np.asarray(700.0 * (10 ** (mel / 2595.0) - 1.0))


def mel_edges(n_mels: int, fmin: float = 30.0, fmax: float = 10000.0) -> F64:
    """The ``n_mels + 2`` corner frequencies of the mel filters; filter ``i`` peaks at
    ``edges[i + 1]``."""
    return _mel_to_hz(np.linspace(_hz_to_mel(fmin), _hz_to_mel(fmax), n_mels + 2))


def mel_filters(freqs: F64, n_mels: int, fmin: float = 30.0, fmax: float = 10000.0) -> F32:
    """Triangular filters evenly spaced on the mel scale, each summing to one."""
    edges = mel_edges(n_mels, fmin, fmax)
    bank = np.zeros((n_mels, len(freqs)), dtype=np.float64)
    for i in range(n_mels):
        lo, mid, hi = edges[i], edges[i + 1], edges[i + 2]
        rise = (freqs - lo) / (mid - lo)
        fall = (hi - freqs) / (hi - mid)
        bank[i] = np.maximum(0.0, np.minimum(rise, fall))
    sums = bank.sum(axis=1, keepdims=True)
    bank /= np.where(sums > 0, sums, 1.0)
    return bank.astype(np.float32)


def chroma_filters(freqs: F64, fmin: float = 55.0, fmax: float = 5000.0) -> F32:
    """Each FFT bin's weight towards the 12 pitch classes (C = 0), for magnitude spectra.

    Bins close to a semitone count most; below ``fmin`` the bins are wider than a semitone
    and only blur the picture. An octave weighting centred near 400 Hz favours the range
    where chords and melodies live.
    """
    bank = np.zeros((12, len(freqs)), dtype=np.float64)
    bins = np.flatnonzero((freqs >= fmin) & (freqs <= fmax))
    midi = 69.0 + 12.0 * np.log2(freqs[bins] / 440.0)
    nearest = np.round(midi).astype(int)
    weight = np.exp(-0.5 * ((midi - nearest) / 0.25) ** 2)
    # Every note gets the same total weight, however many bins fall near it, so that noise
    # (cymbals, snare) spreads evenly over the twelve classes instead of favouring some.
    totals = np.bincount(nearest, weights=weight)
    weight /= totals[nearest]
    weight *= np.exp(-0.5 * (np.log2(freqs[bins] / 400.0) / 2.0) ** 2)
    np.add.at(bank, (nearest % 12, bins), weight)
    return bank.astype(np.float32)


def _biquad_power(b: F64, a: F64, cos_w: F64, cos_2w: F64) -> F64:
    """``|H(e^jw)|^2`` of a biquad, in real arithmetic."""

    def side(c: F64) -> F64:
        return np.asarray(
            c @ c + 2 * (c[0] * c[1] + c[1] * c[2]) * cos_w + 2 * c[0] * c[2] * cos_2w
        )

    return np.asarray(side(b) / side(a))


def k_weighting(sample_rate: int, n: int) -> F64:
    """The power response of the two BS.1770 pre-filters (high shelf, high pass) at the
    ``n // 2 + 1`` frequencies of an ``n``-point real FFT, designed for any sample rate."""
    w = np.linspace(0.0, math.pi, n // 2 + 1)
    cos_w, cos_2w = np.cos(w), np.cos(2 * w)
    gain, q, fc = 3.999843853973347, 0.7071752369554196, 1681.974450955533
    k = math.tan(math.pi * fc / sample_rate)
    vh = 10 ** (gain / 20)
    vb = vh**0.4996667741545416
    a0 = 1 + k / q + k * k
    shelf = _biquad_power(
        np.array([vh + vb * k / q + k * k, 2 * (k * k - vh), vh - vb * k / q + k * k]) / a0,
        np.array([a0, 2 * (k * k - 1), 1 - k / q + k * k]) / a0,
        cos_w,
        cos_2w,
    )
    q, fc = 0.5003270373238773, 38.13547087602444
    k = math.tan(math.pi * fc / sample_rate)
    a0 = 1 + k / q + k * k
    high_pass = _biquad_power(
        np.array([1.0, -2.0, 1.0]),
        np.array([a0, 2 * (k * k - 1), 1 - k / q + k * k]) / a0,
        cos_w,
        cos_2w,
    )
    return np.asarray(shelf * high_pass)


def loudness(samples: F32, sample_rate: int) -> tuple[float, float]:
    """Integrated loudness (LUFS, BS.1770-4 with both gates) and true peak (dBTP).

    The K-weighting is applied as a power response to the spectra of 100 ms sub-blocks
    (Parseval): the measure only needs the weighted energy per block, and this costs one FFT
    pass instead of two IIR filters over the whole song.
    """
    x = samples if samples.ndim == 2 else samples[:, None]
    step = round(0.1 * sample_rate)
    subs = len(x) // step
    if subs < 4:
        return -70.0, round(true_peak(x, sample_rate), 2)
    weight = k_weighting(sample_rate, step)
    weight[1 : (step + 1) // 2] *= 2  # the bins that stand for two conjugate frequencies
    energy = np.zeros(subs)
    for c in range(x.shape[1]):
        blocks = x[: subs * step, c].reshape(subs, step)
        spec = scipy.fft.rfft(blocks, axis=1, workers=-1)
        energy += ((spec.real**2 + spec.imag**2) @ weight) / (step * step)
    # 400 ms gating blocks overlapping by 75 %: four consecutive sub-blocks each.
    power = np.convolve(energy, np.ones(4) / 4, mode="valid")
    block_lufs = -0.691 + 10 * np.log10(np.maximum(power, 1e-12))
    above = power[block_lufs > -70.0]
    integrated = -70.0
    if len(above):
        relative = -0.691 + 10 * math.log10(above.mean()) - 10.0
        kept = power[(block_lufs > -70.0) & (block_lufs > relative)]
        integrated = -0.691 + 10 * math.log10(kept.mean())
    return round(integrated, 2), round(true_peak(x, sample_rate), 2)


def true_peak(x: F32, sample_rate: int) -> float:
    """The highest inter-sample peak in dBTP, 4x oversampled (2x from 96 kHz).

    Only the stretches whose sample peak comes within 4 dB of the loudest sample are
    oversampled: an inter-sample peak cannot exceed its neighbouring samples by more.
    """
    factor = 4 if sample_rate < 96000 else 2
    data = np.ascontiguousarray(x, dtype=np.float32)
    sample_peak = float(np.max(np.abs(data))) if len(data) else 0.0
    if sample_peak == 0.0:
        return -math.inf
    chunk, context = 16384, 256
    n = len(data) // chunk * chunk
    peaks = np.abs(data[:n]).reshape(-1, chunk * data.shape[1]).max(axis=1)
    loud = [int(i) for i in np.flatnonzero(peaks >= sample_peak * 10 ** (-4 / 20))]
    if n < len(data):
        loud.append(n // chunk)
    peak = sample_peak
    for index in loud:
        start = max(0, index * chunk - context)
        part = data[start : index * chunk + chunk + context]
        up = soxr.resample(part, sample_rate, sample_rate * factor, quality="HQ")
        # The resampler rings where the excerpt is cut; keep the middle.
        lo = (index * chunk - start) * factor
        hi = min(len(up), lo + chunk * factor)
        if hi > lo:
            peak = max(peak, float(np.max(np.abs(up[lo:hi]))))
    return 20 * math.log10(peak)
