"""The session through the engine, offline: a conversation from a one-line brief to clip takes
for every scene; revisions by section and by scene number; the dry run; every turn stored and
the session resumable from another client."""

from __future__ import annotations

import asyncio
import itertools
from pathlib import Path

import pytest

from studio.engine import Client, EngineServer, Home
from studio.errors import InvalidInput, JobFailed
from studio.model import Scene, SceneState
from tests.engine.test_api import call
from tests.engine.test_song import project_with_song
from tests.engine.test_storyboard import _planned, demo_song

__all__ = ["demo_song"]


@pytest.mark.slow
def test_a_conversation_from_a_one_line_brief_to_clips_for_every_scene(
    home: Home, engine: EngineServer, demo_song: tuple[Path, str]
) -> None:
    song, lrc = demo_song

    async def go(c: Client) -> None:
        project = await project_with_song(c, "Session", song)
        await c.import_lyrics(project.id, lrc, "song.lrc")
        session = await c.start_session(project.id, title="first cut")

        turn = await c.say(session.id, "a night drive through the neon city")
        assert [u.name for u in turn.tools] == ["write_brief"]
        assert (await c.get_project(project.id)).brief.text == "a night drive through the neon city"
        assert turn.suggestions and "concepts" in turn.suggestions[0]

        turn = await c.say(session.id, "propose three concepts")
        assert turn.tools[0].status == "done" and len(turn.tools[0].result["concepts"]) == 3
        turn = await c.say(session.id, "make four moods")
        assert len(turn.tools[0].result["moods"]) == 4 and "4 mood boards" in turn.text
        moods = await c.moods(project.id)
        turn = await c.say(session.id, "use mood 2")
        assert (await c.get_project(project.id)).mood_id == moods[1].id

        turn = await c.say(session.id, "build the storyboard")
        scenes = await c.scenes(project.id)
        assert len(scenes) >= 8 and f"{len(scenes)} scenes" in turn.text
        song_map = await c.song_map(project.id)
        grid = song_map.beats
        for s in scenes[1:]:  # every cut sits on a beat
            assert min(abs(b - s.start) for b in grid) < 1e-3
        assert all(s.mood_id == moods[1].id for s in scenes)

        assert all(" at night" in s.prompt for s in scenes if s.section == "chorus")
        turn = await c.say(session.id, "make the chorus scenes at dawn")
        assert turn.tools[0].status == "done", turn.tools[0].error
        chorus = [s for s in await c.scenes(project.id) if s.section == "chorus"]
        assert chorus and all(" at dawn" in s.prompt and " at night" not in s.prompt
                              for s in chorus)  # fmt: skip
        others = [s for s in await c.scenes(project.id) if s.section != "chorus"]
        assert [s.prompt for s in others] == [s.prompt for s in scenes if s.section != "chorus"]

        turn = await c.say(session.id, "how much will it cost?")
        plan = turn.tools[0].result["plan"]
        assert plan["totals"]["images"] == len(scenes) and plan["totals"]["usd"] == 0
        assert "at dawn" in next(r["prompt"] for r in plan["scenes"] if r["section"] == "chorus")

        turn = await c.say(session.id, "generate the images")
        assert turn.tools[0].result["made"] == len(scenes)
        turn = await c.say(session.id, "make the clips")
        assert turn.tools[0].result["made"] == len(scenes)
        after = await c.scenes(project.id)
        assert all(s.state is SceneState.CLIP_READY for s in after)

        # Regenerate scene 4 with a red car: only scene 4 gets a new take; history keeps v1.
        before = {s.id: len(await c.takes(s.id)) for s in after}
        turn = await c.say(session.id, "regenerate scene 4 with a red car")
        assert turn.tools[0].result["images"] == 1
        now = await c.scenes(project.id)
        assert "a red car" in now[3].prompt
        for s in now:
            images = [t for t in await c.takes(s.id) if t["kind"] == "image"]
            if s.id == now[3].id:
                assert [t["version"] for t in images] == [1, 2]
            else:
                assert len(await c.takes(s.id)) == before[s.id]

        # Shorter shots in the bridge: bridge scenes split on the grid, the rest untouched.
        bridge = [s for s in now if s.section == "bridge"]
        turn = await c.say(session.id, "shorter shots in the bridge")
        recut = await c.scenes(project.id)
        new_bridge = [s for s in recut if s.section == "bridge"]
        assert len(new_bridge) > len(bridge)
        assert [s.index for s in recut] == list(range(len(recut)))
        assert all(abs(a.end - b.start) < 1e-9 for a, b in itertools.pairwise(recut))
        for s in new_bridge:
            assert min(abs(b - s.start) for b in grid) < 1e-3

        # Every turn is stored; another client resumes the session where it stands.
        async with Client(home, autostart=False) as other:
            _, turns = await other.session(session.id)
        assert [t.role for t in turns] == ["user", "assistant"] * 11
        assert turns[-1].tools[0].name == "retime"

        with pytest.raises(InvalidInput, match="no text provider called"):
            await c.start_session(project.id, text_model="eliza")

    call(home, go)


