"""Paths stay inside their root: the one-pass check over many paths agrees with the path-by-path check."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drift.errors import InputError
from drift.paths import check_paths, check_relpath

PIECES = st.sampled_from(["a", "b.java", ".", "..", ".x", "x.", "", "/", "\\", "\n", "\x00", "\x1f", "C:", "日本", " ", "%"])
PATHS = st.lists(PIECES, min_size=0, max_size=5).map("".join)


def ok_one(path: str) -> bool:
    try:
        check_relpath(path, source="s", where="w")
    except InputError:
        return False
    return True


@given(st.lists(PATHS, max_size=6))
def test_one_pass_check_agrees_with_the_path_by_path_check(paths):
    expected_bad = next((i for i, p in enumerate(paths) if not ok_one(p)), None)
    if expected_bad is None:
        check_paths(paths, source="s", field="files")
    else:
        with pytest.raises(InputError) as caught:
            check_paths(paths, source="s", field="files")
        assert caught.value.where == f"files[{expected_bad}]"


@pytest.mark.parametrize("bad", ["../etc/passwd", "a/../../b", "/etc/passwd", "a//b", "a/", "./a", "a/.", "C:/x", "a\\b", "a\x00b", ""])
def test_paths_leaving_the_root_are_refused(bad):
    with pytest.raises(InputError):
        check_paths(["ok/file", bad], source="inv.json", field="files")


@pytest.mark.parametrize("good", [".htaccess", "a/.gitkeep", "a/..b", "a/b..", "日本/語.txt", "a b/c"])
def test_ordinary_names_pass(good):
    check_paths(["ok/file", good], source="inv.json", field="files")


def test_a_lone_surrogate_is_refused_in_one_pass_and_path_by_path():
    # A JSON string may hold one; no file name, output or database can.
    with pytest.raises(InputError, match="lone surrogate") as caught:
        check_paths(["ok/file", "a/\ud800b"], source="inv.json", field="files")
    assert caught.value.where == "files[1]"


def test_a_refused_path_is_shown_escaped_and_cut():
    with pytest.raises(InputError) as caught:
        check_relpath("a/\x1b[32mPASS\x1b[0m", source="inv.json", where="files[0]")
    assert str(caught.value) == "inv.json: files[0]: path 'a/\\e[32mPASS\\e[0m' holds a control character"
    with pytest.raises(InputError) as caught:
        check_relpath("/" + "x" * 100_000, source="inv.json", where="files[0]")
    assert "... (100,001 characters) is absolute" in str(caught.value) and len(str(caught.value)) < 1000
