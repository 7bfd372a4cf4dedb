"""Work started in a forked process while the caller goes on (reading a catalog while a tree is walked).

A bare process and a pipe (`os.fork`, not `multiprocessing`, which would take a short run longer to load than
its work), no pool: nothing runs in threads, and a child that dies is an error, not a wait without end. Where there is no `fork`, one core, or the work is not worth a process, it runs when its result
is first asked for. Standard library only: the one-file collector carries this module.
"""

from __future__ import annotations

import os
import pickle
import select
from collections.abc import Callable
from typing import Any, Generic, TypeVar, cast

from drift.errors import OperationalError

T = TypeVar("T")


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
        if worth_it and (os.cpu_count() or 1) >= 2 and hasattr(os, "fork"):
            reading, writing = os.pipe()
            try:
                pid = os.fork()
            except OSError:  # no fork after all (a platform that lists it without one, or out of processes)
                os.close(reading)
                os.close(writing)
                return
            if pid == 0:
                os.close(reading)
                _send_result(writing, work, args)  # never returns
            os.close(writing)
            self._pid, self._reading, self._was_forked = pid, reading, True

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
                    self._outcome = (False, OperationalError(f"the process {self._what} ended without a result (exit code {code})"))
        succeeded, value = self._outcome
        if not succeeded:
            raise cast(Exception, value)
        return cast(T, value)

    def close(self) -> None:
        if self._pid != 0:
            os.close(self._reading)
            try:
                os.kill(self._pid, 15)  # SIGTERM (the constant is POSIX's)
            except ProcessLookupError:
                pass
            os.waitpid(self._pid, 0)
            self._pid = 0

    def __enter__(self) -> Background[T]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _send_result(writing: int, work: Callable[..., object], args: tuple[Any, ...]) -> None:
    """In the forked child: compute, send the pickled outcome, and end without running the parent's exit
    handlers (exit code 0 once the outcome is sent, 1 when it could not be)."""
    code = 1
    try:
        try:
            outcome: tuple[bool, object] = (True, work(*args))
        except Exception as exc:  # noqa: BLE001 - raised again in the parent
            outcome = (False, exc)
        try:
            data = pickle.dumps(outcome, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as exc:  # noqa: BLE001 - a value or error that cannot be pickled
            data = pickle.dumps((False, OperationalError(f"a forked process could not send its result ({type(exc).__name__}: {exc})")))
        with open(writing, "wb") as pipe:
            pipe.write(data)
        code = 0
    finally:
        os._exit(code)
