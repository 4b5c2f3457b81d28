"""Thumbnails of pictures: what the widgets show of a take, a mood or a reference, made once
per picture by the engine and kept beside its work files."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from studio.errors import InvalidInput
from studio.files import replacing

__all__ = ["THUMB_WIDTH", "thumbnail", "thumbnail_jpeg"]

THUMB_WIDTH = 320
"""At most this wide, and at most twice this high (a 9:16 picture stays sharp)."""
_QUALITY = 82


def thumbnail_jpeg(source: Path, box: tuple[int, int] = (THUMB_WIDTH, THUMB_WIDTH * 2)) -> bytes:
    """The picture ``source`` made to fit ``box``, as JPEG bytes; ``InvalidInput`` if it is not
    a picture that can be read."""
    try:
        with Image.open(source) as image:
            image.thumbnail(box)
            small = image.convert("RGB")
    except (UnidentifiedImageError, OSError) as exc:
        raise InvalidInput(
            "the picture cannot be read", hint="make the take again or upload the picture again"
        ) from exc
    out = io.BytesIO()
    small.save(out, "JPEG", quality=_QUALITY)
    return out.getvalue()


def thumbnail(source: Path, dest: Path) -> Path:
    """Write the thumbnail of the picture ``source`` to ``dest`` (under a temporary name,
    renamed when whole, so two makers of one thumbnail never leave half a file)."""
    data = thumbnail_jpeg(source)
    dest.parent.mkdir(parents=True, exist_ok=True)
    with replacing(dest) as tmp:
        tmp.write_bytes(data)
    return dest
