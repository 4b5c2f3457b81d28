"""The render: a plan's frames made in order and piped to one encoder, which writes them as
segments; the song's audio track encoded once beside it; the segments and the track joined
without encoding again, and the result read back and checked.

Each segment is a file of its own that starts on a keyframe, so a long render resumes from the
segments it finished and an edit re-renders only the segments it touches. One encoder makes a
whole run of segments (its muxer cuts them), so the render pays for no encoder's start and
drain between them. The job (``render.video``) caches segments by their inputs and the audio
track by the song's stretch; ``render_video`` makes them all for the CLI and the benchmarks.
"""

from __future__ import annotations

import itertools
import json
import math
import os
import re
import threading
from collections.abc import Callable, Generator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import UnidentifiedImageError

from studio.errors import InvalidInput, RenderError
from studio.files import replacing
from studio.model import TransitionKind
from studio.render._burn import BurnedLyrics
from studio.render._effects import Motion, motion
from studio.render._ffmpeg import (
    audio_command,
    encode_video_command,
    loudness_command,
    mux_command,
    subtitles_filter,
    video_codec,
)
from studio.render._frames import Planes, VideoSource, black, from_rgb, transposed, warp
from studio.render._motion import Camera, camera_at, cover, focus_point, read_rgb
from studio.render._pipe import feed, run
from studio.render._plan import PlannedClip, RenderPlan
from studio.render._probe import probe, verify
from studio.render._resample import keeps_transpose, warm_up
from studio.render._subtitles import font_dir

__all__ = ["Renderer", "Segment", "render_video"]

Progress = Callable[[dict[str, float | str]], None]
SEGMENT_SECONDS = 10.0


@dataclass(frozen=True)
class Segment:
    index: int
    first: int
    last: int

    @property
    def frames(self) -> int:
        return self.last - self.first


@dataclass
class _Still:
    planes: Planes
    turned: Planes | None  # the planes transposed, where a camera move on them then needs one
    # transpose, not two (``keeps_transpose``)
    focus: tuple[float, float]


