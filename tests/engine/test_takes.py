"""Image and clip takes through the engine: a clip for every scene from its approved picture;
editing a mood makes exactly the takes made from it stale; a budget cap stops a paid run
between two whole takes, with the ledger telling what was spent."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from studio.engine import Client, EngineServer, Home
from studio.errors import InvalidInput, JobFailed, Unauthorized
from studio.model import SceneState
from studio.providers import GeneratedImage, ImageRequest, ProviderCard, _registry
from studio.providers.local import LocalImageModel
from studio.render import probe
from tests.engine.test_api import call
from tests.engine.test_storyboard import _planned, demo_song

__all__ = ["demo_song"]

SMALL = {"width": 320, "height": 180}


async def _images_approved(c: Client, pid: str) -> list[Any]:
    for s in await c.scenes(pid):
        await c.scene_action(s.id, "approve_text")
    done = await c.wait_job((await c.submit_job("takes.images", {"project_id": pid, **SMALL})).id)
    assert done.result is not None and done.result["made"] == len(await c.scenes(pid))
    for s in await c.scenes(pid):
        latest = [t for t in await c.takes(s.id) if t["kind"] == "image"][-1]
        await c.scene_action(s.id, "approve_image", take_id=latest["id"])
    return await c.scenes(pid)


@pytest.mark.slow
def test_every_scene_gets_a_clip_of_its_picture_as_long_as_the_scene(
    home: Home, engine: EngineServer, demo_song: tuple[Path, str], tmp_path: Path
) -> None:
    song, lrc = demo_song

    async def go(c: Client) -> None:
        pid = await _planned(c, song, lrc)
        scenes = await _images_approved(c, pid)
        job = await c.submit_job("takes.clips", {"project_id": pid, **SMALL, "fps": 12})
        done = await c.wait_job(job.id, timeout=600)
        assert done.result is not None and done.result["made"] == len(scenes)
        after = await c.scenes(pid)
        assert all(s.state is SceneState.CLIP_READY for s in after)
        for s in (after[0], after[len(after) // 2]):
            (clip,) = [t for t in await c.takes(s.id) if t["kind"] == "clip"]
            assert clip["inputs"]["image_take_id"] == s.image_take_id
            path = await c.download(clip["asset_sha256"], tmp_path / f"{s.id}.mp4")
            info = probe(path, count_frames=True)
            assert (info.width, info.height) == (320, 180)
            assert info.frames is not None and info.frames / 12 >= s.duration - 1e-6
            assert info.frames / 12 < s.duration + 1 / 12
        again = await c.wait_job((await c.submit_job("takes.clips", {"project_id": pid})).id)
        assert again.result is not None and again.result["made"] == 0

    call(home, go)


@pytest.mark.slow
def test_editing_a_mood_makes_exactly_its_takes_stale(
    home: Home, engine: EngineServer, demo_song: tuple[Path, str]
) -> None:
    song, lrc = demo_song

    async def go(c: Client) -> None:
        pid = await _planned(c, song, lrc)
        moods = await c.moods(pid)
        scenes = await c.scenes(pid)
        chosen, other = scenes[0].mood_id, next(m.id for m in moods if m.id != scenes[0].mood_id)
        # Scenes 2 and 5 get another mood; the rest keep the chosen one.
        for s in (scenes[1], scenes[4]):
            await c.scene_action(s.id, "edit", mood_id=other)
        await _images_approved(c, pid)
        done = await c.wait_job(
            (await c.submit_job("takes.clips", {"project_id": pid, **SMALL, "fps": 6})).id
        )
        assert done.result is not None

        renamed = await c.update_mood(pid, chosen, name="Renamed, same look")
        assert renamed["stale_scenes"] == []  # a name is not in any picture
        edited = await c.update_mood(pid, other, keywords=["fog", "sodium light"])
        assert sorted(edited["stale_scenes"]) == sorted([scenes[1].id, scenes[4].id])
        for s in await c.scenes(pid):
            stale = {t["kind"]: t["stale"] for t in await c.takes(s.id)}
            expected = s.id in (scenes[1].id, scenes[4].id)
            assert stale == {"image": expected, "clip": expected}, s.index

        # Bringing everything up to date remakes the two pictures, and nothing else.
        redo = await c.wait_job(
            (await c.submit_job("takes.images", {"project_id": pid, **SMALL})).id
        )
        assert redo.result is not None and redo.result["made"] == 2
        versions = [(t["version"], t["stale"]) for t in await c.takes(scenes[4].id)
                    if t["kind"] == "image"]  # fmt: skip
        assert versions == [(1, True), (2, False)]

    call(home, go)


class _PaidImages(LocalImageModel):
    """The offline painter with a price: 50 cents a picture."""

    name = "paid"
    card = ProviderCard(role="image", name="paid", model="painter-paid", usd_per_call=0.5)

    def estimate(self, request: ImageRequest) -> float:
        del request
        return self.card.cost()

    async def generate(self, request: ImageRequest) -> GeneratedImage:
        image = await super().generate(request)
        return image.model_copy(update={"cost_usd": 0.5, "provider": "paid"})


def paid(variant: str | None, environ: Any) -> _PaidImages:
    del variant, environ
    return _PaidImages()


@pytest.mark.slow
def test_a_budget_cap_stops_a_paid_run_between_two_whole_takes(
    home: Home, engine: EngineServer, demo_song: tuple[Path, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(_registry._BUILTIN["image"], "paid", f"{__name__}:paid")
    song, lrc = demo_song

    async def go(c: Client) -> None:
        pid = await _planned(c, song, lrc)
        await c.update_project(pid, budget_usd=1.2)
        for s in await c.scenes(pid):
            await c.scene_action(s.id, "approve_text")
        job = await c.submit_job("takes.images", {"project_id": pid, "provider": "paid", **SMALL})
        with pytest.raises(JobFailed, match="would pass the budget"):
            await c.wait_job(job.id)
        failed = await c.job(job.id)
        assert failed.error is not None and failed.error["type"] == "BudgetExceeded"
        assert failed.attempts == 1  # not retried: more attempts would not find more money
        made = [len(await c.takes(s.id)) for s in await c.scenes(pid)]
        assert sum(made) == 2 and made[:2] == [1, 1]  # two whole takes, in song order
        ledger = await c.ledger(pid)
        assert ledger["spent_usd"] == pytest.approx(1.0)
        assert ledger["committed_usd"] == pytest.approx(1.0)  # no hold left behind
        assert [x["state"] for x in ledger["lines"]] == ["spent", "spent"]
        assert [x["usd"] for x in ledger["lines"]] == [0.5, 0.5]
        # The same job with more money finishes the rest, buying nothing twice.
        await c.update_project(pid, budget_usd=100)
        rest = await c.wait_job((await c.submit_job(
            "takes.images", {"project_id": pid, "provider": "paid", **SMALL})).id)  # fmt: skip
        assert rest.result is not None and rest.result["made"] == len(made) - 2
        assert (await c.ledger(pid))["spent_usd"] == pytest.approx(0.5 * len(made))

    call(home, go)


def test_bad_edits_plan_options_and_provider_choices_are_refused_and_change_nothing(
    home: Home, engine: EngineServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("REPLICATE_API_TOKEN", raising=False)

    async def go(c: Client) -> None:
        project = await c.create_project("Refusals")
        mood = await c.add_mood(project.id, name="Neon", palette=["#ff00ff"])
        with pytest.raises(InvalidInput, match="id cannot be changed"):
            await c.update_mood(project.id, mood.id, id="mod_00000000000000000000")
        with pytest.raises(InvalidInput):
            await c.update_mood(project.id, mood.id, palette=["not a colour"])
        assert (await c.moods(project.id))[0].palette == ["#ff00ff"]
        with pytest.raises(InvalidInput, match="bad plan options"):
            await c.plan(project.id, width=10)
        with pytest.raises(InvalidInput, match="no video provider called"):
            await c.plan(project.id, video="dalle-9")
        with pytest.raises(InvalidInput, match="not a provider role"):
            await c.update_project(project.id, providers={"colour": "local"})
        with pytest.raises(Unauthorized, match="needs a key"):
            await c.update_project(project.id, providers={"video": "replicate"})
        assert (await c.get_project(project.id)).providers == {}

    call(home, go)
