"""Each widget in a real JupyterLab in a real Chromium: it renders, a click does what it says
(checked in the kernel and in the engine), and the engine's events appear without a reload.
Screenshots of each in the light and the dark theme go to build/screenshots/."""

from __future__ import annotations

import concurrent.futures
import re
from typing import Any

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.ui.lab import Lab, screenshot
from tests.widgets.conftest import Board, add_picture, png

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def show(lab: Lab, page: Page, name: str, widget: str, project: str) -> None:
    """A notebook that ends a cell with the widget, opened and run."""
    lab.notebook(
        f"{name}.ipynb",
        [f"from studio.ui import {widget}\nw = {widget}({project!r})", "w"],
    )
    lab.open(page, f"{name}.ipynb")
    lab.run_all(page)


def both_themes(lab: Lab, page: Page, widget: Locator, name: str) -> None:
    """The widget pictured whole (on a page tall enough for it) in both themes."""
    size = page.viewport_size or {"width": 1280, "height": 800}
    page.set_viewport_size({"width": size["width"], "height": 2400})
    try:
        widget.scroll_into_view_if_needed()
        screenshot(widget, f"{name}-light")
        lab.theme(page, dark=True)
        screenshot(widget, f"{name}-dark")
        lab.theme(page, dark=False)
    finally:
        page.set_viewport_size(size)


def card(page: Page, number: int) -> Locator:
    return page.locator(f'[data-testid="scene-card"][data-number="{number}"]')


def test_storyboard_in_the_browser(lab: Lab, page: Page, board: Board) -> None:
    show(lab, page, "storyboard", "Storyboard", board.project_id)
    expect(page.get_by_test_id("scene-card")).to_have_count(4)
    expect(card(page, 3).get_by_test_id("state")).to_have_text("picture to approve")
    # thumbnails arrive through the widget channel as binary and show as blob URLs
    expect(card(page, 4).get_by_test_id("thumb")).to_have_attribute("src", re.compile("^blob:"))

    # step back to version 1 and choose it: the engine has it, and so does the kernel
    third = card(page, 3)
    expect(third.get_by_test_id("version")).to_have_text("v2 of 2")
    third.get_by_test_id("prev-version").click()
    expect(third.get_by_test_id("version")).to_have_text("v1 of 2")
    third.get_by_test_id("choose-image").click()
    expect(card(page, 3).get_by_test_id("state")).to_have_text("picture approved")
    scene = board.ask(lambda c: c.scenes(board.project_id))[2]
    takes = board.ask(lambda c: c.takes(board.scenes[2]))
    assert scene.state.value == "image_approved" and scene.image_take_id == takes[0]["id"]
    lab.kernel_wait("w.scene(3)['state'] == 'image_approved'")

    # a change made by another client appears without a reload
    board.ask(lambda c: c.scene_action(board.scenes[0], "approve_text"))
    expect(card(page, 1).get_by_test_id("state")).to_have_text("waiting for a picture")

    # filter by section, comment, approve all shown
    page.get_by_test_id("section-filter").select_option("chorus")
    expect(page.get_by_test_id("scene-card")).to_have_count(2)
    lab.kernel_wait("w.section_filter == 'chorus'")
    page.get_by_test_id("section-filter").select_option("")
    first = card(page, 1)
    first.get_by_test_id("comment-input").fill("warmer light")
    first.get_by_test_id("comment-input").press("Enter")
    expect(card(page, 1).get_by_test_id("comments")).to_contain_text("warmer light")

    both_themes(lab, page, page.locator(".studio-storyboard"), "storyboard")

    # a refused action shows a readable error under the widget, and it can be dismissed
    lab.kernel_exec("w._received(w, {'action': 'approve_text', 'scene': 'scn_nope'}, [])")
    error = page.get_by_test_id("error")
    expect(error).to_contain_text("not on this storyboard")
    error.get_by_role("button", name="dismiss").click()
    expect(error).to_be_hidden()


