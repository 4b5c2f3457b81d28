"""What the studio's Modal functions do, as plain Python that runs anywhere.

``_app.py`` wraps each of these in ``@app.function(gpu=...)``; nothing here imports Modal, so the
tests run the same bodies on a laptop's CPU. Each body has two engines:

- ``"cpu"``: small, real implementations (a camera move and a morph for image-to-video, Lanczos
  with an unsharp mask for upscaling, blended in-between frames for interpolation), used by the
  tests and by any deployment without a GPU;
- ``"gpu"``: the models the Modal image installs (LTX-Video through diffusers for image-to-video,
  Stable Diffusion's x4 upscaler), chosen when ``STUDIO_MODAL_ENGINE=gpu`` (the app's image sets
  it). Their imports (torch, diffusers) happen only on that path.

Arguments and answers are plain bytes, numbers and dicts, so they pickle across the wire whatever
version of the studio the caller runs. A request the body cannot use raises ``ClipRefused`` (a
``ValueError``), which the client turns into ``InvalidInput``.
"""

from __future__ import annotations

import io
import math
import os
import tempfile
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, Literal

import numpy as np
from PIL import Image, ImageFilter, UnidentifiedImageError

__all__ = [
    "CAMERA_MOVES",
    "ENGINE_VARIABLE",
    "GPU_VIDEO_FPS",
    "MAX_CLIP_SECONDS",
    "MAX_SIDE",
    "ClipRefused",
    "Engine",
    "engine_from_env",
    "image_to_video",
    "interpolate",
    "native_seconds",
    "upscale",
]

Engine = Literal["cpu", "gpu"]

ENGINE_VARIABLE = "STUDIO_MODAL_ENGINE"
"""``gpu`` in the Modal image; unset (the CPU path) everywhere else."""

MAX_CLIP_SECONDS = 10.0
"""The longest clip one call makes (LTX-Video's 241 frames at 24 fps)."""

NATIVE_SECONDS = (2.0, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0)
"""The clip lengths the GPU model makes natively: ``24 * s + 1`` frames, the ``8k + 1`` frame
counts LTX-Video wants."""

GPU_VIDEO_FPS = 24
MAX_SIDE = 1280
"""The largest width or height of a clip (LTX-Video is trained up to 1280 x 720)."""
MAX_UPSCALED_SIDE = 8192
MAX_FACTOR = 4

CAMERA_MOVES = (
    "static",
    "zoom_in",
    "zoom_out",
    "pan_left",
    "pan_right",
    "pan_up",
    "pan_down",
    "push_in",
    "rotate",
)

# words the GPU model is given for each camera move (it moves the camera from the prompt)
_CAMERA_WORDS = {
    "static": "static camera",
    "zoom_in": "slow zoom in",
    "zoom_out": "slow zoom out",
    "pan_left": "camera pans left",
    "pan_right": "camera pans right",
    "pan_up": "camera tilts up",
    "pan_down": "camera tilts down",
    "push_in": "camera pushes in",
    "rotate": "camera slowly rotates",
}

_LTX_MODEL = "Lightricks/LTX-Video"
_UPSCALER_MODEL = "stabilityai/stable-diffusion-x4-upscaler"
_MOVE_SCALE = 1.2  # how much larger than the frame the picture is, so a move has room


class ClipRefused(ValueError):
    """The request cannot be used (not a picture, too long, too large); nothing was made."""


def engine_from_env() -> Engine:
    """``"gpu"`` where the Modal image says so, else ``"cpu"``."""
    return "gpu" if os.environ.get(ENGINE_VARIABLE, "").strip().lower() == "gpu" else "cpu"


def native_seconds(duration: float) -> float:
    """The shortest native clip length that holds ``duration`` seconds."""
    for seconds in NATIVE_SECONDS:
        if duration <= seconds + 1e-9:
            return seconds
    raise ClipRefused(
        f"a clip of {duration:g} s is longer than the {MAX_CLIP_SECONDS:g} s one call makes"
    )


# ---- pictures ----------------------------------------------------------------------------------


def _open_picture(data: bytes, what: str) -> Image.Image:
    if not data:
        raise ClipRefused(f"the {what} is empty")
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            copy: Image.Image = image.copy()  # typed: Pillow 11's stubs say Any
            return copy
    except (UnidentifiedImageError, OSError) as exc:
        raise ClipRefused(f"the {what} is not a picture ({len(data)} bytes)") from exc


def _cover(image: Image.Image, width: int, height: int) -> Image.Image:
    """Scale ``image`` to fill ``width`` x ``height`` and crop the overflow, centred."""
    scale = max(width / image.width, height / image.height)
    size = (
        max(width, math.ceil(image.width * scale)),
        max(height, math.ceil(image.height * scale)),
    )
    resized = image.convert("RGB").resize(size, Image.Resampling.LANCZOS)
    left, top = (size[0] - width) // 2, (size[1] - height) // 2
    return resized.crop((left, top, left + width, top + height))


