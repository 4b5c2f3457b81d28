"""A fake Gemini API on 127.0.0.1 for the real google-genai SDK to talk to.

It answers the way the service does: ``POST /v1beta/models/{model}:generateContent`` and
``:predictLongRunning``, ``GET /v1beta/{operation}`` and ``GET /v1beta/files/{id}:download``,
JSON bodies and Google-style error bodies. A test scripts the replies (``fake.answer(a, b, c)``
sends ``a`` to the first request, ``b`` to the second ...; every request after the script gets
``fake.reply``) and reads what was sent from ``fake.requests``.
"""

from __future__ import annotations

import base64
import collections
import contextlib
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

__all__ = [
    "FakeGemini",
    "Reply",
    "Request",
    "content",
    "function_call",
    "google_error",
    "inline_image",
    "operation",
]


@dataclass
class Reply:
    """What the fake sends back: a status, a JSON (dict) or raw (bytes) body, headers, and a
    delay before it answers (ended early when the test is over)."""

    status: int = 200
    body: bytes | dict[str, Any] = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    content_type: str | None = None
    """By default ``application/json`` for a dict body and ``text/plain`` for bytes."""


@dataclass
class Request:
    """One request the fake received."""

    method: str
    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    """The JSON body; empty for a GET."""

    @property
    def parts(self) -> list[dict[str, Any]]:
        """The parts of the last content sent (a generateContent request)."""
        return self.body["contents"][-1]["parts"]  # type: ignore[no-any-return]

    @property
    def prompt(self) -> str:
        return "".join(p.get("text", "") for p in self.parts)


class FakeGemini:
    """A threaded HTTP server that records each request and sends the scripted replies, then
    ``self.reply``."""

    def __init__(self) -> None:
        self.requests: list[Request] = []
        self.reply = Reply()
        self.script: collections.deque[Reply] = collections.deque()
        self.release = threading.Event()  # ends a slow reply early when the test is over
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self._answer("GET")

            def do_POST(self) -> None:
                self._answer("POST")

            def _answer(self, method: str) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length", "0") or 0))
                fake._record(
                    Request(
                        method,
                        self.path,
                        {k.lower(): v for k, v in self.headers.items()},
                        json.loads(raw) if raw.strip() else {},
                    )
                )
                reply = fake._next()
                if reply.delay:
                    fake.release.wait(reply.delay)
                body = reply.body
                data = json.dumps(body).encode() if isinstance(body, dict) else body
                content_type = reply.content_type or (
                    "application/json" if isinstance(body, dict) else "text/plain"
                )
                with contextlib.suppress(OSError):  # the client may have given up
                    self.send_response(reply.status)
                    self.send_header("Content-Type", content_type)
                    self.send_header("Content-Length", str(len(data)))
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def _record(self, request: Request) -> None:
        with self._lock:
            self.requests.append(request)

    def _next(self) -> Reply:
        with self._lock:
            return self.script.popleft() if self.script else self.reply

    def answer(self, *replies: Reply) -> None:
        """Send ``replies`` in order, one per request, before falling back to ``self.reply``."""
        with self._lock:
            self.script.extend(replies)

    def reset(self) -> None:
        """No requests, no script, an empty reply: fresh for the next test."""
        with self._lock:
            self.requests.clear()
            self.script.clear()
            self.reply = Reply()
        self.release.clear()

    @property
    def base_url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    @classmethod
    @contextlib.contextmanager
    def running(cls) -> Iterator[Self]:
        """A fake on a free loopback port, shut down (and its thread joined) at the end."""
        fake = cls()
        fake.thread.start()
        try:
            yield fake
        finally:
            fake.release.set()
            fake.server.shutdown()
            fake.server.server_close()
            fake.thread.join(5)


# ---- what the service says ---------------------------------------------------------------------


def google_error(code: int, status: str, message: str, *details: dict[str, Any]) -> dict[str, Any]:
    """A Google API error body."""
    return {"error": {"code": code, "message": message, "status": status, "details": [*details]}}


def content(
    *parts: dict[str, Any] | str,
    finish: str = "STOP",
    model: str = "gemini-2.5-flash",
    usage: tuple[int, int] = (90, 40),
) -> dict[str, Any]:
    """A generateContent answer whose one candidate has ``parts`` (strings become text)."""
    return {
        "candidates": [
            {
                "content": {
                    "parts": [{"text": p} if isinstance(p, str) else p for p in parts],
                    "role": "model",
                },
                "finishReason": finish,
                "index": 0,
            }
        ],
        "usageMetadata": {"promptTokenCount": usage[0], "candidatesTokenCount": usage[1]},
        "modelVersion": model,
    }


def function_call(
    name: str, args: dict[str, Any], *, id: str | None = None, signature: bytes | None = None
) -> dict[str, Any]:
    """A part in which the model asks for a tool."""
    call: dict[str, Any] = {"name": name, "args": args}
    if id is not None:
        call["id"] = id
    part: dict[str, Any] = {"functionCall": call}
    if signature is not None:
        part["thoughtSignature"] = base64.b64encode(signature).decode()
    return part


def inline_image(data: bytes, mime_type: str = "image/png") -> dict[str, Any]:
    """A part that carries a picture, as the image models answer."""
    return {"inlineData": {"mimeType": mime_type, "data": base64.b64encode(data).decode()}}


def operation(
    name: str,
    *,
    done: bool = False,
    videos: list[dict[str, Any]] | None = None,
    filtered: list[str] | None = None,
    error: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A Veo long-running operation as the Gemini API reports it."""
    body: dict[str, Any] = {"name": name}
    if done:
        body["done"] = True
    if error is not None:
        body["error"] = error
    elif done:
        answer: dict[str, Any] = {"generatedSamples": [{"video": v} for v in videos or []]}
        if filtered:
            answer["raiMediaFilteredCount"] = len(filtered)
            answer["raiMediaFilteredReasons"] = filtered
        body["response"] = {
            "@type": "type.googleapis.com/google.ai.generativelanguage.v1beta"
            ".PredictLongRunningResponse",
            "generateVideoResponse": answer,
        }
    return body
