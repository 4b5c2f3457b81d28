"""Lyrics: LRC, SRT and WebVTT read and written, plain text spread over the song, refusals."""

from __future__ import annotations

import codecs
import random
import re

import pytest
from pydantic import ValidationError

from studio.audio import (
    MAX_LYRICS_BYTES,
    MAX_LYRICS_LINES,
    SongTruth,
    demo_lyrics_lrc,
    parse_lrc,
    parse_lyrics,
    parse_srt,
    parse_vtt,
    spread_lyrics,
    synthesize_song,
    to_lrc,
    to_srt,
)
from studio.errors import InvalidInput
from studio.model import LyricLine, Lyrics, LyricWord, Section

VOCAL = {"verse", "chorus", "bridge", "drop"}


@pytest.fixture(scope="module")
def truth() -> SongTruth:
    # The beat grid does not depend on the sample rate; a low one keeps the test fast.
    _, truth = synthesize_song(sample_rate=8000)
    return truth


def near(a: float, b: float, tolerance: float = 1e-9) -> bool:
    return abs(a - b) <= tolerance


def same_lines(a: Lyrics, b: Lyrics, tolerance: float) -> None:
    assert [line.text for line in a.lines] == [line.text for line in b.lines]
    for x, y in zip(a.lines, b.lines, strict=True):
        assert near(x.start, y.start, tolerance) and near(x.end, y.end, tolerance), (x, y)
        assert [w.text for w in x.words] == [w.text for w in y.words]
        for v, w in zip(x.words, y.words, strict=True):
            assert near(v.start, w.start, tolerance) and near(v.end, w.end, tolerance), (v, w)


# -- LRC ----------------------------------------------------------------------------------------


def test_lrc_lines_end_where_the_next_starts_and_the_last_after_four_seconds() -> None:
    lyrics = parse_lrc("[00:01.50]One\n[00:04.25]Two\n[01:02.5]Three\n")
    assert lyrics.source == "lrc" and not lyrics.estimated
    assert [line.text for line in lyrics.lines] == ["One", "Two", "Three"]
    assert [line.start for line in lyrics.lines] == pytest.approx([1.5, 4.25, 62.5])
    assert [line.end for line in lyrics.lines] == pytest.approx([4.25, 62.5, 66.5])
    assert lyrics.text == "One\nTwo\nThree"


def test_lrc_time_forms() -> None:
    lyrics = parse_lrc("[00:01]a\n[00:02:50]b\n[00:03.125]c\n[00:04.5]d\n")
    assert [line.start for line in lyrics.lines] == pytest.approx([1.0, 2.5, 3.125, 4.5])


def test_lrc_word_times() -> None:
    text = "[00:10.00]<00:10.00>Hold <00:10.50>on<00:11.00> <00:12.00>Neo<00:12.40>n\n[00:14.00]x\n"
    line = parse_lrc(text).lines[0]
    assert line.text == "Hold on Neon"
    assert [(w.start, w.end, w.text) for w in line.words] == [
        pytest.approx((10.0, 10.5, "Hold")),
        pytest.approx((10.5, 11.0, "on")),  # the empty tag ends it before the next word
        pytest.approx((12.0, 12.4, "Neo")),
        pytest.approx((12.4, 14.0, "n")),  # the last word lasts until the line ends
    ]
    assert line.end == pytest.approx(14.0)


def test_a_closing_word_time_ends_the_last_line() -> None:
    lyrics = parse_lrc("[00:05.00]<00:05.00>la <00:05.50>la<00:06.20>\n")
    assert lyrics.lines[0].end == pytest.approx(6.2)
    assert lyrics.words[-1].end == pytest.approx(6.2)


def test_a_line_with_several_times_is_sung_at_each_and_breaks_end_lines() -> None:
    text = "[00:10.00][00:40.00]<00:10.00>Chorus <00:11.00>line\n[00:20.00]\n[00:25.00]Verse\n"
    lyrics = parse_lrc(text + "[00:45.00]\n")
    assert [(line.start, line.end, line.text) for line in lyrics.lines] == [
        pytest.approx((10.0, 20.0, "Chorus line")),  # the blank timed line ends it
        pytest.approx((25.0, 40.0, "Verse")),
        pytest.approx((40.0, 45.0, "Chorus line")),
    ]
    # The word times belong to the first time and move with the repeat.
    assert [w.start for w in lyrics.lines[2].words] == pytest.approx([40.0, 41.0])


