"""The creative agents: the storyboard's timing on the song's clock, the prompt factory, and
the session that calls them as tools."""

from studio.agents._prompts import NEGATIVE, clip_length, clip_request, image_request
from studio.agents._session import MAX_ROUNDS, SYSTEM, TOOLS, Reply, converse, history
from studio.agents._timing import ClipLimits, plan_shots

__all__ = [
    "MAX_ROUNDS",
    "NEGATIVE",
    "SYSTEM",
    "TOOLS",
    "ClipLimits",
    "Reply",
    "clip_length",
    "clip_request",
    "converse",
    "history",
    "image_request",
    "plan_shots",
]
