"""What the ``make_music_video`` notebook needs besides the pipeline: its parameters, checked
(and, under Voila, taken from the dashboard's query string), the song to use, and the record
of the run (``result.json``) that a batch reads to tell success from failure.

The same notebook runs in JupyterLab, under papermill (which injects a cell that sets the
parameters' variables) and under Voila. Voila puts the page's query string in the kernel's
``QUERY_STRING``; only a few parameters may come from there, each checked: the words of the
brief and the style, the aspect, the seed, and the song only as the word ``demo``. Nothing from
the browser is ever used as a path, as code or in a query.
"""

from __future__ import annotations

import contextlib
import html
import json
import math
import os
import time
import unicodedata
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from studio.errors import InvalidInput, StudioError
from studio.files import replacing
from studio.pipeline import ASPECTS, VideoResult
from studio.store import file_sha256

__all__ = [
    "DEMO",
    "FROM_QUERY",
    "RESULT_FILE",
    "RunRecord",
    "check_parameters",
    "ledger_html",
    "parameters",
    "read_record",
    "recorded",
    "song_for",
    "sync_html",
]

DEMO = "demo"
"""The ``audio`` that means the built-in demo song."""
RESULT_FILE = "result.json"
FROM_QUERY = ("audio", "brief", "style", "aspect", "seed")
"""The parameters a dashboard's query string may set."""
# keys of the query string that the server itself reads (the login token, Voila's theme and
# template): not parameters, so neither used nor refused
_SERVER_KEYS = {"token", "voila-theme", "voila-template"}
_LIMITS = {"brief": 2000, "style": 500}
_MIN_SECONDS = 10.0


def parameters(defaults: Mapping[str, Any], *, query: str | None = None) -> dict[str, Any]:
    """The notebook's parameters: ``defaults`` (the parameters cell, as papermill or a person
    left it), overridden by the query string of the Voila page that runs it (``query``, else
    ``$QUERY_STRING``; none outside Voila), and checked. Raises ``InvalidInput`` saying which
    value is wrong."""
    values = dict(defaults)
    query = os.environ.get("QUERY_STRING", "") if query is None else query
    values |= _from_query(query)
    return check_parameters(values)


def _from_query(query: str) -> dict[str, Any]:
    found: dict[str, Any] = {}
    try:
        pairs = parse_qsl(query, keep_blank_values=True, strict_parsing=bool(query))
    except ValueError as exc:
        raise InvalidInput(
            "the page's address has a query string that cannot be read", hint=_ALLOWED
        ) from exc
    for key, value in pairs:
        if key in _SERVER_KEYS:
            continue
        if key not in FROM_QUERY:
            raise InvalidInput(
                f"the page's address sets {key[:40]!r}, which a dashboard cannot set",
                hint=_ALLOWED,
            )
        if key in found:
            raise InvalidInput(f"the page's address sets {key!r} twice", hint="give it once")
        if key == "audio" and value != DEMO:
            raise InvalidInput(
                "a dashboard's address can choose only the built-in demo song",
                hint="use audio=demo, or leave it out",
            )
        if key == "seed":
            if not value.isascii() or not value.isdigit():
                raise InvalidInput(f"seed {value[:20]!r} is not a whole number", hint=_ALLOWED)
            found[key] = int(value)
        else:
            found[key] = value
    return found


_ALLOWED = "a dashboard's address may set brief, style, aspect, seed and audio=demo"


def _at_least(value: Any, least: float) -> bool:
    """A finite number (not a bool) of at least ``least``."""
    return (
        not isinstance(value, bool)
        and isinstance(value, int | float)
        and math.isfinite(value)
        and value >= least
    )


