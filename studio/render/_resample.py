"""One plane of a frame resampled through a camera's matrix, bilinear and sub-pixel exact.

Most of a render's frames are a still seen through a zoom or a pan: a matrix with no turn in
it. Such a plane is resampled in one pass (``_WARP_ROWS``): each output row blends two source
rows into a row that stays in the CPU's nearest cache, and the columns of that row are
gathered by byte shuffles and blended, their taps found once a plane. How the columns are
gathered is the CPU's (``_OnePass``): with AVX-512 VBMI (Intel since Ice Lake, AMD since Zen
4), two permutes across 128 bytes make 64 pixels, for any scale down to about a half; with AVX2
(x86 since 2013-2015), each 16 pixels of a 32-pixel vector are one shuffle of the 16 bytes from
their first tap and one of the 16 bytes after that, which reach while the picture is not shrunk
(a camera move never shrinks it). It reads the picture once and writes the frame once.

Elsewhere (another CPU, a shrink past the one pass's reach, a plane narrower than its
vector) the plane is resampled in two passes, rows then columns, each a blend of two whole
source rows (the columns pass works on the transposed image, so it blends rows too; a still
keeps its transpose, so its passes go columns then rows and need one transpose, not two): a
quarter of the CPU of OpenCV's ``warpAffine``, which computes a source position for every
pixel. The one pass gives exactly what the two passes give taken rows first.

Positions are exact to 1/256 of a pixel; each blend rounds to 8 bits, so a value is at most
one level from the exact blend (far below what the encoder keeps) and the passes and the
transpose between them move bytes, not words. A matrix with a turn in it, or a picture with
more than one channel, goes to ``warpAffine``.

The passes are LLVM's language (``_BLEND_ROWS``, about 65 instructions, and ``_WARP_ROWS``),
compiled on first use by llvmlite for the CPU at hand, whose vectoriser makes them blend a
vector of pixels an instruction (16 with AVX2); they are called through ctypes, which lets go
of the GIL. Compiling costs a fresh process 0.1-0.2 s of CPU, so the machine code is kept in
the user's cache folder for the next process on this CPU, which loads it in a millisecond
(``_cached_code``); loading the row blend from numba's cache took 0.5 s of setting up numba
(and importing numba 0.3 s more).

The edge is clamped: a source position outside the picture takes the nearest edge pixel. The
camera moves keep inside the picture, so the edge is never seen.
"""

from __future__ import annotations

import ctypes
import functools
import hashlib
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
from numpy.typing import NDArray

from studio.files import replacing

__all__ = ["keeps_transpose", "resample", "warm_up"]


def resample(
    picture: NDArray[np.uint8],
    matrix: NDArray[np.float64],
    *,
    turned: NDArray[np.uint8] | None = None,
) -> NDArray[np.uint8]:
    """``picture`` resampled to its own size: output pixel (x, y) takes the source at
    ``matrix @ (x, y, 1)`` (an inverse map, as ``cv2.WARP_INVERSE_MAP``). ``turned``, the
    picture's transpose, saves a transpose of the picture's size in the two passes where a
    caller keeps one (a still seen through many frames); the one pass has no use for it."""
    h, w = picture.shape[:2]
    (ax, turn_x, bx), (turn_y, ay, by) = matrix.tolist()
    if picture.ndim == 2 and turn_x == 0 and turn_y == 0 and ax > 0 and ay > 0 and min(h, w) > 1:
        rows, columns = (ay, by, h), (ax, bx, w)
        one_pass = _one_pass(ax, w)
        if one_pass is not None:
            warp_rows, lanes = one_pass
            if picture.strides[1] != 1:
                picture = np.ascontiguousarray(picture)
            out = np.empty((h, w), np.uint8)
            _, row_at = _scratch(1, w + 2 * lanes, 3)  # a vector's reach past the last tap
            source = picture.ctypes.data
            warp_rows(source, picture.strides[0], *rows, *columns, out.ctypes.data, row_at)
            return out
        if turned is not None:  # columns first, on the transpose: the result stands upright
            out = np.empty((h, w), np.uint8)
            _passes(turned, columns, rows, out)
            return out
        out, _ = _scratch(w, h, 2)
        _passes(picture, rows, columns, out)
        return np.asarray(cv2.transpose(out), dtype=np.uint8)
    return np.asarray(
        cv2.warpAffine(
            picture,
            matrix,
            (w, h),
            flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
            borderMode=cv2.BORDER_REPLICATE,
        ),
        dtype=np.uint8,
    )


