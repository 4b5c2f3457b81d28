"""The project store: the only code that imports duckdb.

A store is a folder: ``store.duckdb`` (rows) and ``assets/`` (bytes, content-addressed).
:class:`Database` is the connection, :class:`StoreWorker` the thread that owns it inside the
engine, :class:`AssetStore` the files, and ``_archive`` turns a project into one file and back.
"""

from studio.store._archive import (
    ARCHIVE_FORMAT,
    AssetEntry,
    ProjectSnapshot,
    read_archive,
    restore,
    snapshot,
    write_archive,
)
from studio.store._assets import AssetStore, check_sha256, file_sha256
from studio.store._db import Database
from studio.store._migrations import MIGRATIONS, SCHEMA_VERSION, migrate, schema_version
from studio.store._repos import Tx
from studio.store._worker import StoreWorker

__all__ = [
    "ARCHIVE_FORMAT",
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "AssetEntry",
    "AssetStore",
    "Database",
    "ProjectSnapshot",
    "StoreWorker",
    "Tx",
    "check_sha256",
    "file_sha256",
    "migrate",
    "read_archive",
    "restore",
    "schema_version",
    "snapshot",
    "write_archive",
]
