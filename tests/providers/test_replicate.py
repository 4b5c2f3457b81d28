"""The Replicate providers: the real replicate SDK against a fake Replicate on 127.0.0.1.

The fake (``tests/providers/fake_replicate.py``) answers as the documented HTTP API does,
serves real PNG, MP4 and WAV outputs, records every request and counts the predictions
created (the paid calls); each test scripts the trouble it needs.
"""

from __future__ import annotations

import asyncio
import base64
import importlib
import io
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Coroutine, Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from studio.errors import (
    ContentRejected,
    InvalidInput,
    PayloadTooLarge,
    ProviderError,
    ProviderTimeout,
    ProviderUnavailable,
    RateLimited,
    StudioError,
    Unauthorized,
)
from studio.model import CameraMove
from studio.providers import (
    GeneratedAudio,
    GeneratedImage,
    GeneratedVideo,
    ImageModel,
    ImageRequest,
    MusicModel,
    MusicRequest,
    VideoModel,
    VideoRequest,
    journaled,
    resolve_image_model,
    resolve_music_model,
    resolve_video_model,
)
from studio.providers.replicate import (
    DATA_URI_MAX_BYTES,
    DEFAULT_IMAGE_MODEL,
    DEFAULT_MUSIC_MODEL,
    DEFAULT_VIDEO_MODEL,
    REFERENCE_IMAGE_MODEL,
    ReplicateImageModel,
    ReplicateMusicModel,
    ReplicateVideoModel,
)
from tests.providers.fake_replicate import FakeReplicate, mp4_bytes, png_bytes, wav_bytes
from tests.providers.journal import Journal

KEY = "r8_FAKEtestToken0123456789abcdefghijklmnop"
ROOT = Path(__file__).resolve().parents[2]
SDXL = "7762fd07cf82c948538e41f63f77d685e02b063e37e496e96eefd46c929f9bdc"
MUSICGEN = "671ac645ce5e552cc63a54a2bbff63fcf798043055d2dac5fc9e36a837eedcfb"


def _jpeg(width: int = 40, height: int = 30) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 40, 90)).save(out, format="JPEG")
    return out.getvalue()


FIRST = png_bytes(32, 18)
LAST = _jpeg()
CHARACTER = png_bytes(20, 30)


# ---- fixtures and helpers ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def server() -> Iterator[FakeReplicate]:
    with FakeReplicate.running() as fake:
        yield fake


@pytest.fixture
def fake(server: FakeReplicate) -> Iterator[FakeReplicate]:
    """The fake, fresh for this test: no requests, no scripts, two polls to finish."""
    server.reset()
    server.polls = 2
    server.token = None
    yield server
    server.release.set()  # a slow reply still waiting ends now


def fast(fake: FakeReplicate, **options: Any) -> dict[str, Any]:
    return {"base_url": fake.base_url, "poll_interval": 0.01, "timeout": 20.0} | options


def images(fake: FakeReplicate, **options: Any) -> ReplicateImageModel:
    return ReplicateImageModel(KEY, **fast(fake, **options))


def videos(fake: FakeReplicate, **options: Any) -> ReplicateVideoModel:
    return ReplicateVideoModel(KEY, **fast(fake, **options))


def music(fake: FakeReplicate, **options: Any) -> ReplicateMusicModel:
    return ReplicateMusicModel(KEY, **fast(fake, **options))


def picture(**kw: Any) -> ImageRequest:
    return ImageRequest(**({"prompt": "a lighthouse at dusk", "width": 1920, "height": 1080} | kw))


def clip(**kw: Any) -> VideoRequest:
    defaults = {"first_frame": FIRST, "duration": 4.2, "width": 1920, "height": 1080}
    return VideoRequest(**(defaults | kw))


def run(coro: Coroutine[Any, Any, Any]) -> Any:
    return asyncio.run(coro)


def fails(make: Callable[[], Coroutine[Any, Any, Any]]) -> StudioError:
    """The studio error ``make()`` ends in; the token is in none of its forms."""
    with pytest.raises(StudioError) as info:
        asyncio.run(make())
    err = info.value
    for text in (str(err), repr(err), json.dumps(err.to_payload(), default=str)):
        assert KEY not in text
        assert "FAKEtestToken" not in text
    return err


def input_of(fake: FakeReplicate) -> dict[str, Any]:
    [create] = fake.created
    return create.body["input"]  # type: ignore[no-any-return]


def data_uri_bytes(uri: str, media_type: str) -> bytes:
    prefix = f"data:{media_type};base64,"
    assert uri.startswith(prefix), uri[:60]
    return base64.b64decode(uri[len(prefix) :])


