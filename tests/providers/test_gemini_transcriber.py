"""The Gemini transcriber: the real google-genai SDK against a fake Gemini on 127.0.0.1.

The fake (``tests/providers/fake_gemini.py``) answers the way the service does
(``POST /v1beta/models/{model}:generateContent``, JSON candidates, Google-style error bodies);
each test sets the reply and reads what was sent.
"""

from __future__ import annotations

import asyncio
import base64
import importlib
import io
import json
import math
import os
import time
import wave
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from pydantic import ValidationError

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
from studio.providers import (
    TranscribedWord,
    Transcriber,
    Transcription,
    resolve_transcriber,
)
from studio.providers.gemini import (
    DEFAULT_TRANSCRIBE_MODEL,
    MAX_INLINE_AUDIO_BYTES,
    GeminiTranscriber,
)
from tests.providers import fake_gemini
from tests.providers.fake_gemini import Reply, google_error

KEY = "AIzaFAKE-test-key-0123456789abcdefghijk"
AUDIO = b"OggS\x00\x02fake-opus-bytes\xff\x00\x10" * 8
MIME = "audio/ogg"

# google-genai subclasses aiohttp's ClientSession, which aiohttp frowns on; not ours to fix
pytestmark = pytest.mark.filterwarnings(
    "ignore:Inheritance class AiohttpClientSession:DeprecationWarning"
)


# ---- the fake Gemini ---------------------------------------------------------------------------


class FakeGemini(fake_gemini.FakeGemini):
    def transcriber(self, **options: Any) -> GeminiTranscriber:
        options.setdefault("timeout", 10.0)
        return GeminiTranscriber(KEY, base_url=self.base_url, **options)


@pytest.fixture(scope="module")
def gemini_server() -> Iterator[FakeGemini]:
    with FakeGemini.running() as fake:
        yield fake


@pytest.fixture
def gemini(gemini_server: FakeGemini) -> Iterator[FakeGemini]:
    """The fake, fresh for this test: no requests, an empty reply."""
    gemini_server.reset()
    yield gemini_server
    gemini_server.release.set()  # a slow reply still waiting ends now


def answer(
    words: list[dict[str, Any]] | None = None,
    *,
    language: str | None = "en",
    finish: str = "STOP",
    text: str | None = None,
) -> dict[str, Any]:
    """A generateContent answer whose one candidate says ``text`` (by default, the words)."""
    if text is None:
        text = json.dumps({"language": language, "words": words or []})
    return {
        "candidates": [
            {
                "content": {"parts": [{"text": text}], "role": "model"},
                "finishReason": finish,
                "index": 0,
            }
        ],
        "usageMetadata": {"promptTokenCount": 90, "candidatesTokenCount": 40},
        "modelVersion": DEFAULT_TRANSCRIBE_MODEL,
    }


def w(text: str, start: float, end: float) -> dict[str, Any]:
    return {"text": text, "start": start, "end": end}


def transcribe(t: GeminiTranscriber, audio: bytes = AUDIO, **kw: Any) -> Transcription:
    return asyncio.run(t.transcribe(audio, kw.pop("mime_type", MIME), **kw))


def fails(t: GeminiTranscriber, **kw: Any) -> StudioError:
    with pytest.raises(StudioError) as info:
        transcribe(t, **kw)
    err = info.value
    assert KEY not in str(err) and KEY not in repr(err) and KEY not in json.dumps(err.to_payload())
    return err


# ---- success -----------------------------------------------------------------------------------


