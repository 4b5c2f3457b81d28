"""A paid call's handle kept while it runs, so a call cut off by a crash is picked up, not
bought again.

A provider whose calls run on the service (a Replicate prediction, a Veo operation) asks the
journal for a handle left by an earlier attempt before it starts a new call, and gives the
journal the handle of a call it starts before it waits for it. The job that makes the call
sets the journal (``journaled``) around it and keeps the handle in the store, where the job's
next attempt, after a crash, finds it. A provider that can look a call up on the service may
also keep a note before it starts one (Replicate keeps ``creating since <time>``), so a crash
between the start and keeping the handle is covered too. Without a journal, providers just make
the call.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar
from typing import Protocol

__all__ = ["CallJournal", "call_journal", "journaled"]


class CallJournal(Protocol):
    def claim(self) -> str | None:
        """The handle an earlier attempt left (once: a retry after it starts afresh)."""
        ...

    async def remember(self, handle: str) -> None:
        """Keep the handle of a call just started, before waiting for it."""
        ...


_current: ContextVar[CallJournal | None] = ContextVar("studio_call_journal", default=None)


def call_journal() -> CallJournal | None:
    return _current.get()


@contextlib.contextmanager
def journaled(journal: CallJournal) -> Iterator[None]:
    token = _current.set(journal)
    try:
        yield
    finally:
        _current.reset(token)
