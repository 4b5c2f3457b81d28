"""Generation providers: the protocols the studio codes against, and the registry by name.

Implementations live in subpackages (``studio.providers.gemini``); only this package imports
an AI SDK, and it translates the SDK's failures into ``studio.errors``.
"""

from studio.providers._protocols import (
    ConceptDraft,
    GeneratedImage,
    ImageModel,
    ImageRequest,
    MoodDraft,
    Planner,
    SceneDraft,
    Shot,
    ShotPlan,
    TranscribedWord,
    Transcriber,
    Transcription,
)
from studio.providers._registry import (
    GEMINI_KEY_VARIABLES,
    resolve_image_model,
    resolve_planner,
    resolve_transcriber,
)

__all__ = [
    "GEMINI_KEY_VARIABLES",
    "ConceptDraft",
    "GeneratedImage",
    "ImageModel",
    "ImageRequest",
    "MoodDraft",
    "Planner",
    "SceneDraft",
    "Shot",
    "ShotPlan",
    "TranscribedWord",
    "Transcriber",
    "Transcription",
    "resolve_image_model",
    "resolve_planner",
    "resolve_transcriber",
]