def warm_up() -> None:
    """Compile the passes on a thread of their own (once in a process), for a render to do
    meanwhile what needs no frame yet. A ``resample`` that comes first waits for it."""
    threading.Thread(target=_kernel, name="resampler-compile", daemon=True).start()


def keeps_transpose(width: int) -> bool:
    """Whether a picture whose planes are as narrow as ``width`` gains by keeping its
    transpose for camera moves (which never shrink it): where they take the two passes."""
    way = _best()
    return way is None or not way.reaches(1.0, width)


Taps = tuple[float, float, int]
"""Where a pass takes its rows: output row ``i`` blends the source around ``a * i + b``,
clamped to the source's ``size`` rows."""


def _passes(source: NDArray[np.uint8], first: Taps, second: Taps, out: NDArray[np.uint8]) -> None:
    """Blend ``source``'s rows by the ``first`` taps (only the columns the ``second`` taps
    reach), transpose, and blend those rows by the ``second`` taps into ``out``: the two
    passes of a resample, whose result is the transpose of ``source``'s orientation."""
    if source.strides[1] != 1:
        source = np.ascontiguousarray(source)
    lo, hi = _below(*second, 0), _below(*second, out.shape[0] - 1) + 2  # the scale is > 0
    rows, columns = out.shape[1], hi - lo
    blended, blended_at = _scratch(rows, columns, 0)
    flipped, flipped_at = _scratch(columns, rows, 1)
    blend = _kernel()
    blend(source.ctypes.data + lo, source.strides[0], 0, *first, blended_at, rows, columns, columns)
    cv2.transpose(blended, flipped)
    blend(flipped_at, rows, lo, *second, out.ctypes.data, out.shape[0], out.strides[0], rows)


def _below(a: float, b: float, size: int, i: int) -> int:
    """The first of the two source rows output row ``i`` blends (as ``_BLEND_ROWS`` finds it)."""
    return min(int(min(max(a * i + b, 0.0), size - 1.0)), size - 2)


