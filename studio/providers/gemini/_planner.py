"""Gemini as the studio's planner: concepts, mood boards and each scene's content, written by
the text model from the brief, the song's map and the lyrics (the counterpart of the offline
``LocalPlanner``).

Every call is one structured answer (``GeminiTextModel.structured``). What comes back is checked
before anyone sees it: a mood's colours are tidied into ``#rrggbb``, and the scenes must answer
the shots one for one: numbered the way the shots are, or at least one per shot in order (then
they are renumbered); anything else is refused rather than guessed.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, Field

from studio.errors import InvalidInput, ProviderError
from studio.model import Analysis, Brief, CameraMove
from studio.providers._protocols import (
    ConceptDraft,
    MoodDraft,
    ProviderCard,
    SceneDraft,
    Shot,
    ShotPlan,
)
from studio.providers.gemini._errors import unusable
from studio.providers.gemini._text import GeminiTextModel

__all__ = ["SHOTS_PER_CALL", "GeminiPlanner"]

SHOTS_PER_CALL = 24
"""Scenes are written this many shots at a time, so a long video's answer is never cut off at
the model's output limit."""

_SYSTEM = """\
You are the creative lead of a music-video studio. You write ideas that can be filmed: what the
camera sees and how it moves, not what it means. Follow the song: calm sections get calm
images, the chorus the strongest ones, the key moments (build, climax, drop) the biggest turns.
Every image prompt stands on its own, because the image model reads nothing else: name the
subject, the setting, the framing, the light and the colours. Never ask for written words,
letters, captions, logos or watermarks in a picture. Answer in the JSON schema you are given."""

_CAMERAS = ", ".join(move.value for move in CameraMove)
_HEX_RE = re.compile(r"#?([0-9a-fA-F]{6}|[0-9a-fA-F]{3})")


class _Concepts(BaseModel):
    concepts: list[ConceptDraft] = Field(description="the ideas, each different from the others")


class _Mood(BaseModel):
    name: str = Field(description="a short name for the mood, two or three words")
    palette: list[str] = Field(description="five colours as '#rrggbb', the strongest first")
    keywords: list[str] = Field(description="four to eight words for light, texture and lens")
    description: str = Field(default="", description="one or two sentences")


class _Moods(BaseModel):
    moods: list[_Mood]


class _Scene(BaseModel):
    index: int = Field(description="the index of the shot this scene is for, as given")
    visual_intent: str = Field(
        description="what we see and why it fits this moment of the song, one or two sentences"
    )
    prompt: str = Field(
        description="a self-contained prompt for the scene's opening picture, 40 to 80 words"
    )
    negative_prompt: str = Field(default="", description="what the picture must not show")
    camera: CameraMove = Field(default=CameraMove.STATIC, description="how the camera moves")
    shot: Shot = Field(default="medium", description="how far the camera stands")


class _Scenes(BaseModel):
    scenes: list[_Scene] = Field(description="one scene per shot, in the shots' order")


def _clock(seconds: float) -> str:
    minutes, rest = divmod(max(0.0, seconds), 60)
    return f"{int(minutes)}:{rest:04.1f}"


def _clip(text: str, limit: int) -> str:
    text = text.strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _brief_text(brief: Brief) -> str:
    lines = [f"The brief, in the client's words: {brief.text.strip() or '(none given)'}"]
    if brief.style.strip():
        lines.append(f"Style: {brief.style.strip()}")
    if brief.audience.strip():
        lines.append(f"Audience: {brief.audience.strip()}")
    if brief.references:
        lines.append("References: " + "; ".join(r.strip() for r in brief.references if r.strip()))
    return "\n".join(lines)


def _song_text(song: Analysis) -> str:
    """The song's map as a prompt reads it: length, tempo, key, sections, key moments."""
    info: dict[str, Any] = song.brief()
    key = f"in {info['key']} {info.get('mode') or ''}".rstrip() if info.get("key") else ""
    lines = [
        f"The song: {_clock(info['duration'])} long, {info['tempo']:.0f} BPM, "
        f"{info['meter']} beats to the bar{', ' + key if key else ''}."
    ]
    if info.get("sections"):
        lines.append("Sections:")
        lines += [
            f"- {_clock(s['start'])}-{_clock(s['end'])} {s['label']}" for s in info["sections"]
        ]
    if info.get("key_moments"):
        lines.append("Key moments:")
        lines += [
            f"- {_clock(m['time'])} {m['kind']}"
            + (f": {m['description']}" if m["description"] else "")
            for m in info["key_moments"]
        ]
    return "\n".join(lines)


