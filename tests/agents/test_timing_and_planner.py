"""The storyboard's clock (cuts on downbeats, inside sections, within clip lengths) and the
offline planner's writing (deterministic, varied across seeds, following the song)."""

from __future__ import annotations

import asyncio
import itertools
import statistics

import pytest

from studio.agents import ClipLimits, plan_shots
from studio.audio import DecodedAudio, analyze, demo_lyrics_lrc, parse_lrc, synthesize_song
from studio.errors import InvalidInput
from studio.model import Analysis, Brief, CameraMove, Lyrics
from studio.providers import Planner
from studio.providers.local import LocalPlanner, read_scene


@pytest.fixture(scope="module")
def demo() -> tuple[Analysis, Lyrics]:
    audio, truth = synthesize_song()
    song, _ = analyze(DecodedAudio(audio, truth.sample_rate, "test"), "c" * 64)
    return song, parse_lrc(demo_lyrics_lrc(truth), duration=song.duration)


def test_shots_cover_the_song_and_cut_on_downbeats_inside_sections(
    demo: tuple[Analysis, Lyrics],
) -> None:
    song, lyrics = demo
    limits = ClipLimits(shortest=1.5, longest=8.0)
    shots = plan_shots(song, limits=limits, lyrics=lyrics)
    assert shots[0].start == 0.0 and shots[-1].end == song.duration
    assert [s.index for s in shots] == list(range(len(shots)))
    for a, b in itertools.pairwise(shots):
        assert a.end == b.start
        assert min(abs(b.start - d) for d in song.downbeats) < 1e-3  # every cut on a downbeat
    for shot in shots:
        section = song.section_at(shot.start + 1e-3)
        assert section is not None and shot.section == section.label
        assert shot.end <= section.end + 1e-3  # no shot crosses a section boundary
        assert limits.shortest <= shot.end - shot.start <= limits.longest + 1.5  # tail shot
    # Loud parts cut faster than quiet ones; the climax starts a shot.
    length = {
        label: statistics.fmean(s.end - s.start for s in shots if s.section == label)
        for label in ("intro", "verse", "chorus")
    }
    assert length["chorus"] < length["verse"] <= length["intro"]
    climax = next(m.time for m in song.key_moments if m.kind == "climax")
    assert any(abs(s.start - climax) < 0.05 and s.moment == "climax" for s in shots)
    # Lyrics go with the shots they are sung over.
    first_line = lyrics.lines[0]
    assert first_line.text in next(s.lyric for s in shots if s.start <= first_line.start < s.end)


def test_shorter_clips_make_more_shots(demo: tuple[Analysis, Lyrics]) -> None:
    song, _ = demo
    long = plan_shots(song, limits=ClipLimits(shortest=1.5, longest=8.0))
    short = plan_shots(song, limits=ClipLimits(shortest=1.0, longest=4.0))
    assert len(short) > len(long)
    assert max(s.end - s.start for s in short[:-1]) <= 4.0 + 1e-3
    with pytest.raises(InvalidInput, match="not a range"):
        ClipLimits(shortest=5, longest=4)


def test_the_planner_follows_the_brief_and_the_song(demo: tuple[Analysis, Lyrics]) -> None:
    song, lyrics = demo
    planner = LocalPlanner()
    assert isinstance(planner, Planner)
    brief = Brief(text="a night drive through the neon city in the rain, a singer")
    concepts = asyncio.run(planner.concepts(brief, song, n=3, seed=1))
    assert len(concepts) == 3 and len({c.title for c in concepts}) == 3
    assert any("city" in c.title.lower() for c in concepts)
    moods = asyncio.run(planner.moods(brief, concepts[0], n=4, seed=1))
    assert len(moods) == 4 and moods[0].name == "Neon Noir"  # the brief's words choose it
    shots = plan_shots(song, lyrics=lyrics)
    scenes = asyncio.run(planner.scenes(brief, concepts[0], moods[0], shots, seed=1))
    assert [d.index for d in scenes] == [s.index for s in shots]
    by_section = {s.section: d for s, d in zip(shots, scenes, strict=True)}
    # A calm intro gets a calm wide shot; the chorus the strongest, closest images.
    assert by_section["intro"].shot == "wide"
    assert "empty" in by_section["intro"].prompt
    assert by_section["chorus"].shot == "close" and "blazing" in by_section["chorus"].prompt
    assert by_section["bridge"].camera in (CameraMove.STATIC, CameraMove.ZOOM_OUT)
    # The prompts use what the brief asked for, in words the painter draws.
    for draft in scenes:
        assert {"city"} <= read_scene(draft.prompt).elements
        assert read_scene(draft.prompt).time == "night"
        assert "singer" in draft.prompt or draft.shot == "wide"
    # A shot's lyric shapes what it shows.
    sung = next(i for i, s in enumerate(shots) if "neon" in s.lyric.lower())
    assert "neon" in scenes[sung].visual_intent and "neon" in scenes[sung].prompt


def test_the_planner_is_deterministic_for_a_seed_and_varied_across_seeds(
    demo: tuple[Analysis, Lyrics],
) -> None:
    song, lyrics = demo
    planner = LocalPlanner()
    brief = Brief(text="summer on the coast")
    shots = plan_shots(song, lyrics=lyrics)

    def plan(seed: int) -> list[str]:
        concept = asyncio.run(planner.concepts(brief, song, seed=seed))[0]
        mood = asyncio.run(planner.moods(brief, concept, seed=seed))[0]
        drafts = asyncio.run(planner.scenes(brief, concept, mood, shots, seed=seed))
        return [mood.model_dump_json()] + [d.model_dump_json() for d in drafts]

    assert plan(3) == plan(3)
    assert plan(3) != plan(4)
    assert sum(a != b for a, b in zip(plan(3), plan(4), strict=True)) > len(shots) // 3
