"""The timeline widget's Python side against a real engine: built from the storyboard, cuts
snapped to the beats, reorder, slip, transitions, split, undo and redo, the song's preview."""

from __future__ import annotations

from typing import Any

import pytest

from studio.ui import Timeline
from tests.widgets.conftest import Board, browser, until


def edit(widget: Timeline, **message: Any) -> None:
    """An edit from the front end, which must succeed."""
    browser(widget, **message)
    assert not widget.error, widget.error


def engine_timeline(board: Board) -> Any:
    return board.ask(lambda c: c.timeline(board.project_id))


def test_built_from_the_storyboard_on_the_songs_grid(painted: Board) -> None:
    w = Timeline(painted.project_id)
    assert not w.built and w.clips == []
    edit(w, action="build")
    assert w.built and len(w.clips) == len(painted.scenes)
    assert w.clips[0]["start"] == 0 and abs(w.clips[-1]["end"] - w.duration) < 1e-6
    assert all(c["thumb"] for c in w.clips)  # every clip shows its scene's picture
    assert w.beats and w.downbeats and w.sections
    assert 0 < len(w.waveform["values"]) <= 2400 and max(w.waveform["values"]) == 1.0
    assert w.audio  # the song's small copy, ready to play
    assert {k for _, k in w.media_keys()} == {"thumb", "audio"}


def test_a_dragged_cut_lands_on_the_nearest_beat(painted: Board) -> None:
    w = Timeline(painted.project_id)
    edit(w, action="build")
    cut = w.clips[2]["start"]
    later = next(b for b in w.beats if b > cut + 0.2)
    edit(w, action="move_cut", index=2, to=later + 0.08, snap="beat")
    assert w.clips[2]["start"] == pytest.approx(later)
    assert w.clips[1]["end"] == pytest.approx(later)
    assert engine_timeline(painted).clips[2].start == pytest.approx(later)
    # a step along the grid, as the keyboard does
    edit(w, action="move_cut", index=2, to="prev_beat")
    assert w.clips[2]["start"] < later


def test_reorder_slip_transition_split_then_undo_and_redo(painted: Board) -> None:
    w = Timeline(painted.project_id)
    edit(w, action="build")
    first, second = w.clips[0]["id"], w.clips[1]["id"]
    edit(w, action="reorder", clip=first, index=1)
    assert [c["id"] for c in w.clips[:2]] == [second, first]
    edit(w, action="slip", clip=first, beats=1)
    assert w.clips[1]["in_point"] > 0
    edit(w, action="transition", clip=w.clips[2]["id"], kind="crossfade", duration=0.5)
    assert w.clips[2]["transition"] == {"kind": "crossfade", "duration": 0.5}
    count = len(w.clips)
    middle = (w.clips[3]["start"] + w.clips[3]["end"]) / 2
    edit(w, action="split", at=middle)
    assert len(w.clips) == count + 1
    assert any(abs(c["start"] - b) < 1e-6 for c in w.clips for b in w.beats)

    for _ in range(4):
        edit(w, action="undo")
    assert [c["id"] for c in w.clips[:2]] == [first, second] and len(w.clips) == count
    assert [c.id for c in engine_timeline(painted).clips[:2]] == [first, second]
    assert not w.can_undo and w.can_redo
    edit(w, action="redo")
    assert [c["id"] for c in w.clips[:2]] == [second, first]


def test_an_edit_made_elsewhere_appears(painted: Board) -> None:
    w = Timeline(painted.project_id)
    edit(w, action="build")
    revision = w.revision
    painted.ask(
        lambda c: c.edit_timeline(
            painted.project_id,
            [{"op": "set_transition", "clip_id": w.clips[1]["id"],
              "transition": {"kind": "dip_black", "duration": 1.0}}],
            revision=revision,
        )
    )  # fmt: skip
    until(lambda: w.clips[1]["transition"]["kind"] == "dip_black")


@pytest.mark.parametrize(
    ("message", "says"),
    [
        ({"action": "move_cut", "index": 0, "to": 1.0}, "no cut 0"),
        ({"action": "move_cut", "index": 1, "to": 1e9}, "within the song"),
        ({"action": "move_cut", "index": 1, "to": "sideways"}, "steps to one of"),
        ({"action": "reorder", "clip": "clp_nope", "index": 0}, "not on this timeline"),
        ({"action": "slip", "clip": "first", "beats": 0.5}, "whole number of beats"),
        ({"action": "transition", "clip": "first", "kind": "explode"}, "one of cut"),
        ({"action": "undo"}, "nothing to undo"),
    ],
)
def test_bad_edits_are_refused_and_change_nothing(
    painted: Board, message: dict[str, Any], says: str
) -> None:
    w = Timeline(painted.project_id)
    edit(w, action="build")
    if message.get("clip") == "first":
        message["clip"] = w.clips[1]["id"]
    before = engine_timeline(painted)
    w._received(w, message, [])
    w.wait()
    assert says in w.error
    assert engine_timeline(painted) == before
