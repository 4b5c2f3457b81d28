"""The renderer with the real ffmpeg, asserted on what the rendered files hold: cuts read back
from the pictures land on the song's beats, sound and picture stay together for three minutes,
a slow zoom moves smoothly, transitions and effects draw what they say, and a render that is
stopped or given bad input leaves no file behind."""

from __future__ import annotations

import itertools
import subprocess
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from PIL import Image

from studio.errors import InvalidInput, JobCancelled
from studio.model import (
    Analysis,
    Aspect,
    CameraMove,
    Container,
    Curve,
    Effect,
    Quality,
    RenderSettings,
    Section,
    Timeline,
    TimelineClip,
    Transition,
    TransitionKind,
)
from studio.render import (
    ClipMedia,
    Renderer,
    Segment,
    compile_plan,
    effect,
    ffmpeg_path,
    probe,
    render_video,
    teaser_window,
    verify,
)
from tests.render.helpers import cut_frames, decoded_audio, decoded_frames

RATE = 48000
SMALL = RenderSettings(resolution=240, fps=24, quality=Quality.DRAFT)
COLOURS = [(200, 40, 40), (40, 180, 60), (40, 60, 200), (220, 200, 40), (200, 60, 200)]


def _click_song(path: Path, bpm: float, seconds: float) -> list[float]:
    """A song of short 2 kHz clicks on every beat; returns the beat times."""
    beats = list(np.arange(0.5, seconds - 0.2, 60.0 / bpm))
    audio = np.zeros(round(seconds * RATE), np.float32)
    burst = 0.8 * np.sin(2 * np.pi * 2000 * np.arange(int(0.01 * RATE)) / RATE)
    for b in beats:
        i = round(b * RATE)
        audio[i : i + burst.size] = burst[: audio.size - i]
    sf.write(path, np.stack([audio, audio], axis=1), RATE)
    return beats


def _still(path: Path, colour: tuple[int, int, int], *, size: tuple[int, int] = (640, 360)) -> Path:
    """A flat colour with a soft texture (so camera moves change pixels a little)."""
    w, h = size
    x = np.linspace(0, 1, w)[None, :, None]
    y = np.linspace(0, 1, h)[:, None, None]
    shade = 0.85 + 0.15 * np.sin(8 * x + 5 * y)
    picture = np.clip(np.asarray(colour)[None, None, :] * shade, 0, 255).astype(np.uint8)
    Image.fromarray(picture).save(path)
    return path


def _timeline(cuts: list[float], duration: float, **clip: object) -> Timeline:
    edges = [0.0, *cuts, duration]
    clips = [
        TimelineClip(start=a, duration=b - a, **clip)  # type: ignore[arg-type]
        for a, b in itertools.pairwise(edges)
    ]
    return Timeline(project_id="p", duration=duration, clips=clips)


def _media(tl: Timeline, tmp: Path, camera: CameraMove = CameraMove.STATIC) -> dict[str, ClipMedia]:
    stills = [_still(tmp / f"c{i}.png", c) for i, c in enumerate(COLOURS)]
    return {
        clip.id: ClipMedia(stills[i % len(stills)], "still", camera)
        for i, clip in enumerate(tl.clips)
    }


def _clicks(audio: np.ndarray, expected: list[float]) -> list[float]:
    """Where each expected click begins in ``audio``, found near its expected time."""
    found = []
    for t in expected:
        a = max(0, round((t - 0.1) * RATE))
        window = np.abs(audio[a : a + round(0.2 * RATE)])
        found.append((a + int(np.argmax(window > 0.3 * window.max()))) / RATE)
    return found


