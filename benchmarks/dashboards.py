"""The review dashboard in Voila, in a real Chromium: from the link opened (a cold kernel: Voila
starts one per visit) to a storyboard of 60 scenes usable (every card drawn with its thumbnail),
beside Voila's own floor in the same run: a one-cell notebook that shows a text, served with the
same settings by a second Voila.

    python -m benchmarks.dashboards [--scenes 60] [--rounds 3]

Results to stdout and benchmarks/results/dashboards.json.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import nbformat
import soundfile as sf
from playwright.sync_api import Browser, sync_playwright

from benchmarks._machine import record
from benchmarks.widgets import _project, run
from studio.audio import synthesize_song
from studio.dashboards import voila_command
from studio.engine import Client, EngineServer, Home
from tests.ui.conftest import _chromium
from tests.ui.lab import Dashboards

RESULTS = Path(__file__).with_name("results") / "dashboards.json"


class _Floor(Dashboards):
    """Plain Voila on a folder of one trivial notebook, with the dashboards' settings."""

    folder: Path

    def _args(self) -> list[str]:
        return voila_command(self.folder, host="127.0.0.1", port=self.port, token=self.token)[2:]


def _open(browser: Browser, url: str, selector: str, count: int) -> float:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    start = time.perf_counter()
    page.goto(url, timeout=120_000)
    page.wait_for_function(
        "([s, n]) => document.querySelectorAll(s).length >= n", arg=[selector, count],
        timeout=120_000,
    )  # fmt: skip
    seconds = time.perf_counter() - start
    context.close()
    return seconds


def measure(scenes: int, rounds: int) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        home = Home.resolve(root / "home")
        audio, truth = synthesize_song()
        song = root / "song.flac"
        sf.write(song, audio[: 60 * truth.sample_rate], truth.sample_rate)
        hello = root / "floor"
        hello.mkdir()
        nb = nbformat.v4.new_notebook()
        nb.cells = [
            nbformat.v4.new_code_cell("import ipywidgets\nipywidgets.HTML('<b id=hi>hi</b>')")
        ]
        nbformat.write(nb, hello / "hello.ipynb")
        with EngineServer(home):

            async def setup() -> tuple[str, str]:
                async with Client(home) as c:
                    project, _ = await _project(c, song, scenes, takes=True)
                    return project, (await c.share("Ana", "reviewer", [project]))["key"]

            _, key = run(setup)
            env = {"STUDIO_HOME": str(home.root)}
            served = Dashboards(root / "voila", env).start(timeout=120)
            floor = _Floor(root / "voila-floor", env)
            floor.folder = hello
            floor.start(timeout=120)
            ours: list[float] = []
            plain: list[float] = []
            try:
                with sync_playwright() as pw:
                    browser = pw.chromium.launch(executable_path=_chromium(), headless=True)
                    thumbs = '[data-testid="thumb"][src^="blob:"]'
                    for _ in range(rounds):
                        url = f"{floor.url}/voila/render/hello.ipynb?token={floor.token}"
                        plain.append(_open(browser, url, "#hi", 1))
                        ours.append(_open(browser, served.link("review", key), thumbs, scenes))
                    browser.close()
            finally:
                served.stop()
                floor.stop()
    return {
        "review_usable_s": {"studio review": ours, "voila one-cell floor": plain,
                            "ratio": statistics.median(ours) / statistics.median(plain)},
        "scenes": scenes,
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenes", type=int, default=60)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    found = record(RESULTS, measure(args.scenes, args.rounds))
    usable = found["review_usable_s"]
    assert isinstance(usable, dict)
    print(f"## Review dashboard ({args.scenes} scenes, {args.rounds} rounds, cold kernels)\n")
    print("| measure | studio | reference | ratio |\n|---|---|---|---|")
    print(
        f"| link opened to storyboard usable (s, median) | "
        f"{statistics.median(usable['studio review']):.2f} | "
        f"{statistics.median(usable['voila one-cell floor']):.2f} (Voila, one cell) | "
        f"{usable['ratio']:.2f} |"
    )


if __name__ == "__main__":
    main()
