"""What a kind of job is: a handler class (template method, as papermill's engines are). The
runner owns status, attempts, retries, progress and cancellation; a handler only does its work."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from studio.errors import InvalidInput

if TYPE_CHECKING:
    from studio.jobs._context import JobContext

__all__ = ["JobHandler"]


class JobHandler:
    kind: ClassVar[str]
    concurrency: ClassVar[int] = 1
    """How many jobs of this kind run at once."""
    max_attempts: ClassVar[int] = 3
    """Attempts for retryable errors (rate limits, timeouts) before the job fails."""

    def check(self, params: dict[str, Any]) -> dict[str, Any]:
        """Validate and normalise params when the job is submitted; raise ``InvalidInput``."""
        if params:
            raise InvalidInput(f"{self.kind} takes no parameters, got {sorted(params)}")
        return params

    async def run(self, ctx: JobContext) -> dict[str, Any]:
        """Do the work; return the result (JSON-able). Raise a ``StudioError`` to fail."""
        raise NotImplementedError
