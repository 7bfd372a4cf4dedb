"""Strings from tenants (SPEC 5, last paragraph) on a real fleet, through every command that prints.

The audited party writes every string of an inventory (paths, config values, unreadable reasons, link
targets, exclusion patterns, `collected_at`, `collector`, unknown keys) and the registry's names. Here each
of them holds an escape sequence that would paint a green "PASS" on a terminal, a CR and LF that would forge
a line, a bidi override that would reverse one, or a spreadsheet formula; and each command's output is
checked: nothing raw reaches stdout or stderr, JSON, HTML and XML escape per their syntax (and the XML
parses), no CSV cell starts a formula, and an error quoting a 50 MB value stays one short line.
"""

from __future__ import annotations

import csv
import io
import json
import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from drift.inventory.jsonwrite import dumps_inventory
from drift.inventory.model import ConfigValue, Link, Unreadable
from tests.builders import WHEN, record, redigest, write_yaml
from tests.demo import file_bytes, release_config, release_files
from tests.test_cli import run

PAINT = "\x1b[32mPASS\x1b[0m"
"""Repaints a terminal: a green PASS where the gate says BLOCKED."""
HOSTILE = PAINT + "\r\n\u202e" + "drift gate: PASS\x9b31m" + "=cmd|' /C calc'!A0"
"""For the fields that take any string: config values, unreadable reasons, link targets."""
FORMULA = '=HYPERLINK("http://evil.example/","宗像市")'

# What must never reach a terminal, or any file, raw: C0 controls but TAB and LF, C1 controls, DEL, the
# bidi, zero-width and separator characters (drift.text escapes each as \e, \x9b, \u202e ...).
RAW = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

STALE_COPY = "app/print/Job.java.\u202ekab"
UNCATALOGUED = ("app/custom/\u202eavaj.livE", "app/custom/\x9b32mPASS.java", "=HYPERLINK(1).java", "-rf.java", "@SUM(A1).java", "+1.java")


def assert_clean(text: str, what: str, *, allow_crlf: bool = False) -> None:
    """No raw control or reordering character in `text` (CRLF line ends allowed in a CSV)."""
    if allow_crlf:
        text = text.replace("\r\n", "\n")
    found = RAW.search(text)
    assert found is None, f"{what}: raw {found.group(0)!r} at {found.start()}: {text[max(found.start() - 60, 0):found.start() + 60]!r}"


def assert_no_formula(data: str, what: str) -> list[list[str]]:
    rows = list(csv.reader(io.StringIO(data, newline="")))
    assert len(rows) > 1, what
    for row in rows:
        for cell in row:
            assert not cell.startswith(FORMULA_START), f"{what}: cell {cell!r} starts a formula"
    return rows


def inventory_text(tenant: str, files: dict[str, bytes], **members: Any) -> str:
    return dumps_inventory(
        tenant=tenant,
        collected_at=members.pop("collected_at", WHEN.strftime("%Y-%m-%dT%H:%M:%SZ")),
        collector=members.pop("collector", "drift =1 @test"),
        content_hash="drift-content/1",
        files={p: record(b, archive=p.endswith(".jar")) for p, b in files.items()},
        config=members.pop("config", [ConfigValue(f, k, v) for (f, k), v in release_config(files).items()]),
        unreadable=members.pop("unreadable", []),
        **members,
    ).decode()


def write_fleet(root: Path, *, lock: str = HOSTILE) -> None:
    """Three tenants whose every string is hostile: formulas in the registry (control characters are
    refused there, see below), escape sequences and bidi overrides everywhere in the inventories."""
    inv = root / "inventory"
    write_yaml(inv / "tenants.yaml", [
        {"id": "402206", "name": FORMULA, "prefecture": "+81 福岡県", "edition": "standard", "line": "1.x", "modules": ["konbini"]},
        {"id": "141305", "name": "-1+1 川崎市", "prefecture": "@福岡", "edition": "seirei", "line": "2.x", "modules": ["konbini"]},
        # No inventory: it blocks, and its formulas reach every output too.
        {"id": "362018", "name": "@SUM(A1:A9) 徳島市", "prefecture": "=1+1", "edition": "-standard", "line": "2.x", "modules": ["=konbini"]},
    ])
    files = release_files("1.x", "1.1")
    del files["app/print/Job.java"]  # unreadable, for a hostile reason
    stale = file_bytes("app/print/Job.java", "1.x", "1.0")
    assert stale is not None
    files |= {path: path.encode() for path in UNCATALOGUED} | {STALE_COPY: stale}
    text = inventory_text(
        "402206", files,
        unreadable=[Unreadable("app/print/Job.java", HOSTILE)],
        links=[Link("app/link-out", HOSTILE, True)],
        excluded=["=logs/*", "@tmp", "-x", "+y"],
    )
    (inv / "402206.json").write_text(text, encoding="utf-8")
    files = release_files("2.x", "2.2") | {"app/custom/\u2066x\u2069.java": b"custom"}
    config = [ConfigValue(f, k, lock) for (f, k) in release_config(files)]
    (inv / "141305.json").write_text(inventory_text("141305", files, config=config), encoding="utf-8")


