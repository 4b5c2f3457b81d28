"""One prediction on Replicate, from input to downloaded output, through the replicate SDK.

The steps: file inputs become data URIs (or uploads, when large); the prediction is created
(the paid call); it is polled until it ends; its output files are downloaded. The whole call
has one time limit, and a prediction that is given up on (time out, error, the job cancelled)
is cancelled on Replicate so it stops costing money.

Retries belong to the studio's job runner, not the SDK. The SDK wraps every transport in a
``RetryTransport`` that retries GETs on 429/503/504 up to ten times and sleeps for whatever
Retry-After says, unbounded. The transport the studio gives the SDK answers every status of
400 or more by raising ``Refused`` from inside that wrapper, so the wrapper never sees a status
it would retry, and the Retry-After header reaches the studio's error. Polling and downloading
are free, so a poll or a download that fails transiently is tried again here, a few times,
rather than losing a prediction that was already paid for.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import io
import math
import re
from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

import httpx
from pydantic import SecretStr

from studio.errors import InvalidInput, ProviderError, ProviderTimeout, StudioError, Unauthorized
from studio.providers._journal import call_journal
from studio.providers.replicate._catalog import ModelRef
from studio.providers.replicate._errors import (
    KEY_HINT,
    Refused,
    failed_prediction,
    malformed,
    translate_error,
)
from studio.providers.replicate._media import extension_for, image_type, media_type

if TYPE_CHECKING:
    from replicate.client import Client
    from replicate.prediction import Prediction

__all__ = [
    "DATA_URI_MAX_BYTES",
    "DEFAULT_BASE_URL",
    "MAX_OUTPUT_BYTES",
    "Output",
    "Predictor",
]

DEFAULT_BASE_URL = "https://api.replicate.com"
DATA_URI_MAX_BYTES = 1_000_000
"""Replicate recommends data URIs for files under 1 MB; larger inputs are uploaded first."""
MAX_OUTPUT_BYTES = 512 * 1024 * 1024
"""No clip, picture or track the studio asks for is this large."""
POLL_RETRIES = 5
"""Failed polls in a row (429, 5xx, network) before the prediction is given up."""
DOWNLOAD_ATTEMPTS = 3
MAX_BACKOFF = 30.0
CANCEL_TIMEOUT = 5.0
_TERMINAL = frozenset({"succeeded", "failed", "canceled"})
_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,128}$")
_CREATING = "creating since "
"""The journal's note, kept before a create, that a prediction may exist whose id was lost."""
CLOCK_SKEW = timedelta(minutes=2)
LOOKUP_PAGES = 3
"""Pages of the account's predictions (100 each, newest first) read to find a lost one."""
_TOKEN_RE = re.compile(r"r8_[A-Za-z0-9]{8,}")

T = TypeVar("T")


@dataclass(frozen=True)
class Output:
    """One downloaded output file."""

    data: bytes
    media_type: str
    url: str


class _RefusingTransport(httpx.AsyncBaseTransport):
    """Raises ``Refused`` for any answer of 400 or more, under the SDK's retrying wrapper.

    It also gives a time limit to the requests the SDK sends without one (it creates
    predictions and uploads files with ``timeout=None``).
    """

    def __init__(self, inner: httpx.AsyncBaseTransport, timeout: httpx.Timeout) -> None:
        self._inner = inner
        self._timeout = timeout

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        limits = request.extensions.get("timeout") or {}
        if all(value is None for value in limits.values()):
            request.extensions["timeout"] = self._timeout.as_dict()
        response = await self._inner.handle_async_request(request)
        if response.status_code < 400:
            return response
        try:
            body = await response.aread()
        finally:
            await response.aclose()
        raise Refused(response.status_code, response.headers, body, "api")

    async def aclose(self) -> None:
        await self._inner.aclose()


def _positive(value: float, what: str) -> float:
    if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
        raise InvalidInput(f"{what} must be a positive number of seconds, not {value!r}")
    return float(value)


