"""Lyrics read and written: LRC (with enhanced word times), SRT and WebVTT, and plain text
spread over the song's vocal sections when no times are known.

Every reader takes the file's text or its bytes (UTF-8, or UTF-8/UTF-16 with a byte-order
mark) and returns whole :class:`~studio.model.Lyrics` or raises ``InvalidInput`` whose message
starts with the line number of what is wrong (``details["line"]`` holds it too); nothing partial
is returned. Lines that start at the same time are joined into one line with " / " (an LRC
file's translation lines, two speakers in an SRT); a cue that runs into the next one is cut
where the next one starts. A cue's text on several lines becomes one line, joined with spaces.
"""

from __future__ import annotations

import bisect
import codecs
import html
import itertools
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from pydantic import ValidationError

from studio.errors import InvalidInput, PayloadTooLarge
from studio.model import LyricLine, Lyrics, LyricsSource, LyricWord, Section

__all__ = [
    "MAX_LYRICS_BYTES",
    "MAX_LYRICS_LINES",
    "lyrics_from_words",
    "parse_lrc",
    "parse_lyrics",
    "parse_srt",
    "parse_vtt",
    "spread_lyrics",
    "to_lrc",
    "to_srt",
]

MAX_LYRICS_BYTES = 1_000_000
MAX_LYRICS_LINES = 5000
_LAST_LINE = 4.0  # seconds an LRC file's last line lasts when nothing says when it ends
_VOCAL = frozenset({"verse", "prechorus", "chorus", "hook", "refrain", "bridge", "drop"})
_SAME_TIME = 1e-9

_Format = Literal["lrc", "srt", "vtt", "text"]

# -- reading text ------------------------------------------------------------------------------


def _bad(line: int, what: str, hint: str) -> InvalidInput:
    return InvalidInput(f"line {line}: {what}", hint=hint, line=line)


def _check_size(blob: bytes) -> None:
    if len(blob) > MAX_LYRICS_BYTES:
        line = blob.count(b"\n", 0, MAX_LYRICS_BYTES) + 1
        raise PayloadTooLarge(
            f"line {line}: the lyrics pass the {MAX_LYRICS_BYTES // 1_000_000} MB limit there",
            hint="a song's lyrics are a few kilobytes: check that this is the lyrics file",
            line=line,
        )


def _decode(data: bytes) -> str:
    _check_size(data)
    if data.startswith(codecs.BOM_UTF8):
        encoding, body = "utf-8", data[len(codecs.BOM_UTF8) :]
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding, body = "utf-16", data
    else:
        encoding, body = "utf-8", data
    try:
        return body.decode(encoding).removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        line = body.count(b"\n", 0, exc.start) + 1
        raise _bad(
            line,
            f"byte {exc.start} is not {encoding.upper()} text: this looks like a binary file",
            "save the lyrics as UTF-8 text (or UTF-16 with a byte-order mark)",
        ) from exc


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_NEWLINE = re.compile(r"\r\n|\r|\n")


def _read(data: str | bytes) -> list[str]:
    """The text's lines, after the checks every lyrics file must pass."""
    if isinstance(data, bytes):
        text = _decode(data)
    else:
        text = data.removeprefix("\ufeff")
        try:
            _check_size(text[: MAX_LYRICS_BYTES + 1].encode("utf-8"))
        except UnicodeEncodeError as exc:
            line = text.count("\n", 0, exc.start) + 1
            raise _bad(
                line,
                f"character {exc.start} is a lone surrogate, not text",
                "save the lyrics as UTF-8 text",
            ) from exc
    if not text.strip():
        raise _bad(1, "the lyrics are empty", "choose the file with the song's lyrics in it")
    control = _CONTROL.search(text)
    if control:
        line = text.count("\n", 0, control.start()) + 1
        raise _bad(
            line,
            f"there is a control character (U+{ord(control.group()):04X}) in it: "
            "this looks like a binary file, not lyrics",
            "choose a text file (LRC, SRT, VTT or plain text)",
        )
    lines = _NEWLINE.split(text)
    if lines[-1] == "":
        lines.pop()
    if len(lines) > MAX_LYRICS_LINES:
        raise PayloadTooLarge(
            f"line {MAX_LYRICS_LINES + 1}: the lyrics have more than {MAX_LYRICS_LINES} lines",
            hint="a song's lyrics are a few hundred lines: check that this is the lyrics file",
            line=MAX_LYRICS_LINES + 1,
        )
    return lines


