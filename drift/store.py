"""The results database (SPEC 6, 9): every scan kept, content-addressed, written in one transaction.

Tables:
- `scans`: one row per scan (content-addressed id, time, catalog digest, how it was narrowed);
- `tenants`: per scan and tenant, the registry record, inventory digest, counts per status, file-level
  drift, and `verdicts`: the tenant's findings as a JSON array of `verdicts` keys, in fix order;
- `verdicts`: each distinct finding once (fix, status, severity, variant, reason, evidence as the scan
  document's JSON). Across a fleet most tenants share most findings, so a scan of 1,741 tenants × 1,500
  fixes writes 1,741 tenant rows and the few verdicts not seen before, not 2.6 million rows.
- the view `findings` (scan, tenant, fix, status, severity, variant, reason, evidence) joins them back,
  one row per tenant and fix, for anyone querying the database with SQL.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Collection, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlite_utils

from drift.errors import InputError, OperationalError
from drift.results import Evidence, FileDrift, Finding, PerFinding, Scan, TenantResult
from drift.scan import scan_id
from drift.tenants import Tenant

SCHEMA_VERSION = 1
PENDING = "pending:"
"""Prefix of a scan id while its scan is being written (never visible outside its transaction)."""

_FINDINGS_VIEW = """
CREATE VIEW IF NOT EXISTS findings AS
SELECT t.scan AS scan, t.tenant AS tenant, v.fix AS fix, v.status AS status, v.severity AS severity,
       v.variant AS variant, v.reason AS reason, v.evidence AS evidence
FROM tenants t, json_each(t.verdicts) j JOIN verdicts v ON v.key = j.value
"""


@dataclass(frozen=True, slots=True)
class SavedScan:
    """What storing a scan did."""

    id: str
    """The scan's content-addressed id."""
    created_at: str
    """When the scan was first stored."""
    new: bool
    """False when the same scan was stored already (nothing was added)."""


