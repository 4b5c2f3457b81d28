"""A fake Replicate on 127.0.0.1: the HTTP API as documented, with real output files.

It answers

- ``POST /v1/models/{owner}/{name}/predictions`` (official models) and ``POST /v1/predictions``
  (``{"version": ...}``): creates a prediction, the paid call, counted in ``predictions_created``;
- ``GET /v1/predictions/{id}``: ``starting``, then ``processing``, then ``succeeded`` after
  ``polls`` polls (0: the prediction is done when it is created);
- ``POST /v1/predictions/{id}/cancel``;
- ``GET /v1/predictions``: the account's predictions, newest first, ``page_size`` a page, the
  next page at ``next`` (a ``?cursor=`` URL), as the API pages them;
- ``POST /v1/files`` (multipart upload) and ``GET /v1/files/{id}``;
- ``GET /files/{name}``: the outputs it made, a real PNG (sized by the request's aspect ratio or
  width and height, an eighth of it), a real MP4 (64x36, 8 fps, the requested duration, made
  with ffmpeg once per size) or a real WAV (8 kHz mono, the requested duration);
- ``GET /_fake/stats`` (counts), ``GET /_fake/requests``, and ``POST /_fake/fail``,
  ``/_fake/prediction_fails``, ``/_fake/reset`` to script it from another process.

Every request is recorded (method, path, headers, body). Scripted trouble is queued:
``fail_next(3, status=429, retry_after=0.2)``, ``fail_next(status=500, on="poll")``,
``delay_next(5.0)``, ``prediction_fails("NSFW content detected")``, ``prediction_outputs(None)``,
``fail_next(status=200, body=b"{not json", on="create")``.

As a process: ``python -m tests.providers.fake_replicate --port-file PATH`` writes its port to
PATH and serves until it is sent SIGTERM or SIGINT.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import email.parser
import io
import json
import math
import os
import re
import secrets
import signal
import subprocess
import tempfile
import threading
import urllib.parse
import wave
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Literal

On = Literal["any", "create", "poll", "cancel", "upload", "download"]
ON_VALUES: tuple[str, ...] = ("any", "create", "poll", "cancel", "upload", "download")
_UNSET: Any = object()

KNOWN_VERSIONS = {
    "671ac645ce5e552cc63a54a2bbff63fcf798043055d2dac5fc9e36a837eedcfb": "meta/musicgen",
    "7762fd07cf82c948538e41f63f77d685e02b063e37e496e96eefd46c929f9bdc": "stability-ai/sdxl",
}
"""Community-model versions the fake knows the name of (the real API knows them all)."""


# ---- real media, made once --------------------------------------------------------------------


@cache
def png_bytes(width: int, height: int) -> bytes:
    """A real PNG of ``width`` x ``height``: a gradient, so it is not blank."""
    from PIL import Image

    image = Image.new("RGB", (width, height))
    image.putdata(
        [
            (x * 255 // max(1, width - 1), y * 255 // max(1, height - 1), 128)
            for y in range(height)
            for x in range(width)
        ]
    )
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


@cache
def mp4_bytes(seconds: int, width: int = 64, height: int = 36, fps: int = 8) -> bytes:
    """A real H.264 MP4 (a test pattern), made with the ffmpeg binary of imageio-ffmpeg."""
    import imageio_ffmpeg

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "clip.mp4"
        base = [
            imageio_ffmpeg.get_ffmpeg_exe(),
            "-v", "error", "-y",
            "-f", "lavfi", "-i", f"testsrc=size={width}x{height}:rate={fps}",
            "-t", str(seconds), "-pix_fmt", "yuv420p", "-movflags", "+faststart",
        ]  # fmt: skip
        for codec in (["-c:v", "libx264"], ["-c:v", "mpeg4"]):
            done = subprocess.run([*base, *codec, str(out)], capture_output=True, timeout=60)
            if done.returncode == 0 and out.exists():
                return out.read_bytes()
        raise RuntimeError(f"ffmpeg could not make a test clip: {done.stderr[-500:]!r}")


@cache
def wav_bytes(seconds: int, rate: int = 8000) -> bytes:
    """A real WAV: a 440 Hz tone, mono, 16 bit."""
    frames = bytearray()
    for i in range(int(seconds * rate)):
        frames += int(6000 * math.sin(2 * math.pi * 440 * i / rate)).to_bytes(
            2, "little", signed=True
        )
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(bytes(frames))
    return out.getvalue()


# ---- what it records and what it is told -------------------------------------------------------


@dataclass
class Recorded:
    """One request the fake received."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any
    """The JSON body, parsed; raw bytes when it is not JSON (uploads)."""
    kind: str
    """``create``, ``poll``, ``list``, ``cancel``, ``upload``, ``download`` or ``other``."""
    prediction_id: str | None = None
    """For a create that made a prediction: its id."""
    query: str = ""


