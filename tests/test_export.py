"""`drift export csv`: every file read back with the csv module equals the stored scan, in every language,
encoding and shape; what an encoding cannot hold is an error naming the row, or replaced when asked."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import time
from pathlib import Path

import pytest
import yaml

from drift.errors import InputError
from drift.export import EXCEL_MAX_CELL, LANGUAGES, Table, encode_csv, evidence_text
from drift.formats.evidence import evidence_note, short_evidence
from drift.policy import Policy
from drift.results import REMOVED, Evidence, Finding, Scan
from drift.store import Store
from tests.builders import write_yaml
from tests.test_cli import run
from tests.test_scan import write_demo_fleet

ROOT = Path(__file__).resolve().parents[1]

# The titles the agency's Excel must show as written: RFC 4180 quoting, Japanese, cp932's own extensions.
TITLES = {
    "DEMO-0001": 'Print job, "quoted", and\nsplit over lines',
    "DEMO-0002": "印刷ジョブが二重に発行される（「至急」）、再印刷で解消しない",
    "DEMO-0003": "Kiosk\r\nCRLF inside, and a trailing comma,",
    "DEMO-0004": "髙橋さん①の㈱ lock; 〓 already here",
    "DEMO-0005": "  leading spaces and a tab\there",
}

# The Japanese words, written out here so the test does not read them from the code it checks.
JA_HEADERS = {
    "full": ["団体コード", "団体名", "都道府県", "修正ID", "件名", "重要度", "判定", "要対応", "系列", "根拠",
             "スキャンID", "スキャン日時", "カタログダイジェスト", "インベントリダイジェスト", "収集日時", "署名"],
    "summary": ["団体コード", "団体名", "都道府県", "未適用件数", "一部適用件数", "検証不能件数", "適用済み件数", "対象外件数",
                "要対応", "カタログ外ファイル数", "改変ファイル数",
                "スキャンID", "スキャン日時", "カタログダイジェスト", "インベントリダイジェスト", "収集日時", "署名"],
}
EN_HEADERS = {
    "full": ["tenant", "name", "prefecture", "fix", "title", "severity", "status", "blocking", "variant", "evidence",
             "scan", "scanned_at", "catalog_digest", "inventory_digest", "collected_at", "signature"],
    "summary": ["tenant", "name", "prefecture", "missing", "partial", "unverifiable", "applied", "not-applicable",
                "blocking", "uncatalogued", "modified", "scan", "scanned_at", "catalog_digest", "inventory_digest", "collected_at", "signature"],
}
JA_STATUS = {"applied": "適用済み", "missing": "未適用", "partial": "一部適用", "unverifiable": "検証不能", "not-applicable": "対象外"}
JA_SEVERITY = {"critical": "緊急", "high": "重要", "medium": "警告", "low": "注意"}
JA_STATE = {"fixed": "修正済み", "unfixed": "未修正", "modified": "改変", "unreadable": "読取不可", "removed": "欠落", "not-deployed": "未配置",
            "ambiguous": "判別不能"}
JA_REASON = {
    "no inventory for this tenant": "インベントリなし",
    "applies to modules konbini; tenant deploys none": "対象モジュール: konbini（この団体: なし）",
    "applies to editions seirei; tenant runs standard": "対象エディション: seirei（この団体: standard）",
}
STATUS_ORDER = ("missing", "partial", "unverifiable", "applied", "not-applicable")
ENCODINGS = ("utf-8-sig", "utf-8", "cp932")


def set_titles(root: Path, titles: dict[str, str]) -> None:
    for fix, title in titles.items():
        path = root / "manifests" / "fixes" / f"{fix}.yaml"
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        doc["title"] = title
        write_yaml(path, doc)


def rename_tenant(root: Path, tenant: str, name: str) -> None:
    path = root / "inventory" / "tenants.yaml"
    rows = yaml.safe_load(path.read_text(encoding="utf-8"))
    for row in rows:
        if row["id"] == tenant:
            row["name"] = name
    write_yaml(path, rows)


@pytest.fixture
def fleet(demo_root: Path) -> Path:
    """The demo fleet, scanned once, with titles and a tenant name that need quoting."""
    write_demo_fleet(demo_root)
    set_titles(demo_root, TITLES)
    rename_tenant(demo_root, "402206", '宗像市, "福岡県"')
    assert run(demo_root, "scan").exit_code == 0
    return demo_root


def stored(root: Path, db: str = "drift.db") -> Scan:
    with Store(root / db) as store:
        return store.load_scan("latest")


def in_zone(stored_time: str, zone: dt.tzinfo | None) -> str:
    """A stored UTC time (`...Z`) as the export must show it in `zone` (None: the machine's local zone)."""
    if not stored_time:
        return ""
    assert stored_time.endswith("Z")
    return dt.datetime.strptime(stored_time, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC).astimezone(zone).isoformat()


def expected_rows(scan: Scan, lang: str, summary: bool, titles: dict[str, str], zone: dt.tzinfo | None = None) -> list[list[str]]:
    """The rows the export must hold, straight from the stored scan, times in `zone` (default: local)."""
    ja = lang == "ja"
    yes, no = ("はい", "いいえ") if ja else ("yes", "no")
    policy = Policy()
    rows = [(JA_HEADERS if ja else EN_HEADERS)["summary" if summary else "full"]]
    for result in scan.tenants:
        t = result.tenant
        digest = "" if result.inventory_digest == "none" else result.inventory_digest
        times = in_zone(scan.created_at, zone), in_zone(result.collected_at or "", zone)
        tail = [scan.id, times[0], scan.catalog_digest, digest, times[1], result.signature]
        if summary:
            rows.append([
                t.id, t.name, t.prefecture, *(str(result.counts[s]) for s in STATUS_ORDER),
                yes if any(policy.blocks(f) for f in result.findings) else no,
                str(len(result.drift.uncatalogued)), str(len(result.drift.modified)), *tail,
            ])
            continue
        for f in result.findings:
            if not ja:
                evidence = short_evidence(f)
            elif f.evidence:
                evidence = "; ".join(f"{e.path}: {JA_STATE[e.state]}" + (f" ({evidence_note(e)})" if evidence_note(e) else "") for e in f.evidence)
            else:
                evidence = JA_REASON[f.reason]
            rows.append([
                t.id, t.name, t.prefecture, f.fix, titles.get(f.fix, ""),
                JA_SEVERITY[f.severity] if ja else f.severity, JA_STATUS[f.status] if ja else f.status,
                yes if policy.blocks(f) else no, f.variant or "", evidence, *tail,
            ])
    return rows


def read_back(data: bytes, encoding: str) -> list[list[str]]:
    """The file as the csv module reads it, after checking its BOM and that it is canonical RFC 4180
    (quoted exactly where needed, every record ended by CRLF)."""
    assert data.startswith(b"\xef\xbb\xbf") == (encoding == "utf-8-sig")
    text = data.decode(encoding)
    rows = list(csv.reader(io.StringIO(text, newline=""), strict=True))
    canonical = io.StringIO(newline="")
    csv.writer(canonical, lineterminator="\r\n").writerows(rows)
    assert text == canonical.getvalue()
    return rows


@pytest.mark.parametrize("summary", [False, True], ids=["full", "summary"])
@pytest.mark.parametrize("encoding", ENCODINGS)
@pytest.mark.parametrize("lang", ["en", "ja"])
def test_every_export_reads_back_as_the_stored_scan(fleet, lang, encoding, summary):
    args = ["export", "csv", "--lang", lang, "--encoding", encoding, "--timezone", "UTC", *(["--summary"] if summary else [])]
    (fleet / "out").mkdir(exist_ok=True)
    result = run(fleet, *args, "--out", "out/fleet.csv")
    assert result.exit_code == 0, result.stderr
    assert result.stdout_bytes == b""
    data = (fleet / "out" / "fleet.csv").read_bytes()
    rows = read_back(data, encoding)
    scan = stored(fleet)
    assert rows == expected_rows(scan, lang, summary, TITLES, dt.UTC)
    assert rows[1][EN_HEADERS["summary" if summary else "full"].index("scanned_at")] == scan.created_at.replace("Z", "+00:00")
    assert len(rows) == 1 + (4 if summary else 4 * 5)
    assert f"out/fleet.csv: {len(rows) - 1} rows, {encoding}, scan {scan.id}" in result.stderr
    # Without --out: the same bytes on stdout.
    assert run(fleet, *args).stdout_bytes == data


def test_full_export_spot_checks(fleet):
    rows = read_back(run(fleet, "export", "csv", "--lang", "ja").stdout_bytes, "utf-8-sig")
    by_key = {(r[0], r[3]): r for r in rows[1:]}
    partial = by_key[("362018", "DEMO-0002")]
    assert (partial[1], partial[5], partial[6], partial[7]) == ("徳島市", "重要", "一部適用", "はい")
    assert "app/print/Job.java: 未修正" in partial[9] and "lib/core.jar: 修正済み" in partial[9]
    assert by_key[("131211", "DEMO-0001")][9] == "インベントリなし"
    assert by_key[("131211", "DEMO-0001")][13:] == ["", "", ""]  # no inventory: no digest, no collection time, no signature
    assert by_key[("402206", "DEMO-0001")][1] == '宗像市, "福岡県"'
    assert by_key[("402206", "DEMO-0001")][4] == TITLES["DEMO-0001"]


def test_summary_counts_and_blocking(fleet):
    rows = read_back(run(fleet, "export", "csv", "--summary").stdout_bytes, "utf-8-sig")
    by_id = {r[0]: dict(zip(rows[0], r, strict=True)) for r in rows[1:]}
    assert [r[0] for r in rows[1:]] == ["131211", "141305", "362018", "402206"]
    assert by_id["131211"]["unverifiable"] == "3" and by_id["131211"]["blocking"] == "yes"
    assert by_id["141305"]["blocking"] == "no" and by_id["141305"]["uncatalogued"] == "1"
    assert by_id["362018"]["partial"] == "1" and by_id["362018"]["blocking"] == "yes"


UNENCODABLE = "吉野家の𠮷と絵文字😀"


@pytest.mark.parametrize("lang", ["en", "ja"])
def test_cp932_refuses_a_character_it_cannot_hold_naming_the_row(fleet, lang):
    set_titles(fleet, {"DEMO-0002": UNENCODABLE})
    assert run(fleet, "scan").exit_code == 0
    (fleet / "fleet.csv").write_bytes(b"previous export\r\n")
    result = run(fleet, "export", "csv", "--encoding", "cp932", "--lang", lang, "--out", "fleet.csv")
    assert result.exit_code == 2
    # 131211 is the first tenant, DEMO-0002 its second fix: row 3 after the header, as Excel numbers it.
    names = "団体コード 131211, 修正ID DEMO-0002, column 件名" if lang == "ja" else "tenant 131211, fix DEMO-0002, column title"
    assert result.stderr.splitlines() == [
        (
            f"drift: error: fleet.csv: row 3: {names}: '𠮷' (U+20BB7) cannot be written in cp932 "
            "(7 more such characters, in 4 rows in all); use --encoding utf-8-sig, or --replace-unencodable to write 〓 for it"
        )
    ]
    assert (fleet / "fleet.csv").read_bytes() == b"previous export\r\n"  # whole or not at all
    to_stdout = run(fleet, "export", "csv", "--encoding", "cp932", "--lang", lang)
    assert to_stdout.exit_code == 2 and to_stdout.stdout_bytes == b""


def test_cp932_replaces_only_when_asked(fleet):
    set_titles(fleet, {"DEMO-0002": UNENCODABLE})
    assert run(fleet, "scan").exit_code == 0
    result = run(fleet, "export", "csv", "--encoding", "cp932", "--replace-unencodable", "--out", "fleet.csv")
    assert result.exit_code == 0, result.stderr
    assert "drift: note: 8 characters cp932 cannot hold replaced in 4 rows" in result.stderr
    rows = read_back((fleet / "fleet.csv").read_bytes(), "cp932")
    titles = {**TITLES, "DEMO-0002": "吉野家の〓と絵文字〓"}
    assert rows == expected_rows(stored(fleet), "en", False, titles)


def test_cp932_names_a_tenant_row_in_a_summary(demo_root):
    # (A name is not part of a scan's id: renaming a tenant and scanning again stores nothing new.)
    write_demo_fleet(demo_root)
    rename_tenant(demo_root, "362018", "𠮷田町")
    assert run(demo_root, "scan").exit_code == 0
    fleet = demo_root
    result = run(fleet, "export", "csv", "--summary", "--lang", "ja", "--encoding", "cp932")
    assert result.exit_code == 2
    assert "row 4: 団体コード 362018, column 団体名: '𠮷' (U+20BB7) cannot be written in cp932; " in result.stderr
    replaced = run(fleet, "export", "csv", "--summary", "--lang", "ja", "--encoding", "cp932", "--replace-unencodable")
    assert read_back(replaced.stdout_bytes, "cp932")[3][1] == "〓田町"


def table(*rows: tuple[str, ...]) -> Table:
    return Table(("tenant", "fix", "title"), rows, (0, 1))


def test_cp932_look_alikes():
    # The codec writes these six as the Microsoft forms every Windows shows alike: accepted as they are.
    data = encode_csv(table(("t", "f", "1〜9 − ‖ ¢ £ ¬")), "cp932").data
    assert data.decode("cp932").splitlines()[1] == "t,f,1～9 － ∥ ￠ ￡ ￢"
    # These it lacks: an error, or under replace their cp932 look-alike.
    with pytest.raises(InputError, match=r"row 2: tenant t, fix f, column title: '—' \(U\+2014\)"):
        encode_csv(table(("t", "f", "a—b")), "cp932")
    replaced = encode_csv(table(("t", "f", "a—b ¥100\u00a0‾ é")), "cp932", replace=True)
    assert replaced.data.decode("cp932").splitlines()[1] == "t,f,a―b ￥100 ￣ 〓"
    assert (replaced.replaced, replaced.replaced_rows, replaced.rows) == (5, 1, 1)


def test_utf8_encodings_hold_everything():
    for encoding in ("utf-8", "utf-8-sig"):
        encoded = encode_csv(table(("t", "f", UNENCODABLE)), encoding)
        assert read_back(encoded.data, encoding)[1] == ["t", "f", UNENCODABLE]
        assert encoded.replaced == 0


def test_titles_come_only_from_the_catalog_the_scan_judged(fleet):
    # The default catalog changed since the scan: the titles stored with the scan (its catalog's) are used.
    (fleet / "manifests" / "fixes" / "DEMO-0001.yaml").write_text(
        (fleet / "manifests" / "fixes" / "DEMO-0001.yaml").read_text(encoding="utf-8") + "# edited\n", encoding="utf-8"
    )
    result = run(fleet, "export", "csv")
    assert result.exit_code == 0 and result.stderr == ""
    assert {r[3]: r[4] for r in read_back(result.stdout_bytes, "utf-8-sig")[1:]} == TITLES
    # Named explicitly, another catalog is an error; so is no catalog.
    assert run(fleet, "export", "csv", "--catalog", "manifests").exit_code == 2
    missing = run(fleet, "export", "csv", "--catalog", "nowhere")
    assert missing.exit_code == 2 and missing.stderr == "drift: error: nowhere: no catalog.yaml: not a catalog folder\n"
    # No catalog folder at all: the stored titles still.
    (fleet / "manifests").rename(fleet / "old")
    result = run(fleet, "export", "csv")
    assert result.exit_code == 0 and {r[3]: r[4] for r in read_back(result.stdout_bytes, "utf-8-sig")[1:]} == TITLES
    # A summary has no titles and needs no catalog: no note.
    assert run(fleet, "export", "csv", "--summary").stderr == ""


def test_an_earlier_scan_by_id_prefix(fleet):
    first = stored(fleet)
    narrowed = run(fleet, "scan", "--tenant", "402206", "--format", "json")
    assert narrowed.exit_code == 0
    # `latest` is the latest run over the whole registry: a scan of one tenant is used only when named.
    assert len(read_back(run(fleet, "export", "csv", "--summary").stdout_bytes, "utf-8-sig")) == 5
    one = json.loads(narrowed.stdout)["scan"].removeprefix("sha256:")[:12]
    assert len(read_back(run(fleet, "export", "csv", "--summary", "--scan", one).stdout_bytes, "utf-8-sig")) == 2
    prefix = first.id.removeprefix("sha256:")[:12]
    rows = read_back(run(fleet, "export", "csv", "--summary", "--scan", prefix).stdout_bytes, "utf-8-sig")
    assert len(rows) == 5 and {r[11] for r in rows[1:]} == {first.id}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--scan", "abcdef"), "drift.db: --scan: no scan 'abcdef'"),
        (("--db", "other.db"), "other.db: --db: no results database here: run `drift scan` first"),
        (("--lang", "fr"), None),
        (("--encoding", "latin-1"), None),
    ],
)
def test_bad_arguments(fleet, args, message):
    result = run(fleet, "export", "csv", *args)
    assert result.exit_code == 2
    assert result.stdout_bytes == b""
    if message:
        assert result.stderr == f"drift: error: {message}\n"
    assert not (fleet / "other.db").exists()


