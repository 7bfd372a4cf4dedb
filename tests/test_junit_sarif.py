"""The gate's reports: JUnit XML read back with xml.etree, SARIF 2.1.0 checked against a strict schema.

Here the log is validated against `tests/data/sarif-2.1.0-subset.schema.json`, written from the SARIF 2.1.0
specification for the objects drift emits (required properties, enumerations, no property SARIF does not
define, so it is stricter than the published schema), plus the checks below that a schema cannot express
(rule indexes, URIs, one result per finding). test_sarif_published_schema.py checks a whole log against the
published schema itself.
"""

from __future__ import annotations

import datetime as dt
import json
import xml.etree.ElementTree as ET
from pathlib import Path
from urllib.parse import unquote, urlsplit

import jsonschema
import pytest

from drift.formats.junit import INVENTORY_CASE, UNCATALOGUED_CASE, render_junit, render_junit_error
from drift.formats.sarif import NO_INVENTORY_RULE, UNCATALOGUED_RULE, render_sarif, render_sarif_error
from drift.gate import GateResult, decide
from drift.policy import Policy, Waiver
from drift.results import Evidence, FileDrift, Finding, Scan, TenantResult, count_statuses
from drift.scan import NO_INVENTORY
from drift.tenants import Tenant

SCHEMA = json.loads((Path(__file__).parent / "data" / "sarif-2.1.0-subset.schema.json").read_text(encoding="utf-8"))
TODAY = dt.date(2023, 6, 15)
H = {c: f"sha256:{c * 64}" for c in "0123456789abcdef"}


def evidence(path: str, state: str, found: str | None = H["1"], expected: tuple[str, ...] = (H["2"],)) -> Evidence:
    return Evidence(path, state, found, expected)


MISSING = Finding("KOFU-2019-0117", "missing", "critical", "8.x", (evidence("app/print/IssueJob.java", "unfixed"), evidence("lib/kofu-print.jar", "unfixed")))
PARTIAL = Finding("KOFU-2020-0219", "partial", "high", "8.x", (evidence("app/A.java", "fixed", H["2"]), evidence("app/B.java", "unfixed")))
CONFIG = Finding("KOFU-2023-0511", "missing", "high", "7.x", (Evidence("conf/print.properties#print.lock.mode", "unfixed", "legacy", ("strict",)),))
MODIFIED = Finding("KOFU-2021-0233", "unverifiable", "critical", "8.x", (evidence("app/日本 語&<x>.java", "modified"),))
APPLIED = Finding("KOFU-2018-0042", "applied", "medium", "8.x", (evidence("app/C.java", "fixed", H["2"]),))
LOW = Finding("KOFU-2018-0153", "missing", "low", "8.x", (evidence("app/D.java", "unfixed"),))
NOT_APPLICABLE = Finding("KOFU-2022-0105", "not-applicable", "high", None, (), reason="applies to modules konbini; tenant deploys none")


def tenant(tid: str, name: str, *findings: Finding, inventory: str = H["f"], uncatalogued: tuple[str, ...] = ()) -> TenantResult:
    return TenantResult(
        Tenant(tid, name, "", "standard", "8.x", frozenset()), inventory, None, tuple(findings), FileDrift(uncatalogued=uncatalogued),
        count_statuses(tuple(findings)),
    )


def no_inventory(tid: str, name: str) -> TenantResult:
    unverifiable = Finding("KOFU-2019-0117", "unverifiable", "critical", None, (), reason="no inventory for this tenant")
    return tenant(tid, name, unverifiable, NOT_APPLICABLE, inventory=NO_INVENTORY)


SCAN = Scan(
    "sha256:" + "9" * 64,
    "sha256:" + "8" * 64,
    "2023-06-15T00:00:00Z",
    (
        no_inventory("131211", "足立区"),
        tenant("141305", "川崎市", APPLIED, NOT_APPLICABLE, uncatalogued=("app/renkei/custom/Link.java", "app/renkei/custom/Batch.java")),
        tenant("362018", "徳島市", CONFIG, PARTIAL, APPLIED),
        tenant("402206", 'Q&A "city" <x>\x01', MISSING, MODIFIED, LOW, NOT_APPLICABLE),
    ),
)
WAIVER = Waiver("362018", "KOFU-2020-0219", "vendor hot-fix pending", "情報政策課", dt.date(2023, 7, 31), "waivers[0]")


