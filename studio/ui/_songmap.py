"""The song's map as the widgets that draw it hold it: beats, downbeats, sections, the energy
and the waveform thinned for the browser, and the song's small copy to play."""

from __future__ import annotations

from typing import Any

import traitlets

from studio.model import Analysis
from studio.ui._base import StudioWidget

__all__ = ["CURVE_POINTS", "SongMapWidget"]

CURVE_POINTS = 2400
"""At most this many points of the waveform and the energy curve reach the browser."""


class SongMapWidget(StudioWidget):
    """A widget that draws the song's map (``drawSongMap`` in ``_base.js``) and plays it."""

    duration = traitlets.Float(0.0).tag(sync=True)
    beats = traitlets.List(traitlets.Float()).tag(sync=True)
    downbeats = traitlets.List(traitlets.Float()).tag(sync=True)
    sections = traitlets.List(traitlets.Dict()).tag(sync=True)
    energy = traitlets.Dict().tag(sync=True)
    """``{"hop": seconds, "values": [0..1]}``"""
    waveform = traitlets.Dict().tag(sync=True)
    audio = traitlets.Unicode("").tag(sync=True)
    """The sha256 of the song's small copy, once made."""
    tempo = traitlets.Float(0.0).tag(sync=True)
    """Beats a minute, as corrected."""

    def show_song(self, song: Analysis) -> None:
        self.duration = song.duration
        self.tempo = round(song.tempo, 2)
        self.beats = list(song.beats)
        self.downbeats = list(song.downbeats)
        self.sections = [s.model_dump(mode="json") for s in song.sections]
        self.energy = _curve(song.energy)
        self.waveform = _curve(song.waveform)

    async def load_audio(self) -> None:
        """The song's small copy (an ``audio.preview`` job, made once per song)."""
        if self.audio:
            return
        job = await self.client.submit_job(
            "audio.preview", {"project_id": self.project_id}, project_id=self.project_id
        )
        done = await self.client.wait_job(job.id, timeout=120)
        self.audio = str((done.result or {}).get("sha256", ""))

    def media_keys(self) -> set[tuple[str, str]]:
        return {(self.audio, "audio")} if self.audio else set()


def _curve(curve: Any) -> dict[str, Any]:
    """A curve thinned to at most ``CURVE_POINTS`` points (the peak of each stretch), in 0..1."""
    if curve is None or not curve.values:
        return {"hop": 1.0, "values": []}
    values = [abs(v) for v in curve.values]
    step = max(1, -(-len(values) // CURVE_POINTS))
    peaks = [max(values[i : i + step]) for i in range(0, len(values), step)]
    top = max(peaks) or 1.0
    return {"hop": curve.hop * step, "values": [round(v / top, 4) for v in peaks]}