def test_evidence_is_cut_at_a_whole_entry_to_fit_an_excel_cell():
    evidence = tuple(Evidence(f"app/generated/File{i:05d}.java", "unfixed", None, ()) for i in range(2000))
    finding = Finding("X-1", "missing", "high", "8.x", evidence)
    for lang, more in (("en", "… ({n} more)"), ("ja", "…ほか{n}件")):
        text = evidence_text(finding, LANGUAGES[lang])
        assert len(text) <= EXCEL_MAX_CELL
        parts = text.split("; ")
        kept = len(parts) - 1
        assert parts[-1] == more.format(n=2000 - kept) and kept > 800
        assert parts[kept - 1].startswith(f"app/generated/File{kept - 1:05d}.java: ")
    short = Finding("X-1", "missing", "high", "8.x", evidence[:3])
    assert evidence_text(short) == short_evidence(short)


def test_reference_fleet_summary_in_japanese_is_123_rows(tmp_path):
    scanned = run(tmp_path, "scan", "--catalog", str(ROOT / "manifests"), "--inventory", str(ROOT / "inventory"), "--format", "json")
    assert scanned.exit_code == 0, scanned.stderr
    result = run(tmp_path, "export", "csv", "--lang", "ja", "--summary", "--out", "agency.csv")
    assert result.exit_code == 0, result.stderr
    rows = read_back((tmp_path / "agency.csv").read_bytes(), "utf-8-sig")
    assert len(rows) == 1 + 123
    assert rows[0] == JA_HEADERS["summary"]
    assert rows == expected_rows(stored(tmp_path), "ja", True, {})
    munakata = next(r for r in rows if r[0] == "402206")
    assert munakata[1] == "宗像市" and munakata[8] == "はい"
    # The full export, titled from the same catalog, fits cp932 whole.
    full = run(tmp_path, "export", "csv", "--lang", "ja", "--encoding", "cp932", "--catalog", str(ROOT / "manifests"))
    assert full.exit_code == 0, full.stderr
    rows = read_back(full.stdout_bytes, "cp932")
    assert len(rows) == 1 + 123 * 32
    assert all(r[4] for r in rows[1:])