def test_two_notebooks_on_one_project_stay_in_step(
    lab: Lab, page: Page, board: Board, browser: Any
) -> None:
    show(lab, page, "first", "Storyboard", board.project_id)
    other = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
    show(lab, other, "second", "Storyboard", board.project_id)
    expect(card(other, 3).get_by_test_id("state")).to_have_text("picture to approve")
    card(page, 3).get_by_test_id("approve-image").click()
    expect(card(other, 3).get_by_test_id("state")).to_have_text("picture approved")
    other.context.close()


def test_mood_picker_in_the_browser(lab: Lab, page: Page, planned: Board) -> None:
    show(lab, page, "moods", "MoodPicker", planned.project_id)
    cards = page.get_by_test_id("mood-card")
    expect(cards).to_have_count(4)
    expect(cards.nth(0).get_by_test_id("chosen")).to_be_visible()
    assert cards.nth(1).locator(".mp-swatch").count() >= 3
    cards.nth(1).get_by_test_id("pick").click()
    expect(cards.nth(1).get_by_test_id("chosen")).to_be_visible(timeout=30_000)
    mood = planned.ask(lambda c: c.get_project(planned.project_id)).mood_id
    assert mood == cards.nth(1).get_attribute("data-mood")
    lab.kernel_wait(f"w.chosen == {mood!r}")
    both_themes(lab, page, page.locator(".studio-moods"), "moods")


def test_chat_session_in_the_browser(lab: Lab, page: Page, planned: Board) -> None:
    show(lab, page, "chat", "ChatSession", planned.project_id)
    box = page.get_by_test_id("message-input")
    box.fill("make the chorus scenes at night")
    box.press("Enter")  # sends: JupyterLab does not take the key
    expect(page.locator('[data-testid="message"][data-role="user"]')).to_have_count(1)
    answer = page.locator('[data-testid="message"][data-role="assistant"]')
    expect(answer).to_have_count(1, timeout=60_000)
    expect(answer.get_by_test_id("tool-card").first).to_be_visible()
    expect(page.get_by_test_id("chip").first).to_be_visible()
    turns = planned.ask(lambda c: c.sessions(planned.project_id))
    assert len(turns) == 1
    lab.kernel_wait("len(w.messages) == 2")
    both_themes(lab, page, page.locator(".studio-chat"), "chat")


def test_render_monitor_in_the_browser(lab: Lab, page: Page, board: Board) -> None:
    show(lab, page, "monitor", "RenderMonitor", board.project_id)
    expect(page.get_by_test_id("jobs")).to_contain_text("No jobs yet")
    job = board.ask(
        lambda c: c.submit_job(
            "render.testcard",
            # long enough that the retry, which reuses the segments made before the cancel,
            # is still running when it is cancelled in turn
            {"duration": 600.0, "fps": 25, "segment": 1.0},
            project_id=board.project_id,
        )
    )
    row = page.locator(f'[data-job="{job.id}"]')
    # progress arrives as the engine's events, no reload
    expect(row.get_by_test_id("job-status")).to_have_text("running")
    page.wait_for_function(
        "id => { const f = document.querySelector(`[data-job='${id}'] [data-testid=progress]`);"
        " return f && parseFloat(f.style.width) > 0; }",
        arg=job.id,
    )
    both_themes(lab, page, page.locator(".studio-monitor"), "monitor")
    # the running row is patched, not rebuilt, as progress comes in: the Cancel under the
    # pointer is the same node a whole percent of progress later (a click swapped between
    # press and release is lost)
    cancel = row.get_by_test_id("cancel").element_handle()
    width = row.get_by_test_id("progress").evaluate("n => parseFloat(n.style.width)")
    page.wait_for_function(
        "([id, w]) => parseFloat(document.querySelector("
        "`[data-job='${id}'] [data-testid=progress]`).style.width) > w",
        arg=[job.id, width],
    )
    assert cancel.evaluate("n => n.isConnected")
    row.get_by_test_id("cancel").click()
    expect(row.get_by_test_id("job-status")).to_have_text("cancelled")
    assert board.ask(lambda c: c.job(job.id)).status.value == "cancelled"
    row.get_by_test_id("retry").click()
    expect(row.get_by_test_id("job-status")).not_to_have_text("cancelled")
    row.get_by_test_id("cancel").click()
    expect(row.get_by_test_id("job-status")).to_have_text("cancelled")


