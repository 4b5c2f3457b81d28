"""Who may do what: the engine's own token is the owner's; a key made with ``studio share`` is
an editor's or a reviewer's, limited to the projects shared with them.

Every route has one rule here (a test checks that none is missing): the roles besides the owner
that may call it, and where the project it touches is named (a path id, the query, or nothing).
The guard in front of the app turns the bearer token into a :class:`Caller`; :func:`authorize`
runs before every route and refuses, before any work, what the caller may not do. A project
that is not shared with the caller answers as if it did not exist, so ids cannot be probed.
Routes that list many projects' rows keep only what the caller sees (:meth:`Caller.sees`).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any

from fastapi import Request

from studio.errors import Forbidden, NotFound
from studio.model import ID_PATTERN, Grant, Role, check_id
from studio.store import StoreWorker, Tx, check_sha256

__all__ = ["OWNER", "RULES", "Access", "Caller", "Rule", "Where", "authorizer", "caller_of"]


@dataclass(frozen=True)
class Caller:
    name: str
    role: Role
    projects: frozenset[str] | None = None
    """The projects shared with the caller; None: every project."""
    grant_id: str | None = None

    def sees(self, project_id: str | None) -> bool:
        if self.projects is None:
            return True
        return project_id is not None and project_id in self.projects

    def public(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "role": self.role.value,
            "projects": None if self.projects is None else sorted(self.projects),
        }


OWNER = Caller("owner", Role.OWNER)


class Where(Enum):
    """Where a route names the project it touches."""

    NOTHING = "nothing"  # no project: health, whoami
    LISTED = "listed"  # many projects' rows: the route keeps those the caller sees
    PROJECT = "project"  # {ref}
    SCENE = "scene"  # {sid} of /scenes
    TAKE = "take"  # {tid}
    SESSION = "session"  # {sid} of /sessions
    JOB = "job"  # {jid}
    ASSET = "asset"  # {sha}: an asset or a song's analysis, seen if a shared project uses it
    QUERY = "query"  # ?project=; without it, LISTED
    BODY = "body"  # in the request body: the route checks it with check_project
    NEW = "new"  # makes a project: only callers who see every project


@dataclass(frozen=True)
class Rule:
    roles: frozenset[Role]
    where: Where


_R = frozenset({Role.EDITOR, Role.REVIEWER})  # both: reading, and a reviewer's comments
_E = frozenset({Role.EDITOR})
_NONE: frozenset[Role] = frozenset()  # the owner only


def _rules() -> dict[tuple[str, str], Rule]:
    w = Where
    table: list[tuple[str, str, frozenset[Role], Where]] = [
        ("GET", "/health", _R, w.NOTHING),
        ("GET", "/whoami", _R, w.NOTHING),
        ("POST", "/shutdown", _NONE, w.NOTHING),
        ("GET", "/grants", _NONE, w.NOTHING),
        ("POST", "/grants", _NONE, w.NOTHING),
        ("POST", "/grants/{gid}/revoke", _NONE, w.NOTHING),
        ("GET", "/projects", _R, w.LISTED),
        ("GET", "/library", _R, w.LISTED),
        ("POST", "/projects", _E, w.NEW),
        ("POST", "/projects/import", _E, w.NEW),
        ("GET", "/projects/{ref}", _R, w.PROJECT),
        ("PATCH", "/projects/{ref}", _E, w.PROJECT),
        ("DELETE", "/projects/{ref}", _E, w.PROJECT),
        ("GET", "/projects/{ref}/snapshot", _E, w.PROJECT),
        ("POST", "/projects/{ref}/export", _E, w.PROJECT),
        ("GET", "/projects/{ref}/ledger", _E, w.PROJECT),
        ("GET", "/projects/{ref}/scenes", _R, w.PROJECT),
        ("POST", "/projects/{ref}/scenes", _E, w.PROJECT),
        ("GET", "/projects/{ref}/moodboards", _R, w.PROJECT),
        ("GET", "/projects/{ref}/storyboard", _R, w.PROJECT),
        ("GET", "/projects/{ref}/renders", _R, w.PROJECT),
        ("GET", "/projects/{ref}/timeline", _R, w.PROJECT),
        ("PUT", "/projects/{ref}/timeline", _E, w.PROJECT),
        ("GET", "/projects/{ref}/timeline/export", _R, w.PROJECT),
        ("POST", "/projects/{ref}/timeline/build", _E, w.PROJECT),
        ("POST", "/projects/{ref}/timeline/edits", _E, w.PROJECT),
        ("GET", "/projects/{ref}/comments", _R, w.PROJECT),
        ("POST", "/projects/{ref}/comments", _R, w.PROJECT),
        ("GET", "/projects/{ref}/analysis", _R, w.PROJECT),
        ("PUT", "/projects/{ref}/analysis/corrections", _E, w.PROJECT),
        ("GET", "/projects/{ref}/lyrics", _R, w.PROJECT),
        ("PUT", "/projects/{ref}/lyrics", _E, w.PROJECT),
        ("GET", "/projects/{ref}/sessions", _E, w.PROJECT),
        ("POST", "/projects/{ref}/sessions", _E, w.PROJECT),
        ("GET", "/projects/{ref}/plan", _E, w.PROJECT),
        ("GET", "/scenes/{sid}", _R, w.SCENE),
        ("POST", "/scenes/{sid}/actions", _E, w.SCENE),
        ("GET", "/scenes/{sid}/takes", _R, w.SCENE),
        ("POST", "/takes", _E, w.BODY),
        ("GET", "/takes/{tid}", _R, w.TAKE),
        ("GET", "/sessions/{sid}", _E, w.SESSION),
        ("POST", "/sessions/{sid}/messages", _E, w.SESSION),
        ("GET", "/jobs", _R, w.QUERY),
        ("POST", "/jobs", _E, w.BODY),
        ("GET", "/jobs/{jid}", _R, w.JOB),
        ("POST", "/jobs/{jid}/cancel", _E, w.JOB),
        ("POST", "/jobs/{jid}/retry", _E, w.JOB),
        ("POST", "/assets", _E, w.NOTHING),
        ("GET", "/assets/{sha}", _R, w.ASSET),
        ("GET", "/assets/{sha}/thumb", _R, w.ASSET),
        ("POST", "/songs", _E, w.QUERY),
        ("GET", "/analyses/{sha}", _R, w.ASSET),
        ("GET", "/events", _R, w.QUERY),
    ]
    for kind in ("concepts", "moods", "characters"):
        table += [
            ("GET", f"/projects/{{ref}}/{kind}", _R, w.PROJECT),
            ("POST", f"/projects/{{ref}}/{kind}", _E, w.PROJECT),
            ("PATCH", f"/projects/{{ref}}/{kind}/{{doc_id}}", _E, w.PROJECT),
        ]
    return {(method, "/v1" + path): Rule(roles, where) for method, path, roles, where in table}


RULES = _rules()


def key_hash(key: str | bytes) -> str:
    return hashlib.sha256(key.encode() if isinstance(key, str) else key).hexdigest()


class Access:
    """The engine's token and the live keys, by the hash of the key (kept in memory: the
    engine is the only writer of the grants, so it changes this as it changes the store)."""

    def __init__(self, token: str) -> None:
        self._token = token.encode()
        self._by_hash: dict[str, Caller] = {}
        self._seen_assets: set[tuple[str, str]] = set()  # (grant, sha) already allowed
        self._lock = threading.Lock()

    def load(self, grants: list[Grant]) -> None:
        for grant in grants:
            self.add(grant)

    def add(self, grant: Grant) -> None:
        if grant.revoked_at is not None:
            return
        projects = None if grant.all_projects else frozenset(grant.projects)
        with self._lock:
            self._by_hash[grant.key_sha256] = Caller(grant.name, grant.role, projects, grant.id)

    def remove(self, grant: Grant) -> None:
        with self._lock:
            self._by_hash.pop(grant.key_sha256, None)
            self._seen_assets = {seen for seen in self._seen_assets if seen[0] != grant.id}

    def caller(self, bearer: bytes) -> Caller | None:
        """Who sent ``Authorization: Bearer ...``; None when nobody we know."""
        if hmac.compare_digest(bearer, self._token):
            return OWNER
        with self._lock:
            return self._by_hash.get(key_hash(bearer))

    @staticmethod
    def new_key() -> tuple[str, str]:
        """A fresh key and its hash (only the hash is stored)."""
        key = "sk_" + secrets.token_urlsafe(32)
        return key, key_hash(key)

    async def asset_seen(self, store: StoreWorker, caller: Caller, sha: str) -> bool:
        if caller.projects is None:
            return True
        seen = (caller.grant_id or "", sha)
        if seen in self._seen_assets:
            return True
        users = await store.read(lambda tx: tx.assets.projects_using(sha))
        if not users & caller.projects:
            return False
        with self._lock:
            self._seen_assets.add(seen)  # assets never change: once seen, always seen
        return True


def caller_of(request: Request) -> Caller:
    """The caller the guard found for this request (the owner for in-process calls)."""
    found = request.scope.get("state", {}).get("caller")
    return found if isinstance(found, Caller) else OWNER


def _not_shared(what: str) -> NotFound:
    return NotFound(
        f"no {what} of a project shared with you has that id",
        hint="ask the project's owner to share it with you (`studio share`)",
    )


def check_project(caller: Caller, project_id: str | None, what: str = "project") -> None:
    """Refuse a project the caller does not see, as if it did not exist."""
    if not caller.sees(project_id):
        raise _not_shared(what)


_ROWS: dict[Where, tuple[str, Callable[[Tx], Any]]] = {
    Where.SCENE: ("sid", lambda tx: tx.scenes),
    Where.TAKE: ("tid", lambda tx: tx.takes),
    Where.SESSION: ("sid", lambda tx: tx.sessions),
    Where.JOB: ("jid", lambda tx: tx.jobs),
}
"""The routes that name a row by id: the path parameter, and the repository that knows the
row's project."""


