"""The collector's worker processes: forked once, each fed its tasks through a pipe of its own
(`drift.collect.workers` hands them the batches).

`concurrent.futures.ProcessPoolExecutor` would cost the collecting process, which walks the tree meanwhile,
two threads of its own (one that pickles the tasks, one that reads back every result), a future, a lock
and a wake-up a batch, and the interpreter's lock passed back and forth between the three. Here the
collecting process pickles each task and writes it without ever waiting (what a pipe cannot take yet is
written once it can), and reads what the workers wrote each time it looks for results (while the walk
goes on too, so that no worker waits for it to read). A worker reads a task, does it, writes its outcome,
reads the next, until the collecting process ends it. A worker that ends before that (killed, out of
memory), busy or not, is an error, never a wait without end. POSIX only: where there is no `fork`, threads do the work.
Standard library only: the one-file collector carries this module.
"""

from __future__ import annotations

import collections
import os
import pickle
import select
import signal
from collections.abc import Callable
from typing import Any

_HEADER = 8
"""Bytes of a message's length, before each message."""
DEPTH = 2
"""Tasks given to a worker at a time: the next is there to read as soon as it is done with one."""


class Ended(Exception):
    """A worker process ended before `Processes.close` (killed, or out of memory), busy or not."""


class _Worker:
    """One worker process, as the collecting process sees it: its pipes and the tasks it was given."""

    def __init__(self, pid: int, tasks: int, outcomes: int) -> None:
        self.pid, self.tasks, self.outcomes = pid, tasks, outcomes
        self.unsent = bytearray()  # tasks the pipe could not take yet
        self.received = bytearray()  # outcomes read, not yet whole
        self.given: collections.deque[int] = collections.deque()  # the keys of its tasks not done, in order


