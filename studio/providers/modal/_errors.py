"""Modal's failures, translated into the studio's error tree.

The modal SDK turns the gRPC status of a failed call into one of its own exceptions
(``UNAUTHENTICATED`` -> ``AuthError``, ``NOT_FOUND`` -> ``NotFoundError``, ``UNAVAILABLE`` after
its own retries -> ``ServiceError``, ``RESOURCE_EXHAUSTED`` -> ``ResourceExhaustedError`` ...),
raises ``FunctionTimeoutError`` when a function runs past its limit on Modal, and re-raises the
function's own exception when its body fails. Everything here turns those into a ``StudioError``
whose message says what happened and whose hint says what to do. Tokens never reach a message:
any text from outside passes through ``scrub`` first.
"""

from __future__ import annotations

from collections.abc import Callable

from studio.errors import (
    InvalidInput,
    PayloadTooLarge,
    ProviderError,
    ProviderTimeout,
    ProviderUnavailable,
    RateLimited,
    StudioError,
    Unauthorized,
)
from studio.providers._said import short
from studio.providers.modal._bodies import ClipRefused

__all__ = ["DEPLOY_HINT", "TOKEN_HINT", "translate_error"]

DEPLOY_HINT = (
    "deploy the studio's Modal app with `modal deploy -m studio.providers.modal._app`; if you "
    "deployed it under another name, set STUDIO_MODAL_APP to that name"
)
TOKEN_HINT = (
    "set MODAL_TOKEN_ID and MODAL_TOKEN_SECRET to a token from https://modal.com/settings/tokens "
    "(or run `modal token new`)"
)


def _retry_after(exc: BaseException) -> float | None:
    """The server's ``RPCRetryPolicy.retry_after_secs`` detail, if it sent one."""
    for detail in getattr(exc, "_grpc_details", None) or ():
        seconds = getattr(detail, "retry_after_secs", None)
        if isinstance(seconds, int | float) and seconds > 0:
            return float(seconds)
    return None


def translate_error(
    exc: BaseException,
    *,
    function: str,
    app: str,
    timeout: float,
    scrub: Callable[[str], str],
) -> StudioError | None:
    """The studio error for ``exc`` raised while calling ``app``'s ``function``, or ``None`` if it
    is not a failure of Modal or of the function."""
    from modal import exception as mx

    what = f"Modal ({app}.{function})"
    said = scrub(short(str(exc) or type(exc).__name__))
    common = {"provider": "modal", "function": function, "app": app}

    if isinstance(exc, ClipRefused):  # the body refused the request: nothing was made
        return InvalidInput(f"{what} refused the request: {said}", **common)
    if isinstance(exc, mx.AuthError | mx.PermissionDeniedError):
        return Unauthorized(f"{what} refused the token: {said}", hint=TOKEN_HINT, **common)
    if isinstance(exc, mx.NotFoundError):
        return InvalidInput(f"{what} is not deployed: {said}", hint=DEPLOY_HINT, **common)
    if isinstance(exc, mx.FunctionTimeoutError):
        return ProviderTimeout(
            f"{what} ran past its time limit on Modal: {said}",
            hint="the job is retried automatically; if it keeps happening, ask for a shorter "
            "clip or raise the function's timeout in studio/providers/modal/_app.py",
            **common,
        )
    if isinstance(exc, TimeoutError | mx.TimeoutError):
        return ProviderTimeout(
            f"{what} did not finish within {timeout:g} s; the call was cancelled",
            hint="the job is retried automatically; a cold start loads the model first, so "
            "give the provider a longer timeout if this keeps happening",
            **common,
        )
    if isinstance(exc, mx.ResourceExhaustedError):
        retry_after = _retry_after(exc)
        return RateLimited(
            f"{what} is over a limit of the workspace: {said}",
            hint="the job is retried automatically"
            + (f" after {retry_after:g} s" if retry_after is not None else "")
            + "; if it keeps happening, check the workspace's GPU and spending limits",
            retry_after=retry_after,
            **common,
        )
    if isinstance(exc, mx.RequestSizeError):
        return PayloadTooLarge(
            f"{what} says the request is too large: {said}",
            hint="send a smaller picture or a shorter clip",
            **common,
        )
    if isinstance(
        exc,
        mx.ServiceError
        | mx.InternalError
        | mx.InternalFailure
        | mx.ConnectionError
        | mx.ClientClosed
        | OSError,
    ):
        return ProviderUnavailable(
            f"{what} failed on Modal's side or cannot be reached: {said}",
            hint="the job is retried automatically; https://status.modal.com shows outages",
            **common,
        )
    if isinstance(exc, mx.InputCancellation):
        return ProviderError(
            f"{what} was cancelled on Modal before it finished",
            hint="run the job again; someone or something cancelled the call in Modal",
            **common,
        )
    if isinstance(exc, mx.InvalidError):
        return InvalidInput(f"{what} refused the request: {said}", **common)
    if isinstance(exc, mx.VersionError):
        return ProviderError(
            f"{what} does not accept this modal client: {said}",
            hint="upgrade the modal package (pip install -U modal)",
            **common,
        )
    if isinstance(exc, mx.Error):  # RemoteError, ExecutionError, DeserializationError ...
        return ProviderError(f"{what} failed: {said}", hint="try again", **common)
    if isinstance(exc, Exception):  # the function's own exception, raised again here
        return ProviderError(
            f"{what} failed while running: {type(exc).__name__}: {said}",
            hint="try again; if it keeps happening, read the function's logs with "
            f"`modal app logs {app}`",
            **common,
        )
    return None
