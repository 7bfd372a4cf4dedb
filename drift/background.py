"""Work started in a forked process while the caller goes on (reading a catalog while a tree is walked).

A bare process and a pipe (`os.fork`, not `multiprocessing`, which would take a short run longer to load than
its work), no pool: nothing runs in threads, and a child that dies is an error, not a wait without end. Where there is no `fork`, one core, or the work is not worth a process, it runs when its result
is first asked for. Standard library only: the one-file collector carries this module.
"""

from __future__ import annotations

import os
import pickle
import select
from collections.abc import Callable, Generator, Iterator
from typing import Any, Generic, TypeVar, cast

from drift.errors import OperationalError

T = TypeVar("T")
R = TypeVar("R")


def can_fork() -> bool:
    """True where a process can be forked: the os module has `fork` and multiprocessing offers it (not on
    Windows, nor where a platform lists the start method without the call)."""
    import multiprocessing  # here: a collection that needs no process never loads it

    return hasattr(os, "fork") and "fork" in multiprocessing.get_all_start_methods()


class Background(Generic[T]):
    """`work(*args)`, computed in a forked process from the moment this is made; `result()` gives its value
    or raises its error (a `DriftError` comes back as itself). Close it (or use it as a context) to end a
    process whose result was never asked for.

    The process is a bare `os.fork` with a pipe: the child computes, writes its pickled outcome and ends
    with `os._exit` (no exit handler of the parent's runs twice), and loading `multiprocessing` costs a
    short run more than its work. Where the fork fails, or there is none, the work runs when its result
    is first asked for."""

    def __init__(self, work: Callable[..., T], *args: Any, what: str, worth_it: bool = True) -> None:
        self._work, self._args, self._what = work, args, what
        self._outcome: tuple[bool, Any] | None = None
        self._pid = 0
        self._reading = -1
        self._was_forked = False
        forked = _fork(lambda writing: _send_result(writing, work, args)) if worth_it else None
        if forked is not None:
            (self._pid, self._reading), self._was_forked = forked, True

    @property
    def forked(self) -> bool:
        """True when the work runs in a process of its own (else it runs when its result is asked for)."""
        return self._was_forked

    def ready(self) -> bool:
        """True when `result()` would not wait for the process (always, where there is none)."""
        return self._outcome is not None or self._pid == 0 or bool(select.select([self._reading], [], [], 0)[0])

    def result(self) -> T:
        if self._outcome is None:
            if self._pid == 0:
                try:
                    self._outcome = (True, self._work(*self._args))
                except Exception as exc:  # noqa: BLE001 - raised again below, and on every later call
                    self._outcome = (False, exc)
            else:
                with open(self._reading, "rb") as pipe:
                    data = pipe.read()
                _, status = os.waitpid(self._pid, 0)
                self._pid = 0
                try:
                    self._outcome = pickle.loads(data) if data else None
                except Exception:  # noqa: BLE001 - cut short: the process died while it wrote
                    self._outcome = None
                if self._outcome is None:
                    code = os.waitstatus_to_exitcode(status)
                    self._outcome = (False, _no_result(self._what, code))
        succeeded, value = self._outcome
        if not succeeded:
            raise cast(Exception, value)
        return cast(T, value)

    def close(self) -> None:
        if self._pid != 0:
            os.close(self._reading)
            _stop(self._pid)
            self._pid = 0

    def __enter__(self) -> Background[T]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _fork(child: Callable[[int], None]) -> tuple[int, int] | None:
    """A forked process that runs `child` on the write end of a new pipe (it never returns): its pid and the
    pipe's read end; None where there is no fork, one core, or the fork failed (a platform that lists it
    without one, or out of processes)."""
    if (os.cpu_count() or 1) < 2 or not hasattr(os, "fork"):
        return None
    reading, writing = os.pipe()
    try:
        pid = os.fork()
    except OSError:
        os.close(reading)
        os.close(writing)
        return None
    if pid == 0:
        try:  # nothing (a ^C just after the fork) unwinds into the caller's code in the child
            os.close(reading)
            child(writing)  # never returns
        finally:
            os._exit(1)
    os.close(writing)
    return pid, reading


def _stop(pid: int) -> None:
    """End a forked process whose result is no longer wanted, and wait for it."""
    try:
        os.kill(pid, 15)  # SIGTERM (the constant is POSIX's)
    except ProcessLookupError:
        pass
    os.waitpid(pid, 0)


def _pickled(message: tuple[object, object], failed: object) -> tuple[bytes, bool]:
    """`message` pickled, and True; where it cannot be (a value or error that does not pickle), the error
    saying so as `(failed, error)`, and False."""
    try:
        return pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL), True
    except Exception as exc:  # noqa: BLE001 - a value or error that cannot be pickled
        return pickle.dumps((failed, OperationalError(f"a forked process could not send its result ({type(exc).__name__}: {exc})"))), False


def _no_result(what: str, code: int) -> OperationalError:
    """The error of a forked process that ended (exit code `code`) before its result was sent whole."""
    return OperationalError(f"the process {what} ended without a result (exit code {code})")


