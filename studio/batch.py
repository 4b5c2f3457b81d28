"""``studio batch``: the ``make_music_video`` notebook run under papermill for every song x style
x aspect, a few at a time, all against the one engine of the studio home.

Each run has its own folder (``OUT/<song>/<style>-<aspect>/``) holding the executed notebook,
which is the run's record with every output, its ``result.json`` (parameters, status, paths,
cost, time, or the error in one line) and what the pipeline made. A run that fails does not
stop the others. The batch writes ``summary.csv`` and ``summary.html`` (song, variant, status,
time, cost, video, error) after every run, so an interrupted batch still says where it got to.
Run again, it skips every run whose ``result.json`` says it succeeded with the same parameters
and the same song and whose video is still there.
"""

from __future__ import annotations

import csv
import hashlib
import html
import json
import re
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from studio.errors import InvalidInput, StudioError
from studio.files import replacing
from studio.notebook import DEMO, check_parameters, read_record
from studio.pipeline import ASPECTS
from studio.store import file_sha256

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = [
    "NOTEBOOK",
    "Outcome",
    "Run",
    "comparison_grid",
    "notebook_path",
    "plan_runs",
    "run_batch",
    "summary_table",
    "write_summary",
]

NOTEBOOK = "make_music_video.ipynb"
SUMMARY_COLUMNS = (
    "song", "variant", "style", "aspect", "status", "seconds", "cost_usd", "video",
    "notebook", "error",
)  # fmt: skip


def notebook_path(name: str = NOTEBOOK, *, package: Path | None = None) -> Path:
    """A notebook shipped with the studio: ``studio/_notebooks/`` in an installed wheel,
    ``notebooks/`` beside the package in a source checkout. (``package``: the package's
    folder, if not this one.)"""
    here = package or Path(__file__).resolve().parent
    for candidate in (here / "_notebooks" / name, here.parent / "notebooks" / name):
        if candidate.is_file():
            return candidate
    raise StudioError(
        f"the notebook {name} is not where the studio keeps it",
        hint="reinstall the studio (pip install studio) or run from a full source checkout",
    )


@dataclass(frozen=True)
class Run:
    """One video of a batch: a song, a style and an aspect, the folder it goes to and the
    notebook's parameters."""

    song: str
    """The song file's path, or ``demo``."""
    style: str
    aspect: str
    folder: Path
    parameters: dict[str, Any]
    whole_song: bool = False
    """The row that stands for every variant of a song that cannot be read: none was run."""

    @property
    def variant(self) -> str:
        if self.whole_song:
            return "every variant"
        return f"{self.style or 'no style'}, {self.aspect}"

    @property
    def notebook(self) -> Path:
        return self.folder / NOTEBOOK


@dataclass(frozen=True)
class Outcome:
    """How a run ended: ``succeeded``, ``failed``, or ``skipped`` (it had succeeded before
    with the same parameters and song, and its video is still there)."""

    run: Run
    status: str
    seconds: float | None = None
    """How long the run took (for a skipped run, the run that made the video)."""
    cost_usd: float | None = None
    video: Path | None = None
    error: str | None = None
    """The cause in one line: the studio's own message, not a traceback."""

    @property
    def ok(self) -> bool:
        return self.status in ("succeeded", "skipped")

    def row(self) -> dict[str, Any]:
        return {
            "song": self.run.song,
            "variant": self.run.variant,
            "style": self.run.style,
            "aspect": self.run.aspect,
            "status": self.status,
            "seconds": "" if self.seconds is None else f"{self.seconds:.1f}",
            "cost_usd": "" if self.cost_usd is None else f"{self.cost_usd:.4f}",
            "video": "" if self.video is None else str(self.video),
            "notebook": "" if self.run.whole_song else str(self.run.notebook),
            "error": self.error or "",
        }


def _slug(text: str, fallback: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:40].strip("-")
    return slug or fallback