_BLEND_ROWS = r"""
; A tap of output row (or column) n: the source position s = a * n + b clamped to
; [0, size - 1], its first source row k = min(floor(s), size - 2), and the second row's weight
; t = s - k in 1/256, rounded. Both passes find their taps here.
define internal { i64, i16 } @tap(double %a, double %b, i64 %size, i64 %n) alwaysinline {
  %size.1 = sub i64 %size, 1
  %top = sitofp i64 %size.1 to double
  %k.top = sub i64 %size, 2
  %n.f = sitofp i64 %n to double
  %an = fmul double %a, %n.f
  %at = fadd double %an, %b
  %s.0 = call double @llvm.maxnum.f64(double %at, double 0.0)
  %s = call double @llvm.minnum.f64(double %s.0, double %top)
  %s.k = fptosi double %s to i64
  %k = call i64 @llvm.smin.i64(i64 %s.k, i64 %k.top)
  %k.f = sitofp i64 %k to double
  %frac = fsub double %s, %k.f
  %t.256 = fmul double %frac, 256.0
  %t.r = fadd double %t.256, 0.5
  %t = fptosi double %t.r to i16
  %found.k = insertvalue { i64, i16 } poison, i64 %k, 0
  %found = insertvalue { i64, i16 } %found.k, i16 %t, 1
  ret { i64, i16 } %found
}

; Row i of out (columns wide) blends source rows k - lo and k - lo + 1 of row i's tap (k, t):
; out = (first * (256 - t) + second * t + 128) >> 8, which stays below 2^16 (first, second
; <= 255). The rows' offsets and weights are found first, in a loop of their own: found row by
; row, their latency would hold up every row's blend.
define void @blend_rows(ptr noalias readonly %source, i64 %stride, i64 %lo, double %a,
                        double %b, i64 %size, ptr noalias writeonly %out, i64 %rows,
                        i64 %out_stride, i64 %columns) {
entry:
  %offsets = alloca i64, i64 %rows
  %weights = alloca i16, i64 %rows
  %any = icmp sgt i64 %rows, 0
  br i1 %any, label %tap, label %done
tap:
  %n = phi i64 [0, %entry], [%n.next, %tap]
  %found = call { i64, i16 } @tap(double %a, double %b, i64 %size, i64 %n)
  %k = extractvalue { i64, i16 } %found, 0
  %t.n = extractvalue { i64, i16 } %found, 1
  %k.lo = sub i64 %k, %lo
  %offset.n = mul i64 %k.lo, %stride
  %offset.p = getelementptr inbounds i64, ptr %offsets, i64 %n
  store i64 %offset.n, ptr %offset.p
  %weight.p = getelementptr inbounds i16, ptr %weights, i64 %n
  store i16 %t.n, ptr %weight.p
  %n.next = add nuw nsw i64 %n, 1
  %taps.more = icmp slt i64 %n.next, %rows
  br i1 %taps.more, label %tap, label %row
row:
  %i = phi i64 [0, %tap], [%i.next, %row.end]
  %offset.i = getelementptr inbounds i64, ptr %offsets, i64 %i
  %offset = load i64, ptr %offset.i
  %weight.i = getelementptr inbounds i16, ptr %weights, i64 %i
  %t = load i16, ptr %weight.i
  %s.w = sub i16 256, %t
  %first = getelementptr inbounds i8, ptr %source, i64 %offset
  %second = getelementptr inbounds i8, ptr %first, i64 %stride
  %dest.at = mul i64 %i, %out_stride
  %dest = getelementptr inbounds i8, ptr %out, i64 %dest.at
  %wide = icmp sgt i64 %columns, 0
  br i1 %wide, label %column, label %row.end
column:
  %j = phi i64 [0, %row], [%j.next, %column]
  %x.p = getelementptr inbounds i8, ptr %first, i64 %j
  %x.8 = load i8, ptr %x.p
  %y.p = getelementptr inbounds i8, ptr %second, i64 %j
  %y.8 = load i8, ptr %y.p
  %x = zext i8 %x.8 to i16
  %y = zext i8 %y.8 to i16
  %xs = mul nuw i16 %x, %s.w
  %yt = mul nuw i16 %y, %t
  %sum = add nuw i16 %xs, %yt
  %rounded = add nuw i16 %sum, 128
  %v.16 = lshr i16 %rounded, 8
  %v = trunc i16 %v.16 to i8
  %o.p = getelementptr inbounds i8, ptr %dest, i64 %j
  store i8 %v, ptr %o.p
  %j.next = add nuw nsw i64 %j, 1
  %more = icmp slt i64 %j.next, %columns
  br i1 %more, label %column, label %row.end
row.end:
  %i.next = add nuw nsw i64 %i, 1
  %again = icmp slt i64 %i.next, %rows
  br i1 %again, label %row, label %done
done:
  ret void
}

declare double @llvm.maxnum.f64(double, double)
declare double @llvm.minnum.f64(double, double)
declare i64 @llvm.smin.i64(i64, i64)
"""

