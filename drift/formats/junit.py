"""The gate as JUnit XML, the test report Jenkins and GitLab read.

`<testsuites>` holds one `<testsuite>` per tenant, and each holds one `<testcase>` per fix: `<failure>` when
the finding blocks (the evidence in its text), `<skipped>` when the fix does not apply, and a plain pass
otherwise (an empty test case: a fleet's report stays small). A waived finding passes and says so in `<system-out>`, with its waiver. Two more test cases per
tenant stand for what blocks beside the fixes: `(inventory)` fails when the tenant has none, and
`(uncatalogued files)` fails when the policy blocks on them. Test names stay the same from run to run, so
a CI server can follow each one's history. Nothing in the document depends on the clock.

Strings from the tenant are escaped for XML, and a character XML 1.0 cannot hold (most C0 controls), or
should not show (C1 controls, bidi overrides), is written as a visible escape (`\\e`, `\\x01`, `\\u202e`:
`drift.text.xml_safe`), so the document always parses. Attributes (names, messages) are one line: their
line breaks are escaped too. Within the multi-line evidence text, each value is escaped on its own
(`terminal_safe`): a newline in a config value cannot forge an evidence line.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import NamedTuple

from drift.gate import GateResult, TenantGate, Waived
from drift.policy import UNCATALOGUED_BLOCK
from drift.results import NOT_APPLICABLE, Evidence, Finding
from drift.text import terminal_safe, xml_safe

INVENTORY_CASE = "(inventory)"
UNCATALOGUED_CASE = "(uncatalogued files)"
SUITE_NAME = "drift gate"


class _Suite(NamedTuple):
    tests: int
    failures: int
    skipped: int
    xml: str


def render_junit(result: GateResult) -> str:
    """The gate's result as a JUnit XML document."""
    suites = [_suite(result, t) for t in result.tenants]
    if result.problems:
        suites.append(_problem_suite(result.problems))
    tests, failures, skipped = (sum(s.tests for s in suites), sum(s.failures for s in suites), sum(s.skipped for s in suites))
    head = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<testsuites name={_attr(SUITE_NAME)} tests="{tests}" failures="{failures}" errors="0" skipped="{skipped}" time="0">\n'
    )
    return head + "".join(s.xml for s in suites) + "</testsuites>\n"


def render_junit_error(message: str) -> str:
    """A report for a gate that could not judge (invalid input): one test case in error, so a stale report
    of an earlier run can never be read as this run's."""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<testsuites name={_attr(SUITE_NAME)} tests="1" failures="0" errors="1" skipped="0" time="0">\n'
        f'  <testsuite name={_attr(SUITE_NAME)} tests="1" failures="0" errors="1" skipped="0" time="0">\n'
        f'    <testcase classname="drift" name="(gate)" time="0">\n'
        f'      <error message={_attr(message)} type="invalid-input">{_text(message)}</error>\n'
        "    </testcase>\n  </testsuite>\n</testsuites>\n"
    )


def _suite(result: GateResult, tenant: TenantGate) -> _Suite:
    """(tests, failures, skipped, XML) of one tenant."""
    t = tenant.result.tenant
    classname = f"drift.{t.id}"
    blocking = {id(f) for f in tenant.blocking}
    waived = {id(w.finding): w for w in tenant.waived}
    cases: list[str] = []
    failures = skipped = 0
    for finding in tenant.result.findings:
        if id(finding) in blocking:
            failures += 1
            expired = result.expired_waiver(t.id, finding.fix)
            note = f"\nwaiver expired on {expired.expires.isoformat()} ({result.policy.source} {expired.where})" if expired else ""
            cases.append(_case(classname, finding.fix, _failure(_failure_message(finding), finding.status, _evidence_text(finding) + note)))
        elif id(finding) in waived:
            cases.append(_case(classname, finding.fix, _out(_waived_text(waived[id(finding)], result.policy.source))))
        elif finding.status == NOT_APPLICABLE:
            skipped += 1
            cases.append(_case(classname, finding.fix, f"<skipped message={_attr(_status_line(finding))}/>"))
        else:
            cases.append(_case(classname, finding.fix, ""))
    if not tenant.has_inventory:
        failures += 1
        message = f"{t.id}: no inventory for this tenant: collect one (drift collect ROOT --tenant {t.id})"
        cases.append(_case(classname, INVENTORY_CASE, _failure(message, "no-inventory", message)))
    else:
        cases.append(_case(classname, INVENTORY_CASE, _out(f"inventory {tenant.result.inventory_digest}")))
    listing = "\n".join(map(terminal_safe, tenant.uncatalogued))
    if tenant.uncatalogued and result.policy.uncatalogued == UNCATALOGUED_BLOCK:
        failures += 1
        message = f"{t.id}: {len(tenant.uncatalogued)} uncatalogued files: no fix review covers them"
        cases.append(_case(classname, UNCATALOGUED_CASE, _failure(message, "uncatalogued", listing)))
    else:
        cases.append(_case(classname, UNCATALOGUED_CASE, _out(f"uncatalogued files (warning):\n{listing}") if listing else ""))
    tests = len(cases)
    name = f"{t.id} {t.name}".strip()
    xml = (
        f'  <testsuite name={_attr(name)} tests="{tests}" failures="{failures}" errors="0" skipped="{skipped}" time="0">\n'
        "    <properties>\n"
        f'      <property name="tenant" value={_attr(t.id)}/>\n'
        f'      <property name="scan" value={_attr(result.scan.id)}/>\n'
        f'      <property name="inventory_digest" value={_attr(tenant.result.inventory_digest)}/>\n'
        "    </properties>\n"
        + "".join(cases)
        + "  </testsuite>\n"
    )
    return _Suite(tests, failures, skipped, xml)