def test_a_removed_file_and_notes_are_in_the_evidence_in_both_languages():
    finding = Finding("X-1", "unverifiable", "high", "8.x", (
        Evidence("app/Gone.java", REMOVED, "absent", ("sha256:" + "2" * 64,), note="removed: release 8.2.1 ships it"),
        Evidence("app/Job.java", "unfixed", "sha256:" + "1" * 64, ("sha256:" + "2" * 64,), found_at="app/Job.java.bak"),
        Evidence("app/Kept.java", "fixed", "sha256:" + "2" * 64, ("sha256:" + "2" * 64,)),
    ))
    assert evidence_text(finding, LANGUAGES["en"]) == (
        "app/Gone.java: removed (removed: release 8.2.1 ships it); app/Job.java: unfixed (found at app/Job.java.bak); app/Kept.java: fixed"
    )
    assert evidence_text(finding, LANGUAGES["ja"]).startswith("app/Gone.java: 欠落 (removed: release 8.2.1 ships it); app/Job.java: 未修正 (")


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_every_cell_that_would_start_a_formula_gets_a_leading_quote(encoding):
    hostile = ['=HYPERLINK("http://evil.example/")', "+81", "-1", "@SUM(A1)", "\t=1", "\r=1", "＝1"]
    plain = ["宗像市", "1+1", "a=b", "", "'quoted", "2023-06-14T01:30:00Z"]
    table = Table(tuple(f"c{i}" for i in range(len(hostile + plain))), [tuple(hostile + plain)], (0,))
    _, row = read_back(encode_csv(table, encoding).data, encoding)
    assert row[: len(hostile)] == ["'" + cell for cell in hostile]
    assert row[len(hostile):] == plain  # the rest as it is


