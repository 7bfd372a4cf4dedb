"""The results database (SPEC 6, 9): every scan kept, content-addressed, written in one transaction.

Tables:
- `scans`: one row per scan (content-addressed id, time, catalog digest, how it was narrowed);
- `tenants`: per scan and tenant, the registry record, inventory digest, counts per status, file-level
  drift, and `verdicts`: the tenant's findings as a JSON array of `verdicts` keys, in fix order;
- `verdicts`: each distinct finding once (fix, status, severity, variant, reason, evidence as the scan
  document's JSON). Across a fleet most tenants share most findings, so a scan of 1,741 tenants × 1,500
  fixes writes 1,741 tenant rows and the few verdicts not seen before, not 2.6 million rows.
- the view `findings` (scan, tenant, fix, status, severity, variant, reason, evidence) joins them back,
  one row per tenant and fix, for anyone querying the database with SQL;
- `runs` (schema 2): one row each time a scan was run, `ran_at`, pointing at its scan. Re-running the
  same inputs stores no second scan, but it is a run: a fleet that goes A → B → A has runs A, B, A, and
  `latest` is A again. Scan references (`latest`, `latest~1`, an id or its prefix) walk the runs.

Robustness (SPEC 9):
- WAL, and one `BEGIN IMMEDIATE` transaction per scan: readers never wait for a scan and never see half
  of one; a second writer waits up to the busy timeout (`DEFAULT_TIMEOUT`, or seconds in the environment
  variable `DRIFT_DB_TIMEOUT`), then fails with `OperationalError` (exit 3). A scan holds the write lock
  while it judges (it streams its rows in), so the timeout must outlast the longest scan.
- The schema is versioned by `PRAGMA user_version`. `MIGRATIONS[v]` brings schema v to v + 1; every step
  needed runs in one transaction, so a database is at its old version or at the current one, never
  between. A database newer than this drift, or one that is not a drift database, is refused (exit 2).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import sqlite3
from collections.abc import Collection, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, NamedTuple

from drift.database import Database
from drift.errors import InputError, TrustError
from drift.results import Finding, PerFinding, Scan, TenantResult, evidence_of
from drift.scanid import scan_id
from drift.schema import PENDING
from drift.storerows import evidence_json, tenant_result, tenant_row
from drift.tenants import Tenant


@dataclass(frozen=True, slots=True)
class SavedScan:
    """What storing a scan did."""

    id: str
    """The scan's content-addressed id."""
    created_at: str
    """When the scan was first stored."""
    new: bool
    """False when the same scan was stored already (no scan rows were added; the run was recorded)."""


@dataclass(frozen=True, slots=True)
class Run:
    """One time a scan was run (`drift scan` that completed), with the scan it stored or found stored."""

    key: int
    """The run's row."""
    ran_at: str
    """When it ran (ISO 8601, UTC)."""
    scan_key: int
    """The scan's row."""
    scan: str
    """The scan's content-addressed id."""
    created_at: str
    """When the scan was first stored (its first run)."""
    tenant_count: int
    """Tenants the scan judged."""
    fixes: tuple[str, ...] | None
    """The fixes a narrowed scan (`--fix`) judged; None when it judged the whole catalog."""
    catalog_digest: str
    """The catalog judged against."""
    new: bool
    """True for the scan's first run, False when the same inputs had been scanned before."""
    whole: bool = True
    """True when the run covered every tenant of the registry and every fix of the catalog; a narrowed run
    (a gate on one tenant, a scan of some fixes) is used only where it is named."""

    @property
    def scope(self) -> str:
        """`all`, or what the run was narrowed to, in a few words."""
        if self.whole:
            return "all"
        parts = [f"{self.tenant_count} tenant{'s' * (self.tenant_count != 1)}"]
        if self.fixes is not None:
            parts.append(f"{len(self.fixes)} fix{'es' * (len(self.fixes) != 1)}")
        return ", ".join(parts)


class TenantVerdicts(NamedTuple):
    """A tenant of a stored scan, with its findings as the keys of `verdicts` rows (see `verdict_meta`)."""

    tenant: str
    name: str
    verdicts: str
    """The JSON array of verdict keys, in fix order: equal texts mean equal findings."""


class VerdictMeta(NamedTuple):
    """A stored finding without its evidence."""

    fix: str
    status: str
    severity: str


