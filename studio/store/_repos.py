"""Repositories: one per aggregate, each a few queries over a table of JSON documents with the
columns that queries need beside them. A transaction (:class:`Tx`) hands them out."""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable
from functools import cached_property
from typing import Any, ClassVar, Generic, TypeVar

import duckdb
from pydantic import BaseModel

from studio.errors import Conflict, NotFound
from studio.model import (
    Analysis,
    AudioTrack,
    Character,
    Comment,
    Concept,
    Grant,
    Job,
    JobStatus,
    Mood,
    Project,
    Render,
    Scene,
    Session,
    Spend,
    SpendState,
    Take,
    TakeKind,
    Timeline,
    Turn,
    Upstream,
    utcnow,
)

__all__ = ["KnownProjects", "Tx"]

M = TypeVar("M", bound=BaseModel)


class _Repo:
    """A repository: queries on the connection of one transaction (:class:`Tx`)."""

    def __init__(self, tx: Tx) -> None:
        self._tx = tx
        self._conn = tx._conn


class _DocRepo(_Repo, Generic[M]):
    """Rows of ``id, project_id, created_at, doc`` plus the columns ``_columns`` adds."""

    table: ClassVar[str]
    model: type[M]
    what: ClassVar[str]
    hint: ClassVar[str | None] = None
    """What to do about an unknown id (default: list the project's rows of this kind)."""

    def _columns(self, item: M) -> dict[str, Any]:
        return {
            "id": item.id,  # type: ignore[attr-defined]
            "project_id": item.project_id,  # type: ignore[attr-defined]
            "created_at": item.created_at,  # type: ignore[attr-defined]
            "doc": item.model_dump_json(),
        }

    def _load(self, doc: str) -> M:
        return self.model.model_validate_json(doc)

    def insert(self, item: M) -> M:
        """Insert a row; one that names a project is refused unless that project exists."""
        cols = self._columns(item)
        project_id = cols.get("project_id") if self.table != "projects" else None
        if project_id is not None and not self._tx.project_exists(project_id):
            raise NotFound(f"no project has the id {project_id}", hint=ProjectRepo.hint)
        names = ", ".join(cols)
        marks = ", ".join("?" for _ in cols)
        try:
            self._conn.execute(
                f"INSERT INTO {self.table} ({names}) VALUES ({marks})", list(cols.values())
            )
        except duckdb.ConstraintException as exc:
            raise Conflict(f"{self.what} {cols['id']} exists already") from exc
        return item

    def replace(self, item: M) -> M:
        cols = self._columns(item)
        key = cols.pop("id")
        sets = ", ".join(f"{name} = ?" for name in cols)
        self._conn.execute(f"UPDATE {self.table} SET {sets} WHERE id = ?", [*cols.values(), key])
        return item

    def find(self, id: str) -> M | None:
        row = self._conn.execute(f"SELECT doc FROM {self.table} WHERE id = ?", [id]).fetchone()
        return self._load(row[0]) if row else None

    def get(self, id: str) -> M:
        item = self.find(id)
        if item is None:
            raise NotFound(
                f"no {self.what} has the id {id}",
                hint=self.hint or f"list the project's {self.table}",
            )
        return item

    def list_in(self, project_ids: Collection[str]) -> list[M]:
        """The rows of all of ``project_ids`` in one query, in the order ``list`` gives one
        project's."""
        if not project_ids:
            return []
        rows = self._conn.execute(
            f"SELECT doc FROM {self.table} WHERE list_contains(?, project_id) "
            f"ORDER BY {self._order}",
            [list(project_ids)],
        ).fetchall()
        return [self._load(r[0]) for r in rows]

    def list(self, project_id: str) -> list[M]:
        rows = self._conn.execute(
            f"SELECT doc FROM {self.table} WHERE project_id = ? ORDER BY {self._order}",
            [project_id],
        ).fetchall()
        return [self._load(r[0]) for r in rows]

    _order: ClassVar[str] = "created_at, id"

    def delete_project(self, project_id: str) -> None:
        self._conn.execute(f"DELETE FROM {self.table} WHERE project_id = ?", [project_id])


