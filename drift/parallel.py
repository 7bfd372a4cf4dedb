"""Judging tenants in worker processes, for fleets where one core is the limit.

Workers are forked after the catalog is loaded, so they share it without copying or pickling it. Each
sends back a tenant's findings as small integers into a table of the distinct findings it has judged
(most tenants share most findings), plus the entries of that table the parent has not seen yet: the
parent rebuilds results that share finding objects, exactly as a sequential scan does.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
from array import array
from collections.abc import Callable, Iterator, Sequence
from typing import Any, cast

from drift.results import Finding, TenantResult
from drift.tenants import Tenant

_JUDGE: Callable[[Tenant], TenantResult] | None = None
_INDEX: dict[int, int] = {}
"""In a worker: id() of each finding sent to the parent -> its index in the parent's table."""
_KEPT: list[Finding] = []


def can_fork() -> bool:
    """True where worker processes can be forked (not on Windows)."""
    return "fork" in multiprocessing.get_all_start_methods()


def judge_in_workers(judge: Callable[[Tenant], TenantResult], tenants: Sequence[Tenant], jobs: int) -> Iterator[TenantResult]:
    """`judge(tenant)` for each tenant in `jobs` forked workers; results in the order of `tenants`."""
    global _JUDGE
    _JUDGE = judge
    tables: dict[int, list[Finding]] = {}
    # Everything alive now (the catalog, its index) moves out of the collector's sight: workers neither
    # traverse it on each collection nor copy its pages by touching it.
    gc.freeze()
    try:
        with multiprocessing.get_context("fork").Pool(jobs, initializer=gc.disable) as pool:
            for packed in pool.imap(_work, tenants, chunksize=4):
                yield _unpack(packed, tables)
    finally:
        _JUDGE = None
        gc.unfreeze()


def _work(tenant: Tenant) -> tuple[Any, ...]:
    assert _JUDGE is not None
    result = _JUDGE(tenant)
    indexes = list(map(_INDEX.get, map(id, result.findings)))
    new: list[tuple[int, Finding]] = []
    if None in indexes:
        for i, finding in enumerate(result.findings):
            if indexes[i] is None:
                index = _INDEX.get(id(finding))
                if index is None:
                    # Kept alive in _KEPT, so its id() is never reused for another object.
                    index = _INDEX[id(finding)] = len(_KEPT)
                    _KEPT.append(finding)
                    new.append((index, finding))
                indexes[i] = index
    ids = array("I", cast(list[int], indexes))
    return (os.getpid(), result.tenant, result.inventory_digest, result.collected_at, ids.tobytes(), new, result.drift, result.counts)


def _unpack(packed: tuple[Any, ...], tables: dict[int, list[Finding]]) -> TenantResult:
    pid, tenant, digest, collected_at, raw_ids, new, drift, counts = packed
    table = tables.setdefault(pid, [])
    for index, finding in new:  # a worker numbers its findings 0, 1, 2, ... in the order it sends them
        assert index == len(table)
        table.append(finding)
    ids = array("I")
    ids.frombytes(raw_ids)
    return TenantResult(tenant, digest, collected_at, tuple(map(table.__getitem__, ids)), drift, counts)
