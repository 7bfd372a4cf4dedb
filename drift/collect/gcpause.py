"""The cyclic garbage collector paused while a collection runs.

A collection makes a few objects a file (stats, records, a cache's entries), none of them in a cycle. As they
pile up, the collector would go over all of them again and again, and once more after every pause: a tenth
of a large tree's collection, and as much as a re-collection's whole cache takes to load. Their memory is
freed as ever when they are let go; only cycles wait for the collector to run again.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


@contextlib.contextmanager
def paused_gc() -> Iterator[None]:
    """The cyclic garbage collector paused, then as it was (a caller may have paused it already)."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()