# ---- images ------------------------------------------------------------------------------------


def test_an_image_from_words_runs_flux_schnell_and_downloads_the_png(fake: FakeReplicate) -> None:
    model = images(fake)
    request = picture(seed=42, palette=["#112233", "#ffcc00"], shot="wide")
    result = run(model.generate(request))

    assert isinstance(result, GeneratedImage)
    assert result.data == png_bytes(128, 72)  # the fake paints 16:9 at 128x72
    assert (result.media_type, result.width, result.height) == ("image/png", 128, 72)
    assert (result.provider, result.model, result.seed) == ("replicate", DEFAULT_IMAGE_MODEL, 42)
    assert result.cost_usd == model.card.usd_per_call == 0.003

    [create] = fake.of_kind("create")
    assert create.path == "/v1/models/black-forest-labs/flux-schnell/predictions"
    assert create.headers["authorization"] == f"Bearer {KEY}"
    sent = create.body["input"]
    assert sent["aspect_ratio"] == "16:9" and sent["seed"] == 42
    assert sent["num_outputs"] == 1 and sent["output_format"] == "png"
    assert sent["prompt"].startswith("a lighthouse at dusk")
    assert "wide shot" in sent["prompt"] and "#112233, #ffcc00" in sent["prompt"]
    assert "input_image" not in sent
    assert fake.predictions_created == 1
    assert len(fake.of_kind("poll")) == 2  # starting -> processing -> succeeded
    [download] = fake.of_kind("download")
    assert "authorization" not in download.headers  # the token stays with the API


def test_a_reference_image_sends_the_request_to_kontext(fake: FakeReplicate) -> None:
    model = images(fake)
    request = picture(references=[CHARACTER, png_bytes(8, 8)], width=1024, height=1024)
    assert model.estimate(request) == 0.04
    result = run(model.generate(request))

    assert result.model == REFERENCE_IMAGE_MODEL and result.cost_usd == 0.04
    assert (result.width, result.height) == (8, 8)  # 1:1 at the fake's scale
    [create] = fake.created
    assert create.path == f"/v1/models/{REFERENCE_IMAGE_MODEL}/predictions"
    sent = create.body["input"]
    assert data_uri_bytes(sent["input_image"], "image/png") == CHARACTER  # the first reference
    assert sent["aspect_ratio"] == "1:1" and sent["output_format"] == "png"
    assert "a lighthouse at dusk" in sent["prompt"] and "character or product" in sent["prompt"]
    assert fake.predictions_created == 1


def test_flux_dev_is_chosen_by_name(fake: FakeReplicate) -> None:
    model = images(fake, model="black-forest-labs/flux-dev")
    result = run(model.generate(picture(width=768, height=1024)))
    assert result.model == "black-forest-labs/flux-dev" and result.cost_usd == 0.025
    [create] = fake.created
    assert create.path == "/v1/models/black-forest-labs/flux-dev/predictions"
    assert create.body["input"]["aspect_ratio"] == "3:4"
    assert create.body["input"]["num_inference_steps"] == 28


def test_sdxl_runs_by_version_with_its_size_and_negative_prompt(fake: FakeReplicate) -> None:
    model = images(fake, model="stability-ai/sdxl")
    result = run(model.generate(picture(negative="blurry, text", seed=7)))
    [create] = fake.created
    assert create.path == "/v1/predictions" and create.body["version"] == SDXL
    sent = create.body["input"]
    assert (sent["width"], sent["height"]) == (1024, 576)
    assert sent["negative_prompt"] == "blurry, text" and sent["seed"] == 7
    assert (result.width, result.height) == (128, 72)
    assert result.model == "stability-ai/sdxl"


def test_a_large_reference_is_uploaded_rather_than_inlined(fake: FakeReplicate) -> None:
    big = png_bytes(8, 8) + b"\0" * (DATA_URI_MAX_BYTES + 10)
    run(images(fake).generate(picture(references=[big])))
    [upload] = fake.uploads.values()
    assert upload[0] == big and upload[2] == "image/png"
    sent = input_of(fake)
    assert sent["input_image"].startswith(f"{fake.base_url}/v1/files/")


# ---- video -------------------------------------------------------------------------------------


