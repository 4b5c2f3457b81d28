"""The DuckDB connection: opened offline, migrated, and used in short transactions."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from studio.errors import StoreError
from studio.store._migrations import migrate
from studio.store._repos import KnownProjects, Tx

__all__ = ["Database"]

# Nothing may reach for the network: no extension is installed or auto-loaded, ever.
_CONFIG: dict[str, str | bool | int | float | list[str]] = {
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
    "threads": 1,
}


class Database:
    """One read-write connection to the store file. Not thread-safe: one owner uses it."""

    def __init__(self, path: Path, *, migrate_to: int | None = None) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._conn = duckdb.connect(str(path), config=_CONFIG)
        except duckdb.IOException as exc:
            if "lock" in str(exc).lower():
                raise StoreError(
                    f"the store {path} is open in another process",
                    hint="the engine owns the store: go through the studio client or "
                    "`studio` commands, or stop the other process",
                ) from exc
            raise StoreError(f"cannot open the store {path}: {exc}") from exc
        except duckdb.Error as exc:
            raise StoreError(
                f"the store {path} cannot be read: {exc}",
                hint="restore it from an export (`studio import`) or move it aside",
            ) from exc
        self.version = (
            migrate(self._conn) if migrate_to is None else migrate(self._conn, migrate_to)
        )
        self._known = KnownProjects()

    @contextmanager
    def transaction(self) -> Iterator[Tx]:
        """A transaction: committed when the block ends, rolled back if it raises."""
        conn = self._conn
        conn.execute("BEGIN TRANSACTION")
        tx = Tx(conn, self._known)
        try:
            yield tx
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        try:
            conn.execute("COMMIT")
        except duckdb.Error as exc:
            raise StoreError(f"the store could not commit: {exc}") from exc
        self._known.add(tx.created_projects)

    def read(self) -> Tx:
        """Repositories on the connection for reads outside a transaction."""
        return Tx(self._conn, self._known)

    def checkpoint(self) -> None:
        self._conn.execute("CHECKPOINT")

    def close(self) -> None:
        try:
            self._conn.execute("CHECKPOINT")
        finally:
            self._conn.close()
