"""The engine's API through the real client, over the engine's Unix socket."""

from __future__ import annotations

import asyncio
import io
import re
import zipfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import httpx
import psutil
import pytest
from PIL import Image

from studio.engine import Client, EngineInfo, EngineServer, Home
from studio.errors import (
    Conflict,
    IllegalTransition,
    InvalidInput,
    JobFailed,
    NotFound,
    PayloadTooLarge,
    Unauthorized,
)
from studio.model import SceneState

T = TypeVar("T")


def call(home: Home, work: Callable[[Client], Awaitable[T]]) -> T:
    async def go() -> T:
        async with Client(home, autostart=False) as client:
            return await work(client)

    return asyncio.run(go())


def raw(info: EngineInfo, method: str, path: str, **kw: Any) -> httpx.Response:
    with httpx.Client(
        transport=httpx.HTTPTransport(uds=info.socket), base_url="http://studio"
    ) as c:
        return c.request(method, path, **kw)


def test_health_and_openapi(home: Home, engine: EngineServer) -> None:
    health = call(home, lambda c: c.health())
    assert health["ok"] and health["version"]
    assert engine.info is not None
    spec = raw(
        engine.info,
        "GET",
        "/openapi.json",
        headers={"authorization": f"Bearer {engine.info.token}"},
    ).json()
    assert "/v1/projects" in spec["paths"] and "/v1/events" in spec["paths"]


def test_the_socket_is_private_and_the_token_is_required(home: Home, engine: EngineServer) -> None:
    assert engine.info is not None and engine.info.socket
    assert Path(engine.info.socket).stat().st_mode & 0o777 == 0o600
    assert home.info_path.stat().st_mode & 0o777 == 0o600
    for headers in ({}, {"authorization": "Bearer wrong"}):
        reply = raw(engine.info, "GET", "/v1/projects", headers=headers)
        assert reply.status_code == 401
        assert reply.json()["error"]["type"] == Unauthorized.__name__


def test_the_storyboard_flow_through_the_engine(home: Home, engine: EngineServer) -> None:
    async def work(c: Client) -> None:
        p = await c.create_project("Night Drive", brief={"text": "neon"})
        s = await c.add_scene(p.id, start=0, end=2.5, prompt="a wet street")
        with pytest.raises(IllegalTransition) as err:
            await c.add_take(
                owner_kind="scene",
                owner_id=s.id,
                kind="image",
                asset_sha256=await c.upload(b"img", "image/png"),
            )
        assert err.value.hint == "approve the scene's text first"
        assert await c.takes(s.id) == []  # the refused take was not kept
        s = await c.scene_action(s.id, "approve_text")
        sha = await c.upload(b"\x89PNG...", "image/png")
        t1 = await c.add_take(
            owner_kind="scene",
            owner_id=s.id,
            kind="image",
            asset_sha256=sha,
            inputs=s.image_inputs(),
        )
        t2 = await c.add_take(
            owner_kind="scene", owner_id=s.id, kind="image", asset_sha256=sha, inputs={"old": True}
        )
        assert (t1.version, t2.version) == (1, 2)
        s = await c.scene_action(s.id, "approve_image", take_id=t1.id)
        assert s.state is SceneState.IMAGE_APPROVED and s.image_take_id == t1.id
        takes = await c.takes(s.id)
        assert [(t["version"], t["stale"]) for t in takes] == [(1, False), (2, True)]
        with pytest.raises(Conflict, match="changed meanwhile"):
            await c.scene_action(s.id, "edit", revision=1, prompt="lost update")
        assert (await c.snapshot(p.id)).scenes[0].prompt == "a wet street"

    call(home, work)


@pytest.mark.parametrize(
    ("name", "error"),
    [
        ("../../etc/passwd", "looks like a path"),
        ("bad\u202ename", "U+202E"),
        ("", "is empty"),
        ("x" * 200, "limit is 80"),
    ],
)
def test_bad_project_names_are_refused_and_change_nothing(
    home: Home, engine: EngineServer, name: str, error: str
) -> None:
    async def work(c: Client) -> None:
        with pytest.raises(InvalidInput, match=re.escape(error)) as err:
            await c.create_project(name)
        assert "Value error" not in err.value.message
        assert await c.list_projects() == []

    call(home, work)


