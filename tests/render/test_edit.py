"""Timeline edits, pure: built from the storyboard, then cut, trimmed, split, reordered and
dressed; every result gap-free and as long as the song, every refusal naming the clip."""

from __future__ import annotations

import itertools
import random
from datetime import timedelta

import pytest
from pydantic import TypeAdapter, ValidationError

from studio.errors import IllegalTransition, InvalidInput, NotFound
from studio.model import (
    Effect,
    OwnerKind,
    Scene,
    SubtitleMode,
    SubtitleTrack,
    Take,
    TakeKind,
    TakeStatus,
    Timeline,
    Transition,
    TransitionKind,
    new_id,
)
from studio.render._edit import (
    MIN_CLIP,
    Edit,
    MoveCut,
    RemoveClip,
    ReorderClip,
    SetEffects,
    SetFocus,
    SetSubtitles,
    SetTake,
    SetTransition,
    SplitClip,
    TrimClip,
    apply_edit,
    apply_edits,
    build_timeline,
)

PID = new_id("prj")
SONG = 32.0
# 124 BPM from 0.1 s, rounded as the analysis rounds them: cuts must land on these exactly.
BEATS = [round(0.1 + i * 60 / 124, 4) for i in range(66)]
DOWNBEATS = BEATS[::4]


def _scene(index: int, start: float, end: float) -> Scene:
    return Scene(project_id=PID, index=index, start=start, end=end)


def _take(scene: Scene, kind: TakeKind = TakeKind.IMAGE, *, ready: bool = True) -> Take:
    if ready:
        return Take(project_id=PID, owner_kind=OwnerKind.SCENE, owner_id=scene.id, kind=kind,
                    asset_sha256="ab" * 32)  # fmt: skip
    return Take(project_id=PID, owner_kind=OwnerKind.SCENE, owner_id=scene.id, kind=kind,
                status=TakeStatus.FAILED, error="the provider refused")  # fmt: skip


def _storyboard() -> list[Scene]:
    """Five scenes cut on bar lines, as the planner makes them."""
    cuts = [0.0, DOWNBEATS[2], DOWNBEATS[5], DOWNBEATS[9], DOWNBEATS[12], SONG]
    return [_scene(i, a, b) for i, (a, b) in enumerate(itertools.pairwise(cuts))]


def _timeline() -> Timeline:
    return build_timeline(PID, _storyboard(), {}, SONG)


def _assert_sound(timeline: Timeline) -> None:
    """Gap-free from 0 to the song's end, no clip under MIN_CLIP, transitions that fit."""
    clips = timeline.clips
    assert clips and clips[0].start == 0.0
    for before, after in itertools.pairwise(clips):
        assert abs(after.start - before.end) <= 1e-9
        assert after.transition_in.duration <= min(before.duration, after.duration) + 1e-9
    assert abs(clips[-1].end - SONG) <= 1e-9
    assert all(c.duration >= MIN_CLIP - 1e-6 for c in clips)
    assert clips[0].transition_in.kind is TransitionKind.CUT
    assert Timeline.model_validate(timeline.model_dump()) == timeline


# ---- building ---------------------------------------------------------------------------------


def test_one_clip_per_scene_with_gaps_and_overlaps_closed() -> None:
    scenes = [_scene(0, 0.1, 4.0), _scene(1, 4.2, 10.0), _scene(2, 9.8, 20.0),
              _scene(3, 20.0, 31.9)]  # fmt: skip
    timeline = build_timeline(PID, list(reversed(scenes)), {}, SONG)
    assert [c.scene_id for c in timeline.clips] == [s.id for s in scenes]
    assert [c.start for c in timeline.clips] == [0.0, 4.2, 9.8, 20.0]
    assert timeline.clips[-1].end == SONG and timeline.duration == SONG
    assert timeline.project_id == PID and timeline.revision == 1
    _assert_sound(timeline)