_WARP_ROWS = r"""
; The whole resample of a plane with no turn in its matrix: output (i, j) takes the source at
; (ax * j + bx, ay * i + by), each tap found by @tap, as in blend_rows. The columns' taps are
; found once: for each vector of LANES output columns (the last one moved back to end at the
; edge, so it may overlap the one before), where the first tap of each window of WINDOW of its
; columns lies in the source row (bases), each column's two taps counted from its window's
; base, and their weights. Then each output row blends its two source rows into %row (only the
; columns the taps reach), and each vector of the output row gathers its columns' taps from
; %row (by the CPU's byte shuffles) and blends them: the same values as blend_rows on
; the rows, then the columns.
define void @warp_rows(ptr noalias readonly %source, i64 %stride, double %ay, double %by,
                       i64 %height, double %ax, double %bx, i64 %width,
                       ptr noalias writeonly %out, ptr noalias %row) {
entry:
  %vectors.up = add i64 %width, LANES
  %vectors.up.1 = sub i64 %vectors.up, 1
  %vectors = lshr i64 %vectors.up.1, LANES_SHIFT
  %columns.all = shl i64 %vectors, LANES_SHIFT
  %windows = lshr i64 %columns.all, WINDOW_SHIFT
  %kx = alloca i64, i64 %width
  %tx = alloca i16, i64 %width
  %firsts = alloca <LANES x i8>, i64 %vectors, align 64
  %seconds = alloca <LANES x i8>, i64 %vectors, align 64
  %weights = alloca <LANES x i16>, i64 %vectors, align 64
  %bases = alloca i64, i64 %windows
  %starts = alloca i64, i64 %vectors
  %width.1 = sub i64 %width, 1
  br label %column.tap
column.tap:
  %j = phi i64 [0, %entry], [%j.next, %column.tap]
  %found.j = call { i64, i16 } @tap(double %ax, double %bx, i64 %width, i64 %j)
  %k = extractvalue { i64, i16 } %found.j, 0
  %t = extractvalue { i64, i16 } %found.j, 1
  %kx.j = getelementptr inbounds i64, ptr %kx, i64 %j
  store i64 %k, ptr %kx.j
  %tx.j = getelementptr inbounds i16, ptr %tx, i64 %j
  store i16 %t, ptr %tx.j
  %j.next = add nuw nsw i64 %j, 1
  %columns.more = icmp slt i64 %j.next, %width
  br i1 %columns.more, label %column.tap, label %vector
vector:
  %v = phi i64 [0, %column.tap], [%v.next, %vector.end]
  %v.lanes = shl i64 %v, LANES_SHIFT
  %last.start = sub i64 %width, LANES
  %start = call i64 @llvm.smin.i64(i64 %v.lanes, i64 %last.start)
  %starts.v = getelementptr inbounds i64, ptr %starts, i64 %v
  store i64 %start, ptr %starts.v
  %firsts.v = getelementptr inbounds <LANES x i8>, ptr %firsts, i64 %v
  %seconds.v = getelementptr inbounds <LANES x i8>, ptr %seconds, i64 %v
  %weights.v = getelementptr inbounds <LANES x i16>, ptr %weights, i64 %v
  br label %lane
lane:
  %m = phi i64 [0, %vector], [%m.next, %lane]
  %column = add i64 %start, %m
  %m.window = and i64 %m, -WINDOW
  %window.start = add i64 %start, %m.window
  %base.p = getelementptr inbounds i64, ptr %kx, i64 %window.start
  %base = load i64, ptr %base.p
  %window.n = add i64 %v.lanes, %m
  %window = lshr i64 %window.n, WINDOW_SHIFT
  %bases.m = getelementptr inbounds i64, ptr %bases, i64 %window
  store i64 %base, ptr %bases.m
  %kx.c = getelementptr inbounds i64, ptr %kx, i64 %column
  %k.c = load i64, ptr %kx.c
  %from = sub i64 %k.c, %base
  %first = trunc i64 %from to i8
  %second = add i8 %first, 1
  %first.p = getelementptr inbounds i8, ptr %firsts.v, i64 %m
  store i8 %first, ptr %first.p
  %second.p = getelementptr inbounds i8, ptr %seconds.v, i64 %m
  store i8 %second, ptr %second.p
  %tx.c = getelementptr inbounds i16, ptr %tx, i64 %column
  %t.c = load i16, ptr %tx.c
  %weight.p = getelementptr inbounds i16, ptr %weights.v, i64 %m
  store i16 %t.c, ptr %weight.p
  %m.next = add nuw nsw i64 %m, 1
  %lanes.more = icmp slt i64 %m.next, LANES
  br i1 %lanes.more, label %lane, label %vector.end
vector.end:
  %v.next = add nuw nsw i64 %v, 1
  %vectors.more = icmp slt i64 %v.next, %vectors
  br i1 %vectors.more, label %vector, label %rows
rows:
  %reach.lo = load i64, ptr %kx
  %kx.last = getelementptr inbounds i64, ptr %kx, i64 %width.1
  %k.last = load i64, ptr %kx.last
  %reach.hi = add i64 %k.last, 2
  br label %out.row
out.row:
  %i = phi i64 [0, %rows], [%i.next, %out.row.end]
  %found.i = call { i64, i16 } @tap(double %ay, double %by, i64 %height, i64 %i)
  %ky = extractvalue { i64, i16 } %found.i, 0
  %ty = extractvalue { i64, i16 } %found.i, 1
  %sy = sub i16 256, %ty
  %upper.at = mul i64 %ky, %stride
  %upper = getelementptr inbounds i8, ptr %source, i64 %upper.at
  %lower = getelementptr inbounds i8, ptr %upper, i64 %stride
  br label %blend
blend:
  %x.i = phi i64 [%reach.lo, %out.row], [%x.next, %blend]
  %a.p = getelementptr inbounds i8, ptr %upper, i64 %x.i
  %a.8 = load i8, ptr %a.p
  %b.p = getelementptr inbounds i8, ptr %lower, i64 %x.i
  %b.8 = load i8, ptr %b.p
  %a = zext i8 %a.8 to i16
  %b = zext i8 %b.8 to i16
  %as = mul nuw i16 %a, %sy
  %bt = mul nuw i16 %b, %ty
  %sum = add nuw i16 %as, %bt
  %rounded = add nuw i16 %sum, 128
  %value.16 = lshr i16 %rounded, 8
  %value = trunc i16 %value.16 to i8
  %row.x = getelementptr inbounds i8, ptr %row, i64 %x.i
  store i8 %value, ptr %row.x
  %x.next = add nuw nsw i64 %x.i, 1
  %blend.more = icmp slt i64 %x.next, %reach.hi
  br i1 %blend.more, label %blend, label %out.columns
out.columns:
  %dest.at = mul i64 %i, %width
  %dest = getelementptr inbounds i8, ptr %out, i64 %dest.at
  br label %permute
permute:
  %w = phi i64 [0, %out.columns], [%w.next, %permute]
  %starts.w = getelementptr inbounds i64, ptr %starts, i64 %w
  %start.w = load i64, ptr %starts.w
$GATHER
  %weights.w = getelementptr inbounds <LANES x i16>, ptr %weights, i64 %w
  %tw = load <LANES x i16>, ptr %weights.w, align 64
  %left = zext <LANES x i8> %left.8 to <LANES x i16>
  %right = zext <LANES x i8> %right.8 to <LANES x i16>
  %sw = sub <LANES x i16> SPLAT_256, %tw
  %ls = mul nuw <LANES x i16> %left, %sw
  %rt = mul nuw <LANES x i16> %right, %tw
  %both = add nuw <LANES x i16> %ls, %rt
  %both.r = add nuw <LANES x i16> %both, SPLAT_128
  %blended.16 = lshr <LANES x i16> %both.r, SPLAT_8
  %blended = trunc <LANES x i16> %blended.16 to <LANES x i8>
  %dest.w = getelementptr inbounds i8, ptr %dest, i64 %start.w
  store <LANES x i8> %blended, ptr %dest.w, align 1
  %w.next = add nuw nsw i64 %w, 1
  %permutes.more = icmp slt i64 %w.next, %vectors
  br i1 %permutes.more, label %permute, label %out.row.end
out.row.end:
  %i.next = add nuw nsw i64 %i, 1
  %out.rows.more = icmp slt i64 %i.next, %height
  br i1 %out.rows.more, label %out.row, label %finished
finished:
  ret void
}
"""


