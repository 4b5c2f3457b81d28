"""The widgets in a real JupyterLab in a real Chromium (headless, Debian's), each beside a
reference run in the same session.

    python -m benchmarks.widgets [--scenes 60] [--rounds 3]

- Storyboard of 60 scenes, from the cell run to usable (every card drawn with its thumbnail):
  the studio's ``Storyboard`` against the plain ipywidgets way of showing the same 60 pictures
  (an ``ipywidgets.Image`` per thumbnail in a ``GridBox``, the bytes fetched through the same
  client), each in a fresh kernel.
- Timeline of 60 clips: the browser's frame rate and frame interval while a cut is dragged
  across it (a pointer move every frame for two seconds), against the same page left alone;
  and the widget's own work per move (the pointer event's handlers, performance.now()).
- A click answered while the kernel's engine paints 30 pictures: the time from a click on a
  scene's "Approve text" to its card showing the new state, during the generation and with the
  engine idle.

Results to stdout and benchmarks/results/widgets.json.
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import io
import statistics
import tempfile
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

import soundfile as sf
from PIL import Image
from playwright.sync_api import Page, sync_playwright

from benchmarks._machine import record
from studio.audio import synthesize_song
from studio.engine import Client, EngineServer, Home
from tests.ui.lab import Lab

RESULTS = Path(__file__).with_name("results") / "widgets.json"
T = TypeVar("T")

REFERENCE = """
import asyncio, ipywidgets
from studio.engine import Client

async def pictures(pid):
    async with Client() as c:
        board = await c.storyboard(pid)
        shas = [s["takes"][-1]["asset_sha256"] for s in board["scenes"]]
        return [await c.asset(sha) for sha in shas]

import concurrent.futures
with concurrent.futures.ThreadPoolExecutor(1) as pool:
    found = pool.submit(asyncio.run, pictures({pid!r})).result()
