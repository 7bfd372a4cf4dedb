"""The auditor's signature on a scan document (`drift scan --attest KEYFILE`)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from drift.policy import Policy
from drift.results import Scan
from drift.trust.envelope import write_signature
from drift.trust.keys import SigningKey
from drift.trust.statement import SCAN, Statement, now_utc
from drift.trust.verify import file_sha256


def attest_scan(document: Path, scan: Scan, policy: Policy, key: SigningKey, now: dt.datetime | None = None) -> Path:
    """Sign the written scan document `document` (`<document>.sig`): its bytes, the scan id, the catalog it
    judged with, and the policy its blocking column used."""
    predicate = {
        "scan": scan.id,
        "catalog_digest": scan.catalog_digest,
        "policy": {"fail_on": sorted(policy.statuses), "min_severity": policy.min_severity, "uncatalogued": policy.uncatalogued},
        "signed_at": now_utc(now),
    }
    return write_signature(document, Statement(SCAN, document.name, file_sha256(document), predicate), key)
