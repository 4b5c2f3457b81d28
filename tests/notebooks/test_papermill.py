"""make_music_video.ipynb run by papermill with parameters, offline, in a real kernel: the
executed notebook and result.json say what was made, and the video is what was asked for."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import nbformat
import papermill
import pytest
from papermill.exceptions import PapermillExecutionError

from studio.engine import Client, Home
from studio.model import Project
from studio.render import probe
from tests.notebooks.conftest import NOTEBOOKS

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]


def _outputs(nb: nbformat.NotebookNode) -> str:
    """Every text and HTML the executed notebook shows, in order."""
    found = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            found.append(out.get("text", ""))
            found += [str(out.get("data", {}).get(k, "")) for k in ("text/plain", "text/html")]
    return "\n".join(found)


def test_papermill_makes_a_vertical_video_and_the_notebook_records_it(
    kernel_home: Home, tmp_path: Path
) -> None:
    out = tmp_path / "video"
    params = {
        "seconds": 12, "aspect": "9:16", "style": "film noir, grainy", "seed": 7,
        "budget": 5.0, "providers": {"image": "local"}, "out": str(out),
    }  # fmt: skip
    executed = tmp_path / "run.ipynb"
    papermill.execute_notebook(
        str(NOTEBOOKS / "make_music_video.ipynb"), str(executed), parameters=params,
        kernel_name="python3", progress_bar=False, cwd=str(tmp_path),
    )  # fmt: skip

    nb = nbformat.read(executed, as_version=4)
    injected = [c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert len(injected) == 1 and 'aspect = "9:16"' in injected[0].source
    shown = _outputs(nb)
    assert "(720x1280, 12.00 s," in shown  # the notebook's own line about the video
    assert "The hd render is ready" in shown and "checked in sync with the song" in shown
    assert "sound vs picture" in shown and "<th>provider</th>" in shown  # the summary tables

    record = json.loads((out / "result.json").read_text())
    assert record["status"] == "succeeded" and record["error"] is None
    assert {k: record["parameters"][k] for k in params} == params
    result = record["result"]
    video = Path(result["video"])
    assert video.parent == out and video.is_file()
    for kept in ("song_map", "contact_sheet", "storyboard"):
        assert Path(result[kept]).stat().st_size > 0
    assert (Path(result["song_map"]).read_bytes()[:4], result["size"]) == (b"\x89PNG", [720, 1280])

    info = probe(video, count_frames=True)
    assert (info.width, info.height, info.audio) == (720, 1280, "aac")
    assert info.frames == 12 * 30 == result["frames"]
    assert abs(info.duration - 12.0) <= 1 / 30 + 0.03  # the container's length, within a frame
    sync = result["sync"]
    assert sync["frames"] == 360 and abs(sync["offset"]) <= 1 / 30
    assert abs(sync["audio_end"] - 12.0) <= 1 / 30

    async def project() -> tuple[Project, list[int]]:
        async with Client(kernel_home) as c:
            p = await c.get_project(result["project_id"])
            turns = await c.jobs(project_id=p.id, limit=50)
            return p, [j.params.get("seed") for j in turns if j.kind == "session.turn"]

    made, seeds = asyncio.run(project())
    assert made.brief.style == "film noir, grainy" and made.budget_usd == 5.0
    assert made.providers == {"image": "local"}
    assert seeds and set(seeds) == {7}  # every message of the session carried the seed


def test_a_voila_query_string_naming_a_file_stops_the_notebook(
    kernel_home: Home, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The kernel reads the page's query string from its environment, as under Voila."""
    monkeypatch.setenv("QUERY_STRING", "style=noir&audio=%2Fetc%2Fpasswd")
    with pytest.raises(PapermillExecutionError) as failed:
        papermill.execute_notebook(
            str(NOTEBOOKS / "make_music_video.ipynb"), str(tmp_path / "run.ipynb"),
            parameters={"out": str(tmp_path / "video")}, kernel_name="python3",
            progress_bar=False, cwd=str(tmp_path),
        )  # fmt: skip
    assert failed.value.ename == "InvalidInput"
    assert "only the built-in demo song" in failed.value.evalue
    assert not (tmp_path / "video").exists()  # stopped before anything was made
