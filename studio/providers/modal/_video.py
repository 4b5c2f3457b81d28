"""The Modal video provider: clips from the studio's own ``image_to_video`` function on Modal."""

from __future__ import annotations

import re
from typing import Any

from studio.errors import InvalidInput, ProviderError
from studio.providers._protocols import GeneratedVideo, ProviderCard, VideoRequest
from studio.providers.modal._bodies import MAX_SIDE, NATIVE_SECONDS, native_seconds
from studio.providers.modal._card import MAX_CONTAINERS, USD_PER_CALL, USD_PER_CLIP_SECOND
from studio.providers.modal._client import ModalConnection
from studio.providers.modal._errors import DEPLOY_HINT

__all__ = ["DEFAULT_FUNCTION", "ModalVideoModel"]

DEFAULT_FUNCTION = "image_to_video"
_FUNCTION_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]{0,63}$")


class ModalVideoModel:
    """A ``VideoModel`` that calls ``function`` (``image_to_video`` unless the provider is named
    ``modal:<function>``) of the studio's deployed Modal app."""

    name = "modal"

    def __init__(
        self,
        connection: ModalConnection,
        *,
        function: str = DEFAULT_FUNCTION,
        timeout: float = 900.0,
    ) -> None:
        if not _FUNCTION_NAME.fullmatch(function):
            raise InvalidInput(
                f"{function[:80]!r} is not a Modal function name",
                hint="name a function of the studio's app, e.g. 'modal:image_to_video'",
            )
        if not timeout > 0:
            raise InvalidInput(f"the timeout must be positive, not {timeout!r}")
        self.connection = connection
        self.function = function
        self.timeout = timeout
        """Seconds to wait for a clip, queueing and cold start included."""
        self.model = f"{connection.app}/{function}"
        self.card = ProviderCard(
            role="video",
            name=self.name,
            model=self.model,
            usd_per_call=USD_PER_CALL,
            usd_per_second=USD_PER_CLIP_SECOND,
            clip_lengths=list(NATIVE_SECONDS),
            max_concurrency=MAX_CONTAINERS,
            max_width=MAX_SIDE,
            max_height=MAX_SIDE,
            needs_key="MODAL_TOKEN_ID",
        )

    def __repr__(self) -> str:
        return f"ModalVideoModel(model={self.model!r}, {self.connection!r})"

    def _check(self, request: VideoRequest) -> None:
        longest = self.card.longest or 0.0
        if request.duration > longest + 1e-9:
            raise InvalidInput(
                f"a clip of {request.duration:g} s is longer than the {longest:g} s Modal's "
                "model makes in one call",
                hint=f"split the scene into clips of at most {longest:g} s",
            )
        if request.width > self.card.max_width or request.height > self.card.max_height:
            raise InvalidInput(
                f"{request.width}x{request.height} is larger than the "
                f"{self.card.max_width}x{self.card.max_height} Modal's model makes",
                hint="ask for a smaller clip and upscale it afterwards",
            )

    def estimate(self, request: VideoRequest) -> float:
        """The price of the native length that holds the clip (the model makes that much)."""
        seconds = native_seconds(min(request.duration, self.card.longest or request.duration))
        return self.card.cost(seconds)

    async def generate(self, request: VideoRequest) -> GeneratedVideo:
        self._check(request)  # before a cent is spent
        answer = await self.connection.call(
            self.function,
            first_frame=request.first_frame,
            last_frame=request.last_frame,
            prompt=request.prompt,
            negative=request.negative,
            camera=str(request.camera.value),
            duration=request.duration,
            width=request.width,
            height=request.height,
            fps=request.fps,
            seed=request.seed,
            timeout=self.timeout,
        )
        return self._video(answer, request)

    def _video(self, answer: Any, request: VideoRequest) -> GeneratedVideo:
        try:
            if not isinstance(answer, dict):
                raise TypeError(f"a {type(answer).__name__}, not a dict")
            data = answer["data"]
            if not isinstance(data, bytes) or not data:
                raise TypeError("no video bytes")
            duration = float(answer["duration"])
            return GeneratedVideo(
                data=data,
                media_type=str(answer.get("media_type") or "video/mp4"),
                width=int(answer["width"]),
                height=int(answer["height"]),
                duration=duration,
                fps=float(answer["fps"]),
                seed=request.seed,
                provider=self.name,
                model=self.model,
                cost_usd=self.card.cost(native_seconds(min(duration, self.card.longest or 0.0))),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ProviderError(
                f"Modal ({self.model}) answered with something that is not a clip: {exc}",
                hint=f"the deployed app may be older than the studio; {DEPLOY_HINT}",
                provider="modal",
            ) from exc
