"""Paid generation through the engine, against the fake Replicate: a 429 storm is ridden out
with backoff; a budget cap stops the run between two whole takes; an engine killed in the middle
of a 20-scene run, once restarted, makes only the missing takes and buys no finished one twice
(the fake counts every prediction created, the paid call)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from studio.engine import Client, EngineServer, Home
from studio.errors import JobFailed
from studio.model import JobStatus
from tests.conftest import EngineProcess
from tests.engine.test_api import call
from tests.engine.test_storyboard import _planned, demo_song
from tests.providers.fake_replicate import FakeReplicate

__all__ = ["demo_song"]

SMALL = {"width": 320, "height": 180, "provider": "replicate"}
FLUX_SCHNELL = 0.003


@pytest.fixture
def replicate(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeReplicate]:
    with FakeReplicate.running(polls=2) as fake:
        monkeypatch.setenv("REPLICATE_API_TOKEN", "r8_fake-token-for-tests")
        monkeypatch.setenv("STUDIO_REPLICATE_BASE_URL", fake.base_url)
        monkeypatch.setenv("STUDIO_REPLICATE_POLL_INTERVAL", "0.02")
        yield fake


async def _approved(c: Client, pid: str, n: int) -> list[str]:
    scenes = (await c.scenes(pid))[:n]
    for s in scenes:
        await c.scene_action(s.id, "approve_text")
    return [s.id for s in scenes]


@pytest.mark.slow
def test_a_429_storm_is_ridden_out_and_a_budget_cap_stops_between_whole_takes(
    home: Home, engine: EngineServer, demo_song: tuple[Path, str], replicate: FakeReplicate
) -> None:
    song, lrc = demo_song

    async def go(c: Client) -> None:
        pid = await _planned(c, song, lrc)
        first = await _approved(c, pid, 4)
        replicate.fail_next(5, status=429, retry_after=0.05, on="create")
        job = await c.submit_job("takes.images", {"project_id": pid, "scene_ids": first, **SMALL})
        done = await c.wait_job(job.id, timeout=120)
        assert done.status is JobStatus.SUCCEEDED and done.result is not None
        assert done.result["made"] == 4 and done.attempts == 1  # the calls waited, not the job
        assert replicate.predictions_created == 4  # a refused create costs nothing
        creates = [r for r in replicate.requests if r.kind == "create"]
        assert len(creates) == 4 + 5
        for sid in first:
            (take,) = await c.takes(sid)
            assert take["provider"] == "replicate" and take["cost_usd"] == FLUX_SCHNELL
        assert (await c.ledger(pid))["spent_usd"] == pytest.approx(4 * FLUX_SCHNELL)

        # Room for two more pictures: two are made, whole, and the run stops before the third.
        await c.update_project(pid, budget_usd=6 * FLUX_SCHNELL + 0.001)
        scenes = await c.scenes(pid)
        more = [s.id for s in scenes[4:8]]
        for sid in more:
            await c.scene_action(sid, "approve_text")
        job = await c.submit_job("takes.images", {"project_id": pid, "scene_ids": more, **SMALL})
        with pytest.raises(JobFailed, match="would pass the budget"):
            await c.wait_job(job.id, timeout=120)
        assert replicate.predictions_created == 6  # nothing was sent for the third
        made = [len(await c.takes(sid)) for sid in more]
        assert made == [1, 1, 0, 0]
        ledger = await c.ledger(pid)
        assert ledger["committed_usd"] == pytest.approx(6 * FLUX_SCHNELL)
        assert all(x["state"] == "spent" for x in ledger["lines"])
        plan = await c.plan(pid, image="replicate")
        assert plan["totals"]["images"] == len(scenes) - 6
        assert plan["totals"]["by_stage"]["image"] == pytest.approx(
            (len(scenes) - 6) * FLUX_SCHNELL
        )

    call(home, go)


@pytest.mark.slow
def test_a_killed_engine_makes_only_the_missing_takes_and_buys_nothing_twice(
    home: Home,
    engine_process: EngineProcess,
    demo_song: tuple[Path, str],
    replicate: FakeReplicate,
) -> None:
    song, lrc = demo_song
    replicate.polls = 4  # each picture takes a few polls: the kill lands mid-run
    engine_process.start()

    async def start(c: Client) -> tuple[str, str, list[str]]:
        pid = await _planned(c, song, lrc)
        ids = await _approved(c, pid, 20)
        job = await c.submit_job("takes.images", {"project_id": pid, "scene_ids": ids, **SMALL})
        while True:  # wait until some pictures are in, then pull the plug
            made = sum([len(await c.takes(s)) for s in ids])
            if made >= 5:
                return pid, job.id, ids
            await asyncio.sleep(0.02)

    pid, job_id, ids = call(home, start)
    assert len(ids) == 20
    engine_process.kill()
    bought_before = replicate.predictions_created
    time.sleep(0.3)  # a prediction in flight at the kill finishes on the service, unpaid for
    engine_process.start()

    async def finish(c: Client) -> None:
        done = await c.wait_job(job_id, timeout=300)
        assert done.status is JobStatus.SUCCEEDED
        per_scene = [len(await c.takes(s)) for s in ids]
        assert per_scene == [1] * 20  # every scene once, none twice
        ledger = await c.ledger(pid)
        assert ledger["spent_usd"] == pytest.approx(20 * FLUX_SCHNELL)
        assert ledger["committed_usd"] == pytest.approx(20 * FLUX_SCHNELL)

    call(home, finish)
    # Finished pictures were never bought again, and a prediction in flight at the kill is
    # waited for by the next attempt, not bought again: by its id when the id was kept, or
    # found on the account by its inputs when the kill came between the create and that.
    assert replicate.predictions_created == 20
    assert bought_before <= replicate.predictions_created
