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
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from drift.background import can_fork
from drift.collect.folders import Folders, Seen, Step
from drift.collect.processes import DEPTH, Ended, Processes
from drift.collect.readfile import Outcome, hash_batch, recheck
from drift.collect.walk import Entry
from drift.errors import OperationalError
from drift.inventory.model import FileRecord

if TYPE_CHECKING:
    from concurrent.futures import Future


class Workers:
    """Batches hashed by forked worker processes (`drift.collect.processes`): hashing a small file, and
    inflating an archive's entries, hold the GIL, so threads would share one core. Where there is no fork
    (Windows, or a platform whose os module lacks it), or one job, by threads: hashlib releases the GIL
    while it hashes a large buffer.

    Two batches a worker (`DEPTH`) are handed over at a time; the others wait here, and the heaviest waiting
    goes next, so that the workers finish together (a large archive last would keep one core busy alone)."""

    def __init__(self, jobs: int, folders: Folders, work: Work) -> None:
        self._folders, (self._known, self._wanted) = folders, work
        self._early: set[int] = set()  # batches handed over while the walk went on
        self._walking = True
        self._unread: dict[int, list[Entry]] = {}  # handed over, outcomes not yet taken
        self._done: list[tuple[int, bool, Any]] = []  # outcomes come back, not yet taken
        self._waiting: list[tuple[int, int, list[Entry]]] = []  # a heap: the heaviest first, then in order
        self._added = 0
        self._processes = jobs >= 2 and can_fork()
        self._pool: Processes | _Threads
        if self._processes:  # forked: `folders` (open descriptors) is inherited, never pickled
            self._pool = Processes(jobs, lambda: _start_worker(folders, work), _hash_in_worker)
        else:
            self._pool = _Threads(jobs, lambda batch: hash_batch(batch, folders, self._known, self._wanted))

    def add(self, batches: list[tuple[int, list[Entry]]]) -> None:
        """Take the (weight, batch) pairs, emptying the list."""
        for weight, batch in batches:
            self._added += 1
            heapq.heappush(self._waiting, (-weight, self._added, batch))
        batches.clear()
        self._hand_over()

    def _hand_over(self) -> None:
        """Take the outcomes come back (a worker never waits for this process to read them), and hand the
        heaviest waiting batches over while the workers have room."""
        self._done += self._finished(wait=False)
        room = self._pool.room()
        while self._waiting and room > 0:
            _, key, batch = heapq.heappop(self._waiting)
            self._pool.submit(key, _to_task(batch) if self._processes else batch)
            self._unread[key] = batch
            room -= 1
            if self._walking:
                self._early.add(key)

    def _finished(self, *, wait: bool) -> list[tuple[int, bool, Any]]:
        try:
            return self._pool.finished(wait=wait)
        except Ended as exc:
            raise _ended() from exc

    def walked(self) -> None:
        """The walk is over: a batch handed over from now on is read after it."""
        self._walking = False

    def results(self) -> Iterator[tuple[str, os.stat_result, Outcome]]:
        """Every batch's outcomes, as they come, each with its file's path and the walk's stat. Raises
        `OperationalError` when a worker process ended unexpectedly."""
        self._hand_over()
        while self._unread:
            if not self._done:
                self._done = self._finished(wait=True)
            done, self._done = self._done, []
            self._hand_over()
            for key, returned, value in done:
                batch = self._unread.pop(key)
                if not returned:
                    raise value
                outcomes = list(map(_from_wire, value)) if self._processes else value
                if key in self._early:  # read while the walk went on: still there, as read, now that it is over?
                    outcomes = recheck(batch, outcomes, self._folders, self._known, self._wanted)
                yield from ((entry.rel, entry.st, out) for entry, out in zip(batch, outcomes))

    def shutdown(self) -> None:
        self._pool.close()


class _Threads:
    """`Processes`' interface over a pool of threads (where there is no fork, or one job)."""

    def __init__(self, jobs: int, work: Callable[[Any], Any]) -> None:
        from concurrent.futures import ThreadPoolExecutor

        self._executor = ThreadPoolExecutor(max_workers=jobs)
        self._work, self._limit = work, DEPTH * jobs
        self._running: dict[Future[Any], int] = {}

    def room(self) -> int:
        return self._limit - len(self._running)

    def submit(self, key: int, task: Any) -> None:
        self._running[self._executor.submit(self._work, task)] = key

    def finished(self, *, wait: bool) -> list[tuple[int, bool, Any]]:
        from concurrent.futures import FIRST_COMPLETED
        from concurrent.futures import wait as waiting

        done = [future for future in self._running if future.done()]
        if not done and wait and self._running:
            done = list(waiting(self._running, return_when=FIRST_COMPLETED)[0])
        finished = []
        for future in done:
            error = future.exception()
            finished.append((self._running.pop(future), error is None, future.result() if error is None else error))
        return finished

    def close(self) -> None:
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
    """The outcome `_to_wire` sent. Its tuples are made by `tuple.__new__`, as a named tuple's `_make` makes
    them, without its Python-level call and length check (the fields are `_to_wire`'s own): one a file,
    in the process that walks."""
    fields, reason, changed, read, note, seen, config = wire
    record = None if fields is None else _new(FileRecord, fields)
    return _new(Outcome, (record, reason, changed, read, note, None if seen is None else _new(Seen, seen), config))


_new = tuple.__new__
