"""The song's form: sections on bar lines with labels, the moments where the visuals should
turn, and the key.

Sections are found on bar-synchronous features (timbre, harmony, band energies, onset density):
a boundary is a bar line where the bars before and after differ most. Labels come from
repetition and energy: the loudest part that comes back is the chorus, a quiet opening is the
intro, a part heard once between choruses is the bridge, and so on.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

__all__ = ["KeyMomentSpec", "SectionSpec", "find_key", "find_sections", "key_moments"]

F64 = NDArray[np.float64]
F32 = NDArray[np.float32]

_MIN_BARS = 2
_SAME_PART = 0.75
"""Cosine similarity above which two sections count as the same part played again."""

# Krumhansl-Kessler key profiles, C first.
_MAJOR = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
_MINOR = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])
NOTE_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")


@dataclass(frozen=True)
class SectionSpec:
    start: float
    end: float
    label: str
    energy: float
    """Mean loudness in dB (relative)."""


@dataclass(frozen=True)
class KeyMomentSpec:
    time: float
    kind: str
    description: str


def _zscore(x: F64) -> F64:
    return np.asarray((x - x.mean(axis=0)) / (x.std(axis=0) + 1e-9))


def bar_features(groups: list[F64], edges: NDArray[np.int64], per_bar: list[F64]) -> F64:
    """One row per bar: the mean of each frame-wise feature group between the bar's edges,
    then the ``per_bar`` groups (already one column per bar); each group z-scored and
    weighted equally."""
    means = [
        np.stack([g[:, a : max(b, a + 1)].mean(axis=1) for a, b in itertools.pairwise(edges)])
        for g in groups
    ]
    tables = means + [np.asarray(g, dtype=np.float64).T for g in per_bar]
    return np.concatenate([_zscore(t) / math.sqrt(t.shape[1]) for t in tables], axis=1)


def _novelty(bars: F64) -> F64:
    """How different the bars after each bar line are from the bars before it."""
    n = len(bars)
    novelty = np.zeros(n)
    k = 4
    if n > 2:
        # Each feature in units of its ordinary bar-to-bar wobble: chords that change every
        # bar count for little, a loudness or timbre that holds and then jumps for much.
        wobble = np.median(np.abs(np.diff(bars, axis=0)), axis=0)
        bars = bars / np.maximum(wobble, 0.1 * (bars.std(axis=0) + 1e-9))
    # Mirrored at both ends, so the first and last bars are compared with full windows too.
    padded = np.concatenate([bars[k - 1 :: -1], bars, bars[: -k - 1 : -1]]) if n >= k else bars
    offset = k if n >= k else 0
    for b in range(1, n):
        i = b + offset
        before, after = padded[max(0, i - k) : i], padded[i : i + k]
        novelty[b] = float(np.linalg.norm(before.mean(axis=0) - after.mean(axis=0)))
    return novelty


def _boundaries(novelty: F64) -> list[int]:
    """Bar indices that start a section: peaks of novelty that rise well above the valleys
    on both sides (a real change stands out from the steady bars around it), strongest
    first, at least two bars apart."""
    n = len(novelty)
    if n < 2 * _MIN_BARS:
        return [0]
    floor = 0.05 * float(novelty.max())
    candidates = []
    for b in range(_MIN_BARS, n - _MIN_BARS + 1):
        if novelty[b] < floor or novelty[b] < novelty[max(1, b - 2) : b + 3].max():
            continue
        left = novelty[max(1, b - 4) : b]
        right = novelty[b + 1 : b + 5]
        valley = max(
            float(left.min()) if len(left) else 0.0, float(right.min()) if len(right) else 0.0
        )
        if novelty[b] >= 2.0 * valley:
            candidates.append(b)
    chosen = [0]
    for b in sorted(candidates, key=lambda b: -novelty[b]):
        if all(abs(b - c) >= _MIN_BARS for c in chosen):
            chosen.append(b)
    return sorted(chosen)


def _label(specs: list[tuple[int, int]], bars: F64, energy: F64) -> list[str]:
    """Names for sections given as bar ranges, from repetition and loudness."""
    n = len(specs)
    means = np.array([bars[a:b].mean(axis=0) for a, b in specs])
    loud = np.array([energy[a:b].mean() for a, b in specs])
    norms = np.linalg.norm(means, axis=1) + 1e-9
    similar = (means @ means.T) / np.outer(norms, norms)
    group = list(range(n))
    for i, j in itertools.combinations(range(n), 2):
        if similar[i, j] >= _SAME_PART and abs(loud[i] - loud[j]) < 3.0:
            old, new = group[j], group[i]
            group = [new if g == old else g for g in group]
    labels = [""] * n
    median = float(np.median(loud))
    if n >= 3 and loud[0] < median - 1.5:
        labels[0] = "intro"
    if n >= 3 and loud[-1] < median - 1.5:
        labels[-1] = "outro"
    body = [i for i in range(n) if not labels[i]]
    counts = {g: sum(1 for i in body if group[i] == g) for g in {group[i] for i in body}}

    def loudest_of(g: int) -> float:
        return max(float(loud[i]) for i in body if group[i] == g)

    repeated = sorted((g for g, c in counts.items() if c >= 2), key=loudest_of, reverse=True)
    chorus_group = repeated[0] if repeated else None
    if chorus_group is None and body:
        chorus_group = group[max(body, key=lambda i: loud[i])]
    choruses = [i for i in body if group[i] == chorus_group]
    chorus_loud = float(np.mean([loud[i] for i in choruses])) if choruses else median
    for i in body:
        if group[i] == chorus_group:
            labels[i] = "chorus"
        elif choruses and choruses[0] < i < choruses[-1] and counts[group[i]] == 1:
            labels[i] = "bridge"
        elif i > 0 and loud[i] > chorus_loud + 1.0 and loud[i] - loud[i - 1] > 6.0:
            labels[i] = "drop"
        else:
            labels[i] = "verse"
    return labels


def find_sections(bars: F64, bar_times: F64, energy_db: F64, duration: float) -> list[SectionSpec]:
    """Sections covering the whole song, each starting on a bar line.

    ``bars`` holds one feature row per bar, ``bar_times`` the bars' start times (one more
    entry: where the last bar ends), ``energy_db`` each bar's loudness.
    """
    if len(bars) == 0:
        return [SectionSpec(0.0, duration, "verse", 0.0)]
    starts = _boundaries(_novelty(bars))
    ranges = list(itertools.pairwise([*starts, len(bars)]))
    labels = _label(ranges, bars, energy_db)
    out = []
    for (a, b), label in zip(ranges, labels, strict=True):
        start = 0.0 if a == 0 else float(bar_times[a])
        end = duration if b == len(bars) else float(bar_times[b])
        out.append(SectionSpec(round(start, 3), round(end, 3), label, float(energy_db[a:b].mean())))
    return out


def key_moments(sections: list[SectionSpec], energy_curve: F64, hop: float) -> list[KeyMomentSpec]:
    """Where the visuals should turn: the opening, the build, the drop, the bridge, the peak,
    the climax and the resolution."""
    moments: list[KeyMomentSpec] = []
    if not sections:
        return moments
    first = sections[0]
    moments.append(KeyMomentSpec(first.start, "intro", f"the song opens with the {first.label}"))
    loudest = max(range(len(sections)), key=lambda i: sections[i].energy)
    top = sections[loudest].energy
    big = [i for i, s in enumerate(sections) if s.energy >= top - 1.5]
    first_big = big[0]
    if first_big > 0:
        before = sections[first_big - 1]
        moments.append(
            KeyMomentSpec(
                before.start,
                "build",
                f"the {before.label} builds towards the first {sections[first_big].label}",
            )
        )
    for i in range(1, len(sections)):
        jump = sections[i].energy - sections[i - 1].energy
        if jump > 6.0:
            moments.append(
                KeyMomentSpec(
                    sections[i].start,
                    "drop",
                    f"the {sections[i].label} hits {jump:.0f} dB louder than the "
                    f"{sections[i - 1].label}",
                )
            )
    for s in sections:
        if s.label == "bridge":
            moments.append(KeyMomentSpec(s.start, "bridge", "the bridge: a turn before the end"))
    climax = sections[big[-1]]
    moments.append(
        KeyMomentSpec(climax.start, "climax", f"the last {climax.label}: the song's high point")
    )
    if len(energy_curve):
        width = max(1, round(2.0 / hop))
        smooth = np.convolve(energy_curve, np.ones(width) / width, mode="same")
        peak = round(float(np.argmax(smooth)) * hop, 3)
        moments.append(KeyMomentSpec(peak, "peak", "the loudest moment of the song"))
    after = [s for s in sections if s.start > climax.start]
    if after:
        moments.append(
            KeyMomentSpec(after[0].start, "resolution", f"the {after[0].label} resolves the song")
        )
    moments.sort(key=lambda m: m.time)
    return moments


def _triad(tonic: int, mode: str) -> F64:
    chord = np.zeros(12)
    chord[[tonic, (tonic + (4 if mode == "major" else 3)) % 12, (tonic + 7) % 12]] = 1.0
    return chord


def find_key(chroma: F32, weights: F64, openings: list[F64]) -> tuple[str, str, float]:
    """Key and mode: the song's pitch-class profile against Krumhansl-Kessler's, and, to tell
    a key from its relative (A minor from C major: the same notes), how well the chords that
    open the sections fit each candidate's tonic triad. Returns ``(key, mode, r)`` with ``r``
    the profile correlation (-1..1)."""
    profile = (chroma * weights[None, : chroma.shape[1]]).sum(axis=1).astype(np.float64)
    if not np.any(profile):
        return "C", "major", 0.0
    opened = [o for o in openings if np.any(o)]
    best, best_score = ("C", "major", 0.0), -math.inf
    for tonic in range(12):
        for mode, template in (("major", _MAJOR), ("minor", _MINOR)):
            r = float(np.corrcoef(profile, np.roll(template, tonic))[0, 1])
            score = r
            if opened:
                triad = _triad(tonic, mode)
                score += float(np.mean([np.corrcoef(o, triad)[0, 1] for o in opened]))
            if score > best_score:
                best, best_score = (NOTE_NAMES[tonic], mode, r), score
    return best
