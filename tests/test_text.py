"""drift.text: what makes a tenant's string safe to show, in a terminal, a message, a CSV, JSON and XML."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drift.errors import DriftError, InventoryError
from drift.text import (
    MAX_LINE,
    MAX_SHOWN,
    bounded,
    clip,
    csv_safe,
    json_safe,
    shown,
    terminal_lines,
    terminal_safe,
    unsafe_char,
    xml_safe,
)

PAINT = "\x1b[32mPASS\x1b[0m"
# What must never reach a terminal raw: C0 and C1 controls, DEL, bidi and zero-width characters, separators.
RAW = set(map(chr, [*range(0x20), *range(0x7F, 0xA0), 0x061C, *range(0x200B, 0x2010), *range(0x2028, 0x202F), *range(0x2060, 0x206A), 0xFEFF]))


@pytest.mark.parametrize(
    ("text", "safe"),
    [
        (PAINT, "\\e[32mPASS\\e[0m"),
        ("a\r\nb\tc", "a\\r\\nb\\tc"),
        ("\x00\x07\x7f\x9b", "\\x00\\x07\\x7f\\x9b"),
        ("abc\u202edcb", "abc\\u202edcb"),
        ("\u2028\u2066\u200d\ufeff", "\\u2028\\u2066\\u200d\\ufeff"),
        ("lone \ud800", "lone \\ud800"),
        ("宗像市 app/Main.java é 😀", "宗像市 app/Main.java é 😀"),
    ],
)
def test_terminal_safe_writes_controls_as_visible_escapes(text, safe):
    assert terminal_safe(text) == safe
    assert terminal_safe(safe) == safe  # twice changes nothing more


@given(st.text())
def test_terminal_safe_leaves_nothing_raw_and_is_idempotent(text):
    safe = terminal_safe(text)
    assert not RAW & set(safe)
    assert not any(0xD800 <= ord(c) <= 0xDFFF for c in safe)
    assert terminal_safe(safe) == safe
    safe.encode("utf-8")  # always writable


def test_terminal_lines_keeps_drifts_own_line_breaks():
    assert terminal_lines(f"first {PAINT}\nsecond\r") == "first \\e[32mPASS\\e[0m\nsecond\\r"


def test_unsafe_char_names_the_first_one():
    assert unsafe_char("宗像市") is None
    assert unsafe_char("a\u202eb\x1b") == "\u202e"


def test_shown_quotes_escapes_and_cuts_with_the_length_said():
    assert shown("abc") == "'abc'"
    assert shown(PAINT) == "'\\e[32mPASS\\e[0m'"
    assert shown(12) == "'12'"
    long = shown("x" * 50_000_000)
    assert long == "'" + "x" * MAX_SHOWN + "'... (50,000,000 characters)"
    # Escapes count: the quoted part stays within the limit, never cut inside an escape.
    bidi = shown("\u202e" * 1000)
    assert bidi.startswith("'\\u202e") and bidi.endswith("'... (1,000 characters)")
    assert len(bidi.split("'")[1]) <= MAX_SHOWN and bidi.split("'")[1].endswith("\\u202e")


def test_clip_is_shown_unquoted():
    assert clip("宗像市") == "宗像市"
    assert clip("a\nb") == "a\\nb"
    assert clip("y" * 500, 10) == "yyyyyyyyyy... (500 characters)"


def test_bounded_cuts_a_whole_line_and_escapes_it():
    assert bounded("a short line") == "a short line"
    assert bounded(f"x {PAINT}") == "x \\e[32mPASS\\e[0m"
    line = bounded("z" * 5_000_000)
    assert len(line) <= MAX_LINE and line.endswith("... (5,000,000 characters in all)")


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r", "\n", "＝", "＋", "－", "＠"])
def test_csv_safe_neutralises_a_cell_that_would_start_a_formula(start):
    cell = f'{start}HYPERLINK("http://evil.example/","PASS")'
    assert csv_safe(cell) == "'" + cell


@pytest.mark.parametrize("cell", ["", "宗像市", "app/Main.java: fixed", "1+1", "a=b", "sha256:00", "'quoted"])
def test_csv_safe_keeps_every_other_cell(cell):
    assert csv_safe(cell) == cell


@given(st.text())
def test_json_safe_keeps_the_value_and_leaves_nothing_raw(text):
    dumped = json_safe(json.dumps({"v": text}, ensure_ascii=False))
    assert json.loads(dumped) == {"v": text}
    assert not RAW & set(dumped)
    dumped.encode("utf-8")


@given(st.text())
def test_xml_safe_text_always_parses_and_shows_what_it_replaced(text):
    safe = xml_safe(text)
    escaped = safe.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    root = ET.fromstring(f"<a>{escaped}</a>".encode())
    assert not (RAW - {"\t", "\n", "\r"}) & set(safe)
    if text.isprintable() and text:
        assert root.text == text  # ordinary text is kept as it is


def test_xml_safe_writes_what_xml_cannot_hold_as_escapes():
    assert xml_safe(f"a\tb\nc{PAINT}\x01\ufffe\u202e") == "a\tb\nc\\e[32mPASS\\e[0m\\x01\\ufffe\\u202e"


def test_an_error_renders_its_file_and_field_escaped_and_short():
    error = InventoryError("unknown key", source="inventory/402206.json", where=PAINT + "\r\n")
    assert error.render() == "inventory/402206.json: \\e[32mPASS\\e[0m\\r\\n: unknown key"
    assert str(error) == error.render()
    huge = InventoryError("unknown key", source="inventory/402206.json", where="k" * 50_000_000)
    assert len(huge.render()) < 1000
    assert huge.render() == "inventory/402206.json: " + "k" * 300 + "... (50,000,000 characters): unknown key"


def test_an_error_message_is_escaped_and_bounded_as_a_backstop():
    error = DriftError(f"value {PAINT}" + "m" * 100_000, source="f", where="w")
    text = error.render()
    assert "\x1b" not in text and len(text) <= MAX_LINE
    assert text.startswith("f: w: value \\e[32mPASS") and text.endswith("characters in all)")
