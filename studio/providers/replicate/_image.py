"""Pictures from Replicate: FLUX schnell (the default), FLUX dev, SDXL, and FLUX Kontext for
putting a character or product from a reference image into the scene.

What each model is sent:

- FLUX schnell / dev: ``prompt``, ``aspect_ratio`` (the one of theirs nearest the request),
  ``seed``, ``num_outputs=1``, ``output_format="png"``, ``megapixels="1"``; dev also
  ``guidance`` and ``num_inference_steps``. FLUX has no negative prompt; it is dropped.
- SDXL (a community model, pinned to a version): ``prompt``, ``negative_prompt``, ``width`` and
  ``height`` (the request's shape, longer side 1024, multiples of 8), ``seed``.
- FLUX Kontext pro / max: ``prompt`` (asking to keep the reference's subject and put it in the
  scene), ``input_image`` (the first reference; Kontext takes one), ``aspect_ratio``, ``seed``,
  ``output_format="png"``, ``safety_tolerance=2`` (the most Replicate allows with an image).

When a request has references and the chosen model cannot take one, Kontext pro paints it,
and the answer (and the estimate) says so. The shot and the palette go into the prompt as words.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from studio.errors import InvalidInput
from studio.providers._protocols import GeneratedImage, ImageRequest, ProviderCard
from studio.providers.replicate._base import ReplicateProvider
from studio.providers.replicate._catalog import ModelRef, ModelSpec
from studio.providers.replicate._errors import malformed
from studio.providers.replicate._media import image_size, image_type

__all__ = [
    "DEFAULT_IMAGE_MODEL",
    "IMAGE_MODELS",
    "REFERENCE_IMAGE_MODEL",
    "ImageSpec",
    "ReplicateImageModel",
    "nearest_ratio",
]

DEFAULT_IMAGE_MODEL = "black-forest-labs/flux-schnell"
REFERENCE_IMAGE_MODEL = "black-forest-labs/flux-kontext-pro"
SDXL_VERSION = "7762fd07cf82c948538e41f63f77d685e02b063e37e496e96eefd46c929f9bdc"

_FLUX_RATIOS = ("1:1", "16:9", "21:9", "3:2", "2:3", "4:5", "5:4", "3:4", "4:3", "9:16", "9:21")
_KONTEXT_RATIOS = (*_FLUX_RATIOS, "2:1", "1:2")
_SHOT_WORDS = {"wide": "wide shot", "medium": "medium shot", "close": "close-up"}

Inputs = Callable[[ImageRequest, str, bytes | None], dict[str, Any]]


def nearest_ratio(width: int, height: int, ratios: tuple[str, ...] = _FLUX_RATIOS) -> str:
    """The ratio among ``ratios`` (``"16:9"``) closest in shape to ``width`` x ``height``."""

    def distance(ratio: str) -> float:
        a, b = (int(x) for x in ratio.split(":"))
        return abs(math.log(width / height) - math.log(a / b))

    return min(ratios, key=distance)


def _sdxl_size(width: int, height: int) -> tuple[int, int]:
    scale = 1024 / max(width, height)
    return (max(64, round(width * scale / 8) * 8), max(64, round(height * scale / 8) * 8))


def _flux_schnell(request: ImageRequest, prompt: str, reference: bytes | None) -> dict[str, Any]:
    del reference
    return {
        "prompt": prompt,
        "aspect_ratio": nearest_ratio(request.width, request.height),
        "seed": request.seed,
        "num_outputs": 1,
        "output_format": "png",
        "megapixels": "1",
    }


def _flux_dev(request: ImageRequest, prompt: str, reference: bytes | None) -> dict[str, Any]:
    return _flux_schnell(request, prompt, reference) | {"guidance": 3, "num_inference_steps": 28}


def _sdxl(request: ImageRequest, prompt: str, reference: bytes | None) -> dict[str, Any]:
    del reference
    width, height = _sdxl_size(request.width, request.height)
    inputs: dict[str, Any] = {
        "prompt": prompt,
        "width": width,
        "height": height,
        "seed": request.seed,
        "num_outputs": 1,
    }
    if request.negative.strip():
        inputs["negative_prompt"] = request.negative.strip()
    return inputs


def _kontext(request: ImageRequest, prompt: str, reference: bytes | None) -> dict[str, Any]:
    inputs: dict[str, Any] = {
        "prompt": prompt,
        "aspect_ratio": nearest_ratio(request.width, request.height, _KONTEXT_RATIOS),
        "seed": request.seed,
        "output_format": "png",
        "safety_tolerance": 2,
    }
    if reference is not None:
        inputs["input_image"] = reference
        inputs["prompt"] = (
            "Keep the character or product from this image exactly as it looks, and show it "
            f"in this new scene: {prompt}"
        )
    return inputs


@dataclass(frozen=True)
class ImageSpec(ModelSpec):
    """An image model: its price per picture and what it is sent."""

    inputs: Inputs = field(default=_flux_schnell)
    takes_reference: bool = False


IMAGE_MODELS: dict[str, ImageSpec] = {
    "black-forest-labs/flux-schnell": ImageSpec(usd_per_call=0.003, max_concurrency=8),
    "black-forest-labs/flux-dev": ImageSpec(
        usd_per_call=0.025, max_concurrency=6, inputs=_flux_dev
    ),
    # a community model billed by GPU time: about half a cent a picture on an L40S
    "stability-ai/sdxl": ImageSpec(
        version=SDXL_VERSION, usd_per_call=0.005, max_concurrency=4, inputs=_sdxl
    ),
    "black-forest-labs/flux-kontext-pro": ImageSpec(
        usd_per_call=0.04, max_concurrency=6, inputs=_kontext, takes_reference=True
    ),
    "black-forest-labs/flux-kontext-max": ImageSpec(
        usd_per_call=0.08, max_concurrency=6, inputs=_kontext, takes_reference=True
    ),
}
"""The image models the studio knows, by ``owner/name``; prices in US dollars per picture."""


def _prompt(request: ImageRequest) -> str:
    parts = [request.prompt.strip().rstrip(".")]
    if request.shot:
        parts.append(_SHOT_WORDS[request.shot])
    if request.palette:
        parts.append("colour palette " + ", ".join(request.palette))
    return ". ".join(p for p in parts if p)


class ReplicateImageModel(ReplicateProvider[ImageSpec]):
    """Paints pictures on Replicate (see the module's docstring for what each model is sent).

    ``reference_model`` paints requests that have reference images when ``model`` cannot take
    one. ``timeout`` bounds a whole call, ``poll_interval`` is the wait between polls.
    """

    role = "image"
    models = IMAGE_MODELS
    default_model = DEFAULT_IMAGE_MODEL

    def __init__(
        self,
        api_token: str,
        *,
        model: str | None = None,
        reference_model: str = REFERENCE_IMAGE_MODEL,
        base_url: str | None = None,
        timeout: float = 180.0,
        poll_interval: float = 0.5,
        request_timeout: float = 30.0,
    ) -> None:
        super().__init__(
            api_token,
            model=model,
            base_url=base_url,
            timeout=timeout,
            poll_interval=poll_interval,
            request_timeout=request_timeout,
        )
        reference = ModelRef.parse(reference_model)
        spec = IMAGE_MODELS.get(reference.name)
        if spec is None or not spec.takes_reference:
            takes = sorted(k for k, v in IMAGE_MODELS.items() if v.takes_reference)
            raise InvalidInput(
                f"{reference.name!r} cannot put a reference image into a scene",
                hint=f"choose one of {', '.join(takes)}",
            )
        self.reference_ref = ModelRef(reference.name, reference.version or spec.version)
        self.reference_spec = spec

    def _card(self) -> ProviderCard:
        return ProviderCard(
            role="image",
            name=self.name,
            model=self.model,
            usd_per_call=self.spec.usd_per_call,
            max_concurrency=self.spec.max_concurrency,
            max_width=2048,
            max_height=2048,
            needs_key="REPLICATE_API_TOKEN",
        )

    def _chosen(self, request: ImageRequest) -> tuple[ModelRef, ImageSpec]:
        if request.references and not self.spec.takes_reference:
            return self.reference_ref, self.reference_spec
        return self.ref, self.spec

    def estimate(self, request: ImageRequest) -> float:
        """The price of the model that would paint ``request`` (Kontext when it has references)."""
        return round(self._chosen(request)[1].usd_per_call, 6)

    async def generate(self, request: ImageRequest) -> GeneratedImage:
        """Paint ``request`` on Replicate; the same seed gives the same picture where the model
        allows it."""
        ref, spec = self._chosen(request)
        reference = request.references[0] if request.references else None
        if reference is not None and image_type(reference) is None:
            raise InvalidInput(
                "the reference image is not a PNG, JPEG, WebP or GIF",
                hint="pass the encoded bytes of the reference picture",
            )
        inputs = spec.inputs(request, _prompt(request), reference if spec.takes_reference else None)
        outputs = await self._predictor.run(ref, inputs)
        picture = outputs[0]
        size = image_size(picture.data) if picture.media_type.startswith("image/") else None
        if size is None:
            raise malformed(ref.name, f"the output is not a picture ({picture.media_type})")
        return GeneratedImage(
            data=picture.data,
            media_type=picture.media_type,
            width=size[0],
            height=size[1],
            seed=request.seed,
            provider=self.name,
            model=ref.name,
            cost_usd=round(spec.usd_per_call, 6),
        )