@pytest.mark.slow
def test_the_whole_video_in_one_request_and_a_clear_answer_to_nonsense(
    home: Home, engine: EngineServer, demo_song: tuple[Path, str]
) -> None:
    song, _ = demo_song

    async def go(c: Client) -> None:
        project = await project_with_song(c, "One go", song)
        session = await c.start_session(project.id)
        turn = await c.say(session.id, "hmm?")
        assert not turn.tools and "not sure" in turn.text
        await c.say(session.id, "a love song on a beach at dawn")
        turn = await c.say(session.id, "make the whole video")
        assert turn.tools[0].name == "make_everything" and turn.tools[0].status == "done"
        scenes = await c.scenes(project.id)
        assert scenes and all(s.state is SceneState.CLIP_READY for s in scenes)
        assert len(await c.moods(project.id)) == 4
        turn = await c.say(session.id, "render a 15 s vertical teaser as a preview")
        assert [(u.name, u.status) for u in turn.tools] == [("render", "done")], turn.text
        assert "15 s teaser is ready" in turn.text
        (render,) = await c.renders(project.id)
        assert render["status"] == "succeeded" and render["settings"]["aspect"] == "9:16"
        # the clips are made but not approved: the render shows the approved pictures, moving
        assert (await c.timeline(project.id)).clips[0].take_id == scenes[0].image_take_id
        assert f"{len(scenes)} scenes show their picture" in turn.text
        await c.say(session.id, "approve all clips")
        turn = await c.say(session.id, "render a preview")
        assert "preview render is ready" in turn.text and "show their picture" not in turn.text
        approved = await c.scenes(project.id)
        assert (await c.timeline(project.id)).clips[0].take_id == approved[0].clip_take_id
        turn = await c.say(session.id, "regenerate scene 999")
        assert turn.tools[0].status == "failed" and "no scene 999" in (turn.tools[0].error or "")
        assert "failed" in turn.text

    call(home, go)