def test_a_clip_shows_the_approved_clip_take_else_the_image_else_nothing() -> None:
    a, b, c, d = _storyboard()[:4]
    image_a, clip_a, image_b, image_c = _take(a), _take(a, TakeKind.CLIP), _take(b), _take(c)
    failed_c = _take(c, TakeKind.CLIP, ready=False)
    scenes = [
        a.model_copy(update={"image_take_id": image_a.id, "clip_take_id": clip_a.id}),
        b.model_copy(update={"image_take_id": image_b.id, "clip_take_id": new_id("tk")}),
        c.model_copy(update={"image_take_id": failed_c.id}),
        d,
    ]
    takes = {t.id: t for t in (image_a, clip_a, image_b, image_c, failed_c)}
    timeline = build_timeline(PID, scenes, takes, d.end)
    assert [clip.take_id for clip in timeline.clips] == [clip_a.id, image_b.id, None, None]


def test_building_refuses_no_storyboard_and_scenes_past_the_song() -> None:
    with pytest.raises(IllegalTransition, match="no storyboard") as err:
        build_timeline(PID, [], {}, SONG)
    assert err.value.hint and "plan the storyboard" in err.value.hint
    scenes = [_scene(0, 0, 10), _scene(1, 10, 20), _scene(2, 33, 40)]
    with pytest.raises(InvalidInput, match=r"clip 3: scene 3 starts at 33\.000 s, after the song"):
        build_timeline(PID, scenes, {}, SONG)
    scenes = [_scene(0, 0, 10), _scene(1, 10, 20), _scene(2, 5, 30)]
    with pytest.raises(InvalidInput, match=r"clip 2: scene 3 starts at 5\.000 s, not after"):
        build_timeline(PID, scenes, {}, SONG)


def test_a_rebuild_keeps_what_a_person_set() -> None:
    scenes = _storyboard()
    approved, other = _take(scenes[1]), _take(scenes[1])
    scenes[1] = scenes[1].model_copy(update={"image_take_id": approved.id})
    takes = {approved.id: approved, other.id: other}
    first = build_timeline(PID, scenes, takes, SONG)
    crossfade = Transition(kind=TransitionKind.CROSSFADE, duration=0.5)
    edited = apply_edits(
        first,
        [
            SetTransition(clip_id=first.clips[1].id, transition=crossfade),
            SetEffects(clip_id=first.clips[2].id, effects=[Effect(name="zoom_pulse")]),
            SetFocus(clip_id=first.clips[0].id, focus=(0.2, 0.8)),
            SetTake(clip_id=first.clips[1].id, take_id=other.id),
            SetSubtitles(subtitles=SubtitleTrack(mode=SubtitleMode.BURN)),
            MoveCut(index=2, to="next_beat"),  # cuts go back to the scenes on a rebuild
        ],
        beats=BEATS,
        downbeats=DOWNBEATS,
    )
    again = build_timeline(PID, scenes, takes, SONG, previous=edited)
    assert again.id == first.id and [c.id for c in again.clips] == [c.id for c in first.clips]
    assert [c.start for c in again.clips] == [c.start for c in first.clips]
    assert again.clips[1].transition_in == crossfade
    assert again.clips[2].effects == [Effect(name="zoom_pulse")]
    assert again.clips[2].in_point == pytest.approx(0.0, abs=1e-12)  # slipped with the cut
    assert again.clips[0].focus == (0.2, 0.8)
    assert again.clips[1].take_id == other.id
    assert again.subtitles.mode is SubtitleMode.BURN
    _assert_sound(again)

    # A take that is gone, or an approval newer than the timeline, replaces the choice.
    assert (
        build_timeline(PID, scenes, {approved.id: approved}, SONG, previous=edited).clips[1].take_id
        == approved.id
    )
    later = [s.model_copy(update={"updated_at": edited.updated_at + timedelta(seconds=1)})
             for s in scenes]  # fmt: skip
    rebuilt = build_timeline(PID, later, takes, SONG, previous=edited)
    assert rebuilt.clips[1].take_id == approved.id
    assert rebuilt.clips[1].transition_in == crossfade  # the rest is still kept
    # Without the earlier timeline, nothing is kept.
    fresh = build_timeline(PID, scenes, takes, SONG)
    assert fresh.clips[1].transition_in == Transition() and fresh.subtitles == SubtitleTrack()