def _ease(t: float) -> float:
    return t * t * (3.0 - 2.0 * t)


def _moved(canvas: Image.Image, camera: str, t: float, width: int, height: int) -> np.ndarray:
    """One frame of ``camera`` at time ``t`` (0..1) over ``canvas`` (the picture, a little larger
    than the frame)."""
    cw, ch = canvas.size
    s = _ease(t)
    if camera in ("zoom_in", "push_in", "zoom_out"):
        zoom = s if camera != "zoom_out" else 1.0 - s
        strength = 1.0 if camera == "zoom_in" else 1.5 if camera == "push_in" else 1.0
        # a zoom of 1 shows the whole canvas; the canvas has the frame's shape, give or take a pixel
        z = 1.0 + (_MOVE_SCALE - 1.0) * strength * zoom
        w, h = cw / z, ch / z
        box = ((cw - w) / 2, (ch - h) / 2, (cw + w) / 2, (ch + h) / 2)
    elif camera in ("pan_left", "pan_right", "pan_up", "pan_down"):
        w, h = cw / _MOVE_SCALE, ch / _MOVE_SCALE
        x, y = (cw - w) / 2, (ch - h) / 2
        if camera == "pan_left":  # the camera turns left: the window slides left
            x = (cw - w) * (1.0 - s)
        elif camera == "pan_right":
            x = (cw - w) * s
        elif camera == "pan_up":
            y = (ch - h) * (1.0 - s)
        else:
            y = (ch - h) * s
        box = (x, y, x + w, y + h)
    elif camera == "rotate":
        turned = canvas.rotate(6.0 * (s - 0.5), resample=Image.Resampling.BILINEAR)
        w, h = cw / _MOVE_SCALE, ch / _MOVE_SCALE
        box = ((cw - w) / 2, (ch - h) / 2, (cw + w) / 2, (ch + h) / 2)
        canvas = turned
    else:  # static
        w, h = cw / _MOVE_SCALE, ch / _MOVE_SCALE
        box = ((cw - w) / 2, (ch - h) / 2, (cw + w) / 2, (ch + h) / 2)
    frame = canvas.resize((width, height), Image.Resampling.BILINEAR, box=box)
    return np.asarray(frame, dtype=np.uint8)


def _png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=False)
    return out.getvalue()


# ---- video files -------------------------------------------------------------------------------
# These run inside the Modal container (or the test process calling a body directly), never in the
# studio's engine: the engine's ffmpeg command lines are built by studio/render alone. The bodies
# use imageio-ffmpeg's frame reader and writer, which drive the ffmpeg binary it ships.


def _write_video(
    frames: Iterable[np.ndarray], path: Path, width: int, height: int, fps: float
) -> int:
    import imageio_ffmpeg

    writer = imageio_ffmpeg.write_frames(
        str(path),
        (width, height),
        fps=fps,
        codec="libx264",
        quality=7,  # crf 15: visually clean, small enough to send back
        macro_block_size=2,  # even sides are enough for yuv420p; no silent resize
        ffmpeg_log_level="error",
        output_params=["-movflags", "+faststart"],
    )
    writer.send(None)  # start ffmpeg
    count = 0
    try:
        for frame in frames:
            writer.send(np.ascontiguousarray(frame, dtype=np.uint8))
            count += 1
    finally:
        writer.close()
    return count


def _read_video(path: Path) -> tuple[Iterator[np.ndarray], int, int, float]:
    """The frames of the video at ``path`` (RGB arrays, decoded as they are read), its size, and
    its frame rate."""
    import imageio_ffmpeg

    reader = imageio_ffmpeg.read_frames(str(path))
    try:
        meta = next(reader)
    except (RuntimeError, StopIteration, OSError) as exc:
        reader.close()
        raise ClipRefused("the video cannot be decoded") from exc
    width, height = (int(v) for v in meta["size"])
    fps = float(meta.get("fps") or 0.0)

    def frames() -> Iterator[np.ndarray]:
        try:
            for raw in reader:
                yield np.frombuffer(raw, dtype=np.uint8).reshape(height, width, 3)
        finally:
            reader.close()

    return frames(), width, height, fps


# ---- image to video ----------------------------------------------------------------------------


