"""Short songs for the notebook and batch tests, and an engine stopped when a test ends (the
kernels start it on first use, as a person's would)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from studio.audio import synthesize_song
from studio.engine import Home, stop_engine

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "notebooks"


@pytest.fixture(scope="session")
def songs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Two synthesised songs of about ten seconds (different tempos, keys and forms), and a
    file of random bytes named like a song."""
    folder = tmp_path_factory.mktemp("songs")
    made = {}
    for name, tempo, key, structure in (
        ("rooftop", 120.0, "C", (("verse", 2), ("chorus", 3))),
        ("harbour", 100.0, "E", (("intro", 1), ("chorus", 3))),
    ):
        audio, truth = synthesize_song(tempo=tempo, key=key, structure=structure)
        made[name] = folder / f"{name}.flac"
        sf.write(made[name], audio, truth.sample_rate)
    made["broken"] = folder / "broken.wav"
    made["broken"].write_bytes(np.random.default_rng(7).bytes(200_000))
    return made


@pytest.fixture
def kernel_home(home: Home) -> Iterator[Home]:
    """The test's studio home, its engine (started by a kernel or a batch) stopped at the end."""
    yield home
    stop_engine(home)
