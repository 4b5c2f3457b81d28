"""Google's Gemini, through the google-genai SDK (imported only when a request is made)."""

from studio.providers.gemini._transcriber import (
    DEFAULT_TRANSCRIBE_MODEL,
    MAX_INLINE_AUDIO_BYTES,
    GeminiTranscriber,
)

__all__ = ["DEFAULT_TRANSCRIBE_MODEL", "MAX_INLINE_AUDIO_BYTES", "GeminiTranscriber"]