@pytest.mark.slow
@pytest.mark.parametrize(("bpm", "seconds", "fps"), [(90, 40, 24), (128, 180, 30), (174, 30, 25)])
def test_cuts_land_on_the_beats_and_sound_stays_with_the_picture(
    tmp_path: Path, bpm: float, seconds: float, fps: int
) -> None:
    song = tmp_path / "song.wav"
    beats = _click_song(song, bpm, seconds)
    # cuts every 3, 5 or 7 beats: an uneven pattern that rounding errors would drift from
    steps = [3, 5, 7]
    cut_beats, i, k = [], 0, 0
    while True:
        i += steps[k % 3]
        k += 1
        if i >= len(beats) - 1:
            break
        cut_beats.append(i)
    timeline = _timeline([beats[i] for i in cut_beats], seconds)
    settings = SMALL.model_copy(update={"fps": fps})
    plan = compile_plan(timeline, _media(timeline, tmp_path), settings, song=song)
    out = tmp_path / "out.mp4"
    report = render_video(plan, out, workdir=tmp_path)
    assert report["frames"] == round(seconds * fps)

    cuts = cut_frames(decoded_frames(out, 426, 240))
    assert len(cuts) == len(cut_beats)
    for frame, b in zip(cuts, cut_beats, strict=True):
        # (a beat exactly between two frames is half a frame from either: allow float noise)
        assert abs(frame / fps - beats[b]) <= 0.5 / fps + 1e-9, (frame, beats[b])

    # the clicks in the rendered file are where the song has them: no offset at the start,
    # no drift by the end
    heard = _clicks(decoded_audio(out), [beats[0], beats[-1]])
    assert abs(heard[0] - beats[0]) < 1 / fps
    assert abs(heard[1] - beats[-1]) < 1 / fps
    # and the picture cut nearest the last click is on the same beat as the sound
    last_cut = cuts[-1] / fps
    assert (
        abs(last_cut - _clicks(decoded_audio(out), [beats[cut_beats[-1]]])[0]) <= 0.5 / fps + 0.002
    )


def _dot_picture(path: Path) -> Path:
    """A dark picture with one soft bright dot off-centre: where it goes shows the camera."""
    w, h = 1280, 720
    yy, xx = np.mgrid[0:h, 0:w]
    dot = np.exp(-(((xx - 0.8 * w) ** 2 + (yy - 0.7 * h) ** 2) / (2 * 6.0**2)))
    picture = (20 + 230 * dot)[..., None].repeat(3, axis=2).astype(np.uint8)
    Image.fromarray(picture).save(path)
    return path


def _dot_x(frames: np.ndarray) -> np.ndarray:
    """The dot's centre in each frame, to a fraction of a pixel (intensity-weighted)."""
    luma = frames.astype(np.float64).mean(axis=3)
    weight = np.clip(luma - 60, 0, None)
    xs = np.arange(frames.shape[2])
    return (weight.sum(axis=1) * xs).sum(axis=1) / weight.sum(axis=(1, 2))


@pytest.mark.slow
def test_a_slow_zoom_moves_every_frame_the_same_way_without_jitter(tmp_path: Path) -> None:
    song = tmp_path / "song.wav"
    _click_song(song, 120, 4)
    timeline = _timeline([], 4.0)
    media = {
        timeline.clips[0].id: ClipMedia(
            _dot_picture(tmp_path / "dot.png"), "still", CameraMove.ZOOM_IN
        )
    }
    settings = RenderSettings(resolution=360, fps=30, quality=Quality.HIGH)
    plan = compile_plan(timeline, media, settings, song=song)
    out = tmp_path / "zoom.mp4"
    render_video(plan, out, workdir=tmp_path)
    # the frames made, before the encoder: the move is exact to the sub-pixel
    renderer = Renderer(plan, tmp_path)
    renderer.prepare()
    made = np.stack([p.y for p in renderer.frames(plan.first, plan.last)])
    steps = np.diff(_dot_x(made[..., None]))
    assert np.all(steps > 0) and np.max(np.abs(np.diff(steps))) < 0.15 * np.median(steps)

    steps = np.diff(_dot_x(decoded_frames(out, 640, 360)))
    # read back: a zoom in pushes a point right of centre further right on every frame...
    assert np.all(steps > 0), steps
    # ...by an amount that changes gently. ffmpeg's zoompan steps by whole pixels instead (on
    # this picture its step swings by 3.5 times its size, and goes back on 36 of 120 frames);
    # what is left here is the encoder's noise, 0.2 to 0.35 of a step at this size
    assert np.max(np.abs(np.diff(steps))) < 0.5 * np.median(steps)


