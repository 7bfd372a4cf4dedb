"""The files of a JSON inventory in its canonical layout, read line by line, each distinct line once.

`dumps_inventory` writes each file on a line of its own. The inventories of a fleet list mostly the same
files: every tenant on a release has, for each file it did not change, the very line that every other
tenant on that release has. So each distinct line is parsed and checked once (in this process) and then
looked up by its bytes; only the lines not seen before, and the rest of the document, are parsed.

This is only ever a shortcut to the same result. A line is parsed on its own with `json.loads` (a JSON
value means the same wherever it stands) and checked exactly as a files item is; the list must be laid out
one item per line, each but the last followed by its comma. Any other layout, or a line that does not
pass, sends the whole document the long way, which names what is wrong.
"""

from __future__ import annotations

import json
import re
from operator import itemgetter
from typing import Any, cast

from drift.errors import InventoryError
from drift.inventory.filetable import DuplicatePathError, FileTable, file_record
from drift.paths import check_relpath

_START = b'\n "files": [\n'
_END = re.compile(rb'\n \],\n "digest": "sha256:[0-9a-f]{64}"\n\}\n\Z')
_MAX_LINES = 200_000
"""Distinct lines kept (some 30 MB); then they are forgotten and learned again."""
_MOSTLY_NEW = 8
"""When more than one line in this many is new, the document is read the long way (one `json.loads` is
quicker than many small ones), and its lines are learned after."""
_WARM_UP = 20_000
"""Lines learned from documents read the long way before their lines must have been found elsewhere."""
_TRIAL = 100_000
"""Lines looked up before looking up stops, unless one in `_MOSTLY_NEW` was found: a fleet whose
inventories share no lines pays for neither looking up nor learning for long."""

Row = tuple[str, int, str, str | None]
"""(path, size, sha256, content_sha256) of one file."""
_PATH, _SIZE, _SHA256, _CONTENT = itemgetter(0), itemgetter(1), itemgetter(2), itemgetter(3)

_ROWS: dict[bytes, Row] = {}
"""Each line seen (without its comma) -> its file."""


class _Tally:
    looked = 0
    found = 0
    learned = 0


_TALLY = _Tally()


class Split:
    """A document cut around its files list: `head` + the list + `tail`; `lines` are the list's lines,
    without the commas between them."""

    __slots__ = ("head", "lines", "tail")

    def __init__(self, head: bytes, lines: list[bytes], tail: bytes) -> None:
        self.head, self.lines, self.tail = head, lines, tail

    def without_files(self) -> bytes:
        """The document with an empty files list in place of this one."""
        return self.head + b"[]" + self.tail


def split(data: bytes) -> Split | None:
    """The document cut around its files list when that list is the last member before the digest and is
    laid out one item per line, each but the last ending with its comma; None otherwise."""
    end = _END.search(data, max(len(data) - 100, 0))
    if end is None:
        return None
    start = data.rfind(_START, 0, end.start() + 1)
    if start < 0:
        return None
    opening = start + len(_START) - 2  # at the "["
    lines = data[opening + 2 : end.start()].split(b",\n")
    if b"\n" in lines[-1]:  # a line without its comma
        return None
    return Split(data[:opening], lines, data[end.start() + 3 :])


def files_of(cut: Split) -> FileTable | None:
    """The files of the list, each line parsed and checked once per process; None when most lines are
    new, or one does not pass, or a path is listed twice (the long way then names the error)."""
    if _TALLY.looked > _TRIAL and _TALLY.found * _MOSTLY_NEW < _TALLY.looked:
        return None
    rows: list[Row | None] = list(map(_ROWS.get, cut.lines))
    new = [i for i, row in enumerate(rows) if row is None] if None in rows else []
    _TALLY.looked += len(rows)
    _TALLY.found += len(rows) - len(new)
    if new:
        if len(new) * _MOSTLY_NEW > len(rows):
            return None
        for i in new:
            rows[i] = _learn(cut.lines[i])
            if rows[i] is None:
                return None
    seen = cast(list[Row], rows)
    try:
        return FileTable(list(map(_PATH, seen)), list(map(_SIZE, seen)), list(map(_SHA256, seen)), list(map(_CONTENT, seen)))
    except DuplicatePathError:
        return None


def learn(cut: Split) -> None:
    """Learn the lines of a document that was read the long way (so later documents need not be): early
    on, or while lines learned keep being found in other documents."""
    if _TALLY.learned > _WARM_UP and _TALLY.found < _TALLY.learned:
        return
    for line in cut.lines:
        if line not in _ROWS:
            _learn(line)


def _learn(line: bytes) -> Row | None:
    """The file of one line when it is a well-formed files item, remembered; None when it is not."""
    try:
        item: Any = json.loads(line.decode("utf-8"))
    except ValueError:  # JSONDecodeError, UnicodeDecodeError
        return None
    if not isinstance(item, dict):
        return None
    try:  # the checks of the long way, item by item
        record = file_record(item, "", 0)
        path = check_relpath(item.get("path"), source="", where="", error=InventoryError)
    except InventoryError:
        return None
    if len(_ROWS) >= _MAX_LINES:
        _ROWS.clear()
    row = _ROWS[line] = (path, cast(int, record.size), record.sha256, record.content_sha256)
    _TALLY.learned += 1
    return row