# -- cues: lines as read, before they become models ------------------------------------------


@dataclass
class _Word:
    start: float | None  # None: when the line starts
    text: str
    end: float | None = None  # None: when the next word starts, or the line ends


@dataclass
class _Cue:
    n: int  # the source line, for messages
    start: float
    text: str
    words: list[_Word] = field(default_factory=list)
    end: float | None = None


_TIME_TAG = re.compile(r"<([^<>]*)>")
_SRT_STYLE = re.compile(r"\{\\[^{}]*\}")


def _split_words(body: str, n: int, clock: _Clock, *, strip_tags: bool) -> tuple[str, list[_Word]]:
    """A line's text and its timed words, from text with ``<time>`` tags in it.

    The text after a time tag is a word that starts then and ends at the next tag; a tag
    followed by nothing but spaces only ends the word before it. Without time tags there are
    no words. Other ``<...>`` tags are styling: dropped when ``strip_tags``, else kept as text.
    """
    pieces: list[tuple[float | None, str]] = [(None, "")]
    last: float | None = None
    cursor = 0
    for m in _TIME_TAG.finditer(body):
        inner = m.group(1).strip()
        if not inner[:1].isdigit():
            if strip_tags:
                pieces[-1] = (pieces[-1][0], pieces[-1][1] + body[cursor : m.start()])
                cursor = m.end()
            continue
        pieces[-1] = (pieces[-1][0], pieces[-1][1] + body[cursor : m.start()])
        cursor = m.end()
        t = clock(inner, n, f"<{inner}>")
        if last is not None and t <= last:
            raise _bad(
                n,
                f"the word time <{inner}> is not after the one before it",
                "word times run forwards along the line; correct or remove that one",
            )
        last = t
        pieces.append((t, ""))
    pieces[-1] = (pieces[-1][0], pieces[-1][1] + body[cursor:])
    text = " ".join("".join(raw for _, raw in pieces).split())
    if last is None:
        return text, []
    words: list[_Word] = []
    for start, raw in pieces:
        if words and words[-1].end is None and start is not None:
            words[-1].end = start
        if raw.strip():
            words.append(_Word(start, raw.strip()))
    return text, words


def _merge_same_start(cues: list[_Cue]) -> list[_Cue]:
    cues = sorted(cues, key=lambda c: (c.start, c.n))
    merged: list[_Cue] = []
    for cue in cues:
        if merged and abs(cue.start - merged[-1].start) <= _SAME_TIME:
            first = merged[-1]
            if first.words and cue.words:
                raise _bad(
                    cue.n,
                    f"this line starts at the same time as line {first.n} and both have word times",
                    "give one of them a time of its own, or remove one",
                )
            first.text = f"{first.text} / {cue.text}"
            first.words = first.words or cue.words
            if cue.end is not None:
                first.end = cue.end if first.end is None else max(first.end, cue.end)
            continue
        merged.append(cue)
    return merged


def _model_error(n: int, exc: ValidationError) -> InvalidInput:
    error = exc.errors()[0]
    where = ".".join(str(p) for p in error["loc"])
    return _bad(n, f"{where}: {error['msg']}" if where else error["msg"], "correct that line")


