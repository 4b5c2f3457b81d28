"""Who may do what: keys for editors and reviewers, limited to the projects shared with them."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
import pytest
from fastapi import FastAPI

from studio.engine import Client, EngineServer, Home
from studio.engine._access import RULES
from studio.errors import Forbidden, InvalidInput, NotFound, Unauthorized
from studio.model import SceneState

T = TypeVar("T")


def call(home: Home, work: Callable[[Client], Awaitable[T]], key: str | None = None) -> T:
    async def go() -> T:
        async with Client(home, autostart=False, key=key) as client:
            return await work(client)

    return asyncio.run(go())


@dataclass
class World:
    """Two projects, each with a scene holding a picture; keys made for Ana and Sam."""

    a: str
    b: str
    scene_a: str
    scene_b: str
    sha_a: str
    sha_b: str
    reviewer: str  # Ana, a reviewer of project a
    editor: str  # Sam, an editor of project a


def _world(home: Home) -> World:
    async def work(c: Client) -> World:
        made: list[Any] = []
        for name in ("Shared", "Private"):
            project = await c.create_project(name)
            scene = await c.add_scene(project.id, start=0, end=2, prompt=f"{name} street")
            scene = await c.scene_action(scene.id, "approve_text")
            sha = await c.upload(f"picture of {name}".encode(), "image/png")
            await c.add_take(owner_kind="scene", owner_id=scene.id, kind="image",
                             asset_sha256=sha, inputs=scene.image_inputs())  # fmt: skip
            made.append((project.id, scene.id, sha))
        (a, scene_a, sha_a), (b, scene_b, sha_b) = made
        reviewer = (await c.share("Ana", "reviewer", [a]))["key"]
        editor = (await c.share("Sam", "editor", [a]))["key"]
        return World(a, b, scene_a, scene_b, sha_a, sha_b, reviewer, editor)

    return call(home, work)


def test_every_route_has_a_rule(home: Home, engine: EngineServer) -> None:
    """A new route cannot slip past the checks: each one is named in the rules."""
    assert engine._server is not None
    app = engine._server.config.loaded_app
    while not isinstance(app, FastAPI):  # the guard wraps the app
        app = app.app
    paths = app.openapi()["paths"]
    routes = {(method.upper(), path) for path, methods in paths.items() for method in methods}
    assert len(routes) > 40
    assert routes == set(RULES), routes ^ set(RULES)


def test_a_reviewer_sees_only_what_is_shared_and_can_only_look_and_comment(
    home: Home, engine: EngineServer
) -> None:
    w = _world(home)

    async def as_reviewer(c: Client) -> None:
        assert await c.whoami() == {"name": "Ana", "role": "reviewer", "projects": [w.a]}
        assert [p.id for p in await c.list_projects()] == [w.a]
        assert (await c.get_project(w.a)).name == "Shared"
        assert (await c.get_project("Shared")).id == w.a  # by name too
        board = await c.storyboard(w.a)
        assert [s["id"] for s in board["scenes"]] == [w.scene_a]
        assert (await c.asset(w.sha_a))[0] == b"picture of Shared"
        # the other project answers as if it did not exist, whichever way it is asked for
        for probe in (
            c.get_project(w.b),
            c.get_project("Private"),
            c.storyboard(w.b),
            c.takes(w.scene_b),
            c.asset(w.sha_b),
            c.comments(w.b),
            c.add_comment(w.b, "hello", kind="approval"),
            c.jobs(project_id=w.b),
        ):
            with pytest.raises(NotFound, match="shared with you"):
                await probe
        assert all(i["project_id"] == w.a for i in await c.library())
        # it cannot generate, spend, delete or change prompts
        for attempt in (
            c.scene_action(w.scene_a, "edit", prompt="a different street"),
            c.scene_action(w.scene_a, "regenerate_image"),
            c.submit_job("storyboard.plan", {"project_id": w.a}),
            c.update_project(w.a, brief={"text": "changed"}),
            c.delete_project(w.a),
            c.create_project("Mine"),
            c.share("Eve", "editor", [w.a]),
            c.ledger(w.a),
        ):
            with pytest.raises(Forbidden, match="reviewer's key cannot"):
                await attempt
        # a comment is signed with the key's name, whatever the body says
        signed = await c.add_comment(w.a, "love it", author="The Boss", kind="approval",
                                     target_kind="scene", target_id=w.scene_a)  # fmt: skip
        assert signed.author == "Ana"
        # ... and must be about something in the project it is posted to
        with pytest.raises(NotFound, match="not in this project"):
            await c.add_comment(w.a, "x", target_kind="scene", target_id=w.scene_b)

    call(home, as_reviewer, key=w.reviewer)

    async def as_owner(c: Client) -> str:
        scene = (await c.snapshot(w.a)).scenes[0]
        assert scene.prompt == "Shared street" and scene.state is SceneState.IMAGE_READY
        assert [p.name for p in await c.list_projects()] == ["Shared", "Private"]
        assert [(m.author, m.kind.value) for m in await c.comments(w.a)] == [("Ana", "approval")]
        assert await c.jobs() == []  # the refused job was never queued
        # newer jobs of the other project do not crowd the shared one's out of a short list
        mine = await c.submit_job("takes.images", {"project_id": w.a}, project_id=w.a)
        for _ in range(3):
            await c.submit_job("takes.images", {"project_id": w.b}, project_id=w.b, force=True)
        return mine.id

    shared_job = call(home, as_owner)

    async def newest_job(c: Client) -> list[str]:
        return [j.id for j in await c.jobs(limit=1)]

    assert call(home, newest_job, key=w.reviewer) == [shared_job]


def test_an_editor_works_on_shared_projects_only(home: Home, engine: EngineServer) -> None:
    w = _world(home)

    async def as_editor(c: Client) -> None:
        scene = await c.scene_action(w.scene_a, "edit", prompt="rain on the street")
        assert scene.prompt == "rain on the street"
        with pytest.raises(NotFound, match="shared with you"):
            await c.scene_action(w.scene_b, "edit", prompt="taken over")
        with pytest.raises(Forbidden, match="cannot make new ones"):
            await c.create_project("Side project")
        with pytest.raises(NotFound, match="shared with you"):
            await c.submit_job("storyboard.plan", {"project_id": w.b})
        with pytest.raises(NotFound, match="shared with you"):  # a take for another's scene
            await c.add_take(owner_kind="scene", owner_id=w.scene_b, kind="image",
                             asset_sha256=w.sha_a)  # fmt: skip
        with pytest.raises(Forbidden):
            await c.grants()

    call(home, as_editor, key=w.editor)
    prompts = call(home, lambda c: c.snapshot(w.b))
    assert prompts.scenes[0].prompt == "Private street"
    assert len(prompts.takes) == 1


def test_the_event_stream_carries_only_shared_projects(home: Home, engine: EngineServer) -> None:
    w = _world(home)

    async def listen() -> list[dict[str, Any]]:
        async with Client(home, autostart=False, key=w.reviewer) as c:
            seen: list[dict[str, Any]] = []

            async def follow() -> None:
                async for event in c.events():
                    seen.append(event)
                    if event["type"] == "comment.created":
                        return

            task = asyncio.create_task(follow())
            await asyncio.sleep(0.3)
            async with Client(home, autostart=False) as owner:
                await owner.add_comment(w.b, "private note", author="owner")
                await owner.add_comment(w.a, "shared note", author="owner")
            await asyncio.wait_for(task, 10)

            async def first_of_private() -> None:
                async for _ in c.events(project_id=w.b):
                    return

            with pytest.raises(NotFound, match="shared with you"):
                await asyncio.wait_for(first_of_private(), 10)
            return seen

    seen = asyncio.run(listen())
    comments = [e for e in seen if e["type"] == "comment.created"]
    assert [e["data"]["body"] for e in comments] == ["shared note"]
    assert all(e["project_id"] in (w.a, None) for e in seen)


def test_keys_are_kept_as_hashes_survive_a_restart_and_can_be_revoked(home: Home) -> None:
    with EngineServer(home):
        w = _world(home)
        grants = call(home, lambda c: c.grants())
        assert [(g["name"], g["role"]) for g in grants] == [("Ana", "reviewer"), ("Sam", "editor")]
        assert all("key" not in g and "key_sha256" not in g for g in grants)
    store_bytes = home.store_path.read_bytes()
    assert w.reviewer.encode() not in store_bytes
    with EngineServer(home):  # a new engine knows the keys from the store
        assert call(home, lambda c: c.whoami(), key=w.reviewer)["name"] == "Ana"
        ana = next(g for g in call(home, lambda c: c.grants()) if g["name"] == "Ana")
        assert call(home, lambda c: c.revoke(ana["id"]))["revoked_at"]
        with pytest.raises(Unauthorized, match="revoked"):
            call(home, lambda c: c.whoami(), key=w.reviewer)
        assert call(home, lambda c: c.whoami(), key=w.editor)["name"] == "Sam"


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"name": "Ana", "role": "reviewer", "projects": []}, "share at least one project"),
        ({"name": "Ana", "role": "owner", "all_projects": True}, "engine's own"),
        ({"name": "Ana", "role": "boss", "projects": []}, "role"),
        ({"name": "../x", "role": "reviewer", "all_projects": True}, "path"),
    ],
)
def test_bad_keys_are_refused(
    home: Home, engine: EngineServer, body: dict[str, Any], error: str
) -> None:
    async def work(c: Client) -> list[dict[str, Any]]:
        with pytest.raises(InvalidInput, match=error):
            await c.request("POST", "/v1/grants", json=body)
        return await c.grants()

    assert call(home, work) == []


def test_a_key_for_an_unknown_project_is_refused(home: Home, engine: EngineServer) -> None:
    async def work(c: Client) -> list[dict[str, Any]]:
        with pytest.raises(NotFound):
            await c.share("Ana", "reviewer", ["prj_00000000000000000000"])
        return await c.grants()

    assert call(home, work) == []


def test_a_wrong_key_is_refused_without_retrying_forever(home: Home, engine: EngineServer) -> None:
    with pytest.raises(Unauthorized, match="missing, wrong or revoked"):
        call(home, lambda c: c.health(), key="sk_not-a-real-key")
    assert engine.info is not None and engine.info.socket
    transport = httpx.HTTPTransport(uds=engine.info.socket)
    with httpx.Client(transport=transport, base_url="http://studio") as raw:
        reply = raw.get("/v1/whoami", headers={"authorization": f"Bearer {engine.info.token}"})
    assert json.loads(reply.text)["role"] == "owner"
