"""`drift bundle collector --out drift-collect.pyz`: the collector as one file that a plain `python3` runs.

An operator copies one file to a tenant's server and runs `python3 -I drift-collect.pyz ROOT --tenant ID --out
FILE` (see `drift.collect.main`): nothing to install, no package index to reach. It is built with the
standard `zipapp` module: a zip of the collector's sources with a `__main__.py`, which Python 3.9 and later
run as they are, with no dependency. shiv and pex were not used: each adds its own bootstrap, unpacks into a
cache folder and manages a site-packages of its own, which buys nothing for a standard-library-only
program and is more to trust on a production server.

The bundle carries `drift/collect/` whole and the standard-library-only modules of drift it imports
(`BUNDLED`: the inventory as written, never its readers), with an empty `drift/inventory/__init__.py`
(`STUBS`), and `drift/collect/ed25519_pure.py`: the pure-Python Ed25519 that securesystemslib vendors from the Ed25519
reference code (public domain), with which `--sign` signs where the server's Python has no `cryptography`.
Its `__main__` refuses a Python older than 3.9, and on 3.9 lets `dataclass(slots=True)` (3.10+, used by the
inventory model) mean a plain dataclass: the same fields and behaviour, without `__slots__`.
`tests/test_collector_package.py` checks that the collector imports nothing outside what is carried, and
`tests/test_bundle.py` runs the bundle (with Python 3.9 where one is installed).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import zipapp
from pathlib import Path

import click

import drift
from drift.atomic import write_atomic

BUNDLED = (
    "__init__.py",
    "atomic.py",
    "background.py",
    "errors.py",
    "paths.py",
    "text.py",
    "inventory/jsonwrite.py",
    "inventory/model.py",
    "inventory/names.py",
    "inventory/tenantid.py",
    "trust/__init__.py",
    "trust/statement.py",
)
"""Modules of drift, besides `drift/collect/`, that the bundle carries (paths under the `drift` folder)."""

STUBS = {
    "inventory/__init__.py": '"""The inventory format, as far as the one-file collector needs it."""\n',
}
"""Modules the bundle writes itself instead of carrying drift's: the real one imports every inventory
reader, which a collector never runs."""

MAIN = '''\
"""drift's one-file collector (`drift bundle collector`): python3 THIS_FILE --help"""
import sys

if sys.version_info < (3, 9):
    sys.exit("drift-collect: error: needs Python 3.9 or newer, not " + sys.version.split()[0])
if sys.version_info < (3, 10):
    import dataclasses

    _dataclass = dataclasses.dataclass

    def _without_slots(cls=None, **kwargs):
        kwargs.pop("slots", None)  # 3.10+: the same class without __slots__
        return _dataclass(**kwargs) if cls is None else _dataclass(cls, **kwargs)

    dataclasses.dataclass = _without_slots
if not sys.flags.isolated:
    sys.stderr.write("drift-collect: warning: run it as python3 -I (isolated): otherwise PYTHONPATH, the current "
                     "folder and site customisation files are imported first, and can change what it records\\n")

from drift.collect.main import main

if __name__ == "__main__":
    sys.exit(main())
'''
"""The bundle's `__main__.py`."""


def bundled_files(package: Path | None = None) -> dict[str, bytes]:
    """Every file of the bundle but `__main__.py`: its path in the bundle and its bytes."""
    package = package or Path(drift.__file__).parent
    files: dict[str, bytes] = {}
    collector = package / "collect"
    for path in sorted(collector.rglob("*.py")):
        files[f"drift/{path.relative_to(package).as_posix()}"] = path.read_bytes()
    for rel in BUNDLED:
        files[f"drift/{rel}"] = (package / rel).read_bytes()
    for rel, text in STUBS.items():
        files[f"drift/{rel}"] = text.encode("utf-8")
    files[f"drift/collect/{PURE_ED25519}.py"] = pure_ed25519()
    return files


PURE_ED25519 = "ed25519_pure"
"""The module name, in `drift/collect/`, of the pure-Python Ed25519 the bundle carries (`drift.collect.sign`)."""


def pure_ed25519() -> bytes:
    """The in-toto project's pure-Python Ed25519 (public domain, vendored in securesystemslib), for signing
    where the server's Python has no `cryptography`."""
    from securesystemslib._vendor.ed25519 import ed25519

    return Path(ed25519.__file__).read_bytes()


def stage(folder: Path) -> None:
    """Write the bundle's files, `__main__.py` included, into the empty folder `folder`."""
    for rel, data in {**bundled_files(), "__main__.py": MAIN.encode("utf-8")}.items():
        target = folder / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)


def build_collector(out: Path) -> int:
    """Build the one-file collector at `out`, atomically, executable where the file system allows; its size."""
    with tempfile.TemporaryDirectory(prefix="drift-bundle-") as tmp:
        source = Path(tmp) / "src"
        source.mkdir()
        stage(source)
        archive = Path(tmp) / "drift-collect.pyz"
        zipapp.create_archive(source, archive, interpreter="/usr/bin/env python3", compressed=True)
        data = archive.read_bytes()
    write_atomic(out, data)
    try:
        mode = os.stat(out).st_mode
        os.chmod(out, mode | ((mode & 0o444) >> 2))  # executable by whoever may read it
    except OSError:
        pass
    return len(data)


@click.group()
def bundle() -> None:
    """Build files to carry to a tenant's server."""


@bundle.command("collector")
@click.option("--out", type=click.Path(path_type=Path, dir_okay=False), default=Path("drift-collect.pyz"), show_default=True,
              help="Where to write the one-file collector.")
def collector(out: Path) -> None:
    """The collector as one file for a plain python3 (3.9 or newer, nothing installed):
    `python3 -I drift-collect.pyz ROOT --tenant ID --out FILE [--catalog DIR | --config-keys FILE] [--sign KEYFILE]`."""
    size = build_collector(out)
    click.echo(f"{out}: {size:,} bytes; run it with `python3 -I {out.name} ROOT --tenant ID --out FILE`", err=True)
    if shutil.which("python3") is None:
        click.echo("drift: note: no python3 on this machine's PATH; the server that runs it needs one", err=True)