def gate_result(**policy: object) -> GateResult:
    return decide(SCAN, Policy(waivers=(WAIVER,), source="drift-policy.yaml", **policy), TODAY)  # type: ignore[arg-type]


# JUnit


def junit(result: GateResult) -> ET.Element:
    return ET.fromstring(render_junit(result).encode("utf-8"))


def cases(root: ET.Element) -> dict[tuple[str, str], ET.Element]:
    return {(c.get("classname", ""), c.get("name", "")): c for c in root.iter("testcase")}


def test_junit_has_one_suite_per_tenant_and_one_case_per_fix():
    root = junit(gate_result())
    assert root.tag == "testsuites"
    suites = root.findall("testsuite")
    assert [s.find("properties/property[@name='tenant']").get("value") for s in suites] == ["131211", "141305", "362018", "402206"]
    for suite, result in zip(suites, SCAN.tenants, strict=True):
        names = [c.get("name") for c in suite.findall("testcase")]
        assert names == [f.fix for f in result.findings] + [INVENTORY_CASE, UNCATALOGUED_CASE]
        assert int(suite.get("tests")) == len(names)
        assert int(suite.get("failures")) == len(suite.findall("testcase/failure"))
        assert int(suite.get("skipped")) == len(suite.findall("testcase/skipped"))
        assert suite.get("errors") == "0"
    for attr in ("tests", "failures", "skipped"):
        assert int(root.get(attr)) == sum(int(s.get(attr)) for s in suites)


def test_junit_fails_blocking_findings_with_their_evidence():
    by_case = cases(junit(gate_result()))
    failure = by_case[("drift.402206", "KOFU-2019-0117")].find("failure")
    assert failure.get("message") == "KOFU-2019-0117 missing (critical)"
    assert failure.get("type") == "missing"
    assert failure.text.splitlines() == [
        "variant 8.x",
        f"app/print/IssueJob.java: unfixed, found {H['1']}, expected {H['2']}",
        f"lib/kofu-print.jar: unfixed, found {H['1']}, expected {H['2']}",
    ]
    config = by_case[("drift.362018", "KOFU-2023-0511")].find("failure")
    assert "conf/print.properties#print.lock.mode: unfixed, found legacy, expected strict" in config.text


def test_junit_passes_skips_and_marks_waived_findings():
    by_case = cases(junit(gate_result()))
    applied = by_case[("drift.141305", "KOFU-2018-0042")]
    assert list(applied) == []  # a plain pass
    low = by_case[("drift.402206", "KOFU-2018-0153")]
    assert low.find("failure") is None  # missing, but below the least blocking severity
    skipped = by_case[("drift.402206", "KOFU-2022-0105")].find("skipped")
    assert skipped.get("message") == "KOFU-2022-0105 not-applicable (high): applies to modules konbini; tenant deploys none"
    waived = by_case[("drift.362018", "KOFU-2020-0219")]
    assert waived.find("failure") is None and waived.find("skipped") is None
    out = waived.findtext("system-out").splitlines()
    assert out[:4] == [
        "waived: KOFU-2020-0219 partial (high) passes under the waiver at drift-policy.yaml waivers[0]",
        "reason: vendor hot-fix pending",
        "approved by: 情報政策課",
        "expires: 2023-07-31",
    ]


def test_junit_fails_a_tenant_without_inventory_and_uncatalogued_files_under_block():
    by_case = cases(junit(gate_result(uncatalogued="block")))
    inventory = by_case[("drift.131211", INVENTORY_CASE)].find("failure")
    assert inventory.get("type") == "no-inventory" and "drift collect ROOT --tenant 131211" in inventory.get("message")
    assert by_case[("drift.131211", "KOFU-2019-0117")].find("failure").text == "no inventory for this tenant"
    uncatalogued = by_case[("drift.141305", UNCATALOGUED_CASE)].find("failure")
    assert uncatalogued.text.splitlines() == ["app/renkei/custom/Link.java", "app/renkei/custom/Batch.java"]
    warned = cases(junit(gate_result()))[("drift.141305", UNCATALOGUED_CASE)]
    assert warned.find("failure") is None and "app/renkei/custom/Link.java" in warned.findtext("system-out")


