"""Gemini's text model, planner, painter and Veo: the real google-genai SDK against the fake
Gemini on 127.0.0.1 (``tests/providers/fake_gemini.py``).

Each test scripts what the service says and then reads what the SDK sent: the response schema,
the function declarations and calls, the reference images, the Veo request, the polls and the
download; and what the studio made of the answer, failures included.
"""

from __future__ import annotations

import asyncio
import base64
import io
import json
import os
import time
from collections.abc import Callable, Coroutine, Iterator
from typing import Any, TypeVar

import pytest
from PIL import Image
from pydantic import BaseModel, Field

from studio.errors import (
    ContentRejected,
    InvalidInput,
    ProviderError,
    ProviderTimeout,
    ProviderUnavailable,
    RateLimited,
    StudioError,
    Unauthorized,
)
from studio.model import Analysis, Brief, CameraMove, KeyMoment, Section
from studio.providers import (
    ChatMessage,
    ConceptDraft,
    ImageModel,
    ImageRequest,
    MoodDraft,
    Planner,
    ShotPlan,
    TextModel,
    ToolCall,
    ToolSpec,
    VideoModel,
    VideoRequest,
    resolve_image_model,
    resolve_planner,
    resolve_text_model,
    resolve_video_model,
)
from studio.providers.gemini import (
    DEFAULT_IMAGE_MODEL,
    DEFAULT_TEXT_MODEL,
    DEFAULT_VIDEO_MODEL,
    SHOTS_PER_CALL,
    GeminiImageModel,
    GeminiPlanner,
    GeminiTextModel,
    GeminiVideoModel,
)
from tests.providers.fake_gemini import (
    FakeGemini,
    Reply,
    content,
    function_call,
    google_error,
    inline_image,
    operation,
)

KEY = "AIzaFAKE-test-key-0123456789abcdefghijk"
R = TypeVar("R")

# google-genai subclasses aiohttp's ClientSession, which aiohttp frowns on; not ours to fix
pytestmark = pytest.mark.filterwarnings(
    "ignore:Inheritance class AiohttpClientSession:DeprecationWarning"
)


@pytest.fixture(scope="module")
def gemini_server() -> Iterator[FakeGemini]:
    with FakeGemini.running() as fake:
        yield fake


@pytest.fixture
def gemini(gemini_server: FakeGemini) -> Iterator[FakeGemini]:
    """The fake, fresh for this test: no requests, no script, an empty reply."""
    gemini_server.reset()
    yield gemini_server
    gemini_server.release.set()  # a slow reply still waiting ends now


def text_model(fake: FakeGemini, **options: Any) -> GeminiTextModel:
    options.setdefault("timeout", 10.0)
    return GeminiTextModel(KEY, base_url=fake.base_url, **options)


def image_model(fake: FakeGemini, **options: Any) -> GeminiImageModel:
    options.setdefault("timeout", 10.0)
    return GeminiImageModel(KEY, base_url=fake.base_url, **options)


def video_model(fake: FakeGemini, **options: Any) -> GeminiVideoModel:
    options.setdefault("timeout", 10.0)
    options.setdefault("poll_interval", 0.01)
    options.setdefault("max_wait", 10.0)
    return GeminiVideoModel(KEY, base_url=fake.base_url, **options)


def run(work: Coroutine[Any, Any, R]) -> R:
    return asyncio.run(work)


def fails(work: Callable[[], Coroutine[Any, Any, Any]]) -> StudioError:
    with pytest.raises(StudioError) as info:
        asyncio.run(work())
    err = info.value
    assert KEY not in str(err) and KEY not in repr(err) and KEY not in json.dumps(err.to_payload())
    return err


def png(width: int = 64, height: int = 36, colour: tuple[int, int, int] = (200, 30, 60)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(out, format="PNG")
    return out.getvalue()


def jpeg(width: int = 64, height: int = 36) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (10, 90, 200)).save(out, format="JPEG")
    return out.getvalue()


def unb64(text: str) -> bytes:
    """Base64 as the SDK writes it (URL-safe) or as the Veo body has it (standard)."""
    return base64.b64decode(text.replace("-", "+").replace("_", "/") + "=" * (-len(text) % 4))


def field_of(body: dict[str, Any], camel: str, snake: str) -> Any:
    """The SDK writes some keys in camelCase and some in snake_case; the service reads both."""
    return body[camel] if camel in body else body[snake]


def json_answer(value: Any, **options: Any) -> Reply:
    return Reply(body=content(json.dumps(value), **options))


# ---- the text model: structured answers --------------------------------------------------------


class Verdict(BaseModel):
    title: str = Field(description="a short title")
    score: int
    tags: list[str]


