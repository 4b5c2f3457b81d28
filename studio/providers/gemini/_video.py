"""Gemini's Veo as the studio's clip maker: a scene's approved picture (and, for a morph, the
next one) in, a short clip with the picture as its first frame out.

Veo is a long-running operation: ``predictLongRunning`` starts it, the operation is polled
(``GET`` on its name, through the SDK's ``operations.get``) until it is done or the overall
time is up, and the clip is then downloaded from the file service (or read from the answer,
when the service sends the bytes inline). A clip the service's safety filters removed is a
``ContentRejected`` with the service's reason.

Why the operation is started by hand: google-genai 3.x sends ``models.generate_videos`` only to
Gemini Enterprise (Vertex AI) and refuses it client-side for an API key of the Gemini API,
whose ``predictLongRunning`` still serves Veo. So the request is written here, in the Gemini
API's own form (``instances`` and ``parameters``, images as ``bytesBase64Encoded``), and sent
through the SDK's HTTP client, which keeps the key, the address, the timeout and the error
handling the same as every other call; polling and downloading use the SDK's public calls.
"""

from __future__ import annotations

import asyncio
import base64
import json
import math
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from studio.errors import ContentRejected, InvalidInput, PayloadTooLarge, ProviderTimeout
from studio.model import CameraMove
from studio.providers._journal import call_journal
from studio.providers._protocols import GeneratedVideo, ProviderCard, VideoRequest
from studio.providers.gemini._client import GeminiService, image_type
from studio.providers.gemini._errors import Hints, operation_error, unusable

if TYPE_CHECKING:
    from google.genai import types
    from google.genai.client import AsyncClient

__all__ = ["DEFAULT_VIDEO_MODEL", "VIDEO_PRICES", "GeminiVideoModel", "VideoPlan"]

DEFAULT_VIDEO_MODEL = "veo-3.1-fast-generate-preview"

VIDEO_PRICES: dict[str, float] = {
    "veo-3.1-fast-generate-preview": 0.15,
    "veo-3.1-generate-preview": 0.40,
    "veo-3.0-fast-generate-001": 0.15,
    "veo-3.0-generate-001": 0.40,
    "veo-2.0-generate-001": 0.35,
}
"""Published paid-tier USD per second of video made (with its sound, for Veo 3); an unknown
model is charged as the dearest."""

FPS = 24
MAX_FRAME_BYTES = 14 * 1024 * 1024
"""The first and last frames travel base64 inside a request capped at about 20 MB."""

_CAMERA_WORDS: dict[CameraMove, str] = {
    CameraMove.STATIC: "The camera holds still on a locked-off tripod.",
    CameraMove.ZOOM_IN: "The camera slowly zooms in.",
    CameraMove.ZOOM_OUT: "The camera slowly zooms out.",
    CameraMove.PAN_LEFT: "The camera pans slowly to the left.",
    CameraMove.PAN_RIGHT: "The camera pans slowly to the right.",
    CameraMove.PAN_UP: "The camera tilts slowly upwards.",
    CameraMove.PAN_DOWN: "The camera tilts slowly downwards.",
    CameraMove.PUSH_IN: "The camera dollies forward, pushing in on the subject.",
    CameraMove.ROTATE: "The camera arcs slowly around the subject.",
}
_REFUSED_HINT = "reword the prompt or choose another picture; the refusal is the service's"
_OPERATION_RE = re.compile(r"models/[\w.-]+/operations/[\w-]{1,200}")
"""A Veo operation's name, as the API gives it (a journal's handle is checked against it)."""

_HINTS = Hints(
    bad_request="check the prompt, the frames (PNG, JPEG or WebP) and the model name "
    "(the Gemini API names Veo models like 'veo-3.1-fast-generate-preview')",
    not_found=f"check the model name (e.g. {DEFAULT_VIDEO_MODEL!r})",
    too_large="send smaller frames (a 1280x720 JPEG is plenty)",
    timeout="the job is retried automatically; if it keeps happening, give the clip maker a "
    "longer timeout",
    unusable="try again; if it keeps happening, try another video model (e.g. local)",
)


def _known(model: str) -> str | None:
    bare = model.rpartition("/")[2]
    for known in sorted(VIDEO_PRICES, key=len, reverse=True):
        if bare == known or bare.startswith(known + "-"):
            return known
    return None


def video_price(model: str) -> float:
    """USD per second of video for ``model`` (see ``VIDEO_PRICES``)."""
    known = _known(model)
    return VIDEO_PRICES[known] if known else max(VIDEO_PRICES.values())


