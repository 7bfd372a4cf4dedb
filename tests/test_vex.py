"""`drift export openvex` and `drift export csaf`: the reference fleet's stored scan as OpenVEX 0.2.0 and as
CSAF 2.0 `csaf_vex`, each valid against its published schema (`../shared/schemas/`, read locally, the CVSS
schemas CSAF refers to resolved from the files beside it, never the network), the CSAF one also against the
csaf_vex profile's mandatory tests that a program can check (CSAF 2.0 sections 4.5 and 6.1). Every finding is
one statement with the status SPEC 6 gives it; the same scan gives the same bytes; and the checks are shown
to fail on broken documents, so they cannot pass vacuously."""

from __future__ import annotations

import copy
import datetime as dt
import json
import re
import shutil
from dataclasses import replace
from pathlib import Path
from typing import Any, cast
from urllib.parse import urlsplit

import click
import jsonschema
import pytest
import yaml
from click.testing import CliRunner
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

from drift.catalog import load_catalog
from drift.cli.main import DriftGroup
from drift.cli.vex import csaf, openvex
from drift.errors import InputError
from drift.results import Evidence, FileDrift, Finding, Scan, TenantResult
from drift.scan import scan_into
from drift.store import Store
from drift.tenants import Tenant, load_registry
from drift.vex import CatalogInfo, FixInfo, catalog_info
from drift.vex.csaf import render_csaf
from drift.vex.openvex import render_openvex

ROOT = Path(__file__).resolve().parents[1]
MANIFESTS = ROOT / "manifests"
INVENTORY = ROOT / "inventory"
SCHEMAS = ROOT.parent / "shared" / "schemas"
CVSS_FILES = {f"https://www.first.org/cvss/{name}": name for name in ("cvss-v2.0.json", "cvss-v3.0.json", "cvss-v3.1.json")}
"""The CVSS schemas the CSAF schema refers to, by the URI it uses, and their files beside it."""
NOW = dt.datetime(2026, 3, 31, 9, 0, 0, tzinfo=dt.UTC)

# SPEC 6, written out here so that the test does not read it from the code it checks.
OPENVEX_STATUS = {"applied": "fixed", "missing": "affected", "partial": "affected", "not-applicable": "not_affected",
                  "unverifiable": "under_investigation"}
CSAF_STATUS = {"applied": "fixed", "missing": "known_affected", "partial": "known_affected", "not-applicable": "known_not_affected",
               "unverifiable": "under_investigation"}


def _json(text: str) -> dict[str, Any]:
    return cast(dict[str, Any], json.loads(text))


def _schema_file(*parts: str) -> dict[str, Any]:
    path = SCHEMAS.joinpath(*parts)
    if not path.is_file():  # CI has ../shared beside the checkout: a missing schema must not pass as a skip
        pytest.fail(f"the published schema is not at hand: no {path} (SPEC 6 keeps them in ../shared/schemas/)")
    return _json(path.read_text(encoding="utf-8"))


# --- validators -------------------------------------------------------------------------------------------

_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*")


def _is_iri(value: object) -> bool:
    """An absolute IRI: a scheme, then something, and no whitespace or control character. jsonschema checks
    `iri` and `uri` only when rfc3987 (or rfc3986-validator) is installed, and the test extra installs neither:
    without this, those formats would pass unchecked."""
    if not isinstance(value, str):
        return True
    parts = urlsplit(value)
    rest = value[len(parts.scheme) + 1:]
    return bool(_SCHEME.fullmatch(parts.scheme)) and bool(rest) and not any(ch.isspace() or not ch.isprintable() for ch in value)


_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})")


def _is_date_time(value: object) -> bool:
    """RFC 3339 date-time: jsonschema checks `date-time` only when rfc3339-validator is installed, which a
    new machine's test extra does not bring."""
    if not isinstance(value, str):
        return True
    if not _RFC3339.fullmatch(value):
        return False
    try:
        dt.datetime.fromisoformat(value.replace("z", "Z").replace("t", "T"))
    except ValueError:
        return False
    return True


def _format_checker() -> jsonschema.FormatChecker:
    checker = jsonschema.FormatChecker()  # every format jsonschema can check here
    checker.checks("date-time")(_is_date_time)
    checker.checks("iri")(_is_iri)
    checker.checks("uri")(lambda value: _is_iri(value) and (not isinstance(value, str) or value.isascii()))
    return checker