def _one_colour(frame: np.ndarray) -> np.ndarray:
    return frame.reshape(-1, 3).mean(axis=0)


@pytest.mark.slow
@pytest.mark.parametrize(
    "kind",
    [
        TransitionKind.CROSSFADE,
        TransitionKind.DIP_BLACK,
        TransitionKind.WIPE_LEFT,
        TransitionKind.SLIDE_RIGHT,
    ],
)
def test_transitions_draw_what_they_say(tmp_path: Path, kind: TransitionKind) -> None:
    song = tmp_path / "song.wav"
    _click_song(song, 120, 4)
    timeline = _timeline([2.0], 4.0)
    second = timeline.clips[1].model_copy(
        update={"transition_in": Transition(kind=kind, duration=1.0)}
    )
    timeline = timeline.model_copy(update={"clips": [timeline.clips[0], second]})
    plan = compile_plan(timeline, _media(timeline, tmp_path), SMALL, song=song)
    out = tmp_path / "t.mp4"
    render_video(plan, out, workdir=tmp_path)
    frames = decoded_frames(out, 426, 240).astype(float)
    red, green = np.asarray(COLOURS[0], float), np.asarray(COLOURS[1], float)
    mid = frames[48]  # on the cut: the beat-synced transition is halfway
    assert np.abs(_one_colour(frames[30]) - red * 0.92).max() < 25  # before: only the first
    assert np.abs(_one_colour(frames[66]) - green * 0.92).max() < 25  # after: only the second
    if kind is TransitionKind.CROSSFADE:
        assert np.abs(_one_colour(mid) - (red + green) * 0.46).max() < 25
    elif kind is TransitionKind.DIP_BLACK:
        assert _one_colour(mid).max() < 40
    elif kind is TransitionKind.WIPE_LEFT:  # the new picture comes in from the right
        assert _one_colour(mid[:, 20:180])[0] > 120 and _one_colour(mid[:, 250:])[1] > 120
    else:  # slide right: the new picture enters from the left
        assert _one_colour(mid[:, 20:180])[1] > 120 and _one_colour(mid[:, 250:])[0] > 120


def _analysis(beats: list[float], duration: float) -> Analysis:
    return Analysis(
        audio_sha256="0" * 64, duration=duration, sample_rate=RATE, tempo=120.0,
        beats=beats, downbeats=beats[::4],
    )  # fmt: skip


@pytest.mark.slow
def test_audio_reactive_effects_follow_the_beats(tmp_path: Path) -> None:
    song = tmp_path / "song.wav"
    beats = _click_song(song, 120, 4)
    analysis = _analysis(beats, 4.0)

    @effect("test_dim")
    def dim(times, analysis, intensity, params):  # type: ignore[no-untyped-def]
        return {"brightness": np.where(times > 3.0, intensity, 0.0)}

    effects = [Effect(name="zoom_pulse", intensity=1.0), Effect(name="test_dim", intensity=0.8)]
    timeline = _timeline([], 4.0, effects=effects)
    media = {timeline.clips[0].id: ClipMedia(_dot_picture(tmp_path / "dot.png"), "still")}
    plan = compile_plan(timeline, media, SMALL, song=song, analysis=analysis)
    out = tmp_path / "fx.mp4"
    render_video(plan, out, workdir=tmp_path)
    frames = decoded_frames(out, 426, 240)
    x = _dot_x(frames)
    for b in beats[1:5]:
        on, before = round(b * 24) + 1, round(b * 24) - 2
        assert x[on] > x[before] + 0.5  # pushed in just after the beat
    luma = frames.astype(float).mean(axis=(1, 2, 3))
    assert luma[80] > luma[60] + 60  # the custom lift after 3 s


