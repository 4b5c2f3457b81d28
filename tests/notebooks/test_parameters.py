"""The notebook's parameters: papermill's values checked, and a Voila page's query string
allowed to set only the brief, the style, the aspect, the seed and the demo song."""

from __future__ import annotations

import ast
from typing import Any

import nbformat
import pytest

from studio.errors import InvalidInput
from studio.notebook import FROM_QUERY, check_parameters, parameters
from tests.notebooks.conftest import NOTEBOOKS

DEFAULTS: dict[str, Any] = {
    "audio": "demo",
    "seconds": 20,
    "brief": "a night drive",
    "style": "",
    "aspect": "16:9",
    "providers": {},
    "seed": 0,
    "budget": None,
    "out": "video-output",
}


def test_without_a_query_string_the_cells_values_are_used(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("QUERY_STRING", raising=False)
    assert parameters(DEFAULTS) == DEFAULTS
    papermill = DEFAULTS | {"audio": "/songs/a.wav", "seconds": None, "budget": 2.5, "seed": 9}
    assert parameters(papermill) == papermill  # papermill's values are not the browser's


def test_the_query_string_overrides_the_safe_parameters(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "QUERY_STRING", "brief=a+rooftop+at+dawn&style=film%20noir&aspect=9:16&seed=7&audio=demo"
    )
    got = parameters(DEFAULTS)
    assert got == DEFAULTS | {
        "brief": "a rooftop at dawn", "style": "film noir", "aspect": "9:16", "seed": 7,
    }  # fmt: skip
    # the server's own keys (the login token, Voila's theme) are neither used nor refused
    token = "token=abc123&voila-theme=dark&style=pastel"
    assert parameters(DEFAULTS, query=token) == DEFAULTS | {"style": "pastel"}


@pytest.mark.parametrize(
    "audio", ["/etc/passwd", "../song.wav", "song.wav", "~/music/a.flac", "file:///tmp/a.wav", ""]
)
def test_the_query_string_cannot_name_a_file(audio: str) -> None:
    from urllib.parse import quote

    with pytest.raises(InvalidInput, match="only the built-in demo song"):
        parameters(DEFAULTS, query=f"audio={quote(audio)}")


@pytest.mark.parametrize(
    "query",
    [
        "out=/tmp/elsewhere",
        "providers=%7B%22image%22%3A%22replicate%22%7D",
        "budget=1000",
        "seconds=600",
        "__import__('os').system('id')=1",
        "brief=ok&Style=noir",
    ],
)
def test_the_query_string_cannot_set_anything_else(query: str) -> None:
    with pytest.raises(InvalidInput, match="which a dashboard cannot set") as caught:
        parameters(DEFAULTS, query=query)
    assert caught.value.hint is not None and "brief, style, aspect, seed" in caught.value.hint


@pytest.mark.parametrize(
    ("query", "said"),
    [
        ("aspect=2:1", "aspect '2:1' is not one the studio renders"),
        ("aspect=16:9;drop", "is not one the studio renders"),
        ("seed=-1", "is not a whole number"),
        ("seed=1e3", "is not a whole number"),
        ("seed=%EF%BC%97", "is not a whole number"),  # a full-width 7: a digit, but not ASCII
        ("seed=4294967296", "from 0 to 2147483647"),
        ("seed=1&seed=2", "sets 'seed' twice"),
        ("brief=" + "a" * 2001, "the limit is 2000"),
        ("style=noir%00", "control character"),
        ("style", "cannot be read"),
    ],
)
def test_a_bad_value_in_the_query_string_is_refused_saying_why(query: str, said: str) -> None:
    with pytest.raises(InvalidInput, match=said.replace("(", r"\(")):
        parameters(DEFAULTS, query=query)


@pytest.mark.parametrize(
    ("change", "said"),
    [
        ({"budget": -1}, "is not an amount"),
        ({"budget": float("nan")}, "is not an amount"),
        ({"seconds": 3}, "not a length"),
        ({"seed": True}, "not a whole number"),
        ({"providers": ["image"]}, "must map roles"),
        ({"providers": {"image": 3}}, "must map roles"),
        ({"aspect": "4:3"}, "not one the studio renders"),
        ({"brief": 42}, "must be text"),
    ],
)
def test_papermills_values_are_checked_too(change: dict[str, Any], said: str) -> None:
    with pytest.raises(InvalidInput, match=said):
        check_parameters(DEFAULTS | change)


def _parameters_cell(name: str) -> nbformat.NotebookNode:
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert "parameters" in code[0].metadata.get("tags", []), f"{name}: no parameters cell first"
    return code[0]


def test_the_notebooks_parameters_cell_sets_what_the_notebook_checks() -> None:
    cell = _parameters_cell("make_music_video.ipynb")
    names = {
        target.id
        for node in ast.parse(cell.source).body
        if isinstance(node, ast.Assign)
        for target in node.targets
        if isinstance(target, ast.Name)
    }
    assert names == set(DEFAULTS)
    assert set(FROM_QUERY) < names
    values: dict[str, Any] = {}
    exec(compile(cell.source, "parameters", "exec"), {}, values)
    assert values["audio"] == "demo" and values["seconds"] is not None  # quick by default
    assert check_parameters(values) == values


@pytest.mark.parametrize(
    "name", ["quickstart.ipynb", "make_music_video.ipynb", "variant_sweep.ipynb"]
)
def test_the_notebooks_are_committed_without_outputs(name: str) -> None:
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    nbformat.validate(nb)
    _parameters_cell(name)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, cell.source[:60]
    assert nb.metadata.kernelspec.name == "python3"
