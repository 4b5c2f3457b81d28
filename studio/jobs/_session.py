"""The session's turns as jobs: ``session.turn`` lets the orchestrator answer a user message,
running the studio's tools against the store.

A turn is a job so that it runs off the request path (the chat stays responsive, the stop
button cancels it) and survives an engine restart: every tool call is a cached stage keyed by
the turn and the call, so a resumed turn does not redo what it already did. The assistant's
turn is written once, at the end, with every tool it called and their results.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import Field

from studio.agents import converse, history
from studio.errors import InvalidInput, NotFound
from studio.jobs._context import JobContext
from studio.jobs._handler import JobHandler, validated
from studio.jobs._render import RenderHandler, rebuild_timeline
from studio.jobs._storyboard import (
    PlanHandler,
    concept_draft,
    keep_concepts,
    keep_moods,
    song_of,
)
from studio.jobs._takes import ClipsHandler, ImagesHandler, dry_run, keep_take
from studio.model import (
    Brief,
    CameraMove,
    Character,
    Mood,
    OwnerKind,
    Project,
    Scene,
    SceneAction,
    SceneState,
    StudioModel,
    TakeKind,
    Turn,
    utcnow,
)
from studio.providers import (
    ConceptDraft,
    ImageRequest,
    MoodDraft,
    ToolCall,
    resolve_image_model,
    resolve_planner,
    resolve_text_model,
)
from studio.store import Tx

__all__ = ["SessionToolHandler", "SessionTurnHandler", "ToolParams", "TurnParams"]


class TurnParams(StudioModel):
    session_id: str
    turn_id: str
    """The user's turn this job answers."""
    seed: int = Field(default=0, ge=0, lt=2**31)


class ToolParams(StudioModel):
    project_id: str
    tool: str = Field(max_length=64)
    arguments: dict[str, Any] = Field(default_factory=dict)
    seed: int = Field(default=0, ge=0, lt=2**31)


_TIME = re.compile(
    r"\b(?:at|in) (?:the )?(night|dusk|dawn|day|daytime|noon|sunset|sunrise|"
    r"golden hour|daylight|midnight|twilight)\b"
)


def revised(prompt: str, add: str) -> str:
    """``prompt`` with ``add`` worked in: a new time of day replaces the old one, anything else
    is added (once)."""
    add = add.strip(" ,.")
    if not add or add.lower() in prompt.lower():
        return prompt
    if _TIME.match(add.lower()) and _TIME.search(prompt.lower()):
        return _TIME.sub(add, prompt, count=1)
    return f"{prompt.rstrip(' ,.')}, {add}"


