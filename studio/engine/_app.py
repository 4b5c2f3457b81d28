"""The engine's HTTP API (FastAPI). Routes are thin: they check input, run one function on the
store's owner thread, and publish what changed. Nothing from a request is used as SQL, a path
or code: ids are checked against the id pattern, assets are named by their hash."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import re
import secrets
import tempfile
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response, StreamingResponse
from pydantic import BaseModel, Field, ValidationError, field_validator
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

import studio
from studio.audio import MAX_BYTES, parse_lyrics, to_lrc, to_srt
from studio.engine._access import Access, Caller, authorizer, caller_of, check_project
from studio.engine._events import EventBus
from studio.errors import (
    Conflict,
    InvalidInput,
    NotFound,
    PayloadTooLarge,
    StudioError,
    Unauthorized,
)
from studio.jobs import (
    JobRunner,
    dry_run,
    export_timeline,
    read_export,
    rebuild_timeline,
    timeline_takes,
    upload_path,
)
from studio.model import (
    ID_PATTERN,
    Analysis,
    AnalysisCorrections,
    Brief,
    CameraMove,
    Character,
    Comment,
    CommentKind,
    Concept,
    Grant,
    JobStatus,
    Lyrics,
    Mood,
    Name,
    OwnerKind,
    Project,
    Render,
    Role,
    Scene,
    SceneAction,
    Session,
    StudioModel,
    SubtitleTrack,
    Take,
    TakeKind,
    TakeStatus,
    TargetKind,
    Timeline,
    TimelineClip,
    Turn,
    Upstream,
    check_id,
    fingerprint,
    utcnow,
)
from studio.providers import ROLES, resolve, resolve_text_model
from studio.render import THUMB_WIDTH, Edit, apply_edits, thumbnail
from studio.store import AssetStore, StoreWorker, Tx, check_sha256, read_archive, restore, snapshot

__all__ = ["EngineState", "create_app"]

log = logging.getLogger("studio.engine")
T = TypeVar("T")

MAX_JSON_BODY = 1 << 20
_UPLOAD_PATHS = ("/v1/assets", "/v1/projects/import", "/v1/songs")
_MEDIA_TYPE = r"^[A-Za-z0-9][\w.+-]{0,62}/[A-Za-z0-9][\w.+-]{0,62}$"


@dataclass
class EngineState:
    """What the routes share: the store's owner, the assets, the events and the jobs."""

    store: StoreWorker
    assets: AssetStore
    bus: EventBus
    runner: JobRunner
    token: str
    workdir: Path
    max_upload: int = 4 << 30
    request_shutdown: Callable[[], None] = lambda: None
    started_at: float = 0.0
    access: Access = field(init=False)
    """Who holds the token and the keys (loaded from the store when the engine starts)."""

    def __post_init__(self) -> None:
        self.access = Access(self.token)

    def publish(self, kind: str, item: BaseModel | dict[str, Any], project_id: str | None) -> None:
        data = item.model_dump(mode="json") if isinstance(item, BaseModel) else item
        self.bus.publish(kind, data, project_id)


# ---- the guard: who is calling, and body size, as plain ASGI (no per-request overhead) --------


class _Guard:
    def __init__(self, app: ASGIApp, access: Access, max_upload: int) -> None:
        self.app, self.access, self.max_upload = app, access, max_upload

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        auth = headers.get(b"authorization", b"")
        caller = self.access.caller(auth[7:]) if auth.startswith(b"Bearer ") else None
        if caller is None:
            await _send_error(
                send,
                Unauthorized(
                    "the engine token or key is missing, wrong or revoked",
                    hint="clients read the token from engine.json in the studio home; "
                    "a shared link's key is made by `studio share`",
                    scope="engine",
                ),
            )
            return
        scope.setdefault("state", {})["caller"] = caller
        limit = self.max_upload if scope["path"] in _UPLOAD_PATHS else MAX_JSON_BODY
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await _send_error(send, _too_large(int(declared), limit))
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise _too_large(seen, limit)
            return message

        await self.app(scope, counted, send)


