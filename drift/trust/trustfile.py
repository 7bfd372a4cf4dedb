"""The trust file (SPEC 10): which keys may sign what, until when, and what must be signed.

```yaml
require: [inventory]            # any of inventory, catalog, scan (default: nothing)
keys:
  - id: munakata-2026
    public_key: "ssh-ed25519 AAAA... munakata"
    signs: inventory            # inventory | catalog | scan
    tenants: ["402206"]         # inventory keys only ("*": every tenant)
    expires: 2027-03-31         # optional: after this day its signatures are refused
    revoked: false              # optional
```
It is read from `trust.yaml` in the inventory folder, or from `--trust FILE`.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from drift.errors import InputError, TrustError
from drift.tenants import check_tenant_id
from drift.text import shown
from drift.trust.keys import PublicKey, public_key
from drift.trust.statement import INVENTORY, KINDS
from drift.yamlio import load_yaml

TRUST_FILE = "trust.yaml"
_KEY_FIELDS = {"id", "public_key", "signs", "tenants", "expires", "revoked"}
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}")

_PLURAL = {"inventory": "inventories", "catalog": "catalogs", "scan": "scans"}


@dataclass(frozen=True)
class TrustedKey:
    """One key of the trust file."""

    id: str
    """Its name in messages."""
    key: PublicKey
    """The public key."""
    signs: str
    """What it may sign: `inventory`, `catalog` or `scan`."""
    tenants: frozenset[str] | None
    """Inventory keys: the tenants it may vouch for; None: every tenant (`"*"`)."""
    expires: dt.date | None
    """After this day its signatures are refused."""
    revoked: bool
    """True: its signatures are refused."""

    def may_sign(self, kind: str, tenant: str | None, today: dt.date) -> str:
        """"" when this key may vouch for a `kind` (of `tenant`) today, else why not."""
        if self.revoked:
            return f"key {self.id} is revoked"
        if self.expires is not None and today > self.expires:
            return f"key {self.id} expired on {self.expires.isoformat()}"
        if self.signs != kind:
            return f"key {self.id} may sign {_PLURAL.get(self.signs, self.signs)}, not {_PLURAL.get(kind, kind)}"
        if kind == INVENTORY and self.tenants is not None and tenant not in self.tenants:
            return f"key {self.id} may not vouch for tenant {tenant}"
        return ""


@dataclass(frozen=True)
class Trust:
    """The keys drift trusts and what must be signed."""

    require: frozenset[str]
    """What must be signed."""
    keys: tuple[TrustedKey, ...]
    """Every key, in file order."""
    source: str
    """The trust file."""

    def keys_for(self, fingerprint: str) -> tuple[TrustedKey, ...]:
        """The trust file's entries for one public key (it may hold several roles)."""
        return tuple(k for k in self.keys if k.key.fingerprint == fingerprint)


def find_trust(inventory_dir: Path, explicit: Path | None) -> Trust | None:
    """`--trust FILE` when given (it must exist), else `trust.yaml` in the inventory folder if there is one."""
    if explicit is not None:
        return load_trust(explicit)
    default = inventory_dir / TRUST_FILE
    return load_trust(default) if default.is_file() else None


def load_trust(path: Path) -> Trust:
    """Read and validate a trust file; every error names the file and the field."""
    doc = load_yaml(path, TrustError)
    if not isinstance(doc, dict):
        raise TrustError("must be a mapping with keys and require", source=path)
    for key in doc:
        if key not in ("require", "keys"):
            raise TrustError(f"unknown key {shown(key)}", source=path, where=str(key)[:40])
    require = doc.get("require", [])
    if not isinstance(require, list) or any(r not in KINDS for r in require):
        raise TrustError(f"must be a list of {', '.join(KINDS)}", source=path, where="require")
    raw_keys = doc.get("keys", [])
    if not isinstance(raw_keys, list):
        raise TrustError("must be a list", source=path, where="keys")
    keys = tuple(_key(item, path, f"keys[{i}]") for i, item in enumerate(raw_keys))
    seen: set[str] = set()
    for i, k in enumerate(keys):
        if k.id in seen:
            raise TrustError(f"id {k.id} is given twice", source=path, where=f"keys[{i}].id")
        seen.add(k.id)
    return Trust(frozenset(require), keys, str(path))


def _key(item: Any, path: Path, where: str) -> TrustedKey:
    if not isinstance(item, dict):
        raise TrustError("must be a mapping", source=path, where=where)
    for field in item:
        if field not in _KEY_FIELDS:
            raise TrustError(f"unknown key {shown(field)}", source=path, where=where)
    for field in ("id", "public_key", "signs"):
        if field not in item:
            raise TrustError("required", source=path, where=f"{where}.{field}")
    key_id = item["id"]
    if not isinstance(key_id, str) or not _ID.fullmatch(key_id):
        raise TrustError("must be a name of letters, digits, '.', '_', '@' and '-' (at most 64)", source=path, where=f"{where}.id")
    if not isinstance(item["public_key"], str):
        raise TrustError("must be an OpenSSH public key line", source=path, where=f"{where}.public_key")
    key = public_key(item["public_key"], source=path, where=f"{where}.public_key")
    signs = item["signs"]
    if signs not in KINDS:
        raise TrustError(f"must be one of {', '.join(KINDS)}", source=path, where=f"{where}.signs")
    tenants = _tenants(item.get("tenants"), signs, path, f"{where}.tenants")
    expires = item.get("expires")
    if expires is not None and (not isinstance(expires, dt.date) or isinstance(expires, dt.datetime)):
        raise TrustError("must be a date, YYYY-MM-DD", source=path, where=f"{where}.expires")
    revoked = item.get("revoked", False)
    if not isinstance(revoked, bool):
        raise TrustError("must be true or false", source=path, where=f"{where}.revoked")
    return TrustedKey(key_id, key, signs, tenants, expires, revoked)


def _tenants(raw: Any, signs: str, path: Path, where: str) -> frozenset[str] | None:
    if signs != INVENTORY:
        if raw is not None:
            raise TrustError("only inventory keys name tenants", source=path, where=where)
        return None
    if not isinstance(raw, list) or not raw:
        raise TrustError('an inventory key must list the tenants it may vouch for (or ["*"])', source=path, where=where)
    if "*" in raw:
        return None
    try:
        return frozenset(check_tenant_id(t, source=path, where=f"{where}[{i}]") for i, t in enumerate(raw))
    except InputError as exc:
        raise TrustError(exc.message, source=path, where=exc.where) from exc
