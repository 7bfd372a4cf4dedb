"""Text that came from a tenant, made safe to show (SPEC 5, last paragraph).

A path, a config value or a time in an inventory is written by the audited party. Shown raw, an escape
sequence in it could repaint a terminal (a green "PASS" over a failing gate), a newline could forge a log
line, and a 50 MB value would bury the message it sits in. Everything printed for a person goes through
`terminal_safe`; every value a message quotes goes through `shown`.
"""

from __future__ import annotations

import re

MAX_SHOWN = 200
"""Characters of a value a message quotes; the rest is cut, and its length said."""

# C0 and C1 control characters, DEL, and the Unicode format characters that reorder or hide text (bidi
# embeddings, overrides and isolates, zero-width joiners and marks, the line and paragraph separators).
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\x1b": "\\e"}


def _escape(match: re.Match[str]) -> str:
    ch = match.group(0)
    named = _NAMED.get(ch)
    if named is not None:
        return named
    code = ord(ch)
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def terminal_safe(text: str) -> str:
    """`text` with every control and text-reordering character written as a visible escape (`\\e`, `\\n`,
    `\\x07`, `\\u202e`): nothing in it can move the cursor, change colours or start a new line."""
    if _UNSAFE.search(text) is None:
        return text
    return _UNSAFE.sub(_escape, text)


def terminal_lines(text: str) -> str:
    """Like `terminal_safe`, but the text's own line breaks (between lines drift itself wrote) are kept."""
    return "\n".join(terminal_safe(line) for line in text.split("\n"))


def shown(value: object, limit: int = MAX_SHOWN) -> str:
    """A value quoted in a message: escaped as `terminal_safe` does, quoted, and cut to `limit` characters
    with its full length said, so that no message echoes a huge value."""
    text = value if isinstance(value, str) else repr(value)
    if len(text) > limit:
        return f"'{terminal_safe(text[:limit])}'... ({len(text):,} characters)"
    return f"'{terminal_safe(text)}'"


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n", "＝", "＋", "－", "＠")


def csv_safe(cell: str) -> str:
    """A CSV cell that no spreadsheet reads as a formula: one that starts with `=`, `+`, `-`, `@`, TAB, CR or
    LF (or their full-width forms, which Excel also takes) gets a leading `'`, as OWASP's guidance on CSV
    injection recommends; the text is otherwise kept whole."""
    return "'" + cell if cell.startswith(_FORMULA_START) else cell