class ProjectRepo(_DocRepo[Project]):
    table, model, what = "projects", Project, "project"
    hint = "`studio list` shows them"

    def set_audio(self, project: Project, audio: AudioTrack) -> Project:
        """``project`` with its song replaced (and marked as changed now)."""
        return self.replace(project.model_copy(update={"audio": audio, "updated_at": utcnow()}))

    def _columns(self, item: Project) -> dict[str, Any]:
        return {
            "id": item.id,
            "name": item.name,
            "name_key": item.name.casefold(),
            "created_at": item.created_at,
            "updated_at": item.updated_at,
            "doc": item.model_dump_json(),
        }

    def delete_project(self, project_id: str) -> None:
        self._tx.known.forget(project_id)  # at once: later writes in this transaction look it up
        self._conn.execute("DELETE FROM projects WHERE id = ?", [project_id])

    def insert(self, item: Project) -> Project:
        if self.by_name(item.name) is not None:
            raise Conflict(
                f"a project named {item.name!r} exists already", hint="choose another name"
            )
        super().insert(item)
        self._tx.created_projects.append(item.id)
        return item

    def by_name(self, name: str) -> Project | None:
        row = self._conn.execute(
            "SELECT doc FROM projects WHERE name_key = ?", [name.casefold()]
        ).fetchone()
        return self._load(row[0]) if row else None

    def resolve(self, ref: str) -> Project:
        """A project by id or by name."""
        found = self.find(ref) or self.by_name(ref)
        if found is None:
            raise NotFound(
                f"no project is called or has the id {ref!r}", hint="`studio list` shows them"
            )
        return found

    def all(self) -> list[Project]:
        rows = self._conn.execute("SELECT doc FROM projects ORDER BY created_at, id").fetchall()
        return [self._load(r[0]) for r in rows]

    def list(self, project_id: str) -> list[Project]:
        found = self.find(project_id)
        return [found] if found is not None else []


class ConceptRepo(_DocRepo[Concept]):
    table, model, what = "concepts", Concept, "concept"


class MoodRepo(_DocRepo[Mood]):
    table, model, what = "moods", Mood, "mood"


class CharacterRepo(_DocRepo[Character]):
    table, model, what = "characters", Character, "character"


class RenderRepo(_DocRepo[Render]):
    table, model, what = "renders", Render, "render"


class SceneRepo(_DocRepo[Scene]):
    table, model, what = "scenes", Scene, "scene"
    _order = "position, created_at, id"

    def _columns(self, item: Scene) -> dict[str, Any]:
        return super()._columns(item) | {
            "position": item.index,
            "state": item.state.value,
            "revision": item.revision,
        }

    def delete(self, scene_id: str) -> None:
        """Remove a scene and its takes (a storyboard re-cut replaces scenes with new ones)."""
        self._conn.execute("DELETE FROM takes WHERE owner_id = ?", [scene_id])
        self._conn.execute("DELETE FROM scenes WHERE id = ?", [scene_id])

    def save(self, item: Scene, *, expected_revision: int) -> Scene:
        """Write a changed scene if nobody changed it since ``expected_revision``."""
        current = self.get(item.id)
        if current.revision != expected_revision:
            raise Conflict(
                f"scene {item.id} was changed meanwhile (now revision {current.revision})",
                hint="reload the scene and apply your change again",
            )
        return self.replace(item)


