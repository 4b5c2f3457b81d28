"""The song's map: ingest, analysis, lyrics, and the demo-song synthesiser."""

from studio.audio._ingest import MAX_BYTES, MAX_SECONDS, MIN_SECONDS, DecodedAudio, load_audio
from studio.audio._synth import DEFAULT_STRUCTURE, SongTruth, demo_lyrics_lrc, synthesize_song

__all__ = [
    "DEFAULT_STRUCTURE",
    "MAX_BYTES",
    "MAX_SECONDS",
    "MIN_SECONDS",
    "DecodedAudio",
    "SongTruth",
    "demo_lyrics_lrc",
    "load_audio",
    "synthesize_song",
]