def test_junit_marks_a_finding_whose_waiver_expired():
    result = decide(SCAN, Policy(waivers=(WAIVER,), source="p.yaml"), dt.date(2023, 8, 1))
    failure = cases(junit(result))[("drift.362018", "KOFU-2020-0219")].find("failure")
    assert failure.text.splitlines()[-1] == "waiver expired on 2023-07-31 (p.yaml waivers[0])"


def test_junit_escapes_names_and_shows_characters_xml_cannot_hold_as_escapes():
    suite = junit(gate_result()).findall("testsuite")[3]
    assert suite.get("name") == '402206 Q&A "city" <x>\\x01'
    modified = cases(junit(gate_result()))[("drift.402206", "KOFU-2021-0233")].find("failure")
    assert "app/日本 語&<x>.java: modified" in modified.text


def test_junit_error_report_is_one_case_in_error():
    root = ET.fromstring(render_junit_error("inventory/402206.json: digest does not verify <&>").encode())
    assert (root.get("tests"), root.get("errors"), root.get("failures")) == ("1", "1", "0")
    error = root.find("testsuite/testcase/error")
    assert error.get("message") == "inventory/402206.json: digest does not verify <&>"


def test_junit_of_an_empty_scan_fails_closed():
    root = junit(decide(Scan("sha256:" + "9" * 64, "sha256:" + "8" * 64, "x", ()), Policy(), TODAY))
    assert root.get("failures") == "1"
    assert root.find("testsuite/testcase/failure").get("message") == "the scan judged no tenant: nothing was checked"


# SARIF


def sarif(result: GateResult, **kwargs: object) -> dict:
    log = json.loads(render_sarif(result, **kwargs))  # type: ignore[arg-type]
    validate(log)
    return log


def validate(log: dict) -> None:
    """The subset schema, then what a schema cannot say."""
    jsonschema.Draft7Validator(SCHEMA, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER).validate(log)
    for run in log["runs"]:
        rules = run["tool"]["driver"]["rules"]
        assert len({r["id"] for r in rules}) == len(rules), "rule ids are unique"
        for result in run["results"]:
            assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
            assert 1 <= len(result["locations"]) <= 10
            for location in result["locations"]:
                uri = location["physicalLocation"]["artifactLocation"]["uri"]
                assert uri.isascii() and " " not in uri, "non-ASCII and spaces are percent-encoded"
                parts = urlsplit(uri)
                assert not parts.scheme and not parts.netloc and not parts.query and not parts.fragment, "a relative path"
                assert location["physicalLocation"]["region"]["startLine"] >= 1


def results_of(log: dict) -> list[dict]:
    return log["runs"][0]["results"]


def test_sarif_has_one_error_result_per_blocking_finding():
    result = gate_result()
    log = sarif(result)
    assert log["version"] == "2.1.0"
    findings = [r for r in results_of(log) if not r["ruleId"].startswith("drift/") and not r.get("suppressions")]
    expected = [(t.id, f.fix) for t in result.tenants for f in t.blocking]
    assert [(r["properties"]["tenant"], r["ruleId"]) for r in findings] == expected
    assert all(r["level"] == "error" for r in findings)


