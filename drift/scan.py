"""The scan: every applicable fix judged on every tenant (SPEC 5, 6)."""

from __future__ import annotations

import datetime as dt
import gc
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import replace
from itertools import chain, compress
from pathlib import Path
from typing import TYPE_CHECKING

from drift.background import can_fork
from drift.catalog.model import Catalog, Fix
from drift.errors import InputError, TrustError
from drift.expected import Expectations
from drift.filedrift import ReleaseIndex
from drift.inventory.model import Inventory
from drift.inventory.readers import READERS, find_inventory, read_inventory, suffix_of, tenant_of
from drift.judge import Judge
from drift.parallel import judge_in_workers
from drift.results import NOT_APPLICABLE, UNVERIFIABLE, FileDrift, Finding, PerFinding, PerRun, Scan, TenantResult, count_statuses
from drift.scanid import scan_id
from drift.tenants import Tenant
from drift.trust.catalogs import VouchedCatalog, vouched
from drift.trust.statement import INVENTORY, signature_path
from drift.trust.trustfile import Trust
from drift.trust.verify import verify_signature
from drift.verdict import content_unknown, exclusion_reason

if TYPE_CHECKING:
    from drift.store import Store

NO_INVENTORY = "none"
"""The inventory digest recorded for a tenant that has no inventory."""


def select(catalog: Catalog, tenants: Sequence[Tenant], tenant_ids: Collection[str] = (), fix_ids: Collection[str] = ()) -> tuple[tuple[Tenant, ...], tuple[Fix, ...]]:
    """The tenants and fixes a scan covers; an id that names nothing is a usage error."""
    known_tenants = {t.id for t in tenants}
    known_fixes = {f.id for f in catalog.fixes}
    for tid in tenant_ids:
        if tid not in known_tenants:
            raise InputError(f"no tenant {tid!r} in the registry", where="--tenant")
    for fid in fix_ids:
        if fid not in known_fixes:
            raise InputError(f"no fix {fid!r} in the catalog", where="--fix")
    chosen_tenants = tuple(t for t in tenants if not tenant_ids or t.id in tenant_ids)
    chosen_fixes = tuple(f for f in catalog.fixes if not fix_ids or f.id in fix_ids)
    return chosen_tenants, chosen_fixes


def unregistered_inventories(inventory_dir: Path, tenants: Sequence[Tenant]) -> list[Path]:
    """Inventory files whose tenant is not in the registry: they are not scanned, and a user should hear so."""
    known = {t.id for t in tenants}
    found = {p for suffix in READERS for p in inventory_dir.glob(f"*{suffix}") if tenant_of(p) not in known and suffix_of(p) == suffix}
    return sorted(found)


class TenantJudge:
    """Judges one tenant at a time against a catalog: its fixes and its file-level drift."""

    def __init__(
        self, catalog: Catalog, inventory_dir: Path, fixes: Sequence[Fix] | None = None, trust: Trust | None = None,
        now: dt.datetime | None = None, newest_signed: Mapping[str, dt.datetime] | None = None,
    ) -> None:
        self.fixes = catalog.fixes if fixes is None else tuple(fixes)
        self.inventory_dir = inventory_dir
        self.trust = trust
        self.now = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
        self.newest_signed = newest_signed or {}
        self._index = ReleaseIndex(catalog)
        self._expected = Expectations(catalog, self._index)
        self._judge = Judge(self.fixes)

    def __call__(self, tenant: Tenant) -> TenantResult:
        """The tenant's result; a tenant with no inventory gets `unverifiable` for every applicable fix."""
        path = find_inventory(self.inventory_dir, tenant.id)
        if path is None:
            return _without_inventory(tenant, self.fixes)
        inventory = read_inventory(path, tenant.id)
        signed_by, signature = self._signature(path, tenant, inventory)
        if signature.startswith(_REFUSED):
            return _without_inventory(tenant, self.fixes, inventory, f"inventory {signature}", signature)
        inventory = self._index.with_release_content(inventory)
        nearest = self._index.nearest(inventory.files)
        drift = self._index.file_drift(inventory.files, nearest)
        inventory = self._index.with_release_content(inventory, drift.uncatalogued)
        unknown = self._index.unknown_content(inventory)
        context, drift = self._expected.context(tenant, inventory.files, drift)
        judged = self._judge.judge_counted(tenant, inventory, nearest, context)
        findings, counts, runs = judged.findings, judged.counts, judged.runs
        if unknown:
            findings = content_unknown(findings, self.fixes, tenant, unknown)
            counts, runs = count_statuses(findings), ()
        return TenantResult(
            tenant=tenant,
            inventory_digest=inventory.digest,
            collected_at=inventory.collected_at,
            findings=findings,
            drift=drift,
            counts=counts,
            runs=runs,
            signed_by=signed_by,
            signature=signature,
        )

    def _signature(self, path: Path, tenant: Tenant, inventory: Inventory) -> tuple[str | None, str]:
        """The key that vouches for the inventory, and what became of its signature (see
        `TenantResult.signature`); a tenant whose inventory must be signed and is not is refused too, and so
        is a signed inventory collected in the future, or before one of the tenant's signed inventories that
        the database already judged (an older inventory, validly signed then, replayed to hide a regression)."""
        if self.trust is None:
            return None, ""
        if not signature_path(path).exists():
            if INVENTORY in self.trust.require:
                return None, f"{_REFUSED}not signed, and the trust file requires signed inventories"
            return None, "unsigned"
        checked = verify_signature(path, self.trust, kind=INVENTORY, tenant=tenant.id, today=self.now.date(), sha256=inventory.file_sha256 or None)
        if not checked.ok:
            return None, f"{_REFUSED}{checked.reason}"
        collected = collection_time(inventory.collected_at)
        if collected is None:  # a listing: a replayed old one cannot be told from a new one
            return None, f"{_REFUSED}a listing carries no collection time, so an older one replayed cannot be told from it: collect with drift collect --sign"
        if collected > self.now + _CLOCK_SKEW:
            return None, f"{_REFUSED}collected at {inventory.collected_at}, in the future"
        newest = self.newest_signed.get(tenant.id)
        if newest is not None and collected < newest:
            return None, (f"{_REFUSED}collected at {inventory.collected_at}, before the signed inventory of "
                          f"{newest.strftime('%Y-%m-%dT%H:%M:%SZ')} this database already judged (an older inventory replayed?)")
        return checked.key, f"signed by {checked.key}"


