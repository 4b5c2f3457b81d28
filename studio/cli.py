"""The ``studio`` command. Every command is a client of the engine (started on first use),
except ``engine`` and ``doctor``, which look at the engine itself, and ``providers``, which
reads the settings here (and asks the engine only for a project's own choices)."""

from __future__ import annotations

import asyncio
import json
import math
import os
import sys
from collections.abc import Awaitable, Callable
from functools import partial
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from studio.engine import Client, EngineInfo, Home, ensure_engine, find_engine, stop_engine
from studio.errors import InvalidInput, NotFound, StudioError
from studio.files import replacing
from studio.model import Analysis, ToolUse, Turn
from studio.store import file_sha256

__all__ = ["app", "main"]

T = TypeVar("T")

app = typer.Typer(
    help="studio: songs and briefs into music videos.", no_args_is_help=True, add_completion=False
)
engine_app = typer.Typer(help="Start, stop and inspect the engine.", no_args_is_help=True)
app.add_typer(engine_app, name="engine")

HomeOption = Annotated[
    Path | None, typer.Option("--home", help="studio home (default $STUDIO_HOME or ~/.studio)")
]

PROVIDER_KEYS = {
    "gemini": ("GEMINI_API_KEY", "GOOGLE_API_KEY"),
    "replicate": ("REPLICATE_API_TOKEN",),
    "modal": ("MODAL_TOKEN_ID", "MODAL_TOKEN_SECRET"),
}


def _run(home: Path | None, work: Callable[[Client], Awaitable[T]]) -> T:
    async def go() -> T:
        async with Client(Home.resolve(home)) as client:
            return await work(client)

    return asyncio.run(go())


def _echo_json(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))


@app.command()
def new(
    name: str,
    home: HomeOption = None,
    brief: Annotated[str, typer.Option(help="the brief, in words")] = "",
) -> None:
    """Create a project."""
    project = _run(home, lambda c: c.create_project(name, brief={"text": brief}))
    typer.echo(f"created {project.name} ({project.id})")


@app.command("list")
def list_projects(
    home: HomeOption = None, as_json: Annotated[bool, typer.Option("--json")] = False
) -> None:
    """List the projects."""
    projects = _run(home, lambda c: c.list_projects())
    if as_json:
        _echo_json([p.model_dump(mode="json") for p in projects])
        return
    if not projects:
        typer.echo("no projects yet: `studio new NAME` makes one")
    for p in projects:
        typer.echo(f"{p.id}  {p.created_at:%Y-%m-%d %H:%M}  {p.name}")


@app.command()
def show(
    project: str, home: HomeOption = None, as_json: Annotated[bool, typer.Option("--json")] = False
) -> None:
    """Show a project (by name or id): its scenes, takes, timeline and jobs."""
    snap = _run(home, lambda c: c.snapshot(project))
    if as_json:
        _echo_json(snap.model_dump(mode="json"))
        return
    p = snap.project
    typer.echo(f"{p.name} ({p.id})")
    typer.echo(f"  brief: {p.brief.text or '-'}")
    typer.echo(f"  song: {p.audio.filename if p.audio else '-'}")
    counts: dict[str, list[Any]] = {
        "scenes": snap.scenes,
        "takes": snap.takes,
        "moods": snap.moods,
        "jobs": snap.jobs,
    }
    typer.echo("  " + ", ".join(f"{name}: {len(rows)}" for name, rows in counts.items()))
    for s in snap.scenes:
        typer.echo(
            f"  {s.index + 1:>3}. {s.start:7.2f}-{s.end:7.2f}s  {s.state.value:<15} {s.prompt[:50]}"
        )


@app.command("export")
def export_project(project: str, file: Path, home: HomeOption = None) -> None:
    """Export a project, with its assets, to one archive file."""
    if file.exists() and file.is_dir():
        raise StudioError(
            f"{file} is a folder", hint="give a file name such as night-drive.studio.zip"
        )
    out = _run(home, lambda c: c.export_project(project, file))
    typer.echo(f"exported to {out} ({out.stat().st_size:,} bytes)")


@app.command("import")
def import_project(file: Path, home: HomeOption = None) -> None:
    """Import a project archive made by `studio export`."""
    if not file.is_file():
        raise StudioError(f"{file} is not a file", hint="give the path of a .studio.zip archive")
    project = _run(home, lambda c: c.import_project(file))
    typer.echo(f"imported {project.name} ({project.id})")


