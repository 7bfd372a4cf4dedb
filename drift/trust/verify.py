"""Checking one signature against the trust file: who signed what, and whether drift may believe it."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from securesystemslib.exceptions import VerificationError

from drift.catalog import load_catalog
from drift.errors import DriftError, TrustError
from drift.inventory.readers import read_inventory, suffix_of, tenant_of
from drift.paths import MAX_INPUT, read_regular
from drift.trust.envelope import Signed, open_signature
from drift.trust.statement import CATALOG, INVENTORY, signature_path
from drift.trust.trustfile import Trust, TrustedKey


@dataclass(frozen=True)
class Verification:
    """The outcome of checking one signature; `ok` only when every check passed."""

    path: str
    """The signed file (for a catalog, its folder)."""
    ok: bool
    """True when the signature verifies and the trust file allows its key to vouch for this."""
    reason: str = ""
    """Why not, in a few words ("" when `ok`)."""
    kind: str | None = None
    """What the signature says it vouches for: `inventory`, `catalog` or `scan`."""
    key: str | None = None
    """The trust file's id of the key that signed (None: no key of the trust file verified it)."""
    fingerprint: str | None = None
    """The signing key's fingerprint, when known."""
    signed_at: str | None = None
    """When, as the signer says."""
    predicate: dict[str, Any] = field(default_factory=dict)
    """The statement's predicate."""

    def describe(self) -> str:
        """One line: who signed what and when, or why it does not verify."""
        what = self.kind or "file"
        if self.ok:
            tenant = self.predicate.get("tenant")
            of = f" of tenant {tenant}" if self.kind == INVENTORY and isinstance(tenant, str) else ""
            return f"{self.path}: OK: {what}{of} signed by {self.key} ({self.fingerprint}) at {self.signed_at}"
        by = f" (key {self.key or self.fingerprint})" if (self.key or self.fingerprint) else ""
        return f"{self.path}: FAILED: {self.reason}{by}"


def file_sha256(path: Path) -> str:
    """SHA-256 of a file's bytes, hex."""
    return hashlib.sha256(read_regular(path, MAX_INPUT)).hexdigest()


def verify_signature(
    path: Path,
    trust: Trust,
    *,
    sha256: str | None = None,
    kind: str | None = None,
    tenant: str | None = None,
    today: dt.date | None = None,
    sig_path: Path | None = None,
) -> Verification:
    """Check `<path>.sig` (or `sig_path`): the envelope verifies with a key of the trust file, the statement is
    about these bytes (`sha256`, else the file's own), of `kind` when given, and that key may vouch for it
    (role, tenant, expiry, revocation) `today`. Never raises for a bad signature: the outcome says why."""
    day = today or dt.datetime.now(dt.UTC).date()
    try:
        signed = open_signature(sig_path or signature_path(path))
    except TrustError as exc:
        return Verification(str(path), False, exc.message)
    statement = signed.statement
    signed_at = _text(statement.predicate.get("signed_at"))

    def outcome(reason: str, key: TrustedKey | None = None, fingerprint: str | None = None) -> Verification:
        return Verification(
            str(path), not reason, reason, statement.kind, key.id if key else None,
            key.key.fingerprint if key else fingerprint, signed_at, statement.predicate,
        )

    candidates = [k for keyid in signed.keyids for k in trust.keys_for(keyid)]
    if not candidates:
        shown_ids = ", ".join(k[:60] for k in signed.keyids[:3]) or "none"
        return outcome(f"signed by a key the trust file does not know ({shown_ids})")
    verified = _verified_key(signed, candidates)
    if verified is None:
        return outcome("the signature does not verify", fingerprint=candidates[0].key.fingerprint)
    if kind is not None and statement.kind != kind:
        return outcome(f"the signature vouches for a {statement.kind}, not a {kind}", verified)
    expected = sha256 if sha256 is not None else file_sha256(path)
    if statement.sha256 != expected:
        return outcome("the signature is of other bytes: the file was changed after it was signed", verified)
    if tenant is not None and statement.predicate.get("tenant") != tenant:
        return outcome(f"the signature vouches for another tenant's inventory, not {tenant}'s", verified)
    same = [k for k in candidates if k.key.fingerprint == verified.key.fingerprint]
    revoked = next((k for k in same if k.revoked), None)
    if revoked is not None:  # one key revoked anywhere in the trust file is revoked everywhere
        return outcome(f"key {revoked.id} is revoked", revoked)
    refusals = [k.may_sign(statement.kind, tenant, day) for k in same]
    for k, why in zip(same, refusals):
        if not why:
            return outcome("", k)
    return outcome(refusals[0], verified)


def _verified_key(signed: Signed, candidates: list[TrustedKey]) -> TrustedKey | None:
    """The first candidate whose public key verifies the envelope's signature."""
    for candidate in candidates:
        try:
            signed.envelope.verify([candidate.key.sslib()], 1)
        except (VerificationError, ValueError):
            continue
        return candidate
    return None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and len(value) <= 40 else None


CATALOG_SIGNATURE = "catalog.sig"
"""The signature's file name in a catalog folder."""


def verify_file(path: Path, trust: Trust, today: dt.date | None = None) -> Verification:
    """`drift verify` of one path: a catalog folder, an inventory (its digest checked too, and the key allowed
    for its tenant), or a scan document; what it is comes from the path and the statement."""
    try:
        if path.is_dir():
            return verify_signature(path, trust, sha256=load_catalog(path).digest.removeprefix("sha256:"), kind=CATALOG, today=today,
                                    sig_path=path / CATALOG_SIGNATURE)
        signed = open_signature(signature_path(path))
        if signed.statement.kind == INVENTORY and suffix_of(path) is not None:
            inventory = read_inventory(path)
            named = tenant_of(path)
            if inventory.tenant != named:  # a scan reads <tenant>.json as that tenant's: so must verify
                return Verification(str(path), False, f"named for tenant {named}, but holds the inventory of tenant {inventory.tenant}",
                                    INVENTORY)
            return verify_signature(path, trust, kind=INVENTORY, tenant=inventory.tenant, today=today)
        return verify_signature(path, trust, today=today)
    except DriftError as exc:
        return Verification(str(path), False, exc.render())
    except OSError as exc:
        return Verification(str(path), False, f"cannot read: {exc.strerror or exc}")