def _send_result(writing: int, work: Callable[..., object], args: tuple[Any, ...]) -> None:
    """In the forked child: compute, send the pickled outcome, and end without running the parent's exit
    handlers (exit code 0 once the outcome is sent, 1 when it could not be)."""
    code = 1
    try:
        try:
            outcome: tuple[bool, object] = (True, work(*args))
        except Exception as exc:  # noqa: BLE001 - raised again in the parent
            outcome = (False, exc)
        data, _ = _pickled(outcome, False)
        with open(writing, "wb") as pipe:
            pipe.write(data)
        code = 0
    finally:
        os._exit(code)


_ITEM, _RETURNED, _RAISED = 0, 1, 2
_HEADER = 8
"""Bytes of a message's length, before each message of a `Streamed` process."""


class Streamed(Generic[T, R]):
    """`work(*args)`, a generator, run in a forked process from the moment this is made: `items()` gives
    what it yields as each comes (while it goes on), then `result()` what it returns, or raises its error
    (a `DriftError` comes back as itself). Close it (or use it as a context) to end a process early.

    The process never waits for this one to read: it keeps what the pipe cannot take yet and sends it
    once the pipe has room, after each item, and all that is left when it is done. Where there is no
    fork, or one core, the generator runs here as `items()` is iterated (`forked` says which)."""

    def __init__(self, work: Callable[..., Generator[T, None, R]], *args: Any, what: str) -> None:
        self._work, self._args, self._what = work, args, what
        self._outcome: tuple[bool, Any] | None = None
        self._pid = 0
        self._pipe: Any = None
        self._was_forked = False
        forked = _fork(lambda writing: _stream(writing, work, args))
        if forked is not None:
            self._pid, self._pipe, self._was_forked = forked[0], open(forked[1], "rb"), True  # noqa: SIM115 - closed by _reap or close

    @property
    def forked(self) -> bool:
        """True when the work runs in a process of its own (else it runs as `items()` is iterated)."""
        return self._was_forked

    def items(self) -> Iterator[T]:
        """What the work yields, as it comes; once through, `result()` has its outcome."""
        if self._outcome is not None:
            return
        if not self._was_forked:
            work = self._work(*self._args)
            try:
                while True:
                    yield next(work)
            except StopIteration as done:
                self._outcome = (True, done.value)
            except Exception as exc:  # noqa: BLE001 - raised again by result()
                self._outcome = (False, exc)
            return
        while True:
            message = self._receive()
            if message is None:
                self._outcome = (False, _no_result(self._what, self._reap()))
                return
            kind, value = message
            if kind == _ITEM:
                yield value
                continue
            self._reap()
            self._outcome = (kind == _RETURNED, value)
            return

    def result(self) -> R:
        """What the work returned (the items not taken yet are passed over); raises its error."""
        for _ in self.items():
            pass
        assert self._outcome is not None
        succeeded, value = self._outcome
        if not succeeded:
            raise cast(Exception, value)
        return cast(R, value)

    def _receive(self) -> tuple[int, Any] | None:
        """The next message, or None when the process ended (or died) before sending it whole."""
        header = self._pipe.read(_HEADER)
        if len(header) < _HEADER:
            return None
        size = int.from_bytes(header, "big")
        data = self._pipe.read(size)
        if len(data) < size:
            return None
        try:
            return cast(tuple[int, Any], pickle.loads(data))
        except Exception:  # noqa: BLE001 - cut short
            return None

    def _reap(self) -> int:
        """Wait for the process to end; its exit code."""
        self._pipe.close()
        _, status = os.waitpid(self._pid, 0)
        self._pid = 0
        return os.waitstatus_to_exitcode(status)

    def close(self) -> None:
        if self._pid != 0:
            self._pipe.close()
            _stop(self._pid)
            self._pid = 0

    def __enter__(self) -> Streamed[T, R]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _stream(writing: int, work: Callable[..., Generator[Any, None, Any]], args: tuple[Any, ...]) -> None:
    """In the forked child: run the generator, sending each item as a message (length, then pickle) without
    ever waiting for the reader until the end, then what it returned or raised; end without running the
    parent's exit handlers (exit code 0 once everything is sent, 1 when it could not be)."""
    code = 1
    try:
        waiting = bytearray()
        os.set_blocking(writing, False)

        def send(kind: int, value: object) -> bool:
            data, sent = _pickled((kind, value), _RAISED)
            waiting.extend(len(data).to_bytes(_HEADER, "big"))
            waiting.extend(data)
            try:
                del waiting[: os.write(writing, waiting)]
            except BlockingIOError:  # the pipe is full: sent with the next one, or at the end
                pass
            return sent

        try:
            generator = work(*args)
            while True:
                try:
                    item = next(generator)
                except StopIteration as done:
                    send(_RETURNED, done.value)
                    break
                if not send(_ITEM, item):
                    break
        except Exception as exc:  # noqa: BLE001 - raised again in the parent
            send(_RAISED, exc)
        os.set_blocking(writing, True)
        with open(writing, "wb") as pipe:
            pipe.write(waiting)
        code = 0
    finally:
        os._exit(code)