def clip_lengths(model: str) -> list[float]:
    """The clip lengths ``model`` makes, in seconds, shortest first."""
    return [5.0, 6.0, 7.0, 8.0] if model.rpartition("/")[2].startswith("veo-2") else [4.0, 6.0, 8.0]


@dataclass(frozen=True)
class VideoPlan:
    """What is asked of Veo for a request: its native length, shape and size."""

    duration: float
    aspect_ratio: str
    resolution: str
    width: int
    height: int
    last_frame: bool


def _frame(data: bytes, what: str) -> dict[str, str]:
    kind = image_type(data)
    if kind is None:
        raise InvalidInput(
            f"the {what} is not a PNG, JPEG or WebP picture", hint="send the picture's bytes"
        )
    return {"bytesBase64Encoded": base64.b64encode(bytes(data)).decode(), "mimeType": kind}


class GeminiVideoModel(GeminiService):
    """Makes clips from a first frame (and a last one, for Veo 3.1) with Veo (``VideoModel``).

    ``timeout`` bounds each request (the start, each poll, the download); ``max_wait`` bounds
    the whole clip, polled every ``poll_interval`` seconds.
    """

    default_model = DEFAULT_VIDEO_MODEL
    doing = "clip generation with Veo"
    hints = _HINTS

    def __init__(
        self,
        api_key: str,
        *,
        model: str | None = None,
        base_url: str | None = None,
        timeout: float = 120.0,
        poll_interval: float = 10.0,
        max_wait: float = 900.0,
    ) -> None:
        super().__init__(api_key, model=model, base_url=base_url, timeout=timeout)
        for label, value in (("poll_interval", poll_interval), ("max_wait", max_wait)):
            if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
                raise InvalidInput(f"{label} must be a positive number of seconds, not {value!r}")
        self.poll_interval = float(poll_interval)
        self.max_wait = float(max_wait)
        self.card = ProviderCard(
            role="video",
            name=self.name,
            model=self.model,
            usd_per_second=video_price(self.model),
            clip_lengths=clip_lengths(self.model),
            max_concurrency=2,
            max_width=1920,
            max_height=1920,
            needs_key="GEMINI_API_KEY",
        )

    def __repr__(self) -> str:
        return (
            f"GeminiVideoModel(model={self.model!r}, base_url={self.base_url!r}, "
            f"timeout={self.timeout:g}, poll_interval={self.poll_interval:g}, "
            f"max_wait={self.max_wait:g})"
        )

    # -- planning -----------------------------------------------------------------------------

    def plan(self, request: VideoRequest) -> VideoPlan:
        """The clip Veo is asked for: the next native length at or above the one wanted (the
        longest when none is), 9:16 for a portrait frame and 16:9 otherwise, 1080p when the
        frame is larger than 720p and the model can; a last frame only for Veo 3.1."""
        bare = self.model.rpartition("/")[2]
        lengths = self.card.clip_lengths
        duration = next((n for n in lengths if n >= request.duration - 1e-6), lengths[-1])
        portrait = request.height > request.width
        last = request.last_frame is not None and bare.startswith("veo-3.1")
        sharp = max(request.width, request.height) > 1280 and not bare.startswith("veo-2")
        if bare.startswith("veo-3.0") and portrait:
            sharp = False  # Veo 3 makes 1080p only in landscape
        if (sharp or last) and not bare.startswith("veo-2"):
            duration = 8.0  # Veo 3 makes 1080p clips, and morphs, only at 8 s
        long_side, short_side = (1920, 1080) if sharp else (1280, 720)
        return VideoPlan(
            duration=duration,
            aspect_ratio="9:16" if portrait else "16:9",
            resolution="1080p" if sharp else "720p",
            width=short_side if portrait else long_side,
            height=long_side if portrait else short_side,
            last_frame=last,
        )

    def estimate(self, request: VideoRequest) -> float:
        """What ``generate`` would cost, in US dollars: every second Veo makes is paid for."""
        return self.card.cost(self.plan(request).duration)

    def _body(self, request: VideoRequest, plan: VideoPlan) -> dict[str, Any]:
        frames = len(request.first_frame) + len(request.last_frame or b"")
        if frames > MAX_FRAME_BYTES:
            raise PayloadTooLarge(
                f"the frames come to {frames / 2**20:.1f} MiB; Gemini takes at most "
                f"{MAX_FRAME_BYTES / 2**20:.0f} MiB inline",
                hint="send JPEGs of the frames at the clip's size",
            )
        words = " ".join(request.prompt.split())
        if words and words[-1] not in ".!?":
            words += "."
        instance: dict[str, Any] = {
            "prompt": f"{words} {_CAMERA_WORDS[request.camera]}".strip(),
            "image": _frame(request.first_frame, "first frame"),
        }
        if plan.last_frame and request.last_frame is not None:
            instance["lastFrame"] = _frame(request.last_frame, "last frame")
        parameters: dict[str, Any] = {
            "sampleCount": 1,
            "durationSeconds": int(plan.duration),
            "aspectRatio": plan.aspect_ratio,
            "resolution": plan.resolution,
        }
        if request.negative.strip():
            parameters["negativePrompt"] = " ".join(request.negative.split())
        return {"instances": [instance], "parameters": parameters}

    # -- making -------------------------------------------------------------------------------

    async def generate(self, request: VideoRequest) -> GeneratedVideo:
        """Make the clip: start Veo, poll until it is done (``ProviderTimeout`` after
        ``max_wait``), download it."""
        plan = self.plan(request)
        body = self._body(request, plan)
        async with self._connected() as aio:
            journal = call_journal()
            earlier = journal.claim() if journal is not None else None
            if earlier is not None and _OPERATION_RE.fullmatch(earlier):
                # an attempt cut off by a crash started it: wait for it, don't buy it again
                from google.genai import types

                operation = types.GenerateVideosOperation.from_api_response(
                    {"name": earlier}, is_vertex_ai=False
                )
            else:
                operation = await self._start(aio, body)
                if journal is not None and operation.name:
                    await journal.remember(operation.name)
            operation = await self._wait(aio, operation)
            video = self._video(operation)
            data = video.video_bytes or await aio.files.download(file=video)
        if not data:
            raise unusable(self.model, "the downloaded clip is empty", hint=_HINTS.unusable)
        return GeneratedVideo(
            data=data,
            media_type=video.mime_type or "video/mp4",
            width=plan.width,
            height=plan.height,
            duration=plan.duration,
            fps=FPS,
            seed=None,  # the Gemini API takes no seed for Veo
            provider=self.name,
            model=self.model,
            cost_usd=self.card.cost(plan.duration),
        )

    async def _start(self, aio: AsyncClient, body: dict[str, Any]) -> types.GenerateVideosOperation:
        from google.genai import types

        model = self.model if "/" in self.model else f"models/{self.model}"
        answer = await aio._api_client.async_request(
            "post", f"{model}:predictLongRunning", body, None
        )
        started = json.loads(answer.body) if answer.body else {}
        operation = types.GenerateVideosOperation.from_api_response(started, is_vertex_ai=False)
        if not operation.name:
            raise unusable(self.model, "the started operation has no name", hint=_HINTS.unusable)
        return operation

    async def _wait(
        self, aio: AsyncClient, operation: types.GenerateVideosOperation
    ) -> types.GenerateVideosOperation:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.max_wait
        while not operation.done:
            left = deadline - loop.time()
            if left <= 0:
                raise ProviderTimeout(
                    f"Gemini ({self.model}) did not finish the clip within {self.max_wait:g} s",
                    hint="the job is retried automatically; Veo takes a few minutes a clip, "
                    "more when it is busy",
                    provider="gemini",
                    operation=operation.name,
                )
            await asyncio.sleep(min(self.poll_interval, left))
            operation = await aio.operations.get(operation)
        return operation

    def _video(self, operation: types.GenerateVideosOperation) -> types.Video:
        if operation.error:
            raise operation_error(
                operation.error, model=self.model, scrub=self._scrub, hints=_HINTS
            )
        result = operation.response or operation.result
        videos = [g.video for g in (result.generated_videos or []) if g.video] if result else []
        usable = [v for v in videos if v.video_bytes or v.uri]
        if usable:
            return usable[0]
        reasons = [str(r) for r in (result.rai_media_filtered_reasons or [])] if result else []
        if reasons or (result is not None and result.rai_media_filtered_count):
            said = self._scrub(" ".join(" ".join(reasons).split()))
            raise ContentRejected(
                f"Gemini ({self.model}) filtered the clip out"
                + (f": {said[:299] + '…' if len(said) > 300 else said}" if said else ""),
                hint=_REFUSED_HINT,
                reason=reasons[0][:300] if reasons else "RAI_MEDIA_FILTERED",
                provider="gemini",
            )
        raise unusable(self.model, "the finished operation has no video", hint=_HINTS.unusable)