def plan_runs(
    songs: Sequence[str | Path],
    *,
    brief: str,
    out: Path,
    styles: Sequence[str] = ("",),
    aspects: Sequence[str] = ("16:9",),
    seconds: float | None = None,
    seed: int = 0,
    budget: float | None = None,
    providers: Mapping[str, str] | None = None,
) -> list[Run]:
    """Every song x style x aspect, each with its folder under ``out`` and its parameters
    (checked as the notebook checks them, so a bad one is refused before anything runs)."""
    if not songs:
        raise InvalidInput("no songs to make videos of", hint="give one or more song files")
    bad = [a for a in aspects if a not in ASPECTS]
    if bad:
        raise InvalidInput(
            f"aspect {bad[0]!r} is not one the studio renders", hint=", ".join(ASPECTS)
        )
    out = Path(out).expanduser().resolve()
    labels: dict[str, str] = {}
    for song in songs:
        if str(song) == DEMO:
            labels[DEMO] = DEMO
            continue
        path = Path(song).expanduser().resolve()
        label = _slug(path.stem, "song")
        if label in labels.values():  # two songs of one name: told apart by where they are
            label = f"{label}-{hashlib.sha256(str(path).encode()).hexdigest()[:6]}"
        labels[str(path)] = label
    variants: dict[str, str] = {}
    for style in styles:
        slug = _slug(style, "no-style")
        if slug in variants.values():
            slug = f"{slug}-{hashlib.sha256(style.encode()).hexdigest()[:6]}"
        variants[style] = slug
    runs = []
    for song, label in labels.items():
        for style in styles:
            for aspect in aspects:
                folder = out / label / f"{variants[style]}-{aspect.replace(':', 'x')}"
                params = check_parameters(
                    {
                        "audio": song,
                        "seconds": seconds,
                        "brief": brief,
                        "style": style,
                        "aspect": aspect,
                        "providers": dict(providers or {}),
                        "seed": seed,
                        "budget": budget,
                        "out": str(folder),
                    }
                )
                runs.append(Run(song, style, aspect, folder, params))
    return runs


def _same(params: Mapping[str, Any]) -> Any:
    return json.loads(json.dumps(dict(params), default=str, sort_keys=True))


def done_before(run: Run) -> Outcome | None:
    """The run as it succeeded before, if nothing it depends on has changed since."""
    record = read_record(run.folder)
    if record is None or record.get("status") != "succeeded" or not record.get("result"):
        return None
    if _same(record.get("parameters", {})) != _same(run.parameters):
        return None
    song = None if run.song == DEMO else Path(run.song)
    if song is not None and (
        not song.is_file() or record.get("source_sha256") != file_sha256(song)
    ):
        return None
    video = Path(record["result"]["video"])
    if not video.is_file():
        return None
    return Outcome(run, "skipped", record.get("seconds"), record["result"].get("cost_usd"), video)


def unreadable_songs(songs: Sequence[str], *, jobs: int = 1) -> dict[str, str]:
    """The songs that cannot be a video's song, each with the cause in one line: every song is
    decoded once, as the pipeline would, before any of its runs starts (so a damaged file is one
    failure, not one per variant, and costs no kernel)."""
    from studio.audio import load_audio

    def cause(song: str) -> str | None:
        if song == DEMO:
            return None
        try:
            load_audio(Path(song))
        except StudioError as exc:
            return str(exc).splitlines()[0][:500]
        return None

    with ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="check") as pool:
        causes = dict(zip(songs, pool.map(cause, songs), strict=True))
    return {song: why for song, why in causes.items() if why is not None}


def run_one(run: Run, *, kernel_name: str = "python3", timeout: float | None = None) -> Outcome:
    """Run the notebook for one video, keeping the executed notebook in the run's folder;
    never raises for a failed run (the outcome says what went wrong)."""
    import papermill
    from papermill.exceptions import PapermillExecutionError

    run.folder.mkdir(parents=True, exist_ok=True)
    (run.folder / "result.json").unlink(missing_ok=True)  # this run's record, not an old one
    started = time.perf_counter()
    failure: str | None = None
    try:
        papermill.execute_notebook(
            str(notebook_path()),
            str(run.notebook),
            parameters=run.parameters,
            kernel_name=kernel_name,
            progress_bar=False,
            cwd=str(run.folder),
            execution_timeout=timeout,
        )
    except PapermillExecutionError as exc:
        failure = f"{exc.ename}: {exc.evalue}".splitlines()[0]
    except Exception as exc:  # the kernel died or could not start: papermill's own errors
        failure = f"{type(exc).__name__}: {exc}".strip().splitlines()[0]
    seconds = time.perf_counter() - started
    record = read_record(run.folder) or {}
    result = record.get("result") or {}
    if failure is None and record.get("status") == "succeeded" and result.get("video"):
        return Outcome(run, "succeeded", seconds, result.get("cost_usd"), Path(result["video"]))
    error = record.get("error") if record.get("status") == "failed" else None
    return Outcome(run, "failed", seconds, None, None, (error or failure or "no result")[:500])


