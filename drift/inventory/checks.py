"""Fast validation of the many paths of one inventory."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from drift.errors import InventoryError
from drift.paths import check_relpath

# One pass over all paths joined by newlines: any match means some path needs a closer look.
_SUSPECT = re.compile(r"(?:^|/)\.{1,2}(?:/|$)|^/|//|/$|^$|^[A-Za-z]:|[\x00-\x09\x0b-\x1f\x7f\\]", re.MULTILINE)


def check_paths(paths: Sequence[str], *, source: str | Path, field: str) -> None:
    """Raise `InventoryError` naming the first path that is not a plain relative path inside its root."""
    joined = "\n".join(paths)
    if _SUSPECT.search(joined) is None and joined.count("\n") == max(len(paths) - 1, 0):
        return
    for i, path in enumerate(paths):
        check_relpath(path, source=source, where=f"{field}[{i}]", error=InventoryError)
