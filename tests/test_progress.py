"""Progress on a terminal, nothing when piped."""

from __future__ import annotations

import io
import sys

import pytest

from drift.cli.progress import progress


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_terminal_sees_files_bytes_and_rate(monkeypatch: pytest.MonkeyPatch) -> None:
    screen = Terminal()
    monkeypatch.setattr(sys, "stderr", screen)
    with progress(3 << 20, "hashing", unit="bytes", files=3) as advance:
        for _ in range(3):
            advance(1 << 20)
    shown = screen.getvalue()
    assert "hashing" in shown and "3 of 3 files" in shown and "3.0 MiB of 3.0 MiB" in shown and "/s" in shown


def test_a_pipe_sees_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    pipe = io.StringIO()
    monkeypatch.setattr(sys, "stderr", pipe)
    with progress(10, "scanning") as advance:
        advance(10)
    assert pipe.getvalue() == ""


def test_counting_items_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    screen = Terminal()
    monkeypatch.setattr(sys, "stderr", screen)
    with progress(4, "scanning") as advance:
        for _ in range(4):
            advance(1)
    assert "scanning" in screen.getvalue() and "4/4" in screen.getvalue()
