"""A vendor's signature on a catalog, and what a scan demands of it (SPEC 10).

`catalog.sig` in the catalog folder signs the catalog digest (every catalog file; the signature is not one)
with the catalog's product, a version number and an expiry date. A scan refuses, with exit 2, a catalog that
the trust file requires signed and is not, whose signature does not verify or comes from a key not trusted
for catalogs, that expired, or whose version is lower than one the results database already judged with
(a rollback to an older catalog that lacks newer fixes).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from drift.catalog.model import Catalog
from drift.errors import TrustError
from drift.trust.envelope import write_signature
from drift.trust.keys import SigningKey
from drift.trust.statement import CATALOG, Statement, now_utc
from drift.trust.trustfile import Trust
from drift.trust.verify import CATALOG_SIGNATURE, Verification, verify_signature

MAX_VERSION = 2**53
"""Catalog versions are whole numbers from 1 (JSON-safe)."""


@dataclass(frozen=True)
class VouchedCatalog:
    """Who vouches for a catalog, and for which version."""

    key: str
    """The trust file's id of the key that signed it."""
    version: int
    """The catalog version it signed."""
    expires: dt.date
    """The last day the signature vouches for it."""


def signature_of(root: Path) -> Path:
    """Where a catalog folder's signature is."""
    return root / CATALOG_SIGNATURE


def sign_catalog(root: Path, catalog: Catalog, key: SigningKey, *, version: int, expires: dt.date, now: dt.datetime | None = None) -> Path:
    """Write `catalog.sig` for the catalog loaded from `root`; returns its path."""
    if not 1 <= version <= MAX_VERSION:
        raise TrustError(f"must be a whole number from 1 to {MAX_VERSION}", source=root, where="--catalog-version")
    today = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC).date()
    if expires < today:
        raise TrustError(f"{expires.isoformat()} is past: a scan would refuse the catalog", source=root, where="--expires")
    predicate = {"product": catalog.product, "catalog_version": version, "expires": expires.isoformat(), "signed_at": now_utc(now)}
    statement = Statement(CATALOG, "catalog", catalog.digest.removeprefix("sha256:"), predicate)
    return write_signature(root / "catalog", statement, key)


def verify_catalog(root: Path, catalog: Catalog, trust: Trust, today: dt.date | None = None) -> Verification:
    """The catalog's signature checked against the trust file (never raises for a bad one)."""
    return verify_signature(root, trust, sha256=catalog.digest.removeprefix("sha256:"), kind=CATALOG, today=today, sig_path=signature_of(root))


def vouched(root: Path, catalog: Catalog, trust: Trust | None, *, today: dt.date, newest_seen: int | None) -> VouchedCatalog | None:
    """What a scan may judge with: None when nothing vouches for the catalog and nothing requires it; raises
    `TrustError` (exit 2) naming why when the catalog must not be used."""
    if trust is None:
        return None
    sig = signature_of(root)
    if not sig.exists():
        if CATALOG in trust.require:
            raise TrustError(f"the trust file ({trust.source}) requires a signed catalog, and it has no {CATALOG_SIGNATURE}", source=root)
        return None
    checked = verify_catalog(root, catalog, trust, today)
    if not checked.ok:
        raise TrustError(f"catalog signature refused: {checked.reason}", source=sig)
    predicate = checked.predicate
    version, expires_text = predicate.get("catalog_version"), predicate.get("expires")
    if not isinstance(version, int) or isinstance(version, bool) or not 1 <= version <= MAX_VERSION:
        raise TrustError("the signed catalog version is not a whole number", source=sig, where="predicate.catalog_version")
    try:
        expires = dt.date.fromisoformat(str(expires_text))
    except ValueError as exc:
        raise TrustError("the signed expiry is not a date", source=sig, where="predicate.expires") from exc
    if predicate.get("product") != catalog.product:
        raise TrustError("the signature is of another product's catalog", source=sig, where="predicate.product")
    if today > expires:
        raise TrustError(f"catalog version {version} expired on {expires.isoformat()}: ask the vendor for a newer one", source=sig)
    if newest_seen is not None and version < newest_seen:
        raise TrustError(
            f"catalog version {version} is older than version {newest_seen}, which this results database already judged with "
            "(a rollback): use the newer catalog", source=sig,
        )
    return VouchedCatalog(checked.key or "", version, expires)