def test_odd_but_fine_unicode_names_round_trip(home: Home, engine: EngineServer) -> None:
    async def work(c: Client) -> None:
        p = await c.create_project("  Cafe\u0301 ☕ 夜 👩\u200d🎤 ")
        assert p.name == "Café ☕ 夜 👩\u200d🎤"
        assert (await c.get_project("CAFÉ ☕ 夜 👩\u200d🎤")).id == p.id
        with pytest.raises(Conflict):
            await c.create_project("café ☕ 夜 👩\u200d🎤")

    call(home, work)


def test_unknown_and_malformed_ids(home: Home, engine: EngineServer) -> None:
    async def work(c: Client) -> None:
        with pytest.raises(NotFound):
            await c.job("job_00000000000000000000")
        with pytest.raises(InvalidInput, match="not a valid id"):
            await c.scenes("prj_..")
        for traversal in ("../../etc/passwd", "..\\..\\secret"):
            with pytest.raises(InvalidInput, match="not an id or a name"):
                await c.get_project(traversal)
        with pytest.raises(NotFound, match="no such API route"):
            await c.request("GET", "/v1/projects/..%2F..%2Fetc%2Fpasswd/scenes")
        with pytest.raises(InvalidInput, match="not an id or a name"):
            await c.download("../../etc/passwd", home.root / "x")
        with pytest.raises(InvalidInput, match="not an id or a name"):
            await c.download("..", home.root / "x")
        with pytest.raises(InvalidInput, match="not an asset id"):
            await c.download("abc", home.root / "x")
        assert not (home.root / "x").exists()
        with pytest.raises(NotFound):
            await c.download("0" * 64, home.root / "y")
        with pytest.raises(InvalidInput, match="action: Input should be 'edit', 'approve_text'"):
            p = await c.create_project("p")
            s = await c.add_scene(p.id, start=0, end=1)
            await c.scene_action(s.id, "delete_everything")

    call(home, work)


def test_an_unknown_project_is_refused_with_a_useful_hint(home: Home, engine: EngineServer) -> None:
    ghost = "prj_00000000000000000000"

    async def work(c: Client) -> None:
        for attempt in (
            c.update_project(ghost, name="x"),
            c.scenes(ghost),
            c.add_scene(ghost, start=0, end=1),
            c.submit_job("render.testcard", {}, project_id=ghost),
        ):
            with pytest.raises(NotFound) as err:
                await attempt
            assert err.value.hint == "`studio list` shows them"
        assert await c.jobs() == []  # nothing was queued

    call(home, work)


def test_oversized_payloads_are_refused(home: Home, engine: EngineServer) -> None:
    async def work(c: Client) -> None:
        with pytest.raises(PayloadTooLarge, match="over the limit"):
            await c.create_project("big", brief={"text": "x" * (2 << 20)})
        assert await c.list_projects() == []

    call(home, work)