def test_lrc_metadata_tags() -> None:
    text = "[ti:Song [Live]]\n[ar: Someone ]\n[al:Album]\n[by:ignored]\n[00:01.00]x\n"
    lyrics = parse_lrc(text)
    assert (lyrics.title, lyrics.artist, lyrics.album) == ("Song [Live]", "Someone", "Album")
    assert len(lyrics.lines) == 1


@pytest.mark.parametrize("offset_ms", [250, -400])
def test_lrc_offset_moves_the_lyrics(offset_ms: int) -> None:
    body = "[00:02.00]<00:02.00>a <00:02.50>b\n[00:05.00]c\n"
    plain = parse_lrc(body)
    moved = parse_lrc(f"[offset:{offset_ms:+d}]\n{body}")
    # A positive offset makes the lyrics come sooner.
    expected = plain.shifted(-offset_ms / 1000)
    same_lines(moved, expected, 1e-9)
    assert moved.lines[0].start == pytest.approx(2.0 - offset_ms / 1000)


def test_the_duration_caps_the_last_line_and_refuses_lines_after_it() -> None:
    assert parse_lrc("[00:10.00]x\n", duration=12.0).lines[0].end == pytest.approx(12.0)
    assert parse_lrc("[00:10.00]x\n[length:00:11.5]\n").lines[0].end == pytest.approx(11.5)
    with pytest.raises(InvalidInput, match="line 2"):
        parse_lrc("[00:10.00]x\n[00:20.00]y\n", duration=15.0)


def test_lines_at_the_same_time_are_joined() -> None:
    lyrics = parse_lrc("[00:01.00]Hola\n[00:01.00]Hello\n[00:03.00]x\n")
    assert lyrics.lines[0].text == "Hola / Hello"
    assert len(lyrics.lines) == 2


# -- SRT and WebVTT ------------------------------------------------------------------------------


def test_srt_cues() -> None:
    text = (
        "1\r\n00:00:01,000 --> 00:00:04,250\r\n<i>First</i> line\r\nand more\r\n\r\n"
        '2\r\n00:00:05,500 --> 00:01:07,000\r\n<font color="#fff">Second</font>\r\n\r\n'
    )
    lyrics = parse_srt(text)
    assert lyrics.source == "srt"
    assert [(line.start, line.end, line.text) for line in lyrics.lines] == [
        pytest.approx((1.0, 4.25, "First line and more")),
        pytest.approx((5.5, 67.0, "Second")),
    ]


def test_srt_cues_that_overlap_are_cut_where_the_next_starts() -> None:
    text = "1\n00:00:01,000 --> 00:00:06,000\nA\n\n2\n00:00:05,000 --> 00:00:08,000\nB\n"
    lyrics = parse_srt(text)
    assert [(line.start, line.end) for line in lyrics.lines] == [(1.0, 5.0), (5.0, 8.0)]


VTT = """WEBVTT - a song
Kind: captions
Language: en

NOTE written by hand,
over two lines: 00:00:09.000 --> 00:00:10.000 is not a cue

STYLE
::cue { color: yellow }

chorus-1
00:01.000 --> 00:03.500 align:start position:10% line:0
<v Singer><i>Rock</i> &amp; <c.yellow>roll</c>
all night

01:00:03.500 --> 01:00:06.000 size:50%
<00:00:03.500>x
"""


def test_vtt_with_settings_notes_styles_and_identifiers() -> None:
    lyrics = parse_vtt(VTT.replace("01:00:03.500 --> 01:00:06.000", "00:00:03.500 --> 00:00:06"))
    assert lyrics.source == "vtt" and lyrics.language == "en"
    assert [line.text for line in lyrics.lines] == ["Rock & roll all night", "x"]
    assert lyrics.lines[0].start == pytest.approx(1.0)
    assert lyrics.lines[0].end == pytest.approx(3.5)
    assert lyrics.lines[1].end == pytest.approx(6.0)


