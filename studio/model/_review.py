"""What stakeholders say: comments, approvals and requests for changes."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import Field

from studio.model._base import Name, StudioModel, new_id, utcnow

__all__ = ["Comment", "CommentKind", "TargetKind"]


class CommentKind(StrEnum):
    COMMENT = "comment"
    APPROVAL = "approval"
    CHANGES_REQUESTED = "changes_requested"


class TargetKind(StrEnum):
    PROJECT = "project"
    SCENE = "scene"
    TAKE = "take"
    RENDER = "render"


class Comment(StudioModel):
    id: str = Field(default_factory=lambda: new_id("cmt"))
    project_id: str
    target_kind: TargetKind = TargetKind.PROJECT
    target_id: str
    author: Name
    kind: CommentKind = CommentKind.COMMENT
    body: str = Field(default="", max_length=10_000)
    created_at: datetime = Field(default_factory=utcnow)