def test_a_clip_sends_the_first_and_last_frame_to_kling(fake: FakeReplicate) -> None:
    model = videos(fake)
    request = clip(last_frame=LAST, prompt="she turns", negative="blur", camera=CameraMove.PUSH_IN)
    result = run(model.generate(request))

    assert isinstance(result, GeneratedVideo)
    assert result.data == mp4_bytes(5)
    assert result.media_type == "video/mp4"
    # read from the MP4 itself: the fake's clip is 64x36 at 8 fps
    assert (result.width, result.height, result.fps) == (64, 36, 8.0)
    assert result.duration == pytest.approx(5.0, abs=0.01)
    assert result.seed is None  # Kling takes no seed
    assert (result.provider, result.model) == ("replicate", DEFAULT_VIDEO_MODEL)
    assert result.cost_usd == pytest.approx(0.45)

    [create] = fake.created
    assert create.path == f"/v1/models/{DEFAULT_VIDEO_MODEL}/predictions"
    sent = create.body["input"]
    assert data_uri_bytes(sent["start_image"], "image/png") == FIRST
    assert data_uri_bytes(sent["end_image"], "image/jpeg") == LAST
    assert sent["duration"] == 5 and sent["mode"] == "pro"
    assert sent["negative_prompt"] == "blur"
    assert sent["prompt"].startswith("she turns") and "pushes in" in sent["prompt"]


def test_a_longer_clip_uses_the_next_native_length(fake: FakeReplicate) -> None:
    model = videos(fake)
    result = run(model.generate(clip(duration=7.5)))
    assert input_of(fake)["duration"] == 10
    assert "end_image" not in input_of(fake)
    assert result.duration == pytest.approx(10.0, abs=0.01)
    assert result.cost_usd == pytest.approx(0.9)


def test_kling_standard_mode_is_cheaper_and_cannot_take_a_last_frame(fake: FakeReplicate) -> None:
    model = videos(fake, mode="standard")
    assert model.card.usd_per_second == 0.05
    run(model.generate(clip(last_frame=LAST)))
    sent = input_of(fake)
    assert sent["mode"] == "standard" and "end_image" not in sent


def test_seedance_takes_the_frames_the_seed_and_a_fixed_camera(fake: FakeReplicate) -> None:
    model = videos(fake, model="bytedance/seedance-1-lite")
    result = run(model.generate(clip(last_frame=LAST, seed=99, camera=CameraMove.STATIC)))
    sent = input_of(fake)
    assert data_uri_bytes(sent["image"], "image/png") == FIRST
    assert data_uri_bytes(sent["last_frame_image"], "image/jpeg") == LAST
    assert sent["camera_fixed"] is True and sent["seed"] == 99 and sent["duration"] == 5
    assert result.seed == 99 and result.model == "bytedance/seedance-1-lite"
    assert result.cost_usd == pytest.approx(0.18)


def test_a_frame_that_is_not_an_image_is_refused_before_anything_is_sent(
    fake: FakeReplicate,
) -> None:
    err = fails(lambda: videos(fake).generate(clip(first_frame=b"not an image at all")))
    assert isinstance(err, InvalidInput) and "first frame" in err.message
    err = fails(lambda: videos(fake).generate(clip(last_frame=b"GIF? no")))
    assert isinstance(err, InvalidInput) and "last frame" in err.message
    assert fake.requests == []


# ---- music -------------------------------------------------------------------------------------


def test_music_runs_musicgen_by_version_and_reads_the_wav(fake: FakeReplicate) -> None:
    model = music(fake)
    result = run(model.generate(MusicRequest(prompt="dreamy synth-pop", duration=2.5, seed=3)))

    assert isinstance(result, GeneratedAudio)
    assert result.data == wav_bytes(3)
    assert (result.media_type, result.duration, result.sample_rate) == ("audio/wav", 3.0, 8000)
    assert (result.model, result.seed) == (DEFAULT_MUSIC_MODEL, 3)
    assert result.cost_usd == pytest.approx(0.01 + 0.005 * 3)
    [create] = fake.created
    assert create.path == "/v1/predictions" and create.body["version"] == MUSICGEN
    sent = create.body["input"]
    assert sent == {
        "prompt": "dreamy synth-pop",
        "model_version": "stereo-large",
        "duration": 3,
        "output_format": "wav",
        "normalization_strategy": "peak",
        "seed": 3,
    }


def test_music_longer_than_musicgen_makes_is_refused_before_sending(fake: FakeReplicate) -> None:
    err = fails(lambda: music(fake).generate(MusicRequest(prompt="an epic", duration=400)))
    assert isinstance(err, InvalidInput) and "300 s" in err.message
    assert fake.requests == []


# ---- what the API answers, mapped --------------------------------------------------------------