def check_parameters(values: Mapping[str, Any]) -> dict[str, Any]:
    """The parameters with their types and ranges checked (``InvalidInput`` if not)."""
    checked = dict(values)
    for key, limit in _LIMITS.items():
        if key in checked:
            checked[key] = _words(key, checked[key], limit)
    if "aspect" in checked and checked["aspect"] not in ASPECTS:
        raise InvalidInput(
            f"aspect {str(checked['aspect'])[:20]!r} is not one the studio renders",
            hint=f"use {', '.join(ASPECTS)}",
        )
    seed = checked.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**31:
        raise InvalidInput(f"seed {str(seed)[:20]!r} is not a whole number from 0 to 2147483647")
    budget = checked.get("budget")
    if budget is not None and not _at_least(budget, 0):
        raise InvalidInput(f"budget {budget!r} is not an amount of US dollars")
    seconds = checked.get("seconds")
    if seconds is not None and not _at_least(seconds, _MIN_SECONDS):
        raise InvalidInput(
            f"seconds {seconds!r} is not a length the studio can use",
            hint=f"give {_MIN_SECONDS:g} seconds or more, or None for the whole song",
        )
    providers = checked.get("providers") or {}
    if not isinstance(providers, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in providers.items()
    ):
        raise InvalidInput(
            "providers must map roles to provider names", hint='e.g. {"image": "replicate:flux"}'
        )
    checked["providers"] = dict(providers)
    audio = checked.get("audio", DEMO)
    if not isinstance(audio, str | Path) or not str(audio):
        raise InvalidInput("audio must be a song file's path, or 'demo'")
    return checked


def _words(key: str, value: Any, limit: int) -> str:
    if not isinstance(value, str):
        raise InvalidInput(f"{key} must be text, not {type(value).__name__}")
    text = unicodedata.normalize("NFC", value).strip()
    if len(text) > limit:
        raise InvalidInput(f"the {key} is {len(text)} characters; the limit is {limit}")
    if any(unicodedata.category(ch) in {"Cc", "Cf"} and ch not in "\n\t" for ch in text):
        raise InvalidInput(f"the {key} holds a control character", hint="remove it")
    return text


def song_for(audio: str | Path, seconds: float | None, folder: Path) -> tuple[Path, str | None]:
    """The song file to use and its lyrics as LRC (or None): ``"demo"`` is the built-in demo
    song with its lyrics; a path is that file, with the ``.lrc`` beside it if there is one.
    With ``seconds``, only the song's first ``seconds`` (written as FLAC into ``folder``)."""
    from studio.demo import demo_song, lyrics_sung_before

    folder.mkdir(parents=True, exist_ok=True)
    if str(audio) == DEMO:
        return demo_song(folder, seconds)
    song = Path(audio).expanduser()
    if not song.is_file():
        raise InvalidInput(f"there is no song file at {song}", hint="check the path")
    sidecar = song.with_suffix(".lrc")
    lrc = sidecar.read_text(encoding="utf-8") if sidecar.is_file() else None
    if seconds is None:
        return song, lrc
    import soundfile as sf

    from studio.audio import load_audio

    decoded = load_audio(song)
    if decoded.duration > seconds:
        short = folder / f"{song.stem}-first-{seconds:g}s.flac"
        sf.write(
            short, decoded.samples[: round(seconds * decoded.sample_rate)], decoded.sample_rate
        )
        song = short
    return song, (lyrics_sung_before(lrc, seconds - 2) if lrc else None)


@dataclass
class RunRecord:
    """A run of the notebook as ``result.json`` keeps it: its parameters, the song's hash,
    status (running, succeeded, failed), when, how long, and the result or the error."""

    path: Path
    parameters: dict[str, Any]
    source_sha256: str | None = None
    """The hash of the song file given (None for the demo song, which is made the same every
    time): a batch redoes a run whose song changed."""
    status: str = "running"
    started: str = field(default_factory=lambda: time.strftime("%Y-%m-%dT%H:%M:%S%z"))
    seconds: float | None = None
    result: dict[str, Any] | None = None
    error: str | None = None
    """What went wrong, in one line (the studio's own message, not a traceback)."""
    hint: str | None = None
    error_type: str | None = None

    def save(self) -> None:
        data = {k: v for k, v in vars(self).items() if k != "path"}
        with replacing(self.path) as tmp:
            tmp.write_text(json.dumps(data, indent=2, default=str), encoding="utf-8")

    def succeeded(self, result: VideoResult) -> None:
        self.result = result.to_json()

    def summary(self) -> dict[str, Any]:
        """The record in brief: status, time, and the video or the error."""
        brief: dict[str, Any] = {"status": self.status, "seconds": self.seconds}
        if self.result is not None:
            brief |= {k: self.result[k] for k in ("video", "size", "duration", "cost_usd")}
        if self.error is not None:
            brief |= {"error": self.error, "hint": self.hint}
        return brief