class TakeRepo(_DocRepo[Take]):
    """Takes are only ever inserted: a take's history is never overwritten."""

    table, model, what = "takes", Take, "take"
    _order = "owner_id, kind, version"

    def _columns(self, item: Take) -> dict[str, Any]:
        return super()._columns(item) | {
            "owner_id": item.owner_id,
            "kind": item.kind.value,
            "version": item.version,
            "fingerprint": item.fingerprint,
            "asset_sha256": item.asset_sha256,
        }

    def add(self, item: Take) -> Take:
        """Insert as the next version for its owner and kind."""
        row = self._conn.execute(
            "SELECT coalesce(max(version), 0) FROM takes WHERE owner_id = ? AND kind = ?",
            [item.owner_id, item.kind.value],
        ).fetchone()
        numbered = item.model_copy(update={"version": int(row[0] if row else 0) + 1})
        return self.insert(numbered)

    def replace(self, item: Take) -> Take:
        raise Conflict("takes are never changed", hint="add a new take instead")

    def of(self, owner_id: str, kind: TakeKind | None = None) -> list[Take]:
        query = "SELECT doc FROM takes WHERE owner_id = ?"
        args: list[Any] = [owner_id]
        if kind is not None:
            query += " AND kind = ?"
            args.append(kind.value)
        rows = self._conn.execute(query + " ORDER BY kind, version", args).fetchall()
        return [self._load(r[0]) for r in rows]


class SessionRepo(_DocRepo[Session]):
    table, model, what = "sessions", Session, "session"


class TurnRepo(_DocRepo[Turn]):
    """A session's turns, in order; a turn is written once, as it happens."""

    table, model, what = "turns", Turn, "turn"
    _order = "session_id, idx"

    def _columns(self, item: Turn) -> dict[str, Any]:
        return super()._columns(item) | {"session_id": item.session_id, "idx": item.index}

    def of(self, session_id: str) -> list[Turn]:
        rows = self._conn.execute(
            "SELECT doc FROM turns WHERE session_id = ? ORDER BY idx", [session_id]
        ).fetchall()
        return [self._load(r[0]) for r in rows]

    def next_index(self, session_id: str) -> int:
        row = self._conn.execute(
            "SELECT coalesce(max(idx) + 1, 0) FROM turns WHERE session_id = ?", [session_id]
        ).fetchone()
        return int(row[0]) if row else 0


class LedgerRepo(_DocRepo[Spend]):
    """What a project spent, call by call, and what is held for calls in flight."""

    table, model, what = "ledger", Spend, "ledger line"

    def _columns(self, item: Spend) -> dict[str, Any]:
        return super()._columns(item) | {
            "job_id": item.job_id,
            "state": item.state.value,
            "usd": item.usd,
        }

    def committed(self, project_id: str) -> float:
        """Spent, plus what is held by jobs still queued or running (a job that ended without
        settling its hold spent nothing for it)."""
        row = self._conn.execute(
            """SELECT coalesce(sum(usd), 0) FROM ledger
               WHERE project_id = ? AND (state = 'spent' OR (state = 'reserved' AND job_id IN
                   (SELECT id FROM jobs WHERE status IN ('queued', 'running'))))""",
            [project_id],
        ).fetchone()
        return float(row[0]) if row else 0.0

    def settle(self, hold: Spend, usd: float) -> Spend:
        """Turn a hold into the call's real cost."""
        spent = hold.model_copy(update={"state": SpendState.SPENT, "usd": usd})
        return self.replace(spent)

    def release(self, hold_id: str) -> None:
        self._conn.execute("DELETE FROM ledger WHERE id = ? AND state = 'reserved'", [hold_id])


class TimelineRepo(_DocRepo[Timeline]):
    table, model, what = "timelines", Timeline, "timeline"

    def _columns(self, item: Timeline) -> dict[str, Any]:
        return super()._columns(item) | {"revision": item.revision}

    def of_project(self, project_id: str) -> Timeline | None:
        found = self.list(project_id)
        return found[0] if found else None

    def put(self, item: Timeline, *, expected_revision: int | None) -> Timeline:
        """Create or replace the project's timeline; ``expected_revision`` guards lost updates."""
        current = self.of_project(item.project_id)
        if current is None:
            return self.insert(item.model_copy(update={"revision": 1}))
        if expected_revision is not None and current.revision != expected_revision:
            raise Conflict(
                f"the timeline was changed meanwhile (now revision {current.revision})",
                hint="reload it and apply your edit again",
            )
        updated = item.model_copy(update={"id": current.id, "revision": current.revision + 1})
        return self.replace(updated)


