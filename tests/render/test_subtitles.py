"""Lyrics as ASS: the document read back field by field, and burned by the real ffmpeg and
libass with only the studio's own font (fontconfig is given an empty configuration)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from studio.model import LyricLine, Lyrics, LyricWord, SubtitleStyle
from studio.render._ffmpeg import ffmpeg_path, subtitles_filter
from studio.render._subtitles import ass_document, font_dir

W, H = 320, 180


def _lyrics(*lines: LyricLine) -> Lyrics:
    return Lyrics(lines=list(lines), source="lrc")


def _line(start: float, end: float, text: str, *words: tuple[float, float, str]) -> LyricLine:
    return LyricLine(
        start=start,
        end=end,
        text=text,
        words=[LyricWord(start=a, end=b, text=t) for a, b, t in words],
    )


def _style(doc: str) -> dict[str, str]:
    fields = re.search(r"^\[V4\+ Styles\]\nFormat: (.*)$", doc, re.M)
    values = re.findall(r"^Style: (.*)$", doc, re.M)
    assert fields is not None and len(values) == 1
    return dict(zip(fields.group(1).split(", "), values[0].split(","), strict=True))


def _dialogues(doc: str) -> list[tuple[int, int, str]]:
    """(start, end) in centiseconds and the text of each Dialogue line."""
    found = re.findall(r"^Dialogue: 0,([\d:.]+),([\d:.]+),Lyrics,,0,0,0,,(.*)$", doc, re.M)
    return [(_centiseconds(a), _centiseconds(b), text) for a, b, text in found]


def _centiseconds(stamp: str) -> int:
    m = re.fullmatch(r"(\d+):(\d\d):(\d\d)\.(\d\d)", stamp)
    assert m is not None, stamp
    h, mi, se, cs = (int(g) for g in m.groups())
    return ((h * 60 + mi) * 60 + se) * 100 + cs


def _untagged(text: str) -> str:
    return re.sub(r"(?<!\\)\{[^}]*\}", "", text)


# --- the document ----------------------------------------------------------------------------


def test_header_and_style_fields() -> None:
    doc = ass_document(
        _lyrics(_line(1, 2, "hi")),
        SubtitleStyle(font="DejaVu Sans", size=48, outline=2, position="bottom", karaoke=False),
        width=1920,
        height=1080,
    )
    info = doc.split("\n\n")[0].splitlines()
    assert info[0] == "[Script Info]"
    assert {"ScriptType: v4.00+", "PlayResX: 1920", "PlayResY: 1080"} <= set(info)
    assert {"ScaledBorderAndShadow: yes", "WrapStyle: 0"} <= set(info)
    style = _style(doc)
    assert style["Name"] == "Lyrics"
    assert style["Fontname"] == "DejaVu Sans"
    assert style["Fontsize"] == "48"
    assert float(style["Outline"]) == pytest.approx(2.0)
    assert style["OutlineColour"] == "&H00000000"
    assert style["Alignment"] == "2"
    assert style["BorderStyle"] == "1"
    # margins follow the frame
    assert int(style["MarginL"]) == int(style["MarginR"]) == 96
    assert int(style["MarginV"]) == round(1080 * 0.06)
    assert _dialogues(doc) == [(100, 200, "hi")]


def test_karaoke_colours_put_the_sung_colour_in_primary() -> None:
    # \kf shows SecondaryColour before a syllable is sung and PrimaryColour after
    sung = _style(ass_document(_lyrics(_line(1, 2, "hi")), SubtitleStyle(), width=W, height=H))
    assert sung["SecondaryColour"] == "&H00FFFFFF"
    assert sung["PrimaryColour"] not in {"&H00FFFFFF", sung["OutlineColour"]}
    plain = _style(
        ass_document(_lyrics(_line(1, 2, "hi")), SubtitleStyle(karaoke=False), width=W, height=H)
    )
    assert plain["PrimaryColour"] == "&H00FFFFFF"


@pytest.mark.parametrize(
    ("frame", "size", "outline", "expected"),
    [
        ((1920, 1080), 48, 2.0, (48, 2.0)),
        ((1280, 720), 48, 2.0, (32, 4 / 3)),
        ((1080, 1920), 48, 2.0, (48, 2.0)),  # portrait: the short side counts
        ((3840, 2160), 60, 3.0, (120, 6.0)),
        ((640, 360), 48, 2.0, (16, 2 / 3)),
        ((320, 180), 20, 2.0, (8, 1 / 3)),  # never under 8 pixels
    ],
)
def test_size_and_outline_scale_with_the_short_side(
    frame: tuple[int, int], size: int, outline: float, expected: tuple[int, float]
) -> None:
    width, height = frame
    font_px, outline_px = expected
    doc = ass_document(
        _lyrics(_line(0, 1, "x")),
        SubtitleStyle(size=size, outline=outline),
        width=width,
        height=height,
    )
    style = _style(doc)
    assert int(style["Fontsize"]) == font_px
    assert float(style["Outline"]) == pytest.approx(outline_px, abs=0.005)
    assert f"PlayResX: {width}\n" in doc and f"PlayResY: {height}\n" in doc


@pytest.mark.parametrize(("position", "alignment"), [("bottom", 2), ("middle", 5), ("top", 8)])
def test_alignment_follows_position(position: str, alignment: int) -> None:
    doc = ass_document(
        _lyrics(_line(0, 1, "x")), SubtitleStyle(position=position), width=W, height=H
    )
    assert _style(doc)["Alignment"] == str(alignment)


def test_a_comma_in_the_font_name_does_not_shift_the_style_fields() -> None:
    doc = ass_document(
        _lyrics(_line(0, 1, "x")), SubtitleStyle(font="Foo, Bold"), width=W, height=H
    )
    style = _style(doc)
    assert style["Fontname"] == "Foo  Bold"
    assert style["Alignment"] == "2"


# --- karaoke ---------------------------------------------------------------------------------


KARAOKE = _lyrics(
    # thirds of a second: rounding each word's length would lose a centisecond per word
    _line(
        1.0,
        2.0,
        "one two three",
        (1.0, 1.3333, "one"),
        (1.3333, 1.6667, "two"),
        (1.6667, 2.0, "three"),
    ),
    # a wait before the first word, gaps between words, and a tail after the last
    _line(
        2.504,
        6.996,
        "Some-times I won-der, why",
        (2.777, 3.011, "Some-"),
        (3.011, 3.333, "times"),
        (3.49, 3.7, "I"),
        (4.01, 4.4449, "won-"),
        (4.4449, 5.0, "der,"),
        (5.5, 6.2, "why"),
    ),
    _line(
        7.0,
        9.995,
        "x" * 3,
        *[(7.0 + i * 0.0915, 7.0 + (i + 1) * 0.0915, "x") for i in range(3)],
    ),
)


def test_karaoke_centiseconds_of_a_line_add_up_to_its_length() -> None:
    doc = ass_document(KARAOKE, SubtitleStyle(karaoke=True), width=W, height=H)
    events = _dialogues(doc)
    assert len(events) == len(KARAOKE.lines)
    for (start, end, text), line in zip(events, KARAOKE.lines, strict=True):
        assert (start, end) == (round(line.start * 100), round(line.end * 100))
        ticks = re.findall(r"\{\\kf?(\d+)\}", text)
        assert sum(int(t) for t in ticks) == end - start
        assert len(re.findall(r"\{\\kf\d+\}", text)) == len(line.words)


def test_karaoke_rounds_each_word_from_the_song_clock() -> None:
    doc = ass_document(KARAOKE, SubtitleStyle(karaoke=True), width=W, height=H)
    _, _, first = _dialogues(doc)[0]
    assert re.findall(r"\\kf(\d+)", first) == ["33", "34", "33"]
    assert "\\k" not in first.replace("\\kf", "")  # the first word starts with the line
    _, _, second = _dialogues(doc)[1]
    # a pause from 2.50 s (250 cs) to 2.78 s first, then each word until the next one starts
    # (3.01, 3.49, 4.01, 4.44, 5.50) and the last until the line ends at 7.00 s
    assert second.startswith("{\\k28}{\\kf23}Some-")
    assert re.findall(r"\\kf(\d+)", second) == ["23", "48", "52", "43", "106", "150"]


def test_karaoke_keeps_the_words_in_order_and_the_line_as_written() -> None:
    doc = ass_document(KARAOKE, SubtitleStyle(karaoke=True), width=W, height=H)
    texts = [_untagged(text) for _, _, text in _dialogues(doc)]
    assert texts == [line.text for line in KARAOKE.lines]
    pieces = re.split(r"\{\\kf\d+\}", _dialogues(doc)[1][2])[1:]
    # each word takes the spacing and punctuation after it; syllables stay joined
    assert pieces == ["Some-", "times ", "I ", "won-", "der, ", "why"]


def test_words_not_found_in_the_line_are_joined_with_spaces() -> None:
    lyrics = _lyrics(_line(0, 2, "la la", (0, 1, "hey"), (1, 2, "ho")))
    doc = ass_document(lyrics, SubtitleStyle(karaoke=True), width=W, height=H)
    assert _dialogues(doc)[0][2] == "{\\kf100}hey {\\kf100}ho"


@pytest.mark.parametrize("karaoke", [True, False])
def test_line_level_without_words_or_without_karaoke(karaoke: bool) -> None:
    lyrics = _lyrics(_line(0, 1, "no words here"), _line(1, 2, "timed", (1.2, 1.8, "timed")))
    doc = ass_document(lyrics, SubtitleStyle(karaoke=karaoke), width=W, height=H)
    first, second = (text for _, _, text in _dialogues(doc))
    assert "\\k" not in first and _untagged(first) == "no words here"
    if karaoke:
        assert second == "{\\k20}{\\kf80}timed"
        assert first.startswith("{\\1c&HFFFFFF&}")  # a whole line is shown unsung, in white
    else:
        assert second == "timed"


# --- escaping --------------------------------------------------------------------------------


def test_braces_backslashes_and_newlines_are_escaped() -> None:
    lyrics = _lyrics(_line(0, 1, "a {\\b1} c\\Nd\\\ne\r\nf}"))
    doc = ass_document(lyrics, SubtitleStyle(karaoke=False), width=W, height=H)
    text = _dialogues(doc)[0][2]
    assert text == "a \\{\\\u2060b1\\} c\\\u2060Nd\\\u2060\\Ne\\Nf\\}"
    assert "\n" not in text and "\r" not in text
    # every brace is escaped, so no override block can open
    assert re.search(r"(?<!\\)[{}]", text) is None


def test_escaping_applies_to_karaoke_words_too() -> None:
    lyrics = _lyrics(_line(0, 1, "{x}", (0, 1, "{x}")))
    doc = ass_document(lyrics, SubtitleStyle(karaoke=True), width=W, height=H)
    assert _dialogues(doc)[0][2] == "{\\kf100}\\{x\\}"


# --- a teaser's window -----------------------------------------------------------------------


def test_window_keeps_overlapping_lines_shifted_and_clipped() -> None:
    lyrics = _lyrics(
        _line(0, 2, "before"),
        _line(3, 5, "across the start", (3.0, 4.5, "across"), (4.5, 5.0, "the")),
        _line(5.5, 6, "inside", (5.5, 6.0, "inside")),
        _line(6.5, 8, "across the end", (6.5, 6.9, "across"), (7.1, 8.0, "the")),
        _line(9, 10, "after"),
    )
    doc = ass_document(lyrics, SubtitleStyle(karaoke=True), width=W, height=H, window=(4, 7))
    events = _dialogues(doc)
    assert [(a, b) for a, b, _ in events] == [(0, 100), (150, 200), (250, 300)]
    assert [_untagged(t) for _, _, t in events] == ["across the start", "inside", "across the end"]
    for start, end, text in events:
        assert sum(int(t) for t in re.findall(r"\{\\kf?(\d+)\}", text)) == end - start
    # the word sung when the teaser starts is cut to what is left of it
    assert events[0][2].startswith("{\\kf50}across")


def test_a_window_between_lines_has_no_events() -> None:
    lyrics = _lyrics(_line(0, 2, "a"), _line(5, 6, "b"))
    doc = ass_document(lyrics, SubtitleStyle(), width=W, height=H, window=(2, 5))
    assert _dialogues(doc) == []
    assert "[Events]" in doc


# --- burned by ffmpeg ------------------------------------------------------------------------


@pytest.fixture
def no_system_fonts(tmp_path: Path) -> dict[str, str]:
    """An environment in which fontconfig knows no fonts, as on a bare machine."""
    conf = tmp_path / "fonts.conf"
    conf.write_text("<?xml version='1.0'?>\n<fontconfig></fontconfig>\n")
    return {**os.environ, "FONTCONFIG_FILE": str(conf)}


def _burn(
    doc: str, at: float, env: dict[str, str], folder: Path, fonts: Path | None = None
) -> np.ndarray:
    """The frame at ``at`` seconds of a mid-grey picture with the document burned in."""
    folder.mkdir(parents=True, exist_ok=True)
    ass = folder / "lyrics.ass"
    ass.write_text(doc, encoding="utf-8")
    graph = "format=rgb24," + subtitles_filter(ass, fonts or font_dir())
    command = [
        ffmpeg_path(), "-hide_banner", "-nostdin", "-loglevel", "error",
        "-f", "lavfi", "-i", f"color=c=0x808080:s={W}x{H}:r=25:d=5",
        "-vf", graph, "-ss", f"{at:.3f}", "-frames:v", "1",
        "-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1",
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr.decode()
    return np.frombuffer(done.stdout, np.uint8).reshape(H, W, 3)


def _marked(frame: np.ndarray) -> np.ndarray:
    """Where the picture is no longer the plain grey."""
    return np.asarray(np.abs(frame.astype(int) - 128).sum(axis=2) > 30)


def _white(frame: np.ndarray) -> np.ndarray:
    return np.asarray((frame > 220).all(axis=2))


def _gold(frame: np.ndarray) -> np.ndarray:
    r, g, b = (frame[..., i].astype(int) for i in range(3))
    return (r > 220) & (g > 170) & (g < 235) & (b < 110)


def _one_line(text: str, *, karaoke: bool = False, position: str = "bottom") -> str:
    return ass_document(
        _lyrics(_line(1.0, 3.0, text)),
        SubtitleStyle(size=200, karaoke=karaoke, position=position),
        width=W,
        height=H,
    )


def test_burned_line_shows_in_the_bottom_third_only_while_sung(
    tmp_path: Path, no_system_fonts: dict[str, str]
) -> None:
    doc = _one_line("Hello")
    for at in (1.2, 2.0, 2.8):
        frame = _burn(doc, at, no_system_fonts, tmp_path)
        assert _white(frame[2 * H // 3 :]).sum() > 100
        assert not _marked(frame[: H // 3]).any()
    assert not _marked(_burn(doc, 0.8, no_system_fonts, tmp_path)).any()
    assert not _marked(_burn(doc, 3.2, no_system_fonts, tmp_path)).any()


def test_top_position_burns_in_the_top_third(
    tmp_path: Path, no_system_fonts: dict[str, str]
) -> None:
    frame = _burn(_one_line("Hello", position="top"), 2.0, no_system_fonts, tmp_path)
    assert _white(frame[: H // 3]).sum() > 100
    assert not _marked(frame[2 * H // 3 :]).any()


def test_without_the_font_folder_nothing_is_drawn(
    tmp_path: Path, no_system_fonts: dict[str, str]
) -> None:
    # the check that the burns above are drawn with font_dir()'s font and not a system one
    empty = tmp_path / "no fonts"
    empty.mkdir()
    frame = _burn(_one_line("Hello"), 2.0, no_system_fonts, tmp_path, fonts=empty)
    assert not _marked(frame).any()


def test_paths_with_filtergraph_characters(tmp_path: Path, no_system_fonts: dict[str, str]) -> None:
    odd = tmp_path / "it's 10:30 [take, one]; a\\b c "
    fonts = odd / "fonts, too"
    fonts.mkdir(parents=True)
    shutil.copy(font_dir() / "DejaVuSans.ttf", fonts)
    frame = _burn(_one_line("Hello"), 2.0, no_system_fonts, odd, fonts=fonts)
    assert _white(frame[2 * H // 3 :]).sum() > 100


def test_karaoke_fills_sung_words_with_the_primary_colour(
    tmp_path: Path, no_system_fonts: dict[str, str]
) -> None:
    doc = ass_document(
        _lyrics(_line(1.0, 3.0, "OH WOW", (1.5, 2.0, "OH"), (2.0, 3.0, "WOW"))),
        SubtitleStyle(size=200, karaoke=True),
        width=W,
        height=H,
    )
    before = _burn(doc, 1.3, no_system_fonts, tmp_path)  # nothing sung yet: all white
    assert _white(before).sum() > 100 and _gold(before).sum() < 5
    frame = _burn(doc, 2.04, no_system_fonts, tmp_path)  # "OH" sung, "WOW" barely begun
    xs = np.nonzero(_marked(frame))[1]
    left = frame[:, : xs.min() + (xs.max() - xs.min()) * 3 // 10]
    right = frame[:, xs.min() + (xs.max() - xs.min()) * 7 // 10 :]
    assert _gold(left).sum() > 50
    assert _gold(right).sum() < 5
    assert _white(right).sum() > 50


@pytest.mark.parametrize(
    ("escaped", "literal"),
    [
        # each pair draws the same: braces without a partner are drawn as they are
        ("a{b", "a{b"),
        ("a}b", "a}b"),
        # a backslash before a letter that makes no escape is drawn as it is
        ("a\\b", "a\\b"),
    ],
)
def test_escaped_text_is_drawn_as_written(
    tmp_path: Path, no_system_fonts: dict[str, str], escaped: str, literal: str
) -> None:
    drawn = _burn(_one_line(escaped), 2.0, no_system_fonts, tmp_path / "a")
    raw = _one_line("PLACEHOLDER").replace(",PLACEHOLDER\n", f",{literal}\n")
    assert _one_line(escaped) != raw  # the document does escape it
    reference = _burn(raw, 2.0, no_system_fonts, tmp_path / "b")
    assert _marked(drawn).sum() > 100
    assert np.array_equal(drawn, reference)


def test_a_brace_block_in_the_lyrics_is_drawn_not_swallowed(
    tmp_path: Path, no_system_fonts: dict[str, str]
) -> None:
    raw = _one_line("PLACEHOLDER").replace(",PLACEHOLDER\n", ",{x}\n")
    assert not _marked(_burn(raw, 2.0, no_system_fonts, tmp_path / "raw")).any()
    assert _marked(_burn(_one_line("{x}"), 2.0, no_system_fonts, tmp_path / "esc")).sum() > 100


def test_a_backslash_n_in_the_lyrics_stays_on_one_line(
    tmp_path: Path, no_system_fonts: dict[str, str]
) -> None:
    def rows(frame: np.ndarray) -> int:
        ys = np.nonzero(_marked(frame))[0]
        return int(ys.max() - ys.min())

    one = rows(_burn(_one_line("a\\Nb"), 2.0, no_system_fonts, tmp_path / "one"))
    two = rows(_burn(_one_line("a\nb"), 2.0, no_system_fonts, tmp_path / "two"))
    assert two > 1.6 * one


def test_font_dir_holds_dejavu_sans_and_is_cached() -> None:
    assert (font_dir() / "DejaVuSans.ttf").is_file()
    assert font_dir() is font_dir()
