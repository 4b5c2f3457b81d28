"""The offline planner: concepts, mood boards and each scene's content, written by rules from
the brief, the song's map and the lyrics. Deterministic for a seed, varied across seeds.

It reads the brief for a setting (city, road, sea, mountains, desert, forest), a time of day
and a subject; the song for its form (a calm intro gets a calm wide shot, the chorus the
strongest images, the bridge a close, quiet one, the climax the biggest image of the video);
each shot's lyric for the things it names. The prompts use the words the offline painter
understands, so a storyboard of its pictures reads as a storyboard.
"""

from __future__ import annotations

import random
import re

from studio.model import Analysis, Brief, CameraMove
from studio.providers._protocols import ConceptDraft, MoodDraft, SceneDraft, Shot, ShotPlan
from studio.providers.local._painter import PAINTED

__all__ = ["LocalPlanner"]

_SETTINGS = {
    "city": ("city", "the city streets", "a skyline of lit towers"),
    "road": ("road", "an empty highway", "the road to the horizon"),
    "sea": ("sea", "the sea", "a long beach under the sky"),
    "mountains": ("mountains", "the mountains", "ridges fading into haze"),
    "desert": ("desert", "the open desert", "dunes under a wide sky"),
    "trees": ("trees", "a dark forest", "pines along a ridge"),
}
_SETTING_WORDS = {
    "city": {"city", "urban", "street", "streets", "neon", "downtown", "skyline", "club"},
    "road": {"road", "drive", "driving", "highway", "car", "journey", "trip", "ride"},
    "sea": {"sea", "ocean", "beach", "surf", "waves", "coast", "island", "summer"},
    "mountains": {"mountain", "mountains", "hills", "alps", "climb", "valley"},
    "desert": {"desert", "dust", "sand", "western", "heat"},
    "trees": {"forest", "woods", "trees", "nature", "wild"},
}
_TIMES = {
    "night": {"night", "neon", "midnight", "dark", "club", "stars"},
    "dusk": {"dusk", "sunset", "evening", "golden", "twilight"},
    "dawn": {"dawn", "sunrise", "morning"},
}
_SUBJECTS = ("singer", "dancer", "woman", "man", "girl", "boy", "couple", "band", "crowd")
_STOP = {
    "the", "and", "with", "from", "into", "onto", "that", "this", "there", "their", "your",
    "every", "until", "hold", "tonight", "where", "when", "what", "will", "just", "like",
    "down", "over", "under", "through", "again", "never", "always", "have", "been",
}  # fmt: skip

# Mood boards to choose from: name, palette, keywords, and brief words that call for them.
_MOODS: list[tuple[str, list[str], list[str], set[str]]] = [
    ("Neon Noir", ["#ff2e88", "#00e5ff", "#7b2ff7", "#120b2e", "#0a0a12"],
     ["neon", "wet reflections", "night", "rain", "high contrast", "glow"],
     {"neon", "night", "rain", "city", "club", "noir"}),
    ("Golden Hour", ["#ffb347", "#ff7e5f", "#feb47b", "#6a3d2b", "#2b1d14"],
     ["golden light", "warm", "sunset", "lens flare", "nostalgia", "dust"],
     {"summer", "warm", "sunset", "golden", "nostalgia", "love", "road"}),
    ("Ice Blue", ["#a8dadc", "#457b9d", "#1d3557", "#f1faee", "#0b132b"],
     ["cold", "crisp", "blue hour", "frost", "clean lines", "stillness"],
     {"cold", "winter", "ice", "blue", "calm", "lonely", "sad"}),
    ("Desert Heat", ["#e76f51", "#f4a261", "#e9c46a", "#264653", "#3d1f0f"],
     ["heat haze", "dust", "sun-bleached", "wide open", "ochre", "long shadows"],
     {"desert", "heat", "western", "dust", "sand", "road"}),
    ("Vaporwave", ["#ff71ce", "#01cdfe", "#05ffa1", "#b967ff", "#fffb96"],
     ["pastel", "retro", "dreamy", "grid", "chrome", "eighties"],
     {"retro", "dream", "eighties", "synth", "pastel", "fun"}),
    ("Forest Dawn", ["#2d6a4f", "#95d5b2", "#d8f3dc", "#1b4332", "#fefae0"],
     ["mist", "green", "morning light", "soft", "organic", "quiet"],
     {"forest", "nature", "morning", "dawn", "calm", "green"}),
    ("Monochrome", ["#f8f9fa", "#adb5bd", "#495057", "#212529", "#000000"],
     ["black and white", "grain", "stark", "silhouettes", "timeless", "shadow"],
     {"black", "white", "classic", "serious", "dark", "timeless"}),
    ("Ocean Drift", ["#0077b6", "#00b4d8", "#90e0ef", "#caf0f8", "#03045e"],
     ["water", "drifting", "light on waves", "open horizon", "breeze", "salt"],
     {"sea", "ocean", "beach", "water", "summer", "freedom"}),
]  # fmt: skip

