"""The song's map, editable: shift the beat grid, set or tap the tempo, move the bar's "one",
move and relabel section boundaries. Corrections are kept beside the detected map, so every
later stage (storyboard, timeline, render) sees the corrected one, and a reset brings back
what was detected."""

from __future__ import annotations

import math
from typing import Any

import traitlets

from studio.errors import InvalidInput
from studio.model import Analysis, AnalysisCorrections, SectionEdit
from studio.ui._songmap import SongMapWidget

__all__ = ["AnalysisView"]

_TAPS = (4, 512)


class AnalysisView(SongMapWidget):
    """``AnalysisView("Night Drive")``: the project's song map, live and correctable."""

    front = "analysis"
    listens = ("analysis.", "project.updated")

    detected_tempo = traitlets.Float(0.0).tag(sync=True)
    meter = traitlets.Int(4).tag(sync=True)
    key = traitlets.Unicode("").tag(sync=True)
    detected_sections = traitlets.List(traitlets.Dict()).tag(sync=True)
    corrections = traitlets.Dict().tag(sync=True)

    def __init__(self, project: Any, **kwargs: Any) -> None:
        self._corrections = AnalysisCorrections()
        self._corrected = 0
        """Corrections this widget has made and shown (a reload begun before one keeps it)."""
        super().__init__(project, **kwargs)

    async def load(self) -> None:
        corrected = self._corrected
        song = await self.client.song_map(self.project_id)
        detected = await self.client.song_map(self.project_id, detected=True)
        with self.hold_sync():
            if corrected == self._corrected:  # else a correction shown meanwhile is newer
                self._show_corrected(song)
            self.detected_tempo = round(detected.tempo, 2)
            self.key = f"{song.key} {song.mode}" if song.key and song.mode else ""
            self.detected_sections = [s.model_dump(mode="json") for s in detected.sections]
        await self.load_audio()

    def _show_corrected(self, song: Analysis) -> None:
        self._corrections = song.corrections
        self.show_song(song)
        self.meter = song.meter
        self.corrections = song.corrections.model_dump(mode="json")

    async def _correct(self, **changes: Any) -> None:
        """Replace one part of the corrections (the rest stay), and show the corrected map."""
        try:
            wanted = AnalysisCorrections.model_validate(
                self._corrections.model_dump() | changes | {"updated_at": None}
            )
        except ValueError as exc:
            raise InvalidInput(f"that correction cannot be made: {exc}") from exc
        song = await self.client.correct_song_map(self.project_id, wanted)
        with self.hold_sync():
            self._show_corrected(song)
        self._corrected += 1

    async def _act_tempo(self, content: dict[str, Any]) -> None:
        bpm = content.get("bpm")
        if bpm is not None and (not isinstance(bpm, int | float) or not 20 <= bpm <= 400):
            raise InvalidInput("a tempo is 20 to 400 beats a minute")
        await self._correct(tempo=bpm, taps=[])

    async def _act_shift(self, content: dict[str, Any]) -> None:
        """Shift the beat grid by ``seconds`` (added to the shift already made)."""
        by = content.get("seconds")
        if not isinstance(by, int | float) or not math.isfinite(by) or abs(by) > 2:
            raise InvalidInput("shift the grid by up to 2 s at a time")
        offset = round(self._corrections.offset + by, 4)
        if abs(offset) > 10:
            raise InvalidInput("the grid can move at most 10 s from where it was detected")
        await self._correct(offset=offset)

    async def _act_downbeat(self, content: dict[str, Any]) -> None:
        by = content.get("beats")
        if by not in (-1, 1):
            raise InvalidInput("move the bar's one by one beat at a time")
        shift = self._corrections.downbeat_shift + by
        await self._correct(downbeat_shift=(shift + self.meter) % self.meter)

    async def _act_taps(self, content: dict[str, Any]) -> None:
        taps = content.get("taps")
        if (
            not isinstance(taps, list)
            or not _TAPS[0] <= len(taps) <= _TAPS[1]
            or not all(isinstance(t, int | float) and 0 <= t <= self.duration for t in taps)
        ):
            raise InvalidInput(
                f"tap along with the song at least {_TAPS[0]} times", hint="play it, then tap"
            )
        await self._correct(taps=sorted(float(t) for t in taps), tempo=None)

    async def _act_section(self, content: dict[str, Any]) -> None:
        """Move and/or rename the section detected at ``at`` seconds."""
        at = content.get("at")
        detected = next((s for s in self.detected_sections if s["start"] == at), None)
        if detected is None:
            raise InvalidInput("there is no section starting there", hint="use one shown")
        move_to, label = content.get("move_to"), content.get("label")
        edit = SectionEdit(
            at=at,
            move_to=float(move_to) if isinstance(move_to, int | float) else None,
            label=label.strip()[:40] if isinstance(label, str) and label.strip() else None,
        )
        others = [s for s in self._corrections.sections if s.at != at]
        await self._correct(sections=[*others, edit])

    async def _act_reset(self, _content: dict[str, Any]) -> None:
        await self._correct(**AnalysisCorrections().model_dump())