class _Tools:
    """The tools of one turn, bound to the job's context and the project."""

    def __init__(self, ctx: JobContext, project_id: str, seed: int) -> None:
        self.ctx, self.project_id, self.seed = ctx, project_id, seed
        self.calls: dict[str, Callable[..., Awaitable[dict[str, Any]]]] = {
            "write_brief": self.write_brief,
            "propose_concepts": self.propose_concepts,
            "choose": self.choose,
            "make_moods": self.make_moods,
            "more_moods": self.more_moods,
            "repaint_mood": self.repaint_mood,
            "make_characters": self.make_characters,
            "build_storyboard": self.build_storyboard,
            "revise_scenes": self.revise_scenes,
            "retime": self.retime,
            "generate": self.generate,
            "approve": self.approve,
            "estimate_cost": self.estimate_cost,
            "set_budget": self.set_budget,
            "status": self.status,
            "make_everything": self.make_everything,
            "render": self.render,
        }

    async def run(self, call: ToolCall) -> dict[str, Any]:
        tool = self.calls.get(call.name)
        if tool is None:
            raise InvalidInput(f"there is no tool called {call.name!r}")
        try:
            return await tool(**call.arguments)
        except TypeError as exc:  # a model sent arguments the tool does not take
            raise InvalidInput(f"{call.name} was called with {call.arguments}: {exc}") from exc

    # -- reading and writing ------------------------------------------------------------------

    async def project(self) -> Project:
        return await self.ctx.store.read(lambda tx: tx.projects.get(self.project_id))

    async def scenes(self) -> list[Scene]:
        return await self.ctx.store.read(lambda tx: tx.scenes.list(self.project_id))

    async def update_project(self, **changes: Any) -> Project:
        project = await self.ctx.store.write(lambda tx: self._updated(tx, **changes))
        self.ctx.publish("project.updated", project.model_dump(mode="json"))
        return project

    def _updated(self, tx: Tx, **changes: Any) -> Project:
        current = tx.projects.get(self.project_id)
        return tx.projects.replace(current.model_copy(update=changes | {"updated_at": utcnow()}))

    async def act(self, scene: Scene, action: SceneAction, **kw: Any) -> Scene:
        take_id = kw.pop("take_id", None)  # out here: the store may run ``op`` twice

        def op(tx: Tx) -> Scene:
            take = tx.takes.get(take_id) if take_id is not None else None
            return _saved(tx, tx.scenes.get(scene.id), action, take=take, **kw)

        moved = await self.ctx.store.write(op)
        self.ctx.publish("scene.updated", moved.model_dump(mode="json"))
        return moved

    async def pick(self, numbers: list[int] | None, section: str | None) -> list[Scene]:
        scenes = await self.scenes()
        if not scenes:
            raise NotFound("there is no storyboard yet", hint="ask for the storyboard first")
        chosen = scenes
        if numbers:
            bad = [n for n in numbers if not 1 <= n <= len(scenes)]
            if bad:
                raise InvalidInput(f"there is no scene {bad[0]}: scenes go from 1 to {len(scenes)}")
            chosen = [scenes[n - 1] for n in numbers]
        if section:
            label = section.lower().strip()
            chosen = [s for s in chosen if (s.section or "").lower() in (label, label[:-1])]
            if not chosen:
                known = sorted({s.section or "" for s in scenes} - {""})
                raise InvalidInput(
                    f"no scene is in a {section!r} section", hint=f"sections: {', '.join(known)}"
                )
        return chosen

    # -- the tools ----------------------------------------------------------------------------

    async def write_brief(self, text: str = "", style: str | None = None) -> dict[str, Any]:
        project = await self.project()
        brief = project.brief.model_copy(
            update={"text": text.strip() or project.brief.text}
            | ({"style": style.strip()} if style is not None else {})
        )
        await self.update_project(brief=Brief.model_validate(brief.model_dump()))
        return {
            "summary": f"Brief: “{brief.text}”."
            + (f" Style: {brief.style}." if brief.style else ""),
            "brief": brief.model_dump(),
        }

    async def propose_concepts(self, n: int = 3) -> dict[str, Any]:
        project, song = await self.ctx.store.read(lambda tx: song_of(tx, self.project_id))
        planner = resolve_planner(project=project.providers)
        drafts = await planner.concepts(project.brief, song, n=max(1, min(8, n)), seed=self.seed)

        rows = await self.ctx.store.write(lambda tx: keep_concepts(tx, self.project_id, drafts))
        titles = "; ".join(f"{i + 1}. {c.title} — {c.logline}" for i, c in enumerate(rows))
        return {"summary": f"{len(rows)} concepts: {titles}", "concepts": [c.id for c in rows]}

    async def choose(self, kind: str, which: str = "1") -> dict[str, Any]:
        if kind not in ("concept", "mood"):
            raise InvalidInput(f"I can choose a concept or a mood, not a {kind!r}")
        items: list[Any] = await self.ctx.store.read(
            lambda tx: (tx.concepts if kind == "concept" else tx.moods).list(self.project_id)
        )

        def name(item: Any) -> str:
            return str(item.title if kind == "concept" else item.name)

        found = None
        if str(which).strip().isdigit() and 1 <= int(which) <= len(items):
            found = items[int(which) - 1]
        else:
            found = next((i for i in items if str(which).lower() in name(i).lower()), None)
        if found is None:
            raise InvalidInput(
                f"there is no {kind} {which!r}",
                hint=f"{kind}s: {', '.join(name(i) for i in items) or 'none yet'}",
            )
        if kind == "concept":
            await self.update_project(concept_id=found.id)
            return {"summary": f"Concept chosen: {found.title}.", "concept": found.id}

        def op(tx: Tx) -> tuple[Project, list[Scene]]:
            # the storyboard follows the chosen mood, in the same transaction: nobody sees
            # the project on the new mood with scenes still on the old one, nor half of it
            project = self._updated(tx, mood_id=found.id)
            moved = [
                _saved(tx, scene, SceneAction.EDIT, mood_id=found.id)
                for scene in tx.scenes.list(self.project_id)
                if scene.mood_id != found.id
            ]
            return project, moved

        project, moved = await self.ctx.store.write(op)
        self.ctx.publish("project.updated", project.model_dump(mode="json"))
        for scene in moved:
            self.ctx.publish("scene.updated", scene.model_dump(mode="json"))
        tail = f"; {len(moved)} scenes follow it (their takes are stale now)" if moved else ""
        return {"summary": f"Mood chosen: {found.name}{tail}.", "mood": found.id}

    async def make_moods(self, n: int = 4, images: int = 2) -> dict[str, Any]:
        project = await self.project()
        concept = await self._concept(project)
        planner = resolve_planner(project=project.providers)
        drafts = await planner.moods(project.brief, concept, n=max(1, min(8, n)), seed=self.seed)

        rows = await self.ctx.store.write(lambda tx: keep_moods(tx, self.project_id, drafts))
        per = await self._paint_boards(project, concept, rows, images)
        names = ", ".join(
            f"{i + 1}. {m.name} ({' '.join(m.palette[:3])})" for i, m in enumerate(rows)
        )
        return {
            "summary": f"{len(rows)} mood boards, {per} images each: {names}.",
            "moods": [m.id for m in rows],
        }

    async def more_moods(self, like: str, n: int = 2, images: int = 2) -> dict[str, Any]:
        """Mood boards like ``like`` (its number or name): its palette and words, with the
        planner's new ideas mixed in."""
        liked = await self._mood(like)
        project = await self.project()
        concept = await self._concept(project)
        planner = resolve_planner(project=project.providers)
        ideas = await planner.moods(project.brief, concept, n=max(1, min(4, n)), seed=self.seed)
        drafts = [
            MoodDraft(
                name=f"{liked.name} · {idea.name}"[:120],
                palette=[
                    c for pair in zip(liked.palette, idea.palette, strict=False) for c in pair
                ][:12]
                or liked.palette,
                keywords=list(dict.fromkeys([*liked.keywords, *idea.keywords[:3]]))[:40],
                description=liked.description,
            )
            for idea in ideas
        ]
        rows = await self.ctx.store.write(lambda tx: keep_moods(tx, self.project_id, drafts))
        per = await self._paint_boards(project, concept, rows, images)
        return {
            "summary": f"{len(rows)} mood boards like {liked.name}, {per} images each.",
            "moods": [m.id for m in rows],
        }

    async def repaint_mood(self, which: str, images: int = 2) -> dict[str, Any]:
        """New pictures for one mood board (its old ones stay in its history)."""
        mood = await self._mood(which)
        project = await self.project()
        per = await self._paint_boards(project, await self._concept(project), [mood], images)
        return {"summary": f"{mood.name}: {per} new images.", "moods": [mood.id]}

    async def _mood(self, which: str) -> Mood:
        moods: list[Mood] = await self.ctx.store.read(lambda tx: tx.moods.list(self.project_id))
        if str(which).strip().isdigit() and 1 <= int(which) <= len(moods):
            return moods[int(which) - 1]
        found = next((m for m in moods if which in (m.id, m.name)), None)
        if found is None:
            raise InvalidInput(
                f"there is no mood {str(which)[:40]!r}",
                hint=f"moods: {', '.join(m.name for m in moods) or 'none yet'}",
            )
        return found

    async def _paint_boards(
        self, project: Project, concept: ConceptDraft, moods: list[Mood], images: int
    ) -> int:
        """``images`` pictures (1 to 4) for each mood board; returns how many each got."""
        model = resolve_image_model(project=project.providers)
        per = max(1, min(4, images))
        for mood in moods:
            for k in range(per):
                request = ImageRequest(
                    prompt=f"{concept.title}: {concept.logline}. "
                    f"{['wide', 'close'][k % 2]} shot. mood: {', '.join(mood.keywords)}",
                    width=640,
                    height=360,
                    seed=(self.seed * 100 + k) % 2**32,
                    palette=mood.palette,
                )
                await self._image_take(model, request, OwnerKind.MOOD, mood.id, f"board {k + 1}")
        return per

    async def make_characters(self, description: str, name: str | None = None) -> dict[str, Any]:
        description = description.strip() or "the singer"
        label = (name or description.split(",")[0]).strip()[:60] or "Lead"
        project = await self.project()
        character = await self.ctx.store.write(
            lambda tx: tx.characters.insert(
                Character(project_id=self.project_id, name=label, description=description)
            )
        )
        model = resolve_image_model(project=project.providers)
        mood = await self.ctx.store.read(
            lambda tx: tx.moods.find(project.mood_id) if project.mood_id else None
        )
        shas = []
        for k, framing in enumerate(("full figure", "close portrait")):
            request = ImageRequest(
                prompt=f"{framing} of {description}, plain backdrop, even light, reference sheet",
                width=512,
                height=512,
                seed=self.seed * 10 + k,
                palette=mood.palette if mood else [],
                shot="close" if k else "medium",
            )
            made = await self._image_take(
                model, request, OwnerKind.CHARACTER, character.id, framing
            )
            shas.append(made["sha256"])

        def attach(tx: Tx) -> tuple[Character, list[Scene]]:
            kept = tx.characters.replace(character.model_copy(update={"reference_assets": shas}))
            words = {w for w in re.findall(r"[a-z]+", description.lower()) if len(w) > 3}
            moved = []
            for scene in tx.scenes.list(self.project_id):
                said = set(re.findall(r"[a-z]+", scene.prompt.lower()))
                if words & said and character.id not in scene.characters:
                    characters = [*scene.characters, character.id]
                    moved.append(_saved(tx, scene, SceneAction.EDIT, characters=characters))
            return kept, moved

        kept, moved = await self.ctx.store.write(attach)
        for scene in moved:
            self.ctx.publish("scene.updated", scene.model_dump(mode="json"))
        self.ctx.publish("character.created", kept.model_dump(mode="json"))
        return {
            "summary": f"Character {kept.name!r} with {len(shas)} reference images; it "
            f"appears in {len(moved)} scenes.",
            "character": kept.id,
        }

    async def build_storyboard(self, shortest: float = 1.5, longest: float = 8.0) -> dict[str, Any]:
        existing = await self.scenes()
        if existing:
            return {
                "summary": f"The storyboard has {len(existing)} scenes already; revise them, "
                "or retime a section.",
                "scenes": len(existing),
            }
        params = {
            "project_id": self.project_id,
            "seed": self.seed,
            "shortest": shortest,
            "longest": longest,
        }
        result = await PlanHandler().run(self.ctx.sub("storyboard.plan", params))
        scenes = await self.scenes()
        sections = ", ".join(
            f"{k}: {sum(1 for s in scenes if s.section == k)}"
            for k in dict.fromkeys(s.section for s in scenes)
            if k
        )
        return {
            "summary": f"Storyboard: {len(scenes)} scenes on the beat grid ({sections}), "
            f"concept {result['concept']!r}, mood {result['mood']!r}.",
            "scenes": len(scenes),
        }

    async def revise_scenes(
        self,
        scenes: list[int] | None = None,
        section: str | None = None,
        add: str = "",
        regenerate: bool = False,
    ) -> dict[str, Any]:
        if not scenes and not section:
            raise InvalidInput("say which scenes: by number or by section")
        chosen = await self.pick(scenes, section)
        repaint = []
        for scene in chosen:
            changes: dict[str, Any] = {}
            prompt = revised(scene.prompt, add)
            if prompt != scene.prompt:
                changes["prompt"] = prompt
            if regenerate:
                changes["seed"] = (scene.seed + 7919) % (2**31 - 1)
            if not changes:
                continue
            had_image = scene.state not in (SceneState.DRAFT, SceneState.TEXT_APPROVED)
            edited = await self.act(scene, SceneAction.EDIT, **changes)
            if scene.state is not SceneState.DRAFT:
                await self.act(edited, SceneAction.APPROVE_TEXT)
            if had_image or regenerate:
                repaint.append(scene.id)
        painted = 0
        if repaint:
            done = await ImagesHandler().run(
                self.ctx.sub("takes.images", {"project_id": self.project_id, "scene_ids": repaint})
            )
            painted = done["made"]
        what = f"with {add!r}" if add else "with a new seed"
        numbers = ", ".join(str(s.index + 1) for s in chosen)
        tail = f"; {painted} new image takes (the old ones stay in the history)" if painted else ""
        return {
            "summary": f"Revised scene{'s' if len(chosen) > 1 else ''} {numbers} {what}{tail}.",
            "scenes": [s.id for s in chosen],
            "images": painted,
        }

    async def retime(self, section: str, shorter: bool = True) -> dict[str, Any]:
        chosen = await self.pick(None, section)
        project, song = await self.ctx.store.read(lambda tx: song_of(tx, self.project_id))
        del project
        grid = song.downbeats or song.beats
        replaced: list[tuple[Scene, list[tuple[float, float]]]] = []
        if shorter:
            for scene in chosen:
                inside = [t for t in grid if scene.start + 0.5 < t < scene.end - 0.5]
                if not inside:
                    inside = [t for t in song.beats if scene.start + 0.5 < t < scene.end - 0.5]
                if inside:
                    cut = min(inside, key=lambda t: abs(t - (scene.start + scene.end) / 2))
                    replaced.append((scene, [(scene.start, cut), (cut, scene.end)]))
        else:
            for a, b in zip(chosen[::2], chosen[1::2], strict=False):
                if abs(a.end - b.start) < 1e-6:
                    replaced.append((a, [(a.start, b.end)]))
                    replaced.append((b, []))
        if not replaced:
            return {
                "summary": f"The {section} shots are as {'short' if shorter else 'long'} as "
                "the beat grid allows.",
                "scenes": len(chosen),
            }

        def op(tx: Tx) -> list[Scene]:
            for scene, spans in replaced:
                tx.scenes.delete(scene.id)
                for k, (start, end) in enumerate(spans):
                    tx.scenes.insert(
                        scene.model_copy(
                            update={
                                "id": Scene(
                                    project_id=scene.project_id, index=0, start=0, end=1
                                ).id,
                                "start": start,
                                "end": end,
                                "state": SceneState.DRAFT,
                                "image_take_id": None,
                                "clip_take_id": None,
                                "revision": 1,
                                "seed": (scene.seed + k) % (2**31 - 1),
                                "camera": scene.camera if k == 0 else _other_camera(scene),
                            }
                        )
                    )
            ordered = sorted(tx.scenes.list(self.project_id), key=lambda s: s.start)
            for i, scene in enumerate(ordered):
                if scene.index != i:
                    tx.scenes.replace(scene.model_copy(update={"index": i}))
            return tx.scenes.list(self.project_id)

        scenes = await self.ctx.store.write(op)
        self.ctx.publish("storyboard.changed", {"scenes": len(scenes)})
        now = sum(1 for s in scenes if s.section == chosen[0].section)
        return {
            "summary": f"{'Shorter' if shorter else 'Longer'} shots in the {section}: "
            f"{len(chosen)} became {now}, cut on the beat grid; {len(scenes)} scenes in all.",
            "scenes": len(scenes),
        }

    async def generate(
        self, stage: str = "images", scenes: list[int] | None = None
    ) -> dict[str, Any]:
        if stage not in ("images", "clips"):
            raise InvalidInput(f"I generate images or clips, not {stage!r}")
        chosen = await self.pick(scenes, None)
        if stage == "images":
            for scene in chosen:
                if scene.state is SceneState.DRAFT:
                    await self.act(scene, SceneAction.APPROVE_TEXT)
            handler: ImagesHandler | ClipsHandler = ImagesHandler()
        else:
            await self.approve("images", scenes)
            handler = ClipsHandler()
        params = {"project_id": self.project_id, "scene_ids": [s.id for s in chosen]}
        done = await handler.run(self.ctx.sub(handler.kind, params))
        cost = f", ${done['cost_usd']:.2f}" if done["cost_usd"] else ""
        return {
            "summary": f"{done['made']} new {stage[:-1]} takes{cost}; "
            f"{len(chosen) - done['made']} scenes were up to date.",
            **done,
        }

    async def approve(
        self, stage: str = "images", scenes: list[int] | None = None
    ) -> dict[str, Any]:
        steps = {
            "text": ({SceneState.DRAFT}, SceneAction.APPROVE_TEXT, None),
            "images": ({SceneState.IMAGE_READY}, SceneAction.APPROVE_IMAGE, TakeKind.IMAGE),
            "clips": ({SceneState.CLIP_READY}, SceneAction.APPROVE_CLIP, TakeKind.CLIP),
        }
        if stage not in steps:
            raise InvalidInput(f"I approve text, images or clips, not {stage!r}")
        states, action, kind = steps[stage]
        approved = 0
        for scene in await self.pick(scenes, None):
            if scene.state not in states:
                continue
            if kind is None:
                await self.act(scene, action)
            else:
                takes = await self._takes(scene.id, kind)
                if not takes:
                    continue
                await self.act(scene, action, take_id=takes[-1].id)
            approved += 1
        return {"summary": f"Approved {stage} of {approved} scenes.", "approved": approved}

    async def render(
        self, preset: str = "final", teaser: int | None = None, aspect: str | None = None
    ) -> dict[str, Any]:
        timeline = await self.ctx.store.write(lambda tx: rebuild_timeline(tx, self.project_id))
        self.ctx.publish("timeline.updated", timeline.model_dump(mode="json"))
        params: dict[str, Any] = {"project_id": self.project_id, "preset": preset}
        if teaser:
            params["teaser"] = teaser
        if aspect:
            params["aspect"] = aspect
        handler = RenderHandler()
        done = await handler.run(self.ctx.sub(handler.kind, handler.check(params)))
        kind = f"{teaser} s teaser" if teaser else f"{preset} render"
        scenes = {s.id: s for s in await self.scenes()}
        waiting = sum(
            1 for c in timeline.clips
            if c.scene_id in scenes and scenes[c.scene_id].state is SceneState.CLIP_READY
        )  # fmt: skip
        note = (
            f" {waiting} scenes show their picture with a camera move: approve their clips "
            "to use them."
            if waiting
            else ""
        )
        return {
            "summary": f"The {kind} is ready: {done['filename']}, {done['duration']:.1f} s, "
            f"{done['frames']} frames, checked in sync with the song.{note}",
            **{k: done[k] for k in ("render_id", "sha256", "filename", "duration", "frames")},
        }

    async def estimate_cost(self) -> dict[str, Any]:
        plan = await self.ctx.store.read(lambda tx: dry_run(tx, self.project_id))
        t = plan["totals"]
        budget = plan["budget_usd"]
        room = f" against a budget of ${budget:.2f}" if budget is not None else ""
        providers = ", ".join(f"{k} ${v:.2f}" for k, v in t["by_provider"].items())
        return {
            "summary": f"Still to make: {t['images']} images and {t['clips']} clips, about "
            f"${t['usd']:.2f} ({providers or 'nothing to make'}); "
            f"${plan['committed_usd']:.2f} spent so far{room}.",
            "plan": plan,
        }

    async def set_budget(self, usd: float) -> dict[str, Any]:
        if usd < 0:
            raise InvalidInput("a budget cannot be negative")
        await self.update_project(budget_usd=float(usd))
        return {"summary": f"Budget set to ${usd:.2f}; no call will pass it.", "budget_usd": usd}

    async def status(self) -> dict[str, Any]:
        def op(tx: Tx) -> dict[str, Any]:
            project = tx.projects.get(self.project_id)
            scenes = tx.scenes.list(self.project_id)
            states: dict[str, int] = {}
            for s in scenes:
                states[s.state.value] = states.get(s.state.value, 0) + 1
            concept = tx.concepts.find(project.concept_id) if project.concept_id else None
            mood = tx.moods.find(project.mood_id) if project.mood_id else None
            return {
                "song": project.audio.filename if project.audio else None,
                "brief": project.brief.text,
                "concept": concept.title if concept else None,
                "mood": mood.name if mood else None,
                "scenes": states,
                "spent_usd": round(tx.ledger.committed(self.project_id), 6),
            }

        state = await self.ctx.store.read(op)
        scenes = ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in state["scenes"].items())
        return {
            "summary": f"Song: {state['song'] or 'none yet'}. Concept: {state['concept'] or '-'}. "
            f"Mood: {state['mood'] or '-'}. Scenes: {scenes or 'none yet'}. "
            f"Spent: ${state['spent_usd']:.2f}.",
            **state,
        }

    async def make_everything(self) -> dict[str, Any]:
        steps = []
        have = await self.ctx.store.read(
            lambda tx: (len(tx.concepts.list(self.project_id)), len(tx.moods.list(self.project_id)))
        )
        if not have[0]:
            steps.append(await self.propose_concepts())
        if not have[1]:
            steps.append(await self.make_moods())
        steps.append(await self.build_storyboard())
        steps.append(await self.generate("images"))
        steps.append(await self.generate("clips"))
        return {"summary": " ".join(s["summary"] for s in steps)}

    # -- helpers ------------------------------------------------------------------------------

    async def _takes(self, scene_id: str, kind: TakeKind) -> list[Any]:
        return await self.ctx.store.read(lambda tx: tx.takes.of(scene_id, kind))

    async def _concept(self, project: Project) -> ConceptDraft:
        concept = await self.ctx.store.read(
            lambda tx: tx.concepts.find(project.concept_id) if project.concept_id else None
        )
        if concept is not None:
            return concept_draft(concept)
        _, song = await self.ctx.store.read(lambda tx: song_of(tx, self.project_id))
        planner = resolve_planner(project=project.providers)
        return (await planner.concepts(project.brief, song, n=1, seed=self.seed))[0]

    async def _image_take(
        self, model: Any, request: ImageRequest, owner: OwnerKind, owner_id: str, label: str
    ) -> dict[str, Any]:
        async def make(ctx: JobContext) -> tuple[bytes, str, str, int | None, float]:
            del ctx
            image = await model.generate(request)
            return image.data, image.media_type, image.model, image.seed, image.cost_usd

        inputs = {
            "prompt": request.prompt,
            "seed": request.seed,
            "palette": request.palette,
            "size": [request.width, request.height],
            "label": label,
        }
        key = {"owner": owner_id, "inputs": inputs, "provider": model.name}
        return await self.ctx.once(
            f"{owner.value}-image",
            key,
            lambda: keep_take(
                self.ctx,
                model,
                make,
                project_id=self.project_id,
                owner_kind=owner,
                owner_id=owner_id,
                kind=TakeKind.IMAGE,
                inputs=inputs,
                estimate=model.estimate(request),
            ),
        )


