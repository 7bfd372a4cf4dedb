"""How names on a tenant's server are written in an inventory (`drift.inventory.names`)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from drift.inventory.names import all_recordable, recordable

# Paths with the characters that matter: control characters, backslashes, drive-like prefixes, surrogate
# escapes of undecodable bytes, line ends, and plain text.
NAMES = st.lists(
    st.text(alphabet=st.sampled_from(["a", "Z", ":", "/", "\\", "\n", "\x01", "\x7f", "\udc80", "\udcff", "é", "%", " ", "\u2028", "\u200b", "\ud800"]), max_size=8),
    max_size=5,
)


@given(NAMES)
def test_all_recordable_says_what_recordable_says_of_each(paths: list[str]) -> None:
    assert all_recordable(paths) == all(recordable(path)[1] is None for path in paths)
