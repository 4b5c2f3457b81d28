"""What the studio's Modal app costs and allows, shared by the app (which sets the limits) and
the client (which declares them on its card).

Modal bills containers by the second: the GPU, plus the CPU cores and memory the function asks
for. Prices are Modal's list prices (https://modal.com/pricing, 2025-26). The seconds a clip
takes are an estimate for LTX-Video (2B, 40 steps, 768x512) on an L40S, erring high, not a
measurement: correct them from the function's run times once the app is deployed.
"""

from __future__ import annotations

__all__ = [
    "CLIP_CPU_CORES",
    "CLIP_GPU",
    "CLIP_MEMORY_MIB",
    "CONTAINER_USD_PER_SECOND",
    "GPU_SECONDS_PER_CLIP_SECOND",
    "MAX_CONTAINERS",
    "STARTUP_SECONDS",
    "USD_PER_CALL",
    "USD_PER_CLIP_SECOND",
]

CLIP_GPU = "L40S"
"""48 GB, enough for LTX-Video with its T5 text encoder in bf16 without offloading."""
CLIP_CPU_CORES = 4.0
CLIP_MEMORY_MIB = 32 * 1024

_GPU_USD_PER_SECOND = 0.000542  # L40S, $1.95 an hour
_CORE_USD_PER_SECOND = 0.0000131
_GIB_USD_PER_SECOND = 0.00000222

CONTAINER_USD_PER_SECOND = (
    _GPU_USD_PER_SECOND
    + CLIP_CPU_CORES * _CORE_USD_PER_SECOND
    + CLIP_MEMORY_MIB / 1024 * _GIB_USD_PER_SECOND
)
"""One clip container, GPU and CPU and memory together: about $0.000665 a second."""

STARTUP_SECONDS = 40.0
"""A cold start: the container boots and loads the weights from the volume (counted on every
call, so the estimate errs high when a warm container takes it)."""
GPU_SECONDS_PER_CLIP_SECOND = 8.0
"""Denoising and decoding, per second of 24 fps video at 768x512."""

USD_PER_CALL = round(STARTUP_SECONDS * CONTAINER_USD_PER_SECOND, 4)
"""About $0.027."""
USD_PER_CLIP_SECOND = round(GPU_SECONDS_PER_CLIP_SECOND * CONTAINER_USD_PER_SECOND, 5)
"""About $0.0053 per second of video: a 5 s clip comes to about $0.05."""

MAX_CONTAINERS = 10
"""GPU containers the app runs at once: a Starter workspace's GPU concurrency limit (10 at the
time of writing); raise it with the workspace's plan."""
