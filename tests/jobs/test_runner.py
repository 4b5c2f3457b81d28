from __future__ import annotations

import asyncio
import os
import shutil
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from studio.errors import ContentRejected, IllegalTransition, RateLimited
from studio.jobs import JobContext, JobHandler, JobRunner, backoff
from studio.model import Job, JobStatus, fingerprint
from studio.store import AssetStore, Database, StoreWorker


class Flaky(JobHandler):
    """Rate-limited twice, then fine."""

    kind = "test.flaky"
    max_attempts = 3

    def __init__(self, failures: int = 2) -> None:
        self.failures = failures
        self.calls = 0

    def check(self, params: dict[str, Any]) -> dict[str, Any]:
        return params

    async def run(self, ctx: JobContext) -> dict[str, Any]:
        self.calls += 1
        if self.calls <= self.failures:
            raise RateLimited("slow down", retry_after=0.01 if self.calls == 1 else None)
        return {"calls": self.calls}


class Refused(JobHandler):
    kind = "test.refused"

    async def run(self, ctx: JobContext) -> dict[str, Any]:
        raise ContentRejected("the provider refused", reason="safety")


class Sleeper(JobHandler):
    """Runs a real subprocess that would sleep for a minute."""

    kind = "test.sleeper"

    def __init__(self) -> None:
        self.pid_file: Path | None = None

    def check(self, params: dict[str, Any]) -> dict[str, Any]:
        return params

    async def run(self, ctx: JobContext) -> dict[str, Any]:
        script = "import os, sys, time; print(os.getpid(), flush=True); time.sleep(60)"
        self.pid_file = ctx.workdir / "pid"

        def on_line(line: str) -> None:
            assert self.pid_file is not None
            self.pid_file.write_text(line.strip())

        await ctx.run_process([sys.executable, "-c", script], on_line=on_line)
        return {}


class Counting(JobHandler):
    kind = "test.counting"
    concurrency = 2

    def __init__(self) -> None:
        self.now = 0
        self.peak = 0

    def check(self, params: dict[str, Any]) -> dict[str, Any]:
        return params

    async def run(self, ctx: JobContext) -> dict[str, Any]:
        self.now += 1
        self.peak = max(self.peak, self.now)
        for i in range(100):
            ctx.progress(i / 100, f"step {i}")
            await asyncio.sleep(0.002)
        self.now -= 1
        return {"n": ctx.params["n"]}


class Staged(JobHandler):
    kind = "test.staged"

    def __init__(self) -> None:
        self.done: list[int] = []
        self.crash_after: int | None = None

    def check(self, params: dict[str, Any]) -> dict[str, Any]:
        return params

    async def run(self, ctx: JobContext) -> dict[str, Any]:
        for i in range(5):

            async def work(i: int = i) -> dict[str, int]:
                self.done.append(i)
                return {"i": i}

            await ctx.once("step", {"i": i}, work)
            if self.crash_after is not None and i == self.crash_after:
                await asyncio.sleep(3600)  # still working when the engine stops
        return {"reused": ctx.reused}


Handlers = dict[str, JobHandler]


def run_with(
    tmp_path: Path, handlers: Handlers, body: Callable[[JobRunner], Awaitable[Any]]
) -> tuple[Any, list[tuple[str, dict[str, Any]]]]:
    events: list[tuple[str, dict[str, Any]]] = []
    worker = StoreWorker(Database(tmp_path / "s.duckdb"))

    async def main() -> Any:
        runner = JobRunner(
            worker,
            AssetStore(tmp_path / "assets"),
            handlers,
            lambda k, d, p: events.append((k, d)),
            tmp_path / "work",
            flush_interval=0.02,
            backoff_base=0.01,
        )
        await runner.start()
        try:
            return await body(runner)
        finally:
            await runner.stop()

    try:
        return asyncio.run(main()), events
    finally:
        worker.close()


async def until_finished(runner: JobRunner, job_id: str, timeout: float = 20) -> Job:
    async def poll() -> Job:
        while True:
            job = await runner.store.read(lambda tx: tx.jobs.get(job_id))
            if job.status.finished:
                return job
            await asyncio.sleep(0.01)

    return await asyncio.wait_for(poll(), timeout)


def test_retryable_errors_are_retried_with_backoff(tmp_path: Path) -> None:
    flaky = Flaky(failures=2)

    async def body(runner: JobRunner) -> Job:
        job = await runner.submit("test.flaky", {})
        return await until_finished(runner, job.id)

    job, events = run_with(tmp_path, {"test.flaky": flaky}, body)
    assert job.status is JobStatus.SUCCEEDED and job.result == {"calls": 3}
    assert job.attempts == 3
    retries = [d for k, d in events if d["status"] == "queued" and d["error"]]
    assert len(retries) == 2 and "retrying in" in retries[0]["message"]