def test_a_rate_limit_carries_retry_after_and_the_sdk_does_not_retry(fake: FakeReplicate) -> None:
    fake.fail_next(3, status=429, retry_after=0.2)
    err = fails(lambda: images(fake).generate(picture()))
    assert isinstance(err, RateLimited) and err.retryable
    assert err.retry_after == 0.2
    assert len(fake.requests) == 1 and fake.predictions_created == 0


def test_a_rate_limit_date_and_a_throttle_message_give_the_wait(fake: FakeReplicate) -> None:
    when = datetime.now(UTC) + timedelta(seconds=30)
    fake.fail_next(status=429, retry_after=format_datetime(when, usegmt=True))
    err = fails(lambda: images(fake).generate(picture()))
    assert isinstance(err, RateLimited) and err.retry_after is not None
    assert 20.0 < err.retry_after <= 30.0
    throttled = {
        "title": "Request was throttled",
        "detail": "Request was throttled. Expected available in 7 seconds.",
        "status": 429,
    }
    fake.fail_next(status=429, body=throttled)
    err = fails(lambda: images(fake).generate(picture()))
    assert isinstance(err, RateLimited) and err.retry_after == 7.0
    assert "throttled" in err.message
    fake.fail_next(status=429, body={"detail": "slow down"})
    err = fails(lambda: images(fake).generate(picture()))
    assert isinstance(err, RateLimited) and err.retry_after is None


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_a_server_error_is_retryable_and_tried_once(fake: FakeReplicate, status: int) -> None:
    fake.fail_next(status=status, body={"detail": "The service is overloaded."})
    err = fails(lambda: videos(fake).generate(clip()))
    assert isinstance(err, ProviderUnavailable) and err.retryable
    assert f"HTTP {status}" in err.message and "overloaded" in err.message
    assert len(fake.requests) == 1 and fake.predictions_created == 0


def test_an_html_error_page_is_still_a_server_error(fake: FakeReplicate) -> None:
    fake.fail_next(status=502, body=b"<html><body>Bad Gateway</body></html>")
    err = fails(lambda: images(fake).generate(picture()))
    assert isinstance(err, ProviderUnavailable) and "<html>" not in err.message


@pytest.mark.parametrize("status", [401, 403])
def test_a_refused_token_is_unauthorized_and_never_shown(fake: FakeReplicate, status: int) -> None:
    fake.fail_next(status=status, body={"detail": f"Invalid token {KEY}", "status": status})
    model = images(fake)
    err = fails(lambda: model.generate(picture()))  # checks str, repr and payload
    assert isinstance(err, Unauthorized) and not err.retryable
    assert err.hint is not None and "REPLICATE_API_TOKEN" in err.hint
    assert "Invalid token" in err.message and "***" in err.message
    assert KEY not in repr(model) and KEY not in str(model)


def test_a_wrong_token_is_refused_by_the_service(fake: FakeReplicate) -> None:
    fake.token = "r8_theRightOneIsNotThis000000000000000000"
    err = fails(lambda: music(fake).generate(MusicRequest(prompt="la", duration=1)))
    assert isinstance(err, Unauthorized) and "valid authentication token" in err.message
    assert fake.predictions_created == 0


def test_an_unpaid_account_is_a_provider_error_with_a_billing_hint(fake: FakeReplicate) -> None:
    fake.fail_next(
        status=402,
        body={"title": "Insufficient credit", "detail": "You have insufficient credit."},
    )
    err = fails(lambda: images(fake).generate(picture()))
    assert type(err) is ProviderError and not err.retryable
    assert "insufficient credit" in err.message
    assert err.hint is not None and "billing" in err.hint


@pytest.mark.parametrize("status", [400, 422])
def test_a_refused_input_is_invalid_input(fake: FakeReplicate, status: int) -> None:
    detail = "- input.aspect_ratio: aspect_ratio must be one of the following: ..."
    fake.fail_next(status=status, body={"title": "Input validation failed", "detail": detail})
    err = fails(lambda: images(fake).generate(picture()))
    assert type(err) is InvalidInput and "aspect_ratio must be one of" in err.message


def test_an_input_refused_on_safety_grounds_is_content_rejected(fake: FakeReplicate) -> None:
    fake.fail_next(status=422, body={"detail": "The prompt was flagged as sensitive (E005)"})
    err = fails(lambda: images(fake).generate(picture()))
    assert isinstance(err, ContentRejected) and "E005" in err.details["reason"]