@contextlib.contextmanager
def recorded(out: Path, params: Mapping[str, Any]) -> Iterator[RunRecord]:
    """Keep ``out/result.json`` through a run: written as running when it starts, then as
    succeeded (with what ``record.succeeded(result)`` was given) or failed with the error in
    one line; the error is raised again, so papermill marks the notebook failed too."""
    out.mkdir(parents=True, exist_ok=True)
    audio = params.get("audio", DEMO)
    source = None if str(audio) == DEMO or not Path(audio).is_file() else Path(audio)
    record = RunRecord(
        path=out / RESULT_FILE,
        parameters=json.loads(json.dumps(dict(params), default=str)),
        source_sha256=file_sha256(source) if source else None,
    )
    record.save()
    started = time.perf_counter()
    try:
        yield record
        if record.result is None:
            raise InvalidInput("the run ended without a video", hint="call record.succeeded()")
    except BaseException as exc:
        record.status = "failed"
        record.error_type = type(exc).__name__
        if isinstance(exc, StudioError):
            record.error, record.hint = exc.message, exc.hint
        else:
            record.error = f"{type(exc).__name__}: {exc}".splitlines()[0][:500]
        raise
    else:
        record.status = "succeeded"
    finally:
        record.seconds = time.perf_counter() - started
        record.save()


def read_record(folder: Path) -> dict[str, Any] | None:
    """The ``result.json`` of a run folder, or None if there is none that can be read."""
    try:
        data = json.loads((folder / RESULT_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def ledger_html(ledger: Mapping[str, Any]) -> str:
    """The ledger as a table: the calls by stage, provider and model, with what they cost,
    and the total against the budget."""
    groups: dict[tuple[str, str, str], list[float]] = {}
    for line in ledger.get("lines", []):
        if line.get("state") != "spent":
            continue
        key = (
            str(line.get("stage", "")),
            str(line.get("provider", "")),
            str(line.get("model", "")),
        )
        groups.setdefault(key, []).append(float(line.get("usd", 0.0)))
    rows = [
        f"<tr><td>{html.escape(stage)}</td><td>{html.escape(provider)}</td>"
        f"<td>{html.escape(model)}</td><td>{len(costs)}</td><td>${sum(costs):.4f}</td></tr>"
        for (stage, provider, model), costs in sorted(groups.items())
    ] or ['<tr><td colspan="5">no paid calls</td></tr>']
    budget = ledger.get("budget_usd")
    cap = f" of a ${budget:.2f} budget" if budget is not None else " (no budget set)"
    return (
        "<table><tr><th>stage</th><th>provider</th><th>model</th><th>calls</th><th>cost</th></tr>"
        + "".join(rows)
        + f"</table><p>Spent ${float(ledger.get('spent_usd', 0.0)):.4f}{cap}.</p>"
    )


def sync_html(result: VideoResult) -> str:
    """The render's read-back as a table: frames, duration, when picture and sound start and
    end, and how far apart they are."""
    sync = result.sync
    frame_ms = 1000 * result.duration / max(1, result.frames)
    shown = [
        ("frames", f"{sync.get('frames', float('nan')):.0f} (asked for {result.frames})"),
        (
            "video lasts",
            f"{sync.get('duration', float('nan')):.3f} s (the song: {result.duration:.3f} s)",
        ),
        ("picture starts", f"{sync.get('video_start', float('nan')):.3f} s"),
        ("sound starts", f"{sync.get('audio_start', float('nan')):.3f} s"),
        ("sound ends", f"{sync.get('audio_end', float('nan')):.3f} s"),
        (
            "sound vs picture",
            f"{1000 * sync.get('offset', float('nan')):+.1f} ms (a frame is {frame_ms:.1f} ms)",
        ),
    ]
    rows = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>" for k, v in shown)
    return f"<table>{rows}</table><p>Checked in sync: every figure within a frame.</p>"
