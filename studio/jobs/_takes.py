"""The take jobs: image takes (``takes.images``) and clip takes (``takes.clips``) of a
storyboard's scenes.

Both make only what is missing or stale: a scene whose latest take still matches its inputs
(its words and seed, and the content of its mood, characters and the brief's style) is left
alone, so "bring everything up to date" is the same job run again, and regenerating one scene
never touches another. Each take is made one scene at a time and cached by its inputs: a job
that is cancelled, or an engine that is killed, picks up where it stopped, and no paid call is
made twice for the same inputs. Every call is held against the project's budget first and
written to the ledger with the take.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

from pydantic import Field

from studio.agents import clip_request, image_request
from studio.errors import InvalidInput, StudioError
from studio.jobs._context import JobContext
from studio.jobs._handler import JobHandler, validated
from studio.jobs._runner import backoff
from studio.jobs._spend import hold, release, settle
from studio.model import (
    OwnerKind,
    Project,
    Scene,
    SceneAction,
    SceneState,
    StudioModel,
    Take,
    TakeKind,
    Upstream,
    fingerprint,
)
from studio.providers import ImageRequest, journaled, resolve_image_model, resolve_video_model
from studio.store import Tx

__all__ = [
    "ClipsHandler",
    "ClipsParams",
    "ImagesHandler",
    "ImagesParams",
    "TakeWork",
    "dry_run",
    "keep_take",
]


class ImagesParams(StudioModel):
    project_id: str
    scene_ids: list[str] | None = Field(default=None, max_length=2000)
    """Only these scenes; by default every scene that is ready for the step."""
    provider: str | None = Field(default=None, max_length=200)
    """The image model; by default the project's, the settings' or ``local``."""
    width: int = Field(default=1280, ge=64, le=4096)
    height: int = Field(default=720, ge=64, le=4096)


class ClipsParams(ImagesParams):
    fps: int = Field(default=24, ge=1, le=120)


@dataclass
class TakeWork:
    """One take to make: the scene, what makes it (fingerprinted), and the call that makes it."""

    scene: Scene
    inputs: dict[str, Any]
    estimate: float
    make: Callable[[JobContext], Awaitable[tuple[bytes, str, str, int | None, float]]]
    """Makes it: returns (data, media type, model, seed, real cost in USD)."""


T = TypeVar("T")

_PAST_TEXT = {
    SceneState.TEXT_APPROVED,
    SceneState.IMAGE_READY,
    SceneState.IMAGE_APPROVED,
    SceneState.CLIP_READY,
    SceneState.CLIP_APPROVED,
}
_PAST_IMAGE = {SceneState.IMAGE_APPROVED, SceneState.CLIP_READY, SceneState.CLIP_APPROVED}


class _TakesHandler(JobHandler):
    """What the two take jobs share: choosing the scenes, holding the budget, keeping the take
    and moving the scene on, publishing what was made."""

    take_kind: ClassVar[TakeKind]
    action: ClassVar[SceneAction]
    ready: ClassVar[set[SceneState]]
    params: ClassVar[type[ImagesParams]]
    concurrency = 1
    max_attempts = 3

    def resolve(self, p: ImagesParams, project: Project | None = None) -> Any:
        raise NotImplementedError

    def check(self, params: dict[str, Any]) -> dict[str, Any]:
        checked = validated(self.params, params, self.kind)
        if checked["provider"] is not None:
            self.resolve(self.params.model_validate(checked))  # unknown name, missing key
        return checked

    def plan(
        self, tx: Tx, p: ImagesParams, provider: Any, project: Project, *, scene: Scene,
        upstream: Upstream,
    ) -> TakeWork | None:  # fmt: skip
        raise NotImplementedError

    def todo(self, tx: Tx, p: ImagesParams, provider: Any) -> list[TakeWork]:
        """The scenes whose take of this kind is missing or stale, in song order."""
        project = tx.projects.get(p.project_id)
        scenes = tx.scenes.list(project.id)
        if p.scene_ids is not None:
            unknown = set(p.scene_ids) - {s.id for s in scenes}
            if unknown:
                raise InvalidInput(f"scene {sorted(unknown)[0]} is not in this project")
            scenes = [s for s in scenes if s.id in set(p.scene_ids)]
        work = []
        for scene in scenes:
            if scene.state not in self.ready:
                continue
            upstream = tx.upstream(scene, project)
            if tx.current_take(scene, self.take_kind, upstream) is not None:
                continue
            planned = self.plan(tx, p, provider, project, scene=scene, upstream=upstream)
            if planned is not None:
                work.append(planned)
        return work

    async def run(self, ctx: JobContext) -> dict[str, Any]:
        p = self.params.model_validate(ctx.params)
        project = await ctx.store.read(lambda tx: tx.projects.get(p.project_id))
        provider = self.resolve(p, project)
        todo = await ctx.store.read(lambda tx: self.todo(tx, p, provider))
        made = []
        for n, work in enumerate(todo):
            ctx.stage(self.take_kind.value, f"scene {work.scene.index + 1}: {n + 1} of {len(todo)}")
            key = {"scene": work.scene.id, "inputs": fingerprint(work.inputs),
                   "provider": provider.name, "model": provider.card.model,
                   "output": p.model_dump(include={"width", "height", "fps"})}  # fmt: skip

            async def make(work: TakeWork = work) -> dict[str, Any]:
                return await self._make(ctx, work, provider)

            made.append(await ctx.once(self.take_kind.value, key, make))
            ctx.progress((n + 1) / max(1, len(todo)))
        ctx.progress(1.0, "done")
        return {
            "made": len(made),
            "reused": ctx.reused,
            "takes": [m["take_id"] for m in made],
            "cost_usd": round(sum(m.get("cost_usd", 0.0) for m in made), 6),
        }

    async def _make(self, ctx: JobContext, work: TakeWork, provider: Any) -> dict[str, Any]:
        scene = work.scene

        def advance(tx: Tx, added: Take) -> Scene | None:
            current = tx.scenes.get(scene.id)
            if current.state in self.ready and not current.is_stale(added, tx.upstream(current)):
                return tx.scenes.save(
                    current.apply(self.action, take=added), expected_revision=current.revision
                )
            return None

        return await keep_take(
            ctx, provider, work.make, project_id=scene.project_id, owner_kind=OwnerKind.SCENE,
            owner_id=scene.id, kind=self.take_kind, inputs=work.inputs, estimate=work.estimate,
            after=advance,
        )  # fmt: skip


async def keep_take(
    ctx: JobContext,
    provider: Any,
    make: Callable[[JobContext], Awaitable[tuple[bytes, str, str, int | None, float]]],
    *,
    project_id: str,
    owner_kind: OwnerKind,
    owner_id: str,
    kind: TakeKind,
    inputs: dict[str, Any],
    estimate: float,
    after: Callable[[Tx, Take], Scene | None] | None = None,
) -> dict[str, Any]:
    """Make one take and keep it: hold its estimate against the budget, call the provider,
    store the file, then in one transaction add the take, settle the ledger and run ``after``
    (which may move a scene on). A failure gives the hold back and keeps nothing. The take and
    the moved scene are published once they are committed."""
    spend = await hold(
        ctx, project_id, usd=estimate, stage=kind.value, provider=provider.name,
        model=provider.card.model, scene_id=owner_id if owner_kind is OwnerKind.SCENE else None,
    )  # fmt: skip
    journal = await ctx.journal(
        {"owner": owner_id, "kind": kind.value, "inputs": fingerprint(inputs)}
    )
    try:
        with journaled(journal):
            data, media_type, model, seed, cost = await _retrying(ctx, make)
        sha, size = await asyncio.to_thread(ctx.assets.put_bytes, data)
    except BaseException:
        await asyncio.shield(release(ctx, spend))
        raise
    take = Take(
        project_id=project_id, owner_kind=owner_kind, owner_id=owner_id, kind=kind,
        asset_sha256=sha, media_type=media_type, inputs=inputs, fingerprint=fingerprint(inputs),
        provider=provider.name, model=model, seed=seed, cost_usd=cost,
    )  # fmt: skip

    def keep(tx: Tx) -> tuple[Take, Scene | None]:
        tx.assets.add(sha, size, media_type)
        added = tx.takes.add(take)
        settle(tx, spend, cost)
        return added, after(tx, added) if after is not None else None

    added, moved = await ctx.store.write(keep)
    ctx.publish("take.created", added.model_dump(mode="json"))
    if moved is not None:
        ctx.publish("scene.updated", moved.model_dump(mode="json"))
    return {"take_id": added.id, "version": added.version, "sha256": sha, "cost_usd": cost}


class ImagesHandler(_TakesHandler):
    """``takes.images``: a new image take for every chosen scene whose text is approved and
    whose latest image take is missing or stale."""

    kind = "takes.images"
    take_kind = TakeKind.IMAGE
    action = SceneAction.ADD_IMAGE
    ready = _PAST_TEXT
    params = ImagesParams

    def resolve(self, p: ImagesParams, project: Project | None = None) -> Any:
        return resolve_image_model(p.provider, project=project.providers if project else None)

    def plan(
        self, tx: Tx, p: ImagesParams, provider: Any, project: Project, *, scene: Scene,
        upstream: Upstream,
    ) -> TakeWork:  # fmt: skip
        request, shas = _scene_image(tx, project, scene, p.width, p.height)

        async def make(ctx: JobContext) -> tuple[bytes, str, str, int | None, float]:
            references = [await asyncio.to_thread(_read, ctx, sha) for sha in shas]
            image = await provider.generate(request.model_copy(update={"references": references}))
            return image.data, image.media_type, image.model, image.seed, image.cost_usd

        return TakeWork(scene, scene.image_inputs(upstream), provider.estimate(request), make)


class ClipsHandler(_TakesHandler):
    """``takes.clips``: a new clip take, from the approved image, for every chosen scene whose
    image is approved and whose latest clip take is missing or stale."""

    kind = "takes.clips"
    take_kind = TakeKind.CLIP
    action = SceneAction.ADD_CLIP
    ready = _PAST_IMAGE
    params = ClipsParams

    def resolve(self, p: ImagesParams, project: Project | None = None) -> Any:
        return resolve_video_model(p.provider, project=project.providers if project else None)

    def plan(
        self, tx: Tx, p: ImagesParams, provider: Any, project: Project, *, scene: Scene,
        upstream: Upstream,
    ) -> TakeWork | None:  # fmt: skip
        assert isinstance(p, ClipsParams)
        image = tx.takes.get(scene.image_take_id) if scene.image_take_id else None
        if image is None or image.asset_sha256 is None:
            return None
        sha = image.asset_sha256
        probe = clip_request(
            scene, first_frame=b"", card=provider.card, width=p.width, height=p.height, fps=p.fps
        )

        async def make(ctx: JobContext) -> tuple[bytes, str, str, int | None, float]:
            first = await asyncio.to_thread(_read, ctx, sha)
            clip = await provider.generate(probe.model_copy(update={"first_frame": first}))
            return clip.data, clip.media_type, clip.model, clip.seed, clip.cost_usd

        return TakeWork(scene, scene.clip_inputs(upstream), provider.estimate(probe), make)


def _scene_image(
    tx: Tx, project: Project, scene: Scene, width: int, height: int
) -> tuple[ImageRequest, list[str]]:
    """What a scene's image take asks for (the prompt factory's request, references left out)
    and the asset hashes of its characters' reference pictures."""
    mood, characters = tx.cast(scene)
    shas = [sha for c in characters for sha in c.reference_assets][:8]
    request = image_request(scene, mood=mood, characters=characters, brief=project.brief,
                            width=width, height=height)  # fmt: skip
    return request, shas


