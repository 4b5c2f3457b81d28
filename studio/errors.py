"""The studio's one error tree.

Every predictable failure is one of these, carrying what a person needs to act: a message that
says what happened, and a ``hint`` that says what to do. Foreign errors (DuckDB, httpx, an AI
SDK, ffmpeg) are translated at the boundary that meets them, with ``raise ... from exc``.

::

    StudioError
    ├── InvalidInput                 bad name, id, payload, file; nothing was changed
    │   ├── NotFound                 unknown id or name
    │   ├── IllegalTransition        a scene or job cannot take that action in its state
    │   ├── Conflict                 already exists, or changed by someone else meanwhile
    │   └── PayloadTooLarge          over a size limit
    ├── StoreError                   the project store cannot be opened or written
    │   └── MigrationError           the store's schema cannot be brought up to date
    ├── EngineUnavailable            the engine cannot be reached or started
    ├── Unauthorized                 missing or wrong engine token or provider API key
    ├── Forbidden                    the caller's role or shared projects do not allow it
    ├── ProviderError                a generation provider failed
    │   ├── RateLimited              retryable, honours ``retry_after``
    │   ├── ProviderTimeout          retryable
    │   ├── ProviderUnavailable      retryable: the service is down or overloaded (5xx)
    │   ├── ContentRejected          a safety refusal, with the provider's reason
    │   └── BudgetExceeded           the project's budget cap would be passed
    ├── RenderError                  ffmpeg failed or its output failed verification
    ├── JobCancelled                 the job was cancelled by a person
    └── JobFailed                    a job the caller waited for ended in failure

The engine sends these over the wire as ``{"error": {"type", "message", "hint", ...}}`` and the
client raises the same class again, so a kernel sees the error the engine saw.
"""

from __future__ import annotations

from typing import Any, ClassVar

__all__ = [
    "BudgetExceeded",
    "Conflict",
    "ContentRejected",
    "EngineUnavailable",
    "Forbidden",
    "IllegalTransition",
    "InvalidInput",
    "JobCancelled",
    "JobFailed",
    "MigrationError",
    "NotFound",
    "PayloadTooLarge",
    "ProviderError",
    "ProviderTimeout",
    "ProviderUnavailable",
    "RateLimited",
    "RenderError",
    "StoreError",
    "StudioError",
    "StudioWarning",
    "Unauthorized",
    "error_from_payload",
]


class StudioWarning(UserWarning):
    """A warning the studio itself raises; tests turn these into errors."""


class StudioError(Exception):
    """Root of every error the studio raises on purpose."""

    status_code: ClassVar[int] = 500
    retryable: ClassVar[bool] = False

    def __init__(self, message: str, *, hint: str | None = None, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.details = details

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message

    def to_payload(self) -> dict[str, Any]:
        """The JSON body the engine sends for this error."""
        return {
            "type": type(self).__name__,
            "message": self.message,
            "hint": self.hint,
            "details": self.details,
        }


class InvalidInput(StudioError):
    """The input cannot be used; nothing was changed."""

    status_code = 422


class NotFound(InvalidInput):
    """No project, scene, take, job or asset has that id or name."""

    status_code = 404


class IllegalTransition(InvalidInput):
    """A scene, take or job cannot take that action in the state it is in."""

    status_code = 409


class Conflict(InvalidInput):
    """The thing exists already, or was changed by someone else in the meantime."""

    status_code = 409


class PayloadTooLarge(InvalidInput):
    """A request body, upload or archive is over its size limit."""

    status_code = 413


class StoreError(StudioError):
    """The project store cannot be opened or written."""

    status_code = 500


class MigrationError(StoreError):
    """The store's schema cannot be brought up to date."""


class EngineUnavailable(StudioError):
    """The engine cannot be reached or started."""

    status_code = 503


class Unauthorized(StudioError):
    """The engine token, or a provider's API key, is missing or wrong."""

    status_code = 401


class Forbidden(StudioError):
    """The caller (a reviewer's or an editor's link) may not do this; nothing was changed."""

    status_code = 403


class ProviderError(StudioError):
    """A generation provider failed."""

    status_code = 502


class RateLimited(ProviderError):
    """The provider asks us to slow down; retried with backoff."""

    status_code = 429
    retryable = True

    @property
    def retry_after(self) -> float | None:
        value = self.details.get("retry_after")
        return float(value) if value is not None else None


class ProviderTimeout(ProviderError):
    """The provider did not answer in time; retried with backoff."""

    status_code = 504
    retryable = True


class ProviderUnavailable(ProviderError):
    """The provider's service is down or overloaded (a 5xx answer); retried with backoff."""

    retryable = True


class ContentRejected(ProviderError):
    """The provider refused the request on safety grounds; ``details['reason']`` says why."""

    status_code = 422


class BudgetExceeded(ProviderError):
    """Doing this would pass the project's budget cap."""

    status_code = 402


class RenderError(StudioError):
    """ffmpeg failed, or the output failed verification."""


class JobCancelled(StudioError):
    """The job was cancelled."""

    status_code = 409


class JobFailed(StudioError):
    """A job that the caller waited for ended in failure."""


def _all_subclasses(cls: type[StudioError]) -> list[type[StudioError]]:
    out: list[type[StudioError]] = [cls]
    for sub in cls.__subclasses__():
        out.extend(_all_subclasses(sub))
    return out


_BY_NAME: dict[str, type[StudioError]] = {c.__name__: c for c in _all_subclasses(StudioError)}


def error_from_payload(payload: dict[str, Any]) -> StudioError:
    """Rebuild the error the engine sent; unknown types become a plain ``StudioError``."""
    cls = _BY_NAME.get(str(payload.get("type")), StudioError)
    details = payload.get("details") or {}
    if not isinstance(details, dict):
        details = {}
    return cls(str(payload.get("message", "unknown error")), hint=payload.get("hint"), **details)
