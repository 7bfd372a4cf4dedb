"""Which files get a content hash, and the algorithm's name: what a collection asks of every file, kept apart
from the content hash itself (`content`, which loads `zipfile`), so that a re-collection that inflates no
archive never loads it."""

from __future__ import annotations

from collections.abc import Iterable

ALGORITHM = "drift-content/1"
ARCHIVE_SUFFIXES = (".jar", ".war", ".ear", ".zip")


def is_archive_name(name: str) -> bool:
    """True for the names whose files get a content hash: `name.lower().endswith(ARCHIVE_SUFFIXES)`, asked
    of the last four characters alone (every suffix has four, and no character lowers into one of theirs
    from a longer or context-bound form; `tests/test_archive.py` holds it to the long form)."""
    return name[-4:].lower() in _SUFFIXES


def archive_names(names: Iterable[str]) -> list[str]:
    """The names among `names` that `is_archive_name` takes (a comprehension, not a call a name: a cached
    re-collection asks it of every file)."""
    return [name for name in names if name[-4:].lower() in _SUFFIXES]


_SUFFIXES = frozenset(ARCHIVE_SUFFIXES)
if {len(suffix) for suffix in _SUFFIXES} != {4}:  # pragma: no cover - a guard for whoever adds a suffix
    raise AssertionError("is_archive_name looks at four characters: give it the long form back")
