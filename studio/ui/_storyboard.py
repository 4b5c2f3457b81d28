"""The storyboard: scene cards in song order, each with its text, its image takes (step through
the versions, choose one), its clip take (plays on hover), state and stale badges, approve and
regenerate per scene or for all shown, a filter by section, and comments."""

from __future__ import annotations

import getpass
from typing import Any

import traitlets

from studio.errors import InvalidInput
from studio.model import Scene, SceneAction
from studio.ui._base import StudioWidget

__all__ = ["Storyboard"]

_EDITABLE = ("lyric", "visual_intent", "prompt")
_FOLLOWED = ("state", "revision", "image_take_id", "clip_take_id", "seed", *_EDITABLE)
"""What a card takes straight from the engine's answer to an action."""
_NEW_SEED = 7919
"""Added to a scene's seed to paint it again (a prime, so seeds stay apart)."""


class Storyboard(StudioWidget):
    """The project's storyboard, live: ``Storyboard("Night Drive")`` ends a cell and shows it."""

    front = "storyboard"
    listens = ("scene.", "take.", "comment.", "storyboard.", "project.updated", "job.")
    front_sets = frozenset({"section_filter"})

    scenes = traitlets.List(traitlets.Dict()).tag(sync=True)
    sections = traitlets.List(traitlets.Unicode()).tag(sync=True)
    section_filter = traitlets.Unicode("").tag(sync=True)
    generating = traitlets.List(traitlets.Unicode()).tag(sync=True)
    """Scenes a takes job is working on now."""
    author = traitlets.Unicode("").tag(sync=True)

    def __init__(self, project: Any, **kwargs: Any) -> None:
        kwargs.setdefault("author", _who())
        super().__init__(project, **kwargs)

    # ---- what it shows --------------------------------------------------------------------------

    async def load(self) -> None:
        board = await self.client.storyboard(self.project_id)
        jobs = await self.client.jobs(status=["queued", "running"], project_id=self.project_id)
        cards = [_card(scene) for scene in board["scenes"]]
        busy: set[str] = set()
        for job in jobs:
            if job.kind in ("takes.images", "takes.clips"):
                ids = job.params.get("scene_ids")
                busy.update(ids if isinstance(ids, list) else (c["id"] for c in cards))
        sections = list(dict.fromkeys(c["section"] for c in cards if c["section"]))
        with self.hold_sync():
            # an action answered while this was reading shows a newer scene: keep it
            shown = {c["id"]: c for c in self.scenes}
            self.project_name = board["project"]["name"]
            self.scenes = [_newer(card, shown.get(card["id"])) for card in cards]
            self.sections = sections
            self.generating = sorted(busy)

    def media_keys(self) -> set[tuple[str, str]]:
        keys: set[tuple[str, str]] = set()
        for card in self.scenes:
            keys.update((t["sha"], "thumb") for t in card["images"] if t["sha"])
            keys.update((t["sha"], "clip") for t in card["clips"] if t["sha"])
        return keys

    def scene(self, ref: str | int) -> dict[str, Any]:
        """A scene's card, by id or by its number (1 is the first)."""
        for card in self.scenes:
            if card["id"] == ref or card["number"] == ref:
                return card
        raise InvalidInput(
            f"scene {str(ref)[:40]!r} is not on this storyboard",
            hint="use a scene's number or id from the storyboard shown",
        )

    # ---- what it does ---------------------------------------------------------------------------

    async def _act(self, card: dict[str, Any], action: SceneAction, **more: Any) -> Scene:
        """Take ``action`` on the scene and show its new state at once (the event that follows
        brings the rest: takes, stale flags, other viewers' changes)."""
        scene: Scene = await self.client.scene_action(card["id"], action.value, **more)
        shown = {k: scene.model_dump(mode="json")[k] for k in _FOLLOWED}
        self.scenes = [c | shown if c["id"] == scene.id else c for c in self.scenes]
        return scene

    async def _act_approve_text(self, content: dict[str, Any]) -> None:
        await self._act(self.scene(str(content.get("scene"))), SceneAction.APPROVE_TEXT)

    async def _act_approve_image(self, content: dict[str, Any]) -> None:
        card = self.scene(str(content.get("scene")))
        take = _take_of(card, "images", content.get("take"))
        await self._act(card, SceneAction.APPROVE_IMAGE, take_id=take)

    async def _act_approve_clip(self, content: dict[str, Any]) -> None:
        card = self.scene(str(content.get("scene")))
        take = _take_of(card, "clips", content.get("take"))
        await self._act(card, SceneAction.APPROVE_CLIP, take_id=take)

    async def _act_edit(self, content: dict[str, Any]) -> None:
        card = self.scene(str(content.get("scene")))
        changes = content.get("changes")
        if not isinstance(changes, dict) or not changes or set(changes) - set(_EDITABLE):
            raise InvalidInput(f"a scene's edit changes only {', '.join(_EDITABLE)}")
        if not all(isinstance(v, str) for v in changes.values()):
            raise InvalidInput("a scene's text is text")
        await self._act(card, SceneAction.EDIT, revision=card["revision"], **changes)

    async def _act_regenerate(self, content: dict[str, Any]) -> None:
        """A new picture for the scene: a new seed, the text approved again, an image job;
        the old takes stay in its history."""
        card = self.scene(str(content.get("scene")))
        seed = (card["seed"] + _NEW_SEED) % (2**31 - 1)
        await self._act(card, SceneAction.EDIT, revision=card["revision"], seed=seed)
        await self._act(card, SceneAction.APPROVE_TEXT)
        await self.client.submit_job(
            "takes.images",
            {"project_id": self.project_id, "scene_ids": [card["id"]]},
            project_id=self.project_id,
            force=True,
        )

    async def _act_generate(self, content: dict[str, Any]) -> None:
        """Image or clip takes for the scenes given (those that are ready for them)."""
        what = content.get("what")
        if what not in ("images", "clips"):
            raise InvalidInput("generate 'images' or 'clips'")
        ids = [self.scene(str(s))["id"] for s in _ids(content)]
        await self.client.submit_job(
            f"takes.{what}",
            {"project_id": self.project_id, "scene_ids": ids},
            project_id=self.project_id,
        )

    async def _act_approve_all(self, content: dict[str, Any]) -> None:
        """Approve, for every scene given, what is waiting for approval: its text, its newest
        image take, or its newest clip take."""
        for ref in _ids(content):
            card = self.scene(str(ref))
            state = card["state"]
            if state == "draft":
                await self._act(card, SceneAction.APPROVE_TEXT)
            elif state == "image_ready" and card["images"]:
                await self._act(card, SceneAction.APPROVE_IMAGE, take_id=card["images"][-1]["id"])
            elif state == "clip_ready" and card["clips"]:
                await self._act(card, SceneAction.APPROVE_CLIP, take_id=card["clips"][-1]["id"])

    async def _act_review(self, content: dict[str, Any]) -> None:
        """A stakeholder's word on a scene: approved, or changes asked for (saying which).
        It is a signed comment: it records who said what and changes nothing else."""
        card = self.scene(str(content.get("scene")))
        verdict, body = content.get("verdict"), content.get("body") or ""
        if verdict not in ("approval", "changes_requested") or not isinstance(body, str):
            raise InvalidInput("a review approves a scene or asks for changes")
        if verdict == "changes_requested" and not body.strip():
            raise InvalidInput("say what should change", hint="write it in the box, then ask")
        await self._comment(card, body, verdict)

    async def _act_comment(self, content: dict[str, Any]) -> None:
        card = self.scene(str(content.get("scene")))
        body = content.get("body")
        if not isinstance(body, str) or not body.strip():
            raise InvalidInput("write the comment first")
        await self._comment(card, body, "comment")

    async def _comment(self, card: dict[str, Any], body: str, kind: str) -> None:
        await self.client.add_comment(
            self.project_id,
            target_id=card["id"],
            target_kind="scene",
            kind=kind,
            author=self.author or _who(),
            body=body.strip()[:10_000],
        )


