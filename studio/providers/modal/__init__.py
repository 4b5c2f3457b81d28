"""Modal: the studio's own GPU functions (image-to-video, upscale, frame interpolation), deployed
as a Modal app (``_app.py``, whose docstring says how) and called through the modal SDK, which is
imported only when a call is made.

``video_model`` is what the registry calls: ``(variant, environ) -> provider``.
"""

from studio.providers.modal._client import DEFAULT_APP, ModalConnection
from studio.providers.modal._enhance import interpolate, upscale
from studio.providers.modal._errors import DEPLOY_HINT
from studio.providers.modal._factories import video_model
from studio.providers.modal._video import DEFAULT_FUNCTION, ModalVideoModel

__all__ = [
    "DEFAULT_APP",
    "DEFAULT_FUNCTION",
    "DEPLOY_HINT",
    "ModalConnection",
    "ModalVideoModel",
    "interpolate",
    "upscale",
    "video_model",
]