class Renderer:
    """Makes a plan's frames. ``prepare()`` reads every still and checks every clip take
    first, so a bad file is refused before anything is encoded."""

    def __init__(self, plan: RenderPlan, workdir: Path) -> None:
        self.plan = plan
        self.workdir = workdir
        self.width, self.height = plan.size
        self._stills: dict[tuple[Path, tuple[float, float]], _Still] = {}
        self._motion: dict[int, tuple[int, Motion]] = {}
        self._lyrics: BurnedLyrics | None = None  # burned by the frames, once drawn (``prepare``)

    # -- checks and pictures

    def prepare(self) -> None:
        """Check and read every picture and clip take, and draw the lyrics' looks."""
        warm_up()  # the resampler compiles while the pictures are read
        clips = self._clips_in(self.plan.first, self.plan.last)
        for clip in clips:
            if not clip.media.path.is_file():
                raise InvalidInput(
                    f"clip {clip.number}: {clip.media.label or 'its media'} is missing from "
                    "the asset store",
                    hint="make the take again or choose another one",
                )
        # each picture read and each clip take probed once, a few at a time; the first bad
        # one in the timeline's order is the one named
        firsts: dict[object, PlannedClip] = {}
        for clip in clips:
            key = (clip.media.path, clip.focus) if clip.media.kind == "still" else clip.media.path
            firsts.setdefault(key, clip)
        lyrics = None
        if self.plan.subtitles:
            lyrics = BurnedLyrics.parse(
                self.plan.subtitles, self._subtitles(), font_dir(), size=self.plan.size,
                fps=self.plan.fps, first=self.plan.first, last=self.plan.last,
            )  # fmt: skip
        with ThreadPoolExecutor(min(4, os.cpu_count() or 1)) as pool:
            drawn = pool.submit(lyrics.draw) if lyrics is not None else None
            list(pool.map(self._check, firsts.values()))
            if drawn is not None:
                drawn.result()
        self._lyrics = lyrics

    def _check(self, clip: PlannedClip) -> None:
        if clip.media.kind == "still":
            self._still(clip)
            return
        try:
            info = probe(clip.media.path)
        except RenderError as exc:
            raise InvalidInput(
                f"clip {clip.number}: {clip.media.label or 'its video'} is not a video "
                "ffmpeg can read",
                hint="make the take again or choose another one",
            ) from exc
        if info.video is None or info.duration <= 0:
            raise InvalidInput(
                f"clip {clip.number}: {clip.media.label or 'its video'} holds no video",
                hint="make the take again or choose another one",
            )

    def _clips_in(self, first: int, last: int) -> list[PlannedClip]:
        return [c for c in self.plan.clips if c.seen_in(first, last)]

    def _still(self, clip: PlannedClip) -> _Still:
        key = (clip.media.path, clip.focus)
        found = self._stills.get(key)
        if found is None:
            try:
                rgb = read_rgb(clip.media.path)
            except (UnidentifiedImageError, OSError) as exc:
                raise InvalidInput(
                    f"clip {clip.number}: {clip.media.label or 'its picture'} is not a picture "
                    "that can be read",
                    hint="make the take again or choose another one",
                ) from exc
            framed = cover(rgb, self.width, self.height, clip.focus)
            planes = from_rgb(framed)
            turned = transposed(planes) if keeps_transpose(planes.u.shape[1]) else None
            found = _Still(planes, turned, focus_point(framed))
            self._stills[key] = found
        return found

    # -- frames

    def _curves(self, clip: PlannedClip) -> tuple[int, Motion]:
        found = self._motion.get(clip.number)
        if found is None:
            start = clip.blend_start
            end = clip.seen_until
            times = np.arange(start, end, dtype=float) / self.plan.fps
            found = (start, motion(clip.effects, times, self.plan.analysis))
            self._motion[clip.number] = found
        return found

    def _frame(
        self, clip: PlannedClip, frame: int, sources: dict[int, VideoSource]
    ) -> tuple[Planes, bool]:
        """Frame ``frame`` of ``clip``, and whether its planes are its own (made for it, held
        by no still or clip take)."""
        k = frame - clip.first
        offset, curves = self._curves(clip)
        i = min(max(frame - offset, 0), curves.zoom.size - 1)
        zoom, dx, dy = curves.zoom[i], curves.dx[i], curves.dy[i]
        angle, lift = curves.angle[i], curves.brightness[i]
        extra = (1 + zoom) * (1 + 2 * curves.margin)
        if clip.media.kind == "still":
            still = self._still(clip)
            if clip.media.span:  # the move runs over the take it stands in for
                made = round(clip.media.span * self.plan.fps)
                u = (round(clip.in_point * self.plan.fps) + k) / max(1, made - 1)
            else:
                u = k / (clip.length - 1) if clip.length > 1 else 0.0
            base = camera_at(
                clip.media.camera, u, width=self.width, height=self.height, focus=still.focus
            )
            picture, turned = still.planes, still.turned
        else:
            source = sources.get(clip.number)
            if source is None:
                source = VideoSource(
                    clip.media.path, width=self.width, height=self.height, fps=self.plan.fps,
                    start=clip.in_point + max(0, k) / self.plan.fps, first_index=max(0, k),
                    focus=clip.focus,
                )  # fmt: skip
                sources[clip.number] = source
            picture, turned = source.frame(k), None
            base = Camera()
        if curves.moves:
            scale = base.scale * extra
            base = Camera(
                scale=scale,
                cx=_inside(base.cx + dx / scale, scale),
                cy=_inside(base.cy + dy / scale, scale),
                angle=base.angle + angle,
            )
        out = warp(picture, base, turned=turned)
        owned = out is not picture
        if lift > 1e-4:
            table = np.clip(np.arange(256) + lift * (235 - np.arange(256)), 0, 255)
            out = Planes(np.asarray(cv2.LUT(out.y, table.astype(np.uint8))), out.u, out.v)
        return out, owned

    def frames(self, first: int, last: int) -> Generator[Planes]:
        """The frames ``first`` up to ``last`` on the song's grid, in order."""
        sources: dict[int, VideoSource] = {}
        try:
            for f in range(first, last):
                clip, leaving, w = self.plan.at(f)
                picture, owned = self._frame(clip, f, sources)
                if leaving is not None:
                    gone = self._frame(leaving, f, sources)[0]
                    picture, owned = _blend(gone, picture, w, clip.transition), True
                if self._lyrics is not None:
                    picture = self._lyrics.burn(picture, f, owned=owned)
                for number in [n for n in sources if self.plan.clips[n - 1].seen_until <= f]:
                    sources.pop(number).close()
                yield picture
        finally:
            for source in sources.values():
                source.close()

    # -- encoding

    def segments(self, seconds: float = SEGMENT_SECONDS) -> list[Segment]:
        size = max(1, round(seconds * self.plan.fps))
        count = max(1, math.ceil(self.plan.frames / size))
        edges = [self.plan.first + round(i * self.plan.frames / count) for i in range(count + 1)]
        return [Segment(i, a, b) for i, (a, b) in enumerate(itertools.pairwise(edges))]

    def _subtitles(self) -> Path:
        """The plan's lyrics document, saved in the workdir for libass."""
        assert self.plan.subtitles is not None
        path = self.workdir / "subtitles.ass"
        if not path.exists() or path.read_text(encoding="utf-8") != self.plan.subtitles:
            path.write_text(self.plan.subtitles, encoding="utf-8")
        return path

    def _burn(self) -> str | None:
        """The encoder's filter burning the lyrics, where the frames do not carry them (a
        document that animates, or frames made without ``prepare``)."""
        if not self.plan.subtitles or self._lyrics is not None:
            return None
        return subtitles_filter(self._subtitles(), font_dir())

    def part(self, segment: Segment) -> Path:
        """The file ``segment`` is encoded to, in the workdir."""
        return self.workdir / f"segment-{segment.index:05d}.{self.plan.settings.container.value}"

    def encode(
        self,
        run: list[Segment],
        *,
        stop: threading.Event | None = None,
        on_progress: Progress | None = None,
        on_segment: Callable[[Segment, Path], None] | None = None,
    ) -> list[Path]:
        """Encode ``run`` (consecutive segments) with one encoder, each segment to its own
        file (``part``), returned in order. ``on_segment(segment, path)`` hears of each file
        as soon as it is complete, while the encoder goes on with the next. Setting ``stop``
        kills the encoder at once and raises ``JobCancelled``; the files not yet handed to
        ``on_segment`` are then removed."""
        s = self.plan.settings
        first, last = run[0].first, run[-1].last
        parts = [self.part(segment) for segment in run]
        for part in parts:  # a file an earlier attempt left is not one this encoder finished
            part.unlink(missing_ok=True)
        out, cuts = parts[0], tuple(segment.first - first for segment in run[1:])
        if cuts:  # the segment muxer's pattern: a % in the folder's name is written %%
            folder = str(self.workdir).replace("%", "%%")
            out = Path(folder) / f"segment-%05d.{s.container.value}"
        command = encode_video_command(
            out, width=self.width, height=self.height, fps=s.fps,
            codec=video_codec(s.container.value, s.quality.value), first_frame=first,
            burn=self._burn(), cuts=cuts, first_number=run[0].index,
        )  # fmt: skip
        handed = 0

        def hand(upto: int) -> None:
            nonlocal handed
            for k in range(handed, upto):
                if on_segment is not None:
                    on_segment(run[k], parts[k])
                handed = k + 1

        def planes() -> Generator[memoryview]:
            for picture in pictures:
                # the muxer opens a segment's file only once the one before is complete
                ready = handed
                while ready + 1 < len(parts) and parts[ready + 1].exists():
                    ready += 1
                hand(ready)
                yield from (picture.y.data, picture.u.data, picture.v.data)

        pictures = self.frames(first, last)
        try:
            feed(command, planes(), what="render", stop=stop, on_progress=on_progress)
            hand(len(run))
        except BaseException:
            for part in parts[handed:]:
                part.unlink(missing_ok=True)
            raise
        finally:
            pictures.close()  # the clip takes' decoders stop now, not when collected
        return parts

    def audio(self, out: Path, *, stop: threading.Event | None = None) -> None:
        """Encode the song's stretch under the video to ``out``, once: loudness-normalised
        when the settings ask (measured first), faded in and out when the render is a stretch
        of the song. It needs no frame, so it runs beside the video's encode. Setting
        ``stop`` kills ffmpeg and raises ``JobCancelled``; ``out`` is then removed."""
        plan, s = self.plan, self.plan.settings
        duration = plan.frames / plan.fps
        try:
            filters = []
            if s.normalize_loudness:
                filters.append(self._loudnorm(duration, stop))
            if plan.excerpt:
                fade = min(0.5, duration / 4)
                filters.append(f"afade=t=in:d={fade / 2:.3f}")
                filters.append(f"afade=t=out:st={duration - fade:.3f}:d={fade:.3f}")
            command = audio_command(
                plan.song, out, container=s.container.value, start=plan.start,
                duration=duration, audio_filter=",".join(filters) or None,
            )  # fmt: skip
            run(command, what="audio track", stop=stop)
        except BaseException:
            out.unlink(missing_ok=True)
            raise

    def mux(self, segments: list[Path], audio: Path, out: Path) -> dict[str, float]:
        """Join the segments and the audio track (both copied, nothing encoded again), and
        check the result."""
        plan = self.plan
        listing = self.workdir / f"{out.name}.ffconcat"
        listing.write_text(
            "ffconcat version 1.0\n" + "".join(f"file '{_quoted(p)}'\n" for p in segments)
        )
        command = mux_command(
            listing, audio, out, container=plan.settings.container.value,
            duration=plan.frames / plan.fps,
        )  # fmt: skip
        try:
            run(command, what="finished video")
            return verify(out, frames=plan.frames, fps=plan.fps)
        except BaseException:
            out.unlink(missing_ok=True)
            raise
        finally:
            listing.unlink(missing_ok=True)

    def _loudnorm(self, duration: float, stop: threading.Event | None) -> str:
        s = self.plan.settings
        command = loudness_command(
            self.plan.song, start=self.plan.start, duration=duration, target=s.target_lufs
        )
        said = run(command, what="measure of the song's loudness", stop=stop)
        found = re.search(r"\{[^{}]*\"input_i\"[^{}]*\}", said)
        if found is None:
            raise RenderError("ffmpeg could not measure the song's loudness", hint=said[-300:])
        m = json.loads(found.group(0))
        return (
            f"loudnorm=I={s.target_lufs}:TP=-1:LRA=11:measured_I={m['input_i']}"
            f":measured_TP={m['input_tp']}:measured_LRA={m['input_lra']}"
            f":measured_thresh={m['input_thresh']}:offset={m['target_offset']}:linear=true,"
            "aresample=48000"
        )


