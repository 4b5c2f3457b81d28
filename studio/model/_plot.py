"""The picture of a song's map: one time axis with the waveform, energy and bands, the beat
grid, sections and key moments. Imported only when a picture is asked for (matplotlib)."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

from matplotlib.figure import Figure

if TYPE_CHECKING:
    from studio.model._analysis import Analysis

__all__ = ["figure_png", "plot_analysis"]

_SECTION_COLOURS = {
    "intro": "#9ecae1",
    "verse": "#a1d99b",
    "chorus": "#fc9272",
    "bridge": "#bcbddc",
    "drop": "#fdae6b",
    "outro": "#d9d9d9",
}
_BANDS = {"bass": "#3182bd", "mids": "#31a354", "highs": "#e6550d"}


def plot_analysis(analysis: Analysis, *, width: float, height: float) -> Figure:
    fig = Figure(figsize=(width, height), dpi=100, layout="constrained")
    wave_ax, curve_ax = fig.subplots(2, 1, sharex=True, height_ratios=[1.2, 1.0])
    duration = analysis.duration
    for s in analysis.sections:
        colour = _SECTION_COLOURS.get(s.label, "#eeeeee")
        for ax in (wave_ax, curve_ax):
            ax.axvspan(s.start, s.end, color=colour, alpha=0.35, linewidth=0)
        wave_ax.text(
            s.start + 0.3, 0.97, s.label, fontsize=8, va="top", clip_on=True,
            transform=wave_ax.get_xaxis_transform(),
        )  # fmt: skip
    if analysis.waveform is not None:
        hop, peaks = analysis.waveform.hop, analysis.waveform.values
        times = [i * hop for i in range(len(peaks))]
        wave_ax.fill_between(times, [-p for p in peaks], peaks, color="#444444", linewidth=0)
    for t in analysis.beats:
        wave_ax.axvline(t, color="#777777", linewidth=0.4, alpha=0.5)
    for t in analysis.downbeats:
        wave_ax.axvline(t, color="#222222", linewidth=0.9, alpha=0.8)
    placed: dict[float, int] = {}
    for m in analysis.key_moments:
        wave_ax.axvline(m.time, color="#d62728", linewidth=1.4)
        row = placed.get(round(m.time, 1), 0)  # moments at one time are stacked, not overprinted
        placed[round(m.time, 1)] = row + 1
        wave_ax.text(
            m.time, -1.0 + 0.22 * row, f" {m.kind}", color="#d62728", fontsize=7, va="bottom",
            clip_on=True,
        )  # fmt: skip
    wave_ax.set_ylim(-1.05, 1.05)
    wave_ax.set_yticks([])
    wave_ax.set_title(analysis.summary(), fontsize=9, loc="left", pad=14)
    curves = [("energy", analysis.energy, "#000000", 1.4)]
    curves += [(name, analysis.bands.get(name), colour, 0.9) for name, colour in _BANDS.items()]
    for name, curve, colour, lw in curves:
        if curve is None:
            continue
        times = [i * curve.hop for i in range(len(curve.values))]
        curve_ax.plot(
            times, _smooth(curve.values, curve.hop), color=colour, linewidth=lw, label=name
        )
    curve_ax.set_ylim(0, 1.05)
    curve_ax.set_xlim(0, duration)
    curve_ax.set_xlabel("seconds")
    if curve_ax.lines:
        curve_ax.legend(loc="upper right", fontsize=7, ncols=4, frameon=False)
    return fig


def _smooth(values: list[float], hop: float, seconds: float = 0.4) -> list[float]:
    """A running mean over ``seconds``, for the eye (the curve itself stays exact)."""
    width = max(1, round(seconds / hop))
    total, out = 0.0, []
    for i, v in enumerate(values):
        total += v - (values[i - width] if i >= width else 0.0)
        out.append(total / min(i + 1, width))
    return out


def figure_png(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()
