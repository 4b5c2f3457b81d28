"""Change and progress events, fanned out to every subscriber (the SSE stream).

Each event has an id ``<epoch>-<seq>``; the epoch changes when the engine restarts. A subscriber
that reconnects with ``Last-Event-ID`` gets what it missed from a ring buffer, or a ``resync``
event when that is no longer possible (it should then reload what it shows).
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Event", "EventBus"]


@dataclass(frozen=True)
class Event:
    seq: int
    epoch: str
    type: str
    project_id: str | None
    data: dict[str, Any]
    at: float = field(default_factory=time.time)

    @property
    def id(self) -> str:
        return f"{self.epoch}-{self.seq}"

    def sse(self) -> bytes:
        body = json.dumps(
            {"type": self.type, "project_id": self.project_id, "at": self.at, "data": self.data}
        )
        return f"id: {self.id}\nevent: {self.type}\ndata: {body}\n\n".encode()


class EventBus:
    def __init__(self, history: int = 4096, queue_size: int = 2048) -> None:
        self.epoch = secrets.token_hex(4)
        self._seq = 0
        self._history: deque[Event] = deque(maxlen=history)
        self._subscribers: set[asyncio.Queue[Event | None]] = set()
        self._queue_size = queue_size

    def publish(self, type: str, data: dict[str, Any], project_id: str | None = None) -> Event:
        """Call on the engine's loop."""
        self._seq += 1
        event = Event(self._seq, self.epoch, type, project_id, data)
        self._history.append(event)
        for queue in list(self._subscribers):
            if queue.qsize() >= self._queue_size:  # a stalled reader: end its stream; it resyncs
                self._subscribers.discard(queue)
                while not queue.empty():
                    queue.get_nowait()
                queue.put_nowait(None)
            else:
                queue.put_nowait(event)
        return event

    def close(self) -> None:
        """End every stream (the engine is stopping)."""
        for queue in list(self._subscribers):
            queue.put_nowait(None)
        self._subscribers.clear()

    def _missed(self, last_id: str | None) -> list[Event] | None:
        """Events after ``last_id``; None when they are gone (or from another epoch)."""
        if not last_id:
            return []
        epoch, _, seq_text = last_id.partition("-")
        if epoch != self.epoch or not seq_text.isdigit():
            return None
        seq = int(seq_text)
        oldest = self._history[0].seq if self._history else self._seq + 1
        if seq < oldest - 1:
            return None
        return [e for e in self._history if e.seq > seq]

    async def subscribe(
        self, last_id: str | None = None, project_id: str | None = None, keepalive: float = 15.0
    ) -> AsyncIterator[Event | None]:
        """Events as they happen (after those missed since ``last_id``); ``None`` every
        ``keepalive`` seconds of quiet, so a stream can send a comment and find dead readers."""
        queue: asyncio.Queue[Event | None] = asyncio.Queue()
        self._subscribers.add(queue)
        try:
            missed = self._missed(last_id)
            if missed is None:
                yield Event(self._seq, self.epoch, "resync", None, {"reason": "events were missed"})
                missed = []
            for event in missed:
                if project_id is None or event.project_id in (None, project_id):
                    yield event
            while True:
                try:
                    item = await asyncio.wait_for(queue.get(), keepalive)
                except TimeoutError:
                    yield None
                    continue
                if item is None:
                    return
                if project_id is None or item.project_id in (None, project_id):
                    yield item
        finally:
            self._subscribers.discard(queue)
