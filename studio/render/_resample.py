"""One plane of a frame resampled through a camera's matrix, bilinear and sub-pixel exact.

Most of a render's frames are a still seen through a zoom or a pan: a matrix with no turn in
it. Those are resampled in two passes, rows then columns, each a blend of two whole source rows
(the columns pass works on the transposed image, so it blends rows too; a still keeps its
transpose, so its passes go columns then rows and need one transpose, not two): a quarter of
the CPU of OpenCV's ``warpAffine``, which computes a source position for every pixel.
Positions are exact to 1/256 of a pixel; each pass rounds to 8 bits, so a value is at most one
level from the exact blend (far below what the encoder keeps) and the passes and the transpose
between them move bytes, not words. A matrix with a turn in it, or a picture with more than
one channel, goes to ``warpAffine``.

The pass is about 65 instructions of LLVM's language (``_BLEND_ROWS``), compiled on first use
by llvmlite for the CPU at hand, whose vectoriser makes it blend a vector of pixels an
instruction (16 with AVX2); it is called through ctypes, which lets go of the GIL. Compiling
takes about 0.07 s, where loading the same loop from numba's cache took 0.5 s of setting up
numba (and importing numba 0.3 s more).

The edge is clamped: a source position outside the picture takes the nearest edge pixel. The
camera moves keep inside the picture, so the edge is never seen.
"""

from __future__ import annotations

import ctypes
import functools
import threading
from collections.abc import Callable

import cv2
import numpy as np
from numpy.typing import NDArray

__all__ = ["resample", "warm_up"]


def resample(
    picture: NDArray[np.uint8],
    matrix: NDArray[np.float64],
    *,
    turned: NDArray[np.uint8] | None = None,
) -> NDArray[np.uint8]:
    """``picture`` resampled to its own size: output pixel (x, y) takes the source at
    ``matrix @ (x, y, 1)`` (an inverse map, as ``cv2.WARP_INVERSE_MAP``). ``turned``, the
    picture's transpose, saves a transpose of the picture's size where a caller keeps one (a
    still seen through many frames)."""
    h, w = picture.shape[:2]
    (ax, turn_x, bx), (turn_y, ay, by) = matrix.tolist()
    if picture.ndim == 2 and turn_x == 0 and turn_y == 0 and ax > 0 and ay > 0 and min(h, w) > 1:
        rows, columns = (ay, by, h), (ax, bx, w)
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
    """Compile the pass on a thread of its own (once in a process), for a render to do
    meanwhile what needs no frame yet. A ``resample`` that comes first waits for it."""
    threading.Thread(target=_kernel, name="resampler-compile", daemon=True).start()


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
; Row i of out (columns wide) blends source rows k - lo and k - lo + 1, where s = a * i + b
; clamped to [0, size - 1], k = min(floor(s), size - 2), and the second row's weight is
; t = s - k in 1/256, rounded: out = (first * (256 - t) + second * t + 128) >> 8, which
; stays below 2^16 (first, second <= 255). The rows' offsets and weights are found first, in
; a loop of their own: found row by row, their latency would hold up every row's blend.
define void @blend_rows(ptr noalias readonly %source, i64 %stride, i64 %lo, double %a,
                        double %b, i64 %size, ptr noalias writeonly %out, i64 %rows,
                        i64 %out_stride, i64 %columns) {
entry:
  %offsets = alloca i64, i64 %rows
  %weights = alloca i16, i64 %rows
  %size.1 = sub i64 %size, 1
  %top = sitofp i64 %size.1 to double
  %k.top = sub i64 %size, 2
  %any = icmp sgt i64 %rows, 0
  br i1 %any, label %tap, label %done
tap:
  %n = phi i64 [0, %entry], [%n.next, %tap]
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
  %t.n = fptosi double %t.r to i16
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

_compiling = threading.Lock()


def _kernel() -> Callable[..., None]:
    """``blend_rows`` compiled (once in a process, whichever thread asks first)."""
    with _compiling:
        return _compiled()[0]


@functools.cache
def _compiled() -> tuple[Callable[..., None], object]:
    """The compiled pass, and the engine that holds its machine code (kept with it)."""
    import llvmlite.binding as llvm  # only a render needs LLVM loaded

    llvm.initialize_native_target()
    llvm.initialize_native_asmprinter()
    machine = llvm.Target.from_default_triple().create_target_machine(
        cpu=llvm.get_host_cpu_name(), features=llvm.get_host_cpu_features().flatten(), opt=3
    )
    module = llvm.parse_assembly(_BLEND_ROWS)
    module.triple, module.data_layout = machine.triple, str(machine.target_data)
    module.verify()
    builder = llvm.create_pass_builder(machine, llvm.create_pipeline_tuning_options(speed_level=3))
    builder.getModulePassManager().run(module, builder)
    engine = llvm.create_mcjit_compiler(module, machine)
    engine.finalize_object()
    i64, address, real = ctypes.c_int64, ctypes.c_void_p, ctypes.c_double
    signature = ctypes.CFUNCTYPE(None, address, i64, i64, real, real, i64, address, i64, i64, i64)
    return signature(engine.get_function_address("blend_rows")), engine


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
