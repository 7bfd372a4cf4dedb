"""Signed evidence through the command line (SPEC 10): collect with a key, scan with a trust file, verify."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
from pathlib import Path

import pytest

from drift.catalog import load_catalog
from drift.trust.catalogs import sign_catalog
from drift.trust.keys import load_signing_key
from tests.builders import redigest, write_yaml
from tests.builders import run_cli as run
from tests.demo import release_files

TENANT, OTHER = "402206", "131211"




def ok(root: Path, *args: str):
    result = run(root, *args)
    assert result.exit_code == 0, result.output
    return result


@pytest.fixture
def site(demo_root: Path) -> Path:
    """Two tenants on 2.2, a municipality key for 402206, a vendor key, an auditor key, and a trust file."""
    write_yaml(demo_root / "inventory" / "tenants.yaml", [
        {"id": tid, "name": f"tenant {tid}", "prefecture": "福岡県", "edition": "seirei", "line": "2.x", "modules": ["konbini"]}
        for tid in (TENANT, OTHER)
    ])
    for tid in (TENANT, OTHER):
        tree = demo_root / f"tree-{tid}"
        for path, data in release_files("2.x", "2.2").items():
            (tree / path).parent.mkdir(parents=True, exist_ok=True)
            (tree / path).write_bytes(data)
    keys = demo_root / "keys"
    keys.mkdir()
    for name in ("munakata", "adachi", "vendor", "auditor"):
        ok(demo_root, "key", "generate", "--out", str(keys / name))
    trust(demo_root)
    return demo_root


def public(site: Path, name: str) -> str:
    return (site / "keys" / f"{name}.pub").read_text().strip()


def trust(site: Path, *, require: tuple[str, ...] = ("inventory",), munakata: dict | None = None, vendor: dict | None = None) -> None:
    write_yaml(site / "inventory" / "trust.yaml", {"require": list(require), "keys": [
        {"id": "munakata-2026", "public_key": public(site, "munakata"), "signs": "inventory", "tenants": [TENANT], **(munakata or {})},
        {"id": "adachi-2026", "public_key": public(site, "adachi"), "signs": "inventory", "tenants": [OTHER]},
        {"id": "vendor", "public_key": public(site, "vendor"), "signs": "catalog", **(vendor or {})},
        {"id": "auditor", "public_key": public(site, "auditor"), "signs": "scan"},
    ]})


def collect(site: Path, tenant: str, key: str | None) -> Path:
    out = site / "inventory" / f"{tenant}.json"
    args = ["collect", f"tree-{tenant}", "--tenant", tenant, "--out", str(out)]
    ok(site, *args, *(["--sign", str(site / "keys" / key)] if key else []))
    return out


def scanned(site: Path, *extra: str) -> dict[str, dict]:
    result = ok(site, "scan", "--format", "json", *extra)
    return {t["id"]: t for t in json.loads(result.stdout)["tenants"]}


def statuses(tenant: dict) -> set[str]:
    return {f["status"] for f in tenant["findings"]}


def test_signed_inventories_are_judged_and_say_who_signed(site):
    collect(site, TENANT, "munakata")
    collect(site, OTHER, "adachi")
    tenants = scanned(site)
    assert tenants[TENANT]["signed_by"] == "munakata-2026" and tenants[TENANT]["signature"] == "signed by munakata-2026"
    assert "applied" in statuses(tenants[TENANT]) and "unverifiable" not in statuses(tenants[TENANT])
    assert run(site, "gate").exit_code == 0
    csv_text = ok(site, "export", "csv").stdout
    assert "signed by munakata-2026" in csv_text and "signed by adachi-2026" in csv_text


def test_an_edited_and_re_digested_inventory_is_unverifiable_and_the_gate_blocks(site):
    path = collect(site, TENANT, "munakata")
    collect(site, OTHER, "adachi")
    text = path.read_text(encoding="utf-8")
    edited = text.replace('"changed_during_collection": false', '"changed_during_collection": true')
    assert edited != text
    path.write_text(redigest(edited), encoding="utf-8")
    tenants = scanned(site)
    assert tenants[TENANT]["signed_by"] is None
    assert tenants[TENANT]["signature"] == "signature refused: the signature is of other bytes: the file was changed after it was signed"
    assert statuses(tenants[TENANT]) <= {"unverifiable", "not-applicable"} and "unverifiable" in statuses(tenants[TENANT])
    reasons = {f["reason"] for f in tenants[TENANT]["findings"] if f["status"] == "unverifiable"}
    assert reasons == {"inventory signature refused: the signature is of other bytes: the file was changed after it was signed"}
    gate = run(site, "gate")
    assert gate.exit_code == 1 and TENANT in gate.output


def test_a_signature_by_a_key_allowed_for_another_tenant_is_refused(site):
    collect(site, TENANT, "adachi")
    collect(site, OTHER, "adachi")
    tenants = scanned(site)
    assert tenants[TENANT]["signature"] == f"signature refused: key adachi-2026 may not vouch for tenant {TENANT}"
    assert tenants[OTHER]["signed_by"] == "adachi-2026"
    assert run(site, "gate").exit_code == 1


@pytest.mark.parametrize(("change", "reason"), [
    ({"expires": "2020-01-01"}, "key munakata-2026 expired on 2020-01-01"),
    ({"revoked": True}, "key munakata-2026 is revoked"),
])
def test_an_expired_or_revoked_key_is_refused(site, change, reason):
    collect(site, TENANT, "munakata")
    collect(site, OTHER, "adachi")
    trust(site, munakata={k: (__import__("datetime").date.fromisoformat(v) if k == "expires" else v) for k, v in change.items()})
    assert scanned(site)[TENANT]["signature"] == f"signature refused: {reason}"
    assert run(site, "gate").exit_code == 1


def test_an_unsigned_inventory_is_refused_when_signatures_are_required_and_noted_when_not(site):
    collect(site, TENANT, None)
    collect(site, OTHER, "adachi")
    tenants = scanned(site)
    assert tenants[TENANT]["signature"] == "signature refused: not signed, and the trust file requires signed inventories"
    assert run(site, "gate").exit_code == 1
    trust(site, require=())
    tenants = scanned(site)
    assert tenants[TENANT]["signature"] == "unsigned" and "applied" in statuses(tenants[TENANT])


def test_the_same_inputs_with_and_without_a_trust_file_are_two_scans(site):
    collect(site, TENANT, None)
    collect(site, OTHER, None)
    (site / "inventory" / "trust.yaml").unlink()
    before = json.loads(ok(site, "scan", "--format", "json").stdout)
    trust(site)
    after = json.loads(ok(site, "scan", "--format", "json").stdout)
    assert before["scan"] != after["scan"]
    assert {t["signature"] for t in after["tenants"]} == {"signature refused: not signed, and the trust file requires signed inventories"}


def test_catalog_signatures_expired_rolled_back_or_by_an_inventory_key_are_refused(site):
    collect(site, TENANT, "munakata")
    collect(site, OTHER, "adachi")
    trust(site, require=("inventory", "catalog"))
    refused = run(site, "scan")
    assert refused.exit_code == 2 and "requires a signed catalog" in refused.stderr
    ok(site, "catalog", "sign", "--sign", str(site / "keys" / "munakata"), "--catalog-version", "1", "--expires", "2099-01-01")
    refused = run(site, "scan")
    assert refused.exit_code == 2 and "key munakata-2026 may sign inventories, not catalogs" in refused.stderr
    past = run(site, "catalog", "sign", "--sign", str(site / "keys" / "vendor"), "--catalog-version", "2", "--expires", "2020-01-01")
    assert past.exit_code == 2 and "2020-01-01 is past" in past.stderr
    # a signature made back then, that expired since
    sign_catalog(site / "manifests", load_catalog(site / "manifests"), load_signing_key(site / "keys" / "vendor"), version=2,
                 expires=dt.date(2020, 1, 1), now=dt.datetime(2019, 6, 1, tzinfo=dt.UTC))
    refused = run(site, "scan")
    assert refused.exit_code == 2 and "expired on 2020-01-01" in refused.stderr
    ok(site, "catalog", "sign", "--sign", str(site / "keys" / "vendor"), "--catalog-version", "2", "--expires", "2099-01-01")
    ok(site, "scan")
    ok(site, "catalog", "sign", "--sign", str(site / "keys" / "vendor"), "--catalog-version", "1", "--expires", "2099-01-01")
    refused = run(site, "gate")
    assert refused.exit_code == 2 and "older than version 2" in refused.stderr and "rollback" in refused.stderr
    ok(site, "catalog", "sign", "--sign", str(site / "keys" / "vendor"), "--catalog-version", "3", "--expires", "2099-01-01")
    assert run(site, "gate").exit_code == 0


def test_drift_verify_says_who_signed_what_and_fails_on_any_tampered_file(site):
    inventory = collect(site, TENANT, "munakata")
    collect(site, OTHER, "adachi")
    ok(site, "catalog", "sign", "--sign", str(site / "keys" / "vendor"), "--catalog-version", "1", "--expires", "2099-01-01")
    ok(site, "scan", "--format", "json", "--out", "scan.json", "--attest", str(site / "keys" / "auditor"))
    result = ok(site, "verify", str(inventory), "manifests", "scan.json")
    lines = result.stdout.splitlines()
    assert len(lines) == 3
    assert lines[0].startswith(f"{inventory}: OK: inventory of tenant 402206 signed by munakata-2026 (SHA256:")
    assert lines[1].startswith("manifests: OK: catalog signed by vendor")
    assert lines[2].startswith("scan.json: OK: scan signed by auditor")
    for target in (inventory, site / "scan.json", site / "manifests" / "fixes" / "DEMO-0001.yaml"):
        saved = target.read_bytes()
        target.write_bytes(saved.replace(b"1", b"2", 1))
        result = run(site, "verify", str(inventory), "manifests", "scan.json")
        assert result.exit_code == 1 and "FAILED" in result.stdout, target
        target.write_bytes(saved)
    assert run(site, "verify", str(inventory), "manifests", "scan.json").exit_code == 0


def test_scan_attest_needs_json_and_an_output_file(site):
    refused = run(site, "scan", "--attest", str(site / "keys" / "auditor"))
    assert refused.exit_code == 2 and "--format json and --out FILE" in refused.stderr


def test_verify_without_a_trust_file_is_a_usage_error(site):
    (site / "inventory" / "trust.yaml").unlink()
    result = run(site, "verify", "manifests")
    assert result.exit_code == 2 and "no trust file" in result.stderr


def test_a_private_key_made_by_drift_is_mode_0600_and_never_overwritten(site):
    assert oct(os.stat(site / "keys" / "munakata").st_mode & 0o777) == "0o600"
    again = run(site, "key", "generate", "--out", str(site / "keys" / "munakata"))
    assert again.exit_code == 2 and "never overwrites" in again.stderr
    shutil.rmtree(site / "keys")


def test_a_stored_scan_judged_without_the_trust_file_is_not_gated_with_it(site):
    path = collect(site, TENANT, "munakata")
    collect(site, OTHER, "adachi")
    path.write_text(redigest(path.read_text(encoding="utf-8").replace('"changed_during_collection": false', '"changed_during_collection": true')),
                    encoding="utf-8")
    assert run(site, "gate").exit_code == 1  # scanned with the trust file: refused
    ok(site, "scan", "--trust", str(site / "inventory" / "trust.yaml"))
    (site / "inventory" / "trust.yaml").rename(site / "trust.yaml")
    ok(site, "scan")  # stored without a trust file: the forged inventory judged on its files
    gated = run(site, "gate", "--scan", "latest", "--trust", str(site / "trust.yaml"))
    assert gated.exit_code == 2 and "judged without a trust file" in gated.stderr


def signed_inventory_at(site: Path, tenant: str, when: str, key: str) -> Path:
    """The tenant's real inventory with another collection time, signed by `key` (a valid signature)."""
    from drift.trust.inventories import sign_inventory

    path = site / "inventory" / f"{tenant}.json"
    text = path.read_text(encoding="utf-8")
    start = text.index('"collected_at": "') + len('"collected_at": "')
    path.write_text(redigest(text[:start] + when + text[text.index('"', start):]), encoding="utf-8")
    sign_inventory(path, load_signing_key(site / "keys" / key))
    return path