def _read(ctx: JobContext, sha: str) -> bytes:
    with ctx.assets.open(sha) as handle:
        return handle.read()


CALL_TRIES = 6
"""How often one provider call is tried when it is rate limited, times out or finds the service
unavailable, before the job's own attempt fails (and the runner retries the job)."""


async def _retrying(ctx: JobContext, make: Callable[[JobContext], Awaitable[T]]) -> T:
    """``make(ctx)``, tried again on a retryable failure after the wait the service asked for
    (``retry_after``) or a full-jitter backoff; other failures are raised at once."""
    for attempt in range(1, CALL_TRIES + 1):
        try:
            return await make(ctx)
        except StudioError as exc:
            if not exc.retryable or attempt == CALL_TRIES:
                raise
            wait = exc.details.get("retry_after")
            delay = float(wait) if isinstance(wait, int | float) else backoff(
                attempt, base=ctx.backoff_base, cap=30.0)  # fmt: skip
            ctx.stage(ctx.stage_name, f"{type(exc).__name__}: trying again in {delay:.1f} s")
            await asyncio.sleep(min(delay, 60.0))
    raise AssertionError("unreachable")


def dry_run(
    tx: Tx,
    project_id: str,
    *,
    image: str | None = None,
    video: str | None = None,
    width: int = 1280,
    height: int = 720,
    fps: int = 24,
) -> dict[str, Any]:
    """The whole plan without generating anything: for every scene, the prompts and the calls
    that bringing it up to date would make (a missing or stale image, then its clip), with their
    cost from the providers' cards; totals per stage and provider; the budget and what is spent.
    """
    project = tx.projects.get(project_id)
    image_model = resolve_image_model(image, project=project.providers)
    video_model = resolve_video_model(video, project=project.providers)
    rows: list[dict[str, Any]] = []
    by_provider: dict[str, float] = {}
    images = clips = 0
    for scene in tx.scenes.list(project_id):
        upstream = tx.upstream(scene, project)
        request, _ = _scene_image(tx, project, scene, width, height)
        clip = clip_request(scene, first_frame=b"", card=video_model.card, width=width,
                            height=height, fps=fps)  # fmt: skip
        needs_image = tx.current_take(scene, TakeKind.IMAGE, upstream) is None
        needs_clip = needs_image or tx.current_take(scene, TakeKind.CLIP, upstream) is None
        image_usd = image_model.estimate(request) if needs_image else 0.0
        clip_usd = video_model.estimate(clip) if needs_clip else 0.0
        images += needs_image
        clips += needs_clip
        if needs_image:
            by_provider[image_model.name] = by_provider.get(image_model.name, 0.0) + image_usd
        if needs_clip:
            by_provider[video_model.name] = by_provider.get(video_model.name, 0.0) + clip_usd
        rows.append({
            "scene": scene.index + 1, "id": scene.id, "start": scene.start, "end": scene.end,
            "section": scene.section, "prompt": request.prompt, "negative": request.negative,
            "image": {"needed": needs_image, "provider": image_model.name,
                      "model": image_model.card.model, "usd": image_usd},
            "clip": {"needed": needs_clip, "provider": video_model.name,
                     "model": video_model.card.model, "seconds": clip.duration, "usd": clip_usd},
        })  # fmt: skip
    usd = sum(by_provider.values())
    return {
        "scenes": rows,
        "totals": {
            "images": images,
            "clips": clips,
            "usd": round(usd, 6),
            "by_stage": {
                "image": round(sum(r["image"]["usd"] for r in rows), 6),
                "clip": round(sum(r["clip"]["usd"] for r in rows), 6),
            },
            "by_provider": {k: round(v, 6) for k, v in by_provider.items()},
        },
        "budget_usd": project.budget_usd,
        "committed_usd": round(tx.ledger.committed(project_id), 6),
    }
