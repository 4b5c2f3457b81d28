"""Jobs: rows in the store, run by one runner in the engine. Handlers do the work; the runner
owns status, retries, progress, cancellation and resume."""

from studio.jobs._audio import (
    UPLOADS,
    AnalyzeHandler,
    PreviewHandler,
    TranscribeHandler,
    sweep_uploads,
    upload_path,
)
from studio.jobs._builtin import ExportHandler, TestcardHandler, builtin_handlers, load_handlers
from studio.jobs._context import JobContext
from studio.jobs._exports import EXPORT_FORMATS, export_timeline, read_export
from studio.jobs._handler import JobHandler
from studio.jobs._render import RenderHandler, RenderParams, rebuild_timeline, timeline_takes
from studio.jobs._runner import JobRunner, backoff
from studio.jobs._session import SessionToolHandler, SessionTurnHandler
from studio.jobs._storyboard import PlanHandler, clip_limits
from studio.jobs._takes import ClipsHandler, ImagesHandler, dry_run

__all__ = [
    "EXPORT_FORMATS",
    "UPLOADS",
    "AnalyzeHandler",
    "ClipsHandler",
    "ExportHandler",
    "ImagesHandler",
    "JobContext",
    "JobHandler",
    "JobRunner",
    "PlanHandler",
    "PreviewHandler",
    "RenderHandler",
    "RenderParams",
    "SessionToolHandler",
    "SessionTurnHandler",
    "TestcardHandler",
    "TranscribeHandler",
    "backoff",
    "builtin_handlers",
    "clip_limits",
    "dry_run",
    "export_timeline",
    "load_handlers",
    "read_export",
    "rebuild_timeline",
    "sweep_uploads",
    "timeline_takes",
    "upload_path",
]
