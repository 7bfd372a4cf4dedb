"""The one-file collector's command line: `python3 -I drift-collect.pyz ROOT --tenant ID --out FILE ...`.

`drift bundle collector` packs this package into a zipapp whose `__main__` calls `main`. It runs on a plain
`python3` (3.9 or newer) with nothing installed, so it uses `argparse`, not click, and reads the catalog's
config keys without YAML (`drift.collect.catalogkeys`). It writes the same inventory, byte for byte, as
`drift collect` for the same tree at the same time, with the same care (`drift.collect.run`), atomically.
Exit codes are drift's (SPEC 8): 0 done, 2 bad usage or input, 3 an operational failure; never a traceback
unless `DRIFT_DEBUG=1`.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Collection, Sequence
from pathlib import Path

from drift import __version__
from drift.atomic import write_atomic
from drift.collect.catalogkeys import catalog_archive_hashes, catalog_config_keys, read_config_keys
from drift.collect.catalogneeds import CatalogNeeds
from drift.collect.configfile import YAML_MISSING, yaml_available
from drift.collect.gcpause import paused_gc
from drift.collect.hashcache import open_cache
from drift.collect.run import collect, inside
from drift.collect.sign import inventory_signature, load_key, signer_name
from drift.errors import DriftError, InputError, OperationalError
from drift.inventory.jsonwrite import MAX_PATTERN
from drift.inventory.tenantid import tenant_option
from drift.text import MAX_LINE, bounded, clip, shown
from drift.trust.statement import signature_path

PROG = "drift-collect"


def parser() -> argparse.ArgumentParser:
    """The command line (its `--help` is the bundle's manual)."""
    p = argparse.ArgumentParser(
        prog=PROG,
        description=(
            f"drift {__version__}'s collector in one file: hash every regular file under ROOT into a verifiable "
            "inventory (the same as `drift collect`). Runs on python3 >= 3.9 with the standard library alone."
        ),
        epilog=(
            "--sign KEYFILE writes FILE.sig as `drift collect --sign` does: an Ed25519 key in OpenSSH or PKCS#8 form. "
            "An encrypted key (DRIFT_KEY_PASSPHRASE) needs the cryptography package; without it, a key without a "
            "passphrase is used with the pure-Python Ed25519 this file carries, which is not constant-time: keep "
            "the key where no other user of the server runs code. YAML config files need PyYAML: where it is "
            "missing, their keys are not captured (a scan then judges those checks unreadable), and a warning says so."
        ),
    )
    p.add_argument("root", metavar="ROOT", type=Path, help="the deploy root")
    p.add_argument("--tenant", required=True, metavar="ID", help="the tenant id (6-digit local government code or another id)")
    p.add_argument("--out", required=True, type=Path, metavar="FILE", help="where to write the inventory (its folder must exist)")
    keys = p.add_mutually_exclusive_group()
    keys.add_argument("--catalog", type=Path, metavar="DIR", help="the catalog folder whose config checks say which config keys to capture")
    keys.add_argument("--config-keys", type=Path, metavar="FILE", help="the config keys to capture: a JSON list of [file, key] pairs")
    p.add_argument("--exclude", action="append", default=[], metavar="GLOB", help="leave out matching paths (repeatable)")
    p.add_argument("--jobs", type=_positive, metavar="N", help="files hashed at once (default: the machine's cores)")
    p.add_argument("--cache", type=Path, metavar="FILE", help="reuse the hashes of files whose device, inode, size, mtime and ctime are unchanged")
    p.add_argument("--rehash", action="store_true", help="with --cache: hash every file again (and rewrite the cache)")
    p.add_argument("--sign", type=Path, metavar="KEYFILE", help="sign the inventory with this Ed25519 key (the municipality's): FILE.sig")
    p.add_argument("--version", action="version", version=f"{PROG} (drift {__version__})")
    return p


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number of at least 1, not {text!r}")
    return value


@paused_gc()  # the whole collection: see drift.collect.gcpause
def run(argv: Sequence[str] | None = None) -> int:
    """Collect as the arguments say; raises `DriftError` (and `OSError`) for the caller to report."""
    p = parser()
    args = p.parse_args(argv)
    key = load_key(args.sign) if args.sign is not None else None  # before collecting: a bad key costs nothing
    if args.rehash and args.cache is None:
        p.error("--rehash needs --cache")
    tenant = tenant_option(args.tenant)
    excludes: list[str] = args.exclude
    for i, pattern in enumerate(excludes):
        if not pattern or len(pattern) > MAX_PATTERN or not pattern.isprintable():
            raise InputError(f"must be a printable pattern of 1 to {MAX_PATTERN} characters, not {shown(pattern)}", where=f"--exclude[{i}]")
    root: Path = args.root
    if not root.is_dir():
        raise InputError("not a folder", source=root)
    cache = open_cache(args.cache, rehash=args.rehash) if args.cache is not None else None
    needs: CatalogNeeds | None = None
    keys: Collection[tuple[str, str]] = frozenset()
    if args.catalog is not None:  # from the cache, or read while the tree is walked
        if not (args.catalog / "catalog.yaml").is_file():
            raise InputError("no catalog.yaml: not a catalog folder", source=args.catalog)
        needs = CatalogNeeds(args.catalog, _catalog_needs, cache)
    elif args.config_keys is not None:
        keys = read_config_keys(args.config_keys)
    else:
        _say("warning: no --catalog or --config-keys: no config value is captured, so a scan judges every config check unreadable")
    with needs or contextlib.nullcontext():
        patterns = [*excludes, *inside(root, args.out, args.cache)]
        result = collect(root, tenant, config_keys=keys, excludes=patterns, jobs=args.jobs, cache=cache, catalog=needs)
        if needs is not None:
            keys = needs.result()[0]
    if any(f.lower().endswith((".yaml", ".yml")) for f, _ in keys) and not yaml_available():
        _say(f"warning: {YAML_MISSING}: the values of YAML config files are not captured")
    if key is not None:  # the signature first: an inventory is never left without the signature asked for
        write_atomic(signature_path(args.out), inventory_signature(args.out.name, result.data, key))
    write_atomic(args.out, result.data)
    if key is not None:
        _say(f"{signature_path(args.out)}: signed by {key.keyid} ({signer_name()})", prefix=False)
    _say(
        f"{args.out}: {result.files} files, {result.unreadable} unreadable, {result.links} links, {result.skipped} skipped"
        + f"; {result.bytes_read:,} bytes of file content read"
        + (f"; cache: {cache.hits} reused, {cache.misses} hashed" if cache is not None else "")
        + (" (files changed during collection: a deployment in progress?)" if result.changing else ""),
        prefix=False,
    )
    if cache is not None:
        for note in cache.notes():
            _say(f"note: {clip(str(args.cache))}: {note}")
        try:
            cache.save(args.cache)
        except OperationalError as exc:  # the inventory is written; a cache that cannot be saved costs time only
            _say(f"warning: {exc.render()}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run, turning every error into one line on stderr and drift's exit code."""
    try:
        return run(argv)
    except DriftError as exc:
        _say(f"error: {exc.render()}")
        return exc.exit_code
    except KeyboardInterrupt:
        _say("error: interrupted")
        return 130
    except OSError as exc:
        _say(f"error: {str(exc.filename) + ': ' if exc.filename else ''}{exc.strerror or exc}")
        return 3
    except Exception as exc:  # noqa: BLE001 - a bug: still never a traceback unless asked for
        if os.environ.get("DRIFT_DEBUG"):
            import traceback  # here: loading it (and its tokenizer) would cost every run

            traceback.print_exc()
        _say(f"error: internal error: {type(exc).__name__}: {exc} (set DRIFT_DEBUG=1 for a traceback)")
        return 3


def _catalog_needs(catalog: Path) -> tuple[frozenset[tuple[str, str]], frozenset[str]]:
    """What a collection needs of the catalog folder: its config keys, and its archives' hashes."""
    return catalog_config_keys(catalog), catalog_archive_hashes(catalog)


def _say(message: str, *, prefix: bool = True) -> None:
    print(bounded(f"{PROG}: {message}" if prefix else message, MAX_LINE), file=sys.stderr)
