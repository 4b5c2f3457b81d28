"""Gemini's failures, translated into the studio's error tree.

The google-genai SDK raises ``APIError`` (``ClientError`` for 4xx, ``ServerError`` for 5xx) with
the HTTP ``code`` and the service's JSON, and lets the HTTP library's own errors through
(aiohttp or httpx, whichever it runs on). Everything here turns those into a ``StudioError``
whose message says what happened and whose hint says what to do (``Hints`` carries the advice
that depends on what was asked). A long-running operation (Veo) reports its failure as data, a
``google.rpc.Status``; ``operation_error`` translates that the same way. The API key never
reaches a message: any text from the service passes through ``scrub`` first.
"""

from __future__ import annotations

import importlib
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

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

__all__ = ["DEFAULT_HINTS", "KEY_HINT", "Hints", "operation_error", "translate_error", "unusable"]

KEY_HINT = "set GEMINI_API_KEY (or GOOGLE_API_KEY) to a key from https://aistudio.google.com/apikey"


@dataclass(frozen=True)
class Hints:
    """What to tell a person to do for the failures whose remedy depends on what was asked
    (a transcription's remedy is not a picture's)."""

    bad_request: str = "check what was sent, and that the model name exists"
    not_found: str = "check the model name (e.g. 'gemini-2.5-flash')"
    too_large: str = "send less at once (fewer or smaller reference images)"
    timeout: str = (
        "the job is retried automatically; if it keeps happening, give the model a longer timeout"
    )
    unusable: str = "try again; if it keeps happening, try another model"


DEFAULT_HINTS = Hints()


def _classes(*dotted: str) -> tuple[type[BaseException], ...]:
    """The exception classes that are importable here (the SDK may run on aiohttp or httpx)."""
    found: list[type[BaseException]] = []
    for name in dotted:
        module, _, attr = name.rpartition(".")
        try:
            cls = getattr(importlib.import_module(module), attr)
        except (ImportError, AttributeError):
            continue
        if isinstance(cls, type) and issubclass(cls, BaseException):
            found.append(cls)
    return tuple(found)


def _timeout_errors() -> tuple[type[BaseException], ...]:
    # asyncio's and aiohttp's timeouts are TimeoutError on Python 3.11+
    return (TimeoutError, *_classes("httpx.TimeoutException", "httpx2.TimeoutException"))


def _connection_errors() -> tuple[type[BaseException], ...]:
    return (
        OSError,
        *_classes("httpx.TransportError", "httpx2.TransportError", "aiohttp.ClientError"),
    )


def _service_message(exc: Any) -> str:
    message = getattr(exc, "message", None)
    status = getattr(exc, "status", None)
    parts = [str(p) for p in (status, message) if p]
    return ": ".join(parts) if parts else f"HTTP {getattr(exc, 'code', '?')}"


def _error_details(exc: Any) -> list[dict[str, Any]]:
    """The ``error.details`` list of a Google API error body (RetryInfo, ErrorInfo, ...)."""
    body = getattr(exc, "details", None)
    if isinstance(body, dict):
        body = body.get("error", body)
    found = body.get("details") if isinstance(body, dict) else None
    return [d for d in found if isinstance(d, dict)] if isinstance(found, list) else []


def _retry_after(exc: Any, now: datetime | None = None) -> float | None:
    """Seconds to wait: the ``Retry-After`` header if the SDK kept the response, else the
    ``google.rpc.RetryInfo`` detail of the body (``"retryDelay": "27s"``), else ``None``."""
    headers = getattr(getattr(exc, "response", None), "headers", None)
    value = headers.get("Retry-After") if headers is not None else None
    seconds = retry_after_header(value if isinstance(value, str) else None, now)
    if seconds is not None:
        return seconds
    for detail in _error_details(exc):
        if str(detail.get("@type", "")).endswith("google.rpc.RetryInfo"):
            match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)s\s*", str(detail.get("retryDelay", "")))
            if match:
                return float(match.group(1))
    return None


def _is_bad_key(exc: Any) -> bool:
    # Gemini answers a wrong key with 400 INVALID_ARGUMENT, reason API_KEY_INVALID
    reasons = {str(d.get("reason", "")) for d in _error_details(exc)}
    return "API_KEY_INVALID" in reasons or "api key not valid" in str(exc.message or "").lower()


