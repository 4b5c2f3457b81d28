"""The studio's domain: pure pydantic models and state machines. Imports no IO library."""

from studio.model._analysis import (
    Analysis,
    AnalysisCorrections,
    Curve,
    KeyMoment,
    Section,
    SectionEdit,
    TempoChange,
)
from studio.model._base import (
    ID_PATTERN,
    Name,
    StudioModel,
    check_id,
    fingerprint,
    new_id,
    normalize_name,
    utcnow,
)
from studio.model._job import Job, JobStatus
from studio.model._lyrics import LyricLine, Lyrics, LyricsSource, LyricWord
from studio.model._project import AudioTrack, Brief, Character, Concept, Mood, Project
from studio.model._render import Aspect, Container, Quality, Render, RenderSettings, RenderStatus
from studio.model._review import Comment, CommentKind, TargetKind
from studio.model._scene import TEXT_FIELDS, CameraMove, Scene, SceneAction, SceneState
from studio.model._take import OwnerKind, Take, TakeKind, TakeStatus
from studio.model._timeline import (
    Effect,
    SubtitleMode,
    SubtitleStyle,
    SubtitleTrack,
    Timeline,
    TimelineClip,
    Transition,
    TransitionKind,
)

__all__ = [
    "ID_PATTERN",
    "TEXT_FIELDS",
    "Analysis",
    "AnalysisCorrections",
    "Aspect",
    "AudioTrack",
    "Brief",
    "CameraMove",
    "Character",
    "Comment",
    "CommentKind",
    "Concept",
    "Container",
    "Curve",
    "Effect",
    "Job",
    "JobStatus",
    "KeyMoment",
    "LyricLine",
    "LyricWord",
    "Lyrics",
    "LyricsSource",
    "Mood",
    "Name",
    "OwnerKind",
    "Project",
    "Quality",
    "Render",
    "RenderSettings",
    "RenderStatus",
    "Scene",
    "SceneAction",
    "SceneState",
    "Section",
    "SectionEdit",
    "StudioModel",
    "SubtitleMode",
    "SubtitleStyle",
    "SubtitleTrack",
    "Take",
    "TakeKind",
    "TakeStatus",
    "TargetKind",
    "TempoChange",
    "Timeline",
    "TimelineClip",
    "Transition",
    "TransitionKind",
    "check_id",
    "fingerprint",
    "new_id",
    "normalize_name",
    "utcnow",
]