@dataclass
class Scripted:
    """A reply to give instead of the normal one (``status=None``: the normal one, late)."""

    status: int | None
    on: str = "any"
    body: bytes | dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


@dataclass
class Prediction:
    id: str
    model: str
    version: str
    input: dict[str, Any]
    created_at: str
    polls_left: int
    status: str = "starting"
    output: Any = None
    error: str | None = None
    ending: tuple[str, Any, str | None] | None = None
    """What it ends as when done: (status, output, error); None: succeeded with real files."""
    started_at: str | None = None
    completed_at: str | None = None


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def _kind_of(model: str, inputs: dict[str, Any]) -> str:
    """What a model makes, as far as the fake can tell: ``image``, ``video`` or ``audio``."""
    name = model.lower()
    if any(w in name for w in ("musicgen", "music", "audio")) or inputs.get("output_format") in (
        "wav",
        "mp3",
    ):
        return "audio"
    if any(w in name for w in ("kling", "seedance", "video", "wan-", "hailuo", "i2v")):
        return "video"
    if "start_image" in inputs or "num_frames" in inputs:
        return "video"
    return "image"


def _image_size(inputs: dict[str, Any]) -> tuple[int, int]:
    ratio = inputs.get("aspect_ratio")
    if isinstance(ratio, str) and re.fullmatch(r"\d+:\d+", ratio):
        a, b = (int(x) for x in ratio.split(":"))
        return a * 8, b * 8
    width, height = inputs.get("width"), inputs.get("height")
    if isinstance(width, int) and isinstance(height, int) and width > 0 and height > 0:
        return max(1, width // 8), max(1, height // 8)
    return 64, 64


class FakeReplicate:
    """A threaded HTTP server answering like Replicate's API; see the module's docstring."""

    def __init__(self, *, polls: int = 2, token: str | None = None, port: int = 0) -> None:
        self.polls = polls
        """Polls a prediction takes to finish (0: done when created)."""
        self.page_size = 100
        """Predictions a list page holds (the API's 100)."""
        self.token = token
        """When set, only ``Bearer <token>`` is accepted; otherwise any non-empty token."""
        self._lock = threading.RLock()
        self._requests: list[Recorded] = []
        self._script: list[Scripted] = []
        self._endings: list[tuple[str, Any, str | None]] = []
        self.predictions: dict[str, Prediction] = {}
        self.files: dict[str, tuple[bytes, str]] = {}
        self.uploads: dict[str, tuple[bytes, str, str]] = {}
        """Uploaded files by id: (content, filename, content type)."""
        self.canceled: list[str] = []
        self.release = threading.Event()
        """Set to end every slow reply at once (the tests' teardown does)."""
        self._generation = 0  # reset() moves it on; a slow reply from before is then dropped
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                fake._handle(self, "GET")

            def do_POST(self) -> None:
                fake._handle(self, "POST")

            def do_DELETE(self) -> None:
                fake._handle(self, "DELETE")

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    # ---- lifecycle ----

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> FakeReplicate:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)

    @classmethod
    @contextlib.contextmanager
    def running(cls, **options: Any) -> Iterator[FakeReplicate]:
        """A fake on a free loopback port, shut down (and its thread joined) at the end."""
        fake = cls(**options).start()
        try:
            yield fake
        finally:
            fake.stop()

    # ---- scripting ----

    def fail_next(
        self,
        n: int = 1,
        *,
        status: int = 500,
        retry_after: float | str | None = None,
        body: bytes | dict[str, Any] | None = None,
        delay: float = 0.0,
        on: On = "any",
    ) -> None:
        """Answer the next ``n`` requests of kind ``on`` with ``status`` (and ``body``; by
        default a problem-details JSON like Replicate's), after ``delay`` seconds."""
        if on not in ON_VALUES:
            raise ValueError(f"on must be one of {ON_VALUES}, not {on!r}")
        headers = {} if retry_after is None else {"Retry-After": f"{retry_after}"}
        with self._lock:
            self._script += [Scripted(status, on, body, dict(headers), delay) for _ in range(n)]

    def delay_next(self, seconds: float, n: int = 1, *, on: On = "any") -> None:
        """Answer the next ``n`` requests of kind ``on`` normally, but ``seconds`` late."""
        with self._lock:
            self._script += [Scripted(None, on, delay=seconds) for _ in range(n)]

    def prediction_fails(self, error: str, n: int = 1, *, status: str = "failed") -> None:
        """The next ``n`` created predictions end ``status`` (``failed`` or ``canceled``) with
        ``error``."""
        with self._lock:
            self._endings += [(status, None, error)] * n

    def prediction_outputs(self, output: Any, n: int = 1) -> None:
        """The next ``n`` created predictions succeed with ``output`` as it is (any JSON)."""
        with self._lock:
            self._endings += [("succeeded", output, None)] * n

    def reset(self) -> None:
        """Forget requests, predictions and scripts (the files it served stay)."""
        with self._lock:
            self._requests.clear()
            self._script.clear()
            self._endings.clear()
            self.predictions.clear()
            self.uploads.clear()
            self.canceled.clear()
            self._generation += 1
        self.release.clear()

    # ---- what happened ----

    @property
    def requests(self) -> list[Recorded]:
        with self._lock:
            return list(self._requests)

    def of_kind(self, kind: str) -> list[Recorded]:
        return [r for r in self.requests if r.kind == kind]

    @property
    def created(self) -> list[Recorded]:
        """The create requests that made a prediction (the paid calls), in order."""
        with self._lock:
            ids = set(self.predictions)
        return [r for r in self.requests if r.kind == "create" and r.prediction_id in ids]

    @property
    def predictions_created(self) -> int:
        with self._lock:
            return len(self.predictions)

    def stats(self) -> dict[str, Any]:
        with self._lock:
            by_model: dict[str, int] = {}
            for p in self.predictions.values():
                by_model[p.model] = by_model.get(p.model, 0) + 1
            return {
                "predictions_created": len(self.predictions),
                "by_model": by_model,
                "requests": len(self._requests),
                "canceled": len(self.canceled),
                "uploads": len(self.uploads),
                "scripted_left": len(self._script),
            }

    # ---- the HTTP side ----

    def _handle(self, h: BaseHTTPRequestHandler, method: str) -> None:
        path, _, query = h.path.partition("?")
        raw = h.rfile.read(int(h.headers.get("Content-Length") or 0))
        headers = {k.lower(): v for k, v in h.headers.items()}
        if path.startswith("/_fake/"):
            self._control(h, method, path, raw)
            return
        kind = self._kind(method, path)
        body: Any = raw
        if raw and "json" in headers.get("content-type", ""):
            try:
                body = json.loads(raw)
            except ValueError:
                body = raw
        record = Recorded(method, path, headers, body, kind, query=query)
        with self._lock:
            generation = self._generation
            self._requests.append(record)
            scripted = next(
                (s for s in self._script if s.on in ("any", kind)),
                None,
            )
            if scripted is not None:
                self._script.remove(scripted)
        if scripted is not None and scripted.delay:
            self.release.wait(scripted.delay)
            with self._lock:
                if generation != self._generation:
                    return  # the test that asked for it is over; answer nothing
        if scripted is not None and scripted.status is not None:
            reply = scripted.body
            if reply is None:
                reply = {
                    "title": f"Fake failure {scripted.status}",
                    "detail": f"The fake was told to answer {scripted.status}.",
                    "status": scripted.status,
                }
            self._send(h, scripted.status, reply, scripted.headers)
            return
        if kind != "download" and not self._authorized(headers):
            self._send(
                h,
                401,
                {
                    "title": "Unauthenticated",
                    "detail": "You did not pass a valid authentication token",
                    "status": 401,
                },
            )
            return
        try:
            status, reply, reply_headers = self._answer(method, path, body, headers, record)
        except Exception as exc:  # a bug in the fake must show, not hang the client
            status, reply, reply_headers = 500, {"detail": f"fake crashed: {exc!r}"}, {}
        self._send(h, status, reply, reply_headers)

    def _authorized(self, headers: dict[str, str]) -> bool:
        given = headers.get("authorization", "")
        if not given.startswith("Bearer ") or not given[7:].strip():
            return False
        return self.token is None or given[7:] == self.token

    @staticmethod
    def _kind(method: str, path: str) -> str:
        if method == "POST" and (
            path == "/v1/predictions" or re.fullmatch(r"/v1/models/[^/]+/[^/]+/predictions", path)
        ):
            return "create"
        if method == "GET" and re.fullmatch(r"/v1/predictions/[^/]+", path):
            return "poll"
        if method == "GET" and path == "/v1/predictions":
            return "list"
        if method == "POST" and re.fullmatch(r"/v1/predictions/[^/]+/cancel", path):
            return "cancel"
        if method == "POST" and path == "/v1/files":
            return "upload"
        if method == "GET" and path.startswith("/files/"):
            return "download"
        return "other"

    def _answer(
        self,
        method: str,
        path: str,
        body: Any,
        headers: dict[str, str],
        record: Recorded,
    ) -> tuple[int, bytes | dict[str, Any], dict[str, str]]:
        kind = record.kind
        if kind == "create":
            return self._create(path, body, record)
        if kind == "poll":
            return self._poll(path.rsplit("/", 1)[1])
        if kind == "list":
            return self._list(record.query)
        if kind == "cancel":
            return self._cancel(path.split("/")[3])
        if kind == "upload":
            return self._upload(body, headers)
        if kind == "download":
            with self._lock:
                found = self.files.get(path[len("/files/") :])
            if found is None:
                return 404, b"Not Found", {"Content-Type": "text/plain"}
            return 200, found[0], {"Content-Type": found[1]}
        if method == "GET" and path.startswith("/v1/files/"):
            with self._lock:
                upload = self.uploads.get(path.rsplit("/", 1)[1])
            if upload is None:
                return 404, {"detail": "Not found.", "status": 404}, {}
            return 200, upload[0], {"Content-Type": upload[2]}
        return 404, {"title": "Not found", "detail": f"No route for {method} {path}"}, {}

    def _create(
        self, path: str, body: Any, record: Recorded
    ) -> tuple[int, bytes | dict[str, Any], dict[str, str]]:
        if not isinstance(body, dict) or not isinstance(body.get("input"), dict):
            return 422, {"title": "Input validation failed", "detail": "input is required"}, {}
        if path == "/v1/predictions":
            version = str(body.get("version", ""))
            name, _, version_id = version.rpartition(":")
            model = name or KNOWN_VERSIONS.get(version_id, "unknown/unknown")
            version = version_id
        else:
            owner, name = path.split("/")[3:5]
            model, version = f"{owner}/{name}", "hidden"
        prediction = Prediction(
            id=secrets.token_hex(13),
            model=model,
            version=version,
            input=body["input"],
            created_at=_now(),
            polls_left=self.polls,
        )
        with self._lock:
            if self._endings:
                prediction.ending = self._endings.pop(0)
            self.predictions[prediction.id] = prediction
            record.prediction_id = prediction.id
            if prediction.polls_left <= 0:
                self._finish(prediction)
            return 201, self._json(prediction), {}

    def _poll(self, prediction_id: str) -> tuple[int, bytes | dict[str, Any], dict[str, str]]:
        with self._lock:
            prediction = self.predictions.get(prediction_id)
            if prediction is None:
                return 404, {"title": "Not found", "detail": "Not found.", "status": 404}, {}
            if prediction.status in ("starting", "processing"):
                prediction.polls_left -= 1
                prediction.status = "processing"
                prediction.started_at = prediction.started_at or _now()
                if prediction.polls_left <= 0:
                    self._finish(prediction)
            return 200, self._json(prediction), {}

    def _list(self, query: str) -> tuple[int, bytes | dict[str, Any], dict[str, str]]:
        cursor = urllib.parse.parse_qs(query).get("cursor", ["0"])[0]
        if not cursor.isdigit():
            return 400, {"title": "Bad cursor", "detail": f"cursor {cursor!r}", "status": 400}, {}
        start, size = int(cursor), self.page_size
        with self._lock:
            newest_first = list(reversed(self.predictions.values()))
            page = [self._json(p) for p in newest_first[start : start + size]]
        more = start + size < len(newest_first)
        after = f"{self.base_url}/v1/predictions?cursor={start + size}" if more else None
        return 200, {"next": after, "previous": None, "results": page}, {}

    def _cancel(self, prediction_id: str) -> tuple[int, bytes | dict[str, Any], dict[str, str]]:
        with self._lock:
            prediction = self.predictions.get(prediction_id)
            if prediction is None:
                return 404, {"title": "Not found", "detail": "Not found.", "status": 404}, {}
            self.canceled.append(prediction_id)
            if prediction.status in ("starting", "processing"):
                prediction.status = "canceled"
                prediction.completed_at = _now()
            return 200, self._json(prediction), {}

    def _upload(
        self, body: Any, headers: dict[str, str]
    ) -> tuple[int, bytes | dict[str, Any], dict[str, str]]:
        raw = body if isinstance(body, bytes) else b""
        message = email.parser.BytesParser().parsebytes(
            b"Content-Type: " + headers.get("content-type", "").encode() + b"\r\n\r\n" + raw
        )
        for part in message.walk():
            if part.get_param("name", header="content-disposition") == "content":
                content = part.get_payload(decode=True)
                if not isinstance(content, bytes):
                    break
                file_id = secrets.token_hex(8)
                filename = str(part.get_filename() or "file")
                content_type = part.get_content_type()
                with self._lock:
                    self.uploads[file_id] = (content, filename, content_type)
                return (
                    201,
                    {
                        "id": file_id,
                        "name": filename,
                        "content_type": content_type,
                        "size": len(content),
                        "etag": secrets.token_hex(8),
                        "checksums": {},
                        "metadata": {},
                        "created_at": _now(),
                        "expires_at": None,
                        "urls": {"get": f"{self.base_url}/v1/files/{file_id}"},
                    },
                    {},
                )
        return 400, {"title": "Bad request", "detail": "no file in field 'content'"}, {}

    def _finish(self, prediction: Prediction) -> None:
        prediction.completed_at = _now()
        prediction.started_at = prediction.started_at or prediction.completed_at
        if prediction.ending is not None:
            prediction.status, prediction.output, prediction.error = prediction.ending
            return
        prediction.status = "succeeded"
        kind = _kind_of(prediction.model, prediction.input)
        if kind == "video":
            seconds = int(prediction.input.get("duration") or 5)
            url = self._serve(mp4_bytes(seconds), "video/mp4", ".mp4")
            prediction.output = url
        elif kind == "audio":
            seconds = int(prediction.input.get("duration") or 8)
            prediction.output = self._serve(wav_bytes(seconds), "audio/wav", ".wav")
        else:
            url = self._serve(png_bytes(*_image_size(prediction.input)), "image/png", ".png")
            # FLUX schnell/dev and SDXL answer a list; Kontext answers one URL
            prediction.output = url if "kontext" in prediction.model else [url]

    def _serve(self, data: bytes, content_type: str, suffix: str) -> str:
        name = secrets.token_hex(10) + suffix
        with self._lock:
            self.files[name] = (data, content_type)
        return f"{self.base_url}/files/{name}"

    def _json(self, p: Prediction) -> dict[str, Any]:
        done = p.status in ("succeeded", "failed", "canceled")
        return {
            "id": p.id,
            "model": p.model,
            "version": p.version,
            "input": p.input,
            "logs": "",
            "output": p.output if done else None,
            "data_removed": False,
            "error": p.error,
            "status": p.status,
            "created_at": p.created_at,
            "started_at": p.started_at,
            "completed_at": p.completed_at,
            "urls": {
                "get": f"{self.base_url}/v1/predictions/{p.id}",
                "cancel": f"{self.base_url}/v1/predictions/{p.id}/cancel",
                "web": f"https://replicate.com/p/{p.id}",
            },
            "metrics": {"predict_time": 0.42} if p.status == "succeeded" else {},
        }

    def _control(self, h: BaseHTTPRequestHandler, method: str, path: str, raw: bytes) -> None:
        try:
            args = json.loads(raw) if raw else {}
            if method == "GET" and path == "/_fake/stats":
                self._send(h, 200, self.stats())
            elif method == "GET" and path == "/_fake/requests":
                self._send(
                    h,
                    200,
                    {
                        "requests": [
                            {
                                "method": r.method,
                                "path": r.path,
                                "kind": r.kind,
                                "body": r.body
                                if not isinstance(r.body, bytes)
                                else base64.b64encode(r.body).decode(),
                            }
                            for r in self.requests
                        ]
                    },
                )
            elif method == "POST" and path == "/_fake/fail":
                self.fail_next(
                    int(args.get("n", 1)),
                    status=int(args.get("status", 500)),
                    retry_after=args.get("retry_after"),
                    body=args.get("body"),
                    delay=float(args.get("delay", 0.0)),
                    on=args.get("on", "any"),
                )
                self._send(h, 200, self.stats())
            elif method == "POST" and path == "/_fake/prediction_fails":
                self.prediction_fails(str(args["error"]), int(args.get("n", 1)))
                self._send(h, 200, self.stats())
            elif method == "POST" and path == "/_fake/reset":
                self.reset()
                self._send(h, 200, self.stats())
            else:
                self._send(h, 404, {"detail": f"no fake control {method} {path}"})
        except (ValueError, KeyError, TypeError) as exc:
            self._send(h, 400, {"detail": f"bad control request: {exc}"})

    @staticmethod
    def _send(
        h: BaseHTTPRequestHandler,
        status: int,
        body: bytes | dict[str, Any],
        headers: dict[str, str] | None = None,
    ) -> None:
        data = json.dumps(body).encode() if isinstance(body, dict) else body
        with contextlib.suppress(OSError):  # the client may have given up
            h.send_response(status)
            headers = dict(headers or {})
            if isinstance(body, dict) and not any(k.lower() == "content-type" for k in headers):
                headers["Content-Type"] = "application/json"
            headers.setdefault("Content-Type", "application/octet-stream")
            for name, value in headers.items():
                h.send_header(name, value)
            h.send_header("Content-Length", str(len(data)))
            h.end_headers()
            h.wfile.write(data)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="A fake Replicate API on 127.0.0.1.")
    parser.add_argument("--port-file", required=True, type=Path, help="where to write the port")
    parser.add_argument("--port", type=int, default=0, help="the port (0: a free one)")
    parser.add_argument("--polls", type=int, default=1, help="polls a prediction takes")
    args = parser.parse_args(argv)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    fake = FakeReplicate(polls=args.polls, port=args.port).start()
    try:
        # written whole, then renamed, so a reader never sees half a port
        tmp = args.port_file.with_name(args.port_file.name + ".tmp")
        tmp.write_text(str(fake.port))
        os.replace(tmp, args.port_file)
        while not stop.wait(0.2):
            pass
    finally:
        fake.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