def test_an_older_validly_signed_inventory_replayed_is_refused(site):
    collect(site, TENANT, "munakata")
    collect(site, OTHER, "adachi")
    signed_inventory_at(site, TENANT, "2026-11-01T00:00:00Z", "munakata")
    assert scanned(site)[TENANT]["signed_by"] == "munakata-2026"
    signed_inventory_at(site, TENANT, "2026-01-01T00:00:00Z", "munakata")  # an older one, really signed back then
    tenant = scanned(site)[TENANT]
    assert tenant["signature"].startswith("signature refused: collected at 2026-01-01T00:00:00Z, before the signed inventory of 2026-11-01")
    assert run(site, "gate").exit_code == 1


def test_a_signed_inventory_collected_in_the_future_is_refused(site):
    collect(site, TENANT, "munakata")
    collect(site, OTHER, "adachi")
    signed_inventory_at(site, TENANT, "9999-12-31T23:59:59Z", "munakata")
    assert scanned(site)[TENANT]["signature"] == "signature refused: collected at 9999-12-31T23:59:59Z, in the future"


def test_a_key_revoked_in_one_entry_is_revoked_in_every_other(site):
    collect(site, TENANT, "munakata")
    collect(site, OTHER, "adachi")
    doc = __import__("yaml").safe_load((site / "inventory" / "trust.yaml").read_text())
    doc["keys"].append({"id": "munakata-old", "public_key": public(site, "munakata"), "signs": "inventory", "tenants": ["*"], "revoked": True})
    write_yaml(site / "inventory" / "trust.yaml", doc)
    assert scanned(site)[TENANT]["signature"] == "signature refused: key munakata-old is revoked"