def test_a_transcription_sends_the_audio_and_the_schema_and_returns_the_words(
    gemini: FakeGemini,
) -> None:
    gemini.reply = Reply(
        body=answer([w("Hold", 12.5, 12.9), w("the", 12.9, 13.05), w("night,", 13.05, 13.8)])
    )
    result = transcribe(gemini.transcriber())

    assert result == Transcription(
        words=[
            TranscribedWord(text="Hold", start=12.5, end=12.9),
            TranscribedWord(text="the", start=12.9, end=13.05),
            TranscribedWord(text="night,", start=13.05, end=13.8),
        ],
        language="en",
        provider="gemini",
        model=DEFAULT_TRANSCRIBE_MODEL,
    )
    [sent] = gemini.requests
    assert sent.path == f"/v1beta/models/{DEFAULT_TRANSCRIBE_MODEL}:generateContent"
    assert sent.headers["x-goog-api-key"] == KEY
    inline = sent.parts[0]["inlineData"]
    assert base64.urlsafe_b64decode(inline["data"]) == AUDIO  # the SDK sends URL-safe base64
    assert inline.get("mimeType", inline.get("mime_type")) == MIME
    config = sent.body["generationConfig"]
    assert config["responseMimeType"] == "application/json"
    assert config["temperature"] == 0
    schema = config["responseSchema"]
    word = schema["properties"]["words"]["items"]
    assert schema["properties"]["words"]["type"] == "ARRAY"
    assert set(word["required"]) == {"text", "start", "end"}
    assert word["properties"]["start"]["type"] == "NUMBER"
    assert "seconds" in sent.prompt


def test_the_language_and_the_known_lyrics_go_into_the_prompt(gemini: FakeGemini) -> None:
    gemini.reply = Reply(body=answer([w("Hola", 1.0, 1.4)], language=None))
    t = gemini.transcriber(model="gemini-2.5-pro")
    result = transcribe(t, language="es", hint="Hola mundo\nadiós")
    assert result.language == "es"  # the model said nothing: the language asked for
    assert result.model == "gemini-2.5-pro"
    [sent] = gemini.requests
    assert sent.path == "/v1beta/models/gemini-2.5-pro:generateContent"
    assert "Hola mundo\nadiós" in sent.prompt
    assert "'es'" in sent.prompt


def test_an_instrumental_gives_no_words(gemini: FakeGemini) -> None:
    gemini.reply = Reply(body=answer([], language=None))
    result = transcribe(gemini.transcriber())
    assert result.words == [] and result.language is None


def test_the_words_are_tidied(gemini: FakeGemini) -> None:
    words = [
        w("  ", 0.0, 0.2),  # empty: dropped
        w("Oh", -0.04, 0.5),  # a hair before zero: clamped
        w("la", 0.45, 0.8),  # overlaps "Oh": "Oh" ends where "la" starts
        w("di", 0.8, 0.8),  # no length: given one
        w("da", 0.79, 1.2),  # a hair before "di": moved after it
        w("long   word", 2.0, 2.5),  # spaces inside are normalised
    ]
    fenced = "```json\n" + json.dumps({"language": "EN", "words": words}) + "\n```"
    gemini.reply = Reply(body=answer(text=fenced))
    result = transcribe(gemini.transcriber())
    got = [(x.text, x.start, x.end) for x in result.words]
    assert [g[0] for g in got] == ["Oh", "la", "di", "da", "long word"]
    assert got[0][1] == 0.0 and got[0][2] == 0.45
    for before, after in zip(result.words, result.words[1:], strict=False):
        assert before.end <= after.start + 1e-9
        assert after.end > after.start
    assert result.language == "en"


# ---- failures ----------------------------------------------------------------------------------


def test_a_rate_limit_is_retryable_after_the_retry_after_header(gemini: FakeGemini) -> None:
    gemini.reply = Reply(
        429,
        google_error(429, "RESOURCE_EXHAUSTED", "Resource has been exhausted (e.g. check quota)."),
        headers={"Retry-After": "7"},
    )
    err = fails(gemini.transcriber())
    assert isinstance(err, RateLimited) and err.retryable
    assert err.retry_after == 7.0
    assert "rate-limiting" in err.message and "RESOURCE_EXHAUSTED" in err.message
    assert len(gemini.requests) == 1  # the SDK does not retry: the job runner does


