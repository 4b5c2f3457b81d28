"""The store's owner thread: every read and write of the engine runs here, one at a time.

DuckDB allows one writer, and a commit costs about a millisecond of fsync. Writes that arrive
together are committed together (group commit): the thread takes every write waiting in its
queue, runs them in one transaction and commits once. If any of them fails, the batch is rolled
back, the failing write gets its error, and the others run again together: one bad write
never takes another with it, and every write is atomic. A caller hears back only after its commit.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from studio.errors import StoreError
from studio.store._db import Database
from studio.store._repos import Tx

__all__ = ["StoreWorker"]

T = TypeVar("T")
_MAX_BATCH = 64


@dataclass
class _Op:
    fn: Callable[[Tx], Any]
    write: bool
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[Any]
    result: Any = None
    error: BaseException | None = None
    done: bool = field(default=False)


def _deliver(op: _Op) -> None:
    def settle() -> None:
        if op.future.cancelled():
            return
        if op.error is not None:
            op.future.set_exception(op.error)
        else:
            op.future.set_result(op.result)

    with contextlib.suppress(RuntimeError):  # the caller's loop closed: nobody is waiting
        op.loop.call_soon_threadsafe(settle)


class StoreWorker:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._queue: queue.SimpleQueue[_Op | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="studio-store", daemon=True)
        self._closed = False
        self.commits = 0
        self.writes = 0
        self._thread.start()

    async def read(self, fn: Callable[[Tx], T]) -> T:
        """Run ``fn`` on the owner thread and return what it returns."""
        return await self._submit(fn, write=False)

    async def write(self, fn: Callable[[Tx], T]) -> T:
        """Run ``fn`` in a transaction; returns once it is committed. ``fn`` may be run twice
        (see the module docstring), so it must not act outside the store."""
        return await self._submit(fn, write=True)

    async def _submit(self, fn: Callable[[Tx], T], *, write: bool) -> T:
        if self._closed:
            raise StoreError(
                "the store is closed", hint="the engine is shutting down; retry shortly"
            )
        loop = asyncio.get_running_loop()
        op = _Op(fn, write, loop, loop.create_future())
        self._queue.put(op)
        result: T = await op.future
        return result

    def close(self) -> None:
        """Finish what is queued, then checkpoint and close the database."""
        if self._closed:
            return
        self._closed = True
        self._queue.put(None)
        self._thread.join()
        self.db.close()

    def _run(self) -> None:
        stop = False
        while not stop:
            first = self._queue.get()
            batch: list[_Op] = []
            if first is None:
                stop = True
            else:
                batch.append(first)
            while len(batch) < _MAX_BATCH:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    stop = True
                    break
                batch.append(nxt)
            reads = [op for op in batch if not op.write]
            writes = [op for op in batch if op.write]
            for op in reads:
                self._run_read(op)
            if writes:
                self._run_writes(writes)

    def _run_read(self, op: _Op) -> None:
        try:
            op.result = op.fn(self.db.read())
        except BaseException as exc:
            op.error = exc
        _deliver(op)

    def _run_writes(self, ops: list[_Op]) -> None:
        pending = ops
        while pending:
            failed: int | None = None
            try:
                with self.db.transaction() as tx:
                    for index, op in enumerate(pending):
                        try:
                            op.result = op.fn(tx)
                        except BaseException as exc:
                            failed, op.result, op.error = index, None, exc
                            raise
            except BaseException as exc:
                if failed is None:  # the commit itself failed: try each write alone
                    if len(pending) == 1:
                        pending[0].error = exc
                        _deliver(pending[0])
                        return
                    for op in pending:
                        self._run_writes([op])
                    return
                _deliver(pending[failed])  # the batch was rolled back; the rest run again
                pending = pending[:failed] + pending[failed + 1 :]
                continue
            self.commits += 1
            self.writes += len(pending)
            for op in pending:
                _deliver(op)
            return
