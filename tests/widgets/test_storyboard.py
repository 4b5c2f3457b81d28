"""The storyboard widget's Python side, against a real engine: what it shows, what its actions
do in the engine, and events from elsewhere arriving without a reload."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from studio.model import SceneAction
from studio.ui import Storyboard
from tests.widgets.conftest import Board, add_picture, browser, run, until


def test_it_shows_the_scenes_in_song_order_with_their_takes(board: Board) -> None:
    w = Storyboard(board.project_id)
    assert [c["id"] for c in w.scenes] == board.scenes
    assert [c["number"] for c in w.scenes] == [1, 2, 3, 4]
    assert w.sections == ["intro", "verse", "chorus"]
    assert [c["state"] for c in w.scenes] == [
        "draft", "text_approved", "image_ready", "image_approved",
    ]  # fmt: skip
    third = w.scene(3)
    assert [t["version"] for t in third["images"]] == [1, 2] and third["clips"] == []
    assert w.scene(4)["image_take_id"] == w.scene(4)["images"][0]["id"]
    assert w.project_name == "Night Drive" and not w.error


def test_approving_a_version_lands_in_the_engine_and_comes_back(board: Board) -> None:
    w = Storyboard(board.project_id)
    first = w.scene(3)["images"][0]["id"]
    browser(w, action="approve_image", scene=board.scenes[2], take=first)
    assert not w.error
    scene = board.ask(lambda c: c.scenes(board.project_id))[2]
    assert scene.state.value == "image_approved" and scene.image_take_id == first
    until(lambda: w.scene(3)["state"] == "image_approved")


def test_a_change_made_elsewhere_appears_without_a_reload(board: Board) -> None:
    w = Storyboard(board.project_id)
    board.ask(lambda c: c.scene_action(board.scenes[0], "approve_text"))
    until(lambda: w.scene(1)["state"] == "text_approved", what="the other client's approval")

    board.ask(lambda c: add_picture(c, board.scenes[1], (250, 200, 0)))
    until(lambda: len(w.scene(2)["images"]) == 1, what="the new take")


def test_a_reload_read_before_an_action_does_not_hide_the_actions_answer(
    board: Board, monkeypatch: pytest.MonkeyPatch
) -> None:
    w = Storyboard(board.project_id)
    read = w.client.storyboard
    acted: list[bool] = []

    async def read_then_act(project_id: str) -> dict[str, Any]:
        older = await read(project_id)
        if not acted:  # once: the reload its event brings reads as usual
            acted.append(True)
            await w._act(w.scene(1), SceneAction.APPROVE_TEXT)  # answered meanwhile
        return older

    monkeypatch.setattr(w.client, "storyboard", read_then_act)
    w.run(w.load()).result(timeout=30)
    assert not w.error
    scene = board.ask(lambda c: c.scenes(board.project_id))[0]
    card = w.scene(1)
    assert (card["state"], card["revision"]) == ("text_approved", scene.revision)


def test_regenerate_paints_a_new_version_and_keeps_the_old(board: Board) -> None:
    w = Storyboard(board.project_id)
    browser(w, action="regenerate", scene=board.scenes[2])
    assert not w.error
    card = until(lambda: len(w.scene(3)["images"]) == 3 and w.scene(3), timeout=60)
    assert [t["version"] for t in card["images"]] == [1, 2, 3]
    assert card["seed"] != 0  # a new seed: a new picture, not the old one found again


def test_edits_comments_and_bulk_approval(board: Board) -> None:
    w = Storyboard(board.project_id)
    browser(w, action="edit", scene=board.scenes[0], changes={"prompt": "a road at dawn"})
    assert board.ask(lambda c: c.scenes(board.project_id))[0].prompt == "a road at dawn"
    browser(w, action="comment", scene=board.scenes[0], body="brighter sky please")
    notes = board.ask(lambda c: c.comments(board.project_id, board.scenes[0]))
    assert [n.body for n in notes] == ["brighter sky please"]
    until(lambda: w.scene(1)["comments"] and w.scene(1)["revision"] > 1)

    browser(w, action="approve_all", scenes=board.scenes)
    states = [s.state.value for s in board.ask(lambda c: c.scenes(board.project_id))]
    # the draft's text and the waiting picture (its newest version) are approved; the rest
    # had nothing waiting
    assert states == ["text_approved", "text_approved", "image_approved", "image_approved"]
    assert (
        board.ask(lambda c: c.scenes(board.project_id))[2].image_take_id
        == w.scene(3)["images"][-1]["id"]
    )


@pytest.mark.parametrize(
    ("message", "says"),
    [
        ({"action": "drop_tables"}, "no action 'drop_tables'"),
        ({"action": "approve_text", "scene": "scn_someone_else"}, "not on this storyboard"),
        ({"action": "approve_image", "scene": "1", "take": "tk_nope"}, "not one of scene"),
        ({"action": "edit", "scene": "1", "changes": {"state": "clip_approved"}}, "changes only"),
        ({"action": "comment", "scene": "1", "body": "  "}, "write the comment"),
    ],
)
def test_a_bad_message_is_refused_readably_and_changes_nothing(
    board: Board, message: dict[str, Any], says: str
) -> None:
    w = Storyboard(board.project_id)
    if message.get("scene") == "1":
        message["scene"] = board.scenes[0]
    before = [s.model_dump() for s in board.ask(lambda c: c.scenes(board.project_id))]
    browser(w, **message)
    assert says in w.error
    assert [s.model_dump() for s in board.ask(lambda c: c.scenes(board.project_id))] == before
    browser(w, action="dismiss")
    assert w.error == ""


def test_media_goes_as_binary_and_only_what_the_board_shows(board: Board) -> None:
    w = Storyboard(board.project_id)
    sent: list[tuple[Any, list[bytes]]] = []
    w.send = lambda content, buffers=None: sent.append((content, buffers or []))  # type: ignore[method-assign]
    sha = w.scene(3)["images"][0]["sha"]
    unknown = {"sha": "0" * 64, "kind": "thumb"}  # not on the board: never fetched
    browser(w, action="media", items=[{"sha": sha, "kind": "thumb"}, unknown])
    [(content, buffers)] = sent
    thumb = {"sha": sha, "kind": "thumb", "type": "image/jpeg"}
    assert content == {"type": "media", "items": [thumb]}
    assert buffers[0][:3] == b"\xff\xd8\xff"  # a JPEG thumbnail, not the PNG itself


def test_the_thumbnails_are_fetched_before_the_front_end_asks_and_each_only_once(
    board: Board, monkeypatch: pytest.MonkeyPatch
) -> None:
    from studio.ui import _base

    media = _base._Media()  # an empty cache: this kernel has fetched nothing yet
    monkeypatch.setattr(_base, "_media", media)
    fetched: list[tuple[str, str]] = []
    real = _base._Media._fetch

    async def counted(studio: Any, sha: str, kind: str) -> tuple[bytes, str]:
        fetched.append((sha, kind))
        return await real(studio, sha, kind)

    monkeypatch.setattr(_base._Media, "_fetch", staticmethod(counted))
    w = Storyboard(board.project_id)
    shown = w.media_keys()
    assert len(shown) == 3  # the third scene's two versions and the fourth's picture
    until(lambda: all(key in media._kept for key in shown), what="the warmed thumbnails")
    assert sorted(fetched) == sorted(shown)
    sent: list[Any] = []
    w.send = lambda content, buffers=None: sent.append(content)  # type: ignore[method-assign]
    browser(w, action="media", items=[{"sha": sha, "kind": kind} for sha, kind in shown])
    assert sum(len(m["items"]) for m in sent) == 3 and len(fetched) == 3  # from the cache


def test_asks_for_media_on_its_way_wait_for_that_one_fetch() -> None:
    from studio.ui._base import _Media

    media, calls = _Media(), []

    async def slow(studio: Any, sha: str, kind: str) -> tuple[bytes, str]:
        calls.append(sha)
        await asyncio.sleep(0.05)
        return b"jpeg", "image/jpeg"

    media._fetch = slow  # type: ignore[method-assign]

    async def three_asks() -> list[Any]:
        asks = [media.get(None, "a" * 64, "thumb") for _ in range(3)]  # type: ignore[arg-type]
        return await asyncio.gather(*asks)

    assert run(three_asks) == [(b"jpeg", "image/jpeg")] * 3 and calls == ["a" * 64]
    assert not media._coming


def test_a_media_fetch_that_fails_fails_every_ask_waiting_on_it_and_is_not_kept() -> None:
    from studio.ui._base import _Media

    media, calls = _Media(), []

    async def broken(studio: Any, sha: str, kind: str) -> tuple[bytes, str]:
        calls.append(sha)
        await asyncio.sleep(0.05)
        raise RuntimeError("the engine went away")

    media._fetch = broken  # type: ignore[method-assign]

    async def two_asks() -> list[Any]:
        asks = [media.get(None, "a" * 64, "thumb") for _ in range(2)]  # type: ignore[arg-type]
        return await asyncio.gather(*asks, return_exceptions=True)

    first = run(two_asks)
    assert [str(e) for e in first] == ["the engine went away"] * 2 and calls == ["a" * 64]
    assert not media._kept and not media._coming
    run(two_asks)
    assert len(calls) == 2  # a failure is not remembered: the next ask tries again


def test_the_front_end_may_change_the_filter_and_nothing_else(board: Board) -> None:
    """A forged state update (another project's scene slipped into the cards, to approve it
    next) changes nothing; the section filter, which the front end owns, does change."""
    w = Storyboard(board.project_id)
    shown = [dict(c) for c in w.scenes]
    forged = [{**shown[0], "id": "scn_someone_else"}]
    w.set_state({"scenes": forged, "error": "", "section_filter": "chorus"})
    assert w.scenes == shown and w.section_filter == "chorus"
    browser(w, action="approve_text", scene="scn_someone_else")
    assert "not on this storyboard" in w.error