# ---- moving a cut -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("step", "grid", "offset"),
    [
        ("next_beat", BEATS, +1),
        ("prev_beat", BEATS, -1),
        ("next_downbeat", DOWNBEATS, +1),
        ("prev_downbeat", DOWNBEATS, -1),
    ],
)
def test_a_cut_moves_to_the_beat_and_the_picture_stays_on_the_song(
    step: str, grid: list[float], offset: int
) -> None:
    timeline = _timeline()
    cut = timeline.clips[2].start
    assert cut in grid
    slipped = apply_edit(timeline, TrimClip(clip_id=timeline.clips[2].id, in_point=3.0))
    moved = apply_edit(
        slipped, MoveCut.model_validate({"index": 2, "to": step}), beats=BEATS, downbeats=DOWNBEATS
    )
    target = grid[grid.index(cut) + offset]
    before, after = moved.clips[1], moved.clips[2]
    assert after.start == target  # exactly on the beat
    assert before.end == pytest.approx(target, abs=1e-12)
    assert after.end == pytest.approx(timeline.clips[2].end, abs=1e-12)
    assert after.in_point == pytest.approx(3.0 + (target - cut), abs=1e-12)
    assert moved.clips[0] == slipped.clips[0] and moved.clips[3:] == slipped.clips[3:]
    _assert_sound(moved)


def test_a_cut_moves_to_a_time_and_back_onto_the_grid() -> None:
    timeline = _timeline()
    moved = apply_edit(timeline, MoveCut(index=1, to=5.0))
    assert moved.clips[1].start == 5.0
    assert moved.clips[1].in_point == pytest.approx(5.0 - timeline.clips[1].start, abs=1e-12)
    # off the grid, a cut steps to the beat strictly after or before it
    after, before = min(b for b in BEATS if b > 5.0), max(b for b in BEATS if b < 5.0)
    for step, beat in (("next_beat", after), ("prev_beat", before)):
        edit = MoveCut.model_validate({"index": 1, "to": step})
        assert apply_edit(moved, edit, beats=BEATS, downbeats=DOWNBEATS).clips[1].start == beat


def test_moving_a_cut_refuses_what_would_break_a_clip() -> None:
    timeline = _timeline()
    second = timeline.clips[1]
    with pytest.raises(InvalidInput, match=r"leave clip 1 0\.\d+ s long") as err:
        apply_edit(timeline, MoveCut(index=1, to=0.1))
    assert err.value.hint and f"at least {MIN_CLIP} s" in err.value.hint
    with pytest.raises(InvalidInput, match="leave clip 2"):
        apply_edit(timeline, MoveCut(index=1, to=second.end - 0.1))
    with pytest.raises(InvalidInput, match=r"start clip 2 .* before its take begins") as err:
        apply_edit(timeline, MoveCut(index=1, to="prev_beat"), beats=BEATS, downbeats=DOWNBEATS)
    assert err.value.hint and "trim clip 2" in err.value.hint
    with pytest.raises(InvalidInput, match="no cut 5: the timeline has 5 clips"):
        apply_edit(timeline, MoveCut(index=5, to=3.0))
    with pytest.raises(InvalidInput, match="no beat grid"):
        apply_edit(timeline, MoveCut(index=1, to="next_beat"))
    with pytest.raises(InvalidInput, match="no bar line after the cut between clips 4 and 5"):
        apply_edit(timeline, MoveCut(index=4, to="next_downbeat"), beats=BEATS, downbeats=[1.0])
    with pytest.raises(ValidationError):
        MoveCut(index=0, to=1.0)
    with pytest.raises(ValidationError):
        MoveCut.model_validate({"index": 1, "to": "next_bar"})


# ---- trim, split, reorder, remove -------------------------------------------------------------


def test_trim_slips_the_take_and_keeps_the_timing() -> None:
    timeline = _timeline()
    trimmed = apply_edit(timeline, TrimClip(clip_id=timeline.clips[3].id, in_point=1.25))
    assert trimmed.clips[3].in_point == 1.25
    assert [(c.start, c.duration) for c in trimmed.clips] == [
        (c.start, c.duration) for c in timeline.clips
    ]
    assert timeline.clips[3].in_point == 0.0  # the timeline it was given is unchanged


