"""Clips from Replicate: a first frame (and a last one) made to move, by Kling v2.1 (the
default) or Seedance 1 lite.

What each model is sent:

- ``kwaivgi/kling-v2.1``: ``start_image`` (the first frame), ``end_image`` (the last frame; Kling
  honours it in ``pro`` mode only, so in ``standard`` mode it is not sent), ``prompt`` (the
  request's words and the camera move's), ``negative_prompt``, ``duration`` (5 or 10) and
  ``mode`` (``"pro"``: 1080p, 24 fps, the default; ``"standard"``: 720p). Kling takes no seed.
- ``bytedance/seedance-1-lite``: ``image`` (the first frame), ``last_frame_image``, ``prompt``,
  ``duration`` (5 or 10), ``resolution="720p"``, ``fps=24``, ``camera_fixed`` (for a static
  camera) and ``seed``.

Both make 5 or 10 seconds natively; a request is made at the shortest native length that covers
it (or the longest), and priced per second of that length. The clip's size, length and frame
rate are read from the MP4 that comes back.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from studio.errors import InvalidInput
from studio.model import CameraMove
from studio.providers._protocols import GeneratedVideo, ProviderCard, VideoRequest
from studio.providers.replicate._base import ReplicateProvider
from studio.providers.replicate._catalog import ModelSpec
from studio.providers.replicate._errors import malformed
from studio.providers.replicate._media import image_type, mp4_info

__all__ = [
    "DEFAULT_VIDEO_MODEL",
    "KLING_MODES",
    "VIDEO_MODELS",
    "ReplicateVideoModel",
    "VideoSpec",
]

DEFAULT_VIDEO_MODEL = "kwaivgi/kling-v2.1"
KLING_MODES = {"pro": 0.09, "standard": 0.05}
"""Kling v2.1's modes and their price per second of video, in US dollars."""

_CAMERA_WORDS = {
    CameraMove.STATIC: "static camera, locked-off shot",
    CameraMove.ZOOM_IN: "the camera slowly zooms in",
    CameraMove.ZOOM_OUT: "the camera slowly zooms out",
    CameraMove.PAN_LEFT: "the camera pans slowly to the left",
    CameraMove.PAN_RIGHT: "the camera pans slowly to the right",
    CameraMove.PAN_UP: "the camera tilts slowly upward",
    CameraMove.PAN_DOWN: "the camera tilts slowly downward",
    CameraMove.PUSH_IN: "the camera pushes in slowly toward the subject",
    CameraMove.ROTATE: "the camera orbits slowly around the subject",
}

Inputs = Callable[[VideoRequest, str, int, str], dict[str, Any]]


def _motion_prompt(request: VideoRequest) -> str:
    words = request.prompt.strip().rstrip(".")
    camera = _CAMERA_WORDS.get(request.camera, "")
    return ". ".join(p for p in (words, camera) if p) or "subtle natural motion"


def _kling(request: VideoRequest, prompt: str, seconds: int, mode: str) -> dict[str, Any]:
    inputs: dict[str, Any] = {
        "prompt": prompt,
        "start_image": request.first_frame,
        "duration": seconds,
        "mode": mode,
    }
    if request.last_frame is not None and mode == "pro":
        inputs["end_image"] = request.last_frame
    if request.negative.strip():
        inputs["negative_prompt"] = request.negative.strip()
    return inputs


def _seedance(request: VideoRequest, prompt: str, seconds: int, mode: str) -> dict[str, Any]:
    del mode
    inputs: dict[str, Any] = {
        "prompt": prompt,
        "image": request.first_frame,
        "duration": seconds,
        "resolution": "720p",
        "fps": 24,
        "camera_fixed": request.camera is CameraMove.STATIC,
        "seed": request.seed,
    }
    if request.last_frame is not None:
        inputs["last_frame_image"] = request.last_frame
    return inputs


