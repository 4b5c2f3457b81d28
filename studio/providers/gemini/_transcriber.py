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

from pydantic import BaseModel, Field

from studio.errors import InvalidInput, PayloadTooLarge, ProviderError
from studio.providers._protocols import TranscribedWord, Transcription
from studio.providers.gemini._client import GeminiService
from studio.providers.gemini._errors import Hints, unusable

__all__ = ["DEFAULT_TRANSCRIBE_MODEL", "MAX_INLINE_AUDIO_BYTES", "GeminiTranscriber"]

DEFAULT_TRANSCRIBE_MODEL = "gemini-2.5-flash"
MAX_INLINE_AUDIO_BYTES = 14 * 1024 * 1024
"""Inline data travels base64 inside a request capped at about 20 MB; 14 MiB of audio fits."""
MAX_HINT_CHARS = 20_000
MAX_SECONDS = 3600.0
"""No song is this long (the studio takes up to 20 minutes); a time past it is the model
counting in the wrong unit, such as milliseconds."""
OUT_OF_ORDER_TOLERANCE = 0.5
"""A word may start this much before the word it follows (jitter), and is then moved."""
MIN_WORD_SECONDS = 0.01

_LANGUAGE_RE = re.compile(r"^[A-Za-z]{2,3}(?:-[A-Za-z0-9]{2,8})*$")
_NO_LYRICS_HINT = "import the lyrics from an LRC/SRT/VTT file instead"
_HINTS = Hints(
    bad_request="check the audio file and its type, and that the model name exists",
    too_large="send a shorter or more compressed file (e.g. Opus at 32 kbps)",
    timeout="the job is retried automatically; long songs take longer, so give the "
    "transcriber a longer timeout or send a shorter excerpt",
    unusable="try again; if it keeps happening, try another model, or import the lyrics "
    "from an LRC/SRT/VTT file instead",
)
_RECITATION_HINT = (
    "Gemini stops when it would recite published text, such as a known song's lyrics; "
    + _NO_LYRICS_HINT
)


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


def _unusable(model: str, why: str) -> ProviderError:
    return unusable(model, why, hint=_HINTS.unusable)


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
            raise _unusable(model, f"word {number} ({shown!r}) has no finite time")
        if start < -OUT_OF_ORDER_TOLERANCE or max(start, end) > MAX_SECONDS:
            raise _unusable(model, f"{label} is outside the audio")
        if end < start - OUT_OF_ORDER_TOLERANCE:
            raise _unusable(model, f"{label} ends before it starts")
        start = max(start, 0.0)
        if out:
            prev_text, prev_start, prev_end = out[-1]
            if start < prev_start - OUT_OF_ORDER_TOLERANCE:
                raise _unusable(
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


class GeminiTranscriber(GeminiService):
    """Transcribes a song's lyrics with word times through the Gemini API.

    ``base_url`` points the SDK elsewhere (tests use a fake server on 127.0.0.1); ``timeout``
    is the whole request in seconds. The key is kept out of ``repr`` and of every error.
    """

    default_model = DEFAULT_TRANSCRIBE_MODEL
    doing = "transcription"
    hints = _HINTS

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
        from google.genai import types

        async with self._connected() as aio:
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
        candidate = self._first_candidate(
            response,
            doing="transcribe this audio",
            hint=_NO_LYRICS_HINT,
            refusal_hints={"RECITATION": _RECITATION_HINT},
        )
        answer = self._parse_json(self._answer_text(candidate), _Answer)
        return Transcription(
            words=_clean_words(answer.words, self.model),
            language=_language(answer.language, language),
            provider=self.name,
            model=self.model,
        )
