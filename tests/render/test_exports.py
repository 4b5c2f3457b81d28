"""The edit as OpenTimelineIO and CMX3600 for other editors, and the contact sheet, read back."""

from __future__ import annotations

import base64
import io
import itertools
import json
import re
from collections.abc import Iterator
from html.parser import HTMLParser
from typing import Any

import pytest
from PIL import Image

from studio.model import Effect, Timeline, TimelineClip, Transition, TransitionKind
from studio.render._exports import SheetEntry, contact_sheet_html, to_edl, to_otio

FPS = 24


def _timeline() -> Timeline:
    """Four clips of 1.27 s (30.48 frames at 24 fps: rounding each length would lose two
    frames), a beat-synced crossfade, a dip to black that starts on its cut, then a cut."""
    step = 1.27
    clips = [
        TimelineClip(id="clp_a", scene_id="scn_1", take_id="tak_1", start=0, duration=step),
        TimelineClip(
            id="clp_b", scene_id="scn_2", take_id="tak_2", start=step, duration=step,
            in_point=1.0, effects=[Effect(name="zoom_pulse", intensity=0.7)],
            transition_in=Transition(kind=TransitionKind.CROSSFADE, duration=0.5),
        ),
        TimelineClip(
            id="clp_c", scene_id="scn_3", start=2 * step, duration=step, in_point=0.25,
            transition_in=Transition(
                kind=TransitionKind.DIP_BLACK, duration=1.0, beat_synced=False
            ),
        ),
        TimelineClip(id="clp_d", scene_id="scn_4", start=3 * step, duration=step, in_point=2.0),
    ]  # fmt: skip
    return Timeline(project_id="prj_1", duration=4 * step, clips=clips)


TOTAL = round(4 * 1.27 * FPS)  # 122 frames
MEDIA = {
    "clp_a": ("Scene 1 take 1", "file:///media/a.mp4"),
    "clp_b": ("Scene 2 take 1", "file:///media/b.mp4"),
    "clp_c": ("Scene 3 take 1", "file:///media/c%20one.mp4"),
}


# --- OpenTimelineIO --------------------------------------------------------------------------


def _otio() -> dict[str, Any]:
    text = to_otio(_timeline(), fps=FPS, media=MEDIA, song="file:///media/song.wav", name="Cut 1")
    loaded = json.loads(text)
    assert isinstance(loaded, dict)
    return loaded