def test_retries_stop_at_max_attempts(tmp_path: Path) -> None:
    async def body(runner: JobRunner) -> Job:
        job = await runner.submit("test.flaky", {})
        return await until_finished(runner, job.id)

    job, _ = run_with(tmp_path, {"test.flaky": Flaky(failures=10)}, body)
    assert job.status is JobStatus.FAILED and job.attempts == 3
    assert job.error is not None and job.error["type"] == "RateLimited"


def test_a_refusal_fails_at_once_with_the_reason(tmp_path: Path) -> None:
    async def body(runner: JobRunner) -> Job:
        job = await runner.submit("test.refused", {})
        return await until_finished(runner, job.id)

    job, _ = run_with(tmp_path, {"test.refused": Refused()}, body)
    assert job.status is JobStatus.FAILED and job.attempts == 1
    assert job.error == {
        "type": "ContentRejected",
        "message": "the provider refused",
        "hint": None,
        "details": {"reason": "safety"},
    }


def test_cancel_kills_the_subprocess(tmp_path: Path) -> None:
    sleeper = Sleeper()

    async def body(runner: JobRunner) -> tuple[Job, int]:
        job = await runner.submit("test.sleeper", {})
        while (
            sleeper.pid_file is None
            or not sleeper.pid_file.exists()
            or not sleeper.pid_file.read_text()
        ):
            await asyncio.sleep(0.01)
        pid = int(sleeper.pid_file.read_text())
        cancelled = await runner.cancel(job.id)
        return cancelled, pid

    (job, pid), _ = run_with(tmp_path, {"test.sleeper": sleeper}, body)
    assert job.status is JobStatus.CANCELLED
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_a_queued_job_can_be_cancelled_and_retried(tmp_path: Path) -> None:
    counting = Counting()

    async def body(runner: JobRunner) -> tuple[Job, Job]:
        jobs = [await runner.submit("test.counting", {"n": n}) for n in range(4)]
        cancelled = await runner.cancel(jobs[3].id)
        retried = await runner.retry(jobs[3].id)
        return cancelled, await until_finished(runner, retried.id)

    (cancelled, finished), _ = run_with(tmp_path, {"test.counting": counting}, body)
    assert cancelled.status is JobStatus.CANCELLED
    assert finished.status is JobStatus.SUCCEEDED


class Waiting(JobHandler):
    """Works until it is cancelled; counts the runs that began and the ones still going."""

    kind = "test.waiting"

    def __init__(self, linger: float = 0.0) -> None:
        self.began = 0
        self.going = 0
        self.linger = linger  # how long its clean-up takes once cancelled

    def check(self, params: dict[str, Any]) -> dict[str, Any]:
        return params

    async def run(self, ctx: JobContext) -> dict[str, Any]:
        self.began += 1
        self.going += 1
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            await asyncio.sleep(self.linger)
            raise
        finally:
            self.going -= 1
        return {}


@pytest.mark.parametrize("when", ["while it is claimed", "as its task starts"])
def test_a_cancel_that_meets_the_dispatcher_ends_the_job(tmp_path: Path, when: str) -> None:
    """A cancel that comes as the dispatcher takes the job (the Cancel button pressed right
    after Retry) ends it: the job is cancelled in the store and no run of it goes on."""
    waiting = Waiting()

    async def body(runner: JobRunner) -> tuple[list[Job], Job, int]:
        cancels: list[asyncio.Future[Job]] = []
        claim = runner._claim  # the dispatcher's step between reading the queue and starting

        async def claim_meeting_a_cancel(job_id: str) -> Job | None:
            if when == "while it is claimed":  # the cancel looks before the claim commits
                cancels.append(asyncio.ensure_future(runner.cancel(job_id)))
            claimed = await claim(job_id)
            if when == "as its task starts":  # two cancels run before the task's first step
                cancels.extend(asyncio.ensure_future(runner.cancel(job_id)) for _ in range(2))
            return claimed

        runner._claim = claim_meeting_a_cancel  # type: ignore[method-assign]
        job = await runner.submit("test.waiting", {})
        while not cancels:
            await asyncio.sleep(0.01)
        answered = [await asyncio.wait_for(c, 10) for c in cancels]
        await asyncio.sleep(0.2)  # time for a run the cancel missed to show itself
        stored = await runner.store.read(lambda tx: tx.jobs.get(job.id))
        return answered, stored, len(runner.running())

    (answered, stored, running), events = run_with(tmp_path, {"test.waiting": waiting}, body)
    assert [a.status for a in answered] == [JobStatus.CANCELLED] * len(answered)
    assert stored.status is JobStatus.CANCELLED
    assert running == 0 and waiting.going == 0
    assert [d["status"] for k, d in events if k == "job.updated"][-1] == "cancelled"


