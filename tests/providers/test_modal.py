"""The Modal provider: the function bodies run here on the CPU, and the client is the real modal
SDK talking gRPC to a fake Modal on 127.0.0.1.

The fake is a grpclib server implementing modal's own service definition
(``modal_proto.api_grpc.ModalClientBase``), answering the RPCs the SDK makes to call a deployed
function and nothing else: ``ClientHello``, ``FunctionGet``, ``FunctionMap``,
``FunctionGetOutputs``, ``FunctionCallCancel``, and ``BlobCreate``/``BlobGet`` for payloads too
large to send inline (with a small HTTP store for the uploads and downloads they point at). It
runs a "deployed" function by calling the app's function locally (``.local()``), so a call goes
client -> gRPC -> the app's wiring -> the body -> back. Any other RPC answers ``UNIMPLEMENTED``
and is recorded, so a test sees if the SDK starts asking for something new.
"""

from __future__ import annotations

import abc
import asyncio
import contextlib
import hashlib
import importlib
import io
import json
import os
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import imageio_ffmpeg
import numpy as np
import pytest
from google.protobuf import empty_pb2
from grpclib import GRPCError, Status
from grpclib.server import Server, Stream
from modal._serialization import deserialize, serialize
from modal_proto import api_grpc, api_pb2
from PIL import Image

from studio.errors import (
    InvalidInput,
    ProviderError,
    ProviderTimeout,
    ProviderUnavailable,
    RateLimited,
    StudioError,
    Unauthorized,
)
from studio.model import CameraMove
from studio.providers import VideoModel, VideoRequest, choose, journaled, resolve_video_model
from studio.providers.modal import (
    DEPLOY_HINT,
    ModalConnection,
    ModalVideoModel,
    _app,
    _bodies,
    interpolate,
    upscale,
)
from studio.providers.modal._bodies import ClipRefused
from studio.providers.modal._card import MAX_CONTAINERS, USD_PER_CALL, USD_PER_CLIP_SECOND
from tests.providers.journal import Journal

TOKEN_ID = "ak-FAKEtokenid0123456789"
TOKEN_SECRET = "as-FAKEtokensecret0123456789"

pytestmark = pytest.mark.filterwarnings(
    # the fake runs the app's functions with .local(), which has no Modal volume to mount
    "ignore:The .* function is executing locally:UserWarning"
)


# ---- pictures and clips ------------------------------------------------------------------------


def png(width: int = 64, height: int = 48, colour: tuple[int, int, int] = (200, 40, 40)) -> bytes:
    """A picture with a block of colour on the left and a green mark, so moves are visible."""
    pixels = np.zeros((height, width, 3), dtype=np.uint8)
    pixels[:, : width // 2] = colour
    pixels[height // 5 : height // 2, width * 5 // 8 : width * 15 // 16] = (20, 200, 90)
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, format="PNG")
    return out.getvalue()


def noise_png(width: int, height: int) -> bytes:
    """A picture PNG cannot compress: large payloads both ways."""
    pixels = np.random.default_rng(7).integers(0, 256, (height, width, 3), dtype=np.uint8)
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, format="PNG", compress_level=1)
    return out.getvalue()


@dataclass
class Decoded:
    frames: list[np.ndarray]
    width: int
    height: int
    fps: float