def test_vtt_inline_times_become_words() -> None:
    text = (
        "WEBVTT\n\n00:00:02.000 --> 00:00:05.000\n"
        "We <00:00:02.500><c> drive</c> <00:00:03.250><c>all</c>\n<00:00:04.000>night\n"
    )
    line = parse_vtt(text).lines[0]
    assert line.text == "We drive all night"
    assert [(w.start, w.end, w.text) for w in line.words] == [
        pytest.approx((2.0, 2.5, "We")),
        pytest.approx((2.5, 3.25, "drive")),
        pytest.approx((3.25, 4.0, "all")),
        pytest.approx((4.0, 5.0, "night")),
    ]


def test_encodings_with_a_byte_order_mark_are_read() -> None:
    text = "[00:01.00]Añejo ☂\n"
    for blob in (
        text.encode(),
        codecs.BOM_UTF8 + text.encode(),
        text.encode("utf-16"),  # with its BOM
        codecs.BOM_UTF16_BE + text.encode("utf-16-be"),
    ):
        assert parse_lyrics(blob).lines[0].text == "Añejo ☂"


# -- the demo song -------------------------------------------------------------------------------


def test_the_demo_lyrics_sit_on_the_demo_songs_downbeats(truth: SongTruth) -> None:
    lrc = demo_lyrics_lrc(truth)
    lyrics = parse_lyrics(lrc, "demo.lrc", duration=truth.duration)
    written = [re.sub(r"^\[[^\]]*\]", "", ln) for ln in lrc.splitlines() if ln[1:2].isdigit()]
    assert [line.text for line in lyrics.lines] == written
    assert lyrics.title is not None and lyrics.artist is not None
    for line in lyrics.lines:
        bar = min(truth.downbeats, key=lambda d: abs(line.start - d))
        assert abs(line.start - bar) <= 0.005  # LRC times are in hundredths
        label = next(name for s, e, name in truth.sections if s <= bar < e)
        assert label in VOCAL
        assert line.end <= truth.duration
    # One line every two bars of each verse and chorus.
    bars = [
        sum(1 for d in truth.downbeats if s <= d < e)
        for s, e, name in truth.sections
        if name in {"verse", "chorus"}
    ]
    assert len(lyrics.lines) == sum((b + 1) // 2 for b in bars)


# -- round trips ---------------------------------------------------------------------------------


def random_lyrics(rng: random.Random, *, words: bool) -> Lyrics:
    lines, t = [], rng.uniform(0, 5)
    vocabulary = ["neon", "night", "hold", "on", "drive", "light", "city's", "bright,"]
    for _ in range(rng.randint(1, 12)):
        start = t
        chosen: list[LyricWord] = []
        for word in rng.sample(vocabulary, rng.randint(1, 5)):
            t += rng.uniform(0, 0.3)  # sometimes a gap before a word
            end = t + rng.uniform(0.1, 0.8)
            chosen.append(LyricWord(start=t, end=end, text=word))
            t = end
        t += rng.uniform(0, 2.0)  # sometimes a gap before the next line
        text = " ".join(w.text for w in chosen)
        lines.append(LyricLine(start=start, end=t, text=text, words=chosen if words else []))
        t += rng.choice([0.0, rng.uniform(0.1, 6.0)])
    return Lyrics(lines=lines, source="lrc", title="A Song", artist="Band")


@pytest.mark.parametrize("seed", range(5))
def test_lrc_round_trip(seed: int) -> None:
    lyrics = random_lyrics(random.Random(seed), words=seed % 2 == 0)
    back = parse_lrc(to_lrc(lyrics))
    same_lines(back, lyrics, 0.01)
    assert (back.title, back.artist) == (lyrics.title, lyrics.artist)


def test_lrc_round_trip_keeps_syllables_joined() -> None:
    text = "[00:01.00]<00:01.00>Neo<00:01.30>n <00:01.60>lights<00:02.00>\n"
    lyrics = parse_lrc(text)
    assert parse_lrc(to_lrc(lyrics)) == lyrics


@pytest.mark.parametrize("seed", range(5))
def test_srt_round_trip(seed: int) -> None:
    lyrics = random_lyrics(random.Random(seed), words=False)
    back = parse_srt(to_srt(lyrics))
    assert back.source == "srt"
    same_lines(back, lyrics, 0.01)


# -- plain text spread over the song -------------------------------------------------------------

PLAIN = """[Verse 1]
Streetlights count the minutes down
Rain is writing on the glass
Every signal turning green

[Chorus]
We drive into the neon night
Hold on, the city's burning bright

Bridge line one
Bridge line two
"""


def sections_of(truth: SongTruth) -> list[Section]:
    return [Section(start=s, end=e, label=name) for s, e, name in truth.sections]


def plain_lines(text: str) -> list[str]:
    return [ln for ln in text.splitlines() if ln.strip() and not ln.startswith("[")]


def test_plain_lyrics_are_spread_over_vocal_sections_on_downbeats(truth: SongTruth) -> None:
    lyrics = spread_lyrics(PLAIN, sections_of(truth), truth.duration, truth.downbeats)
    assert lyrics.estimated and lyrics.source == "text"
    assert [line.text for line in lyrics.lines] == plain_lines(PLAIN)
    vocal = [(s, e) for s, e, name in truth.sections if name in VOCAL]
    where = []
    for line in lyrics.lines:
        assert line.start in truth.downbeats
        inside = [i for i, (s, e) in enumerate(vocal) if s <= line.start and line.end <= e]
        assert len(inside) == 1, line
        where.append(inside[0])
    # Stanzas go to consecutive vocal sections in order: verse, chorus, bridge.
    assert where == [0, 0, 0, 1, 1, 2, 2]


def test_more_stanzas_than_sections_share_them(truth: SongTruth) -> None:
    stanzas = [f"stanza {i} line a\nstanza {i} line b" for i in range(9)]
    sections = sections_of(truth)
    lyrics = spread_lyrics("\n\n".join(stanzas), sections, truth.duration, truth.downbeats)
    vocal = [s for s in sections if s.label in VOCAL]
    assert len(lyrics.lines) == 18
    used = {
        next(i for i, s in enumerate(vocal) if s.start <= ln.start < s.end) for ln in lyrics.lines
    }
    assert used == set(range(len(vocal)))
    assert all(line.start in truth.downbeats for line in lyrics.lines)


def test_without_vocal_sections_the_lyrics_follow_the_first_tenth(truth: SongTruth) -> None:
    intro_only = [Section(start=0.0, end=truth.duration, label="intro")]
    for sections in ([], intro_only):
        lyrics = spread_lyrics(PLAIN, sections, truth.duration, truth.downbeats)
        assert lyrics.lines[0].start >= 0.1 * truth.duration
        assert lyrics.lines[-1].end <= truth.duration
        assert all(line.start in truth.downbeats for line in lyrics.lines)


def test_parse_lyrics_spreads_plain_text_only_when_it_knows_the_song(truth: SongTruth) -> None:
    with pytest.raises(InvalidInput, match="line 1") as err:
        parse_lyrics(PLAIN, "lyrics.txt")
    assert err.value.hint
    lyrics = parse_lyrics(
        PLAIN,
        "lyrics.txt",
        duration=truth.duration,
        sections=sections_of(truth),
        downbeats=truth.downbeats,
    )
    assert lyrics.estimated and len(lyrics.lines) == len(plain_lines(PLAIN))


def test_parse_lyrics_recognises_the_format_without_a_name() -> None:
    assert parse_lyrics("[00:01.00]x\n").source == "lrc"
    assert parse_lyrics("1\n00:00:01,000 --> 00:00:02,000\nx\n").source == "srt"
    assert parse_lyrics("WEBVTT\n\n00:01.000 --> 00:02.000\nx\n").source == "vtt"


# -- refusals ------------------------------------------------------------------------------------

BAD = [
    pytest.param(b"", "a.lrc", 1, id="empty"),
    pytest.param(" \n\n \n", None, 1, id="blank"),
    pytest.param("[ti:x]\nno time here\n", "a.lrc", 2, id="lrc-without-times"),
    pytest.param("[ti:x]\n[ar:y]\n", "a.lrc", 2, id="lrc-tags-only"),
    pytest.param("Hello\nworld\n", "a.srt", 1, id="srt-without-times"),
    pytest.param("00:01.000 --> 00:02.000\nx\n", "a.vtt", 1, id="vtt-without-header"),
    pytest.param("[00:01.00]a\n[01:75.00]b\n", "a.lrc", 2, id="seconds-75"),
    pytest.param("[00:01.00]a\n\n[0a:01.00]b\n", "a.lrc", 3, id="not-a-time"),
    pytest.param("[00:01.00]<00:02.00>a <00:01.50>b\n", "a.lrc", 1, id="words-backwards"),
    pytest.param("[offset:soon]\n[00:01.00]a\n", "a.lrc", 1, id="bad-offset"),
    pytest.param("[00:01.00]a\n[ti:" + "x" * 600 + "]\n", "a.lrc", 2, id="title-too-long"),
    pytest.param("[00:01.00]a\n[00:09.00]b\n", "a.lrc", 2, id="after-the-song-ends"),
    pytest.param(
        "1\n00:00:01,000 --> 00:00:02,000\na\n\n2\n00:00:05,000 --> 00:00:04,000\nb\n",
        "a.srt",
        6,
        id="srt-ends-before-start",
    ),
    pytest.param("1\n00:61:00,000 --> 00:62:00,000\na\n", "a.srt", 2, id="minutes-61"),
    pytest.param(
        "WEBVTT\n\n00:01.000 --> 00:02.000\nx <00:03.000>y\n", "a.vtt", 3, id="word-outside-cue"
    ),
    pytest.param("1\nnot a time\nx\n", "a.srt", 2, id="srt-bad-time-line"),
    pytest.param(b"[00:01.00]a\n[00:02.00]\x00\x00b", None, 2, id="nul-bytes"),
    pytest.param("[00:01.00]caf\xe9\n".encode("latin-1"), "a.lrc", 1, id="latin-1"),
    pytest.param("ok\n" * 3 + "x" * MAX_LYRICS_BYTES, None, 4, id="over-1-mb"),
    pytest.param("[00:01.00]a\n" * (MAX_LYRICS_LINES + 1), None, 5001, id="too-many-lines"),
]


@pytest.mark.parametrize(("data", "filename", "line"), BAD)
def test_bad_lyrics_are_refused_naming_the_line(
    data: str | bytes, filename: str | None, line: int
) -> None:
    with pytest.raises(InvalidInput) as err:
        parse_lyrics(data, filename, duration=8.0)
    assert err.value.message.startswith(f"line {line}: "), err.value.message
    assert err.value.details["line"] == line
    assert err.value.hint


def test_plain_text_with_times_is_not_spread(truth: SongTruth) -> None:
    with pytest.raises(InvalidInput, match="line 2"):
        spread_lyrics("x\n[00:01.00]y\n", [], truth.duration, truth.downbeats)


# -- the model -----------------------------------------------------------------------------------


def test_line_at_words_and_shift() -> None:
    lyrics = parse_lrc("[00:01.00]<00:01.00>a <00:01.50>b\n[00:03.00]c\n[00:05.00]\n")
    assert lyrics.line_at(0.5) is None
    assert lyrics.line_at(1.0) is lyrics.lines[0]
    assert lyrics.line_at(2.99) is lyrics.lines[0]
    assert lyrics.line_at(3.0) is lyrics.lines[1]
    assert lyrics.line_at(5.0) is None
    assert [w.text for w in lyrics.words] == ["a", "b"]
    later = lyrics.shifted(2.0)
    assert [line.start for line in later.lines] == pytest.approx([3.0, 5.0])
    # Shifting before zero cuts there: the first line is under way at 0, its first word gone.
    earlier = lyrics.shifted(-1.6)
    assert earlier.lines[0].start == 0.0
    assert [w.text for w in earlier.lines[0].words] == ["b"]
    assert lyrics.shifted(-4.0).text == "c"


def test_the_model_refuses_lines_out_of_order_and_words_outside_their_line() -> None:
    a = LyricLine(start=1.0, end=3.0, text="a")
    b = LyricLine(start=2.0, end=4.0, text="b")
    with pytest.raises(ValidationError):
        Lyrics(lines=[a, b], source="lrc")
    with pytest.raises(ValidationError):
        Lyrics(lines=[b, a], source="lrc")
    with pytest.raises(ValidationError):
        LyricLine(start=1.0, end=2.0, text="x", words=[LyricWord(start=1.5, end=2.5, text="x")])
    with pytest.raises(ValidationError):
        LyricWord(start=1.0, end=1.0, text="x")
