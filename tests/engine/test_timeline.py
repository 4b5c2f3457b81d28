"""The timeline through the engine: built from the storyboard, edited in batches that apply
all or nothing against the song's corrected beat grid, guarded by its revision, announced."""

from __future__ import annotations

import asyncio
import itertools
from pathlib import Path
from typing import Any

import pytest
import soundfile as sf

from studio.audio import synthesize_song
from studio.engine import Client, EngineServer, Home
from studio.errors import Conflict, IllegalTransition, InvalidInput
from studio.model import Transition, TransitionKind
from studio.render._edit import SetTransition, TrimClip
from tests.engine.test_api import call
from tests.engine.test_song import project_with_song


@pytest.fixture(scope="module")
def short_song(tmp_path_factory: pytest.TempPathFactory) -> Path:
    audio, truth = synthesize_song(tempo=120, structure=(("intro", 2), ("verse", 4)), seed=3)
    path = tmp_path_factory.mktemp("song") / "short.wav"
    sf.write(path, audio, truth.sample_rate, subtype="PCM_16")
    return path


def test_build_edit_and_rebuild_the_timeline(
    home: Home, engine: EngineServer, short_song: Path
) -> None:
    async def go(c: Client) -> None:
        project = await project_with_song(c, "Cut", short_song)
        pid = project.id
        with pytest.raises(IllegalTransition, match="no storyboard yet"):
            await c.build_timeline(pid)

        song = await c.song_map(pid)
        bars = song.downbeats
        cuts = [0.0, bars[2], bars[4], song.duration]
        scenes = [await c.add_scene(pid, start=a, end=b) for a, b in itertools.pairwise(cuts)]
        first = scenes[0]
        await c.scene_action(first.id, "approve_text")
        image = await c.add_take(
            owner_kind="scene",
            owner_id=first.id,
            kind="image",
            asset_sha256=await c.upload(b"picture", "image/png"),
            media_type="image/png",
        )
        await c.scene_action(first.id, "approve_image", take_id=image.id)

        updates: list[dict[str, Any]] = []

        async def listen() -> None:
            async for event in c.events(project_id=pid):
                if event["type"] == "timeline.updated":
                    updates.append(event["data"])
                    if len(updates) == 4:
                        return

        listener = asyncio.create_task(listen())
        await asyncio.sleep(0.2)

        built = await c.build_timeline(pid)
        assert built.revision == 1 and built.duration == song.duration
        assert [clip.start for clip in built.clips] == cuts[:-1]
        assert [clip.scene_id for clip in built.clips] == [s.id for s in scenes]
        assert [clip.take_id for clip in built.clips] == [image.id, None, None]

        # Two edits in one request: a cut rolled to the next beat, a crossfade into clip 2.
        after = min(b for b in song.beats if b > bars[4] + 1e-6)
        fade = {"kind": "crossfade", "duration": 0.5}
        edited = await c.edit_timeline(
            pid,
            [
                {"op": "move_cut", "index": 2, "to": "next_beat"},
                {"op": "set_transition", "clip_id": built.clips[1].id, "transition": fade},
            ],
            revision=1,
        )
        assert edited.revision == 2
        assert edited.clips[2].start == after
        assert edited.clips[2].in_point == pytest.approx(after - bars[4], abs=1e-9)
        assert edited.clips[1].transition_in.kind is TransitionKind.CROSSFADE

        # A stale revision is refused, and nothing changes.
        with pytest.raises(Conflict, match="changed meanwhile") as err:
            await c.edit_timeline(pid, [{"op": "move_cut", "index": 1, "to": 1.0}], revision=1)
        assert err.value.hint == "reload it and apply your edits again"
        # A bad second edit: the first is not applied either.
        clip = edited.clips[0]
        with pytest.raises(InvalidInput, match=r"edit 2 of 2 \(split\): clip 1 runs from"):
            await c.edit_timeline(
                pid,
                [
                    TrimClip(clip_id=clip.id, in_point=1.0),
                    {"op": "split", "clip_id": clip.id, "at": clip.end - 0.1},
                ],
                revision=2,
            )
        with pytest.raises(InvalidInput, match=r"edits\.0\.move_cut\.index: .* greater than"):
            await c.edit_timeline(pid, [{"op": "move_cut", "index": 0, "to": 1.0}], revision=2)
        assert await c.timeline(pid) == edited

        # Rebuilt from the storyboard: the cut goes back to the scene, the crossfade stays.
        rebuilt = await c.build_timeline(pid)
        assert rebuilt.revision == 3 and [clip.start for clip in rebuilt.clips] == cuts[:-1]
        assert rebuilt.clips[1].transition_in.kind is TransitionKind.CROSSFADE
        plain = await c.build_timeline(pid, keep_edits=False)
        assert plain.revision == 4 and plain.clips[1].transition_in.kind is TransitionKind.CUT

        # Every change was announced once, refusals not at all.
        await asyncio.wait_for(listener, 10)
        assert [u["revision"] for u in updates] == [1, 2, 3, 4]
        assert updates[1]["clips"][2]["start"] == after

        # Edits name real clips.
        with pytest.raises(InvalidInput, match="no clip"):
            await c.edit_timeline(
                pid,
                [SetTransition(clip_id="clp_gone", transition=Transition())],
                revision=4,
            )

    call(home, go)


def test_editing_needs_a_timeline(home: Home, engine: EngineServer) -> None:
    async def go(c: Client) -> None:
        project = await c.create_project("Empty")
        with pytest.raises(InvalidInput, match="no timeline yet"):
            await c.edit_timeline(project.id, [{"op": "remove", "clip_id": "x"}], revision=1)
        with pytest.raises(InvalidInput, match="no song yet"):
            await c.build_timeline(project.id)

    call(home, go)