def _schema_errors(document: dict[str, Any], schema: dict[str, Any], registry: Registry[Any] | None = None) -> list[str]:
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    kwargs: dict[str, Any] = {"format_checker": _format_checker()}
    if registry is not None:
        kwargs["registry"] = registry
    validator = cls(schema, **kwargs)
    return [f"{'/'.join(map(str, e.absolute_path))} [{e.validator}]: {e.message[:200]}" for e in validator.iter_errors(document)]


def _openvex_errors(document: dict[str, Any], schema: dict[str, Any]) -> list[str]:
    """`_schema_errors` for an OpenVEX document, in linear time: the schema's one constraint across statements
    is `uniqueItems`, which jsonschema checks by comparing every pair of objects (30 s for the reference
    fleet's 3,936 statements). So each statement is validated in the document on its own, and uniqueness is
    checked through a canonical encoding: the same errors (`test_the_linear_openvex_check_is_the_schema`)."""
    statements = document.get("statements")
    if not isinstance(statements, list) or len(statements) < 2:
        return _schema_errors(document, schema)
    cls = jsonschema.validators.validator_for(schema)
    validator = cls(schema, format_checker=_format_checker())
    errors: dict[str, None] = {}
    for i, statement in enumerate(statements):
        for e in validator.iter_errors({**document, "statements": [statement]}):
            path = list(e.absolute_path)
            if path[:2] == ["statements", 0]:
                path[1] = i  # where the statement is in the whole document
            errors[f"{'/'.join(map(str, path))} [{e.validator}]: {e.message[:200]}"] = None
    encoded = [json.dumps(s, sort_keys=True) for s in statements]
    if len(set(encoded)) != len(encoded):
        errors["statements [uniqueItems]: the statements are not unique"] = None
    return list(errors)


@pytest.fixture(scope="module")
def openvex_schema() -> dict[str, Any]:
    return _schema_file("openvex-0.2.0.schema.json")


@pytest.fixture(scope="module")
def csaf_schema() -> tuple[dict[str, Any], Registry[Any]]:
    schema = _schema_file("csaf-2.0", "csaf_json_schema.json")
    resources: list[tuple[str, Resource[Any]]] = []
    for uri, name in CVSS_FILES.items():
        contents = _schema_file("csaf-2.0", name)
        resource = Resource.from_contents(contents, default_specification=DRAFT4)
        resources.append((uri, resource))
        if (own := resource.id()) is not None:  # cvss-v3.1.json names itself with a query: found under that name too
            resources.append((own, resource))

    def no_network(uri: str) -> Resource[Any]:
        raise AssertionError(f"the schema asked for {uri}, which is not held locally")

    registry: Registry[Any] = Registry(retrieve=no_network).with_resources(resources)  # type: ignore[call-arg]
    return schema, registry


_PURL = re.compile(r"pkg:[a-z.+\-][a-z0-9.+\-]*/[^?#@]+(@[^?#]+)?(\?[a-z.\-_][a-z0-9.\-_]*=[^&#]+(&[a-z.\-_][a-z0-9.\-_]*=[^&#]+)*)?(#.+)?")
_AFFECTED = ("first_affected", "known_affected", "last_affected")
_FIXED = ("first_fixed", "fixed")
_VEX_FLAGS = {"component_not_present", "inline_mitigations_already_exist", "vulnerable_code_cannot_be_controlled_by_adversary",
              "vulnerable_code_not_in_execute_path", "vulnerable_code_not_present"}


def _product_definitions(node: Any) -> list[str]:
    """Every product_id the product tree defines (full product names, in branches and relationships)."""
    found: list[str] = []
    if isinstance(node, dict):
        if "product_id" in node and "name" in node:
            found.append(node["product_id"])
        for value in node.values():
            found += _product_definitions(value)
    elif isinstance(node, list):
        for item in node:
            found += _product_definitions(item)
    return found


