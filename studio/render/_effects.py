"""Audio-reactive motion: small mappings from the song's analysis to motion, per frame.

An effect is a function of the frames' song times, the analysis, an intensity (0..1) and its own
settings, returning any of five curves (one value per frame):

- ``zoom``: extra zoom, added to 1 (0.05 is 5 % closer);
- ``dx``, ``dy``: a shift of the view, as fractions of the frame's width and height;
- ``angle``: a turn in degrees;
- ``brightness``: a lift towards white, 0..1.

Curves of several effects add up. Write your own with ``@effect("name")``::

    @effect("breathe")
    def breathe(times, analysis, intensity, params):
        return {"zoom": intensity * 0.03 * (1 + np.sin(2 * np.pi * times * analysis.tempo / 240))}

and put ``Effect(name="breathe", intensity=0.6)`` on a timeline clip.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from studio.errors import InvalidInput
from studio.model import Analysis, Effect

__all__ = ["CURVES", "EffectFunction", "Motion", "effect", "effect_names", "motion"]

Times = NDArray[np.float64]
EffectFunction = Callable[
    [Times, Analysis, float, Mapping[str, float | str | bool]], Mapping[str, Times]
]
CURVES = ("zoom", "dx", "dy", "angle", "brightness")

_EFFECTS: dict[str, EffectFunction] = {}


def effect(name: str) -> Callable[[EffectFunction], EffectFunction]:
    """Register an effect under ``name`` (replacing one of that name)."""

    def register(function: EffectFunction) -> EffectFunction:
        _EFFECTS[name] = function
        return function

    return register


def effect_names() -> list[str]:
    return sorted(_EFFECTS)


@dataclass(frozen=True)
class Motion:
    """The summed curves of a clip's effects, one value per frame."""

    zoom: Times
    dx: Times
    dy: Times
    angle: Times
    brightness: Times

    @functools.cached_property
    def margin(self) -> float:
        """How far the view shifts at most (fraction of the frame): the clip is zoomed in by
        twice this throughout so a shake never shows the picture's edge."""
        return float(max(np.abs(self.dx).max(initial=0), np.abs(self.dy).max(initial=0)))

    @functools.cached_property
    def moves(self) -> bool:
        """Whether any curve moves the picture (asked of every frame, so worked out once)."""
        return bool(self.zoom.any() or self.dx.any() or self.dy.any() or self.angle.any())


def check(effects: Sequence[Effect]) -> None:
    """Refuse an effect nobody registered, before any frame is made."""
    for item in effects:
        if item.name not in _EFFECTS:
            raise InvalidInput(
                f"there is no effect called {item.name!r}",
                hint=f"use one of {', '.join(effect_names())}, or register yours with @effect",
            )


def motion(effects: Sequence[Effect], times: Times, analysis: Analysis | None) -> Motion:
    curves = {name: np.zeros_like(times) for name in CURVES}
    if analysis is not None:
        for item in effects:
            made = _EFFECTS[item.name](times, analysis, item.intensity, item.params)
            for name, values in made.items():
                if name not in curves:
                    raise InvalidInput(
                        f"the effect {item.name!r} returned a curve called {name!r}",
                        hint=f"an effect returns any of {', '.join(CURVES)}",
                    )
                curves[name] = curves[name] + np.broadcast_to(
                    np.asarray(values, float), times.shape
                )
    return Motion(**curves)


def since_last(times: Times, events: Sequence[float]) -> Times:
    """For each time, seconds since the latest event at or before it (inf before the first)."""
    marks = np.asarray(sorted(events), dtype=float)
    if marks.size == 0:
        return np.full_like(times, np.inf)
    index = np.searchsorted(marks, times, side="right") - 1
    out = np.full_like(times, np.inf)
    ok = index >= 0
    out[ok] = times[ok] - marks[index[ok]]
    return out


def _curve(analysis: Analysis, name: str, times: Times) -> Times:
    source = analysis.bands.get(name) if name != "energy" else analysis.energy
    if source is None or not source.values:
        return np.zeros_like(times)
    values = np.asarray(source.values, dtype=float)
    grid = np.arange(values.size) * source.hop
    curve = np.interp(times, grid, values, left=0.0, right=0.0)
    top = float(values.max())
    return np.asarray(curve / top if top > 0 else curve, dtype=float)


@effect("zoom_pulse")
def zoom_pulse(
    times: Times, analysis: Analysis, intensity: float, params: Mapping[str, float | str | bool]
) -> Mapping[str, Times]:
    """A quick push on every beat (``on="onsets"``: on every onset; ``"downbeats"``) that
    settles before the next one."""
    on = str(params.get("on", "beats"))
    events = {"beats": analysis.beats, "downbeats": analysis.downbeats, "onsets": analysis.onsets}
    if on not in events:
        raise InvalidInput(
            f"zoom_pulse cannot follow {on!r}", hint="use beats, downbeats or onsets"
        )
    decay = float(params.get("decay", 0.12))
    return {"zoom": intensity * 0.06 * np.exp(-since_last(times, events[on]) / decay)}


@effect("shake")
def shake(
    times: Times, analysis: Analysis, intensity: float, params: Mapping[str, float | str | bool]
) -> Mapping[str, Times]:
    """The camera trembles with the bass: a smooth wobble (sums of slow sines, the same on
    every render) scaled by the bass band's energy."""
    band = str(params.get("band", "bass"))
    level = _curve(analysis, band, times) ** 2
    amount = intensity * 0.012 * level
    wobble_x = np.sin(times * 23.0) * 0.6 + np.sin(times * 37.3 + 1.1) * 0.4
    wobble_y = np.sin(times * 29.1 + 0.4) * 0.6 + np.sin(times * 41.7 + 2.3) * 0.4
    return {"dx": amount * wobble_x, "dy": amount * wobble_y}


@effect("flash")
def flash(
    times: Times, analysis: Analysis, intensity: float, params: Mapping[str, float | str | bool]
) -> Mapping[str, Times]:
    """A flash of light on every downbeat that fades within a beat."""
    decay = float(params.get("decay", 0.15))
    return {"brightness": intensity * 0.4 * np.exp(-since_last(times, analysis.downbeats) / decay)}


@effect("drift")
def drift(
    times: Times, analysis: Analysis, intensity: float, params: Mapping[str, float | str | bool]
) -> Mapping[str, Times]:
    """A slow sway with the bar: the view turns a little one way and back each two bars."""
    del params
    period = 2 * analysis.meter * 60.0 / analysis.tempo
    return {"angle": intensity * 1.5 * np.sin(2 * np.pi * times / period)}
