"""The one-file collector's signature on an inventory (`--sign KEYFILE`), in the standard library alone.

`drift collect --sign` signs with securesystemslib over `cryptography` (`drift.trust`); the one-file
collector cannot carry either, so it writes the same signature file itself (`drift.trust.statement`):
- the key is an Ed25519 private key in OpenSSH's format (what `ssh-keygen -t ed25519` and `drift key
  generate` write) or PKCS#8 PEM, without a passphrase; an encrypted key is opened only where the server's
  Python has `cryptography` (and `bcrypt`), with the passphrase in `DRIFT_KEY_PASSPHRASE`;
- the signature is made with `cryptography` where the server's Python has it, else with the pure-Python
  Ed25519 that the bundle carries (the in-toto project's copy of the Ed25519 reference code, vendored in
  securesystemslib). Ed25519 is deterministic: both give the same signature. The pure-Python code does not
  run in constant time, so on a server where another user could time it, install `cryptography` or sign
  elsewhere (`drift collect --sign`).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import os
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from drift.errors import InputError
from drift.paths import read_regular
from drift.trust.statement import envelope_json, fingerprint, inventory_statement, now_utc, pae

PASSPHRASE_VARIABLE = "DRIFT_KEY_PASSPHRASE"
_MAX_KEY_FILE = 64 << 10
_OPENSSH = b"-----BEGIN OPENSSH PRIVATE KEY-----"
_PKCS8_ED25519 = bytes.fromhex("302e020100300506032b657004220420")
"""The DER of a PKCS#8 Ed25519 private key up to its 32-byte seed."""


@dataclass(frozen=True)
class Key:
    """An Ed25519 private key: its seed and public key, and how it signs."""

    seed: bytes
    public: bytes
    source: str

    @property
    def keyid(self) -> str:
        """Its fingerprint as `ssh-keygen -l` prints it: the `keyid` of its signatures."""
        return fingerprint(_string(b"ssh-ed25519") + _string(self.public))

    def sign(self, message: bytes) -> bytes:
        """The Ed25519 signature of `message`."""
        try:
            from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
        except ImportError:
            return _pure().signature_unsafe(message, self.seed, self.public)  # type: ignore[no-any-return]
        return Ed25519PrivateKey.from_private_bytes(self.seed).sign(message)


def signer_name() -> str:
    """Which Ed25519 code signs here."""
    try:
        import cryptography  # noqa: F401
    except ImportError:
        return "pure-Python Ed25519: this Python has no cryptography package"
    return "cryptography"


def _pure() -> Any:
    try:  # in the bundle: carried beside this module
        from drift.collect import ed25519_pure  # type: ignore[attr-defined]
    except ImportError:  # installed drift: where the bundle takes it from
        from securesystemslib._vendor.ed25519 import ed25519 as ed25519_pure
    return ed25519_pure


def load_key(path: Path) -> Key:
    """Read an Ed25519 private key; `InputError` (exit 2) naming the file when it cannot be used."""
    try:
        data = read_regular(path, _MAX_KEY_FILE)
    except OSError as exc:
        raise InputError(f"cannot read the key: {exc.strerror or exc}", source=path, where="--sign") from exc
    try:
        if data.lstrip().startswith(_OPENSSH):
            return _openssh(data, path)
        if data.lstrip().startswith(b"-----BEGIN PRIVATE KEY-----"):
            der = base64.b64decode(b"".join(data.strip().splitlines()[1:-1]), validate=True)
            if len(der) == 48 and der.startswith(_PKCS8_ED25519):
                return _key(der[16:], path)
            raise InputError("not an Ed25519 key (ssh-keygen -t ed25519, or drift key generate)", source=path, where="--sign")
    except (ValueError, IndexError, struct.error) as exc:
        raise InputError("not a private key this collector can read (OpenSSH or PKCS#8 PEM)", source=path, where="--sign") from exc
    if data.lstrip().startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----"):
        return _with_cryptography(data, path)
    raise InputError("not a private key this collector can read (OpenSSH or PKCS#8 PEM)", source=path, where="--sign")