class Predictor:
    """Runs predictions on Replicate for one model family's provider.

    ``base_url`` points the SDK elsewhere (tests use a fake on 127.0.0.1); ``timeout`` bounds
    a whole call (upload, create, polls, download); ``poll_interval`` is the wait between
    polls; ``request_timeout`` bounds each HTTP request. The token is kept out of ``repr``
    and of every error.
    """

    def __init__(
        self,
        api_token: str,
        *,
        base_url: str | None = None,
        timeout: float = 300.0,
        poll_interval: float = 1.0,
        request_timeout: float = 30.0,
    ) -> None:
        if not isinstance(api_token, str) or not api_token.strip():
            raise Unauthorized("Replicate needs an API token, and none was given", hint=KEY_HINT)
        self._token = SecretStr(api_token.strip())
        self.base_url = (base_url or DEFAULT_BASE_URL).strip().rstrip("/")
        if not re.match(r"^https?://[^/\s]+", self.base_url):
            raise InvalidInput(
                f"{self.base_url[:80]!r} is not an http(s) URL",
                hint="set STUDIO_REPLICATE_BASE_URL to a URL such as https://api.replicate.com, "
                "or unset it",
            )
        self.timeout = _positive(timeout, "timeout")
        self.poll_interval = _positive(poll_interval, "poll_interval")
        self.request_timeout = _positive(request_timeout, "request_timeout")

    def __repr__(self) -> str:
        return (
            f"Predictor(base_url={self.base_url!r}, timeout={self.timeout:g}, "
            f"poll_interval={self.poll_interval:g})"
        )

    def scrub(self, text: str) -> str:
        """``text`` without the token (or anything shaped like a Replicate token)."""
        token = self._token.get_secret_value()
        if len(token) >= 8:
            text = text.replace(token, "***")
        return _TOKEN_RE.sub("r8_***", text)

    def _mapped(self, exc: BaseException, model: str) -> StudioError | None:
        return translate_error(exc, model=model, timeout=self.timeout, scrub=self.scrub)

    async def _call(self, model: str, awaitable: Awaitable[T]) -> T:
        """``await awaitable``, with its failure translated into the studio's tree."""
        try:
            return await awaitable
        except StudioError:
            raise
        except (TypeError, KeyError) as exc:
            # the SDK builds its models from the reply without checking its shape first
            raise malformed(model, "the reply is not the JSON object the API documents") from exc
        except Exception as exc:
            mapped = self._mapped(exc, model)
            if mapped is None:
                raise
            raise mapped from exc

    async def run(
        self, ref: ModelRef, inputs: dict[str, Any], *, max_outputs: int = 1
    ) -> list[Output]:
        """Run ``ref`` on ``inputs`` (``bytes`` values are files) and download its outputs."""
        from replicate.client import Client as SDKClient

        model = ref.name
        limits = httpx.Timeout(self.request_timeout, connect=min(10.0, self.request_timeout))
        transport = _RefusingTransport(httpx.AsyncHTTPTransport(retries=0), limits)
        client = SDKClient(
            api_token=self._token.get_secret_value(),
            base_url=self.base_url,
            timeout=limits,
            transport=transport,
        )
        pending: str | None = None
        try:
            async with asyncio.timeout(self.timeout):
                journal = call_journal()
                earlier = journal.claim() if journal is not None else None
                # an attempt cut off by a crash started it: wait for it, don't buy it again
                prediction = await self._earlier(client, ref, inputs, earlier)
                if prediction is None:
                    if journal is not None:
                        # kept before the create, so a crash before its id is kept leaves a
                        # trace the next attempt looks the prediction up by
                        await journal.remember(_CREATING + datetime.now(UTC).isoformat())
                    prediction = await self._create(client, ref, inputs)
                    if journal is not None:
                        await journal.remember(prediction.id)
                pending = prediction.id
                prediction = await self._wait(client, model, prediction)
                pending = None
                if prediction.status == "failed":
                    raise failed_prediction(model, prediction.error, self.scrub)
                if prediction.status == "canceled":
                    raise ProviderError(
                        f"Replicate ({model}) says the prediction was canceled",
                        hint="someone canceled it on replicate.com; make it again",
                        provider="replicate",
                        model=model,
                    )
                urls = _output_urls(prediction.output, model)[:max_outputs]
                return await self._download_all(model, urls)
        except TimeoutError as exc:
            if pending is not None:
                await self._cancel_quietly(client, pending)
            raise ProviderTimeout(
                f"Replicate ({model}) did not finish within {self.timeout:g} s",
                hint="the job is retried automatically; Replicate may be starting the model "
                "(a cold boot) or busy, so a longer timeout may help",
                provider="replicate",
                model=model,
            ) from exc
        except BaseException:
            # given up (an error, or the job was cancelled): stop it costing money
            if pending is not None:
                await self._cancel_quietly(client, pending)
            raise
        finally:
            await transport.aclose()

    async def _earlier(
        self, client: Client, ref: ModelRef, inputs: dict[str, Any], handle: str | None
    ) -> Prediction | None:
        """The prediction an earlier attempt left in the journal: by its id, or, when the
        attempt was cut off between the create and keeping the id, the newest of the account's
        predictions since then with this model and these inputs (``None``: start one)."""
        if handle is None:
            return None
        if _ID_RE.fullmatch(handle):
            return await self._call(ref.name, client.predictions.async_get(handle))
        if not handle.startswith(_CREATING):
            return None
        try:
            since = datetime.fromisoformat(handle.removeprefix(_CREATING))
        except ValueError:
            return None
        since -= CLOCK_SKEW  # the service's clock, not ours, stamps created_at
        plain = {k: v for k, v in inputs.items() if not _holds_bytes(v)}
        cursor: Any = ...
        for _ in range(LOOKUP_PAGES):  # newest first: stop at the first page older than since
            page = await self._call(ref.name, client.predictions.async_list(cursor))
            for found in page.results:
                created = _created(found)
                if created is None:
                    continue
                if created < since:
                    return None
                same_model = (
                    found.version == ref.version
                    if ref.version is not None
                    else found.model == ref.name
                )
                given = found.input if isinstance(found.input, dict) else {}
                if same_model and all(given.get(k) == v for k, v in plain.items()):
                    return found
            if not page.next:
                return None
            cursor = page.next
        return None

    async def _create(self, client: Client, ref: ModelRef, inputs: dict[str, Any]) -> Prediction:
        model = ref.name
        body = {k: await self._file_inputs(client, model, k, v) for k, v in inputs.items()}
        if ref.version is not None:
            created = client.predictions.async_create(version=ref.version, input=body)
        else:
            created = client.models.predictions.async_create(model=model, input=body)
        prediction = await self._call(model, created)
        if not _ID_RE.fullmatch(str(prediction.id)):
            raise malformed(model, f"the prediction id {str(prediction.id)[:40]!r}")
        return prediction

    async def _file_inputs(self, client: Client, model: str, key: str, value: Any) -> Any:
        """``value`` with every ``bytes`` in it turned into something the API takes."""
        if isinstance(value, bytes | bytearray):
            return await self._file_input(client, model, key, bytes(value))
        if isinstance(value, list):
            return [await self._file_inputs(client, model, key, v) for v in value]
        return value

    async def _file_input(self, client: Client, model: str, key: str, data: bytes) -> str:
        kind = image_type(data) or "application/octet-stream"
        if len(data) <= DATA_URI_MAX_BYTES:
            return f"data:{kind};base64,{base64.b64encode(data).decode('ascii')}"
        uploaded = await self._call(
            model,
            client.files.async_create(
                io.BytesIO(data), filename=f"{key}{extension_for(kind)}", content_type=kind
            ),
        )
        url = uploaded.urls.get("get") if isinstance(uploaded.urls, dict) else None
        if not isinstance(url, str) or not url.startswith(("https://", "http://")):
            raise malformed(model, "the uploaded file has no URL")
        return url

    async def _wait(self, client: Client, model: str, prediction: Prediction) -> Prediction:
        """Poll until the prediction ends; transient poll failures are tried again."""
        failures = 0
        delay = self.poll_interval
        while prediction.status not in _TERMINAL:
            await asyncio.sleep(delay)
            try:
                prediction = await self._call(model, client.predictions.async_get(prediction.id))
            except StudioError as err:
                failures += 1
                if not err.retryable or failures > POLL_RETRIES:
                    raise
                wait = err.details.get("retry_after")
                backoff = self.poll_interval * 2**failures
                delay = min(MAX_BACKOFF, max(backoff, float(wait) if wait is not None else 0.0))
                continue
            failures = 0
            delay = self.poll_interval
        return prediction

    async def _cancel_quietly(self, client: Client, prediction_id: str) -> None:
        with contextlib.suppress(Exception):
            async with asyncio.timeout(CANCEL_TIMEOUT):
                await client.predictions.async_cancel(prediction_id)

    async def _download_all(self, model: str, urls: list[str]) -> list[Output]:
        timeout = httpx.Timeout(self.request_timeout * 4, connect=min(10.0, self.request_timeout))
        # no Authorization header: output URLs are public, and the token stays with the API
        async with httpx.AsyncClient(timeout=timeout, follow_redirects=True) as http:
            return [await self._download(http, model, url) for url in urls]

    async def _download(self, http: httpx.AsyncClient, model: str, url: str) -> Output:
        if url.startswith("data:"):
            data = _data_uri(url, model)
            declared = url[5:].partition(",")[0].partition(";")[0]
            return Output(data, media_type(data, "", declared), url[:64])
        attempt = 0
        while True:
            attempt += 1
            try:
                data, content_type = await self._fetch(http, url)
            except StudioError as err:
                if not err.retryable or attempt >= DOWNLOAD_ATTEMPTS:
                    raise
            except Exception as exc:
                mapped = self._mapped(exc, model)
                if mapped is None:
                    raise
                if not mapped.retryable or attempt >= DOWNLOAD_ATTEMPTS:
                    raise mapped from exc
            else:
                if not data:
                    raise malformed(model, "the output file is empty")
                return Output(data, media_type(data, url, content_type), url)
            await asyncio.sleep(min(MAX_BACKOFF, self.poll_interval * 2**attempt))

    async def _fetch(self, http: httpx.AsyncClient, url: str) -> tuple[bytes, str | None]:
        async with http.stream("GET", url) as response:
            if response.status_code >= 400:
                body = await response.aread()
                raise Refused(response.status_code, response.headers, body, "download")
            chunks: list[bytes] = []
            size = 0
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > MAX_OUTPUT_BYTES:
                    raise ProviderError(
                        f"the output at {url[:80]} is larger than {MAX_OUTPUT_BYTES // 2**20} MiB",
                        hint="ask for a shorter or smaller result",
                        provider="replicate",
                    )
                chunks.append(chunk)
            return b"".join(chunks), response.headers.get("content-type")


