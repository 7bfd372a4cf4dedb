"""Which files get a content hash, and the algorithm's name: what a collection asks of every file, kept apart
from the content hash itself (`content`, which loads `zipfile`), so that a re-collection that inflates no
archive never loads it."""

from __future__ import annotations

ALGORITHM = "drift-content/1"
ARCHIVE_SUFFIXES = (".jar", ".war", ".ear", ".zip")


def is_archive_name(name: str) -> bool:
    """True for the names whose files get a content hash: `name.lower().endswith(ARCHIVE_SUFFIXES)`, asked
    of the last four characters alone (every suffix has four, and no character lowers into one of theirs
    from a longer or context-bound form; `tests/test_archive.py` holds it to the long form)."""
    return name[-4:].lower() in _SUFFIXES


_SUFFIXES = frozenset(ARCHIVE_SUFFIXES)
if {len(suffix) for suffix in _SUFFIXES} != {4}:  # pragma: no cover - a guard for whoever adds a suffix
    raise AssertionError("is_archive_name looks at four characters: give it the long form back")
