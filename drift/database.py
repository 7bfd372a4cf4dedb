"""The SQLite connection under the results database (`drift.store.Store`): WAL, a busy timeout, the
versioned schema and its migrations, one `BEGIN IMMEDIATE` transaction at a time, and SQLite's errors
turned into drift's (SPEC 8, 9). See `drift.store` for what is stored.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Self

import sqlite_utils

from drift.errors import InputError, OperationalError
from drift.schema import MIGRATIONS, SCHEMA_VERSION

DEFAULT_TIMEOUT = 120.0
"""Seconds a connection waits for another one's write lock before giving up (exit 3)."""
TIMEOUT_ENV = "DRIFT_DB_TIMEOUT"
"""Environment variable that sets the busy timeout, in seconds, for every command."""


class Database:
    """A connection to a drift database, its schema brought to `SCHEMA_VERSION`."""

    def __init__(self, path: str | Path, *, timeout: float | None = None, create: bool = True) -> None:
        """Open (with `create`, create) the database and bring its schema to `SCHEMA_VERSION`.

        `timeout`: seconds to wait for another writer; default `DRIFT_DB_TIMEOUT` from the environment, else
        `DEFAULT_TIMEOUT`. Without `create`, a missing file is an input error (a read-only command).
        """
        self.path = Path(path)
        self.timeout = busy_timeout() if timeout is None else timeout
        if not self.path.parent.is_dir():
            raise InputError(f"folder {self.path.parent} does not exist", source=self.path, where="--db")
        if not create and not self.path.is_file():
            raise InputError("no results database here: run `drift scan` first", source=self.path, where="--db")
        conn = None
        try:
            conn = sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None)
            self._use_wal(conn)
            conn.execute("PRAGMA synchronous=NORMAL")
            self.db = sqlite_utils.Database(conn)
            self._migrate()
        except sqlite3.DatabaseError as exc:
            if conn is not None:
                conn.close()
            raise self._error(exc) from exc
        except BaseException:
            if conn is not None:
                conn.close()
            raise

    def close(self) -> None:
        """Close the connection."""
        self.db.conn.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _query(self, sql: str, params: Iterable[Any] = ()) -> list[tuple[Any, ...]]:
        with self._guard():
            return self.db.conn.execute(sql, tuple(params)).fetchall()

    @contextmanager
    def _guard(self) -> Iterator[None]:
        """SQLite's errors as drift's (exit 3, or 2 for a file that is not a database)."""
        try:
            yield
        except sqlite3.DatabaseError as exc:
            raise self._error(exc) from exc

    # Schema

    def _use_wal(self, conn: sqlite3.Connection) -> None:
        """Switch to WAL. SQLite answers `locked` at once, without its busy handler, while another
        connection switches a new database at the same moment: retry until the timeout."""
        deadline = time.monotonic() + self.timeout
        delay = 0.005
        while True:
            try:
                conn.execute("PRAGMA journal_mode=WAL").fetchone()
                return
            except sqlite3.OperationalError as exc:
                if not _is_busy(exc) or time.monotonic() >= deadline:
                    raise
                time.sleep(delay)
                delay = min(delay * 2, 0.1)

    def _version(self) -> int:
        return int(self.db.conn.execute("PRAGMA user_version").fetchone()[0])

    def _migrate(self) -> None:
        version = self._version()
        if version > SCHEMA_VERSION:
            raise InputError(f"database schema {version} is newer than this drift knows ({SCHEMA_VERSION}); upgrade drift", source=self.path)
        if version == SCHEMA_VERSION:
            return
        with self._transaction():
            version = self._version()  # another drift may have migrated it while this one waited for the lock
            for step in MIGRATIONS[version:]:
                step(self.db, self.path)
            if version < SCHEMA_VERSION:
                self.db.conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        conn = self.db.conn
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise self._error(exc) from exc
        try:
            yield
        except BaseException as exc:
            try:
                conn.execute("ROLLBACK")
            except sqlite3.DatabaseError:
                pass  # SQLite rolled back already (or the connection is gone): nothing was committed
            if isinstance(exc, sqlite3.DatabaseError):
                raise self._error(exc) from exc
            raise
        try:
            conn.execute("COMMIT")
        except sqlite3.DatabaseError as exc:
            raise self._error(exc) from exc

    def _error(self, exc: sqlite3.DatabaseError) -> InputError | OperationalError:
        message = str(exc)
        if _is_busy(exc):
            return OperationalError(
                f"database busy past its timeout of {self.timeout:g} s: another process (a scan, most likely) holds"
                f" its write lock; set {TIMEOUT_ENV} to wait longer",
                source=self.path,
            )
        if "not a database" in message:
            return InputError(f"not a drift database ({message})", source=self.path, where="--db")
        return OperationalError(message, source=self.path)


def busy_timeout() -> float:
    """The busy timeout: `DRIFT_DB_TIMEOUT` seconds if set, else `DEFAULT_TIMEOUT`."""
    text = os.environ.get(TIMEOUT_ENV, "").strip()
    if not text:
        return DEFAULT_TIMEOUT
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value >= 0 or value == float("inf"):
        raise InputError(f"{text!r} is not a number of seconds", where=TIMEOUT_ENV)
    return value


def _is_busy(exc: sqlite3.Error) -> bool:
    message = str(exc)
    return "locked" in message or "busy" in message
