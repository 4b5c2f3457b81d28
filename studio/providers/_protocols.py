"""What a provider promises: the protocols the studio codes against, and the models they return.

A provider is a protocol plus implementations: code receives a provider (from
``resolve_transcriber`` or a test), it does not build one. The models here are the provider's
answer, before the studio turns it into its own domain (lyrics with word times).
"""

from __future__ import annotations

from typing import Any, Literal, Protocol, TypeVar, runtime_checkable

from pydantic import BaseModel, Field, model_validator

from studio.model import Analysis, Brief, CameraMove, Palette, StudioModel

__all__ = [
    "ChatMessage",
    "ChatReply",
    "ConceptDraft",
    "GeneratedAudio",
    "GeneratedImage",
    "GeneratedVideo",
    "ImageModel",
    "ImageRequest",
    "MoodDraft",
    "MusicModel",
    "MusicRequest",
    "Planner",
    "ProviderCard",
    "Role",
    "SceneDraft",
    "Shot",
    "ShotPlan",
    "TextModel",
    "ToolCall",
    "ToolSpec",
    "TranscribedWord",
    "Transcriber",
    "Transcription",
    "VideoModel",
    "VideoRequest",
]

Role = Literal["text", "image", "video", "music", "transcriber"]
"""What a provider does; the registry resolves one provider per role."""


class ProviderCard(StudioModel):
    """What a provider declares before it is called: what it costs, how long its clips are,
    how much it takes at once. The studio estimates cost and plans scene lengths from it."""

    role: Role
    name: str
    """The registry name, such as ``"local"`` or ``"replicate"``."""
    model: str
    """The model behind it, such as ``"black-forest-labs/flux-schnell"``."""
    usd_per_call: float = Field(default=0.0, ge=0)
    usd_per_second: float = Field(default=0.0, ge=0)
    """For video and music: the price of each second made, on top of ``usd_per_call``."""
    clip_lengths: list[float] = Field(default_factory=list)
    """For video: the clip lengths the model makes natively, in seconds, shortest first;
    empty when any length works."""
    max_concurrency: int = Field(default=4, ge=1)
    """How many calls may run at once without being rate limited."""
    max_width: int = Field(default=4096, ge=16)
    max_height: int = Field(default=4096, ge=16)
    needs_key: str | None = None
    """The environment variable that holds the key, if it needs one (never the key itself)."""

    def cost(self, seconds: float = 0.0) -> float:
        """The price of one call that makes ``seconds`` of video or music."""
        return round(self.usd_per_call + self.usd_per_second * max(0.0, seconds), 6)

    @property
    def shortest(self) -> float | None:
        return self.clip_lengths[0] if self.clip_lengths else None

    @property
    def longest(self) -> float | None:
        return self.clip_lengths[-1] if self.clip_lengths else None


class TranscribedWord(StudioModel):
    """One sung or spoken word, and when it is heard, in seconds from the start of the audio."""

    text: str = Field(min_length=1)
    """The word as written, punctuation attached (``"night,"``)."""
    start: float = Field(ge=0, allow_inf_nan=False)
    """When the word begins, in seconds."""
    end: float = Field(allow_inf_nan=False)
    """When the word ends, in seconds; after ``start``."""

    @model_validator(mode="after")
    def _end_after_start(self) -> TranscribedWord:
        if self.end <= self.start:
            raise ValueError(
                f"word {self.text!r} ends ({self.end}) before it starts ({self.start})"
            )
        return self


class Transcription(StudioModel):
    """A transcriber's answer: the words in the order they are heard, and who made them."""

    words: list[TranscribedWord]
    """Every word heard, ordered by start time; empty for an instrumental."""
    language: str | None
    """The language of the words (an ISO 639-1 code such as ``"en"``), if known."""
    provider: str
    """The transcriber's registry name, such as ``"gemini"``."""
    model: str
    """The model that transcribed, such as ``"gemini-2.5-flash"``."""

    @model_validator(mode="after")
    def _words_in_order(self) -> Transcription:
        for before, after in zip(self.words, self.words[1:], strict=False):
            if after.start < before.start:
                raise ValueError(
                    f"words out of order: {after.text!r} at {after.start} s comes after "
                    f"{before.text!r} at {before.start} s"
                )
        return self


