"""Lyrics transcription with word times by Gemini, through the google-genai SDK.

The audio goes inline in one ``generateContent`` request with a JSON response schema (a list of
words with start and end seconds); the answer is checked and tidied before anyone sees it,
because a language model's timestamps are a guess that can be out of order or out of range.
The SDK is imported when a transcription runs, not when the studio starts (it takes a second).
The SDK does not retry: the studio's job runner does, with its own backoff and limits.
"""

from __future__ import annotations

import math
import re
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field, SecretStr, ValidationError

from studio.errors import ContentRejected, InvalidInput, PayloadTooLarge, Unauthorized
from studio.providers._protocols import TranscribedWord, Transcription
from studio.providers.gemini._errors import KEY_HINT, translate_error, unusable

if TYPE_CHECKING:
    from google.genai import types

__all__ = ["DEFAULT_TRANSCRIBE_MODEL", "MAX_INLINE_AUDIO_BYTES", "GeminiTranscriber"]

DEFAULT_TRANSCRIBE_MODEL = "gemini-2.5-flash"
API_VERSION = "v1beta"
"""Pinned: structured output (``responseSchema``) has always been in v1beta, and the SDK's own
default (``v1`` in 3.x, or ``GOOGLE_GENAI_API_VERSION``) must not change what is sent."""
MAX_INLINE_AUDIO_BYTES = 14 * 1024 * 1024
"""Inline data travels base64 inside a request capped at about 20 MB; 14 MiB of audio fits."""
MAX_HINT_CHARS = 20_000
MAX_SECONDS = 3600.0
"""No song is this long (the studio takes up to 20 minutes); a time past it is the model
counting in the wrong unit, such as milliseconds."""
OUT_OF_ORDER_TOLERANCE = 0.5
"""A word may start this much before the word it follows (jitter), and is then moved."""
MIN_WORD_SECONDS = 0.01

# "gemini-2.5-flash", or with its collection: "models/...", "tunedModels/..."; never "..".
_MODEL_RE = re.compile(r"^(?:[A-Za-z]+/)?[A-Za-z0-9](?:[A-Za-z0-9_-]|\.(?!\.)){0,127}$")
_LANGUAGE_RE = re.compile(r"^[A-Za-z]{2,3}(?:-[A-Za-z0-9]{2,8})*$")
_FENCE_RE = re.compile(r"^\s*```(?:json)?\s*(.*?)\s*```\s*$", re.DOTALL)
_REFUSALS = {"SAFETY", "PROHIBITED_CONTENT", "BLOCKLIST", "SPII", "RECITATION", "IMAGE_SAFETY"}
_NO_LYRICS_HINT = "import the lyrics from an LRC/SRT/VTT file instead"


class _AnswerWord(BaseModel):
    """One word as the model is asked to give it (the response schema)."""

    text: str = Field(description="the word as sung, with its punctuation")
    start: float = Field(description="when the word begins, in seconds from the audio's start")
    end: float = Field(description="when the word ends, in seconds from the audio's start")


class _Answer(BaseModel):
    """The whole answer the model is asked for (the response schema)."""

    language: str | None = Field(
        default=None, description="ISO 639-1 code of the lyrics' language, null if no vocals"
    )
    words: list[_AnswerWord] = Field(description="every sung word, in the order it is sung")


def _prompt(language: str | None, hint: str | None) -> str:
    lines = [
        "Transcribe the sung lyrics of this song, word by word, with the time of each word.",
        "Give every word in the order it is sung, with start and end in seconds from the",
        "beginning of the audio as decimal numbers (for example 83.25, not 1:23.25).",
        "Repeat words each time they are sung. Leave out instrumental passages, section",
        "labels, speaker names and descriptions of sounds. If nothing is sung, give no words.",
    ]
    if language:
        lines.append(f"The lyrics are in the language with code {language!r}.")
    if hint:
        lines += [
            "The lyrics are known. Align them to the singing: keep their words and spelling,",
            "leave out lines that are not sung, and add repeats that are sung. The lyrics:",
            "<<<",
            hint,
            ">>>",
        ]
    return "\n".join(lines)


def _enum_name(value: Any) -> str | None:
    if value is None:
        return None
    name = str(getattr(value, "value", value))
    return None if name.endswith("_UNSPECIFIED") else name


