"""Signature files: a DSSE envelope carrying an in-toto Statement v1 about one signed thing (SPEC 10).

`<file>.sig` holds the envelope as JSON (`payloadType` `application/vnd.in-toto+json`). Its payload is a
Statement naming the signed file and its SHA-256, with one of drift's predicates:

- `urn:drift-audit:predicate:inventory:v1`: `{tenant, collected_at, collector, excluded, signed_at}`;
- `urn:drift-audit:predicate:catalog:v1`: `{product, catalog_version, expires, signed_at}`; its subject is
  the catalog (`name: "catalog"`) and the digest is the catalog digest (every catalog file but the
  signature itself);
- `urn:drift-audit:predicate:scan:v1`: `{scan, catalog_digest, policy, signed_at}`.

The envelope's signature is securesystemslib's (DSSE pre-authentication encoding, Ed25519), its `keyid` the
signing key's OpenSSH fingerprint, so any DSSE implementation can check it.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from securesystemslib.dsse import Envelope
from securesystemslib.exceptions import FormatError

from drift.atomic import write_atomic
from drift.errors import TrustError
from drift.trust.keys import SigningKey

PAYLOAD_TYPE = "application/vnd.in-toto+json"
STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
INVENTORY, CATALOG, SCAN = "inventory", "catalog", "scan"
KINDS = (INVENTORY, CATALOG, SCAN)
PREDICATE_TYPES = {kind: f"urn:drift-audit:predicate:{kind}:v1" for kind in KINDS}
"""What each kind of signed thing says, versioned."""
KIND_OF = {uri: kind for kind, uri in PREDICATE_TYPES.items()}
SUFFIX = ".sig"
MAX_ENVELOPE = 1 << 20
"""Bytes of a signature file: an envelope is a few hundred; anything larger is not one."""


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


@dataclass(frozen=True)
class Signed:
    """A signature file opened, not yet verified."""

    envelope: Envelope
    """The DSSE envelope."""
    statement: Statement
    """Its payload."""
    keyids: tuple[str, ...]
    """The key ids of its signatures."""


def now_utc(now: dt.datetime | None = None) -> str:
    """An RFC 3339 UTC time to the second."""
    return (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def sign(statement: Statement, key: SigningKey) -> bytes:
    """The envelope of `statement`, signed with `key`, as the bytes of a signature file."""
    envelope = Envelope(statement.payload(), PAYLOAD_TYPE, {})
    envelope.sign(key.signer)
    return (json.dumps(envelope.to_dict(), sort_keys=True, indent=2) + "\n").encode("utf-8")


def write_signature(path: Path, statement: Statement, key: SigningKey) -> Path:
    """Sign and write `<path>.sig` whole or not at all; returns its path."""
    target = signature_path(path)
    write_atomic(target, sign(statement, key))
    return target


def open_signature(sig_path: Path) -> Signed:
    """Read a signature file: a DSSE envelope of an in-toto Statement v1 with one of drift's predicates."""
    try:
        with open(sig_path, "rb") as handle:
            data = handle.read(MAX_ENVELOPE + 1)
    except FileNotFoundError as exc:
        raise TrustError("no signature", source=sig_path) from exc
    except OSError as exc:
        raise TrustError(f"cannot read the signature: {exc.strerror or exc}", source=sig_path) from exc
    if len(data) > MAX_ENVELOPE:
        raise TrustError(f"larger than {MAX_ENVELOPE:,} bytes: not a signature", source=sig_path)
    try:
        raw = json.loads(data)
        envelope = Envelope.from_dict(raw)
    except (ValueError, KeyError, TypeError, AttributeError, FormatError, RecursionError) as exc:
        raise TrustError("not a DSSE envelope", source=sig_path) from exc
    if envelope.payload_type != PAYLOAD_TYPE:
        raise TrustError(f"payload type must be {PAYLOAD_TYPE}", source=sig_path, where="payloadType")
    return Signed(envelope, _statement(envelope.payload, sig_path), tuple(envelope.signatures))


def _statement(payload: bytes, source: Path) -> Statement:
    try:
        doc = json.loads(payload)
    except (ValueError, RecursionError) as exc:
        raise TrustError("the payload is not JSON", source=source, where="payload") from exc
    if not isinstance(doc, dict) or doc.get("_type") != STATEMENT_TYPE:
        raise TrustError(f"the payload is not an in-toto Statement ({STATEMENT_TYPE})", source=source, where="payload._type")
    kind = KIND_OF.get(doc.get("predicateType"))  # type: ignore[arg-type]
    if kind is None:
        raise TrustError("not one of drift's predicate types", source=source, where="payload.predicateType")
    subjects = doc.get("subject")
    if not isinstance(subjects, list) or len(subjects) != 1 or not isinstance(subjects[0], dict):
        raise TrustError("needs exactly one subject", source=source, where="payload.subject")
    name, digest = subjects[0].get("name"), subjects[0].get("digest")
    sha = digest.get("sha256") if isinstance(digest, dict) else None
    if not isinstance(name, str) or not isinstance(sha, str) or len(sha) != 64:
        raise TrustError("the subject needs a name and a sha256", source=source, where="payload.subject[0]")
    predicate = doc.get("predicate")
    if not isinstance(predicate, dict):
        raise TrustError("the predicate must be an object", source=source, where="payload.predicate")
    return Statement(kind, name, sha, predicate)