@dataclass(frozen=True)
class VideoSpec(ModelSpec):
    """A video model: its price per second, native lengths, and what it is sent."""

    inputs: Inputs = field(default=_kling)
    clip_lengths: tuple[float, ...] = (5.0, 10.0)
    takes_seed: bool = False
    max_side: int = 1920


VIDEO_MODELS: dict[str, VideoSpec] = {
    "kwaivgi/kling-v2.1": VideoSpec(usd_per_second=KLING_MODES["pro"], max_concurrency=4),
    "bytedance/seedance-1-lite": VideoSpec(
        usd_per_second=0.036, max_concurrency=4, inputs=_seedance, takes_seed=True, max_side=1280
    ),
}
"""The video models the studio knows, by ``owner/name``; prices in US dollars per second."""


class ReplicateVideoModel(ReplicateProvider[VideoSpec]):
    """Makes clips from a first (and last) frame on Replicate; see the module's docstring.

    ``mode`` is Kling's (``"pro"`` or ``"standard"``); other models ignore it. ``timeout``
    bounds a whole call: video takes minutes, more when the model is cold.
    """

    role = "video"
    models = VIDEO_MODELS
    default_model = DEFAULT_VIDEO_MODEL

    def __init__(
        self,
        api_token: str,
        *,
        model: str | None = None,
        mode: str = "pro",
        base_url: str | None = None,
        timeout: float = 900.0,
        poll_interval: float = 3.0,
        request_timeout: float = 30.0,
    ) -> None:
        if mode not in KLING_MODES:
            raise InvalidInput(f"{mode!r} is not a Kling mode", hint="choose 'pro' or 'standard'")
        self.mode = mode
        super().__init__(
            api_token,
            model=model,
            base_url=base_url,
            timeout=timeout,
            poll_interval=poll_interval,
            request_timeout=request_timeout,
        )

    def _card(self) -> ProviderCard:
        per_second = self.spec.usd_per_second
        if self.model == DEFAULT_VIDEO_MODEL:
            per_second = KLING_MODES[self.mode]
        return ProviderCard(
            role="video",
            name=self.name,
            model=self.model,
            usd_per_second=per_second,
            clip_lengths=list(self.spec.clip_lengths),
            max_concurrency=self.spec.max_concurrency,
            max_width=self.spec.max_side,
            max_height=self.spec.max_side,
            needs_key="REPLICATE_API_TOKEN",
        )

    def native_length(self, duration: float) -> float:
        """The shortest native clip length that covers ``duration``, else the longest."""
        lengths = self.card.clip_lengths
        return next((n for n in lengths if n >= duration - 1e-6), lengths[-1])

    def estimate(self, request: VideoRequest) -> float:
        """The price of the native length that covers ``request.duration``."""
        return self.card.cost(self.native_length(request.duration))

    async def generate(self, request: VideoRequest) -> GeneratedVideo:
        """Make the clip; Replicate is polled until it is ready."""
        for label, frame in (("first", request.first_frame), ("last", request.last_frame)):
            if frame is not None and image_type(frame) is None:
                raise InvalidInput(
                    f"the {label} frame is not a PNG, JPEG, WebP or GIF",
                    hint="pass the encoded bytes of the scene's approved image",
                )
        length = self.native_length(request.duration)
        inputs = self.spec.inputs(request, _motion_prompt(request), int(length), self.mode)
        outputs = await self._predictor.run(self.ref, inputs)
        clip = outputs[0]
        if not clip.media_type.startswith("video/"):
            raise malformed(self.model, f"the output is not a video ({clip.media_type})")
        info = mp4_info(clip.data)
        return GeneratedVideo(
            data=clip.data,
            media_type=clip.media_type,
            # a container the studio cannot read (WebM) reports what was asked for
            width=info.width if info else request.width,
            height=info.height if info else request.height,
            duration=info.duration if info else length,
            fps=(info.fps if info and info.fps else float(request.fps)),
            seed=request.seed if self.spec.takes_seed else None,
            provider=self.name,
            model=self.model,
            cost_usd=self.estimate(request),
        )
