"""Google's Gemini, through the google-genai SDK (imported only when a request is made): text
(structured answers and chat with tools), the planner, pictures (Gemini Image), clips (Veo) and
lyrics transcription.

The factories (``text_model``, ``planner``, ``image_model``, ``video_model``, ``transcriber``)
are what the registry calls: ``(variant, environ) -> provider``.
"""

from studio.providers.gemini._factories import (
    base_url,
    gemini_key,
    image_model,
    planner,
    text_model,
    transcriber,
    video_model,
)
from studio.providers.gemini._image import (
    ASPECT_RATIOS,
    DEFAULT_IMAGE_MODEL,
    IMAGE_PRICES,
    GeminiImageModel,
)
from studio.providers.gemini._planner import SHOTS_PER_CALL, GeminiPlanner
from studio.providers.gemini._text import DEFAULT_TEXT_MODEL, TEXT_PRICES, GeminiTextModel
from studio.providers.gemini._transcriber import (
    DEFAULT_TRANSCRIBE_MODEL,
    MAX_INLINE_AUDIO_BYTES,
    GeminiTranscriber,
)
from studio.providers.gemini._video import (
    DEFAULT_VIDEO_MODEL,
    VIDEO_PRICES,
    GeminiVideoModel,
    VideoPlan,
)

__all__ = [
    "ASPECT_RATIOS",
    "DEFAULT_IMAGE_MODEL",
    "DEFAULT_TEXT_MODEL",
    "DEFAULT_TRANSCRIBE_MODEL",
    "DEFAULT_VIDEO_MODEL",
    "IMAGE_PRICES",
    "MAX_INLINE_AUDIO_BYTES",
    "SHOTS_PER_CALL",
    "TEXT_PRICES",
    "VIDEO_PRICES",
    "GeminiImageModel",
    "GeminiPlanner",
    "GeminiTextModel",
    "GeminiTranscriber",
    "GeminiVideoModel",
    "VideoPlan",
    "base_url",
    "gemini_key",
    "image_model",
    "planner",
    "text_model",
    "transcriber",
    "video_model",
]