def test_split_makes_two_clips_of_one_take() -> None:
    timeline = _timeline()
    clip = timeline.clips[2]
    timeline = apply_edits(
        timeline,
        [
            TrimClip(clip_id=clip.id, in_point=0.5),
            SetEffects(clip_id=clip.id, effects=[Effect(name="shake", intensity=0.3)]),
            SetTransition(
                clip_id=clip.id, transition=Transition(kind=TransitionKind.DIP_BLACK, duration=1)
            ),
        ],
    )
    at = clip.start + 2.0
    split = apply_edit(timeline, SplitClip(clip_id=clip.id, at=at))
    first, second = split.clips[2], split.clips[3]
    assert len(split.clips) == 6
    assert (first.start, second.start) == (clip.start, at)
    assert first.end == pytest.approx(at, abs=1e-12)
    assert second.end == pytest.approx(clip.end, abs=1e-12)
    assert first.scene_id == second.scene_id == clip.scene_id
    assert second.take_id == first.take_id and second.id not in {c.id for c in timeline.clips}
    assert second.in_point == pytest.approx(2.5) and first.in_point == 0.5
    assert second.effects == first.effects == [Effect(name="shake", intensity=0.3)]
    assert first.transition_in.kind is TransitionKind.DIP_BLACK
    assert second.transition_in == Transition()
    _assert_sound(split)
    with pytest.raises(InvalidInput, match=r"clip 3 runs from .* cannot be split at") as err:
        apply_edit(timeline, SplitClip(clip_id=clip.id, at=clip.end - 0.1))
    assert err.value.hint and "split it between" in err.value.hint
    with pytest.raises(InvalidInput, match="clip 3"):
        apply_edit(timeline, SplitClip(clip_id=clip.id, at=clip.end + 1))
    with pytest.raises(NotFound, match="no clip"):
        apply_edit(timeline, SplitClip(clip_id="clp_nope", at=1.0))


def test_reorder_keeps_every_clips_length() -> None:
    timeline = _timeline()
    ids = [c.id for c in timeline.clips]
    moved = apply_edit(timeline, ReorderClip(clip_id=ids[0], index=3))
    assert [c.id for c in moved.clips] == [ids[1], ids[2], ids[3], ids[0], ids[4]]
    lengths = {c.id: c.duration for c in timeline.clips}
    assert all(c.duration == pytest.approx(lengths[c.id], abs=1e-12) for c in moved.clips)
    assert moved.clips[-1].end == SONG
    _assert_sound(moved)
    with pytest.raises(InvalidInput, match="clip 1 cannot move to position 6") as err:
        apply_edit(timeline, ReorderClip(clip_id=ids[0], index=5))
    assert err.value.hint == "give an index from 0 to 4"


def test_a_crossfade_moved_to_the_front_becomes_a_cut() -> None:
    timeline = _timeline()
    fade = Transition(kind=TransitionKind.CROSSFADE, duration=0.5)
    timeline = apply_edit(timeline, SetTransition(clip_id=timeline.clips[2].id, transition=fade))
    front = apply_edit(timeline, ReorderClip(clip_id=timeline.clips[2].id, index=0))
    assert front.clips[0].transition_in == Transition()


def test_remove_gives_the_time_to_the_clip_before_or_after() -> None:
    timeline = _timeline()
    clips = timeline.clips
    removed = apply_edit(timeline, RemoveClip(clip_id=clips[2].id))
    assert [c.id for c in removed.clips] == [clips[0].id, clips[1].id, *(c.id for c in clips[3:])]
    assert removed.clips[1].end == pytest.approx(clips[2].end) and removed.clips[2] == clips[3]
    head = apply_edit(timeline, RemoveClip(clip_id=clips[0].id))
    assert head.clips[0].id == clips[1].id and head.clips[0].start == 0.0
    assert head.clips[0].end == clips[1].end
    _assert_sound(removed)
    _assert_sound(head)
    one = build_timeline(PID, [_scene(0, 0, SONG)], {}, SONG)
    with pytest.raises(InvalidInput, match="clip 1 is the only clip"):
        apply_edit(one, RemoveClip(clip_id=one.clips[0].id))


