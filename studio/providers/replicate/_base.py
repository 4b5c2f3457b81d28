"""What the three Replicate providers (image, video, music) share: the model they run, the
predictor that runs it, and a ``repr`` without the token."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar, Generic, TypeVar, cast

from studio.providers._protocols import ProviderCard
from studio.providers.replicate._catalog import ModelRef, ModelSpec, lookup
from studio.providers.replicate._predictions import Predictor

__all__ = ["ReplicateProvider"]

S = TypeVar("S", bound=ModelSpec)


class ReplicateProvider(Generic[S]):
    """One role played by one model on Replicate."""

    name: str = "replicate"
    role: ClassVar[str]
    """``"image"``, ``"video"`` or ``"music"``."""
    models: ClassVar[Mapping[str, ModelSpec]]
    """The models the studio knows for this role, by ``owner/name``."""
    default_model: ClassVar[str]

    def __init__(
        self,
        api_token: str,
        *,
        model: str | None,
        base_url: str | None,
        timeout: float,
        poll_interval: float,
        request_timeout: float,
    ) -> None:
        ref, spec = lookup(model, self.models, default=self.default_model, role=self.role)
        self._predictor = Predictor(
            api_token,
            base_url=base_url,
            timeout=timeout,
            poll_interval=poll_interval,
            request_timeout=request_timeout,
        )
        self.ref: ModelRef = ref
        """The model and, for a community model, the version that runs."""
        self.model: str = ref.name
        """The model's ``owner/name``, such as ``"black-forest-labs/flux-schnell"``."""
        self.spec: S = cast(S, spec)  # the subclass's table holds its own kind of spec
        self.card: ProviderCard = self._card()

    def _card(self) -> ProviderCard:
        raise NotImplementedError

    @property
    def base_url(self) -> str:
        return self._predictor.base_url

    @property
    def timeout(self) -> float:
        return self._predictor.timeout

    @property
    def poll_interval(self) -> float:
        return self._predictor.poll_interval

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(model={str(self.ref)!r}, base_url={self.base_url!r}, "
            f"timeout={self.timeout:g}, poll_interval={self.poll_interval:g})"
        )
