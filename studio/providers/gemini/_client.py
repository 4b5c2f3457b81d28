"""What every Gemini model here shares: the key kept secret, the SDK client built one way, the
SDK's failures translated one way, and answers checked for refusals one way.

The SDK is imported when a request is made, not when the studio starts (it takes a second).
It does not retry: the studio's job runner does, with its own backoff and limits.
"""

from __future__ import annotations

import contextlib
import math
import re
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from pydantic import BaseModel, SecretStr, ValidationError

from studio.errors import ContentRejected, InvalidInput, Unauthorized
from studio.providers._said import short
from studio.providers.gemini._errors import (
    DEFAULT_HINTS,
    KEY_HINT,
    Hints,
    translate_error,
    unusable,
)

if TYPE_CHECKING:
    from google import genai
    from google.genai import types
    from google.genai.client import AsyncClient

__all__ = ["API_VERSION", "REFUSALS", "GeminiService", "enum_name", "image_type"]

API_VERSION = "v1beta"
"""Pinned: structured output (``responseSchema``), image output and Veo have always been in
v1beta, and the SDK's own default (``v1`` in 3.x, or ``GOOGLE_GENAI_API_VERSION``) must not
change what is sent."""

REFUSALS = frozenset(
    {
        "SAFETY",
        "PROHIBITED_CONTENT",
        "BLOCKLIST",
        "SPII",
        "RECITATION",
        "IMAGE_SAFETY",
        "IMAGE_PROHIBITED_CONTENT",
        "IMAGE_RECITATION",
        "MODEL_ARMOR",
    }
)
"""Finish reasons that mean the service would not answer, as opposed to could not."""

# "gemini-2.5-flash", or with its collection: "models/...", "tunedModels/..."; never "..".
_MODEL_RE = re.compile(r"^(?:[A-Za-z]+/)?[A-Za-z0-9](?:[A-Za-z0-9_-]|\.(?!\.)){0,127}$")
_FENCE_RE = re.compile(r"^\s*```(?:json)?\s*(.*?)\s*```\s*$", re.DOTALL)
_MIN_SECRET = 8

M = TypeVar("M", bound=BaseModel)


def enum_name(value: Any) -> str | None:
    """The name of an SDK enum (or the raw string the service sent), ``None`` if unset."""
    if value is None:
        return None
    name = str(getattr(value, "value", value))
    return None if not name or name.endswith("_UNSPECIFIED") else name


def image_type(data: bytes) -> str | None:
    """The media type of encoded picture bytes (PNG, JPEG, WebP), or None."""
    head = bytes(data[:12])
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    return None