def test_a_structured_answer_comes_back_as_the_model_and_the_request_carries_the_schema(
    gemini: FakeGemini,
) -> None:
    gemini.reply = json_answer({"title": "Neon Run", "score": 7, "tags": ["night", "city"]})
    result = run(text_model(gemini).structured("Judge it.", Verdict, system="Be fair.", seed=11))

    assert result == Verdict(title="Neon Run", score=7, tags=["night", "city"])
    [sent] = gemini.requests
    assert sent.method == "POST"
    assert sent.path == f"/v1beta/models/{DEFAULT_TEXT_MODEL}:generateContent"
    assert sent.headers["x-goog-api-key"] == KEY
    assert sent.prompt == "Judge it."
    assert sent.body["systemInstruction"]["parts"] == [{"text": "Be fair."}]
    config = sent.body["generationConfig"]
    assert config["responseMimeType"] == "application/json"
    assert config["seed"] == 11
    schema = config["responseSchema"]
    assert schema["type"] == "OBJECT" and set(schema["required"]) == {"title", "score", "tags"}
    assert schema["properties"]["score"]["type"] == "INTEGER"
    assert schema["properties"]["tags"]["type"] == "ARRAY"
    assert schema["properties"]["title"]["description"] == "a short title"


@pytest.mark.parametrize(
    ("reply", "why"),
    [
        (Reply(body=content("Sure! Here it is: a title.")), "not JSON"),
        (json_answer({"title": "x", "score": "seven", "tags": []}), "score"),
        (json_answer({"title": "x", "tags": []}), "score"),
        (Reply(body=content("  ")), "empty"),
        (Reply(body=content('{"title": "x", "sc', finish="MAX_TOKENS")), "MAX_TOKENS"),
        (Reply(body={"candidates": []}), "no candidate"),
        (Reply(body=b"<html>not json</html>"), "not JSON"),
    ],
)
def test_a_structured_answer_that_does_not_fit_is_a_provider_error(
    gemini: FakeGemini, reply: Reply, why: str
) -> None:
    gemini.reply = reply
    err = fails(lambda: text_model(gemini).structured("Judge it.", Verdict))
    assert type(err) is ProviderError and not err.retryable
    assert "answered with something unusable" in err.message and why in err.message


def test_a_fenced_answer_is_read(gemini: FakeGemini) -> None:
    fenced = "```json\n" + json.dumps({"title": "t", "score": 1, "tags": []}) + "\n```"
    gemini.reply = Reply(body=content(fenced))
    assert run(text_model(gemini).structured("Judge it.", Verdict)).title == "t"


def test_a_structured_call_refuses_what_is_not_a_pydantic_model(gemini: FakeGemini) -> None:
    err = fails(lambda: text_model(gemini).structured("x", dict))
    assert isinstance(err, InvalidInput) and gemini.requests == []


# ---- the text model: chat with tools ------------------------------------------------------------

SET_MOOD = ToolSpec(
    name="set_mood",
    description="Choose the video's mood board.",
    parameters={
        "type": "object",
        "properties": {"name": {"type": "string"}, "strength": {"type": "number"}},
        "required": ["name"],
    },
)
LIST_SCENES = ToolSpec(name="list_scenes", description="The scenes of the project.")


def test_a_chat_turn_declares_the_tools_and_a_function_call_becomes_a_tool_call(
    gemini: FakeGemini,
) -> None:
    gemini.reply = Reply(
        body=content(
            "Setting the mood.",
            function_call("set_mood", {"name": "Neon Noir", "strength": 0.8}, id="call-1"),
            usage=(1000, 200),
        )
    )
    model = text_model(gemini)
    reply = run(
        model.chat(
            [ChatMessage(role="user", text="Make it darker.")],
            [SET_MOOD, LIST_SCENES],
            system="You edit music videos.",
        )
    )

    assert reply.text == "Setting the mood."
    assert reply.tool_calls == [
        ToolCall(name="set_mood", arguments={"name": "Neon Noir", "strength": 0.8}, id="call-1")
    ]
    assert reply.provider == "gemini" and reply.model == DEFAULT_TEXT_MODEL
    assert reply.cost_usd == pytest.approx((1000 * 0.30 + 200 * 2.50) / 1e6)
    [sent] = gemini.requests  # the SDK ran nothing itself, and asked once
    [tool] = sent.body["tools"]
    declared = {d["name"]: d for d in tool["functionDeclarations"]}
    assert set(declared) == {"set_mood", "list_scenes"}
    assert declared["set_mood"]["description"] == "Choose the video's mood board."
    schema = field_of(declared["set_mood"], "parametersJsonSchema", "parameters_json_schema")
    assert schema == SET_MOOD.parameters
    assert sent.body["contents"] == [{"parts": [{"text": "Make it darker."}], "role": "user"}]
    assert sent.body["systemInstruction"]["parts"] == [{"text": "You edit music videos."}]