def test_unknown_effects_and_bad_timelines_are_refused_before_encoding(tmp_path: Path) -> None:
    song = tmp_path / "song.wav"
    _click_song(song, 120, 4)
    timeline = _timeline([2.0], 4.0)
    media = _media(timeline, tmp_path)
    with pytest.raises(InvalidInput, match="no effect called 'sparkle'"):
        bad = _timeline([2.0], 4.0, effects=[Effect(name="sparkle")])
        compile_plan(
            bad, {c.id: m for c, m in zip(bad.clips, media.values(), strict=True)}, SMALL, song=song
        )
    with pytest.raises(InvalidInput, match="clip 2 has no picture"):
        compile_plan(
            timeline, {timeline.clips[0].id: media[timeline.clips[0].id]}, SMALL, song=song
        )
    tiny = _timeline([3.99], 4.0)
    with pytest.raises(InvalidInput, match=r"clip 2 lasts 10\.0 ms, less than one frame"):
        compile_plan(tiny, _media(tiny, tmp_path), SMALL, song=song)
    long = timeline.model_copy(
        update={"clips": [timeline.clips[0], timeline.clips[1].model_copy(
            update={"transition_in": Transition(kind=TransitionKind.CROSSFADE, duration=5.0)})]}
    )  # fmt: skip
    with pytest.raises(InvalidInput, match="too short for the transitions"):
        compile_plan(long, _media(long, tmp_path), SMALL, song=song)


@pytest.mark.parametrize("fault", ["missing", "corrupt image", "unreadable clip"])
def test_bad_media_is_named_before_any_encoding(tmp_path: Path, fault: str) -> None:
    song = tmp_path / "song.wav"
    _click_song(song, 120, 4)
    timeline = _timeline([2.0], 4.0)
    media = _media(timeline, tmp_path)
    second = timeline.clips[1].id
    broken = tmp_path / "broken.bin"
    if fault == "missing":
        media[second] = ClipMedia(tmp_path / "gone.png", "still", label="scene 2's image take v1")
    elif fault == "corrupt image":
        broken.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 64)
        media[second] = ClipMedia(broken, "still", label="scene 2's image take v1")
    else:
        broken.write_bytes(b"not a video at all")
        media[second] = ClipMedia(broken, "video", label="scene 2's clip take v1")
    plan = compile_plan(timeline, media, SMALL, song=song)
    out = tmp_path / "out.mp4"
    with pytest.raises(InvalidInput, match="clip 2: scene 2's"):
        render_video(plan, out, workdir=tmp_path)
    assert not out.exists()
    assert not list(tmp_path.glob("segment-*"))


@pytest.mark.slow
def test_stopping_a_render_kills_the_encoder_and_leaves_no_file(tmp_path: Path) -> None:
    song = tmp_path / "song.wav"
    _click_song(song, 120, 60)
    timeline = _timeline([20.0, 40.0], 60.0)
    plan = compile_plan(timeline, _media(timeline, tmp_path, CameraMove.ZOOM_IN),
                        RenderSettings(resolution=720, fps=30), song=song)  # fmt: skip
    stop = threading.Event()
    seen: list[int] = []

    def progress(done: int, total: int) -> None:
        seen.append(done)
        if done >= 30:
            stop.set()

    out = tmp_path / "final.mp4"
    with pytest.raises(JobCancelled):
        render_video(plan, out, workdir=tmp_path, stop=stop, on_progress=progress)
    assert seen and seen == sorted(seen)  # progress came from ffmpeg's -progress, in order
    assert (
        not out.exists()
        and not list(tmp_path.glob("*.part*"))
        and not list(tmp_path.glob("segment-*"))
        and not list(tmp_path.glob("audio.*"))
    )
    assert subprocess.run(["pgrep", "-f", str(tmp_path)], capture_output=True).stdout == b""


