"""The offline text model: reads what the user asks in plain words and calls the studio's tools,
then sums up what the tools did. No key, no network; the session works the same way as with
Gemini, only with rules instead of a language model.

It understands the requests a creative team makes of the studio ("a night drive through the
neon city", "four moods", "make the chorus scenes at night", "shorter shots in the bridge",
"regenerate scene 4 with a red car", "how much will it cost?"); what it cannot place it answers
with what it can do.
"""

from __future__ import annotations

import json
import re
from typing import Any, TypeVar

from pydantic import BaseModel

from studio.errors import ProviderError
from studio.providers._protocols import ChatMessage, ChatReply, ProviderCard, ToolCall, ToolSpec

__all__ = ["HELP", "LocalTextModel", "read_intent"]

T = TypeVar("T", bound=BaseModel)

HELP = (
    "Tell me about the video you want (one line is enough), then ask for concepts, moods, a "
    'character, the storyboard, images and clips — or say "make the whole video". You can '
    'revise as you go: "make the chorus scenes at night", "shorter shots in the bridge", '
    '"regenerate scene 4 with a red car", "how much will it cost?".'
)

_NUMBERS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8}
_SECTIONS = r"(intro|verse|chorus|bridge|drop|outro|pre-?chorus|break)s?"
_NUMBER = r"(\d+|one|two|three|four|five|six|seven|eight)"


def _count(text: str, noun: str, default: int) -> int:
    found = re.search(_NUMBER + r"\s+(?:\w+\s+)?" + noun, text)
    if not found:
        return default
    word = found.group(1)
    return int(word) if word.isdigit() else _NUMBERS[word]


def _scene_numbers(text: str) -> list[int]:
    found = re.search(r"scenes?\s+((?:\d+\s*(?:,|and|&|-|to)?\s*)+)", text)
    if not found:
        return []
    numbers: list[int] = []
    for a, b in re.findall(r"(\d+)(?:\s*(?:-|to)\s*(\d+))?", found.group(1)):
        numbers += list(range(int(a), int(b) + 1)) if b else [int(a)]
    return numbers


def _render_options(t: str) -> dict[str, Any]:
    """``render a 30 s vertical teaser`` -> preset, teaser length and aspect."""
    options: dict[str, Any] = {"preset": "final"}
    for word, preset in (("preview", "preview"), ("draft", "preview"), ("4k", "4k"),
                         ("720", "hd"), ("hd", "hd")):  # fmt: skip
        if re.search(rf"\b{word}\b", t):
            options["preset"] = preset
            break
    if "teaser" in t:
        seconds = re.search(r"\b(15|30|60)\s*(?:s|sec|seconds?)?\b", t)
        options["teaser"] = int(seconds.group(1)) if seconds else 30
    for pattern, aspect in ((r"9:16|vertical|portrait|stories|reels?", "9:16"),
                            (r"1:1|square", "1:1"), (r"4:5|feed", "4:5")):  # fmt: skip
        if re.search(rf"\b(?:{pattern})\b", t):
            options["aspect"] = aspect
            break
    return options


