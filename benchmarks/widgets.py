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
  engine idle (both ends timed in the page).
- A progress event visible: each progress event of a render (the final preset), from the
  engine publishing it to the monitor showing its message in the page (wall clocks of one
  machine), against a plain client reading the same event stream.

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


_CLICK = """
async (id) => {
  const card = document.querySelector(`[data-testid=scene-card][data-scene='${id}']`);
  const button = card.querySelector('[data-testid=approve-text]');
  return await new Promise((done) => {
    let start;
    const seen = new MutationObserver(() => {
      const now = document.querySelector(`[data-testid=scene-card][data-scene='${id}']`);
      if (now && now.dataset.state === 'text_approved') {
        seen.disconnect();
        done(performance.now() - start);
      }
    });
    seen.observe(document.body, {subtree: true, childList: true, attributes: true});
    start = performance.now();
    button.click();
  });
}
"""


def _click_ms(page: Page, ids: list[str], k: int) -> float:
    """Milliseconds from a click on scene ``k``'s "Approve text" to its card saying so, both
    timed in the page (the browser's clock, none of the test driver's round trips)."""
    card = page.locator(f'[data-testid="scene-card"][data-scene="{ids[k]}"]')
    card.get_by_test_id("approve-text").wait_for()
    return float(page.evaluate(_CLICK, ids[k]))


_WATCH = """
() => {  // every change of a job row's message, with the wall clock in ms
  window.studioSeen = [];
  const last = new Map();
  new MutationObserver(() => {
    for (const row of document.querySelectorAll('[data-testid=job]')) {
      const said = row.querySelector('[data-testid=job-message]')?.textContent ?? '';
      if (last.get(row.dataset.job) !== said) {
        last.set(row.dataset.job, said);
        window.studioSeen.push([performance.timeOrigin + performance.now(), row.dataset.job, said]);
      }
    }
  }).observe(document.body, {subtree: true, childList: true, characterData: true});
}
"""


def _progress_latency(lab: Lab, page: Page, home: Home, project: str) -> dict[str, Any]:
    """A render's progress events, from the engine publishing each (its ``at``) to the
    monitor showing it in the page, against a plain client reading the same event stream."""
    cells = [f"from studio.ui import RenderMonitor\nw = RenderMonitor({project!r})", "w"]
    lab.notebook("monitor.ipynb", cells)
    lab.open(page, "monitor.ipynb")
    lab.run_all(page)
    page.wait_for_selector('[data-testid="jobs"]')
    page.evaluate(_WATCH)
    heard: list[tuple[float, float, str, str]] = []  # at, heard, job, message

    async def listen(started: concurrent.futures.Future[None]) -> str:
        async with Client(home, autostart=False) as c:
            stream = c.events(project_id=project)
            job_id = ""
            async for event in stream:
                data = event.get("data") or {}
                if event["type"] == "job.progress":
                    heard.append((event["at"], time.time(), data["id"], data.get("message") or ""))
                elif (
                    event["type"] == "job.updated"
                    and data.get("id") == job_id
                    and data["status"] in ("succeeded", "failed", "cancelled")
                ):
                    return str(data["status"])
                if not job_id:  # subscribed (the first event is ours): now start the render
                    job = await c.submit_job("render.video", {"project_id": project,
                                                              "preset": "final"})  # fmt: skip
                    job_id = job.id
                    started.set_result(None)
            return "stream ended"

    async def nudge() -> None:  # an event for the listener's first read
        async with Client(home, autostart=False) as c:
            await c.update_project(project, budget_usd=100.0)

    started: concurrent.futures.Future[None] = concurrent.futures.Future()
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        listening = pool.submit(lambda: asyncio.run(listen(started)))
        while not started.done():
            run(nudge)
            time.sleep(0.5)
        status = listening.result(timeout=900)
    time.sleep(1.0)
    seen = page.evaluate("window.studioSeen")
    page.evaluate("window.jupyterapp.commands.execute('kernelmenu:shutdown')")
    job = heard[-1][2] if heard else ""
    events = [(at, got, said) for at, got, j, said in heard if j == job]
    order = {said: i for i, (_, _, said) in enumerate(events)}
    shown = [(t / 1000, order[said]) for t, j, said in seen if j == job and said in order]
    widget, client = [], []
    for i, (at, got, _) in enumerate(events):
        later = [t for t, k in shown if k >= i]
        if later:
            widget.append(min(later) - at)
        client.append(got - at)
    return {"render": status, "events": len(events), "shown": len(shown),
            "widget_s": widget, "client_s": client}  # fmt: skip


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
                    found = _measure_all(
                        lab, page, painted, (bare, bare_ids), scenes=scenes, rounds=rounds
                    )
                    found["progress_latency"] = _progress_latency(lab, page, home, painted)
                    return found
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
    quiet = [_click_ms(page, bare_ids, k) for k in range(6)]
    lab.kernel_exec(
        "w.run(w.client.submit_job('takes.images', {'project_id': w.project_id, "
        f"'scene_ids': {bare_ids[12:]!r}}}, project_id=w.project_id)).result(30)"
    )
    lab.kernel_wait("bool(w.generating)", timeout=30)
    busy = [_click_ms(page, bare_ids, k) for k in range(6, 12)]
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
    progress = found["progress_latency"]
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
    shown, heard = progress["widget_s"], progress["client_s"]
    print(
        f"| progress event visible (ms, median / max of {len(shown)}) | "
        f"{1000 * statistics.median(shown):.0f} / {1000 * max(shown):.0f} | "
        f"{1000 * statistics.median(heard):.0f} / {1000 * max(heard):.0f} (a plain client) | "
        f"{statistics.median(shown) / statistics.median(heard):.1f} |"
    )


if __name__ == "__main__":
    main()
