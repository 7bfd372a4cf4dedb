"""The one-file collector signs as `drift collect --sign` does, on a Python with nothing installed."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from drift.cli import main
from drift.collect import sign as bundle_sign
from drift.trust.inventories import sign_inventory
from drift.trust.keys import load_signing_key
from tests.builders import redigest, write_yaml
from tests.builders import run_cli as run
from tests.demo import demo_site
from tests.test_bundle import PYTHON39

TENANT = "402206"
NOW = dt.datetime(2026, 12, 6, 9, 0, 0, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("bundle") / "drift-collect.pyz"
    assert CliRunner().invoke(main, ["bundle", "collector", "--out", str(out)]).exit_code == 0
    return out


@pytest.fixture
def site(demo_root: Path) -> Path:
    demo_site(demo_root)
    assert run(demo_root, "key", "generate", "--out", "munakata").exit_code == 0
    assert run(demo_root, "key", "generate", "--out", "stranger").exit_code == 0
    write_yaml(demo_root / "trust.yaml", {"require": ["inventory"], "keys": [
        {"id": "munakata", "public_key": (demo_root / "munakata.pub").read_text().strip(), "signs": "inventory", "tenants": [TENANT]},
    ]})
    return demo_root


def _bundle(bundle: Path, site: Path, *args: str, python: str = sys.executable) -> subprocess.CompletedProcess[str]:
    """The bundle as a tenant's server runs it: a Python with no site-packages (no cryptography)."""
    return subprocess.run([python, "-I", "-S", str(bundle), *args], cwd=site, capture_output=True, text=True, check=False,
                          env={"PATH": os.environ.get("PATH", "")})


def test_the_bundle_signs_without_cryptography_and_drift_verifies_it(bundle: Path, site: Path) -> None:
    (site / "keys.json").write_text('[["conf/app.properties", "print.lock"]]', encoding="utf-8")
    done = _bundle(bundle, site, "tree", "--tenant", TENANT, "--out", f"inventory/{TENANT}.json", "--config-keys", "keys.json", "--sign", "munakata")
    assert done.returncode == 0, done.stderr
    fingerprint = load_signing_key(site / "munakata").public.fingerprint
    assert f"inventory/{TENANT}.json.sig: signed by {fingerprint} (pure-Python Ed25519" in done.stderr
    verified = run(site, "verify", f"inventory/{TENANT}.json", "--trust", "trust.yaml")
    assert verified.exit_code == 0, verified.output
    scanned = json.loads(run(site, "scan", "--format", "json", "--trust", "trust.yaml").stdout)["tenants"][0]
    assert (scanned["signed_by"], scanned["signature"]) == ("munakata", "signed by munakata")
    assert {f["status"] for f in scanned["findings"]} <= {"applied", "not-applicable", "missing"}  # 2.2 lacks only DEMO-0005 (1.x)
    # edited after signing, digest and all: the signature is refused, and the gate blocks
    inventory = site / "inventory" / f"{TENANT}.json"
    inventory.write_text(redigest(inventory.read_text(encoding="utf-8")
                                  .replace('"changed_during_collection": false', '"changed_during_collection": true')), encoding="utf-8")
    assert run(site, "verify", f"inventory/{TENANT}.json", "--trust", "trust.yaml").exit_code == 1
    assert run(site, "gate", "--trust", "trust.yaml").exit_code == 1


def test_its_signature_file_is_byte_for_byte_drifts(site: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert run(site, "collect", "tree", "--tenant", TENANT, "--out", "a.json").exit_code == 0
    expected = sign_inventory(site / "a.json", load_signing_key(site / "munakata"), now=NOW).read_bytes()
    (site / "a.json.sig").unlink()
    monkeypatch.setitem(sys.modules, "cryptography", None)  # as on a server without it: the carried pure-Python code
    monkeypatch.setitem(sys.modules, "cryptography.hazmat.primitives.asymmetric.ed25519", None)
    key = bundle_sign.load_key(site / "munakata")
    assert bundle_sign.signer_name().startswith("pure-Python")
    assert bundle_sign.inventory_signature("a.json", (site / "a.json").read_bytes(), key, now=NOW) == expected
    monkeypatch.undo()
    assert bundle_sign.inventory_signature("a.json", (site / "a.json").read_bytes(), bundle_sign.load_key(site / "munakata"), now=NOW) == expected


@pytest.mark.skipif(shutil.which("ssh-keygen") is None, reason="no ssh-keygen on this machine")
def test_ssh_keygen_keys_sign_and_unusable_keys_are_one_line_exit_2_before_collecting(bundle: Path, site: Path) -> None:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "m", "-f", str(site / "ssh")], check=True)
    (site / "ssh-signed").mkdir()
    done = _bundle(bundle, site, "tree", "--tenant", TENANT, "--out", f"ssh-signed/{TENANT}.json", "--sign", "ssh")
    assert done.returncode == 0, done.stderr
    write_yaml(site / "trust-ssh.yaml", {"keys": [
        {"id": "ssh", "public_key": (site / "ssh.pub").read_text().strip(), "signs": "inventory", "tenants": [TENANT]},
    ]})
    assert run(site, "verify", f"ssh-signed/{TENANT}.json", "--trust", "trust-ssh.yaml").exit_code == 0
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "secret", "-f", str(site / "locked")], check=True)
    subprocess.run(["ssh-keygen", "-q", "-t", "rsa", "-b", "2048", "-N", "", "-f", str(site / "rsa")], check=True)
    (site / "junk").write_bytes(b"-----BEGIN OPENSSH PRIVATE KEY-----\n\x1b[2Jnot base64\n-----END OPENSSH PRIVATE KEY-----\n")
    for key, said in (
        ("locked", "the key is encrypted, and this Python has no cryptography package"),
        ("rsa", "not an Ed25519 key"),
        ("junk", "not a private key this collector can read"),
    ):
        refused = _bundle(bundle, site, "tree", "--tenant", TENANT, "--out", f"{key}.json", "--sign", key)
        assert refused.returncode == 2, refused.stderr
        assert refused.stderr == f"drift-collect: error: {key}: --sign: {refused.stderr.split('--sign: ', 1)[1]}"
        assert said in refused.stderr and refused.stderr.count("\n") == 1 and "\x1b" not in refused.stderr
        assert not (site / f"{key}.json").exists()


@pytest.mark.skipif(PYTHON39 is None, reason="no Python 3.9 installed")
def test_the_bundle_signs_on_python_3_9(bundle: Path, site: Path) -> None:
    assert PYTHON39 is not None
    done = _bundle(bundle, site, "tree", "--tenant", TENANT, "--out", f"{TENANT}.json", "--sign", "munakata", python=PYTHON39)
    assert done.returncode == 0, done.stderr
    assert run(site, "verify", f"{TENANT}.json", "--trust", "trust.yaml").exit_code == 0


def test_an_inventory_is_never_left_without_the_signature_asked_for(bundle: Path, site: Path) -> None:
    (site / "out").mkdir()
    (site / "out" / f"{TENANT}.json.sig").mkdir()  # the signature cannot be written there
    done = _bundle(bundle, site, "tree", "--tenant", TENANT, "--out", f"out/{TENANT}.json", "--sign", "munakata")
    assert done.returncode == 3 and done.stderr.endswith(f"drift-collect: error: out/{TENANT}.json.sig: cannot write: Is a directory\n")
    collected = run(site, "collect", "tree", "--tenant", TENANT, "--out", f"out/{TENANT}.json", "--sign", "munakata")
    assert collected.exit_code != 0
    assert not (site / "out" / f"{TENANT}.json").exists()
