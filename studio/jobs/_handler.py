"""What a kind of job is: a handler class (template method, as papermill's engines are). The
runner owns status, attempts, retries, progress and cancellation; a handler only does its work."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import ValidationError

from studio.errors import InvalidInput
from studio.model import StudioModel

if TYPE_CHECKING:
    from studio.jobs._context import JobContext

__all__ = ["JobHandler", "validated"]


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


def validated(model: type[StudioModel], params: dict[str, Any], kind: str) -> dict[str, Any]:
    """``params`` checked against ``model``; the first problem becomes ``InvalidInput``."""
    try:
        return model.model_validate(params).model_dump()
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "params"
        raise InvalidInput(f"{kind}: {where}: {first['msg']}") from exc
