"""Lyrics burned into the frames by the renderer, not by the encoder.

libass (ffmpeg's ``ass`` filter) draws every look the frames will show once, on a transparent
canvas of the frame's size, at the very millisecond the filter would ask for; each frame then
blends its look over the text's box alone. A word being filled (``\\kf``) is two looks, the
word unsung and the word sung, split at a column that moves at libass's pace: libass sweeps
from the word's pen position to the next word's, so from the first column of the word's ink
(where the two looks start to differ) to the first of the next word's, or to the word's last
on a row's last word. What the frames carry is libass's drawing, the fill's edge within a
column of where libass puts it.

The encoder's ``ass`` filter did this work on every frame, taking about 0.8 CPU-seconds a
minute of 720p song from x264 here (0.2 of it with nothing to draw: the filter wants each frame
writable). Drawing the 53 looks of that minute takes about 0.3 CPU-seconds, and blending them
0.05 ms a frame.

Only documents whose looks change at known times are burned this way: events that appear and
go, with karaoke (``\\k``, ``\\kf``, ``\\ko``) in them. One that animates (``\\t``,
``\\move``, ``\\fad``, a scrolling effect) is left to the encoder's filter (``parse``
returns None)."""

from __future__ import annotations

import bisect
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from numpy.typing import NDArray

from studio.errors import RenderError
from studio.render._ffmpeg import looks_command
from studio.render._frames import Planes
from studio.render._pipe import widen

__all__ = ["BurnedLyrics", "frame_ms"]

Plane = NDArray[np.uint8]

_ANIMATED = re.compile(r"\\(t\s*\(|move|fade?\s*\(|kt)", re.IGNORECASE)
_KARAOKE = re.compile(r"\\(kf|ko|k|K)(\d+)")
_TIME = re.compile(r"(\d+):(\d+):(\d+)[.:](\d+)")
_LOOKS_PER_RUN = 2000  # the times of one ffmpeg's looks fit one argument (Linux: 128 KiB)


def frame_ms(frame: int, fps: int) -> int:
    """The millisecond libass is asked to draw for ``frame``, as ffmpeg's ``ass`` filter asks
    it (the frame's time as a double, in milliseconds, truncated)."""
    return int(frame * (1 / fps) * 1000)


@dataclass(frozen=True)
class _Event:
    start: int  # ms, shown while start <= t < end
    end: int
    sweeps: tuple[tuple[int, int], ...]  # (start, end) in ms of each \kf fill
    jumps: tuple[int, ...]  # ms at which a \k or \ko word turns


def _ms(stamp: str) -> int:
    found = _TIME.fullmatch(stamp.strip())
    if found is None:
        raise ValueError(stamp)
    h, m, s, frac = found.groups()
    return ((int(h) * 60 + int(m)) * 60 + int(s)) * 1000 + int(frac.ljust(2, "0")[:2]) * 10


def _events(document: str) -> list[_Event] | None:
    """The document's dialogue events with their karaoke timings, or None when any look of
    it changes in a way this module does not follow."""
    fields: list[str] | None = None
    events = []
    in_events = False
    for raw in document.splitlines():
        line = raw.strip()
        if line.startswith("["):
            in_events = line.lower() == "[events]"
            continue
        if not in_events:
            continue
        kind, sep, rest = line.partition(":")
        if not sep:
            continue
        if kind.strip().lower() == "format":
            fields = [f.strip().lower() for f in rest.split(",")]
        elif kind.strip().lower() == "dialogue":
            if fields is None or "text" not in fields:
                return None
            values = dict(zip(fields, rest.split(",", len(fields) - 1), strict=False))
            text = values.get("text", "")
            if values.get("effect", "").strip() or _ANIMATED.search(text):
                return None
            try:
                start, end = _ms(values["start"]), _ms(values["end"])
            except (KeyError, ValueError):
                return None
            sweeps, jumps, at = [], [], start
            for block in re.findall(r"\{([^}]*)\}", text):
                for tag, centis in _KARAOKE.findall(block):
                    length = int(centis) * 10
                    if tag in ("kf", "K"):
                        sweeps.append((at, at + length))
                    else:
                        jumps.append(at)
                    at += length
            events.append(_Event(start, end, tuple(sweeps), tuple(jumps)))
    return events


