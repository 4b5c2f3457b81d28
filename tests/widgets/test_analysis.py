"""The song-map widget against a real engine: corrections land in the engine, later stages see
them, and a reset brings back what was detected."""

from __future__ import annotations

import pytest

from studio.ui import AnalysisView
from tests.widgets.conftest import Board, browser


def test_shift_tempo_downbeat_sections_and_reset(planned: Board) -> None:
    w = AnalysisView(planned.project_id)
    beats = list(w.beats)
    assert w.tempo == pytest.approx(w.detected_tempo) and w.audio
    browser(w, action="shift", seconds=0.05)
    assert not w.error and w.beats[3] == pytest.approx(beats[3] + 0.05, abs=1e-3)
    song = planned.ask(lambda c: c.song_map(planned.project_id))
    assert song.beats[3] == pytest.approx(beats[3] + 0.05, abs=1e-3)  # what later stages see

    browser(w, action="tempo", bpm=100.0)
    assert w.tempo == pytest.approx(100.0, abs=0.5)
    gaps = {round(b - a, 3) for a, b in zip(w.beats, w.beats[1:], strict=False)}
    assert gaps == {0.6}

    one = w.downbeats[0]
    browser(w, action="downbeat", beats=1)
    assert w.downbeats[0] != one

    first = w.detected_sections[1]
    browser(w, action="section", at=first["start"], label="pre-chorus", move_to=first["start"] + 1)
    assert w.sections[1]["label"] == "pre-chorus"
    assert w.sections[1]["start"] == pytest.approx(first["start"] + 1, abs=0.6)  # on the grid

    browser(w, action="reset")
    assert w.corrections["tempo"] is None and w.corrections["sections"] == []
    assert w.beats == pytest.approx(beats)


def test_taps_set_the_tempo_and_bad_corrections_are_refused(planned: Board) -> None:
    w = AnalysisView(planned.project_id)
    browser(w, action="taps", taps=[1.0 + 0.5 * k for k in range(12)])  # 120 BPM
    assert not w.error and w.tempo == pytest.approx(120.0, abs=0.5)
    before = planned.ask(lambda c: c.song_map(planned.project_id)).corrections
    for message, says in [
        ({"action": "taps", "taps": [1.0, 2.0]}, "at least 4 times"),
        ({"action": "tempo", "bpm": 5000}, "20 to 400"),
        ({"action": "shift", "seconds": 30}, "up to 2 s"),
        ({"action": "section", "at": 999.0, "label": "x"}, "no section starting there"),
    ]:
        browser(w, **message)
        assert says in w.error
    assert planned.ask(lambda c: c.song_map(planned.project_id)).corrections == before
