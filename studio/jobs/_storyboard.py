"""The storyboard's jobs: plan it (concepts, moods, scenes on the song's clock) and paint the
scenes' image takes.

``storyboard.plan`` writes everything it plans in one transaction, so a failure leaves the
project as it was. ``takes.images`` paints only what is missing or stale, one scene at a time,
each painting cached by its inputs: a job that is cancelled or an engine that is killed picks up
where it stopped, and no picture (no paid call) is made twice.
"""

from __future__ import annotations

import asyncio
from typing import Any

from pydantic import Field

from studio.agents import ClipLimits, plan_shots
from studio.errors import Conflict, InvalidInput
from studio.jobs._context import JobContext
from studio.jobs._handler import JobHandler, validated
from studio.model import (
    Analysis,
    Concept,
    Mood,
    OwnerKind,
    Project,
    Scene,
    SceneAction,
    SceneState,
    StudioModel,
    Take,
    TakeKind,
    fingerprint,
    utcnow,
)
from studio.providers import (
    ConceptDraft,
    ImageRequest,
    MoodDraft,
    resolve_image_model,
    resolve_planner,
)
from studio.store import Tx

__all__ = ["ImagesHandler", "ImagesParams", "PlanHandler", "PlanParams"]


class PlanParams(StudioModel):
    project_id: str
    seed: int = Field(default=0, ge=0, lt=2**31)
    planner: str = Field(default="local", max_length=120)
    concepts: int = Field(default=3, ge=1, le=8)
    moods: int = Field(default=4, ge=1, le=8)
    shortest: float = Field(default=1.5, gt=0, le=30)
    longest: float = Field(default=8.0, gt=0, le=60)


def _song(tx: Tx, project_id: str) -> tuple[Project, Analysis]:
    """The project and its song's map as every stage reads it: corrections applied."""
    project, found = tx.song(project_id)
    assert project.audio is not None
    return project, found.corrected(project.audio.corrections)


class PlanHandler(JobHandler):
    """``storyboard.plan``: concepts and moods to choose from, and the scenes of the chosen
    ones laid on the song's clock, each with its visual intent, prompt and camera."""

    kind = "storyboard.plan"
    concurrency = 2
    max_attempts = 3

    def check(self, params: dict[str, Any]) -> dict[str, Any]:
        checked = validated(PlanParams, params, self.kind)
        ClipLimits(checked["shortest"], checked["longest"])  # refuses a range that is not one
        resolve_planner(checked["planner"])
        return checked

    async def run(self, ctx: JobContext) -> dict[str, Any]:
        p = PlanParams.model_validate(ctx.params)
        planner = resolve_planner(p.planner)

        def read(tx: Tx) -> tuple[Project, Analysis, int, Concept | None, Mood | None]:
            project, song = _song(tx, p.project_id)
            concept = tx.concepts.get(project.concept_id) if project.concept_id else None
            mood = tx.moods.get(project.mood_id) if project.mood_id else None
            return project, song, len(tx.scenes.list(project.id)), concept, mood

        project, song, existing, chosen_concept, chosen_mood = await ctx.store.read(read)
        if existing:
            raise Conflict(
                f"project {project.name!r} has a storyboard already ({existing} scenes)",
                hint="revise its scenes, or plan in a new project",
            )
        assert project.audio is not None
        ctx.stage("concepts", f"{planner.name}: concepts")
        concepts = await planner.concepts(project.brief, song, n=p.concepts, seed=p.seed)
        concept = (
            ConceptDraft(
                title=chosen_concept.title,
                logline=chosen_concept.logline,
                description=chosen_concept.description,
            )
            if chosen_concept
            else concepts[0]
        )
        ctx.stage("moods", f"{planner.name}: mood boards")
        ctx.progress(0.3)
        moods = await planner.moods(project.brief, concept, n=p.moods, seed=p.seed)
        mood = (
            MoodDraft(
                name=chosen_mood.name,
                palette=chosen_mood.palette or ["#808080"],
                keywords=chosen_mood.keywords,
                description=chosen_mood.description,
            )
            if chosen_mood
            else moods[0]
        )
        ctx.stage("scenes", f"{planner.name}: scenes")
        ctx.progress(0.6)
        shots = plan_shots(
            song,
            limits=ClipLimits(p.shortest, p.longest),
            lyrics=project.audio.lyrics,
        )
        drafts = await planner.scenes(project.brief, concept, mood, shots, seed=p.seed)

        def write(tx: Tx) -> dict[str, Any]:
            current = tx.projects.get(project.id)
            if tx.scenes.list(project.id):
                raise Conflict(f"project {project.name!r} got a storyboard meanwhile")
            concept_rows = [
                tx.concepts.insert(
                    Concept(project_id=project.id, title=c.title, logline=c.logline,
                            description=c.description)
                )
                for c in concepts
            ]  # fmt: skip
            mood_rows = [
                tx.moods.insert(
                    Mood(project_id=project.id, name=m.name, palette=m.palette,
                         keywords=m.keywords, description=m.description)
                )
                for m in moods
            ]  # fmt: skip
            concept_id = current.concept_id or concept_rows[0].id
            mood_id = current.mood_id or mood_rows[0].id
            for shot, draft in zip(shots, drafts, strict=True):
                tx.scenes.insert(
                    Scene(
                        project_id=project.id,
                        index=shot.index,
                        start=shot.start,
                        end=shot.end,
                        section=shot.section,
                        lyric=shot.lyric[:2000],
                        visual_intent=draft.visual_intent,
                        prompt=draft.prompt,
                        negative_prompt=draft.negative_prompt,
                        mood_id=mood_id,
                        camera=draft.camera,
                        seed=(p.seed * 1000 + shot.index) % (2**31 - 1),
                    )
                )
            tx.projects.replace(
                current.model_copy(
                    update={"concept_id": concept_id, "mood_id": mood_id, "updated_at": utcnow()}
                )
            )
            return {
                "concepts": len(concept_rows),
                "moods": len(mood_rows),
                "scenes": len(shots),
                "concept": concept.title,
                "mood": mood.name,
            }

        ctx.stage("store", "writing the storyboard")
        result = await ctx.store.write(write)
        ctx.progress(1.0, "done")
        return result