def test_an_unsigned_catalog_after_a_signed_one_is_refused(site):
    collect(site, TENANT, "munakata")
    collect(site, OTHER, "adachi")
    ok(site, "catalog", "sign", "--sign", str(site / "keys" / "vendor"), "--catalog-version", "2", "--expires", "2099-01-01")
    ok(site, "scan")
    (site / "manifests" / "catalog.sig").unlink()
    refused = run(site, "scan")
    assert refused.exit_code == 2 and "judged signed catalogs of demo (up to version 2), and it has no signature" in refused.stderr


def test_verify_fails_an_inventory_named_for_another_tenant(site):
    inventory = collect(site, TENANT, "munakata")
    other = site / "inventory" / f"{OTHER}.json"
    other.write_bytes(inventory.read_bytes())
    (site / "inventory" / f"{OTHER}.json.sig").write_bytes((site / "inventory" / f"{TENANT}.json.sig").read_bytes())
    result = run(site, "verify", str(other))
    assert result.exit_code == 1 and f"named for tenant {OTHER}, but holds the inventory of tenant {TENANT}" in result.stdout


def test_a_validly_signed_listing_is_refused_for_want_of_a_collection_time(site):
    """A sha256sum listing carries no time: an older one, signed back then, could not be told from a new one."""
    from drift.trust.inventories import sign_inventory

    collect(site, TENANT, "munakata")
    collect(site, OTHER, "adachi")
    inventory = json.loads((site / "inventory" / f"{TENANT}.json").read_text(encoding="utf-8"))
    listing = site / "inventory" / f"{TENANT}.sha256"
    listing.write_text("".join(f"{f['sha256']}  {f['path']}\n" for f in inventory["files"]), encoding="utf-8")
    (site / "inventory" / f"{TENANT}.json").unlink()
    (site / "inventory" / f"{TENANT}.json.sig").unlink()
    sign_inventory(listing, load_signing_key(site / "keys" / "munakata"))
    signature = scanned(site)[TENANT]["signature"]
    assert signature.startswith("signature refused: a listing carries no collection time")
    assert run(site, "gate").exit_code == 1
