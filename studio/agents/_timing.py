"""Where the cuts go: the storyboard's scenes laid on the song's clock.

Every cut sits on a downbeat; no scene crosses a section boundary; a key moment (the drop, the
climax) starts a scene of its own; quiet sections hold their shots longer and loud ones cut
faster; and every scene fits the clip lengths the video provider can make.
"""

from __future__ import annotations

import bisect
import itertools
import statistics
from dataclasses import dataclass

from studio.errors import InvalidInput
from studio.model import Analysis, Lyrics
from studio.providers import ShotPlan

__all__ = ["ClipLimits", "plan_shots"]

_CUT_MOMENTS = {"build", "drop", "climax", "bridge", "resolution"}


@dataclass(frozen=True)
class ClipLimits:
    """The shortest and longest scene, in seconds (the video provider's native lengths)."""

    shortest: float = 1.5
    longest: float = 8.0

    def __post_init__(self) -> None:
        if not 0 < self.shortest < self.longest:
            raise InvalidInput(
                f"clip lengths {self.shortest}-{self.longest} s are not a range",
                hint="the shortest must be above 0 and below the longest",
            )


def _bars_per_shot(energy: float, bar: float, limits: ClipLimits) -> int:
    """Loud parts cut every bar or two, quiet ones every four; within the clip limits."""
    bars = 1 if energy >= 0.95 else 2 if energy >= 0.75 else 4
    while bars > 1 and bars * bar > limits.longest:
        bars //= 2
    while bars * bar < limits.shortest and bars < 64:
        bars *= 2
    return bars


def _section_energy(song: Analysis, start: float, end: float) -> float:
    if song.energy is None:
        return 0.5
    step = song.energy.hop
    values = song.energy.values[int(start / step) : max(int(end / step), int(start / step) + 1)]
    return statistics.fmean(values) if values else 0.5


def _lyric(lyrics: Lyrics | None, start: float, end: float) -> str:
    if lyrics is None:
        return ""
    return " / ".join(line.text for line in lyrics.lines if line.start < end and line.end > start)


def plan_shots(
    song: Analysis, *, limits: ClipLimits | None = None, lyrics: Lyrics | None = None
) -> list[ShotPlan]:
    """The shots of a storyboard for ``song`` (its corrected map), in order, gap-free from 0
    to the end of the song."""
    limits = limits or ClipLimits()
    if not song.sections:
        raise InvalidInput("the song has no sections", hint="analyse the song first")
    downbeats = list(song.downbeats) or list(song.beats)
    bar = (
        statistics.median(b - a for a, b in itertools.pairwise(downbeats))
        if (len(downbeats) > 1)
        else 2.0
    )
    energies = [_section_energy(song, s.start, s.end) for s in song.sections]
    top = max(energies) or 1.0
    moments = {round(m.time, 3): m.kind for m in song.key_moments if m.kind in _CUT_MOMENTS}
    cuts: list[tuple[float, str, float]] = []  # (start, section, energy)
    for section, energy in zip(song.sections, energies, strict=True):
        relative = energy / top
        every = _bars_per_shot(relative, bar, limits)
        inside = [d for d in downbeats if section.start + bar / 2 < d < section.end - bar / 2]
        starts = [section.start, *inside[every - 1 :: every]]
        # A key moment inside the section starts a shot of its own (on its downbeat).
        for time in moments:
            if section.start + 1e-3 < time < section.end - 1e-3 and inside:
                near = min(inside, key=lambda d: abs(d - time))
                if all(abs(near - s) > 1e-3 for s in starts):
                    bisect.insort(starts, near)
        # No shot shorter than the shortest clip: merge a short tail into the one before.
        kept = [starts[0]]
        for s in starts[1:]:
            if s - kept[-1] >= limits.shortest:
                kept.append(s)
        if (
            len(kept) > 1
            and section.end - kept[-1] < limits.shortest
            and section.end - kept[-2] <= limits.longest
        ):
            kept.pop()
        cuts.extend((s, section.label, relative) for s in kept)
    shots = []
    for i, (start, label, energy) in enumerate(cuts):
        end = cuts[i + 1][0] if i + 1 < len(cuts) else song.duration
        moment = next((kind for t, kind in moments.items() if abs(t - start) < bar / 2), None)
        shots.append(
            ShotPlan(
                index=i,
                start=round(start, 4),
                end=round(end, 4),
                section=label,
                energy=round(min(1.0, energy), 3),
                lyric=_lyric(lyrics, start, end),
                moment=moment,
            )
        )
    return shots
