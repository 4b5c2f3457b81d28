"""What stakeholders say (comments, approvals and requests for changes), and who may say it
(the keys made for editors and reviewers)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import Field, model_validator

from studio.model._base import Name, StudioModel, check_id, new_id, utcnow

__all__ = ["Comment", "CommentKind", "Grant", "Role", "TargetKind"]


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


class Role(StrEnum):
    """What a caller of the engine may do. The owner holds the engine's own token (the user at
    the machine); editors and reviewers hold a key made for them (a dashboard link)."""

    OWNER = "owner"
    """Everything, on every project."""
    EDITOR = "editor"
    """Makes and changes the projects shared with them (generation and spending included)."""
    REVIEWER = "reviewer"
    """Looks at the projects shared with them; approves scenes or asks for changes, with a
    comment. Cannot generate, spend, delete or change prompts."""


class Grant(StudioModel):
    """A key made for one person: their name (it signs their comments), their role and the
    projects shared with them. Only the key's SHA-256 is kept; the key is shown once."""

    id: str = Field(default_factory=lambda: new_id("grt"))
    name: Name
    role: Role
    projects: list[str] = Field(default_factory=list, max_length=1000)
    all_projects: bool = False
    key_sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    created_at: datetime = Field(default_factory=utcnow)
    revoked_at: datetime | None = None

    @model_validator(mode="after")
    def _shared_with_something(self) -> Grant:
        if self.role is Role.OWNER:
            raise ValueError(
                "the owner's token is the engine's own; a key is for an editor or a reviewer"
            )
        if not self.projects and not self.all_projects:
            raise ValueError("share at least one project (or all of them)")
        for pid in self.projects:
            check_id(pid, "project id")
        return self
