"""The song's map: ingest, analysis, lyrics, and the demo-song synthesiser."""

from studio.audio._analyze import ANALYZER, CURVE_HOP, analyze, analyze_file
from studio.audio._ingest import MAX_BYTES, MAX_SECONDS, MIN_SECONDS, DecodedAudio, load_audio
from studio.audio._lyrics import (
    MAX_LYRICS_BYTES,
    MAX_LYRICS_LINES,
    lyrics_from_words,
    parse_lrc,
    parse_lyrics,
    parse_srt,
    parse_vtt,
    spread_lyrics,
    to_lrc,
    to_srt,
)
from studio.audio._music import LocalMusicModel, music_model, read_music_prompt
from studio.audio._synth import DEFAULT_STRUCTURE, SongTruth, demo_lyrics_lrc, synthesize_song

__all__ = [
    "ANALYZER",
    "CURVE_HOP",
    "DEFAULT_STRUCTURE",
    "MAX_BYTES",
    "MAX_LYRICS_BYTES",
    "MAX_LYRICS_LINES",
    "MAX_SECONDS",
    "MIN_SECONDS",
    "DecodedAudio",
    "LocalMusicModel",
    "SongTruth",
    "analyze",
    "analyze_file",
    "demo_lyrics_lrc",
    "load_audio",
    "lyrics_from_words",
    "music_model",
    "parse_lrc",
    "parse_lyrics",
    "parse_srt",
    "parse_vtt",
    "read_music_prompt",
    "spread_lyrics",
    "synthesize_song",
    "to_lrc",
    "to_srt",
]