@dataclass(frozen=True)
class _Look:
    """A drawn look, cropped to its text's box: ``out = pre + frame * keep / 255`` per plane."""

    top: int
    left: int
    y_pre: Plane
    y_keep: Plane
    u_pre: Plane
    v_pre: Plane
    c_keep: Plane

    @property
    def right(self) -> int:
        return self.left + int(self.y_pre.shape[1])

    def over(self, frame: Planes, lo: int = 0, hi: int = 1 << 30) -> None:
        """Blend this look into ``frame`` (in place), only luma columns ``lo`` to ``hi``."""
        a, b = max(lo, self.left) - self.left, min(hi, self.right) - self.left
        a -= a % 2
        b += b % 2
        if b <= a:
            return
        h = self.y_pre.shape[0]
        _blend(frame.y[self.top : self.top + h, self.left + a : self.left + b],
               self.y_pre[:, a:b], self.y_keep[:, a:b])  # fmt: skip
        top, a, b, h = self.top // 2, a // 2, b // 2, h // 2
        for plane, pre in ((frame.u, self.u_pre), (frame.v, self.v_pre)):
            _blend(plane[top : top + h, self.left // 2 + a : self.left // 2 + b],
                   pre[:, a:b], self.c_keep[:, a:b])  # fmt: skip


def _blend(region: Plane, pre: Plane, keep: Plane) -> None:
    cv2.multiply(region, keep, dst=region, scale=1 / 255)
    cv2.add(region, pre, dst=region)


def _look(data: bytes, width: int, height: int) -> _Look | None:
    """A drawn yuva420p canvas (transparent black, BT.709 limited) as a ``_Look``."""
    flat = np.frombuffer(data, np.uint8)
    ys, cs = width * height, (width // 2) * (height // 2)
    alpha = flat[ys + 2 * cs :].reshape(height, width)
    rows = np.flatnonzero(alpha.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(alpha[rows[0] : rows[-1] + 1].any(axis=0))
    top, bottom = _even(rows[0], rows[-1] + 1, height)
    left, right = _even(cols[0], cols[-1] + 1, width)
    a = alpha[top:bottom, left:right].astype(np.float32)
    y = flat[:ys].reshape(height, width)[top:bottom, left:right].astype(np.float32)
    # the canvas is black (16) where nothing is drawn: what libass added is y - 16 * (1 - a)
    y_keep = 255 - a
    a_c = cv2.resize(a, ((right - left) // 2, (bottom - top) // 2), interpolation=cv2.INTER_AREA)
    c_keep = 255 - a_c
    planes = []
    for n in (0, 1):
        chroma = flat[ys + n * cs : ys + (n + 1) * cs].reshape(height // 2, width // 2)
        c = chroma[top // 2 : bottom // 2, left // 2 : right // 2].astype(np.float32)
        planes.append(_u8(c - 128 * c_keep / 255))
    return _Look(
        top, left, _u8(y - 16 * y_keep / 255), _u8(y_keep), planes[0], planes[1], _u8(c_keep)
    )


def _even(first: int, end: int, limit: int) -> tuple[int, int]:
    """``first`` to ``end`` widened to even edges (a chroma sample covers two lumas)."""
    return int(first - first % 2), int(min(limit, end + end % 2))


def _u8(values: np.ndarray) -> Plane:
    return np.ascontiguousarray(np.clip(np.rint(values), 0, 255).astype(np.uint8))


class BurnedLyrics:
    """The burned lyrics of a render's frames ``first`` to ``last``: ``draw()`` has libass draw
    their looks (a clear error if it cannot), then ``burn()`` puts them on each frame."""

    def __init__(
        self, events: list[_Event], document: Path, fonts: Path, *, size: tuple[int, int],
        fps: int, first: int, last: int,
    ) -> None:  # fmt: skip
        self._events = events
        self._document, self._fonts = document, fonts
        self._size, self._fps = size, fps
        self._first, self._last = first, last
        # every time at which some look changes, or a fill starts or ends
        self._turns = {c for e in events for c in (e.start, e.end, *e.jumps)}
        self._fills = {s[0] for e in events for s in e.sweeps}
        self._changes = sorted(self._turns | {c for e in events for s in e.sweeps for c in s})
        self._plans: dict[int, tuple[int, int, int] | int | None] = {}
        self._looks: dict[int, _Look | None] = {}
        self._edges: dict[int, tuple[int, int]] = {}
        self._fill_at: dict[int, tuple[int, int, int]] = {}  # each fill drawn, by its start

    @classmethod
    def parse(
        cls, document: str, path: Path, fonts: Path, *, size: tuple[int, int], fps: int,
        first: int, last: int,
    ) -> BurnedLyrics | None:  # fmt: skip
        """The lyrics of ``document`` (saved at ``path``), or None when it animates."""
        events = _events(document)
        if events is None:
            return None
        return cls(events, path, fonts, size=size, fps=fps, first=first, last=last)

    def _plan(self, t: int) -> tuple[int, int, int] | int | None:
        """What frame time ``t`` shows: nothing, the look at a time (an int), or a fill
        ``(start, end, done)`` drawn from two looks: at its ``start``, and ``done``, at its
        end when the next word's fill starts then and nothing else turns (that look is the
        next word's start), else a millisecond before. A time whose look must be drawn for
        itself (two fills at once, or something else changing during a fill) is its own."""
        if not any(e.start <= t < e.end for e in self._events):
            return None
        filling = [s for e in self._events if e.start <= t < e.end for s in e.sweeps
                   if s[0] <= t < s[1]]  # fmt: skip
        if not filling:
            return self._changes[bisect.bisect_right(self._changes, t) - 1]
        start, end = filling[0]
        inside = bisect.bisect_left(self._changes, end) - bisect.bisect_right(self._changes, start)
        if len(filling) > 1 or inside:
            return t
        return (start, end, end if end in self._fills and end not in self._turns else end - 1)

    def _times(self) -> tuple[list[int], dict[int, tuple[int, int, int] | int | None]]:
        plans: dict[int, tuple[int, int, int] | int | None] = {}
        for frame in range(self._first, self._last):
            t = frame_ms(frame, self._fps)
            if t not in plans:
                plans[t] = self._plan(t)
        wanted: set[int] = set()
        for plan in plans.values():
            if isinstance(plan, int):
                wanted.add(plan)
            elif plan is not None:
                wanted.update((plan[0], plan[2]))
                self._fill_at[plan[0]] = plan
        return sorted(wanted), plans

    def draw(self) -> None:
        """Have libass draw every look the frames show (one ffmpeg per 2000 looks)."""
        times, self._plans = self._times()
        for at in range(0, len(times), _LOOKS_PER_RUN):
            self._draw(times[at : at + _LOOKS_PER_RUN])

    def _draw(self, times: list[int]) -> None:
        width, height = self._size
        command = looks_command(
            self._document, self._fonts, width=width, height=height, times_ms=times
        )
        size = width * height * 5 // 2
        proc = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        assert proc.stdout is not None and proc.stderr is not None
        widen(proc.stdout.fileno())  # fewer, larger reads
        drawn = 0
        try:
            for t in times:  # a look at a time, each cropped to its text as it comes
                data = proc.stdout.read(size)
                if len(data) != size:
                    break
                self._looks[t] = _look(data, width, height)
                drawn += 1
            said = proc.stderr.read().decode(errors="replace")
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
            proc.stdout.close()
            proc.stderr.close()
        if proc.returncode != 0 or drawn != len(times):
            raise RenderError("ffmpeg could not draw the lyrics", hint=said[-300:].strip() or None)

    def burn(self, frame: Planes, index: int, *, owned: bool) -> Planes:
        """``frame`` (number ``index`` on the song's grid) with its lyrics; drawn into it when
        ``owned`` (no one else holds its planes), else into a copy."""
        plan = self._plans.get(frame_ms(index, self._fps))
        if plan is None:
            return frame
        if isinstance(plan, int):
            looks = [(self._looks[plan], 0, 1 << 30)]
        else:
            start, end, done = plan
            before, after = self._looks[start], self._looks[done]
            lo, hi = self._edge(start, end, done)
            x = lo + round((hi - lo) * (frame_ms(index, self._fps) - start) / (end - start))
            x -= x % 2  # on a chroma sample's edge, so the two looks meet without overlap
            looks = [(after, 0, x), (before, x, 1 << 30)]
        if all(look is None for look, _, _ in looks):
            return frame
        if not owned:
            frame = Planes(frame.y.copy(), frame.u.copy(), frame.v.copy())
        for look, lo, hi in looks:
            if look is not None:
                look.over(frame, lo, hi)
        return frame

    def _ink(self, start: int, done: int) -> tuple[int, int] | None:
        """The columns where a fill's two looks differ (first, one past the last): its word."""
        a, b = self._looks.get(start), self._looks.get(done)
        if a is None or b is None or a.y_pre.shape != b.y_pre.shape or a.left != b.left:
            return None
        differs = (a.y_pre != b.y_pre).any(axis=0)
        chroma = ((a.u_pre != b.u_pre) | (a.v_pre != b.v_pre)).any(axis=0)
        differs |= np.repeat(chroma, 2)[: differs.size]
        cols = np.flatnonzero(differs)
        return (a.left + int(cols[0]), a.left + int(cols[-1]) + 1) if cols.size else None

    def _edge(self, start: int, end: int, done: int) -> tuple[int, int]:
        """The columns a fill sweeps. libass sweeps from the word's pen position to the next
        word's (the space after it included): from the first column of the word's ink to the
        first of the next word's when that word follows on the same row, else to the word's
        last column."""
        found = self._edges.get(start)
        if found is None:
            ink = self._ink(start, done) or (0, 0)
            after = self._fill_at.get(end)
            following = self._ink(end, after[2]) if after is not None else None
            if following is not None and ink[1] <= following[0] < ink[1] + (ink[1] - ink[0]):
                ink = (ink[0], following[0])
            self._edges[start] = found = ink
        return found