def test_an_unknown_model_version_is_invalid_input(fake: FakeReplicate) -> None:
    fake.fail_next(status=404, body={"title": "Not found", "detail": "The version does not exist"})
    err = fails(lambda: music(fake).generate(MusicRequest(prompt="la", duration=1)))
    assert type(err) is InvalidInput and "does not exist" in err.message


def test_a_body_too_large_is_payload_too_large(fake: FakeReplicate) -> None:
    fake.fail_next(status=413, body=b"Request Entity Too Large")
    assert isinstance(fails(lambda: videos(fake).generate(clip())), PayloadTooLarge)


def test_a_slow_create_times_out(fake: FakeReplicate) -> None:
    fake.delay_next(10.0, on="create")
    began = time.monotonic()
    err = fails(lambda: images(fake, timeout=0.5).generate(picture()))
    assert time.monotonic() - began < 5.0
    assert isinstance(err, ProviderTimeout) and err.retryable
    assert "0.5 s" in err.message


def test_a_slow_request_times_out_on_the_request_limit(fake: FakeReplicate) -> None:
    fake.delay_next(10.0, on="create")
    err = fails(lambda: images(fake, request_timeout=0.3).generate(picture()))
    assert isinstance(err, ProviderTimeout) and err.retryable


def test_a_prediction_that_never_ends_times_out_and_is_cancelled(fake: FakeReplicate) -> None:
    fake.polls = 100_000
    err = fails(lambda: videos(fake, timeout=0.4).generate(clip()))
    assert isinstance(err, ProviderTimeout)
    [prediction_id] = fake.predictions
    assert fake.canceled == [prediction_id]
    assert fake.predictions[prediction_id].status == "canceled"


def test_a_cancelled_job_cancels_its_prediction(fake: FakeReplicate) -> None:
    fake.polls = 100_000
    model = videos(fake)

    async def scenario() -> None:
        task = asyncio.create_task(model.generate(clip()))
        while not fake.of_kind("poll"):
            await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    run(scenario())
    [prediction_id] = fake.predictions
    assert fake.canceled == [prediction_id]


def test_an_unreachable_service_is_retryable() -> None:
    with ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler) as closed:
        port = closed.server_address[1]
    model = ReplicateImageModel(KEY, base_url=f"http://127.0.0.1:{port}", timeout=5)
    err = fails(lambda: model.generate(picture()))
    assert isinstance(err, ProviderUnavailable) and "cannot be reached" in err.message


@pytest.mark.parametrize(
    "error",
    [
        "NSFW content detected. Try running it again, or try a different prompt.",
        "The input or output was flagged as sensitive. Please try again with different "
        "inputs. (E005)",
        "Prediction failed: E005",
    ],
)
def test_a_safety_refusal_is_content_rejected(fake: FakeReplicate, error: str) -> None:
    fake.prediction_fails(error)
    err = fails(lambda: images(fake).generate(picture()))
    assert isinstance(err, ContentRejected) and not err.retryable
    assert err.details["reason"] == error
    assert error in err.message
    assert fake.predictions_created == 1


def test_another_failed_prediction_is_a_provider_error_scrubbed_and_short(
    fake: FakeReplicate,
) -> None:
    fake.prediction_fails(f"CUDA out of memory. Tried to allocate {'x' * 2000} {KEY}")
    err = fails(lambda: videos(fake).generate(clip()))
    assert type(err) is ProviderError and not err.retryable
    assert "CUDA out of memory" in err.message
    assert len(err.message) < 400


def test_a_prediction_canceled_elsewhere_is_a_provider_error(fake: FakeReplicate) -> None:
    fake.prediction_fails("", status="canceled")
    err = fails(lambda: images(fake).generate(picture()))
    assert type(err) is ProviderError and "canceled" in err.message


@pytest.mark.parametrize(
    ("script", "why"),
    [
        (lambda f: f.fail_next(status=200, body=b"{not json", on="create"), "malformed"),
        (lambda f: f.fail_next(status=201, body={"id": "abc"}, on="create"), "malformed"),
        (lambda f: f.fail_next(status=200, body=b"[]", on="poll"), "malformed"),
        (lambda f: f.prediction_outputs(None), "there is no output"),
        (lambda f: f.prediction_outputs(42), "the output is a int"),
        (lambda f: f.prediction_outputs(["not a url"]), "no file URL"),
        (lambda f: f.prediction_outputs("data:image/png;base64,@@@"), "not base64"),
    ],
)
def test_a_malformed_reply_is_a_provider_error(
    fake: FakeReplicate, script: Callable[[FakeReplicate], None], why: str
) -> None:
    script(fake)
    err = fails(lambda: images(fake).generate(picture()))
    assert type(err) is ProviderError and not err.retryable
    assert "malformed reply" in err.message and why in err.message


