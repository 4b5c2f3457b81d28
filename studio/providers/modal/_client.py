"""Calling the studio's deployed Modal functions, through the modal SDK (imported when a call is
made, not before).

Each call opens its own client (the token and the server come from the studio's settings, not
from ``~/.modal.toml``), says hello to check the token and that Modal can be reached, looks the
function up by app and name, spawns the call, and waits for its result. A call that runs out of
time, or whose job is cancelled, is cancelled on Modal too, so no GPU keeps running for nothing.
The spawned call's id goes to the call journal (``studio.providers.journaled``) before the wait,
so the job's next attempt after a crash collects that call instead of running it again.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import Mapping
from typing import Any

from studio.errors import InvalidInput, ProviderUnavailable, StudioError, Unauthorized
from studio.providers._journal import call_journal
from studio.providers.modal._errors import TOKEN_HINT, translate_error

__all__ = ["DEFAULT_APP", "ModalConnection"]

_CALL_ID_RE = re.compile(r"^fc-[A-Za-z0-9]{1,64}$")
"""A Modal function call's id (a journal's handle is checked against it)."""

DEFAULT_APP = "studio"
"""The name the app is deployed under (``STUDIO_MODAL_APP`` changes it)."""


class ModalConnection:
    """Where the studio's Modal app is and the token to reach it (never shown)."""

    def __init__(
        self,
        token_id: str,
        token_secret: str,
        *,
        app: str = DEFAULT_APP,
        server_url: str | None = None,
        environment: str | None = None,
        connect_timeout: float = 30.0,
    ) -> None:
        if not token_id.strip() or not token_secret.strip():
            raise Unauthorized("a Modal token needs both its id and its secret", hint=TOKEN_HINT)
        if not app.strip():
            raise InvalidInput(
                "the Modal app needs a name", hint="set STUDIO_MODAL_APP, or unset it"
            )
        if not connect_timeout > 0:
            raise InvalidInput(f"the connect timeout must be positive, not {connect_timeout!r}")
        self._token = (token_id.strip(), token_secret.strip())
        self.app = app.strip()
        self.server_url = server_url.strip() if server_url and server_url.strip() else None
        """``MODAL_SERVER_URL``; ``None`` lets the modal package decide (api.modal.com)."""
        self.environment = environment.strip() if environment and environment.strip() else None
        self.connect_timeout = connect_timeout

    @classmethod
    def from_environ(cls, environ: Mapping[str, str], *, doing: str) -> ModalConnection:
        """The connection ``environ`` describes: ``MODAL_TOKEN_ID`` and ``MODAL_TOKEN_SECRET``,
        ``STUDIO_MODAL_APP`` (default ``"studio"``), ``MODAL_SERVER_URL`` and
        ``MODAL_ENVIRONMENT`` (both optional). ``Unauthorized`` when the token is not set."""
        from studio.providers._registry import require_key

        token_id = require_key("modal", environ, doing=doing)
        secret = environ.get("MODAL_TOKEN_SECRET", "").strip()
        if not secret:
            raise Unauthorized(
                f"{doing} with modal needs MODAL_TOKEN_SECRET as well as MODAL_TOKEN_ID",
                hint=TOKEN_HINT,
            )
        return cls(
            token_id,
            secret,
            app=environ.get("STUDIO_MODAL_APP", "").strip() or DEFAULT_APP,
            server_url=environ.get("MODAL_SERVER_URL"),
            environment=environ.get("MODAL_ENVIRONMENT"),
        )

    def __repr__(self) -> str:
        where = f", server_url={self.server_url!r}" if self.server_url else ""
        return f"ModalConnection(app={self.app!r}{where})"

    def scrub(self, text: str) -> str:
        """``text`` with the token's id and secret taken out."""
        for secret in self._token:
            if secret:
                text = text.replace(secret, "***")
        return text

    async def call(self, function: str, *args: Any, timeout: float, **kwargs: Any) -> Any:
        """Run the deployed ``function`` with these arguments and return what it returns; Modal's
        failures and the function's own become ``StudioError``s."""
        try:
            return await self._call(function, args, kwargs, timeout)
        except StudioError:
            raise
        except asyncio.CancelledError:
            raise
        except BaseException as exc:
            error = translate_error(
                exc, function=function, app=self.app, timeout=timeout, scrub=self.scrub
            )
            if error is None:
                raise
            raise error from exc

    async def _call(
        self, function: str, args: tuple[Any, ...], kwargs: dict[str, Any], timeout: float
    ) -> Any:
        import modal
        from modal_proto import api_pb2

        server_url = self.server_url or str(modal.config.config.get("server_url"))
        # Client.from_credentials would read the server from modal's own config; the studio's
        # settings name it, so the client is made the way modal's Client.verify makes one
        client = modal.Client(server_url, api_pb2.CLIENT_TYPE_CLIENT, self._token)
        try:
            try:
                # opening connects, and modal retries a refused connection for about a minute;
                # hello checks the token before anything is uploaded
                opening = client.__aenter__()  # type: ignore[no-untyped-call]
                await asyncio.wait_for(opening, self.connect_timeout)
                hello = client.hello.aio()  # type: ignore[no-untyped-call]
                await asyncio.wait_for(hello, self.connect_timeout)
            except TimeoutError as exc:
                raise ProviderUnavailable(
                    f"Modal cannot be reached at {self.scrub(server_url)} "
                    f"(no answer within {self.connect_timeout:g} s)",
                    hint="check the network connection and MODAL_SERVER_URL; the job is "
                    "retried automatically",
                    provider="modal",
                    function=function,
                    app=self.app,
                ) from exc
            journal = call_journal()
            earlier = journal.claim() if journal is not None else None
            if earlier is not None and _CALL_ID_RE.fullmatch(earlier):
                # an attempt cut off by a crash spawned it: collect it, don't run it again
                earlier_call = modal.FunctionCall.from_id(earlier, client=client)
                try:
                    return await self._collect(earlier_call, timeout)
                except modal.exception.NotFoundError:
                    pass  # Modal no longer knows it (its result expired): run it again
            handle = modal.Function.from_name(
                self.app, function, environment_name=self.environment, client=client
            )
            call = await handle.spawn.aio(*args, **kwargs)
            if journal is not None:
                await journal.remember(call.object_id)
            return await self._collect(call, timeout)
        finally:
            with contextlib.suppress(Exception):
                await client.close.aio()

    async def _collect(self, call: Any, timeout: float) -> Any:
        """What the spawned ``call`` returns; out of time, or the job cancelled, it is cancelled
        on Modal: no GPU runs on for a clip nobody will collect."""
        try:
            return await call.get.aio(timeout=timeout)
        except (TimeoutError, asyncio.CancelledError):
            with contextlib.suppress(Exception):
                await asyncio.shield(asyncio.wait_for(call.cancel.aio(), self.connect_timeout))
            raise
