"""The whole flow in one app: Session -> Moods -> Storyboard -> Timeline -> Render, each step a
tab whose title says where the project stands. A tab's widget is made when it is first opened,
so the app is usable as soon as the first one is."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import ipywidgets  # type: ignore[import-untyped]
import traitlets

from studio.ui._base import StudioWidget
from studio.ui._chat import ChatSession
from studio.ui._monitor import RenderMonitor
from studio.ui._moods import MoodPicker
from studio.ui._storyboard import Storyboard
from studio.ui._timeline import Timeline

__all__ = ["Studio", "StudioSteps"]

_PICTURED = ("image_approved", "clip_ready", "clip_approved")

STEPS: tuple[tuple[str, Callable[..., StudioWidget]], ...] = (
    ("Session", ChatSession),
    ("Moods", MoodPicker),
    ("Storyboard", Storyboard),
    ("Timeline", Timeline),
    ("Render", RenderMonitor),
)


class StudioSteps(StudioWidget):
    """Where the project stands, step by step (the Studio app's header)."""

    front = "studio"
    listens = ("scene.", "take.", "timeline.", "render.", "project.", "session.", "job.updated")

    steps = traitlets.List(traitlets.Dict()).tag(sync=True)
    current = traitlets.Int(0).tag(sync=True)

    async def load(self) -> None:
        board = await self.client.storyboard(self.project_id)
        sessions = await self.client.sessions(self.project_id)
        moods = await self.client.moods(self.project_id)
        renders = await self.client.renders(self.project_id)
        project = board["project"]
        scenes = board["scenes"]
        approved = sum(
            s["state"] in ("image_approved", "clip_ready", "clip_approved") for s in scenes
        )
        try:
            clips = len((await self.client.timeline(self.project_id)).clips)
        except Exception:
            clips = 0
        mood = next((m.name for m in moods if m.id == project["mood_id"]), "")
        done = [r for r in renders if r["status"] == "succeeded"]
        self.steps = [
            {"name": "Session", "done": bool(sessions), "say": f"{len(sessions)} session(s)"},
            {"name": "Moods", "done": bool(mood), "say": mood or f"{len(moods)} to pick from"},
            {
                "name": "Storyboard",
                "done": bool(scenes) and approved == len(scenes),
                "say": f"{approved}/{len(scenes)} pictures approved" if scenes else "no scenes",
            },
            {
                "name": "Timeline",
                "done": clips > 0,
                "say": f"{clips} clips" if clips else "not built",
            },
            {
                "name": "Render",
                "done": bool(done),
                "say": f"{len(done)} render(s)" if done else "none yet",
            },
        ]

    async def _act_open(self, content: dict[str, Any]) -> None:
        step = content.get("step")
        if isinstance(step, int) and 0 <= step < len(STEPS):
            self.current = step


class Studio(ipywidgets.VBox):  # type: ignore[misc]
    """``Studio("Night Drive")``: the steps as tabs under a header that says where each stands."""

    def __init__(self, project: Any, **kwargs: Any) -> None:
        self.header = StudioSteps(project, **kwargs)
        self._kwargs = kwargs
        self.pages: dict[int, StudioWidget] = {}
        self.tabs = ipywidgets.Tab(children=[ipywidgets.VBox() for _ in STEPS])
        self.tabs.titles = tuple(name for name, _ in STEPS)
        super().__init__(children=[self.header, self.tabs])
        self.tabs.observe(lambda change: self.show_step(change["new"]), names="selected_index")
        self.header.observe(lambda change: self.show_step(change["new"]), names="current")
        self.header.observe(lambda _change: self._titles(), names="steps")
        self._titles()
        self.show_step(0)

    def show_step(self, step: int | None) -> StudioWidget | None:
        """Show step ``step`` (0 is the session), making its widget on first use."""
        if step is None:
            return None
        if step not in self.pages:
            _, make = STEPS[step]
            page = make(self.header.project_id, **self._kwargs)
            self.pages[step] = page
            self.tabs.children[step].children = (page,)
        if self.tabs.selected_index != step:
            self.tabs.selected_index = step
        if self.header.current != step:
            self.header.current = step
        return self.pages[step]

    def _titles(self) -> None:
        marks = {True: "✓ ", False: ""}
        self.tabs.titles = tuple(
            f"{i + 1}. {marks[bool(s.get('done'))]}{s['name']}"
            for i, s in enumerate(self.header.steps)
        ) or tuple(name for name, _ in STEPS)

    def close(self) -> None:
        for page in self.pages.values():
            page.close()
        self.header.close()
        super().close()
