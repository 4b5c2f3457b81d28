"""A small storyboard made through the engine's client, for the widgets to show."""

from __future__ import annotations

import asyncio
import concurrent.futures
import io
import time
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest
import soundfile as sf
from PIL import Image

from studio.audio import synthesize_song
from studio.engine import Client, EngineServer, Home
from studio.model import Take
from studio.ui import StudioWidget, close_links

SECTIONS = ["intro", "verse", "chorus", "chorus"]
T = TypeVar("T")


def png(colour: tuple[int, int, int], size: tuple[int, int] = (160, 90)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, "PNG")
    return out.getvalue()


def run(work: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """``asyncio.run`` on a thread of its own: the browser tests' playwright keeps an event
    loop on the test's thread."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(lambda: asyncio.run(work())).result()


def browser(widget: StudioWidget, buffers: list[bytes] | None = None, **message: Any) -> None:
    """A message as the widget's front end sends it (with files, as buffers); then wait for
    the action to finish."""
    widget._received(widget, message, buffers or [])
    widget.wait()


async def add_picture(c: Client, scene_id: str, colour: tuple[int, int, int]) -> Take:
    """A picture take of one colour for the scene, made elsewhere (not through a widget)."""
    sha = await c.upload(png(colour), "image/png")
    return await c.add_take(
        owner_kind="scene", owner_id=scene_id, kind="image",
        asset_sha256=sha, media_type="image/png",
    )  # fmt: skip


@dataclass
class Board:
    """The project made for a test: its id, its scenes' ids in order, and a way to ask the
    engine directly (not through the widget)."""

    project_id: str
    scenes: list[str]
    home: Home

    def ask(self, work: Callable[[Client], Any]) -> Any:
        async def go() -> Any:
            async with Client(self.home) as c:
                return await work(c)

        return run(go)


@pytest.fixture
def board(engine: EngineServer, home: Home) -> Iterator[Board]:
    """Four scenes: the first a draft, the second with its text approved, the third with two
    image versions waiting for approval, the fourth with its picture approved."""

    async def make(c: Client) -> tuple[str, list[str]]:
        project = await c.create_project("Night Drive")
        ids = []
        for i, section in enumerate(SECTIONS):
            scene = await c.add_scene(
                project.id,
                index=i,
                start=4.0 * i,
                end=4.0 * (i + 1),
                section=section,
                lyric=f"line {i + 1}",
                visual_intent=f"shot {i + 1}",
                prompt=f"a road at night, {section}",
            )
            ids.append(scene.id)
        for sid in ids[1:]:
            await c.scene_action(sid, "approve_text")
        for sid, colours in ((ids[2], [(200, 30, 30), (30, 30, 200)]), (ids[3], [(30, 160, 30)])):
            for colour in colours:
                await add_picture(c, sid, colour)
        takes = await c.takes(ids[3])
        await c.scene_action(ids[3], "approve_image", take_id=takes[0]["id"])
        return project.id, ids

    async def go() -> tuple[str, list[str]]:
        async with Client(home) as c:
            return await make(c)

    pid, ids = run(go)
    yield Board(pid, ids, home)
    close_links()


def until(check: Callable[[], Any], timeout: float = 10.0, what: str = "the widget") -> Any:
    """Wait until ``check()`` is true (the engine's events arrive on their own time)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.02)
    raise AssertionError(f"{what} did not get there in {timeout} s")


@pytest.fixture(scope="session")
def short_song(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 26-bar synthesised song (about 55 s at 112 BPM): analysed in a few seconds."""
    audio, truth = synthesize_song(
        structure=(("intro", 2), ("verse", 4), ("chorus", 4), ("bridge", 2), ("chorus", 4))
    )
    path = tmp_path_factory.mktemp("song") / "short.flac"
    sf.write(path, audio, truth.sample_rate)
    return path


@pytest.fixture
def planned(engine: EngineServer, home: Home, short_song: Path) -> Iterator[Board]:
    """A project with the song analysed, a brief, and the planner's concepts, four moods and
    a storyboard (no takes yet)."""

    async def go() -> tuple[str, list[str]]:
        async with Client(home) as c:
            project = await c.create_project("Night Drive")
            analysed = await c.upload_song(short_song, project_id=project.id)
            await c.wait_job(analysed.id, timeout=120)
            await c.update_project(project.id, brief={"text": "a night drive, neon city"})
            job = await c.submit_job("storyboard.plan", {"project_id": project.id, "seed": 2})
            await c.wait_job(job.id, timeout=120)
            return project.id, [s.id for s in await c.scenes(project.id)]

    pid, ids = run(go)
    yield Board(pid, ids, home)
    close_links()


@pytest.fixture
def painted(planned: Board) -> Board:
    """The planned project with a small picture painted and approved for every scene."""

    async def paint(c: Client) -> None:
        pid = planned.project_id
        for scene in await c.scenes(pid):
            await c.scene_action(scene.id, "approve_text")
        images = await c.submit_job(
            "takes.images", {"project_id": pid, "width": 320, "height": 180}, project_id=pid
        )
        await c.wait_job(images.id, timeout=120)
        for scene in await c.scenes(pid):
            takes = await c.takes(scene.id)
            await c.scene_action(scene.id, "approve_image", take_id=takes[-1]["id"])

    planned.ask(paint)
    return planned