def test_a_retry_after_date_becomes_seconds(gemini: FakeGemini) -> None:
    when = datetime.now(UTC) + timedelta(seconds=30)
    gemini.reply = Reply(
        429,
        google_error(429, "RESOURCE_EXHAUSTED", "Quota"),
        headers={"Retry-After": format_datetime(when, usegmt=True)},
    )
    err = fails(gemini.transcriber())
    assert isinstance(err, RateLimited)
    assert err.retry_after is not None and 20.0 < err.retry_after <= 30.0


def test_a_rate_limit_without_the_header_uses_the_retry_info(gemini: FakeGemini) -> None:
    retry_info = {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "27s"}
    gemini.reply = Reply(429, google_error(429, "RESOURCE_EXHAUSTED", "Quota", retry_info))
    err = fails(gemini.transcriber())
    assert isinstance(err, RateLimited) and err.retry_after == 27.0


def test_a_rate_limit_without_any_delay_has_none(gemini: FakeGemini) -> None:
    gemini.reply = Reply(429, google_error(429, "RESOURCE_EXHAUSTED", "Quota"))
    err = fails(gemini.transcriber())
    assert isinstance(err, RateLimited) and err.retry_after is None


@pytest.mark.parametrize("code", [500, 503])
def test_a_server_error_is_retryable(gemini: FakeGemini, code: int) -> None:
    status = "INTERNAL" if code == 500 else "UNAVAILABLE"
    gemini.reply = Reply(code, google_error(code, status, "The model is overloaded."))
    err = fails(gemini.transcriber())
    assert isinstance(err, ProviderUnavailable) and err.retryable
    assert f"HTTP {code}" in err.message and "overloaded" in err.message
    assert len(gemini.requests) == 1


def test_an_html_error_page_is_still_a_server_error(gemini: FakeGemini) -> None:
    gemini.reply = Reply(502, b"<html>Bad Gateway</html>")
    assert isinstance(fails(gemini.transcriber()), ProviderUnavailable)


def test_a_slow_answer_times_out(gemini: FakeGemini) -> None:
    gemini.reply = Reply(body=answer([w("late", 0.0, 1.0)]), delay=10.0)
    began = time.monotonic()
    err = fails(gemini.transcriber(timeout=1.0))
    assert time.monotonic() - began < 5.0
    assert isinstance(err, ProviderTimeout) and err.retryable
    assert "did not answer within 1 s" in err.message


def test_an_unreachable_service_is_retryable() -> None:
    with ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler) as closed:
        port = closed.server_address[1]
    t = GeminiTranscriber(KEY, base_url=f"http://127.0.0.1:{port}", timeout=5)
    err = fails(t)
    assert isinstance(err, ProviderUnavailable) and "cannot be reached" in err.message


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"promptFeedback": {"blockReason": "PROHIBITED_CONTENT"}}, "PROHIBITED_CONTENT"),
        (answer(finish="SAFETY", text=""), "SAFETY"),
        (answer(finish="BLOCKLIST", text=""), "BLOCKLIST"),
        (answer(finish="RECITATION", text='{"words": [{"te'), "RECITATION"),
    ],
)
def test_a_safety_block_is_a_content_rejection(
    gemini: FakeGemini, body: dict[str, Any], reason: str
) -> None:
    gemini.reply = Reply(body=body)
    err = fails(gemini.transcriber())
    assert isinstance(err, ContentRejected) and not err.retryable
    assert err.details["reason"] == reason and reason in err.message
    assert err.hint is not None and "LRC/SRT/VTT" in err.hint


