"""Jobs: anything that takes longer than a widget callback may, as a row with a status."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import Field

from studio.errors import IllegalTransition
from studio.model._base import StudioModel, new_id, utcnow

__all__ = ["Job", "JobStatus"]


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def finished(self) -> bool:
        return self in (JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED)


_MOVES: dict[JobStatus, frozenset[JobStatus]] = {
    JobStatus.QUEUED: frozenset({JobStatus.RUNNING, JobStatus.CANCELLED}),
    # back to queued: a retry after a retryable error, or a resume after the engine stopped
    JobStatus.RUNNING: frozenset(
        {JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED, JobStatus.QUEUED}
    ),
    JobStatus.SUCCEEDED: frozenset(),
    JobStatus.FAILED: frozenset({JobStatus.QUEUED}),
    JobStatus.CANCELLED: frozenset({JobStatus.QUEUED}),
}


class Job(StudioModel):
    id: str = Field(default_factory=lambda: new_id("job"))
    project_id: str | None = None
    kind: str = Field(pattern=r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$", max_length=64)
    params: dict[str, Any] = Field(default_factory=dict)
    fingerprint: str
    status: JobStatus = JobStatus.QUEUED
    stage: str = ""
    progress: float = Field(default=0.0, ge=0, le=1)
    message: str = ""
    attempts: int = Field(default=0, ge=0)
    max_attempts: int = Field(default=3, ge=1)
    created_at: datetime = Field(default_factory=utcnow)
    started_at: datetime | None = None
    finished_at: datetime | None = None
    heartbeat_at: datetime | None = None
    not_before: datetime | None = None
    """A retry waits until then (exponential backoff with jitter)."""
    result: dict[str, Any] | None = None
    error: dict[str, Any] | None = None

    def moved_to(self, status: JobStatus, **changes: Any) -> Job:
        """The job in ``status``; refuses a move the lifecycle does not allow."""
        if status not in _MOVES[self.status]:
            raise IllegalTransition(
                f"job {self.id} is {self.status.value}; it cannot become {status.value}",
                hint="only failed or cancelled jobs can be retried"
                if status is JobStatus.QUEUED
                else None,
            )
        now = utcnow()
        update: dict[str, Any] = {"status": status} | changes
        if status is JobStatus.RUNNING:
            update.setdefault("started_at", now)
            update.setdefault("heartbeat_at", now)
        if status.finished:
            update.setdefault("finished_at", now)
        return self.model_copy(update=update)