# ---- takes, transitions, effects, focus, subtitles --------------------------------------------


def test_set_take_checks_the_take_when_the_takes_are_known() -> None:
    timeline = _timeline()
    scene = _storyboard()[1]
    good, failed = _take(scene, TakeKind.CLIP), _take(scene, ready=False)
    audio = Take(project_id=PID, owner_kind=OwnerKind.SCENE, owner_id=scene.id,
                 kind=TakeKind.AUDIO, asset_sha256="cd" * 32)  # fmt: skip
    takes = {t.id: t for t in (good, failed, audio)}
    clip_id = timeline.clips[1].id
    chosen = apply_edit(timeline, SetTake(clip_id=clip_id, take_id=good.id), takes=takes)
    assert chosen.clips[1].take_id == good.id
    with pytest.raises(NotFound, match=r"clip 2 cannot show take .* no such take"):
        apply_edit(timeline, SetTake(clip_id=clip_id, take_id=new_id("tk")), takes=takes)
    with pytest.raises(InvalidInput, match=r"clip 2 cannot show take .* failed"):
        apply_edit(timeline, SetTake(clip_id=clip_id, take_id=failed.id), takes=takes)
    with pytest.raises(InvalidInput, match=r"clip 2 cannot show take .* audio take"):
        apply_edit(timeline, SetTake(clip_id=clip_id, take_id=audio.id), takes=takes)
    with pytest.raises(ValidationError):
        SetTake(clip_id=clip_id, take_id="../../etc/passwd")


def test_transitions_fit_between_their_clips() -> None:
    timeline = _timeline()
    first, second = timeline.clips[0], timeline.clips[1]
    fade = Transition(kind=TransitionKind.CROSSFADE, duration=1.0)
    with pytest.raises(InvalidInput, match="clip 1 opens the video") as err:
        apply_edit(timeline, SetTransition(clip_id=first.id, transition=fade))
    assert err.value.hint == "set the transition on a later clip"
    too_long = Transition(kind=TransitionKind.CROSSFADE, duration=first.duration + 0.5)
    with pytest.raises(InvalidInput, match=r"into clip 2 is longer than clip 1"):
        apply_edit(timeline, SetTransition(clip_id=second.id, transition=too_long))
    faded = apply_edit(timeline, SetTransition(clip_id=second.id, transition=fade))
    assert faded.clips[1].transition_in == fade
    # a clip made shorter than its transition shortens the transition with it
    squeezed = apply_edit(faded, MoveCut(index=1, to=second.end - 0.5))
    assert squeezed.clips[1].transition_in.duration == pytest.approx(0.5)
    _assert_sound(squeezed)


def test_effects_focus_and_subtitles() -> None:
    timeline = _timeline()
    clip_id = timeline.clips[4].id
    dressed = apply_edits(
        timeline,
        [
            SetEffects(clip_id=clip_id, effects=[Effect(name="flash", intensity=1.0)]),
            SetFocus(clip_id=clip_id, focus=(0.25, 0.75)),
            SetSubtitles(subtitles=SubtitleTrack(mode=SubtitleMode.SIDECAR)),
        ],
    )
    assert dressed.clips[4].effects == [Effect(name="flash", intensity=1.0)]
    assert dressed.clips[4].focus == (0.25, 0.75)
    assert dressed.subtitles.mode is SubtitleMode.SIDECAR
    assert dressed.revision == timeline.revision  # the store raises it, not the edit
    with pytest.raises(ValidationError):
        SetFocus(clip_id=clip_id, focus=(1.5, 0.5))


# ---- edits as data, all or nothing ------------------------------------------------------------