def test_an_output_that_is_not_a_picture_is_malformed(fake: FakeReplicate) -> None:
    wav = base64.b64encode(wav_bytes(1)).decode()
    fake.prediction_outputs(f"data:audio/wav;base64,{wav}")
    err = fails(lambda: images(fake).generate(picture()))
    assert type(err) is ProviderError and "not a picture (audio/wav)" in err.message


def test_a_data_uri_output_is_decoded(fake: FakeReplicate) -> None:
    png = png_bytes(10, 5)
    fake.prediction_outputs([f"data:image/png;base64,{base64.b64encode(png).decode()}"])
    result = run(images(fake).generate(picture()))
    assert result.data == png and (result.width, result.height) == (10, 5)


# ---- polls and downloads are free: tried again, within limits ----------------------------------


def test_a_failed_poll_is_tried_again_without_paying_twice(fake: FakeReplicate) -> None:
    fake.fail_next(2, status=503, on="poll")
    fake.fail_next(1, status=429, retry_after=0.05, on="poll")
    result = run(images(fake).generate(picture()))
    assert result.width == 128
    assert fake.predictions_created == 1
    assert len(fake.of_kind("poll")) == 3 + 2


def test_polls_that_keep_failing_give_up_and_cancel_without_sdk_retries(
    fake: FakeReplicate,
) -> None:
    # the SDK's own transport would retry each GET up to ten times and succeed; the studio's
    # stops it, so exactly 1 + 5 polls reach the service before the prediction is given up
    fake.fail_next(6, status=503, on="poll")
    err = fails(lambda: images(fake).generate(picture()))
    assert isinstance(err, ProviderUnavailable)
    assert len(fake.of_kind("poll")) == 6
    assert fake.canceled == list(fake.predictions)


def test_a_failed_download_is_tried_again(fake: FakeReplicate) -> None:
    fake.fail_next(2, status=503, on="download")
    result = run(images(fake).generate(picture()))
    assert result.data == png_bytes(128, 72)
    assert len(fake.of_kind("download")) == 3 and fake.predictions_created == 1


def test_a_gone_output_is_a_provider_error(fake: FakeReplicate) -> None:
    fake.fail_next(status=404, body=b"Not Found", on="download")
    err = fails(lambda: images(fake).generate(picture()))
    assert type(err) is ProviderError and "cannot be fetched (HTTP 404)" in err.message
    assert err.hint is not None and "after an hour" in err.hint
    assert len(fake.of_kind("download")) == 1


# ---- cards, estimates, the registry ------------------------------------------------------------


def test_the_cards_declare_prices_lengths_and_the_key(fake: FakeReplicate) -> None:
    image, video, track = images(fake), videos(fake), music(fake)
    assert isinstance(image, ImageModel)
    assert isinstance(video, VideoModel)
    assert isinstance(track, MusicModel)
    for provider, role in ((image, "image"), (video, "video"), (track, "music")):
        assert provider.name == provider.card.name == "replicate"
        assert provider.card.role == role and provider.card.model == provider.model
        assert provider.card.needs_key == "REPLICATE_API_TOKEN"
    assert image.card.usd_per_call == 0.003 and image.estimate(picture()) == 0.003
    assert video.card.clip_lengths == [5.0, 10.0] and video.card.usd_per_second == 0.09
    assert video.estimate(clip(duration=3.0)) == pytest.approx(0.45)
    assert video.estimate(clip(duration=5.0)) == pytest.approx(0.45)
    assert video.estimate(clip(duration=5.5)) == pytest.approx(0.90)
    assert video.estimate(clip(duration=30.0)) == pytest.approx(0.90)  # the longest it makes
    assert track.estimate(MusicRequest(prompt="x", duration=30)) == pytest.approx(0.16)
    assert fake.requests == []  # estimating costs nothing


def test_estimates_match_what_generate_charges(fake: FakeReplicate) -> None:
    video = videos(fake, model="bytedance/seedance-1-lite")
    request = clip(duration=9.0)
    assert run(video.generate(request)).cost_usd == video.estimate(request)


