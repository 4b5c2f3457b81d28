"""The Voila dashboards served by ``studio dashboards``, in a real Chromium: a reviewer's link
shows the storyboard, an approval with a comment lands in the engine and appears for a second
viewer without a reload, and a forged widget message asking to generate is refused and changes
nothing."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from studio.engine import EngineServer, Home
from tests.ui.lab import Dashboards, screenshot
from tests.ui.test_widgets import card
from tests.widgets.conftest import Board

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture
def dashboards(home: Home, engine: EngineServer, tmp_path: Path) -> Iterator[Dashboards]:
    """Started after the engine and stopped before it: a kernel left running would start an
    engine of its own to reach the home again."""
    server = Dashboards(tmp_path / "voila", {"STUDIO_HOME": str(home.root)})
    server.start(timeout=90)
    yield server
    server.stop()


def test_review_dashboard(
    dashboards: Dashboards, page: Page, browser: Browser, board: Board
) -> None:
    key = board.ask(lambda c: c.share("Ana", "reviewer", [board.project_id]))["key"]
    page.goto(dashboards.link("review", key), timeout=90_000)
    expect(page.locator('[data-testid="scene-card"]')).to_have_count(4, timeout=90_000)
    expect(page.locator('[data-testid="reviewer"]')).to_have_text("reviewing as Ana")
    # a reviewer is offered no way to generate, change or approve the production's steps
    for hidden in ("regenerate", "approve-text", "generate-images", "approve-all", "prompt"):
        expect(
            page.locator(f'textarea[data-testid="{hidden}"], button[data-testid="{hidden}"]')
        ).to_have_count(0)
    expect(page.locator('[data-testid="thumb"]').first).to_have_attribute(
        "src", re.compile(r"^blob:")
    )

    other = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
    try:
        other.goto(dashboards.link("review", key), timeout=90_000)
        expect(other.locator('[data-testid="scene-card"]')).to_have_count(4, timeout=90_000)

        card(page, 3).locator('[data-testid="comment-input"]').fill("warmer light, please")
        card(page, 3).locator('[data-testid="review-changes"]').click()
        card(page, 4).locator('[data-testid="review-approve"]').click()
        expect(card(other, 4).locator('[data-testid="signoff"]')).to_have_text("Ana approved")
        expect(card(other, 3).locator('[data-testid="signoff"]')).to_have_text(
            "Ana asked for changes"
        )
        expect(other.locator('[data-testid="approved-count"]')).to_have_text("1 approved")
        said = board.ask(lambda c: c.comments(board.project_id))
        assert sorted((c.author, c.kind.value, c.body, c.target_id) for c in said) == sorted(
            [
                ("Ana", "changes_requested", "warmer light, please", board.scenes[2]),
                ("Ana", "approval", "", board.scenes[3]),
            ]
        )
        screenshot(page.locator(".studio-storyboard"), "dashboard-review")
    finally:
        other.context.close()

    # a forged widget message asking to paint again, or to change a prompt, is refused
    before = board.ask(lambda c: c.snapshot(board.project_id))
    board_el = page.locator(".studio-storyboard")
    for forged in (
        {"action": "regenerate", "scene": board.scenes[2]},
        {"action": "edit", "scene": board.scenes[2], "changes": {"prompt": "hijacked"}},
        {"action": "generate", "what": "images", "scenes": board.scenes},
    ):
        board_el.evaluate("(el, message) => el.studioModel.send(message)", forged)
        expect(board_el.locator('[data-testid="error"]')).to_contain_text("reviewer's key cannot")
        board_el.locator('[data-testid="error"] button').click()
        expect(board_el.locator('[data-testid="error"]')).to_be_hidden()
    after = board.ask(lambda c: c.snapshot(board.project_id))
    assert after.scenes == before.scenes
    assert after.takes == before.takes
    assert board.ask(lambda c: c.jobs(project_id=board.project_id)) == []


def test_a_dashboard_without_a_key_or_with_a_revoked_one_refuses(
    dashboards: Dashboards, page: Page, board: Board
) -> None:
    page.goto(dashboards.link("review", None), timeout=90_000)
    expect(page.locator('[data-testid="dashboard-error"]')).to_contain_text(
        "opens from a shared link", timeout=90_000
    )
    expect(page.locator('[data-testid="scene-card"]')).to_have_count(0)
    made = board.ask(lambda c: c.share("Ben", "reviewer", [board.project_id]))
    board.ask(lambda c: c.revoke(made["id"]))
    page.goto(dashboards.link("review", made["key"]), timeout=90_000)
    expect(page.locator('[data-testid="dashboard-error"]')).to_contain_text(
        "revoked", timeout=90_000
    )


def test_gallery_dashboard_shows_the_shared_projects_jobs(
    dashboards: Dashboards, page: Page, board: Board
) -> None:
    key = board.ask(lambda c: c.share("Ana", "reviewer", [board.project_id]))["key"]
    page.goto(dashboards.link("gallery", key), timeout=90_000)
    monitor = page.locator(".studio-monitor")
    expect(monitor.locator(".studio-title")).to_contain_text("Every project", timeout=90_000)
    params = {"project_id": board.project_id, "scene_ids": [board.scenes[1]]}
    job = board.ask(lambda c: c.submit_job("takes.images", params, project_id=board.project_id))
    row = monitor.locator(f'[data-job="{job.id}"]')
    expect(row).to_be_visible(timeout=30_000)  # the engine's event, no reload
    expect(row.locator('[data-testid="job-project"]')).to_have_text("Night Drive")
    expect(row.locator('[data-testid="cancel"]')).to_have_count(0)  # a reviewer cannot cancel
