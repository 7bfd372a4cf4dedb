"""`drift report html`: one self-contained page that parses as HTML and embeds exactly the stored scan,
gated as the gate would; in Japanese with --lang ja; waivers from the policy; written whole or not at all.

The page's behaviour in a browser (the matrix, filters, clicks) is tests/test_report_browser.py's."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tomllib
from fnmatch import fnmatch
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
import yaml

from drift.history import CHANGES, diff
from drift.policy import Policy
from drift.report.model import STATUS_ORDER
from drift.results import Scan
from drift.store import Store
from tests.builders import write_yaml
from tests.demo import write_release_inventory
from tests.test_cli import run
from tests.test_scan import write_demo_fleet

ROOT = Path(__file__).resolve().parents[1]
MANIFESTS = ROOT / "manifests"
INVENTORY = ROOT / "inventory"
VOID = {"meta", "link", "input", "br", "img", "hr", "col", "source", "wbr", "area", "base", "embed", "track"}
STATUSES = ["missing", "partial", "unverifiable", "waived", "applied", "not-applicable"]
JA_STATUS = {"applied": "適用済み", "missing": "未適用", "partial": "一部適用", "unverifiable": "検証不能", "not-applicable": "対象外"}
JA_SEVERITY = {"critical": "緊急", "high": "重要", "medium": "警告", "low": "注意"}


class Page(HTMLParser):
    """A page read with html.parser: every element with its attributes, the text under each id, scripts,
    styles; and a check that every element is closed where it was opened."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str | None]]] = []
        self.stack: list[tuple[str, str | None]] = []
        self.texts: dict[str, list[str]] = {}
        self.scripts: list[tuple[dict[str, str | None], str]] = []
        self.styles: list[str] = []
        self.errors: list[str] = []
        self._raw: list[str] | None = None
        self.feed(text)
        self.close()
        if self.stack:
            self.errors.append(f"never closed: {self.stack}")

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        self.elements.append((tag, attributes))
        if tag in ("script", "style"):
            self._raw = []
        if tag not in VOID:
            self.stack.append((tag, attributes.get("id")))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, dict(attrs)))

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1][0] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1] if self.stack else 'nothing'}")
            return
        self.stack.pop()
        if tag == "script":
            self.scripts.append((self._open("script"), "".join(self._raw or [])))
        if tag == "style":
            self.styles.append("".join(self._raw or []))
        self._raw = None

    def _open(self, tag: str) -> dict[str, str | None]:
        return next(attrs for t, attrs in reversed(self.elements) if t == tag)

    def handle_data(self, data: str) -> None:
        if self._raw is not None:
            self._raw.append(data)
        for _, ident in self.stack:
            if ident:
                self.texts.setdefault(ident, []).append(data)

    def text(self, ident: str) -> str:
        return " ".join("".join(self.texts.get(ident, [])).split())

    def by_id(self, ident: str) -> tuple[str, dict[str, str | None]]:
        found = [(t, a) for t, a in self.elements if a.get("id") == ident]
        assert len(found) == 1, f"{len(found)} elements #{ident}"
        return found[0]

    @property
    def data(self) -> dict[str, Any]:
        (attrs, text), = [(a, t) for a, t in self.scripts if a.get("id") == "report-data"]
        assert attrs.get("type") == "application/json"
        result: dict[str, Any] = json.loads(text)
        return result


def options(html: str, select: str) -> list[tuple[str, str]]:
    """(value, text) of every option of `<select id=select>`."""
    body = re.search(rf'<select id="{select}">(.*?)</select>', html, re.DOTALL)
    assert body, select
    return [(v, t) for v, t in re.findall(r'<option value="([^"]*)">([^<]*)</option>', body[1])]


def page_of(path: Path) -> tuple[str, Page]:
    text = path.read_text(encoding="utf-8")
    page = Page(text)
    assert page.errors == []
    return text, page


def stored(db: Path, ref: str = "latest") -> Scan:
    with Store(db) as store:
        return store.load_scan(ref)