class CommentRepo(_DocRepo[Comment]):
    table, model, what = "comments", Comment, "comment"

    def _columns(self, item: Comment) -> dict[str, Any]:
        return super()._columns(item) | {"target_id": item.target_id}

    def on(self, project_id: str, target_id: str) -> list[Comment]:
        """Comments on one scene, take or render of the project (never another project's)."""
        rows = self._conn.execute(
            "SELECT doc FROM comments WHERE project_id = ? AND target_id = ? "
            "ORDER BY created_at, id",
            [project_id, target_id],
        ).fetchall()
        return [self._load(r[0]) for r in rows]

    def count(self) -> int:
        row = self._conn.execute("SELECT count(*) FROM comments").fetchone()
        return int(row[0]) if row else 0


class JobRepo(_DocRepo[Job]):
    table, model, what = "jobs", Job, "job"

    def _columns(self, item: Job) -> dict[str, Any]:
        return super()._columns(item) | {
            "kind": item.kind,
            "fingerprint": item.fingerprint,
            "status": item.status.value,
        }

    def query(
        self,
        *,
        status: list[JobStatus] | None = None,
        project_id: str | None = None,
        within: Collection[str] | None = None,
        limit: int = 200,
    ) -> list[Job]:
        """The newest jobs first; ``within``: only those of these projects."""
        where, args = ["TRUE"], []
        if status:
            where.append(f"status IN ({', '.join('?' for _ in status)})")
            args += [s.value for s in status]
        if project_id:
            where.append("project_id = ?")
            args.append(project_id)
        if within is not None:
            if not within:
                return []
            where.append(f"project_id IN ({', '.join('?' for _ in within)})")
            args += sorted(within)
        rows = self._conn.execute(
            f"SELECT doc FROM jobs WHERE {' AND '.join(where)} ORDER BY created_at DESC, id DESC "
            "LIMIT ?",
            [*args, limit],
        ).fetchall()
        return [self._load(r[0]) for r in rows]

    def runnable(self, limit: int = 500) -> list[Job]:
        """Queued jobs, oldest first."""
        rows = self._conn.execute(
            "SELECT doc FROM jobs WHERE status = 'queued' ORDER BY created_at, id LIMIT ?", [limit]
        ).fetchall()
        return [self._load(r[0]) for r in rows]

    def active_with(self, fingerprint: str) -> Job | None:
        """A queued or running job with these inputs: the same work is not started twice."""
        row = self._conn.execute(
            "SELECT doc FROM jobs WHERE fingerprint = ? AND status IN ('queued', 'running') "
            "ORDER BY created_at LIMIT 1",
            [fingerprint],
        ).fetchone()
        return self._load(row[0]) if row else None


class GrantRepo(_Repo):
    """The keys made for editors and reviewers (by the SHA-256 of the key, never the key)."""

    def insert(self, grant: Grant) -> Grant:
        self._conn.execute(
            "INSERT INTO grants VALUES (?, ?, ?, ?)",
            [grant.id, grant.created_at, grant.key_sha256, grant.model_dump_json()],
        )
        return grant

    def all(self) -> list[Grant]:
        rows = self._conn.execute("SELECT doc FROM grants ORDER BY created_at, id").fetchall()
        return [Grant.model_validate_json(r[0]) for r in rows]

    def get(self, grant_id: str) -> Grant:
        row = self._conn.execute("SELECT doc FROM grants WHERE id = ?", [grant_id]).fetchone()
        if row is None:
            raise NotFound(f"no key has the id {grant_id}", hint="`studio keys` lists them")
        return Grant.model_validate_json(row[0])

    def replace(self, grant: Grant) -> Grant:
        self._conn.execute(
            "UPDATE grants SET doc = ? WHERE id = ?", [grant.model_dump_json(), grant.id]
        )
        return grant