def _to_line(cue: _Cue, fmt: _Fmt) -> LyricLine:
    """The model of a cue whose end is known; words past the end are cut there."""
    assert cue.end is not None
    words = []
    for i, w in enumerate(cue.words):
        start = cue.start if w.start is None else w.start
        if start < cue.start:
            raise _bad(
                cue.n,
                f"the word {w.text!r} starts at {fmt(start)}, before its line at {fmt(cue.start)}",
                "a line's word times come at or after the line's own time",
            )
        if start >= cue.end:
            raise _bad(
                cue.n,
                f"the word {w.text!r} starts at {fmt(start)}, after the line ends at "
                f"{fmt(cue.end)} (where the next line or cue starts)",
                "correct the word's time, or the time of the line that follows",
            )
        end = w.end
        if end is None:
            nxt = cue.words[i + 1].start if i + 1 < len(cue.words) else None
            end = cue.end if nxt is None else nxt
        words.append((start, min(end, cue.end), w.text))
    try:
        return LyricLine(
            start=cue.start,
            end=cue.end,
            text=cue.text,
            words=[LyricWord(start=s, end=e, text=t) for s, e, t in words],
        )
    except ValidationError as exc:
        raise _model_error(cue.n, exc) from exc


def _finish(
    cues: list[_Cue],
    source: LyricsSource,
    fmt: _Fmt,
    last_n: int,
    meta: dict[str, tuple[int, str | None]] | None = None,
    *,
    estimated: bool = False,
) -> Lyrics:
    """The lyrics of cues whose ends are known; ``meta`` holds ``field: (line, value)``."""
    if not cues:
        raise _bad(
            last_n,
            "the file ends without a single timed line of lyrics",
            "check that this is the lyrics file and that its lines have times",
        )
    lines = [_to_line(cue, fmt) for cue in cues]
    meta = meta or {}
    try:
        return Lyrics(
            lines=lines,
            source=source,
            estimated=estimated,
            **{key: value for key, (_, value) in meta.items()},
        )
    except ValidationError as exc:
        field = str(exc.errors()[0]["loc"][0])
        raise _model_error(meta[field][0] if field in meta else cues[0].n, exc) from exc


# -- clocks -------------------------------------------------------------------------------------


class _Clock:
    """Reads one way of writing a time; raises naming the line when it cannot."""

    def __init__(self, pattern: str, example: str, *, hours: bool, sixty: bool) -> None:
        self.re = re.compile(pattern)
        self.example = example
        self.hours = hours
        self.sixty = sixty  # accept ss = 60 with a zero fraction: 59.995 s rounded by a writer

    def __call__(self, value: str, n: int, shown: str) -> float:
        m = self.re.fullmatch(value.strip())
        if not m:
            raise _bad(n, f"{shown} is not a time", f"write times like {self.example}")
        parts = m.groupdict()
        hours = int(parts.get("h") or 0)
        minutes, seconds = int(parts["m"]), int(parts["s"])
        frac = parts.get("f") or ""
        fraction = int(frac) / 10 ** len(frac) if frac else 0.0
        if self.hours and parts.get("h") is not None and minutes >= 60:
            raise _bad(n, f"{shown} has {minutes} minutes; minutes run 00-59", self._did(value))
        if seconds >= 60 and not (self.sixty and seconds == 60 and fraction == 0):
            raise _bad(n, f"{shown} has {seconds} seconds; seconds run 00-59", self._did(value))
        return hours * 3600 + minutes * 60 + seconds + fraction

    def _did(self, value: str) -> str:
        m = self.re.fullmatch(value.strip())
        assert m is not None
        total = int(m.group("m")) * 60 + int(m.group("s"))
        if self.hours:
            total += int(m.groupdict().get("h") or 0) * 3600
            hours, rest = divmod(total, 3600)
            fixed = f"{hours:02d}:{rest // 60:02d}:{rest % 60:02d}"
        else:
            fixed = f"{total // 60:02d}:{total % 60:02d}"
        return f"did you mean {fixed}{m.string[m.end('s') :]}? Times are {self.example}"