class Store:
    """A drift results database."""

    def __init__(self, path: str | Path, *, timeout: float = 60.0) -> None:
        self.path = Path(path)
        if not self.path.parent.is_dir():
            raise InputError(f"folder {self.path.parent} does not exist", source=self.path, where="--db")
        try:
            conn = sqlite3.connect(self.path, timeout=timeout, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            self.db = sqlite_utils.Database(conn)
            self._migrate()
        except sqlite3.DatabaseError as exc:
            raise _operational(exc, self.path) from exc

    def close(self) -> None:
        """Close the connection."""
        self.db.conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # Writing

    def save_scan(
        self,
        catalog_digest: str,
        created_at: str,
        results: Iterable[TenantResult],
        fixes: Collection[str] | None = None,
    ) -> SavedScan:
        """Write a scan from a stream of tenant results in one transaction.

        The id is content-addressed and known only once every result is in: the rows are written under a
        pending id, and the transaction is rolled back if a scan with the final id already exists, so the
        same inputs never add rows, and a scan that fails midway leaves nothing behind.
        """
        judged: list[tuple[Tenant, str]] = []
        conn = self.db.conn
        new = True
        verdict_keys = PerFinding(lambda finding: str(self._verdict_key(finding)))
        with self._transaction():
            cursor = conn.execute(
                "INSERT INTO scans (id, created_at, catalog_digest, fixes, tenant_count) VALUES (?, ?, ?, ?, 0)",
                (f"{PENDING}{created_at}", created_at, catalog_digest, None if fixes is None else json.dumps(sorted(fixes))),
            )
            scan_key = cursor.lastrowid
            for result in results:
                verdicts = verdict_keys.values(result.findings)
                conn.execute(
                    "INSERT INTO tenants VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (*_tenant_row(scan_key, result), "[" + ",".join(verdicts) + "]"),
                )
                judged.append((result.tenant, result.inventory_digest))
            final = scan_id(catalog_digest, judged, fixes)
            existing = conn.execute("SELECT created_at FROM scans WHERE id = ?", (final,)).fetchone()
            if existing:
                created_at, new = existing[0], False
                raise _Duplicate(final)
            conn.execute("UPDATE scans SET id = ?, tenant_count = ? WHERE key = ?", (final, len(judged), scan_key))
        return SavedScan(final, created_at, new)

    def _verdict_key(self, finding: Finding) -> int:
        """The row of this finding (tenant aside) in `verdicts`, added if new."""
        fields = (finding.fix, finding.status, finding.severity, finding.variant, finding.reason, evidence_json(finding.evidence))
        digest = hashlib.sha256(json.dumps(fields, ensure_ascii=False).encode("utf-8")).hexdigest()
        conn = self.db.conn
        row = conn.execute("SELECT key FROM verdicts WHERE digest = ?", (digest,)).fetchone()
        if row is not None:
            return int(row[0])
        cursor = conn.execute(
            "INSERT INTO verdicts (digest, fix, status, severity, variant, reason, evidence) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (digest, *fields),
        )
        return int(cursor.lastrowid or 0)

    # Reading

    def resolve(self, ref: str = "latest") -> str:
        """The full id of a scan named by its id, a unique prefix of it (with or without `sha256:`), or `latest`."""
        conn = self.db.conn
        if ref == "latest":
            row = conn.execute("SELECT id FROM scans ORDER BY created_at DESC, key DESC LIMIT 1").fetchone()
            if row is None:
                raise InputError("no scan stored yet: run `drift scan` first", source=self.path)
            return str(row[0])
        prefix = ref if ref.startswith("sha256:") else f"sha256:{ref}"
        rows = conn.execute("SELECT id FROM scans WHERE substr(id, 1, ?) = ?", (len(prefix), prefix)).fetchall()
        if len(rows) != 1:
            raise InputError(f"no scan {ref!r}" if not rows else f"{ref!r} names {len(rows)} scans", source=self.path, where="--scan")
        return str(rows[0][0])

    def load_scan(self, ref: str = "latest", *, statuses: Collection[str] | None = None) -> Scan:
        """A stored scan; with `statuses`, only findings of those statuses are loaded (counts stay whole)."""
        scan_key_id = self.resolve(ref)
        conn = self.db.conn
        scan_key, created_at, catalog_digest = conn.execute(
            "SELECT key, created_at, catalog_digest FROM scans WHERE id = ?", (scan_key_id,)
        ).fetchone()
        findings: dict[int, Finding] = {}
        tenants = []
        for row in conn.execute(
            "SELECT tenant, name, prefecture, edition, line, modules, inventory_digest, collected_at, counts,"
            " uncatalogued, modified, releases, verdicts FROM tenants WHERE scan = ? ORDER BY tenant",
            (scan_key,),
        ):
            keys = json.loads(row[-1])
            missing = set(keys) - findings.keys()
            if missing:
                findings.update(self._findings(missing))
            chosen = tuple(findings[k] for k in keys)
            if statuses is not None:
                chosen = tuple(f for f in chosen if f.status in statuses)
            tenants.append(_tenant_result(row[:-1], chosen))
        return Scan(id=scan_key_id, catalog_digest=catalog_digest, created_at=created_at, tenants=tuple(tenants))

    def scans(self) -> list[dict[str, Any]]:
        """Every stored scan, oldest first: id, created_at, catalog_digest, tenant_count."""
        return [
            dict(row)
            for row in self.db.query("SELECT id, created_at, catalog_digest, tenant_count FROM scans ORDER BY created_at, key")
        ]

    def _findings(self, keys: Collection[int]) -> Iterator[tuple[int, Finding]]:
        conn = self.db.conn
        for key, fix, status, severity, variant, reason, evidence in conn.execute(
            f"SELECT key, fix, status, severity, variant, reason, evidence FROM verdicts WHERE key IN ({','.join(map(str, keys))})"
        ):
            yield key, Finding(
                fix, status, severity, variant,
                tuple(Evidence(e["path"], e["state"], e["found"], tuple(e["expected"])) for e in json.loads(evidence)),
                reason or "",
            )

    # Schema

    def _migrate(self) -> None:
        version = self.db.conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise InputError(f"database schema {version} is newer than this drift knows ({SCHEMA_VERSION}); upgrade drift", source=self.path)
        if version == SCHEMA_VERSION:
            return
        with self._transaction():
            self.db.table("scans").create(
                {"key": int, "id": str, "created_at": str, "catalog_digest": str, "fixes": str, "tenant_count": int},
                pk="key",
                not_null={"id", "created_at", "catalog_digest"},
                if_not_exists=True,
            )
            self.db.table("scans").create_index(["id"], unique=True, if_not_exists=True)
            self.db.table("verdicts").create(
                {"key": int, "digest": str, "fix": str, "status": str, "severity": str, "variant": str, "reason": str, "evidence": str},
                pk="key",
                not_null={"digest", "fix", "status", "severity", "evidence"},
                if_not_exists=True,
            )
            self.db.table("verdicts").create_index(["digest"], unique=True, if_not_exists=True)
            self.db.table("verdicts").create_index(["fix", "status"], if_not_exists=True)
            self.db.table("tenants").create(
                {
                    "scan": int, "tenant": str, "name": str, "prefecture": str, "edition": str, "line": str,
                    "modules": str, "inventory_digest": str, "collected_at": str, "counts": str,
                    "uncatalogued": str, "modified": str, "releases": str, "verdicts": str,
                },
                pk=("scan", "tenant"),
                foreign_keys=[("scan", "scans", "key")],
                not_null={"verdicts"},
                if_not_exists=True,
            )
            self.db.conn.execute(_FINDINGS_VIEW)
            self.db.conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        conn = self.db.conn
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise _operational(exc, self.path) from exc
        try:
            yield
        except _Duplicate:
            conn.execute("ROLLBACK")
            return
        except BaseException as exc:
            conn.execute("ROLLBACK")
            if isinstance(exc, sqlite3.DatabaseError):
                raise _operational(exc, self.path) from exc
            raise
        try:
            conn.execute("COMMIT")
        except sqlite3.DatabaseError as exc:
            raise _operational(exc, self.path) from exc


class _Duplicate(Exception):
    """The scan being written is already stored: roll back."""


def _operational(exc: sqlite3.DatabaseError, path: Path) -> OperationalError:
    message = str(exc)
    if "locked" in message or "busy" in message:
        message = f"database busy past its timeout ({message})"
    return OperationalError(message, source=path)


def _tenant_row(key: int | None, result: TenantResult) -> tuple[Any, ...]:
    t = result.tenant
    return (
        key, t.id, t.name, t.prefecture, t.edition, t.line, _json(sorted(t.modules)),
        result.inventory_digest, result.collected_at, _json(dict(result.counts)),
        _json(list(result.drift.uncatalogued)), _json(list(result.drift.modified)), _json(dict(result.drift.releases)),
    )


def evidence_json(evidence: tuple[Evidence, ...]) -> str:
    """Evidence as the JSON list the scan document uses."""
    return _json([{"path": e.path, "state": e.state, "found": e.found, "expected": list(e.expected)} for e in evidence])


def _tenant_result(row: tuple[Any, ...], findings: tuple[Finding, ...]) -> TenantResult:
    tid, name, prefecture, edition, line, modules, digest, collected_at, counts, uncatalogued, modified, releases = row
    return TenantResult(
        tenant=Tenant(tid, name or "", prefecture or "", edition, line, frozenset(json.loads(modules))),
        inventory_digest=digest,
        collected_at=collected_at,
        findings=findings,
        drift=FileDrift(tuple(json.loads(uncatalogued)), tuple(json.loads(modified)), json.loads(releases)),
        counts=json.loads(counts),
    )


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