def read_intent(text: str) -> list[ToolCall]:
    """The tool calls a request asks for, in the order to run them (empty: not understood)."""
    t = " ".join(text.lower().split())
    if not t:
        return []
    call = ToolCall
    brief = re.match(r"^(?:the\s+)?brief\s*[:\-]\s*(.+)$", text.strip(), re.I | re.S)
    if brief:
        return [call(name="write_brief", arguments={"text": brief.group(1).strip()})]
    if re.search(r"\b(render|teaser)\b", t):
        return [call(name="render", arguments=_render_options(t))]
    if re.search(r"\b(whole|entire|full) (music )?video\b|\bdo (it )?all\b|\beverything\b", t):
        return [call(name="make_everything")]
    scenes = _scene_numbers(t)
    if re.search(r"\b(regenerate|redo|remake|re-?roll|another take of)\b", t) and scenes:
        extra = re.search(r"\bwith (.+)$", t)
        args: dict[str, Any] = {"scenes": scenes, "regenerate": True}
        if extra:
            args["add"] = extra.group(1).strip(" .!")
        return [call(name="revise_scenes", arguments=args)]
    retime = re.search(r"\b(shorter|longer|faster|slower|quicker)\b.*?\b" + _SECTIONS, t)
    if retime and re.search(r"\b(shots?|cuts?|scenes?)\b", t):
        shorter = retime.group(1) in ("shorter", "faster", "quicker")
        section = retime.group(2).replace("-", "")
        return [call(name="retime", arguments={"section": section, "shorter": shorter})]
    revise = re.search(
        r"\b(?:make|set|turn|put|change)\s+(?:all\s+)?(?:the\s+)?"
        + _SECTIONS
        + r"(?:\s+scenes?)?\s+(.+)$",
        t,
    )
    if revise:
        return [
            call(
                name="revise_scenes",
                arguments={
                    "section": revise.group(1).replace("-", ""),
                    "add": revise.group(2).strip(" .!"),
                },
            )
        ]
    if scenes and re.search(r"\b(make|change|set|give|add)\b", t):
        extra = re.search(r"\bscenes?\s+[\d,\s&andto-]+\s+(?:with\s+|to\s+|into\s+)?(.+)$", t)
        if extra:
            return [
                call(
                    name="revise_scenes",
                    arguments={"scenes": scenes, "add": extra.group(1).strip(" .!")},
                )
            ]
    choose = re.search(r"\b(use|pick|choose|go with|select)\b.*?\b(concept|mood)\b\s*(.*)$", t)
    if choose:
        which = choose.group(3).strip(" .!\"'") or "1"
        number = re.search(r"\d+", which)
        return [
            call(
                name="choose",
                arguments={"kind": choose.group(2), "which": number.group(0) if number else which},
            )
        ]
    budget = re.search(r"\bbudget\b.*?\$?\s*(\d+(?:\.\d+)?)", t)
    if budget and re.search(r"\b(set|cap|limit|of|to)\b", t):
        return [call(name="set_budget", arguments={"usd": float(budget.group(1))})]
    if re.search(r"\b(cost|estimate|how much|dry run|price|budget)\b", t):
        return [call(name="estimate_cost")]
    if re.search(r"\b(status|where are we|where do we stand|progress|summary)\b", t):
        return [call(name="status")]
    if re.search(r"\bapprove\b", t):
        stage = (
            "clips"
            if re.search(r"\b(clips?|videos?|motion)\b", t)
            else ("text" if re.search(r"\b(text|prompts?|scripts?)\b", t) else "images")
        )
        args = {"stage": stage} | ({"scenes": scenes} if scenes else {})
        return [call(name="approve", arguments=args)]
    if re.search(r"\b(concepts?|ideas?)\b", t):
        return [
            call(name="propose_concepts", arguments={"n": _count(t, r"(?:concepts?|ideas?)", 3)})
        ]
    if re.search(r"\bmoods?\b|\bmood ?boards?\b|\blooks?\b", t):
        return [call(name="make_moods", arguments={"n": _count(t, r"moods?", 4)})]
    character = re.search(
        r"\b(character|product|protagonist|hero|lead)\b\s*(?:is|:|of|-)?\s*(.*)$", t
    )
    if character:
        description = character.group(2).strip(" .!") or "the singer"
        return [call(name="make_characters", arguments={"description": description})]
    if re.search(r"\b(storyboard|shot ?list)\b", t):
        return [call(name="build_storyboard")]
    if re.search(r"\b(clips?|animate|motion|moving)\b", t):
        return [
            call(
                name="generate",
                arguments={"stage": "clips"} | ({"scenes": scenes} if scenes else {}),
            )
        ]
    if re.search(r"\b(images?|pictures?|frames?|paint|stills?)\b", t):
        return [
            call(
                name="generate",
                arguments={"stage": "images"} | ({"scenes": scenes} if scenes else {}),
            )
        ]
    if re.search(r"\b(scenes|plan the)\b", t):
        return [call(name="build_storyboard")]
    if len(t.split()) >= 3 and not t.endswith("?"):
        return [call(name="write_brief", arguments={"text": text.strip()})]
    return []


class LocalTextModel:
    """Rules in place of a language model: requests become tool calls, results a summary."""

    name = "local"
    model = "studio-rules-1"
    card = ProviderCard(role="text", name="local", model="studio-rules-1", max_concurrency=8)

    async def structured(
        self, prompt: str, schema: type[T], *, system: str = "", seed: int | None = None
    ) -> T:
        del prompt, system, seed
        raise ProviderError(
            f"the local text model cannot write a {schema.__name__} from free text",
            hint="the local planner writes concepts, moods and scenes offline; set "
            "GEMINI_API_KEY for a language model",
        )

    async def chat(
        self, messages: list[ChatMessage], tools: list[ToolSpec], *, system: str = ""
    ) -> ChatReply:
        del system
        if not messages:
            return ChatReply(text=HELP, provider=self.name, model=self.model)
        last_user = (
            max(i for i, m in enumerate(messages) if m.role == "user")
            if any(m.role == "user" for m in messages)
            else -1
        )
        results = [m for m in messages[last_user + 1 :] if m.role == "tool"]
        if results:  # the tools ran: say what they did
            lines = [_summary(m) for m in results]
            return ChatReply(
                text="\n".join(x for x in lines if x), provider=self.name, model=self.model
            )
        known = {t.name for t in tools}
        calls = [c for c in read_intent(messages[last_user].text) if c.name in known]
        if not calls:
            return ChatReply(
                text="I'm not sure what to do with that. " + HELP,
                provider=self.name,
                model=self.model,
            )
        numbered = [c.model_copy(update={"id": f"call-{i}"}) for i, c in enumerate(calls)]
        return ChatReply(tool_calls=numbered, provider=self.name, model=self.model)


def _summary(message: ChatMessage) -> str:
    try:
        result = json.loads(message.text)
    except ValueError:
        return message.text
    if isinstance(result, dict):
        if result.get("error"):
            return f"{message.tool_name} failed: {result['error']}"
        return str(result.get("summary") or "")
    return ""