@pytest.mark.parametrize(
    ("reply", "why"),
    [
        (Reply(body=b"this is not json"), "not JSON"),
        (Reply(body=answer(text="Sure! Here are the lyrics: la la la")), "not JSON"),
        (Reply(body=answer(text='{"words": [{"text": "la", "start": 1.0}]}')), "words.0.end"),
        (Reply(body=answer(text='{"words": "la la"}')), "words"),
        (Reply(body={"candidates": []}), "no candidate"),
        (Reply(body={}), "no candidate"),
        (Reply(body=answer(finish="MAX_TOKENS", text='{"words": [')), "MAX_TOKENS"),
        (Reply(body=answer(finish="STOP", text="  ")), "empty"),
        (Reply(body=answer([w("la", 12500.0, 12900.0)])), "outside the audio"),
        (Reply(body=answer([w("la", -3.0, 1.0)])), "outside the audio"),
        (Reply(body=answer([w("la", 5.0, 2.0)])), "ends before it starts"),
        (Reply(body=answer([w("one", 10.0, 10.5), w("two", 3.0, 3.5)])), "out of order"),
    ],
)
def test_an_unusable_answer_is_a_provider_error(gemini: FakeGemini, reply: Reply, why: str) -> None:
    gemini.reply = reply
    err = fails(gemini.transcriber())
    assert type(err) is ProviderError and not err.retryable
    assert "answered with something unusable" in err.message and why in err.message
    assert err.hint is not None and "LRC/SRT/VTT" in err.hint


