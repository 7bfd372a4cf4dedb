"""The JSON inventory as written: each file's line, and the files given as records or as a table's rows."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import NamedTuple

from hypothesis import given, settings
from hypothesis import strategies as st

from drift.inventory.jsonfile import read_json_inventory
from drift.inventory.jsonwrite import _file_line, dumps_inventory
from drift.inventory.model import FileRecord, Unreadable

HEX = "0123456789abcdef"


class Columns(NamedTuple):
    """Files as the columns `dumps_inventory` takes (a re-collection's cache holds them so)."""

    paths: Sequence[str]
    sizes: Sequence[int]
    shas: str
    contents: Mapping[int, str]


def columns_of(files: dict[str, FileRecord]) -> Columns:
    paths = sorted(files)
    return Columns(paths, [files[p].size or 0 for p in paths], "".join(files[p].sha256 for p in paths),
                   {row: files[p].content_sha256 for row, p in enumerate(paths) if files[p].content_sha256 is not None})


def document(files: dict[str, FileRecord], columns: Columns | None = None, rows: Sequence[int] = ()) -> bytes:
    return dumps_inventory(tenant="402206", collected_at="2023-06-14T01:30:00Z", collector="drift test", content_hash="drift-content/1",
                           files=files, config=[], unreadable=[Unreadable("x", "denied")], columns=columns, rows=rows)


@settings(max_examples=200, deadline=None)
@given(
    path=st.text(min_size=1, max_size=30),
    size=st.integers(min_value=0, max_value=1 << 40),
    sha=st.text(HEX, min_size=64, max_size=64),
    content=st.none() | st.text(HEX, min_size=64, max_size=64),
)
def test_a_file_line_is_the_json_of_its_fields(path: str, size: int, sha: str, content: str | None) -> None:
    item = {"path": path, "sha256": sha, "size": size, **({"content_sha256": content} if content else {})}
    assert _file_line(path, FileRecord(size, sha, content)) == "  " + json.dumps(item, ensure_ascii=False, sort_keys=True)


records = st.builds(FileRecord, st.integers(min_value=0, max_value=1 << 40), st.text(HEX, min_size=64, max_size=64),
                    st.none() | st.text(HEX, min_size=64, max_size=64))


@settings(max_examples=300, deadline=None)
@given(files=st.dictionaries(st.text(min_size=1, max_size=12), records, max_size=30), split=st.data())
def test_files_given_as_a_tables_rows_are_written_as_their_records_would_be(files: dict[str, FileRecord], split: st.DataObject) -> None:
    """A re-collection writes its cached files from the cache's columns: byte for byte the document their
    records would make, wherever the files read anew fall among them."""
    table = columns_of(files)
    rows = sorted(split.draw(st.sets(st.integers(0, len(files) - 1))) if files else set())
    read = {p: r for row, (p, r) in enumerate(sorted(files.items())) if row not in rows}
    assert document(read, table, rows) == document(files)


def test_a_path_both_read_and_in_the_rows_is_listed_once_as_read(tmp_path) -> None:
    cached = {"a/x.class": FileRecord(1, "1" * 64, None), "a/y.class": FileRecord(2, "2" * 64, None), "b.jar": FileRecord(3, "3" * 64, "4" * 64)}
    fresh = {"a/y.class": FileRecord(5, "5" * 64, None), "a/z.class": FileRecord(6, "6" * 64, None)}
    path = tmp_path / "402206.json"
    path.write_bytes(document(fresh, columns_of(cached), [0, 1, 2]))
    inventory = read_json_inventory(path)
    assert inventory.files == {"a/x.class": cached["a/x.class"], "a/y.class": fresh["a/y.class"], "a/z.class": fresh["a/z.class"],
                               "b.jar": cached["b.jar"]}


def test_no_files_at_all_is_an_empty_list(tmp_path) -> None:
    path = tmp_path / "402206.json"
    path.write_bytes(document({}, columns_of({}), []))
    assert b' "files": [],\n "digest"' in path.read_bytes()
    assert read_json_inventory(path).files == {}
