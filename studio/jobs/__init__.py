"""Jobs: rows in the store, run by one runner in the engine. Handlers do the work; the runner
owns status, retries, progress, cancellation and resume."""

from studio.jobs._audio import (
    UPLOADS,
    AnalyzeHandler,
    TranscribeHandler,
    sweep_uploads,
    upload_path,
)
from studio.jobs._builtin import ExportHandler, TestcardHandler, builtin_handlers, load_handlers
from studio.jobs._context import JobContext
from studio.jobs._handler import JobHandler
from studio.jobs._runner import JobRunner, backoff
from studio.jobs._session import SessionTurnHandler
from studio.jobs._storyboard import PlanHandler, clip_limits
from studio.jobs._takes import ClipsHandler, ImagesHandler, dry_run

__all__ = [
    "UPLOADS",
    "AnalyzeHandler",
    "ClipsHandler",
    "ExportHandler",
    "ImagesHandler",
    "JobContext",
    "JobHandler",
    "JobRunner",
    "PlanHandler",
    "SessionTurnHandler",
    "TestcardHandler",
    "TranscribeHandler",
    "backoff",
    "builtin_handlers",
    "clip_limits",
    "dry_run",
    "load_handlers",
    "sweep_uploads",
    "upload_path",
]