def _data_uri(url: str, model: str) -> bytes:
    header, _, payload = url.partition(",")
    try:
        if header.endswith(";base64"):
            return base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise malformed(model, "the output data URI is not base64") from exc
    raise malformed(model, "the output data URI is not base64")


def _output_urls(output: Any, model: str) -> list[str]:
    """The file URLs of a prediction's output: one URL, a list of them, or a mapping."""
    if isinstance(output, str):
        items: list[Any] = [output]
    elif isinstance(output, list):
        items = output
    elif isinstance(output, dict):
        items = list(output.values())
    else:
        why = "there is no output" if output is None else f"the output is a {type(output).__name__}"
        raise malformed(model, why)
    urls = [
        u for u in items if isinstance(u, str) and u.startswith(("https://", "http://", "data:"))
    ]
    if not urls:
        raise malformed(model, "the output holds no file URL")
    return urls


def _holds_bytes(value: Any) -> bool:
    """Whether ``value`` is or holds a file (sent as a data URI or an upload, so it can't be
    compared with what the service kept)."""
    if isinstance(value, bytes | bytearray):
        return True
    return isinstance(value, list) and any(_holds_bytes(v) for v in value)


def _created(prediction: Prediction) -> datetime | None:
    try:
        created = datetime.fromisoformat(str(prediction.created_at))
    except ValueError:
        return None
    return created if created.tzinfo is not None else created.replace(tzinfo=UTC)
