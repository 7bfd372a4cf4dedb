"""An inventory's files by path, held as columns: a fleet scan reads millions of files, and most of them are
only compared in bulk, never looked at one by one."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from itertools import compress
from operator import itemgetter
from pathlib import Path
from typing import Any

from drift.errors import InventoryError
from drift.hashes import is_hex
from drift.inventory.model import FileRecord
from drift.text import shown

_SIZE, _SHA256, _CONTENT = itemgetter(0), itemgetter(1), itemgetter(2)


class DuplicatePathError(ValueError):
    """Raised by `FileTable` when a path is given twice (the reader names where)."""


class FileTable(Mapping[str, FileRecord]):
    """Path -> `FileRecord`, in the order given, made from columns in a few C-level passes; a record is built
    only when one is asked for. The columns are there for bulk comparisons: `paths`, `shas` (sha256 per
    path, same order), `sha256` (path -> sha256) and `content_sha256` (path -> content hash, archives only).
    """

    __slots__ = ("_sizes", "content_sha256", "paths", "sha256", "shas")

    def __init__(self, paths: Sequence[str], sizes: Sequence[int | None], shas: Sequence[str], contents: Sequence[str | None]) -> None:
        self.paths = list(paths)
        self.shas = list(shas)
        self.sha256: dict[str, str] = dict(zip(self.paths, self.shas, strict=True))
        if len(self.sha256) != len(self.paths):
            raise DuplicatePathError("a path is listed twice")
        self.content_sha256: dict[str, str] = dict(zip(compress(self.paths, contents), filter(None, contents)))
        self._sizes: dict[str, int | None] = dict(zip(self.paths, sizes, strict=True))

    @classmethod
    def of(cls, files: Mapping[str, FileRecord]) -> FileTable:
        """`files` itself when it is a FileTable, else a FileTable of the same records."""
        if isinstance(files, FileTable):
            return files
        records = list(files.values())
        return cls(list(files), list(map(_SIZE, records)), list(map(_SHA256, records)), list(map(_CONTENT, records)))

    def with_content(self, content: Mapping[str, str]) -> FileTable:
        """The same files with the content hashes `content` (path -> hash) added; the columns are shared."""
        table = FileTable.__new__(FileTable)
        table.paths, table.shas, table.sha256, table._sizes = self.paths, self.shas, self.sha256, self._sizes
        table.content_sha256 = {**self.content_sha256, **content}
        return table

    def __getitem__(self, path: str) -> FileRecord:
        return FileRecord(self._sizes[path], self.sha256[path], self.content_sha256.get(path))

    def get(self, path: str, default: FileRecord | None = None) -> FileRecord | None:  # type: ignore[override]
        sha = self.sha256.get(path)
        if sha is None:
            return default
        return FileRecord(self._sizes[path], sha, self.content_sha256.get(path))

    def __contains__(self, path: object) -> bool:
        return path in self.sha256

    def __iter__(self) -> Iterator[str]:
        return iter(self.sha256)

    def __len__(self) -> int:
        return len(self.sha256)

    def __repr__(self) -> str:
        return f"FileTable({dict(self.items())!r})"


def file_record(item: dict[str, Any], path: str | Path, i: int) -> FileRecord:
    """The record of `files[i]` of an inventory, every field checked but the path (checked with the others'),
    or an `InventoryError` naming the field."""
    size, sha, content = item.get("size"), item.get("sha256"), item.get("content_sha256")
    if len(item) != (4 if "content_sha256" in item else 3):
        unknown = sorted(set(item) - {"path", "size", "sha256", "content_sha256"})
        where = f"files[{i}].{unknown[0]}" if unknown else f"files[{i}]"
        raise InventoryError("unknown key" if unknown else "needs a path, a size and a sha256", source=path, where=where)
    if type(size) is not int or size < 0:
        raise InventoryError("size must be a whole number of bytes", source=path, where=f"files[{i}].size")
    if not is_hex(sha):
        raise InventoryError(f"malformed hash {shown(sha)}", source=path, where=f"files[{i}].sha256")
    if content is not None and not is_hex(content):
        raise InventoryError(f"malformed hash {shown(content)}", source=path, where=f"files[{i}].content_sha256")
    return FileRecord(size, str(sha), content)
