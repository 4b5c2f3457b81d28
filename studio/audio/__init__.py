"""The song's map: ingest, analysis, lyrics, and the demo-song synthesiser."""

from studio.audio._synth import DEFAULT_STRUCTURE, SongTruth, demo_lyrics_lrc, synthesize_song

__all__ = ["DEFAULT_STRUCTURE", "SongTruth", "demo_lyrics_lrc", "synthesize_song"]