def test_the_registry_builds_each_provider_from_the_environment(fake: FakeReplicate) -> None:
    environ = {"REPLICATE_API_TOKEN": KEY, "STUDIO_REPLICATE_BASE_URL": fake.base_url}
    image = resolve_image_model("replicate", environ=environ)
    assert isinstance(image, ReplicateImageModel) and image.model == DEFAULT_IMAGE_MODEL
    assert image.base_url == fake.base_url and KEY not in repr(image)
    dev = resolve_image_model("replicate:black-forest-labs/flux-dev", environ=environ)
    assert isinstance(dev, ReplicateImageModel) and dev.model == "black-forest-labs/flux-dev"
    video = resolve_video_model("replicate", environ=environ)
    assert isinstance(video, ReplicateVideoModel) and video.model == DEFAULT_VIDEO_MODEL
    track = resolve_music_model("replicate", environ=environ)
    assert isinstance(track, ReplicateMusicModel) and track.model == DEFAULT_MUSIC_MODEL
    pinned = resolve_music_model(f"replicate:meta/musicgen:{'ab' * 32}", environ=environ)
    assert isinstance(pinned, ReplicateMusicModel) and pinned.ref.version == "ab" * 32
    tuned = resolve_video_model(
        "replicate",
        environ=environ
        | {"STUDIO_REPLICATE_POLL_INTERVAL": "0.25", "STUDIO_REPLICATE_TIMEOUT": "60"},
    )
    assert isinstance(tuned, ReplicateVideoModel)
    assert (tuned.poll_interval, tuned.timeout) == (0.25, 60.0)


def test_the_registry_runs_the_model_it_built(fake: FakeReplicate) -> None:
    environ = {
        "REPLICATE_API_TOKEN": KEY,
        "STUDIO_REPLICATE_BASE_URL": fake.base_url,
        "STUDIO_REPLICATE_POLL_INTERVAL": "0.01",
    }
    model = resolve_image_model("replicate:black-forest-labs/flux-dev", environ=environ)
    run(model.generate(picture()))
    [create] = fake.created
    assert create.path == "/v1/models/black-forest-labs/flux-dev/predictions"


@pytest.mark.parametrize("resolve", [resolve_image_model, resolve_video_model, resolve_music_model])
def test_without_a_token_the_registry_says_which_variable_to_set(
    resolve: Callable[..., Any],
) -> None:
    for environ in ({}, {"REPLICATE_API_TOKEN": "   "}):
        with pytest.raises(Unauthorized) as info:
            resolve("replicate", environ=environ)
        assert "replicate" in info.value.message
        assert info.value.hint is not None and "REPLICATE_API_TOKEN" in info.value.hint


@pytest.mark.parametrize(
    ("name", "says"),
    [
        ("replicate:someone/unknown-model", "does not know"),
        ("replicate:not a model", "is not a Replicate model"),
        ("replicate:meta/musicgen:notahexversion", "is not a Replicate model"),
    ],
)
def test_an_unknown_or_malformed_model_is_refused(name: str, says: str) -> None:
    with pytest.raises(InvalidInput) as info:
        resolve_image_model(name, environ={"REPLICATE_API_TOKEN": KEY})
    assert says in info.value.message


def test_bad_settings_are_refused() -> None:
    environ = {"REPLICATE_API_TOKEN": KEY}
    with pytest.raises(InvalidInput, match="STUDIO_REPLICATE_POLL_INTERVAL"):
        resolve_image_model("replicate", environ=environ | {"STUDIO_REPLICATE_POLL_INTERVAL": "x"})
    with pytest.raises(InvalidInput, match="http"):
        resolve_image_model("replicate", environ=environ | {"STUDIO_REPLICATE_BASE_URL": "ftp:x"})
    with pytest.raises(InvalidInput, match="timeout"):
        ReplicateImageModel(KEY, timeout=0)
    with pytest.raises(InvalidInput, match="Kling mode"):
        ReplicateVideoModel(KEY, mode="ultra")
    with pytest.raises(InvalidInput, match="cannot put a reference"):
        ReplicateImageModel(KEY, reference_model="black-forest-labs/flux-dev")
    with pytest.raises(Unauthorized):
        ReplicateMusicModel("  ")


def test_public_surface_is_all() -> None:
    module = importlib.import_module("studio.providers.replicate")
    public = {
        n
        for n, v in vars(module).items()
        if not n.startswith("_") and not isinstance(v, type(importlib))
    }
    assert public == set(module.__all__), public ^ set(module.__all__)


# ---- the fake as a process (a later engine test counts paid calls this way) ---------------------


