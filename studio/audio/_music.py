"""The offline music provider: the demo-song synthesiser, driven by a prompt's words.

"dreamy synth-pop at 96 bpm in D major" sets the tempo, the key and the mode; words of mood
(calm, dreamy, sad / upbeat, dance, energetic) pick a tempo and a mode when none is named; the
length asked for sets how many bars each section gets. It joins the provider registry through
the ``studio.providers`` entry point ``music:local``.
"""

from __future__ import annotations

import asyncio
import io
import random
import re
from collections.abc import Mapping

import soundfile as sf

from studio.audio._synth import synthesize_song
from studio.providers import GeneratedAudio, MusicRequest, ProviderCard

__all__ = ["LocalMusicModel", "music_model", "read_music_prompt"]

_CALM = {"calm", "dreamy", "ambient", "slow", "sad", "lonely", "soft", "ballad", "chill"}
_FAST = {"upbeat", "dance", "energetic", "fast", "party", "club", "house", "techno", "drive"}
_MINOR = {"sad", "dark", "moody", "noir", "night", "lonely", "melancholic", "minor"}
_KEYS = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")


def read_music_prompt(prompt: str, seed: int = 0) -> dict[str, object]:
    """Tempo, key and mode from words: named ones win, mood words decide the rest."""
    text = prompt.lower()
    words = set(re.findall(r"[a-z]+", text))
    rng = random.Random(f"{seed}:{text}")
    bpm = re.search(r"(\d{2,3})\s*bpm", text)
    if bpm:
        tempo = float(min(200, max(60, int(bpm.group(1)))))
    elif words & _CALM:
        tempo = float(rng.choice((76, 84, 92)))
    elif words & _FAST:
        tempo = float(rng.choice((124, 128, 132)))
    else:
        tempo = float(rng.choice((100, 108, 112, 118)))
    named = re.search(r"\b([a-g])(#|sharp)?\s*(major|minor|maj|min)\b", text)
    if named:
        key = named.group(1).upper() + ("#" if named.group(2) else "")
        mode = "minor" if named.group(3).startswith("min") else "major"
    else:
        key = _KEYS[rng.randrange(12)]
        mode = "minor" if words & _MINOR else "major"
    return {"tempo": tempo, "key": key if key in _KEYS else "A", "mode": mode}


def _structure(seconds: float, tempo: float) -> tuple[tuple[str, int], ...]:
    """Sections whose bars add up to about ``seconds``: a short piece is a verse and a chorus,
    a long one the whole form."""
    bars = max(2, round(seconds / (4 * 60 / tempo)))
    if bars < 12:
        half = max(1, bars // 2)
        return (("verse", half), ("chorus", max(1, bars - half)))
    form = [("intro", 2), ("verse", 4), ("chorus", 4), ("bridge", 2), ("chorus", 4), ("outro", 2)]
    scale = bars / sum(n for _, n in form)
    sized = [(name, max(1, round(n * scale))) for name, n in form]
    sized[-1] = (sized[-1][0], max(1, sized[-1][1] + bars - sum(n for _, n in sized)))
    return tuple(sized)


class LocalMusicModel:
    """Music from words, offline: the synthesiser plays a song at the tempo, key and mood asked
    for, about as long as asked (whole bars), as a WAV file."""

    name = "local"
    model = "studio-synth-1"
    card = ProviderCard(role="music", name="local", model="studio-synth-1", max_concurrency=2)

    def estimate(self, request: MusicRequest) -> float:
        del request
        return 0.0

    def render(self, request: MusicRequest) -> GeneratedAudio:
        settings = read_music_prompt(request.prompt, request.seed)
        tempo = float(settings["tempo"])  # type: ignore[arg-type]
        audio, truth = synthesize_song(
            tempo=tempo,
            key=str(settings["key"]),
            mode=str(settings["mode"]),
            structure=_structure(request.duration, tempo),
            seed=request.seed,
        )
        out = io.BytesIO()
        sf.write(out, audio, truth.sample_rate, format="WAV", subtype="PCM_16")
        return GeneratedAudio(
            data=out.getvalue(),
            media_type="audio/wav",
            duration=len(audio) / truth.sample_rate,
            sample_rate=truth.sample_rate,
            seed=request.seed,
            provider=self.name,
            model=self.model,
        )

    async def generate(self, request: MusicRequest) -> GeneratedAudio:
        return await asyncio.to_thread(self.render, request)


def music_model(variant: str | None, environ: Mapping[str, str]) -> LocalMusicModel:
    """The registry's factory (entry point ``music:local``)."""
    del variant, environ
    return LocalMusicModel()