@dataclass(frozen=True)
class _OnePass:
    """One CPU's way of gathering a vector of output columns in ``warp_rows``: ``lanes``
    columns a vector, each run of ``window`` of them gathered from a window of ``%row`` that
    starts at its first column's first tap, and ``reach``, the largest column scale whose taps
    stay in such a window."""

    features: tuple[str, ...]  # what the CPU must have (LLVM's names)
    lanes: int
    window: int
    reach: float
    gather: str = field(repr=False)  # %row, %bases, %firsts, %seconds, %w to %left.8, %right.8
    declare: str = field(repr=False)

    def reaches(self, ax: float, width: int) -> bool:
        """Whether it resamples a plane ``width`` wide at column scale ``ax``: at least a
        vector wide, its taps within reach."""
        return width >= self.lanes and ax <= self.reach

    def ir(self) -> str:
        def splat(value: int) -> str:
            return "<" + ", ".join([f"i16 {value}"] * self.lanes) + ">"

        return (
            _WARP_ROWS.replace("$GATHER", self.gather)
            .replace("SPLAT_256", splat(256))
            .replace("SPLAT_128", splat(128))
            .replace("SPLAT_8", splat(8))
            .replace("WINDOW_SHIFT", str(self.window.bit_length() - 1))
            .replace("WINDOW", str(self.window))
            .replace("LANES_SHIFT", str(self.lanes.bit_length() - 1))
            .replace("LANES", str(self.lanes))
            + self.declare
        )