def _answer_text(response: types.GenerateContentResponse, model: str) -> str:
    """The JSON text of the first candidate, or the error that says why there is none."""
    feedback = response.prompt_feedback
    blocked = _enum_name(feedback.block_reason) if feedback is not None else None
    if blocked:
        said = feedback.block_reason_message if feedback is not None else None
        raise ContentRejected(
            f"Gemini ({model}) refused the request ({blocked})" + (f": {said}" if said else ""),
            hint=_NO_LYRICS_HINT,
            reason=blocked,
            provider="gemini",
        )
    if not response.candidates:
        raise unusable(model, "there is no candidate answer")
    candidate = response.candidates[0]
    finish = _enum_name(candidate.finish_reason)
    if finish in _REFUSALS:
        hint = _NO_LYRICS_HINT
        if finish == "RECITATION":
            hint = (
                "Gemini stops when it would recite published text, such as a known song's "
                f"lyrics; {_NO_LYRICS_HINT}"
            )
        raise ContentRejected(
            f"Gemini ({model}) refused to transcribe this audio ({finish})",
            hint=hint,
            reason=finish,
            provider="gemini",
        )
    parts = candidate.content.parts if candidate.content is not None else None
    text = "".join(p.text for p in parts or [] if p.text and not p.thought)
    if finish == "MAX_TOKENS":
        raise unusable(model, "the answer was cut off at the model's output limit (MAX_TOKENS)")
    if not text.strip():
        raise unusable(model, f"the answer is empty (finish reason {finish or 'unknown'})")
    return text


def _parse(text: str, model: str) -> _Answer:
    fenced = _FENCE_RE.match(text)
    try:
        return _Answer.model_validate_json(fenced.group(1) if fenced else text)
    except ValidationError as exc:
        first = exc.errors()[0]
        if first["type"] == "json_invalid":
            raise unusable(model, "the answer is not JSON") from exc
        where = ".".join(str(p) for p in first["loc"]) or "the answer"
        raise unusable(model, f"{where}: {first['msg']}") from exc


def _clean_words(raw: list[_AnswerWord], model: str) -> list[TranscribedWord]:
    """Check and tidy the model's words: drop empty ones, clamp a start a hair below zero,
    give zero-length words a length, and end each word where an overlapping next one starts.
    Times that cannot be right (out of range, or a word far before the one it follows) make
    the whole answer unusable: guessing would put words on the wrong beat."""
    out: list[tuple[str, float, float]] = []
    for number, word in enumerate(raw, start=1):
        text = " ".join(word.text.split())
        if not text:
            continue
        start, end = round(word.start, 3), round(word.end, 3)
        shown = text if len(text) <= 40 else text[:39] + "…"
        label = f"word {number} ({shown!r}, {word.start:g}-{word.end:g} s)"
        if not (math.isfinite(start) and math.isfinite(end)):
            raise unusable(model, f"word {number} ({shown!r}) has no finite time")
        if start < -OUT_OF_ORDER_TOLERANCE or max(start, end) > MAX_SECONDS:
            raise unusable(model, f"{label} is outside the audio")
        if end < start - OUT_OF_ORDER_TOLERANCE:
            raise unusable(model, f"{label} ends before it starts")
        start = max(start, 0.0)
        if out:
            prev_text, prev_start, prev_end = out[-1]
            if start < prev_start - OUT_OF_ORDER_TOLERANCE:
                raise unusable(
                    model,
                    f"{label} is out of order: it comes after {prev_text[:40]!r} at "
                    f"{prev_start:g} s",
                )
            start = max(start, prev_start)
            if start < prev_end:  # overlap: the earlier word ends where this one starts
                if start - prev_start < MIN_WORD_SECONDS:
                    start = prev_start + MIN_WORD_SECONDS
                out[-1] = (prev_text, prev_start, start)
        end = max(end, start + MIN_WORD_SECONDS)
        out.append((text, start, end))
    return [TranscribedWord(text=t, start=s, end=e) for t, s, e in out]


def _language(answered: str | None, asked: str | None) -> str | None:
    for value in (answered, asked):
        if value and _LANGUAGE_RE.fullmatch(value.strip()):
            return value.strip().lower()
    return None


