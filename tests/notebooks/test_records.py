"""A run's record (result.json), and what the batch makes of records: which runs it skips, the
folders it plans, the summary it writes. No kernel, no engine: milliseconds."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from studio.batch import NOTEBOOK, Outcome, done_before, notebook_path, plan_runs, write_summary
from studio.errors import InvalidInput, JobFailed
from studio.notebook import read_record, recorded
from studio.pipeline import VideoResult
from tests.notebooks.conftest import NOTEBOOKS


def _result(folder: Path) -> VideoResult:
    video = folder / "made.mp4"
    video.write_bytes(b"not really a video")
    return VideoResult(
        project_id="prj_x", project_name="x", video=video, song_map=folder / "m.png",
        contact_sheet=folder / "s.png", storyboard=folder / "s.html", exports=[],
        aspect="9:16", size=(720, 1280), duration=10.0, frames=300, sync={"offset": 0.0},
        cost_usd=0.25, ledger={"spent_usd": 0.25, "lines": []}, seconds=3.0,
    )  # fmt: skip


def test_a_run_that_works_is_recorded_as_succeeded(tmp_path: Path) -> None:
    params = {"audio": "demo", "aspect": "9:16", "seed": 3}
    with recorded(tmp_path, params) as record:
        assert read_record(tmp_path) == read_record(tmp_path) and record.status == "running"
        assert json.loads((tmp_path / "result.json").read_text())["status"] == "running"
        record.succeeded(_result(tmp_path))
    saved = read_record(tmp_path)
    assert saved is not None and saved["status"] == "succeeded" and saved["error"] is None
    assert saved["parameters"] == params and saved["source_sha256"] is None
    assert saved["result"]["video"] == str(tmp_path / "made.mp4")
    assert saved["result"]["size"] == [720, 1280] and saved["result"]["cost_usd"] == 0.25
    assert saved["seconds"] >= 0


def test_a_run_that_fails_is_recorded_with_its_cause_in_one_line(tmp_path: Path) -> None:
    with pytest.raises(JobFailed), recorded(tmp_path, {"audio": "demo"}):
        raise JobFailed("the session's render step failed: no clips", hint="approve the clips")
    saved = read_record(tmp_path)
    assert saved is not None and saved["status"] == "failed"
    assert saved["error"] == "the session's render step failed: no clips"
    assert saved["hint"] == "approve the clips" and saved["error_type"] == "JobFailed"

    with pytest.raises(KeyError), recorded(tmp_path, {"audio": "demo"}):
        raise KeyError("line one\nline two")
    saved = read_record(tmp_path)
    assert saved is not None and saved["error"] == "KeyError: 'line one\\nline two'"

    with pytest.raises(InvalidInput, match="without a video"), recorded(tmp_path, {}):
        pass  # a run that never said what it made did not succeed
    assert (read_record(tmp_path) or {})["status"] == "failed"


def _run_before(tmp_path: Path, song: Path) -> Outcome:
    [run] = plan_runs([song], brief="a rooftop", out=tmp_path / "out", aspects=["9:16"], seed=1)
    with recorded(run.folder, run.parameters) as record:
        record.succeeded(_result(run.folder))
    outcome = done_before(run)
    assert outcome is not None
    return outcome


def test_a_run_is_skipped_only_if_nothing_it_depends_on_changed(tmp_path: Path) -> None:
    song = tmp_path / "song.flac"
    song.write_bytes(b"the song")
    before = _run_before(tmp_path, song)
    assert before.status == "skipped" and before.video == before.run.folder / "made.mp4"
    assert before.cost_usd == 0.25

    def again(**change: object) -> Outcome | None:
        params: dict = {"brief": "a rooftop", "out": tmp_path / "out", "aspects": ["9:16"]}
        params |= {"seed": 1} | change
        [run] = plan_runs([song], **params)
        return done_before(run)

    assert again() is not None
    assert again(seed=2) is None  # other parameters: made again
    assert again(brief="a harbour") is None
    song.write_bytes(b"the song, mastered again")  # the same file name, another song
    assert again() is None
    song.write_bytes(b"the song")
    assert again() is not None
    before.run.folder.joinpath("made.mp4").unlink()  # the video is gone
    assert again() is None


def test_a_failed_run_is_not_skipped(tmp_path: Path) -> None:
    [run] = plan_runs(["demo"], brief="x", out=tmp_path)
    with pytest.raises(JobFailed), recorded(run.folder, run.parameters):
        raise JobFailed("no")
    assert done_before(run) is None


def test_the_runs_each_have_their_own_folder(tmp_path: Path) -> None:
    a, b = tmp_path / "a" / "song.wav", tmp_path / "b" / "song.wav"
    runs = plan_runs(
        ["demo", a, b], brief="x", out=tmp_path / "out", styles=["Film noir!", ""],
        aspects=["16:9", "9:16"], seconds=12,
    )  # fmt: skip
    assert len(runs) == 12 and len({r.folder for r in runs}) == 12
    names = {r.folder.relative_to(tmp_path / "out").as_posix() for r in runs}
    assert {"demo/film-noir-16x9", "demo/no-style-9x16", "song/film-noir-16x9"} <= names
    assert all(r.parameters["out"] == str(r.folder) for r in runs)
    assert all(r.parameters["seconds"] == 12 for r in runs)
    with pytest.raises(InvalidInput, match="aspect '2:1'"):
        plan_runs(["demo"], brief="x", out=tmp_path, aspects=["2:1"])
    with pytest.raises(InvalidInput, match="no songs"):
        plan_runs([], brief="x", out=tmp_path)


def test_the_summary_has_a_row_per_run_and_escapes_what_it_shows(tmp_path: Path) -> None:
    runs = plan_runs(["demo"], brief="x", out=tmp_path, aspects=["16:9", "9:16"])
    video = tmp_path / "v.mp4"
    outcomes = [
        Outcome(runs[0], "succeeded", 12.5, 0.0, video),
        Outcome(runs[1], "failed", 2.0, error="<script>alert(1)</script> is not a song"),
    ]
    table, page = write_summary(outcomes, tmp_path)
    with table.open() as handle:
        rows = list(csv.DictReader(handle))
    assert [r["status"] for r in rows] == ["succeeded", "failed"]
    assert rows[0]["video"] == str(video) and rows[0]["seconds"] == "12.5"
    assert rows[1]["error"] == "<script>alert(1)</script> is not a song"
    assert rows[1]["notebook"].endswith(NOTEBOOK)
    text = page.read_text()
    assert "<script>" not in text and "&lt;script&gt;" in text
    assert 'href="v.mp4"' in text  # links relative to the summary's folder


def test_the_notebook_is_found_in_a_checkout_and_in_a_wheel(tmp_path: Path) -> None:
    assert notebook_path() == NOTEBOOKS / NOTEBOOK
    installed = tmp_path / "site-packages" / "studio"
    (installed / "_notebooks").mkdir(parents=True)
    (installed / "_notebooks" / NOTEBOOK).write_text("{}")
    assert notebook_path(package=installed) == installed / "_notebooks" / NOTEBOOK
    with pytest.raises(Exception, match="not where the studio keeps it"):
        notebook_path("missing.ipynb", package=installed)
    pyproject = (NOTEBOOKS.parent / "pyproject.toml").read_text()
    assert '"notebooks" = "studio/_notebooks"' in pyproject  # the wheel carries them there


def test_the_song_for_a_run_its_first_seconds_and_its_lyrics(
    songs: dict[str, Path], tmp_path: Path
) -> None:
    import shutil

    import soundfile as sf

    from studio.notebook import song_for

    song = tmp_path / "rooftop.flac"
    shutil.copy(songs["rooftop"], song)
    song.with_suffix(".lrc").write_text("[ti:Rooftop]\n[00:01.00]first line\n[00:09.50]late line\n")
    whole, lrc = song_for(song, None, tmp_path / "run")
    assert whole == song and lrc is not None and "late line" in lrc
    short, lrc = song_for(song, 10, tmp_path / "run")
    assert short.parent == tmp_path / "run" and sf.info(short).duration == pytest.approx(10.0)
    assert lrc is not None and "first line" in lrc and "late line" not in lrc  # sung too late
    demo, words = song_for("demo", 12, tmp_path / "run")
    assert sf.info(demo).duration == pytest.approx(12.0) and words and "[ti:" in words
    with pytest.raises(InvalidInput, match="there is no song file"):
        song_for(tmp_path / "missing.wav", None, tmp_path / "run")