grid = ipywidgets.GridBox(
    [ipywidgets.Image(value=data, format="png", width=250) for data, _ in found],
    layout=ipywidgets.Layout(grid_template_columns="repeat(3, 250px)"),
)
grid
"""


def run(work: Callable[[], Coroutine[Any, Any, T]]) -> T:
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(lambda: asyncio.run(work())).result()


def _png(k: int) -> bytes:
    out = io.BytesIO()
    hue = Image.new("HSV", (640, 360), (k * 37 % 256, 180, 200)).convert("RGB")
    hue.save(out, "PNG")
    return out.getvalue()


async def _project(c: Client, song: Path, scenes: int, *, takes: bool) -> tuple[str, list[str]]:
    """A project on the song with ``scenes`` scenes on its beats, their text approved, and (with
    ``takes``) a picture each, approved, and the timeline built."""
    project = await c.create_project(f"Widgets {scenes} {'painted' if takes else 'bare'}")
    await c.wait_job((await c.upload_song(song, project_id=project.id)).id, timeout=300)
    song_map = await c.song_map(project.id)
    beats = song_map.beats
    step = max(1, len(beats) // scenes)
    edges = [0.0, *[beats[i * step] for i in range(1, scenes)], song_map.duration]
    ids = []
    for i in range(scenes):
        scene = await c.add_scene(
            project.id, index=i, start=edges[i], end=edges[i + 1], section="verse",
            lyric=f"line {i + 1}", visual_intent=f"shot {i + 1}", prompt=f"a city at night {i}",
        )  # fmt: skip
        await c.scene_action(scene.id, "approve_text")
        ids.append(scene.id)
        if takes:
            sha = await c.upload(_png(i), "image/png")
            take = await c.add_take(
                owner_kind="scene", owner_id=scene.id, kind="image",
                asset_sha256=sha, media_type="image/png",
            )  # fmt: skip
            await c.scene_action(scene.id, "approve_image", take_id=take.id)
    if takes:
        await c.build_timeline(project.id)
    return project.id, ids


def _usable(lab: Lab, page: Page, name: str, cells: list[str], wanted: tuple[str, int]) -> float:
    """Seconds from running the notebook's cells to ``wanted`` (a selector and how many
    elements must match it)."""
    lab.notebook(name, cells)
    lab.open(page, name)
    start = time.perf_counter()
    page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")
    page.wait_for_function(
        "([s, n]) => document.querySelectorAll(s).length >= n", arg=list(wanted),
        timeout=120_000,
    )  # fmt: skip
    seconds = time.perf_counter() - start
    lab.wait_idle(page)
    page.evaluate("window.jupyterapp.commands.execute('kernelmenu:shutdown')")
    return seconds


_FPS = """
async ([seconds, drag]) => {
  const stamps = [], work = [];
  const handle = document.querySelector('[data-testid=cut][data-index="30"]');
  const box = handle.getBoundingClientRect();
  const y = box.top + 30;
  let x = box.left + 4;
  const at = (x) => ({bubbles: true, clientX: x, clientY: y, pointerId: 1});
  if (drag) handle.dispatchEvent(new PointerEvent('pointerdown', at(x)));
  const end = performance.now() + seconds * 1000;
  await new Promise((done) => {
    const frame = (t) => {
      stamps.push(t);
      if (drag) {
        x += 1.5;
        const before = performance.now();  // the widget's own work for this move
        handle.dispatchEvent(new PointerEvent('pointermove', at(x)));
        work.push(performance.now() - before);
      }
      t < end ? requestAnimationFrame(frame) : done();
    };
    requestAnimationFrame(frame);
  });
  if (drag) handle.dispatchEvent(new PointerEvent('pointerup', at(x)));
  const gaps = stamps.slice(1).map((t, i) => t - stamps[i]);
  gaps.sort((a, b) => a - b);
  work.sort((a, b) => a - b);
  return {fps: (stamps.length - 1) / ((stamps.at(-1) - stamps[0]) / 1000),
          p95_ms: gaps[Math.floor(gaps.length * 0.95)], frames: stamps.length,
          work_p95_ms: work.length ? work[Math.floor(work.length * 0.95)] : null};
}
"""


def _click_ms(page: Page, lab: Lab, ids: list[str], k: int) -> float:
    """Milliseconds from a click on scene ``k``'s "Approve text" to its card saying so."""
    card = page.locator(f'[data-testid="scene-card"][data-scene="{ids[k]}"]')
    card.get_by_test_id("approve-text").wait_for()
    start = time.perf_counter()
    card.get_by_test_id("approve-text").click()
    page.wait_for_function(
        "id => document.querySelector(`[data-scene='${id}']`).dataset.state === 'text_approved'",
        arg=ids[k], timeout=30_000, polling="raf",
    )  # fmt: skip
    return (time.perf_counter() - start) * 1000


