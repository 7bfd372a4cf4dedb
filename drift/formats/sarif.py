"""The gate as SARIF 2.1.0, for code-scanning dashboards (GitHub's among them).

One run, with one result per blocking finding: `ruleId` is the fix id, `level` is `error`, and each
location points at a file of the fix's evidence that is not fixed (`artifactLocation.uri`, the path in the
tenant's deploy root) and at the tenant (a logical location). A waived finding is a result too, with an
accepted external suppression that carries the waiver. Beside the fixes: a tenant with no inventory is a
`drift/no-inventory` result pointing at the inventory it lacks, and uncatalogued files are
`drift/uncatalogued` results (`error` when the policy blocks on them, `warning` when it warns). A region
with `startLine` 1 stands in every physical location, since code-scanning dashboards require one.
A file entry whose unfixed hash was found in a stale copy elsewhere (`found_at`) has that copy as a second
location. Nothing in the document depends on the clock.

Strings from the tenant are JSON-escaped, their control and reordering characters as `\\uXXXX`
(`drift.text.json_safe`); in message texts, which a dashboard shows to a person, they are written as
visible escapes (`terminal_safe`), and in URIs percent-encoded.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from drift import __version__
from drift.gate import GateResult, TenantGate, Waived
from drift.hashes import ABSENT
from drift.policy import UNCATALOGUED_BLOCK
from drift.results import MODIFIED, REMOVED, UNFIXED, UNREADABLE, Evidence, Finding
from drift.text import json_safe, terminal_safe

SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
NO_INVENTORY_RULE = "drift/no-inventory"
UNCATALOGUED_RULE = "drift/uncatalogued"
MAX_LOCATIONS = 10
"""Locations per result at most (GitHub code scanning keeps no more)."""

_NEEDS_ACTION = (UNFIXED, MODIFIED, UNREADABLE, REMOVED)
_HASH_PREFIXES = ("sha256:", "content-sha256:")


def render_sarif(result: GateResult, *, titles: Mapping[str, str] | None = None, inventory_dir: str | None = None) -> str:
    """The gate's result as a SARIF 2.1.0 log.

    `titles` (fix id → title) describe the rules when the catalog is at hand; `inventory_dir` is where a
    missing inventory should be, for the location of a `drift/no-inventory` result.
    """
    titles = titles or {}
    rules = _Rules()
    results: list[dict[str, Any]] = []
    for tenant in result.tenants:
        for finding in tenant.blocking:
            results.append(_finding_result(tenant, finding, rules, titles, inventory_dir))
        for waived in tenant.waived:
            results.append(_finding_result(tenant, waived.finding, rules, titles, inventory_dir, waived, result.policy.source))
        if not tenant.has_inventory:
            results.append(_no_inventory_result(tenant, rules, inventory_dir))
        level = "error" if result.policy.uncatalogued == UNCATALOGUED_BLOCK else "warning"
        results.extend(_uncatalogued_result(tenant, path, level, rules) for path in tenant.uncatalogued)
    run: dict[str, Any] = {
        "tool": {"driver": {"name": "drift", "version": __version__, "rules": rules.rules}},
        "invocations": [_invocation(result.problems)],
        "results": results,
        "properties": {"scan": result.scan.id, "catalogDigest": result.scan.catalog_digest, "passed": result.passed},
    }
    if result.policy.source:
        run["properties"]["policy"] = result.policy.source
    return _dump({"$schema": SCHEMA, "version": "2.1.0", "runs": [run]})


def render_sarif_error(message: str) -> str:
    """A log for a gate that could not judge (invalid input): no result, and an unsuccessful invocation
    that says why, so a stale log of an earlier run can never be read as this run's."""
    run = {
        "tool": {"driver": {"name": "drift", "version": __version__, "rules": []}},
        "invocations": [
            {"executionSuccessful": False, "toolExecutionNotifications": [{"level": "error", "message": {"text": message}}]}
        ],
        "results": [],
    }
    return _dump({"$schema": SCHEMA, "version": "2.1.0", "runs": [run]})


def _finding_result(
    tenant: TenantGate,
    finding: Finding,
    rules: _Rules,
    titles: Mapping[str, str],
    inventory_dir: str | None,
    waived: Waived | None = None,
    policy_source: str | None = None,
) -> dict[str, Any]:
    t = tenant.result.tenant
    index = rules.index(finding.fix, titles.get(finding.fix) or f"Fix {finding.fix}", {"severity": finding.severity})
    actionable = [e for e in finding.evidence if e.state in _NEEDS_ACTION] or list(finding.evidence)
    files = ", ".join(f"{terminal_safe(e.path)} {e.state}" for e in actionable[:MAX_LOCATIONS])
    detail = files or terminal_safe(finding.reason) or finding.status
    locations = [loc for e in actionable[:MAX_LOCATIONS] for loc in _locations(tenant, e)][:MAX_LOCATIONS]
    if not locations:
        locations = [_location(tenant, _inventory_path(t.id, inventory_dir), terminal_safe(finding.reason) or None)]
    doc: dict[str, Any] = {
        "ruleId": finding.fix,
        "ruleIndex": index,
        "level": "error",
        "message": {"text": f"{terminal_safe(finding.fix)} is {finding.status} at tenant {_tenant_label(tenant)} ({finding.severity}): {detail}"},
        "locations": locations,
        "partialFingerprints": {"driftFinding/v1": _fingerprint(t.id, finding.fix)},
        "properties": {
            "tenant": t.id,
            "tenantName": t.name,
            "status": finding.status,
            "severity": finding.severity,
            "variant": finding.variant,
        },
    }
    if waived is not None:
        w = waived.waiver
        doc["suppressions"] = [{
            "kind": "external",
            "status": "accepted",
            "justification": w.reason,
            "properties": {"approvedBy": w.approved_by, "expires": w.expires.isoformat(), "policy": f"{policy_source} {w.where}".strip()},
        }]
    return doc