@pytest.mark.slow
def test_one_encoder_makes_every_segment_and_hands_each_over_once_complete(
    tmp_path: Path,
) -> None:
    song = tmp_path / "song.wav"
    _click_song(song, 120, 12)
    timeline = _timeline([4.0, 8.0], 12.0)
    plan = compile_plan(timeline, _media(timeline, tmp_path, CameraMove.ZOOM_IN), SMALL,
                        song=song)  # fmt: skip
    workdir = tmp_path / "50% done"  # the encoder names its files from a pattern
    workdir.mkdir()
    renderer = Renderer(plan, workdir)
    renderer.prepare()
    segments = renderer.segments(3.0)
    assert len(segments) == 4
    for segment in segments[1:]:  # files an earlier attempt left are not finished ones
        renderer.part(segment).write_bytes(b"half a segment")
    handed: list[tuple[int, bool]] = []

    def on_segment(segment: Segment, part: Path) -> None:
        encoding = subprocess.run(["pgrep", "-f", str(tmp_path)], capture_output=True).stdout
        handed.append((segment.index, bool(encoding)))
        # complete when handed over: every frame decodes, from a keyframe at its start
        assert len(decoded_frames(part, 426, 240)) == segment.frames

    parts = renderer.encode(segments, on_segment=on_segment)
    assert parts == [renderer.part(s) for s in segments] and all(p.is_file() for p in parts)
    assert [index for index, _ in handed] == [0, 1, 2, 3]
    # the first three were handed over while the encoder went on with the next
    assert [encoding for _, encoding in handed] == [True, True, True, False]

    # stopped after the first, the encoder leaves that one to its taker and no half file
    for part in parts:
        part.unlink()
    stop = threading.Event()
    with pytest.raises(JobCancelled):
        renderer.encode(segments, stop=stop, on_segment=lambda segment, part: stop.set())
    assert sorted(p.name for p in workdir.iterdir()) == [parts[0].name]


@pytest.mark.slow
def test_the_audio_track_stops_with_its_render(tmp_path: Path) -> None:
    song = tmp_path / "song.wav"
    _click_song(song, 120, 120)
    timeline = _timeline([60.0], 120.0)
    settings = SMALL.model_copy(update={"normalize_loudness": True})
    plan = compile_plan(timeline, _media(timeline, tmp_path), settings, song=song)
    renderer = Renderer(plan, tmp_path)
    out = tmp_path / "audio.mp4"
    stop = threading.Event()

    def running() -> bool:
        return bool(subprocess.run(["pgrep", "-f", str(song)], capture_output=True).stdout)

    def stop_once_running() -> None:  # the loudness measure has begun
        while not running():
            time.sleep(0.01)
        stop.set()

    threading.Thread(target=stop_once_running, daemon=True).start()
    with pytest.raises(JobCancelled, match="was cancelled"):
        renderer.audio(out, stop=stop)
    assert not out.exists() and not running()


@pytest.mark.slow
def test_a_landscape_picture_reframed_to_portrait_keeps_its_subject(tmp_path: Path) -> None:
    song = tmp_path / "song.wav"
    _click_song(song, 120, 2)
    timeline = _timeline([], 2.0)
    dot = _dot_picture(tmp_path / "dot.png")  # the dot is at 80 % of the width
    video = tmp_path / "dot.mp4"  # the same picture as a clip take
    subprocess.run(
        [ffmpeg_path(), "-v", "error", "-loop", "1", "-i", str(dot), "-t", "2", "-r", "24",
         "-pix_fmt", "yuv420p", str(video)], check=True,
    )  # fmt: skip
    settings = SMALL.model_copy(update={"aspect": Aspect.PORTRAIT, "resolution": 360})
    cases = [(m, f, v) for m in (ClipMedia(dot, "still"), ClipMedia(video, "video"))
             for f, v in (((0.5, 0.5), False), ((0.8, 0.5), True))]  # fmt: skip
    for n, (media, focus, visible) in enumerate(cases):
        clip = timeline.clips[0].model_copy(update={"focus": focus})
        tl = timeline.model_copy(update={"clips": [clip]})
        plan = compile_plan(tl, {clip.id: media}, settings, song=song)
        out = tmp_path / f"portrait-{n}.mp4"
        render_video(plan, out, workdir=tmp_path)
        frames = decoded_frames(out, 360, 640)
        assert frames.shape[1:3] == (640, 360)
        assert bool(frames.max() > 150) is visible


