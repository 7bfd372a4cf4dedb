"""The collector's worker processes (`drift.collect.processes`): every task's outcome comes back under its key,
nothing waits without end (a task or an outcome larger than a pipe, a worker that dies), and closing ends
every worker."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from drift.collect.processes import DEPTH, Ended, Processes
from drift.errors import OperationalError
from tests.forking import interrupted_children

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="worker processes are forked")


@pytest.fixture(autouse=True)
def _deadline() -> Iterator[None]:
    """A test that would wait without end fails instead."""
    def expired(*_: object) -> None:
        raise TimeoutError("waited without end")

    before = signal.signal(signal.SIGALRM, expired)
    signal.alarm(30)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, before)


def _work(task: Any) -> Any:
    kind, value = task
    if kind == "echo":
        return (os.getpid(), value)
    if kind == "raise":
        raise OperationalError(value)
    if kind == "sleep":
        time.sleep(value)
        return None
    if kind == "unpicklable":
        return lambda: None
    raise AssertionError(kind)


@pytest.fixture()
def pools() -> Iterator[Callable[..., Processes]]:
    """`Processes(jobs, start, _work)`, each closed once the test is over."""
    made: list[Processes] = []

    def make(jobs: int, start: Callable[[], None] = lambda: None) -> Processes:
        made.append(Processes(jobs, start, _work))
        return made[-1]

    yield make
    for pool in made:
        pool.close()


def _until_an_error(pool: Processes) -> None:
    """Take outcomes as they come, until `finished` raises."""
    while True:
        pool.finished(wait=True)


def _all(pool: Processes, tasks: dict[int, Any]) -> dict[int, tuple[bool, Any]]:
    """Every task given as room allows, and every outcome taken."""
    waiting, outcomes = list(tasks.items()), {}
    while waiting or len(outcomes) < len(tasks):
        for _ in range(min(pool.room(), len(waiting))):
            key, task = waiting.pop(0)
            pool.submit(key, task)
        for key, returned, value in pool.finished(wait=True):
            assert key not in outcomes
            outcomes[key] = (returned, value)
    return outcomes


def test_every_outcome_comes_back_under_its_key_from_every_worker(pools: Callable[..., Processes]) -> None:
    pool = pools(2)
    assert pool.room() == 2 * DEPTH
    outcomes = _all(pool, {key: ("echo", key * 3) for key in range(50)})
    assert {key: value[1] for key, (_, value) in outcomes.items()} == {key: key * 3 for key in range(50)}
    assert all(returned for returned, _ in outcomes.values())
    assert len({value[0] for _, value in outcomes.values()}) == 2  # both workers worked
    assert os.getpid() not in {value[0] for _, value in outcomes.values()}


def test_tasks_and_outcomes_larger_than_a_pipe_never_wait_without_end(pools: Callable[..., Processes]) -> None:
    big = "x" * (4 << 20)  # a pipe holds 64 KB: each side writes while the other does too
    outcomes = _all(pools(2), {key: ("echo", big + str(key)) for key in range(12)})
    assert all(value[1] == big + str(key) for key, (_, value) in outcomes.items())


def test_a_task_that_raises_comes_back_as_its_error_and_the_worker_goes_on(pools: Callable[..., Processes]) -> None:
    outcomes = _all(pools(1), {1: ("raise", "out of file descriptors"), 2: ("echo", "after"), 3: ("unpicklable", None)})
    returned, error = outcomes[1]
    assert not returned and isinstance(error, OperationalError) and "out of file descriptors" in str(error)
    assert outcomes[2] == (True, (outcomes[2][1][0], "after"))
    returned, error = outcomes[3]
    assert not returned and "not picklable" in str(error)


def test_a_worker_that_dies_is_an_error_not_a_wait(pools: Callable[..., Processes]) -> None:
    pool = pools(2)
    pool.submit(1, ("sleep", 20))
    victim = next(worker.pid for worker in pool._workers if worker.given)
    os.kill(victim, signal.SIGKILL)
    with pytest.raises(Ended, match="ended with 1 task"):
        _until_an_error(pool)


def test_a_worker_that_dies_while_idle_is_an_error_before_any_task_is_lost_to_it(pools: Callable[..., Processes]) -> None:
    pool = pools(2)
    assert sorted(_all(pool, {1: ("echo", 1), 2: ("echo", 2)})) == [1, 2]
    os.kill(pool._workers[0].pid, signal.SIGKILL)  # idle: no task given to it
    os.waitid(os.P_PID, pool._workers[0].pid, os.WEXITED | os.WNOWAIT)  # dead now, not yet reaped
    with pytest.raises(Ended):
        pool.finished(wait=False)  # as the walk looks for outcomes: its end is read here
        pool.submit(3, ("echo", 3))  # else given to the dead one (no task given to it), never to come back
        _until_an_error(pool)


def test_a_worker_that_cannot_start_is_an_error(pools: Callable[..., Processes]) -> None:
    def fails() -> None:
        raise OSError("no descriptors")

    pool = pools(1, fails)
    pool.submit(1, ("echo", 1))
    with pytest.raises(Ended):
        _until_an_error(pool)


def test_close_ends_idle_busy_and_stopped_workers_and_waits_for_them(pools: Callable[..., Processes]) -> None:
    pool = pools(3)
    pids = [worker.pid for worker in pool._workers]
    pool.submit(1, ("sleep", 20))  # busy: not waited for 20 s
    os.kill(pids[2], signal.SIGSTOP)  # stopped: it would never read the end of its pipe
    started = time.monotonic()
    pool.close()
    assert time.monotonic() - started < 10
    for pid in pids:
        with pytest.raises(ChildProcessError):  # reaped: no zombie left
            os.waitpid(pid, os.WNOHANG)


def test_a_worker_interrupted_before_it_serves_never_returns_into_the_caller(tmp_path: Path, pools: Callable[..., Processes]) -> None:
    """A ^C just after the fork, in the worker (before it gives SIGINT its default): it ends there, and never
    runs the caller's code (its handlers, its cleanup) as a second copy of it."""
    with interrupted_children(tmp_path):
        pool = pools(2)
    with pytest.raises(Ended):
        _until_an_error(pool)
    assert not list(tmp_path.iterdir())
