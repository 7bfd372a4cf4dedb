"""The gate (SPEC 7, 8): the policy file, waivers, the decision, exit codes, and the CI examples."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from drift.errors import InputError
from drift.gate import decide, load_policy, policy_from_dict
from drift.policy import Policy, Waiver
from drift.results import Evidence, FileDrift, Finding, Scan, TenantResult, count_statuses
from drift.scan import NO_INVENTORY
from drift.tenants import Tenant
from tests.builders import write_yaml
from tests.test_cli import run
from tests.test_scan import write_demo_fleet

ROOT = Path(__file__).resolve().parents[1]
TODAY = dt.date(2023, 6, 15)
FAR = dt.date(2099, 12, 31)
DIGEST = "sha256:" + "0" * 64


# A small scan built by hand: each rule of the gate on findings whose status and severity are known.


def finding(fix: str, status: str, severity: str) -> Finding:
    evidence = (Evidence("app/A.java", "unfixed" if status == "missing" else "fixed", "sha256:" + "3" * 64, ("sha256:" + "4" * 64,)),)
    return Finding(fix, status, severity, "8.x", evidence)


def tenant_result(tid: str, *findings: Finding, inventory: str = DIGEST, uncatalogued: tuple[str, ...] = ()) -> TenantResult:
    tenant = Tenant(tid, f"town {tid}", "", "standard", "8.x", frozenset())
    return TenantResult(tenant, inventory, None, tuple(findings), FileDrift(uncatalogued=uncatalogued), count_statuses(tuple(findings)))


def scan_of(*results: TenantResult) -> Scan:
    return Scan("sha256:" + "1" * 64, "sha256:" + "2" * 64, "2023-06-15T00:00:00Z", tuple(results))


def waiver(tenant: str, fix: str, expires: dt.date = FAR) -> Waiver:
    return Waiver(tenant, fix, "accepted for the test", "tester", expires, "waivers[0]")


def blocking_fixes(result, tid: str) -> list[str]:
    return [f.fix for t in result.tenants if t.id == tid for f in t.blocking]


FLEET = scan_of(
    tenant_result(
        "402206",
        finding("F-CRIT-MISSING", "missing", "critical"),
        finding("F-HIGH-PARTIAL", "partial", "high"),
        finding("F-HIGH-UNVERIFIABLE", "unverifiable", "high"),
        finding("F-MEDIUM-MISSING", "missing", "medium"),
        finding("F-CRIT-APPLIED", "applied", "critical"),
        finding("F-CRIT-NA", "not-applicable", "critical"),
    ),
    tenant_result("141305", finding("F-CRIT-APPLIED", "applied", "critical"), uncatalogued=("app/custom/Link.java",)),
)


def test_default_policy_blocks_missing_partial_unverifiable_at_high_or_above():
    result = decide(FLEET, Policy(), TODAY)
    assert not result.passed
    assert blocking_fixes(result, "402206") == ["F-CRIT-MISSING", "F-HIGH-PARTIAL", "F-HIGH-UNVERIFIABLE"]
    assert [t.id for t in result.blocking_tenants] == ["402206"]


def test_fail_on_narrows_the_blocking_statuses():
    result = decide(FLEET, Policy(statuses=frozenset({"missing"})), TODAY)
    assert blocking_fixes(result, "402206") == ["F-CRIT-MISSING"]


@pytest.mark.parametrize(
    ("level", "expected"),
    [
        ("critical", ["F-CRIT-MISSING"]),
        ("high", ["F-CRIT-MISSING", "F-HIGH-PARTIAL", "F-HIGH-UNVERIFIABLE"]),
        ("medium", ["F-CRIT-MISSING", "F-HIGH-PARTIAL", "F-HIGH-UNVERIFIABLE", "F-MEDIUM-MISSING"]),
        ("low", ["F-CRIT-MISSING", "F-HIGH-PARTIAL", "F-HIGH-UNVERIFIABLE", "F-MEDIUM-MISSING"]),
    ],
)
def test_min_severity_sets_the_least_severity_that_blocks(level, expected):
    assert blocking_fixes(decide(FLEET, Policy(min_severity=level), TODAY), "402206") == expected


def test_nothing_blocking_passes():
    result = decide(scan_of(tenant_result("402206", finding("F-1", "applied", "critical"), finding("F-2", "missing", "low"))), Policy(), TODAY)
    assert result.passed and result.blocking_tenants == ()


def test_a_tenant_without_inventory_blocks_whatever_the_policy_says():
    # Every fix not applicable, and a policy that blocks only `missing`: the tenant still blocks (fails closed).
    scan = scan_of(tenant_result("131211", finding("F-1", "not-applicable", "critical"), inventory=NO_INVENTORY))
    result = decide(scan, Policy(statuses=frozenset({"missing"})), TODAY)
    assert not result.passed
    (gate,) = result.tenants
    assert gate.blocking == () and gate.reasons == ("no inventory for this tenant",) and not gate.has_inventory


def test_a_waiver_does_not_lift_a_missing_inventory():
    scan = scan_of(tenant_result("131211", finding("F-1", "unverifiable", "critical"), inventory=NO_INVENTORY))
    result = decide(scan, Policy(waivers=(waiver("131211", "F-1"),)), TODAY)
    assert not result.passed
    assert [w.finding.fix for _, w in result.waived] == ["F-1"]


@pytest.mark.parametrize(("mode", "passes", "listed"), [("block", False, True), ("warn", True, True), ("ignore", True, False)])
def test_uncatalogued_files_block_warn_or_are_ignored(mode, passes, listed):
    scan = scan_of(FLEET.tenants[1])
    result = decide(scan, Policy(uncatalogued=mode), TODAY)
    assert result.passed is passes
    assert result.tenants[0].uncatalogued == (("app/custom/Link.java",) if listed else ())
    assert bool(result.tenants[0].reasons) is (mode == "block")


def test_an_empty_scan_never_passes():
    result = decide(scan_of(), Policy(), TODAY)
    assert not result.passed and result.problems == ("the scan judged no tenant: nothing was checked",)


def test_a_scan_that_judged_no_fix_never_passes():
    result = decide(scan_of(tenant_result("402206")), Policy(), TODAY)
    assert not result.passed and result.problems == ("the scan judged no fix: the catalog has none",)


# Waivers


def test_a_waiver_lets_its_finding_pass_and_keeps_it_marked():
    policy = Policy(waivers=(waiver("402206", "F-CRIT-MISSING"), waiver("402206", "F-HIGH-PARTIAL"), waiver("402206", "F-HIGH-UNVERIFIABLE")))
    result = decide(FLEET, policy, TODAY)
    assert result.passed
    (gate,) = [t for t in result.tenants if t.id == "402206"]
    assert [(w.finding.fix, w.waiver.fix) for w in gate.waived] == [
        ("F-CRIT-MISSING", "F-CRIT-MISSING"), ("F-HIGH-PARTIAL", "F-HIGH-PARTIAL"), ("F-HIGH-UNVERIFIABLE", "F-HIGH-UNVERIFIABLE"),
    ]
    assert result.expired == result.unmatched == result.expiring == ()


def test_a_waiver_applies_through_its_expiry_day_and_not_after():
    policy = Policy(waivers=(waiver("402206", "F-CRIT-MISSING", expires=TODAY),))
    on_the_day = decide(FLEET, policy, TODAY)
    assert "F-CRIT-MISSING" not in blocking_fixes(on_the_day, "402206") and on_the_day.expired == ()
    day_after = decide(FLEET, policy, TODAY + dt.timedelta(days=1))
    assert "F-CRIT-MISSING" in blocking_fixes(day_after, "402206")
    assert day_after.expired == policy.waivers
    assert day_after.expired_waiver("402206", "F-CRIT-MISSING") == policy.waivers[0]


@pytest.mark.parametrize(("days_left", "warned"), [(0, True), (14, True), (15, False)])
def test_a_waiver_within_14_days_of_expiry_is_warned_about(days_left, warned):
    policy = Policy(waivers=(waiver("402206", "F-CRIT-MISSING", expires=TODAY + dt.timedelta(days=days_left)),))
    assert bool(decide(FLEET, policy, TODAY).expiring) is warned


@pytest.mark.parametrize(
    ("tenant", "fix"),
    [
        ("402206", "F-CRIT-APPLIED"),  # the fix is applied: the waiver is no longer needed
        ("402206", "F-MEDIUM-MISSING"),  # below the least blocking severity
        ("402206", "NO-SUCH-FIX"),
        ("999999", "F-CRIT-MISSING"),  # a tenant the scan does not hold
    ],
)
def test_a_waiver_that_matches_no_blocking_finding_is_listed(tenant, fix):
    policy = Policy(waivers=(waiver(tenant, fix),))
    result = decide(FLEET, policy, TODAY)
    assert result.unmatched == policy.waivers and result.waived == ()


def test_gating_some_tenants_leaves_the_other_tenants_waivers_aside():
    policy = Policy(waivers=(waiver("402206", "F-CRIT-MISSING"), waiver("402206", "F-HIGH-PARTIAL", expires=dt.date(2020, 1, 1))))
    result = decide(FLEET, policy, TODAY, tenants=["141305"])
    assert [t.id for t in result.tenants] == ["141305"]
    assert result.unmatched == result.expired == ()
    assert decide(FLEET, policy, TODAY, tenants=["402206"]).expired == policy.waivers[1:]
    with pytest.raises(InputError, match="no tenant '000000' in scan"):
        decide(FLEET, policy, TODAY, tenants=["000000"])


def test_findings_shared_between_tenants_are_judged_per_tenant():
    shared = finding("F-1", "missing", "critical")
    scan = scan_of(tenant_result("402206", shared), tenant_result("141305", shared))
    result = decide(scan, Policy(waivers=(waiver("402206", "F-1"),)), TODAY)
    assert blocking_fixes(result, "402206") == [] and blocking_fixes(result, "141305") == ["F-1"]


# The policy file


POLICY = {
    "format": "drift-policy/1",
    "fail_on": ["missing", "partial"],
    "min_severity": "medium",
    "uncatalogued": "block",
    "waivers": [{"tenant": "141305", "fix": "DEMO-0003", "reason": "custom module", "approved_by": "CISO", "expires": dt.date(2023, 7, 31)}],
}


def test_a_policy_file_loads_every_key(tmp_path):
    policy = load_policy(write_yaml(tmp_path / "drift-policy.yaml", POLICY))
    assert policy.statuses == {"missing", "partial"}
    assert (policy.min_severity, policy.uncatalogued, policy.source) == ("medium", "block", str(tmp_path / "drift-policy.yaml"))
    assert policy.waivers == (Waiver("141305", "DEMO-0003", "custom module", "CISO", dt.date(2023, 7, 31), "waivers[0]"),)


def test_an_empty_policy_file_is_the_default_policy(tmp_path):
    (tmp_path / "p.yaml").write_text("# nothing yet\n")
    assert load_policy(tmp_path / "p.yaml") == Policy(source=str(tmp_path / "p.yaml"))


def test_the_example_policy_loads():
    policy = load_policy(ROOT / "examples" / "ci" / "drift-policy.yaml")
    assert policy.statuses == Policy().statuses and len(policy.waivers) == 1


def with_waiver(**changes) -> dict:
    entry = {**POLICY["waivers"][0], **changes}
    return {**POLICY, "waivers": [{k: v for k, v in entry.items() if v is not None}]}


@pytest.mark.parametrize(
    ("doc", "where", "message"),
    [
        (with_waiver(tenant=None), "waivers[0].tenant", "required field is missing"),
        (with_waiver(fix=None), "waivers[0].fix", "required field is missing"),
        (with_waiver(reason=None), "waivers[0].reason", "required field is missing"),
        (with_waiver(approved_by=None), "waivers[0].approved_by", "required field is missing"),
        (with_waiver(expires=None), "waivers[0].expires", "required field is missing"),
        (with_waiver(ticket="SEC-1"), "waivers[0].ticket", "unknown key"),
        (with_waiver(reason="  "), "waivers[0].reason", "must be a non-empty string"),
        (with_waiver(approved_by=7), "waivers[0].approved_by", "must be a non-empty string"),
        (with_waiver(expires="2023-02-30"), "waivers[0].expires", "must be a date (YYYY-MM-DD)"),
        (with_waiver(expires="next month"), "waivers[0].expires", "must be a date (YYYY-MM-DD)"),
        (with_waiver(expires=dt.datetime(2023, 7, 31, 12, 0)), "waivers[0].expires", "must be a date (YYYY-MM-DD)"),
        (with_waiver(expires=20230731), "waivers[0].expires", "must be a date (YYYY-MM-DD)"),
        (with_waiver(tenant="141306"), "waivers[0].tenant", "wrong check digit"),
        (with_waiver(tenant="../etc"), "waivers[0].tenant", "must be letters, digits"),
        ({**POLICY, "waivers": [POLICY["waivers"][0], POLICY["waivers"][0]]}, "waivers[1]", "waived twice, also at waivers[0]"),
        ({**POLICY, "waivers": ["141305 DEMO-0003"]}, "waivers[0]", "must be a mapping"),
        ({**POLICY, "waivers": {"141305": "DEMO-0003"}}, "waivers", "must be a list of waivers"),
        ({**POLICY, "fail_on": ["missing", "applied"]}, "fail_on[1]", "'applied' cannot block"),
        ({**POLICY, "fail_on": []}, "fail_on", "name at least one status"),
        ({**POLICY, "fail_on": "missing"}, "fail_on", "must be a list of statuses"),
        ({**POLICY, "min_severity": "urgent"}, "min_severity", "'urgent' is not a severity"),
        ({**POLICY, "uncatalogued": "fail"}, "uncatalogued", "'fail' is not one of block, warn, ignore"),
        ({**POLICY, "format": "drift-policy/2"}, "format", "unknown format"),
        ({**POLICY, "fail-on": ["missing"]}, "fail-on", "unknown key"),
    ],
)
def test_an_invalid_policy_file_names_the_file_and_the_field(tmp_path, doc, where, message):
    path = write_yaml(tmp_path / "drift-policy.yaml", doc)
    with pytest.raises(InputError) as caught:
        load_policy(path)
    assert caught.value.source == str(path)
    assert caught.value.where == where
    assert message in caught.value.message


def test_an_unquoted_code_read_as_octal_is_refused(tmp_path):
    path = tmp_path / "drift-policy.yaml"
    path.write_text("waivers:\n  - {tenant: 011002, fix: F-1, reason: r, approved_by: a, expires: 2023-07-31}\n")
    with pytest.raises(InputError, match="write it in quotes"):
        load_policy(path)


def test_a_key_given_twice_is_refused(tmp_path):
    path = tmp_path / "drift-policy.yaml"
    path.write_text("min_severity: high\nmin_severity: low\n")
    with pytest.raises(InputError, match="given twice"):
        load_policy(path)


def test_a_policy_that_is_not_a_mapping_is_refused():
    with pytest.raises(InputError, match="must be a mapping"):
        policy_from_dict(["missing"], "p.yaml")


# The command on the demo fleet: 131211 has no inventory, 362018 a partial fix, 402206 missing fixes,
# 141305 only an uncatalogued file.

DEMO_BLOCKING = {
    "131211": ["DEMO-0001", "DEMO-0002", "DEMO-0004"],
    "362018": ["DEMO-0002", "DEMO-0004"],
    "402206": ["DEMO-0002", "DEMO-0004"],
}


def demo_waivers(expires: str = "2099-12-31") -> list[dict]:
    return [
        {"tenant": tid, "fix": fix, "reason": "accepted", "approved_by": "CISO", "expires": expires}
        for tid, fixes in DEMO_BLOCKING.items()
        for fix in fixes
    ]


def gate(root: Path, *args: str):
    return run(root, "gate", "--today", "2023-06-15", *args)


def test_gate_exits_1_and_says_what_blocks_where_and_what_next(demo_root):
    write_demo_fleet(demo_root)
    result = gate(demo_root)
    assert result.exit_code == 1, result.output
    lines = result.stdout.splitlines()
    assert re.fullmatch(r"drift gate: BLOCKED: 3 of 4 tenants block \(scan sha256:[0-9a-f]{64}\)", lines[0])
    assert lines[1] == "policy: defaults: missing, partial, unverifiable at high or above; uncatalogued files warn"
    assert lines[2] == "blocking fixes: DEMO-0002 at 3 tenants, DEMO-0004 at 3 tenants, DEMO-0001 at 1 tenant"
    assert lines[3] == "  131211 足立区: no inventory for this tenant; DEMO-0001 unverifiable, DEMO-0002 unverifiable, DEMO-0004 unverifiable"
    assert "  362018 徳島市: DEMO-0002 partial, DEMO-0004 missing" in lines
    assert "  141305 川崎市: app/custom/Link.java" in lines  # the uncatalogued warning
    assert not any(line.startswith("  141305 川崎市:") and "DEMO" in line for line in lines)
    assert lines[-2] == "Next: apply the fixes and collect new inventories, or waive them in drift-policy.yaml with a reason, approver and expiry."
    assert lines[-1] == ("Next: collect an inventory for 131211 (drift collect ROOT --tenant ID, or python3 drift-collect.pyz ROOT --tenant ID "
                         "--out ID.json where drift is not installed; see README, Collecting).")
    assert result.stderr == ""


def test_gate_exits_0_when_every_blocking_finding_is_waived_and_lists_the_waivers(demo_root):
    write_demo_fleet(demo_root)
    write_yaml(demo_root / "drift-policy.yaml", {"waivers": demo_waivers()})
    result = gate(demo_root, "--tenant", "362018", "--tenant", "402206", "--tenant", "141305")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0].startswith("drift gate: PASS: nothing blocks at 3 tenants")
    assert "waived: 4 findings at 2 tenants" in result.stdout
    assert "  362018 DEMO-0002 partial: until 2099-12-31, approved by CISO: accepted" in result.stdout
    # 131211 (no inventory) still blocks in a whole-fleet gate, waivers or not.
    assert gate(demo_root).exit_code == 1


def test_flags_override_the_policy_file(demo_root):
    write_demo_fleet(demo_root)
    write_yaml(demo_root / "drift-policy.yaml", {"fail_on": ["unverifiable"], "min_severity": "critical"})
    assert gate(demo_root, "--tenant", "362018").exit_code == 0  # partial and missing at high: neither blocks here
    assert gate(demo_root, "--tenant", "362018", "--min-severity", "high").exit_code == 0  # fail_on still from the file
    both = gate(demo_root, "--tenant", "362018", "--fail-on", "partial", "--min-severity", "high")
    assert both.exit_code == 1
    assert "  362018 徳島市: DEMO-0002 partial\n" in both.stdout
    assert "policy: drift-policy.yaml: partial at high or above; uncatalogued files warn\n" in both.stdout
    assert gate(demo_root, "--tenant", "141305").exit_code == 0
    blocked = gate(demo_root, "--tenant", "141305", "--uncatalogued", "block")
    assert blocked.exit_code == 1
    assert "  141305 川崎市: 1 uncatalogued file (no fix review covers it)" in blocked.stdout


def test_policy_option_names_another_file_and_a_missing_one_is_an_error(demo_root):
    write_demo_fleet(demo_root)
    write_yaml(demo_root / "ci" / "strict.yaml", {"uncatalogued": "block"})
    assert gate(demo_root, "--tenant", "141305", "--policy", "ci/strict.yaml").exit_code == 1
    missing = gate(demo_root, "--policy", "nowhere.yaml")
    assert missing.exit_code == 2
    assert missing.stderr == "drift: error: nowhere.yaml: no such policy file\n"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--fail-on", "applied"), "--fail-on: 'applied' cannot block (choose from missing, partial, unverifiable)"),
        (("--fail-on", ","), "--fail-on: name at least one status (missing, partial, unverifiable)"),
        (("--min-severity", "urgent"), "--min-severity: 'urgent' is not a severity (choose from critical, high, medium, low)"),
        (("--uncatalogued", "fail"), "--uncatalogued: 'fail' is not one of block, warn, ignore"),
        (("--tenant", "999999"), "--tenant: no tenant '999999' in the registry"),
    ],
)
def test_bad_flags_exit_2_with_one_line(demo_root, args, message):
    write_demo_fleet(demo_root)
    result = gate(demo_root, *args)
    assert result.exit_code == 2
    assert result.stderr == f"drift: error: {message}\n"


def test_an_invalid_policy_exits_2_and_replaces_the_reports_with_the_error(demo_root):
    write_demo_fleet(demo_root)
    (demo_root / "junit.xml").write_text("<testsuites tests='1' failures='0'/>")  # a stale, green report
    write_yaml(demo_root / "drift-policy.yaml", {"waivers": [{"tenant": "141305", "fix": "DEMO-0003"}]})
    result = gate(demo_root, "--junit", "junit.xml", "--sarif", "gate.sarif")
    assert result.exit_code == 2
    assert result.stderr == "drift: error: drift-policy.yaml: waivers[0].reason: required field is missing: a waiver needs every field\n"
    suites = ET.parse(demo_root / "junit.xml").getroot()
    assert suites.get("errors") == "1"
    assert "waivers[0].reason" in suites.find("testsuite/testcase/error").get("message")
    log = json.loads((demo_root / "gate.sarif").read_text())
    assert log["runs"][0]["invocations"][0]["executionSuccessful"] is False


def test_an_inventory_whose_digest_does_not_verify_exits_2_never_0(demo_root):
    write_demo_fleet(demo_root)
    path = demo_root / "inventory" / "402206.json"
    path.write_text(path.read_text().replace('"size": ', '"size": 1', 1))
    result = gate(demo_root, "--junit", "junit.xml")
    assert result.exit_code == 2
    assert result.stderr.startswith("drift: error: inventory/402206.json")
    assert "digest" in result.stderr
    assert ET.parse(demo_root / "junit.xml").getroot().get("errors") == "1"


def test_an_unreadable_catalog_exits_2(demo_root):
    write_demo_fleet(demo_root)
    fix = next((demo_root / "manifests" / "fixes").iterdir())
    fix.write_text("id: [unclosed\n")
    result = gate(demo_root)
    assert result.exit_code == 2
    assert result.stderr.startswith(f"drift: error: manifests/fixes/{fix.name}")


def test_waivers_expired_expiring_and_unmatched_are_reported(demo_root):
    write_demo_fleet(demo_root)
    waivers = [
        {"tenant": "362018", "fix": "DEMO-0002", "reason": "r", "approved_by": "a", "expires": "2023-06-14"},  # expired yesterday
        {"tenant": "362018", "fix": "DEMO-0004", "reason": "r", "approved_by": "a", "expires": "2023-06-20"},  # 5 days left
        {"tenant": "141305", "fix": "DEMO-0001", "reason": "r", "approved_by": "a", "expires": "2099-01-01"},  # applied there
    ]
    write_yaml(demo_root / "drift-policy.yaml", {"waivers": waivers})
    result = gate(demo_root, "--tenant", "362018", "--tenant", "141305")
    assert result.exit_code == 1
    out = result.stdout
    assert "  362018 徳島市: DEMO-0002 partial\n" in out
    assert "expired waiver, no longer applied: drift-policy.yaml waivers[0]: 362018 DEMO-0002 (it ran through 2023-06-14)\n" in out
    assert "waiver expires in 5 days: drift-policy.yaml waivers[1]: 362018 DEMO-0004 (on 2023-06-20)\n" in out
    assert "waiver matches no blocking finding: drift-policy.yaml waivers[2]: 141305 DEMO-0001: remove it\n" in out


def test_gate_reads_a_stored_scan(demo_root):
    write_demo_fleet(demo_root)
    assert run(demo_root, "scan").exit_code == 0
    shutil.rmtree(demo_root / "inventory")  # a stored scan needs no inventory
    result = gate(demo_root, "--scan", "latest")
    assert result.exit_code == 1
    assert "  131211 足立区: no inventory for this tenant;" in result.stdout
    assert gate(demo_root, "--scan", "latest", "--tenant", "141305").exit_code == 0


def test_gate_refuses_a_stored_scan_narrowed_to_some_fixes(demo_root):
    write_demo_fleet(demo_root)
    scanned = run(demo_root, "scan", "--fix", "DEMO-0005", "--format", "json")
    assert scanned.exit_code == 0
    result = gate(demo_root, "--scan", "latest")
    assert result.exit_code == 2  # `latest` is never a narrowed run
    assert "no scan of the whole registry and catalog stored yet" in result.stderr
    result = gate(demo_root, "--scan", json.loads(scanned.stdout)["scan"])
    assert result.exit_code == 2
    assert "judged only the fixes DEMO-0005: gate a whole scan" in result.stderr


def test_gate_with_no_stored_scan_exits_2(demo_root):
    result = gate(demo_root, "--scan", "latest")
    assert result.exit_code == 2
    assert "no scan stored yet" in result.stderr


def test_gate_stores_its_scan(demo_root):
    write_demo_fleet(demo_root)
    gate(demo_root)
    assert gate(demo_root, "--scan", "latest").exit_code == 1


def test_gate_writes_both_reports(demo_root):
    write_demo_fleet(demo_root)
    (demo_root / "reports").mkdir()
    result = gate(demo_root, "--junit", "reports/junit.xml", "--sarif", "reports/gate.sarif")
    assert result.exit_code == 1
    assert ET.parse(demo_root / "reports" / "junit.xml").getroot().tag == "testsuites"
    assert json.loads((demo_root / "reports" / "gate.sarif").read_text())["version"] == "2.1.0"
    assert sorted(p.name for p in (demo_root / "reports").iterdir()) == ["gate.sarif", "junit.xml"]  # no temporary left


# The reference fleet


REFERENCE = ROOT / "manifests", ROOT / "inventory"


@pytest.fixture
def reference_root(tmp_path: Path) -> Path:
    for folder in REFERENCE:
        (tmp_path / folder.name).symlink_to(folder)
    return tmp_path


def test_reference_fleet_blocks_then_passes_with_every_blocking_finding_waived(reference_root):
    blocked = run(reference_root, "gate", "--junit", "junit.xml")
    assert blocked.exit_code == 1
    lines = blocked.stdout.splitlines()
    assert lines[0].startswith("drift gate: BLOCKED: 44 of 123 tenants block")
    named = set(re.findall(r"\b\d{6}\b", "\n".join(line for line in lines if line.startswith("  "))))
    suites = ET.parse(reference_root / "junit.xml").getroot()
    failing = {s.find("properties/property[@name='tenant']").get("value") for s in suites if s.get("failures") != "0"}
    assert len(failing) == 44 and failing <= named  # the summary names every tenant that blocks
    assert "402206" in failing

    from drift.store import Store

    with Store(reference_root / "drift.db") as store:
        scan = store.load_scan("latest")
    result = decide(scan, Policy(), TODAY)
    waivers = [
        {"tenant": t.id, "fix": f.fix, "reason": f"{f.status} accepted for the test", "approved_by": "CISO", "expires": "2099-12-31"}
        for t in result.blocking_tenants
        for f in t.blocking
    ]
    write_yaml(reference_root / "drift-policy.yaml", {"waivers": waivers})
    passed = run(reference_root, "gate", "--junit", "junit.xml", "--sarif", "gate.sarif")
    assert passed.exit_code == 0, passed.stdout
    assert passed.stdout.startswith("drift gate: PASS: nothing blocks at 123 tenants")
    assert f"waived: {len(waivers)} findings at 44 tenants" in passed.stdout
    assert "expired" not in passed.stdout and "matches no blocking finding" not in passed.stdout
    suites = ET.parse(reference_root / "junit.xml").getroot()
    assert suites.get("failures") == "0"
    waived_cases = [c for c in suites.iter("testcase") if (c.findtext("system-out") or "").startswith("waived: ")]
    assert len(waived_cases) == len(waivers)
    log = json.loads((reference_root / "gate.sarif").read_text())
    suppressed = [r for r in log["runs"][0]["results"] if r.get("suppressions")]
    assert len(suppressed) == len(waivers)


# The CI examples


CI = ROOT / "examples" / "ci"


@pytest.mark.parametrize(("name", "schema"), [("github-actions.yml", "vendor.github-workflows"), ("gitlab-ci.yml", "vendor.gitlab-ci")])
def test_ci_examples_follow_their_published_schemas(name, schema):
    done = subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", schema, str(CI / name)],
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def gate_commands() -> list[tuple[str, str, list[str]]]:
    """(file, the shell line that runs drift gate, the reports it keeps) of each CI example."""
    github = yaml.safe_load((CI / "github-actions.yml").read_text())
    steps = github["jobs"]["gate"]["steps"]
    (line,) = [s["run"] for s in steps if "drift gate" in s.get("run", "")]
    (upload,) = [s for s in steps if s.get("uses", "").startswith("actions/upload-artifact")]
    assert all(s.get("if") == "always()" for s in steps if s.get("uses", "").startswith(("actions/upload-artifact", "github/codeql-action")))
    gitlab = yaml.safe_load((CI / "gitlab-ci.yml").read_text())["drift-gate"]
    (gl_line,) = [s for s in gitlab["script"] if "drift gate" in s]
    assert gitlab["artifacts"]["when"] == "always" and gitlab["artifacts"]["reports"]["junit"] in gitlab["artifacts"]["paths"]
    return [
        ("github-actions.yml", line, upload["with"]["path"].split()),
        ("gitlab-ci.yml", gl_line, gitlab["artifacts"]["paths"]),
    ]


@pytest.mark.parametrize(("name", "line", "reports"), gate_commands(), ids=["github", "gitlab"])
@pytest.mark.parametrize(("tenant", "code"), [("402206", 1), ("011002", 0), ("", 1)])
def test_ci_examples_run_the_gate_on_a_tenant_and_keep_both_reports(reference_root, name, line, reports, tenant, code):
    drift = shutil.which("drift")
    assert drift, "the drift command is installed with the package"
    env = {**os.environ, "TENANT": tenant, "PATH": f"{Path(drift).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    done = subprocess.run(["sh", "-c", line], cwd=reference_root, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == code, done.stdout + done.stderr
    for report in reports:
        assert (reference_root / report).stat().st_size > 0
    suites = ET.parse(reference_root / "drift-junit.xml").getroot()
    assert len(suites) == (1 if tenant else 123)
    assert json.loads((reference_root / "drift.sarif").read_text())["runs"][0]["properties"]["passed"] is (code == 0)


def test_policy_dataclass_replace_recomputes_severities():
    assert replace(Policy(), min_severity="critical").severities == {"critical"}


# Strings from tenants in the summary (SPEC 5): one line each, escaped, and short.


def test_the_summary_shows_tenant_strings_escaped_and_cut():
    from drift.cli.gate import render_summary

    paint = "\x1b[32mPASS\x1b[0m\r\n"
    tenant = Tenant("402206", f"{paint}drift gate: PASS: nothing blocks", "", "standard", "8.x", frozenset())
    findings = (finding("FIX-1", "missing", "critical"), finding("FIX-2", "missing", "high"))
    result = TenantResult(tenant, DIGEST, None, findings, FileDrift(uncatalogued=(f"app/{paint}\u202e.java", "x" * 5000)), count_statuses(findings))
    waived = Waiver("402206", "FIX-2", f"reason {paint}", f"approver {paint}", FAR, "waivers[0]")
    summary = render_summary(decide(scan_of(result), Policy(waivers=(waived,)), TODAY))
    assert not any(ch in summary for ch in "\x1b\r\u202e")
    lines = summary.splitlines()
    assert lines[0].startswith("drift gate: BLOCKED")
    assert not any(line.startswith("drift gate: PASS") for line in lines[1:])  # no forged line
    assert "  402206 \\e[32mPASS\\e[0m\\r\\ndrift gate: PASS: nothing blocks: FIX-1 missing" in lines
    assert any("approved by approver \\e[32mPASS\\e[0m\\r\\n: reason \\e[32mPASS" in line for line in lines)
    assert all(len(line) < 1000 for line in lines)