def _too_large(size: int, limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(
        f"the request body is {size:,} bytes, over the limit of {limit:,}",
        hint="send less at once; uploads go to /v1/assets",
    )


async def _send_error(send: Send, exc: StudioError) -> None:
    response = _error_response(exc)
    await send(
        {
            "type": "http.response.start",
            "status": response.status_code,
            "headers": response.raw_headers,
        }
    )
    await send({"type": "http.response.body", "body": response.body})


def _error_response(exc: StudioError) -> JSONResponse:
    return JSONResponse({"error": exc.to_payload()}, status_code=exc.status_code)


def _signed(caller: Caller, author: str) -> str:
    """The name a comment is signed with: the owner's choice; for a key, the key's name."""
    return author if caller.role is Role.OWNER else caller.name


def _validation_message(errors: list[Any]) -> str:
    first = errors[0]
    where = ".".join(str(p) for p in first.get("loc", ()) if p not in ("body",)) or "request"
    message = str(first.get("msg", "invalid")).removeprefix("Value error, ")
    return f"{where}: {message}"


# ---- request bodies ---------------------------------------------------------------------------


class ProjectCreate(StudioModel):
    name: str
    brief: Brief = Field(default_factory=Brief)
    budget_usd: float | None = Field(default=None, ge=0)


class ProjectPatch(StudioModel):
    name: str | None = None
    brief: Brief | None = None
    budget_usd: float | None = Field(default=None, ge=0)
    providers: dict[str, str] | None = None
    """Per-project provider choices by role (``{"video": "replicate"}``); each is resolved
    when set, so an unknown name or a missing key is refused at once."""

    @field_validator("providers")
    @classmethod
    def _known(cls, value: dict[str, str] | None) -> dict[str, str] | None:
        for role, name in (value or {}).items():
            if role not in ROLES:
                raise ValueError(f"{role!r} is not a provider role ({', '.join(ROLES)})")
            resolve(role, name)
        return value


class SessionCreate(StudioModel):
    title: str = Field(default="", max_length=200)
    text_model: str = Field(default="", max_length=200)
    """The orchestrator's text model; empty: the project's, the settings' or ``local``."""


class PlanQuery(StudioModel):
    image: str | None = Field(default=None, max_length=200)
    video: str | None = Field(default=None, max_length=200)
    width: int = Field(default=1280, ge=64, le=4096)
    height: int = Field(default=720, ge=64, le=4096)
    fps: int = Field(default=24, ge=1, le=120)


class MessageCreate(StudioModel):
    text: str = Field(min_length=1, max_length=20_000)
    seed: int = Field(default=0, ge=0, lt=2**31)


class SceneCreate(StudioModel):
    start: float = Field(ge=0)
    end: float = Field(gt=0)
    index: int | None = Field(default=None, ge=0)
    section: str | None = None
    lyric: str = ""
    visual_intent: str = ""
    prompt: str = ""
    negative_prompt: str = ""
    mood_id: str | None = None
    camera: CameraMove = CameraMove.STATIC
    seed: int = 0


class SceneActionRequest(StudioModel):
    action: SceneAction
    take_id: str | None = None
    revision: int | None = None
    changes: dict[str, Any] = Field(default_factory=dict)


class TakeCreate(StudioModel):
    owner_kind: OwnerKind
    owner_id: str
    kind: TakeKind
    asset_sha256: str | None = None
    media_type: str | None = Field(default=None, pattern=_MEDIA_TYPE)
    inputs: dict[str, Any] = Field(default_factory=dict)
    provider: str = Field(default="local", max_length=100)
    model: str = Field(default="", max_length=200)
    seed: int | None = None
    cost_usd: float = Field(default=0.0, ge=0)
    status: TakeStatus = TakeStatus.READY
    error: str | None = Field(default=None, max_length=5000)


class TimelinePut(StudioModel):
    duration: float = Field(gt=0)
    clips: list[TimelineClip] = Field(default_factory=list, max_length=5000)
    subtitles: SubtitleTrack = Field(default_factory=SubtitleTrack)
    expected_revision: int | None = None


class TimelineBuild(StudioModel):
    keep_edits: bool = True
    """Keep what a person set on the clips of the timeline being replaced."""


class TimelineEdits(StudioModel):
    revision: int = Field(ge=1)
    """The timeline's revision the edits were made against; a stale one is refused."""
    edits: list[Edit] = Field(min_length=1, max_length=1000)


class CommentCreate(StudioModel):
    target_kind: TargetKind = TargetKind.PROJECT
    target_id: str | None = None
    author: str = ""
    """Who says it (the owner's token only: a shared link's key signs as the key's name)."""
    kind: CommentKind = CommentKind.COMMENT
    body: str = Field(default="", max_length=10_000)


class JobCreate(StudioModel):
    kind: str = Field(max_length=64)
    params: dict[str, Any] = Field(default_factory=dict)
    project_id: str | None = None
    force: bool = False


# ---- the app ----------------------------------------------------------------------------------


def create_app(state: EngineState) -> FastAPI:
    app = FastAPI(
        title="studio engine",
        version=studio.__version__,
        docs_url=None,  # the Swagger page loads from a CDN; offline first. /openapi.json is served.
        redoc_url=None,
    )
    app.state.engine = state

    @app.exception_handler(StudioError)
    async def _studio_error(request: Request, exc: StudioError) -> JSONResponse:
        return _error_response(exc)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 404:
            error: StudioError = NotFound(
                f"no such API route: {request.method} {request.url.path}", hint="see /openapi.json"
            )
        else:
            error = InvalidInput(
                f"{request.method} {request.url.path}: {exc.detail}", hint="see /openapi.json"
            )
        response = _error_response(error)
        response.status_code = exc.status_code
        return response

    @app.exception_handler(RequestValidationError)
    async def _request_invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        return _error_response(
            InvalidInput(_validation_message(list(exc.errors())), hint="see /openapi.json")
        )

    @app.exception_handler(ValidationError)
    async def _model_invalid(request: Request, exc: ValidationError) -> JSONResponse:
        return _error_response(InvalidInput(_validation_message(list(exc.errors()))))

    @app.exception_handler(Exception)
    async def _crash(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return _error_response(
            StudioError(f"internal error: {type(exc).__name__}", hint="see engine.log")
        )

    app.include_router(_routes(state))
    app.add_middleware(_Guard, access=state.access, max_upload=state.max_upload)
    return app


class LyricsUpload(StudioModel):
    text: str = Field(max_length=1_000_000)
    filename: str | None = Field(default=None, max_length=255)
    """Names the format (``.lrc``, ``.srt``, ``.vtt``, ``.txt``); without it, it is sniffed."""


async def _stage(chunks: AsyncIterator[bytes], path: Path, limit: int) -> tuple[str, int]:
    """Write an upload to ``path``, hashing it on the way; refuse it past ``limit`` bytes."""
    hasher, size = hashlib.sha256(), 0
    try:
        with path.open("wb") as handle:
            async for chunk in chunks:
                size += len(chunk)
                if size > limit:
                    raise PayloadTooLarge(
                        f"the upload is over {limit:,} bytes",
                        hint="a song must be under 1 GiB; export it compressed (e.g. 320k mp3)",
                    )
                hasher.update(chunk)
                handle.write(chunk)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return hasher.hexdigest(), size


def _scenes_with_takes(tx: Tx, project: Project) -> list[tuple[Scene, Upstream, list[Take]]]:
    """Each scene of the project in song order, with what its takes are made from beyond it
    and its takes (by kind, then version): the project's takes in one read, each cast's
    upstream worked out once (scenes share moods and casts)."""
    owned: dict[str, list[Take]] = {}
    for take in tx.takes.list(project.id):
        owned.setdefault(take.owner_id, []).append(take)
    upstreams: dict[tuple[str | None, tuple[str, ...]], Upstream] = {}
    found = []
    for scene in tx.scenes.list(project.id):
        cast = (scene.mood_id, tuple(scene.characters))
        if cast not in upstreams:
            upstreams[cast] = tx.upstream(scene, project)
        found.append((scene, upstreams[cast], owned.get(scene.id, [])))
    return found


def _fresh_takes(tx: Tx, project_id: str) -> dict[str, set[str]]:
    """Each scene's latest image and clip takes that still match what the scene is made from."""
    fresh: dict[str, set[str]] = {}
    for scene, upstream, takes in _scenes_with_takes(tx, tx.projects.get(project_id)):
        for kind in (TakeKind.IMAGE, TakeKind.CLIP):
            take = tx.current_take(scene, kind, upstream, takes)
            if take is not None:
                fresh.setdefault(scene.id, set()).add(take.id)
    return fresh


LIBRARY_KINDS = ("character", "mood", "image", "clip", "audio", "render")


def library_items(tx: Tx, projects: list[Project]) -> list[dict[str, Any]]:
    """The entries of ``projects`` in the library (see ``GET /library``): each with its kind,
    id, name, picture or media (``sha256``, ``media_type``), project, time, and the ``text`` a
    search looks in. One query per table, however many projects."""
    found: list[dict[str, Any]] = []
    named = {project.id: project for project in projects}

    def add(
        kind: str, id: str, name: str, sha: str | None, media: str | None, *, project_id: str,
        **more: Any,
    ) -> None:  # fmt: skip
        project = named[project_id]
        text = more.pop("text", "")
        found.append(
            {"kind": kind, "id": id, "name": name, "sha256": sha, "media_type": media,
             "project_id": project.id, "project_name": project.name,
             "created_at": more.pop("at").isoformat(), "text": f"{name} {text} {project.name}",
             **more}
        )  # fmt: skip

    for character in tx.characters.list_in(named):
        refs = character.reference_assets
        first = refs[0] if refs else None
        add("character", character.id, character.name, first, "image/png" if first else None,
            project_id=character.project_id, at=character.created_at,
            text=character.description, references=refs)  # fmt: skip
    takes = tx.takes.list_in(named)
    mood_pictures: dict[str, str] = {}  # a mood's earliest picture (takes come by version)
    for take in takes:
        if take.owner_kind is OwnerKind.MOOD and take.kind is TakeKind.IMAGE and take.asset_sha256:
            mood_pictures.setdefault(take.owner_id, take.asset_sha256)
    for mood in tx.moods.list_in(named):
        sha = mood_pictures.get(mood.id)
        add("mood", mood.id, mood.name, sha, "image/png" if sha else None,
            project_id=mood.project_id, at=mood.created_at, text=" ".join(mood.keywords),
            palette=mood.palette)  # fmt: skip
    for take in takes:
        if take.status is not TakeStatus.READY or take.owner_kind is OwnerKind.MOOD:
            continue
        prompt = str(take.inputs.get("prompt", ""))[:300]
        add(take.kind.value, take.id, f"{take.kind.value} v{take.version}", take.asset_sha256,
            take.media_type, project_id=take.project_id, at=take.created_at,
            text=f"{prompt} {take.provider} {take.model}", owner=take.owner_id,
            prompt=prompt)  # fmt: skip
    for render in tx.renders.list_in(named):
        if render.asset_sha256 is None:
            continue
        s = render.settings
        add("render", render.id, f"{s.aspect.value} {s.resolution}p {s.container.value}",
            render.asset_sha256, f"video/{s.container.value}", project_id=render.project_id,
            at=render.created_at)  # fmt: skip
    return found


class GrantCreate(StudioModel):
    name: Name
    role: Role
    projects: list[str] = Field(default_factory=list, max_length=1000)
    all_projects: bool = False


def _routes(state: EngineState) -> APIRouter:
    store = state.store
    r = APIRouter(prefix="/v1", dependencies=[Depends(authorizer(store, state.access))])

    async def write(request: Request, fn: Callable[[Tx], Any]) -> tuple[Any, bool]:
        """Run a write; with an ``Idempotency-Key`` header, a repeat returns the first answer
        and changes nothing (the key is stored in the write's own transaction)."""
        key = request.headers.get("idempotency-key")
        if key is not None and not (0 < len(key) <= 128 and key.isprintable()):
            raise InvalidInput("Idempotency-Key must be 1-128 printable characters")

        def op(tx: Tx) -> tuple[Any, bool]:
            if key is not None:
                prior = tx.idempotency.find(key)
                if prior is not None:
                    return prior, False
            out = fn(tx)
            data = out.model_dump(mode="json") if isinstance(out, BaseModel) else out
            if key is not None:
                tx.idempotency.put(key, data)
            return data, True

        return await store.write(op)

    def project_id(ref: str) -> str:
        return check_id(ref, "project id")

    def rows_of(pid: str, rows: Callable[[Tx], list[T]]) -> Callable[[Tx], list[T]]:
        """Read a project's rows; an unknown project is NotFound, not an empty list."""

        def op(tx: Tx) -> list[T]:
            tx.projects.get(pid)
            return rows(tx)

        return op

    # -- health and lifecycle

    @r.get("/health")
    async def health() -> dict[str, Any]:
        return {
            "ok": True,
            "version": studio.__version__,
            "pid": os.getpid(),
            "epoch": state.bus.epoch,
            "started_at": state.started_at,
            "jobs_running": len(state.runner.running()),
        }

    @r.post("/shutdown")
    async def shutdown() -> dict[str, Any]:
        state.request_shutdown()
        return {"stopping": True}

    # -- who may do what: the owner makes keys for editors and reviewers

    @r.get("/whoami")
    async def whoami(request: Request) -> dict[str, Any]:
        return caller_of(request).public()

    @r.get("/grants")
    async def list_grants() -> list[dict[str, Any]]:
        grants = await store.read(lambda tx: tx.grants.all())
        return [g.model_dump(mode="json", exclude={"key_sha256"}) for g in grants]

    @r.post("/grants", status_code=201)
    async def create_grant(body: GrantCreate) -> dict[str, Any]:
        key, digest = Access.new_key()
        grant = Grant(key_sha256=digest, **body.model_dump())

        def op(tx: Tx) -> Grant:
            for pid in grant.projects:
                tx.projects.get(pid)  # an unknown project is refused, not silently shared
            return tx.grants.insert(grant)

        await store.write(op)
        state.access.add(grant)
        return grant.model_dump(mode="json", exclude={"key_sha256"}) | {"key": key}

    @r.post("/grants/{gid}/revoke")
    async def revoke_grant(gid: str) -> dict[str, Any]:
        check_id(gid, "key id")

        def op(tx: Tx) -> Grant:
            found = tx.grants.get(gid)
            return (
                found
                if found.revoked_at
                else tx.grants.replace(found.model_copy(update={"revoked_at": utcnow()}))
            )

        grant = await store.write(op)
        state.access.remove(grant)
        return grant.model_dump(mode="json", exclude={"key_sha256"})

    # -- projects

    @r.get("/projects")
    async def list_projects(request: Request) -> list[dict[str, Any]]:
        caller = caller_of(request)
        projects = await store.read(lambda tx: tx.projects.all())
        return [p.model_dump(mode="json") for p in projects if caller.sees(p.id)]

    @r.get("/library")
    async def library(
        request: Request,
        q: str = "",
        kind: str = "",
        project: str | None = None,
        limit: int = 300,
    ) -> list[dict[str, Any]]:
        """What the projects hold, newest first: characters (with their reference pictures),
        mood boards, takes (pictures, clips, music) and finished renders. ``q`` matches a name,
        a prompt or the project's name; ``kind`` is one of character, mood, image, clip, audio,
        render; ``project`` keeps one project's."""
        wanted = q.strip().lower()[:200]
        if kind and kind not in LIBRARY_KINDS:
            raise InvalidInput(f"{kind[:40]!r} is not a kind", hint=", ".join(LIBRARY_KINDS))
        pid = project_id(project) if project else None
        caller = caller_of(request)

        def op(tx: Tx) -> list[dict[str, Any]]:
            projects = [
                found
                for found in tx.projects.all()
                if (pid is None or found.id == pid) and caller.sees(found.id)
            ]
            items = library_items(tx, projects)
            chosen = [
                item
                for item in items
                if (not kind or item["kind"] == kind)
                and (not wanted or wanted in item["text"].lower())
            ]
            chosen.sort(key=lambda item: item["created_at"], reverse=True)
            return chosen[: max(1, min(limit, 2000))]

        return await store.read(op)

    @r.post("/projects", status_code=201)
    async def create_project(body: ProjectCreate, request: Request) -> dict[str, Any]:
        project = Project(name=body.name, brief=body.brief, budget_usd=body.budget_usd)
        data, fresh = await write(request, lambda tx: tx.projects.insert(project))
        if fresh:
            state.publish("project.created", data, data["id"])
        return data  # type: ignore[no-any-return]

    @r.get("/projects/{ref}")
    async def get_project(ref: str) -> dict[str, Any]:
        project = await store.read(lambda tx: tx.projects.resolve(ref))
        return project.model_dump(mode="json")

    @r.patch("/projects/{ref}")
    async def patch_project(ref: str, body: ProjectPatch, request: Request) -> dict[str, Any]:
        changes = body.model_dump(exclude_unset=True)

        def op(tx: Tx) -> Project:
            current = tx.projects.get(project_id(ref))
            if "name" in changes and changes["name"] is not None:
                other = tx.projects.by_name(changes["name"])
                if other is not None and other.id != current.id:
                    raise InvalidInput(f"a project named {changes['name']!r} exists already")
            updated = Project.model_validate(
                current.model_dump() | changes | {"updated_at": utcnow()}
            )
            return tx.projects.replace(updated)

        data, fresh = await write(request, op)
        if fresh:
            state.publish("project.updated", data, data["id"])
        return data  # type: ignore[no-any-return]

    @r.delete("/projects/{ref}")
    async def delete_project(ref: str, request: Request) -> dict[str, Any]:
        def op(tx: Tx) -> dict[str, Any]:
            project = tx.projects.get(project_id(ref))
            tx.delete_project(project.id)
            return {"deleted": project.id}

        data, fresh = await write(request, op)
        if fresh:
            state.publish("project.deleted", data, data["deleted"])
        return data  # type: ignore[no-any-return]

    @r.get("/projects/{ref}/snapshot")
    async def get_snapshot(ref: str) -> dict[str, Any]:
        snap = await store.read(lambda tx: snapshot(tx, ref))
        return snap.model_dump(mode="json")

    @r.post("/projects/{ref}/export", status_code=202)
    async def export_project(ref: str) -> dict[str, Any]:
        project = await store.read(lambda tx: tx.projects.resolve(ref))
        job = await state.runner.submit(
            "project.export", {"project_id": project.id}, project_id=project.id, force=True
        )
        return job.model_dump(mode="json")

    @r.post("/projects/import", status_code=201)
    async def import_project(request: Request) -> dict[str, Any]:
        state.workdir.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=state.workdir, prefix="import-", suffix=".zip")
        tmp = Path(name)
        try:
            with os.fdopen(fd, "wb") as handle:
                async for chunk in request.stream():
                    handle.write(chunk)
            snap = await asyncio.to_thread(
                read_archive, tmp, state.assets, max_bytes=state.max_upload
            )
        finally:
            tmp.unlink(missing_ok=True)
        project = await store.write(lambda tx: restore(tx, snap))
        state.publish("project.created", project, project.id)
        return project.model_dump(mode="json")

    # -- creative documents: concepts, moods, characters (one route pair serves all three)

    def documents(
        path: str, repo: str, model: type[Concept | Mood | Character], event: str
    ) -> None:
        async def list_docs(ref: str) -> list[dict[str, Any]]:
            pid = project_id(ref)
            items = await store.read(rows_of(pid, lambda tx: getattr(tx, repo).list(pid)))
            return [i.model_dump(mode="json") for i in items]

        async def create_doc(ref: str, body: dict[str, Any], request: Request) -> dict[str, Any]:
            pid = project_id(ref)
            item = model.model_validate(
                {k: v for k, v in body.items() if k not in ("id", "created_at")}
                | {"project_id": pid}
            )

            def op(tx: Tx) -> Any:
                return getattr(tx, repo).insert(item)

            data, fresh = await write(request, op)
            if fresh:
                state.publish(event, data, pid)
            return data  # type: ignore[no-any-return]

        async def update_doc(
            ref: str, doc_id: str, body: dict[str, Any], request: Request
        ) -> dict[str, Any]:
            """Edit a mood, a character or a concept; the takes made from it go stale (the
            event names the scenes they belong to)."""
            pid = project_id(ref)
            check_id(doc_id, f"{path[:-1]} id")
            fixed = {"id", "project_id", "created_at"} & set(body)
            if fixed:
                raise InvalidInput(f"{sorted(fixed)[0]} cannot be changed")

            def op(tx: Tx) -> dict[str, Any]:
                repo_ = getattr(tx, repo)
                current = repo_.get(doc_id)
                if current.project_id != pid:
                    raise NotFound(f"{path[:-1]} {doc_id} is not in this project")
                changed = model.model_validate(current.model_dump() | body)
                fresh_before = _fresh_takes(tx, pid)
                repo_.replace(changed)
                fresh_after = _fresh_takes(tx, pid)
                affected = [sid for sid, takes in fresh_before.items()
                            if takes - fresh_after.get(sid, set())]  # fmt: skip
                return changed.model_dump(mode="json") | {"stale_scenes": affected}

            data, fresh = await write(request, op)
            if fresh:
                state.publish(event.replace(".created", ".updated"), data, pid)
            return data  # type: ignore[no-any-return]

        r.add_api_route(
            f"/projects/{{ref}}/{path}", list_docs, methods=["GET"], name=f"list_{path}"
        )
        r.add_api_route(
            f"/projects/{{ref}}/{path}/{{doc_id}}",
            update_doc,
            methods=["PATCH"],
            name=f"update_{path}",
        )
        r.add_api_route(
            f"/projects/{{ref}}/{path}",
            create_doc,
            methods=["POST"],
            status_code=201,
            name=f"create_{path}",
        )

    documents("concepts", "concepts", Concept, "concept.created")
    documents("moods", "moods", Mood, "mood.created")
    documents("characters", "characters", Character, "character.created")

    @r.get("/projects/{ref}/ledger")
    async def ledger(ref: str) -> dict[str, Any]:
        pid = project_id(ref)

        def op(tx: Tx) -> dict[str, Any]:
            project = tx.projects.get(pid)
            lines = tx.ledger.list(pid)
            return {
                "budget_usd": project.budget_usd,
                "spent_usd": round(sum(x.usd for x in lines if x.state == "spent"), 6),
                "committed_usd": round(tx.ledger.committed(pid), 6),
                "lines": [x.model_dump(mode="json") for x in lines],
            }

        return await store.read(op)

    # -- scenes and takes

    @r.get("/projects/{ref}/scenes")
    async def list_scenes(ref: str) -> list[dict[str, Any]]:
        pid = project_id(ref)
        scenes = await store.read(rows_of(pid, lambda tx: tx.scenes.list(pid)))
        return [s.model_dump(mode="json") for s in scenes]

    @r.get("/projects/{ref}/moodboards")
    async def moodboards_view(ref: str) -> dict[str, Any]:
        """The mood boards to pick from, in one read: each mood with its picture takes, and
        the project (whose ``mood_id`` is the one chosen)."""
        pid = project_id(ref)

        def op(tx: Tx) -> dict[str, Any]:
            project = tx.projects.get(pid)
            moods = [
                mood.model_dump(mode="json")
                | {
                    "takes": [
                        t.model_dump(mode="json", exclude={"inputs"})
                        for t in tx.takes.of(mood.id, TakeKind.IMAGE)
                    ]
                }
                for mood in tx.moods.list(pid)
            ]
            return {"project": project.model_dump(mode="json"), "moods": moods}

        return await store.read(op)

    @r.get("/projects/{ref}/storyboard")
    async def storyboard_view(ref: str) -> dict[str, Any]:
        """The storyboard as a reviewer sees it, in one read: the scenes in song order, each
        with its takes (flagged ``stale`` when they no longer match the scene) and its
        comments."""
        pid = project_id(ref)

        def op(tx: Tx) -> dict[str, Any]:
            project = tx.projects.get(pid)
            notes: dict[str, list[dict[str, Any]]] = {}
            for comment in tx.comments.list(pid):
                notes.setdefault(comment.target_id, []).append(comment.model_dump(mode="json"))
            scenes = []
            for scene, upstream, owned in _scenes_with_takes(tx, project):
                takes = [
                    t.model_dump(mode="json", exclude={"inputs"})
                    | {"stale": scene.is_stale(t, upstream)}
                    for t in owned
                ]
                scenes.append(
                    scene.model_dump(mode="json")
                    | {"takes": takes, "comments": notes.get(scene.id, [])}
                )
            return {"project": project.model_dump(mode="json"), "scenes": scenes}

        return await store.read(op)

    @r.post("/projects/{ref}/scenes", status_code=201)
    async def create_scene(ref: str, body: SceneCreate, request: Request) -> dict[str, Any]:
        pid = project_id(ref)

        def op(tx: Tx) -> Scene:
            fields = body.model_dump()
            if fields["index"] is None:
                fields["index"] = len(tx.scenes.list(pid))
            return tx.scenes.insert(Scene(project_id=pid, **fields))

        data, fresh = await write(request, op)
        if fresh:
            state.publish("scene.created", data, pid)
        return data  # type: ignore[no-any-return]

    @r.get("/scenes/{sid}")
    async def get_scene(sid: str) -> dict[str, Any]:
        scene = await store.read(lambda tx: tx.scenes.get(check_id(sid, "scene id")))
        return scene.model_dump(mode="json")

    @r.post("/scenes/{sid}/actions")
    async def scene_action(sid: str, body: SceneActionRequest, request: Request) -> dict[str, Any]:
        check_id(sid, "scene id")

        def op(tx: Tx) -> Scene:
            scene = tx.scenes.get(sid)
            take = tx.takes.get(check_id(body.take_id, "take id")) if body.take_id else None
            changed = scene.apply(body.action, take=take, **body.changes)
            expected = body.revision if body.revision is not None else scene.revision
            return tx.scenes.save(changed, expected_revision=expected)

        data, fresh = await write(request, op)
        if fresh:
            state.publish("scene.updated", data, data["project_id"])
        return data  # type: ignore[no-any-return]

    @r.get("/scenes/{sid}/takes")
    async def scene_takes(sid: str) -> list[dict[str, Any]]:
        check_id(sid, "scene id")

        def op(tx: Tx) -> list[dict[str, Any]]:
            scene = tx.scenes.get(sid)
            upstream = tx.upstream(scene)
            return [
                t.model_dump(mode="json") | {"stale": scene.is_stale(t, upstream)}
                for t in tx.takes.of(sid)
            ]

        return await store.read(op)

    @r.post("/takes", status_code=201)
    async def create_take(body: TakeCreate, request: Request) -> dict[str, Any]:
        caller = caller_of(request)
        check_id(body.owner_id, "owner id")
        if body.asset_sha256 is not None:
            check_sha256(body.asset_sha256)

        def op(tx: Tx) -> dict[str, Any]:
            owners: dict[OwnerKind, Any] = {
                OwnerKind.SCENE: tx.scenes,
                OwnerKind.MOOD: tx.moods,
                OwnerKind.CHARACTER: tx.characters,
                OwnerKind.PROJECT: tx.projects,
            }
            owner = owners[body.owner_kind].get(body.owner_id)
            pid = owner.id if isinstance(owner, Project) else owner.project_id
            check_project(caller, pid, body.owner_kind.value)
            if body.asset_sha256 is not None and tx.assets.get(body.asset_sha256) is None:
                raise NotFound(
                    f"asset {body.asset_sha256} was never uploaded",
                    hint="upload it to /v1/assets first",
                )
            take = tx.takes.add(
                Take(project_id=pid, fingerprint=fingerprint(body.inputs), **body.model_dump())
            )
            scene = None
            if isinstance(owner, Scene) and take.status is TakeStatus.READY:
                action = (
                    SceneAction.ADD_IMAGE if take.kind is TakeKind.IMAGE else SceneAction.ADD_CLIP
                )
                scene = tx.scenes.save(
                    owner.apply(action, take=take), expected_revision=owner.revision
                )
            return {
                "take": take.model_dump(mode="json"),
                "scene": scene.model_dump(mode="json") if scene else None,
            }

        data, fresh = await write(request, op)
        if fresh:
            pid = data["take"]["project_id"]
            state.publish("take.created", data["take"], pid)
            if data["scene"]:
                state.publish("scene.updated", data["scene"], pid)
        return data["take"]  # type: ignore[no-any-return]

    @r.get("/takes/{tid}")
    async def get_take(tid: str) -> dict[str, Any]:
        take = await store.read(lambda tx: tx.takes.get(check_id(tid, "take id")))
        return take.model_dump(mode="json")

    # -- renders

    @r.get("/projects/{ref}/renders")
    async def list_renders(ref: str) -> list[dict[str, Any]]:
        """The project's renders, newest first, with their settings, status and checks."""
        pid = project_id(ref)

        def op(tx: Tx) -> list[Any]:
            tx.projects.get(pid)
            return sorted(tx.renders.list(pid), key=lambda x: x.created_at, reverse=True)

        return [x.model_dump(mode="json") for x in await store.read(op)]

    # -- timeline

    @r.get("/projects/{ref}/timeline")
    async def get_timeline(ref: str) -> dict[str, Any]:
        pid = project_id(ref)

        def op(tx: Tx) -> Timeline:
            tx.projects.get(pid)
            found = tx.timelines.of_project(pid)
            if found is None:
                raise NotFound(
                    "the project has no timeline yet",
                    hint="put one, or build it from the storyboard",
                )
            return found

        return (await store.read(op)).model_dump(mode="json")

    @r.put("/projects/{ref}/timeline")
    async def put_timeline(ref: str, body: TimelinePut, request: Request) -> dict[str, Any]:
        pid = project_id(ref)
        timeline = Timeline(project_id=pid, **body.model_dump(exclude={"expected_revision"}))

        def op(tx: Tx) -> Timeline:
            return tx.timelines.put(timeline, expected_revision=body.expected_revision)

        data, fresh = await write(request, op)
        if fresh:
            state.publish("timeline.updated", data, pid)
        return data  # type: ignore[no-any-return]

    @r.get("/projects/{ref}/timeline/export", response_model=None)
    async def export_project_timeline(ref: str, format: str = "otio", fps: int = 30) -> Response:
        """The timeline as ``json``, ``otio``, ``edl``, the lyrics as ``srt`` or ``ass``, or
        the storyboard as an ``html`` contact sheet."""
        if fps not in (24, 25, 30, 60):
            raise InvalidInput(f"exports are at 24, 25, 30 or 60 fps, not {fps}")
        data = await store.read(lambda tx: read_export(tx, project_id(ref)))
        text, media_type, filename = await asyncio.to_thread(
            export_timeline, data, format, state.assets, fps=fps
        )
        disposition = f'attachment; filename="{filename}"'
        return Response(text, media_type=media_type, headers={"content-disposition": disposition})

    @r.post("/projects/{ref}/timeline/build")
    async def build_project_timeline(
        ref: str, request: Request, body: TimelineBuild | None = None
    ) -> dict[str, Any]:
        """One clip per scene of the storyboard, cut on its scene boundaries; with
        ``keep_edits`` (the default) what a person set on the clips is kept."""
        pid = project_id(ref)
        keep = body.keep_edits if body is not None else True

        data, fresh = await write(request, lambda tx: rebuild_timeline(tx, pid, keep_edits=keep))
        if fresh:
            state.publish("timeline.updated", data, pid)
        return data  # type: ignore[no-any-return]

    @r.post("/projects/{ref}/timeline/edits")
    async def edit_timeline(ref: str, body: TimelineEdits, request: Request) -> dict[str, Any]:
        """Apply edits in order against the song's corrected beat grid: all of them, or (if one
        is refused) none. ``revision`` must be the stored timeline's."""
        pid = project_id(ref)

        def op(tx: Tx) -> Timeline:
            project = tx.projects.get(pid)
            current = tx.timelines.of_project(pid)
            if current is None:
                raise NotFound(
                    "the project has no timeline yet", hint="build it from the storyboard"
                )
            if current.revision != body.revision:
                raise Conflict(
                    f"the timeline was changed meanwhile (now revision {current.revision}, "
                    f"the edits were made on {body.revision})",
                    hint="reload it and apply your edits again",
                )
            beats: list[float] = []
            downbeats: list[float] = []
            if project.audio is not None:
                _, found = tx.song(pid)
                mapped = found.corrected(project.audio.corrections)
                beats, downbeats = mapped.beats, mapped.downbeats
            edited = apply_edits(
                current, body.edits, beats=beats, downbeats=downbeats, takes=timeline_takes(tx, pid)
            )
            return tx.timelines.put(edited, expected_revision=body.revision)

        data, fresh = await write(request, op)
        if fresh:
            state.publish("timeline.updated", data, pid)
        return data  # type: ignore[no-any-return]

    # -- comments and approvals

    @r.get("/projects/{ref}/comments")
    async def list_comments(ref: str, target: str | None = None) -> list[dict[str, Any]]:
        pid = project_id(ref)
        wanted = check_id(target, "target id") if target else None

        def comments(tx: Tx) -> list[Comment]:
            return tx.comments.on(pid, wanted) if wanted else tx.comments.list(pid)

        return [c.model_dump(mode="json") for c in await store.read(rows_of(pid, comments))]

    @r.post("/projects/{ref}/comments", status_code=201)
    async def add_comment(ref: str, body: CommentCreate, request: Request) -> dict[str, Any]:
        pid = project_id(ref)
        target = check_id(body.target_id or pid, "target id")
        signed = _signed(caller_of(request), body.author)  # a key signs as the one it was made for
        comment = Comment(
            project_id=pid, **(body.model_dump() | {"target_id": target, "author": signed})
        )

        def op(tx: Tx) -> Comment:
            targets: dict[TargetKind, Callable[[str], Scene | Take | Render]] = {
                TargetKind.SCENE: tx.scenes.get,
                TargetKind.TAKE: tx.takes.get,
                TargetKind.RENDER: tx.renders.get,
            }
            find = targets.get(comment.target_kind)
            if find is not None and find(target).project_id != pid:
                raise NotFound(f"{comment.target_kind.value} {target} is not in this project")
            return tx.comments.insert(comment)

        data, fresh = await write(request, op)
        if fresh:
            state.publish("comment.created", data, pid)
        return data  # type: ignore[no-any-return]

    # -- jobs

    @r.get("/jobs")
    async def list_jobs(
        request: Request, status: str | None = None, project: str | None = None, limit: int = 100
    ) -> list[dict[str, Any]]:
        try:
            wanted = [JobStatus(s) for s in status.split(",")] if status else None
        except ValueError as exc:
            raise InvalidInput(
                f"unknown job status in {status!r}", hint=f"use {', '.join(JobStatus)}"
            ) from exc
        pid = project_id(project) if project else None
        within = caller_of(request).projects  # a key's projects; the rule checked ``project``
        shown = min(max(limit, 1), 1000)
        jobs = await store.read(
            lambda tx: tx.jobs.query(status=wanted, project_id=pid, within=within, limit=shown)
        )
        return [j.model_dump(mode="json") for j in jobs]

    @r.post("/jobs", status_code=202)
    async def submit_job(body: JobCreate, request: Request) -> dict[str, Any]:
        # a job about a project belongs to it (its events reach the project's viewers)
        pid = project_id(body.project_id) if body.project_id else None
        named = body.params.get("project_id")
        if pid is None and isinstance(named, str) and re.fullmatch(ID_PATTERN, named):
            # a project that does not exist is the job's to report, as it runs
            pid = named if await store.read(lambda tx: tx.project_exists(named)) else None
        check_project(caller_of(request), pid)
        job = await state.runner.submit(body.kind, body.params, project_id=pid, force=body.force)
        return job.model_dump(mode="json")

    @r.get("/jobs/{jid}")
    async def get_job(jid: str) -> dict[str, Any]:
        job = await store.read(lambda tx: tx.jobs.get(check_id(jid, "job id")))
        return job.model_dump(mode="json")

    @r.post("/jobs/{jid}/cancel")
    async def cancel_job(jid: str) -> dict[str, Any]:
        return (await state.runner.cancel(check_id(jid, "job id"))).model_dump(mode="json")

    @r.post("/jobs/{jid}/retry")
    async def retry_job(jid: str) -> dict[str, Any]:
        return (await state.runner.retry(check_id(jid, "job id"))).model_dump(mode="json")

    # -- assets

    @r.post("/assets", status_code=201)
    async def upload_asset(request: Request) -> dict[str, Any]:
        media_type = (
            request.headers.get("content-type", "application/octet-stream").split(";")[0].strip()
        )
        if not re.fullmatch(_MEDIA_TYPE, media_type):
            raise InvalidInput(
                f"{media_type[:80]!r} is not a media type", hint="send e.g. Content-Type: image/png"
            )
        sha, size = await state.assets.put_stream(request.stream(), limit=state.max_upload)
        await store.write(lambda tx: tx.assets.add(sha, size, media_type))
        return {"sha256": sha, "size": size, "media_type": media_type}

    async def stored_asset(sha: str) -> str:
        """The asset's media type, if the store has its row and its bytes."""
        check_sha256(sha)
        row = await store.read(lambda tx: tx.assets.get(sha))
        if row is None or not state.assets.exists(sha):
            raise NotFound(f"asset {sha} is not in the store")
        return str(row["media_type"])

    @r.get("/assets/{sha}")
    async def download_asset(sha: str) -> Response:
        media_type = await stored_asset(sha)
        return FileResponse(state.assets.path(sha), media_type=media_type)

    @r.get("/assets/{sha}/thumb")
    async def asset_thumbnail(sha: str) -> Response:
        """A picture's JPEG thumbnail, made on first ask and kept (assets never change)."""
        if not (await stored_asset(sha)).startswith("image/"):
            raise InvalidInput(f"asset {sha} is not a picture", hint="ask for a picture's thumb")
        dest = state.workdir / "thumbs" / sha[:2] / f"{sha}-{THUMB_WIDTH}.jpg"
        if not dest.is_file():
            await asyncio.to_thread(thumbnail, state.assets.path(sha), dest)
        return FileResponse(dest, media_type="image/jpeg")

    # -- songs: upload, analysis, corrections

    @r.post("/songs", status_code=202)
    async def upload_song(
        request: Request, filename: str, project: str | None = None
    ) -> dict[str, Any]:
        """Stage an uploaded song and start the job that checks and analyses it (and, with a
        project, makes it the project's song). Nothing is stored unless the file is a song."""
        name = filename.replace("\\", "/").rsplit("/", 1)[-1].strip()
        if not name or len(name) > 255 or not name.isprintable():
            raise InvalidInput(f"{filename[:80]!r} is not a file name", hint="send the song's name")
        pid = project_id(project) if project else None
        if pid is not None:
            await store.read(lambda tx: tx.projects.get(pid))
        staged = upload_path(state.workdir, f"upload-{secrets.token_urlsafe(12)}.bin")
        staged.parent.mkdir(parents=True, exist_ok=True)
        sha, size = await _stage(request.stream(), staged, min(MAX_BYTES, state.max_upload))
        params = {
            "upload": staged.name,
            "sha256": sha,
            "filename": name,
            "size": size,
            "media_type": request.headers.get("content-type", "application/octet-stream")
            .split(";")[0]
            .strip()[:127],
            "project_id": pid,
        }
        try:
            job = await state.runner.submit("audio.analyze", params, project_id=pid, force=True)
        except BaseException:
            staged.unlink(missing_ok=True)
            raise
        return job.model_dump(mode="json")

    @r.get("/analyses/{sha}")
    async def get_analysis(sha: str) -> dict[str, Any]:
        check_sha256(sha)
        found = await store.read(lambda tx: tx.analyses.find(sha))
        if found is None:
            raise NotFound(f"no analysis of audio {sha[:12]}…", hint="upload it to /v1/songs")
        return found.model_dump(mode="json")

    def song_map(tx: Tx, ref: str) -> tuple[Project, Analysis]:
        return tx.song(project_id(ref))

    @r.get("/projects/{ref}/analysis")
    async def get_project_analysis(ref: str, detected: bool = False) -> dict[str, Any]:
        """The song's map as every later stage reads it: corrections applied (or, with
        ``detected=true``, as the analysis found it)."""
        project, found = await store.read(lambda tx: song_map(tx, ref))
        assert project.audio is not None
        chosen = found if detected else found.corrected(project.audio.corrections)
        return chosen.model_dump(mode="json")

    @r.put("/projects/{ref}/analysis/corrections")
    async def put_corrections(
        ref: str, body: AnalysisCorrections, request: Request
    ) -> dict[str, Any]:
        """Replace the corrections; they are checked against the map before anything is kept."""

        def op(tx: Tx) -> Analysis:
            project, found = song_map(tx, ref)
            assert project.audio is not None
            corrections = body.model_copy(update={"updated_at": utcnow()})
            corrected = found.corrected(corrections)  # raises if an edit cannot apply
            tx.projects.set_audio(
                project, project.audio.model_copy(update={"corrections": corrections})
            )
            return corrected

        data, fresh = await write(request, op)
        if fresh:
            state.publish("analysis.corrected", data["corrections"], project_id(ref))
        return data  # type: ignore[no-any-return]

    @r.put("/projects/{ref}/lyrics")
    async def put_lyrics(ref: str, body: LyricsUpload, request: Request) -> dict[str, Any]:
        """Import lyrics: LRC (with word times), SRT or VTT; plain text is spread over the
        song's sung sections on bar lines and marked as estimated."""

        def op(tx: Tx) -> Lyrics:
            project, found = song_map(tx, ref)
            assert project.audio is not None
            mapped = found.corrected(project.audio.corrections)
            lyrics = parse_lyrics(
                body.text,
                body.filename,
                duration=mapped.duration,
                sections=mapped.sections,
                downbeats=mapped.downbeats,
            )
            tx.projects.set_audio(project, project.audio.model_copy(update={"lyrics": lyrics}))
            return lyrics

        data, fresh = await write(request, op)
        if fresh:
            state.publish("lyrics.updated", {"lines": len(data["lines"])}, project_id(ref))
        return data  # type: ignore[no-any-return]

    @r.get("/projects/{ref}/lyrics", response_model=None)
    async def get_lyrics(ref: str, format: str = "json") -> dict[str, Any] | Response:
        project = await store.read(lambda tx: tx.projects.get(project_id(ref)))
        if project.audio is None or project.audio.lyrics is None:
            raise NotFound(
                f"project {project.name!r} has no lyrics yet",
                hint="import an LRC, SRT or VTT file, or plain text",
            )
        lyrics = project.audio.lyrics
        if format == "json":
            return lyrics.model_dump(mode="json")
        writers = {"lrc": to_lrc, "srt": to_srt}
        if format not in writers:
            raise InvalidInput(f"lyrics come as json, lrc or srt, not {format[:20]!r}")
        return Response(writers[format](lyrics), media_type="text/plain; charset=utf-8")

    # -- sessions: the conversation with the studio, and the dry run

    @r.post("/projects/{ref}/sessions", status_code=201)
    async def create_session(ref: str, body: SessionCreate, request: Request) -> dict[str, Any]:
        pid = project_id(ref)
        if body.text_model:
            resolve_text_model(body.text_model)  # an unknown name or a missing key, now
        session = Session(project_id=pid, title=body.title, text_model=body.text_model)
        data, fresh = await write(request, lambda tx: tx.sessions.insert(session))
        if fresh:
            state.publish("session.created", data, pid)
        return data  # type: ignore[no-any-return]

    @r.get("/projects/{ref}/sessions")
    async def list_sessions(ref: str) -> list[dict[str, Any]]:
        pid = project_id(ref)
        items = await store.read(rows_of(pid, lambda tx: tx.sessions.list(pid)))
        return [i.model_dump(mode="json") for i in items]

    @r.get("/sessions/{sid}")
    async def get_session(sid: str) -> dict[str, Any]:
        check_id(sid, "session id")

        def op(tx: Tx) -> dict[str, Any]:
            session = tx.sessions.get(sid)
            return session.model_dump(mode="json") | {
                "turns": [t.model_dump(mode="json") for t in tx.turns.of(sid)]
            }

        return await store.read(op)

    @r.post("/sessions/{sid}/messages", status_code=201)
    async def say(sid: str, body: MessageCreate, request: Request) -> dict[str, Any]:
        """The user's message: kept as a turn at once, answered by a ``session.turn`` job."""
        check_id(sid, "session id")

        def op(tx: Tx) -> dict[str, Any]:
            session = tx.sessions.get(sid)
            turn = Turn(project_id=session.project_id, session_id=sid,
                        index=tx.turns.next_index(sid), role="user", text=body.text)  # fmt: skip
            return tx.turns.insert(turn).model_dump(mode="json")

        turn, fresh = await write(request, op)
        if fresh:
            state.publish("session.turn", turn, turn["project_id"])
        job = await state.runner.submit(
            "session.turn",
            {"session_id": sid, "turn_id": turn["id"], "seed": body.seed},
            project_id=turn["project_id"],
        )
        return {"turn": turn, "job": job.model_dump(mode="json")}

    @r.get("/projects/{ref}/plan")
    async def plan(ref: str, request: Request) -> dict[str, Any]:
        """The dry run: every call that bringing the storyboard up to date would make, and its
        cost, without generating anything (``?image=&video=&width=&height=&fps=``)."""
        pid = project_id(ref)
        try:
            options = PlanQuery.model_validate(dict(request.query_params))
        except ValidationError as exc:
            raise InvalidInput(f"bad plan options: {exc.errors()[0]['msg']}") from exc
        return await store.read(lambda tx: dry_run(tx, pid, **options.model_dump()))

    # -- events

    @r.get("/events")
    async def events(request: Request, project: str | None = None) -> StreamingResponse:
        pid = project_id(project) if project else None
        caller = caller_of(request)
        last_id = request.headers.get("last-event-id") or request.query_params.get("last_event_id")

        async def stream() -> AsyncIterator[bytes]:
            yield f"retry: 1000\n: connected epoch {state.bus.epoch}\n\n".encode()
            async for event in state.bus.subscribe(last_id, pid):
                if event is None:
                    yield b": keepalive\n\n"
                elif caller.sees(event.project_id) or event.type == "resync":
                    yield event.sse()

        return StreamingResponse(
            stream(),
            media_type="text/event-stream",
            headers={"cache-control": "no-cache", "x-accel-buffering": "no"},
        )

    return r