def write_summary(outcomes: Sequence[Outcome], out: Path) -> tuple[Path, Path]:
    """``summary.csv`` and ``summary.html`` in ``out``: a row per run."""
    out.mkdir(parents=True, exist_ok=True)
    rows = [o.row() for o in outcomes]
    table = out / "summary.csv"
    with replacing(table) as tmp, tmp.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=SUMMARY_COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    page = out / "summary.html"
    with replacing(page) as tmp:
        tmp.write_text(_html(outcomes, out), encoding="utf-8")
    return table, page


_COLOURS = {"succeeded": "#1a7f37", "skipped": "#57606a", "failed": "#cf222e"}


def _href(path: Path, base: Path | None) -> str:
    """A link to a file: relative to ``base`` when it is inside it, else a file URI."""
    path = path.resolve()
    if base is not None and path.is_relative_to(base.resolve()):
        return html.escape(path.relative_to(base.resolve()).as_posix())
    return html.escape(path.as_uri())


def summary_table(outcomes: Sequence[Outcome], *, base: Path | None = None) -> str:
    """The outcomes as an HTML table (styled inline, so it can sit in a notebook's output);
    with ``base``, links and contact sheets relative to that folder."""
    head = "".join(
        f'<th style="text-align:left">{c}</th>'
        for c in ("song", "variant", "status", "time", "cost", "video", "run", "error")
    )
    body = []
    for o in outcomes:
        r = o.row()
        sheet = o.run.folder / "storyboard.png"
        video = ""
        if o.video is not None:
            video = f'<a href="{_href(o.video, base)}">{html.escape(o.video.name)}</a>'
        if base is not None and o.ok and sheet.is_file():
            video += f'<br><img src="{_href(sheet, base)}" width="240">'
        cells = [
            html.escape(Path(r["song"]).name),
            html.escape(r["variant"]),
            f'<b style="color:{_COLOURS.get(o.status, "inherit")}">{o.status}</b>',
            f"{r['seconds']} s" if r["seconds"] else "",
            f"${r['cost_usd']}" if r["cost_usd"] else "",
            video,
            "" if o.run.whole_song else f'<a href="{_href(o.run.notebook, base)}">{NOTEBOOK}</a>',
            html.escape(r["error"]),
        ]
        body.append(
            "<tr>" + "".join(f'<td style="vertical-align:top">{c}</td>' for c in cells) + "</tr>"
        )
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"


def _html(outcomes: Sequence[Outcome], out: Path) -> str:
    counts = {s: sum(o.status == s for o in outcomes) for s in _COLOURS}
    line = ", ".join(f"{n} {s}" for s, n in counts.items() if n)
    written = time.strftime("%Y-%m-%d %H:%M:%S")
    return f"""<!doctype html>
<meta charset="utf-8">
<title>studio batch</title>
<style>
body {{ font: 14px system-ui, sans-serif; margin: 2em; }}
table {{ border-collapse: collapse; }}
td, th {{ border-bottom: 1px solid #ddd; padding: .4em .8em; }}
</style>
<h1>studio batch</h1>
<p>{len(outcomes)} runs: {html.escape(line)}. Written {written}.</p>
{summary_table(outcomes, base=out)}
"""


