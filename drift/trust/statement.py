"""What a signature file says, in the standard library alone: the in-toto Statement, DSSE's pre-authentication
encoding and the envelope's JSON (SPEC 10).

`drift.trust.envelope` signs and opens envelopes with securesystemslib; the one-file collector
(`drift.collect.sign`), which cannot carry securesystemslib, writes the same bytes through `envelope_json`.
Ed25519 signatures are deterministic, so an inventory signed either way with one key at one second has the
same signature file, byte for byte (`tests/test_bundle_sign.py`).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PAYLOAD_TYPE = "application/vnd.in-toto+json"
STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
INVENTORY, CATALOG, SCAN = "inventory", "catalog", "scan"
KINDS = (INVENTORY, CATALOG, SCAN)
PREDICATE_TYPES = {kind: f"urn:drift-audit:predicate:{kind}:v1" for kind in KINDS}
"""What each kind of signed thing says, versioned."""
KIND_OF = {uri: kind for kind, uri in PREDICATE_TYPES.items()}
SUFFIX = ".sig"


def fingerprint(blob: bytes) -> str:
    """`SHA256:<unpadded base64>` of a public key's wire form, as `ssh-keygen -l` prints it: the `keyid` of
    every signature drift makes."""
    return "SHA256:" + base64.b64encode(hashlib.sha256(blob).digest()).decode("ascii").rstrip("=")


def signature_path(path: Path) -> Path:
    """Where the signature of `path` lives: `<path>.sig`, beside it."""
    return path.with_name(path.name + SUFFIX)


@dataclass(frozen=True)
class Statement:
    """What a signature vouches for."""

    kind: str
    """`inventory`, `catalog` or `scan`."""
    subject: str
    """The signed file's name (`catalog` for a catalog)."""
    sha256: str
    """Its SHA-256, hex (for a catalog: the catalog digest)."""
    predicate: dict[str, Any]
    """The kind's predicate."""

    def payload(self) -> bytes:
        """The in-toto Statement v1, as canonical JSON bytes."""
        doc = {
            "_type": STATEMENT_TYPE,
            "subject": [{"name": self.subject, "digest": {"sha256": self.sha256}}],
            "predicateType": PREDICATE_TYPES[self.kind],
            "predicate": self.predicate,
        }
        return json.dumps(doc, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")


def inventory_statement(name: str, sha256: str, inventory: dict[str, Any], signed_at: str) -> Statement:
    """The statement of an inventory file named `name` with SHA-256 `sha256`, whose document is `inventory`:
    its tenant, collection time, collector and exclusions."""
    predicate = {
        "tenant": inventory["tenant"],
        "collected_at": inventory["collected_at"],
        "collector": inventory["collector"],
        "excluded": list(inventory.get("excluded", [])),
        "signed_at": signed_at,
    }
    return Statement(INVENTORY, name, sha256, predicate)


def now_utc(now: dt.datetime | None = None) -> str:
    """An RFC 3339 UTC time to the second."""
    return (now or dt.datetime.now(dt.timezone.utc)).astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")  # noqa: UP017


def pae(payload: bytes, payload_type: str = PAYLOAD_TYPE) -> bytes:
    """DSSE's pre-authentication encoding: the bytes a signature is over."""
    kind = payload_type.encode("utf-8")
    return b"DSSEv1 %d %b %d %b" % (len(kind), kind, len(payload), payload)


def envelope_json(payload: bytes, keyid: str, signature: bytes) -> bytes:
    """A signature file: the DSSE envelope of `payload` with one signature, as drift writes it."""
    envelope = {
        "payload": base64.standard_b64encode(payload).decode("ascii"),
        "payloadType": PAYLOAD_TYPE,
        "signatures": [{"keyid": keyid, "sig": base64.standard_b64encode(signature).decode("ascii")}],
    }
    return (json.dumps(envelope, sort_keys=True, indent=2) + "\n").encode("utf-8")