class AssetRepo(_Repo):
    def add(self, sha256: str, size: int, media_type: str) -> None:
        self._conn.execute(
            "INSERT INTO assets VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
            [sha256, size, media_type, utcnow()],
        )

    def get(self, sha256: str) -> dict[str, Any] | None:
        row = self._conn.execute(
            "SELECT sha256, size, media_type FROM assets WHERE sha256 = ?", [sha256]
        ).fetchone()
        return {"sha256": row[0], "size": row[1], "media_type": row[2]} if row else None

    def projects_using(self, sha256: str) -> set[str]:
        """The projects whose rows name this asset (a song, a take, a render, a reference
        picture, a job's result): who may see it when only some projects are shared."""
        found: set[str] = set()
        for table in ("projects", "takes", "renders", "characters", "moods", "jobs"):
            column = "id" if table == "projects" else "project_id"
            rows = self._conn.execute(
                f"SELECT DISTINCT {column} FROM {table} WHERE contains(doc::VARCHAR, ?)", [sha256]
            ).fetchall()
            found.update(r[0] for r in rows if r[0] is not None)
        return found


class AnalysisRepo(_Repo):
    def put(self, analysis: Analysis) -> Analysis:
        self._conn.execute(
            "INSERT INTO analyses VALUES (?, ?, ?) ON CONFLICT (audio_sha256) DO UPDATE SET "
            "created_at = excluded.created_at, doc = excluded.doc",
            [analysis.audio_sha256, analysis.created_at, analysis.model_dump_json()],
        )
        return analysis

    def find(self, audio_sha256: str) -> Analysis | None:
        row = self._conn.execute(
            "SELECT doc FROM analyses WHERE audio_sha256 = ?", [audio_sha256]
        ).fetchone()
        return Analysis.model_validate_json(row[0]) if row else None


class _JsonKeyed(_Repo):
    """A key -> JSON table (idempotency keys, finished job stages)."""


class StageRepo(_JsonKeyed):
    def find(self, fingerprint: str) -> Any | None:
        row = self._conn.execute(
            "SELECT result FROM job_stages WHERE fingerprint = ?", [fingerprint]
        ).fetchone()
        return json.loads(row[0]) if row else None

    def put(self, fingerprint: str, job_id: str, stage: str, result: Any) -> None:
        self._conn.execute(
            "INSERT INTO job_stages VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            [fingerprint, job_id, stage, utcnow(), json.dumps(result)],
        )

    def replace(self, fingerprint: str, job_id: str, stage: str, result: Any) -> None:
        """Keep ``result`` under ``fingerprint``, over whatever was there (a note that moves on,
        such as the handle of a call in flight)."""
        self._conn.execute("DELETE FROM job_stages WHERE fingerprint = ?", [fingerprint])
        self.put(fingerprint, job_id, stage, result)


class IdempotencyRepo(_JsonKeyed):
    def find(self, key: str) -> Any | None:
        row = self._conn.execute("SELECT response FROM idempotency WHERE key = ?", [key]).fetchone()
        return json.loads(row[0]) if row else None

    def put(self, key: str, response: Any) -> None:
        self._conn.execute(
            "INSERT INTO idempotency VALUES (?, ?, ?)", [key, utcnow(), json.dumps(response)]
        )


class KnownProjects:
    """Ids of projects that exist in committed data, so that a write under a project need not
    look it up (a statement costs DuckDB about half a millisecond). Sound because one process,
    the engine, is the store's only writer: an id joins after the transaction that created it
    commits, and leaves as soon as a transaction deletes it. An id not here is looked up."""

    def __init__(self) -> None:
        self._ids: set[str] = set()

    def __contains__(self, project_id: object) -> bool:
        return project_id in self._ids

    def add(self, project_ids: Iterable[str]) -> None:
        self._ids.update(project_ids)

    def forget(self, project_id: str) -> None:
        self._ids.discard(project_id)