def test_a_new_take_appears_while_the_kernel_is_busy(lab: Lab, page: Page, board: Board) -> None:
    """A cell that blocks the kernel's main thread does not stop the widget from following the
    engine: events are handled on the link's own thread."""
    show(lab, page, "busy", "Storyboard", board.project_id)
    expect(card(page, 2).get_by_test_id("thumb")).to_have_count(0)

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        blocked = pool.submit(lab.kernel_exec, "import time; time.sleep(8)", None, 30)
        board.ask(lambda c: add_picture(c, board.scenes[1], (250, 200, 0)))
        expect(card(page, 2).get_by_test_id("thumb")).to_have_count(1, timeout=6_000)
        assert not blocked.done()  # it appeared while the kernel's main thread slept
        blocked.result(30)


def test_a_painted_storyboard_for_the_pictures(lab: Lab, page: Page, painted: Board) -> None:
    """The storyboard of a planned song with its pictures painted by the offline painter and
    approved (the README's picture), every card with its thumbnail."""
    show(lab, page, "painted", "Storyboard", painted.project_id)
    cards = page.get_by_test_id("scene-card")
    expect(cards).to_have_count(len(painted.scenes))
    thumbs = page.locator('[data-testid="thumb"][src^="blob:"]')
    expect(thumbs).to_have_count(len(painted.scenes))
    assert page.get_by_test_id("stale").count() == 0  # fresh takes of the scenes as they are
    both_themes(lab, page, page.locator(".studio-storyboard"), "storyboard-painted")


def test_timeline_in_the_browser(lab: Lab, page: Page, painted: Board) -> None:
    painted.ask(lambda c: c.build_timeline(painted.project_id))
    show(lab, page, "timeline", "Timeline", painted.project_id)
    clips = page.get_by_test_id("clip")
    expect(clips).to_have_count(len(painted.scenes))
    expect(page.get_by_test_id("preview")).to_have_attribute("src", re.compile("^blob:"))
    expect(page.get_by_test_id("audio")).to_have_attribute("src", re.compile("^blob:"))
    song = painted.ask(lambda c: c.song_map(painted.project_id))
    before = painted.ask(lambda c: c.timeline(painted.project_id))

    # drag the second cut a third of the next clip to the right: it lands on a beat
    cut = page.locator('[data-testid="cut"][data-index="2"]')
    box, third = cut.bounding_box(), clips.nth(2).bounding_box()
    assert box is not None and third is not None
    page.mouse.move(box["x"] + 4, box["y"] + 30)
    page.mouse.down()
    page.mouse.move(box["x"] + 4 + third["width"] / 3, box["y"] + 30, steps=8)
    page.mouse.up()
    lab.kernel_wait(f"w.revision > {before.revision}")
    moved = painted.ask(lambda c: c.timeline(painted.project_id)).clips[2].start
    assert moved > before.clips[2].start
    assert min(abs(moved - b) for b in song.beats) < 1e-6

    # the keys are the timeline's: JupyterLab inserts no cell on "a" or "b"
    cells = page.locator(".jp-Notebook .jp-Cell").count()
    page.get_by_test_id("timeline").focus()
    page.keyboard.press("a")
    page.keyboard.press("b")
    assert page.locator(".jp-Notebook .jp-Cell").count() == cells
    for _ in range(3):  # the playhead from beat to beat (the first is at the very start)
        page.keyboard.press("ArrowRight")
    expect(page.get_by_test_id("time")).not_to_have_text("0:00.0")
    page.keyboard.press("Control+z")  # undo the drag
    lab.kernel_wait(f"abs(w.clips[2]['start'] - {before.clips[2].start}) < 1e-6")
    assert painted.ask(lambda c: c.timeline(painted.project_id)).clips[2].start == pytest.approx(
        before.clips[2].start
    )
    page.keyboard.press(" ")  # space plays the song
    page.wait_for_function("() => !document.querySelector('[data-testid=audio]').paused")
    page.keyboard.press(" ")

    # a transition between clips 3 and 4
    page.locator('[data-testid="transition"]').nth(2).click()
    page.get_by_test_id("transition-kind").select_option("crossfade")
    page.get_by_test_id("transition-apply").click()
    lab.kernel_wait("w.clips[3]['transition']['kind'] == 'crossfade'")
    kind = painted.ask(lambda c: c.timeline(painted.project_id)).clips[3].transition_in.kind
    assert kind.value == "crossfade"

    # drag clip 1 onto clip 3's place: reordered
    first = clips.nth(0)
    start = first.bounding_box()
    target = clips.nth(2).bounding_box()
    assert start is not None and target is not None
    page.mouse.move(start["x"] + 5, start["y"] + 20)
    page.mouse.down()
    page.mouse.move(target["x"] + target["width"] / 2, target["y"] + 20, steps=10)
    page.mouse.up()
    lab.kernel_wait(f"w.clips[2]['id'] == {first.get_attribute('data-clip')!r}")
    both_themes(lab, page, page.locator(".studio-timeline"), "timeline")