def _inside(centre: float, scale: float) -> float:
    half = 0.5 / scale
    return min(1 - half, max(half, centre))


def _quoted(path: Path) -> str:
    return str(path).replace("'", "'\\''")


def _smooth(w: float) -> float:
    return w * w * (3 - 2 * w)


def _blend(a: Planes, b: Planes, w: float, kind: TransitionKind) -> Planes:
    """The frame ``w`` (0..1) of the way from ``a`` (leaving) to ``b`` (arriving)."""
    if kind in (TransitionKind.DIP_BLACK, TransitionKind.DIP_WHITE):
        width, height = a.size
        mid = black(width, height, white=kind is TransitionKind.DIP_WHITE)
        return _mix(a, mid, 2 * w) if w < 0.5 else _mix(mid, b, 2 * w - 1)
    if kind is TransitionKind.ZOOM:
        return _mix(warp(a, Camera(scale=1 + 0.4 * _smooth(w))), b, _smooth(w))
    if kind in (
        TransitionKind.WIPE_LEFT,
        TransitionKind.WIPE_RIGHT,
        TransitionKind.SLIDE_LEFT,
        TransitionKind.SLIDE_RIGHT,
    ):
        return Planes(*(_sweep(pa, pb, _smooth(w), kind) for pa, pb in _pairs(a, b)))
    return _mix(a, b, w)


