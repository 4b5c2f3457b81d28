"""An engine for one benchmark run: in this process, in a throwaway studio home."""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

from studio.engine import Client, EngineServer, Home

T = TypeVar("T")


def with_engine(work: Callable[[Client], Awaitable[T]]) -> T:
    """Run ``work`` with a client of a fresh in-process engine, stopped afterwards."""
    with tempfile.TemporaryDirectory() as tmp:
        home = Home.resolve(Path(tmp) / "home")
        with EngineServer(home):

            async def go() -> T:
                async with Client(home, autostart=False) as client:
                    return await work(client)

            return asyncio.run(go())