class GeminiTranscriber:
    """Transcribes a song's lyrics with word times through the Gemini API.

    ``base_url`` points the SDK elsewhere (tests use a fake server on 127.0.0.1); ``timeout``
    is the whole request in seconds. The key is kept out of ``repr`` and of every error.
    """

    name: str = "gemini"

    def __init__(
        self,
        api_key: str,
        *,
        model: str = DEFAULT_TRANSCRIBE_MODEL,
        base_url: str | None = None,
        timeout: float = 120.0,
    ) -> None:
        if not isinstance(api_key, str) or not api_key.strip():
            raise Unauthorized("transcription with Gemini needs an API key", hint=KEY_HINT)
        if not isinstance(model, str) or not _MODEL_RE.fullmatch(model):
            raise InvalidInput(
                f"{str(model)[:60]!r} is not a Gemini model name",
                hint=f"for example {DEFAULT_TRANSCRIBE_MODEL!r}",
            )
        if not (isinstance(timeout, int | float) and math.isfinite(timeout) and timeout > 0):
            raise InvalidInput(f"timeout must be a positive number of seconds, not {timeout!r}")
        self._api_key = SecretStr(api_key.strip())
        self.model = model
        self.base_url = base_url
        self.timeout = float(timeout)

    def __repr__(self) -> str:
        return (
            f"GeminiTranscriber(model={self.model!r}, base_url={self.base_url!r}, "
            f"timeout={self.timeout:g})"
        )

    def _scrub(self, text: str) -> str:
        key = self._api_key.get_secret_value()
        # a real key is 39 characters; replacing a one-letter test key would mangle the text
        return text.replace(key, "***") if len(key) >= 8 else text

    def _check(self, audio: bytes, mime_type: str, hint: str | None) -> None:
        if not isinstance(audio, bytes | bytearray | memoryview) or len(audio) == 0:
            raise InvalidInput("the audio to transcribe is empty")
        if len(audio) > MAX_INLINE_AUDIO_BYTES:
            raise PayloadTooLarge(
                f"the audio is {len(audio) / 2**20:.1f} MiB; Gemini takes at most "
                f"{MAX_INLINE_AUDIO_BYTES / 2**20:.0f} MiB inline",
                hint="send a compressed version, e.g. Opus at 32 kbps (about 14 MiB per hour)",
            )
        if not isinstance(mime_type, str) or not re.fullmatch(r"audio/[\w.+-]+", mime_type):
            raise InvalidInput(
                f"{str(mime_type)[:60]!r} is not an audio type",
                hint="for example 'audio/ogg' (Opus), 'audio/mp3', 'audio/wav' or 'audio/flac'",
            )
        if hint is not None and len(hint) > MAX_HINT_CHARS:
            raise InvalidInput(
                f"the lyrics hint has {len(hint)} characters; at most {MAX_HINT_CHARS} are sent",
                hint="pass only the song's lyrics",
            )

    async def transcribe(
        self,
        audio: bytes,
        mime_type: str,
        *,
        language: str | None = None,
        hint: str | None = None,
    ) -> Transcription:
        """Words with times for ``audio``; see ``studio.providers.Transcriber``."""
        self._check(audio, mime_type, hint)
        if language is not None and not _LANGUAGE_RE.fullmatch(language.strip()):
            raise InvalidInput(
                f"{language[:40]!r} is not a language code", hint="for example 'en' or 'pt-BR'"
            )
        prompt = _prompt(language.strip() if language else None, (hint or "").strip() or None)
        from google import genai
        from google.genai import types

        client = genai.Client(
            api_key=self._api_key.get_secret_value(),
            vertexai=False,
            http_options=types.HttpOptions(
                base_url=self.base_url,
                api_version=API_VERSION,
                timeout=math.ceil(self.timeout * 1000),  # milliseconds
                retry_options=types.HttpRetryOptions(attempts=1),
            ),
        )
        try:
            async with client.aio as aio:
                response = await aio.models.generate_content(
                    model=self.model,
                    contents=types.Content(
                        role="user",
                        parts=[
                            types.Part.from_bytes(data=bytes(audio), mime_type=mime_type),
                            types.Part.from_text(text=prompt),
                        ],
                    ),
                    config=types.GenerateContentConfig(
                        response_mime_type="application/json",
                        response_schema=_Answer,
                        temperature=0,
                    ),
                )
        except Exception as exc:
            mapped = translate_error(exc, model=self.model, timeout=self.timeout, scrub=self._scrub)
            if mapped is None:
                raise
            raise mapped from exc
        finally:
            client.close()
        answer = _parse(_answer_text(response, self.model), self.model)
        return Transcription(
            words=_clean_words(answer.words, self.model),
            language=_language(answer.language, language),
            provider=self.name,
            model=self.model,
        )