def _print_map(a: Analysis) -> None:
    typer.echo(a.summary())
    typer.echo(
        f"  tempo {a.tempo:.2f} BPM (confidence {a.tempo_confidence:.2f}), {a.meter} beats a bar"
    )
    if len(a.tempo_map) > 1:
        changes = ", ".join(f"{t.bpm:.1f} from {t.start:.1f}s" for t in a.tempo_map)
        typer.echo(f"  tempo changes: {changes}")
    if a.loudness_lufs is not None:
        typer.echo(f"  loudness {a.loudness_lufs:.1f} LUFS, true peak {a.true_peak_dbtp:.1f} dBTP")
    typer.echo("  sections:")
    for s in a.sections:
        typer.echo(f"    {s.start:7.2f}-{s.end:7.2f}s  {s.label}")
    typer.echo("  key moments:")
    for m in a.key_moments:
        typer.echo(f"    {m.time:7.2f}s  {m.kind:<11} {m.description}")


@app.command()
def analyze(
    audio: Path,
    *,
    home: HomeOption = None,
    project: Annotated[
        str | None, typer.Option("--project", help="make it this project's song too")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the map as JSON")] = False,
    curves: Annotated[
        bool, typer.Option("--curves", help="with --json: include the energy and band curves")
    ] = False,
    plot: Annotated[
        Path | None, typer.Option("--plot", help="draw the map into this PNG (or SVG/PDF) file")
    ] = None,
) -> None:
    """Analyse a song: tempo, beats, bars, sections, key moments, key, loudness.

    The map is kept in the store: the same file again is answered from there at once."""
    if not audio.is_file():
        raise StudioError(f"there is no file at {audio}", hint="check the path")

    async def go(client: Client) -> Analysis:
        if project is None:
            try:
                return await client.analysis(file_sha256(audio))
            except NotFound:
                pass
        pid = (await client.get_project(project)).id if project else None
        job = await client.upload_song(audio, project_id=pid)
        await client.wait_job(job.id)
        return await (client.song_map(pid) if pid else client.analysis(file_sha256(audio)))

    analysis = _run(home, go)
    if plot is not None:
        with replacing(plot) as tmp:
            analysis.plot().savefig(tmp)
    if as_json:
        _echo_json(analysis.model_dump(mode="json") if curves else analysis.brief())
    else:
        _print_map(analysis)
        if plot is not None:
            typer.echo(f"  picture: {plot}")


@app.command()
def lyrics(
    project: str,
    file: Annotated[Path | None, typer.Argument(help="LRC, SRT, VTT or plain text")] = None,
    *,
    home: HomeOption = None,
    export: Annotated[
        str | None, typer.Option("--export", help="print the lyrics as lrc or srt")
    ] = None,
    transcribe: Annotated[
        bool, typer.Option("--transcribe", help="hear the words in the song (needs a Gemini key)")
    ] = False,
) -> None:
    """Import a project's lyrics from a file, transcribe them, or print them."""
    if transcribe:

        async def hear(c: Client) -> Any:
            pid = (await c.get_project(project)).id
            job = await c.submit_job("audio.transcribe", {"project_id": pid}, project_id=pid)
            return await c.wait_job(job.id)

        done = _run(home, hear)
        typer.echo(f"transcribed {done.result['words']} words in {done.result['lines']} lines")
        return
    if file is not None:
        if not file.is_file():
            raise StudioError(f"there is no file at {file}", hint="check the path")
        try:
            text = file.read_bytes().decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise InvalidInput(
                f"{file.name} is not UTF-8 text", hint="save the lyrics as UTF-8 text"
            ) from exc
        done = _run(home, lambda c: c.import_lyrics(project, text, file.name))
        note = " (times estimated from the song's sections)" if done.estimated else ""
        typer.echo(f"imported {len(done.lines)} lines from {file.name}{note}")
        return
    if export is not None:
        typer.echo(_run(home, lambda c: c.export_lyrics(project, export)), nl=False)
        return
    found = _run(home, lambda c: c.lyrics(project))
    for line in found.lines:
        typer.echo(f"{line.start:7.2f}-{line.end:7.2f}s  {line.text}")


def _job_line(j: Any) -> str:
    bar = "#" * int(j.progress * 20)
    head = f"{j.id}  {j.kind:<18} {j.status.value:<10} [{bar:<20}] {j.progress * 100:5.1f}%"
    return f"{head}  {j.stage} {j.message}"[:160]


@app.command()
def jobs(
    home: HomeOption = None,
    watch: Annotated[
        bool, typer.Option("--watch", help="follow progress until every job has ended")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """List recent jobs, or watch them."""

    async def go(client: Client) -> None:
        while True:
            found = await client.jobs(limit=30)
            if as_json:
                _echo_json([j.model_dump(mode="json") for j in found])
                return
            if watch and sys.stdout.isatty():
                typer.echo("\x1b[2J\x1b[H", nl=False)
            for j in found:
                typer.echo(_job_line(j))
            if not found:
                typer.echo("no jobs")
            if not watch or all(j.status.finished for j in found):
                return
            await asyncio.sleep(1.0)

    _run(home, go)


# ---- the conversation, the dry run, the budget, the providers ---------------------------------


def _usd(value: float | None) -> str:
    """Dollars with cents, and the fractions of a cent an image costs (``$0.003``)."""
    if value is None:
        return "not set"
    whole, _, cents = f"{value:,.4f}".rstrip("0").partition(".")
    return f"${whole}.{cents.ljust(2, '0')}"


def _tool_line(use: ToolUse, reply: str) -> str:
    if use.status == "failed":
        return f"  ✗ {use.name}: {use.error or 'failed'}"
    mark = "…" if use.status == "queued" else "✓"  # queued: a job runs on after the turn
    summary = str(use.result.get("summary") or "").strip()
    if not summary or summary in reply:  # the reply says it already (the offline model does)
        return f"  {mark} {use.name}"
    return f"  {mark} {use.name}: {summary}"


def _print_turn(turn: Turn, *, speaker: bool = False, suggestions: bool = True) -> None:
    if turn.role == "user":
        typer.echo(f"you: {turn.text}")
        return
    typer.echo(f"studio: {turn.text}" if speaker else turn.text)
    for use in turn.tools:
        typer.echo(_tool_line(use, turn.text))
    if suggestions and turn.suggestions:
        typer.echo("  next: " + " · ".join(turn.suggestions))


async def _chat_session(
    c: Client, project_id: str, wanted: str | None, new: bool, *, title: str | None
) -> str | None:
    """The session to talk in: the one named, a new one, or the project's latest. None when
    there is none yet and ``title`` is None (nothing to say, so nothing is created)."""
    if wanted is not None:
        found, _ = await c.session(wanted)
        if found.project_id != project_id:
            raise InvalidInput(
                f"session {wanted} belongs to another project",
                hint="leave out --session to talk in this project's latest session",
            )
        return found.id
    if not new:
        existing = await c.sessions(project_id)
        if existing:
            return max(existing, key=lambda s: (s.updated_at, s.created_at)).id
    if title is None:
        return None
    return (await c.start_session(project_id, title=title[:200])).id


def _next_message() -> str | None:
    """The next non-blank line of stdin, or None at its end (or when there is no stdin)."""
    if sys.stdin is None or sys.stdin.closed:
        return None
    while True:
        if sys.stdin.isatty():
            typer.echo("you> ", nl=False, err=True)
        line = sys.stdin.readline()
        if not line:
            return None
        if line.strip():
            return line.strip()


@app.command()
def chat(
    project: str,
    message: Annotated[
        list[str] | None,
        typer.Argument(
            help="what to say (the words make one message); without it, one message per line "
            "of stdin, or the conversation so far when stdin is empty",
            show_default=False,
        ),
    ] = None,
    *,
    home: HomeOption = None,
    session: Annotated[
        str | None, typer.Option("--session", help="talk in this session (its id)")
    ] = None,
    new: Annotated[bool, typer.Option("--new", help="start a new session")] = False,
    as_json: Annotated[
        bool,
        typer.Option("--json", help="print each reply as JSON (one line each from stdin)"),
    ] = False,
) -> None:
    """Talk to the studio about a project: it writes the brief, proposes concepts, builds the
    storyboard, generates, prices, and says what it did."""
    if session is not None and new:
        raise InvalidInput(
            "--session and --new do not go together", hint="give one of them, or neither"
        )
    said = " ".join(message or []).strip()
    if message and not said:
        raise InvalidInput(
            "the message is empty", hint="say something, e.g. 'build the storyboard'"
        )

    if said:
        _, turn = _run(home, partial(_say, project=project, text=said, wanted=session, new=new))
        if as_json:
            _echo_json(turn.model_dump(mode="json"))
        else:
            _print_turn(turn)
        return
    # stdin is read here, not in a thread of the event loop, so Ctrl-C ends the wait for it
    sid: str | None = session
    count = 0
    while (line := _next_message()) is not None:
        sid, turn = _run(
            home, partial(_say, project=project, text=line, wanted=sid, new=new and count == 0)
        )
        if as_json:
            typer.echo(json.dumps(turn.model_dump(mode="json"), ensure_ascii=False))
        else:
            typer.echo("" if count == 0 else "\n", nl=False)
            _print_turn(turn)
        count += 1
    if not count:  # nothing was said (an empty pipe, no stdin in CI): the conversation so far
        _run(home, partial(_print_history, project=project, wanted=session, as_json=as_json))


async def _say(
    c: Client, *, project: str, text: str, wanted: str | None, new: bool
) -> tuple[str, Turn]:
    pid = (await c.get_project(project)).id
    sid = await _chat_session(c, pid, wanted, new, title=text)
    assert sid is not None
    return sid, await c.say(sid, text)


async def _print_history(c: Client, *, project: str, wanted: str | None, as_json: bool) -> None:
    pid = (await c.get_project(project)).id
    sid = await _chat_session(c, pid, wanted, False, title=None)
    if sid is None:
        if as_json:
            _echo_json([])
        else:
            typer.echo('no conversation yet: studio chat PROJECT "a night drive ..." starts one')
        return
    found, turns = await c.session(sid)
    if as_json:
        _echo_json([t.model_dump(mode="json") for t in turns])
        return
    title = f" {found.title!r}" if found.title else ""
    typer.echo(f"session {found.id}{title}, {len(turns)} messages")
    last = max((t.index for t in turns if t.role == "assistant"), default=-1)
    for t in turns:
        _print_turn(t, speaker=True, suggestions=t.index == last)


@app.command()
def plan(
    project: str,
    *,
    home: HomeOption = None,
    image: Annotated[
        str | None, typer.Option("--image", help="price the pictures with this image provider")
    ] = None,
    video: Annotated[
        str | None, typer.Option("--video", help="price the clips with this video provider")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """The dry run: every picture and clip that bringing the storyboard up to date would make,
    and what it would cost. Nothing is generated."""
    options = {k: v for k, v in (("image", image), ("video", video)) if v}

    async def go(c: Client) -> tuple[str, dict[str, Any]]:
        p = await c.get_project(project)
        return p.name, await c.plan(p.id, **options)

    name, dry = _run(home, go)
    if as_json:
        _echo_json(dry)
        return
    rows, totals = dry["scenes"], dry["totals"]
    if not rows:
        typer.echo(f'{name} has no storyboard yet: studio chat "{name}" "build the storyboard"')
        return
    typer.echo(
        f"{name}: {len(rows)} scenes; {totals['images']} pictures and {totals['clips']} clips "
        f"to make, {_usd(totals['usd'])}"
    )
    typer.echo(f"  {'#':>3}  {'time':<16}  {'section':<10} {'picture':<24}  clip")
    for r in rows:
        pic, clip = r["image"], r["clip"]
        typer.echo(
            f"  {r['scene']:>3}  {r['start']:7.2f}-{r['end']:7.2f}s  {(r['section'] or '-'):<10} "
            f"{'*' if pic['needed'] else ' '} {pic['provider']:<12} {_usd(pic['usd']):>9}  "
            f"{'*' if clip['needed'] else ' '} {clip['provider']:<12} {clip['seconds']:5.2f}s "
            f"{_usd(clip['usd']):>9}"
        )
    typer.echo("  (* to make: missing, or stale since its scene changed)")
    stages = ", ".join(f"{k} {_usd(v)}" for k, v in totals["by_stage"].items())
    providers = ", ".join(f"{k} {_usd(v)}" for k, v in totals["by_provider"].items())
    typer.echo(f"by stage: {stages}")
    typer.echo(f"by provider: {providers or '-'}")
    typer.echo(f"budget: {_usd(dry['budget_usd'])}, spent or held: {_usd(dry['committed_usd'])}")


@app.command()
def budget(
    project: str,
    usd: Annotated[
        float | None,
        typer.Argument(min=0, help="the new budget in US dollars; without it, show the budget"),
    ] = None,
    *,
    home: HomeOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the ledger as JSON")] = False,
) -> None:
    """Show or set a project's budget (no provider call may pass it), and what it spent."""
    if usd is not None and not math.isfinite(usd):
        raise InvalidInput(f"{usd} is not an amount", hint="give dollars, such as 25 or 7.50")

    async def go(c: Client) -> tuple[str, dict[str, Any]]:
        p = await c.get_project(project)
        if usd is not None:
            p = await c.update_project(p.id, budget_usd=usd)
        return p.name, await c.ledger(p.id)

    name, ledger = _run(home, go)
    if as_json:
        _echo_json(ledger)
        return
    limit, spent, held = ledger["budget_usd"], ledger["spent_usd"], ledger["committed_usd"]
    left = "" if limit is None else f", {_usd(max(0.0, limit - held))} left"
    typer.echo(f"{name}: budget {_usd(limit)}, spent {_usd(spent)}, held {_usd(held)}{left}")
    by_stage: dict[str, list[float]] = {}
    by_provider: dict[str, list[float]] = {}
    for line in ledger["lines"]:
        if line["state"] == "spent":
            by_stage.setdefault(line["stage"], []).append(line["usd"])
            by_provider.setdefault(line["provider"], []).append(line["usd"])
    for label, groups in (("by stage", by_stage), ("by provider", by_provider)):
        if groups:
            parts = (f"{k} {_usd(sum(v))} ({len(v)} calls)" for k, v in sorted(groups.items()))
            typer.echo(f"  {label}: {', '.join(parts)}")


def _card_figures(provider: Any) -> dict[str, Any] | None:
    card = getattr(provider, "card", None)
    if card is None:
        model = getattr(provider, "model", None)
        return {"model": model} if isinstance(model, str) else None
    return {
        "model": card.model,
        "usd_per_call": card.usd_per_call,
        "usd_per_second": card.usd_per_second,
        "clip_lengths": card.clip_lengths,
        "needs_key": card.needs_key,  # the variable's name, never its value
    }


def _figures_line(figures: dict[str, Any]) -> str:
    parts = [str(figures["model"])]
    prices = [
        f"{_usd(figures[k])} {unit}"
        for k, unit in (("usd_per_call", "a call"), ("usd_per_second", "a second"))
        if figures.get(k)
    ]
    if "usd_per_call" in figures:
        parts.append(" + ".join(prices) or "free")
    if figures.get("clip_lengths"):
        parts.append("clips of " + ", ".join(f"{x:g}" for x in figures["clip_lengths"]) + " s")
    return "; ".join(parts)


@app.command()
def providers(
    *,
    home: HomeOption = None,
    project: Annotated[
        str | None, typer.Option("--project", help="with this project's own choices")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Which provider plays each role, where that was decided, and what it costs (as this
    shell's environment and studio.toml see it; keys are never printed)."""
    from studio.providers import ROLES, choose, resolve

    environ = dict(os.environ)
    if home is not None:  # $STUDIO_HOME/studio.toml is the home's own settings file
        environ["STUDIO_HOME"] = str(home.expanduser())
    overrides: dict[str, str] = {}
    if project is not None:
        overrides = _run(home, lambda c: c.get_project(project)).providers
    found: list[dict[str, Any]] = []
    for role in ROLES:
        choice = choose(role, project=overrides, environ=environ)
        row: dict[str, Any] = {
            "role": role,
            "provider": choice.spec,
            "source": choice.source,
            "card": None,
            "error": None,
        }
        try:
            row["card"] = _card_figures(resolve(role, project=overrides, environ=environ))
        except StudioError as exc:
            row["error"] = {"type": type(exc).__name__, "message": exc.message, "hint": exc.hint}
        except Exception as exc:  # a third party's factory may fail in its own way
            row["error"] = {"type": type(exc).__name__, "message": str(exc), "hint": None}
        found.append(row)
    if as_json:
        _echo_json(found)
        return
    for row in found:
        typer.echo(f"{row['role']:<12} {row['provider']:<24} from {row['source']}")
        if row["error"] is not None:
            typer.echo(f"{'':<12} ✗ {row['error']['message']}")
            if row["error"]["hint"]:
                typer.echo(f"{'':<12}   -> {row['error']['hint']}")
        elif row["card"] is not None:
            typer.echo(f"{'':<12} {_figures_line(row['card'])}")


@engine_app.command("start")
def engine_start(
    home: HomeOption = None,
    tcp: Annotated[
        int | None,
        typer.Option(help="serve on 127.0.0.1:PORT with a token instead of a Unix socket"),
    ] = None,
    foreground: Annotated[bool, typer.Option(help="run here instead of in the background")] = False,
) -> None:
    """Start the engine (clients also start it on first use)."""
    h = Home.resolve(home)
    if foreground:
        from studio.engine import EngineServer

        EngineServer(h, tcp_port=tcp).run()
        return
    info = ensure_engine(h, tcp_port=tcp)
    typer.echo(f"engine running, pid {info.pid}, at {info.address}")


@engine_app.command("stop")
def engine_stop(home: HomeOption = None) -> None:
    """Stop the engine; running jobs resume when it starts again."""
    pid = stop_engine(Home.resolve(home))
    typer.echo(f"engine {pid} stopped" if pid else "no engine was running")


@engine_app.command("status")
def engine_status(
    home: HomeOption = None, as_json: Annotated[bool, typer.Option("--json")] = False
) -> None:
    """Say whether the engine runs, where, and what it is doing."""
    h = Home.resolve(home)
    info = find_engine(h)
    if info is None:
        if as_json:
            _echo_json({"running": False, "home": str(h.root)})
        else:
            typer.echo(f"no engine running for {h.root}")
        raise typer.Exit(1)
    health = _run(home, lambda c: c.health())
    if as_json:
        _echo_json({"running": True, "home": str(h.root), "address": info.address} | health)
        return
    running = health["jobs_running"]
    typer.echo(f"engine running, pid {info.pid}, at {info.address}, {running} job(s) running")


async def follow(c: Client, job: Any, label: str) -> Any:
    """Draw a job's progress on one line until it ends; returns the finished job (raising
    ``JobFailed`` with the engine's message if it failed)."""
    while True:
        job = await c.job(job.id)
        bar = "#" * int(job.progress * 30)
        line = f"\r  {label} [{bar:<30}] {job.progress * 100:5.1f}% {job.message[:48]:<48}"
        typer.echo(line, nl=False, err=True)
        if job.status.finished:
            typer.echo("", err=True)
            return await c.wait_job(job.id)
        await asyncio.sleep(0.25)


@app.command()
def render(
    project: str,
    *,
    home: HomeOption = None,
    preview: Annotated[
        bool, typer.Option("--preview", help="a fast 640x360 draft for review")
    ] = False,
    preset: Annotated[
        str | None,
        typer.Option(help="final (1080p), hd, preview, vertical, square, feed, 4k, web"),
    ] = None,
    aspect: Annotated[str | None, typer.Option(help="16:9, 9:16, 1:1 or 4:5")] = None,
    resolution: Annotated[int | None, typer.Option(help="the short side: 360 ... 2160")] = None,
    fps: Annotated[int | None, typer.Option(help="24, 25, 30 or 60")] = None,
    teaser: Annotated[
        int | None, typer.Option(help="only 15, 30 or 60 s around the song's peak")
    ] = None,
    gif: Annotated[bool, typer.Option("--gif", help="also a looping GIF of it")] = False,
    loudness: Annotated[
        bool, typer.Option("--loudness", help="normalise the song to -14 LUFS, -1 dBTP")
    ] = False,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="the file to write")] = None,
) -> None:
    """Render the project's timeline (built from the approved storyboard if it has none) to a
    checked video file."""
    if preview and preset:
        raise InvalidInput("--preview and --preset do not go together", hint="give one of them")
    options = {
        "aspect": aspect, "resolution": resolution, "fps": fps, "teaser": teaser,
        "animation": "gif" if gif else None, "normalize_loudness": loudness or None,
    }  # fmt: skip
    params: dict[str, Any] = {"preset": "preview" if preview else preset or "final"}
    params |= {k: v for k, v in options.items() if v is not None}

    async def go(c: Client) -> list[Path]:
        p = await c.get_project(project)
        job = await c.submit_job("render.video", {"project_id": p.id, **params})
        done = await follow(c, job, "render")
        result = done.result or {}
        dest = out or Path(result["filename"])
        made = [await c.download(result["sha256"], dest)]
        if "animation" in result:
            made.append(await c.download(result["animation"]["sha256"], dest.with_suffix(".gif")))
        return made

    for path in _run(home, go):
        typer.echo(f"wrote {path} ({path.stat().st_size:,} bytes)")


@app.command()
def timeline(
    project: str,
    *,
    home: HomeOption = None,
    build: Annotated[
        bool, typer.Option("--build", help="lay the approved storyboard on it again first")
    ] = False,
    export: Annotated[
        str | None, typer.Option(help="print it as json, otio, edl, srt, ass or html")
    ] = None,
    fps: Annotated[int, typer.Option(help="the frame rate of an otio or edl export")] = 30,
) -> None:
    """Show the project's timeline (clip, time, take, transition), or export it."""

    async def go(c: Client) -> str:
        p = await c.get_project(project)
        if build:
            await c.build_timeline(p.id)
        if export:
            return await c.export_timeline(p.id, export, fps=fps)
        t = await c.timeline(p.id)
        rows = [f"timeline of {p.name}: {len(t.clips)} clips, {t.duration:.2f} s, rev {t.revision}"]
        for n, clip in enumerate(t.clips, start=1):
            change = clip.transition_in.kind.value
            fx = ", ".join(e.name for e in clip.effects)
            rows.append(
                f"  {n:3d}  {clip.start:7.2f}-{clip.end:7.2f}s  {change:<10} "
                f"{clip.take_id or 'no take':<26} {fx}"
            )
        return "\n".join(rows) + "\n"

    typer.echo(_run(home, go), nl=False)


@app.command()
def demo(
    home: HomeOption = None,
    aspect: Annotated[str, typer.Option(help="16:9, 9:16, 1:1 or 4:5")] = "16:9",
    seconds: Annotated[
        float | None, typer.Option(help="use only the first N seconds of the demo song")
    ] = None,
) -> None:
    """The whole offline pipeline on the built-in demo song, to an MP4 and a contact sheet."""
    from studio.demo import run_demo

    run_demo(Home.resolve(home), aspect=aspect, seconds=seconds)


def _list(text: str) -> list[str]:
    return [part.strip() for part in text.split(",")]


@app.command()
def batch(
    songs: Annotated[list[str], typer.Argument(help="song files (or demo, the demo song)")],
    *,
    brief: Annotated[str, typer.Option(help="the brief, in words, for every video")],
    home: HomeOption = None,
    styles: Annotated[
        str, typer.Option(help="comma-separated styles, one video each (default: none)")
    ] = "",
    aspects: Annotated[str, typer.Option(help="comma-separated: 16:9, 9:16, 1:1, 4:5")] = "16:9",
    jobs: Annotated[int, typer.Option(help="how many videos are made at once")] = 1,
    out: Annotated[Path, typer.Option(help="the folder for the runs and the summary")] = Path(
        "batch-output"
    ),
    seconds: Annotated[
        float | None, typer.Option(help="use only the first N seconds of each song")
    ] = None,
    seed: Annotated[int, typer.Option(help="the sessions' seed")] = 0,
    budget: Annotated[float | None, typer.Option(help="a cap per video in US dollars")] = None,
) -> None:
    """A video for every song x style x aspect: the make_music_video notebook under papermill,
    each executed notebook kept as its run's record, summary.csv and summary.html in OUT. A
    run that fails does not stop the others; run again, what succeeded is skipped."""
    from studio.batch import run_batch

    if home is not None:  # the kernels find the engine through the environment
        os.environ["STUDIO_HOME"] = str(Home.resolve(home).root)
    outcomes = run_batch(
        songs, brief=brief, out=out, styles=_list(styles), aspects=_list(aspects), jobs=jobs,
        seconds=seconds, seed=seed, budget=budget,
    )  # fmt: skip
    for o in outcomes:
        said = o.error if o.status == "failed" else o.video
        typer.echo(f"{o.status:<9} {Path(o.run.song).name}  {o.run.variant}  {said}")
    counts = {s: sum(o.status == s for o in outcomes) for s in ("succeeded", "skipped", "failed")}
    typer.echo(", ".join(f"{n} {s}" for s, n in counts.items()) + f"; summary in {out}/")
    if counts["failed"]:
        raise typer.Exit(1)


@app.command()
def share(
    projects: Annotated[list[str], typer.Argument(help="the projects (names or ids) to share")],
    *,
    name: Annotated[str, typer.Option(help="who the link is for (it signs their comments)")],
    role: Annotated[str, typer.Option(help="reviewer (look, approve, comment) or editor")] = (
        "reviewer"
    ),
    dashboard: Annotated[str, typer.Option(help="review, gallery or studio")] = "review",
    home: HomeOption = None,
) -> None:
    """Make a key for NAME on PROJECTS and print its dashboard link. The key is shown this once
    (the engine keeps only its hash); `studio keys --revoke ID` ends it."""
    from studio.dashboards import DASHBOARDS, Served, share_link

    if dashboard not in DASHBOARDS:  # refused before a key is made for it
        raise InvalidInput(f"no dashboard is called {dashboard!r}", hint=", ".join(DASHBOARDS))

    async def go(c: Client) -> tuple[list[str], dict[str, Any]]:
        ids = [(await c.get_project(ref)).id for ref in projects]
        return ids, await c.share(name, role, ids)

    ids, made = _run(home, go)
    typer.echo(f"key {made['id']} for {made['name']} ({made['role']}) on {len(ids)} project(s)")
    served = Served.read(Home.resolve(home))
    if served is None:
        typer.echo(f"key: {made['key']}")
        typer.echo("start `studio dashboards` and run this again for a ready link, or add "
                   f"?key=... to the {dashboard} dashboard's address")  # fmt: skip
    else:
        typer.echo(share_link(served, dashboard, made["key"], ids[0]))


@app.command()
def keys(
    revoke: Annotated[str | None, typer.Option(help="end the key with this id")] = None,
    home: HomeOption = None,
) -> None:
    """The keys made with `studio share` (never the keys themselves), or revoke one."""
    if revoke:
        ended = _run(home, lambda c: c.revoke(revoke))
        typer.echo(f"key {ended['id']} of {ended['name']} revoked")
        return
    for g in _run(home, lambda c: c.grants()):
        shared = "every project" if g["all_projects"] else ", ".join(g["projects"])
        state = "revoked" if g["revoked_at"] else "live"
        typer.echo(f"{g['id']}  {state:<7} {g['role']:<8} {g['name']:<20} {shared}")


@app.command()
def dashboards(
    home: HomeOption = None,
    port: Annotated[int, typer.Option(help="the port to serve on")] = 8866,
    token: Annotated[
        str | None, typer.Option(help="the server's token (default: a new random one)")
    ] = None,
    host: Annotated[str, typer.Option(help="the address to listen on")] = "127.0.0.1",
) -> None:
    """Serve the dashboards (review, gallery, studio) with Voila: a token, no tracebacks, only
    media as static files, idle kernels culled. Each link acts as its key (`studio share`)."""
    from studio.dashboards import serve

    raise typer.Exit(serve(Home.resolve(home), host=host, port=port, token=token))


@app.command()
def doctor(home: HomeOption = None) -> None:
    """Check the set-up: ffmpeg, the store, the engine, provider keys (never printing a key)."""
    from studio.render import ffmpeg_info

    ok = True

    def line(good: bool, text: str) -> None:
        nonlocal ok
        ok = ok and good
        typer.echo(f"{'ok ' if good else 'BAD'}  {text}")

    try:
        info = ffmpeg_info()
        line(True, f"ffmpeg: {info.path}")
        line(True, f"        {info.version}")
        for need, where in (
            ("libx264", info.encoders),
            ("aac", info.encoders),
            ("libvpx-vp9", info.encoders),
            ("libopus", info.encoders),
            ("subtitles", info.filters),
        ):
            line(need in where, f"        {need}")
    except StudioError as exc:
        line(False, f"ffmpeg: {exc}")
    h = Home.resolve(home)
    writable = os.access(h.root, os.W_OK)
    line(writable, f"studio home: {h.root} ({'writable' if writable else 'not writable'})")
    engine: EngineInfo | None = find_engine(h)
    if engine is not None:
        line(True, f"engine: running, pid {engine.pid}, at {engine.address}")
    else:
        try:
            engine = ensure_engine(h)
            line(True, f"engine: started, pid {engine.pid}, at {engine.address}")
        except StudioError as exc:
            line(False, f"engine: cannot start: {exc}")
    for provider, names in PROVIDER_KEYS.items():
        found = [n for n in names if os.environ.get(n)]
        state = (
            f"key set ({', '.join(found)})"
            if found
            else "no key: the offline provider does this stage"
        )
        typer.echo(f"     provider {provider}: {state}")
    if not ok:
        raise typer.Exit(1)


def main() -> None:
    """Entry point: predictable failures print what happened and what to do, no traceback."""
    try:
        code = app(standalone_mode=False)  # returns the code of a typer.Exit
    except StudioError as exc:
        typer.echo(f"studio: {exc.message}", err=True)
        if exc.hint:
            typer.echo(f"  -> {exc.hint}", err=True)
        sys.exit(1)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except (typer.Abort, KeyboardInterrupt):
        sys.exit(130)
    except Exception as exc:  # usage errors
        import click

        # typer 0.2x raises those of the click it carries inside, not click.ClickException
        if isinstance(exc, click.ClickException | typer.TyperException) and hasattr(exc, "show"):
            exc.show()
            sys.exit(getattr(exc, "exit_code", 2))
        raise
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
