"""Replicate's failures, translated into the studio's error tree.

Three kinds of failure reach this module:

- an HTTP answer of 400 or more from the API, raised as ``Refused`` by the studio's transport
  (see ``_predictions``) before the SDK sees it, so the Retry-After header survives and the SDK
  cannot retry; ``ReplicateError`` (the SDK's own) is mapped the same way, without the header;
- the network failing (httpx's errors, timeouts) and replies that are not what the API
  documents (not JSON, missing fields);
- a prediction that ran and ended ``failed``: a safety refusal (``ContentRejected``) or the
  model's own error text.

Any text from outside passes through ``scrub`` first, so the API token never reaches a message.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

import httpx

from studio.errors import (
    ContentRejected,
    InvalidInput,
    PayloadTooLarge,
    ProviderError,
    ProviderTimeout,
    ProviderUnavailable,
    RateLimited,
    StudioError,
    Unauthorized,
)
from studio.providers._said import retry_after_header, short

__all__ = [
    "KEY_HINT",
    "Refused",
    "failed_prediction",
    "malformed",
    "retry_after",
    "translate_error",
]

KEY_HINT = "set REPLICATE_API_TOKEN to a token from https://replicate.com/account/api-tokens"
BILLING_HINT = (
    "add a payment method or credit at https://replicate.com/account/billing, then try again"
)
_MAX_BODY = 8192
_REFUSAL = re.compile(
    r"nsfw|flagged as sensitive|\bE005\b|safety (?:filter|check|system)|"
    r"content (?:policy|moderation)|moderation|sensitive content",
    re.IGNORECASE,
)
_AVAILABLE_IN = re.compile(r"available in\s+(\d+(?:\.\d+)?)\s*(?:s\b|sec|second)", re.IGNORECASE)


class Refused(Exception):
    """An HTTP answer of 400 or more: its status, its Retry-After header, what it said.

    Raised inside the transport, under the SDK's retrying wrapper, so that wrapper never sees
    a status it would retry. The request (and so the token) is not kept.
    """

    def __init__(self, status: int, headers: Mapping[str, str], body: bytes, what: str) -> None:
        super().__init__(f"HTTP {status} from {what}")
        self.status = status
        self.retry_after_header = headers.get("retry-after")
        self.content_type = headers.get("content-type", "")
        self.body = body[:_MAX_BODY]
        self.what = what
        """``"api"`` for Replicate's API, ``"download"`` for an output file."""

    def said(self) -> str:
        """What the answer says: the problem-details ``detail`` or ``title``, else its text."""
        text = self.body.decode("utf-8", "replace").strip()
        try:
            data = json.loads(text) if text else None
        except ValueError:
            data = None
        if isinstance(data, dict):
            parts = [str(data[k]) for k in ("title", "detail") if data.get(k)]
            if not parts and data.get("error"):
                parts = [str(data["error"])]
            if len(parts) == 2 and parts[1].startswith(parts[0]):
                parts = parts[1:]
            return ": ".join(parts)
        if "html" in self.content_type.lower() or text.lstrip().startswith("<"):
            return ""  # an error page from a proxy says nothing useful
        return text


def retry_after(header: str | None, detail: str = "", now: datetime | None = None) -> float | None:
    """Seconds to wait: the Retry-After header (seconds or an HTTP date), else the
    ``"available in N seconds"`` of Replicate's throttling message, else ``None``."""
    seconds = retry_after_header(header, now)
    if seconds is not None:
        return seconds
    found = _AVAILABLE_IN.search(detail)
    return float(found.group(1)) if found else None


def malformed(model: str, why: str) -> ProviderError:
    """Replicate answered, but not in the shape its API documents."""
    return ProviderError(
        f"Replicate ({model}) sent a malformed reply: {why}",
        hint="try again; if it keeps happening, the API may have changed: check the model's "
        "page on replicate.com",
        provider="replicate",
        model=model,
    )


def failed_prediction(model: str, error: str | None, scrub: Callable[[str], str]) -> ProviderError:
    """The error for a prediction that ran and ended ``failed``."""
    said = scrub(short(error or "no reason given"))
    if error and _REFUSAL.search(error):
        return ContentRejected(
            f"Replicate ({model}) refused the request on safety grounds: {said}",
            hint="change the prompt or the reference images; the model's safety filter "
            "decides, and the same input is usually refused again",
            reason=said,
            provider="replicate",
            model=model,
        )
    return ProviderError(
        f"Replicate ({model}) failed to make it: {said}",
        hint="try again; if it keeps failing, change the input or choose another model",
        provider="replicate",
        model=model,
    )