@pytest.fixture
def fleet(demo_root: Path) -> Path:
    write_fleet(demo_root)
    return demo_root


def clean_run(root: Path, *args: str, code: int = 0) -> Any:
    result = run(root, *args)
    assert result.exit_code == code, (args, result.stderr)
    what = " ".join(args)
    assert "Traceback" not in result.stderr
    assert_clean(result.stderr, f"{what}: stderr")
    return result


def test_scan_table_shows_every_tenant_string_escaped(fleet):
    result = clean_run(fleet, "scan", "--jobs", "1")
    assert_clean(result.stdout, "scan: stdout")
    assert FORMULA in result.stdout  # formulas are plain text on a terminal


def test_scan_json_escapes_per_json_and_keeps_every_value(fleet):
    result = clean_run(fleet, "scan", "--jobs", "1", "--format", "json")
    assert_clean(result.stdout, "scan --format json")
    doc = json.loads(result.stdout)
    tenants = {t["id"]: t for t in doc["tenants"]}
    assert tenants["402206"]["name"] == FORMULA
    assert set(UNCATALOGUED) <= set(tenants["402206"]["drift"]["uncatalogued"])
    found = [e["found"] for f in tenants["141305"]["findings"] for e in f["evidence"] if e["path"].endswith("#print.lock")]
    assert found == [HOSTILE]  # the value, whole, once read back


def test_scan_csv_neutralises_formulas_and_escapes_controls(fleet):
    result = clean_run(fleet, "scan", "--jobs", "1", "--format", "csv")
    assert_clean(result.stdout, "scan --format csv", allow_crlf=True)
    rows = assert_no_formula(result.stdout, "scan --format csv")
    names = {row[0]: row[1] for row in rows[1:]}
    assert names["402206"] == "'" + FORMULA and names["141305"] == "'-1+1 川崎市" and names["362018"] == "'@SUM(A1:A9) 徳島市"
    assert {row[2] for row in rows[1:]} == {"'+81 福岡県", "'@福岡", "'=1+1"}


def test_gate_summary_and_reports_are_escaped_and_the_xml_parses(fleet):
    result = clean_run(fleet, "gate", "--jobs", "1", "--junit", "j.xml", "--sarif", "s.sarif", code=1)
    assert_clean(result.stdout, "gate: summary")
    assert result.stdout.startswith("drift gate: BLOCKED")
    # The uncatalogued files are listed in the summary, escaped: the bidi isolates show as \u2066 and \u2069.
    assert "141305 -1+1 川崎市: app/custom/\\u2066x\\u2069.java" in result.stdout
    junit = (fleet / "j.xml").read_text(encoding="utf-8")
    assert_clean(junit, "JUnit")
    root = ET.fromstring(junit.encode("utf-8"))
    texts = "\n".join(e.text or "" for e in root.iter("failure")) + "".join(e.text or "" for e in root.iter("system-out"))
    assert "\\e[32mPASS\\e[0m\\r\\n\\u202e" in texts  # the config value, shown escaped in the evidence
    assert any(s.get("name") == f"402206 {FORMULA}" for s in root.iter("testsuite"))
    sarif_text = (fleet / "s.sarif").read_text(encoding="utf-8")
    assert_clean(sarif_text, "SARIF")
    sarif = json.loads(sarif_text)
    messages = [loc.get("message", {}).get("text", "") for r in sarif["runs"][0]["results"] for loc in r["locations"]]
    messages += [r["message"]["text"] for r in sarif["runs"][0]["results"]]
    assert all(RAW.search(m) is None for m in messages)  # even once decoded, a message a person reads is escaped
    assert any("print.lock = \\e[32mPASS" in m for m in messages)