def translate_error(
    exc: BaseException,
    *,
    model: str,
    timeout: float,
    scrub: Callable[[str], str],
    hints: Hints = DEFAULT_HINTS,
) -> StudioError | None:
    """The studio error for ``exc``, or ``None`` if it is not a failure of the service.

    ``scrub`` removes secrets from any text that came from outside; ``hints`` says what to do
    about the failures that depend on the request.
    """
    from google.genai import errors as genai_errors

    what = f"Gemini ({model})"
    if isinstance(exc, genai_errors.APIError):
        code = int(exc.code or 0)
        said = scrub(short(_service_message(exc)))
        if code == 429:
            retry_after = _retry_after(exc)
            return RateLimited(
                f"{what} is rate-limiting requests: {said}",
                hint="the job is retried automatically"
                + (f" after {retry_after:g} s" if retry_after is not None else "")
                + "; if it keeps happening, check the quota of the API key's project",
                retry_after=retry_after,
                provider="gemini",
                status=code,
            )
        if code in (401, 403) or (code == 400 and _is_bad_key(exc)):
            return Unauthorized(
                f"{what} refused the API key: {said}",
                hint=f"check the key; {KEY_HINT}",
                provider="gemini",
                status=code,
            )
        if code in (408, 504):
            return ProviderTimeout(
                f"{what} timed out answering: {said}",
                hint="the job is retried automatically",
                provider="gemini",
                status=code,
            )
        if code >= 500:
            return ProviderUnavailable(
                f"{what} failed on its side (HTTP {code}): {said}",
                hint="the job is retried automatically; https://aistudio.google.com/status "
                "shows outages",
                provider="gemini",
                status=code,
            )
        if code == 413:
            return PayloadTooLarge(
                f"{what} says the request is too large: {said}",
                hint=hints.too_large,
                provider="gemini",
                status=code,
            )
        if code in (400, 404):
            return InvalidInput(
                f"{what} refused the request: {said}",
                hint=hints.bad_request if code == 400 else hints.not_found,
                provider="gemini",
                status=code,
            )
        return ProviderError(f"{what} failed (HTTP {code}): {said}", provider="gemini", status=code)
    if isinstance(exc, _timeout_errors()):
        return ProviderTimeout(
            f"{what} did not answer within {timeout:g} s",
            hint=hints.timeout,
            provider="gemini",
        )
    if isinstance(exc, json.JSONDecodeError | genai_errors.UnknownApiResponseError):
        return unusable(model, "the answer is not JSON", hint=hints.unusable)
    if isinstance(exc, _connection_errors()):
        return ProviderUnavailable(
            f"{what} cannot be reached: {scrub(short(str(exc) or type(exc).__name__))}",
            hint="check the network connection; the job is retried automatically",
            provider="gemini",
        )
    return None


def unusable(model: str, why: str, *, hint: str = DEFAULT_HINTS.unusable) -> ProviderError:
    """The model answered, but with nothing the studio can use."""
    return ProviderError(
        f"Gemini ({model}) answered with something unusable: {why}",
        hint=hint,
        provider="gemini",
    )


# google.rpc.Code numbers, as a long-running operation reports its failure
_RPC_INVALID = {3, 9, 11}  # INVALID_ARGUMENT, FAILED_PRECONDITION, OUT_OF_RANGE
_RPC_DEADLINE = 4
_RPC_NOT_FOUND = 5
_RPC_DENIED = {7, 16}  # PERMISSION_DENIED, UNAUTHENTICATED
_RPC_EXHAUSTED = 8
_RPC_DOWN = {1, 2, 10, 13, 14, 15}  # CANCELLED, UNKNOWN, ABORTED, INTERNAL, UNAVAILABLE, DATA_LOSS
_SAFETY_WORDS = ("safety", "responsible ai", "usage guidelines", "policy", "prohibited")


def operation_error(
    error: Mapping[str, Any],
    *,
    model: str,
    scrub: Callable[[str], str],
    hints: Hints = DEFAULT_HINTS,
) -> StudioError:
    """The studio error for the ``error`` of a finished long-running operation (a
    ``google.rpc.Status``: ``{"code": 3, "message": "..."}``), which arrives as data, not as an
    HTTP failure."""
    what = f"Gemini ({model})"
    try:
        code = int(error.get("code") or 0)
    except (TypeError, ValueError):
        code = 0
    said = scrub(short(str(error.get("message") or f"code {code}")))
    if code in _RPC_INVALID and any(word in said.lower() for word in _SAFETY_WORDS):
        return ContentRejected(
            f"{what} refused the request: {said}",
            hint="reword the prompt or choose another picture; the refusal is the service's",
            reason="OPERATION_REFUSED",
            provider="gemini",
            status=code,
        )
    if code == _RPC_EXHAUSTED:
        return RateLimited(
            f"{what} is rate-limiting requests: {said}",
            hint="the job is retried automatically; if it keeps happening, check the quota of "
            "the API key's project",
            retry_after=None,
            provider="gemini",
            status=code,
        )
    if code == _RPC_DEADLINE:
        return ProviderTimeout(
            f"{what} ran out of time: {said}", hint=hints.timeout, provider="gemini", status=code
        )
    if code in _RPC_DENIED:
        return Unauthorized(
            f"{what} refused the API key: {said}",
            hint=f"check the key; {KEY_HINT}",
            provider="gemini",
            status=code,
        )
    if code in _RPC_INVALID or code == _RPC_NOT_FOUND:
        return InvalidInput(
            f"{what} refused the request: {said}",
            hint=hints.bad_request if code != _RPC_NOT_FOUND else hints.not_found,
            provider="gemini",
            status=code,
        )
    if code in _RPC_DOWN:
        return ProviderUnavailable(
            f"{what} failed on its side: {said}",
            hint="the job is retried automatically; https://aistudio.google.com/status "
            "shows outages",
            provider="gemini",
            status=code,
        )
    return ProviderError(
        f"{what} failed: {said}", hint=hints.unusable, provider="gemini", status=code
    )
