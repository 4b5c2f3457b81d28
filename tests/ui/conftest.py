"""Fixtures for real-browser tests: one headless Chromium per session, a fresh page per test, and
a JupyterLab server per test whose kernels see the test's studio home."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Error, Page, sync_playwright

from studio.engine import Home
from tests.ui.lab import Lab

StartLab = Callable[..., Lab]

_HERE = Path(__file__).resolve().parent
_UI_FIXTURES = {"page", "lab", "start_lab"}


def _chromium() -> str | None:
    """``$STUDIO_CHROMIUM``, else the system's chromium, else playwright's own download."""
    explicit = os.environ.get("STUDIO_CHROMIUM")
    if explicit:
        return explicit
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test here that drives the browser or lab is marked ``browser`` and ``slow``, even
    if it forgot to say so (the hook sees the whole session's items: only ours are touched)."""
    for item in items:
        if not item.path.resolve().is_relative_to(_HERE):
            continue
        if _UI_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.browser)
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """A headless Chromium shared by the session's browser tests."""
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=_chromium(), headless=True)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh 1280x800 page in its own context; the browser's console errors are printed on
    teardown so a failing test shows them."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.set_default_timeout(30_000)
    pg = context.new_page()
    problems: list[str] = []

    def on_console(msg: ConsoleMessage) -> None:
        if msg.type == "error":
            problems.append(f"console: {msg.text}")

    def on_error(err: Error) -> None:
        problems.append(f"page error: {err.message}")

    pg.on("console", on_console)
    pg.on("pageerror", on_error)
    yield pg
    context.close()
    if problems:
        print("\n".join(["browser problems:", *problems]))


@pytest.fixture
def lab_env(home: Home) -> dict[str, str]:
    """The environment laid over lab and its kernels: the test's studio home, so a notebook
    talks to the test's engine and never to ``~/.studio``. Override to add more."""
    return {"STUDIO_HOME": str(home.root)}


@pytest.fixture
def start_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StartLab]:
    """A factory ``start_lab(env=None) -> Lab`` for tests that need their own servers; every
    server it started is stopped when the test ends."""
    labs: list[Lab] = []

    def start(env: Mapping[str, str] | None = None) -> Lab:
        lab = Lab(Path(tmp_path_factory.mktemp("lab")), env)
        labs.append(lab)
        return lab.start()

    yield start
    for lab in labs:
        lab.stop()


@pytest.fixture
def lab(start_lab: StartLab, lab_env: dict[str, str]) -> Lab:
    """A running JupyterLab for this test, with ``lab_env`` in its environment."""
    return start_lab(lab_env)


# the projects the widget tests show, made through the engine's client
from tests.widgets.conftest import board, painted, planned, short_song  # noqa: E402, F401
