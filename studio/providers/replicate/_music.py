"""Music from Replicate: Meta's MusicGen (a community model, pinned to a version).

MusicGen is sent ``prompt``, ``model_version="stereo-large"`` (text to music, no melody),
``duration`` (whole seconds, rounded up), ``output_format="wav"``,
``normalization_strategy="peak"`` and ``seed``. It is billed by GPU time; the card's price is
an estimate per second of music made. The answer's length and sample rate are read from the
WAV that comes back.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from studio.errors import InvalidInput
from studio.providers._protocols import GeneratedAudio, MusicRequest, ProviderCard
from studio.providers.replicate._base import ReplicateProvider
from studio.providers.replicate._catalog import ModelSpec
from studio.providers.replicate._errors import malformed
from studio.providers.replicate._media import wav_info

__all__ = [
    "DEFAULT_MUSIC_MODEL",
    "MAX_MUSIC_SECONDS",
    "MUSICGEN_VERSION",
    "MUSIC_MODELS",
    "MusicSpec",
    "ReplicateMusicModel",
]

DEFAULT_MUSIC_MODEL = "meta/musicgen"
MUSICGEN_VERSION = "671ac645ce5e552cc63a54a2bbff63fcf798043055d2dac5fc9e36a837eedcfb"
MAX_MUSIC_SECONDS = 300
"""MusicGen makes long pieces window by window; past five minutes it wanders, and costs."""
MUSICGEN_SAMPLE_RATE = 32000


@dataclass(frozen=True)
class MusicSpec(ModelSpec):
    """A music model: its price, and the sub-model it is asked to use."""

    model_version: str = "stereo-large"


MUSIC_MODELS: dict[str, MusicSpec] = {
    # billed by GPU time on an A100: about a cent to start and half a cent per second made
    "meta/musicgen": MusicSpec(
        version=MUSICGEN_VERSION, usd_per_call=0.01, usd_per_second=0.005, max_concurrency=2
    ),
}
"""The music models the studio knows, by ``owner/name``; prices in US dollars."""


class ReplicateMusicModel(ReplicateProvider[MusicSpec]):
    """Makes music from words on Replicate with MusicGen; see the module's docstring."""

    role = "music"
    models = MUSIC_MODELS
    default_model = DEFAULT_MUSIC_MODEL

    def __init__(
        self,
        api_token: str,
        *,
        model: str | None = None,
        base_url: str | None = None,
        timeout: float = 600.0,
        poll_interval: float = 2.0,
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

    def _card(self) -> ProviderCard:
        return ProviderCard(
            role="music",
            name=self.name,
            model=self.model,
            usd_per_call=self.spec.usd_per_call,
            usd_per_second=self.spec.usd_per_second,
            max_concurrency=self.spec.max_concurrency,
            needs_key="REPLICATE_API_TOKEN",
        )

    @staticmethod
    def _seconds(request: MusicRequest) -> int:
        return max(1, math.ceil(request.duration - 1e-6))

    def estimate(self, request: MusicRequest) -> float:
        return self.card.cost(self._seconds(request))

    async def generate(self, request: MusicRequest) -> GeneratedAudio:
        seconds = self._seconds(request)
        if seconds > MAX_MUSIC_SECONDS:
            raise InvalidInput(
                f"{seconds} s of music is more than MusicGen makes in one call "
                f"({MAX_MUSIC_SECONDS} s)",
                hint="ask for a shorter piece, or make it in parts",
            )
        inputs = {
            "prompt": request.prompt.strip(),
            "model_version": self.spec.model_version,
            "duration": seconds,
            "output_format": "wav",
            "normalization_strategy": "peak",
            "seed": request.seed,
        }
        outputs = await self._predictor.run(self.ref, inputs)
        track = outputs[0]
        if not track.media_type.startswith("audio/"):
            raise malformed(self.model, f"the output is not audio ({track.media_type})")
        info = wav_info(track.data) if track.media_type in ("audio/wav", "audio/x-wav") else None
        return GeneratedAudio(
            data=track.data,
            media_type=track.media_type,
            duration=round(info[0], 3) if info else float(seconds),
            sample_rate=info[1] if info else MUSICGEN_SAMPLE_RATE,
            seed=request.seed,
            provider=self.name,
            model=self.model,
            cost_usd=self.estimate(request),
        )
