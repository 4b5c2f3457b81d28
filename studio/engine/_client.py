"""The async client every other part of the studio uses to talk to the engine (httpx).

It finds the engine of the studio home from ``engine.json``, starts one on first use if none
runs (``autostart``), and reconnects when the engine restarts. A request the engine cannot
answer raises :class:`~studio.errors.EngineUnavailable`; an error the engine reports is raised
here as the same class the engine raised.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel

from studio.engine._home import EngineInfo, Home
from studio.engine._launch import ensure_engine, find_engine
from studio.errors import (
    EngineUnavailable,
    InvalidInput,
    JobCancelled,
    JobFailed,
    StudioError,
    error_from_payload,
)
from studio.files import replacing
from studio.model import (
    Analysis,
    AnalysisCorrections,
    Character,
    Comment,
    Concept,
    Job,
    JobStatus,
    Lyrics,
    Mood,
    Project,
    Scene,
    Session,
    Take,
    Timeline,
    Turn,
)

if TYPE_CHECKING:  # the store (and duckdb) load only for a snapshot, not in every kernel
    from studio.store import ProjectSnapshot

__all__ = ["Client"]

M = TypeVar("M", bound=BaseModel)
_CONNECT_ERRORS = (httpx.ConnectError, httpx.ConnectTimeout)
_BROKEN_ERRORS = (
    httpx.ReadError,
    httpx.WriteError,
    httpx.RemoteProtocolError,
    httpx.ReadTimeout,
    httpx.WriteTimeout,
)


class Client:
    """``async with Client() as studio: await studio.create_project("Night Drive")``."""

    def __init__(
        self,
        home: Home | Path | str | None = None,
        *,
        autostart: bool = True,
        timeout: float = 60.0,
        info: EngineInfo | None = None,
        key: str | None = None,
    ) -> None:
        """``key`` (a shared link's, made by ``studio share``) acts as the editor or reviewer it
        was made for; without it the client holds the engine's own token (the owner)."""
        self.home = home if isinstance(home, Home) else Home.resolve(home)
        self.key = key
        self.autostart = autostart and info is None
        self.timeout = timeout
        self._fixed = info
        self._http: httpx.AsyncClient | None = None
        self._token = ""

    async def __aenter__(self) -> Client:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    # ---- connection ------------------------------------------------------------------------------

    async def _connection(self) -> httpx.AsyncClient:
        if self._http is not None:
            return self._http
        info = self._fixed
        if info is None:
            if self.autostart:
                info = await asyncio.to_thread(ensure_engine, self.home)
            else:
                info = await asyncio.to_thread(find_engine, self.home)
                if info is None:
                    raise EngineUnavailable(
                        f"no engine is running for {self.home.root}",
                        hint="start it with `studio engine start`",
                    )
        # plain HTTP to the engine (no TLS): verify=False only spares loading certificates
        if info.socket:
            transport = httpx.AsyncHTTPTransport(uds=info.socket, verify=False)
            self._http = httpx.AsyncClient(
                transport=transport, base_url="http://studio", timeout=self.timeout
            )
        else:
            self._http = httpx.AsyncClient(
                base_url=f"http://{info.host}:{info.port}", timeout=self.timeout, verify=False
            )
        self._token = self.key or info.token
        return self._http

    async def _reset(self) -> None:
        await self.aclose()

    async def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
        content: Any = None,
        headers: dict[str, str] | None = None,
        idempotency_key: str | None = None,
    ) -> Any:
        """One API call; returns the decoded JSON answer."""
        return _decode(
            await self._send(
                method,
                path,
                json=json,
                params=params,
                content=content,
                headers=headers,
                idempotency_key=idempotency_key,
            )
        )

    async def _send(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
        content: Any = None,
        headers: dict[str, str] | None = None,
        idempotency_key: str | None = None,
    ) -> httpx.Response:
        """One API call, with one more try when the engine restarted; returns the reply."""
        sent_headers = dict(headers or {})
        if idempotency_key is not None:
            sent_headers["idempotency-key"] = idempotency_key
        for attempt in range(2):
            http = await self._connection()
            sent_headers["authorization"] = f"Bearer {self._token}"
            try:
                reply = await http.request(
                    method, path, json=json, params=params, content=content, headers=sent_headers
                )
            except _CONNECT_ERRORS as exc:
                await self._reset()
                if attempt == 0 and self._fixed is None:
                    continue  # the engine moved or restarted: read engine.json (and start it) again
                raise EngineUnavailable(
                    f"the engine at {self.home.root} cannot be reached",
                    hint="start it with `studio engine start`; `studio doctor` checks the set-up",
                ) from exc
            except _BROKEN_ERRORS as exc:
                await self._reset()
                raise EngineUnavailable(
                    f"the engine stopped answering {method} {path}",
                    hint="it may have been restarted; try again (writes sent with an "
                    "idempotency key are safe to repeat)",
                ) from exc
            if (
                _engine_token_refused(reply)
                and attempt == 0
                and self._fixed is None
                and self.key is None  # a key is not renewed by a restart: its refusal stands
            ):
                await self._reset()  # a new engine, a new token
                continue
            return reply
        raise EngineUnavailable(
            "the engine refused the token twice", hint="restart it: `studio engine stop`"
        )

    # ---- projects --------------------------------------------------------------------------------

    async def health(self) -> dict[str, Any]:
        return await self.request("GET", "/v1/health")  # type: ignore[no-any-return]

    async def list_projects(self) -> list[Project]:
        return _models(Project, await self.request("GET", "/v1/projects"))

    async def create_project(
        self,
        name: str,
        *,
        brief: dict[str, Any] | None = None,
        budget_usd: float | None = None,
        idempotency_key: str | None = None,
    ) -> Project:
        body = {"name": name, "brief": brief or {}, "budget_usd": budget_usd}
        return Project.model_validate(
            await self.request("POST", "/v1/projects", json=body, idempotency_key=idempotency_key)
        )

    async def get_project(self, ref: str) -> Project:
        """A project by id or name."""
        return Project.model_validate(await self.request("GET", f"/v1/projects/{_seg(ref)}"))

    async def update_project(self, project_id: str, **changes: Any) -> Project:
        return Project.model_validate(
            await self.request("PATCH", f"/v1/projects/{_seg(project_id)}", json=changes)
        )

    async def delete_project(self, project_id: str) -> None:
        await self.request("DELETE", f"/v1/projects/{_seg(project_id)}")

    async def snapshot(self, ref: str) -> ProjectSnapshot:
        from studio.store import ProjectSnapshot

        return ProjectSnapshot.model_validate(
            await self.request("GET", f"/v1/projects/{_seg(ref)}/snapshot")
        )

    # ---- creative documents ----------------------------------------------------------------------

    async def add_concept(self, project_id: str, **fields: Any) -> Concept:
        return Concept.model_validate(
            await self.request("POST", f"/v1/projects/{_seg(project_id)}/concepts", json=fields)
        )

    async def add_mood(self, project_id: str, **fields: Any) -> Mood:
        return Mood.model_validate(
            await self.request("POST", f"/v1/projects/{_seg(project_id)}/moods", json=fields)
        )

    async def add_character(self, project_id: str, **fields: Any) -> Character:
        return Character.model_validate(
            await self.request("POST", f"/v1/projects/{_seg(project_id)}/characters", json=fields)
        )

    async def moods(self, project_id: str) -> list[Mood]:
        return _models(Mood, await self.request("GET", f"/v1/projects/{_seg(project_id)}/moods"))

    async def characters(self, project_id: str) -> list[Character]:
        return _models(
            Character, await self.request("GET", f"/v1/projects/{_seg(project_id)}/characters")
        )

    async def update_mood(self, project_id: str, mood_id: str, **changes: Any) -> dict[str, Any]:
        """Edit a mood; the answer is the mood plus ``stale_scenes``, the scenes whose takes
        it made stale."""
        return await self._update_document(project_id, "moods", mood_id, changes)

    async def update_character(
        self, project_id: str, character_id: str, **changes: Any
    ) -> dict[str, Any]:
        return await self._update_document(project_id, "characters", character_id, changes)

    async def _update_document(
        self, project_id: str, kind: str, doc_id: str, changes: dict[str, Any]
    ) -> dict[str, Any]:
        path = f"/v1/projects/{_seg(project_id)}/{kind}/{_seg(doc_id)}"
        return await self.request("PATCH", path, json=changes)  # type: ignore[no-any-return]

    async def plan(self, project_id: str, **options: Any) -> dict[str, Any]:
        """The dry run: each scene's prompts and the calls still to make, with their cost."""
        return await self.request(  # type: ignore[no-any-return]
            "GET", f"/v1/projects/{_seg(project_id)}/plan", params=options or None
        )

    # ---- sessions --------------------------------------------------------------------------------

    async def start_session(
        self, project_id: str, *, title: str = "", text_model: str = ""
    ) -> Session:
        body = {"title": title, "text_model": text_model}
        return Session.model_validate(
            await self.request("POST", f"/v1/projects/{_seg(project_id)}/sessions", json=body)
        )

    async def sessions(self, project_id: str) -> list[Session]:
        return _models(
            Session, await self.request("GET", f"/v1/projects/{_seg(project_id)}/sessions")
        )

    async def session(self, session_id: str) -> tuple[Session, list[Turn]]:
        """A session and its turns, in order (to resume it)."""
        data = await self.request("GET", f"/v1/sessions/{_seg(session_id)}")
        turns = _models(Turn, data.pop("turns"))
        return Session.model_validate(data), turns

    async def send_message(self, session_id: str, text: str, *, seed: int = 0) -> dict[str, Any]:
        """Send a message without waiting: ``{"turn": the user's turn, "job": the job that
        answers it}``."""
        return await self.request(  # type: ignore[no-any-return]
            "POST", f"/v1/sessions/{_seg(session_id)}/messages", json={"text": text, "seed": seed}
        )

    async def say(
        self, session_id: str, text: str, *, seed: int = 0, timeout: float | None = 600
    ) -> Turn:
        """Send a message and wait for the studio's answer (its tools may make a storyboard or
        a hundred takes, so this can take minutes; the turn's job shows the progress)."""
        sent = await self.send_message(session_id, text, seed=seed)
        done = await self.wait_job(sent["job"]["id"], timeout=timeout)
        assert done.result is not None
        _, turns = await self.session(session_id)
        return next(t for t in turns if t.id == done.result["turn_id"])

    async def ledger(self, project_id: str) -> dict[str, Any]:
        """What the project spent, line by line, against its budget."""
        return await self.request(  # type: ignore[no-any-return]
            "GET", f"/v1/projects/{_seg(project_id)}/ledger"
        )

    # ---- scenes and takes ------------------------------------------------------------------------

    async def scenes(self, project_id: str) -> list[Scene]:
        return _models(Scene, await self.request("GET", f"/v1/projects/{_seg(project_id)}/scenes"))

    async def library(
        self, q: str = "", *, kind: str = "", project_id: str | None = None, limit: int = 300
    ) -> list[dict[str, Any]]:
        """What the projects hold, newest first: characters, mood boards, takes and renders
        (``q`` searches names, prompts and project names; ``kind`` keeps one kind)."""
        params: dict[str, Any] = {"q": q, "kind": kind, "limit": limit}
        if project_id:
            params["project"] = project_id
        return await self.request("GET", "/v1/library", params=params)  # type: ignore[no-any-return]

    async def moodboards(self, project_id: str) -> dict[str, Any]:
        """The mood boards, each with its picture ``takes``, and the ``project`` (its
        ``mood_id`` is the one chosen)."""
        return await self.request("GET", f"/v1/projects/{_seg(project_id)}/moodboards")  # type: ignore[no-any-return]

    async def storyboard(self, project_id: str) -> dict[str, Any]:
        """The scenes in song order, each with its ``takes`` (flagged ``stale``) and its
        ``comments``, and the ``project``: one read for a storyboard view."""
        return await self.request("GET", f"/v1/projects/{_seg(project_id)}/storyboard")  # type: ignore[no-any-return]

    async def add_scene(
        self, project_id: str, *, idempotency_key: str | None = None, **fields: Any
    ) -> Scene:
        data = await self.request(
            "POST",
            f"/v1/projects/{_seg(project_id)}/scenes",
            json=fields,
            idempotency_key=idempotency_key,
        )
        return Scene.model_validate(data)

    async def scene_action(
        self,
        scene_id: str,
        action: str,
        *,
        take_id: str | None = None,
        revision: int | None = None,
        **changes: Any,
    ) -> Scene:
        body = {"action": action, "take_id": take_id, "revision": revision, "changes": changes}
        return Scene.model_validate(
            await self.request("POST", f"/v1/scenes/{_seg(scene_id)}/actions", json=body)
        )

    async def add_take(self, **fields: Any) -> Take:
        return Take.model_validate(await self.request("POST", "/v1/takes", json=fields))

    async def takes(self, scene_id: str) -> list[dict[str, Any]]:
        """The scene's takes, each with a ``stale`` flag."""
        return await self.request("GET", f"/v1/scenes/{_seg(scene_id)}/takes")  # type: ignore[no-any-return]

    # ---- timeline, comments ----------------------------------------------------------------------

    async def timeline(self, project_id: str) -> Timeline:
        return Timeline.model_validate(
            await self.request("GET", f"/v1/projects/{_seg(project_id)}/timeline")
        )

    async def put_timeline(
        self, project_id: str, timeline: dict[str, Any], *, expected_revision: int | None = None
    ) -> Timeline:
        body = timeline | {"expected_revision": expected_revision}
        return Timeline.model_validate(
            await self.request("PUT", f"/v1/projects/{_seg(project_id)}/timeline", json=body)
        )

    async def build_timeline(self, project_id: str, *, keep_edits: bool = True) -> Timeline:
        """Build the timeline from the storyboard, one clip per scene; ``keep_edits`` keeps
        what was set on the clips of the timeline it replaces."""
        return Timeline.model_validate(
            await self.request(
                "POST",
                f"/v1/projects/{_seg(project_id)}/timeline/build",
                json={"keep_edits": keep_edits},
            )
        )

    async def edit_timeline(
        self, project_id: str, edits: Sequence[BaseModel | dict[str, Any]], *, revision: int
    ) -> Timeline:
        """Apply edits (``{"op": "move_cut", "index": 2, "to": "next_beat"}``...) to the
        timeline at ``revision``: all of them or none; ``Conflict`` if it changed meanwhile."""
        body = {
            "revision": revision,
            "edits": [e if isinstance(e, dict) else e.model_dump(mode="json") for e in edits],
        }
        return Timeline.model_validate(
            await self.request("POST", f"/v1/projects/{_seg(project_id)}/timeline/edits", json=body)
        )

    async def export_timeline(self, project_id: str, format: str = "otio", fps: int = 30) -> str:
        """The timeline as json, otio or edl text, the lyrics as srt or ass, or the storyboard
        as an html contact sheet."""
        path = f"/v1/projects/{_seg(project_id)}/timeline/export"
        return await self._text(path, format=format, fps=fps)

    async def renders(self, project_id: str) -> list[dict[str, Any]]:
        """The project's renders, newest first (status, settings, checks, the file's hash)."""
        found = await self.request("GET", f"/v1/projects/{_seg(project_id)}/renders")
        return list(found)

    async def add_comment(
        self,
        project_id: str,
        body: str,
        *,
        author: str = "",
        target_id: str | None = None,
        target_kind: str = "project",
        kind: str = "comment",
        idempotency_key: str | None = None,
    ) -> Comment:
        payload = {
            "body": body,
            "author": author,
            "target_id": target_id,
            "target_kind": target_kind,
            "kind": kind,
        }
        data = await self.request(
            "POST",
            f"/v1/projects/{_seg(project_id)}/comments",
            json=payload,
            idempotency_key=idempotency_key,
        )
        return Comment.model_validate(data)

    async def comments(self, project_id: str, target_id: str | None = None) -> list[Comment]:
        params = {"target": target_id} if target_id else None
        return _models(
            Comment,
            await self.request("GET", f"/v1/projects/{_seg(project_id)}/comments", params=params),
        )

    # ---- who may do what ---------------------------------------------------------------------

    async def whoami(self) -> dict[str, Any]:
        """``{"name", "role", "projects"}`` of this client's token or key."""
        return await self.request("GET", "/v1/whoami")  # type: ignore[no-any-return]

    async def share(
        self, name: str, role: str, projects: Sequence[str] = (), *, all_projects: bool = False
    ) -> dict[str, Any]:
        """A new key for ``name`` as an editor or a reviewer of ``projects``; the answer's
        ``key`` is shown this once (the engine keeps only its hash)."""
        body = {"name": name, "role": role, "projects": list(projects),
                "all_projects": all_projects}  # fmt: skip
        return await self.request("POST", "/v1/grants", json=body)  # type: ignore[no-any-return]

    async def grants(self) -> list[dict[str, Any]]:
        return await self.request("GET", "/v1/grants")  # type: ignore[no-any-return]

    async def revoke(self, grant_id: str) -> dict[str, Any]:
        path = f"/v1/grants/{_seg(grant_id)}/revoke"
        return await self.request("POST", path)  # type: ignore[no-any-return]

    # ---- jobs ------------------------------------------------------------------------------------

    async def submit_job(
        self,
        kind: str,
        params: dict[str, Any] | None = None,
        *,
        project_id: str | None = None,
        force: bool = False,
    ) -> Job:
        body = {"kind": kind, "params": params or {}, "project_id": project_id, "force": force}
        return Job.model_validate(await self.request("POST", "/v1/jobs", json=body))

    async def job(self, job_id: str) -> Job:
        return Job.model_validate(await self.request("GET", f"/v1/jobs/{_seg(job_id)}"))

    async def jobs(
        self, *, status: list[str] | None = None, project_id: str | None = None, limit: int = 100
    ) -> list[Job]:
        params: dict[str, Any] = {"limit": limit}
        if status:
            params["status"] = ",".join(status)
        if project_id:
            params["project"] = project_id
        return _models(Job, await self.request("GET", "/v1/jobs", params=params))

    async def cancel_job(self, job_id: str) -> Job:
        return Job.model_validate(await self.request("POST", f"/v1/jobs/{_seg(job_id)}/cancel"))

    async def retry_job(self, job_id: str) -> Job:
        return Job.model_validate(await self.request("POST", f"/v1/jobs/{_seg(job_id)}/retry"))

    async def wait_job(
        self, job_id: str, *, timeout: float | None = None, poll: float = 0.2
    ) -> Job:
        """Wait until the job ends; raises ``JobFailed`` or ``JobCancelled`` unless it succeeded."""
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        while True:
            job = await self.job(job_id)
            if job.status is JobStatus.SUCCEEDED:
                return job
            if job.status is JobStatus.CANCELLED:
                raise JobCancelled(f"job {job_id} was cancelled")
            if job.status is JobStatus.FAILED:
                err = job.error or {}
                raise JobFailed(
                    f"job {job_id} ({job.kind}) failed: {err.get('message', 'unknown error')}",
                    hint=err.get("hint"),
                )
            if deadline is not None and loop.time() > deadline:
                raise TimeoutError(f"job {job_id} is still {job.status.value} after {timeout} s")
            await asyncio.sleep(poll)

    # ---- the song ----------------------------------------------------------------------------

    async def upload_song(self, path: Path, *, project_id: str | None = None) -> Job:
        """Send a song to be checked and analysed (and, with a project, to become its song);
        returns the ``audio.analyze`` job."""
        path = Path(path)
        if not path.is_file():
            raise InvalidInput(f"there is no file at {path}", hint="check the path")
        params = {"filename": path.name} | ({"project": project_id} if project_id else {})
        data = await self.request("POST", "/v1/songs", params=params, content=_file_chunks(path))
        return Job.model_validate(data)

    async def analysis(self, audio_sha256: str) -> Analysis:
        """The stored analysis of an audio file, as detected."""
        return Analysis.model_validate(
            await self.request("GET", f"/v1/analyses/{_seg(audio_sha256)}")
        )

    async def song_map(self, project_id: str, *, detected: bool = False) -> Analysis:
        """The project's song map with the corrections applied (``detected=True``: without)."""
        params = {"detected": "true"} if detected else None
        return Analysis.model_validate(
            await self.request("GET", f"/v1/projects/{_seg(project_id)}/analysis", params=params)
        )

    async def correct_song_map(
        self, project_id: str, corrections: AnalysisCorrections | None = None, **fields: Any
    ) -> Analysis:
        """Replace the corrections of the project's song map; returns the corrected map."""
        body = (corrections or AnalysisCorrections(**fields)).model_dump(mode="json")
        return Analysis.model_validate(
            await self.request(
                "PUT", f"/v1/projects/{_seg(project_id)}/analysis/corrections", json=body
            )
        )

    async def import_lyrics(
        self, project_id: str, text: str, filename: str | None = None
    ) -> Lyrics:
        """Give the project's song its words: LRC, SRT or VTT text, or plain lyrics to spread."""
        body = {"text": text, "filename": filename}
        return Lyrics.model_validate(
            await self.request("PUT", f"/v1/projects/{_seg(project_id)}/lyrics", json=body)
        )

    async def lyrics(self, project_id: str) -> Lyrics:
        return Lyrics.model_validate(
            await self.request("GET", f"/v1/projects/{_seg(project_id)}/lyrics")
        )

    async def export_lyrics(self, project_id: str, format: str = "lrc") -> str:
        """The project's lyrics as LRC or SRT text."""
        return await self._text(f"/v1/projects/{_seg(project_id)}/lyrics", format=format)

    async def _text(self, path: str, **params: Any) -> str:
        """A route that answers in text (an export), not JSON."""
        http = await self._connection()
        reply = await http.get(
            path, params=params, headers={"authorization": f"Bearer {self._token}"}
        )
        if reply.status_code >= 400:
            raise error_from_payload(reply.json().get("error", {}))
        return reply.text

    # ---- assets, export, import ------------------------------------------------------------------

    async def upload(
        self, source: Path | bytes, media_type: str = "application/octet-stream"
    ) -> str:
        """Store bytes or a file in the engine's asset store; returns its sha256."""
        content: Any = source if isinstance(source, bytes) else _file_chunks(Path(source))
        data = await self.request(
            "POST", "/v1/assets", content=content, headers={"content-type": media_type}
        )
        return str(data["sha256"])

    async def asset(self, sha256: str) -> tuple[bytes, str]:
        """An asset's bytes and media type, in memory (for short clips; use ``download`` for
        songs and renders)."""
        return await self._bytes(f"/v1/assets/{_seg(sha256)}")

    async def thumbnail(self, sha256: str) -> bytes:
        """A picture's JPEG thumbnail (at most 320 px wide), made once by the engine."""
        data, _ = await self._bytes(f"/v1/assets/{_seg(sha256)}/thumb")
        return data

    async def _bytes(self, path: str) -> tuple[bytes, str]:
        reply = await self._send("GET", path)
        if reply.status_code >= 400:
            _decode(reply)
        media_type = reply.headers.get("content-type", "application/octet-stream")
        return reply.content, media_type.split(";")[0].strip()

    async def download(self, sha256: str, dest: Path) -> Path:
        """Fetch an asset to ``dest`` (written under a temporary name, renamed when whole)."""
        http = await self._connection()
        dest.parent.mkdir(parents=True, exist_ok=True)
        with replacing(dest) as tmp, tmp.open("wb") as handle:
            try:
                async with http.stream(
                    "GET",
                    f"/v1/assets/{_seg(sha256)}",
                    headers={"authorization": f"Bearer {self._token}"},
                ) as reply:
                    if reply.status_code >= 400:
                        await reply.aread()
                        _decode(reply)
                    async for chunk in reply.aiter_bytes():
                        handle.write(chunk)
            except (*_CONNECT_ERRORS, *_BROKEN_ERRORS) as exc:
                await self._reset()
                raise EngineUnavailable(f"the engine stopped while sending asset {sha256}") from exc
        return dest

    async def export_project(self, ref: str, dest: Path, *, timeout: float | None = None) -> Path:
        job = Job.model_validate(await self.request("POST", f"/v1/projects/{_seg(ref)}/export"))
        done = await self.wait_job(job.id, timeout=timeout)
        assert done.result is not None
        return await self.download(done.result["sha256"], dest)

    async def import_project(self, archive: Path) -> Project:
        data = await self.request(
            "POST",
            "/v1/projects/import",
            content=_file_chunks(archive),
            headers={"content-type": "application/zip"},
        )
        return Project.model_validate(data)

    # ---- events ----------------------------------------------------------------------------------

    async def events(
        self, *, project_id: str | None = None, last_event_id: str | None = None
    ) -> AsyncIterator[dict[str, Any]]:
        """Change and progress events as they happen: ``{"id", "type", "project_id", "data"}``."""
        http = await self._connection()
        headers = {"authorization": f"Bearer {self._token}", "accept": "text/event-stream"}
        if last_event_id:
            headers["last-event-id"] = last_event_id
        params = {"project": project_id} if project_id else None
        try:
            async with http.stream(
                "GET",
                "/v1/events",
                params=params,
                headers=headers,
                timeout=httpx.Timeout(self.timeout, read=None),
            ) as reply:
                if reply.status_code >= 400:
                    await reply.aread()
                    _decode(reply)
                event: dict[str, str] = {}
                async for line in reply.aiter_lines():
                    if not line:
                        if "data" in event:
                            body = json.loads(event["data"])
                            yield {"id": event.get("id"), **body}
                        event = {}
                    elif not line.startswith(":"):
                        key, _, value = line.partition(":")
                        event[key] = value.removeprefix(" ")
        except (*_CONNECT_ERRORS, *_BROKEN_ERRORS) as exc:
            await self._reset()
            raise EngineUnavailable(
                "the engine's event stream ended", hint="subscribe again to resume"
            ) from exc