def test_only_an_ended_job_that_did_not_succeed_can_be_retried(tmp_path: Path) -> None:
    """Retry is for a failed or cancelled job: a running one would be queued beside its own
    run and run twice, a queued or succeeded one has nothing to retry."""
    waiting = Waiting()

    async def body(runner: JobRunner) -> tuple[list[str], Job]:
        job = await runner.submit("test.waiting", {})
        while not waiting.going:
            await asyncio.sleep(0.01)
        refusals = []
        with pytest.raises(IllegalTransition) as running:
            await runner.retry(job.id)
        refusals.append(str(running.value))
        assert (await runner.store.read(lambda tx: tx.jobs.get(job.id))).status.value == "running"
        await runner.cancel(job.id)
        retried = await runner.retry(job.id)  # a cancelled job can be
        return refusals, retried

    (refusals, retried), _ = run_with(tmp_path, {"test.waiting": waiting}, body)
    assert "running" in refusals[0] and "only failed or cancelled jobs" in refusals[0]
    assert retried.status is JobStatus.QUEUED and waiting.began >= 1


class Quick(JobHandler):
    kind = "test.quick"

    def __init__(self) -> None:
        self.done = False

    def check(self, params: dict[str, Any]) -> dict[str, Any]:
        return params

    async def run(self, ctx: JobContext) -> dict[str, Any]:
        self.done = True
        return {"answer": 42}


@pytest.mark.parametrize("then", ["cancel", "stop"])
def test_a_run_that_is_ending_keeps_its_end(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, then: str
) -> None:
    """A cancel or an engine stop that comes while a finished run clears its scratch files
    (slow on a busy machine) waits for the run to record its end: it is neither turned into
    a cancel nor left running to be run again."""
    real = shutil.rmtree

    def slow(path: Any, *args: Any, **kw: Any) -> None:
        time.sleep(0.5)
        real(path, *args, **kw)

    monkeypatch.setattr(shutil, "rmtree", slow)
    monkeypatch.setattr("studio.jobs._runner._CLAIM_PATIENCE", 0.05)
    quick = Quick()

    async def body(runner: JobRunner) -> tuple[Job | None, Job]:
        job = await runner.submit("test.quick", {})
        while not quick.done:
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.05)  # the run is clearing its files now
        answered = await runner.cancel(job.id) if then == "cancel" else None
        if then == "stop":
            await runner.stop()
        return answered, await runner.store.read(lambda tx: tx.jobs.get(job.id))

    (answered, stored), _ = run_with(tmp_path, {"test.quick": quick}, body)
    assert stored.status is JobStatus.SUCCEEDED and stored.result == {"answer": 42}
    if answered is not None:
        assert answered.status is JobStatus.SUCCEEDED


def test_the_same_work_asked_for_while_a_cancel_ends_it_is_new_work(tmp_path: Path) -> None:
    """A submit that comes while a cancelled run is still cleaning up is not answered with
    that run (it would end cancelled); a retry of a cancelled job whose work was asked for
    again since is refused (it would run twice)."""
    waiting = Waiting(linger=0.3)

    async def body(runner: JobRunner) -> tuple[Job, Job, Job, str]:
        first = await runner.submit("test.waiting", {"n": 1})
        while not waiting.going:
            await asyncio.sleep(0.01)
        cancelling = asyncio.ensure_future(runner.cancel(first.id))
        await asyncio.sleep(0.1)  # its clean-up is under way
        again = await runner.submit("test.waiting", {"n": 1})
        cancelled = await cancelling
        with pytest.raises(IllegalTransition) as refused:
            await runner.retry(first.id)
        later = await runner.store.read(lambda tx: tx.jobs.get(again.id))
        return cancelled, again, later, str(refused.value)

    (cancelled, again, later, refusal), _ = run_with(tmp_path, {"test.waiting": waiting}, body)
    assert cancelled.status is JobStatus.CANCELLED
    assert again.id != cancelled.id and later.status is JobStatus.RUNNING
    assert again.id in refusal