_LRC_CLOCK = _Clock(
    r"(?P<m>\d{1,3}):(?P<s>\d{1,2})(?:[.:](?P<f>\d{1,3}))?",
    "[mm:ss.xx], e.g. [01:23.45]",
    hours=False,
    sixty=True,
)
_CUE_CLOCK = _Clock(
    r"(?:(?P<h>\d{1,3}):)?(?P<m>\d{2}):(?P<s>\d{2})(?:[.,](?P<f>\d{1,3}))?",
    "hh:mm:ss,mmm, e.g. 00:01:23,450",
    hours=True,
    sixty=False,
)


class _Fmt:
    """Shows a time the way the file writes it, for messages."""

    def __init__(self, kind: Literal["lrc", "srt", "vtt"]) -> None:
        self.kind = kind

    def __call__(self, seconds: float) -> str:
        if self.kind == "lrc":
            return _lrc_time(seconds)
        return _cue_time(seconds, "," if self.kind == "srt" else ".")


def _lrc_clock(seconds: float) -> str:
    cs = round(seconds * 100)  # rounded before splitting: 59.996 s is 01:00.00, not 00:60.00
    minutes, cs = divmod(cs, 6000)
    return f"{minutes:02d}:{cs // 100:02d}.{cs % 100:02d}"


def _lrc_time(seconds: float) -> str:
    return f"[{_lrc_clock(seconds)}]"


def _cue_time(seconds: float, mark: str) -> str:
    ms = round(seconds * 1000)
    hours, ms = divmod(ms, 3_600_000)
    minutes, ms = divmod(ms, 60_000)
    return f"{hours:02d}:{minutes:02d}:{ms // 1000:02d}{mark}{ms % 1000:03d}"


# -- LRC ----------------------------------------------------------------------------------------

_LRC_META = re.compile(r"\[\s*([A-Za-z#]+)\s*:(.*)\]")
_LRC_STAMP = re.compile(r"\s*\[([^\[\]]*)\]")
_META_FIELDS = {"ti": "title", "ar": "artist", "al": "album", "la": "language", "lang": "language"}


def parse_lrc(text: str | bytes, duration: float | None = None) -> Lyrics:
    """Read LRC lyrics: ``[mm:ss.xx]`` line times, enhanced ``<mm:ss.xx>`` word times.

    A line ends where the next line (or a blank timed line, a break) starts; the last line at
    its closing word time, else 4 s after it starts, never after
    ``duration`` (or the ``[length:]`` tag). A line with several times is sung at each; its
    word times belong to the first and move with it. ``[offset:ms]`` is applied.
    """
    return _parse_lrc(_read(text), duration)


