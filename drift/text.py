"""Text that came from a tenant, made safe to show (SPEC 5, last paragraph).

A path, a config value or a time in an inventory, and a name in the registry, is written by the audited
party. Shown raw, an escape sequence in it could repaint a terminal (a green "PASS" over a failing gate), a
newline could forge a log line, a bidi override could reverse what a line says, a cell starting with `=`
would be a spreadsheet formula, and a 50 MB value would bury the message it sits in. So:

- everything printed for a person goes through `terminal_safe` (or `clip`, which also cuts it short);
- every value a message quotes goes through `shown`, and a whole message line through `bounded`;
- every CSV cell goes through `csv_safe`;
- JSON text goes through `json_safe`, XML text through `xml_safe`.

Each is cheap when there is nothing to do (one C-level search), and leaves ordinary text as it is.
"""

from __future__ import annotations

import functools
import re

MAX_SHOWN = 200
"""Characters of a value a message quotes; the rest is cut, and its length said."""
MAX_LINE = 1000
"""Characters of one message line at most, whatever it quotes."""

# C0 and C1 control characters, DEL, the Unicode format characters that reorder or hide text (the Arabic
# letter mark, zero-width spaces and joiners, the bidi marks, embeddings, overrides and isolates, the word
# joiner and invisible operators, the byte order mark), the line and paragraph separators, and lone
# surrogates (a JSON string may hold one: no terminal, file or database can).
_C0 = "\x00-\x1f"
_OTHER = "\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff\ud800-\udfff"


@functools.cache
def _unsafe() -> re.Pattern[str]:
    """The characters `terminal_safe` escapes (compiled when first used: a large class costs a millisecond
    to compile, and a collection never shows one)."""
    return re.compile(f"[{_C0}{_OTHER}]")


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
    `\\x07`, `\\u202e`): nothing in it can move the cursor, change colours, reorder a line or start a new one.
    Applying it twice changes nothing more."""
    if _unsafe().search(text) is None:
        return text
    return _unsafe().sub(_escape, text)


def terminal_lines(text: str) -> str:
    """Like `terminal_safe`, but the text's own line breaks (between lines drift itself wrote) are kept."""
    return "\n".join(terminal_safe(line) for line in text.split("\n"))


def unsafe_char(text: str) -> str | None:
    """The first control or text-reordering character in `text` (what `terminal_safe` escapes), or None."""
    match = _unsafe().search(text)
    return match.group(0) if match else None


def _head(text: str, limit: int) -> tuple[str, bool]:
    """`text` escaped and cut to at most `limit` characters (never inside an escape); True when cut."""
    head = text[:limit]
    escaped = terminal_safe(head)
    if len(escaped) <= limit:
        return escaped, len(text) > limit
    pieces: list[str] = []
    size = 0
    for ch in head:
        piece = terminal_safe(ch)
        if size + len(piece) > limit:
            break
        pieces.append(piece)
        size += len(piece)
    return "".join(pieces), True


def shown(value: object, limit: int = MAX_SHOWN) -> str:
    """A value quoted in a message: escaped as `terminal_safe` does, quoted, and cut to `limit` characters
    with its full length said, so that no message echoes a huge value."""
    text = value if isinstance(value, str) else repr(value)
    head, cut = _head(text, limit)
    return f"'{head}'... ({len(text):,} characters)" if cut else f"'{head}'"


def clip(text: str, limit: int = MAX_SHOWN) -> str:
    """Text shown unquoted (a table cell, a name in a summary): escaped, and cut to `limit` characters with
    its full length said."""
    head, cut = _head(text, limit)
    return f"{head}... ({len(text):,} characters)" if cut else head


def bounded(line: str, limit: int = MAX_LINE) -> str:
    """One message line, escaped, and at most `limit` characters long, what it leaves out counted: the
    backstop for messages that quote a value without `shown`."""
    if len(line) <= limit and _unsafe().search(line) is None:
        return line
    suffix = f"... ({len(line):,} characters in all)"
    head, cut = _head(line, limit)
    if not cut:
        return head
    head, _ = _head(line, max(limit - len(suffix), 0))
    return head + suffix


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n", "＝", "＋", "－", "＠")


def csv_safe(cell: str) -> str:
    """A CSV cell that no spreadsheet reads as a formula: one that starts with `=`, `+`, `-`, `@`, TAB, CR or
    LF (or their full-width forms, which Excel also takes) gets a leading `'`, as OWASP's guidance on CSV
    injection recommends; the text is otherwise kept whole."""
    return "'" + cell if cell.startswith(_FORMULA_START) else cell


@functools.cache
def _json_unsafe() -> re.Pattern[str]:
    """What JSON may hold raw but a reader should not meet raw: C1 controls, DEL, the reordering characters
    and lone surrogates (`json.dumps` already escapes C0 controls)."""
    return re.compile(f"[{_OTHER}]")


def json_safe(text: str) -> str:
    """JSON text (as `json.dumps` writes it, `ensure_ascii=False`) with every control and reordering character
    written as a `\\uXXXX` escape: the same JSON value, but no raw control in the bytes, so the document can
    be printed to a terminal and written as UTF-8 whatever it holds."""
    if _json_unsafe().search(text) is None:
        return text
    return _json_unsafe().sub(lambda m: f"\\u{ord(m.group(0)):04x}", text)


@functools.cache
def _xml_unsafe() -> re.Pattern[str]:
    """What XML 1.0 cannot hold at all (most C0 controls, lone surrogates, U+FFFE and U+FFFF) and what it
    holds but should not show (C1 controls, DEL, the reordering characters): every one but TAB, LF and CR."""
    return re.compile(f"[\x00-\x08\x0b\x0c\x0e-\x1f{_OTHER}\ufffe\uffff]")


def xml_safe(text: str) -> str:
    """Text for an XML document (before `&`, `<`, `>` and quotes are escaped): every character XML 1.0 cannot
    hold, and every control or reordering character, written as the visible escape `terminal_safe` uses; TAB,
    LF and CR are kept (escape them in attributes)."""
    if _xml_unsafe().search(text) is None:
        return text
    return _xml_unsafe().sub(_escape, text)
