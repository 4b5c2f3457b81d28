"""The ``studio`` command. Every command is a client of the engine (started on first use),
except ``engine`` and ``doctor``, which look at the engine itself."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from studio.engine import Client, EngineInfo, Home, ensure_engine, find_engine, stop_engine
from studio.errors import InvalidInput, NotFound, StudioError
from studio.model import Analysis

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


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


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
                return await client.analysis(_sha256(audio))
            except NotFound:
                pass
        pid = (await client.get_project(project)).id if project else None
        job = await client.upload_song(audio, project_id=pid)
        await client.wait_job(job.id)
        return await (client.song_map(pid) if pid else client.analysis(_sha256(audio)))

    analysis = _run(home, go)
    if plot is not None:
        tmp = plot.with_name(f".{plot.name}.part{plot.suffix}")
        analysis.plot().savefig(tmp)
        os.replace(tmp, plot)
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
    except Exception as exc:  # click usage errors
        import click

        if isinstance(exc, click.ClickException):
            exc.show()
            sys.exit(exc.exit_code)
        raise
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