class GeminiService:
    """The base of every Gemini model: holds the key (out of ``repr`` and of every error), the
    model name, the service's address and the timeout of one request, and opens the SDK.

    ``base_url`` points the SDK elsewhere (tests use a fake server on 127.0.0.1); ``timeout`` is
    one whole request in seconds.
    """

    name: str = "gemini"
    default_model: ClassVar[str] = "gemini-2.5-flash"
    doing: ClassVar[str] = "a request"
    """What a missing key stops, for its error (``"transcription"``)."""
    hints: ClassVar[Hints] = DEFAULT_HINTS

    def __init__(
        self,
        api_key: str,
        *,
        model: str | None = None,
        base_url: str | None = None,
        timeout: float = 120.0,
    ) -> None:
        model = self.default_model if model is None else model
        if not isinstance(api_key, str) or not api_key.strip():
            raise Unauthorized(f"{self.doing} with Gemini needs an API key", hint=KEY_HINT)
        if not isinstance(model, str) or not _MODEL_RE.fullmatch(model):
            raise InvalidInput(
                f"{str(model)[:60]!r} is not a Gemini model name",
                hint=f"for example {self.default_model!r}",
            )
        if not (
            isinstance(timeout, int | float)
            and not isinstance(timeout, bool)
            and math.isfinite(timeout)
            and timeout > 0
        ):
            raise InvalidInput(f"timeout must be a positive number of seconds, not {timeout!r}")
        self._api_key = SecretStr(api_key.strip())
        self.model = model
        self.base_url = base_url
        self.timeout = float(timeout)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(model={self.model!r}, base_url={self.base_url!r}, "
            f"timeout={self.timeout:g})"
        )

    def _scrub(self, text: str) -> str:
        key = self._api_key.get_secret_value()
        # a real key is 39 characters; replacing a one-letter test key would mangle the text
        return text.replace(key, "***") if len(key) >= _MIN_SECRET else text

    def _client(self) -> genai.Client:
        from google import genai
        from google.genai import types

        return genai.Client(
            api_key=self._api_key.get_secret_value(),
            vertexai=False,
            http_options=types.HttpOptions(
                base_url=self.base_url,
                api_version=API_VERSION,
                timeout=math.ceil(self.timeout * 1000),  # milliseconds
                retry_options=types.HttpRetryOptions(attempts=1),
            ),
        )

    @contextlib.asynccontextmanager
    async def _connected(self) -> AsyncIterator[AsyncClient]:
        """The SDK's async client for one piece of work; any failure of the service inside
        the block leaves as a ``StudioError`` (``raise ... from`` the SDK's error)."""
        client = self._client()
        try:
            async with client.aio as aio:
                yield aio
        except Exception as exc:
            mapped = translate_error(
                exc, model=self.model, timeout=self.timeout, scrub=self._scrub, hints=self.hints
            )
            if mapped is None:
                raise
            raise mapped from exc
        finally:
            client.close()

    # -- reading an answer ------------------------------------------------------------------

    def _first_candidate(
        self,
        response: types.GenerateContentResponse,
        *,
        doing: str,
        hint: str,
        refusal_hints: dict[str, str] | None = None,
    ) -> types.Candidate:
        """The first candidate of ``response``; ``ContentRejected`` (with ``details['reason']``)
        when the prompt was blocked or the answer refused, ``ProviderError`` when there is none.

        ``doing`` completes "refused to ..." (``"transcribe this audio"``); ``hint`` is what to
        do about a refusal, ``refusal_hints`` a better one for a particular reason.
        """
        feedback = response.prompt_feedback
        blocked = enum_name(feedback.block_reason) if feedback is not None else None
        if blocked:
            said = feedback.block_reason_message if feedback is not None else None
            raise ContentRejected(
                f"Gemini ({self.model}) refused the request ({blocked})"
                + (f": {self._scrub(short(said))}" if said else ""),
                hint=(refusal_hints or {}).get(blocked, hint),
                reason=blocked,
                provider="gemini",
            )
        if not response.candidates:
            raise unusable(self.model, "there is no candidate answer", hint=self.hints.unusable)
        candidate = response.candidates[0]
        finish = enum_name(candidate.finish_reason)
        if finish in REFUSALS:
            said = candidate.finish_message
            raise ContentRejected(
                f"Gemini ({self.model}) refused to {doing} ({finish})"
                + (f": {self._scrub(short(said))}" if said else ""),
                hint=(refusal_hints or {}).get(finish, hint),
                reason=finish,
                provider="gemini",
            )
        return candidate

    def _answer_text(self, candidate: types.Candidate) -> str:
        """The words of ``candidate`` (thoughts left out); ``ProviderError`` when it was cut
        off or is empty."""
        finish = enum_name(candidate.finish_reason)
        parts = candidate.content.parts if candidate.content is not None else None
        text = "".join(p.text for p in parts or [] if p.text and not p.thought)
        if finish == "MAX_TOKENS":
            raise unusable(
                self.model,
                "the answer was cut off at the model's output limit (MAX_TOKENS)",
                hint=self.hints.unusable,
            )
        if not text.strip():
            raise unusable(
                self.model,
                f"the answer is empty (finish reason {finish or 'unknown'})",
                hint=self.hints.unusable,
            )
        return text

    def _parse_json(self, text: str, schema: type[M]) -> M:
        """``text`` (JSON, perhaps in a Markdown fence) as an instance of ``schema``; a reply
        that does not fit is a ``ProviderError`` that says where it went wrong."""
        fenced = _FENCE_RE.match(text)
        try:
            return schema.model_validate_json(fenced.group(1) if fenced else text)
        except ValidationError as exc:
            first = exc.errors()[0]
            if first["type"] == "json_invalid":
                raise unusable(
                    self.model, "the answer is not JSON", hint=self.hints.unusable
                ) from exc
            where = ".".join(str(p) for p in first["loc"]) or "the answer"
            raise unusable(
                self.model, f"{where}: {first['msg']}", hint=self.hints.unusable
            ) from exc