class Tx:
    """The repositories, bound to one connection (inside a transaction when writing)."""

    def __init__(self, conn: duckdb.DuckDBPyConnection, known: KnownProjects | None = None) -> None:
        self._conn = conn
        self.known = known if known is not None else KnownProjects()
        self.created_projects: list[str] = []
        """Projects this transaction created: known once it commits."""

    def song(self, project_id: str) -> tuple[Project, Analysis]:
        """A project and the detected map of its song; ``NotFound`` says what to do when the
        project has no song yet."""
        project = self.projects.get(project_id)
        if project.audio is None:
            raise NotFound(
                f"project {project.name!r} has no song yet",
                hint="upload one with `studio analyze AUDIO --project NAME`",
            )
        found = self.analyses.find(project.audio.asset_sha256)
        if found is None:
            raise NotFound(
                f"the song of {project.name!r} has not been analysed",
                hint="upload it again with `studio analyze AUDIO --project NAME`",
            )
        return project, found

    def cast(self, scene: Scene) -> tuple[Mood | None, list[Character]]:
        """A scene's mood and the characters it shows (those that still exist)."""
        mood = self.moods.find(scene.mood_id) if scene.mood_id else None
        characters = [c for c in map(self.characters.find, scene.characters) if c is not None]
        return mood, characters

    def upstream(self, scene: Scene, project: Project | None = None) -> Upstream:
        """The content a scene's takes depend on beyond the scene (mood, characters, style):
        what :meth:`Scene.is_stale` compares a take against."""
        project = project or self.projects.get(scene.project_id)
        return Upstream.of(*self.cast(scene), project.brief)

    def current_take(
        self,
        scene: Scene,
        kind: TakeKind,
        upstream: Upstream,
        takes: Iterable[Take] | None = None,
    ) -> Take | None:
        """The scene's latest take of ``kind`` if it still matches what the scene is made from;
        None when there is none or it is stale. ``takes``: the scene's takes already read (in
        version order), instead of reading them."""
        if takes is None:
            found = self.takes.of(scene.id, kind)
        else:
            found = [t for t in takes if t.kind is kind]
        return found[-1] if found and not scene.is_stale(found[-1], upstream) else None

    def project_exists(self, project_id: str) -> bool:
        if project_id in self.known:
            return True
        found = self._conn.execute("SELECT 1 FROM projects WHERE id = ?", [project_id]).fetchone()
        if found is not None and project_id not in self.created_projects:
            self.known.add([project_id])  # committed before this transaction began
        return found is not None

    @cached_property
    def projects(self) -> ProjectRepo:
        return ProjectRepo(self)

    @cached_property
    def concepts(self) -> ConceptRepo:
        return ConceptRepo(self)

    @cached_property
    def moods(self) -> MoodRepo:
        return MoodRepo(self)

    @cached_property
    def characters(self) -> CharacterRepo:
        return CharacterRepo(self)

    @cached_property
    def scenes(self) -> SceneRepo:
        return SceneRepo(self)

    @cached_property
    def takes(self) -> TakeRepo:
        return TakeRepo(self)

    @cached_property
    def timelines(self) -> TimelineRepo:
        return TimelineRepo(self)

    @cached_property
    def renders(self) -> RenderRepo:
        return RenderRepo(self)

    @cached_property
    def comments(self) -> CommentRepo:
        return CommentRepo(self)

    @cached_property
    def jobs(self) -> JobRepo:
        return JobRepo(self)

    @cached_property
    def grants(self) -> GrantRepo:
        return GrantRepo(self)

    @cached_property
    def assets(self) -> AssetRepo:
        return AssetRepo(self)

    @cached_property
    def analyses(self) -> AnalysisRepo:
        return AnalysisRepo(self)

    @cached_property
    def sessions(self) -> SessionRepo:
        return SessionRepo(self)

    @cached_property
    def turns(self) -> TurnRepo:
        return TurnRepo(self)

    @cached_property
    def ledger(self) -> LedgerRepo:
        return LedgerRepo(self)

    @cached_property
    def stages(self) -> StageRepo:
        return StageRepo(self)

    @cached_property
    def idempotency(self) -> IdempotencyRepo:
        return IdempotencyRepo(self)

    def project_repos(self) -> list[_DocRepo[Any]]:
        """Every repository whose rows belong to a project, in the order an import writes them."""
        return [
            self.projects,
            self.concepts,
            self.moods,
            self.characters,
            self.scenes,
            self.takes,
            self.timelines,
            self.renders,
            self.comments,
            self.jobs,
            self.sessions,
            self.turns,
            self.ledger,
        ]

    def delete_project(self, project_id: str) -> None:
        for repo in reversed(self.project_repos()):
            repo.delete_project(project_id)
