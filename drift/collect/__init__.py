"""The collector: everything `drift collect` runs on a tenant's server, as one package.

It imports nothing but the standard library, its own modules, and the few modules of drift that define the
inventory it writes (`drift.inventory.jsonwrite`, `drift.inventory.model`, `drift.inventory.names`) or that
those need (`drift.errors`, `drift.atomic`, `drift.text`, `drift.paths`), all standard-library only. That is
what lets `drift bundle collector` (`drift.cli.bundle`) carry it in one file that runs with a plain
`python3` (3.9 or newer); `tests/test_collector_package.py` keeps it so.

- `run`: the collection itself (`collect`), its files hashed in batches as the walk goes on;
- `workers`: the worker processes (or threads) that hash the batches; `processes`: those processes, forked
  once and fed through pipes;
- `readfile`: reading one file, race-safe (`hash_batch`, `hash_file`);
- `walk`: walking the deploy root; `walkshare`: a re-collection's walk shared with a second process;
- `folders`: its folders, opened and checked race-safe;
- `hashcache`: the re-collection cache of `--cache` (`cachefile` reads its file); `catalogneeds`: what a
  collection needs of the catalog, kept in the cache;
- `configfile`: reading only the asked-for config keys;
- `archive`: the content hash of zip-family archives (also used by the catalog builder), safe zip reading
  and its limits;
- `catalogkeys`: the config keys and archive hashes a catalog gives, read without a YAML library;
- `sign`: the one-file collector's signature;
- `main`: the bundle's command line (argparse).

No name exported here may be a submodule's (`walk`, ...): it would hide it.
"""

from __future__ import annotations

from drift.collect.run import CollectResult, collect

__all__ = ["CollectResult", "collect"]