def _parse_lrc(lines: list[str], duration: float | None) -> Lyrics:
    fmt = _Fmt("lrc")
    meta: dict[str, tuple[int, str | None]] = {}
    offset = 0.0
    length: float | None = None
    cues: list[_Cue] = []
    breaks: list[float] = []
    for n, raw in enumerate(lines, start=1):
        line = raw.strip()
        if not line:
            continue
        tag = _LRC_META.fullmatch(line)
        if tag:
            key, value = tag.group(1).lower(), " ".join(tag.group(2).split())
            if key in _META_FIELDS:
                meta[_META_FIELDS[key]] = (n, value or None)
            elif key == "offset":
                if not re.fullmatch(r"[+-]?\d{1,7}", value):
                    raise _bad(
                        n,
                        f"[offset:{value}] is not a whole number of milliseconds",
                        "write it like [offset:+250] or [offset:-120]",
                    )
                offset = int(value) / 1000
            elif key == "length" and value:
                length = _LRC_CLOCK(value, n, f"[length:{value}]")
            continue
        times: list[float] = []
        pos = 0
        while m := _LRC_STAMP.match(line, pos):
            inner = m.group(1).strip()
            if not inner[:1].isdigit():
                break
            times.append(_LRC_CLOCK(inner, n, f"[{inner}]"))
            pos = m.end()
        if not times:
            raise _bad(
                n,
                f"{line[:40]!r} has no time",
                "start each lyric line with its time, e.g. [01:23.45], or remove the line",
            )
        body, words = _split_words(line[pos:], n, _LRC_CLOCK, strip_tags=False)
        if not body:
            breaks.extend(times)
            continue
        first = times[0]
        for t in times:
            moved = [
                _Word(
                    None if w.start is None else w.start - first + t,
                    w.text,
                    _moved(w.end, t - first),
                )
                for w in words
            ]
            cues.append(_Cue(n, t, body, moved))
    cues = _merge_same_start(cues)
    # Ends in the file's own time; the offset moves everything at the end.
    limit = None if duration is None else duration + offset
    if length is not None:
        length += offset
    for cue in cues:
        if limit is not None and cue.start >= limit:
            raise _bad(
                cue.n,
                f"the line at {fmt(cue.start)} starts after the song ends at {fmt(limit)}"
                + (f" (with the file's offset of {offset * 1000:+.0f} ms)" if offset else ""),
                "check that these lyrics belong to this song, and their [offset:]",
            )
    events = sorted({c.start for c in cues} | set(breaks))
    for cue in cues:
        i = bisect.bisect_right(events, cue.start + _SAME_TIME)
        if i < len(events):
            cue.end = events[i]
        elif cue.words and cue.words[-1].end is not None:
            cue.end = cue.words[-1].end  # the closing word time
        else:
            last_start = cue.words[-1].start if cue.words else None
            cue.end = (cue.start if last_start is None else last_start) + _LAST_LINE
            if limit is None and length is not None and length > cue.start:
                cue.end = min(cue.end, length)
        if limit is not None:
            cue.end = min(cue.end, limit)
    lyrics = _finish(cues, "lrc", fmt, len(lines), meta)
    return lyrics.shifted(-offset) if offset else lyrics


def _moved(t: float | None, by: float) -> float | None:
    return None if t is None else t + by


def to_lrc(lyrics: Lyrics) -> str:
    """The lyrics as LRC, with enhanced ``<mm:ss.xx>`` word times where the lines have words.

    A line that ends before the next one starts is followed by a blank timed line, so that
    reading the file back gives the same ends (to the hundredth of a second). Words are
    written with the spacing the line's text gives them.
    """
    out = [
        f"[{tag}:{_one_line(value)}]"
        for tag, value in (
            ("ti", lyrics.title),
            ("ar", lyrics.artist),
            ("al", lyrics.album),
            ("la", lyrics.language),
        )
        if value
    ]
    for i, line in enumerate(lyrics.lines):
        body = _lrc_words(line) if line.words else _one_line(line.text)
        out.append(f"{_lrc_time(line.start)}{body}")
        last = i + 1 == len(lyrics.lines)
        if last or round(line.end * 100) < round(lyrics.lines[i + 1].start * 100):
            out.append(_lrc_time(line.end))  # a blank timed line: where this line ends
    return "\n".join(out) + "\n"


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _lrc_words(line: LyricLine) -> str:
    """The words with their times, spaced as in the line's text (syllables stay joined)."""
    text = _one_line(line.text)
    parts = []
    cursor = 0
    for i, word in enumerate(line.words):
        nxt = line.words[i + 1] if i + 1 < len(line.words) else None
        found = text.find(word.text, cursor)
        if found >= 0:
            cursor = found + len(word.text)
        part = f"<{_lrc_clock(word.start)}>{word.text}"
        if nxt is None or round(word.end * 100) < round(nxt.start * 100):
            part += f"<{_lrc_clock(word.end)}>"  # a tag with no word: where this one ends
        if nxt is not None and not (found >= 0 and text.startswith(nxt.text, cursor)):
            part += " "
        parts.append(part)
    return "".join(parts)


