from __future__ import annotations

import hashlib
import re

import pytest
from pydantic import ValidationError

from studio.errors import IllegalTransition, InvalidInput
from studio.model import (
    ID_PATTERN,
    Job,
    JobStatus,
    Mood,
    Project,
    RenderSettings,
    Timeline,
    TimelineClip,
    check_id,
    fingerprint,
    new_id,
    normalize_name,
)


def test_ids_match_their_pattern_and_sort_by_creation() -> None:
    ids = [new_id("scn") for _ in range(200)]
    assert all(re.fullmatch(ID_PATTERN, i) for i in ids)
    assert len(set(ids)) == 200
    import time

    a = new_id("job")
    time.sleep(0.003)
    b = new_id("job")
    assert a[:14] <= b[:14]


@pytest.mark.parametrize(
    "bad",
    ["../../etc/passwd", "prj_0000", "PRJ_00000000000000000000", "prj_0000000000000000000/", ""],
)
def test_check_id_refuses_what_is_not_an_id(bad: str) -> None:
    with pytest.raises(InvalidInput):
        check_id(bad)


@pytest.mark.parametrize(
    "good", ["Night Drive", "Café ☕ 夜", "👩\u200d🎤 live", "Ünïcödé", "a", "x" * 80]
)
def test_names_with_real_unicode_are_fine(good: str) -> None:
    assert normalize_name(good) == good.strip()


def test_names_are_nfc_normalised_and_trimmed() -> None:
    assert normalize_name("  Cafe\u0301  ") == "Café"


@pytest.mark.parametrize(
    ("bad", "why"),
    [
        ("../../etc/passwd", "looks like a path"),
        ("a/b", "looks like a path"),
        ("a\\b", "looks like a path"),
        ("..", "looks like a path"),
        ("   ", "is empty"),
        ("x" * 81, "limit is 80"),
        ("evil\u202egnp.exe", "U+202E"),
        ("nul\x00byte", "U+0000"),
        ("zero\u200bwidth", "U+200B"),
        ("line\u2028sep", "U+2028"),
        ("private\ue000use", "U+E000"),
    ],
)
def test_bad_names_are_refused_with_a_reason(bad: str, why: str) -> None:
    with pytest.raises(InvalidInput, match=re.escape(why)):
        normalize_name(bad)
    with pytest.raises(ValidationError):
        Project(name=bad)


def test_fingerprint_is_stable_and_order_free() -> None:
    assert fingerprint({"a": 1, "b": [1, 2]}) == fingerprint({"b": [1, 2], "a": 1})
    assert fingerprint({"a": 1}) != fingerprint({"a": 2})
    canonical = '{"a":1,"p":"é"}'.encode()
    assert fingerprint({"p": "é", "a": 1}) == hashlib.sha256(canonical).hexdigest()[:32]


def test_mood_palette_must_be_colours() -> None:
    assert Mood(project_id="p", name="dusk", palette=["#FFAA00"]).palette == ["#ffaa00"]
    with pytest.raises(ValidationError, match="palette colours"):
        Mood(project_id="p", name="dusk", palette=["orange"])


def _clip(start: float, duration: float) -> TimelineClip:
    return TimelineClip(start=start, duration=duration)


def test_timeline_must_be_gap_free_and_cover_the_song() -> None:
    Timeline(project_id="p", duration=6, clips=[_clip(0, 2), _clip(2, 4)])
    with pytest.raises(ValidationError, match="gap"):
        Timeline(project_id="p", duration=6, clips=[_clip(0, 2), _clip(2.5, 3.5)])
    with pytest.raises(ValidationError, match="overlap"):
        Timeline(project_id="p", duration=6, clips=[_clip(0, 2), _clip(1.5, 4.5)])
    with pytest.raises(ValidationError, match="song is"):
        Timeline(project_id="p", duration=6, clips=[_clip(0, 2), _clip(2, 3)])


@pytest.mark.parametrize(
    ("aspect", "resolution", "size"),
    [
        ("16:9", 1080, (1920, 1080)),
        ("9:16", 1080, (1080, 1920)),
        ("1:1", 720, (720, 720)),
        ("4:5", 1080, (1080, 1350)),
        ("16:9", 2160, (3840, 2160)),
        ("16:9", 360, (640, 360)),
    ],
)
def test_render_sizes(aspect: str, resolution: int, size: tuple[int, int]) -> None:
    settings = RenderSettings(aspect=aspect, resolution=resolution)  # type: ignore[arg-type]
    assert settings.size == size
    assert all(v % 2 == 0 for v in settings.size)


def test_render_settings_refuse_unsupported() -> None:
    with pytest.raises(ValidationError, match="only 16:9"):
        RenderSettings(aspect="9:16", resolution=2160)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="fps 23"):
        RenderSettings(fps=23)


def test_job_lifecycle() -> None:
    job = Job(kind="render.testcard", fingerprint="x")
    running = job.moved_to(JobStatus.RUNNING)
    assert running.started_at is not None and running.heartbeat_at is not None
    done = running.moved_to(JobStatus.SUCCEEDED, result={"ok": 1})
    assert done.finished_at is not None and done.status.finished
    with pytest.raises(IllegalTransition, match="succeeded; it cannot become queued"):
        done.moved_to(JobStatus.QUEUED)
    with pytest.raises(IllegalTransition):
        job.moved_to(JobStatus.SUCCEEDED)
    assert running.moved_to(JobStatus.FAILED).moved_to(JobStatus.QUEUED).status is JobStatus.QUEUED
