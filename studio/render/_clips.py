"""The offline video provider: a clip from a first frame (and optionally a last one) by camera
moves and a morph, encoded with ffmpeg. No key, no network, no cost.

It is a ``VideoModel`` like Replicate's or Veo, so the clip takes of a storyboard go through one
code path whoever makes them. It lives in ``render/`` because it runs ffmpeg, and joins the
provider registry through the ``studio.providers`` entry point ``video:local``.
"""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
import threading
from collections.abc import Mapping
from pathlib import Path

from PIL import UnidentifiedImageError

from studio.errors import InvalidInput, JobCancelled, RenderError
from studio.providers import GeneratedVideo, ProviderCard, VideoRequest
from studio.render._ffmpeg import encode_frames_command
from studio.render._motion import Frame, cover, frames, read_rgb
from studio.render._pipe import feed

__all__ = ["MOTION_MODEL", "LocalVideoModel", "make_clip", "video_model"]

MOTION_MODEL = "studio-motion-1"
"""The offline clip maker's model name: a take made by it is a camera move the render redraws."""


def _picture(data: bytes, what: str, width: int, height: int) -> Frame:
    try:
        rgb = read_rgb(data)
    except (UnidentifiedImageError, OSError) as exc:
        raise InvalidInput(
            f"the {what} is not a picture that can be read ({len(data)} bytes)",
            hint="pass PNG or JPEG bytes (an image take's file)",
        ) from exc
    return cover(rgb, width, height)


def make_clip(request: VideoRequest, *, stop: threading.Event | None = None) -> bytes:
    """Encode the clip ``request`` asks for and return the MP4's bytes: exactly
    ``round(duration * fps)`` frames. Setting ``stop`` kills the encoder and raises
    ``JobCancelled``."""
    width, height = request.width - request.width % 2, request.height - request.height % 2
    first = _picture(request.first_frame, "first frame", width, height)
    last = (
        _picture(request.last_frame, "last frame", width, height)
        if request.last_frame is not None
        else None
    )
    count = max(1, round(request.duration * request.fps))
    with tempfile.TemporaryDirectory(prefix="studio-clip-") as tmp:
        out = Path(tmp) / "clip.mp4"
        command = encode_frames_command(out, width=width, height=height, fps=request.fps)
        pictures = (f.data for f in frames(first, request.camera, count, last=last))
        feed(command, pictures, what="clip", stop=stop)
        return out.read_bytes()


class LocalVideoModel:
    """Camera moves and morphs on the scene's picture, through ffmpeg.

    Its clips are previews, at most 640 pixels a side: a camera move is something the render
    draws itself, at the render's size and frame rate, from the picture (``MOTION_MODEL`` is how
    it knows the clip is one), so a full-size clip here would be work thrown away."""

    name = "local"
    model = MOTION_MODEL
    card = ProviderCard(
        role="video", name="local", model=MOTION_MODEL, max_concurrency=1,
        max_width=640, max_height=640,
    )  # fmt: skip

    def estimate(self, request: VideoRequest) -> float:
        del request
        return 0.0

    async def generate(self, request: VideoRequest) -> GeneratedVideo:
        stop = threading.Event()
        work = asyncio.ensure_future(asyncio.to_thread(make_clip, request, stop=stop))
        try:
            data = await asyncio.shield(work)
        except asyncio.CancelledError:
            stop.set()  # the encoder is killed before the job is let go
            with contextlib.suppress(JobCancelled, RenderError):
                await work
            raise
        return GeneratedVideo(
            data=data,
            media_type="video/mp4",
            width=request.width - request.width % 2,
            height=request.height - request.height % 2,
            duration=max(1, round(request.duration * request.fps)) / request.fps,
            fps=request.fps,
            seed=request.seed,
            provider=self.name,
            model=self.model,
        )


def video_model(variant: str | None, environ: Mapping[str, str]) -> LocalVideoModel:
    """The registry's factory (entry point ``video:local``)."""
    del variant, environ
    return LocalVideoModel()