def test_export_csv_in_both_languages_neutralises_every_formula(fleet):
    clean_run(fleet, "scan", "--jobs", "1")
    for lang in ("en", "ja"):
        for summary in ((), ("--summary",)):
            result = clean_run(fleet, "export", "csv", "--lang", lang, "--encoding", "utf-8", *summary)
            what = f"export csv --lang {lang} {' '.join(summary)}"
            assert_clean(result.stdout, what, allow_crlf=True)
            rows = assert_no_formula(result.stdout, what)
            assert {row[1] for row in rows[1:]} == {"'" + FORMULA, "'-1+1 川崎市", "'@SUM(A1:A9) 徳島市"}
            clean_run(fleet, "export", "csv", "--lang", lang, "--out", "agency.csv", *summary)
            data = (fleet / "agency.csv").read_bytes().decode("utf-8-sig")
            assert_clean(data, f"{what} --out", allow_crlf=True)
            assert_no_formula(data, f"{what} --out")


def test_history_and_diff_are_escaped(fleet):
    clean_run(fleet, "scan", "--jobs", "1")
    write_fleet(fleet, lock="exclusive")  # 141305 fixes its config: a change to show
    clean_run(fleet, "scan", "--jobs", "1")
    for args in (("history",), ("history", "--tenant", "141305", "--every-scan"), ("history", "--format", "json"), ("diff",), ("diff", "--format", "json")):
        result = clean_run(fleet, *args)
        assert_clean(result.stdout, " ".join(args))
    diff = json.loads(clean_run(fleet, "diff", "--format", "json").stdout)
    assert {t["name"] for t in diff["tenants"]} >= {"-1+1 川崎市"}