def cell_statuses(data: dict[str, Any]) -> dict[tuple[str, str], str]:
    """(tenant, fix) → the status the page shows, waivers applied, as the page's script works it out."""
    waived = {(w["t"], w["f"]) for w in data["waivers"] if not w["expired"]}
    shown = {}
    for t, tenant in enumerate(data["tenants"]):
        for f, number in enumerate(tenant["cells"]):
            status = data["statuses"][data["findings"][number][1]]
            shown[(tenant["id"], data["fixes"][f]["id"])] = "waived" if (t, f) in waived else status
    return shown


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The reference fleet scanned once into a database of its own."""
    root = tmp_path_factory.mktemp("reference")
    result = run(root, "scan", "--catalog", str(MANIFESTS), "--inventory", str(INVENTORY), "--format", "json")
    assert result.exit_code == 0, result.stderr
    return root


def report(root: Path, *args: str, out: str = "report.html") -> Any:
    return run(root, "report", "html", "--out", out, "--catalog", str(MANIFESTS), *args)


@pytest.fixture(scope="module")
def english(reference: Path) -> tuple[str, Page]:
    result = report(reference, out="en.html")
    assert result.exit_code == 0, result.stderr
    return page_of(reference / "en.html")


# Self-contained, and HTML


def test_the_page_is_one_self_contained_file(english):
    text, page = english
    assert "http://" not in text and "https://" not in text
    for tag, attrs in page.elements:
        for name in ("src", "href", "srcset", "action", "data", "poster"):
            value = attrs.get(name)
            assert value is None or value.startswith(("data:", "#")), (tag, name, value)
        assert not (tag == "link" and attrs.get("rel") == "stylesheet"), "an external style sheet"
    assert all("src" not in attrs for attrs, _ in page.scripts)
    styles = "".join(page.styles)
    assert "@import" not in styles and "@font-face" not in styles
    assert all(url.startswith(("data:", '"data:')) for url in re.findall(r"url\(\s*([^)]*)\)", styles))
    assert styles.strip() and any(not attrs and code.strip() for attrs, code in page.scripts)  # inlined, not left out
    assert [attrs.get("http-equiv") for tag, attrs in page.elements if tag == "meta" and attrs.get("http-equiv")] == [
        "Content-Security-Policy"
    ]


def test_the_page_follows_the_dom_contract(english):
    text, page = english
    assert page.by_id("matrix")[0] == "table"
    assert page.by_id("headline")[0] == "section"
    for ident in ("evidence", "tenant-detail"):
        tag, attrs = page.by_id(ident)
        assert tag == "section" and "hidden" in attrs
    for ident in ("filter-prefecture", "filter-edition", "filter-line", "filter-severity", "filter-status"):
        assert page.by_id(ident)[0] == "select"
        assert options(text, ident)[0][0] == ""
    assert page.by_id("search")[0] == "input"
    assert page.text("visible-count") == "123"
    registry = yaml.safe_load((INVENTORY / "tenants.yaml").read_text(encoding="utf-8"))
    prefectures = [v for v, _ in options(text, "filter-prefecture")[1:]]
    assert sorted(prefectures) == sorted({row["prefecture"] for row in registry})
    assert prefectures[0] == "北海道" and prefectures[-1] == "沖縄県"  # the JIS order, as the codes give it
    assert [v for v, _ in options(text, "filter-edition")[1:]] == sorted({row["edition"] for row in registry})
    assert [v for v, _ in options(text, "filter-line")[1:]] == ["7.x", "8.x"]
    assert [v for v, _ in options(text, "filter-severity")[1:]] == ["critical", "high", "medium", "low"]
    assert [v for v, _ in options(text, "filter-status")[1:]] == STATUSES


# The data


def test_the_reference_fleet_counts(english, reference):
    _, page = english
    data = page.data
    assert data["format"] == "drift-report/1"
    assert (len(data["tenants"]), len(data["fixes"])) == (123, 32)
    assert data["headline"] == {"tenants": 123, "fixes": 32, "blocking": 44, "waived": 0, "no_inventory": 0}
    headline = page.text("headline")
    assert "44 / 123 tenants block" in headline
    assert "123 tenants" in headline and "32 fixes" in headline
    assert all(len(t["cells"]) == 32 and min(t["cells"]) >= 0 for t in data["tenants"])
    assert sum(1 for t in data["tenants"] if t["block"]) == 44


def test_every_cell_and_its_evidence_is_the_stored_finding(english, reference):
    data = english[1].data
    scan = stored(reference / "drift.db")
    assert data["scan"]["id"] == scan.id
    assert data["statuses"] == STATUSES == list(STATUS_ORDER)
    by_id = {t["id"]: t for t in data["tenants"]}
    fixes = [f["id"] for f in data["fixes"]]
    assert {t.tenant.id for t in scan.tenants} == set(by_id)
    for result in scan.tenants:
        tenant = by_id[result.tenant.id]
        assert (tenant["name"], tenant["pref"], tenant["ed"], tenant["line"]) == (
            result.tenant.name, result.tenant.prefecture, result.tenant.edition, result.tenant.line
        )
        assert tenant["unc"] == list(result.drift.uncatalogued) and tenant["mod"] == list(result.drift.modified)
        assert dict(tenant["rel"]) == dict(result.drift.releases)
        assert tenant["inv"] == result.inventory_digest
        for finding in result.findings:
            fix, status, variant, reason, evidence = data["findings"][tenant["cells"][fixes.index(finding.fix)]]
            assert (fixes[fix], data["statuses"][status], variant, reason) == (finding.fix, finding.status, finding.variant, finding.reason)
            assert [(p, s, found, tuple(data["expected"][e]), at, note) for p, s, found, e, at, note in evidence] == [tuple(e) for e in finding.evidence]
            assert data["severities"][data["fixes"][fix]["sev"]] == finding.severity


def test_titles_come_from_the_catalog_the_scan_judged(english, reference):
    data = english[1].data
    titles = {yaml.safe_load(p.read_text(encoding="utf-8"))["title"] for p in (MANIFESTS / "fixes").glob("*.yaml")}
    assert {f["title"] for f in data["fixes"]} == titles
    result = run(reference, "report", "html", "--out", "stored.html")  # no catalog in this folder: the titles stored with the scan
    assert result.exit_code == 0 and "fix titles" not in result.stderr
    assert {f["title"] for f in page_of(reference / "stored.html")[1].data["fixes"]} == titles


def test_worst_tenants_and_most_severe_fixes_come_first(english):
    data = english[1].data
    blocks = [t["block"] for t in data["tenants"]]
    assert blocks == sorted(blocks, reverse=True)
    severities = [f["sev"] for f in data["fixes"]]
    assert severities == sorted(severities)
    assert data["fixes"][0]["id"] == "KOFU-2019-0117"  # critical, lacking at the most tenants
    critical = english[1].text("headline")
    assert "KOFU-2019-0117" in critical and "KOFU-2023-0301" in critical


# Japanese


def test_japanese_words_with_lang_ja(reference, english):
    result = report(reference, "--lang", "ja", out="ja.html")
    assert result.exit_code == 0, result.stderr
    text, page = page_of(reference / "ja.html")
    assert page.elements[0] == ("html", {"lang": "ja"})
    assert options(text, "filter-status")[1:] == [
        (s, JA_STATUS.get(s, "例外承認")) for s in STATUSES
    ]
    assert options(text, "filter-severity")[1:] == list(JA_SEVERITY.items())
    assert re.search(r'<label for="filter-prefecture">都道府県 ', text)
    assert "44 / 123 要対応の団体" in page.text("headline")
    words = page.data["words"]
    assert {words[f"s_{s}"] for s in JA_STATUS} == set(JA_STATUS.values())
    assert words["h_tenant"] == "団体コード" and words["e_unfixed"] == "未修正"
    assert "要対応の団体" not in english[0] and "tenants block" not in text


# Waivers


def blocking_pairs(scan: Scan) -> list[tuple[str, str, int]]:
    """(tenant, fix, blocking findings of that tenant) for every blocking finding."""
    policy = Policy()
    pairs = []
    for result in scan.tenants:
        blocking = [f for f in result.findings if policy.blocks(f)]
        pairs += [(result.tenant.id, f.fix, len(blocking)) for f in blocking]
    return pairs


def waiver(tenant: str, fix: str, expires: str) -> dict[str, str]:
    return {"tenant": tenant, "fix": fix, "reason": "kiosk vendor certifies first", "approved_by": "情報政策課 山田", "expires": expires}


@pytest.mark.parametrize("where", ["current-folder", "--policy"])
def test_waived_cells_with_a_policy(reference, where, tmp_path):
    scan = stored(reference / "drift.db")
    pairs = blocking_pairs(scan)
    alone = next((t, f) for t, f, n in pairs if n == 1)  # its only blocking finding: waived, the tenant passes
    other = next((t, f) for t, f, n in pairs if n > 1)
    expired = next((t, f) for t, f, _ in pairs if (t, f) not in (alone, other))
    doc = {"format": "drift-policy/1", "waivers": [
        waiver(*alone, "2099-12-31"), waiver(*other, "2099-12-31"), waiver(*expired, "2023-01-31"),
    ]}
    folder = tmp_path / "work"
    folder.mkdir()
    shutil.copy(reference / "drift.db", folder / "drift.db")
    if where == "current-folder":
        write_yaml(folder / "drift-policy.yaml", doc)
        args: tuple[str, ...] = ()
    else:
        write_yaml(tmp_path / "elsewhere.yaml", doc)
        args = ("--policy", str(tmp_path / "elsewhere.yaml"))
    result = report(folder, *args, "--today", "2024-01-01")
    assert result.exit_code == 0, result.stderr
    _, page = page_of(folder / "report.html")
    data = page.data
    assert data["headline"]["waived"] == 2 and data["headline"]["blocking"] == 43
    shown = cell_statuses(data)
    assert shown[alone] == shown[other] == "waived"
    assert shown[expired] != "waived"
    assert sum(1 for s in shown.values() if s == "waived") == 2
    marked = {(data["tenants"][w["t"]]["id"], data["fixes"][w["f"]]["id"]): w for w in data["waivers"]}
    assert marked[alone]["by"] == "情報政策課 山田" and marked[alone]["until"] == "2099-12-31"
    assert marked[expired]["expired"] is True and marked[alone]["expired"] is False
    assert "2 waived findings" in page.text("headline")
    assert data["scan"]["policy_source"].endswith("drift-policy.yaml" if where == "current-folder" else "elsewhere.yaml")


def test_no_policy_means_the_gates_defaults(english):
    data = english[1].data
    assert data["waivers"] == [] and data["scan"]["policy_source"] == "defaults"
    assert "waived" not in set(cell_statuses(data).values())


# Changes since the run before


def test_the_headline_says_what_changed_since_the_run_before(demo_root):
    inv = demo_root / "inventory"
    write_demo_fleet(demo_root)
    assert run(demo_root, "scan").exit_code == 0
    first = run(demo_root, "report", "html", "--out", "first.html")
    assert first.exit_code == 0
    text, page = page_of(demo_root / "first.html")
    assert page.data["changes"] == [] and "This is the first run" in page.text("headline")
    write_release_inventory(inv, "402206", "1.x", "1.0")  # loses DEMO-0001: regressed
    write_release_inventory(inv, "362018", "2.x", "2.1")  # half-fixed 2.0 → 2.1: newly applied
    assert run(demo_root, "scan").exit_code == 0
    result = run(demo_root, "report", "html", "--out", "second.html")
    assert result.exit_code == 0, result.stderr
    text, page = page_of(demo_root / "second.html")
    data = page.data
    with Store(demo_root / "drift.db") as store:
        expected = diff(store, "latest~1", "latest")
    listed = {
        (data["tenants"][t]["id"], data["fixes"][f]["id"]): (CHANGES[k], before) for t, f, k, before in data["changes"]
    }
    assert listed == {(t.tenant, c.fix): (c.change, c.before) for t in expected.tenants for c in t.changes}
    assert listed[("402206", "DEMO-0001")] == ("regressed", "applied")
    assert ("newly-applied", "partial") in listed.values()
    for kind, count in expected.counts.items():
        assert re.search(rf'<li data-change="{kind}"><span class="num">{count}</span>', text)
    # The run before the latest has no run before it.
    older = run(demo_root, "report", "html", "--scan", "latest~1", "--out", "older.html")
    assert older.exit_code == 0
    assert page_of(demo_root / "older.html")[1].data["changes"] == []


# Safety of the embedded data


def test_a_name_cannot_end_the_data_script(demo_root):
    write_demo_fleet(demo_root)
    path = demo_root / "inventory" / "tenants.yaml"
    rows = yaml.safe_load(path.read_text(encoding="utf-8"))
    name = '</script><script>alert(1)</script> & <!-- "宗像" '
    rows[0]["name"] = name
    write_yaml(path, rows)
    assert run(demo_root, "scan").exit_code == 0
    assert run(demo_root, "report", "html", "--out", "r.html").exit_code == 0
    text, page = page_of(demo_root / "r.html")
    assert len(page.scripts) == 2
    assert name in {t["name"] for t in page.data["tenants"]}
    assert "</script><script>alert" not in text


# Writing


def test_the_page_is_written_atomically(reference, monkeypatch, tmp_path):
    folder = tmp_path / "atomic"
    folder.mkdir()
    shutil.copy(reference / "drift.db", folder / "drift.db")
    out = folder / "report.html"
    out.write_text("previous report\n", encoding="utf-8")
    out.chmod(0o640)
    failed = report(folder, "--scan", "0000000000", out="report.html")
    assert failed.exit_code == 2
    assert out.read_text(encoding="utf-8") == "previous report\n"  # whole or not at all
    calls: list[tuple[Path, int]] = []
    import drift.cli.report as command

    real = command.write_atomic

    def spy(path: Path, data: bytes | str) -> None:
        calls.append((Path(path), len(data)))
        real(path, data)

    monkeypatch.setattr(command, "write_atomic", spy)
    done = report(folder, out="report.html")
    assert done.exit_code == 0, done.stderr
    assert calls == [(Path("report.html"), out.stat().st_size)]
    assert out.stat().st_mode & 0o777 == 0o640  # the previous version's permissions kept
    assert sorted(p.name for p in folder.iterdir() if p.name.startswith(".")) == []  # no temporary file left
    assert done.stdout == ""
    assert re.fullmatch(r"report\.html: 123 tenants, [\d,]+ bytes, scan sha256:[0-9a-f]{64}\n", done.stderr)


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (("report", "html", "--out", "r.html", "--db", "none.db"), 2, "none.db: --db: no results database here"),
        (("report", "html", "--out", "r.html", "--scan", "ffffffffff"), 2, "--scan: no scan 'ffffffffff'"),
        (("report", "html", "--out", "r.html", "--scan", "latest~5"), 2, "'latest~5': only 0 whole runs before 'latest'"),
        (("report", "html"), 2, "Missing option '--out'"),
        (("report", "html", "--out", "r.html", "--lang", "fr"), 2, "Invalid value for '--lang'"),
        (("report", "html", "--out", "r.html", "--policy", "nope.yaml"), 2, "nope.yaml: no such policy file"),
        (("report", "html", "--out", "r.html", "--policy", "bad.yaml"), 2, "bad.yaml: waivers[0].expires: required field is missing"),
        (("report", "html", "--out", "r.html", "--catalog", "elsewhere"), 2, "elsewhere"),
        (("report", "html", "--out", "blocker/r.html"), 2, "blocker/r.html: cannot write r.html: blocker is not a folder"),
        (("report", "html", "--out", "missing/r.html"), 2, "missing/r.html: cannot write r.html: missing does not exist"),
        (("report", "html", "--out", "r.html"), 0, "r.html: 123 tenants"),
    ],
)
def test_exit_codes(reference, tmp_path, args, code, message):
    folder = tmp_path / "codes"
    folder.mkdir()
    shutil.copy(reference / "drift.db", folder / "drift.db")
    write_yaml(folder / "bad.yaml", {"waivers": [{"tenant": "011002", "fix": "X", "reason": "r", "approved_by": "a"}]})
    (folder / "blocker").write_text("a file where a folder should be\n", encoding="utf-8")
    result = run(folder, *args, *(() if "--catalog" in args else ("--catalog", str(MANIFESTS))))
    assert result.exit_code == code, result.output
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    if code:
        assert not (folder / "r.html").exists()
        if "Missing" not in message and "Invalid" not in message:  # click's own usage errors
            assert result.stderr.startswith("drift: error: ") and len(result.stderr.splitlines()) == 1


# Shipping


def test_the_page_assets_ship_with_the_package():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = config["tool"]["setuptools"]["package-data"]["drift.report"]
    assets = [p.name for p in (ROOT / "drift" / "report").iterdir() if p.is_file() and p.suffix != ".py"]
    assert sorted(assets) == ["page.css", "page.html", "page.js"]
    assert all(any(fnmatch(name, pattern) for pattern in patterns) for name in assets)


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_the_script_is_valid_javascript():
    done = subprocess.run(["node", "--check", str(ROOT / "drift" / "report" / "page.js")], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr


# Strings from tenants in the page's script (SPEC 5): run with Node.js where it is installed.


def _script_part(start: str, end: str) -> str:
    script = (Path(__file__).resolve().parents[1] / "drift" / "report" / "page.js").read_text(encoding="utf-8")
    begin = script.index(start)
    return script[begin : script.index(end, begin) + len(end)]


@pytest.mark.skipif(shutil.which("node") is None, reason="no Node.js to run the page's script with")
def test_the_page_script_shows_tenant_strings_escaped_and_notes_after_the_found_hash():
    code = (
        _script_part("  var UNSAFE", "function esc(text) { return attr(String(text).replace(UNSAFE, visible)); }")
        + "\nfunction word(key) { return {found_at: 'found at'}[key] || key; }\n"
        + _script_part("  function noteHtml(entry) {", "\n  }\n")
        + "\nconsole.log(JSON.stringify(["
        + "esc('a\\u001b[32mPASS\\u001b[0m\\r\\n\\u202e\\u0001\\u0085 <b>&\"\\' 宗像 😀 \\ud800'),"
        + "attr('x\\u202e<'),"
        + "noteHtml(['app/A.java', 'unfixed', 'sha256:1', 0, 'app/A.java.\\u202ebak', 'stale copy at app/A.java.\\u202ebak']),"
        + "noteHtml(['app/B.java', 'unfixed', 'sha256:1', 0, 'app/B~', '']),"
        + "noteHtml(['app/C.java', 'removed', 'absent', 0, null, 'removed: 8.2.1 ships it']),"
        + "noteHtml(['app/D.java', 'fixed', 'sha256:2', 0, null, ''])]));"
    )
    done = subprocess.run(["node", "-e", code], capture_output=True, text=True, check=True)
    escaped, attribute, stale, found_at, removed, nothing = json.loads(done.stdout)
    assert escaped == "a\\e[32mPASS\\e[0m\\r\\n\\u202e\\x01\\x85 &lt;b&gt;&amp;&quot;&#39; 宗像 😀 \\ud800"
    assert attribute == "x\u202e&lt;"  # a data attribute keeps the value the script matches on
    assert stale == '<div class="note"><em>stale copy at app/A.java.\\u202ebak</em></div>'
    assert found_at == '<div class="note"><em>found at app/B~</em></div>'
    assert removed == '<div class="note"><em>removed: 8.2.1 ships it</em></div>'
    assert nothing == ""
