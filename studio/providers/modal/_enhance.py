"""Upscaling pictures and smoothing clips with the studio's deployed Modal functions."""

from __future__ import annotations

import os
from collections.abc import Mapping

from studio.errors import InvalidInput, ProviderError
from studio.providers.modal._bodies import MAX_FACTOR
from studio.providers.modal._client import ModalConnection
from studio.providers.modal._errors import DEPLOY_HINT

__all__ = ["interpolate", "upscale"]


def _connection(
    connection: ModalConnection | None, environ: Mapping[str, str] | None, doing: str
) -> ModalConnection:
    if connection is not None:
        return connection
    return ModalConnection.from_environ(os.environ if environ is None else environ, doing=doing)


def _factor(factor: int, what: str) -> int:
    if isinstance(factor, bool) or not isinstance(factor, int) or not 2 <= factor <= MAX_FACTOR:
        raise InvalidInput(
            f"the {what} factor must be a whole number from 2 to {MAX_FACTOR}, not {factor!r}"
        )
    return factor


def _bytes_answer(answer: object, connection: ModalConnection, function: str) -> bytes:
    if not isinstance(answer, bytes) or not answer:
        raise ProviderError(
            f"Modal ({connection.app}.{function}) answered with {type(answer).__name__}, "
            "not the file's bytes",
            hint=f"the deployed app may be older than the studio; {DEPLOY_HINT}",
            provider="modal",
        )
    return answer


async def upscale(
    image_bytes: bytes,
    factor: int = 2,
    *,
    connection: ModalConnection | None = None,
    environ: Mapping[str, str] | None = None,
    timeout: float = 600.0,
) -> bytes:
    """``image_bytes`` (PNG or JPEG) made ``factor`` times larger each way, as PNG bytes.

    The connection comes from ``environ`` (``os.environ`` by default) unless one is passed.
    """
    _factor(factor, "upscale")
    if not image_bytes:
        raise InvalidInput("the picture to upscale is empty")
    link = _connection(connection, environ, "upscaling")
    answer = await link.call("upscale", image_bytes, factor, timeout=timeout)
    return _bytes_answer(answer, link, "upscale")


async def interpolate(
    video_bytes: bytes,
    factor: int = 2,
    *,
    connection: ModalConnection | None = None,
    environ: Mapping[str, str] | None = None,
    timeout: float = 600.0,
) -> bytes:
    """``video_bytes`` with ``factor - 1`` frames made between each pair, at ``factor`` times the
    frame rate (same length, smoother motion), as MP4 bytes without sound."""
    _factor(factor, "interpolation")
    if not video_bytes:
        raise InvalidInput("the clip to interpolate is empty")
    link = _connection(connection, environ, "frame interpolation")
    answer = await link.call("interpolate", video_bytes, factor, timeout=timeout)
    return _bytes_answer(answer, link, "interpolate")