def test_the_export_of_a_tenant_whose_name_is_a_formula(fleet):
    rename_tenant(fleet, "141305", '=HYPERLINK("http://evil.example/","川崎市")')
    assert run(fleet, "scan").exit_code == 0
    result = run(fleet, "export", "csv", "--encoding", "utf-8")
    rows = list(csv.reader(io.StringIO(result.stdout, newline="")))
    assert {row[1] for row in rows if row[0] == "141305"} == {"'=HYPERLINK(\"http://evil.example/\",\"川崎市\")"}


@pytest.mark.parametrize("command", [("export", "csv"), ("export", "openvex"), ("export", "csaf"), ("report", "html")])
def test_out_into_a_missing_folder_is_exit_2_naming_it_and_creates_nothing(fleet, command):
    result = run(fleet, *command, "--out", "no/such/dir/x.out")
    assert result.exit_code == 2
    assert "cannot write x.out: no/such/dir does not exist" in result.stderr
    assert not (fleet / "no").exists()


# Waivers: the agency's CSV says what the gate says.

TODAY = "2024-01-01"
HOSTILE_REASON = '=HYPERLINK("http://evil.example/","ok")'


def write_policy(root: Path, name: str = "policy.yaml") -> Path:
    """Waivers: two in force on blocking findings of 402206 (one with a formula for a reason and an escape
    sequence in its approver), one expired at 362018, one in force on a finding that does not block."""
    waivers = [
        {"tenant": "402206", "fix": "DEMO-0002", "reason": "庁内ネットワークのみ, \"閉域\"", "approved_by": "CISO 山田", "expires": "2031-03-31"},
        {"tenant": "402206", "fix": "DEMO-0004", "reason": HOSTILE_REASON, "approved_by": "\x1b[31mred", "expires": "2024-01-01"},
        {"tenant": "362018", "fix": "DEMO-0002", "reason": "lapsed", "approved_by": "CISO", "expires": "2023-12-31"},
        {"tenant": "362018", "fix": "DEMO-0003", "reason": "medium never blocks", "approved_by": "CISO", "expires": "2031-03-31"},
    ]
    path = root / name
    path.write_text(yaml.safe_dump({"format": "drift-policy/1", "waivers": waivers}, allow_unicode=True), encoding="utf-8")
    return path


