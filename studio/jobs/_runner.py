"""The job runner: one per engine, on the engine's event loop.

Status is owned here and only here. The runner claims queued jobs in order of arrival while
their kind has a free slot, runs each as an asyncio task, and writes the outcome. Retryable
errors go back to the queue with exponential backoff and full jitter (or the provider's
``retry_after``). Progress is kept in memory and written, with a heartbeat, about once a second.
On start, jobs a crash left ``running`` are queued again: their finished stages are cached by
fingerprint, so they redo only what is missing.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import random
import shutil
from collections.abc import Callable, Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

from studio.errors import IllegalTransition, InvalidInput, StudioError
from studio.jobs._context import JobContext
from studio.jobs._handler import JobHandler
from studio.model import Job, JobStatus, fingerprint, utcnow
from studio.store import AssetStore, StoreWorker, Tx

__all__ = ["JobRunner"]

log = logging.getLogger("studio.jobs")

Publish = Callable[[str, dict[str, Any], str | None], object]

_CLAIM_PATIENCE = 5.0
"""Seconds a cancel waits for the task of a job it finds running without one. The dispatcher
starts a task in the pass of the loop its claim commits in, and a run leaves the runner only
once its end is committed; a job running with no task for longer was left by a run that could
not record its end, and the cancel ends it in the store."""


def _cancel_waiting(tx: Tx, job_id: str, *, orphan: bool) -> Job | None:
    """Cancel the job in the store unless it is running (claimed since it was looked at: its
    task is starting) and not an ``orphan`` (running with no task, see ``_CLAIM_PATIENCE``)."""
    current = tx.jobs.get(job_id)
    if current.status is JobStatus.RUNNING and not orphan:
        return None
    return tx.jobs.replace(current.moved_to(JobStatus.CANCELLED, message="cancelled"))


def backoff(attempt: int, *, base: float = 1.0, cap: float = 60.0) -> float:
    """Full-jitter exponential backoff: a random wait up to base * 2^(attempt-1), capped."""
    return random.uniform(0, min(cap, base * 2 ** max(0, attempt - 1)))


class JobRunner:
    def __init__(
        self,
        store: StoreWorker,
        assets: AssetStore,
        handlers: Mapping[str, JobHandler],
        publish: Publish,
        workdir: Path,
        *,
        flush_interval: float = 1.0,
        heartbeat_interval: float = 5.0,
        backoff_base: float = 1.0,
    ) -> None:
        self.store, self.assets, self.handlers = store, assets, dict(handlers)
        self.publish, self.workdir = publish, workdir
        self.flush_interval, self.heartbeat_interval = flush_interval, heartbeat_interval
        self.backoff_base = backoff_base
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._contexts: dict[str, JobContext] = {}
        self._dirty: set[str] = set()
        self._last_beat: dict[str, float] = {}
        self._cancel_asked: set[str] = set()
        # a run's phase: launched (its task has not begun), running, or ending (its end is
        # being recorded: a cancel or a stop waits for it instead of cutting it short)
        self._phase: dict[str, str] = {}
        self._wake = asyncio.Event()
        self._stopping = False
        self._loops: list[asyncio.Task[None]] = []

    # ---- lifecycle --------------------------------------------------------------------------

    async def start(self) -> int:
        """Queue again what a crash left running, then start dispatching. Returns how many."""
        self.workdir.mkdir(parents=True, exist_ok=True)

        def requeue(tx: Tx) -> list[Job]:
            out = []
            for job in tx.jobs.query(status=[JobStatus.RUNNING], limit=10_000):
                moved = job.moved_to(JobStatus.QUEUED, message="resumed after the engine restarted")
                out.append(tx.jobs.replace(moved))
            return out

        resumed = await self.store.write(requeue)
        for job in resumed:
            self._emit(job)
        self._loops = [
            asyncio.create_task(self._dispatch_loop(), name="studio-dispatch"),
            asyncio.create_task(self._flush_loop(), name="studio-flush"),
        ]
        return len(resumed)

    async def stop(self) -> None:
        """Stop dispatching; running jobs go back to the queue to resume on the next start."""
        self._stopping = True
        self._wake.set()
        dispatch, others = self._loops[:1], self._loops[1:]
        await asyncio.gather(*dispatch, return_exceptions=True)  # ends after its current pass
        for job_id, task in list(self._tasks.items()):
            if self._phase.get(job_id) == "running":  # one not begun goes back as it begins
                task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks.values(), return_exceptions=True)
        for loop_task in others:
            loop_task.cancel()
        await asyncio.gather(*others, return_exceptions=True)

    # ---- requests ---------------------------------------------------------------------------

    async def submit(
        self,
        kind: str,
        params: dict[str, Any],
        *,
        project_id: str | None = None,
        force: bool = False,
    ) -> Job:
        """Queue a job; a queued or running job with the same inputs is returned instead."""
        handler = self.handlers.get(kind)
        if handler is None:
            raise InvalidInput(
                f"no job kind {kind!r}", hint=f"known kinds: {', '.join(sorted(self.handlers))}"
            )
        checked = handler.check(dict(params))
        fp = fingerprint({"kind": kind, "params": checked, "project": project_id})
        job = Job(
            kind=kind,
            params=checked,
            project_id=project_id,
            fingerprint=fp,
            max_attempts=handler.max_attempts,
        )

        def add(tx: Tx) -> tuple[Job, bool]:  # the insert refuses an unknown project
            existing = None if force else tx.jobs.active_with(fp)
            if existing is not None and existing.id in self._cancel_asked:
                existing = None  # it is being cancelled: the new request is work of its own
            return (existing, False) if existing else (tx.jobs.insert(job), True)

        stored, created = await self.store.write(add)
        if created:
            self._emit(stored, "job.created")
            self._wake.set()
        return stored

    async def cancel(self, job_id: str) -> Job:
        """Stop a running job, or take a waiting one off the queue: either way it ends
        cancelled, also when the dispatcher is taking it at that very moment."""
        loop = asyncio.get_running_loop()
        patience = loop.time() + _CLAIM_PATIENCE
        while True:
            task = self._tasks.get(job_id)
            if task is not None:
                return await self._cancel_task(job_id, task)
            orphan = loop.time() > patience
            moved = await self.store.write(
                functools.partial(_cancel_waiting, job_id=job_id, orphan=orphan)
            )
            if moved is not None:
                self._emit(moved)
                return moved
            await asyncio.sleep(0.01)

    async def _cancel_task(self, job_id: str, task: asyncio.Task[None]) -> Job:
        """Cancel a run once, however many ask, and answer each with the end it recorded. A
        task that has not begun is not cancelled (it would never run its own end): it ends
        cancelled as it begins. One that is ending is left to end."""
        if job_id not in self._cancel_asked:
            self._cancel_asked.add(job_id)
            if self._phase.get(job_id) == "running":
                task.cancel()
        await asyncio.wait({task})  # not gather: a caller that goes away cancels no job
        return await self.store.read(lambda tx: tx.jobs.get(job_id))

    async def retry(self, job_id: str) -> Job:
        """Queue a failed or cancelled job again, from its first attempt."""

        def requeue(tx: Tx) -> Job:
            job = tx.jobs.get(job_id)
            if job.status not in (JobStatus.FAILED, JobStatus.CANCELLED):
                # a running one would be queued beside its own run, and run twice
                raise IllegalTransition(
                    f"job {job.id} is {job.status.value}; it cannot be retried",
                    hint="only failed or cancelled jobs can be retried",
                )
            twin = tx.jobs.active_with(job.fingerprint)
            if twin is not None:  # the same work asked for again since: it would run twice
                raise IllegalTransition(
                    f"job {job.id}'s work is already {twin.status.value} as job {twin.id}",
                    hint=f"follow job {twin.id}, or cancel it first",
                )
            moved = job.moved_to(
                JobStatus.QUEUED, attempts=0, error=None, not_before=None, message="retry requested"
            )
            return tx.jobs.replace(moved)

        job = await self.store.write(requeue)
        self._emit(job)
        self._wake.set()
        return job

    def running(self) -> list[str]:
        return list(self._tasks)

    # ---- dispatch ---------------------------------------------------------------------------

    async def _dispatch_loop(self) -> None:
        while not self._stopping:
            self._wake.clear()  # before the pass: a wake-up during it is not lost
            delay = await self._dispatch_once()
            if self._stopping:
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=delay)

    async def _dispatch_once(self) -> float:
        """Start what can start; returns how long to sleep before looking again."""
        busy: dict[str, int] = {}
        for ctx in self._contexts.values():
            busy[ctx.job.kind] = busy.get(ctx.job.kind, 0) + 1
        queued = await self.store.read(lambda tx: tx.jobs.runnable())
        now = utcnow()
        sleep = 5.0
        for job in queued:
            if self._stopping:
                break
            handler = self.handlers.get(job.kind)
            if handler is None or job.id in self._tasks:
                continue
            if job.not_before and job.not_before > now:
                sleep = min(sleep, (job.not_before - now).total_seconds())
                continue
            if busy.get(job.kind, 0) >= handler.concurrency:
                continue
            claimed = await self._claim(job.id)
            if claimed is None:
                continue
            busy[job.kind] = busy.get(job.kind, 0) + 1
            self._launch(claimed, handler)
        return max(0.01, sleep)

    async def _claim(self, job_id: str) -> Job | None:
        def claim(tx: Tx) -> Job | None:
            job = tx.jobs.get(job_id)
            if job.status is not JobStatus.QUEUED:
                return None
            return tx.jobs.replace(
                job.moved_to(
                    JobStatus.RUNNING, attempts=job.attempts + 1, not_before=None, error=None
                )
            )

        job = await self.store.write(claim)
        if job is not None:
            self._emit(job)
        return job

    def _launch(self, job: Job, handler: JobHandler) -> None:
        self._phase[job.id] = "launched"
        ctx = JobContext(
            job,
            store=self.store,
            assets=self.assets,
            workdir=self.workdir / job.id,
            on_change=self._changed,
            publish=self.publish,
            backoff_base=self.backoff_base,
        )
        self._contexts[job.id] = ctx
        self._tasks[job.id] = asyncio.create_task(self._execute(ctx, handler), name=f"job-{job.id}")

    def _changed(self, ctx: JobContext) -> None:
        self._dirty.add(ctx.job.id)

    # ---- execution --------------------------------------------------------------------------

    async def _execute(self, ctx: JobContext, handler: JobHandler) -> None:
        """Run the job and record its end; it leaves the runner's books only once that end
        is committed, so a cancel, a stop or a submit never sees it running with no run."""
        job = ctx.job
        try:
            outcome = await self._outcome(ctx, handler)
            self._phase[job.id] = "ending"
            if outcome["status"] is not JobStatus.QUEUED:  # ended: its scratch files go
                await asyncio.to_thread(shutil.rmtree, ctx.workdir, True)
            await self._finish(job.id, ctx, outcome)
        finally:
            self._forget(job.id)
        self._wake.set()

    async def _outcome(self, ctx: JobContext, handler: JobHandler) -> dict[str, Any]:
        job = ctx.job
        outcome: dict[str, Any]
        self._phase[job.id] = "running"
        try:
            if job.id in self._cancel_asked or self._stopping:  # before its task began
                raise asyncio.CancelledError
            ctx.workdir.mkdir(parents=True, exist_ok=True)
            result = await handler.run(ctx)
            outcome = {"status": JobStatus.SUCCEEDED, "result": result, "progress": 1.0}
        except asyncio.CancelledError:
            if job.id in self._cancel_asked:
                outcome = {"status": JobStatus.CANCELLED, "message": "cancelled"}
            else:  # the engine is stopping: resume on the next start
                outcome = {
                    "status": JobStatus.QUEUED,
                    "message": "will resume when the engine starts",
                }
        except StudioError as exc:
            outcome = self._after_error(
                job, exc.to_payload(), exc.retryable, exc.details.get("retry_after")
            )
        except Exception as exc:
            log.exception("job %s (%s) crashed", job.id, job.kind)
            payload = {
                "type": "StudioError",
                "message": f"{type(exc).__name__}: {exc}",
                "hint": "see engine.log",
            }
            outcome = self._after_error(job, payload, retryable=False, retry_after=None)
        return outcome

    def _forget(self, job_id: str) -> None:
        self._tasks.pop(job_id, None)
        self._phase.pop(job_id, None)
        self._contexts.pop(job_id, None)
        self._dirty.discard(job_id)
        self._cancel_asked.discard(job_id)
        self._last_beat.pop(job_id, None)

    def _after_error(
        self, job: Job, payload: dict[str, Any], retryable: bool, retry_after: Any
    ) -> dict[str, Any]:
        if retryable and job.attempts < job.max_attempts:
            wait = (
                float(retry_after)
                if retry_after is not None
                else backoff(job.attempts, base=self.backoff_base)
            )
            return {
                "status": JobStatus.QUEUED,
                "error": payload,
                "not_before": utcnow() + timedelta(seconds=wait),
                "message": f"retrying in {wait:.1f} s: {payload['message']}",
            }
        return {"status": JobStatus.FAILED, "error": payload, "message": payload["message"]}

    async def _finish(self, job_id: str, ctx: JobContext, outcome: dict[str, Any]) -> None:
        status = outcome.pop("status")

        def write(tx: Tx) -> Job:
            current = tx.jobs.get(job_id)
            fields = {
                "stage": ctx.stage_name,
                "progress": ctx.fraction,
                "message": ctx.message,
            } | outcome
            return tx.jobs.replace(current.moved_to(status, **fields))

        try:
            job = await self.store.write(write)
        except StudioError:
            log.exception("could not record the end of job %s", job_id)
            return
        self._emit(job)

    async def _flush_loop(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(self.flush_interval)
            now = loop.time()
            due = set(self._dirty)
            due |= {
                j
                for j in self._contexts
                if now - self._last_beat.get(j, 0) >= self.heartbeat_interval
            }
            self._dirty.clear()
            for job_id in due:
                ctx = self._contexts.get(job_id)
                if ctx is None:
                    continue
                self._last_beat[job_id] = now
                await self._write_progress(ctx)

    async def _write_progress(self, ctx: JobContext) -> None:
        def write(tx: Tx) -> Job | None:
            current = tx.jobs.find(ctx.job.id)
            if current is None or current.status is not JobStatus.RUNNING:
                return None
            return tx.jobs.replace(
                current.model_copy(
                    update={
                        "stage": ctx.stage_name,
                        "progress": ctx.fraction,
                        "message": ctx.message,
                        "heartbeat_at": utcnow(),
                    }
                )
            )

        try:
            job = await self.store.write(write)
        except StudioError:
            return
        if job is not None:
            self._emit(job, "job.progress")

    def _emit(self, job: Job, kind: str = "job.updated") -> None:
        self.publish(kind, job.model_dump(mode="json"), job.project_id)
