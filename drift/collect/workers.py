"""The collector's workers: batches of files hashed by forked worker processes, or by threads where there
is no fork (`drift.collect.run` hands them the batches as the walk goes on).

A worker process inherits the collection's open folders (forked: nothing is pickled but the batches), and a
batch travels as plain tuples both ways: pickling dataclasses and stat results would cost the collecting
process more than hashing a small file does.
"""

from __future__ import annotations

import gc
import heapq
import os
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from drift.background import can_fork
from drift.collect.folders import Folders, Seen, Step
from drift.collect.readfile import Outcome, hash_batch, recheck
from drift.collect.walk import Entry
from drift.errors import OperationalError
from drift.inventory.model import FileRecord

if TYPE_CHECKING:
    from concurrent.futures import Executor, Future


class Workers:
    """Batches hashed by forked worker processes: hashing a small file, and inflating an archive's entries,
    hold the GIL, so threads would share one core. Where there is no fork (Windows, or a platform whose os
    module lacks it), or one job, by threads: hashlib releases the GIL while it hashes a large buffer.

    A few batches a worker are handed to the pool at a time; the others wait here, and the heaviest waiting
    goes next, so that the workers finish together (a large archive last would keep one core busy alone)."""

    def __init__(self, jobs: int, folders: Folders, work: Work) -> None:
        self._folders, (self._known, self._wanted) = folders, work
        self._early: set[Future[Any]] = set()  # batches handed over while the walk went on
        self._walking = True
        self._unread: dict[Future[Any], list[Entry]] = {}  # handed to the pool, outcomes not yet taken
        self._waiting: list[tuple[int, int, list[Entry]]] = []  # a heap: the heaviest first, then in order
        self._limit = 2 * jobs
        self._added = 0
        self._processes = jobs >= 2 and can_fork()
        # Loaded here: a collection the cache answers whole starts no worker and never loads them.
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
        from concurrent.futures.process import BrokenProcessPool

        self._broken = BrokenProcessPool

        if self._processes:  # fork: `folders` (open descriptors) is inherited, never pickled
            context = multiprocessing.get_context("fork")
            self._executor: Executor = ProcessPoolExecutor(max_workers=jobs, mp_context=context, initializer=_start_worker, initargs=(folders, work))
        else:
            self._executor = ThreadPoolExecutor(max_workers=jobs)

    def add(self, batches: list[tuple[int, list[Entry]]]) -> None:
        """Take the (weight, batch) pairs, emptying the list."""
        for weight, batch in batches:
            self._added += 1
            heapq.heappush(self._waiting, (-weight, self._added, batch))
        batches.clear()
        self._hand_over()

    def _hand_over(self) -> None:
        """Hand the heaviest waiting batches to the pool while it holds fewer than `_limit` not done."""
        running = sum(not future.done() for future in self._unread)
        while self._waiting and running < self._limit:
            batch = heapq.heappop(self._waiting)[2]
            # Worker processes are forked at the first submit, before any thread of this pool exists.
            future: Future[Any]
            try:
                if self._processes:
                    future = self._executor.submit(_hash_in_worker, _to_task(batch))
                else:
                    future = self._executor.submit(hash_batch, batch, self._folders, self._known, self._wanted)
            except self._broken as exc:
                raise _ended() from exc
            self._unread[future] = batch
            running += 1
            if self._walking:
                self._early.add(future)

    def walked(self) -> None:
        """The walk is over: a batch handed over from now on is read after it."""
        self._walking = False

    def results(self) -> Iterator[tuple[str, os.stat_result, Outcome]]:
        """Every batch's outcomes, as they come, each with its file's path and the walk's stat. Raises
        `OperationalError` when a worker process ended unexpectedly."""
        from concurrent.futures import FIRST_COMPLETED, wait

        self._hand_over()
        while self._unread:
            finished, _ = wait(self._unread, return_when=FIRST_COMPLETED)
            self._hand_over()
            for future in finished:
                batch = self._unread.pop(future)
                try:
                    outcomes = list(map(_from_wire, future.result())) if self._processes else future.result()
                except self._broken as exc:
                    raise _ended() from exc
                if future in self._early:  # read while the walk went on: still there, as read, now that it is over?
                    outcomes = recheck(batch, outcomes, self._folders, self._known, self._wanted)
                yield from ((entry.rel, entry.st, out) for entry, out in zip(batch, outcomes))

    def shutdown(self) -> None:
        self._executor.shutdown(cancel_futures=True)


def _ended() -> OperationalError:
    """A worker process killed (out of memory, or by hand): an error, not an inventory."""
    return OperationalError("a hashing process ended unexpectedly (killed, or out of memory?); collect again, or with --jobs 1")


Work = tuple[frozenset[str], dict[str, tuple[str, ...]]]
"""What a worker process needs besides its folders: the archive hashes whose content hash is not needed, and
the config keys wanted per file."""
_worker: tuple[Folders, Work] | None = None
"""In a worker process: its own descriptors of the collection's folders, and its `Work`."""


def _start_worker(folders: Folders, work: Work) -> None:
    global _worker  # one per worker process, set once as it starts (forked: nothing pickled)
    _worker = (folders.forked(), work)
    gc.freeze()  # what it inherited (GC paused there: `drift.collect.run`) is never gone over, nor its pages copied
    gc.enable()


_Task = tuple[list[tuple[tuple[str, str, int, int], ...]], list[tuple[str, str, int, tuple[float, ...]]]]
"""A batch as sent to a worker process, in plain tuples (cheap to pickle): its folders, each as its steps
(path, name, device, inode), and per file its path, name, folder (an index into the first list) and stat."""


def _to_task(batch: list[Entry]) -> _Task:
    index: dict[int, int] = {}  # the walk shares one folder tuple between the files of a folder
    folders: list[tuple[tuple[str, str, int, int], ...]] = []
    files = []
    for entry in batch:
        at = index.get(id(entry.folder))
        if at is None:
            at = index[id(entry.folder)] = len(folders)
            folders.append(tuple((step.rel, step.name, step.dev, step.ino) for step in entry.folder))
        files.append((entry.rel, entry.name, at, tuple(entry.st)))
    return folders, files


def _hash_in_worker(task: _Task) -> list[tuple[Any, ...]]:
    """A batch's outcomes as plain tuples (`_to_wire`): pickling dataclasses and stat results would cost the
    main process more than hashing a small file does."""
    assert _worker is not None, "the worker process was not started by Workers"
    folders, (known, wanted) = _worker
    steps, files = task
    shared = [tuple(Step(*step) for step in folder) for folder in steps]
    batch = [Entry(rel, os.stat_result(st), shared[at], name) for rel, name, at, st in files]
    return [_to_wire(out) for out in hash_batch(batch, folders, known, wanted)]


def _to_wire(out: Outcome) -> tuple[Any, ...]:
    record, seen = out.record, out.seen
    fields = None if record is None else (record.size, record.sha256, record.content_sha256)
    return fields, out.reason, out.changed, out.read, out.note, None if seen is None else tuple(seen), out.config


def _from_wire(wire: tuple[Any, ...]) -> Outcome:
    fields, reason, changed, read, note, seen, config = wire
    return Outcome(
        None if fields is None else FileRecord._make(fields), reason, changed, read, note, None if seen is None else Seen._make(seen), config,
    )