def authorizer(store: StoreWorker, access: Access) -> Callable[[Request], Awaitable[None]]:
    """The dependency every route runs first: the caller's role must be in the route's rule,
    and the project the route touches must be shared with the caller."""

    async def project_named(ref: str) -> str:
        """A project's id from its id or its name (a few routes take either)."""
        if re.fullmatch(ID_PATTERN, ref):
            return ref
        try:
            return await store.read(lambda tx: tx.projects.resolve(ref).id)
        except NotFound:
            raise _not_shared("project") from None

    async def authorize(request: Request) -> None:
        caller = caller_of(request)
        if caller.role is Role.OWNER:
            return
        route = request.scope.get("route")
        rule = RULES.get((request.method, getattr(route, "path", "")))
        if rule is None or caller.role not in rule.roles:
            raise Forbidden(
                f"a {caller.role.value}'s key cannot {request.method} {request.url.path}",
                hint="reviewers look, approve and comment; ask an editor for the rest",
                role=caller.role.value,
            )
        params = request.path_params
        where = rule.where
        if where is Where.PROJECT:
            check_project(caller, await project_named(params["ref"]))
        elif where in _ROWS:
            param, repo = _ROWS[where]
            row_id = check_id(params[param], f"{where.value} id")
            try:
                owner = await store.read(lambda tx: repo(tx).get(row_id).project_id)
            except NotFound:
                raise _not_shared(where.value) from None
            check_project(caller, owner, where.value)
        elif where is Where.ASSET:
            sha = check_sha256(params["sha"])
            if not await access.asset_seen(store, caller, sha):
                raise _not_shared("asset")
        elif where is Where.QUERY:
            named = request.query_params.get("project")
            if named:
                check_project(caller, check_id(named, "project id"))
        elif where is Where.NEW and caller.projects is not None:
            raise Forbidden(
                "this key is for the projects shared with it; it cannot make new ones",
                hint="ask the owner for a key that sees every project",
            )

    return authorize