class _ScriptData(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.inside = False
        self.data = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.inside = dict(attrs).get("id") == "report-data"

    def handle_endtag(self, tag: str) -> None:
        self.inside = False

    def handle_data(self, data: str) -> None:
        if self.inside:
            self.data += data


def test_report_html_escapes_and_its_data_keeps_every_value(fleet):
    clean_run(fleet, "scan", "--jobs", "1")
    clean_run(fleet, "report", "html", "--out", "r.html")
    page = (fleet / "r.html").read_text(encoding="utf-8")
    assert_clean(page, "report html")
    assert FORMULA not in page.split("<script")[0] or "&quot;" in page  # names are HTML-escaped
    parser = _ScriptData()
    parser.feed(page)
    data = json.loads(parser.data)
    assert {t["name"] for t in data["tenants"]} == {FORMULA, "-1+1 川崎市", "@SUM(A1:A9) 徳島市"}
    found = [e[2] for f in data["findings"] for e in f[4] if e[0].endswith("#print.lock")]
    assert HOSTILE in found
    assert {p for t in data["tenants"] for p in t["unc"]} >= set(UNCATALOGUED)


# Refused input: the message is one escaped line naming the file and the field, and exit 2.


def refused(root: Path, *args: str) -> str:
    result = clean_run(root, *args, code=2)
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("drift: error: "), result.stderr
    assert len(result.stderr.encode("utf-8")) < 1024
    return lines[0]


@pytest.mark.parametrize("field", ["name", "prefecture", "edition", "line"])
def test_a_registry_string_with_a_control_character_is_refused_escaped(demo_root, field):
    row = {"id": "402206", "name": "宗像市", "prefecture": "福岡県", "edition": "standard", "line": "1.x", field: PAINT + "\r\n\u202e"}
    write_yaml(demo_root / "inventory" / "tenants.yaml", [row])
    line = refused(demo_root, "scan", "--jobs", "1")
    assert f"inventory/tenants.yaml: [0].{field}: '\\e[32mPASS\\e[0m\\r\\n\\u202e' holds the control" in line


@pytest.mark.parametrize("modules", ['"konbini,madoguchi"', "konbini\tmadoguchi", '"konbini\x1b[32m"', "konbini;\u3000"])
def test_a_registry_module_name_with_a_separator_whitespace_or_control_is_refused(demo_root, modules):
    folder = demo_root / "inventory"
    folder.mkdir()
    (folder / "tenants.csv").write_text(f"id,name,modules\n402206,宗像市,{modules}\n", encoding="utf-8")
    line = refused(demo_root, "scan", "--jobs", "1")
    assert "inventory/tenants.csv: line 2.modules: module name '" in line


def test_an_unknown_inventory_key_holding_escapes_is_refused_escaped(fleet):
    path = fleet / "inventory" / "141305.json"
    text = path.read_text(encoding="utf-8").replace('{\n "format"', '{\n ' + json.dumps(PAINT + "\r\n\u202e") + ': 1,\n "format"', 1)
    path.write_text(redigest(text), encoding="utf-8")
    line = refused(fleet, "scan", "--jobs", "1")
    assert line == "drift: error: inventory/141305.json: \\e[32mPASS\\e[0m\\r\\n\\u202e: unknown key"
    # The gate says the same, and its reports (written so that a stale one is not read as this run's) parse.
    line = refused(fleet, "gate", "--jobs", "1", "--junit", "j.xml", "--sarif", "s.sarif")
    assert line.endswith("\\e[32mPASS\\e[0m\\r\\n\\u202e: unknown key")
    ET.fromstring((fleet / "j.xml").read_bytes())
    assert_clean((fleet / "j.xml").read_text(encoding="utf-8"), "JUnit error")
    assert_clean((fleet / "s.sarif").read_text(encoding="utf-8"), "SARIF error")


@pytest.mark.parametrize("when", [f"2023-06-14T01:30:00Z{PAINT}", "=HYPERLINK(\"http://evil.example/\")", "2023-06-14 01:30:00+09:00", ""])
def test_a_collected_at_that_is_not_rfc3339_utc_is_refused_escaped(fleet, when):
    text = inventory_text("141305", release_files("2.x", "2.2"), collected_at=when)
    (fleet / "inventory" / "141305.json").write_text(text, encoding="utf-8")
    line = refused(fleet, "scan", "--jobs", "1")
    assert line.startswith("drift: error: inventory/141305.json: collected_at: must be an RFC 3339 UTC time")


def test_a_collector_with_escapes_is_refused_escaped(fleet):
    text = inventory_text("141305", release_files("2.x", "2.2"), collector=f"drift {PAINT}")
    (fleet / "inventory" / "141305.json").write_text(text, encoding="utf-8")
    line = refused(fleet, "scan", "--jobs", "1")
    assert "inventory/141305.json: collector: " in line and "\\e[32mPASS" in line


def test_a_path_with_escapes_is_refused_escaped(fleet):
    files = release_files("2.x", "2.2") | {f"app/{PAINT}.java": b"x"}
    (fleet / "inventory" / "141305.json").write_text(inventory_text("141305", files), encoding="utf-8")
    line = refused(fleet, "scan", "--jobs", "1")
    assert "inventory/141305.json: files[" in line and "'app/\\e[32mPASS\\e[0m.java' holds a control character" in line


def test_an_inventory_file_name_with_escapes_is_noted_escaped(fleet):
    (fleet / "inventory" / f"{PAINT}.sha256").write_text(f"{'a' * 64}  app/Main.java\n", encoding="utf-8")
    result = clean_run(fleet, "scan", "--jobs", "1")
    assert "no tenant '\\e[32mPASS\\e[0m' in the registry; not scanned" in result.stderr


BIG = 50_000_000


@pytest.mark.parametrize("where", ["value", "key", "collected_at"])
def test_a_50_mb_value_gives_one_short_error_line(fleet, where):
    path = fleet / "inventory" / "141305.json"
    text = inventory_text("141305", release_files("2.x", "2.2"))
    huge = "\x1b" + "A" * BIG
    if where == "value":
        text = text.replace('{\n "format"', '{\n "extra": ' + json.dumps(huge) + ',\n "format"', 1)
    elif where == "key":
        text = text.replace('{\n "format"', '{\n ' + json.dumps(huge) + ': 1,\n "format"', 1)
    else:
        text = text.replace('"collected_at": "2023-06-14T01:30:00Z"', '"collected_at": ' + json.dumps(huge), 1)
    path.write_text(redigest(text), encoding="utf-8")
    del text
    line = refused(fleet, "scan", "--jobs", "1")
    assert len(line.encode("utf-8")) < 1024
    if where != "value":
        assert "50,000,001 characters" in line


# Defence in depth: a database written before the registry refused control characters (or by another
# tool) may hold any string anywhere; every output of it is still escaped.


def stored_hostile(db: Path, status: str, created_at: str) -> None:
    from drift.results import REMOVED, Evidence, FileDrift, Finding, TenantResult, count_statuses
    from drift.store import Store
    from drift.tenants import Tenant

    evidence = (
        Evidence("app/print/Job.java", "unfixed", "sha256:" + "1" * 64, ("sha256:" + "2" * 64,), found_at="app/old/" + HOSTILE,
                 note="stale copy at app/old/" + HOSTILE),
        Evidence("conf/a.properties#print.lock", "unfixed", HOSTILE, ("exclusive",)),
        Evidence("app/Gone.java", REMOVED, "absent", ("sha256:" + "2" * 64,), note="removed: " + HOSTILE),
        Evidence("-" + HOSTILE, "unreadable", None, ("sha256:" + "2" * 64,), note="excluded at collection"),
    )
    findings = (
        Finding("DEMO-0001", status, "critical", "1.x", evidence),
        Finding("DEMO-0002", "unverifiable", "high", None, (), reason="=" + HOSTILE),
    )
    tenant = Tenant("402206", "=" + HOSTILE, "@" + HOSTILE, "+" + HOSTILE, "1.x", frozenset({HOSTILE}))
    drift = FileDrift(uncatalogued=("=" + HOSTILE,), modified=(HOSTILE,), releases={"1.1": 3})
    digest = "sha256:" + ("0" if status == "applied" else "1") * 64  # another inventory: another scan
    result = TenantResult(tenant, digest, "=" + HOSTILE, findings, drift, count_statuses(findings))
    with Store(db) as store:
        store.save_scan("sha256:" + "8" * 64, created_at, [result])


def test_a_database_holding_hostile_strings_prints_them_escaped(tmp_path):
    db = tmp_path / "drift.db"
    stored_hostile(db, "applied", "2023-06-14T00:00:00Z")
    stored_hostile(db, "missing", "2023-06-15T00:00:00Z")
    write_yaml(tmp_path / "drift-policy.yaml", {"waivers": [
        {"tenant": "402206", "fix": "DEMO-0002", "reason": "=" + HOSTILE, "approved_by": "@" + HOSTILE, "expires": "2099-12-31"},
    ]})
    for args in (("history",), ("history", "--tenant", "402206"), ("history", "--fix", "DEMO-0001", "--format", "json"),
                 ("diff",), ("diff", "--format", "json")):
        result = clean_run(tmp_path, *args)
        assert_clean(result.stdout, " ".join(args))
    assert "regressed" in clean_run(tmp_path, "diff").stdout
    result = clean_run(tmp_path, "gate", "--scan", "latest", "--junit", "j.xml", "--sarif", "s.sarif", code=1)
    assert_clean(result.stdout, "gate --scan latest")
    junit = (tmp_path / "j.xml").read_text(encoding="utf-8")
    assert_clean(junit, "JUnit")
    ET.fromstring(junit.encode("utf-8"))
    sarif_text = (tmp_path / "s.sarif").read_text(encoding="utf-8")
    assert_clean(sarif_text, "SARIF")
    sarif = json.loads(sarif_text)
    (stale,) = [r for r in sarif["runs"][0]["results"] if r["ruleId"] == "DEMO-0001"]
    uris = [loc["physicalLocation"]["artifactLocation"]["uri"] for loc in stale["locations"]]
    assert uris[:2] == ["app/print/Job.java", "app/old/%1B%5B32mPASS%1B%5B0m%0D%0A%E2%80%AEdrift%20gate%3A%20PASS%C2%9B31m%3Dcmd%7C%27%20/C%20calc%27%21A0"]
    assert "app/Gone.java" in uris  # removed needs action
    for lang in ("en", "ja"):
        for summary in ((), ("--summary",)):
            result = clean_run(tmp_path, "export", "csv", "--lang", lang, "--encoding", "utf-8", *summary)
            what = f"stored: export csv --lang {lang} {' '.join(summary)}"
            assert_clean(result.stdout, what, allow_crlf=True)
            assert_no_formula(result.stdout, what)
    text = clean_run(tmp_path, "export", "csv", "--lang", "ja", "--encoding", "utf-8").stdout
    assert "app/Gone.java: 欠落 (removed: \\e[32mPASS" in text
    clean_run(tmp_path, "report", "html", "--out", "r.html")
    page = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert_clean(page, "stored: report html")
