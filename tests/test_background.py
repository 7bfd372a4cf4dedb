"""Work in a forked process: a generator's items as they come (`Streamed`), the process never held up by a
reader busy elsewhere, and its death or error an error here, never a shorter result."""

from __future__ import annotations

import os
import time
from collections.abc import Generator
from pathlib import Path

import pytest

from drift.background import Streamed
from drift.errors import InputError, OperationalError
from tests.forking import interrupted_children

forking = pytest.mark.skipif(not hasattr(os, "fork") or (os.cpu_count() or 1) < 2, reason="needs fork and two cores")


def _count(n: int, size: int = 1) -> Generator[str, None, int]:
    for i in range(n):
        yield f"{i:0{size}d}"
    return n


@forking
def test_the_items_come_in_order_then_what_the_work_returned() -> None:
    with Streamed(_count, 1000, what="counting") as work:
        assert work.forked
        assert list(work.items()) == [f"{i}" for i in range(1000)]
        assert work.result() == 1000


def _fill(marker: Path) -> Generator[bytes, None, str]:
    for _ in range(200):
        yield bytes(2048)  # 400 KB: six times what a pipe holds
    marker.write_text(str(os.getpid()), encoding="ascii")
    return "done"


@forking
def test_the_process_is_never_held_up_by_a_reader_busy_elsewhere(tmp_path: Path) -> None:
    """The walk that shares its folders reads what the other sent only once its own are listed: the other
    must go on meanwhile, not wait on a full pipe."""
    marker = tmp_path / "done"
    with Streamed(_fill, marker, what="filling") as work:
        deadline = time.monotonic() + 20
        while not marker.exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert marker.exists(), "the process waited for this one to read"
        assert sum(len(item) for item in work.items()) == 200 * 2048
        assert work.result() == "done"


def _fails_after(n: int) -> Generator[int, None, None]:
    yield from range(n)
    raise InputError("no such thing", where="ROOT")


@forking
def test_an_error_after_some_items_comes_back_as_itself() -> None:
    with Streamed(_fails_after, 3, what="failing") as work:
        assert list(work.items()) == [0, 1, 2]
        with pytest.raises(InputError, match="no such thing"):
            work.result()


def _dies_after(n: int) -> Generator[int, None, None]:
    yield from range(n)
    time.sleep(0.2)  # what was sent reaches the pipe first
    os.kill(os.getpid(), 9)
    yield n


@forking
def test_a_process_that_dies_is_an_error_not_a_shorter_result() -> None:
    with Streamed(_dies_after, 5, what="dying") as work:
        assert list(work.items()) == [0, 1, 2, 3, 4]
        with pytest.raises(OperationalError, match="dying ended without a result"):
            work.result()


def _unpicklable() -> Generator[object, None, None]:
    yield 1
    yield lambda: None


@forking
def test_an_item_that_cannot_be_sent_is_an_error() -> None:
    with Streamed(_unpicklable, what="sending") as work:
        assert list(work.items()) == [1]
        with pytest.raises(OperationalError, match="could not send"):
            work.result()


def test_without_a_second_core_the_work_runs_here(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "cpu_count", lambda: 1)
    with Streamed(_count, 5, what="counting") as work:
        assert not work.forked
        assert list(work.items()) == ["0", "1", "2", "3", "4"]
        assert work.result() == 5
    with Streamed(_fails_after, 2, what="failing") as work, pytest.raises(InputError):
        work.result()


@forking
def test_a_process_interrupted_just_after_the_fork_never_returns_into_the_caller(tmp_path: Path) -> None:
    """A ^C in the child just after the fork: it ends there, and never runs the caller's code as a second copy."""
    with interrupted_children(tmp_path):
        work = Streamed(_count, 10, what="counting")
    with work, pytest.raises(OperationalError, match="ended without a result"):
        work.result()
    assert not list(tmp_path.iterdir())
