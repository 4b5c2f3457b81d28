"""The engine as a real process, with real client processes around it."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psutil
import pytest

from studio.engine import Client, EngineInfo, Home
from studio.errors import EngineUnavailable
from studio.model import JobStatus
from tests.conftest import EngineProcess

pytestmark = pytest.mark.slow
HAMMER = Path(__file__).with_name("hammer.py")


def _hammers(
    home: Home, project_id: str, count: int, seconds: float, tmp: Path
) -> tuple[list[subprocess.Popen[bytes]], list[Path]]:
    outs = [tmp / f"w{i}.json" for i in range(count)]
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                str(HAMMER),
                str(home.root),
                project_id,
                str(i),
                str(seconds),
                str(out),
            ]
        )
        for i, out in enumerate(outs)
    ]
    return procs, outs


def _collect(
    procs: list[subprocess.Popen[bytes]], outs: list[Path]
) -> tuple[dict[str, str], list[str]]:
    """Wait for the hammers; returns {key: comment id} acknowledged, and the keys in flight."""
    for p in procs:
        assert p.wait(120) == 0
    acked: dict[str, str] = {}
    uncertain: list[str] = []
    for out in outs:
        data = json.loads(out.read_text())
        acked |= data["acked"]
        uncertain += data["uncertain"]
    return acked, uncertain


def _run(home: Home, coro: Any) -> Any:
    async def go() -> Any:
        async with Client(home, autostart=False) as c:
            return await coro(c)

    return asyncio.run(go())


def test_eight_clients_hammering_lose_and_duplicate_nothing(
    home: Home, engine_process: EngineProcess, tmp_path: Path
) -> None:
    engine_process.start()
    project = _run(home, lambda c: c.create_project("hammered"))
    acked, uncertain = _collect(*_hammers(home, project.id, 8, 10.0, tmp_path))
    assert uncertain == []
    comments = _run(home, lambda c: c.comments(project.id))
    assert len(acked) > 500  # a real load, not a trickle
    assert sorted(c.id for c in comments) == sorted(acked.values())  # none lost, none twice
    assert {c.body for c in comments} == set(acked)


def test_sigkill_mid_burst_and_mid_job_loses_nothing_acknowledged(
    home: Home, engine_process: EngineProcess, tmp_path: Path
) -> None:
    engine_process.start()
    project = _run(home, lambda c: c.create_project("crashed"))
    procs, outs = _hammers(home, project.id, 4, 10.0, tmp_path)
    params = {"duration": 60, "fps": 25, "width": 640, "height": 360, "segment": 2}

    async def until_busy(c: Client) -> Any:
        while len(await c.comments(project.id)) < 100:
            await asyncio.sleep(0.05)
        submitted = await c.submit_job("render.testcard", params)
        while (await c.job(submitted.id)).progress < 0.2:
            await asyncio.sleep(0.05)
        assert (await c.job(submitted.id)).status is JobStatus.RUNNING
        return submitted

    job = _run(home, until_busy)
    engine_process.kill()  # SIGKILL: mid write burst and mid job
    time.sleep(0.5)
    engine_process.start()
    acked, uncertain = _collect(procs, outs)
    assert uncertain, "the kill should have caught some writes in flight"

    async def settle(c: Client) -> tuple[Any, Any, Any]:
        # a write whose answer was lost is sent again with its key: it lands exactly once
        for key in uncertain:
            await c.add_comment(project.id, key, author="retry", idempotency_key=key)
        finished = await c.wait_job(job.id, timeout=180)
        return await c.comments(project.id), finished, await c.health()

    comments, finished, _health = _run(home, settle)
    by_body: dict[str, list[str]] = {}
    for comment in comments:
        by_body.setdefault(comment.body, []).append(comment.id)
    assert all(len(ids) == 1 for ids in by_body.values())  # nothing twice
    assert all(by_body[key] == [cid] for key, cid in acked.items())  # nothing acknowledged lost
    assert set(by_body) == set(acked) | set(uncertain)
    assert finished.status is JobStatus.SUCCEEDED and finished.attempts == 2
    assert finished.result["frames"] == 1500
    assert finished.result["segments_reused"] >= 3  # the segments done before the kill


def test_two_clients_starting_at_once_get_one_engine(
    home: Home, engine_process: EngineProcess
) -> None:
    script = (
        "import sys, time; from studio.engine import Home, ensure_engine; "
        "t = float(sys.argv[2]); time.sleep(max(0, t - time.time())); "
        "print(ensure_engine(Home.resolve(sys.argv[1])).pid)"
    )
    at = str(time.time() + 1.5)
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", script, str(home.root), at], stdout=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    pids = {int(p.communicate(timeout=90)[0].strip()) for p in procs}
    assert len(pids) == 1
    engines = [
        p
        for p in psutil.process_iter(["cmdline"])
        if p.info["cmdline"]
        and "studio.engine" in p.info["cmdline"]
        and str(home.root) in p.info["cmdline"]
    ]
    assert [p.pid for p in engines] == list(pids)
    os.kill(pids.pop(), signal.SIGTERM)


def test_a_dead_engine_gives_a_clear_error_and_a_restarted_one_works(
    home: Home, engine_process: EngineProcess
) -> None:
    engine_process.start()

    async def work(c: Client) -> None:
        project = await c.create_project("before")
        stream = c.events()
        first = asyncio.create_task(stream.__anext__())
        await asyncio.sleep(0.3)
        engine_process.kill()  # dies while the event stream request is open
        with pytest.raises(EngineUnavailable, match="event stream ended"):
            await first
        with pytest.raises(EngineUnavailable, match="no engine is running") as err:
            await c.list_projects()
        assert err.value.hint and "studio engine start" in err.value.hint

        async def slow_upload() -> Any:
            for _ in range(200):
                yield b"x" * 65536
                await asyncio.sleep(0.02)

        engine_process.start()
        assert [p.name for p in await c.list_projects()] == ["before"]  # same client, works again
        upload = asyncio.create_task(c.request("POST", "/v1/assets", content=slow_upload()))
        await asyncio.sleep(0.5)
        engine_process.kill()  # dies in the middle of a request
        with pytest.raises(EngineUnavailable):
            await upload
        engine_process.start()
        assert (await c.get_project(project.id)).name == "before"

    _run(home, work)
    assert EngineInfo.read(home) is not None


def test_autostart_starts_an_engine_that_outlives_the_client(
    home: Home, engine_process: EngineProcess
) -> None:
    async def work(c: Client) -> int:
        return int((await c.health())["pid"])

    async def go() -> int:
        async with Client(home) as c:  # autostart on
            return await work(c)

    pid = asyncio.run(go())
    assert pid != os.getpid() and psutil.pid_exists(pid)
    assert _run(home, work) == pid  # the next client finds the same engine
    os.kill(pid, signal.SIGTERM)
    psutil.Process(pid).wait(20)
