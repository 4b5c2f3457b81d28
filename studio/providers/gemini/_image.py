"""Gemini as the studio's painter: a picture from words with the Gemini image model ("Nano
Banana", ``gemini-2.5-flash-image``), through ``generateContent`` with image output.

Reference images (a character, a product) travel as inline image parts before the words, so
the model keeps them the same from scene to scene; the mood's colours, the framing and what to
avoid are written into the words, since the model has no separate fields for them. The model
paints about a megapixel at the nearest aspect ratio it knows, whatever size is asked for: the
answer says the size it really has.
"""

from __future__ import annotations

import io
import math

from studio.errors import ContentRejected, InvalidInput, PayloadTooLarge
from studio.providers._protocols import GeneratedImage, ImageRequest, ProviderCard
from studio.providers.gemini._client import GeminiService, enum_name, image_type
from studio.providers.gemini._errors import Hints, unusable

__all__ = ["ASPECT_RATIOS", "DEFAULT_IMAGE_MODEL", "IMAGE_PRICES", "GeminiImageModel"]

DEFAULT_IMAGE_MODEL = "gemini-2.5-flash-image"

IMAGE_PRICES: dict[str, float] = {
    "gemini-2.5-flash-image": 0.039,
    "gemini-3-pro-image-preview": 0.134,
}
"""Published paid-tier USD per picture (1290 output tokens at $30 per million for Flash Image;
a 1K/2K picture for Gemini 3 Pro Image); an unknown model is charged as the dearest."""

ASPECT_RATIOS: dict[str, float] = {
    "1:1": 1.0,
    "2:3": 2 / 3,
    "3:2": 3 / 2,
    "3:4": 3 / 4,
    "4:3": 4 / 3,
    "4:5": 4 / 5,
    "5:4": 5 / 4,
    "9:16": 9 / 16,
    "16:9": 16 / 9,
    "21:9": 21 / 9,
}
"""The aspect ratios the image models paint (``image_config.aspect_ratio``)."""

MAX_REFERENCE_BYTES = 14 * 1024 * 1024
"""Inline images travel base64 inside a request capped at about 20 MB."""

_REFUSED_HINT = "reword the prompt, or choose other reference images; the refusal is the service's"
_HINTS = Hints(
    bad_request="check the prompt, the reference images (PNG, JPEG or WebP) and the model name",
    not_found=f"check the model name (e.g. {DEFAULT_IMAGE_MODEL!r})",
    too_large="send fewer or smaller reference images",
    unusable="try again; if it keeps happening, try another image model (e.g. local)",
)


def image_price(model: str) -> float:
    """USD per picture for ``model`` (see ``IMAGE_PRICES``)."""
    bare = model.rpartition("/")[2]
    for known in sorted(IMAGE_PRICES, key=len, reverse=True):
        if bare == known or bare.startswith(known + "-"):
            return IMAGE_PRICES[known]
    return max(IMAGE_PRICES.values())


def aspect_ratio(width: int, height: int) -> str:
    """The aspect ratio the model knows that is nearest ``width`` x ``height``."""
    wanted = math.log(width / height)
    return min(ASPECT_RATIOS, key=lambda name: abs(math.log(ASPECT_RATIOS[name]) - wanted))


def _words(request: ImageRequest) -> str:
    lines = [request.prompt.strip()]
    if request.shot:
        lines.append(f"Framing: a {request.shot} shot.")
    if request.palette:
        lines.append(f"Colour palette, strongest first: {', '.join(request.palette)}.")
    if request.references:
        several = len(request.references) > 1
        lines.append(
            f"Keep the people, characters and products exactly as they look in the reference "
            f"image{'s' if several else ''} above: the same faces, hair, clothes, shapes and "
            "colours."
        )
    if request.negative.strip():
        lines.append(f"Do not show: {request.negative.strip()}.")
    return "\n".join(lines)


