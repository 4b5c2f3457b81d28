"""Shared pieces of the domain: the base model, ids, names, timestamps and fingerprints."""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import time
import unicodedata
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict

from studio.errors import InvalidInput

__all__ = [
    "ID_PATTERN",
    "Name",
    "Palette",
    "StudioModel",
    "check_id",
    "fingerprint",
    "new_id",
    "normalize_name",
    "utcnow",
]

ID_PATTERN = r"^[a-z]{2,4}_[0-9a-z]{20}$"
_ID_RE = re.compile(ID_PATTERN)
_B32 = "0123456789abcdefghjkmnpqrstvwxyz"  # Crockford: no i, l, o, u


class StudioModel(BaseModel):
    """Base of every domain model: unknown fields are refused, assignments are validated."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)


def utcnow() -> datetime:
    """Now in UTC, without tzinfo: the store keeps plain TIMESTAMPs in UTC."""
    return datetime.now(UTC).replace(tzinfo=None)


def new_id(prefix: str) -> str:
    """A new id such as ``scn_01jd3k...``: time-ordered (sorts by creation), then random."""
    millis = int(time.time() * 1000)
    head = "".join(_B32[(millis >> shift) & 31] for shift in range(45, -1, -5))
    tail = "".join(secrets.choice(_B32) for _ in range(10))
    return f"{prefix}_{head}{tail}"


def check_id(value: str, what: str = "id") -> str:
    """Refuse anything that is not an id of ours, before it reaches a query or a path."""
    if not isinstance(value, str) or not _ID_RE.fullmatch(value):
        shown = value[:40] if isinstance(value, str) else type(value).__name__
        raise InvalidInput(
            f"{what} {shown!r} is not a valid id",
            hint="ids look like 'scn_' followed by 20 lowercase letters and digits",
        )
    return value


# Characters a name may never hold: path separators, and the invisible or direction-changing
# ones that make two different names look the same (control, format, private use, unassigned,
# surrogates, line and paragraph separators). The zero-width joiner stays: emoji need it.
_FORBIDDEN_CATEGORIES = {"Cc", "Cf", "Co", "Cn", "Cs", "Zl", "Zp"}
_ALLOWED_FORMAT = {"\u200d"}
MAX_NAME_LENGTH = 80


def normalize_name(value: str, what: str = "name") -> str:
    """NFC-normalise and check a person-given name; raise ``InvalidInput`` saying why not."""
    if not isinstance(value, str):
        raise InvalidInput(f"{what} must be text, not {type(value).__name__}")
    name = unicodedata.normalize("NFC", value).strip()
    if not name:
        raise InvalidInput(f"{what} is empty", hint="give it a name with at least one letter")
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidInput(
            f"{what} is {len(name)} characters long; the limit is {MAX_NAME_LENGTH}",
            hint="use a shorter name",
        )
    if "/" in name or "\\" in name or name in {".", ".."} or name.startswith(".."):
        raise InvalidInput(
            f"{what} {name[:40]!r} looks like a path",
            hint="names cannot contain '/' or '\\' or start with '..'",
        )
    for ch in name:
        if ch in _ALLOWED_FORMAT:
            continue
        if unicodedata.category(ch) in _FORBIDDEN_CATEGORIES:
            raise InvalidInput(
                f"{what} contains the invisible or control character U+{ord(ch):04X}",
                hint="remove it; letters, digits, punctuation, spaces and emoji are fine",
            )
    return name


def _name(value: str) -> str:
    try:
        return normalize_name(value)
    except InvalidInput as exc:  # pydantic reports ValueError as a validation error
        raise ValueError(str(exc)) from exc


Name = Annotated[str, AfterValidator(_name)]
"""A person-given name: NFC, trimmed, 1-80 characters, no path separators or hidden characters."""


def _palette(value: list[str]) -> list[str]:
    bad = [c for c in value if not re.fullmatch(r"#[0-9a-fA-F]{6}", c)]
    if bad:
        raise ValueError(f"palette colours must look like '#a1b2c3', not {bad[0]!r}")
    return [c.lower() for c in value]


Palette = Annotated[list[str], AfterValidator(_palette)]
"""Colours as ``#rrggbb``, stored in lower case, strongest first."""


def fingerprint(inputs: Any) -> str:
    """A stable hash of a JSON-able value: equal inputs give equal fingerprints, on any machine."""
    blob = json.dumps(
        inputs, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
    )
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:32]