def test_upload_limit_leaves_no_asset(
    home: Home, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STUDIO_MAX_UPLOAD", "1000")
    with EngineServer(home):

        async def work(c: Client) -> None:
            with pytest.raises(PayloadTooLarge):
                await c.upload(b"x" * 5000)

            async def chunks() -> Any:  # no content-length: counted as it streams
                for _ in range(10):
                    yield b"y" * 500

            with pytest.raises(PayloadTooLarge):
                await c.request("POST", "/v1/assets", content=chunks())
            assert await c.upload(b"small", "text/plain")

        call(home, work)
    files = [p for p in home.assets.rglob("*") if p.is_file()]
    assert len(files) == 1


def test_assets_round_trip(home: Home, engine: EngineServer) -> None:
    data = bytes(range(256)) * 4096

    async def work(c: Client) -> bytes:
        sha = await c.upload(data, "application/octet-stream")
        with pytest.raises(InvalidInput, match="not a media type"):
            await c.upload(b"z", "../../etc")
        out = await c.download(sha, home.root / "dl" / "file.bin")
        return out.read_bytes()

    assert call(home, work) == data


def test_a_pictures_thumbnail_is_made_once_and_kept(home: Home, engine: EngineServer) -> None:
    picture = io.BytesIO()
    Image.new("RGB", (1080, 1920), (200, 40, 90)).save(picture, "PNG")  # a 9:16 picture
    kept = home.work / "thumbs"

    async def work(c: Client) -> None:
        sha = await c.upload(picture.getvalue(), "image/png")
        first = await c.thumbnail(sha)
        with Image.open(io.BytesIO(first)) as thumb:
            assert thumb.format == "JPEG" and thumb.size == (320, 569)
            assert thumb.getpixel((160, 284)) == pytest.approx((200, 40, 90), abs=3)
        [made] = kept.rglob(f"{sha}-*.jpg")
        stamp = made.stat().st_mtime_ns
        assert await c.thumbnail(sha) == first and made.stat().st_mtime_ns == stamp  # kept

        song = await c.upload(b"ID3 not a picture", "audio/mpeg")
        with pytest.raises(InvalidInput, match="not a picture"):
            await c.thumbnail(song)
        broken = await c.upload(b"\x89PNG but not really", "image/png")
        with pytest.raises(InvalidInput, match="cannot be read"):
            await c.thumbnail(broken)
        with pytest.raises(NotFound):
            await c.thumbnail("0" * 64)

    call(home, work)
    # one thumbnail: nothing half-written, nothing for what is not a picture
    assert [p.suffix for p in kept.rglob("*") if p.is_file()] == [".jpg"]


def test_comments_are_read_within_their_project_only(home: Home, engine: EngineServer) -> None:
    async def work(c: Client) -> None:
        mine, theirs = await c.create_project("mine"), await c.create_project("theirs")
        scene = await c.add_scene(theirs.id, start=0, end=1)
        await c.add_comment(
            theirs.id, "their secret", author="Bo", target_id=scene.id, target_kind="scene"
        )
        assert [x.body for x in await c.comments(theirs.id, scene.id)] == ["their secret"]
        assert await c.comments(mine.id, scene.id) == []  # guessing another project's id

    call(home, work)


def test_idempotent_writes_happen_once(home: Home, engine: EngineServer) -> None:
    async def work(c: Client) -> None:
        p = await c.create_project("p")
        first = await c.add_comment(p.id, "approved", author="Ana", idempotency_key="k-1")
        again = await c.add_comment(p.id, "approved", author="Ana", idempotency_key="k-1")
        assert first.id == again.id
        assert len(await c.comments(p.id)) == 1

    call(home, work)


def test_events_reach_a_second_client(home: Home, engine: EngineServer) -> None:
    async def work(c: Client) -> list[dict[str, Any]]:
        seen: list[dict[str, Any]] = []
        ready = asyncio.Event()

        async def listen() -> None:
            async with Client(home, autostart=False) as other:
                await other.health()
                ready.set()
                async for event in other.events():
                    seen.append(event)
                    if event["type"] == "comment.created":
                        return

        task = asyncio.create_task(listen())
        await ready.wait()
        await asyncio.sleep(0.2)
        p = await c.create_project("shared")
        await c.add_comment(p.id, "looks great", author="Bo")
        await asyncio.wait_for(task, 10)
        # reconnecting with the last id replays what came after it, and nothing before
        replay = []
        async for event in c.events(last_event_id=seen[0]["id"]):
            replay.append(event)
            break
        assert replay[0]["type"] == "comment.created"
        return seen

    seen = call(home, work)
    assert [e["type"] for e in seen] == ["project.created", "comment.created"]
    assert seen[1]["data"]["body"] == "looks great"


def test_timeline_put_checks_gaps_and_revisions(home: Home, engine: EngineServer) -> None:
    async def work(c: Client) -> None:
        p = await c.create_project("p")
        with pytest.raises(NotFound, match="no timeline yet"):
            await c.timeline(p.id)
        good = {
            "duration": 4,
            "clips": [{"start": 0, "duration": 1.5}, {"start": 1.5, "duration": 2.5}],
        }
        t = await c.put_timeline(p.id, good)
        assert t.revision == 1
        with pytest.raises(InvalidInput, match="gap"):
            await c.put_timeline(
                p.id,
                {
                    "duration": 4,
                    "clips": [{"start": 0, "duration": 1}, {"start": 2, "duration": 2}],
                },
            )
        t2 = await c.put_timeline(p.id, good, expected_revision=1)
        assert t2.revision == 2
        with pytest.raises(Conflict):
            await c.put_timeline(p.id, good, expected_revision=1)

    call(home, work)


def test_jobs_validate_run_and_report(home: Home, engine: EngineServer) -> None:
    async def work(c: Client) -> None:
        with pytest.raises(InvalidInput, match=r"known kinds: .*project\.export, render\.testcard"):
            await c.submit_job("render.everything")
        with pytest.raises(InvalidInput, match="width"):
            await c.submit_job("render.testcard", {"width": 7})
        job = await c.submit_job(
            "render.testcard", {"duration": 2, "fps": 10, "width": 64, "height": 36, "segment": 1}
        )
        done = await c.wait_job(job.id, timeout=60)
        assert done.result is not None
        assert done.result["frames"] == 20 and done.result["segments"] == 2
        out = await c.download(done.result["sha256"], home.root / "card.mp4")
        from studio.render import probe

        info = probe(out)
        assert (info.width, info.height, info.video, info.audio) == (64, 36, "h264", "aac")
        assert abs(info.duration - 2.0) < 0.1
        # the same inputs again: every segment is reused, nothing is encoded twice
        again = await c.wait_job(
            (
                await c.submit_job(
                    "render.testcard",
                    {"duration": 2, "fps": 10, "width": 64, "height": 36, "segment": 1},
                    force=True,
                )
            ).id,
            timeout=60,
        )
        assert again.result is not None and again.result["segments_reused"] == 2

    call(home, work)


def _ffmpeg_children() -> list[psutil.Process]:
    return [p for p in psutil.Process().children(recursive=True) if "ffmpeg" in p.name()]


def test_cancelling_a_render_stops_ffmpeg(home: Home, engine: EngineServer) -> None:
    async def work(c: Client) -> None:
        job = await c.submit_job(
            "render.testcard",
            {"duration": 600, "fps": 60, "width": 1920, "height": 1080, "segment": 60},
        )
        for _ in range(400):
            if _ffmpeg_children():
                break
            await asyncio.sleep(0.05)
        assert _ffmpeg_children(), "ffmpeg never started"
        cancelled = await c.cancel_job(job.id)
        assert cancelled.status.value == "cancelled"
        assert _ffmpeg_children() == []
        with pytest.raises(Exception, match="cancelled"):
            await c.wait_job(job.id, timeout=5)
        assert not (home.work / job.id).exists()  # no half segment left behind

    call(home, work)


def test_export_import_between_two_homes(home: Home, engine: EngineServer, tmp_path: Path) -> None:
    archive = tmp_path / "night.studio.zip"

    async def export(c: Client) -> Any:
        p = await c.create_project("Night ☕")
        s = await c.add_scene(p.id, start=0, end=2, prompt="street")
        await c.scene_action(s.id, "approve_text")
        sha = await c.upload(b"image bytes", "image/png")
        await c.add_take(owner_kind="scene", owner_id=s.id, kind="image", asset_sha256=sha)
        await c.add_mood(p.id, name="Rain", palette=["#000000"])
        await c.export_project(p.id, archive)
        snap = await c.snapshot(p.id)
        return snap.model_copy(update={"jobs": []})

    original = call(home, export)
    other = Home.resolve(tmp_path / "other")
    with EngineServer(other):

        async def bring_in(c: Client) -> Any:
            bad = tmp_path / "bad.zip"
            with zipfile.ZipFile(bad, "w") as zf:
                zf.writestr("../../etc/passwd", "x")
            with pytest.raises(InvalidInput, match="unexpected entry"):
                await c.import_project(bad)
            assert await c.list_projects() == []
            p = await c.import_project(archive)
            with pytest.raises(Conflict):
                await c.import_project(archive)
            snap = await c.snapshot(p.id)
            return snap.model_copy(update={"jobs": []})

        imported = call(other, bring_in)
    assert (
        imported == original.model_copy(update={"assets": imported.assets})
        and imported.assets == original.assets
    )


def test_a_failed_job_raises_on_wait(home: Home, engine: EngineServer) -> None:
    async def work(c: Client) -> None:
        p = await c.create_project("p")
        await c.delete_project(p.id)
        job = await c.submit_job("project.export", {"project_id": p.id})  # no project: fails
        with pytest.raises(JobFailed, match="no project is called or has the id") as err:
            await c.wait_job(job.id, timeout=30)
        assert err.value.hint == "`studio list` shows them"
        assert (await c.job(job.id)).status.value == "failed"

    call(home, work)


def test_tcp_mode_binds_loopback_and_needs_the_token(home: Home) -> None:
    with EngineServer(home, tcp_port=0) as server:
        info = server.info
        assert info is not None and info.host == "127.0.0.1" and info.port and info.socket is None
        base = f"http://127.0.0.1:{info.port}"
        assert httpx.get(f"{base}/v1/health").status_code == 401
        headers = {"authorization": f"Bearer {info.token}"}
        assert httpx.get(f"{base}/v1/health", headers=headers).json()["ok"]
        assert call(home, lambda c: c.create_project("over tcp")).name == "over tcp"
