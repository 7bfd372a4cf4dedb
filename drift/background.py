"""Work started in a forked process while the caller goes on (reading a catalog while a tree is walked).

A bare process and a pipe, no pool: nothing runs in threads, and a child that dies is an error, not a wait
without end. Where there is no `fork`, one core, or the work is not worth a process, it runs when its result
is first asked for. Standard library only: the one-file collector carries this module.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast

from drift.errors import OperationalError

if TYPE_CHECKING:
    from multiprocessing.connection import Connection

T = TypeVar("T")


def can_fork() -> bool:
    """True where a process can be forked: the os module has `fork` and multiprocessing offers it (not on
    Windows, nor where a platform lists the start method without the call)."""
    import multiprocessing  # here: a collection that needs no process never loads it

    return hasattr(os, "fork") and "fork" in multiprocessing.get_all_start_methods()


class Background(Generic[T]):
    """`work(*args)`, computed in a forked process from the moment this is made; `result()` gives its value
    or raises its error (a `DriftError` comes back as itself). Close it (or use it as a context) to end a
    process whose result was never asked for."""

    def __init__(self, work: Callable[..., T], *args: Any, what: str, worth_it: bool = True) -> None:
        self._work, self._args, self._what = work, args, what
        self._outcome: tuple[bool, Any] | None = None
        self._child: Any = None
        if worth_it and (os.cpu_count() or 1) >= 2 and can_fork():
            import multiprocessing

            context = multiprocessing.get_context("fork")
            self._receiving, sending = context.Pipe(duplex=False)
            self._child = context.Process(target=_send_result, args=(sending, work, args), daemon=True)
            self._child.start()
            sending.close()

    def ready(self) -> bool:
        """True when `result()` would not wait for the process (always, where there is none)."""
        return self._outcome is not None or self._child is None or self._receiving.poll()

    def result(self) -> T:
        if self._outcome is None:
            if self._child is None:
                try:
                    self._outcome = (True, self._work(*self._args))
                except Exception as exc:  # noqa: BLE001 - raised again below, and on every later call
                    self._outcome = (False, exc)
            else:
                try:
                    self._outcome = self._receiving.recv()
                except EOFError:
                    self._outcome = (False, OperationalError(f"the process {self._what} ended without a result (exit code {self._child.exitcode})"))
                self.close()
        succeeded, value = self._outcome
        if not succeeded:
            raise cast(Exception, value)
        return cast(T, value)

    def close(self) -> None:
        if self._child is not None:
            self._receiving.close()
            if self._child.is_alive():
                self._child.terminate()
            self._child.join()
            self._child = None

    def __enter__(self) -> Background[T]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _send_result(sending: Connection, work: Callable[..., object], args: tuple[Any, ...]) -> None:
    try:
        outcome: tuple[bool, object] = (True, work(*args))
    except Exception as exc:  # noqa: BLE001 - raised again in the parent
        outcome = (False, exc)
    sending.send(outcome)
    sending.close()