def measure(scenes: int, rounds: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        home = Home.resolve(root / "home")
        audio, truth = synthesize_song()
        song = root / "song.flac"
        sf.write(song, audio, truth.sample_rate)
        with EngineServer(home):

            async def setup() -> tuple[tuple[str, list[str]], tuple[str, list[str]]]:
                async with Client(home, autostart=False) as c:
                    return (
                        await _project(c, song, scenes, takes=True),
                        await _project(c, song, 30, takes=False),
                    )

            (painted, _), (bare, bare_ids) = run(setup)
            lab = Lab(root / "lab", {"STUDIO_HOME": str(home.root)}).start()
            try:
                with sync_playwright() as pw:
                    browser = pw.chromium.launch(executable_path="/usr/bin/chromium")
                    page = browser.new_page(viewport={"width": 1280, "height": 900})
                    return _measure_all(
                        lab, page, painted, (bare, bare_ids), scenes=scenes, rounds=rounds
                    )
            finally:
                lab.stop()


def _measure_all(
    lab: Lab, page: Page, painted: str, bare: tuple[str, list[str]], *, scenes: int, rounds: int
) -> dict[str, Any]:
    thumbs = 'img[data-testid="thumb"][src^="blob:"]'
    board = [f"from studio.ui import Storyboard\nw = Storyboard({painted!r})", "w"]
    ours, plain = [], []
    for r in range(rounds):  # side by side, alternating, each in a fresh kernel
        ours.append(_usable(lab, page, f"board-{r}.ipynb", board, (thumbs, scenes)))
        reference = [REFERENCE.format(pid=painted)]
        plain.append(_usable(lab, page, f"plain-{r}.ipynb", reference, (".widget-image", scenes)))

    lab.notebook(
        "timeline.ipynb", [f"from studio.ui import Timeline\nw = Timeline({painted!r})", "w"]
    )
    lab.open(page, "timeline.ipynb")
    lab.run_all(page)
    page.wait_for_selector('[data-testid=cut][data-index="30"]')
    idle = page.evaluate(_FPS, [2.0, False])
    dragging = page.evaluate(_FPS, [2.0, True])
    page.evaluate("window.jupyterapp.commands.execute('kernelmenu:shutdown')")

    bare_id, bare_ids = bare
    lab.notebook(
        "clicks.ipynb", [f"from studio.ui import Storyboard\nw = Storyboard({bare_id!r})", "w"]
    )
    lab.open(page, "clicks.ipynb")
    lab.run_all(page)
    page.wait_for_selector('[data-testid="scene-card"]')
    for sid in bare_ids[:12]:  # back to draft, to be approved by a click
        lab.kernel_exec(f"w.run(w.client.scene_action({sid!r}, 'reopen')).result(30)")
    lab.kernel_wait("sum(c['state'] == 'draft' for c in w.scenes) == 12", timeout=30)
    quiet = [_click_ms(page, lab, bare_ids, k) for k in range(6)]
    lab.kernel_exec(
        "w.run(w.client.submit_job('takes.images', {'project_id': w.project_id, "
        f"'scene_ids': {bare_ids[12:]!r}}}, project_id=w.project_id)).result(30)"
    )
    lab.kernel_wait("bool(w.generating)", timeout=30)
    busy = [_click_ms(page, lab, bare_ids, k) for k in range(6, 12)]
    still = lab.kernel_exec("print(bool(w.generating))").strip() == "True"
    return {
        "storyboard_usable_s": {"studio": ours, "plain ipywidgets": plain,
                                "ratio": statistics.median(ours) / statistics.median(plain)},
        "timeline_fps": {"idle": idle, "dragging a cut": dragging,
                         "ratio": dragging["fps"] / idle["fps"]},
        "click_ms": {"idle": quiet, "while painting": busy, "painting_still_running": still},
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenes", type=int, default=60)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    found = record(RESULTS, measure(args.scenes, args.rounds))
    board, fps, clicks = found["storyboard_usable_s"], found["timeline_fps"], found["click_ms"]
    print(f"## Widgets ({args.scenes} scenes, {args.rounds} rounds)\n")
    print("| measure | studio | reference | ratio |\n|---|---|---|---|")
    print(
        f"| storyboard usable (s, median) | {statistics.median(board['studio']):.2f} | "
        f"{statistics.median(board['plain ipywidgets']):.2f} (plain ipywidgets) | "
        f"{board['ratio']:.2f} |"
    )
    print(
        f"| timeline fps while dragging | {fps['dragging a cut']['fps']:.0f} | "
        f"{fps['idle']['fps']:.0f} (left alone) | {fps['ratio']:.2f} |"
    )
    print(
        f"| click answered (ms, median) | {statistics.median(clicks['while painting']):.0f} "
        f"while painting | {statistics.median(clicks['idle']):.0f} idle | "
        f"{statistics.median(clicks['while painting']) / statistics.median(clicks['idle']):.2f} |"
    )


if __name__ == "__main__":
    main()