_RETURNING = sqlite3.sqlite_version_info >= (3, 35)
"""SQLite can return the key of a row just inserted (INSERT ... RETURNING)."""


class Store(Database):
    """A drift results database: its scans, runs and trust bookkeeping (the connection, schema and
    transactions are `drift.database.Database`'s)."""

    # Writing

    def newest_catalog_version(self, product: str) -> int | None:
        """The highest signed catalog version of `product` a scan has judged with here, if any."""
        row = self.db.conn.execute("SELECT max(version) FROM catalogs WHERE product = ?", (product,)).fetchone()
        return None if row is None or row[0] is None else int(row[0])

    def newest_signed_collections(self) -> dict[str, dt.datetime]:
        """Per tenant, the latest collection time of a signed inventory any stored scan judged."""
        newest: dict[str, dt.datetime] = {}
        for tenant, collected_at in self.db.conn.execute("SELECT DISTINCT tenant, collected_at FROM tenants WHERE signed_by IS NOT NULL"):
            try:
                when = dt.datetime.fromisoformat(collected_at).astimezone(dt.UTC)
            except (TypeError, ValueError):
                continue
            if tenant not in newest or when > newest[tenant]:
                newest[tenant] = when
        return newest

    def record_catalog_version(self, product: str, version: int, digest: str, signed_by: str, when: str, *, source: str) -> None:
        """Remember that a scan judged with this signed catalog version; one version is one catalog, so the
        same version with another digest is refused (`TrustError`)."""
        with self._transaction():
            row = self.db.conn.execute("SELECT digest FROM catalogs WHERE product = ? AND version = ?", (product, version)).fetchone()
            if row is None:
                self.db.conn.execute(
                    "INSERT INTO catalogs (product, version, digest, signed_by, first_judged) VALUES (?, ?, ?, ?, ?)",
                    (product, version, digest, signed_by, when),
                )
            elif row[0] != digest:
                raise TrustError(
                    f"catalog version {version} was judged with before as another catalog ({row[0][:19]}...): a signed version "
                    "must not change", source=source,
                )

    def save_scan(
        self,
        catalog_digest: str,
        created_at: str,
        results: Iterable[TenantResult],
        fixes: Collection[str] | None = None,
        *,
        whole: bool | None = None,
        titles: Mapping[str, str] | None = None,
    ) -> SavedScan:
        """Write a scan from a stream of tenant results in one transaction, and record the run (`whole`: it
        covered the whole registry and catalog; by default, when it was not narrowed to some `fixes`).

        The id is content-addressed and known only once every result is in: the rows are written under a
        pending id, and rolled back (to a savepoint) if a scan with the final id already exists, so the
        same inputs never add scan rows; the run is recorded either way (`created_at` is its time). A
        scan that fails midway leaves nothing behind, not even its run.
        """
        judged: list[tuple[Tenant, str, str]] = []
        conn = self.db.conn
        new = True
        ran_at = created_at
        whole = fixes is None if whole is None else whole
        verdict_keys = PerFinding(lambda finding: str(self._verdict_key(finding)))
        with self._transaction():
            conn.execute("SAVEPOINT pending_scan")
            cursor = conn.execute(
                "INSERT INTO scans (id, created_at, catalog_digest, fixes, tenant_count, titles) VALUES (?, ?, ?, ?, 0, ?)",
                (f"{PENDING}{created_at}", created_at, catalog_digest, None if fixes is None else json.dumps(sorted(fixes)),
                 None if titles is None else json.dumps(dict(sorted(titles.items())), ensure_ascii=False)),
            )
            scan_key = cursor.lastrowid
            for result in results:
                verdicts = verdict_keys.of(result)
                conn.execute(
                    "INSERT INTO tenants (scan, tenant, name, prefecture, edition, line, modules, inventory_digest, collected_at, counts,"
                    " uncatalogued, modified, releases, stale_copies, signed_by, signature, verdicts)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (*tenant_row(scan_key, result), "[" + ",".join(verdicts) + "]"),
                )
                judged.append((result.tenant, result.inventory_digest, result.signature))
            final = scan_id(catalog_digest, judged, fixes)
            existing = conn.execute("SELECT key, created_at FROM scans WHERE id = ?", (final,)).fetchone()
            if existing:
                conn.execute("ROLLBACK TO pending_scan")
                scan_key, created_at, new = existing[0], existing[1], False
            else:
                conn.execute("UPDATE scans SET id = ?, tenant_count = ? WHERE key = ?", (final, len(judged), scan_key))
            conn.execute("RELEASE pending_scan")
            conn.execute("INSERT INTO runs (scan, ran_at, whole) VALUES (?, ?, ?)", (scan_key, ran_at, int(whole)))
        return SavedScan(final, created_at, new)

    def _verdict_key(self, finding: Finding) -> int:
        """The row of this finding (tenant aside) in `verdicts`, added if new."""
        fields = (finding.fix, finding.status, finding.severity, finding.variant, finding.reason, evidence_json(finding.evidence))
        digest = hashlib.sha256(json.dumps(fields, ensure_ascii=False).encode("utf-8")).hexdigest()
        conn = self.db.conn
        if _RETURNING:  # one statement for a new row
            row = conn.execute(
                "INSERT INTO verdicts (digest, fix, status, severity, variant, reason, evidence) VALUES (?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (digest) DO NOTHING RETURNING key",
                (digest, *fields),
            ).fetchone()
            if row is not None:
                return int(row[0])
        row = conn.execute("SELECT key FROM verdicts WHERE digest = ?", (digest,)).fetchone()
        if row is not None:
            return int(row[0])
        cursor = conn.execute(
            "INSERT INTO verdicts (digest, fix, status, severity, variant, reason, evidence) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (digest, *fields),
        )
        return int(cursor.lastrowid or 0)

    # Reading

    @contextmanager
    def reading(self) -> Iterator[None]:
        """One consistent snapshot for several reads (a scan committed meanwhile stays out of it)."""
        conn = self.db.conn
        if conn.in_transaction:
            yield
            return
        with self._guard():
            conn.execute("BEGIN")
        try:
            with self._guard():
                yield
        finally:
            if conn.in_transaction:
                conn.execute("ROLLBACK")

    def resolve(self, ref: str = "latest", *, where: str = "--scan") -> str:
        """The full id of a scan named by a reference (see `resolve_run`)."""
        return self.resolve_run(ref, where=where).scan

    def resolve_run(self, ref: str = "latest", *, where: str = "--scan") -> Run:
        """The run a reference names:

        - `latest`: the latest run over the whole registry and catalog (SPEC 6: a narrowed run, such as a
          gate on one tenant, is used only when it is named);
        - a scan id, or a unique prefix of it (with or without `sha256:`): that scan's latest run, whatever
          it covered;
        - `REF~N` (`~` alone is `~1`): the Nth whole run before REF's, so `latest~1` is the whole run before
          the latest.
        """
        match = _REF.fullmatch(ref.strip())
        if match is None:
            raise InputError(f"{ref!r} is not a scan reference (an id, a prefix of one, latest, or one of them~N)", where=where)
        base, steps = match["base"], match["steps"]
        back = 0 if steps is None else int(steps or "1")
        with self.reading():
            scan = None if base == "latest" else self._scan_by_prefix(base, ref, where)
            runs = self.runs()
            if not runs:
                raise InputError("no scan stored yet: run `drift scan` first", source=self.path)
            whole = [i for i, run in enumerate(runs) if run.whole]
            if scan is None:
                if not whole:
                    raise InputError("no scan of the whole registry and catalog stored yet: run `drift scan` without --tenant and --fix, "
                                     "or name a scan", source=self.path, where=where)
                position = whole[-1]
            else:
                position = max(i for i, run in enumerate(runs) if run.scan == scan)
        if back == 0:
            return runs[position]
        earlier = [i for i in whole if i < position]
        if back > len(earlier):
            raise InputError(f"{ref!r}: only {len(earlier)} whole run{'s' * (len(earlier) != 1)} before {base!r}", source=self.path, where=where)
        return runs[earlier[-back]]

    def _scan_by_prefix(self, base: str, ref: str, where: str) -> str:
        prefix = base if base.startswith("sha256:") else f"sha256:{base}"
        rows = self.db.conn.execute(
            "SELECT id FROM scans WHERE substr(id, 1, ?) = ? AND substr(id, 1, ?) != ? LIMIT 2",
            (len(prefix), prefix, len(PENDING), PENDING),
        ).fetchall()
        if len(rows) != 1:
            raise InputError(f"no scan {ref!r}" if not rows else f"{ref!r} names more than one scan: give more of the id", source=self.path, where=where)
        return str(rows[0][0])

    def runs(self) -> list[Run]:
        """Every run, oldest first (by time, then by the order they were stored)."""
        rows = self._query(
            "SELECT r.key, r.ran_at, s.key, s.id, s.created_at, s.tenant_count, s.fixes, s.catalog_digest,"
            " r.key = (SELECT min(f.key) FROM runs f WHERE f.scan = s.key), r.whole"
            " FROM runs r JOIN scans s ON s.key = r.scan ORDER BY r.ran_at, r.key"
        )
        return [
            Run(key, ran_at, scan_key, scan, created_at, count or 0, None if fixes is None else tuple(json.loads(fixes)), digest, bool(first),
                bool(whole))
            for key, ran_at, scan_key, scan, created_at, count, fixes, digest, first, whole in rows
        ]

    def tenant_verdicts(self, scan_key: int, tenants: Collection[str] | None = None) -> list[TenantVerdicts]:
        """The tenants of a stored scan (all, or those named), sorted by id, with their verdict keys."""
        sql = "SELECT tenant, name, verdicts FROM tenants WHERE scan = ?"
        params: list[Any] = [scan_key]
        if tenants is not None:
            sql += f" AND tenant IN ({','.join('?' * len(tenants))})"
            params.extend(tenants)
        return [TenantVerdicts(t, n or "", v) for t, n, v in self._query(sql + " ORDER BY tenant", params)]

    def verdict_meta(self, keys: Collection[int]) -> dict[int, VerdictMeta]:
        """Fix, status and severity of stored findings, by key (evidence is not read)."""
        found: dict[int, VerdictMeta] = {}
        ordered = sorted({int(k) for k in keys})
        for i in range(0, len(ordered), 10_000):
            chunk = ",".join(map(str, ordered[i : i + 10_000]))
            for key, fix, status, severity in self._query(f"SELECT key, fix, status, severity FROM verdicts WHERE key IN ({chunk})"):
                found[key] = VerdictMeta(fix, status, severity)
        return found

    def load_scan(self, ref: str = "latest", *, statuses: Collection[str] | None = None) -> Scan:
        """A stored scan; with `statuses`, only findings of those statuses are loaded (counts stay whole)."""
        with self.reading():
            scan_key_id = self.resolve(ref)
            conn = self.db.conn
            scan_key, created_at, catalog_digest, titles = conn.execute(
                "SELECT key, created_at, catalog_digest, titles FROM scans WHERE id = ?", (scan_key_id,)
            ).fetchone()
            findings: dict[int, Finding] = {}
            tenants = []
            for row in conn.execute(
                "SELECT tenant, name, prefecture, edition, line, modules, inventory_digest, collected_at, counts,"
                " uncatalogued, modified, releases, stale_copies, signed_by, signature, verdicts FROM tenants WHERE scan = ? ORDER BY tenant",
                (scan_key,),
            ):
                keys = json.loads(row[-1])
                missing = set(keys) - findings.keys()
                if missing:
                    findings.update(self._findings(missing))
                chosen = tuple(findings[k] for k in keys)
                if statuses is not None:
                    chosen = tuple(f for f in chosen if f.status in statuses)
                tenants.append(tenant_result(row[:-1], chosen))
        return Scan(id=scan_key_id, catalog_digest=catalog_digest, created_at=created_at, tenants=tuple(tenants),
                    titles=json.loads(titles) if titles else {})

    def scans(self) -> list[dict[str, Any]]:
        """Every stored scan, oldest first: id, created_at, catalog_digest, tenant_count."""
        return [
            dict(zip(("id", "created_at", "catalog_digest", "tenant_count"), row, strict=True))
            for row in self._query("SELECT id, created_at, catalog_digest, tenant_count FROM scans ORDER BY created_at, key")
        ]

    def _findings(self, keys: Collection[int]) -> Iterator[tuple[int, Finding]]:
        conn = self.db.conn
        for key, fix, status, severity, variant, reason, evidence in conn.execute(
            f"SELECT key, fix, status, severity, variant, reason, evidence FROM verdicts WHERE key IN ({','.join(map(str, keys))})"
        ):
            yield key, Finding(
                fix, status, severity, variant,
                tuple(map(evidence_of, json.loads(evidence))),
                reason or "",
            )

_REF = re.compile(r"(?P<base>[^~\s]+)(?:~(?P<steps>\d*))?")