def test_analysis_view_in_the_browser(lab: Lab, page: Page, planned: Board) -> None:
    show(lab, page, "analysis", "AnalysisView", planned.project_id)
    expect(page.get_by_test_id("section-row").first).to_be_visible()
    expect(page.get_by_test_id("corrected")).to_have_count(0)
    page.get_by_test_id("shift-+10").click()
    expect(page.get_by_test_id("offset")).to_have_text("grid +10 ms")
    assert planned.ask(lambda c: c.song_map(planned.project_id)).corrections.offset == 0.01
    label = page.get_by_test_id("section-label").nth(1)
    label.fill("pre-chorus")
    label.press("Enter")
    label.blur()
    lab.kernel_wait("w.sections[1]['label'] == 'pre-chorus'")
    song = planned.ask(lambda c: c.song_map(planned.project_id))
    assert song.sections[1].label == "pre-chorus"  # what the storyboard and render now see
    both_themes(lab, page, page.locator(".studio-analysis"), "analysis")
    page.get_by_test_id("reset").click()
    expect(page.get_by_test_id("corrected")).to_have_count(0)


def test_library_in_the_browser(lab: Lab, page: Page, painted: Board, tmp_path: Any) -> None:
    show(lab, page, "library", "Library", painted.project_id)
    items = page.get_by_test_id("item")
    expect(items.first).to_be_visible()
    expect(page.locator('[data-kind="image"] img[src^="blob:"]').first).to_be_visible()
    picture = tmp_path / "car.png"
    picture.write_bytes(png((220, 20, 20), (64, 64)))
    page.get_by_test_id("upload-file").set_input_files(str(picture))
    page.get_by_test_id("upload-name").fill("Red Car")
    page.get_by_test_id("upload-send").click()
    expect(page.locator('[data-kind="character"]')).to_have_count(1)
    [car] = painted.ask(lambda c: c.characters(painted.project_id))
    assert car.name == "Red Car" and len(car.reference_assets) == 1
    page.get_by_test_id("search").fill("red car")
    expect(items).to_have_count(1)
    page.get_by_test_id("search").fill("")
    page.get_by_test_id("kind").select_option("mood")
    expect(items).to_have_count(4)
    page.get_by_test_id("kind").select_option("")
    both_themes(lab, page, page.locator(".studio-library"), "library")


def test_studio_app_in_the_browser(lab: Lab, page: Page, painted: Board) -> None:
    show(lab, page, "studio", "Studio", painted.project_id)
    steps = page.get_by_test_id("step")
    expect(steps).to_have_count(5)
    expect(page.locator('[data-step="Storyboard"]')).to_have_attribute("data-done", "yes")
    expect(page.locator('[data-step="Timeline"]')).to_have_attribute("data-done", "no")
    expect(page.locator(".studio-chat")).to_be_visible()
    page.locator('[data-step="Storyboard"]').click()
    expect(page.get_by_test_id("scene-card")).to_have_count(len(painted.scenes))
    page.locator('[data-step="Timeline"]').click()
    page.get_by_test_id("build-first").click()
    expect(page.locator('[data-step="Timeline"]')).to_have_attribute("data-done", "yes")
    expect(page.get_by_test_id("clip")).to_have_count(len(painted.scenes))
    both_themes(lab, page, page.locator(".jp-OutputArea-output").last, "studio")