def _openssh(data: bytes, path: Path) -> Key:
    lines = data.strip().splitlines()
    blob = base64.b64decode(b"".join(lines[1:-1]), validate=True)
    magic = b"openssh-key-v1\x00"
    if not blob.startswith(magic):
        raise ValueError("not openssh-key-v1")
    at = len(magic)
    cipher, at = _read_string(blob, at)
    _kdf, at = _read_string(blob, at)
    _options, at = _read_string(blob, at)
    (count,) = struct.unpack(">I", blob[at : at + 4])
    at += 4
    if cipher != b"none":
        return _with_cryptography(data, path)
    if count != 1:
        raise InputError("holds more than one key", source=path, where="--sign")
    public_blob, at = _read_string(blob, at)
    private, at = _read_string(blob, at)
    check1, check2 = struct.unpack(">II", private[:8])
    if check1 != check2:
        raise ValueError("check integers differ")
    kind, p = _read_string(private, 8)
    if kind != b"ssh-ed25519":
        raise InputError("not an Ed25519 key (ssh-keygen -t ed25519, or drift key generate)", source=path, where="--sign")
    public, p = _read_string(private, p)
    secret, p = _read_string(private, p)
    if len(public) != 32 or len(secret) != 64 or secret[32:] != public or public_blob != _string(kind) + _string(public):
        raise ValueError("inconsistent key")
    return _key(secret[:32], path, public)


def _key(seed: bytes, path: Path, public: bytes | None = None) -> Key:
    derived = _public_of(seed)
    if public is not None and derived != public:
        raise InputError("its public key does not belong to its private key", source=path, where="--sign")
    return Key(seed, derived, str(path))


def _public_of(seed: bytes) -> bytes:
    try:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    except ImportError:
        return _pure().publickey_unsafe(seed)  # type: ignore[no-any-return]
    return Ed25519PrivateKey.from_private_bytes(seed).public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def _with_cryptography(data: bytes, path: Path) -> Key:
    """An encrypted key, opened by `cryptography` with `DRIFT_KEY_PASSPHRASE` where this Python has it."""
    try:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    except ImportError:
        raise InputError(
            "the key is encrypted, and this Python has no cryptography package to open it: sign with `drift collect --sign`, "
            "or use a key without a passphrase (mode 0600)", source=path, where="--sign",
        ) from None
    passphrase = os.environ.get(PASSPHRASE_VARIABLE)
    if not passphrase:
        raise InputError(f"the key is encrypted: set {PASSPHRASE_VARIABLE}", source=path, where="--sign")
    private: object
    try:
        if data.lstrip().startswith(_OPENSSH):
            private = serialization.load_ssh_private_key(data, passphrase.encode("utf-8"))
        else:
            private = serialization.load_pem_private_key(data, passphrase.encode("utf-8"))
    except (ValueError, TypeError) as exc:
        raise InputError("cannot open the key: a wrong passphrase, or a format this collector cannot read", source=path, where="--sign") from exc
    except Exception as exc:  # bcrypt missing, an unsupported cipher: one line, never a traceback
        raise InputError(f"cannot open the key ({type(exc).__name__}: {exc})", source=path, where="--sign") from exc
    if not isinstance(private, Ed25519PrivateKey):
        raise InputError("not an Ed25519 key (ssh-keygen -t ed25519, or drift key generate)", source=path, where="--sign")
    seed = private.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption())
    return _key(seed, path)


def inventory_signature(name: str, data: bytes, key: Key, now: dt.datetime | None = None) -> bytes:
    """The signature file of the inventory named `name` whose bytes are `data`."""
    document = json.loads(data.decode("utf-8"))
    payload = inventory_statement(name, hashlib.sha256(data).hexdigest(), document, now_utc(now)).payload()
    return envelope_json(payload, key.keyid, key.sign(pae(payload)))


def _string(value: bytes) -> bytes:
    return struct.pack(">I", len(value)) + value


def _read_string(blob: bytes, at: int) -> tuple[bytes, int]:
    (length,) = struct.unpack(">I", blob[at : at + 4])
    end = at + 4 + length
    if end > len(blob):
        raise ValueError("truncated")
    return blob[at + 4 : end], end
