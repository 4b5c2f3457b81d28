"""The store's owner inside the engine: every read and write runs here, one at a time.

DuckDB allows one writer, and a commit costs about a millisecond of fsync. Writes that arrive
together are committed together (group commit): writes submitted during one pass of the event
loop are run in one transaction and committed once. If one of them fails, the batch is rolled
back, that write gets its error, and the others run again together: one bad write never takes
another with it, and every write is atomic. A caller hears back only after its commit.

The owner runs on the engine's event loop, not on a thread of its own: DuckDB releases the GIL
inside every statement, and a thread that must win the GIL back from a busy event loop waits
out Python's switch interval each time (measured here: 7 commits/s from a thread beside a busy
loop). A statement takes well under a millisecond, and a batch is capped so that requests get
their turn between batches.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from studio.errors import StoreError
from studio.store._db import Database
from studio.store._repos import Tx

__all__ = ["StoreWorker"]

T = TypeVar("T")
_MAX_BATCH = 32


@dataclass
class _Op:
    fn: Callable[[Tx], Any]
    future: asyncio.Future[Any]
    result: Any = None


class StoreWorker:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._pending: list[_Op] = []
        self._scheduled = False
        self._closed = False
        self.commits = 0
        self.writes = 0

    async def read(self, fn: Callable[[Tx], T]) -> T:
        """Run ``fn`` on the connection and return what it returns (sees committed data)."""
        self._check_open()
        return fn(self.db.read())

    async def write(self, fn: Callable[[Tx], T]) -> T:
        """Run ``fn`` in a transaction; returns once it is committed. ``fn`` may be run twice
        (see the module docstring), so it must not act outside the store."""
        self._check_open()
        loop = asyncio.get_running_loop()
        op = _Op(fn, loop.create_future())
        self._pending.append(op)
        if not self._scheduled:
            self._scheduled = True
            loop.call_soon(self._flush)
        result: T = await op.future
        return result

    def _check_open(self) -> None:
        if self._closed:
            raise StoreError(
                "the store is closed", hint="the engine is shutting down; retry shortly"
            )

    def close(self) -> None:
        """Checkpoint and close the database (call when no write is pending)."""
        if self._closed:
            return
        self._closed = True
        for op in self._pending:
            if not op.future.done():
                op.future.set_exception(StoreError("the store closed before this write ran"))
        self._pending.clear()
        self.db.close()

    def _flush(self) -> None:
        batch, self._pending = self._pending[:_MAX_BATCH], self._pending[_MAX_BATCH:]
        if self._pending:
            asyncio.get_running_loop().call_soon(self._flush)
        else:
            self._scheduled = False
        live = [op for op in batch if not op.future.cancelled()]
        if live and not self._closed:
            self._run_writes(live)

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
                            failed = index
                            _settle(op, error=exc)
                            raise
            except BaseException as exc:
                if failed is None:  # the commit itself failed: try each write alone
                    if len(pending) == 1:
                        _settle(pending[0], error=exc)
                        return
                    for op in pending:
                        self._run_writes([op])
                    return
                pending = pending[:failed] + pending[failed + 1 :]  # rolled back: run again
                continue
            self.commits += 1
            self.writes += len(pending)
            for op in pending:
                _settle(op, result=op.result)
            return


def _settle(op: _Op, *, result: Any = None, error: BaseException | None = None) -> None:
    if op.future.done():
        return
    if error is not None:
        op.future.set_exception(error)
    else:
        op.future.set_result(result)
