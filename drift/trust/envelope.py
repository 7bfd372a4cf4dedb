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

import json
from dataclasses import dataclass
from pathlib import Path

from securesystemslib.dsse import Envelope
from securesystemslib.exceptions import FormatError

from drift.atomic import write_atomic
from drift.errors import TrustError
from drift.paths import read_regular
from drift.trust.keys import SigningKey
from drift.trust.statement import KIND_OF, PAYLOAD_TYPE, STATEMENT_TYPE, Statement, signature_path

MAX_ENVELOPE = 1 << 20
"""Bytes of a signature file: an envelope is a few hundred; anything larger is not one."""


@dataclass(frozen=True)
class Signed:
    """A signature file opened, not yet verified."""

    envelope: Envelope
    """The DSSE envelope."""
    statement: Statement
    """Its payload."""
    keyids: tuple[str, ...]
    """The key ids of its signatures."""


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
        data = read_regular(sig_path, MAX_ENVELOPE)
    except FileNotFoundError as exc:
        raise TrustError("no signature", source=sig_path) from exc
    except OSError as exc:
        raise TrustError(f"cannot read the signature: {exc.strerror or exc}", source=sig_path) from exc
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