# -- SRT and WebVTT -----------------------------------------------------------------------------

_ARROW = re.compile(r"\s*(\S+)\s+-->\s+(\S+)(.*)")


def parse_srt(text: str | bytes) -> Lyrics:
    """Read SubRip cues (``00:00:01,000 --> 00:00:04,000``); a cue's lines join with spaces."""
    return _parse_cues(_read(text), "srt")


def parse_vtt(text: str | bytes) -> Lyrics:
    """Read WebVTT cues; ``<00:00:01.500>`` inline times become words. NOTE, STYLE and REGION
    blocks, cue identifiers, cue settings and styling tags are skipped."""
    return _parse_cues(_read(text), "vtt")


def _blocks(lines: list[str], first: int) -> list[list[tuple[int, str]]]:
    blocks: list[list[tuple[int, str]]] = [[]]
    for n, raw in enumerate(lines[first:], start=first + 1):
        if raw.strip():
            blocks[-1].append((n, raw.strip()))
        elif blocks[-1]:
            blocks.append([])
    return [b for b in blocks if b]


def _parse_cues(lines: list[str], kind: Literal["srt", "vtt"]) -> Lyrics:
    fmt = _Fmt(kind)
    example = "00:00:01,000 --> 00:00:04,000" if kind == "srt" else "00:00:01.000 --> 00:00:04.000"
    meta: dict[str, tuple[int, str | None]] = {}
    first = 0
    if kind == "vtt":
        head = lines[0].strip()
        if not (head == "WEBVTT" or head.startswith(("WEBVTT ", "WEBVTT\t"))):
            raise _bad(
                1,
                f"a WebVTT file starts with 'WEBVTT', this one with {head[:40]!r}",
                "check the file is WebVTT; SRT files end in .srt",
            )
        first = 1
        while first < len(lines) and lines[first].strip():
            key, _, value = lines[first].partition(":")
            if key.strip().lower() == "language" and value.strip():
                meta["language"] = (first + 1, value.strip())
            first += 1
    cues: list[_Cue] = []
    for block in _blocks(lines, first):
        n, head = block[0]
        if kind == "vtt" and re.match(r"(NOTE|STYLE|REGION)(\s|$)", head):
            continue
        at = 0
        if "-->" not in head:
            # The line before the times names the cue: a number in SRT, any text in WebVTT.
            named = kind == "vtt" or head.isdigit()
            if not named or len(block) < 2 or "-->" not in block[1][1]:
                bad_n, found = block[1] if named and len(block) > 1 else (n, head)
                raise _bad(
                    bad_n,
                    f"expected a cue time such as {example}, found {found[:40]!r}",
                    f"each cue is a number, a time line ({example}) and its text",
                )
            at = 1
        n, timing = block[at]
        m = _ARROW.fullmatch(timing)
        if not m:
            raise _bad(n, f"{timing[:40]!r} is not a cue time line", f"write it like {example}")
        start = _CUE_CLOCK(m.group(1), n, m.group(1))
        end = _CUE_CLOCK(m.group(2), n, m.group(2))
        if end <= start:
            raise _bad(
                n,
                f"the cue ends at {m.group(2)}, not after it starts at {m.group(1)}",
                "correct the times: the end comes after the start",
            )
        body = " ".join(raw for _, raw in block[at + 1 :])
        if kind == "srt":
            body = _SRT_STYLE.sub("", body)
        text, words = _split_words(body, n, _CUE_CLOCK, strip_tags=True)
        if kind == "vtt":
            text = html.unescape(text)
            for w in words:
                w.text = html.unescape(w.text)
        for w in words:
            if w.start is not None and not start <= w.start < end:
                raise _bad(
                    n,
                    f"the word time {fmt(w.start)} is outside its cue "
                    f"({m.group(1)} --> {m.group(2)})",
                    "a cue's word times lie between its start and end",
                )
        if text:
            cues.append(_Cue(n, start, text, words, end))
    cues = _merge_same_start(cues)
    for a, b in itertools.pairwise(cues):
        assert a.end is not None
        a.end = min(a.end, b.start)
    return _finish(cues, kind, fmt, len(lines), meta)