_VBMI = _OnePass(
    ("avx512vbmi", "avx512bw"),
    lanes=64,
    window=64,
    reach=125 / 63,  # a column's second tap at most 63 * ax + 2 from its vector's first: < 128
    gather=r"""
  %bases.w = getelementptr inbounds i64, ptr %bases, i64 %w
  %base.w = load i64, ptr %bases.w
  %low.p = getelementptr inbounds i8, ptr %row, i64 %base.w
  %low = load <64 x i8>, ptr %low.p, align 1
  %high.p = getelementptr inbounds i8, ptr %low.p, i64 64
  %high = load <64 x i8>, ptr %high.p, align 1
  %firsts.w = getelementptr inbounds <64 x i8>, ptr %firsts, i64 %w
  %fi = load <64 x i8>, ptr %firsts.w, align 64
  %seconds.w = getelementptr inbounds <64 x i8>, ptr %seconds, i64 %w
  %se = load <64 x i8>, ptr %seconds.w, align 64
  %left.8 = call <64 x i8> @llvm.x86.avx512.vpermi2var.qi.512(
      <64 x i8> %low, <64 x i8> %fi, <64 x i8> %high)
  %right.8 = call <64 x i8> @llvm.x86.avx512.vpermi2var.qi.512(
      <64 x i8> %low, <64 x i8> %se, <64 x i8> %high)""",
    declare="""
declare <64 x i8> @llvm.x86.avx512.vpermi2var.qi.512(<64 x i8>, <64 x i8>, <64 x i8>)
""",
)
"""Two permutes of the 128 bytes of %row from the vector's first tap (``vpermi2b``)."""