def test_concurrency_per_kind_and_progress_is_coalesced(tmp_path: Path) -> None:
    counting = Counting()

    async def body(runner: JobRunner) -> list[Job]:
        jobs = [await runner.submit("test.counting", {"n": n}) for n in range(5)]
        return [await until_finished(runner, j.id) for j in jobs]

    jobs, events = run_with(tmp_path, {"test.counting": counting}, body)
    assert all(j.status is JobStatus.SUCCEEDED for j in jobs)
    assert counting.peak == 2
    progress_events = [d for k, d in events if k == "job.progress"]
    # 500 progress calls in all; the store and the stream saw far fewer
    assert 0 < len(progress_events) < 100


def test_same_inputs_are_not_queued_twice(tmp_path: Path) -> None:
    async def body(runner: JobRunner) -> tuple[Job, Job, Job]:
        a = await runner.submit("test.counting", {"n": 1})
        b = await runner.submit("test.counting", {"n": 1})
        c = await runner.submit("test.counting", {"n": 1}, force=True)
        return a, b, c

    (a, b, c), _ = run_with(tmp_path, {"test.counting": Counting()}, body)
    assert a.id == b.id != c.id
    assert a.fingerprint == fingerprint(
        {"kind": "test.counting", "params": {"n": 1}, "project": None}
    )


def test_a_stopped_job_resumes_and_redoes_only_missing_stages(tmp_path: Path) -> None:
    staged = Staged()
    staged.crash_after = 2

    async def first(runner: JobRunner) -> str:
        job = await runner.submit("test.staged", {})
        while len(staged.done) < 3:
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.05)
        return job.id

    job_id, _ = run_with(tmp_path, {"test.staged": staged}, first)
    worker = StoreWorker(Database(tmp_path / "s.duckdb"))
    left = asyncio.run(worker.read(lambda tx: tx.jobs.get(job_id)))
    worker.close()
    assert left.status is JobStatus.QUEUED  # the engine stopped it; it waits to resume
    staged.crash_after = None

    async def second(runner: JobRunner) -> Job:
        return await until_finished(runner, job_id)

    job, _ = run_with(tmp_path, {"test.staged": staged}, second)
    assert job.status is JobStatus.SUCCEEDED
    assert staged.done == [0, 1, 2, 3, 4]  # 0-2 not done again
    assert job.result == {"reused": 3}


def test_jobs_left_running_by_a_crash_are_queued_on_start(tmp_path: Path) -> None:
    db = Database(tmp_path / "s.duckdb")
    job = Job(kind="test.counting", params={"n": 7}, fingerprint="f")
    with db.transaction() as tx:
        tx.jobs.insert(job.moved_to(JobStatus.RUNNING, attempts=1))
    db.close()

    async def body(runner: JobRunner) -> Job:
        return await until_finished(runner, job.id)

    done, events = run_with(tmp_path, {"test.counting": Counting()}, body)
    assert done.status is JobStatus.SUCCEEDED and done.attempts == 2
    assert any(d["message"] == "resumed after the engine restarted" for _, d in events)


def test_backoff_has_full_jitter_under_a_cap() -> None:
    waits = [backoff(n, base=1.0, cap=8.0) for n in range(1, 8) for _ in range(50)]
    assert all(0 <= w <= 8.0 for w in waits)
    assert max(backoff(1, base=1.0) for _ in range(200)) <= 1.0
    assert len({round(w, 6) for w in waits}) > 100


class Quiet(JobHandler):
    """Works for a while without reporting progress."""

    kind = "test.quiet"

    async def run(self, ctx: JobContext) -> dict[str, Any]:
        await asyncio.sleep(0.5)
        return {}


def test_a_running_job_beats_even_when_it_reports_nothing(tmp_path: Path) -> None:
    events: list[dict[str, Any]] = []
    worker = StoreWorker(Database(tmp_path / "s.duckdb"))

    async def main() -> None:
        runner = JobRunner(
            worker,
            AssetStore(tmp_path / "assets"),
            {"test.quiet": Quiet()},
            lambda k, d, p: events.append(d),
            tmp_path / "work",
            flush_interval=0.02,
            heartbeat_interval=0.1,
        )
        await runner.start()
        job = await runner.submit("test.quiet", {})
        await until_finished(runner, job.id)
        await runner.stop()

    asyncio.run(main())
    worker.close()
    beats = sorted({d["heartbeat_at"] for d in events if d["status"] == "running"})
    assert len(beats) >= 4  # claimed, then about every 0.1 s for 0.5 s
