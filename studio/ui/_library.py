"""The library: what every project holds, in buckets (characters, moods, pictures, clips,
music, renders), to browse and search; a picture picked as a character's reference, or an
image uploaded as one (checked for type, size and that it decodes)."""

from __future__ import annotations

import asyncio
import io
from typing import Any

import traitlets
from PIL import Image, UnidentifiedImageError

from studio.errors import InvalidInput
from studio.ui._base import StudioWidget

__all__ = ["MAX_UPLOAD_BYTES", "Library"]

MAX_UPLOAD_BYTES = 20_000_000
MAX_PIXELS = 40_000_000
MAX_REFERENCES = 16
_IMAGE_TYPES = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp"}
_PICTURES = ("character", "mood", "image")
_KINDS = ("", "character", "mood", "image", "clip", "audio", "render")
_PREVIEW = {"image": "thumb", "mood": "thumb", "character": "thumb", "clip": "clip",
            "audio": "audio", "render": "video"}  # fmt: skip


class Library(StudioWidget):
    """``Library()`` browses every project; ``Library("Night Drive")`` picks and uploads
    references for that project's characters."""

    front = "library"
    listens = ("take.", "character.", "project.", "render.", "job.updated")
    across_projects = True
    front_sets = frozenset({"query", "kind"})

    items = traitlets.List(traitlets.Dict()).tag(sync=True)
    query = traitlets.Unicode("").tag(sync=True)
    kind = traitlets.Unicode("").tag(sync=True)
    characters = traitlets.List(traitlets.Dict()).tag(sync=True)
    """The characters of the widget's project, for picking and uploading references."""

    def __init__(self, project: Any = None, **kwargs: Any) -> None:
        super().__init__(project, **kwargs)
        self.observe(lambda _change: self.reload(), names=["query", "kind"])

    async def load(self) -> None:
        if self.kind not in _KINDS:
            raise InvalidInput(f"{self.kind[:40]!r} is not a kind of the library")
        found = await self.client.library(self.query[:200], kind=self.kind, limit=300)
        characters = (
            [c.model_dump(mode="json") for c in await self.client.characters(self.project_id)]
            if self.project_id
            else []
        )
        with self.hold_sync():
            self.items = [{k: v for k, v in item.items() if k != "text"} for item in found]
            self.characters = [
                {"id": c["id"], "name": c["name"], "references": c["reference_assets"]}
                for c in characters
            ]

    def media_keys(self) -> set[tuple[str, str]]:
        return {(item["sha256"], _PREVIEW[item["kind"]]) for item in self.items if item["sha256"]}

    async def _act_search(self, content: dict[str, Any]) -> None:
        q, kind = content.get("q", ""), content.get("kind", "")
        if not isinstance(q, str) or kind not in _KINDS:
            raise InvalidInput("search with words, and a kind from the list")
        with self.hold_sync():
            self.query, self.kind = q[:200], kind

    def _character(self, ref: Any) -> dict[str, Any]:
        if not self.project_id:
            raise InvalidInput(
                "the library was opened without a project",
                hint="open it as Library('your project') to give its characters references",
            )
        found = next((c for c in self.characters if c["id"] == ref), None)
        if found is None:
            raise InvalidInput("choose one of the project's characters")
        return found

    async def _add_reference(self, character: dict[str, Any], sha: str) -> None:
        refs = [r for r in character["references"] if r != sha]
        if len(refs) >= MAX_REFERENCES:
            raise InvalidInput(
                f"{character['name']} has {MAX_REFERENCES} references already",
                hint="remove one first",
            )
        await self.client.update_character(
            self.project_id, character["id"], reference_assets=[*refs, sha]
        )
        await self.load()

    async def _act_pick(self, content: dict[str, Any]) -> None:
        """Give a character a picture from the library as a reference."""
        item = next((i for i in self.items if i["id"] == content.get("item")), None)
        if item is None or item["kind"] not in _PICTURES or not item["sha256"]:
            raise InvalidInput("pick a picture shown in the library")
        await self._add_reference(self._character(content.get("character")), item["sha256"])

    async def _act_upload(self, content: dict[str, Any]) -> None:
        """An image from the browser as a reference: for a character of the project, or for
        a new character or product named ``name``."""
        buffers = content.get("_buffers") or []
        if len(buffers) != 1:
            raise InvalidInput("send one image at a time")
        data, media_type = await asyncio.to_thread(_checked_image, buffers[0])
        sha = await self.client.upload(data, media_type)
        if content.get("character"):
            character = self._character(content.get("character"))
        else:
            name = content.get("name")
            if not self.project_id:
                self._character(None)  # says how to open it with a project
            if not isinstance(name, str) or not name.strip():
                raise InvalidInput("name the new character or product")
            made = await self.client.add_character(
                self.project_id,
                name=name.strip()[:60],
                description=str(content.get("description") or "")[:500],
            )
            character = {"id": made.id, "name": made.name, "references": []}
        await self._add_reference(character, sha)


def _checked_image(data: bytes) -> tuple[bytes, str]:
    """``data`` if it is a PNG, JPEG or WebP picture of a sensible size that decodes whole;
    its media type from what it is, not from what the browser said."""
    if len(data) > MAX_UPLOAD_BYTES:
        raise InvalidInput(
            f"the image is {len(data) / 1e6:.1f} MB; the most is {MAX_UPLOAD_BYTES / 1e6:.0f} MB",
            hint="send a smaller picture (a reference needs no more than about 2000 px)",
        )
    try:
        with Image.open(io.BytesIO(data)) as image:
            kind = image.format or ""
            if kind not in _IMAGE_TYPES:
                raise InvalidInput(
                    f"a {kind or 'file of unknown type'} is not a picture the studio takes",
                    hint="send a PNG, JPEG or WebP image",
                )
            if image.width * image.height > MAX_PIXELS:
                raise InvalidInput(
                    f"the image is {image.width}x{image.height}: too many pixels",
                    hint="send one under 40 megapixels",
                )
            image.load()
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as exc:
        raise InvalidInput(
            "the file is not a picture that can be read", hint="send a PNG, JPEG or WebP image"
        ) from exc
    return data, _IMAGE_TYPES[kind]