def test_the_tool_results_go_back_paired_with_their_calls(gemini: FakeGemini) -> None:
    model = text_model(gemini)
    gemini.answer(
        Reply(
            body=content(
                function_call("set_mood", {"name": "Neon"}, id="c1", signature=b"sig-1"),
                function_call("list_scenes", {}, id="c2"),
            )
        ),
        Reply(body=content("Done: the mood is Neon, and there are 2 scenes.")),
    )
    asked = [ChatMessage(role="user", text="Neon, and list the scenes.")]
    first = run(model.chat(asked, [SET_MOOD, LIST_SCENES]))
    assert [c.name for c in first.tool_calls] == ["set_mood", "list_scenes"]
    assert first.text == ""

    conversation = [
        *asked,
        ChatMessage(role="assistant", tool_calls=first.tool_calls),
        ChatMessage(role="tool", tool_call_id="c1", text='{"ok": true}'),  # named by its call
        ChatMessage(role="tool", tool_name="list_scenes", tool_call_id="c2", text="2 scenes"),
    ]
    second = run(model.chat(conversation, [SET_MOOD, LIST_SCENES]))
    assert second.text.startswith("Done") and second.tool_calls == []

    sent = gemini.requests[1].body["contents"]
    assert [c["role"] for c in sent] == ["user", "model", "user"]
    calls = sent[1]["parts"]
    assert calls[0]["functionCall"] == {"id": "c1", "name": "set_mood", "args": {"name": "Neon"}}
    assert unb64(calls[0]["thoughtSignature"]) == b"sig-1"  # handed back as it came
    assert "thoughtSignature" not in calls[1]
    results = [p["functionResponse"] for p in sent[2]["parts"]]  # parallel results: one turn
    assert results == [
        {"id": "c1", "name": "set_mood", "response": {"ok": True}},
        {"id": "c2", "name": "list_scenes", "response": {"result": "2 scenes"}},
    ]


def test_a_lost_thought_signature_is_replaced_for_gemini_3(gemini: FakeGemini) -> None:
    gemini.reply = Reply(body=content("ok"))
    conversation = [
        ChatMessage(role="user", text="Neon"),
        ChatMessage(role="assistant", tool_calls=[ToolCall(name="set_mood", arguments={})]),
        ChatMessage(role="tool", tool_name="set_mood", text="{}"),
    ]
    run(text_model(gemini, model="gemini-3-flash-preview").chat(conversation, [SET_MOOD]))
    run(text_model(gemini).chat(conversation, [SET_MOOD]))
    gemini3, gemini25 = (r.body["contents"][1]["parts"][0] for r in gemini.requests)
    assert gemini3["thoughtSignature"] == "skip_thought_signature_validator"
    assert "thoughtSignature" not in gemini25


def test_a_tool_result_that_names_no_tool_is_refused_before_sending(gemini: FakeGemini) -> None:
    conversation = [
        ChatMessage(role="user", text="Neon"),
        ChatMessage(role="tool", tool_call_id="unknown", text="{}"),
    ]
    err = fails(lambda: text_model(gemini).chat(conversation, [SET_MOOD]))
    assert isinstance(err, InvalidInput) and "names no tool" in err.message
    assert gemini.requests == []


def test_a_malformed_function_call_is_a_provider_error(gemini: FakeGemini) -> None:
    gemini.reply = Reply(body=content(finish="MALFORMED_FUNCTION_CALL"))
    err = fails(lambda: text_model(gemini).chat([ChatMessage(role="user", text="x")], [SET_MOOD]))
    assert type(err) is ProviderError and "malformed tool call" in err.message


# ---- the planner --------------------------------------------------------------------------------

BRIEF = Brief(text="A night drive through a neon city, a singer alone.", style="cinematic")
SONG = Analysis(
    audio_sha256="a" * 64,
    duration=212.0,
    sample_rate=44100,
    tempo=118.0,
    key="A",
    mode="minor",
    beats=[0.5 * i for i in range(400)],
    sections=[
        Section(start=0.0, end=15.2, label="intro"),
        Section(start=15.2, end=47.0, label="verse"),
        Section(start=47.0, end=212.0, label="chorus"),
    ],
    key_moments=[KeyMoment(time=150.5, kind="climax", description="the last chorus lifts")],
)
CONCEPT = ConceptDraft(title="Neon Run", logline="A drive that speeds up.", description="Night.")
MOOD = MoodDraft(name="Neon Noir", palette=["#ff2e88", "#00e5ff"], keywords=["rain", "glow"])


def planner(fake: FakeGemini) -> GeminiPlanner:
    return GeminiPlanner(text_model(fake))


def shots(*indices: int) -> list[ShotPlan]:
    return [
        ShotPlan(
            index=i,
            start=4.0 * n,
            end=4.0 * n + 4.0,
            section="chorus" if n % 2 else "verse",
            energy=0.5,
            lyric=f"line number {i} of the song",
            moment="climax" if n == 1 else None,
        )
        for n, i in enumerate(indices)
    ]


def scene(index: int, words: str = "a singer in the rain") -> dict[str, Any]:
    return {
        "index": index,
        "visual_intent": f"{words} (scene {index})",
        "prompt": f"medium shot, {words}, neon reflections, scene {index}",
        "negative_prompt": "text, watermark",
        "camera": "push_in",
        "shot": "close",
    }


def test_the_planner_writes_concepts_from_the_brief_and_the_song(gemini: FakeGemini) -> None:
    ideas = [{"title": f"Idea {i}", "logline": "l", "description": "d"} for i in range(4)]
    gemini.reply = json_answer({"concepts": ideas})
    drafts = run(planner(gemini).concepts(BRIEF, SONG, n=3, seed=5))

    assert [d.title for d in drafts] == ["Idea 0", "Idea 1", "Idea 2"]  # n, no more
    [sent] = gemini.requests
    prompt = sent.prompt
    assert "3 different concepts" in prompt and BRIEF.text in prompt and "cinematic" in prompt
    assert "118 BPM" in prompt and "A minor" in prompt and "3:32.0 long" in prompt
    assert "0:15.2-0:47.0 verse" in prompt and "2:30.5 climax: the last chorus lifts" in prompt
    assert "0.5, 1.0" not in prompt  # the beat grid stays out of the prompt
    assert sent.body["generationConfig"]["seed"] == 5
    assert "concepts" in sent.body["generationConfig"]["responseSchema"]["properties"]


