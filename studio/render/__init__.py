"""From timeline to ffmpeg: the only code that builds ffmpeg command lines."""

from studio.render._clips import LocalVideoModel, make_clip, video_model
from studio.render._ffmpeg import (
    FfmpegInfo,
    compact_audio_command,
    concat_command,
    decode_audio_command,
    encode_frames_command,
    ffmpeg_info,
    ffmpeg_path,
    testcard_command,
)
from studio.render._motion import Camera, camera_at, ease, focus_point, frames, morph
from studio.render._probe import MediaInfo, ProgressParser, probe

__all__ = [
    "Camera",
    "FfmpegInfo",
    "LocalVideoModel",
    "MediaInfo",
    "ProgressParser",
    "camera_at",
    "compact_audio_command",
    "concat_command",
    "decode_audio_command",
    "ease",
    "encode_frames_command",
    "ffmpeg_info",
    "ffmpeg_path",
    "focus_point",
    "frames",
    "make_clip",
    "morph",
    "probe",
    "testcard_command",
    "video_model",
]