def _objects(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _objects(value)
    elif isinstance(node, list):
        for value in node:
            yield from _objects(value)


def _frames(time: dict[str, Any]) -> int:
    assert time["OTIO_SCHEMA"] == "RationalTime.1"
    assert time["rate"] == FPS
    assert float(time["value"]).is_integer()
    return int(time["value"])


def test_otio_structure_and_schema_names() -> None:
    doc = _otio()
    assert doc["OTIO_SCHEMA"] == "Timeline.1"
    assert doc["name"] == "Cut 1"
    assert doc["global_start_time"] is None
    stack = doc["tracks"]
    assert stack["OTIO_SCHEMA"] == "Stack.1"
    video, audio = stack["children"]
    assert (video["OTIO_SCHEMA"], video["kind"]) == ("Track.1", "Video")
    assert (audio["OTIO_SCHEMA"], audio["kind"]) == ("Track.1", "Audio")
    assert [c["OTIO_SCHEMA"] for c in video["children"]] == [
        "Clip.2", "Transition.1", "Clip.2", "Transition.1", "Clip.2", "Clip.2",
    ]  # fmt: skip
    for clip in (c for c in video["children"] if c["OTIO_SCHEMA"] == "Clip.2"):
        assert clip["active_media_reference_key"] == "DEFAULT_MEDIA"
        assert set(clip["media_references"]) == {"DEFAULT_MEDIA"}
        assert clip["source_range"]["OTIO_SCHEMA"] == "TimeRange.1"
        assert clip["enabled"] is True
    # every time in the file is on the 24 fps grid
    times = [o for o in _objects(doc) if o.get("OTIO_SCHEMA") == "RationalTime.1"]
    assert len(times) > 10
    for time in times:
        _frames(time)


def test_otio_clip_lengths_add_up_to_the_song_on_the_frame_grid() -> None:
    timeline = _timeline()
    video = _otio()["tracks"]["children"][0]["children"]
    clips = [c for c in video if c["OTIO_SCHEMA"] == "Clip.2"]
    lengths = [_frames(c["source_range"]["duration"]) for c in clips]
    assert sum(lengths) == TOTAL == 122
    assert lengths == [round(c.end * FPS) - round(c.start * FPS) for c in timeline.clips]
    assert lengths == [30, 31, 30, 31]
    starts = [_frames(c["source_range"]["start_time"]) for c in clips]
    assert starts == [round(c.in_point * FPS) for c in timeline.clips] == [0, 24, 6, 48]


def test_otio_transitions_sit_between_the_right_clips() -> None:
    video = _otio()["tracks"]["children"][0]["children"]
    dissolve, dip = video[1], video[3]
    assert video[0]["metadata"]["studio"]["clip_id"] == "clp_a"
    assert video[2]["metadata"]["studio"]["clip_id"] == "clp_b"
    assert video[4]["metadata"]["studio"]["clip_id"] == "clp_c"
    assert dissolve["transition_type"] == "SMPTE_Dissolve"
    # 0.5 s beat-synced: 12 frames, half before the cut and half after
    assert (_frames(dissolve["in_offset"]), _frames(dissolve["out_offset"])) == (6, 6)
    assert dissolve["metadata"]["studio"]["from_clip_id"] == "clp_a"
    assert dissolve["metadata"]["studio"]["to_clip_id"] == "clp_b"
    assert dip["transition_type"] == "Custom_Transition"
    assert dip["metadata"]["studio"]["kind"] == "dip_black"
    # not beat-synced: the whole second after the cut
    assert (_frames(dip["in_offset"]), _frames(dip["out_offset"])) == (0, 24)


def test_otio_media_and_studio_metadata() -> None:
    doc = _otio()
    video, audio = doc["tracks"]["children"]
    clips = [c for c in video["children"] if c["OTIO_SCHEMA"] == "Clip.2"]
    refs = [c["media_references"]["DEFAULT_MEDIA"] for c in clips]
    assert [r["OTIO_SCHEMA"] for r in refs[:3]] == ["ExternalReference.1"] * 3
    assert [r["target_url"] for r in refs[:3]] == [url for _, url in MEDIA.values()]
    assert [c["name"] for c in clips[:3]] == [name for name, _ in MEDIA.values()]
    # no media known for the last clip: offline, not dropped
    assert refs[3]["OTIO_SCHEMA"] == "MissingReference.1"
    assert "target_url" not in refs[3]
    studio = clips[1]["metadata"]["studio"]
    assert studio["clip_id"] == "clp_b"
    assert (studio["scene_id"], studio["take_id"]) == ("scn_2", "tak_2")
    assert studio["effects"] == [{"name": "zoom_pulse", "intensity": 0.7, "params": {}}]
    assert doc["metadata"]["studio"]["project_id"] == "prj_1"
    [song] = audio["children"]
    assert song["OTIO_SCHEMA"] == "Clip.2"
    assert song["media_references"]["DEFAULT_MEDIA"]["target_url"] == "file:///media/song.wav"
    assert _frames(song["source_range"]["start_time"]) == 0
    assert _frames(song["source_range"]["duration"]) == TOTAL


# --- CMX3600 ---------------------------------------------------------------------------------

_TC = r"(\d\d:\d\d:\d\d:\d\d)"
_EVENT = re.compile(rf"^(\d{{3}})  (.{{8}}) (V|AA)\s+(C|D)\s+(\d{{3}})?\s+{_TC} {_TC} {_TC} {_TC}$")


def _tc_frames(tc: str, fps: int = FPS) -> int:
    h, m, s, f = (int(x) for x in tc.split(":"))
    assert f < fps and s < 60 and m < 60
    return ((h * 60 + m) * 60 + s) * fps + f


def _events(edl: str, fps: int = FPS) -> list[dict[str, Any]]:
    out = []
    for line in edl.splitlines():
        m = _EVENT.match(line)
        if m:
            n, reel, track, kind, length, *tcs = m.groups()
            si, so, ri, ro = (_tc_frames(t, fps) for t in tcs)
            out.append(
                dict(n=int(n), reel=reel.strip(), track=track, kind=kind,
                     length=int(length) if length else None, src=(si, so), rec=(ri, ro))
            )  # fmt: skip
    return out


def _edl(**kw: Any) -> str:
    reels = {"clp_a": "scene-01 take 1.mp4", "clp_b": "b"}
    return to_edl(_timeline(), fps=FPS, title="Cut 1", reels=reels, **kw)


def test_edl_header_and_event_lines() -> None:
    edl = _edl()
    lines = edl.splitlines()
    assert lines[:2] == ["TITLE: Cut 1", "FCM: NON-DROP FRAME"]
    event_lines = [line for line in lines if re.match(r"^\d{3} ", line)]
    assert len(event_lines) == len(_events(edl)) == 7  # 4 clips, 2 outgoing halves, the song
    for line in event_lines:
        # the fixed CMX3600 columns
        assert line[3:5] == "  " and line[13] == " " and line[19] == " " and line[24] == " "
        assert line[29:40] == line.split()[-4]
    assert "* FROM CLIP NAME: scene-01 take 1.mp4" in lines


def test_edl_record_times_are_contiguous_to_the_end() -> None:
    events = [e for e in _events(_edl()) if e["track"] == "V"]
    played = [e for e in events if e["rec"][0] != e["rec"][1]]
    assert played[0]["rec"][0] == 0
    for a, b in itertools.pairwise(played):
        assert a["rec"][1] == b["rec"][0]
    assert played[-1]["rec"][1] == TOTAL
    for e in events:
        assert e["src"][1] - e["src"][0] == e["rec"][1] - e["rec"][0]
    assert [e["n"] for e in played] == [1, 2, 3, 4]


def test_edl_sources_start_at_the_in_points() -> None:
    events = _events(_edl())
    video = [e for e in events if e["track"] == "V" and e["rec"][0] != e["rec"][1]]
    cuts = {e["n"]: e for e in video if e["kind"] == "C"}
    dissolves = {e["n"]: e for e in video if e["kind"] == "D"}
    assert set(cuts) == {1, 4} and set(dissolves) == {2, 3}
    assert cuts[1]["src"][0] == 0
    assert cuts[4]["src"][0] == round(2.0 * FPS)
    # a beat-synced dissolve starts 6 frames before its cut, so 6 frames before the in point
    assert dissolves[2]["src"][0] == round(1.0 * FPS) - 6
    assert dissolves[2]["rec"][0] == round(1.27 * FPS) - 6
    # the dip starts on its cut
    assert dissolves[3]["src"][0] == round(0.25 * FPS)
    assert dissolves[3]["rec"][0] == round(2.54 * FPS)


def test_edl_transitions_are_an_outgoing_event_then_a_dissolve() -> None:
    events = _events(_edl())
    for number, length, outgoing in ((2, 12, "SCENE_01"), (3, 24, "B")):
        pair = [e for e in events if e["n"] == number]
        assert [e["kind"] for e in pair] == ["C", "D"]
        held, dissolve = pair
        assert held["reel"] == outgoing
        assert held["rec"][0] == held["rec"][1] == dissolve["rec"][0]
        assert dissolve["length"] == length
        # the outgoing clip is held where its own event ended
        before = next(e for e in events if e["n"] == number - 1 and e["rec"][0] != e["rec"][1])
        assert held["src"][0] == before["src"][1]
    assert "* TRANSITION: dip_black" in _edl()


def test_edl_reels_are_sanitised_and_default_to_ax() -> None:
    reels = [e["reel"] for e in _events(_edl()) if e["rec"][0] != e["rec"][1]]
    assert reels == ["SCENE_01", "B", "AX", "AX", "AX"]
    assert all(re.fullmatch(r"[A-Z0-9_]{1,8}", r) for r in reels)


def test_edl_ends_with_the_song_on_both_audio_channels() -> None:
    events = _events(_edl())
    song = events[-1]
    assert (song["n"], song["track"], song["kind"]) == (5, "AA", "C")
    assert song["src"] == song["rec"] == (0, TOTAL)


@pytest.mark.parametrize(
    ("fps", "source", "cut", "end"),
    # the in point 1 min 1.36 s, the cut at 1 h 0.4 s and the end at 1 h 2 min 5.2 s, each
    # rounded to the nearest frame
    [
        (24, "00:01:01:09", "01:00:00:10", "01:02:05:05"),
        (25, "00:01:01:09", "01:00:00:10", "01:02:05:05"),
        (30, "00:01:01:11", "01:00:00:12", "01:02:05:06"),
        (60, "00:01:01:22", "01:00:00:24", "01:02:05:12"),
    ],
)
def test_edl_timecodes_at_each_rate(fps: int, source: str, cut: str, end: str) -> None:
    timeline = Timeline(
        project_id="prj_1",
        duration=3725.2,
        clips=[
            TimelineClip(id="clp_a", start=0, duration=3600.4, in_point=61.36),
            TimelineClip(id="clp_b", start=3600.4, duration=124.8),
        ],
    )
    edl = to_edl(timeline, fps=fps, title="t", reels={})
    first, second, song = _events(edl, fps)
    assert first["rec"] == (0, _tc_frames(cut, fps))
    assert second["rec"] == (_tc_frames(cut, fps), _tc_frames(end, fps))
    assert song["rec"] == (0, _tc_frames(end, fps))
    assert first["src"][0] == _tc_frames(source, fps) == round(61.36 * fps)
    assert _tc_frames(end, fps) == round(3725.2 * fps)
    assert f" {cut} {end}\n" in edl


# --- contact sheet ---------------------------------------------------------------------------


def _jpeg(colour: tuple[int, int, int], size: tuple[int, int] = (64, 36)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, format="JPEG")
    return out.getvalue()


ENTRIES = [
    SheetEntry(1, 0.0, 4.5, "intro", "", "A city at dawn, wide", "approved", _jpeg((200, 40, 40))),
    SheetEntry(
        2, 4.5, 61.25, "verse 1", "<script>alert('x')</script>", 'rain & "neon"', "draft",
        None,
    ),
    SheetEntry(3, 61.25, 125.0, None, "la la", "a <b>bold</b> prompt", "stale", _jpeg((0, 0, 255))),
]  # fmt: skip


_VOID = {"img", "meta", "link", "br", "hr"}


class _Cards(HTMLParser):
    """The text of each element with a class, card by card; and the image sources."""

    def __init__(self) -> None:
        super().__init__()
        self.cards: list[dict[str, str]] = []
        self.images: list[str] = []
        self._open: list[str | None] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "article":
            self.cards.append({})
        if tag == "img":
            self.images.append(attributes["src"] or "")
        if tag not in _VOID:
            self._open.append(attributes.get("class"))

    def handle_endtag(self, tag: str) -> None:
        if tag not in _VOID:
            self._open.pop()

    def handle_data(self, data: str) -> None:
        if self.cards and self._open and self._open[-1]:
            card = self.cards[-1]
            card[self._open[-1] or ""] = card.get(self._open[-1] or "", "") + data


def _sheet() -> tuple[str, _Cards]:
    page = contact_sheet_html(ENTRIES, title="Storyboard <v2> & more")
    parser = _Cards()
    parser.feed(page)
    parser.close()
    return page, parser


def test_sheet_has_one_card_per_entry_with_its_fields() -> None:
    _, parsed = _sheet()
    assert len(parsed.cards) == 3
    assert [c["num"] for c in parsed.cards] == ["1", "2", "3"]
    assert [c["time"] for c in parsed.cards] == [
        "0:00.00\u20130:04.50",
        "0:04.50\u20131:01.25",
        "1:01.25\u20132:05.00",
    ]
    assert [c.get("section") for c in parsed.cards] == ["intro", "verse 1", None]
    assert [c["state"] for c in parsed.cards] == ["approved", "draft", "stale"]
    assert [c["prompt"] for c in parsed.cards] == [e.prompt for e in ENTRIES]
    assert parsed.cards[1]["lyric"] == "<script>alert('x')</script>"


def test_sheet_escapes_text() -> None:
    page, _ = _sheet()
    assert "<script>" not in page
    assert "&lt;script&gt;" in page
    assert "<b>bold</b>" not in page
    assert "<title>Storyboard &lt;v2&gt; &amp; more</title>" in page


def test_sheet_is_self_contained_and_printable() -> None:
    page, parsed = _sheet()
    assert page.startswith("<!DOCTYPE html>")
    assert "@media print" in page
    assert not re.search(r"<link|<script|url\(|src=\"(?!data:)", page)
    assert len(parsed.images) == 2
    for src, colour in zip(parsed.images, [(200, 40, 40), (0, 0, 255)], strict=True):
        assert src.startswith("data:image/jpeg;base64,")
        image = Image.open(io.BytesIO(base64.b64decode(src.split(",", 1)[1], validate=True)))
        assert image.format == "JPEG" and image.size == (64, 36)
        r, g, b = image.convert("RGB").getpixel((32, 18))  # type: ignore[misc]
        assert max(abs(r - colour[0]), abs(g - colour[1]), abs(b - colour[2])) < 20