def _pairs(a: Planes, b: Planes) -> list[tuple[np.ndarray, np.ndarray]]:
    return [(a.y, b.y), (a.u, b.u), (a.v, b.v)]


def _mix(a: Planes, b: Planes, w: float) -> Planes:
    w = min(1.0, max(0.0, w))
    y, u, v = (
        np.asarray(cv2.addWeighted(pa, 1 - w, pb, w, 0), np.uint8) for pa, pb in _pairs(a, b)
    )
    return Planes(y, u, v)


def _sweep(a: np.ndarray, b: np.ndarray, w: float, kind: TransitionKind) -> np.ndarray:
    width = a.shape[1]
    x = min(width, max(0, round(w * width)))
    out = a.copy()
    if kind is TransitionKind.WIPE_LEFT:  # the edge travels right to left
        out[:, width - x :] = b[:, width - x :]
    elif kind is TransitionKind.WIPE_RIGHT:
        out[:, :x] = b[:, :x]
    elif kind is TransitionKind.SLIDE_LEFT:  # the new picture pushes the old one out leftwards
        out[:, : width - x] = a[:, x:]
        out[:, width - x :] = b[:, :x]
    else:
        out[:, x:] = a[:, : width - x]
        out[:, :x] = b[:, width - x :]
    return out


def render_video(
    plan: RenderPlan,
    out: Path,
    *,
    workdir: Path,
    stop: threading.Event | None = None,
    on_progress: Callable[[int, int], None] | None = None,
    segment_seconds: float = SEGMENT_SECONDS,
) -> dict[str, float]:
    """Render ``plan`` to ``out`` in one go, the audio track encoded beside the video: written
    under a temporary name and renamed only once it checks out, so ``out`` is never a half
    file. ``on_progress(frames done, total)``."""
    renderer = Renderer(plan, workdir)
    renderer.prepare()
    ext = plan.settings.container.value
    sound = workdir / f"audio.{ext}"
    parts: list[Path] = []
    quiet = threading.Event()  # stops the audio when the video fails

    def report(block: dict[str, float | str]) -> None:
        if on_progress is not None and "frame" in block:
            on_progress(int(float(block["frame"])), plan.frames)

    try:
        with ThreadPoolExecutor(1) as pool:
            audio = pool.submit(renderer.audio, sound, stop=quiet)
            try:
                parts = renderer.encode(
                    renderer.segments(segment_seconds), stop=stop, on_progress=report
                )
            except BaseException:
                quiet.set()
                raise
            audio.result()
        with replacing(out) as temp:
            return renderer.mux(parts, sound, temp)
    finally:
        for part in [*parts, sound]:
            part.unlink(missing_ok=True)