def test_the_planner_tidies_the_mood_colours_and_refuses_a_mood_without_any(
    gemini: FakeGemini,
) -> None:
    mood = {"name": "Neon", "palette": ["#FF2E88", "0ff", "teal", "#ff2e88"], "keywords": ["rain"]}
    gemini.reply = json_answer({"moods": [mood]})
    [draft] = run(planner(gemini).moods(BRIEF, CONCEPT, n=1))
    assert draft.palette == ["#ff2e88", "#00ffff"]
    assert CONCEPT.title in gemini.requests[0].prompt

    gemini.reply = json_answer({"moods": [mood | {"palette": ["teal", "crimson"]}]})
    err = fails(lambda: planner(gemini).moods(BRIEF, CONCEPT, n=1))
    assert type(err) is ProviderError and "palette" in err.message


def test_the_planner_answers_each_shot_with_its_index_and_its_lyric(gemini: FakeGemini) -> None:
    plan = shots(7, 8, 9)
    gemini.reply = json_answer({"scenes": [scene(9), scene(7), scene(8)]})  # out of order
    drafts = run(planner(gemini).scenes(BRIEF, CONCEPT, MOOD, plan, seed=2))

    assert [d.index for d in drafts] == [7, 8, 9]
    assert [d.prompt.endswith(f"scene {d.index}") for d in drafts] == [True] * 3
    assert drafts[0].camera is CameraMove.PUSH_IN and drafts[0].shot == "close"
    prompt = gemini.requests[0].prompt
    for shot in plan:
        assert f"index {shot.index}: " in prompt and f'sung: "{shot.lyric}"' in prompt
    assert "starts on the climax" in prompt and "Neon Noir" in prompt and "#ff2e88" in prompt


def test_scenes_numbered_another_way_but_one_per_shot_are_renumbered(gemini: FakeGemini) -> None:
    gemini.reply = json_answer({"scenes": [scene(1), scene(2)]})  # counted from 1
    drafts = run(planner(gemini).scenes(BRIEF, CONCEPT, MOOD, shots(10, 11)))
    assert [d.index for d in drafts] == [10, 11]
    assert drafts[0].prompt.endswith("scene 1")  # by position


def test_scenes_that_do_not_answer_the_shots_are_refused(gemini: FakeGemini) -> None:
    gemini.reply = json_answer({"scenes": [scene(0), scene(2)]})
    err = fails(lambda: planner(gemini).scenes(BRIEF, CONCEPT, MOOD, shots(0, 1, 2)))
    assert type(err) is ProviderError
    assert "2 scenes for 3 shots" in err.message and "index 1" in err.message


def test_a_long_video_is_planned_in_batches(gemini: FakeGemini) -> None:
    total = SHOTS_PER_CALL + 6
    gemini.answer(
        json_answer({"scenes": [scene(i) for i in range(SHOTS_PER_CALL)]}),
        json_answer({"scenes": [scene(i) for i in range(SHOTS_PER_CALL, total)]}),
    )
    drafts = run(planner(gemini).scenes(BRIEF, CONCEPT, MOOD, shots(*range(total))))
    assert [d.index for d in drafts] == list(range(total))
    assert len(gemini.requests) == 2
    assert f"shots {SHOTS_PER_CALL + 1} to {total} of the video's {total}" in (
        gemini.requests[1].prompt
    )


def test_two_shots_with_one_index_are_refused(gemini: FakeGemini) -> None:
    err = fails(lambda: planner(gemini).scenes(BRIEF, CONCEPT, MOOD, shots(3, 3)))
    assert isinstance(err, InvalidInput) and gemini.requests == []


# ---- the painter --------------------------------------------------------------------------------


def test_a_picture_comes_back_and_the_references_went_as_inline_images(gemini: FakeGemini) -> None:
    painted = png(1344, 768)
    gemini.reply = Reply(body=content("Here it is.", inline_image(painted)))
    face, product = png(32, 32), jpeg()
    request = ImageRequest(
        prompt="a singer on a wet street at night",
        negative="text, watermark",
        width=1280,
        height=720,
        seed=42,
        palette=["#ff2e88", "#00e5ff"],
        shot="wide",
        references=[face, product],
    )
    image = run(image_model(gemini).generate(request))

    assert image.data == painted and image.media_type == "image/png"
    assert (image.width, image.height) == (1344, 768)  # what it painted, not what was asked
    assert image.seed == 42 and image.provider == "gemini" and image.model == DEFAULT_IMAGE_MODEL
    assert image.cost_usd == pytest.approx(0.039)
    [sent] = gemini.requests
    assert sent.path == f"/v1beta/models/{DEFAULT_IMAGE_MODEL}:generateContent"
    first, second, words = sent.parts
    assert unb64(first["inlineData"]["data"]) == face
    assert field_of(first["inlineData"], "mimeType", "mime_type") == "image/png"
    assert unb64(second["inlineData"]["data"]) == product
    assert field_of(second["inlineData"], "mimeType", "mime_type") == "image/jpeg"
    text = words["text"]
    assert text.startswith("a singer on a wet street at night")
    assert "#ff2e88, #00e5ff" in text and "wide shot" in text
    assert "Do not show: text, watermark." in text and "reference images" in text
    config = sent.body["generationConfig"]
    assert config["responseModalities"] == ["IMAGE"]
    assert config["imageConfig"]["aspectRatio"] == "16:9" and config["seed"] == 42


