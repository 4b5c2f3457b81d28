"""The storyboard's planning job: concepts, moods, and scenes on the song's clock.

``storyboard.plan`` writes everything it plans in one transaction, so a failure leaves the
project as it was. The scenes' takes are made by the jobs in ``_takes``.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from studio.agents import ClipLimits, plan_shots
from studio.errors import Conflict
from studio.jobs._context import JobContext
from studio.jobs._handler import JobHandler, validated
from studio.model import (
    Analysis,
    Concept,
    Mood,
    Project,
    Scene,
    StudioModel,
    utcnow,
)
from studio.providers import (
    ConceptDraft,
    MoodDraft,
    ProviderCard,
    resolve_planner,
    resolve_video_model,
)
from studio.store import Tx

__all__ = [
    "PlanHandler",
    "PlanParams",
    "clip_limits",
    "concept_draft",
    "keep_concepts",
    "keep_moods",
    "mood_draft",
    "song_of",
]


class PlanParams(StudioModel):
    project_id: str
    seed: int = Field(default=0, ge=0, lt=2**31)
    planner: str | None = Field(default=None, max_length=200)
    """The planner; by default the project's, the settings' or ``local``."""
    video: str | None = Field(default=None, max_length=200)
    """The video model whose native clip lengths bound the scenes' lengths."""
    concepts: int = Field(default=3, ge=1, le=8)
    moods: int = Field(default=4, ge=1, le=8)
    shortest: float = Field(default=1.5, gt=0, le=30)
    longest: float = Field(default=8.0, gt=0, le=60)


def clip_limits(card: ProviderCard, shortest: float, longest: float) -> ClipLimits:
    """The scene lengths a storyboard may use: the asked range, within what the video model
    makes natively (a scene longer than its longest clip would need a clip stretched)."""
    if card.longest is not None:
        longest = min(longest, card.longest)
        shortest = min(shortest, longest / 2)
    return ClipLimits(shortest, longest)


def keep_concepts(tx: Tx, project_id: str, drafts: list[ConceptDraft]) -> list[Concept]:
    """Store proposed concepts; the first becomes the project's concept if it has none."""
    rows = [tx.concepts.insert(Concept(project_id=project_id, **d.model_dump())) for d in drafts]
    _choose_first(tx, project_id, "concept_id", rows)
    return rows


def keep_moods(tx: Tx, project_id: str, drafts: list[MoodDraft]) -> list[Mood]:
    """Store proposed mood boards; the first becomes the project's mood if it has none."""
    rows = [tx.moods.insert(Mood(project_id=project_id, **d.model_dump())) for d in drafts]
    _choose_first(tx, project_id, "mood_id", rows)
    return rows


def _choose_first(tx: Tx, project_id: str, field: str, rows: list[Concept] | list[Mood]) -> None:
    current = tx.projects.get(project_id)
    if rows and getattr(current, field) is None:
        tx.projects.replace(current.model_copy(update={field: rows[0].id, "updated_at": utcnow()}))


def concept_draft(concept: Concept) -> ConceptDraft:
    """A stored concept as the planner reads it."""
    return ConceptDraft(title=concept.title, logline=concept.logline,
                        description=concept.description)  # fmt: skip


def mood_draft(mood: Mood) -> MoodDraft:
    """A stored mood as the planner reads it (a mood with no colours reads as grey)."""
    return MoodDraft(name=mood.name, palette=mood.palette or ["#808080"],
                     keywords=mood.keywords, description=mood.description)  # fmt: skip


def song_of(tx: Tx, project_id: str) -> tuple[Project, Analysis]:
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
        if checked["planner"] is not None:
            resolve_planner(checked["planner"])
        return checked

    async def run(self, ctx: JobContext) -> dict[str, Any]:
        p = PlanParams.model_validate(ctx.params)

        def read(tx: Tx) -> tuple[Project, Analysis, int, Concept | None, Mood | None]:
            project, song = song_of(tx, p.project_id)
            concept = tx.concepts.get(project.concept_id) if project.concept_id else None
            mood = tx.moods.get(project.mood_id) if project.mood_id else None
            return project, song, len(tx.scenes.list(project.id)), concept, mood

        project, song, existing, chosen_concept, chosen_mood = await ctx.store.read(read)
        planner = resolve_planner(p.planner, project=project.providers)
        limits = clip_limits(
            resolve_video_model(p.video, project=project.providers).card, p.shortest, p.longest
        )
        if existing:
            raise Conflict(
                f"project {project.name!r} has a storyboard already ({existing} scenes)",
                hint="revise its scenes, or plan in a new project",
            )
        assert project.audio is not None
        # concepts and moods to choose from, unless the project has chosen them already
        ctx.stage("concepts", f"{planner.name}: concepts")
        concepts = (
            []
            if chosen_concept
            else await planner.concepts(project.brief, song, n=p.concepts, seed=p.seed)
        )
        concept = concept_draft(chosen_concept) if chosen_concept else concepts[0]
        ctx.stage("moods", f"{planner.name}: mood boards")
        ctx.progress(0.3)
        moods = (
            []
            if chosen_mood
            else await planner.moods(project.brief, concept, n=p.moods, seed=p.seed)
        )
        mood = mood_draft(chosen_mood) if chosen_mood else moods[0]
        ctx.stage("scenes", f"{planner.name}: scenes")
        ctx.progress(0.6)
        shots = plan_shots(
            song,
            limits=limits,
            lyrics=project.audio.lyrics,
        )
        drafts = await planner.scenes(project.brief, concept, mood, shots, seed=p.seed)

        def write(tx: Tx) -> dict[str, Any]:
            if tx.scenes.list(project.id):
                raise Conflict(f"project {project.name!r} got a storyboard meanwhile")
            concept_rows = keep_concepts(tx, project.id, concepts)
            mood_rows = keep_moods(tx, project.id, moods)
            current = tx.projects.get(project.id)
            mood_id = current.mood_id
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
            tx.projects.replace(current.model_copy(update={"updated_at": utcnow()}))
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