@pytest.mark.slow
def test_a_character_steers_the_scenes_that_show_it_and_events_tell_every_viewer(
    home: Home, engine: EngineServer, demo_song: tuple[Path, str]
) -> None:
    song, _ = demo_song

    async def go(c: Client) -> None:
        project = await project_with_song(c, "Character", song)
        session = await c.start_session(project.id)
        await c.say(session.id, "a singer walks through the neon city at night")
        await c.say(session.id, "build the storyboard")
        seen: list[str] = []

        async def watch() -> None:
            async with Client(home, autostart=False) as viewer:
                async for event in viewer.events(project_id=project.id):
                    seen.append(event["type"])

        watcher = asyncio.create_task(watch())
        await asyncio.sleep(0.3)
        turn = await c.say(session.id, "the character is a singer in a red coat")
        (character,) = await c.characters(project.id)
        assert character.description == "a singer in a red coat"
        assert len(character.reference_assets) == 2  # a full figure and a close portrait
        shown = [s for s in await c.scenes(project.id) if character.id in s.characters]
        assert shown and all("singer" in s.prompt for s in shown)
        assert f"appears in {len(shown)} scenes" in turn.text

        await c.say(session.id, "generate the images")
        take = (await c.takes(shown[0].id))[-1]
        assert character.id in take["inputs"]["upstream"]["characters"]
        edited = await c.update_character(project.id, character.id, description="a singer in gold")
        assert sorted(edited["stale_scenes"]) == sorted(s.id for s in shown)
        await asyncio.sleep(0.5)
        watcher.cancel()
        assert "take.created" in seen and "scene.updated" in seen and "session.turn" in seen
        assert "character.updated" in seen

    call(home, go)


@pytest.mark.slow
def test_a_message_sent_twice_with_one_key_is_kept_and_answered_once(
    home: Home, engine: EngineServer, demo_song: tuple[Path, str]
) -> None:
    song, _ = demo_song

    async def go(c: Client) -> None:
        project = await project_with_song(c, "Twice", song)
        session = await c.start_session(project.id)
        path = f"/v1/sessions/{session.id}/messages"
        body = {"text": "a night drive through the neon city"}
        first = await c.request("POST", path, json=body, idempotency_key="msg-1")
        done = await c.wait_job(first["job"]["id"])
        again = await c.request("POST", path, json=body, idempotency_key="msg-1")
        assert again["turn"]["id"] == first["turn"]["id"]
        redone = await c.wait_job(again["job"]["id"])
        assert done.result is not None and redone.result is not None
        assert redone.result["turn_id"] == done.result["turn_id"]
        _, turns = await c.session(session.id)
        assert [(t.role, t.reply_to) for t in turns] == [
            ("user", None),
            ("assistant", first["turn"]["id"]),
        ]

    call(home, go)


def test_choosing_a_mood_moves_the_project_and_its_scenes_together_or_not_at_all(
    home: Home, engine: EngineServer, demo_song: tuple[Path, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    song, lrc = demo_song

    async def go(c: Client) -> None:
        pid = await _planned(c, song, lrc)
        before = await c.get_project(pid)
        other = next(m for m in await c.moods(pid) if m.id != before.mood_id)
        scenes = await c.scenes(pid)
        assert all(s.mood_id == before.mood_id for s in scenes)
        choose = {"project_id": pid, "tool": "choose",
                  "arguments": {"kind": "mood", "which": other.name}}  # fmt: skip

        # A scene in the middle of the board cannot be saved: nothing of the choice is kept.
        broken, real = scenes[len(scenes) // 2].id, Scene.apply

        def failing(self: Scene, action: object, **kw: object) -> Scene:
            if self.id == broken:
                raise OSError("no space left on the device")
            return real(self, action, **kw)  # type: ignore[arg-type]

        with monkeypatch.context() as m:
            m.setattr(Scene, "apply", failing)
            with pytest.raises(JobFailed):
                await c.wait_job((await c.submit_job("session.tool", choose)).id)
        assert (await c.get_project(pid)).mood_id == before.mood_id
        after = await c.scenes(pid)
        assert [(s.mood_id, s.revision) for s in after] == [(s.mood_id, s.revision) for s in scenes]

        # Once the scene can be saved, the project and every scene move.
        done = await c.wait_job((await c.submit_job("session.tool", choose)).id)
        assert done.result is not None
        assert f"{len(scenes)} scenes follow it" in done.result["summary"]
        assert (await c.get_project(pid)).mood_id == other.id
        assert all(s.mood_id == other.id for s in await c.scenes(pid))

    call(home, go)