def test_edits_arrive_as_json() -> None:
    timeline = _timeline()
    edits = TypeAdapter(list[Edit]).validate_python(
        [
            {"op": "move_cut", "index": 1, "to": "next_downbeat"},
            {"op": "move_cut", "index": 2, "to": 11},
            {"op": "trim", "clip_id": timeline.clips[0].id, "in_point": 0.5},
            {
                "op": "set_transition",
                "clip_id": timeline.clips[1].id,
                "transition": {"kind": "crossfade", "duration": 0.25},
            },
        ]
    )
    assert [e.op for e in edits] == ["move_cut", "move_cut", "trim", "set_transition"]
    assert edits[0].to == "next_downbeat" and edits[1].to == 11.0  # type: ignore[union-attr]
    edited = apply_edits(timeline, edits, beats=BEATS, downbeats=DOWNBEATS)
    assert edited.clips[1].start == DOWNBEATS[3] and edited.clips[2].start == 11.0
    with pytest.raises(ValidationError):
        TypeAdapter(Edit).validate_python({"op": "explode", "clip_id": "x"})


def test_a_refused_edit_in_a_list_names_it_and_nothing_applies() -> None:
    timeline = _timeline()
    before = timeline.model_dump()
    edits: list[Edit] = [
        TrimClip(clip_id=timeline.clips[0].id, in_point=2.0),
        SplitClip(clip_id=timeline.clips[0].id, at=0.1),
    ]
    with pytest.raises(InvalidInput, match=r"edit 2 of 2 \(split\): clip 1 runs from") as err:
        apply_edits(timeline, edits)
    assert err.value.details["edit"] == 2
    assert timeline.model_dump() == before


def test_three_hundred_random_edits_keep_the_timeline_whole() -> None:
    rng = random.Random(7)
    scenes = _storyboard()
    takes = {t.id: t for s in scenes for t in (_take(s), _take(s, TakeKind.CLIP))}
    failed = _take(scenes[0], ready=False)
    takes[failed.id] = failed
    take_ids = [*takes, new_id("tk")]
    steps = ["prev_beat", "next_beat", "prev_downbeat", "next_downbeat"]
    timeline = build_timeline(PID, scenes, takes, SONG)
    applied = refused = 0
    for _ in range(300):
        clip = rng.choice(timeline.clips)
        n = len(timeline.clips)
        op = rng.choice(["move_cut"] * 4 + ["trim", "split", "split", "reorder", "remove",
                         "set_take", "set_transition", "set_effects", "set_focus"])  # fmt: skip
        edit: Edit
        if op == "move_cut":
            to = rng.choice([*steps, round(rng.uniform(0, SONG), 3)])
            edit = MoveCut.model_validate({"index": rng.randint(1, max(1, n)), "to": to})
        elif op == "trim":
            edit = TrimClip(clip_id=clip.id, in_point=rng.uniform(0, 4))
        elif op == "split":
            at = max(0.0, rng.uniform(clip.start - 0.3, clip.end + 0.3))
            edit = SplitClip(clip_id=clip.id, at=at)
        elif op == "reorder":
            edit = ReorderClip(clip_id=clip.id, index=rng.randint(0, n))
        elif op == "remove":
            edit = RemoveClip(clip_id=clip.id)
        elif op == "set_take":
            edit = SetTake(clip_id=clip.id, take_id=rng.choice(take_ids))
        elif op == "set_transition":
            kind = rng.choice(list(TransitionKind))
            duration = 0.0 if kind is TransitionKind.CUT else round(rng.uniform(0, 3), 2)
            edit = SetTransition(
                clip_id=clip.id, transition=Transition(kind=kind, duration=duration)
            )
        elif op == "set_effects":
            edit = SetEffects(
                clip_id=clip.id, effects=[Effect(name="zoom_pulse")] * rng.randint(0, 3)
            )
        else:
            edit = SetFocus(clip_id=clip.id, focus=(rng.random(), rng.random()))
        before = timeline.model_dump()
        try:
            result = apply_edit(timeline, edit, takes=takes, beats=BEATS, downbeats=DOWNBEATS)
        except InvalidInput as exc:
            refused += 1
            assert timeline.model_dump() == before
            assert "clip" in exc.message or "cut" in exc.message
            continue
        assert timeline.model_dump() == before  # never changed in place
        _assert_sound(result)
        timeline = result
        applied += 1
    assert applied > 150 and refused > 20
