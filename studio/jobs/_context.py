"""What a running job gets: its params, progress reporting (coalesced by the runner), finished
stages cached by fingerprint, and subprocesses that die when the job is cancelled."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

from studio.model import Job, fingerprint
from studio.store import AssetStore, StoreWorker

__all__ = ["JobContext", "StageJournal"]

T = TypeVar("T")
_KILL_GRACE = 2.0


class JobContext:
    def __init__(
        self,
        job: Job,
        *,
        store: StoreWorker,
        assets: AssetStore,
        workdir: Path,
        on_change: Callable[[JobContext], None],
        publish: Callable[[str, dict[str, Any], str | None], object] | None = None,
        backoff_base: float = 1.0,
    ) -> None:
        self.job = job
        self.params = job.params
        self.store = store
        self.assets = assets
        self.workdir = workdir
        self.stage_name = job.stage
        self.fraction = job.progress
        self.message = job.message
        self.reused = 0
        self._on_change = on_change
        self._publish = publish
        self.backoff_base = backoff_base
        """Seconds the first retry of a rate-limited call waits at most (the runner's)."""

    def sub(self, kind: str, params: dict[str, Any]) -> JobContext:
        """A context for running another job kind's work inside this job (a session's tool
        that plans the storyboard): same store, progress and cache; its own params, and its
        stages cached under its own kind."""
        job = self.job.model_copy(update={"kind": kind, "params": params})
        child = JobContext(
            job, store=self.store, assets=self.assets, workdir=self.workdir,
            on_change=self._mirror, publish=self._publish, backoff_base=self.backoff_base,
        )  # fmt: skip
        return child

    def _mirror(self, child: JobContext) -> None:
        self.stage_name, self.message = child.stage_name, child.message
        self.reused = max(self.reused, child.reused)
        self._on_change(self)

    def publish(self, event: str, data: dict[str, Any]) -> None:
        """Tell every viewer of the job's project what the job made (``take.created``,
        ``scene.updated``), as it is made."""
        if self._publish is not None:
            self._publish(event, data, self.job.project_id)

    def progress(self, fraction: float, message: str | None = None) -> None:
        """Report progress 0..1; it reaches the store about once a second, not on every call."""
        self.fraction = min(1.0, max(0.0, fraction))
        if message is not None:
            self.message = message
        self._on_change(self)

    def stage(self, name: str, message: str | None = None) -> None:
        self.stage_name = name
        self.progress(self.fraction, message)

    async def once(self, stage: str, inputs: Any, work: Callable[[], Awaitable[T]]) -> T:
        """Run ``work`` unless a stage of this kind with these inputs already finished (in this
        job before a crash, or in any other job): paid work is never bought twice."""
        cached = await self.cached(stage, inputs)
        if cached is not None:
            return cached  # type: ignore[no-any-return]
        result = await work()
        await self.remember(stage, inputs, result)
        return result

    async def cached(self, stage: str, inputs: Any) -> Any | None:
        """What a finished stage of this kind with these inputs gave, or None."""
        found = await self.store.read(lambda tx: tx.stages.find(self._key(stage, inputs)))
        if found is None or not self._still_valid(found):
            return None
        self.reused += 1
        return found

    async def remember(self, stage: str, inputs: Any, result: Any) -> None:
        """Record a stage as finished with ``result``, for ``once`` and ``cached``."""
        key = self._key(stage, inputs)
        await self.store.write(lambda tx: tx.stages.put(key, self.job.id, stage, result))

    def _key(self, stage: str, inputs: Any) -> str:
        return fingerprint({"kind": self.job.kind, "stage": stage, "inputs": inputs})

    async def journal(self, inputs: Any) -> StageJournal:
        """Where a paid call made for ``inputs`` keeps its handle while it runs (see
        ``studio.providers.journaled``): the next attempt of this job after a crash finds it
        and waits for that call instead of buying it again."""
        key = self._key("in-flight", inputs)
        found = await self.store.read(lambda tx: tx.stages.find(key))
        earlier = found.get("handle") if isinstance(found, dict) else None
        return StageJournal(self, key, earlier if isinstance(earlier, str) else None)

    def _still_valid(self, cached: Any) -> bool:
        """A cached stage that names an asset counts only if the asset file is still there."""
        sha = cached.get("sha256") if isinstance(cached, dict) else None
        return sha is None or self.assets.exists(sha)

    async def run_process(
        self, argv: list[str], *, on_line: Callable[[str], None] | None = None
    ) -> tuple[int, str]:
        """Run a subprocess, feeding its stdout lines to ``on_line``; returns (exit code, the
        tail of stderr). Cancelling the job terminates the process, then kills it."""
        proc = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            start_new_session=True,
        )
        assert proc.stdout is not None and proc.stderr is not None
        stderr_task = asyncio.create_task(proc.stderr.read())
        try:
            async for raw in proc.stdout:
                if on_line is not None:
                    on_line(raw.decode(errors="replace"))
            code = await proc.wait()
        except asyncio.CancelledError:
            await _stop(proc)
            stderr_task.cancel()
            raise
        err = await stderr_task
        return code, err.decode(errors="replace")[-2000:]


class StageJournal:
    """A call journal kept in the job stages table, under one call's inputs."""

    def __init__(self, ctx: JobContext, key: str, earlier: str | None) -> None:
        self._ctx, self._key, self._earlier = ctx, key, earlier

    def claim(self) -> str | None:
        earlier, self._earlier = self._earlier, None
        return earlier

    async def remember(self, handle: str) -> None:
        ctx, key = self._ctx, self._key
        await ctx.store.write(
            lambda tx: tx.stages.replace(key, ctx.job.id, "in-flight", {"handle": handle})
        )


async def _stop(proc: asyncio.subprocess.Process) -> None:
    """SIGTERM the process group, then SIGKILL it if it lingers."""
    if proc.returncode is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        proc.send_signal(signal.SIGTERM)
    try:
        await asyncio.wait_for(proc.wait(), _KILL_GRACE)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        await proc.wait()
