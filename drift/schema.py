"""The results database's schema and its migrations, versioned by `PRAGMA user_version`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import sqlite_utils

from drift.errors import InputError

PENDING = "pending:"
"""Prefix of a scan id while its scan is being written (never visible outside its transaction)."""

_FINDINGS_VIEW = """
CREATE VIEW IF NOT EXISTS findings AS
SELECT t.scan AS scan, t.tenant AS tenant, v.fix AS fix, v.status AS status, v.severity AS severity,
       v.variant AS variant, v.reason AS reason, v.evidence AS evidence
FROM tenants t, json_each(t.verdicts) j JOIN verdicts v ON v.key = j.value
"""


# Migrations: MIGRATIONS[v] brings schema v to v + 1, inside the migrating transaction.


def _tables(db: sqlite_utils.Database) -> dict[str, str]:
    """Name → type of every table and view, SQLite's own aside."""
    return {
        name: kind
        for name, kind in db.conn.execute("SELECT name, type FROM sqlite_master WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite_%'")
    }


def _schema_1(db: sqlite_utils.Database, path: Path) -> None:
    """Schema 0 is a database drift never wrote (a new or empty file): create schema 1."""
    foreign = sorted(_tables(db))
    if foreign:
        raise InputError(f"not a drift database (schema 0 holding {', '.join(foreign)}): drift will not write into it", source=path, where="--db")
    db.table("scans").create(
        {"key": int, "id": str, "created_at": str, "catalog_digest": str, "fixes": str, "tenant_count": int},
        pk="key",
        not_null={"id", "created_at", "catalog_digest"},
    )
    db.table("scans").create_index(["id"], unique=True)
    db.table("verdicts").create(
        {"key": int, "digest": str, "fix": str, "status": str, "severity": str, "variant": str, "reason": str, "evidence": str},
        pk="key",
        not_null={"digest", "fix", "status", "severity", "evidence"},
    )
    db.table("verdicts").create_index(["digest"], unique=True)
    db.table("verdicts").create_index(["fix", "status"])
    db.table("tenants").create(
        {
            "scan": int, "tenant": str, "name": str, "prefecture": str, "edition": str, "line": str,
            "modules": str, "inventory_digest": str, "collected_at": str, "counts": str,
            "uncatalogued": str, "modified": str, "releases": str, "verdicts": str,
        },
        pk=("scan", "tenant"),
        foreign_keys=[("scan", "scans", "key")],
        not_null={"verdicts"},
    )
    db.conn.execute(_FINDINGS_VIEW)


def _schema_2(db: sqlite_utils.Database, path: Path) -> None:
    """Schema 2 adds `runs`: every stored scan of schema 1 gets one run, at the time it was stored."""
    tables = _tables(db)
    if tables.get("verdicts") != "table" or tables.get("findings") != "view":
        # Development builds of drift 0.1.0 stamped schema 1 on other layouts (a `findings` table).
        raise InputError(
            "a results database of a development build of drift, whose layout cannot be migrated: scan again into a new --db",
            source=path, where="--db",
        )
    db.table("runs").create({"key": int, "scan": int, "ran_at": str}, pk="key", foreign_keys=[("scan", "scans", "key")], not_null={"scan", "ran_at"})
    db.table("runs").create_index(["scan"])
    db.conn.execute(
        "INSERT INTO runs (scan, ran_at) SELECT key, created_at FROM scans WHERE substr(id, 1, ?) != ? ORDER BY created_at, key",
        (len(PENDING), PENDING),
    )


def _schema_3(db: sqlite_utils.Database, path: Path) -> None:
    """Schema 3 adds to `tenants` its stale copies (SPEC 5) and what became of its inventory's signature (SPEC
    10); to `runs` whether the run covered the whole registry and catalog (SPEC 6: `latest` means such a run);
    and `catalogs`: every signed catalog version a scan judged with (a rollback to an older one is refused)."""
    for column in ("stale_copies", "signed_by", "signature"):
        db.conn.execute(f"ALTER TABLE tenants ADD COLUMN {column} TEXT")
    # What each run covered: 1 for the whole registry and catalog. Runs stored before are taken as whole
    # unless narrowed to some fixes (the only narrowing they recorded).
    db.conn.execute("ALTER TABLE runs ADD COLUMN whole INTEGER NOT NULL DEFAULT 1")
    db.conn.execute("ALTER TABLE scans ADD COLUMN titles TEXT")
    db.conn.execute("UPDATE runs SET whole = (SELECT s.fixes IS NULL FROM scans s WHERE s.key = runs.scan)")
    db.table("catalogs").create(
        {"product": str, "version": int, "digest": str, "signed_by": str, "first_judged": str},
        pk=("product", "version"),
        not_null={"digest"},
    )


MIGRATIONS: tuple[Callable[[sqlite_utils.Database, Path], None], ...] = (_schema_1, _schema_2, _schema_3)
"""`MIGRATIONS[v]` brings a database at schema v to v + 1."""
SCHEMA_VERSION = len(MIGRATIONS)
"""The schema this drift writes (`PRAGMA user_version`)."""
