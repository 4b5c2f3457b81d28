"""The Studio app: the steps say where the project stands; a tab's widget is made when opened."""

from __future__ import annotations

from studio.ui import Storyboard, Studio, Timeline
from tests.widgets.conftest import Board, until


def test_the_steps_follow_the_project_and_tabs_open_lazily(painted: Board) -> None:
    app = Studio(painted.project_id)
    steps = {s["name"]: s for s in app.header.steps}
    assert steps["Moods"]["done"] and steps["Storyboard"]["done"]
    assert (
        steps["Storyboard"]["say"]
        == f"{len(painted.scenes)}/{len(painted.scenes)} pictures approved"
    )
    assert not steps["Timeline"]["done"] and not steps["Render"]["done"]
    assert list(app.pages) == [0]  # only the session, until another tab is opened
    assert app.tabs.titles[2] == "3. ✓ Storyboard"

    board = app.show_step(2)
    assert isinstance(board, Storyboard) and app.tabs.selected_index == 2
    app.header._received(app.header, {"action": "open", "step": 3}, [])
    app.header.wait()
    until(lambda: isinstance(app.pages.get(3), Timeline))
    painted.ask(lambda c: c.build_timeline(painted.project_id))
    until(lambda: app.tabs.titles[3] == "4. ✓ Timeline", what="the timeline's step")
    app.close()
