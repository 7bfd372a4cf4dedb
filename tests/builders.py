"""Build small real catalogs, trees and inventories in temporary folders for the tests."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import os
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from drift.collect.archive import content_sha256_bytes
from drift.inventory.jsonwrite import dumps_inventory
from drift.inventory.model import ConfigValue, FileRecord, Unreadable

WHEN = dt.datetime(2023, 6, 14, 1, 30, tzinfo=dt.UTC)


def sha(data: bytes) -> str:
    """SHA-256 hex of bytes."""
    return hashlib.sha256(data).hexdigest()


def make_jar(entries: dict[str, bytes], *, year: int = 2020, built_by: str = "ci") -> bytes:
    """A real jar with fixed timestamps, stored uncompressed so its bytes do not depend on the zlib build;
    `year` and `built_by` change its bytes but not its content hash."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        manifest = f"Manifest-Version: 1.0\r\nBuilt-By: {built_by}\r\nCreated-By: 17 (Oracle)\r\n\r\n".encode()
        archive.writestr(zipfile.ZipInfo("META-INF/", (year, 1, 1, 0, 0, 0)), b"")
        archive.writestr(zipfile.ZipInfo("META-INF/MANIFEST.MF", (year, 1, 1, 0, 0, 0)), manifest)
        for name in sorted(entries):
            archive.writestr(zipfile.ZipInfo(name, (year, 1, 1, 0, 0, 0)), entries[name])
    return buffer.getvalue()


def write_yaml(path: Path, doc: Any) -> Path:
    """Write a YAML document, creating folders."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


def record(data: bytes, *, archive: bool = False) -> FileRecord:
    """The inventory record of some bytes."""
    return FileRecord(len(data), sha(data), content_sha256_bytes(data) if archive else None)


def write_inventory(
    folder: Path,
    tenant: str,
    files: dict[str, bytes],
    *,
    config: dict[tuple[str, str], str | None] | None = None,
    unreadable: dict[str, str] | None = None,
) -> Path:
    """Write a real JSON inventory of in-memory files (archives by their `.jar` name)."""
    data = dumps_inventory(
        tenant=tenant,
        collected_at=WHEN.strftime("%Y-%m-%dT%H:%M:%SZ"),
        collector="drift test",
        content_hash="drift-content/1",
        files={p: record(b, archive=p.endswith(".jar")) for p, b in files.items()},
        config=[ConfigValue(f, k, v) for (f, k), v in (config or {}).items()],
        unreadable=[Unreadable(p, r) for p, r in (unreadable or {}).items()],
    )
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{tenant}.json"
    path.write_bytes(data)
    return path


def tok(data: bytes, *, content: bool = False) -> str:
    """The catalog token for some bytes (`content-sha256:` of a jar with `content=True`)."""
    return f"content-sha256:{content_sha256_bytes(data)}" if content else f"sha256:{sha(data)}"


def refusal(error: type[Exception], call: Callable[[], object], source: Path | str, field: str) -> str:
    """`call` must raise `error` with a message starting `<source>: <field>: `; returns the message."""
    with pytest.raises(error) as caught:
        call()
    message = str(caught.value)
    assert message.startswith(f"{source}: {field}: "), message
    return message


def write_text(folder: Path, text: str, name: str = "402206.json") -> Path:
    """Write an inventory (or any text) as `folder/name`."""
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def redigest(text: str) -> str:
    """Give a hand-edited inventory a digest that verifies again (what a forger could do; it must still be validated)."""
    body = text[: text.rindex(' "digest"')]
    return f'{body} "digest": "sha256:{hashlib.sha256(body.encode()).hexdigest()}"\n}}\n'


def run_cli(root: Path, *args: str, env: dict[str, str] | None = None) -> Any:
    """`drift ARGS...` run in the folder `root` through click's runner (stdout and stderr kept apart);
    exceptions are not caught, so a traceback fails the test."""
    from click.testing import CliRunner

    from drift.cli import main

    old = os.getcwd()
    os.chdir(root)
    try:
        return CliRunner(env=env).invoke(main, list(args), catch_exceptions=False)
    finally:
        os.chdir(old)
