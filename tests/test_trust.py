"""Signatures and trust (SPEC 10) on real key files, real signature files and real trust files."""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import stat
import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.serialization import load_ssh_public_key

from drift.errors import TrustError
from drift.trust.envelope import open_signature, write_signature
from drift.trust.keys import generate_key, load_signing_key, public_key
from drift.trust.statement import PAYLOAD_TYPE, Statement, now_utc, signature_path
from drift.trust.trustfile import load_trust
from drift.trust.verify import file_sha256, verify_signature
from tests.builders import write_yaml

TODAY = dt.date(2026, 12, 6)


def key_pair(folder: Path, name: str) -> Path:
    path = folder / name
    generate_key(path)
    return path


def trust_file(folder: Path, *keys: dict, require: tuple[str, ...] = ()) -> Path:
    return write_yaml(folder / "trust.yaml", {"require": list(require), "keys": list(keys)})


def entry(key: Path, id: str, signs: str, **extra: object) -> dict:
    return {"id": id, "public_key": (key.parent / (key.name + ".pub")).read_text().strip(), "signs": signs, **extra}


def sign_inventory(path: Path, key: Path, tenant: str = "402206") -> None:
    predicate = {"tenant": tenant, "collected_at": "2026-12-01T00:00:00Z", "collector": "drift", "excluded": [], "signed_at": now_utc()}
    write_signature(path, Statement("inventory", path.name, file_sha256(path), predicate), load_signing_key(key))


@pytest.fixture
def signed(tmp_path: Path) -> tuple[Path, Path]:
    key = key_pair(tmp_path, "munakata")
    inventory = tmp_path / "402206.json"
    inventory.write_text('{"an": "inventory"}\n')
    sign_inventory(inventory, key)
    return inventory, key


def test_a_generated_key_is_private_and_its_public_half_is_an_openssh_line(tmp_path):
    key = key_pair(tmp_path, "k")
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600
    line = (tmp_path / "k.pub").read_text()
    assert line.startswith("ssh-ed25519 AAAA") and line.endswith(" drift\n")
    with pytest.raises(TrustError, match="never overwrites"):
        generate_key(key)


def test_the_fingerprint_is_what_ssh_keygen_prints(tmp_path):
    key = key_pair(tmp_path, "k")
    printed = subprocess.run(["ssh-keygen", "-lf", str(tmp_path / "k.pub")], capture_output=True, text=True, check=False)
    if printed.returncode != 0:
        pytest.skip("no ssh-keygen here")
    assert printed.stdout.split()[1] == load_signing_key(key).public.fingerprint


def test_an_openssh_key_made_by_ssh_keygen_signs_and_verifies(tmp_path):
    made = subprocess.run(["ssh-keygen", "-t", "ed25519", "-N", "", "-q", "-f", str(tmp_path / "staff")], capture_output=True, check=False)
    if made.returncode != 0:
        pytest.skip("no ssh-keygen here")
    inventory = tmp_path / "402206.json"
    inventory.write_text("{}\n")
    sign_inventory(inventory, tmp_path / "staff")
    trust = load_trust(trust_file(tmp_path, entry(tmp_path / "staff", "staff", "inventory", tenants=["402206"])))
    assert verify_signature(inventory, trust, kind="inventory", tenant="402206", today=TODAY).ok


def test_the_envelope_verifies_with_an_independent_implementation(signed):
    """DSSE's pre-authentication encoding written out by hand, and the signature checked by `cryptography` alone."""
    inventory, key = signed
    envelope = json.loads(signature_path(inventory).read_text())
    assert envelope["payloadType"] == PAYLOAD_TYPE
    payload = base64.b64decode(envelope["payload"])
    pae = b"DSSEv1 %d %s %d %s" % (len(PAYLOAD_TYPE), PAYLOAD_TYPE.encode(), len(payload), payload)
    public = load_ssh_public_key((key.parent / "munakata.pub").read_bytes())
    public.verify(base64.b64decode(envelope["signatures"][0]["sig"]), pae)  # raises InvalidSignature if not
    statement = json.loads(payload)
    assert statement["_type"] == "https://in-toto.io/Statement/v1"
    assert statement["subject"] == [{"name": "402206.json", "digest": {"sha256": file_sha256(inventory)}}]
    assert statement["predicateType"] == "urn:drift-audit:predicate:inventory:v1"


def test_a_good_signature_by_a_key_allowed_for_the_tenant_verifies(signed, tmp_path):
    inventory, key = signed
    trust = load_trust(trust_file(tmp_path, entry(key, "munakata-2026", "inventory", tenants=["402206"])))
    checked = verify_signature(inventory, trust, kind="inventory", tenant="402206", today=TODAY)
    assert (checked.ok, checked.key, checked.kind) == (True, "munakata-2026", "inventory")
    assert checked.describe().startswith(f"{inventory}: OK: inventory of tenant 402206 signed by munakata-2026 (SHA256:")


@pytest.mark.parametrize(
    ("extra", "tenant", "reason"),
    [
        ({"tenants": ["131211"]}, "402206", "key munakata may not vouch for tenant 402206"),
        ({"tenants": ["402206"], "expires": dt.date(2026, 12, 5)}, "402206", "key munakata expired on 2026-12-05"),
        ({"tenants": ["402206"], "revoked": True}, "402206", "key munakata is revoked"),
        ({"tenants": ["*"]}, "131211", "the signature vouches for another tenant's inventory, not 131211's"),
    ],
)
def test_a_key_not_allowed_is_refused_with_the_reason(signed, tmp_path, extra, tenant, reason):
    inventory, key = signed
    trust = load_trust(trust_file(tmp_path, entry(key, "munakata", "inventory", **extra)))
    checked = verify_signature(inventory, trust, kind="inventory", tenant=tenant, today=TODAY)
    assert (checked.ok, checked.reason) == (False, reason)


