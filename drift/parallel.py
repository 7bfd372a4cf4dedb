"""Judging tenants in worker processes, for fleets where one core is the limit.

Workers are forked after the catalog is loaded, so they share it without copying or pickling it. Each
sends back a tenant's findings as small integers into a table of the runs of findings it has judged (most
tenants share most runs; see `TenantResult.runs`), plus the runs and findings the parent has not seen yet:
the parent rebuilds results that share finding and run objects, exactly as a sequential scan does.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
from array import array
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from itertools import chain
from typing import Any

from drift.errors import OperationalError
from drift.results import Finding, TenantResult
from drift.tenants import Tenant

_JUDGE: Callable[[Tenant], TenantResult] | None = None
_FINDINGS: dict[int, int] = {}
"""In a worker: id() of each finding sent to the parent -> its index in the parent's table of findings."""
_RUNS: dict[int, int] = {}
"""In a worker: id() of each run of findings sent -> its index in the parent's table of runs."""
_KEPT: list[object] = []
"""What those ids belong to, kept alive so that no id() is reused by another object."""


def judge_in_workers(judge: Callable[[Tenant], TenantResult], tenants: Sequence[Tenant], jobs: int) -> Iterator[TenantResult]:
    """`judge(tenant)` for each tenant in `jobs` forked workers; results in the order of `tenants`."""
    global _JUDGE
    _JUDGE = judge
    tables: dict[int, _Tables] = {}
    # Everything alive now (the catalog, its index) moves out of the collector's sight: workers neither
    # traverse it on each collection nor copy its pages by touching it.
    gc.freeze()
    workers = ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("fork"), initializer=gc.disable)
    try:
        for packed in workers.map(_work, tenants, chunksize=4):
            yield _unpack(packed, tables)
    except BrokenProcessPool as exc:  # a worker killed (out of memory, or by hand): an error, not a wait without end
        raise OperationalError("a worker process ended unexpectedly (killed, or out of memory?); try again, or with --jobs 1") from exc
    finally:
        workers.shutdown(wait=True, cancel_futures=True)  # on an error, tenants not yet started are not judged
        _JUDGE = None
        gc.unfreeze()


def _work(tenant: Tenant) -> tuple[Any, ...]:
    assert _JUDGE is not None
    result = _JUDGE(tenant)
    new_findings: list[tuple[int, Finding]] = []
    new_runs: list[tuple[int, bytes]] = []
    run_ids = array("I")
    for run in result.runs or (result.findings,):
        index = _RUNS.get(id(run))
        if index is None:
            index = _RUNS[id(run)] = len(_RUNS)
            _KEPT.append(run)
            new_runs.append((index, array("I", [_finding_index(f, new_findings) for f in run]).tobytes()))
        run_ids.append(index)
    return (os.getpid(), result.tenant, result.inventory_digest, result.collected_at, run_ids.tobytes(), new_runs, new_findings,
            result.drift, result.counts, result.signed_by, result.signature)


def _finding_index(finding: Finding, new: list[tuple[int, Finding]]) -> int:
    index = _FINDINGS.get(id(finding))
    if index is None:
        index = _FINDINGS[id(finding)] = len(_FINDINGS)
        _KEPT.append(finding)
        new.append((index, finding))
    return index


class _Tables:
    """The parent's copy of one worker's findings and runs, each numbered 0, 1, 2, ... in the order sent."""

    def __init__(self) -> None:
        self.findings: list[Finding] = []
        self.runs: list[tuple[Finding, ...]] = []


def _unpack(packed: tuple[Any, ...], tables: dict[int, _Tables]) -> TenantResult:
    pid, tenant, digest, collected_at, raw_run_ids, new_runs, new_findings, drift, counts, signed_by, signature = packed
    table = tables.setdefault(pid, _Tables())
    for index, finding in new_findings:
        assert index == len(table.findings)
        table.findings.append(finding)
    for index, raw_ids in new_runs:
        assert index == len(table.runs)
        ids = array("I")
        ids.frombytes(raw_ids)
        table.runs.append(tuple(map(table.findings.__getitem__, ids)))
    run_ids = array("I")
    run_ids.frombytes(raw_run_ids)
    runs = tuple(map(table.runs.__getitem__, run_ids))
    return TenantResult(tenant, digest, collected_at, tuple(chain.from_iterable(runs)), drift, counts, runs, signed_by, signature)