def image_to_video(
    first_frame: bytes,
    *,
    last_frame: bytes | None = None,
    prompt: str = "",
    negative: str = "",
    camera: str = "static",
    duration: float,
    width: int,
    height: int,
    fps: int = 24,
    seed: int = 0,
    engine: Engine = "cpu",
) -> dict[str, Any]:
    """A clip that opens on ``first_frame``: an MP4 and what it is.

    The answer is ``{"data", "media_type", "width", "height", "fps", "frames", "duration",
    "seed", "model", "seconds"}``; ``seconds`` is how long the body ran (what the GPU is paid
    for, container start aside).
    """
    began = time.monotonic()
    if camera not in CAMERA_MOVES:
        raise ClipRefused(f"unknown camera move {camera!r}; one of {', '.join(CAMERA_MOVES)}")
    if not (0 < duration <= MAX_CLIP_SECONDS + 1e-9):
        raise ClipRefused(
            f"a clip of {duration:g} s is outside 0..{MAX_CLIP_SECONDS:g} s; split the scene"
        )
    if not (16 <= width <= MAX_SIDE and 16 <= height <= MAX_SIDE):
        raise ClipRefused(f"{width}x{height} is outside 16..{MAX_SIDE} pixels a side")
    if not (1 <= fps <= 120):
        raise ClipRefused(f"{fps} frames a second is outside 1..120")
    first = _open_picture(first_frame, "first frame")
    last = _open_picture(last_frame, "last frame") if last_frame is not None else None
    if engine == "gpu":
        answer = _image_to_video_gpu(
            first,
            last,
            prompt=prompt,
            negative=negative,
            camera=camera,
            duration=duration,
            width=width,
            height=height,
            seed=seed,
        )
    else:
        answer = _image_to_video_cpu(
            first, last, camera=camera, duration=duration, width=width, height=height, fps=fps
        )
    answer["seed"] = seed
    answer["seconds"] = round(time.monotonic() - began, 3)
    return answer


def _image_to_video_cpu(
    first: Image.Image,
    last: Image.Image | None,
    *,
    camera: str,
    duration: float,
    width: int,
    height: int,
    fps: int,
) -> dict[str, Any]:
    width, height = width - width % 2, height - height % 2
    big = (math.ceil(width * _MOVE_SCALE / 2) * 2, math.ceil(height * _MOVE_SCALE / 2) * 2)
    start = _cover(first, *big)
    end = _cover(last, *big) if last is not None else None
    count = max(1, round(duration * fps))

    def frames() -> Iterator[np.ndarray]:
        for i in range(count):
            t = i / (count - 1) if count > 1 else 0.0
            frame = _moved(start, camera, t, width, height)
            if end is not None:  # the morph: the last picture fades in under the same move
                alpha = _ease(t)
                other = _moved(end, camera, t, width, height).astype(np.float32)
                frame = (frame.astype(np.float32) * (1.0 - alpha) + other * alpha).astype(np.uint8)
            yield frame

    with tempfile.TemporaryDirectory(prefix="studio-modal-") as tmp:
        out = Path(tmp) / "clip.mp4"
        written = _write_video(frames(), out, width, height, fps)
        data = out.read_bytes()
    return {
        "data": data,
        "media_type": "video/mp4",
        "width": width,
        "height": height,
        "fps": float(fps),
        "frames": written,
        "duration": written / fps,
        "model": "studio-motion (cpu)",
    }


def _image_to_video_gpu(  # pragma: no cover - runs on Modal's GPUs only
    first: Image.Image,
    last: Image.Image | None,
    *,
    prompt: str,
    negative: str,
    camera: str,
    duration: float,
    width: int,
    height: int,
    seed: int,
) -> dict[str, Any]:
    import torch  # type: ignore[import-not-found, unused-ignore]
    from diffusers import LTXImageToVideoPipeline  # type: ignore[import-not-found, unused-ignore]

    seconds = native_seconds(duration)
    frames_wanted = int(seconds * GPU_VIDEO_FPS) + 1  # 8k + 1 frames
    # the model works in multiples of 32; the frames are scaled to the size asked for after
    gen_w, gen_h = max(32, round(width / 32) * 32), max(32, round(height / 32) * 32)
    pipe = _cached_pipeline(
        "ltx",
        lambda: LTXImageToVideoPipeline.from_pretrained(_LTX_MODEL, torch_dtype=torch.bfloat16),
    )
    words = ", ".join(p for p in (prompt.strip(), _CAMERA_WORDS[camera]) if p)
    # LTX-Video conditions on the first frame only; a last frame is honoured by the CPU morph
    del last
    result = pipe(
        image=_cover(first, gen_w, gen_h),
        prompt=words,
        negative_prompt=negative
        or "worst quality, inconsistent motion, blurry, jittery, distorted",
        width=gen_w,
        height=gen_h,
        num_frames=frames_wanted,
        num_inference_steps=40,
        generator=torch.Generator(device="cuda").manual_seed(seed),
    )
    pictures = result.frames[0]
    out_w, out_h = width - width % 2, height - height % 2

    def frames() -> Iterator[np.ndarray]:
        for picture in pictures:
            yield np.asarray(
                picture.convert("RGB").resize((out_w, out_h), Image.Resampling.LANCZOS)
            )

    with tempfile.TemporaryDirectory(prefix="studio-modal-") as tmp:
        out = Path(tmp) / "clip.mp4"
        written = _write_video(frames(), out, out_w, out_h, GPU_VIDEO_FPS)
        data = out.read_bytes()
    return {
        "data": data,
        "media_type": "video/mp4",
        "width": out_w,
        "height": out_h,
        "fps": float(GPU_VIDEO_FPS),
        "frames": written,
        "duration": written / GPU_VIDEO_FPS,
        "model": _LTX_MODEL,
    }