def test_a_key_for_catalogs_cannot_vouch_for_an_inventory(signed, tmp_path):
    inventory, key = signed
    trust = load_trust(trust_file(tmp_path, entry(key, "vendor", "catalog")))
    assert verify_signature(inventory, trust, kind="inventory", tenant="402206", today=TODAY).reason == "key vendor may sign catalogs, not inventories"


def test_an_edited_file_a_foreign_key_and_a_forged_signature_never_verify(signed, tmp_path):
    inventory, key = signed
    trust = load_trust(trust_file(tmp_path, entry(key, "munakata", "inventory", tenants=["402206"])))
    inventory.write_text('{"an": "inventorz"}\n')
    assert verify_signature(inventory, trust, today=TODAY).reason == "the signature is of other bytes: the file was changed after it was signed"
    other = key_pair(tmp_path, "other")
    sign_inventory(inventory, other)
    assert verify_signature(inventory, trust, today=TODAY).reason.startswith("signed by a key the trust file does not know (SHA256:")
    # a signature made by another key, relabelled with the trusted key's id
    envelope = json.loads(signature_path(inventory).read_text())
    envelope["signatures"][0]["keyid"] = load_signing_key(key).public.fingerprint
    signature_path(inventory).write_text(json.dumps(envelope))
    assert verify_signature(inventory, trust, today=TODAY).reason == "the signature does not verify"


@pytest.mark.parametrize("content", [b"", b"not json", b'{"payload": "e30=", "payloadType": "text/plain", "signatures": []}', b"[" * 100_000])
def test_a_broken_signature_file_is_a_reason_not_a_crash(signed, tmp_path, content):
    inventory, key = signed
    signature_path(inventory).write_bytes(content)
    trust = load_trust(trust_file(tmp_path, entry(key, "munakata", "inventory", tenants=["402206"])))
    checked = verify_signature(inventory, trust, today=TODAY)
    assert not checked.ok and checked.reason


def test_no_signature_is_a_reason(tmp_path):
    inventory = tmp_path / "402206.json"
    inventory.write_text("{}")
    key = key_pair(tmp_path, "k")
    trust = load_trust(trust_file(tmp_path, entry(key, "k", "inventory", tenants=["*"])))
    assert verify_signature(inventory, trust, today=TODAY).reason == "no signature"
    with pytest.raises(TrustError, match="no signature"):
        open_signature(signature_path(inventory))


@pytest.mark.parametrize(
    ("doc", "where"),
    [
        ({"keys": [{"id": "a", "signs": "inventory", "tenants": ["*"]}]}, "keys[0].public_key"),
        ({"keys": [{"id": "a", "public_key": "ssh-rsa AAAAB3", "signs": "inventory", "tenants": ["*"]}]}, "keys[0].public_key"),
        ({"keys": [{"id": "a", "public_key": "ssh-ed25519 !!!", "signs": "inventory", "tenants": ["*"]}]}, "keys[0].public_key"),
        ({"require": ["everything"]}, "require"),
        ({"keys": [{"id": "a", "public_key": "PUB", "signs": "inventory"}]}, "keys[0].tenants"),
        ({"keys": [{"id": "a", "public_key": "PUB", "signs": "catalog", "tenants": ["*"]}]}, "keys[0].tenants"),
        ({"keys": [{"id": "a", "public_key": "PUB", "signs": "gate"}]}, "keys[0].signs"),
        ({"keys": [{"id": "a", "public_key": "PUB", "signs": "scan", "expires": "soon"}]}, "keys[0].expires"),
        ({"keys": [{"id": "a", "public_key": "PUB", "signs": "scan", "colour": "red"}]}, "keys[0]"),
        ({"keys": [{"id": "a", "public_key": "PUB", "signs": "scan"}, {"id": "a", "public_key": "PUB", "signs": "catalog"}]}, "keys[1].id"),
        ({"keys": [{"id": "a", "public_key": "PUB", "signs": "inventory", "tenants": ["402207"]}]}, "keys[0].tenants[0]"),
    ],
)
def test_a_bad_trust_file_names_the_field(tmp_path, doc, where):
    key_pair(tmp_path, "k")
    line = (tmp_path / "k.pub").read_text().strip()
    for item in doc.get("keys", []):
        if item.get("public_key") == "PUB":
            item["public_key"] = line
    path = write_yaml(tmp_path / "trust.yaml", doc)
    with pytest.raises(TrustError) as caught:
        load_trust(path)
    assert str(caught.value).startswith(f"{path}: {where}: ")


def test_a_public_key_line_that_is_not_ed25519_is_refused():
    with pytest.raises(TrustError, match="not an OpenSSH Ed25519 public key"):
        public_key("ecdsa-sha2-nistp256 AAAA x", source="trust.yaml", where="keys[0].public_key")


def test_an_encrypted_key_needs_the_passphrase(tmp_path, monkeypatch):
    made = subprocess.run(["ssh-keygen", "-t", "ed25519", "-N", "secret", "-q", "-f", str(tmp_path / "locked")], capture_output=True, check=False)
    if made.returncode != 0:
        pytest.skip("no ssh-keygen here")
    monkeypatch.delenv("DRIFT_KEY_PASSPHRASE", raising=False)
    with pytest.raises(TrustError, match="DRIFT_KEY_PASSPHRASE"):
        load_signing_key(tmp_path / "locked")
    monkeypatch.setenv("DRIFT_KEY_PASSPHRASE", "secret")
    assert load_signing_key(tmp_path / "locked").public.fingerprint.startswith("SHA256:")