def test_without_a_policy_there_are_no_waiver_columns(fleet):
    rows = read_back(run(fleet, "export", "csv", "--timezone", "UTC").stdout_bytes, "utf-8-sig")
    assert rows[0] == EN_HEADERS["full"]
    summary = read_back(run(fleet, "export", "csv", "--summary", "--timezone", "UTC").stdout_bytes, "utf-8-sig")
    assert summary[0] == EN_HEADERS["summary"]


def test_a_waiver_in_force_passes_its_finding_as_the_gate_does(fleet):
    from drift.gate import decide, load_policy

    policy = write_policy(fleet)
    result = run(fleet, "export", "csv", "--policy", "policy.yaml", "--today", TODAY, "--encoding", "utf-8")
    assert result.exit_code == 0, result.stderr
    rows = read_back(result.stdout_bytes, "utf-8")
    at = EN_HEADERS["full"].index("blocking") + 1
    assert rows[0] == [*EN_HEADERS["full"][:at], "waived", "waiver_approved_by", "waiver_expires", "waiver_reason", *EN_HEADERS["full"][at:]]
    by_key = {(r[0], r[3]): dict(zip(rows[0], r, strict=True)) for r in rows[1:]}
    waived = by_key[("402206", "DEMO-0002")]
    assert (waived["blocking"], waived["waived"], waived["waiver_approved_by"], waived["waiver_expires"], waived["waiver_reason"]) == (
        "no", "yes", "CISO 山田", "2031-03-31", '庁内ネットワークのみ, "閉域"')
    # The last day of a waiver still counts; its text is made Excel- and terminal-safe like a tenant's.
    last_day = by_key[("402206", "DEMO-0004")]
    assert (last_day["blocking"], last_day["waived"], last_day["waiver_expires"]) == ("no", "yes", "2024-01-01")
    assert last_day["waiver_reason"] == "'" + HOSTILE_REASON
    assert last_day["waiver_approved_by"] == "\\e[31mred" and "\x1b" not in result.stdout
    # An expired waiver shows nothing: its finding blocks again. A waiver on a finding that never blocks waives nothing.
    for key in (("362018", "DEMO-0002"), ("362018", "DEMO-0003")):
        assert (by_key[key]["waived"], by_key[key]["waiver_approved_by"], by_key[key]["waiver_expires"], by_key[key]["waiver_reason"]) == (
            "no", "", "", "")
    assert by_key[("362018", "DEMO-0002")]["blocking"] == "yes"
    # Every row says what the gate decides, on the same day with the same policy.
    gate = decide(stored(fleet), load_policy(policy), dt.date.fromisoformat(TODAY))
    blocking = {(t.id, f.fix) for t in gate.tenants for f in t.blocking}
    passed = {(t.id, w.finding.fix) for t, w in gate.waived}
    assert {k for k, r in by_key.items() if r["blocking"] == "yes"} == blocking
    assert {k for k, r in by_key.items() if r["waived"] == "yes"} == passed == {("402206", "DEMO-0002"), ("402206", "DEMO-0004")}


