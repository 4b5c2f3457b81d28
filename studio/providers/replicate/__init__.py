"""Replicate, through the replicate SDK (imported only when a prediction runs).

Pictures (FLUX schnell by default, FLUX dev, SDXL, FLUX Kontext for reference images), clips
from a first and last frame (Kling v2.1 by default, Seedance 1 lite) and music (MusicGen).
The factories are what the registry calls: ``(variant, environ) -> provider``.
"""

from studio.providers.replicate._catalog import ModelRef
from studio.providers.replicate._factories import (
    base_url,
    image_model,
    music_model,
    settings,
    video_model,
)
from studio.providers.replicate._image import (
    DEFAULT_IMAGE_MODEL,
    IMAGE_MODELS,
    REFERENCE_IMAGE_MODEL,
    ReplicateImageModel,
)
from studio.providers.replicate._music import (
    DEFAULT_MUSIC_MODEL,
    MAX_MUSIC_SECONDS,
    MUSIC_MODELS,
    ReplicateMusicModel,
)
from studio.providers.replicate._predictions import DATA_URI_MAX_BYTES
from studio.providers.replicate._video import (
    DEFAULT_VIDEO_MODEL,
    VIDEO_MODELS,
    ReplicateVideoModel,
)

__all__ = [
    "DATA_URI_MAX_BYTES",
    "DEFAULT_IMAGE_MODEL",
    "DEFAULT_MUSIC_MODEL",
    "DEFAULT_VIDEO_MODEL",
    "IMAGE_MODELS",
    "MAX_MUSIC_SECONDS",
    "MUSIC_MODELS",
    "REFERENCE_IMAGE_MODEL",
    "VIDEO_MODELS",
    "ModelRef",
    "ReplicateImageModel",
    "ReplicateMusicModel",
    "ReplicateVideoModel",
    "base_url",
    "image_model",
    "music_model",
    "settings",
    "video_model",
]
