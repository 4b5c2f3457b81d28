"""The song's map: tempo, beat grid, bars, sections, key moments, energy curves; and the
corrections a person makes to it, kept as data beside what was detected.

An :class:`Analysis` is what the analyser found in one audio file (stored once per file, keyed
by its sha256). :class:`AnalysisCorrections` is what a person changed (stored with the
project's audio track). ``analysis.corrected(corrections)`` is the map every later stage reads.
"""

from __future__ import annotations

import bisect
import itertools
import math
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pydantic import Field, model_validator

from studio.errors import InvalidInput
from studio.model._base import StudioModel, utcnow

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = [
    "Analysis",
    "AnalysisCorrections",
    "Curve",
    "KeyMoment",
    "Section",
    "SectionEdit",
    "TempoChange",
]


class Section(StudioModel):
    """A stretch of the song with a label such as verse or chorus."""

    start: float = Field(ge=0)
    end: float = Field(gt=0)
    label: str = Field(max_length=40)

    @model_validator(mode="after")
    def _ordered(self) -> Section:
        if self.end <= self.start:
            raise ValueError(f"section ends at {self.end} s, before it starts at {self.start} s")
        return self


class KeyMoment(StudioModel):
    """A point where the visuals should turn: build, climax, drop, resolution."""

    time: float = Field(ge=0)
    kind: str = Field(max_length=40)
    description: str = Field(default="", max_length=500)


class TempoChange(StudioModel):
    """From ``start`` on, the song moves at ``bpm``."""

    start: float = Field(ge=0)
    bpm: float = Field(gt=0, le=400)


class Curve(StudioModel):
    """Values sampled every ``hop`` seconds from time zero."""

    hop: float = Field(gt=0)
    values: list[float]

    def at(self, time: float) -> float:
        """The value at ``time`` seconds, interpolated linearly (0 outside the curve)."""
        x = time / self.hop
        i = math.floor(x)
        if i < 0 or i >= len(self.values):
            return 0.0
        if i + 1 == len(self.values):
            return self.values[i]
        frac = x - i
        return self.values[i] * (1 - frac) + self.values[i + 1] * frac


class SectionEdit(StudioModel):
    """Move the start of the section that starts at ``at`` (as detected) and/or rename it."""

    at: float = Field(ge=0)
    move_to: float | None = Field(default=None, ge=0)
    label: str | None = Field(default=None, min_length=1, max_length=40)