def _no_inventory_result(tenant: TenantGate, rules: _Rules, inventory_dir: str | None) -> dict[str, Any]:
    tid = tenant.result.tenant.id
    index = rules.index(NO_INVENTORY_RULE, "A tenant in the registry has no inventory: nothing about it can be verified", {})
    return {
        "ruleId": NO_INVENTORY_RULE,
        "ruleIndex": index,
        "level": "error",
        "message": {"text": f"tenant {_tenant_label(tenant)} has no inventory: collect one (drift collect ROOT --tenant {tid})"},
        "locations": [_location(tenant, _inventory_path(tid, inventory_dir), None)],
        "partialFingerprints": {"driftFinding/v1": _fingerprint(tid, NO_INVENTORY_RULE)},
        "properties": {"tenant": tid, "tenantName": tenant.result.tenant.name},
    }


def _uncatalogued_result(tenant: TenantGate, path: str, level: str, rules: _Rules) -> dict[str, Any]:
    tid = tenant.result.tenant.id
    index = rules.index(UNCATALOGUED_RULE, "A file no release manifest knows: custom code no fix review covers", {}, level)
    return {
        "ruleId": UNCATALOGUED_RULE,
        "ruleIndex": index,
        "level": level,
        "message": {"text": f"{terminal_safe(path)} at tenant {_tenant_label(tenant)} is in no release of the product: no fix review covers it"},
        "locations": [_location(tenant, path, None)],
        "partialFingerprints": {"driftFinding/v1": _fingerprint(tid, UNCATALOGUED_RULE, path)},
        "properties": {"tenant": tid, "tenantName": tenant.result.tenant.name},
    }


class _Rules:
    """The driver's rules, in order of first use."""

    def __init__(self) -> None:
        self.rules: list[dict[str, Any]] = []
        self._index: dict[str, int] = {}

    def index(self, rule_id: str, text: str, properties: dict[str, str], level: str = "error") -> int:
        """The rule's index, the rule added on first use."""
        found = self._index.get(rule_id)
        if found is None:
            rule: dict[str, Any] = {"id": rule_id, "shortDescription": {"text": text}, "defaultConfiguration": {"level": level}}
            if properties:
                rule["properties"] = properties
            found = self._index[rule_id] = len(self.rules)
            self.rules.append(rule)
        return found


def _location(tenant: TenantGate, path: str, note: str | None) -> dict[str, Any]:
    t = tenant.result.tenant
    location: dict[str, Any] = {
        "physicalLocation": {"artifactLocation": {"uri": quote(path, safe="/")}, "region": {"startLine": 1}},
        "logicalLocations": [{"name": t.id, "fullyQualifiedName": f"tenant/{t.id}", "kind": "module"}],
    }
    if note:
        location["message"] = {"text": note}
    return location


def _locations(tenant: TenantGate, e: Evidence) -> list[dict[str, Any]]:
    """Where an evidence entry points: its file, and the stale copy its found hash was found in, if any."""
    file, note = _file_and_note(e)
    found = [_location(tenant, file, note)]
    if e.found_at is not None and e.found_at != file:
        copy = f"stale copy of {terminal_safe(e.path)}: {terminal_safe(e.found) if e.found is not None else 'nothing readable'}"
        found.append(_location(tenant, e.found_at, copy))
    return found


def _file_and_note(e: Evidence) -> tuple[str, str]:
    """The file an evidence entry is about, and what it says about it (a config check names `<file>#<key>`),
    the tenant's strings in it escaped."""
    found = terminal_safe(e.found) if e.found is not None else "nothing readable"
    expected = ", ".join(map(terminal_safe, e.expected)) or "-"
    note = f" ({terminal_safe(e.note)})" if e.note else ""
    if "#" in e.path and not any(x == ABSENT or x.startswith(_HASH_PREFIXES) for x in e.expected):
        file, _, key = e.path.partition("#")
        return file, f"{terminal_safe(key)} = {found}: {e.state} (expected {expected}){note}"
    at = f" at {terminal_safe(e.found_at)}" if e.found_at is not None else ""
    return e.path, f"{e.state}: found {found}{at}, expected {expected}{note}"


def _inventory_path(tenant_id: str, inventory_dir: str | None) -> str:
    folder = (inventory_dir or "inventory").rstrip("/")
    return f"{folder}/{tenant_id}.json"


def _tenant_label(tenant: TenantGate) -> str:
    t = tenant.result.tenant
    return terminal_safe(f"{t.id} {t.name}".strip())


def _invocation(problems: tuple[str, ...]) -> dict[str, Any]:
    invocation: dict[str, Any] = {"executionSuccessful": True}
    if problems:
        invocation["toolExecutionNotifications"] = [{"level": "error", "message": {"text": p}} for p in problems]
    return invocation


def _fingerprint(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode("utf-8")).hexdigest()


def _dump(doc: dict[str, Any]) -> str:
    return json_safe(json.dumps(doc, ensure_ascii=False, indent=2)) + "\n"
