"""The offline music provider: the synthesiser plays what the words ask for, and the studio's
own analysis hears it."""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path

import pytest

from studio.audio import LocalMusicModel, analyze_file, read_music_prompt
from studio.providers import MusicModel, MusicRequest, resolve_music_model


def test_named_tempo_key_and_mode_win_and_mood_words_decide_the_rest() -> None:
    assert read_music_prompt("synth-pop at 96 bpm in D major") == {
        "tempo": 96.0, "key": "D", "mode": "major"}  # fmt: skip
    calm = read_music_prompt("a sad, dreamy ballad")
    fast = read_music_prompt("an upbeat club track")
    assert calm["mode"] == "minor" and float(calm["tempo"]) < 100  # type: ignore[arg-type]
    assert float(fast["tempo"]) > 120  # type: ignore[arg-type]
    assert read_music_prompt("x", seed=1) == read_music_prompt("x", seed=1)


def test_the_music_is_as_long_as_asked_and_has_the_tempo_and_key_asked_for(
    tmp_path: Path,
) -> None:
    model = resolve_music_model(environ={})
    assert isinstance(model, LocalMusicModel) and isinstance(model, MusicModel)
    request = MusicRequest(prompt="moody track at 120 bpm in E minor", duration=40, seed=3)
    assert model.estimate(request) == 0.0
    made = asyncio.run(model.generate(request))
    assert made.media_type == "audio/wav" and made.duration == pytest.approx(40, abs=2.1)
    path = tmp_path / "made.wav"
    path.write_bytes(made.data)
    heard, _ = analyze_file(path, hashlib.sha256(made.data).hexdigest())
    assert heard.tempo == pytest.approx(120, abs=1.5)
    assert (heard.key, heard.mode) == ("E", "minor")
