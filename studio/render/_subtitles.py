"""Lyrics as an Advanced SubStation Alpha document, for libass to burn into the picture.

Every size is in the frame's own pixels (``PlayResX``/``PlayResY`` are the frame), so what a
person sets at 1080p looks the same in a 9:16 phone cut or a 360p draft. Karaoke lines fill
word by word with ``\\kf``; their timings are rounded from the song's clock, never summed, so a
long line ends on the centisecond it should.
"""

from __future__ import annotations

import functools
import importlib.util
import re
from pathlib import Path

from studio.errors import RenderError
from studio.model import LyricLine, Lyrics, LyricWord, SubtitleStyle

__all__ = ["ass_document", "font_dir", "windowed_lines"]

_STYLE_NAME = "Lyrics"
# &HAABBGGRR. In karaoke, libass draws a syllable in SecondaryColour until it is sung and in
# PrimaryColour from then on (\kf sweeps between the two), so the sung colour is the primary.
_WHITE = "&H00FFFFFF"
_SUNG = "&H003FD2FF"  # warm gold, #FFD23F
_OUTLINE = "&H00000000"
_SHADOW = "&H80000000"
_ALIGNMENT = {"bottom": 2, "middle": 5, "top": 8}
_STYLE_FIELDS = (
    "Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, BackColour, "
    "Bold, Italic, Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, BorderStyle, "
    "Outline, Shadow, Alignment, MarginL, MarginR, MarginV, Encoding"
)
_EVENT_FIELDS = "Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text"
# A backslash before one of these would make an escape (\N, \n, \h, \{, \}); a word joiner
# (U+2060, drawn as nothing) between them keeps the backslash a backslash.
_WORD_JOINER = "\u2060"


def ass_document(
    lyrics: Lyrics,
    style: SubtitleStyle,
    *,
    width: int,
    height: int,
    window: tuple[float, float] | None = None,
) -> str:
    """The lyrics for a ``width`` x ``height`` frame. With ``window=(a, b)`` only the lines sung
    between ``a`` and ``b`` seconds are kept, on a clock that starts at ``a`` (a teaser)."""
    lines = windowed_lines(lyrics.lines, window) if window is not None else lyrics.lines
    scale = min(width, height) / 1080
    size = max(8, round(style.size * scale))
    outline = style.outline * scale
    primary, secondary = (_SUNG, _WHITE) if style.karaoke else (_WHITE, _WHITE)
    font = style.font.replace(",", " ")  # a comma would end the field
    margin_x, margin_y = round(width * 0.05), round(height * 0.06)
    style_line = (
        f"Style: {_STYLE_NAME},{font},{size},{primary},{secondary},{_OUTLINE},{_SHADOW},"
        f"0,0,0,0,100,100,0,0,1,{outline:.2f},0,{_ALIGNMENT[style.position]},"
        f"{margin_x},{margin_x},{margin_y},1"
    )
    events = [
        f"Dialogue: 0,{_timestamp(_cs(line.start))},{_timestamp(_cs(line.end))},{_STYLE_NAME},,"
        f"0,0,0,,{_karaoke(line) if style.karaoke and line.words else _plain(line, style)}"
        for line in lines
    ]
    return "\n".join(
        [
            "[Script Info]",
            "ScriptType: v4.00+",
            f"PlayResX: {width}",
            f"PlayResY: {height}",
            "ScaledBorderAndShadow: yes",
            "WrapStyle: 0",
            "",
            "[V4+ Styles]",
            f"Format: {_STYLE_FIELDS}",
            style_line,
            "",
            "[Events]",
            f"Format: {_EVENT_FIELDS}",
            *events,
            "",
        ]
    )


@functools.cache
def font_dir() -> Path:
    """A folder with DejaVu Sans, the default lyrics font, from matplotlib's own data: libass
    finds it there on a machine with no fonts installed and no network. Found without
    importing matplotlib, which would cost a render a few tenths of a second before its
    first frame."""
    spec = importlib.util.find_spec("matplotlib")
    places = (spec.submodule_search_locations or []) if spec is not None else []
    folder = Path(next(iter(places), ".")) / "mpl-data" / "fonts" / "ttf"
    if not (folder / "DejaVuSans.ttf").is_file():
        raise RenderError(
            f"no DejaVuSans.ttf in {folder}, so lyrics cannot be drawn",
            hint="reinstall matplotlib (pip install --force-reinstall matplotlib)",
        )
    return folder


def _plain(line: LyricLine, style: SubtitleStyle) -> str:
    # a line without word times is drawn whole, in white even when the style's primary is
    # the karaoke colour
    return ("{\\1c&HFFFFFF&}" if style.karaoke else "") + _escape(line.text)


def _karaoke(line: LyricLine) -> str:
    """``{\\kf}`` before each word, lasting until the next word starts (the last until the
    line ends), after a ``{\\k}`` pause for any wait before the first word."""
    start, end = _cs(line.start), _cs(line.end)
    marks = [min(max(_cs(w.start), start), end) for w in line.words]
    for i in range(1, len(marks)):
        marks[i] = max(marks[i], marks[i - 1])
    lengths = [b - a for a, b in zip(marks, [*marks[1:], end], strict=True)]
    pause = f"{{\\k{marks[0] - start}}}" if marks[0] > start else ""
    return pause + "".join(
        f"{{\\kf{cs}}}{_escape(text)}"
        for cs, text in zip(lengths, _pieces(line.text, line.words), strict=True)
    )


def _pieces(text: str, words: list[LyricWord]) -> list[str]:
    """The line's own text cut where each word begins, so syllables stay joined and the
    punctuation and spacing of the line survive; the words joined by spaces if a word cannot
    be found in the line."""
    cuts, cursor = [], 0
    for word in words:
        at = text.find(word.text, cursor)
        if at < 0:
            return [w.text + (" " if i < len(words) - 1 else "") for i, w in enumerate(words)]
        cuts.append(at)
        cursor = at + len(word.text)
    cuts[0] = 0
    return [text[a:b] for a, b in zip(cuts, [*cuts[1:], len(text)], strict=True)]


def _escape(text: str) -> str:
    """Text that libass draws as written: braces do not open override blocks and a backslash
    makes no escape; line breaks become ``\\N``."""
    text = text.replace("\\", "\\" + _WORD_JOINER)
    text = text.replace("{", "\\{").replace("}", "\\}")
    return re.sub(r"\r\n|\r|\n", r"\\N", text)


def windowed_lines(lines: list[LyricLine], window: tuple[float, float]) -> list[LyricLine]:
    """The lines sung between ``a`` and ``b`` seconds, on a clock that starts at ``a``."""
    a, b = window
    limit = b - a
    out = []
    for line in Lyrics(lines=lines, source="text").shifted(-a).lines:
        if line.start >= limit:
            break
        words = [
            LyricWord(start=w.start, end=min(w.end, limit), text=w.text)
            for w in line.words
            if w.start < limit
        ]
        out.append(
            LyricLine(start=line.start, end=min(line.end, limit), text=line.text, words=words)
        )
    return out


def _cs(seconds: float) -> int:
    return round(seconds * 100)


def _timestamp(cs: int) -> str:
    hours, rest = divmod(cs, 360_000)
    minutes, rest = divmod(rest, 6000)
    return f"{hours}:{minutes:02d}:{rest // 100:02d}.{rest % 100:02d}"
