"""What the registry calls: ``(variant, environ) -> provider``."""

from __future__ import annotations

from collections.abc import Mapping

from studio.providers.modal._client import ModalConnection
from studio.providers.modal._video import DEFAULT_FUNCTION, ModalVideoModel

__all__ = ["video_model"]


def video_model(variant: str | None, environ: Mapping[str, str]) -> ModalVideoModel:
    """``modal`` calls the app's ``image_to_video``, ``modal:<function>`` another function of
    it. Needs ``MODAL_TOKEN_ID`` and ``MODAL_TOKEN_SECRET``; ``STUDIO_MODAL_APP`` names the app."""
    connection = ModalConnection.from_environ(environ, doing="making clips")
    return ModalVideoModel(connection, function=variant or DEFAULT_FUNCTION)