@pytest.mark.parametrize(
    ("width", "height", "ratio"),
    [(1080, 1920, "9:16"), (1000, 1000, "1:1"), (1024, 768, "4:3"), (2520, 1080, "21:9")],
)
def test_the_aspect_ratio_follows_the_size_asked_for(
    gemini: FakeGemini, width: int, height: int, ratio: str
) -> None:
    gemini.reply = Reply(body=content(inline_image(png())))
    run(image_model(gemini).generate(ImageRequest(prompt="x", width=width, height=height)))
    assert gemini.requests[0].body["generationConfig"]["imageConfig"]["aspectRatio"] == ratio


@pytest.mark.parametrize(
    ("body", "reason", "says"),
    [
        ({"promptFeedback": {"blockReason": "PROHIBITED_CONTENT"}}, "PROHIBITED_CONTENT", ""),
        (content(finish="IMAGE_SAFETY"), "IMAGE_SAFETY", ""),
        (content(finish="SAFETY"), "SAFETY", ""),
        (content("I can't paint that person."), "NO_IMAGE", "I can't paint that person."),
        (content("Not this one.", finish="IMAGE_OTHER"), "IMAGE_OTHER", "Not this one."),
    ],
)
def test_a_refused_picture_is_a_content_rejection_with_the_reason(
    gemini: FakeGemini, body: dict[str, Any], reason: str, says: str
) -> None:
    gemini.reply = Reply(body=body)
    err = fails(lambda: image_model(gemini).generate(ImageRequest(prompt="x", width=64, height=64)))
    assert isinstance(err, ContentRejected) and not err.retryable
    assert err.details["reason"] == reason and reason in err.message and says in err.message


def test_a_picture_that_cannot_be_decoded_is_a_provider_error(gemini: FakeGemini) -> None:
    gemini.reply = Reply(body=content(inline_image(b"\x89PNG\r\n\x1a\nbroken")))
    err = fails(lambda: image_model(gemini).generate(ImageRequest(prompt="x", width=64, height=64)))
    assert type(err) is ProviderError and "cannot be decoded" in err.message


def test_a_reference_that_is_not_a_picture_is_refused_before_sending(gemini: FakeGemini) -> None:
    request = ImageRequest(prompt="x", width=64, height=64, references=[b"GIF89a-nope"])
    err = fails(lambda: image_model(gemini).generate(request))
    assert isinstance(err, InvalidInput) and "reference image 1" in err.message
    assert gemini.requests == []


# ---- Veo ----------------------------------------------------------------------------------------

OPERATION = f"models/{DEFAULT_VIDEO_MODEL}/operations/op-7f3a"
CLIP = b"\x00\x00\x00\x18ftypmp42fake-mp4-bytes" * 20
FILE_URI = "https://generativelanguage.googleapis.com/v1beta/files/k2x9clip:download?alt=media"


def clip_request(**fields: Any) -> VideoRequest:
    values: dict[str, Any] = {
        "first_frame": png(),
        "prompt": "rain falls on the singer",
        "duration": 5.0,
        "width": 1280,
        "height": 720,
    }
    return VideoRequest(**(values | fields))


def test_veo_is_started_polled_until_done_and_the_clip_downloaded(gemini: FakeGemini) -> None:
    first, last = png(colour=(1, 2, 3)), jpeg()
    gemini.answer(
        Reply(body=operation(OPERATION)),
        Reply(body=operation(OPERATION)),
        Reply(body=operation(OPERATION)),
        Reply(body=operation(OPERATION, done=True, videos=[{"uri": FILE_URI}])),
        Reply(body=CLIP, content_type="video/mp4"),
    )
    request = clip_request(
        first_frame=first, last_frame=last, negative="blur", camera=CameraMove.PUSH_IN
    )
    model = video_model(gemini)
    video = run(model.generate(request))

    assert video.data == CLIP and video.media_type == "video/mp4"
    assert video.duration == 8.0  # a morph is made at 8 s
    assert (video.width, video.height, video.fps) == (1280, 720, 24)
    assert video.provider == "gemini" and video.model == DEFAULT_VIDEO_MODEL
    assert video.cost_usd == pytest.approx(8 * 0.15) == model.estimate(request)
    start, *polls, download = gemini.requests
    assert (start.method, start.path) == (
        "POST",
        f"/v1beta/models/{DEFAULT_VIDEO_MODEL}:predictLongRunning",
    )
    assert start.headers["x-goog-api-key"] == KEY
    [instance] = start.body["instances"]
    assert base64.b64decode(instance["image"]["bytesBase64Encoded"]) == first
    assert instance["image"]["mimeType"] == "image/png"
    assert base64.b64decode(instance["lastFrame"]["bytesBase64Encoded"]) == last
    assert instance["lastFrame"]["mimeType"] == "image/jpeg"
    assert (
        instance["prompt"].startswith("rain falls on the singer.")
        and "dollies" in (instance["prompt"])
    )
    assert start.body["parameters"] == {
        "sampleCount": 1,
        "durationSeconds": 8,
        "aspectRatio": "16:9",
        "resolution": "720p",
        "negativePrompt": "blur",
    }
    assert [(p.method, p.path) for p in polls] == [("GET", f"/v1beta/{OPERATION}")] * 3
    assert all(p.headers["x-goog-api-key"] == KEY for p in polls)
    assert (download.method, download.path) == ("GET", "/v1beta/files/k2x9clip:download?alt=media")