@runtime_checkable
class Transcriber(Protocol):
    """Audio in, words with times out (lyrics for subtitles and cuts on the words)."""

    name: str
    """The registry name, such as ``"gemini"``."""

    async def transcribe(
        self,
        audio: bytes,
        mime_type: str,
        *,
        language: str | None = None,
        hint: str | None = None,
    ) -> Transcription:
        """Transcribe ``audio`` (encoded as ``mime_type``, e.g. ``"audio/ogg"``).

        ``language`` names the language when it is known; ``hint`` is the lyrics text when it
        is known, so the transcriber only has to find when each word is sung.
        """
        ...


Shot = Literal["wide", "medium", "close"]


class ImageRequest(StudioModel):
    """What to paint: the words, the size, the seed, and the mood's colours."""

    prompt: str = Field(min_length=1, max_length=4000)
    negative: str = Field(default="", max_length=2000)
    """What the picture must not show (providers that cannot honour it ignore it)."""
    width: int = Field(ge=16, le=4096)
    height: int = Field(ge=16, le=4096)
    seed: int = Field(default=0, ge=0, lt=2**32)
    palette: Palette = Field(default_factory=list, max_length=12)
    """The mood's colours as ``#rrggbb``, strongest first."""
    shot: Shot | None = None
    """How far the camera stands: sets the horizon and the size of figures."""
    references: list[bytes] = Field(default_factory=list, max_length=8)
    """Reference images (PNG/JPEG bytes) of a character or product to keep consistent."""


class GeneratedImage(StudioModel):
    """An image provider's answer: the encoded picture and what made it."""

    data: bytes
    media_type: str
    width: int
    height: int
    seed: int
    provider: str
    model: str
    cost_usd: float = 0.0


@runtime_checkable
class ImageModel(Protocol):
    """Words (and the mood's colours, references) in, a picture out."""

    name: str
    card: ProviderCard

    def estimate(self, request: ImageRequest) -> float:
        """What ``generate`` would cost, in US dollars, before spending anything."""
        ...

    async def generate(self, request: ImageRequest) -> GeneratedImage:
        """Paint ``request``; the same request (seed included) gives the same picture where
        the provider allows it."""
        ...


class ConceptDraft(StudioModel):
    """A proposed idea for the video."""

    title: str = Field(min_length=1, max_length=120)
    logline: str = Field(max_length=1000)
    description: str = Field(max_length=20_000)


class MoodDraft(StudioModel):
    """A proposed mood board: a name, colours and words that steer every prompt."""

    name: str = Field(min_length=1, max_length=120)
    palette: Palette = Field(min_length=1, max_length=12)
    keywords: list[str] = Field(max_length=40)
    description: str = Field(default="", max_length=5000)


class ShotPlan(StudioModel):
    """Where a scene sits on the song's clock, and what the song does there (the planner
    writes what it shows)."""

    index: int = Field(ge=0)
    start: float = Field(ge=0)
    end: float = Field(gt=0)
    section: str
    energy: float = Field(ge=0, le=1)
    """How loud the song is here, 0..1 across the song."""
    lyric: str = ""
    moment: str | None = None
    """The key moment this scene starts on (``climax``, ``drop`` …), if any."""


class SceneDraft(StudioModel):
    """What one scene shows: the visual intent in words, the image prompt, the camera."""

    index: int = Field(ge=0)
    visual_intent: str = Field(max_length=5000)
    prompt: str = Field(min_length=1, max_length=5000)
    negative_prompt: str = Field(default="", max_length=2000)
    camera: CameraMove = CameraMove.STATIC
    shot: Shot = "medium"


@runtime_checkable
class Planner(Protocol):
    """Writes the creative documents: concepts, mood boards, and each scene's content."""

    name: str

    async def concepts(
        self, brief: Brief, song: Analysis, *, n: int = 3, seed: int = 0
    ) -> list[ConceptDraft]:
        """``n`` different ideas for a video of ``song`` that answers ``brief``."""
        ...

    async def moods(
        self, brief: Brief, concept: ConceptDraft, *, n: int = 4, seed: int = 0
    ) -> list[MoodDraft]:
        """``n`` mood boards to choose from."""
        ...

    async def scenes(
        self,
        brief: Brief,
        concept: ConceptDraft,
        mood: MoodDraft,
        shots: list[ShotPlan],
        *,
        seed: int = 0,
    ) -> list[SceneDraft]:
        """One draft per shot, in order: a calm intro gets a calm image, the chorus the
        strongest, the lyric of a shot shapes what it shows."""
        ...


