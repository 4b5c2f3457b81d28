"""From timeline to ffmpeg: the only code that builds ffmpeg command lines."""

from studio.render._ffmpeg import (
    FfmpegInfo,
    compact_audio_command,
    concat_command,
    decode_audio_command,
    ffmpeg_info,
    ffmpeg_path,
    testcard_command,
)
from studio.render._probe import MediaInfo, ProgressParser, probe

__all__ = [
    "FfmpegInfo",
    "MediaInfo",
    "ProgressParser",
    "compact_audio_command",
    "concat_command",
    "decode_audio_command",
    "ffmpeg_info",
    "ffmpeg_path",
    "probe",
    "testcard_command",
]
