"""Ed25519 keys: drift's own (`drift key generate`) and OpenSSH's, private and public (SPEC 10).

A private key file is OpenSSH's own format (what `ssh-keygen -t ed25519` writes, and what drift writes),
or PKCS#8 PEM; an encrypted one is opened with the passphrase in `DRIFT_KEY_PASSPHRASE`. A public key is one
OpenSSH line, `ssh-ed25519 AAAA... comment`. A key is named by its fingerprint as `ssh-keygen -l` prints it
(`SHA256:` and the unpadded base64 of the SHA-256 of the key's wire form): that is the `keyid` of every
signature drift makes.
"""

from __future__ import annotations

import base64
import binascii
import functools
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from securesystemslib.signer import CryptoSigner, SSlibKey

from drift.atomic import write_atomic
from drift.errors import TrustError
from drift.paths import read_regular
from drift.text import shown
from drift.trust.statement import fingerprint

PASSPHRASE_VARIABLE = "DRIFT_KEY_PASSPHRASE"
_MAX_KEY_FILE = 64 << 10


@dataclass(frozen=True, slots=True)
class PublicKey:
    """An Ed25519 public key and its names."""

    line: str
    """The OpenSSH line, `ssh-ed25519 AAAA...` (without its comment)."""
    fingerprint: str
    """`SHA256:...`, as `ssh-keygen -l` shows it: the key id of its signatures."""

    def sslib(self) -> SSlibKey:
        """The key as securesystemslib verifies with it (made once per key: a fleet scan checks thousands)."""
        return _sslib(self.line, self.fingerprint)


@functools.lru_cache(maxsize=256)
def _sslib(line: str, fingerprint: str) -> SSlibKey:
    loaded = serialization.load_ssh_public_key(line.encode("ascii"))
    if not isinstance(loaded, Ed25519PublicKey):  # `public_key` let only Ed25519 keys in
        raise TrustError("not an Ed25519 public key", where=fingerprint)
    return SSlibKey.from_crypto(loaded, keyid=fingerprint)


def public_key(line: str, *, source: str | Path, where: str) -> PublicKey:
    """Parse one OpenSSH public key line; anything but Ed25519 is refused."""
    parts = line.strip().split()
    if len(parts) < 2 or parts[0] != "ssh-ed25519":
        raise TrustError(f"not an OpenSSH Ed25519 public key ('ssh-ed25519 AAAA...'): {shown(line, 80)}", source=source, where=where)
    try:
        blob = base64.b64decode(parts[1], validate=True)
        loaded = serialization.load_ssh_public_key(f"ssh-ed25519 {parts[1]}".encode("ascii"))
    except (binascii.Error, ValueError, UnsupportedAlgorithm, UnicodeEncodeError) as exc:
        raise TrustError(f"not a valid Ed25519 public key: {exc}", source=source, where=where) from exc
    if not isinstance(loaded, Ed25519PublicKey):
        raise TrustError("not an Ed25519 public key", source=source, where=where)
    return PublicKey(f"ssh-ed25519 {parts[1]}", fingerprint(blob))


def _public_of(private: Ed25519PrivateKey) -> PublicKey:
    line = private.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode("ascii")
    return PublicKey(line, fingerprint(base64.b64decode(line.split()[1])))


@dataclass(frozen=True)
class SigningKey:
    """A private Ed25519 key, ready to sign."""

    public: PublicKey
    """Its public half."""
    signer: CryptoSigner
    """securesystemslib's signer, its key id the fingerprint."""
    source: str
    """The key file."""


def load_signing_key(path: Path) -> SigningKey:
    """Read a private Ed25519 key (OpenSSH or PKCS#8 PEM; encrypted: `DRIFT_KEY_PASSPHRASE`)."""
    try:
        data = read_regular(path, _MAX_KEY_FILE)
    except OSError as exc:
        raise TrustError(f"cannot read the key: {exc.strerror or exc}", source=path) from exc
    passphrase = os.environ.get(PASSPHRASE_VARIABLE)
    password = passphrase.encode("utf-8") if passphrase else None
    private: object
    try:
        if data.lstrip().startswith(b"-----BEGIN OPENSSH PRIVATE KEY-----"):
            private = serialization.load_ssh_private_key(data, password)
        else:
            private = serialization.load_pem_private_key(data, password)
    except TypeError as exc:  # encrypted without a passphrase, or a passphrase for a plain key
        raise TrustError(f"the key is encrypted: set {PASSPHRASE_VARIABLE}" if password is None else f"cannot open the key: {exc}", source=path) from exc
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise TrustError("not a private key drift can read (OpenSSH or PKCS#8 PEM), or a wrong passphrase", source=path) from exc
    if not isinstance(private, Ed25519PrivateKey):
        raise TrustError("not an Ed25519 key (ssh-keygen -t ed25519, or drift key generate)", source=path)
    public = _public_of(private)
    return SigningKey(public, CryptoSigner(private, SSlibKey.from_crypto(private.public_key(), keyid=public.fingerprint)), str(path))


def generate_key(out: Path, comment: str = "drift") -> PublicKey:
    """Write a new Ed25519 key: the private key to `out` (OpenSSH format, mode 0600) and its public line to
    `out.pub`. An existing file is never overwritten: a lost key cannot be undone."""
    pub_path = out.with_name(out.name + ".pub")
    for path in (out, pub_path):
        if path.exists() or path.is_symlink():
            raise TrustError("exists already; drift never overwrites a key", source=path, where="--out")
    if not comment.isprintable() or any(ch.isspace() for ch in comment):
        raise TrustError("a key comment must be one printable word", source=out, where="comment")
    private = Ed25519PrivateKey.generate()
    data = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption())
    _write_private(out, data)
    public = _public_of(private)
    write_atomic(pub_path, f"{public.line} {comment}\n")
    return public


def _write_private(path: Path, data: bytes) -> None:
    """Create the private key file with mode 0600 from the start (never readable by others, not even briefly)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
    except OSError as exc:
        raise TrustError(f"cannot create the key file: {exc.strerror or exc}", source=path, where="--out") from exc
    try:
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), 0o600)
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
    except OSError as exc:
        path.unlink(missing_ok=True)
        raise TrustError(f"cannot write the key file: {exc.strerror or exc}", source=path) from exc
