"""The studio's Modal app: image-to-video, upscaling and frame interpolation on Modal's GPUs.

Deploy it once per workspace (the token's), from the repository root::

    pip install modal && modal token new      # or set MODAL_TOKEN_ID / MODAL_TOKEN_SECRET
    modal deploy -m studio.providers.modal._app

It deploys as the app ``studio``; to run several side by side, deploy with
``modal deploy --name studio-dev -m studio.providers.modal._app`` and set
``STUDIO_MODAL_APP=studio-dev`` where the studio runs. Then choose the provider with
``STUDIO_VIDEO_PROVIDER=modal`` (or ``"modal"`` in a project's settings).

The functions are thin: each calls the body of the same name in ``_bodies`` (plain Python, tested
on a CPU without Modal). The image sets ``STUDIO_MODAL_ENGINE=gpu``, so on Modal the bodies run
their models (LTX-Video, Stable Diffusion's x4 upscaler); the weights are cached on the volume
``studio-weights`` after the first cold start. Importing this module makes no network call.
"""

from __future__ import annotations

from typing import Any

import modal

from studio.providers.modal import _bodies
from studio.providers.modal._card import (
    CLIP_CPU_CORES,
    CLIP_GPU,
    CLIP_MEMORY_MIB,
    MAX_CONTAINERS,
)
from studio.providers.modal._client import DEFAULT_APP

__all__ = ["app", "image_to_video", "interpolate", "upscale"]

_WEIGHTS = "/weights"

app = modal.App(DEFAULT_APP)

# what the bodies import; the studio's own source is added last so code changes rebuild fast
_base = modal.Image.debian_slim(python_version="3.11").pip_install(
    "pydantic>=2.7", "numpy>=1.26", "pillow>=10", "imageio-ffmpeg>=0.5"
)
_cpu_image = _base.env({_bodies.ENGINE_VARIABLE: "cpu"}).add_local_python_source("studio")
_gpu_image = (
    _base.pip_install(
        "torch==2.5.1",
        "diffusers>=0.32",
        "transformers>=4.47",
        "accelerate>=1.2",
        "sentencepiece>=0.2",
    )
    .env({_bodies.ENGINE_VARIABLE: "gpu", "HF_HOME": _WEIGHTS})
    .add_local_python_source("studio")
)
_weights = modal.Volume.from_name("studio-weights", create_if_missing=True)


@app.function(
    image=_gpu_image,
    gpu=CLIP_GPU,
    cpu=CLIP_CPU_CORES,
    memory=CLIP_MEMORY_MIB,
    volumes={_WEIGHTS: _weights},
    timeout=600,
    max_containers=MAX_CONTAINERS,
    scaledown_window=120,
)
def image_to_video(
    first_frame: bytes,
    *,
    last_frame: bytes | None = None,
    prompt: str = "",
    negative: str = "",
    camera: str = "static",
    duration: float = 5.0,
    width: int = 768,
    height: int = 512,
    fps: int = 24,
    seed: int = 0,
) -> dict[str, Any]:
    """A clip from a first frame; see ``_bodies.image_to_video``."""
    return _bodies.image_to_video(
        first_frame,
        last_frame=last_frame,
        prompt=prompt,
        negative=negative,
        camera=camera,
        duration=duration,
        width=width,
        height=height,
        fps=fps,
        seed=seed,
        engine=_bodies.engine_from_env(),
    )


@app.function(
    image=_gpu_image,
    gpu="L4",  # the x4 upscaler fits in 24 GB with attention slicing
    volumes={_WEIGHTS: _weights},
    timeout=300,
    max_containers=MAX_CONTAINERS,
    scaledown_window=60,
)
def upscale(image: bytes, factor: int = 2) -> bytes:
    """A picture ``factor`` times larger; see ``_bodies.upscale``."""
    return _bodies.upscale(image, factor, engine=_bodies.engine_from_env())


@app.function(
    image=_cpu_image,  # blending frames is CPU work; a flow model would move this to a GPU
    cpu=4.0,
    memory=8 * 1024,
    timeout=300,
    max_containers=MAX_CONTAINERS,
)
def interpolate(video: bytes, factor: int = 2) -> bytes:
    """A clip with in-between frames; see ``_bodies.interpolate``."""
    return _bodies.interpolate(video, factor, engine=_bodies.engine_from_env())
