"""The house rules of DESIGN.md, checked on the source: imports point down, and only the
layers named may touch DuckDB, the AI SDKs and ffmpeg command lines. And every package's
public surface is exactly its ``__all__``."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "studio"
LAYER_ORDER = ["model", "store", "providers", "render", "audio", "agents", "jobs", "engine", "ui"]
AI_SDKS = {"google", "replicate", "modal"}
IO_MODULES = {
    "duckdb",
    "httpx",
    "subprocess",
    "socket",
    "fastapi",
    "uvicorn",
    "os",
    "pathlib",
    "shutil",
    "tempfile",
    "asyncio",
}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def _modules() -> list[tuple[str, Path]]:
    return [(p.relative_to(ROOT).parts[0], p) for p in ROOT.rglob("*.py")]


def test_only_the_store_imports_duckdb() -> None:
    offenders = [
        str(p)
        for layer, p in _modules()
        if layer != "store" and any(i.split(".")[0] == "duckdb" for i in _imports(p))
    ]
    assert offenders == []


def test_only_providers_import_an_ai_sdk() -> None:
    offenders = [
        str(p)
        for layer, p in _modules()
        if layer != "providers" and any(i.split(".")[0] in AI_SDKS for i in _imports(p))
    ]
    assert offenders == []


def test_the_model_imports_no_io() -> None:
    offenders = {
        str(p): sorted(i for i in _imports(p) if i.split(".")[0] in IO_MODULES)
        for layer, p in _modules()
        if layer == "model"
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_imports_point_down() -> None:
    bad = []
    for layer, path in _modules():
        if layer not in LAYER_ORDER:
            continue
        for name in _imports(path):
            parts = name.split(".")
            if parts[0] != "studio" or len(parts) < 2 or parts[1] not in LAYER_ORDER:
                continue
            if LAYER_ORDER.index(parts[1]) > LAYER_ORDER.index(layer):
                bad.append(f"{path.relative_to(ROOT)} imports {name}")
    assert bad == []


def test_only_render_builds_ffmpeg_command_lines() -> None:
    offenders = [
        str(p) for layer, p in _modules() if layer != "render" and '"-c:v"' in p.read_text()
    ]
    assert offenders == []


@pytest.mark.parametrize(
    "package",
    [
        "studio",
        "studio.errors",
        "studio.model",
        "studio.store",
        "studio.jobs",
        "studio.render",
        "studio.engine",
        "studio.audio",
    ],
)
def test_public_surface_is_all(package: str) -> None:
    module = importlib.import_module(package)
    for name in module.__all__:  # a name a package imports when first used resolves too
        assert hasattr(module, name), name
    public = {
        n
        for n in vars(module)
        if not n.startswith("_") and not isinstance(vars(module)[n], type(importlib))
    }
    if package == "studio.errors":  # a module of classes: everything public is listed
        public = {n for n in public if n not in {"annotations", "Any", "ClassVar"}}
    assert set(module.__all__) <= set(vars(module))
    if package not in {"studio", "studio.errors"}:
        assert public == set(module.__all__), public ^ set(module.__all__)
