"""The engine: one local process that owns the store and the jobs, and the client that talks
to it. ``Client`` is what kernels, dashboards, papermill runs and the CLI use.

The names are imported when first used: a kernel that only needs the client does not load the
server, the job handlers and everything they use (about a second and a half of imports)."""

import importlib
import typing

if typing.TYPE_CHECKING:
    from studio.engine._app import EngineState, create_app
    from studio.engine._client import Client
    from studio.engine._events import Event, EventBus
    from studio.engine._home import EngineInfo, Home
    from studio.engine._launch import ensure_engine, find_engine, ping, spawn_engine, stop_engine
    from studio.engine._server import EngineServer

_WHERE = {
    "Client": "_client",
    "EngineInfo": "_home",
    "EngineServer": "_server",
    "EngineState": "_app",
    "Event": "_events",
    "EventBus": "_events",
    "Home": "_home",
    "create_app": "_app",
    "ensure_engine": "_launch",
    "find_engine": "_launch",
    "ping": "_launch",
    "spawn_engine": "_launch",
    "stop_engine": "_launch",
}

__all__ = [
    "Client",
    "EngineInfo",
    "EngineServer",
    "EngineState",
    "Event",
    "EventBus",
    "Home",
    "create_app",
    "ensure_engine",
    "find_engine",
    "ping",
    "spawn_engine",
    "stop_engine",
]


def __getattr__(name: str) -> typing.Any:
    where = _WHERE.get(name)
    if where is None:
        raise AttributeError(f"module 'studio.engine' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"studio.engine.{where}"), name)
    globals()[name] = value
    return value
