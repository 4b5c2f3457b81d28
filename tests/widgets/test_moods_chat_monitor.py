"""The mood picker, the chat session and the render monitor, against a real engine."""

from __future__ import annotations

from typing import Any

from studio.ui import ChatSession, MoodPicker, RenderMonitor
from tests.widgets.conftest import Board, browser, until


def test_the_mood_boards_pick_paint_again_and_more_like_this(planned: Board) -> None:
    w = MoodPicker(planned.project_id)
    assert len(w.moods) == 4 and all(m["palette"] and m["keywords"] for m in w.moods)
    assert w.chosen == w.moods[0]["id"]  # the planner chose the first

    second = w.moods[1]["id"]
    browser(w, action="pick", mood=second)
    assert not w.error
    until(lambda: w.chosen == second, timeout=30, what="the chosen mood")
    # the storyboard follows it in the same transaction as the project's mood
    scenes = planned.ask(lambda c: c.scenes(planned.project_id))
    assert all(s.mood_id == second for s in scenes)

    browser(w, action="repaint", mood=second)
    until(lambda: len(w.moods[1]["images"]) == 2, timeout=60, what="the new pictures")
    browser(w, action="more", mood=second)
    until(lambda: len(w.moods) == 6, timeout=60, what="two more boards")
    liked = w.moods[1]
    for new in w.moods[4:]:
        assert new["name"].startswith(liked["name"])
        assert set(liked["keywords"]) <= set(new["keywords"])
        assert set(new["palette"]) & set(liked["palette"])
    until(lambda: all(len(m["images"]) == 2 for m in w.moods[4:]), timeout=60)


def test_a_forged_mood_is_refused(planned: Board) -> None:
    w = MoodPicker(planned.project_id)
    browser(w, action="pick", mood="mod_not_here")
    assert "not one of this project's mood boards" in w.error
    assert planned.ask(lambda c: c.get_project(planned.project_id)).mood_id == w.moods[0]["id"]


def test_the_chat_answers_with_tool_cards_and_suggestions(planned: Board) -> None:
    w = ChatSession(planned.project_id)
    assert w.session_id and w.messages == []
    browser(w, action="say", text="make the chorus scenes at night")
    assert w.messages[0]["role"] == "user" and w.working.get("job")
    until(lambda: len(w.messages) == 2 and not w.working, timeout=60, what="the answer")
    answer = w.messages[1]
    assert answer["role"] == "assistant" and answer["text"]
    assert answer["tools"] and all(t["status"] in ("done", "queued") for t in answer["tools"])
    assert w.suggestions  # chips for what to say next
    # the session is stored: a second widget on the project resumes it
    again = ChatSession(planned.project_id)
    assert again.session_id == w.session_id and len(again.messages) == 2


def test_stop_cancels_the_answer_and_nothing_to_stop_says_so(planned: Board) -> None:
    w = ChatSession(planned.project_id)
    browser(w, action="stop")
    assert "nothing is being answered" in w.error
    browser(w, action="say", text="   ")
    assert "write a message first" in w.error


def test_the_monitor_follows_a_job_and_cancels_and_retries(planned: Board) -> None:
    w = RenderMonitor(planned.project_id)
    job = planned.ask(
        lambda c: c.submit_job(
            "render.testcard",
            {"duration": 30.0, "fps": 25, "segment": 1.0},
            project_id=planned.project_id,
        )
    )
    row = until(lambda: next((j for j in w.jobs if j["id"] == job.id and j["progress"] > 0), None))
    assert row["kind"] == "render.testcard"
    browser(w, action="cancel", job=job.id)
    until(lambda: next(j for j in w.jobs if j["id"] == job.id)["status"] == "cancelled")
    browser(w, action="retry", job=job.id)
    until(lambda: next(j for j in w.jobs if j["id"] == job.id)["status"] in ("queued", "running"))
    browser(w, action="cancel", job=job.id)
    browser(w, action="cancel", job="job_someone_elses")
    assert "not one of this project's jobs" in w.error


def test_the_monitor_lists_a_finished_render_and_sends_it_to_play(painted: Board) -> None:
    async def make(c: Any) -> None:
        job = await c.submit_job(
            "render.video", {"project_id": painted.project_id, "preset": "preview"}
        )
        await c.wait_job(job.id, timeout=240)

    w = RenderMonitor(painted.project_id)
    painted.ask(make)
    render = until(lambda: next(iter(w.renders), None), timeout=30, what="the render")
    song = painted.ask(lambda c: c.song_map(painted.project_id))
    assert render["status"] == "succeeded" and render["sha"]
    assert abs(render["duration"] - song.duration) < 0.05  # the whole song, read back
    sent: list[tuple[Any, list[bytes]]] = []
    w.send = lambda content, buffers=None: sent.append((content, buffers or []))  # type: ignore[method-assign]
    browser(w, action="media", items=[{"sha": render["sha"], "kind": "video"}])
    [(content, buffers)] = sent
    assert content["items"][0]["type"] == "video/mp4" and buffers[0][4:8] == b"ftyp"
