"""The session's orchestrator: a text model reads the conversation and calls the studio's agents
as tools until it has an answer for the user.

The loop is independent of where the tools run (the engine's session job runs them against the
store) and of which model reads (Gemini, or the offline rules of the local text model): the
model sees the tool specs below, asks for calls, gets each result back as JSON, and writes the
reply. A round limit keeps a confused model from calling tools forever.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from studio.errors import StudioError
from studio.model import ToolUse, Turn
from studio.providers import ChatMessage, TextModel, ToolCall, ToolSpec

__all__ = ["MAX_ROUNDS", "SYSTEM", "TOOLS", "Reply", "converse", "history"]

MAX_ROUNDS = 4

SYSTEM = """You are the studio's director's assistant. The user is making a music video for a
song the studio has analysed (tempo, beats, sections, energy, lyrics). Use the tools to do what
they ask: write or revise the brief, propose concepts, make mood boards and characters, build and
rework the storyboard (scenes on the song's beat grid), generate and approve image and clip
takes, render the video, estimate cost. Call tools rather than describing what you would do.
After the tools have run, answer in two or three short sentences: what was made, and what the
user might do next."""


def _spec(tool: str, does: str, **properties: dict[str, Any]) -> ToolSpec:
    return ToolSpec(
        name=tool, description=does, parameters={"type": "object", "properties": properties}
    )


_SCENES = {"type": "array", "items": {"type": "integer"}, "description": "scene numbers, from 1"}
_SECTION = {"type": "string", "description": "a section label: intro, verse, chorus, bridge…"}

TOOLS: list[ToolSpec] = [
    _spec(
        "write_brief",
        "Write or revise the creative brief.",
        text={"type": "string"},
        style={"type": "string"},
    ),
    _spec("propose_concepts", "Propose concepts (ideas) for the video.", n={"type": "integer"}),
    _spec(
        "choose",
        "Choose a concept or a mood by number or name.",
        kind={"type": "string", "enum": ["concept", "mood"]},
        which={"type": "string"},
    ),
    _spec(
        "make_moods",
        "Make mood boards (palette, keywords, images) to pick from.",
        n={"type": "integer"},
    ),
    _spec(
        "make_characters",
        "Make a character or product with reference images; every later "
        "image of it stays consistent.",
        description={"type": "string"},
        name={"type": "string"},
    ),
    _spec(
        "build_storyboard",
        "Lay scenes on the song's beat grid, with prompts and camera "
        "moves, following its sections, key moments and lyrics.",
    ),
    _spec(
        "revise_scenes",
        "Change scenes' prompts: by number or by section; add words, or "
        "regenerate with a new seed.",
        scenes=_SCENES,
        section=_SECTION,
        add={"type": "string"},
        regenerate={"type": "boolean"},
    ),
    _spec(
        "retime",
        "Shorter (split) or longer (merged) shots in a section, on the beat grid.",
        section=_SECTION,
        shorter={"type": "boolean"},
    ),
    _spec(
        "generate",
        "Generate the image or clip takes that are missing or stale.",
        stage={"type": "string", "enum": ["images", "clips"]},
        scenes=_SCENES,
    ),
    _spec(
        "approve",
        "Approve scenes' text, images or clips.",
        stage={"type": "string", "enum": ["text", "images", "clips"]},
        scenes=_SCENES,
    ),
    _spec(
        "estimate_cost",
        "Dry run: what the remaining generation would cost, per stage and "
        "provider, against the budget.",
    ),
    _spec(
        "render",
        "Render the timeline (the approved takes on the song's clock) to a video: preset "
        "'preview' (fast, small), 'hd' (720p), 'final' (1080p) or '4k'; optionally a teaser "
        "of 15, 30 or 60 seconds around the peak, or another aspect.",
        preset={"type": "string", "enum": ["preview", "hd", "final", "4k"]},
        teaser={"type": "integer", "enum": [15, 30, 60]},
        aspect={"type": "string", "enum": ["16:9", "9:16", "1:1", "4:5"]},
    ),
    _spec("set_budget", "Set the project's budget cap in US dollars.", usd={"type": "number"}),
    _spec("status", "Where the project stands: song, concept, mood, scenes by state, spend."),
    _spec(
        "make_everything",
        "From the brief to clip takes for every scene: concepts, moods, "
        "storyboard, images (approved) and clips, skipping what exists.",
    ),
]

RunTool = Callable[[ToolCall], Awaitable[dict[str, Any]]]


@dataclass
class Reply:
    """What a turn produced: the words for the user, the tools run, suggestions, the cost."""

    text: str
    tools: list[ToolUse] = field(default_factory=list)
    cost_usd: float = 0.0


def history(turns: list[Turn]) -> list[ChatMessage]:
    """A stored conversation as the text model sees it: tool calls and their results included."""
    messages: list[ChatMessage] = []
    for turn in turns:
        if turn.role == "user":
            messages.append(ChatMessage(role="user", text=turn.text))
            continue
        if turn.tools:
            calls = [
                ToolCall(name=u.name, arguments=u.arguments, id=f"{turn.id}-{i}")
                for i, u in enumerate(turn.tools)
            ]
            messages.append(ChatMessage(role="assistant", tool_calls=calls))
            messages += [
                ChatMessage(
                    role="tool",
                    tool_name=u.name,
                    tool_call_id=c.id,
                    text=json.dumps(u.result if u.error is None else {"error": u.error}),
                )
                for u, c in zip(turn.tools, calls, strict=True)
            ]
        if turn.text:
            messages.append(ChatMessage(role="assistant", text=turn.text))
    return messages


async def converse(
    model: TextModel,
    messages: list[ChatMessage],
    run_tool: RunTool,
    *,
    tools: list[ToolSpec] | None = None,
    max_rounds: int = MAX_ROUNDS,
) -> Reply:
    """Let ``model`` answer the last message of ``messages``, running the tools it calls
    through ``run_tool`` (a failed tool is reported back to the model, not raised)."""
    specs = TOOLS if tools is None else tools
    convo = list(messages)
    used: list[ToolUse] = []
    cost = 0.0
    for _ in range(max_rounds):
        reply = await model.chat(convo, specs, system=SYSTEM)
        cost += reply.cost_usd
        if not reply.tool_calls:
            return Reply(reply.text.strip(), used, cost)
        convo.append(ChatMessage(role="assistant", text=reply.text, tool_calls=reply.tool_calls))
        for call in reply.tool_calls:
            try:
                result = await run_tool(call)
                use = ToolUse(
                    name=call.name, arguments=call.arguments, result=result, status="done"
                )
            except StudioError as exc:
                use = ToolUse(
                    name=call.name, arguments=call.arguments, status="failed", error=str(exc)
                )
            used.append(use)
            payload = use.result if use.error is None else {"error": use.error}
            convo.append(
                ChatMessage(
                    role="tool",
                    tool_name=call.name,
                    tool_call_id=call.id,
                    text=json.dumps(payload, default=str),
                )
            )
    summary = "; ".join(str(u.result.get("summary", u.name)) for u in used if u.error is None)
    return Reply(summary or "I stopped after too many steps; ask again more simply.", used, cost)
