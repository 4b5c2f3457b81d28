"""The offline image provider: the procedural painter behind the ``ImageModel`` protocol."""

from __future__ import annotations

import asyncio
import io
import re

from PIL import Image

from studio.providers._protocols import GeneratedImage, ImageRequest, ProviderCard
from studio.providers.local._painter import paint

__all__ = ["LocalImageModel"]


def _shot_in(prompt: str) -> str | None:
    """``"wide"``, ``"medium"`` or ``"close"`` when the prompt names its framing."""
    found = re.search(r"\b(wide|medium|close)(?:[- ]up)?\b", prompt.lower())
    return found.group(1) if found else None


class LocalImageModel:
    """Paints pictures from prompts with numpy: no key, no network, no cost."""

    name = "local"
    model = "studio-painter-1"
    card = ProviderCard(role="image", name="local", model="studio-painter-1", max_concurrency=2)

    def estimate(self, request: ImageRequest) -> float:
        del request
        return 0.0

    def render(self, request: ImageRequest) -> GeneratedImage:
        """Paint and encode ``request`` (PNG, fast compression), in the calling thread."""
        pixels = paint(
            request.prompt,
            request.width,
            request.height,
            seed=request.seed,
            palette=request.palette,
            shot=request.shot or _shot_in(request.prompt),
        )
        buffer = io.BytesIO()
        Image.fromarray(pixels).save(buffer, format="PNG", compress_level=1)
        return GeneratedImage(
            data=buffer.getvalue(),
            media_type="image/png",
            width=request.width,
            height=request.height,
            seed=request.seed,
            provider=self.name,
            model=self.model,
        )

    async def generate(self, request: ImageRequest) -> GeneratedImage:
        return await asyncio.to_thread(self.render, request)
