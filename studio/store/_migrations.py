"""Numbered schema migrations. Each runs in its own transaction with the version bump, so a
store is always at exactly one version, never half-way."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import duckdb

from studio.errors import MigrationError

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "Migration", "migrate", "schema_version"]


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    statements: tuple[str, ...] = ()
    transform: Callable[[duckdb.DuckDBPyConnection], None] | None = None


_DOC_TABLE = """CREATE TABLE {name} (
    id VARCHAR PRIMARY KEY,
    project_id VARCHAR NOT NULL,
    created_at TIMESTAMP NOT NULL,
    doc JSON NOT NULL
)"""

MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "projects, creative documents, scenes, takes, timelines, renders, comments, jobs, assets",
        (
            """CREATE TABLE projects (
                id VARCHAR PRIMARY KEY,
                name VARCHAR NOT NULL,
                name_key VARCHAR NOT NULL UNIQUE,
                created_at TIMESTAMP NOT NULL,
                updated_at TIMESTAMP NOT NULL,
                doc JSON NOT NULL
            )""",
            _DOC_TABLE.format(name="concepts"),
            _DOC_TABLE.format(name="moods"),
            _DOC_TABLE.format(name="characters"),
            """CREATE TABLE scenes (
                id VARCHAR PRIMARY KEY,
                project_id VARCHAR NOT NULL,
                created_at TIMESTAMP NOT NULL,
                position INTEGER NOT NULL,
                state VARCHAR NOT NULL,
                revision INTEGER NOT NULL,
                doc JSON NOT NULL
            )""",
            """CREATE TABLE takes (
                id VARCHAR PRIMARY KEY,
                project_id VARCHAR NOT NULL,
                created_at TIMESTAMP NOT NULL,
                owner_id VARCHAR NOT NULL,
                kind VARCHAR NOT NULL,
                version INTEGER NOT NULL,
                fingerprint VARCHAR NOT NULL,
                asset_sha256 VARCHAR,
                doc JSON NOT NULL,
                UNIQUE (owner_id, kind, version)
            )""",
            """CREATE TABLE timelines (
                id VARCHAR PRIMARY KEY,
                project_id VARCHAR NOT NULL UNIQUE,
                created_at TIMESTAMP NOT NULL,
                revision INTEGER NOT NULL,
                doc JSON NOT NULL
            )""",
            _DOC_TABLE.format(name="renders"),
            """CREATE TABLE comments (
                id VARCHAR PRIMARY KEY,
                project_id VARCHAR NOT NULL,
                created_at TIMESTAMP NOT NULL,
                target_id VARCHAR NOT NULL,
                doc JSON NOT NULL
            )""",
            """CREATE TABLE jobs (
                id VARCHAR PRIMARY KEY,
                project_id VARCHAR,
                created_at TIMESTAMP NOT NULL,
                kind VARCHAR NOT NULL,
                fingerprint VARCHAR NOT NULL,
                status VARCHAR NOT NULL,
                doc JSON NOT NULL
            )""",
            """CREATE TABLE assets (
                sha256 VARCHAR PRIMARY KEY,
                size BIGINT NOT NULL,
                media_type VARCHAR NOT NULL,
                created_at TIMESTAMP NOT NULL
            )""",
            """CREATE TABLE analyses (
                audio_sha256 VARCHAR PRIMARY KEY,
                created_at TIMESTAMP NOT NULL,
                doc JSON NOT NULL
            )""",
        ),
    ),
    Migration(
        2,
        "idempotent writes and the cache of finished job stages",
        (
            """CREATE TABLE idempotency (
                key VARCHAR PRIMARY KEY,
                created_at TIMESTAMP NOT NULL,
                response JSON NOT NULL
            )""",
            """CREATE TABLE job_stages (
                fingerprint VARCHAR PRIMARY KEY,
                job_id VARCHAR NOT NULL,
                stage VARCHAR NOT NULL,
                created_at TIMESTAMP NOT NULL,
                result JSON NOT NULL
            )""",
            "CREATE INDEX jobs_status ON jobs (status)",
        ),
    ),
    Migration(
        3,
        "sessions and their turns; the cost ledger",
        (
            _DOC_TABLE.format(name="sessions"),
            """CREATE TABLE turns (
                id VARCHAR PRIMARY KEY,
                project_id VARCHAR NOT NULL,
                created_at TIMESTAMP NOT NULL,
                session_id VARCHAR NOT NULL,
                idx INTEGER NOT NULL,
                doc JSON NOT NULL,
                UNIQUE (session_id, idx)
            )""",
            """CREATE TABLE ledger (
                id VARCHAR PRIMARY KEY,
                project_id VARCHAR NOT NULL,
                created_at TIMESTAMP NOT NULL,
                job_id VARCHAR,
                state VARCHAR NOT NULL,
                usd DOUBLE NOT NULL,
                doc JSON NOT NULL
            )""",
            "CREATE INDEX ledger_project ON ledger (project_id)",
        ),
    ),
    Migration(
        4,
        "keys made for editors and reviewers",
        (
            """CREATE TABLE grants (
                id VARCHAR PRIMARY KEY,
                created_at TIMESTAMP NOT NULL,
                key_sha256 VARCHAR NOT NULL UNIQUE,
                doc JSON NOT NULL
            )""",
        ),
    ),
)

SCHEMA_VERSION = MIGRATIONS[-1].version


def schema_version(conn: duckdb.DuckDBPyConnection) -> int:
    """The version the store is at; 0 for a new, empty file."""
    exists = conn.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'schema_version'"
    ).fetchone()
    if not exists or not exists[0]:
        return 0
    row = conn.execute("SELECT max(version) FROM schema_version").fetchone()
    return int(row[0]) if row and row[0] is not None else 0


def migrate(conn: duckdb.DuckDBPyConnection, target: int = SCHEMA_VERSION) -> int:
    """Bring the store up to ``target``; returns the version it is at afterwards."""
    current = schema_version(conn)
    if current > SCHEMA_VERSION:
        raise MigrationError(
            f"this store is at schema version {current}; this studio knows up to {SCHEMA_VERSION}",
            hint="upgrade the studio package to open it",
        )
    if current == 0:
        conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_version "
            "(version INTEGER PRIMARY KEY, applied_at TIMESTAMP NOT NULL, description VARCHAR)"
        )
    for step in MIGRATIONS:
        if step.version <= current or step.version > target:
            continue
        conn.execute("BEGIN TRANSACTION")
        try:
            for statement in step.statements:
                conn.execute(statement)
            if step.transform is not None:
                step.transform(conn)
            conn.execute(
                "INSERT INTO schema_version VALUES (?, now()::TIMESTAMP, ?)",
                [step.version, step.description],
            )
            conn.execute("COMMIT")
        except duckdb.Error as exc:
            conn.execute("ROLLBACK")
            raise MigrationError(
                f"migration {step.version} ({step.description}) failed: {exc}",
                hint="the store was left at the version before it; report this with the log",
            ) from exc
        current = step.version
    return current
