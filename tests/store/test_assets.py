from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from studio.errors import InvalidInput, NotFound, PayloadTooLarge
from studio.store import AssetStore


def test_assets_are_content_addressed(tmp_path: Path) -> None:
    store = AssetStore(tmp_path / "assets")
    sha, size = store.put_bytes(b"frame data")
    assert sha == hashlib.sha256(b"frame data").hexdigest() and size == 10
    assert store.path(sha) == tmp_path / "assets" / sha[:2] / sha[2:4] / sha
    assert store.put_bytes(b"frame data") == (sha, 10)  # same bytes, same file
    assert store.verify(sha)
    store.path(sha).write_bytes(b"tampered")
    assert not store.verify(sha)


@pytest.mark.parametrize("bad", ["../../etc/passwd", "a" * 63, "A" * 64, "/" + "a" * 63])
def test_asset_ids_cannot_be_paths(tmp_path: Path, bad: str) -> None:
    store = AssetStore(tmp_path / "assets")
    with pytest.raises(InvalidInput, match="not an asset id"):
        store.path(bad)


def test_an_upload_over_the_limit_leaves_no_file(tmp_path: Path) -> None:
    store = AssetStore(tmp_path / "assets")
    with pytest.raises(PayloadTooLarge, match="over the limit of 8 bytes"):
        store.put_chunks([b"12345", b"67890"], limit=8)
    files = [p for p in (tmp_path / "assets").rglob("*") if p.is_file()]
    assert files == []


def test_a_failing_upload_leaves_no_file(tmp_path: Path) -> None:
    store = AssetStore(tmp_path / "assets")

    def chunks() -> object:
        yield b"partial"
        raise OSError("client went away")

    with pytest.raises(OSError):
        store.put_chunks(chunks())  # type: ignore[arg-type]
    assert [p for p in (tmp_path / "assets").rglob("*") if p.is_file()] == []


def test_missing_asset(tmp_path: Path) -> None:
    store = AssetStore(tmp_path / "assets")
    with pytest.raises(NotFound):
        store.open("0" * 64)
    assert not store.verify("0" * 64)