def _saved(tx: Tx, scene: Scene, action: SceneAction, **kw: Any) -> Scene:
    """``scene`` (as read in ``tx``) moved by ``action`` and saved; refused if it changed since."""
    return tx.scenes.save(scene.apply(action, **kw), expected_revision=scene.revision)


def _other_camera(scene: Scene) -> CameraMove:
    """A different move for the second half of a split shot, so the cut reads."""
    moves = [CameraMove.PUSH_IN, CameraMove.PAN_LEFT, CameraMove.ZOOM_OUT, CameraMove.PAN_RIGHT]
    return (
        moves[(moves.index(scene.camera) + 1) % len(moves)] if scene.camera in moves else moves[0]
    )


class SessionTurnHandler(JobHandler):
    """``session.turn``: the orchestrator answers one user message; the reply is a new turn."""

    kind = "session.turn"
    concurrency = 2
    max_attempts = 2

    def check(self, params: dict[str, Any]) -> dict[str, Any]:
        return validated(TurnParams, params, self.kind)

    async def run(self, ctx: JobContext) -> dict[str, Any]:
        p = TurnParams.model_validate(ctx.params)

        def read(tx: Tx) -> tuple[Any, list[Turn], Project, Turn | None]:
            session = tx.sessions.get(p.session_id)
            turns = tx.turns.of(session.id)
            if not any(t.id == p.turn_id for t in turns):
                raise NotFound(f"turn {p.turn_id} is not in session {session.id}")
            return (
                session,
                turns[: 1 + next(i for i, t in enumerate(turns) if t.id == p.turn_id)],
                tx.projects.get(session.project_id),
                next((t for t in turns if t.reply_to == p.turn_id), None),
            )

        session, turns, project, answered = await ctx.store.read(read)
        if answered is not None:  # the message was answered already (a repeated request)
            return _result(answered)
        model = resolve_text_model(session.text_model or None, project=project.providers)
        tools = _Tools(ctx, project.id, p.seed)
        calls = 0

        async def run_tool(call: ToolCall) -> dict[str, Any]:
            nonlocal calls
            calls += 1
            ctx.stage("tool", f"{call.name}")
            key = {"turn": p.turn_id, "call": calls, "name": call.name, "args": call.arguments}
            return await ctx.once("tool", key, lambda: tools.run(call))

        ctx.stage("thinking", f"{model.name} reads the message")
        reply = await converse(model, history(turns), run_tool)
        suggestions = await _suggestions(tools)

        def write(tx: Tx) -> Turn:
            turn = tx.turns.insert(
                Turn(
                    project_id=project.id,
                    session_id=session.id,
                    index=tx.turns.next_index(session.id),
                    role="assistant",
                    text=reply.text,
                    tools=reply.tools,
                    suggestions=suggestions,
                    reply_to=p.turn_id,
                )
            )
            tx.sessions.replace(
                tx.sessions.get(session.id).model_copy(update={"updated_at": utcnow()})
            )
            return turn

        turn = await ctx.store.write(write)
        ctx.publish("session.turn", turn.model_dump(mode="json"))
        ctx.progress(1.0, "answered")
        return _result(turn)


