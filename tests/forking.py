"""A ^C that lands in a forked child just after the fork, for the tests of code that forks."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def interrupted_children(marks: Path) -> Iterator[None]:
    """Within it, `os.close` raises KeyboardInterrupt in any forked child: a ^C landing just after the fork,
    before the child's own code has run. A child that unwinds back out of the block (into the caller's code,
    which it would run as a second copy) leaves a file in `marks` and ends there."""
    parent, real_close = os.getpid(), os.close

    def close(fd: int) -> None:
        if os.getpid() != parent:
            raise KeyboardInterrupt
        real_close(fd)

    os.close = close
    try:
        yield
    finally:
        if os.getpid() != parent:  # a child, come back here
            real_close(os.open(marks / f"escaped-{os.getpid()}", os.O_CREAT | os.O_WRONLY))  # not the patched close
            os._exit(0)
        os.close = real_close