def _concept_text(concept: ConceptDraft) -> str:
    return f"The concept: {concept.title} - {concept.logline}\n{concept.description}".strip()


def _mood_text(mood: MoodDraft) -> str:
    text = f"The mood: {mood.name}; colours {', '.join(mood.palette)} (strongest first)"
    if mood.keywords:
        text += f"; {', '.join(mood.keywords)}"
    return text + (f". {mood.description}" if mood.description else ".")


def _shot_line(shot: ShotPlan) -> str:
    line = (
        f"- index {shot.index}: {_clock(shot.start)}-{_clock(shot.end)} "
        f"({shot.end - shot.start:.1f} s), {shot.section}, energy {shot.energy:.2f}"
    )
    if shot.moment:
        line += f", starts on the {shot.moment}"
    if shot.lyric.strip():
        line += f', sung: "{_clip(" ".join(shot.lyric.split()), 300)}"'
    return line


def _colour(value: str) -> str | None:
    match = _HEX_RE.fullmatch(value.strip())
    if match is None:
        return None
    digits = match.group(1).lower()
    return "#" + (digits if len(digits) == 6 else "".join(c * 2 for c in digits))


class GeminiPlanner:
    """Writes concepts, moods and scenes with a Gemini text model (``Planner``)."""

    name: str = "gemini"

    def __init__(self, text: GeminiTextModel) -> None:
        self.text = text
        self.model = text.model
        self.card: ProviderCard = text.card

    def __repr__(self) -> str:
        return f"GeminiPlanner({self.text!r})"

    def estimate(self, shots: int = 0) -> float:
        """What a call would cost, in US dollars: concepts or moods (``shots=0``), or the
        scenes of ``shots`` shots."""
        if shots <= 0:
            return self.text.estimate("x" * 8_000, output_tokens=2_500)
        calls = -(-shots // SHOTS_PER_CALL)
        return round(
            sum(
                self.text.estimate("x" * (6_000 + 600 * n), output_tokens=400 * n)
                for n in [SHOTS_PER_CALL] * (calls - 1) + [shots - SHOTS_PER_CALL * (calls - 1)]
            ),
            6,
        )

    def _unusable(self, why: str) -> ProviderError:
        return unusable(self.model, why, hint=self.text.hints.unusable)

    async def concepts(
        self, brief: Brief, song: Analysis, *, n: int = 3, seed: int = 0
    ) -> list[ConceptDraft]:
        """``n`` different ideas for a video of ``song`` that answers ``brief`` (fewer when the
        model wrote fewer; none is a ``ProviderError``)."""
        n = max(1, min(int(n), 12))
        prompt = "\n\n".join(
            [
                f"Write {n} different concepts for a music video of this song that answer the "
                "brief. Each has a title (a few words), a logline (one sentence) and a "
                "description (one paragraph: the world, the people in it, and how the film "
                "follows the song's sections and turns at its key moments). Make them differ "
                "in setting, story and visual approach.",
                _brief_text(brief),
                _song_text(song),
            ]
        )
        answer = await self.text.structured(prompt, _Concepts, system=_SYSTEM, seed=seed)
        if not answer.concepts:
            raise self._unusable("there are no concepts in the answer")
        return answer.concepts[:n]

    async def moods(
        self, brief: Brief, concept: ConceptDraft, *, n: int = 4, seed: int = 0
    ) -> list[MoodDraft]:
        """``n`` mood boards to choose from, each with its colours as ``#rrggbb``."""
        n = max(1, min(int(n), 12))
        prompt = "\n\n".join(
            [
                f"Propose {n} different mood boards for this music video. Each has a name, a "
                "palette of five colours written as '#rrggbb' with the strongest first, four to "
                "eight keywords (light, texture, lens, colour) and a one-sentence description.",
                _brief_text(brief),
                _concept_text(concept),
            ]
        )
        answer = await self.text.structured(prompt, _Moods, system=_SYSTEM, seed=seed)
        drafts: list[MoodDraft] = []
        for number, mood in enumerate(answer.moods[:n]):
            palette = list(dict.fromkeys(c for c in map(_colour, mood.palette) if c))[:12]
            if not palette:
                raise self._unusable(
                    f"moods.{number}.palette has no colour written as '#rrggbb' "
                    f"({', '.join(mood.palette[:3])[:80]!r})"
                )
            keywords = [_clip(k, 80) for k in mood.keywords if k.strip()][:40]
            if not mood.name.strip():
                raise self._unusable(f"moods.{number} has no name")
            drafts.append(
                MoodDraft(
                    name=_clip(mood.name, 120),
                    palette=palette,
                    keywords=keywords,
                    description=_clip(mood.description, 5000),
                )
            )
        if not drafts:
            raise self._unusable("there are no moods in the answer")
        return drafts

    async def scenes(
        self,
        brief: Brief,
        concept: ConceptDraft,
        mood: MoodDraft,
        shots: list[ShotPlan],
        *,
        seed: int = 0,
    ) -> list[SceneDraft]:
        """One draft per shot, in the shots' order, each carrying its shot's index."""
        indices = [shot.index for shot in shots]
        if len(set(indices)) != len(indices):
            raise InvalidInput(
                "two shots have the same index", hint="number the shots once each, in order"
            )
        drafts: list[SceneDraft] = []
        for first in range(0, len(shots), SHOTS_PER_CALL):
            batch = shots[first : first + SHOTS_PER_CALL]
            drafts += await self._scene_batch(
                brief, concept, mood, batch, total=len(shots), first=first, seed=seed
            )
        return drafts

    async def _scene_batch(
        self,
        brief: Brief,
        concept: ConceptDraft,
        mood: MoodDraft,
        shots: list[ShotPlan],
        *,
        total: int,
        first: int,
        seed: int,
    ) -> list[SceneDraft]:
        part = (
            f" (shots {first + 1} to {first + len(shots)} of the video's {total})"
            if len(shots) < total
            else ""
        )
        prompt = "\n\n".join(
            [
                f"Write one scene for each of the {len(shots)} shots below{part}, in the same "
                "order, each with its shot's index. For each: the visual intent; the prompt for "
                "the scene's opening picture; a negative prompt; the camera move (one of "
                f"{_CAMERAS}); and the shot size (wide, medium or close). Let the song's shape "
                "lead, and when a shot has sung words, let them shape what it shows without "
                "writing them in the picture. Keep the people and the world the same from "
                "shot to shot.",
                _brief_text(brief),
                _concept_text(concept),
                _mood_text(mood),
                "The shots:\n" + "\n".join(_shot_line(shot) for shot in shots),
            ]
        )
        answer = await self.text.structured(prompt, _Scenes, system=_SYSTEM, seed=seed)
        return [self._draft(scene, shot) for scene, shot in self._match(answer.scenes, shots)]

    def _match(self, scenes: list[_Scene], shots: list[ShotPlan]) -> list[tuple[_Scene, ShotPlan]]:
        """Pair each shot with its scene: by index when the answer numbers them as the shots
        are, else by position when there is exactly one per shot; otherwise refuse."""
        wanted = [shot.index for shot in shots]
        given = [scene.index for scene in scenes]
        if sorted(given) == sorted(wanted):
            by_index = {scene.index: scene for scene in scenes}
            return [(by_index[shot.index], shot) for shot in shots]
        if len(scenes) == len(shots):  # numbered some other way (from 1, say): one per shot
            return list(zip(scenes, shots, strict=True))
        missing = sorted(set(wanted) - set(given))
        shown = ", ".join(map(str, missing[:8])) + (" …" if len(missing) > 8 else "")
        raise self._unusable(
            f"{len(scenes)} scenes for {len(shots)} shots"
            + (f"; none for the shots with index {shown}" if missing else "")
        )

    def _draft(self, scene: _Scene, shot: ShotPlan) -> SceneDraft:
        if not scene.prompt.strip():
            raise self._unusable(f"the scene for shot {shot.index} has an empty prompt")
        return SceneDraft(
            index=shot.index,
            visual_intent=_clip(scene.visual_intent, 5000),
            prompt=_clip(scene.prompt, 5000),
            negative_prompt=_clip(scene.negative_prompt, 2000),
            camera=scene.camera,
            shot=scene.shot,
        )
