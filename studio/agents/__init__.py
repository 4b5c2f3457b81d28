"""The creative agents: the storyboard's timing on the song's clock (the session and the
agents that call the planner arrive with the rest of the creative pipeline)."""

from studio.agents._timing import ClipLimits, plan_shots

__all__ = ["ClipLimits", "plan_shots"]