def _status_error(
    status: int, said: str, wait: float | None, *, model: str, scrub: Callable[[str], str]
) -> StudioError:
    what = f"Replicate ({model})"
    said = scrub(short(said)) or f"HTTP {status}"
    details: dict[str, Any] = {"provider": "replicate", "model": model, "status": status}
    if status in (401, 403):
        return Unauthorized(
            f"{what} refused the API token (HTTP {status}): {said}",
            hint=f"check the token; {KEY_HINT}",
            **details,
        )
    if status == 402:
        return ProviderError(
            f"{what} will not run it until the account is paid for (HTTP 402): {said}",
            hint=BILLING_HINT,
            **details,
        )
    if status == 429:
        return RateLimited(
            f"{what} is rate-limiting requests: {said}",
            hint="the job is retried automatically"
            + (f" after {wait:g} s" if wait is not None else "")
            + "; if it keeps happening, run fewer generations at once",
            retry_after=wait,
            **details,
        )
    if status == 408:
        return ProviderTimeout(
            f"{what} timed out answering: {said}",
            hint="the job is retried automatically",
            **details,
        )
    if status >= 500:
        return ProviderUnavailable(
            f"{what} failed on its side (HTTP {status}): {said}",
            hint="the job is retried automatically; https://replicatestatus.com shows outages",
            **details,
        )
    if status == 404:
        return InvalidInput(
            f"{what} does not know that model, or the prediction is gone (HTTP 404): {said}",
            hint="check the model name (e.g. 'black-forest-labs/flux-schnell'); a community "
            "model needs its version: 'owner/name:<version id>'",
            **details,
        )
    if status == 413:
        return PayloadTooLarge(
            f"{what} says the request is too large (HTTP 413): {said}",
            hint="send smaller images",
            **details,
        )
    if status in (400, 422) and _REFUSAL.search(said):
        return ContentRejected(
            f"{what} refused the input on safety grounds (HTTP {status}): {said}",
            hint="change the prompt or the images; the same input is usually refused again",
            reason=said,
            **details,
        )
    if status in (400, 422):
        return InvalidInput(
            f"{what} refused the input (HTTP {status}): {said}",
            hint="check the prompt, sizes and images against the model's page on replicate.com",
            **details,
        )
    return ProviderError(f"{what} refused the request (HTTP {status}): {said}", **details)


def _download_error(status: int, said: str, wait: float | None, *, model: str) -> StudioError:
    what = f"Replicate ({model})"
    details: dict[str, Any] = {"provider": "replicate", "model": model, "status": status}
    if status == 429:
        return RateLimited(
            f"{what} made it, but is rate-limiting the download of the output",
            hint="the job is retried automatically",
            retry_after=wait,
            **details,
        )
    if status >= 500:
        return ProviderUnavailable(
            f"{what} made it, but its file server failed (HTTP {status})",
            hint="the job is retried automatically",
            **details,
        )
    return ProviderError(
        f"{what} made it, but the output cannot be fetched (HTTP {status})"
        + (f": {short(said, 120)}" if said else ""),
        hint="outputs of API predictions are deleted after an hour; make it again",
        **details,
    )


def translate_error(
    exc: BaseException,
    *,
    model: str,
    timeout: float,
    scrub: Callable[[str], str],
) -> StudioError | None:
    """The studio error for ``exc``, or ``None`` if it is not a failure of the service."""
    from replicate.exceptions import ReplicateError

    if isinstance(exc, Refused):
        said = scrub(exc.said())
        wait = retry_after(exc.retry_after_header, said)
        if exc.what == "download":
            return _download_error(exc.status, said, wait, model=model)
        return _status_error(exc.status, said, wait, model=model, scrub=scrub)
    if isinstance(exc, ReplicateError):
        said = ": ".join(str(p) for p in (exc.title, exc.detail) if p)
        status = int(exc.status or 0)
        if status >= 400:
            return _status_error(status, said, retry_after(None, said), model=model, scrub=scrub)
        return ProviderError(
            f"Replicate ({model}) failed: {scrub(short(said)) or 'no reason given'}",
            provider="replicate",
            model=model,
        )
    if isinstance(exc, httpx.TimeoutException | TimeoutError):
        return ProviderTimeout(
            f"Replicate ({model}) did not answer in time (the whole call may take {timeout:g} s)",
            hint="the job is retried automatically",
            provider="replicate",
            model=model,
        )
    if isinstance(exc, httpx.DecodingError):
        return malformed(model, "the reply's encoding is broken")
    if isinstance(exc, httpx.TransportError | OSError):
        return ProviderUnavailable(
            f"Replicate ({model}) cannot be reached: "
            f"{scrub(short(str(exc) or type(exc).__name__))}",
            hint="check the network connection; the job is retried automatically",
            provider="replicate",
            model=model,
        )
    if isinstance(exc, ValueError):  # not JSON, or JSON the SDK's models do not accept
        first = str(exc).strip().splitlines()
        return malformed(model, scrub(short(first[0] if first else type(exc).__name__, 160)))
    return None