def test_the_waiver_summary_and_japanese_words(fleet):
    write_policy(fleet)
    rows = read_back(run(fleet, "export", "csv", "--policy", "policy.yaml", "--today", TODAY, "--summary", "--lang", "ja").stdout_bytes,
                     "utf-8-sig")
    at = JA_HEADERS["summary"].index("要対応") + 1
    assert rows[0] == [*JA_HEADERS["summary"][:at], "免除件数", *JA_HEADERS["summary"][at:]]
    by_id = {r[0]: r for r in rows[1:]}
    assert by_id["402206"][at - 1: at + 1] == ["いいえ", "2"]  # both blocking findings waived: the tenant no longer blocks
    assert by_id["362018"][at - 1: at + 1] == ["はい", "0"]
    english = read_back(run(fleet, "export", "csv", "--policy", "policy.yaml", "--today", TODAY, "--summary").stdout_bytes, "utf-8-sig")
    assert english[0][at] == "waived"
    full = read_back(run(fleet, "export", "csv", "--policy", "policy.yaml", "--today", TODAY, "--lang", "ja").stdout_bytes, "utf-8-sig")
    at = JA_HEADERS["full"].index("要対応") + 1
    assert full[0][at: at + 4] == ["免除", "免除承認者", "免除期限", "免除理由"]
    row = next(r for r in full if r[:4] == ["402206", '宗像市, "福岡県"', "福岡県", "DEMO-0002"])
    assert row[at - 1: at + 3] == ["いいえ", "はい", "CISO 山田", "2031-03-31"]