class GeminiImageModel(GeminiService):
    """Paints pictures with a Gemini image model (``ImageModel``)."""

    default_model = DEFAULT_IMAGE_MODEL
    doing = "image generation"
    hints = _HINTS

    def __init__(
        self,
        api_key: str,
        *,
        model: str | None = None,
        base_url: str | None = None,
        timeout: float = 120.0,
    ) -> None:
        super().__init__(api_key, model=model, base_url=base_url, timeout=timeout)
        self.card = ProviderCard(
            role="image",
            name=self.name,
            model=self.model,
            usd_per_call=image_price(self.model),
            max_concurrency=4,
            max_width=1536,
            max_height=1536,
            needs_key="GEMINI_API_KEY",
        )

    def estimate(self, request: ImageRequest) -> float:
        """What ``generate`` would cost, in US dollars: one picture."""
        del request
        return self.card.cost()

    def _references(self, request: ImageRequest) -> list[tuple[bytes, str]]:
        found: list[tuple[bytes, str]] = []
        for number, data in enumerate(request.references, start=1):
            kind = image_type(data)
            if kind is None:
                raise InvalidInput(
                    f"reference image {number} is not a PNG, JPEG or WebP picture",
                    hint="send the picture's encoded bytes",
                )
            found.append((bytes(data), kind))
        total = sum(len(data) for data, _ in found)
        if total > MAX_REFERENCE_BYTES:
            raise PayloadTooLarge(
                f"the reference images come to {total / 2**20:.1f} MiB; Gemini takes at most "
                f"{MAX_REFERENCE_BYTES / 2**20:.0f} MiB inline",
                hint="send fewer reference images, or smaller ones (1024 px JPEGs are plenty)",
            )
        return found

    async def generate(self, request: ImageRequest) -> GeneratedImage:
        """Paint ``request``; the seed is passed on, but the service does not promise the same
        picture for the same seed."""
        references = self._references(request)
        from google.genai import types

        sent = [types.Part.from_bytes(data=data, mime_type=kind) for data, kind in references]
        sent.append(types.Part.from_text(text=_words(request)))
        async with self._connected() as aio:
            response = await aio.models.generate_content(
                model=self.model,
                contents=types.Content(role="user", parts=sent),
                config=types.GenerateContentConfig(
                    response_modalities=["IMAGE"],
                    image_config=types.ImageConfig(
                        aspect_ratio=aspect_ratio(request.width, request.height)
                    ),
                    seed=request.seed,
                ),
            )
        candidate = self._first_candidate(response, doing="paint this picture", hint=_REFUSED_HINT)
        said: list[str] = []
        parts = candidate.content.parts if candidate.content is not None else None
        for part in parts or []:
            blob = part.inline_data
            if blob is not None and blob.data and (blob.mime_type or "").startswith("image/"):
                return self._image(blob.data, blob.mime_type or "", request)
            if part.text and not part.thought:
                said.append(part.text)
        finish = enum_name(candidate.finish_reason)
        if finish == "MAX_TOKENS":
            raise unusable(self.model, "the picture was cut off (MAX_TOKENS)", hint=_HINTS.unusable)
        reason = finish if finish not in (None, "STOP") else "NO_IMAGE"
        words = self._scrub(" ".join(" ".join(said).split()))
        raise ContentRejected(
            f"Gemini ({self.model}) painted no picture ({reason})"
            + (f": {words[:299] + '…' if len(words) > 300 else words}" if words else ""),
            hint=_REFUSED_HINT,
            reason=reason,
            provider="gemini",
        )

    def _image(self, data: bytes, media_type: str, request: ImageRequest) -> GeneratedImage:
        from PIL import Image, UnidentifiedImageError

        try:
            with Image.open(io.BytesIO(data)) as picture:
                width, height = picture.size
                kind = Image.MIME.get(picture.format or "", media_type)
        except (UnidentifiedImageError, OSError) as exc:
            raise unusable(
                self.model, f"the picture ({media_type}) cannot be decoded", hint=_HINTS.unusable
            ) from exc
        return GeneratedImage(
            data=data,
            media_type=kind,
            width=width,
            height=height,
            seed=request.seed,
            provider=self.name,
            model=self.model,
            cost_usd=self.card.cost(),
        )