def _engine_token_refused(reply: httpx.Response) -> bool:
    """A 401 from the engine's own guard (not a provider's key refused inside a request)."""
    if reply.status_code != 401:
        return False
    try:
        details = reply.json()["error"].get("details") or {}
    except (ValueError, KeyError, TypeError, AttributeError):
        return True
    return bool(details.get("scope") == "engine")


def _seg(value: str) -> str:
    """An id or name as one path segment. Neither may hold a slash (the server would see the
    decoded slash as a path), so one is refused here with a clear error."""
    if (
        not isinstance(value, str)
        or "/" in value
        or "\\" in value
        or value.strip() in ("", ".", "..")
    ):
        raise InvalidInput(
            f"{str(value)[:60]!r} is not an id or a name",
            hint="ids look like 'prj_...'; names cannot contain '/' or '\\'",
        )
    return quote(value, safe="")


def _decode(reply: httpx.Response) -> Any:
    try:
        data = reply.json()
    except ValueError:
        data = None
    if reply.status_code >= 400:
        if isinstance(data, dict) and isinstance(data.get("error"), dict):
            raise error_from_payload(data["error"])
        raise StudioError(f"the engine answered {reply.status_code}: {reply.text[:200]}")
    return data


def _models(model: type[M], data: Any) -> list[M]:
    return [model.model_validate(item) for item in data]


async def _file_chunks(path: Path, size: int = 1 << 20) -> AsyncIterator[bytes]:
    with path.open("rb") as handle:
        while chunk := await asyncio.to_thread(handle.read, size):
            yield chunk