_AVX2 = _OnePass(
    ("avx2",),
    lanes=32,
    window=16,
    reach=1.0,  # 16 columns' first taps at most 15 * ax apart: within the 16 bytes of a window
    gather=r"""
  %w.2 = shl i64 %w, 1
  %bases.0 = getelementptr inbounds i64, ptr %bases, i64 %w.2
  %base.0 = load i64, ptr %bases.0
  %bases.1 = getelementptr inbounds i64, ptr %bases.0, i64 1
  %base.1 = load i64, ptr %bases.1
  %at.0 = getelementptr inbounds i8, ptr %row, i64 %base.0
  %at.1 = getelementptr inbounds i8, ptr %row, i64 %base.1
  %low.0 = load <16 x i8>, ptr %at.0, align 1
  %low.1 = load <16 x i8>, ptr %at.1, align 1
  %low = shufflevector <16 x i8> %low.0, <16 x i8> %low.1, <32 x i32> LANE_ORDER
  %next.0.p = getelementptr inbounds i8, ptr %at.0, i64 1
  %next.1.p = getelementptr inbounds i8, ptr %at.1, i64 1
  %next.0 = load <16 x i8>, ptr %next.0.p, align 1
  %next.1 = load <16 x i8>, ptr %next.1.p, align 1
  %next = shufflevector <16 x i8> %next.0, <16 x i8> %next.1, <32 x i32> LANE_ORDER
  %firsts.w = getelementptr inbounds <32 x i8>, ptr %firsts, i64 %w
  %fi = load <32 x i8>, ptr %firsts.w, align 32
  %left.8 = call <32 x i8> @llvm.x86.avx2.pshuf.b(<32 x i8> %low, <32 x i8> %fi)
  %right.8 = call <32 x i8> @llvm.x86.avx2.pshuf.b(<32 x i8> %next, <32 x i8> %fi)""".replace(
        "LANE_ORDER", "<" + ", ".join(f"i32 {i}" for i in range(32)) + ">"
    ),
    declare="""
declare <32 x i8> @llvm.x86.avx2.pshuf.b(<32 x i8>, <32 x i8>)
""",
)
"""Each half of the vector (a 128-bit lane) shuffles the 16 bytes of %row from its own first
tap, and the same shuffle of the 16 bytes one further gives the second taps (``vpshufb``)."""

_ONE_PASSES = (_VBMI, _AVX2)
"""Best first."""

_compiling = threading.RLock()


def _kernel() -> Callable[..., None]:
    """``blend_rows`` compiled (once in a process, whichever thread asks first), with the one
    pass the CPU has."""
    with _compiling:
        return _compiled(_best())[0]


def _one_pass(ax: float, width: int) -> tuple[Callable[..., None], int] | None:
    """``warp_rows`` and its vector's lanes, where the CPU has a one pass that reaches a plane
    ``width`` wide at column scale ``ax``."""
    way = _best()
    if way is None or not way.reaches(ax, width):
        return None
    with _compiling:
        warp_rows = _compiled(way)[1]
    return None if warp_rows is None else (warp_rows, way.lanes)


@functools.cache
def _best() -> _OnePass | None:
    """The best one pass this CPU has, if any."""
    with _compiling:
        return next((way for way in _ONE_PASSES if _usable(way)), None)


def _usable(way: _OnePass) -> bool:
    has = _host()[2]
    return all(has.get(feature, False) for feature in way.features)


@functools.cache
def _host() -> tuple[str, str, dict[str, bool]]:
    """This CPU by LLVM's names: its name, its features as LLVM takes them, and each feature
    by name."""
    import llvmlite.binding as llvm  # only a render needs LLVM loaded

    llvm.initialize_native_target()
    llvm.initialize_native_asmprinter()
    features = llvm.get_host_cpu_features()
    return llvm.get_host_cpu_name(), features.flatten(), {n: bool(on) for n, on in features.items()}


@functools.cache
def _compiled(
    way: _OnePass | None,
) -> tuple[Callable[..., None], Callable[..., None] | None, object]:
    """``blend_rows`` and ``way``'s one pass compiled (no way: ``blend_rows`` alone), and the
    engine that holds their machine code (kept with them)."""
    return _build(way)[:3]