def to_srt(lyrics: Lyrics) -> str:
    """The lyrics as SubRip cues, one per line. SRT has no word times: words are not written."""
    blocks = []
    for i, line in enumerate(lyrics.lines, start=1):
        start, end = round(line.start * 1000), round(line.end * 1000)
        end = max(end, start + 1)
        blocks.append(
            f"{i}\n{_cue_time(start / 1000, ',')} --> {_cue_time(end / 1000, ',')}\n"
            f"{_one_line(line.text)}\n"
        )
    return "\n".join(blocks)


# -- choosing the format --------------------------------------------------------------------

_SNIFF_SRT = re.compile(r"\s*(\d+:)?\d{2}:\d{2}[,.]\d{1,3}\s+-->")
_SNIFF_LRC = re.compile(r"\s*\[\d{1,3}:\d")


_EXTENSIONS: dict[str, _Format] = {"lrc": "lrc", "srt": "srt", "vtt": "vtt"}


def _first_timed(lines: list[str]) -> int | None:
    for n, line in enumerate(lines, start=1):
        if _SNIFF_SRT.match(line) or _SNIFF_LRC.match(line) or line.startswith("WEBVTT"):
            return n
    return None


def _sniff(lines: list[str]) -> _Format:
    if lines[0].strip().startswith("WEBVTT"):
        return "vtt"
    if any(_SNIFF_SRT.match(line) for line in lines):
        return "srt"
    if any(_SNIFF_LRC.match(line) for line in lines):
        return "lrc"
    return "text"


def parse_lyrics(
    text: str | bytes,
    filename: str | None = None,
    *,
    duration: float | None = None,
    sections: Sequence[Section] = (),
    downbeats: Sequence[float] = (),
) -> Lyrics:
    """Read lyrics in whichever format they are: from the file name's extension (``.lrc``,
    ``.srt``, ``.vtt``), else from the text itself.

    Plain text has no times: it is spread over the song with :func:`spread_lyrics`, which needs
    the song's ``duration`` (and its ``sections`` and ``downbeats`` to do it well).
    """
    lines = _read(text)
    ext = (filename or "").replace("\\", "/").rsplit("/", 1)[-1].rpartition(".")[2].lower()
    fmt = _EXTENSIONS.get(ext) or _sniff(lines)
    if fmt == "lrc":
        return _parse_lrc(lines, duration)
    if fmt in ("srt", "vtt"):
        return _parse_cues(lines, fmt)
    if duration is None:
        raise _bad(
            1,
            "the lyrics are plain text, with no times",
            "give the song's duration, sections and downbeats to spread them over the song, "
            "or use a timed LRC, SRT or VTT file",
        )
    return _spread(lines, sections, duration, downbeats)


# -- plain text ---------------------------------------------------------------------------------


def spread_lyrics(
    text: str | bytes,
    sections: Sequence[Section],
    duration: float,
    downbeats: Sequence[float],
) -> Lyrics:
    """Guess times for plain lyrics: stanzas (split by blank lines or ``[Chorus]``-style headers)
    go to the song's vocal sections in order, lines evenly spaced on downbeats within them.

    With more stanzas than vocal sections, consecutive stanzas share a section (earlier
    sections take one more); with fewer, later sections stay empty. A section with fewer
    downbeats than lines spaces its lines evenly in time instead. Without vocal sections the
    lyrics go over the song after its first 10 %. The result is marked ``estimated``.
    """
    return _spread(_read(text), sections, duration, downbeats)


def _vocal(label: str) -> bool:
    return re.sub(r"[^a-z]", "", label.lower()) in _VOCAL


