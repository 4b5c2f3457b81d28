"""A file written in place of another: whole or not at all."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from studio.files import replacing


def test_the_new_content_replaces_the_old_only_when_whole(tmp_path: Path) -> None:
    dest = tmp_path / "summary.csv"
    dest.write_text("old")
    with replacing(dest) as tmp:
        tmp.write_text("new, half")
        assert dest.read_text() == "old"  # a reader meanwhile sees the old file
        assert tmp.parent == tmp_path and tmp.name.startswith(".") and tmp.suffix == ".csv"
        tmp.write_text("new, whole")
    assert dest.read_text() == "new, whole"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["summary.csv"]


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    dest = tmp_path / "plot.png"
    dest.write_bytes(b"old picture")
    with pytest.raises(RuntimeError, match="disk full"), replacing(dest) as tmp:
        tmp.write_bytes(b"half a pict")
        raise RuntimeError("disk full")
    assert dest.read_bytes() == b"old picture"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plot.png"]


def test_two_writers_of_one_file_never_share_a_temporary(tmp_path: Path) -> None:
    dest = tmp_path / "thumb.jpg"
    with replacing(dest) as first, replacing(dest) as second:
        assert first != second
        first.write_bytes(b"a")
        second.write_bytes(b"b")
    assert dest.read_bytes() == b"a"  # the first to finish is renamed last
    assert sorted(p.name for p in tmp_path.iterdir()) == ["thumb.jpg"]


def test_a_private_file_is_the_owners_alone_from_the_start(tmp_path: Path) -> None:
    dest = tmp_path / "engine.json"
    with replacing(dest, private=True) as tmp:
        assert stat.S_IMODE(tmp.stat().st_mode) == 0o600  # before a byte of the token
        tmp.write_text('{"token": "t"}')
    assert stat.S_IMODE(dest.stat().st_mode) == 0o600