def test_a_clip_sent_inline_needs_no_download(gemini: FakeGemini) -> None:
    inline = {"encodedVideo": base64.b64encode(CLIP).decode(), "encoding": "video/mp4"}
    gemini.answer(Reply(body=operation(OPERATION, done=True, videos=[inline])))
    video = run(video_model(gemini).generate(clip_request(duration=3.0)))
    assert video.data == CLIP and video.duration == 4.0
    assert len(gemini.requests) == 1  # started done: no poll, no download
    assert gemini.requests[0].body["parameters"]["durationSeconds"] == 4


@pytest.mark.parametrize(
    ("fields", "plan"),
    [
        ({"duration": 3.0}, (4.0, "16:9", "720p", 1280, 720)),
        ({"duration": 5.0}, (6.0, "16:9", "720p", 1280, 720)),
        ({"duration": 6.0}, (6.0, "16:9", "720p", 1280, 720)),
        ({"duration": 20.0}, (8.0, "16:9", "720p", 1280, 720)),
        ({"width": 1080, "height": 1920, "duration": 4.0}, (8.0, "9:16", "1080p", 1080, 1920)),
        ({"width": 720, "height": 1280, "duration": 4.0}, (4.0, "9:16", "720p", 720, 1280)),
    ],
)
def test_veo_is_asked_for_a_length_and_shape_it_makes(
    fields: dict[str, Any], plan: tuple[float, str, str, int, int]
) -> None:
    model = GeminiVideoModel(KEY)
    got = model.plan(clip_request(**fields))
    assert (got.duration, got.aspect_ratio, got.resolution, got.width, got.height) == plan
    assert model.estimate(clip_request(**fields)) == pytest.approx(plan[0] * 0.15)


def test_a_model_without_morphs_drops_the_last_frame() -> None:
    model = GeminiVideoModel(KEY, model="veo-3.0-fast-generate-001")
    plan = model.plan(clip_request(last_frame=png(), duration=4.0))
    assert not plan.last_frame and plan.duration == 4.0
    body = model._body(clip_request(last_frame=png(), duration=4.0), plan)
    assert "lastFrame" not in body["instances"][0]


def test_a_clip_the_filters_removed_is_a_content_rejection(gemini: FakeGemini) -> None:
    said = "Video generation was blocked because the input image may show a real person."
    gemini.answer(Reply(body=operation(OPERATION)))
    gemini.reply = Reply(body=operation(OPERATION, done=True, filtered=[said]))
    err = fails(lambda: video_model(gemini).generate(clip_request()))
    assert isinstance(err, ContentRejected) and err.details["reason"] == said
    assert "filtered the clip out" in err.message
    assert not any("download" in r.path for r in gemini.requests)


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        ({"code": 3, "message": "durationSeconds must be 8 for this request"}, InvalidInput),
        ({"code": 13, "message": "Internal error"}, ProviderUnavailable),
        ({"code": 8, "message": "Quota exceeded"}, RateLimited),
        ({"code": 3, "message": "The prompt violates the usage guidelines."}, ContentRejected),
    ],
)
def test_a_failed_operation_is_translated(
    gemini: FakeGemini, error: dict[str, Any], kind: type[StudioError]
) -> None:
    gemini.answer(Reply(body=operation(OPERATION)))
    gemini.reply = Reply(body=operation(OPERATION, done=True, error=error))
    err = fails(lambda: video_model(gemini).generate(clip_request()))
    assert type(err) is kind and error["message"] in err.message


def test_an_operation_that_never_finishes_times_out(gemini: FakeGemini) -> None:
    gemini.reply = Reply(body=operation(OPERATION))
    began = time.monotonic()
    err = fails(lambda: video_model(gemini, max_wait=0.3).generate(clip_request()))
    assert time.monotonic() - began < 5.0
    assert isinstance(err, ProviderTimeout) and err.retryable
    assert "did not finish the clip within 0.3 s" in err.message
    assert len(gemini.requests) >= 3  # it did poll


def test_a_started_operation_without_a_name_is_a_provider_error(gemini: FakeGemini) -> None:
    gemini.reply = Reply(body={"done": False})
    err = fails(lambda: video_model(gemini).generate(clip_request()))
    assert type(err) is ProviderError and "no name" in err.message