class AnalysisCorrections(StudioModel):
    """What a person changed in the detected map. Empty corrections change nothing."""

    tempo: float | None = Field(default=None, ge=20, le=400)
    """A tempo override: the beat grid is laid evenly at this tempo from the first downbeat."""
    offset: float = Field(default=0.0, ge=-10, le=10)
    """Seconds the whole beat grid (and the bar lines with it) is shifted by."""
    meter: int | None = Field(default=None, ge=2, le=12)
    downbeat_shift: int = Field(default=0, ge=-11, le=11)
    """Beats the bar's "one" is moved by."""
    taps: list[float] = Field(default_factory=list, max_length=512)
    """Times (s) a person tapped along with the song: tempo and phase come from their fit."""
    sections: list[SectionEdit] = Field(default_factory=list, max_length=200)
    updated_at: datetime | None = None
    """When a person last changed them (set by the engine)."""

    @property
    def empty(self) -> bool:
        return (
            self.tempo is None
            and self.offset == 0
            and self.meter is None
            and self.downbeat_shift == 0
            and not self.taps
            and not self.sections
        )

    def tapped(self) -> tuple[float, float] | None:
        """``(bpm, first beat time)`` from the taps, or None without enough of them."""
        if not self.taps:
            return None
        taps = sorted(self.taps)
        if len(taps) < 4:
            raise InvalidInput(
                f"{len(taps)} taps are too few to set a tempo", hint="tap at least 4 beats"
            )
        gaps = [b - a for a, b in itertools.pairwise(taps)]
        typical = sorted(gaps)[len(gaps) // 2]
        if typical <= 0.15:
            raise InvalidInput("the taps are too close together", hint="tap once per beat")
        index = [round((t - taps[0]) / typical) for t in taps]
        n = len(taps)
        mean_i, mean_t = sum(index) / n, sum(taps) / n
        var = sum((i - mean_i) ** 2 for i in index)
        if var == 0:
            raise InvalidInput("the taps do not span a beat", hint="tap several beats")
        slope = sum((i - mean_i) * (t - mean_t) for i, t in zip(index, taps, strict=True)) / var
        first = mean_t - slope * mean_i
        worst = max(abs(first + slope * i - t) for i, t in zip(index, taps, strict=True))
        if worst > 0.25 * slope:
            raise InvalidInput(
                "the taps are too uneven to give a tempo",
                hint="tap steadily along with the beat for a few bars",
            )
        return 60.0 / slope, first


class Analysis(StudioModel):
    """What the studio knows of one audio file, keyed by the file's sha256."""

    audio_sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    duration: float = Field(gt=0)
    sample_rate: int = Field(gt=0)
    channels: int = Field(default=2, ge=1, le=16)
    tempo: float = Field(gt=0, le=400)
    tempo_confidence: float = Field(default=0.0, ge=0, le=1)
    tempo_map: list[TempoChange] = Field(default_factory=list)
    meter: int = Field(default=4, ge=2, le=12)
    beats: list[float] = Field(default_factory=list)
    downbeats: list[float] = Field(default_factory=list)
    onsets: list[float] = Field(default_factory=list)
    sections: list[Section] = Field(default_factory=list)
    key_moments: list[KeyMoment] = Field(default_factory=list)
    key: str | None = None
    mode: str | None = None
    key_confidence: float = Field(default=0.0, ge=-1, le=1)
    loudness_lufs: float | None = None
    true_peak_dbtp: float | None = None
    energy: Curve | None = None
    bands: dict[str, Curve] = Field(default_factory=dict)
    """``bass``, ``mids`` and ``highs``: 0..1 on the same grid as ``energy``."""
    onset_strength: Curve | None = None
    waveform: Curve | None = None
    """Peak level (0..1) per step: enough to draw the waveform."""
    analyzer: str = "unknown"
    corrections: AnalysisCorrections = Field(default_factory=AnalysisCorrections)
    """What ``corrected`` applied; empty for the map as detected."""
    created_at: datetime = Field(default_factory=utcnow)

    @model_validator(mode="after")
    def _beats_sorted(self) -> Analysis:
        for name in ("beats", "downbeats", "onsets"):
            times = getattr(self, name)
            if any(b < a for a, b in itertools.pairwise(times)):
                raise ValueError(f"{name} must be in time order")
        return self

    # -- reading the map ---------------------------------------------------------------

    def section_at(self, time: float) -> Section | None:
        for s in self.sections:
            if s.start <= time < s.end:
                return s
        return self.sections[-1] if self.sections and time >= self.sections[-1].end else None

    def bar_position(self, time: float) -> tuple[int, int]:
        """``(bar, beat)`` of the beat at or before ``time``, both counted from 1."""
        if not self.beats or time < self.beats[0]:
            return 0, 0
        beat = bisect.bisect_right(self.beats, time) - 1
        bar = bisect.bisect_right(self.downbeats, self.beats[beat] + 1e-6)
        if bar == 0:
            return 0, beat + 1
        first = bisect.bisect_left(self.beats, self.downbeats[bar - 1] - 1e-6)
        return bar, beat - first + 1

    def nearest_beat(self, time: float, *, downbeat: bool = False) -> float:
        grid = self.downbeats if downbeat else self.beats
        if not grid:
            return time
        i = bisect.bisect_left(grid, time)
        near = [grid[j] for j in (i - 1, i) if 0 <= j < len(grid)]
        return min(near, key=lambda t: abs(t - time))

    # -- corrections --------------------------------------------------------------------

    def corrected(self, corrections: AnalysisCorrections) -> Analysis:
        """The map with ``corrections`` applied; raises ``InvalidInput`` if one cannot apply."""
        base = self.model_copy(update={"corrections": AnalysisCorrections()})
        if corrections.empty:
            return base
        meter = corrections.meter or self.meter
        beats, downbeats, tempo, tempo_map = self._corrected_grid(corrections, meter)
        grid_moved = beats != self.beats or downbeats != self.downbeats
        sections, moved = self._corrected_sections(corrections, downbeats if grid_moved else None)
        moments = [
            m.model_copy(update={"time": moved.get(m.time, m.time)}) for m in self.key_moments
        ]
        moments.sort(key=lambda m: m.time)
        return self.model_copy(
            update={
                "tempo": round(tempo, 3),
                "tempo_map": tempo_map,
                "meter": meter,
                "beats": beats,
                "downbeats": downbeats,
                "sections": sections,
                "key_moments": moments,
                "corrections": corrections,
            }
        )

    def _first_downbeat(self) -> float:
        if self.downbeats:
            return self.downbeats[0]
        return self.beats[0] if self.beats else 0.0

    def _corrected_grid(
        self, c: AnalysisCorrections, meter: int
    ) -> tuple[list[float], list[float], float, list[TempoChange]]:
        tapped = c.tapped()
        if tapped is not None or c.tempo is not None:
            bpm, anchor = tapped if tapped is not None else (c.tempo or 0.0, self._first_downbeat())
            anchor += c.offset
            period = 60.0 / bpm
            k0 = -math.floor(anchor / period)
            beats, ks = [], []
            k = k0
            while (t := anchor + k * period) < self.duration:
                beats.append(round(t, 4))
                ks.append(k)
                k += 1
            downbeats = [
                t for t, k in zip(beats, ks, strict=True) if (k - c.downbeat_shift) % meter == 0
            ]
            return beats, downbeats, bpm, [TempoChange(start=0.0, bpm=round(bpm, 3))]
        beats = [round(b + c.offset, 4) for b in self.beats if 0 <= b + c.offset < self.duration]
        first = self._first_downbeat() + c.offset
        index = min(range(len(beats)), key=lambda i: abs(beats[i] - first)) if beats else 0
        index = (index + c.downbeat_shift) % meter if beats else 0
        downbeats = beats[index::meter]
        tempo_map = [
            TempoChange(start=max(0.0, round(t.start + c.offset, 4)), bpm=t.bpm)
            for t in self.tempo_map
        ]
        return beats, downbeats, self.tempo, tempo_map

    def _corrected_sections(
        self, c: AnalysisCorrections, downbeats: list[float] | None
    ) -> tuple[list[Section], dict[float, float]]:
        starts = [s.start for s in self.sections]
        labels = [s.label for s in self.sections]
        moved: dict[float, float] = {}
        if downbeats:  # the bar lines moved: keep each boundary on its (new) bar line
            for i in range(1, len(starts)):
                new = min(downbeats, key=lambda t: abs(t - starts[i]))
                moved[starts[i]] = new
                starts[i] = new
        for edit in c.sections:
            at = next(
                (j for j, s in enumerate(self.sections) if abs(s.start - edit.at) < 1e-3), None
            )
            if at is None:
                raise InvalidInput(
                    f"no section starts at {edit.at:.3f} s",
                    hint="name a section by the start time the analysis gives it",
                )
            if edit.label is not None:
                labels[at] = edit.label
            if edit.move_to is not None:
                if at == 0:
                    raise InvalidInput(
                        "the first section always starts the song", hint="move a later boundary"
                    )
                lo = starts[at - 1]
                hi = starts[at + 1] if at + 1 < len(starts) else self.duration
                if not lo < edit.move_to < hi:
                    raise InvalidInput(
                        f"a boundary at {edit.move_to:.3f} s would leave a section empty",
                        hint=f"move it between {lo:.3f} s and {hi:.3f} s",
                    )
                moved[self.sections[at].start] = edit.move_to
                starts[at] = edit.move_to
        ends = [*starts[1:], self.duration]
        sections = [
            Section(start=s, end=e, label=label)
            for s, e, label in zip(starts, ends, labels, strict=True)
        ]
        return sections, moved

    # -- pictures -------------------------------------------------------------------------

    def plot(self, *, width: float = 12.0, height: float = 4.0) -> Figure:
        """Waveform, energy and bands, beats and downbeats, sections and key moments on one
        time axis (matplotlib)."""
        from studio.model._plot import plot_analysis

        return plot_analysis(self, width=width, height=height)

    def _repr_png_(self) -> bytes:
        from studio.model._plot import figure_png

        return figure_png(self.plot())

    def _repr_html_(self) -> str:
        import base64

        png = base64.b64encode(self._repr_png_()).decode()
        summary = self.summary()
        return (
            f'<figure style="margin:0"><img alt="{summary}" src="data:image/png;base64,{png}"/>'
            f"<figcaption>{summary}</figcaption></figure>"
        )

    def summary(self) -> str:
        key = f"{self.key} {self.mode}" if self.key else "key unknown"
        parts = [
            f"{self.tempo:.1f} BPM in {self.meter}",
            key,
            f"{len(self.beats)} beats",
            f"{len(self.sections)} sections",
            f"{_clock(self.duration)}",
        ]
        if self.loudness_lufs is not None:
            parts.append(f"{self.loudness_lufs:.1f} LUFS")
        if not self.corrections.empty:
            parts.append("corrected")
        return ", ".join(parts)

    def brief(self) -> dict[str, Any]:
        """The map without its curves: what a person or a prompt needs to read."""
        return self.model_dump(
            mode="json", exclude={"energy", "bands", "onset_strength", "waveform", "onsets"}
        )


def _clock(seconds: float) -> str:
    minutes, rest = divmod(seconds, 60)
    return f"{int(minutes)}:{rest:04.1f}"
