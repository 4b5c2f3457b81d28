"""Corrections to the song's map: data beside the detected values, applied on reading."""

from __future__ import annotations

import numpy as np
import pytest

from studio.errors import InvalidInput
from studio.model import (
    Analysis,
    AnalysisCorrections,
    Curve,
    KeyMoment,
    Section,
    SectionEdit,
    TempoChange,
)


def _map() -> Analysis:
    beats = [round(0.1 + i * 0.5, 4) for i in range(40)]  # 120 BPM from 0.1 s, 20 s
    return Analysis(
        audio_sha256="b" * 64,
        duration=20.5,
        sample_rate=44100,
        tempo=120.0,
        tempo_map=[TempoChange(start=0.1, bpm=120.0)],
        beats=beats,
        downbeats=beats[::4],
        sections=[
            Section(start=0.0, end=4.1, label="intro"),
            Section(start=4.1, end=12.1, label="verse"),
            Section(start=12.1, end=20.5, label="chorus"),
        ],
        key_moments=[KeyMoment(time=12.1, kind="climax")],
        energy=Curve(hop=0.02, values=[0.0, 0.5, 1.0]),
        analyzer="test",
    )


def test_no_corrections_is_the_detected_map() -> None:
    a = _map()
    assert a.corrected(AnalysisCorrections()).model_dump() == a.model_dump()


def test_a_tempo_override_lays_an_even_grid_from_the_first_downbeat() -> None:
    fixed = _map().corrected(AnalysisCorrections(tempo=96.0))
    assert fixed.tempo == 96.0 and fixed.tempo_map == [TempoChange(start=0.0, bpm=96.0)]
    assert np.allclose(np.diff(fixed.beats), 0.625)
    assert 0.1 in fixed.beats and fixed.beats[-1] < 20.5
    assert fixed.downbeats == fixed.beats[fixed.beats.index(0.1) :: 4]
    # Section boundaries stay on bar lines of the new grid.
    assert all(s.start in fixed.downbeats for s in fixed.sections[1:])
    assert fixed.corrections.tempo == 96.0


def test_an_offset_shifts_beats_bars_sections_and_moments_together() -> None:
    a = _map()
    moved = a.corrected(AnalysisCorrections(offset=0.05))
    assert moved.beats == [round(b + 0.05, 4) for b in a.beats]
    assert moved.sections[1].start == pytest.approx(4.15)
    assert moved.sections[0].end == moved.sections[1].start
    assert moved.key_moments[0].time == pytest.approx(12.15)
    assert moved.tempo == 120.0


def test_the_bar_can_start_on_another_beat_and_have_another_meter() -> None:
    a = _map()
    shifted = a.corrected(AnalysisCorrections(downbeat_shift=1))
    assert shifted.downbeats[0] == a.beats[1]
    waltz = a.corrected(AnalysisCorrections(meter=3))
    assert waltz.meter == 3 and waltz.downbeats == a.beats[::3]


def test_taps_set_tempo_and_phase() -> None:
    taps = [2.0 + i * 60 / 100 + (0.01 if i % 2 else -0.01) for i in range(12)]
    fixed = _map().corrected(AnalysisCorrections(taps=taps))
    assert fixed.tempo == pytest.approx(100, abs=0.2)
    assert min(abs(b - 2.0) for b in fixed.beats) < 0.02


@pytest.mark.parametrize(
    ("taps", "message"),
    [
        ([1.0, 1.5, 2.0], "too few"),
        ([1.0, 1.05, 1.1, 1.15], "too close"),
        ([1.0, 1.62, 2.0, 2.75, 3.0, 3.8], "too uneven"),
    ],
)
def test_taps_that_give_no_tempo_are_refused(taps: list[float], message: str) -> None:
    with pytest.raises(InvalidInput, match=message) as err:
        _map().corrected(AnalysisCorrections(taps=taps))
    assert err.value.hint


def test_sections_move_and_get_new_names() -> None:
    fixed = _map().corrected(
        AnalysisCorrections(
            sections=[
                SectionEdit(at=12.1, move_to=10.1, label="pre-chorus"),
                SectionEdit(at=0.0, label="cold open"),
            ]
        )
    )
    assert [(s.start, s.label) for s in fixed.sections] == [
        (0.0, "cold open"),
        (4.1, "verse"),
        (10.1, "pre-chorus"),
    ]
    assert fixed.sections[1].end == 10.1
    assert fixed.key_moments[0].time == 10.1


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (SectionEdit(at=7.0, label="x"), "no section starts at"),
        (SectionEdit(at=0.0, move_to=1.0), "first section"),
        (SectionEdit(at=12.1, move_to=3.0), "leave a section empty"),
    ],
)
def test_edits_that_cannot_apply_are_refused(edit: SectionEdit, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        _map().corrected(AnalysisCorrections(sections=[edit]))


def test_reading_the_map() -> None:
    a = _map()
    assert a.bar_position(0.1) == (1, 1)
    assert a.bar_position(2.7) == (2, 2)
    assert a.nearest_beat(2.74) == 2.6
    assert a.nearest_beat(2.74, downbeat=True) == 2.1
    assert a.section_at(13.0) is not None and a.section_at(13.0).label == "chorus"
    assert a.energy is not None and a.energy.at(0.01) == pytest.approx(0.25)


def test_the_picture_has_every_layer() -> None:
    a = _map()
    figure = a.plot()
    wave, curves = figure.axes
    assert len(wave.lines) >= len(a.beats) + len(a.downbeats) + len(a.key_moments)
    assert [line.get_label() for line in curves.lines] == ["energy"]
    assert a._repr_png_()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "<img" in a._repr_html_() and "120.0 BPM" in a._repr_html_()