def run_batch(
    songs: Sequence[str | Path],
    *,
    brief: str,
    out: Path = Path("batch-output"),
    styles: Sequence[str] = ("",),
    aspects: Sequence[str] = ("16:9",),
    jobs: int = 1,
    seconds: float | None = None,
    seed: int = 0,
    budget: float | None = None,
    providers: Mapping[str, str] | None = None,
    kernel_name: str = "python3",
    progress: bool = True,
) -> list[Outcome]:
    """Make a video for every song x style x aspect (see the module's docstring), at most
    ``jobs`` at a time, against the engine of the studio home (``$STUDIO_HOME``; started if
    none runs, and stopped at the end if the batch started it). Returns the outcomes in the
    order of the runs, a song that cannot be read being one failed outcome for all its runs;
    ``summary.csv`` and ``summary.html`` are in ``out``."""
    from tqdm.auto import tqdm

    from studio.engine import Home, ensure_engine, find_engine, stop_engine

    if jobs < 1:
        raise InvalidInput(f"--jobs {jobs} would run nothing", hint="give 1 or more")
    out = Path(out).expanduser().resolve()
    runs = plan_runs(
        songs, brief=brief, out=out, styles=styles, aspects=aspects, seconds=seconds,
        seed=seed, budget=budget, providers=providers,
    )  # fmt: skip
    outcomes: dict[int, Outcome] = {}
    todo: list[int] = []
    for n, run in enumerate(runs):
        before = done_before(run)
        if before is None:
            todo.append(n)
        else:
            outcomes[n] = before
    unreadable = unreadable_songs(list(dict.fromkeys(runs[n].song for n in todo)), jobs=jobs)
    for song, why in unreadable.items():  # one row at the song's first run stands for all
        first = next(n for n in todo if runs[n].song == song)
        whole = Run(song, "", "", runs[first].folder.parent, {}, whole_song=True)
        outcomes[first] = Outcome(whole, "failed", error=why)
    todo = [n for n in todo if runs[n].song not in unreadable]
    home = Home.resolve()
    started_engine = bool(todo) and find_engine(home) is None
    if todo:
        ensure_engine(home)  # once, before the kernels: they all find this one
    bar = tqdm(total=len(outcomes) + len(todo), initial=len(outcomes), desc="batch",
               unit="video", disable=not progress)  # fmt: skip
    try:
        with ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="batch") as pool:
            futures = {pool.submit(run_one, runs[n], kernel_name=kernel_name): n for n in todo}
            for future in as_completed(futures):
                outcomes[futures[future]] = future.result()
                write_summary([outcomes[n] for n in sorted(outcomes)], out)
                failed = sum(o.status == "failed" for o in outcomes.values())
                bar.set_postfix(failed=failed, refresh=False)
                bar.update(1)
    finally:
        bar.close()
        if started_engine:
            stop_engine(home)
    done = [outcomes[n] for n in sorted(outcomes)]
    write_summary(done, out)
    return done


def _frame(video: Path, at: float = 0.4) -> Any:
    """The frame ``at`` of the way through a video, as RGB (OpenCV decodes it)."""
    import cv2

    capture = cv2.VideoCapture(str(video))
    try:
        frames = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
        capture.set(cv2.CAP_PROP_POS_FRAMES, max(0, int(frames * at)))
        ok, frame = capture.read()
    finally:
        capture.release()
    return cv2.cvtColor(frame, cv2.COLOR_BGR2RGB) if ok else None


def comparison_grid(outcomes: Sequence[Outcome], *, at: float = 0.4) -> Figure:
    """The batch side by side: a row per song and style, a column per aspect, each cell a frame
    from that video (``at`` of the way through) or why there is none."""
    from matplotlib.figure import Figure

    rows = list(dict.fromkeys((o.run.song, o.run.style) for o in outcomes))
    cols = list(dict.fromkeys(o.run.aspect for o in outcomes))
    fig = Figure(figsize=(3.2 * len(cols), 3.0 * len(rows)), layout="constrained")
    axes = fig.subplots(len(rows), len(cols), squeeze=False)
    found = {(o.run.song, o.run.style, o.run.aspect): o for o in outcomes}
    for i, (song, style) in enumerate(rows):
        for j, aspect in enumerate(cols):
            ax = axes[i][j]
            ax.set_xticks([])
            ax.set_yticks([])
            o = found.get((song, style, aspect))
            picture = _frame(o.video, at) if o is not None and o.video is not None else None
            if picture is not None:
                ax.imshow(picture)
            else:
                why = o.error or o.status if o is not None else "not run"
                ax.text(0.5, 0.5, "\n".join(_wrap(why, 30)), ha="center", va="center", fontsize=8)
            ax.set_title(f"{Path(song).stem}: {style or 'no style'}, {aspect}", fontsize=9)
    return fig


def _wrap(text: str, width: int) -> list[str]:
    import textwrap

    return textwrap.wrap(text, width)[:6] or [""]