_PIPELINES: dict[str, Any] = {}


def _cached_pipeline(name: str, load: Any) -> Any:  # pragma: no cover - GPU only
    """A diffusers pipeline, loaded once per container (the weights are read from the volume)."""
    if name not in _PIPELINES:
        _PIPELINES[name] = load().to("cuda")
    return _PIPELINES[name]


# ---- upscale -----------------------------------------------------------------------------------


def upscale(image: bytes, factor: int = 2, *, engine: Engine = "cpu") -> bytes:
    """``image`` made ``factor`` times larger each way (2 to 4), as PNG bytes."""
    if isinstance(factor, bool) or not isinstance(factor, int) or not 2 <= factor <= MAX_FACTOR:
        raise ClipRefused(f"the upscale factor must be a whole number from 2 to {MAX_FACTOR}")
    picture = _open_picture(image, "picture")
    size = (picture.width * factor, picture.height * factor)
    if max(size) > MAX_UPSCALED_SIDE:
        raise ClipRefused(
            f"{picture.width}x{picture.height} upscaled {factor}x would be "
            f"{size[0]}x{size[1]}, over {MAX_UPSCALED_SIDE} pixels a side"
        )
    mode = "RGBA" if picture.mode in ("RGBA", "LA", "PA") else "RGB"
    picture = picture.convert(mode)
    if engine == "gpu" and mode == "RGB" and max(picture.size) <= 1024:
        return _png(_upscale_gpu(picture, size))
    bigger = picture.resize(size, Image.Resampling.LANCZOS)
    # Lanczos alone looks soft at 2x and more; a gentle unsharp mask brings the edges back
    return _png(
        bigger.filter(ImageFilter.UnsharpMask(radius=1.5 * factor, percent=60, threshold=2))
    )


def _upscale_gpu(picture: Image.Image, size: tuple[int, int]) -> Image.Image:  # pragma: no cover
    import torch
    from diffusers import StableDiffusionUpscalePipeline

    pipe = _cached_pipeline(
        "upscaler",
        lambda: StableDiffusionUpscalePipeline.from_pretrained(
            _UPSCALER_MODEL, torch_dtype=torch.float16
        ),
    )
    pipe.enable_attention_slicing()
    four: Image.Image = pipe(prompt="", image=picture, num_inference_steps=25).images[0]
    return four.resize(size, Image.Resampling.LANCZOS)  # the model makes 4x; scale to the factor


# ---- interpolate -------------------------------------------------------------------------------


def interpolate(video: bytes, factor: int = 2, *, engine: Engine = "cpu") -> bytes:
    """``video`` with ``factor - 1`` frames made between each pair (2 to 4), at ``factor`` times
    the frame rate, so it lasts as long and moves more smoothly. The sound is not kept (the
    studio lays the song under the cut at render time)."""
    del engine  # blending runs the same on either; a flow model (RIFE, FILM) is the GPU upgrade
    if isinstance(factor, bool) or not isinstance(factor, int) or not 2 <= factor <= MAX_FACTOR:
        raise ClipRefused(f"the interpolation factor must be a whole number from 2 to {MAX_FACTOR}")
    if not video:
        raise ClipRefused("the video is empty")
    with tempfile.TemporaryDirectory(prefix="studio-modal-") as tmp:
        source, out = Path(tmp) / "in.video", Path(tmp) / "out.mp4"
        source.write_bytes(video)
        frames, width, height, fps = _read_video(source)
        if fps <= 0:
            raise ClipRefused("the video has no frame rate")

        def smoother() -> Iterator[np.ndarray]:
            previous: np.ndarray | None = None
            for frame in frames:
                if previous is not None:
                    a, b = previous.astype(np.float32), frame.astype(np.float32)
                    for k in range(1, factor):
                        w = k / factor
                        yield (a * (1.0 - w) + b * w + 0.5).astype(np.uint8)
                yield frame
                previous = frame

        even_w, even_h = width - width % 2, height - height % 2  # yuv420p wants even sides
        written = _write_video(
            (f[:even_h, :even_w] for f in smoother()), out, even_w, even_h, fps * factor
        )
        if written == 0:
            raise ClipRefused("the video has no frames")
        return out.read_bytes()
