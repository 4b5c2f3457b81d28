"""A scene of the storyboard and its state machine: text -> image -> clip, each gated by approval.

::

    draft ──approve_text──► text_approved ──add_image──► image_ready ──approve_image──►
    image_approved ──add_clip──► clip_ready ──approve_clip──► clip_approved

``regenerate_image`` and ``regenerate_clip`` step back to ask for new takes; editing the text, or
``reopen``, returns the scene to draft. Takes already made stay in the history; whether an
approved take still matches the scene is told by its fingerprint (:meth:`Scene.is_stale`).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import Field, model_validator

from studio.errors import IllegalTransition, InvalidInput
from studio.model._base import StudioModel, fingerprint, new_id, utcnow
from studio.model._project import Brief, Character, Mood
from studio.model._take import OwnerKind, Take, TakeKind, TakeStatus

__all__ = ["TEXT_FIELDS", "CameraMove", "Scene", "SceneAction", "SceneState", "Upstream"]


class SceneState(StrEnum):
    DRAFT = "draft"
    TEXT_APPROVED = "text_approved"
    IMAGE_READY = "image_ready"
    IMAGE_APPROVED = "image_approved"
    CLIP_READY = "clip_ready"
    CLIP_APPROVED = "clip_approved"


class SceneAction(StrEnum):
    EDIT = "edit"
    APPROVE_TEXT = "approve_text"
    ADD_IMAGE = "add_image"
    APPROVE_IMAGE = "approve_image"
    REGENERATE_IMAGE = "regenerate_image"
    ADD_CLIP = "add_clip"
    APPROVE_CLIP = "approve_clip"
    REGENERATE_CLIP = "regenerate_clip"
    REOPEN = "reopen"


class CameraMove(StrEnum):
    STATIC = "static"
    ZOOM_IN = "zoom_in"
    ZOOM_OUT = "zoom_out"
    PAN_LEFT = "pan_left"
    PAN_RIGHT = "pan_right"
    PAN_UP = "pan_up"
    PAN_DOWN = "pan_down"
    PUSH_IN = "push_in"
    ROTATE = "rotate"


S, A = SceneState, SceneAction
_ALL = tuple(SceneState)
_PAST_IMAGE = (S.IMAGE_READY, S.IMAGE_APPROVED, S.CLIP_READY, S.CLIP_APPROVED)

# action -> {state it may be taken in: state it leads to}
_TRANSITIONS: dict[SceneAction, dict[SceneState, SceneState]] = {
    A.EDIT: {s: S.DRAFT for s in _ALL},
    A.REOPEN: {s: S.DRAFT for s in _ALL if s is not S.DRAFT},
    A.APPROVE_TEXT: {S.DRAFT: S.TEXT_APPROVED},
    A.ADD_IMAGE: {S.TEXT_APPROVED: S.IMAGE_READY} | {s: s for s in _PAST_IMAGE},
    A.APPROVE_IMAGE: {s: S.IMAGE_APPROVED for s in _PAST_IMAGE},
    A.REGENERATE_IMAGE: {s: S.TEXT_APPROVED for s in _PAST_IMAGE},
    A.ADD_CLIP: {
        S.IMAGE_APPROVED: S.CLIP_READY,
        S.CLIP_READY: S.CLIP_READY,
        S.CLIP_APPROVED: S.CLIP_APPROVED,
    },
    A.APPROVE_CLIP: {S.CLIP_READY: S.CLIP_APPROVED, S.CLIP_APPROVED: S.CLIP_APPROVED},
    A.REGENERATE_CLIP: {S.CLIP_READY: S.IMAGE_APPROVED, S.CLIP_APPROVED: S.IMAGE_APPROVED},
}

_NEXT_STEP = {
    S.DRAFT: "approve the scene's text first",
    S.TEXT_APPROVED: "generate an image take first",
    S.IMAGE_READY: "approve one of its image takes first",
    S.IMAGE_APPROVED: "generate a clip take first",
    S.CLIP_READY: "approve one of its clip takes first",
    S.CLIP_APPROVED: "the scene is finished; reopen or regenerate to change it",
}

TEXT_FIELDS = (
    "lyric", "visual_intent", "prompt", "negative_prompt", "mood_id", "characters", "camera",
    "seed",
)  # fmt: skip
"""Fields a person edits; changing one sends the scene back to draft."""


class Upstream(StudioModel):
    """What a scene's takes are made from beyond the scene itself: the look of its mood, the
    characters in it and the brief's style, each as a fingerprint of its content. Editing the
    mood changes ``mood`` for exactly the scenes that use it, so exactly their takes go stale;
    renaming it changes nothing a picture shows, and nothing goes stale."""

    mood: str = ""
    characters: dict[str, str] = Field(default_factory=dict)
    """Character id -> fingerprint of its description and reference pictures."""
    style: str = ""

    @classmethod
    def of(cls, mood: Mood | None, characters: list[Character], brief: Brief) -> Upstream:
        return cls(
            mood=fingerprint([mood.palette, mood.keywords, mood.description]) if mood else "",
            characters={c.id: fingerprint([c.description, c.reference_assets]) for c in characters},
            style=brief.style.strip(),
        )


class Scene(StudioModel):
    """One shot of the storyboard, placed on the song's clock."""

    id: str = Field(default_factory=lambda: new_id("scn"))
    project_id: str
    index: int = Field(ge=0)
    start: float = Field(ge=0)
    end: float = Field(gt=0)
    section: str | None = Field(default=None, max_length=40)
    lyric: str = Field(default="", max_length=2000)
    visual_intent: str = Field(default="", max_length=5000)
    prompt: str = Field(default="", max_length=5000)
    negative_prompt: str = Field(default="", max_length=2000)
    mood_id: str | None = None
    characters: list[str] = Field(default_factory=list, max_length=8)
    """Ids of the characters (or products) this scene shows; their references steer it."""
    camera: CameraMove = CameraMove.STATIC
    seed: int = Field(default=0, ge=0, le=2**31 - 1)
    state: SceneState = SceneState.DRAFT
    image_take_id: str | None = None
    clip_take_id: str | None = None
    revision: int = Field(default=1, ge=1)
    """Goes up by one on every change; a write naming an older revision is refused."""
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)

    @model_validator(mode="after")
    def _span(self) -> Scene:
        if self.end <= self.start:
            raise ValueError(f"scene ends at {self.end} s, not after its start at {self.start} s")
        return self

    @property
    def duration(self) -> float:
        return self.end - self.start

    def image_inputs(self, upstream: Upstream | None = None) -> dict[str, Any]:
        """What an image take of this scene is made from: its words, its seed, and the content
        of its mood and characters and the brief's style (``upstream``)."""
        up = upstream or Upstream()
        return {
            "prompt": self.prompt,
            "negative_prompt": self.negative_prompt,
            "mood_id": self.mood_id,
            "seed": self.seed,
            "upstream": up.model_dump(),
        }

    def clip_inputs(
        self, upstream: Upstream | None = None, image_take_id: str | None = None
    ) -> dict[str, Any]:
        """What a clip take is made from: the approved image, the move, the span, and all that
        made the image (a clip of a stale picture is stale too)."""
        return {
            "image_take_id": image_take_id or self.image_take_id,
            "image": self.image_inputs(upstream),
            "camera": self.camera.value,
            "duration": round(self.duration, 6),
        }

    def inputs_for(self, kind: TakeKind, upstream: Upstream | None = None) -> dict[str, Any]:
        if kind is TakeKind.IMAGE:
            return self.image_inputs(upstream)
        if kind is TakeKind.CLIP:
            return self.clip_inputs(upstream)
        raise InvalidInput(f"scenes have image and clip takes, not {kind.value} takes")

    def is_stale(self, take: Take, upstream: Upstream | None = None) -> bool:
        """True when the take was made from inputs this scene (and ``upstream``, the content of
        its mood and characters) no longer has."""
        return take.fingerprint != fingerprint(self.inputs_for(take.kind, upstream))

    def apply(
        self, action: SceneAction | str, *, take: Take | None = None, **changes: Any
    ) -> Scene:
        """The scene after ``action``; refuses an action its state does not allow.

        ``take`` names the take for add/approve actions; ``changes`` the text fields for edit.
        """
        try:
            action = SceneAction(action)
        except ValueError:
            known = ", ".join(a.value for a in SceneAction)
            raise InvalidInput(
                f"unknown scene action {action!r}", hint=f"use one of: {known}"
            ) from None
        allowed = _TRANSITIONS[action]
        if self.state not in allowed:
            raise IllegalTransition(
                f"scene {self.index + 1} is {self.state.value}; it cannot {action.value}",
                hint=_NEXT_STEP[self.state],
                scene=self.id,
                state=self.state.value,
                action=action.value,
            )
        update: dict[str, Any] = {"state": allowed[self.state]}
        if action is A.EDIT:
            unknown = set(changes) - set(TEXT_FIELDS)
            if unknown or not changes:
                raise InvalidInput(
                    f"cannot edit {sorted(unknown) or 'nothing'}",
                    hint=f"editable fields: {', '.join(TEXT_FIELDS)}",
                )
            update |= changes
        elif changes:
            raise InvalidInput(f"{action.value} takes no field changes", hint="use edit")
        kind = {
            A.ADD_IMAGE: TakeKind.IMAGE,
            A.APPROVE_IMAGE: TakeKind.IMAGE,
            A.ADD_CLIP: TakeKind.CLIP,
            A.APPROVE_CLIP: TakeKind.CLIP,
        }.get(action)
        if kind is not None:
            self._check_take(take, kind, action)
        if action is A.APPROVE_IMAGE:
            assert take is not None
            if take.id != self.image_take_id:
                update["clip_take_id"] = None
            update["image_take_id"] = take.id
        elif action is A.APPROVE_CLIP:
            assert take is not None
            update["clip_take_id"] = take.id
        elif action is A.REGENERATE_IMAGE:
            update |= {"image_take_id": None, "clip_take_id": None}
        elif action is A.REGENERATE_CLIP:
            update["clip_take_id"] = None
        data = self.model_dump() | update
        data["revision"] = self.revision + 1
        data["updated_at"] = utcnow()
        return Scene.model_validate(data)

    def _check_take(self, take: Take | None, kind: TakeKind, action: SceneAction) -> None:
        if take is None:
            raise InvalidInput(f"{action.value} needs a take", hint=f"name one of its {kind} takes")
        if take.owner_kind is not OwnerKind.SCENE or take.owner_id != self.id:
            raise InvalidInput(f"take {take.id} does not belong to scene {self.id}")
        if take.kind is not kind:
            raise InvalidInput(f"take {take.id} is a {take.kind.value} take, not a {kind} take")
        if take.status is not TakeStatus.READY:
            raise IllegalTransition(
                f"take {take.id} failed and cannot be used",
                hint="regenerate to make a new take",
            )