def _newer(read: dict[str, Any], shown: dict[str, Any] | None) -> dict[str, Any]:
    """The card ``read`` from the engine, with the scene's own fields from the card ``shown``
    if that one is of a later revision."""
    if shown is None or shown["revision"] <= read["revision"]:
        return read
    return read | {k: shown[k] for k in _FOLLOWED}


def _card(scene: dict[str, Any]) -> dict[str, Any]:
    """What a scene card shows (the traits carry no more than the front end uses)."""
    takes = scene["takes"]

    def brief(take: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": take["id"],
            "version": take["version"],
            "sha": take["asset_sha256"],
            "status": take["status"],
            "stale": take["stale"],
            "provider": take["provider"],
            "cost": take["cost_usd"],
        }

    images = [brief(t) for t in takes if t["kind"] == "image"]
    clips = [brief(t) for t in takes if t["kind"] == "clip"]
    chosen = {t["id"] for t in takes} & {scene["image_take_id"], scene["clip_take_id"]}
    return {
        "id": scene["id"],
        "number": scene["index"] + 1,
        "start": scene["start"],
        "end": scene["end"],
        "section": scene["section"] or "",
        "lyric": scene["lyric"],
        "visual_intent": scene["visual_intent"],
        "prompt": scene["prompt"],
        "camera": scene["camera"],
        "seed": scene["seed"],
        "state": scene["state"],
        "revision": scene["revision"],
        "image_take_id": scene["image_take_id"],
        "clip_take_id": scene["clip_take_id"],
        "images": images,
        "clips": clips,
        "stale": any(t["stale"] for t in takes if t["id"] in chosen),
        "comments": [
            {"author": c["author"], "body": c["body"], "kind": c["kind"], "at": c["created_at"]}
            for c in scene["comments"]
        ],
    }


def _take_of(card: dict[str, Any], kind: str, take: Any) -> str:
    for found in card[kind]:
        if found["id"] == take:
            return str(take)
    raise InvalidInput(
        f"take {str(take)[:40]!r} is not one of scene {card['number']}'s {kind}",
        hint="choose one of the versions shown",
    )


def _ids(content: dict[str, Any]) -> list[Any]:
    scenes = content.get("scenes")
    if not isinstance(scenes, list) or not scenes or len(scenes) > 2000:
        raise InvalidInput("say which scenes: a list of scene ids")
    return scenes


def _who() -> str:
    try:
        return getpass.getuser()[:60] or "someone"
    except (KeyError, OSError):
        return "someone"