def test_sarif_points_at_the_tenant_and_the_files_that_need_action():
    by_key = {(r["properties"]["tenant"], r["ruleId"]): r for r in results_of(sarif(gate_result()))}
    missing = by_key[("402206", "KOFU-2019-0117")]
    assert [loc["physicalLocation"]["artifactLocation"]["uri"] for loc in missing["locations"]] == ["app/print/IssueJob.java", "lib/kofu-print.jar"]
    assert all(loc["logicalLocations"] == [{"name": "402206", "fullyQualifiedName": "tenant/402206", "kind": "module"}] for loc in missing["locations"])
    assert missing["message"]["text"].startswith("KOFU-2019-0117 is missing at tenant 402206")
    config = by_key[("362018", "KOFU-2023-0511")]
    (location,) = config["locations"]
    assert location["physicalLocation"]["artifactLocation"]["uri"] == "conf/print.properties"
    assert location["message"]["text"] == "print.lock.mode = legacy: unfixed (expected strict)"
    modified = by_key[("402206", "KOFU-2021-0233")]
    assert unquote(modified["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]) == "app/日本 語&<x>.java"


def test_sarif_keeps_waived_findings_as_accepted_suppressions():
    by_key = {(r["properties"]["tenant"], r["ruleId"]): r for r in results_of(sarif(gate_result()))}
    waived = by_key[("362018", "KOFU-2020-0219")]
    assert waived["suppressions"] == [{
        "kind": "external",
        "status": "accepted",
        "justification": "vendor hot-fix pending",
        "properties": {"approvedBy": "情報政策課", "expires": "2023-07-31", "policy": "drift-policy.yaml waivers[0]"},
    }]
    # Only the file that is not fixed is pointed at.
    assert [loc["physicalLocation"]["artifactLocation"]["uri"] for loc in waived["locations"]] == ["app/B.java"]


def test_sarif_reports_a_missing_inventory_and_uncatalogued_files():
    log = sarif(gate_result(uncatalogued="block"), inventory_dir="fleet/inventory")
    by_rule: dict[str, list[dict]] = {}
    for r in results_of(log):
        by_rule.setdefault(r["ruleId"], []).append(r)
    (missing,) = by_rule[NO_INVENTORY_RULE]
    assert missing["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "fleet/inventory/131211.json"
    assert [r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in by_rule[UNCATALOGUED_RULE]] == [
        "app/renkei/custom/Link.java", "app/renkei/custom/Batch.java",
    ]
    assert {r["level"] for r in by_rule[UNCATALOGUED_RULE]} == {"error"}
    warned = [r for r in results_of(sarif(gate_result())) if r["ruleId"] == UNCATALOGUED_RULE]
    assert {r["level"] for r in warned} == {"warning"}
    assert not [r for r in results_of(sarif(gate_result(uncatalogued="ignore"))) if r["ruleId"] == UNCATALOGUED_RULE]


def test_sarif_rules_carry_the_fix_titles_when_given():
    log = sarif(gate_result(), titles={"KOFU-2019-0117": "A resident record updated during issuance yields another resident's certificate"})
    rule = next(r for r in log["runs"][0]["tool"]["driver"]["rules"] if r["id"] == "KOFU-2019-0117")
    assert rule["shortDescription"]["text"].startswith("A resident record")
    assert rule["properties"] == {"severity": "critical"}


def test_sarif_is_the_same_bytes_for_the_same_result():
    assert render_sarif(gate_result()) == render_sarif(gate_result())
    assert render_junit(gate_result()) == render_junit(gate_result())


def test_sarif_of_a_passing_gate_and_of_an_error_are_valid():
    passing = decide(Scan("s", "c", "t", (tenant("141305", "川崎市", APPLIED),)), Policy(), TODAY)
    log = sarif(passing)
    assert results_of(log) == [] and log["runs"][0]["properties"]["passed"] is True
    error = json.loads(render_sarif_error("manifests/catalog.yaml: invalid YAML"))
    validate(error)
    assert error["runs"][0]["invocations"][0]["toolExecutionNotifications"][0]["message"]["text"] == "manifests/catalog.yaml: invalid YAML"


@pytest.mark.parametrize(
    "broken",
    [
        {"version": "2.0.0", "runs": []},
        {"version": "2.1.0", "runs": [{"tool": {"driver": {}}}]},
        {"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "d"}}, "results": [{"ruleId": "X"}]}]},
        {"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "d"}}, "results": [{"message": {"text": "m"}, "level": "fatal"}]}]},
        {"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "d"}}, "results": [{"message": {"text": "m"}, "severity": "high"}]}]},
        {"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "d"}}, "results": [{"message": {"text": "m"}, "suppressions": [{"status": "accepted"}]}]}]},
    ],
)
def test_the_schema_refuses_what_sarif_does_not_allow(broken):
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft7Validator(SCHEMA).validate(broken)


# A stale copy, a removed file, and strings from tenants that hold escape sequences (SPEC 5).

HOSTILE = "\x1b[32mPASS\x1b[0m\r\n\u202e\x01"
STALE = Finding("KOFU-2024-0001", "missing", "critical", "8.x", (
    Evidence("app/Job.java", "unfixed", H["1"], (H["2"],), found_at="app/Job.java.bak", note="stale copy at app/Job.java.bak"),
    Evidence("app/Gone.java", "removed", "absent", (H["2"],), note="removed: release 8.2.1 ships it"),
    Evidence("app/Fine.java", "fixed", H["2"], (H["2"],)),
))
HOSTILE_CONFIG = Finding("KOFU-2024-0002", "missing", "high", "8.x", (
    Evidence("conf/a.properties#mode", "unfixed", HOSTILE, ("strict",), note=HOSTILE),
    Evidence("app/" + HOSTILE[:2], "unfixed", H["1"], (H["2"],), found_at="app/\u202ekab.avaJ"),
))


def hostile_result() -> GateResult:
    scan = Scan("sha256:" + "9" * 64, "sha256:" + "8" * 64, "x", (
        tenant("402206", "=" + HOSTILE, STALE, HOSTILE_CONFIG, uncatalogued=("app/" + HOSTILE + ".java",)),
    ))
    return decide(scan, Policy(waivers=(Waiver("402206", "KOFU-2024-0002", HOSTILE, HOSTILE, dt.date(2099, 1, 1), "waivers[0]"),)), TODAY)


def test_junit_evidence_lines_show_where_a_copy_was_found_and_why():
    failure = cases(junit(hostile_result()))[("drift.402206", "KOFU-2024-0001")].find("failure")
    assert failure.text.splitlines()[1:] == [
        f"app/Job.java: unfixed, found {H['1']} at app/Job.java.bak, expected {H['2']} (stale copy at app/Job.java.bak)",
        f"app/Gone.java: removed, found absent, expected {H['2']} (removed: release 8.2.1 ships it)",
        f"app/Fine.java: fixed, found {H['2']}, expected {H['2']}",
    ]


def test_junit_shows_tenant_strings_escaped_and_always_parses():
    text = render_junit(hostile_result())
    assert not any(ch in text for ch in "\x1b\r\u202e\x01")
    root = ET.fromstring(text.encode("utf-8"))
    assert root.find("testsuite").get("name") == "402206 =\\e[32mPASS\\e[0m\\r\\n\\u202e\\x01"
    waived = cases(root)[("drift.402206", "KOFU-2024-0002")].find("system-out").text
    # One line per value: a newline in a config value or a waiver's reason cannot forge a line.
    assert "reason: \\e[32mPASS\\e[0m\\r\\n\\u202e\\x01\n" in waived
    assert "conf/a.properties#mode: unfixed, found \\e[32mPASS\\e[0m\\r\\n\\u202e\\x01, expected strict (\\e[32mPASS" in waived


def test_sarif_points_at_a_stale_copy_as_a_second_location_and_a_removed_file_needs_action():
    log = sarif(hostile_result())
    (stale,) = [r for r in results_of(log) if r["ruleId"] == "KOFU-2024-0001"]
    assert [loc["physicalLocation"]["artifactLocation"]["uri"] for loc in stale["locations"]] == ["app/Job.java", "app/Job.java.bak", "app/Gone.java"]
    assert stale["locations"][1]["message"]["text"] == f"stale copy of app/Job.java: {H['1']}"
    assert stale["locations"][2]["message"]["text"] == f"removed: found absent, expected {H['2']} (removed: release 8.2.1 ships it)"
    assert "app/Gone.java removed" in stale["message"]["text"]


def test_sarif_messages_show_tenant_strings_escaped():
    text = render_sarif(hostile_result())
    assert not any(ch in text for ch in "\x1b\r\u202e\x01")  # JSON escapes, \u202e included
    log = json.loads(text)
    validate(log)
    assert log["runs"][0]["results"][0]["properties"]["tenantName"] == "=" + HOSTILE  # data: the value itself
    messages = [r["message"]["text"] for r in results_of(log)] + [
        loc["message"]["text"] for r in results_of(log) for loc in r["locations"] if "message" in loc
    ]
    assert not any(ch in m for m in messages for ch in "\x1b\r\n\u202e\x01")  # a person reads these: escaped
    assert any("=\\e[32mPASS\\e[0m\\r\\n\\u202e\\x01" in m for m in messages)