class SessionToolHandler(JobHandler):
    """``session.tool``: one of the session's tools, called by name without a conversation
    (a widget's button: choose a mood, make mood boards). The same code as when the
    orchestrator calls it."""

    kind = "session.tool"
    concurrency = 2
    max_attempts = 2

    def check(self, params: dict[str, Any]) -> dict[str, Any]:
        return validated(ToolParams, params, self.kind)

    async def run(self, ctx: JobContext) -> dict[str, Any]:
        p = ToolParams.model_validate(ctx.params)
        await ctx.store.read(lambda tx: tx.projects.get(p.project_id))
        ctx.stage("tool", p.tool)
        result = await _Tools(ctx, p.project_id, p.seed).run(
            ToolCall(id="widget", name=p.tool, arguments=p.arguments)
        )
        ctx.progress(1.0, "done")
        return result


def _mixed(first: list[str], second: list[str]) -> list[str]:
    """Two palettes' colours in turn, at most 12 (the first's alone if the second is empty)."""
    mixed = [c for pair in zip(first, second, strict=False) for c in pair]
    return (mixed or first)[:12]


def _result(turn: Turn) -> dict[str, Any]:
    return {"turn_id": turn.id, "text": turn.text, "tools": [u.name for u in turn.tools]}


async def _suggestions(tools: _Tools) -> list[str]:
    """What to say next, from where the project stands (the chat widget's chips)."""

    def op(tx: Tx) -> tuple[Project, int, int, list[Scene]]:
        project = tx.projects.get(tools.project_id)
        return (
            project,
            len(tx.concepts.list(project.id)),
            len(tx.moods.list(project.id)),
            tx.scenes.list(project.id),
        )

    project, concepts, moods, scenes = await tools.ctx.store.read(op)
    if not project.brief.text:
        return ["a night drive through the neon city", "make the whole video"]
    if not concepts:
        return ["propose three concepts", "make the whole video"]
    if not moods:
        return ["make four moods", "use concept 2"]
    if not scenes:
        return ["build the storyboard", "use mood 2", "the character is a singer in a red coat"]
    states = {s.state for s in scenes}
    if states & {SceneState.DRAFT, SceneState.TEXT_APPROVED}:
        return ["generate the images", "make the chorus scenes at night", "how much will it cost?"]
    if SceneState.IMAGE_READY in states or SceneState.IMAGE_APPROVED in states:
        return ["make the clips", "render a preview", "regenerate scene 4 with a red car"]
    return ["render a preview", "render a 30 s vertical teaser", "render the final video"]