class Processes:
    """`jobs` processes forked now, each running `start()` once, then `work(task)` for each task it is given.
    `submit` gives a task (under a key of the caller's) to the least busy; `finished` gives the outcomes
    that came back. `close` ends them."""

    def __init__(self, jobs: int, start: Callable[[], None], work: Callable[[Any], Any]) -> None:
        self._workers: list[_Worker] = []
        self._poll = select.poll()
        self._by_fd: dict[int, _Worker] = {}
        try:
            for _ in range(jobs):
                self._fork(start, work)
        except BaseException:
            self.close()
            raise

    def _fork(self, start: Callable[[], None], work: Callable[[Any], Any]) -> None:
        tasks_in, tasks_out = os.pipe()
        outcomes_in, outcomes_out = os.pipe()
        pid = os.fork()
        if pid == 0:  # the worker: the other workers' pipes are not its own (it would keep them open)
            try:  # nothing (a ^C before `_serve` gives SIGINT its default) unwinds into the caller's code here
                for fd in (tasks_out, outcomes_in, *(fd for worker in self._workers for fd in (worker.tasks, worker.outcomes))):
                    os.close(fd)
                _serve(tasks_in, outcomes_out, start, work)  # never returns
            finally:
                os._exit(1)
        os.close(tasks_in)
        os.close(outcomes_out)
        os.set_blocking(tasks_out, False)
        os.set_blocking(outcomes_in, False)
        worker = _Worker(pid, tasks_out, outcomes_in)
        self._workers.append(worker)
        self._by_fd[outcomes_in] = worker
        self._poll.register(outcomes_in, select.POLLIN)

    def room(self) -> int:
        """How many more tasks the workers take now (`DEPTH` each, less those given and not done)."""
        return sum(DEPTH - len(worker.given) for worker in self._workers)

    def submit(self, key: int, task: Any) -> None:
        """Give `task` to the worker with the fewest tasks not done; never waits (see `room`)."""
        worker = min(self._workers, key=lambda worker: len(worker.given))
        data = pickle.dumps(task, protocol=pickle.HIGHEST_PROTOCOL)
        worker.unsent += len(data).to_bytes(_HEADER, "big")
        worker.unsent += data
        worker.given.append(key)
        self._send(worker)

    def finished(self, *, wait: bool) -> list[tuple[int, bool, Any]]:
        """The tasks done since the last call, each as its key, whether it returned, and what it returned
        or raised; with `wait`, at least one when any is not done (it waits for it). Raises `Ended` when
        a worker ended (before `close`: it was killed, or died)."""
        done: list[tuple[int, bool, Any]] = []
        while True:
            for fd, _ in self._poll.poll(-1 if wait and not done else 0):
                worker = self._by_fd.get(fd)
                if worker is None:  # a task pipe with room again
                    self._send(next(w for w in self._workers if w.tasks == fd))
                else:
                    self._receive(worker, done)
            if done or not wait or not any(worker.given for worker in self._workers):
                return done

    def _send(self, worker: _Worker) -> None:
        """Write what `worker`'s pipe takes of its tasks; the rest once it has room (`finished` waits for it)."""
        try:
            del worker.unsent[: os.write(worker.tasks, worker.unsent)]
        except BlockingIOError:
            pass
        except BrokenPipeError:  # it ended: its outcomes' pipe says so
            worker.unsent.clear()
        if worker.unsent:
            self._poll.register(worker.tasks, select.POLLOUT)
        else:
            try:
                self._poll.unregister(worker.tasks)
            except KeyError:
                pass

    def _receive(self, worker: _Worker, done: list[tuple[int, bool, Any]]) -> None:
        """Read what `worker` wrote; its whole outcomes go in `done`."""
        ended = False
        while True:
            try:
                data = os.read(worker.outcomes, 1 << 20)
            except BlockingIOError:
                break
            if not data:
                ended = True
                break
            worker.received += data
        got = worker.received
        while len(got) >= _HEADER and len(got) >= _HEADER + (size := int.from_bytes(got[:_HEADER], "big")):
            returned, value = pickle.loads(got[_HEADER : _HEADER + size])
            del got[: _HEADER + size]
            done.append((worker.given.popleft(), returned, value))
        if ended:  # a worker ends only once `close` closed its tasks' pipe: before, whether busy or not, it died
            self._poll.unregister(worker.outcomes)
            del self._by_fd[worker.outcomes]
            raise Ended(f"worker process {worker.pid} ended with {len(worker.given)} task(s) not done")

    def close(self) -> None:
        """End the workers, and wait for them. Every outcome wanted is in, or none is wanted any more: each is
        killed, so that none is left running a task, nor stopped, nor waits to be."""
        for worker in self._workers:
            for fd in (worker.tasks, worker.outcomes):
                try:
                    os.close(fd)
                except OSError:
                    pass
            try:
                os.kill(worker.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        for worker in self._workers:
            try:
                os.waitpid(worker.pid, 0)
            except ChildProcessError:
                pass
        self._workers.clear()
        self._by_fd.clear()


def _serve(tasks: int, outcomes: int, start: Callable[[], None], work: Callable[[Any], Any]) -> None:
    """In a worker process: start, then do each task read and write its outcome, until the end of the tasks'
    pipe; end without running the collecting process's exit handlers (exit code 0 then, 1 on an error)."""
    code = 1
    try:
        signal.signal(signal.SIGINT, signal.SIG_DFL)  # ^C: the collecting process says so, not each worker
        start()
        with open(tasks, "rb") as reading, open(outcomes, "wb") as writing:
            while len(header := reading.read(_HEADER)) == _HEADER:
                task = pickle.loads(reading.read(int.from_bytes(header, "big")))
                try:
                    outcome: tuple[bool, Any] = (True, work(task))
                except Exception as exc:  # noqa: BLE001 - raised again in the collecting process
                    outcome = (False, exc)
                try:
                    data = pickle.dumps(outcome, protocol=pickle.HIGHEST_PROTOCOL)
                except Exception as exc:  # noqa: BLE001 - an error that does not pickle
                    data = pickle.dumps((False, RuntimeError(f"{type(outcome[1]).__name__} (not picklable: {exc})")))
                writing.write(len(data).to_bytes(_HEADER, "big"))
                writing.write(data)
                writing.flush()
        code = 0
    finally:
        os._exit(code)