# Concept archetypes: title pattern, logline pattern, brief words that call for them.
_CONCEPTS = [
    ("{Place} Run", "A journey through {place} that speeds up as the song does, from the first "
     "light of the intro to the {climax} at {climax_at}.", {"drive", "road", "journey", "run"}),
    ("Letters to {Place}", "Memories of {place} replayed, each verse a different night, each "
     "chorus the one night that mattered.", {"memory", "love", "nostalgia", "past", "remember"}),
    ("{Place} Symphony", "{place} as an instrument: every cut lands on the beat, lights switch on "
     "with the downbeats, and the whole skyline answers the {climax}.",
     {"city", "urban", "neon", "rhythm", "dance"}),
    ("The {Subject} and the Tide", "A {subject} alone against {place}; the verses hold back, the "
     "choruses break open, the bridge is the moment of doubt.",
     {"alone", "lonely", "sea", "ocean", "sad", "hope"}),
    ("Stage of {Place}", "A performance film: the {subject} plays {place} as if it were a stage, "
     "and {place} plays back.", {"band", "live", "performance", "stage", "singer"}),
    ("Dream of {Place}", "A dream in which {place} changes with every section, colours shifting "
     "with the song's key moments until the {climax} wakes it.",
     {"dream", "surreal", "abstract", "strange", "night"}),
]  # fmt: skip

_SECTION_STYLE: dict[str, tuple[Shot, list[CameraMove], str]] = {
    "intro": ("wide", [CameraMove.ZOOM_IN, CameraMove.PAN_RIGHT], "still and quiet, waiting"),
    "verse": ("medium", [CameraMove.PAN_LEFT, CameraMove.PAN_RIGHT, CameraMove.ZOOM_IN],
              "moving forward, telling the story"),
    "chorus": ("close", [CameraMove.PUSH_IN, CameraMove.ROTATE, CameraMove.ZOOM_OUT],
               "bright and bold, everything at once"),
    "bridge": ("close", [CameraMove.STATIC, CameraMove.ZOOM_OUT], "a held breath, intimate"),
    "drop": ("wide", [CameraMove.PUSH_IN, CameraMove.ROTATE], "an explosion of light"),
    "outro": ("wide", [CameraMove.ZOOM_OUT, CameraMove.PAN_UP], "the light fading, letting go"),
}  # fmt: skip
_NEGATIVE = "text, letters, watermark, logo, blurry, deformed hands, extra limbs"


def _words(text: str) -> set[str]:
    return set(re.findall(r"[a-z]+", text.lower()))


def _pick(options: dict[str, set[str]], words: set[str], rng: random.Random) -> str:
    scored = sorted(options, key=lambda k: (-len(options[k] & words), rng.random()))
    return scored[0]


def _things(lyric: str) -> list[str]:
    """The lyric's words worth showing: those the painter can draw first, then long ones."""
    words = [w for w in re.findall(r"[a-z]+", lyric.lower()) if w not in _STOP]
    drawable = [w for w in words if any(w in keys for keys in PAINTED.values())]
    others = [w for w in words if len(w) > 4 and w not in drawable]
    return list(dict.fromkeys(drawable + others))


def _clock(seconds: float) -> str:
    return f"{int(seconds // 60)}:{int(seconds % 60):02d}"