def _spread(
    lines: list[str], sections: Sequence[Section], duration: float, downbeats: Sequence[float]
) -> Lyrics:
    if not (math.isfinite(duration) and duration > 0):
        raise InvalidInput(
            f"the song's duration {duration} s is not a length of time",
            hint="give the duration of the song in seconds",
        )
    timed = _first_timed(lines)
    if timed is not None:
        raise _bad(
            timed,
            "these lyrics already have times",
            "read them with parse_lyrics; spread_lyrics is for plain text",
        )
    stanzas: list[list[tuple[int, str]]] = [[]]
    for n, raw in enumerate(lines, start=1):
        line = " ".join(raw.split())
        if not line or re.fullmatch(r"\[[^\[\]]*\]", line):
            if stanzas[-1]:
                stanzas.append([])
            continue
        stanzas[-1].append((n, line))
    stanzas = [s for s in stanzas if s]
    if not stanzas:
        raise _bad(len(lines), "the lyrics hold only section headers", "add the lyrics' lines")

    regions: list[tuple[float, float]] = []
    cursor = 0.0
    for s in sorted(sections, key=lambda s: s.start):
        start, end = max(s.start, cursor), min(s.end, duration)
        if _vocal(s.label) and end > start:
            regions.append((start, end))
        cursor = max(cursor, end)
    if not regions:
        regions = [(0.1 * duration, duration)]
    share: list[list[tuple[int, str]]] = []
    if len(stanzas) <= len(regions):
        share = stanzas
    else:
        k = len(regions)
        bounds = [math.ceil(i * len(stanzas) / k) for i in range(k + 1)]
        share = [[ln for s in stanzas[a:b] for ln in s] for a, b in itertools.pairwise(bounds)]

    bars = sorted(downbeats)
    cues: list[_Cue] = []
    for (start, end), group in zip(regions, share, strict=False):
        inside = [d for d in bars if start - 1e-6 <= d < end - 1e-6]
        count, m = len(group), len(inside)
        if m >= count:
            starts = [inside[math.floor(k * m / count + 0.5)] for k in range(count)]
        else:
            starts = [start + k * (end - start) / count for k in range(count)]
        ends = [*starts[1:], end]
        cues.extend(
            _Cue(n, s, text, end=e) for (n, text), s, e in zip(group, starts, ends, strict=True)
        )
    return _finish(cues, "text", _Fmt("lrc"), len(lines), estimated=True)


_LINE_GAP = 0.8
"""A pause this long (seconds) between two sung words starts a new line."""
_LINE_WORDS = 10


def lyrics_from_words(
    words: Sequence[tuple[str, float, float]],
    *,
    breaks: Sequence[float] = (),
    language: str | None = None,
) -> Lyrics:
    """Transcribed words ``(text, start, end)`` as lines: a new line after a pause, after ten
    words, or where a section starts (``breaks``)."""
    cleaned = [(t.strip(), s, e) for t, s, e in words if t.strip() and e > s]
    if not cleaned:
        raise InvalidInput(
            "the transcription has no words", hint="import the lyrics from a file instead"
        )
    lines: list[list[tuple[str, float, float]]] = [[cleaned[0]]]
    for previous, word in itertools.pairwise(cleaned):
        crossed = any(previous[2] <= b <= word[1] + 1e-6 for b in breaks)
        if word[1] - previous[2] >= _LINE_GAP or len(lines[-1]) >= _LINE_WORDS or crossed:
            lines.append([])
        lines[-1].append(word)
    built = []
    for group in lines:
        start, end = group[0][1], max(group[-1][2], group[0][1] + 0.01)
        built.append(
            LyricLine(
                start=start,
                end=end,
                text=" ".join(t for t, _, _ in group),
                words=[LyricWord(start=s, end=e, text=t) for t, s, e in group],
            )
        )
    return Lyrics(lines=built, source="transcribed", language=language)