def _problem_suite(problems: tuple[str, ...]) -> _Suite:
    cases = "".join(_case("drift", f"(scan {i + 1})", _failure(p, "fail-closed", p)) for i, p in enumerate(problems))
    n = len(problems)
    return _Suite(n, n, 0, f'  <testsuite name="scan" tests="{n}" failures="{n}" errors="0" skipped="0" time="0">\n{cases}  </testsuite>\n')


def _case(classname: str, name: str, body: str) -> str:
    opening = f"    <testcase classname={_attr(classname)} name={_attr(name)} time=\"0\""
    if not body:
        return opening + "/>\n"
    return f"{opening}>\n      {body}\n    </testcase>\n"


def _failure(message: str, kind: str, text: str) -> str:
    return f"<failure message={_attr(message)} type={_attr(kind)}>{_text(text)}</failure>"


def _out(text: str) -> str:
    return f"<system-out>{_text(text)}</system-out>"


def _failure_message(finding: Finding) -> str:
    return f"{finding.fix} {finding.status} ({finding.severity})"


def _status_line(finding: Finding) -> str:
    line = f"{finding.fix} {finding.status} ({finding.severity})"
    return f"{line}: {finding.reason}" if finding.reason else line


def _waived_text(waived: Waived, source: str | None) -> str:
    w = waived.waiver
    return (
        f"waived: {_status_line(waived.finding)} passes under the waiver at {source} {w.where}\n"
        f"reason: {terminal_safe(w.reason)}\napproved by: {terminal_safe(w.approved_by)}\nexpires: {w.expires.isoformat()}"
        + _evidence_block(waived.finding)
    )


def _evidence_block(finding: Finding) -> str:
    text = _evidence_text(finding)
    return f"\n{text}" if text else ""


def _evidence_text(finding: Finding) -> str:
    """The variant, the reason, and one line per evidence entry: path, state, found and expected."""
    return "\n".join(_evidence_lines(finding))


def _evidence_lines(finding: Finding) -> Iterator[str]:
    if finding.variant:
        yield f"variant {finding.variant}"
    if finding.reason:
        yield terminal_safe(finding.reason)
    for e in finding.evidence:
        yield _evidence_line(e)


def _evidence_line(e: Evidence) -> str:
    """`path: state, found F [at COPY], expected E [(note)]`, each value escaped."""
    expected = ", ".join(map(terminal_safe, e.expected)) or "-"
    found = terminal_safe(e.found) if e.found is not None else "-"
    at = f" at {terminal_safe(e.found_at)}" if e.found_at is not None else ""
    note = f" ({terminal_safe(e.note)})" if e.note else ""
    return f"{terminal_safe(e.path)}: {e.state}, found {found}{at}, expected {expected}{note}"


def _attr(value: str) -> str:
    """A double-quoted XML attribute value: one line (names, messages), so its line breaks and tabs are shown
    escaped as well."""
    clean = terminal_safe(value)
    return '"' + clean.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;") + '"'


def _text(value: str) -> str:
    """XML character data."""
    return xml_safe(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