def csaf_vex_problems(doc: dict[str, Any]) -> list[str]:
    """What the document breaks of CSAF 2.0's mandatory tests for the csaf_vex profile (sections 4.5, 6.1) that
    a program can check without a CVSS calculator: an empty list for a conforming document."""
    problems: list[str] = []
    document = doc.get("document", {})
    if document.get("category") != "csaf_vex":
        problems.append("4.5: /document/category is not csaf_vex")
    if "product_tree" not in doc:
        problems.append("6.1.27.4: no /product_tree")
    defined = _product_definitions(doc.get("product_tree", {}))
    if len(defined) != len(set(defined)):
        problems.append("6.1.2: a product_id defined twice")
    for node in _walk(doc.get("product_tree", {})):
        purl = node.get("product_identification_helper", {}).get("purl") if isinstance(node, dict) else None
        if purl is not None and not _PURL.fullmatch(purl):
            problems.append(f"6.1.13: invalid purl {purl}")
    vulnerabilities = doc.get("vulnerabilities")
    if not vulnerabilities:
        problems.append("6.1.27.11: no /vulnerabilities")
    cves: list[str] = []
    for i, v in enumerate(vulnerabilities or []):
        where = f"/vulnerabilities[{i}]"
        if not v.get("notes"):
            problems.append(f"6.1.27.5: {where} has no notes")
        if "cve" not in v and "ids" not in v:
            problems.append(f"6.1.27.8: {where} has neither cve nor ids")
        if "cve" in v:
            cves.append(v["cve"])
        status = v.get("product_status")
        if status is None:
            problems.append(f"4.5: {where} has no product_status")
            status = {}
        if not any(status.get(k) for k in ("fixed", "known_affected", "known_not_affected", "under_investigation")):
            problems.append(f"6.1.27.7: {where}/product_status has none of fixed, known_affected, known_not_affected, under_investigation")
        referenced = [p for ids in status.values() for p in ids]
        for key in ("flags", "remediations", "threats"):
            for j, item in enumerate(v.get(key, [])):
                if not item.get("product_ids") and not item.get("group_ids") and key != "threats":
                    problems.append(f"6.1.{32 if key == 'flags' else 29}: {where}/{key}[{j}] names no product")
                referenced += item.get("product_ids", [])
        problems += [f"6.1.1: {where} names undefined product {p}" for p in sorted(set(referenced) - set(defined))]
        groups = {
            "affected": {p for k in _AFFECTED for p in status.get(k, [])},
            "fixed": {p for k in _FIXED for p in status.get(k, [])},
            "not affected": set(status.get("known_not_affected", [])),
            "under investigation": set(status.get("under_investigation", [])),
        }
        names = list(groups)
        for a, name_a in enumerate(names):
            for name_b in names[a + 1:]:
                for p in sorted(groups[name_a] & groups[name_b]):
                    problems.append(f"6.1.6: {where}: {p} is both {name_a} and {name_b}")
        flagged: dict[str, int] = {}
        for flag in v.get("flags", []):
            if flag.get("label") in _VEX_FLAGS:
                for p in flag.get("product_ids", []):
                    flagged[p] = flagged.get(p, 0) + 1
        problems += [f"6.1.33: {where}: {p} has {n} VEX flags" for p, n in sorted(flagged.items()) if n > 1]
        impact = {p for t in v.get("threats", []) if t.get("category") == "impact" for p in t.get("product_ids", [])}
        for p in status.get("known_not_affected", []):
            if p not in flagged and p not in impact:
                problems.append(f"6.1.27.9: {where}: {p} is known_not_affected without a flag or impact statement")
        remedied = {p for r in v.get("remediations", []) for p in r.get("product_ids", [])}
        for p in status.get("known_affected", []):
            if p not in remedied:
                problems.append(f"6.1.27.10: {where}: {p} is known_affected without a remediation")
    if len(cves) != len(set(cves)):
        problems.append("6.1.23: a CVE is used by two vulnerabilities")
    tracking = document.get("tracking", {})
    numbers = [r.get("number") for r in tracking.get("revision_history", [])]
    if len(numbers) != len(set(numbers)):
        problems.append("6.1.22: a revision number is used twice")
    integers = sorted(int(n) for n in numbers if isinstance(n, str) and n.isdigit())
    if integers and integers != list(range(integers[0], integers[0] + len(integers))):
        problems.append("6.1.21: the revision history misses an item")
    if integers and tracking.get("version") != str(integers[-1]):
        problems.append("6.1.16: /document/tracking/version is not the latest revision")
    if tracking.get("status") in ("final", "interim") and (tracking.get("version") == "0" or "-" in str(tracking.get("version"))):
        problems.append("6.1.20: a final document has a draft version")
    dates = [r.get("date") for r in tracking.get("revision_history", [])]
    if dates != sorted(dates):
        problems.append("6.1.14: the revision history is not sorted")
    if "lang" in document and not re.fullmatch(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*", document["lang"]):
        problems.append("6.1.12: invalid /document/lang")
    return problems


def _walk(node: Any) -> list[Any]:
    found = [node]
    if isinstance(node, dict):
        for value in node.values():
            found += _walk(value)
    elif isinstance(node, list):
        for item in node:
            found += _walk(item)
    return found


# --- the reference fleet ------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The reference fleet scanned once (at a fixed time) into a database of its own."""
    db = tmp_path_factory.mktemp("vex") / "drift.db"
    catalog = load_catalog(MANIFESTS)
    with Store(db) as store:
        scan_into(store, catalog, load_registry(INVENTORY), INVENTORY, catalog.fixes, now=NOW)
    return db


@pytest.fixture(scope="module")
def scan(reference: Path) -> Scan:
    with Store(reference) as store:
        return store.load_scan("latest")


@pytest.fixture(scope="module")
def info() -> CatalogInfo:
    return catalog_info(load_catalog(MANIFESTS))


@pytest.fixture(scope="module")
def vex(scan: Scan, info: CatalogInfo) -> dict[str, Any]:
    return _json(render_openvex(scan, info))


@pytest.fixture(scope="module")
def advisory(scan: Scan, info: CatalogInfo) -> dict[str, Any]:
    return _json(render_csaf(scan, info))


def findings(scan: Scan) -> dict[tuple[str, str], Finding]:
    return {(r.tenant.id, f.fix): f for r in scan.tenants for f in r.findings}


def openvex_statement(vex: dict[str, Any], tenant: str, fix: str) -> dict[str, Any]:
    matches: list[dict[str, Any]] = [s for s in vex["statements"]
               if s["vulnerability"]["name"] == fix and s["products"][0]["@id"] == f"pkg:generic/kofu?tenant={tenant}"]
    [found] = matches
    return found


def csaf_vulnerability(advisory: dict[str, Any], fix: str) -> dict[str, Any]:
    matches: list[dict[str, Any]] = [v for v in advisory["vulnerabilities"] if {"system_name": "kofu fix id", "text": fix} in v["ids"]]
    [found] = matches
    return found


def csaf_status(vulnerability: dict[str, Any], tenant: str) -> str:
    names: list[str] = [name for name, ids in vulnerability["product_status"].items() if f"TENANT-{tenant}" in ids]
    [status] = names
    return status


def test_the_reference_fleet_has_every_status(scan: Scan) -> None:
    statuses = {f.status for f in findings(scan).values()}
    assert statuses == set(OPENVEX_STATUS), "the reference fleet should exercise every mapping"


def test_the_openvex_document_is_valid_openvex_0_2_0(vex: dict[str, Any], openvex_schema: dict[str, Any]) -> None:
    assert openvex_schema["$id"].endswith("openvex_json_schema_0.2.0.json")
    assert _openvex_errors(vex, openvex_schema) == []


def test_the_csaf_document_is_valid_csaf_2_0_and_csaf_vex(advisory: dict[str, Any], csaf_schema: tuple[dict[str, Any], Registry[Any]]) -> None:
    schema, registry = csaf_schema
    assert _schema_errors(advisory, schema, registry) == []
    assert csaf_vex_problems(advisory) == []
    assert advisory["document"]["category"] == "csaf_vex"


def test_every_finding_is_one_statement_with_its_status(scan: Scan, vex: dict[str, Any], advisory: dict[str, Any]) -> None:
    judged = findings(scan)
    # OpenVEX: one statement per (tenant, fix), one product each, in tenant then fix order.
    stated = [(s["products"][0]["@id"].rpartition("=")[2], s["vulnerability"]["name"], s["status"]) for s in vex["statements"]]
    assert len(stated) == len(judged) == sum(len(r.findings) for r in scan.tenants)
    assert {(t, f): s for t, f, s in stated} == {key: OPENVEX_STATUS[f.status] for key, f in judged.items()}
    assert [(t, f) for t, f, _ in stated] == sorted(judged)
    assert all(len(s["products"]) == 1 for s in vex["statements"])
    # CSAF: each (tenant, fix) in exactly one product status list of its vulnerability.
    listed = [(pid.removeprefix("TENANT-"), v["ids"][0]["text"], name)
              for v in advisory["vulnerabilities"] for name, ids in v["product_status"].items() for pid in ids]
    assert len(listed) == len(judged)
    assert {(t, f): s for t, f, s in listed} == {key: CSAF_STATUS[f.status] for key, f in judged.items()}
    tenants = [p["product_id"] for p in advisory["product_tree"]["full_product_names"]]
    assert tenants == [f"TENANT-{r.tenant.id}" for r in scan.tenants]
    assert [v["ids"][0]["text"] for v in advisory["vulnerabilities"]] == sorted({f for _, f in judged})


def test_402206_lacks_kofu_2019_0117_and_is_told_what_to_apply(scan: Scan, vex: dict[str, Any], advisory: dict[str, Any]) -> None:
    finding = findings(scan)[("402206", "KOFU-2019-0117")]
    assert finding.status == "missing" and finding.variant == "7.x"
    statement = openvex_statement(vex, "402206", "KOFU-2019-0117")
    assert statement["status"] == "affected"
    assert statement["action_statement"] == "Apply the fix of line 7.x (first shipped in 7.4.3)"
    assert statement["vulnerability"]["description"].startswith("A resident record updated during issuance")
    assert statement["status_notes"].startswith("宗像市 (402206): drift status missing on line 7.x: app/konbini/IssueSession.java: unfixed")
    vulnerability = csaf_vulnerability(advisory, "KOFU-2019-0117")
    assert csaf_status(vulnerability, "402206") == "known_affected"
    [remediation] = [r for r in vulnerability["remediations"] if "TENANT-402206" in r["product_ids"]]
    assert remediation == {"category": "vendor_fix", "details": "Apply the fix of line 7.x (first shipped in 7.4.3)",
                           "product_ids": remediation["product_ids"]}
    [product] = [p for p in advisory["product_tree"]["full_product_names"] if p["product_id"] == "TENANT-402206"]
    assert product == {"name": "kofu at 宗像市 (402206)", "product_id": "TENANT-402206",
                       "product_identification_helper": {"purl": "pkg:generic/kofu?tenant=402206"}}


def test_a_partial_finding_says_part_of_the_fix_is_there(scan: Scan, vex: dict[str, Any]) -> None:
    partial = [key for key, f in findings(scan).items() if f.status == "partial"]
    assert partial
    for tenant, fix in partial:
        statement = openvex_statement(vex, tenant, fix)
        assert statement["status"] == "affected"
        assert statement["action_statement"].startswith("Apply the fix of line ")
        assert statement["action_statement"].endswith("; only part of it is deployed")


def test_a_tenant_without_renkei_is_not_affected_by_kofu_2023_0422(vex: dict[str, Any], advisory: dict[str, Any]) -> None:
    without = [t.id for t in load_registry(INVENTORY) if "renkei" not in t.modules]
    assert "402206" in without
    vulnerability = csaf_vulnerability(advisory, "KOFU-2023-0422")
    [flag] = vulnerability["flags"]
    assert flag["label"] == "component_not_present"
    for tenant in without:
        statement = openvex_statement(vex, tenant, "KOFU-2023-0422")
        assert statement["status"] == "not_affected"
        assert statement["justification"] == "component_not_present"
        assert "applies to modules renkei" in statement["status_notes"]
        assert csaf_status(vulnerability, tenant) == "known_not_affected"
        assert f"TENANT-{tenant}" in flag["product_ids"]


def test_an_unverifiable_finding_is_under_investigation(scan: Scan, vex: dict[str, Any], advisory: dict[str, Any]) -> None:
    unverifiable = [key for key, f in findings(scan).items() if f.status == "unverifiable"]
    assert unverifiable
    for tenant, fix in unverifiable:
        statement = openvex_statement(vex, tenant, fix)
        assert statement["status"] == "under_investigation"
        assert "action_statement" not in statement and "justification" not in statement
        assert csaf_status(csaf_vulnerability(advisory, fix), tenant) == "under_investigation"


def test_the_same_scan_gives_the_same_bytes(reference: Path, scan: Scan, info: CatalogInfo) -> None:
    with Store(reference) as store:
        again = store.load_scan(scan.id)
    assert render_openvex(again, info) == render_openvex(scan, info)
    assert render_csaf(again, info) == render_csaf(scan, info)
    # Statements are sorted by the renderers, not taken in whatever order a scan holds them.
    shuffled = replace(scan, tenants=tuple(replace(r, findings=r.findings[::-1]) for r in reversed(scan.tenants)))
    assert render_openvex(shuffled, info) == render_openvex(scan, info)
    assert render_csaf(shuffled, info) == render_csaf(scan, info)
    text = render_openvex(scan, info)
    assert text.endswith("}\n") and "\n  \"statements\": [\n" in text  # 2-space indent, a final newline
    doc = json.loads(text)
    when = NOW.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert doc["timestamp"] == when and doc["version"] == 1
    assert doc["@id"] == f"urn:drift-audit:openvex:{scan.id}"
    tracking = json.loads(render_csaf(scan, info))["document"]["tracking"]
    assert tracking["id"] == "drift-scan-" + scan.id.removeprefix("sha256:")
    assert (tracking["version"], tracking["initial_release_date"], tracking["current_release_date"]) == ("1", when, when)


def test_without_the_catalog_the_documents_are_still_valid(
    scan: Scan, openvex_schema: dict[str, Any], csaf_schema: tuple[dict[str, Any], Registry[Any]]
) -> None:
    vex = json.loads(render_openvex(scan))
    assert _openvex_errors(vex, openvex_schema) == []
    statement = vex["statements"][0]
    assert statement["products"][0]["@id"].startswith("pkg:generic/product?tenant=")
    assert "description" not in statement["vulnerability"]
    affected = [s for s in vex["statements"] if s["status"] == "affected"]
    assert affected and all(re.fullmatch(r"Apply the fix of line [78]\.x(; only part of it is deployed)?", s["action_statement"])
                            for s in affected)  # no release named without the catalog
    advisory = json.loads(render_csaf(scan))
    schema, registry = csaf_schema
    assert _schema_errors(advisory, schema, registry) == []
    assert csaf_vex_problems(advisory) == []


def test_aliases_become_aliases_cve_and_ids(
    scan: Scan, info: CatalogInfo, openvex_schema: dict[str, Any], csaf_schema: tuple[dict[str, Any], Registry[Any]]
) -> None:
    fixes = dict(info.fixes)
    first, second = fixes["KOFU-2019-0117"], fixes["KOFU-2023-0422"]
    fixes["KOFU-2019-0117"] = FixInfo(first.title, ("CVE-2019-10117", "JVNDB-2019-000117", "CVE-2019-20117"), first.fixed_in)
    fixes["KOFU-2023-0422"] = FixInfo(second.title, ("CVE-2019-10117",), second.fixed_in)  # the same CVE again: CSAF 6.1.23
    aliased = CatalogInfo(info.product, fixes)
    vex = json.loads(render_openvex(scan, aliased))
    assert _openvex_errors(vex, openvex_schema) == []
    assert openvex_statement(vex, "402206", "KOFU-2019-0117")["vulnerability"]["aliases"] == [
        "CVE-2019-10117", "JVNDB-2019-000117", "CVE-2019-20117"]
    advisory = json.loads(render_csaf(scan, aliased))
    schema, registry = csaf_schema
    assert _schema_errors(advisory, schema, registry) == []
    assert csaf_vex_problems(advisory) == []
    vulnerability = csaf_vulnerability(advisory, "KOFU-2019-0117")
    assert vulnerability["cve"] == "CVE-2019-10117"
    assert vulnerability["ids"] == [{"system_name": "kofu fix id", "text": "KOFU-2019-0117"},
                                    {"system_name": "JVNDB", "text": "JVNDB-2019-000117"},
                                    {"system_name": "CVE", "text": "CVE-2019-20117"}]
    later = csaf_vulnerability(advisory, "KOFU-2023-0422")
    assert "cve" not in later and {"system_name": "CVE", "text": "CVE-2019-10117"} in later["ids"]


def _tiny_scan(name: str, path: str, status: str = "missing") -> Scan:
    tenant = Tenant("tenant-1", name)
    finding = Finding("FIX-1", status, "high", "8.x", (Evidence(path, "unfixed", "sha256:" + "1" * 64, ("sha256:" + "2" * 64,)),))
    result = TenantResult(tenant, "sha256:" + "3" * 64, "2026-01-01T00:00:00Z", (finding,), FileDrift(), {status: 1})
    return Scan("sha256:" + "4" * 64, "sha256:" + "5" * 64, "2026-01-01T00:00:00Z", (result,))


def test_tenant_strings_are_json_escaped_and_kept_whole(openvex_schema: dict[str, Any], csaf_schema: tuple[dict[str, Any], Registry[Any]]) -> None:
    # Names and paths from a stored scan are written as they were stored: a registry refuses control characters
    # in a name today, but a document must not depend on that.
    name, path = 'Quote " back\\slash </script> 宗像\u2066', "app/\u202eevil\x1b[31m.java"
    scan = _tiny_scan(name, path)
    for render in (render_openvex, render_csaf):
        text = render(scan, None)
        assert "\u2066" not in text and "\\u2066" in text and "\u202e" not in text and "\x1b" not in text
    vex = json.loads(render_openvex(scan))
    assert vex["statements"][0]["status_notes"] == f"{name} (tenant-1): drift status missing on line 8.x: {path}: unfixed"
    assert _openvex_errors(vex, openvex_schema) == []
    advisory = json.loads(render_csaf(scan))
    assert advisory["product_tree"]["full_product_names"][0]["name"] == f"product at {name} (tenant-1)"
    schema, registry = csaf_schema
    assert _schema_errors(advisory, schema, registry) == [] and csaf_vex_problems(advisory) == []


def test_a_scan_with_no_finding_is_refused() -> None:
    empty = Scan("sha256:" + "4" * 64, "sha256:" + "5" * 64, "2026-01-01T00:00:00Z", ())
    for render in (render_openvex, render_csaf):
        with pytest.raises(InputError, match="no finding"):
            render(empty)
    with pytest.raises(InputError, match="status 'waived'"):
        render_openvex(_tiny_scan("x", "a.java", status="waived"))


# --- the checks catch broken documents ----------------------------------------------------------------------

def test_the_openvex_check_catches_a_broken_document(vex: dict[str, Any], openvex_schema: dict[str, Any]) -> None:
    statements = vex["statements"]
    affected = next(i for i, s in enumerate(statements) if s["status"] == "affected")
    not_affected = next(i for i, s in enumerate(statements) if s["status"] == "not_affected")
    small = {**vex, "statements": [statements[affected], statements[not_affected]]}
    assert _openvex_errors(small, openvex_schema) == []
    for broken in (
        {k: v for k, v in small.items() if k != "author"},
        {**small, "statements": [{k: v for k, v in statements[affected].items() if k != "action_statement"}]},
        {**small, "statements": [{k: v for k, v in statements[not_affected].items() if k != "justification"}]},
        {**small, "statements": [{**statements[affected], "status": "patched"}]},
        {**small, "@id": "not an iri"},
        {**small, "timestamp": "31 March 2026"},
    ):
        assert _openvex_errors(broken, openvex_schema) != []


def test_the_linear_openvex_check_is_the_schema(vex: dict[str, Any], openvex_schema: dict[str, Any]) -> None:
    statements = vex["statements"][:120]
    part = {**vex, "statements": statements}
    assert _openvex_errors(part, openvex_schema) == _schema_errors(part, openvex_schema) == []
    broken = {**vex, "statements": [*statements, statements[7], {**statements[3], "status": "patched"}]}
    full = _schema_errors(broken, openvex_schema)
    where = sorted(e.partition(": ")[0] for e in full)
    assert where == ["statements [uniqueItems]", "statements/121/status [enum]"]
    assert sorted(e.partition(": ")[0] for e in _openvex_errors(broken, openvex_schema)) == where


def test_the_csaf_checks_catch_a_broken_document(advisory: dict[str, Any], csaf_schema: tuple[dict[str, Any], Registry[Any]]) -> None:
    schema, registry = csaf_schema
    small = copy.deepcopy(advisory)
    small["vulnerabilities"] = [csaf_vulnerability(small, "KOFU-2019-0117")]
    assert _schema_errors(small, schema, registry) == [] and csaf_vex_problems(small) == []

    no_tracking = copy.deepcopy(small)
    del no_tracking["document"]["tracking"]
    assert _schema_errors(no_tracking, schema, registry) != []
    bad_cvss = copy.deepcopy(small)  # the CVSS schemas are resolved, locally, and applied
    bad_cvss["vulnerabilities"][0]["scores"] = [{"products": ["TENANT-402206"], "cvss_v3": {"version": "3.1", "baseScore": 11}}]
    assert any("cvss_v3" in e for e in _schema_errors(bad_cvss, schema, registry))

    def broken(change: Any) -> list[str]:
        doc = copy.deepcopy(small)
        change(doc["vulnerabilities"][0], doc)
        return csaf_vex_problems(doc)

    assert any(p.startswith("6.1.27.10") for p in broken(lambda v, d: v.pop("remediations")))
    assert any(p.startswith("6.1.27.9") for p in broken(lambda v, d: v.pop("flags")))
    assert any(p.startswith("4.5") for p in broken(lambda v, d: v.pop("product_status")))
    assert any(p.startswith("6.1.27.5") for p in broken(lambda v, d: v.pop("notes")))
    assert any(p.startswith("6.1.27.8") for p in broken(lambda v, d: v.pop("ids")))
    assert any(p.startswith("6.1.6") for p in broken(lambda v, d: v["product_status"]["fixed"].append("TENANT-402206")))
    assert any(p.startswith("6.1.1") for p in broken(lambda v, d: v["product_status"]["fixed"].append("TENANT-999999")))
    assert any(p.startswith("6.1.27.4") for p in broken(lambda v, d: d.pop("product_tree")))
    assert any(p.startswith("6.1.16") for p in broken(lambda v, d: d["document"]["tracking"].update(version="2")))


# --- the commands -------------------------------------------------------------------------------------------

@click.group(cls=DriftGroup)
def export() -> None:
    """The export group, as drift/cli/export.py will hold these commands."""


export.add_command(openvex)
export.add_command(csaf)


def run(cwd: Path, *args: str) -> Any:
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(cwd)
        return CliRunner().invoke(export, list(args), catch_exceptions=False)


@pytest.mark.parametrize("command", ["openvex", "csaf"])
def test_the_commands_write_the_document_to_a_file_or_stdout(command: str, reference: Path, scan: Scan, info: CatalogInfo, tmp_path: Path) -> None:
    render = render_openvex if command == "openvex" else render_csaf
    expected = render(scan, info)
    to_file = run(tmp_path, command, "--db", str(reference), "--catalog", str(MANIFESTS), "--out", "vex.json")
    assert to_file.exit_code == 0, to_file.stderr
    assert (tmp_path / "vex.json").read_text(encoding="utf-8") == expected
    assert f"{len(findings(scan))} statements, scan {scan.id}" in to_file.stderr
    to_stdout = run(tmp_path, command, "--db", str(reference), "--catalog", str(MANIFESTS), "--scan", scan.id[:20])
    assert to_stdout.exit_code == 0 and to_stdout.stdout == expected
    # No catalog folder here: a note, and the documents without titles.
    bare = run(tmp_path, command, "--db", str(reference))
    assert bare.exit_code == 0 and "drift: note: product name, fix titles, aliases and releases left out" in bare.stderr
    assert bare.stdout == render(scan, None)


@pytest.mark.parametrize("command", ["openvex", "csaf"])
def test_the_commands_refuse_another_catalog_and_a_missing_database(command: str, reference: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    shutil.copytree(MANIFESTS, other)
    fix = other / "fixes" / "KOFU-2019-0117.yaml"
    doc = yaml.safe_load(fix.read_text(encoding="utf-8"))
    doc["title"] = "Another title"
    fix.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    refused = run(tmp_path, command, "--db", str(reference), "--catalog", str(other))
    assert refused.exit_code == 2 and refused.stdout == ""
    assert "is not the one scan" in refused.stderr and "--catalog" in refused.stderr
    missing = run(tmp_path, command, "--db", str(tmp_path / "none.db"), "--out", "vex.json")
    assert missing.exit_code == 2 and "no results database here" in missing.stderr
    assert not (tmp_path / "none.db").exists() and not (tmp_path / "vex.json").exists()
