"""Progress on a terminal, nothing when piped (SPEC 6)."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import click


def progress_shown() -> bool:
    """Whether `progress` draws a bar (stderr is a terminal)."""
    return sys.stderr.isatty()


@contextmanager
def progress(total: int, label: str, unit: str = "items", files: int = 0) -> Iterator[Callable[[int], None]]:
    """Yield `advance(n)`; draws a bar on stderr only when stderr is a terminal.

    With `unit="bytes"`, each call is one file of `n` bytes, and the bar shows files and bytes done, the
    rate and the time left.
    """
    if not progress_shown() or total <= 0:
        yield lambda n: None
        return
    started = time.monotonic()
    done = {"files": 0, "bytes": 0}

    def shown(_: object) -> str:
        if unit != "bytes":
            return ""
        rate = done["bytes"] / max(time.monotonic() - started, 1e-6)
        return f"{done['files']:,} of {files:,} files, {_size(done['bytes'])} of {_size(total)}, {_size(rate)}/s"

    with click.progressbar(
        length=total, label=label, file=sys.stderr, show_eta=True, show_pos=unit != "bytes", item_show_func=shown
    ) as bar:

        def advance(n: int) -> None:
            done["files"] += 1
            done["bytes"] += n
            bar.update(n, current_item=n)

        yield advance if unit == "bytes" else bar.update


def _size(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024:
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"