def _build(
    way: _OnePass | None,
) -> tuple[Callable[..., None], Callable[..., None] | None, object, bool]:
    """What ``_compiled`` returns, and whether the machine code came from the cache on disk
    (``_cached_code``) rather than from LLVM."""
    import llvmlite.binding as llvm

    cpu, features, _ = _host()
    # the engine takes the target machine as its own (and frees it with itself)
    machine = llvm.Target.from_default_triple().create_target_machine(
        cpu=cpu, features=features, opt=3
    )
    target = f"{'.'.join(map(str, llvm.llvm_version_info))} {machine.triple} {cpu} {features}"
    source = _BLEND_ROWS + (way.ir() if way is not None else "")
    module = llvm.parse_assembly(source)
    module.triple, module.data_layout = machine.triple, str(machine.target_data)
    path = _cached_code(source, target)
    code = _read_code(path) if path is not None else None
    if code is None:
        module.verify()
        tuning = llvm.create_pipeline_tuning_options(speed_level=3)
        builder = llvm.create_pass_builder(machine, tuning)
        builder.getModulePassManager().run(module, builder)
    engine = llvm.create_mcjit_compiler(module, machine)
    made: list[bytes] = []
    # with code from the cache, MCJIT loads it instead of making it; else it hands over what
    # it made
    engine.set_object_cache(lambda _, data: made.append(bytes(data)), lambda _: code)
    engine.finalize_object()
    if code is None and made and path is not None:
        _write_code(path, made[0])
    i64, address, real = ctypes.c_int64, ctypes.c_void_p, ctypes.c_double
    blend = ctypes.CFUNCTYPE(None, address, i64, i64, real, real, i64, address, i64, i64, i64)
    warp = ctypes.CFUNCTYPE(None, address, i64, real, real, i64, real, real, i64, address, address)
    return (
        blend(engine.get_function_address("blend_rows")),
        warp(engine.get_function_address("warp_rows")) if way is not None else None,
        engine,
        code is not None,
    )


def _cached_code(source: str, target: str) -> Path | None:
    """Where the machine code of ``source`` for ``target`` is kept between processes (a
    compile costs a fresh process 0.1-0.2 s of CPU; loading it, a millisecond): in
    ``STUDIO_CACHE``, else ``studio`` in the user's cache folder (``XDG_CACHE_HOME``, else
    ``~/.cache``)."""
    folder = os.environ.get("STUDIO_CACHE")
    if not folder:
        try:
            base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
        except RuntimeError:  # no home folder to be found: nothing is kept
            return None
        folder = str(Path(base) / "studio")
    digest = hashlib.sha256(f"{target}\n{source}".encode()).hexdigest()[:32]
    return Path(folder).expanduser() / f"resampler-{digest}.o"


def _read_code(path: Path) -> bytes | None:
    """The machine code kept at ``path``, if it is there whole (it is stored after its own
    SHA-256: a damaged file is made again, never run)."""
    try:
        kept = path.read_bytes()
    except OSError:
        return None
    digest, code = kept[:32], kept[32:]
    return code if code and hashlib.sha256(code).digest() == digest else None


def _write_code(path: Path, code: bytes) -> None:
    """Keep ``code`` at ``path`` for the next process; where that cannot be written (a
    read-only home), the next one compiles again."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        with replacing(path) as temp:
            temp.write_bytes(hashlib.sha256(code).digest() + code)
    except OSError:
        pass


_buffers = threading.local()


def _scratch(rows: int, columns: int, slot: int) -> tuple[NDArray[np.uint8], int]:
    """A contiguous buffer this thread reuses from frame to frame (a fresh one each frame costs
    more in page faults than the blends themselves; a strided one is not vectorised), and its
    address."""
    kept: dict[int, tuple[NDArray[np.uint8], int]] | None = getattr(_buffers, "kept", None)
    if kept is None:
        kept = _buffers.kept = {}
    found = kept.get(slot)
    if found is None or found[0].size < rows * columns:
        buffer = np.empty(rows * columns, np.uint8)
        found = kept[slot] = (buffer, buffer.ctypes.data)
    return found[0][: rows * columns].reshape(rows, columns), found[1]