@pytest.mark.parametrize(
    ("code", "body"),
    [
        (401, google_error(401, "UNAUTHENTICATED", f"Request had invalid credentials {KEY}.")),
        (403, google_error(403, "PERMISSION_DENIED", "Method doesn't allow unregistered callers.")),
        (
            400,
            google_error(
                400,
                "INVALID_ARGUMENT",
                f"API key not valid. Please pass a valid API key. ({KEY})",
                {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID"},
            ),
        ),
    ],
)
def test_a_refused_key_is_unauthorized_and_the_key_is_never_shown(
    gemini: FakeGemini, code: int, body: dict[str, Any]
) -> None:
    gemini.reply = Reply(code, body)
    t = gemini.transcriber()
    err = fails(t)  # also checks the key is in neither str, repr nor payload
    assert isinstance(err, Unauthorized)
    assert err.hint is not None and "GEMINI_API_KEY" in err.hint
    assert KEY not in repr(t) and KEY not in str(t)


def test_a_bad_request_is_invalid_input_with_the_service_message(gemini: FakeGemini) -> None:
    gemini.reply = Reply(
        400, google_error(400, "INVALID_ARGUMENT", "Request contains an invalid argument.")
    )
    err = fails(gemini.transcriber())
    assert type(err) is InvalidInput and "Request contains an invalid argument." in err.message


def test_an_unknown_model_is_invalid_input(gemini: FakeGemini) -> None:
    gemini.reply = Reply(
        404, google_error(404, "NOT_FOUND", "models/gemini-0 is not found for API version v1beta")
    )
    err = fails(gemini.transcriber(model="gemini-0"))
    assert isinstance(err, InvalidInput) and "not found" in err.message
    assert err.hint is not None and "model name" in err.hint


def test_audio_over_the_inline_limit_is_refused_before_sending(gemini: FakeGemini) -> None:
    err = fails(gemini.transcriber(), audio=b"\0" * (MAX_INLINE_AUDIO_BYTES + 1))
    assert isinstance(err, PayloadTooLarge) and isinstance(err, InvalidInput)
    assert err.hint is not None and "Opus" in err.hint and "32 kbps" in err.hint
    assert gemini.requests == []


@pytest.mark.parametrize(
    ("kw", "says"),
    [
        ({"audio": b""}, "empty"),
        ({"mime_type": "text/plain"}, "not an audio type"),
        ({"language": "English please"}, "not a language code"),
        ({"hint": "la " * 10_000}, "lyrics hint"),
    ],
)
def test_bad_arguments_are_refused_before_sending(
    gemini: FakeGemini, kw: dict[str, Any], says: str
) -> None:
    err = fails(gemini.transcriber(), **kw)
    assert isinstance(err, InvalidInput) and says in err.message
    assert gemini.requests == []


def test_a_transcriber_needs_a_key_a_model_name_and_a_timeout() -> None:
    with pytest.raises(Unauthorized):
        GeminiTranscriber("  ")
    with pytest.raises(InvalidInput, match="model name"):
        GeminiTranscriber(KEY, model="gemini 2.5 flash")
    with pytest.raises(InvalidInput, match="timeout"):
        GeminiTranscriber(KEY, timeout=0)


# ---- the registry and the protocol -------------------------------------------------------------


def test_with_no_key_the_registry_says_how_to_get_lyrics_without_one() -> None:
    for environ in ({}, {"GEMINI_API_KEY": "  ", "GOOGLE_API_KEY": ""}):
        with pytest.raises(Unauthorized) as info:
            resolve_transcriber(environ=environ)
        err = info.value
        assert "Gemini API key" in err.message and "transcription" in err.message
        assert err.hint is not None
        assert "GEMINI_API_KEY" in err.hint and "GOOGLE_API_KEY" in err.hint
        assert "LRC/SRT/VTT" in err.hint
    with pytest.raises(Unauthorized):
        resolve_transcriber("gemini", environ={})


def test_the_registry_builds_the_gemini_transcriber_from_the_environment() -> None:
    t = resolve_transcriber(environ={"GEMINI_API_KEY": "k"})
    assert isinstance(t, GeminiTranscriber) and isinstance(t, Transcriber)
    assert t.name == "gemini" and t.model == DEFAULT_TRANSCRIBE_MODEL
    assert "'k'" not in repr(t)
    google = resolve_transcriber("Gemini", environ={"GOOGLE_API_KEY": KEY})
    assert isinstance(google, GeminiTranscriber) and KEY not in repr(google)
    pro = resolve_transcriber("gemini:gemini-2.5-pro", environ={"GEMINI_API_KEY": "k"})
    assert isinstance(pro, GeminiTranscriber) and pro.model == "gemini-2.5-pro"


def test_an_unknown_transcriber_lists_the_known_ones() -> None:
    with pytest.raises(InvalidInput) as info:
        resolve_transcriber("whisper", environ={"GEMINI_API_KEY": "k"})
    assert "whisper" in info.value.message
    assert info.value.hint is not None and "gemini" in info.value.hint


def test_the_transcription_models_keep_their_promises() -> None:
    with pytest.raises(ValidationError):
        TranscribedWord(text="la", start=1.0, end=1.0)
    with pytest.raises(ValidationError):
        TranscribedWord(text="", start=1.0, end=2.0)
    with pytest.raises(ValidationError):
        TranscribedWord(text="la", start=-0.1, end=2.0)
    with pytest.raises(ValidationError):
        TranscribedWord(text="la", start=0.0, end=math.inf)
    with pytest.raises(ValidationError, match="out of order"):
        Transcription(
            words=[
                TranscribedWord(text="b", start=2.0, end=3.0),
                TranscribedWord(text="a", start=1.0, end=2.0),
            ],
            language=None,
            provider="gemini",
            model="m",
        )


@pytest.mark.parametrize("package", ["studio.providers", "studio.providers.gemini"])
def test_public_surface_is_all(package: str) -> None:
    module = importlib.import_module(package)
    public = {
        n
        for n, v in vars(module).items()
        if not n.startswith("_") and not isinstance(v, type(importlib))
    }
    assert public == set(module.__all__), public ^ set(module.__all__)


# ---- the real service, on request --------------------------------------------------------------


def _tone_wav(seconds: float = 2.0, rate: int = 16000) -> bytes:
    frames = bytearray()
    for i in range(int(seconds * rate)):
        sample = int(8000 * math.sin(2 * math.pi * 440 * i / rate))
        frames += sample.to_bytes(2, "little", signed=True)
    out = io.BytesIO()
    with wave.open(out, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(bytes(frames))
    return out.getvalue()


@pytest.mark.live
@pytest.mark.skipif(
    not os.environ.get("GEMINI_API_KEY"), reason="set GEMINI_API_KEY to call the real Gemini API"
)
def test_live_gemini_answers_in_the_schema() -> None:
    t = resolve_transcriber("gemini")
    result = asyncio.run(t.transcribe(_tone_wav(), "audio/wav"))
    assert result.provider == "gemini"
    assert all(word.end <= 3.0 + 0.5 for word in result.words)  # a 2 s tone, no singing