class ImagesParams(StudioModel):
    project_id: str
    scene_ids: list[str] | None = Field(default=None, max_length=2000)
    """Only these scenes; by default every scene whose text is approved."""
    provider: str = Field(default="local", max_length=120)
    width: int = Field(default=1280, ge=64, le=4096)
    height: int = Field(default=720, ge=64, le=4096)


_PAINTABLE = {
    SceneState.TEXT_APPROVED,
    SceneState.IMAGE_READY,
    SceneState.IMAGE_APPROVED,
    SceneState.CLIP_READY,
    SceneState.CLIP_APPROVED,
}


class ImagesHandler(JobHandler):
    """``takes.images``: a new image take for every chosen scene whose latest image take is
    missing or stale (its prompt, mood or seed changed); fresh ones are left alone."""

    kind = "takes.images"
    concurrency = 1
    max_attempts = 3

    def check(self, params: dict[str, Any]) -> dict[str, Any]:
        checked = validated(ImagesParams, params, self.kind)
        resolve_image_model(checked["provider"])
        return checked

    async def run(self, ctx: JobContext) -> dict[str, Any]:
        p = ImagesParams.model_validate(ctx.params)
        model = resolve_image_model(p.provider)

        def read(tx: Tx) -> list[tuple[Scene, list[str]]]:
            scenes = tx.scenes.list(tx.projects.get(p.project_id).id)
            if p.scene_ids is not None:
                wanted = set(p.scene_ids)
                unknown = wanted - {s.id for s in scenes}
                if unknown:
                    raise InvalidInput(f"scene {sorted(unknown)[0]} is not in this project")
                scenes = [s for s in scenes if s.id in wanted]
            todo = []
            for scene in scenes:
                if scene.state not in _PAINTABLE:
                    continue
                latest = tx.takes.of(scene.id, TakeKind.IMAGE)
                if latest and not scene.is_stale(latest[-1]):
                    continue
                mood = tx.moods.get(scene.mood_id) if scene.mood_id else None
                todo.append((scene, mood.palette if mood else []))
            return todo

        todo = await ctx.store.read(read)
        made = []
        for n, (scene, palette) in enumerate(todo):
            ctx.stage("images", f"scene {scene.index + 1}: {n + 1} of {len(todo)}")
            inputs = scene.image_inputs()
            made_from = fingerprint(inputs)
            key = {"scene": scene.id, "inputs": made_from, "provider": model.name,
                   "size": [p.width, p.height]}  # fmt: skip

            async def paint(
                scene: Scene = scene,
                palette: list[str] = palette,
                inputs: dict[str, Any] = inputs,
                made_from: str = made_from,
            ) -> dict[str, Any]:
                request = ImageRequest(
                    prompt=scene.prompt or scene.visual_intent or "an empty stage",
                    negative=scene.negative_prompt,
                    width=p.width,
                    height=p.height,
                    seed=scene.seed,
                    palette=palette,
                )
                image = await model.generate(request)
                sha, size = await asyncio.to_thread(ctx.assets.put_bytes, image.data)
                take = Take(
                    project_id=scene.project_id,
                    owner_kind=OwnerKind.SCENE,
                    owner_id=scene.id,
                    kind=TakeKind.IMAGE,
                    asset_sha256=sha,
                    media_type=image.media_type,
                    inputs=inputs,
                    fingerprint=made_from,
                    provider=image.provider,
                    model=image.model,
                    seed=image.seed,
                    cost_usd=image.cost_usd,
                )

                def keep(tx: Tx) -> Take:
                    tx.assets.add(sha, size, image.media_type)
                    added = tx.takes.add(take)
                    current = tx.scenes.get(scene.id)
                    if current.state in _PAINTABLE and not current.is_stale(added):
                        tx.scenes.save(
                            current.apply(SceneAction.ADD_IMAGE, take=added),
                            expected_revision=current.revision,
                        )
                    return added

                added = await ctx.store.write(keep)
                return {"take_id": added.id, "version": added.version, "sha256": sha}

            made.append(await ctx.once("image", key, paint))
            ctx.progress((n + 1) / max(1, len(todo)))
        ctx.progress(1.0, "done")
        return {"painted": len(made), "reused": ctx.reused, "takes": [m["take_id"] for m in made]}
