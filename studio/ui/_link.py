"""The kernel's one link to the engine: an event loop on its own thread, one client, and one
event stream per project, fanned out to the widgets that show that project.

Widgets never wait on the engine in the kernel's own thread. A click becomes a coroutine run on
the link's loop; what the engine says comes back as events, which update the widgets' traits
from that loop. So a cell that blocks (a long ``wait``) never freezes a widget, and a widget
never blocks a cell. The link is made on first use, one per studio home, and lives as long as
the kernel.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import threading
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

from studio.engine import Client, Home

__all__ = ["Link", "close_links", "link"]

T = TypeVar("T")
Listener = Callable[[dict[str, Any]], None]

RECONNECT_DELAYS = (0.2, 0.5, 1.0, 2.0, 5.0)
"""Seconds between attempts to subscribe again after the event stream ends."""


class Link:
    """One home's engine, reached from a loop on a daemon thread."""

    def __init__(self, home: Home, key: str | None = None) -> None:
        self.home = home
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self.loop.run_forever, name=f"studio-link-{home.root.name}", daemon=True
        )
        self._thread.start()
        self.client = Client(home, key=key)
        self._caller: dict[str, Any] | None = None
        self._listeners: dict[str, list[Listener]] = {}
        self._streams: dict[str, asyncio.Task[None]] = {}
        self._lock = threading.Lock()

    def submit(self, work: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        """Run ``work`` on the link's loop; the future holds its result or its error."""
        return asyncio.run_coroutine_threadsafe(work, self.loop)

    def call(self, work: Coroutine[Any, Any, T], timeout: float = 60.0) -> T:
        """Run ``work`` on the link's loop and wait for it (for set-up, never for a click;
        never from the link's own thread, which would wait for itself)."""
        if self.on_its_thread():
            work.close()
            raise RuntimeError("Link.call from the link's own thread would wait forever")
        return self.submit(work).result(timeout)

    async def caller(self) -> dict[str, Any]:
        """Who this link acts as (``{"name", "role", "projects"}``), asked once."""
        if self._caller is None:
            self._caller = await self.client.whoami()
        return self._caller

    def on_its_thread(self) -> bool:
        return threading.current_thread() is self._thread

    def listen(self, project_id: str, listener: Listener) -> Callable[[], None]:
        """Call ``listener`` (on the link's thread) with each event of the project (of every
        project when ``project_id`` is ""); returns the function that stops it."""
        with self._lock:
            self._listeners.setdefault(project_id, []).append(listener)
            if project_id not in self._streams:
                self.loop.call_soon_threadsafe(self._start_stream, project_id)

        def stop() -> None:
            with self._lock:
                found = self._listeners.get(project_id, [])
                if listener in found:
                    found.remove(listener)

        return stop

    def close(self) -> None:
        """Stop the event streams, close the client and end the loop's thread."""

        async def end() -> None:
            others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in others:  # the event streams, reloads and actions still running
                task.cancel()
            await asyncio.gather(*others, return_exceptions=True)
            await self.client.aclose()

        with contextlib.suppress(Exception):
            self.call(end(), timeout=10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)
        if not self._thread.is_alive():
            self.loop.close()

    def _start_stream(self, project_id: str) -> None:
        if project_id not in self._streams:
            self._streams[project_id] = self.loop.create_task(self._stream(project_id))

    async def _stream(self, project_id: str) -> None:
        """Follow the project's events for as long as the kernel lives, subscribing again
        (from the last event seen, so nothing is missed) when the stream ends."""
        last: str | None = None
        failures = 0
        while True:
            try:
                async for event in self.client.events(
                    project_id=project_id or None, last_event_id=last
                ):
                    failures = 0
                    last = event.get("id") or last
                    with self._lock:
                        listeners = list(self._listeners.get(project_id, []))
                    for listener in listeners:
                        with contextlib.suppress(Exception):  # one widget's bug stays its own
                            listener(event)
            except Exception:
                pass  # the engine went away or restarted: subscribe again below
            await asyncio.sleep(RECONNECT_DELAYS[min(failures, len(RECONNECT_DELAYS) - 1)])
            failures += 1
            # a widget that missed events while the engine was away reloads
            with self._lock:
                listeners = list(self._listeners.get(project_id, []))
            for listener in listeners:
                with contextlib.suppress(Exception):
                    listener({"type": "link.reconnected", "project_id": project_id, "data": {}})


_links: dict[tuple[Path, str | None], Link] = {}
_links_lock = threading.Lock()


def link(home: Home | Path | str | None = None, key: str | None = None) -> Link:
    """The link to the engine of ``home`` (the studio's home by default), made on first use;
    with ``key`` (a shared link's), it acts as the editor or reviewer the key was made for."""
    resolved = home if isinstance(home, Home) else Home.resolve(home)
    ident = (resolved.root.resolve(), key)
    with _links_lock:
        found = _links.get(ident)
        if found is None:
            found = _links[ident] = Link(resolved, key)
        return found


def close_links() -> None:
    """Close every link this process made (a kernel shutting down, or the end of a test)."""
    with _links_lock:
        found = list(_links.values())
        _links.clear()
    for each in found:
        each.close()
