"""Asset bytes on disk, content-addressed by sha256; never inside DuckDB.

A file is written under a temporary name, flushed to disk, and only then renamed to its final
name ``ab/cd/abcd...``: a file under a final name is always whole and matches its hash.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from collections.abc import AsyncIterator, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from studio.errors import InvalidInput, NotFound, PayloadTooLarge

__all__ = ["AssetStore", "check_sha256"]

_SHA_RE = re.compile(r"^[0-9a-f]{64}$")
CHUNK = 1 << 20


def file_sha256(path: Path) -> str:
    """The SHA-256 of a file's bytes, read in chunks (the name the asset store gives it)."""
    hasher = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(CHUNK), b""):
            hasher.update(chunk)
    return hasher.hexdigest()


def check_sha256(value: str) -> str:
    if not isinstance(value, str) or not _SHA_RE.fullmatch(value):
        raise InvalidInput(
            f"{str(value)[:70]!r} is not an asset id", hint="asset ids are 64 lowercase hex digits"
        )
    return value


class _Writer:
    """Hashes and counts bytes as they go to a temporary file."""

    def __init__(self, handle: IO[bytes], limit: int | None) -> None:
        self.handle, self.limit = handle, limit
        self.hasher = hashlib.sha256()
        self.size = 0

    def write(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self.limit is not None and self.size > self.limit:
            raise PayloadTooLarge(
                f"the upload is over the limit of {self.limit:,} bytes",
                hint="use a smaller file or raise STUDIO_MAX_UPLOAD",
            )
        self.hasher.update(chunk)
        self.handle.write(chunk)


class AssetStore:
    def __init__(self, root: Path) -> None:
        self.root = root
        self._tmp = root / "tmp"
        self._tmp.mkdir(parents=True, exist_ok=True)

    def path(self, sha256: str) -> Path:
        check_sha256(sha256)
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def exists(self, sha256: str) -> bool:
        return self.path(sha256).is_file()

    def open(self, sha256: str) -> IO[bytes]:
        try:
            return self.path(sha256).open("rb")
        except FileNotFoundError as exc:
            raise NotFound(f"asset {sha256} is not in the store") from exc

    @contextmanager
    def _writing(self, limit: int | None) -> Iterator[_Writer]:
        fd, tmp_name = tempfile.mkstemp(dir=self._tmp, prefix="incoming-")
        tmp = Path(tmp_name)
        try:
            with os.fdopen(fd, "wb") as handle:
                writer = _Writer(handle, limit)
                yield writer
                handle.flush()
                os.fsync(handle.fileno())
            final = self.path(writer.hasher.hexdigest())
            final.parent.mkdir(parents=True, exist_ok=True)
            if final.exists():
                tmp.unlink()
            else:
                os.replace(tmp, final)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise

    def put_chunks(self, chunks: Iterable[bytes], *, limit: int | None = None) -> tuple[str, int]:
        """Store bytes; returns ``(sha256, size)``."""
        with self._writing(limit) as writer:
            for chunk in chunks:
                writer.write(chunk)
        return writer.hasher.hexdigest(), writer.size

    async def put_stream(
        self, chunks: AsyncIterator[bytes], *, limit: int | None = None
    ) -> tuple[str, int]:
        """Store an upload as it arrives (the caller runs this where blocking writes are fine)."""
        with self._writing(limit) as writer:
            async for chunk in chunks:
                writer.write(chunk)
        return writer.hasher.hexdigest(), writer.size

    def put_bytes(self, data: bytes) -> tuple[str, int]:
        return self.put_chunks([data])

    def put_file(self, source: Path, *, limit: int | None = None) -> tuple[str, int]:
        with source.open("rb") as handle:
            return self.put_chunks(iter(lambda: handle.read(CHUNK), b""), limit=limit)

    def verify(self, sha256: str) -> bool:
        """True if the file is there and its bytes still hash to its name."""
        try:
            return file_sha256(self.path(sha256)) == sha256
        except FileNotFoundError:
            return False