_CLOCK_SKEW = dt.timedelta(days=1)
"""How far in the future a collection time may lie (clocks of tenants' servers drift)."""


def collection_time(value: str | None) -> dt.datetime | None:
    """An inventory's `collected_at` as an aware UTC time (None for a listing without one)."""
    if not value:
        return None
    try:
        return dt.datetime.fromisoformat(value).astimezone(dt.UTC)
    except ValueError:
        return None


_REFUSED = "signature refused: "


def iter_scan(
    catalog: Catalog,
    tenants: Iterable[Tenant],
    inventory_dir: Path,
    fixes: Sequence[Fix] | None = None,
    progress: Callable[[Tenant], None] | None = None,
    jobs: int = 1,
    trust: Trust | None = None,
    newest_signed: Mapping[str, dt.datetime] | None = None,
) -> Iterator[TenantResult]:
    """Judge each tenant, in id order, reading its inventory from `inventory_dir`; one result at a time.

    With `jobs` above 1 (and a fleet large enough to be worth it), tenants are judged in that many worker
    processes; the results are the same, in the same order. An inventory that does not verify raises
    `InventoryError`; a tenant with no inventory is judged `unverifiable` (a scan fails closed).
    """
    judge = TenantJudge(catalog, inventory_dir, fixes, trust, newest_signed=newest_signed)
    ordered = sorted(tenants, key=lambda t: t.id)
    if jobs > 1 and len(ordered) >= _MIN_PER_WORKER * jobs and can_fork():
        results = judge_in_workers(judge, ordered, jobs)
    else:
        results = map(judge, ordered)
    # Judging creates no reference cycles, only millions of short-lived objects, for which the cyclic
    # collector would run over and over (a fifth of the time of a fleet scan).
    collecting = gc.isenabled()
    gc.disable()
    try:
        for result in results:
            if progress is not None:
                progress(result.tenant)
            yield result
    finally:
        if collecting:
            gc.enable()


_MIN_PER_WORKER = 8
"""Below this many tenants per worker, starting workers costs more than it saves."""


def run_scan(
    catalog: Catalog,
    tenants: Sequence[Tenant],
    inventory_dir: Path,
    *,
    tenant_ids: Collection[str] = (),
    fix_ids: Collection[str] = (),
    now: dt.datetime | None = None,
    jobs: int = 1,
    trust: Trust | None = None,
) -> Scan:
    """A whole scan held in memory, not stored (`scan_into` stores one as it goes)."""
    chosen_tenants, chosen_fixes = select(catalog, tenants, tenant_ids, fix_ids)
    results = tuple(iter_scan(catalog, chosen_tenants, inventory_dir, chosen_fixes, jobs=jobs, trust=trust))
    narrowed = [f.id for f in chosen_fixes] if fix_ids else None
    return Scan(
        id=scan_id(catalog.digest, [(r.tenant, r.inventory_digest, r.signature) for r in results], narrowed),
        catalog_digest=catalog.digest,
        created_at=timestamp(now),
        tenants=results,
    )


