"""What the Voila dashboards show (``dashboards/``): the review board, the gallery and the whole
studio, for whoever opened the link.

A dashboard served by ``studio dashboards`` acts only as the key in its link (``?key=...``, made
by ``studio share``): a reviewer's key reaches the projects shared with them and may only look,
approve and ask for changes, whatever the browser sends, because the engine checks every call
against the key. Voila gives the kernel the link's query string in ``QUERY_STRING``; nothing
from it is used but the key (checked for shape) and a project id (checked by the engine).
Opened in JupyterLab (no query string), a dashboard acts as the owner, like any notebook.
"""

from __future__ import annotations

import html
import os
import re
import urllib.parse
from collections.abc import Callable
from pathlib import Path
from typing import Any

import ipywidgets  # type: ignore[import-untyped]

from studio.engine import Home
from studio.errors import InvalidInput, StudioError, Unauthorized
from studio.model import ID_PATTERN
from studio.ui._link import link
from studio.ui._monitor import RenderMonitor
from studio.ui._storyboard import Storyboard
from studio.ui._studio import Studio

__all__ = ["DASHBOARDS", "DASHBOARD_ENV", "dashboard", "link_query"]

DASHBOARDS = ("review", "gallery", "studio")

DASHBOARD_ENV = "STUDIO_DASHBOARD"
"""Set by ``studio dashboards`` for its kernels: a link without a key is refused there."""
_KEY = re.compile(r"^sk_[A-Za-z0-9_-]{20,100}$")


def link_query() -> dict[str, str]:
    """The dashboard link's ``key`` and ``project``, checked for shape (nothing else is read)."""
    query = urllib.parse.parse_qs(os.environ.get("QUERY_STRING", ""), max_num_fields=20)
    key = (query.get("key") or [""])[0]
    project = (query.get("project") or [""])[0]
    if key and not _KEY.match(key):
        raise Unauthorized("this link's key is not a key", hint="copy the whole link again")
    if project and not re.fullmatch(ID_PATTERN, project):
        raise InvalidInput("this link's project is not a project id")
    if not key and os.environ.get(DASHBOARD_ENV):
        raise Unauthorized(
            "this dashboard opens from a shared link",
            hint="ask the producer for yours: `studio share PROJECT --name YOU`",
        )
    return {"key": key, "project": project}


def dashboard(kind: str, *, home: Home | Path | str | None = None) -> ipywidgets.Widget:
    """The ``review``, ``gallery`` or ``studio`` dashboard for the link it was opened with; a
    readable message instead when the link is wrong, revoked, or not for this dashboard."""
    try:
        if kind not in DASHBOARDS:
            raise InvalidInput(f"no dashboard is called {kind!r}", hint=", ".join(DASHBOARDS))
        query = link_query()
        key = query["key"] or None
        studio = link(home, key)
        caller = studio.call(studio.caller())
        if kind == "gallery":
            return ipywidgets.VBox([_viewer(caller), RenderMonitor(None, home=home, key=key)])
        if kind == "studio" and caller["role"] == "reviewer":
            raise Unauthorized(
                "this link is for reviewing",
                hint="open the review dashboard with it, or ask for an editor's link",
            )
        projects = studio.call(studio.client.list_projects())
        if not projects:
            raise InvalidInput(
                "no project is shared with this link yet",
                hint="ask the producer to share one: `studio share PROJECT --name YOU`",
            )
        chosen = query["project"] or projects[0].id
        if chosen not in {p.id for p in projects}:
            raise InvalidInput(
                "the project in this link is not shared with you",
                hint="pick one of yours from the list",
            )

        def make(project_id: str) -> list[ipywidgets.Widget]:
            if kind == "studio":
                return [Studio(project_id, home=home, key=key)]
            return [
                Storyboard(project_id, home=home, key=key),
                RenderMonitor(project_id, home=home, key=key),
            ]

        return _picked(caller, [(p.name, p.id) for p in projects], chosen, make)
    except StudioError as exc:
        return _message(exc)


def _viewer(caller: dict[str, Any]) -> ipywidgets.HTML:
    """Who the link acts as (nothing for the owner)."""
    who = "" if caller["role"] == "owner" else f"{caller['name']} · {caller['role']}"
    return ipywidgets.HTML(
        f'<span data-testid="viewer">{html.escape(who)}</span>', layout={"margin": "0 0 4px"}
    )


def _picked(
    caller: dict[str, Any],
    choices: list[tuple[str, str]],
    chosen: str,
    make: Callable[[str], list[ipywidgets.Widget]],
) -> ipywidgets.VBox:
    """A project picker over what ``make`` shows for the project picked."""
    body = ipywidgets.VBox()
    pick = ipywidgets.Dropdown(options=choices, value=chosen, description="Project")
    pick.add_class("studio-project-picker")

    def show(project_id: str) -> None:
        for old in body.children:
            old.close()
        body.children = tuple(make(project_id))

    pick.observe(lambda change: show(change["new"]), names="value")
    show(chosen)
    return ipywidgets.VBox([ipywidgets.HBox([pick, _viewer(caller)]), body])


def _message(exc: StudioError) -> ipywidgets.HTML:
    hint = f"<div>{html.escape(exc.hint)}</div>" if exc.hint else ""
    return ipywidgets.HTML(
        f'<div class="studio-dashboard-error" data-testid="dashboard-error" role="alert">'
        f"<strong>{html.escape(exc.message)}</strong>{hint}</div>"
    )