class VideoRequest(StudioModel):
    """A clip to make from a first frame (and a last one, where the model can morph)."""

    first_frame: bytes
    """The opening picture, PNG or JPEG bytes (the scene's approved image take)."""
    last_frame: bytes | None = None
    """The closing picture, for a morph; models that cannot honour it ignore it."""
    prompt: str = Field(default="", max_length=4000)
    """What moves and how, in words, for models that read them."""
    negative: str = Field(default="", max_length=2000)
    camera: CameraMove = CameraMove.STATIC
    """The camera move, for models that make moves themselves (the local one)."""
    duration: float = Field(gt=0, le=120, allow_inf_nan=False)
    """Seconds of video wanted; a model with native lengths makes the next one up."""
    width: int = Field(ge=16, le=4096)
    height: int = Field(ge=16, le=4096)
    fps: int = Field(default=24, ge=1, le=120)
    seed: int = Field(default=0, ge=0, lt=2**32)


class GeneratedVideo(StudioModel):
    """A video provider's answer: the encoded clip and what made it."""

    data: bytes
    media_type: str
    width: int
    height: int
    duration: float
    fps: float
    seed: int | None
    provider: str
    model: str
    cost_usd: float = 0.0


@runtime_checkable
class VideoModel(Protocol):
    """A first frame (optionally a last one) and words in, a moving clip out."""

    name: str
    card: ProviderCard

    def estimate(self, request: VideoRequest) -> float:
        """What ``generate`` would cost, in US dollars, before spending anything."""
        ...

    async def generate(self, request: VideoRequest) -> GeneratedVideo:
        """Make the clip; long-running services are polled until it is ready."""
        ...


class MusicRequest(StudioModel):
    """Music to make from words: ``"dreamy synth-pop at 100 bpm in A minor"``."""

    prompt: str = Field(min_length=1, max_length=2000)
    duration: float = Field(gt=0, le=600, allow_inf_nan=False)
    seed: int = Field(default=0, ge=0, lt=2**32)


class GeneratedAudio(StudioModel):
    """A music provider's answer: the encoded audio and what made it."""

    data: bytes
    media_type: str
    duration: float
    sample_rate: int
    seed: int | None
    provider: str
    model: str
    cost_usd: float = 0.0


@runtime_checkable
class MusicModel(Protocol):
    """Words in, a piece of music out (a demo track, a placeholder, a jingle)."""

    name: str
    card: ProviderCard

    def estimate(self, request: MusicRequest) -> float: ...

    async def generate(self, request: MusicRequest) -> GeneratedAudio: ...


class ToolSpec(StudioModel):
    """A tool the text model may call: its name, what it does, its arguments' JSON schema."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_]{0,63}$")
    description: str = Field(max_length=2000)
    parameters: dict[str, Any] = Field(default_factory=lambda: {"type": "object"})


class ToolCall(StudioModel):
    """The model asks for a tool to be run with these arguments."""

    name: str
    arguments: dict[str, Any] = Field(default_factory=dict)
    id: str | None = None
    """The provider's id for the call, when it has one, to pair the result with it."""


class ChatMessage(StudioModel):
    """One message of a conversation, as a text model sees it."""

    role: Literal["user", "assistant", "tool"]
    text: str = ""
    tool_calls: list[ToolCall] = Field(default_factory=list)
    """For ``assistant``: the tools it asked for."""
    tool_name: str | None = None
    """For ``tool``: which tool this is the result of; ``text`` holds the result as JSON."""
    tool_call_id: str | None = None


class ChatReply(StudioModel):
    """A text model's turn: words for the user, tool calls for the studio, or both."""

    text: str = ""
    tool_calls: list[ToolCall] = Field(default_factory=list)
    provider: str
    model: str
    cost_usd: float = 0.0


T = TypeVar("T", bound=BaseModel)


@runtime_checkable
class TextModel(Protocol):
    """Words in, words out: structured answers straight into pydantic models, and chat turns
    that call the studio's tools."""

    name: str
    card: ProviderCard

    async def structured(
        self, prompt: str, schema: type[T], *, system: str = "", seed: int | None = None
    ) -> T:
        """Answer ``prompt`` as an instance of ``schema`` (validated; a reply that does not fit
        raises ``ProviderError``)."""
        ...

    async def chat(
        self, messages: list[ChatMessage], tools: list[ToolSpec], *, system: str = ""
    ) -> ChatReply:
        """The next assistant turn of ``messages``, free to call any of ``tools``."""
        ...
