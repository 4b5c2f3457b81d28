"""The session (a conversation with the studio, stored turn by turn) and the cost ledger."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import Field

from studio.model._base import StudioModel, new_id, utcnow

__all__ = ["Session", "Spend", "SpendState", "ToolUse", "Turn"]


class Session(StudioModel):
    """A conversation about one project; its turns are stored as they happen, so it can be
    resumed from any kernel or dashboard."""

    id: str = Field(default_factory=lambda: new_id("ses"))
    project_id: str
    title: str = Field(default="", max_length=200)
    text_model: str = Field(default="", max_length=120)
    """The text model that plays the orchestrator (``"local"``, ``"gemini"``)."""
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class ToolUse(StudioModel):
    """One tool the orchestrator called in a turn, and what came of it."""

    name: str
    arguments: dict[str, Any] = Field(default_factory=dict)
    status: Literal["done", "failed", "queued"] = "done"
    """``queued`` when the tool started a job that runs on (``result`` names the job)."""
    result: dict[str, Any] = Field(default_factory=dict)
    error: str | None = None


class Turn(StudioModel):
    """One message of a session: the user's words, or the studio's reply with the tools it
    called."""

    id: str = Field(default_factory=lambda: new_id("trn"))
    project_id: str
    session_id: str
    index: int = Field(ge=0)
    role: Literal["user", "assistant"]
    text: str = Field(default="", max_length=20_000)
    tools: list[ToolUse] = Field(default_factory=list)
    suggestions: list[str] = Field(default_factory=list, max_length=8)
    """What the user might say next (the chat widget's chips)."""
    reply_to: str | None = None
    """For ``assistant``: the user's turn this answers (one answer per message, however often
    the answering job runs)."""
    created_at: datetime = Field(default_factory=utcnow)


class SpendState(StrEnum):
    RESERVED = "reserved"
    """Held for a call in flight: counts against the budget until settled or released."""
    SPENT = "spent"


class Spend(StudioModel):
    """A line of a project's ledger: one provider call, what it cost, for which scene."""

    id: str = Field(default_factory=lambda: new_id("spd"))
    project_id: str
    job_id: str | None = None
    scene_id: str | None = None
    stage: str = Field(max_length=40)
    """``image``, ``clip``, ``text``, ``music`` …"""
    provider: str = Field(max_length=120)
    model: str = Field(default="", max_length=200)
    usd: float = Field(ge=0)
    state: SpendState = SpendState.SPENT
    created_at: datetime = Field(default_factory=utcnow)
