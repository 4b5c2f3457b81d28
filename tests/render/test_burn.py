"""Lyrics burned by the renderer from looks libass draws once, checked frame by frame against
ffmpeg's own ``ass`` filter burning the same document into the same frames."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from PIL import Image

from studio.model import (
    LyricLine,
    Lyrics,
    LyricWord,
    Quality,
    RenderSettings,
    SubtitleStyle,
    Timeline,
    TimelineClip,
)
from studio.render import ClipMedia, Renderer, RenderPlan, compile_plan, ffmpeg_path
from studio.render._burn import BurnedLyrics, _events
from studio.render._ffmpeg import subtitles_filter
from studio.render._frames import Planes
from studio.render._subtitles import ass_document, font_dir

W, H = 640, 360


def _line(start: float, end: float, *words: tuple[float, str]) -> LyricLine:
    """A line whose words start at the given times (each lasts until the next)."""
    times = [t for t, _ in words] + [end]
    return LyricLine(
        start=start,
        end=end,
        text=" ".join(text for _, text in words),
        words=[
            LyricWord(start=a, end=b, text=text)
            for (a, text), b in zip(words, times[1:], strict=True)
        ],
    )


LYRICS = Lyrics(
    lines=[
        _line(1.0, 3.0, (1.0, "Hold"), (1.4, "on"), (1.7, "tonight"), (2.5, "wow")),
        _line(3.2, 4.0, (3.2, "still")),
    ],
    source="text",
)


def _frames(count: int) -> list[Planes]:
    """Textured frames, each a little different, so a blend shows in every level."""
    x = np.arange(W)[None, :]
    y = np.arange(H)[:, None]
    out = []
    for k in range(count):
        luma = (60 + 40 * np.sin(x / 23 + k / 7) + 30 * np.cos(y / 17)).astype(np.uint8)
        cx, cy = np.arange(W // 2)[None, :], np.arange(H // 2)[:, None]
        u = (128 + 30 * np.sin(cx / 11 + cy / 13)).astype(np.uint8)
        v = (128 + 30 * np.cos(cx / 9 - k / 5) + 0 * cy).astype(np.uint8)
        out.append(Planes(luma, u, v))
    return out


def _ffmpeg_burn(frames: list[Planes], document: Path, fps: int) -> list[Planes]:
    """The frames with ``document`` burned by ffmpeg's ``ass`` filter, as the encoder did."""
    raw = b"".join(p.y.tobytes() + p.u.tobytes() + p.v.tobytes() for p in frames)
    command = [
        ffmpeg_path(), "-hide_banner", "-nostdin", "-loglevel", "error",
        "-f", "rawvideo", "-pix_fmt", "yuv420p", "-s", f"{W}x{H}", "-r", str(fps),
        "-colorspace", "bt709", "-color_primaries", "bt709", "-color_trc", "bt709",
        "-color_range", "tv", "-i", "pipe:0",
        "-vf", subtitles_filter(document, font_dir()),
        "-f", "rawvideo", "-pix_fmt", "yuv420p", "pipe:1",
    ]  # fmt: skip
    done = subprocess.run(command, input=raw, capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr.decode()
    size = W * H * 3 // 2
    return [
        Planes.from_bytes(done.stdout[k * size : (k + 1) * size], W, H) for k in range(len(frames))
    ]


def _burned(
    document: str, tmp_path: Path, fps: int, count: int
) -> tuple[list[Planes], list[Planes], list[Planes]]:
    """(plain frames, ours, ffmpeg's) for frames 0 to ``count``."""
    path = tmp_path / "lyrics.ass"
    path.write_text(document, encoding="utf-8")
    lyrics = BurnedLyrics.parse(
        document, path, font_dir(), size=(W, H), fps=fps, first=0, last=count
    )
    assert lyrics is not None
    lyrics.draw()
    plain = _frames(count)
    ours = [lyrics.burn(p, k, owned=False) for k, p in enumerate(plain)]
    return plain, ours, _ffmpeg_burn(plain, path, fps)


def _columns(a: np.ndarray, b: np.ndarray, over: int) -> np.ndarray:
    return np.flatnonzero((np.abs(a.astype(int) - b.astype(int)) > over).any(axis=0))


@pytest.mark.parametrize("fps", [30, 25])
def test_karaoke_burn_matches_libass_in_the_encoder_but_the_fills_edge(
    tmp_path: Path, fps: int
) -> None:
    document = ass_document(LYRICS, SubtitleStyle(size=72), width=W, height=H)
    count = 4 * fps + 6
    plain, ours, theirs = _burned(document, tmp_path, fps, count)
    shown = 0
    for k in range(count):
        drawn = np.abs(theirs[k].y.astype(int) - plain[k].y.astype(int)) > 0
        mine = np.abs(ours[k].y.astype(int) - plain[k].y.astype(int)) > 0
        # the same frames carry lyrics (a line appears and goes on the frame ffmpeg's does)
        assert drawn.any() == mine.any(), f"frame {k}"
        shown += bool(drawn.any())
        # the words are drawn where libass draws them, the fill's edge within a column
        for a, b in ((ours[k].y, theirs[k].y), (ours[k].u, theirs[k].u), (ours[k].v, theirs[k].v)):
            cols = _columns(a, b, 8)
            assert cols.size == 0 or cols[-1] - cols[0] <= 3, f"frame {k}: columns {cols}"
            assert np.abs(a.astype(int) - b.astype(int)).mean() < 0.05
    # lines show from 1.0 to 3.0 s and 3.2 to 4.0 s
    assert abs(shown - 2.8 * fps) <= 2


def test_a_line_without_karaoke_matches_to_rounding(tmp_path: Path) -> None:
    document = ass_document(LYRICS, SubtitleStyle(size=60, karaoke=False), width=W, height=H)
    plain, ours, theirs = _burned(document, tmp_path, 30, 70)
    for k in (29, 30, 31, 45, 69):
        # luma to rounding; chroma within a few levels at the letters' edges, where the
        # filter blends outline and fill one after the other on 2x2 blocks and the looks once
        for a, b, most in ((ours[k].y, theirs[k].y, 3), (ours[k].u, theirs[k].u, 6),
                           (ours[k].v, theirs[k].v, 6)):  # fmt: skip
            assert np.abs(a.astype(int) - b.astype(int)).max() <= most, f"frame {k}"
    assert (ours[45].y != plain[45].y).sum() > 500  # the words are there


def test_frames_others_hold_are_burned_in_a_copy(tmp_path: Path) -> None:
    document = ass_document(LYRICS, SubtitleStyle(size=60), width=W, height=H)
    path = tmp_path / "lyrics.ass"
    path.write_text(document, encoding="utf-8")
    lyrics = BurnedLyrics.parse(document, path, font_dir(), size=(W, H), fps=30, first=0, last=60)
    assert lyrics is not None
    lyrics.draw()
    still = _frames(1)[0]
    kept = Planes(still.y.copy(), still.u.copy(), still.v.copy())
    burned = lyrics.burn(still, 45, owned=False)
    assert (burned.y != kept.y).any()
    assert all(
        (a == b).all()
        for a, b in zip((still.y, still.u, still.v), (kept.y, kept.u, kept.v), strict=True)
    )
    assert lyrics.burn(still, 10, owned=False) is still  # nothing sung at 0.33 s


def test_document_timings_are_read_and_animation_is_left_to_the_encoder() -> None:
    document = ass_document(LYRICS, SubtitleStyle(), width=W, height=H)
    first, second = _events(document) or []
    assert (first.start, first.end) == (1000, 3000)
    assert first.sweeps == ((1000, 1400), (1400, 1700), (1700, 2500), (2500, 3000))
    assert (second.start, second.end, second.sweeps) == (3200, 4000, ((3200, 4000),))
    head, _, _ = document.partition("Dialogue:")
    for text in ("{\\t(0,500,\\fs80)}hey", "{\\move(0,0,50,50)}hey", "{\\fad(200,0)}hey"):
        assert _events(head + f"Dialogue: 0,0:00:01.00,0:00:02.00,Lyrics,,0,0,0,,{text}\n") is None
    scrolling = head + "Dialogue: 0,0:00:01.00,0:00:02.00,Lyrics,,0,0,0,Scroll up;10;100;0,hey\n"
    assert _events(scrolling) is None


def _plan(tmp_path: Path, subtitles: str) -> RenderPlan:
    """Three seconds of one grey still, ``subtitles`` burned in."""
    song = tmp_path / "song.wav"
    sf.write(song, np.zeros((48000 * 3, 2), np.float32), 48000)
    picture = tmp_path / "still.png"
    Image.fromarray(np.full((360, 640, 3), 90, np.uint8)).save(picture)
    timeline = Timeline(project_id="p", duration=3.0, clips=[TimelineClip(start=0, duration=3.0)])
    media = {timeline.clips[0].id: ClipMedia(picture, "still")}
    settings = RenderSettings(resolution=360, fps=30, quality=Quality.DRAFT)
    return compile_plan(timeline, media, settings, song=song, subtitles=subtitles)


def test_the_renderer_burns_lyrics_itself_unless_they_animate(tmp_path: Path) -> None:
    lyrics = Lyrics(lines=[_line(1.0, 2.0, (1.0, "la"), (1.5, "la"))], source="text")
    document = ass_document(lyrics, SubtitleStyle(size=60), width=W, height=H)
    renderer = Renderer(_plan(tmp_path, document), tmp_path)
    renderer.prepare()
    assert renderer._burn() is None  # the encoder burns nothing
    frames = list(renderer.frames(0, 90))
    sung = [k for k, f in enumerate(frames) if (f.y != frames[0].y).any()]
    assert sung == list(range(30, 60))
    # a static still's planes are shared by its frames: each burned frame is a copy
    assert (frames[0].y == frames[89].y).all() and (frames[0].y == 90 * 219 // 255 + 16).all()

    head, _, _ = document.partition("Dialogue:")
    moving = head + "Dialogue: 0,0:00:01.00,0:00:02.00,Lyrics,,0,0,0,,{\\fad(200,0)}la\n"
    other = Renderer(_plan(tmp_path, moving), tmp_path)
    other.prepare()
    assert (other._burn() or "").startswith("ass=")  # left to the encoder's filter
    assert all((f.y == frames[0].y).all() for f in other.frames(0, 90))


@pytest.mark.parametrize("per_run", [2000, 40])
def test_hundreds_of_looks_are_each_drawn_at_their_time(
    tmp_path: Path, per_run: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 150 words, each shown for 60 ms of every 100: a look drawn at the wrong time is empty
    monkeypatch.setattr("studio.render._burn._LOOKS_PER_RUN", per_run)
    lines = [LyricLine(start=k / 10, end=k / 10 + 0.06, text=f"w{k}", words=[]) for k in range(150)]
    document = ass_document(
        Lyrics(lines=lines, source="text"), SubtitleStyle(size=40), width=W, height=H
    )
    path = tmp_path / "lyrics.ass"
    path.write_text(document, encoding="utf-8")
    lyrics = BurnedLyrics.parse(document, path, font_dir(), size=(W, H), fps=50, first=0, last=750)
    assert lyrics is not None
    lyrics.draw()
    assert len(lyrics._looks) == 150 and all(look is not None for look in lyrics._looks.values())
    plain = _frames(1)[0]
    shown = [k for k in range(750) if (lyrics.burn(plain, k, owned=False).y != plain.y).any()]
    assert shown == [k for k in range(750) if k % 5 < 3]  # 0, 20 and 40 ms of every 100
