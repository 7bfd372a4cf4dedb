"""The results database (SPEC 6, 9): every scan kept, content-addressed, written in one transaction.

Tables: `scans` (one row per scan), `tenants` (per scan and tenant: registry record, inventory digest,
counts, file-level drift), `findings` (per scan, tenant and fix) and `evidence` (each distinct evidence
list once, as the scan document's JSON; findings point at it, since most tenants share most evidence).

SQLite through sqlite-utils for the schema; the bulk inserts of a fleet scan go through the connection's
`executemany`, which is several times faster than building a dict per row.
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
from drift.results import Evidence, FileDrift, Finding, Scan, TenantResult
from drift.scan import scan_id
from drift.tenants import Tenant

SCHEMA_VERSION = 1
PENDING = "pending:"
"""Prefix of a scan id while its scan is being written (never visible outside its transaction)."""


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
        same inputs never add duplicate rows, and a scan killed midway leaves nothing behind.
        """
        judged: list[tuple[Tenant, str]] = []
        conn = self.db.conn
        new = True
        evidence_keys: dict[tuple[Evidence, ...], int] = {}
        with self._transaction():
            cursor = conn.execute(
                "INSERT INTO scans (id, created_at, catalog_digest, fixes, tenant_count) VALUES (?, ?, ?, ?, 0)",
                (f"{PENDING}{created_at}", created_at, catalog_digest, None if fixes is None else json.dumps(sorted(fixes))),
            )
            key = cursor.lastrowid
            for result in results:
                conn.execute(
                    "INSERT INTO tenants VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    _tenant_row(key, result),
                )
                conn.executemany(
                    "INSERT INTO findings VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    [
                        (key, result.tenant.id, f.fix, f.status, f.severity, f.variant, f.reason,
                         evidence_keys.get(f.evidence) or self._evidence_key(f.evidence, evidence_keys))
                        for f in result.findings
                    ],
                )
                judged.append((result.tenant, result.inventory_digest))
            final = scan_id(catalog_digest, judged, fixes)
            existing = conn.execute("SELECT created_at FROM scans WHERE id = ?", (final,)).fetchone()
            if existing:
                created_at, new = existing[0], False
                raise _Duplicate(final)
            conn.execute("UPDATE scans SET id = ?, tenant_count = ? WHERE key = ?", (final, len(judged), key))
        return SavedScan(final, created_at, new)

    def _evidence_key(self, evidence: tuple[Evidence, ...], cache: dict[tuple[Evidence, ...], int]) -> int:
        """The row of this evidence in the `evidence` table, added if new: tenants share most evidence."""
        text = evidence_json(evidence)
        digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
        conn = self.db.conn
        row = conn.execute("SELECT key FROM evidence WHERE digest = ?", (digest,)).fetchone()
        key = int(row[0]) if row else int(conn.execute("INSERT INTO evidence (digest, json) VALUES (?, ?)", (digest, text)).lastrowid or 0)
        cache[evidence] = key
        return key

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
        scan_id = self.resolve(ref)
        conn = self.db.conn
        key, created_at, catalog_digest = conn.execute(
            "SELECT key, created_at, catalog_digest FROM scans WHERE id = ?", (scan_id,)
        ).fetchone()
        findings: dict[str, list[Finding]] = {}
        evidence: dict[int, tuple[Evidence, ...]] = {}
        for tenant, fix, status, severity, variant, reason, evidence_key in self._finding_rows(key, statuses):
            shared = evidence.get(evidence_key)
            if shared is None:
                shared = evidence[evidence_key] = self._evidence(evidence_key)
            findings.setdefault(tenant, []).append(Finding(fix, status, severity, variant, shared, reason or ""))
        tenants = tuple(
            _tenant_result(row, tuple(findings.get(row[0], ())))
            for row in conn.execute(
                "SELECT tenant, name, prefecture, edition, line, modules, inventory_digest, collected_at, counts,"
                " uncatalogued, modified, releases FROM tenants WHERE scan = ? ORDER BY tenant",
                (key,),
            )
        )
        return Scan(id=scan_id, catalog_digest=catalog_digest, created_at=created_at, tenants=tenants)

    def scans(self) -> list[dict[str, Any]]:
        """Every stored scan, oldest first: id, created_at, catalog_digest, tenant_count."""
        return [
            dict(row)
            for row in self.db.query("SELECT id, created_at, catalog_digest, tenant_count FROM scans ORDER BY created_at, key")
        ]

    def _finding_rows(self, key: int, statuses: Collection[str] | None) -> Iterator[tuple[Any, ...]]:
        sql = "SELECT tenant, fix, status, severity, variant, reason, evidence FROM findings WHERE scan = ?"
        params: list[Any] = [key]
        if statuses is not None:
            sql += f" AND status IN ({', '.join('?' for _ in statuses)})"
            params.extend(statuses)
        return self.db.conn.execute(sql + " ORDER BY tenant, fix", params)

    def _evidence(self, key: int) -> tuple[Evidence, ...]:
        (text,) = self.db.conn.execute("SELECT json FROM evidence WHERE key = ?", (key,)).fetchone()
        return tuple(Evidence(e["path"], e["state"], e["found"], tuple(e["expected"])) for e in json.loads(text))

    # Schema

    def _migrate(self) -> None:
        version = self.db.conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise InputError(f"database schema {version} is newer than this drift knows ({SCHEMA_VERSION}); upgrade drift", source=self.path)
        if version == SCHEMA_VERSION:
            return
        with self._transaction():
            self.db["scans"].create(
                {"key": int, "id": str, "created_at": str, "catalog_digest": str, "fixes": str, "tenant_count": int},
                pk="key",
                not_null={"id", "created_at", "catalog_digest"},
                if_not_exists=True,
            )
            self.db["scans"].create_index(["id"], unique=True, if_not_exists=True)
            self.db["tenants"].create(
                {
                    "scan": int, "tenant": str, "name": str, "prefecture": str, "edition": str, "line": str,
                    "modules": str, "inventory_digest": str, "collected_at": str, "counts": str,
                    "uncatalogued": str, "modified": str, "releases": str,
                },
                pk=("scan", "tenant"),
                foreign_keys=[("scan", "scans", "key")],
                if_not_exists=True,
            )
            self.db["evidence"].create({"key": int, "digest": str, "json": str}, pk="key", not_null={"digest", "json"}, if_not_exists=True)
            self.db["evidence"].create_index(["digest"], unique=True, if_not_exists=True)
            # One B-tree, no rowid: a fleet scan writes millions of findings in (tenant, fix) order.
            self.db.conn.execute(
                "CREATE TABLE IF NOT EXISTS findings (scan INTEGER NOT NULL REFERENCES scans(key), tenant TEXT NOT NULL,"
                " fix TEXT NOT NULL, status TEXT NOT NULL, severity TEXT NOT NULL, variant TEXT, reason TEXT,"
                " evidence INTEGER NOT NULL REFERENCES evidence(key), PRIMARY KEY (scan, tenant, fix)) WITHOUT ROWID"
            )
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
