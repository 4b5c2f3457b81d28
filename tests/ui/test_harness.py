"""The harness end to end: an anywidget counter defined in a notebook, clicked in the browser,
checked and changed from the kernel, pictured in both themes."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from studio.engine import Home
from tests.ui.lab import Lab, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.slow]

COUNTER = '''\
import anywidget
import traitlets


class Counter(anywidget.AnyWidget):
    _esm = """
    export default {
      render({ model, el }) {
        const button = document.createElement("button");
        button.dataset.testid = "count";
        const show = () => { button.textContent = String(model.get("value")); };
        button.addEventListener("click", () => {
          model.set("value", model.get("value") + 1);
          model.save_changes();
        });
        model.on("change:value", show);
        show();
        el.appendChild(button);
        return () => model.off("change:value", show);
      }
    };
    """
    value = traitlets.Int(0).tag(sync=True)


w = Counter()
'''


def test_counter_round_trip(lab: Lab, page: Page, home: Home) -> None:
    """Clicks reach the kernel, a kernel-side change reaches the page without a reload."""
    lab.notebook("counter.ipynb", [COUNTER, "w"])
    lab.open(page, "counter.ipynb")
    lab.run_all(page)
    # the kernel runs in the test's studio home (``lab_env``), never in ~/.studio
    assert lab.kernel_exec("import os; print(os.environ['STUDIO_HOME'])") == f"{home.root}\n"

    button = page.get_by_test_id("count")
    expect(button).to_have_text("0")
    # nothing (e.g. a "fetch news?" toast) may cover the widget
    expect(page.locator(".Toastify__toast")).to_have_count(0)
    button.click()
    expect(button).to_have_text("1")
    button.click()
    expect(button).to_have_text("2")
    lab.kernel_wait("w.value == 2")
    assert lab.kernel_exec("print(w.value)") == "2\n"

    lab.kernel_exec("w.value = 10")
    expect(button).to_have_text("10")

    cell = page.locator(".jp-CodeCell").filter(has=button)
    assert screenshot(cell, "harness-counter-light").stat().st_size > 0
    lab.theme(page, dark=True)
    expect(button).to_have_text("10")
    assert screenshot(cell, "harness-counter-dark").stat().st_size > 0
    screenshot(page, "harness-page-dark")
    lab.theme(page, dark=False)