def test_the_policy_is_found_as_the_gate_finds_it_and_lapses(fleet):
    write_policy(fleet, "drift-policy.yaml")
    found = read_back(run(fleet, "export", "csv", "--today", TODAY).stdout_bytes, "utf-8-sig")
    assert "waived" in found[0]
    key = {(r[0], r[3]): dict(zip(found[0], r, strict=True)) for r in found[1:]}
    assert key[("402206", "DEMO-0002")]["waived"] == "yes"
    # The day after the last waiver's expiry, nothing is waived and everything blocks again.
    later = read_back(run(fleet, "export", "csv", "--today", "2031-04-01").stdout_bytes, "utf-8-sig")
    assert all(dict(zip(later[0], r, strict=True))["waived"] == "no" for r in later[1:])
    assert dict(zip(later[0], next(r for r in later if r[:1] == ["402206"] and r[3] == "DEMO-0002"), strict=True))["blocking"] == "yes"
    # A policy that does not load is exit 2 naming its file, as at the gate.
    (fleet / "drift-policy.yaml").write_text("waivers: [{tenant: '402206'}]\n", encoding="utf-8")
    broken = run(fleet, "export", "csv")
    assert broken.exit_code == 2 and broken.stderr.startswith("drift: error: drift-policy.yaml: waivers[0]") and broken.stdout_bytes == b""


