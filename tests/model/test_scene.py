from __future__ import annotations

import pytest

from studio.errors import IllegalTransition, InvalidInput
from studio.model import Scene, SceneState, Take, fingerprint


def scene(**kw: object) -> Scene:
    return Scene(
        project_id="prj_00000000000000000000",
        index=0,
        start=1.0,
        end=3.5,
        prompt="a neon street",
        **kw,
    )  # type: ignore[arg-type]


def take(s: Scene, kind: str = "image", **kw: object) -> Take:
    inputs = s.image_inputs() if kind == "image" else s.clip_inputs()
    fields: dict[str, object] = {
        "project_id": s.project_id,
        "owner_kind": "scene",
        "owner_id": s.id,
        "kind": kind,
        "asset_sha256": "a" * 64,
        "inputs": inputs,
        "fingerprint": fingerprint(inputs),
    }
    return Take.model_validate(fields | kw)


def test_happy_path_text_image_clip() -> None:
    s = scene().apply("approve_text")
    img = take(s)
    s = s.apply("add_image", take=img).apply("approve_image", take=img)
    assert s.state is SceneState.IMAGE_APPROVED and s.image_take_id == img.id
    clip = take(s, "clip")
    s = s.apply("add_clip", take=clip).apply("approve_clip", take=clip)
    assert s.state is SceneState.CLIP_APPROVED and s.clip_take_id == clip.id
    assert s.revision == 6


@pytest.mark.parametrize(
    ("state", "action", "hint"),
    [
        ("draft", "add_image", "approve the scene's text first"),
        ("text_approved", "approve_image", "generate an image take first"),
        ("image_ready", "add_clip", "approve one of its image takes first"),
        ("draft", "regenerate_clip", "approve the scene's text first"),
        ("draft", "reopen", "approve the scene's text first"),
    ],
)
def test_illegal_transitions_say_what_to_do(state: str, action: str, hint: str) -> None:
    s = scene(state=state)
    with pytest.raises(IllegalTransition) as err:
        s.apply(action, take=take(s))
    assert err.value.hint == hint
    assert s.state.value == state  # the scene itself is untouched


def test_take_of_another_scene_or_kind_is_refused() -> None:
    s = scene(state="image_ready")
    other = scene()
    with pytest.raises(InvalidInput, match="does not belong"):
        s.apply("approve_image", take=take(other))
    with pytest.raises(InvalidInput, match="clip take, not a image"):
        s.apply("approve_image", take=take(s, "clip"))
    failed = take(s, status="failed", asset_sha256=None, error="provider refused")
    with pytest.raises(IllegalTransition, match="failed"):
        s.apply("approve_image", take=failed)


def test_edit_returns_to_draft_and_makes_takes_stale() -> None:
    s = scene().apply("approve_text")
    img = take(s)
    s = s.apply("add_image", take=img).apply("approve_image", take=img)
    assert not s.is_stale(img)
    s = s.apply("edit", prompt="a neon street in the rain")
    assert s.state is SceneState.DRAFT
    assert s.image_take_id == img.id  # history kept
    assert s.is_stale(img)


def test_edit_refuses_unknown_fields_and_other_actions_refuse_changes() -> None:
    s = scene()
    with pytest.raises(InvalidInput, match="editable fields"):
        s.apply("edit", state="clip_approved")
    with pytest.raises(InvalidInput, match="takes no field changes"):
        s.apply("approve_text", prompt="x")
    with pytest.raises(InvalidInput, match="unknown scene action"):
        s.apply("explode")


def test_regenerate_image_clears_the_chosen_takes() -> None:
    s = scene().apply("approve_text")
    img = take(s)
    s = s.apply("add_image", take=img).apply("approve_image", take=img)
    s = s.apply("regenerate_image")
    assert s.state is SceneState.TEXT_APPROVED
    assert s.image_take_id is None and s.clip_take_id is None


def test_choosing_another_image_drops_the_clip_made_from_the_old_one() -> None:
    s = scene().apply("approve_text")
    first, second = take(s), take(s)
    s = (
        s.apply("add_image", take=first)
        .apply("add_image", take=second)
        .apply("approve_image", take=first)
    )
    clip = take(s, "clip")
    s = s.apply("add_clip", take=clip).apply("approve_clip", take=clip)
    s = s.apply("approve_image", take=second)
    assert s.state is SceneState.IMAGE_APPROVED
    assert s.clip_take_id is None and s.image_take_id == second.id


def test_scene_must_end_after_it_starts() -> None:
    with pytest.raises(ValueError, match="not after its start"):
        Scene(project_id="prj_00000000000000000000", index=0, start=3, end=3)
