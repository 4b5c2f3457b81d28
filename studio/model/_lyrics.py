"""A song's lyrics on the song's clock: lines, and where known the words within them.

Times are seconds from the first sample of the song. Lines are in time order and do not
overlap; a line's words lie inside the line and do not overlap either. A "word" is the unit a
timed file gives: usually a word, sometimes a syllable or a few words.
"""

from __future__ import annotations

import bisect
import itertools
from typing import Literal

from pydantic import Field, model_validator

from studio.model._base import StudioModel

__all__ = ["LyricLine", "LyricWord", "Lyrics", "LyricsSource"]

# Neighbouring times may touch within this much (float error after a shift), never more.
_TOLERANCE = 1e-6
_MAX_LINES = 5000
_MAX_CHARS = 1000

LyricsSource = Literal["lrc", "srt", "vtt", "text", "transcribed"]
"""Where the lyrics came from: a timed file's format, plain text spread over the song, or a
transcription of the vocals."""


class LyricWord(StudioModel):
    """A word (or syllable) sung from ``start`` to ``end``."""

    start: float = Field(ge=0)
    end: float
    text: str = Field(min_length=1, max_length=_MAX_CHARS, pattern=r"\S")

    @model_validator(mode="after")
    def _ordered(self) -> LyricWord:
        if self.end <= self.start:
            raise ValueError(f"word {self.text!r} ends at {self.end} s, not after {self.start} s")
        return self

    def shifted(self, seconds: float) -> LyricWord:
        return LyricWord(start=self.start + seconds, end=self.end + seconds, text=self.text)


class LyricLine(StudioModel):
    """A line of the lyrics, shown from ``start`` to ``end``; ``words`` may be empty."""

    start: float = Field(ge=0)
    end: float
    text: str = Field(min_length=1, max_length=_MAX_CHARS, pattern=r"\S")
    words: list[LyricWord] = Field(default_factory=list)

    @model_validator(mode="after")
    def _words_inside(self) -> LyricLine:
        if self.end <= self.start:
            raise ValueError(f"line {self.text!r} ends at {self.end} s, not after {self.start} s")
        cursor = self.start
        for word in self.words:
            if word.start < cursor - _TOLERANCE:
                raise ValueError(
                    f"word {word.text!r} at {word.start} s starts before {cursor} s "
                    f"(the line's start or the end of the word before it)"
                )
            cursor = word.end
        if cursor > self.end + _TOLERANCE:
            raise ValueError(f"the words of line {self.text!r} run past its end at {self.end} s")
        return self

    def shifted(self, seconds: float) -> LyricLine:
        return LyricLine(
            start=self.start + seconds,
            end=self.end + seconds,
            text=self.text,
            words=[w.shifted(seconds) for w in self.words],
        )


class Lyrics(StudioModel):
    """The lyrics of a song: lines in time order, with where they came from.

    ``estimated`` is true when the times were guessed (plain text spread over the sections)
    rather than read from a timed file or a transcription.
    """

    lines: list[LyricLine] = Field(max_length=_MAX_LINES)
    source: LyricsSource
    estimated: bool = False
    language: str | None = Field(default=None, min_length=1, max_length=35)
    title: str | None = Field(default=None, max_length=500)
    artist: str | None = Field(default=None, max_length=500)
    album: str | None = Field(default=None, max_length=500)

    @model_validator(mode="after")
    def _in_time_order(self) -> Lyrics:
        for n, (a, b) in enumerate(itertools.pairwise(self.lines), start=2):
            if b.start < a.end - _TOLERANCE:
                raise ValueError(
                    f"line {n} starts at {b.start} s, before line {n - 1} ends at {a.end} s"
                )
        return self

    @property
    def text(self) -> str:
        """The lyrics as plain text, one line per line."""
        return "\n".join(line.text for line in self.lines)

    @property
    def words(self) -> list[LyricWord]:
        """Every timed word of every line, in order."""
        return [w for line in self.lines for w in line.words]

    def line_at(self, time: float) -> LyricLine | None:
        """The line being sung at ``time`` seconds, or None between lines."""
        i = bisect.bisect_right([line.start for line in self.lines], time) - 1
        if i >= 0 and time < self.lines[i].end:
            return self.lines[i]
        return None

    def shifted(self, seconds: float) -> Lyrics:
        """The same lyrics ``seconds`` later (earlier if negative).

        What would start before the song's start is cut at zero: lines and words that end by
        then are dropped, and one that is under way at zero starts there.
        """
        lines = [
            line.shifted(seconds) if line.start + seconds >= 0 else _clip_start(line, seconds)
            for line in self.lines
            if line.end + seconds > _TOLERANCE
        ]
        return Lyrics.model_validate({**self.model_dump(exclude={"lines"}), "lines": lines})


def _clip_start(line: LyricLine, seconds: float) -> LyricLine:
    words = [
        LyricWord(start=max(0.0, w.start + seconds), end=w.end + seconds, text=w.text)
        for w in line.words
        if w.end + seconds > _TOLERANCE
    ]
    return LyricLine(start=0.0, end=line.end + seconds, text=line.text, words=words)