def test_a_first_frame_that_is_not_a_picture_is_refused_before_sending(gemini: FakeGemini) -> None:
    err = fails(lambda: video_model(gemini).generate(clip_request(first_frame=b"nope")))
    assert isinstance(err, InvalidInput) and "first frame" in err.message
    assert gemini.requests == []


# ---- failures every model shares ----------------------------------------------------------------

CALLS: dict[str, Callable[[FakeGemini, float], Coroutine[Any, Any, Any]]] = {
    "text": lambda fake, timeout: text_model(fake, timeout=timeout).structured("x", Verdict),
    "chat": lambda fake, timeout: text_model(fake, timeout=timeout).chat(
        [ChatMessage(role="user", text="x")], [SET_MOOD]
    ),
    "planner": lambda fake, timeout: GeminiPlanner(text_model(fake, timeout=timeout)).concepts(
        BRIEF, SONG
    ),
    "image": lambda fake, timeout: image_model(fake, timeout=timeout).generate(
        ImageRequest(prompt="x", width=64, height=64)
    ),
    "video": lambda fake, timeout: video_model(fake, timeout=timeout).generate(clip_request()),
}


@pytest.mark.parametrize("kind", sorted(CALLS))
def test_a_rate_limit_is_retryable_after_the_delay_the_service_gives(
    gemini: FakeGemini, kind: str
) -> None:
    gemini.reply = Reply(
        429,
        google_error(429, "RESOURCE_EXHAUSTED", "Resource has been exhausted."),
        headers={"Retry-After": "13"},
    )
    err = fails(lambda: CALLS[kind](gemini, 10.0))
    assert isinstance(err, RateLimited) and err.retryable and err.retry_after == 13.0
    assert len(gemini.requests) == 1  # the SDK does not retry: the job runner does


@pytest.mark.parametrize("kind", sorted(CALLS))
def test_a_server_error_is_retryable(gemini: FakeGemini, kind: str) -> None:
    gemini.reply = Reply(500, google_error(500, "INTERNAL", "An internal error has occurred."))
    err = fails(lambda: CALLS[kind](gemini, 10.0))
    assert isinstance(err, ProviderUnavailable) and err.retryable and "HTTP 500" in err.message


@pytest.mark.parametrize("kind", sorted(CALLS))
def test_a_slow_answer_times_out(gemini: FakeGemini, kind: str) -> None:
    gemini.reply = Reply(body=content("late"), delay=10.0)
    began = time.monotonic()
    err = fails(lambda: CALLS[kind](gemini, 0.5))
    assert time.monotonic() - began < 5.0
    assert isinstance(err, ProviderTimeout) and "did not answer within 0.5 s" in err.message


@pytest.mark.parametrize("kind", sorted(CALLS))
def test_a_body_that_is_not_json_is_a_provider_error(gemini: FakeGemini, kind: str) -> None:
    gemini.reply = Reply(body=b"this is not json")
    err = fails(lambda: CALLS[kind](gemini, 10.0))
    assert type(err) is ProviderError and "not JSON" in err.message