@pytest.mark.slow
def test_the_fake_runs_as_a_process_and_counts_paid_calls(tmp_path: Path) -> None:
    port_file = tmp_path / "fake.port"
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.providers.fake_replicate", "--port-file", str(port_file)],
        cwd=ROOT,
    )
    try:
        deadline = time.monotonic() + 30
        while not port_file.exists():
            assert proc.poll() is None, "the fake exited"
            assert time.monotonic() < deadline, "the fake did not write its port"
            time.sleep(0.05)
        base = f"http://127.0.0.1:{int(port_file.read_text())}"
        model = ReplicateImageModel(KEY, base_url=base, poll_interval=0.01, timeout=20)
        run(model.generate(picture()))
        assert httpx.get(f"{base}/_fake/stats").json()["predictions_created"] == 1
        httpx.post(f"{base}/_fake/fail", json={"status": 429, "retry_after": 3})
        err = fails(lambda: model.generate(picture()))
        assert isinstance(err, RateLimited) and err.retry_after == 3.0
        stats = httpx.get(f"{base}/_fake/stats").json()
        assert stats["predictions_created"] == 1 and stats["by_model"] == {DEFAULT_IMAGE_MODEL: 1}
    finally:
        proc.terminate()
        proc.wait(10)
    assert proc.returncode == 0


# ---- the real service, on request --------------------------------------------------------------


@pytest.mark.live
@pytest.mark.skipif(
    not os.environ.get("REPLICATE_API_TOKEN"),
    reason="set REPLICATE_API_TOKEN to call the real Replicate API (costs about $0.003)",
)
def test_live_flux_schnell_paints_one_picture() -> None:
    model = resolve_image_model("replicate:black-forest-labs/flux-schnell")
    result = run(model.generate(ImageRequest(prompt="a red apple", width=512, height=512)))
    assert result.media_type == "image/png" and result.width > 0 and result.height > 0
    assert result.cost_usd == 0.003


def test_a_prediction_left_by_a_crashed_attempt_is_waited_for_not_bought_again(
    fake: FakeReplicate,
) -> None:
    model = images(fake)
    first = Journal()
    with journaled(first):
        made = run(model.generate(picture(seed=7)))
    # a note before the create, the id before the wait
    assert fake.predictions_created == 1 and first.kept[-1] in fake.predictions
    assert len(first.kept) == 2 and first.kept[0].startswith("creating since ")

    again = Journal(earlier=first.kept[-1])  # the next attempt finds the handle
    with journaled(again):
        resumed = run(model.generate(picture(seed=7)))
    assert fake.predictions_created == 1  # nothing bought the second time
    assert resumed.data == made.data
    assert fake.of_kind("poll")[-1].path.endswith(first.kept[-1])

    # a handle is used once: a retry after it (the old call failed, say) starts afresh
    with journaled(again):
        run(model.generate(picture(seed=7)))
    assert fake.predictions_created == 2 and again.kept[-1] in fake.predictions


class Crash(BaseException):
    """The process dying: nothing after it runs."""


class CrashingJournal(Journal):
    """Dies when asked to keep a prediction id: the crash lands after the create's answer and
    before the id is kept."""

    async def remember(self, handle: str) -> None:
        if not handle.startswith("creating since "):
            raise Crash
        await super().remember(handle)


def test_a_prediction_whose_id_was_lost_in_a_crash_is_found_and_waited_for(
    fake: FakeReplicate,
) -> None:
    model = images(fake)
    run(model.generate(picture(seed=3)))  # older predictions with other inputs on the account
    crashed = CrashingJournal()
    with journaled(crashed), pytest.raises(Crash):
        run(model.generate(picture(seed=7)))
    lost = next(p for p in fake.predictions.values() if p.input.get("seed") == 7)
    run(model.generate(picture(seed=11)))  # and newer ones
    fake.page_size = 1  # the lookup reads page after page
    assert fake.predictions_created == 3 and crashed.kept[0].startswith("creating since ")

    with journaled(Journal(earlier=crashed.kept[0])):
        resumed = run(model.generate(picture(seed=7)))
    assert fake.predictions_created == 3  # found, not bought again
    assert fake.of_kind("poll")[-1].path.endswith(lost.id)
    assert resumed.data


def test_a_crash_before_the_create_was_sent_makes_it_once(fake: FakeReplicate) -> None:
    model = images(fake)
    run(model.generate(picture(seed=7)))
    # the same inputs, but made before the note was kept: another call's, not this one's
    earlier = next(iter(fake.predictions.values()))
    earlier.created_at = "2020-01-01T00:00:00.000000Z"
    note = Journal(earlier="creating since " + datetime.now(UTC).isoformat())
    with journaled(note):
        run(model.generate(picture(seed=7)))
    assert fake.predictions_created == 2 and len(fake.of_kind("list")) == 1
    assert note.kept[-1] in fake.predictions