def scan_into(
    store: Store,
    catalog: Catalog,
    tenants: Sequence[Tenant],
    inventory_dir: Path,
    fixes: Sequence[Fix],
    *,
    narrowed: bool = False,
    some_tenants: bool = False,
    keep: Callable[[Finding], bool] | None = None,
    jobs: int = 1,
    progress: Callable[[Tenant], None] | None = None,
    now: dt.datetime | None = None,
    trust: Trust | None = None,
) -> Scan:
    """Scan the tenants, storing the scan in `store` as it goes (one transaction), and return it.

    The returned scan holds every finding, or with `keep` only those it accepts (a terminal table needs only
    the blocking ones); counts always cover every finding. Same inputs as a stored scan: nothing is added,
    and the stored scan's time is returned. `narrowed` (to `fixes`) and `some_tenants` (the tenants were
    chosen, not the whole registry) record the run as narrowed: `latest` never means it.
    """
    kept: list[TenantResult] = []
    keeper = _Keeper(keep) if keep is not None else None

    def keeping(results: Iterable[TenantResult]) -> Iterator[TenantResult]:
        for result in results:
            kept.append(result if keeper is None else keeper(result))
            yield result

    newest = store.newest_signed_collections() if trust is not None else None
    results = iter_scan(catalog, tenants, inventory_dir, fixes, progress=progress, jobs=jobs, trust=trust, newest_signed=newest)
    titles = {f.id: f.title for f in fixes}
    saved = store.save_scan(catalog.digest, timestamp(now), keeping(results), [f.id for f in fixes] if narrowed else None,
                            whole=not (narrowed or some_tenants), titles=titles)
    return Scan(id=saved.id, catalog_digest=catalog.digest, created_at=saved.created_at, tenants=tuple(kept), titles=titles)


def vouch_for_catalog(store: Store, catalog_dir: Path, catalog: Catalog, trust: Trust | None, now: dt.datetime | None = None) -> VouchedCatalog | None:
    """Check the catalog's signature before a scan judges with it (see `drift.trust.catalogs.vouched`) and
    record its version in the database, so that an older version is refused from then on (raises
    `TrustError`, exit 2)."""
    moment = now or dt.datetime.now(dt.UTC)
    newest = store.newest_catalog_version(catalog.product)
    vouched_for = vouched(catalog_dir, catalog, trust, today=moment.astimezone(dt.UTC).date(), newest_seen=newest)
    if vouched_for is None and newest is not None:
        # Signed catalogs were judged here: an unsigned one (or one nothing can check) would be a way around rollback.
        why = "it has no signature" if trust is not None else "there is no trust file to check its signature"
        raise TrustError(f"this database judged signed catalogs of {catalog.product} (up to version {newest}), and {why}", source=catalog_dir)
    if vouched_for is not None:
        store.record_catalog_version(catalog.product, vouched_for.version, catalog.digest, vouched_for.key, timestamp(moment), source=str(catalog_dir))
    return vouched_for


class _Keeper:
    """A result with only the findings `keep` accepts; its runs stay shared, each filtered once."""

    def __init__(self, keep: Callable[[Finding], bool]) -> None:
        self._flags = PerFinding(keep)
        self._kept = PerRun(lambda run: tuple(compress(run, self._flags.values(run))))

    def __call__(self, result: TenantResult) -> TenantResult:
        if not result.runs:
            return replace(result, findings=tuple(compress(result.findings, self._flags.values(result.findings))))
        runs = tuple(map(self._kept, result.runs))
        return replace(result, findings=tuple(chain.from_iterable(runs)), runs=runs)


def timestamp(now: dt.datetime | None = None) -> str:
    """An ISO 8601 UTC time to the second, e.g. `2023-06-14T01:30:00Z`."""
    moment = now or dt.datetime.now(dt.UTC)
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _without_inventory(
    tenant: Tenant, fixes: Sequence[Fix], inventory: Inventory | None = None, why: str = "no inventory for this tenant", signature: str = ""
) -> TenantResult:
    """Every applicable fix `unverifiable` for `why`: the tenant has no inventory, or none drift may believe."""
    findings = tuple(
        Finding(fix.id, NOT_APPLICABLE, fix.severity, None, (), reason=exclusion)
        if (exclusion := exclusion_reason(fix, tenant))
        else Finding(fix.id, UNVERIFIABLE, fix.severity, None, (), reason=why)
        for fix in fixes
    )
    if inventory is None:
        return TenantResult(tenant, NO_INVENTORY, None, findings, FileDrift(), count_statuses(findings))
    return TenantResult(tenant, inventory.digest, inventory.collected_at, findings, FileDrift(), count_statuses(findings), signature=signature)