@pytest.mark.slow
def test_webm_and_loudness_normalisation(tmp_path: Path) -> None:
    song = tmp_path / "song.wav"
    _click_song(song, 120, 6)
    timeline = _timeline([3.0], 6.0)
    settings = SMALL.model_copy(
        update={"container": Container.WEBM, "normalize_loudness": True, "target_lufs": -14.0}
    )
    plan = compile_plan(timeline, _media(timeline, tmp_path), settings, song=song)
    out = tmp_path / "out.webm"
    render_video(plan, out, workdir=tmp_path)
    info = probe(out)
    assert (info.video, info.audio) == ("vp9", "opus")
    measured = subprocess.run(
        [ffmpeg_path(), "-hide_banner", "-i", str(out), "-af", "ebur128", "-f", "null", "-"],
        capture_output=True,
        text=True,
    ).stderr
    integrated = float(measured.rsplit("I:", 1)[1].split("LUFS")[0])
    assert abs(integrated - -14.0) < 1.5


def test_a_teaser_window_starts_and_ends_on_downbeats() -> None:
    beats = [0.5 * i for i in range(240)]
    sections = [
        Section(start=0, end=40, label="verse"),
        Section(start=40, end=70, label="chorus"),
        Section(start=70, end=120, label="outro"),
    ]
    analysis = _analysis(beats, 120.0).model_copy(
        update={
            "sections": sections,
            "energy": Curve(hop=1.0, values=[0.2] * 40 + [0.9] * 30 + [0.3] * 50),
        }
    )  # fmt: skip
    a, b = teaser_window(analysis, 15)
    assert a in analysis.downbeats and b in analysis.downbeats
    assert a >= 40 and b <= 70 and abs((b - a) - 15) <= 1.0


def test_verify_names_a_render_that_does_not_check_out(tmp_path: Path) -> None:
    from studio.render import testcard_command

    out = tmp_path / "card.mp4"
    subprocess.run(testcard_command(out, duration=1, width=64, height=36, fps=25), check=True)
    assert verify(out, frames=25, fps=25)["offset"] == 0.0
    with pytest.raises(Exception, match="24 frames instead of 30"):
        # a 25 fps second checked as if it were 30 fps: wrong count, and one frame short
        subprocess.run(
            testcard_command(out, duration=0.96, width=64, height=36, fps=25), check=True
        )
        verify(out, frames=30, fps=25)


def test_renderer_segments_cover_the_plan_without_gaps(tmp_path: Path) -> None:
    song = tmp_path / "song.wav"
    _click_song(song, 120, 25)
    timeline = _timeline([10.0], 25.0)
    plan = compile_plan(timeline, _media(timeline, tmp_path), SMALL, song=song)
    segments = Renderer(plan, tmp_path).segments(10.0)
    assert segments[0].first == 0 and segments[-1].last == 600
    assert all(a.last == b.first for a, b in itertools.pairwise(segments))


@pytest.mark.parametrize(("kind", "magic"), [("gif", b"GIF8"), ("webp", b"RIFF")])
def test_a_looping_animation_of_a_render(tmp_path: Path, kind: str, magic: bytes) -> None:
    from studio.render import animation_command, testcard_command

    card = tmp_path / "card.mp4"
    subprocess.run(testcard_command(card, duration=1, width=160, height=90, fps=25), check=True)
    out = tmp_path / f"teaser.{kind}"
    subprocess.run(animation_command(card, out, kind=kind, width=120, fps=12), check=True)
    assert out.read_bytes()[:4] == magic
    with Image.open(out) as animation:
        assert animation.size == (120, 68) and animation.n_frames >= 10