@pytest.mark.parametrize("kind", sorted(CALLS))
def test_a_refused_key_is_unauthorized_and_never_shown(gemini: FakeGemini, kind: str) -> None:
    gemini.reply = Reply(
        400,
        google_error(
            400,
            "INVALID_ARGUMENT",
            f"API key not valid. Please pass a valid API key. ({KEY})",
            {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID"},
        ),
    )
    err = fails(lambda: CALLS[kind](gemini, 10.0))  # the key is in no str, repr or payload
    assert isinstance(err, Unauthorized) and "***" in err.message


def test_the_key_is_in_no_repr(gemini: FakeGemini) -> None:
    for made in (
        text_model(gemini),
        planner(gemini),
        image_model(gemini),
        video_model(gemini),
    ):
        assert KEY not in repr(made) and KEY not in str(made)
        assert "model=" in repr(made)


def test_a_model_needs_a_key_a_model_name_and_sane_times() -> None:
    for cls in (GeminiTextModel, GeminiImageModel, GeminiVideoModel):
        with pytest.raises(Unauthorized):
            cls(" ")
        with pytest.raises(InvalidInput, match="model name"):
            cls(KEY, model="veo 3 please")
        with pytest.raises(InvalidInput, match="timeout"):
            cls(KEY, timeout=0)
    with pytest.raises(InvalidInput, match="poll_interval"):
        GeminiVideoModel(KEY, poll_interval=-1)


# ---- cards, the registry and the protocols ------------------------------------------------------


def test_the_cards_declare_published_prices_and_clip_lengths() -> None:
    text = GeminiTextModel(KEY).card
    assert (text.role, text.name, text.model) == ("text", "gemini", "gemini-2.5-flash")
    assert text.usd_per_call == pytest.approx((3000 * 0.30 + 1500 * 2.50) / 1e6)
    assert text.needs_key == "GEMINI_API_KEY"
    assert GeminiTextModel(KEY, model="gemini-2.5-pro").card.usd_per_call > text.usd_per_call
    lite = GeminiTextModel(KEY, model="gemini-2.5-flash-lite").card.usd_per_call
    assert lite < text.usd_per_call
    image = GeminiImageModel(KEY).card
    assert (image.role, image.usd_per_call, image.usd_per_second) == ("image", 0.039, 0.0)
    assert GeminiImageModel(KEY, model="gemini-3-pro-image-preview").card.usd_per_call == 0.134
    video = GeminiVideoModel(KEY).card
    assert (video.role, video.usd_per_call, video.usd_per_second) == ("video", 0.0, 0.15)
    assert video.clip_lengths == [4.0, 6.0, 8.0] and video.cost(8) == pytest.approx(1.2)
    assert GeminiVideoModel(KEY, model="veo-3.1-generate-preview").card.usd_per_second == 0.40
    assert GeminiVideoModel(KEY, model="veo-2.0-generate-001").card.clip_lengths == [5, 6, 7, 8]
    unknown = GeminiVideoModel(KEY, model="veo-9-experimental").card.usd_per_second
    assert unknown == max(0.15, 0.40, 0.35)  # never underestimated
    assert GeminiPlanner(GeminiTextModel(KEY)).estimate(48) > GeminiPlanner(
        GeminiTextModel(KEY)
    ).estimate(0)


def test_the_registry_builds_each_gemini_model_from_the_environment(
    gemini: FakeGemini, tmp_path: Any
) -> None:
    environ = {
        "GEMINI_API_KEY": KEY,
        "STUDIO_GEMINI_BASE_URL": gemini.base_url,
        "STUDIO_HOME": str(tmp_path),
    }
    text = resolve_text_model("gemini", environ=environ)
    assert isinstance(text, GeminiTextModel) and isinstance(text, TextModel)
    assert text.base_url == gemini.base_url and text.model == DEFAULT_TEXT_MODEL
    made = resolve_planner("gemini:gemini-2.5-pro", environ=environ)
    assert isinstance(made, GeminiPlanner) and isinstance(made, Planner)
    assert made.model == "gemini-2.5-pro"
    image = resolve_image_model("gemini", environ=environ)
    assert isinstance(image, GeminiImageModel) and isinstance(image, ImageModel)
    video = resolve_video_model("gemini:veo-3.1-generate-preview", environ=environ)
    assert isinstance(video, GeminiVideoModel) and isinstance(video, VideoModel)
    assert video.model == "veo-3.1-generate-preview" and video.card.usd_per_second == 0.40
    # with only the key set, Gemini is the default writer and painter
    assert isinstance(resolve_text_model(environ=environ), GeminiTextModel)
    assert isinstance(resolve_image_model(environ=environ), GeminiImageModel)

    gemini.reply = json_answer({"title": "t", "score": 1, "tags": []})
    assert run(text.structured("x", Verdict)).title == "t"  # it talks to the fake
    assert gemini.requests[0].headers["x-goog-api-key"] == KEY


@pytest.mark.parametrize(
    ("resolve", "says"),
    [
        (resolve_text_model, "writing with Gemini"),
        (resolve_planner, "planning with Gemini"),
        (resolve_image_model, "painting with Gemini"),
        (resolve_video_model, "making clips with Veo"),
    ],
)
def test_without_a_key_the_registry_refuses_and_says_what_else_to_do(
    resolve: Callable[..., Any], says: str
) -> None:
    for environ in ({}, {"GEMINI_API_KEY": "  ", "GOOGLE_API_KEY": ""}):
        with pytest.raises(Unauthorized) as info:
            resolve("gemini", environ=environ)
        err = info.value
        assert says in err.message and "Gemini API key" in err.message
        assert err.hint is not None and "GEMINI_API_KEY" in err.hint and "local" in err.hint


# ---- the real service, on request ---------------------------------------------------------------


@pytest.mark.live
@pytest.mark.skipif(
    not os.environ.get("GEMINI_API_KEY"), reason="set GEMINI_API_KEY to call the real Gemini API"
)
def test_live_gemini_answers_in_the_schema() -> None:
    model = resolve_text_model("gemini")
    verdict = asyncio.run(
        model.structured(
            "Give a title for a music video about a night drive, a score from 1 to 10 for how "
            "dark it is, and three tags.",
            Verdict,
            seed=1,
        )
    )
    assert verdict.title.strip() and 1 <= verdict.score <= 10 and verdict.tags


def test_a_veo_operation_left_by_a_crashed_attempt_is_waited_for_not_started_again(
    gemini: FakeGemini,
) -> None:
    from studio.providers import journaled
    from tests.providers.journal import Journal

    done = Reply(body=operation(OPERATION, done=True, videos=[{"uri": FILE_URI}]))
    clip = Reply(body=CLIP, content_type="video/mp4")
    gemini.answer(Reply(body=operation(OPERATION)), done, clip)
    first = Journal()
    with journaled(first):
        run(video_model(gemini).generate(clip_request(first_frame=png())))
    assert first.kept == [OPERATION]  # kept before the wait

    gemini.reset()
    gemini.answer(done, clip)
    with journaled(Journal(earlier=OPERATION)):
        video = run(video_model(gemini).generate(clip_request(first_frame=png())))
    assert video.data == CLIP
    # no second start (the paid call): the operation was polled, then the clip downloaded
    assert [r.method for r in gemini.requests] == ["GET", "GET"]
    assert gemini.requests[0].path == f"/v1beta/{OPERATION}"