class LocalPlanner:
    """Writes concepts, moods and scenes offline (see the module's notes)."""

    name = "local"

    def _world(self, brief: Brief, rng: random.Random) -> tuple[str, str, str]:
        words = _words(" ".join([brief.text, brief.style, *brief.references]))
        setting = _pick(_SETTING_WORDS, words, rng)
        time = next((t for t, keys in _TIMES.items() if words & keys), None)
        time = time or rng.choice(["night", "dusk", "dawn", "day"])
        subject = next((s for s in _SUBJECTS if s in words), "lone figure")
        return setting, time, subject

    async def concepts(
        self, brief: Brief, song: Analysis, *, n: int = 3, seed: int = 0
    ) -> list[ConceptDraft]:
        rng = random.Random(seed)
        words = _words(brief.text + " " + brief.style)
        setting, time, subject = self._world(brief, rng)
        place = _SETTINGS[setting][1]
        climax = next((m for m in song.key_moments if m.kind == "climax"), None)
        ranked = sorted(_CONCEPTS, key=lambda c: (-len(c[2] & words), rng.random()))
        drafts = []
        for title, logline, _ in ranked[: max(1, min(n, len(_CONCEPTS)))]:
            fields = {
                "place": place,
                "Place": place.replace("the ", "").title(),
                "subject": subject,
                "Subject": subject.title(),
                "climax": "final chorus" if climax else "last section",
                "climax_at": _clock(climax.time) if climax else _clock(song.duration * 0.7),
            }
            sections = ", ".join(s.label for s in song.sections)
            drafts.append(
                ConceptDraft(
                    title=title.format(**fields),
                    logline=logline.format(**fields),
                    description=(
                        f"{logline.format(**fields)} Set in {place} at {time}, "
                        f"{song.tempo:.0f} BPM in {song.key or '?'} {song.mode or ''}; "
                        f"the film follows the song's form ({sections}). "
                        f"Brief: {brief.text.strip() or 'none given'}."
                    ),
                )
            )
        return drafts

    async def moods(
        self, brief: Brief, concept: ConceptDraft, *, n: int = 4, seed: int = 0
    ) -> list[MoodDraft]:
        rng = random.Random(seed)
        words = _words(" ".join([brief.text, brief.style, concept.title, concept.logline]))
        ranked = sorted(_MOODS, key=lambda m: (-len(m[3] & words), rng.random()))
        drafts = []
        for name, palette, keywords, _ in ranked[: max(1, min(n, len(_MOODS)))]:
            colours = palette[:]
            rng.shuffle(colours[1:4])  # the lead colour stays; the others vary with the seed
            drafts.append(
                MoodDraft(
                    name=name,
                    palette=colours,
                    keywords=keywords,
                    description=f"{name}: {', '.join(keywords[:4])}, for {concept.title}.",
                )
            )
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
        world_rng = random.Random(seed)
        setting, time, subject = self._world(brief, world_rng)
        drafts = []
        for shot in shots:
            rng = random.Random(f"{seed}:{shot.index}")
            kind, *places = _SETTINGS[setting]
            style = _SECTION_STYLE.get(shot.section, _SECTION_STYLE["verse"])
            framing, cameras, feeling = style
            place = rng.choice(places)
            keyword = rng.choice(mood.keywords) if mood.keywords else ""
            things = _things(shot.lyric)
            echo = f", with {' and '.join(things[:2])}" if things else ""
            if shot.section in ("intro", "outro"):
                visual = f"{place} at {time}, empty, {feeling}"
            elif shot.section == "bridge":
                visual = f"close on a {subject}, eyes closed, {place} blurred behind, {feeling}"
            elif shot.section in ("chorus", "drop"):
                visual = f"a {subject} under blazing lights, {place} at {time} ablaze, {feeling}"
            else:
                visual = f"a {subject} moving through {place} at {time}, {feeling}"
            if shot.moment == "climax":
                visual += "; the biggest image of the video"
            elif shot.moment == "build":
                visual += "; tension rising towards the chorus"
            intent = visual + echo
            if shot.lyric:
                intent += f" (the words: \u201c{shot.lyric[:200]}\u201d)"
            prompt = (
                f"{framing} shot, {visual}{echo}, {keyword}, {kind}, {mood.name.lower()} mood, "
                f"cinematic music video still"
            )
            drafts.append(
                SceneDraft(
                    index=shot.index,
                    visual_intent=intent,
                    prompt=prompt,
                    negative_prompt=_NEGATIVE,
                    camera=rng.choice(cameras),
                    shot=framing,
                )
            )
        return drafts
