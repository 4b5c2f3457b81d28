"""The render monitor: the project's jobs with their progress, stage, speed and time left, a log
tail, cancel and retry; and its renders, which play in place and can be downloaded. Without a
project it is the gallery: every project's renders and jobs (those the caller may see)."""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Any

import traitlets

from studio.errors import InvalidInput
from studio.ui._base import StudioWidget

__all__ = ["RenderMonitor"]

LOG_LINES = 8
"""Progress messages kept per job for its log tail."""
SHOWN_JOBS = 30


class RenderMonitor(StudioWidget):
    """Jobs and renders of a project, live: ``RenderMonitor("Night Drive")``; of every project
    with ``RenderMonitor(None)``."""

    front = "monitor"
    listens = ("job.created", "job.updated", "render.")
    across_projects = True

    jobs = traitlets.List(traitlets.Dict()).tag(sync=True)
    renders = traitlets.List(traitlets.Dict()).tag(sync=True)

    def __init__(self, project: Any, **kwargs: Any) -> None:
        self._logs: dict[str, deque[str]] = {}
        self._projects: dict[str, str] = {}
        """Project names by id, for the rows (the gallery shows several projects)."""
        super().__init__(project, **kwargs)

    async def load(self) -> None:
        jobs = await self.client.jobs(project_id=self.project_id or None, limit=SHOWN_JOBS)
        if self.project_id:
            self._projects = {self.project_id: self.project_name}
        else:
            self._projects = {p.id: p.name for p in await self.client.list_projects()}
        found = await asyncio.gather(*(self.client.renders(pid) for pid in self._projects))
        renders = [_render_row(r, self._projects[r["project_id"]]) for each in found for r in each]
        renders.sort(key=lambda r: str(r["created_at"]), reverse=True)
        with self.hold_sync():
            self.jobs = [self._row(job.model_dump(mode="json")) for job in jobs]
            self.renders = renders

    def on_event(self, event: dict[str, Any]) -> None:
        if event.get("type") != "job.progress":  # progress patches its row: no reload
            return
        data = event.get("data") or {}
        if not isinstance(data, dict) or "id" not in data:
            return
        row = self._row(data)
        self.jobs = [row if j["id"] == row["id"] else j for j in self.jobs]

    def _row(self, job: dict[str, Any]) -> dict[str, Any]:
        log = self._logs.setdefault(job["id"], deque(maxlen=LOG_LINES))
        message = job.get("message") or ""
        if message and (not log or log[-1] != message):
            log.append(message)
        error = job.get("error") or {}
        return {
            "id": job["id"],
            "kind": job["kind"],
            "status": job["status"],
            "stage": job.get("stage") or "",
            "progress": job.get("progress") or 0.0,
            "message": message,
            "attempts": job.get("attempts", 0),
            "error": " ".join(str(error.get(k)) for k in ("message", "hint") if error.get(k)),
            "created_at": job.get("created_at"),
            "project": self._projects.get(job.get("project_id") or "", ""),
            "log": list(log),
        }

    def media_keys(self) -> set[tuple[str, str]]:
        return {(r["sha"], "video") for r in self.renders if r["sha"]}

    async def _act_cancel(self, content: dict[str, Any]) -> None:
        await self.client.cancel_job(self._job(content.get("job")))

    async def _act_retry(self, content: dict[str, Any]) -> None:
        await self.client.retry_job(self._job(content.get("job")))

    def _job(self, job: Any) -> str:
        if not any(j["id"] == job for j in self.jobs):
            raise InvalidInput(
                f"job {str(job)[:40]!r} is not one of this project's jobs",
                hint="use a job from the monitor",
            )
        return str(job)


def _render_row(render: dict[str, Any], project: str) -> dict[str, Any]:
    settings = render.get("settings") or {}
    checks = render.get("verification") or {}
    return {
        "id": render["id"],
        "status": render["status"],
        "sha": render.get("asset_sha256"),
        "aspect": settings.get("aspect", ""),
        "resolution": settings.get("resolution", 0),
        "fps": settings.get("fps", 0),
        "container": settings.get("container", "mp4"),
        "duration": checks.get("duration"),
        "created_at": render.get("created_at"),
        "project": project,
    }
