"""The engine: one local process that owns the store and the jobs, and the client that talks
to it. ``Client`` is what kernels, dashboards, papermill runs and the CLI use."""

from studio.engine._app import EngineState, create_app
from studio.engine._client import Client
from studio.engine._events import Event, EventBus
from studio.engine._home import EngineInfo, Home
from studio.engine._launch import ensure_engine, find_engine, ping, spawn_engine, stop_engine
from studio.engine._server import EngineServer

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
