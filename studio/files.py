"""Writing a file so that no reader ever sees half of it: the file is written under a
temporary name beside its own and renamed over it once whole (a rename is one step on one file
system), or removed if the writing fails."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["replacing"]


@contextmanager
def replacing(dest: Path, *, private: bool = False) -> Iterator[Path]:
    """A path to write ``dest``'s new content to. When the block ends, it is renamed over
    ``dest``; if the block raises, it is removed and ``dest`` is as it was.

    The name is unique (two writers of one file never share it), hidden (it starts with a
    dot) and keeps ``dest``'s suffix, for a writer that picks a format by it. ``private``
    makes the file readable by its owner only from the start (a file holding a token)."""
    tmp = dest.with_name(f".{dest.name}.{secrets.token_hex(4)}.part{dest.suffix}")
    try:
        if private:
            os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        yield tmp
        os.replace(tmp, dest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
