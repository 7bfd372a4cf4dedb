"""Hash tokens as the catalog writes them (SPEC 2): `sha256:<hex>`, `content-sha256:<hex>`, `absent`."""

from __future__ import annotations

import re
from pathlib import Path

from drift.errors import InputError

SHA256 = "sha256"
CONTENT_SHA256 = "content-sha256"
ABSENT = "absent"
KINDS = (SHA256, CONTENT_SHA256)

_HEX = re.compile(r"[0-9a-f]{64}")
_TOKEN = re.compile(r"(sha256|content-sha256):([0-9a-f]{64})")


def is_hex(value: object) -> bool:
    """True for 64 lowercase hexadecimal digits."""
    return isinstance(value, str) and _HEX.fullmatch(value) is not None


def token(kind: str, hexdigest: str) -> str:
    """The token for a digest of one kind: `token("sha256", h) == "sha256:" + h`."""
    return f"{kind}:{hexdigest}"


def check_token(value: object, *, source: str | Path, where: str, error: type[InputError] = InputError) -> str:
    """Return a well-formed hash token (or `absent`), else raise `error` naming the field."""
    if value == ABSENT:
        return ABSENT
    if isinstance(value, str) and _TOKEN.fullmatch(value):
        return value
    raise error(
        f"malformed hash {value!r}: expected 'sha256:<64 hex>', 'content-sha256:<64 hex>' or 'absent'",
        source=source,
        where=where,
    )


def check_hex(value: object, *, source: str | Path, where: str, error: type[InputError] = InputError) -> str:
    """Return 64 lowercase hex digits, else raise `error` naming the field."""
    if is_hex(value):
        return value  # type: ignore[return-value]
    raise error(f"malformed hash {value!r}: expected 64 lowercase hex digits", source=source, where=where)