# Times: shown in the zone the reader asks for, with its offset.


def column(rows: list[list[str]], name: str, tenant: str = "402206") -> str:
    return dict(zip(rows[0], next(r for r in rows if r[0] == tenant), strict=True))[name]


@pytest.mark.parametrize("summary", [False, True], ids=["full", "summary"])
def test_asia_tokyo_times_carry_plus_nine_hours(fleet, summary):
    from zoneinfo import ZoneInfo

    args = ["export", "csv", "--timezone", "Asia/Tokyo", *(["--summary"] if summary else [])]
    rows = read_back(run(fleet, *args).stdout_bytes, "utf-8-sig")
    assert column(rows, "collected_at") == "2023-06-14T10:30:00+09:00"  # stored as 2023-06-14T01:30:00Z
    scanned = column(rows, "scanned_at")
    assert scanned.endswith("+09:00") and scanned == in_zone(stored(fleet).created_at, ZoneInfo("Asia/Tokyo"))
    assert dt.datetime.fromisoformat(scanned) == dt.datetime.fromisoformat(stored(fleet).created_at)  # the same instant
    assert rows == expected_rows(stored(fleet), "en", summary, TITLES, ZoneInfo("Asia/Tokyo"))


@pytest.fixture
def local_zone():
    """Sets the machine's zone (TZ) for the test, and restores it after."""
    before = os.environ.get("TZ")

    def set_zone(name: str) -> None:
        os.environ["TZ"] = name
        time.tzset()

    yield set_zone
    if before is None:
        os.environ.pop("TZ", None)
    else:
        os.environ["TZ"] = before
    time.tzset()


def test_the_default_zone_is_the_machines(fleet, local_zone):
    local_zone("Asia/Tokyo")
    assert column(read_back(run(fleet, "export", "csv").stdout_bytes, "utf-8-sig"), "collected_at") == "2023-06-14T10:30:00+09:00"
    local_zone("America/New_York")  # daylight saving time in June
    rows = read_back(run(fleet, "export", "csv").stdout_bytes, "utf-8-sig")
    assert column(rows, "collected_at") == "2023-06-13T21:30:00-04:00"
    assert rows == expected_rows(stored(fleet), "en", False, TITLES)  # local
    assert run(fleet, "export", "csv", "--timezone", "local").stdout_bytes == run(fleet, "export", "csv").stdout_bytes
    assert column(read_back(run(fleet, "export", "csv", "--timezone", "UTC").stdout_bytes, "utf-8-sig"), "collected_at") == (
        "2023-06-14T01:30:00+00:00")


@pytest.mark.parametrize("command", [("export", "csv"), ("report", "html", "--out", "page.html")])
@pytest.mark.parametrize("name", ["Mars/Olympus", "../../etc/passwd", ""])
def test_an_unknown_zone_is_exit_2_naming_the_option(fleet, command, name):
    result = run(fleet, *command, "--timezone", name)
    assert result.exit_code == 2
    assert result.stderr.startswith(f"drift: error: --timezone: unknown time zone {name!r}")
    assert result.stdout_bytes == b"" and not (fleet / "page.html").exists()


def test_the_report_shows_times_in_the_zone(fleet):
    result = run(fleet, "report", "html", "--out", "page.html", "--timezone", "Asia/Tokyo")
    assert result.exit_code == 0, result.stderr
    page = (fleet / "page.html").read_text(encoding="utf-8")
    scanned = in_zone(stored(fleet).created_at, dt.timezone(dt.timedelta(hours=9)))
    assert '"at":"2023-06-14T10:30:00+09:00"' in page.replace(" ", "") and scanned in page
    assert "01:30:00Z" not in page