def decode(video: bytes) -> Decoded:
    """Every frame of an MP4, decoded by ffmpeg."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "clip.mp4"
        path.write_bytes(video)
        reader = imageio_ffmpeg.read_frames(str(path))
        meta = next(reader)
        width, height = meta["size"]
        frames = [np.frombuffer(raw, np.uint8).reshape(height, width, 3) for raw in reader]
    return Decoded(frames, width, height, float(meta["fps"]))


def picture_size(data: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(data)) as image:
        return image.size


# ---- the fake Modal ----------------------------------------------------------------------------

Runner = Callable[..., Any]


@dataclass
class Call:
    """One function call the fake received."""

    id: str
    function: str
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    via_blob: bool
    task: asyncio.Future[Any] | None = None
    cancelled: bool = False


@dataclass
class Behaviour:
    """What the fake does, set per test."""

    deployed: dict[str, Runner] = field(default_factory=dict)
    """The functions of the app, by name; a call runs the runner in a thread."""
    app: str = "studio"
    token: tuple[str, str] = (TOKEN_ID, TOKEN_SECRET)
    fail: dict[str, GRPCError] = field(default_factory=dict)
    """RPC name -> the error every call of it gets."""
    outcome: str = "run"
    """``run``; ``hang`` (never finishes); ``timeout`` (Modal's own time limit)."""


def _app_functions() -> dict[str, Runner]:
    return {
        name: getattr(_app, name).local for name in ("image_to_video", "upscale", "interpolate")
    }


class FakeModalServicer(api_grpc.ModalClientBase):
    """The RPCs the modal client makes to call a deployed function."""

    def __init__(self, fake: FakeModal) -> None:
        self.fake = fake

    async def _begin(self, name: str, stream: Stream[Any, Any]) -> Any:
        request = await stream.recv_message()
        self.fake.rpcs.append(name)
        self.fake.metadata.append(dict(stream.metadata or {}))
        md = stream.metadata or {}
        if (
            md.get("x-modal-token-id"),
            md.get("x-modal-token-secret"),
        ) != self.fake.behaviour.token:
            raise GRPCError(Status.UNAUTHENTICATED, "Token ID or secret is incorrect.")
        error = self.fake.behaviour.fail.get(name)
        if error is not None:
            raise error
        return request

    async def ClientHello(self, stream: Stream[Any, Any]) -> None:
        await self._begin("ClientHello", stream)
        await stream.send_message(api_pb2.ClientHelloResponse())

    async def FunctionGet(self, stream: Stream[Any, Any]) -> None:
        request = await self._begin("FunctionGet", stream)
        behaviour = self.fake.behaviour
        if request.app_name != behaviour.app:
            raise GRPCError(Status.NOT_FOUND, f"App '{request.app_name}' not found")
        if request.object_tag not in behaviour.deployed:
            raise GRPCError(
                Status.NOT_FOUND,
                f"App '{request.app_name}' has no function '{request.object_tag}'",
            )
        self.fake.looked_up.append((request.app_name, request.object_tag))
        function = api_pb2.Function(function_name=request.object_tag)
        await stream.send_message(
            api_pb2.FunctionGetResponse(
                function_id=f"fu-{request.object_tag}",
                handle_metadata=api_pb2.FunctionHandleMetadata(
                    function_name=request.object_tag,
                    function_type=api_pb2.Function.FUNCTION_TYPE_FUNCTION,
                ),
                function=api_pb2.FunctionData(
                    ranked_functions=[api_pb2.FunctionData.RankedFunction(function=function)]
                ),
            )
        )

    async def FunctionMap(self, stream: Stream[Any, Any]) -> None:
        request = await self._begin("FunctionMap", stream)
        [item] = request.pipelined_inputs
        via_blob = item.input.WhichOneof("args_oneof") == "args_blob_id"
        raw = self.fake.blobs[item.input.args_blob_id] if via_blob else item.input.args
        args, kwargs = deserialize(raw, None)
        name = request.function_id.removeprefix("fu-")
        call = Call(f"fc-{len(self.fake.calls) + 1}", name, args, kwargs, via_blob)
        runner = self.fake.behaviour.deployed[name]
        if self.fake.behaviour.outcome == "run":
            call.task = asyncio.ensure_future(asyncio.to_thread(runner, *args, **kwargs))
        else:  # hang, or run out of Modal's time: never finishes on its own
            call.task = asyncio.get_running_loop().create_future()
        self.fake.calls[call.id] = call
        await stream.send_message(
            api_pb2.FunctionMapResponse(
                function_call_id=call.id,
                function_call_jwt=f"jwt-{call.id}",
                pipelined_inputs=[
                    api_pb2.FunctionPutInputsResponseItem(
                        idx=0, input_id=f"in-{call.id}", input_jwt=f"ijwt-{call.id}"
                    )
                ],
            )
        )

    async def FunctionGetOutputs(self, stream: Stream[Any, Any]) -> None:
        request = await self._begin("FunctionGetOutputs", stream)
        call = self.fake.calls.get(request.function_call_id)
        if call is None:  # as Modal answers for a call it does not know (or no longer keeps)
            raise GRPCError(Status.NOT_FOUND, f"Function call {request.function_call_id} not found")
        assert call.task is not None
        if self.fake.behaviour.outcome == "timeout":
            result = api_pb2.GenericResult(
                status=api_pb2.GenericResult.GENERIC_STATUS_TIMEOUT,
                exception="Function timed out after 600 seconds",
            )
        else:
            # a long poll: wait for the result as long as the client said it would
            await asyncio.wait({call.task}, timeout=min(request.timeout, 30.0))
            if not call.task.done() or call.task.cancelled():
                # a long poll that ends with nothing yet: the input is still running
                await stream.send_message(
                    api_pb2.FunctionGetOutputsResponse(num_unfinished_inputs=1)
                )
                return
            result = self._result(call.task)
        await stream.send_message(
            api_pb2.FunctionGetOutputsResponse(
                outputs=[
                    api_pb2.FunctionGetOutputsItem(
                        idx=0,
                        input_id=f"in-{call.id}",
                        data_format=api_pb2.DATA_FORMAT_PICKLE,
                        result=result,
                    )
                ],
                num_unfinished_inputs=0,
            )
        )

    def _result(self, task: asyncio.Future[Any]) -> api_pb2.GenericResult:
        error = task.exception()
        if error is not None:  # as a container does: the exception itself, pickled
            return api_pb2.GenericResult(
                status=api_pb2.GenericResult.GENERIC_STATUS_FAILURE,
                data=serialize(error),
                exception=repr(error),
                traceback="Traceback (most recent call last): ...",
            )
        data = serialize(task.result())
        if len(data) > 2 * 1024 * 1024:  # over modal's inline limit: the answer goes by blob
            blob_id = self.fake.new_blob(data)
            return api_pb2.GenericResult(
                status=api_pb2.GenericResult.GENERIC_STATUS_SUCCESS, data_blob_id=blob_id
            )
        return api_pb2.GenericResult(status=api_pb2.GenericResult.GENERIC_STATUS_SUCCESS, data=data)

    async def FunctionCallCancel(self, stream: Stream[Any, Any]) -> None:
        request = await self._begin("FunctionCallCancel", stream)
        call = self.fake.calls[request.function_call_id]
        call.cancelled = True
        if call.task is not None and not call.task.done():
            call.task.cancel()
        self.fake.cancelled.set()
        await stream.send_message(empty_pb2.Empty())

    async def BlobCreate(self, stream: Stream[Any, Any]) -> None:
        request = await self._begin("BlobCreate", stream)
        blob_id = self.fake.new_blob(None)
        assert request.content_length > 0
        await stream.send_message(
            api_pb2.BlobCreateResponse(
                blob_ids=[blob_id],
                upload_urls=api_pb2.UploadUrlList(items=[f"{self.fake.blob_url}/{blob_id}"]),
            )
        )

    async def BlobGet(self, stream: Stream[Any, Any]) -> None:
        request = await self._begin("BlobGet", stream)
        await stream.send_message(
            api_pb2.BlobGetResponse(download_url=f"{self.fake.blob_url}/{request.blob_id}")
        )


def _unanswered(name: str) -> Callable[..., Any]:
    async def handler(self: FakeModalServicer, stream: Stream[Any, Any]) -> None:
        self.fake.rpcs.append(name)
        raise GRPCError(Status.UNIMPLEMENTED, f"the fake Modal does not answer {name}")

    handler.__name__ = name
    return handler


for _name in FakeModalServicer.__abstractmethods__:
    setattr(FakeModalServicer, _name, _unanswered(_name))
abc.update_abstractmethods(FakeModalServicer)


class FakeModal:
    """The fake control plane and blob store, each on a free loopback port."""

    def __init__(self) -> None:
        self.behaviour = Behaviour()
        self.rpcs: list[str] = []
        self.metadata: list[dict[str, Any]] = []
        self.looked_up: list[tuple[str, str]] = []
        self.calls: dict[str, Call] = {}
        self.blobs: dict[str, bytes] = {}
        self.cancelled = threading.Event()
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.port = 0
        self.blob_server = self._blob_store()
        self.blob_url = f"http://127.0.0.1:{self.blob_server.server_address[1]}/blobs"
        self.threads = [
            threading.Thread(target=self._serve, daemon=True),
            threading.Thread(
                target=self.blob_server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
            ),
        ]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def environ(self, **extra: str) -> dict[str, str]:
        return {
            "MODAL_TOKEN_ID": TOKEN_ID,
            "MODAL_TOKEN_SECRET": TOKEN_SECRET,
            "MODAL_SERVER_URL": self.url,
            **extra,
        }

    def connection(self, **options: Any) -> ModalConnection:
        options.setdefault("connect_timeout", 10.0)
        return ModalConnection(TOKEN_ID, TOKEN_SECRET, server_url=self.url, **options)

    def new_blob(self, data: bytes | None) -> str:
        blob_id = f"bl-{len(self.blobs) + 1}"
        self.blobs[blob_id] = data or b""
        return blob_id

    def reset(self) -> None:
        self.behaviour = Behaviour(deployed=_app_functions())
        self.rpcs.clear()
        self.metadata.clear()
        self.looked_up.clear()
        self.calls.clear()
        self.blobs.clear()
        self.cancelled.clear()

    def _blob_store(self) -> ThreadingHTTPServer:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _body(self) -> bytes:
                if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                    body = b""
                    while True:
                        size = int(self.rfile.readline().strip() or b"0", 16)
                        if size == 0:
                            self.rfile.readline()
                            return body
                        body += self.rfile.read(size)
                        self.rfile.readline()
                return self.rfile.read(int(self.headers.get("Content-Length", "0")))

            def do_PUT(self) -> None:
                data = self._body()
                fake.blobs[self.path.rsplit("/", 1)[-1]] = data
                self.send_response(200)
                self.send_header("ETag", f'"{hashlib.md5(data).hexdigest()}"')
                self.send_header("Content-Length", "0")
                self.end_headers()

            def do_GET(self) -> None:
                data = fake.blobs.get(self.path.rsplit("/", 1)[-1])
                self.send_response(200 if data is not None else 404)
                self.send_header("Content-Length", str(len(data or b"")))
                self.end_headers()
                self.wfile.write(data or b"")

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return ThreadingHTTPServer(("127.0.0.1", 0), Handler)

    def _serve(self) -> None:
        async def main() -> None:
            self._loop = asyncio.get_running_loop()
            self._stop = asyncio.Event()
            server = Server([FakeModalServicer(self)])
            await server.start("127.0.0.1", 0)
            assert server._server is not None
            self.port = server._server.sockets[0].getsockname()[1]
            self._ready.set()
            await self._stop.wait()
            for call in self.calls.values():  # nothing left hanging at the end
                if call.task is not None and not call.task.done():
                    call.task.cancel()
            server.close()
            await server.wait_closed()

        asyncio.run(main())

    @classmethod
    @contextlib.contextmanager
    def running(cls) -> Iterator[FakeModal]:
        fake = cls()
        for thread in fake.threads:
            thread.start()
        assert fake._ready.wait(10), "the fake Modal did not start"
        try:
            yield fake
        finally:
            if fake._loop is not None and fake._stop is not None:
                fake._loop.call_soon_threadsafe(fake._stop.set)
            fake.blob_server.shutdown()
            fake.blob_server.server_close()
            for thread in fake.threads:
                thread.join(10)


@pytest.fixture(scope="module")
def modal_server() -> Iterator[FakeModal]:
    with FakeModal.running() as fake:
        yield fake


@pytest.fixture
def fake(modal_server: FakeModal) -> FakeModal:
    """The fake, fresh for this test: the app's three functions deployed, nothing recorded."""
    modal_server.reset()
    return modal_server


def request(**changes: Any) -> VideoRequest:
    fields: dict[str, Any] = {
        "first_frame": png(),
        "prompt": "neon rain over the city",
        "camera": CameraMove.ZOOM_IN,
        "duration": 1.0,
        "width": 64,
        "height": 48,
        "fps": 12,
        "seed": 42,
    }
    return VideoRequest(**(fields | changes))


def fails(coro: Any) -> StudioError:
    with pytest.raises(StudioError) as info:
        asyncio.run(coro)
    err = info.value
    text = str(err) + repr(err) + json.dumps(err.to_payload(), default=str)
    assert TOKEN_SECRET not in text and TOKEN_ID not in text
    return err


# ---- the bodies, on the CPU --------------------------------------------------------------------


def test_image_to_video_makes_a_real_clip_that_morphs_to_the_last_frame() -> None:
    first, last = png(colour=(220, 30, 30)), png(colour=(30, 30, 220))
    answer = _bodies.image_to_video(
        first, last_frame=last, camera="zoom_in", duration=1.0, width=64, height=48, fps=12
    )
    assert answer["media_type"] == "video/mp4" and answer["frames"] == 12
    assert answer["duration"] == pytest.approx(1.0) and answer["fps"] == 12.0
    clip = decode(answer["data"])
    assert (clip.width, clip.height, len(clip.frames)) == (64, 48, 12)
    assert clip.fps == pytest.approx(12.0)
    left_first, left_last = (
        clip.frames[0][:, :16].mean(axis=(0, 1)),
        clip.frames[-1][:, :16].mean(axis=(0, 1)),
    )
    assert left_first[0] > 150 > left_first[2]  # opens red ...
    assert left_last[2] > 150 > left_last[0]  # ... and ends blue


@pytest.mark.parametrize("camera", _bodies.CAMERA_MOVES)
def test_every_camera_move_makes_a_clip_and_only_static_stands_still(camera: str) -> None:
    answer = _bodies.image_to_video(png(), camera=camera, duration=0.5, width=48, height=32, fps=8)
    clip = decode(answer["data"])
    assert len(clip.frames) == 4 and (clip.width, clip.height) == (48, 32)
    change = np.abs(clip.frames[0].astype(int) - clip.frames[-1].astype(int)).mean()
    assert (change < 2.0) if camera == "static" else (change > 2.0), change


def test_odd_sizes_are_made_even_for_the_encoder() -> None:
    answer = _bodies.image_to_video(png(), duration=0.25, width=63, height=47, fps=8)
    clip = decode(answer["data"])
    assert (clip.width, clip.height) == (answer["width"], answer["height"]) == (62, 46)


@pytest.mark.parametrize("factor", [2, 3])
def test_upscale_multiplies_the_size_and_keeps_the_picture(factor: int) -> None:
    small = png(40, 30)
    big = _bodies.upscale(small, factor)
    assert picture_size(big) == (40 * factor, 30 * factor)
    with Image.open(io.BytesIO(big)) as image:
        shrunk = np.asarray(image.convert("RGB").resize((40, 30), Image.Resampling.BOX), float)
    original = np.asarray(Image.open(io.BytesIO(small)).convert("RGB"), float)
    assert np.abs(shrunk - original).mean() < 12


def test_upscale_keeps_transparency() -> None:
    out = io.BytesIO()
    Image.new("RGBA", (10, 8), (255, 0, 0, 128)).save(out, format="PNG")
    with Image.open(io.BytesIO(_bodies.upscale(out.getvalue(), 2))) as image:
        assert image.mode == "RGBA" and image.size == (20, 16)


def test_interpolate_makes_the_frames_in_between() -> None:
    source = _bodies.image_to_video(
        png(colour=(240, 0, 0)),
        last_frame=png(colour=(0, 0, 240)),
        duration=1.0,
        width=32,
        height=32,
        fps=6,
    )["data"]
    before = decode(source)
    smoother = decode(_bodies.interpolate(source, 2))
    assert len(before.frames) == 6 and len(smoother.frames) == 11  # (n - 1) * 2 + 1
    assert smoother.fps == pytest.approx(12.0)
    assert len(smoother.frames) / smoother.fps == pytest.approx(
        len(before.frames) / before.fps, abs=0.1
    )
    # an in-between frame lies between its neighbours
    a, mid, b = (smoother.frames[i][:, :8].mean() for i in (4, 5, 6))
    assert min(a, b) - 3 <= mid <= max(a, b) + 3
    assert len(decode(_bodies.interpolate(source, 3)).frames) == 16


@pytest.mark.parametrize(
    ("call", "says"),
    [
        (lambda: _bodies.image_to_video(b"nope", duration=1, width=32, height=32), "not a picture"),
        (lambda: _bodies.image_to_video(png(), duration=11, width=32, height=32), "split"),
        (lambda: _bodies.image_to_video(png(), duration=1, width=4000, height=32), "pixels"),
        (
            lambda: _bodies.image_to_video(png(), camera="dolly", duration=1, width=32, height=32),
            "camera",
        ),
        (lambda: _bodies.upscale(png(), 5), "factor"),
        (lambda: _bodies.upscale(b"", 2), "empty"),
        (lambda: _bodies.interpolate(b"not a video", 2), "decoded"),
        (lambda: _bodies.interpolate(b"", 2), "empty"),
    ],
)
def test_the_bodies_refuse_what_they_cannot_use(call: Callable[[], Any], says: str) -> None:
    with pytest.raises(ClipRefused, match=says):
        call()


def test_native_lengths_round_up() -> None:
    assert _bodies.native_seconds(0.4) == 2.0
    assert _bodies.native_seconds(4.2) == 5.0
    assert _bodies.native_seconds(10.0) == 10.0
    with pytest.raises(ClipRefused):
        _bodies.native_seconds(10.5)
    assert all((s * _bodies.GPU_VIDEO_FPS) % 8 == 0 for s in _bodies.NATIVE_SECONDS)


def test_the_engine_is_the_cpu_unless_the_image_says_gpu(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(_bodies.ENGINE_VARIABLE, raising=False)
    assert _bodies.engine_from_env() == "cpu"
    monkeypatch.setenv(_bodies.ENGINE_VARIABLE, "GPU")
    assert _bodies.engine_from_env() == "gpu"


def test_the_app_defines_the_three_functions_and_they_run_the_bodies_here() -> None:
    assert _app.app.name == "studio"
    small = png(20, 16)
    assert picture_size(_app.upscale.local(small, 2)) == (40, 32)
    answer = _app.image_to_video.local(small, duration=0.5, width=20, height=16, fps=4)
    assert len(decode(answer["data"]).frames) == 2
    assert len(decode(_app.interpolate.local(answer["data"], 2)).frames) == 3


# ---- the client, against the fake Modal ---------------------------------------------------------


def test_a_clip_is_made_by_the_deployed_function(fake: FakeModal) -> None:
    model = resolve_video_model("modal", environ=fake.environ())
    ask = request(last_frame=png(colour=(0, 0, 200)))
    video = asyncio.run(model.generate(ask))

    assert video.provider == "modal" and video.model == "studio/image_to_video"
    assert video.media_type == "video/mp4" and video.seed == 42
    assert (video.width, video.height, video.fps, video.duration) == (64, 48, 12.0, 1.0)
    assert video.cost_usd == model.card.cost(2.0)  # the shortest native length holds 1 s
    clip = decode(video.data)
    assert (clip.width, clip.height, len(clip.frames)) == (64, 48, 12)

    assert fake.rpcs == ["ClientHello", "FunctionGet", "FunctionMap", "FunctionGetOutputs"]
    assert fake.looked_up == [("studio", "image_to_video")]
    [call] = fake.calls.values()
    assert call.args == () and call.kwargs["first_frame"] == ask.first_frame
    assert call.kwargs["last_frame"] == ask.last_frame
    assert call.kwargs["camera"] == "zoom_in" and call.kwargs["prompt"] == ask.prompt
    assert (call.kwargs["duration"], call.kwargs["seed"]) == (1.0, 42)
    assert all(md["x-modal-token-id"] == TOKEN_ID for md in fake.metadata)
    assert not call.cancelled


def test_a_call_left_by_a_crashed_attempt_is_collected_not_run_again(fake: FakeModal) -> None:
    model = resolve_video_model("modal", environ=fake.environ())
    first = Journal()
    with journaled(first):
        made = asyncio.run(model.generate(request()))
    assert first.kept == list(fake.calls)  # the call's id, kept before the wait

    with journaled(Journal(earlier=first.kept[0])):  # the next attempt finds it
        again = asyncio.run(model.generate(request()))
    assert len(fake.calls) == 1 and again.data == made.data  # nothing run twice
    assert fake.rpcs[-2:] == ["ClientHello", "FunctionGetOutputs"]


def test_a_call_modal_no_longer_knows_is_run_again(fake: FakeModal) -> None:
    model = resolve_video_model("modal", environ=fake.environ())
    gone = Journal(earlier="fc-999")
    with journaled(gone):
        video = asyncio.run(model.generate(request()))
    assert len(decode(video.data).frames) == 12
    assert list(fake.calls) == gone.kept[1:]  # run once, and its id kept in the old one's place


def test_large_pictures_go_by_blob_both_ways(fake: FakeModal) -> None:
    big = noise_png(700, 500)  # about 1 MB up, about 4 MB back: over modal's inline limits
    out = asyncio.run(upscale(big, 2, connection=fake.connection()))
    assert picture_size(out) == (1400, 1000)
    assert fake.rpcs == [
        "ClientHello",
        "FunctionGet",
        "BlobCreate",
        "FunctionMap",
        "FunctionGetOutputs",
        "BlobGet",
    ]
    [call] = fake.calls.values()
    assert call.via_blob and call.args == (big, 2)


def test_interpolate_calls_the_deployed_function(fake: FakeModal) -> None:
    clip = _bodies.image_to_video(png(), duration=1.0, width=32, height=32, fps=6)["data"]
    out = asyncio.run(interpolate(clip, 2, environ=fake.environ()))
    assert len(decode(out).frames) == 11
    assert [c.function for c in fake.calls.values()] == ["interpolate"]


def test_the_server_url_is_read_from_the_environment_by_modal(
    fake: FakeModal, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MODAL_SERVER_URL", fake.url)
    environ = {"MODAL_TOKEN_ID": TOKEN_ID, "MODAL_TOKEN_SECRET": TOKEN_SECRET}
    connection = ModalConnection.from_environ(environ, doing="testing")
    assert connection.server_url is None  # modal's own config decides: MODAL_SERVER_URL
    out = asyncio.run(upscale(png(8, 8), 2, connection=connection))
    assert picture_size(out) == (16, 16)


def test_another_app_name_is_looked_up(fake: FakeModal) -> None:
    fake.behaviour.app = "studio-dev"
    model = resolve_video_model("modal", environ=fake.environ(STUDIO_MODAL_APP="studio-dev"))
    assert model.card.model == "studio-dev/image_to_video"
    asyncio.run(model.generate(request()))
    assert fake.looked_up == [("studio-dev", "image_to_video")]


def test_a_function_that_is_not_deployed_says_how_to_deploy_it(fake: FakeModal) -> None:
    del fake.behaviour.deployed["image_to_video"]
    model = resolve_video_model("modal", environ=fake.environ())
    err = fails(model.generate(request()))
    assert type(err) is InvalidInput and not err.retryable
    assert "not deployed" in err.message and "image_to_video" in err.message
    assert err.hint == DEPLOY_HINT
    assert "modal deploy -m studio.providers.modal._app" in err.hint
    assert "FunctionMap" not in fake.rpcs  # nothing was run, nothing paid


def test_an_app_that_is_not_deployed_says_how_to_deploy_it(fake: FakeModal) -> None:
    err = fails(upscale(png(), 2, environ=fake.environ(STUDIO_MODAL_APP="elsewhere")))
    assert isinstance(err, InvalidInput) and "elsewhere" in err.message
    assert err.hint is not None and "STUDIO_MODAL_APP" in err.hint


def test_a_refused_token_is_unauthorized_and_never_shown(fake: FakeModal) -> None:
    fake.behaviour.token = ("ak-someone-else", "as-someone-else")
    connection = fake.connection()
    err = fails(upscale(png(), 2, connection=connection))
    assert isinstance(err, Unauthorized)
    assert (
        err.hint is not None and "MODAL_TOKEN_ID" in err.hint and "MODAL_TOKEN_SECRET" in err.hint
    )
    assert fake.rpcs == ["ClientHello"]  # refused at hello, before anything was sent
    assert TOKEN_SECRET not in repr(connection) and TOKEN_ID not in repr(connection)


def test_an_unavailable_service_is_retryable_after_modals_own_retries(fake: FakeModal) -> None:
    fake.behaviour.fail["FunctionMap"] = GRPCError(Status.UNAVAILABLE, "upstream overloaded")
    err = fails(upscale(png(), 2, connection=fake.connection()))
    assert isinstance(err, ProviderUnavailable) and err.retryable
    assert "upstream overloaded" in err.message
    assert fake.rpcs.count("FunctionMap") == 4  # the SDK tried 1 + 3 times; the job retries next


def test_a_workspace_limit_is_rate_limiting(fake: FakeModal) -> None:
    fake.behaviour.fail["FunctionMap"] = GRPCError(
        Status.RESOURCE_EXHAUSTED, "Too many GPU containers"
    )
    err = fails(upscale(png(), 2, connection=fake.connection()))
    assert isinstance(err, RateLimited) and err.retryable
    assert "Too many GPU containers" in err.message
    assert fake.rpcs.count("FunctionMap") == 1


def test_a_function_past_its_time_limit_on_modal_is_a_timeout(fake: FakeModal) -> None:
    fake.behaviour.outcome = "timeout"
    err = fails(resolve_video_model("modal", environ=fake.environ()).generate(request()))
    assert isinstance(err, ProviderTimeout) and err.retryable
    assert "time limit" in err.message and "600 seconds" in err.message


def test_a_call_that_takes_too_long_is_cancelled_on_modal(fake: FakeModal) -> None:
    fake.behaviour.outcome = "hang"
    model = ModalVideoModel(fake.connection(), timeout=1.0)
    err = fails(model.generate(request()))
    assert isinstance(err, ProviderTimeout) and err.retryable
    assert "did not finish within 1 s" in err.message
    [call] = fake.calls.values()
    assert call.cancelled  # no GPU keeps running for a clip nobody collects
    assert fake.rpcs[-1] == "FunctionCallCancel"


def test_a_cancelled_job_cancels_the_call_on_modal(fake: FakeModal) -> None:
    fake.behaviour.outcome = "hang"
    model = ModalVideoModel(fake.connection(), timeout=60.0)

    async def cancel_midway() -> None:
        job = asyncio.ensure_future(model.generate(request()))
        while not fake.calls:
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.2)
        job.cancel()
        with pytest.raises(asyncio.CancelledError):
            await job

    asyncio.run(cancel_midway())
    assert fake.cancelled.wait(5)
    [call] = fake.calls.values()
    assert call.cancelled


def test_a_request_the_body_refuses_is_invalid_input(fake: FakeModal) -> None:
    model = ModalVideoModel(fake.connection())
    err = fails(model.generate(request(first_frame=b"this is not a picture")))
    assert type(err) is InvalidInput and "not a picture" in err.message
    assert "FunctionGetOutputs" in fake.rpcs  # it was the function that said so


def test_a_function_that_crashes_is_a_provider_error(fake: FakeModal) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("CUDA out of memory")

    fake.behaviour.deployed["upscale"] = broken
    err = fails(upscale(png(), 2, connection=fake.connection()))
    assert type(err) is ProviderError and not err.retryable
    assert "RuntimeError" in err.message and "CUDA out of memory" in err.message
    assert err.hint is not None and "modal app logs studio" in err.hint


def test_an_answer_that_is_not_a_clip_is_a_provider_error(fake: FakeModal) -> None:
    fake.behaviour.deployed["image_to_video"] = lambda *a, **k: {"data": b""}
    err = fails(ModalVideoModel(fake.connection()).generate(request()))
    assert type(err) is ProviderError and "not a clip" in err.message
    fake.behaviour.deployed["upscale"] = lambda *a, **k: "a string"
    err = fails(upscale(png(), 2, connection=fake.connection()))
    assert type(err) is ProviderError and "str" in err.message


def test_an_unreachable_modal_is_unavailable() -> None:
    with ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler) as closed:
        port = closed.server_address[1]
    connection = ModalConnection(
        TOKEN_ID, TOKEN_SECRET, server_url=f"http://127.0.0.1:{port}", connect_timeout=1.0
    )
    err = fails(upscale(png(), 2, connection=connection))
    assert isinstance(err, ProviderUnavailable) and "cannot be reached" in err.message


@pytest.mark.parametrize(
    ("changes", "says"),
    [({"duration": 12.0}, "longer than the 10 s"), ({"width": 1920}, "larger than")],
)
def test_requests_the_model_cannot_make_are_refused_before_calling(
    fake: FakeModal, changes: dict[str, Any], says: str
) -> None:
    err = fails(ModalVideoModel(fake.connection()).generate(request(**changes)))
    assert isinstance(err, InvalidInput) and says in err.message
    assert fake.rpcs == []


def test_bad_factors_and_empty_files_are_refused_before_calling(fake: FakeModal) -> None:
    connection = fake.connection()
    for coro, says in [
        (upscale(png(), 5, connection=connection), "factor"),
        (upscale(b"", 2, connection=connection), "empty"),
        (interpolate(b"clip", 1, connection=connection), "factor"),
        (interpolate(b"", 2, connection=connection), "empty"),
    ]:
        err = fails(coro)
        assert isinstance(err, InvalidInput) and says in err.message
    assert fake.rpcs == []


# ---- the card, the registry and the package ----------------------------------------------------


def test_the_card_prices_gpu_time_and_declares_the_native_lengths() -> None:
    model = ModalVideoModel(ModalConnection("id", "secret"))
    card = model.card
    assert isinstance(model, VideoModel)
    assert (card.role, card.name, card.model) == ("video", "modal", "studio/image_to_video")
    assert card.needs_key == "MODAL_TOKEN_ID"
    assert card.clip_lengths == [2.0, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0]
    assert card.max_concurrency == MAX_CONTAINERS == 10
    assert (card.max_width, card.max_height) == (1280, 1280)
    # an L40S container: ~$0.000665 a second; 40 s to start, 8 s of GPU per second of video
    assert card.usd_per_call == USD_PER_CALL == pytest.approx(0.0266, abs=1e-4)
    assert card.usd_per_second == USD_PER_CLIP_SECOND == pytest.approx(0.00532, abs=1e-5)
    assert 0.04 < model.estimate(request(duration=5.0)) < 0.07
    assert model.estimate(request(duration=4.2)) == card.cost(5.0)  # the next native length
    assert model.estimate(request(duration=30.0)) == card.cost(10.0)


def test_the_registry_builds_the_modal_provider_from_the_environment() -> None:
    environ = {"MODAL_TOKEN_ID": TOKEN_ID, "MODAL_TOKEN_SECRET": TOKEN_SECRET}
    model = resolve_video_model("modal", environ=environ)
    assert isinstance(model, ModalVideoModel) and model.name == "modal"
    assert model.function == "image_to_video" and model.connection.app == "studio"
    assert TOKEN_SECRET not in repr(model) and TOKEN_ID not in repr(model)
    other = resolve_video_model("modal:wan_i2v", environ=environ)
    assert isinstance(other, ModalVideoModel) and other.model == "studio/wan_i2v"
    # with a Modal token and no Replicate one, Modal is the default video provider
    assert choose("video", environ=environ).spec == "modal"
    with pytest.raises(InvalidInput):
        resolve_video_model("modal:not a name", environ=environ)


@pytest.mark.parametrize(
    ("environ", "says"),
    [
        ({}, "MODAL_TOKEN_ID"),
        ({"MODAL_TOKEN_ID": "  ", "MODAL_TOKEN_SECRET": "s"}, "MODAL_TOKEN_ID"),
        ({"MODAL_TOKEN_ID": TOKEN_ID}, "MODAL_TOKEN_SECRET"),
    ],
)
def test_the_registry_refuses_without_a_token(environ: dict[str, str], says: str) -> None:
    with pytest.raises(Unauthorized) as info:
        resolve_video_model("modal", environ=environ)
    assert info.value.hint is not None and says in str(info.value)


def test_public_surface_is_all() -> None:
    module = importlib.import_module("studio.providers.modal")
    public = {
        n
        for n, v in vars(module).items()
        if not n.startswith("_") and not isinstance(v, type(importlib))
    }
    assert public == set(module.__all__), public ^ set(module.__all__)


def test_importing_the_provider_does_not_import_the_modal_sdk() -> None:
    code = (
        "import sys, studio.providers, studio.providers.modal; "
        "assert 'modal' not in sys.modules, 'modal was imported'; "
        "assert 'grpclib' not in sys.modules, 'grpclib was imported'"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


# ---- the real service, on request --------------------------------------------------------------


@pytest.mark.live
@pytest.mark.skipif(
    not os.environ.get("MODAL_TOKEN_ID"),
    reason="set MODAL_TOKEN_ID and MODAL_TOKEN_SECRET (and deploy the app) to call the real Modal",
)
def test_live_modal_upscales_a_picture() -> None:
    out = asyncio.run(upscale(png(32, 24), 2))
    assert picture_size(out) == (64, 48)
