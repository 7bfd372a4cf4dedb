"""What `latest` means (SPEC 6): the latest run over the whole registry and catalog; a narrowed run (a CI gate
on one tenant) is used only when named, and never makes a tenant it did not judge look changed."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from tests.builders import run_cli

ROOT = Path(__file__).resolve().parents[1]


def run(folder: Path, *args: str):
    """`drift ARGS... --db folder/drift.db` in `folder`."""
    return run_cli(folder, *args, "--db", str(folder / "drift.db"))


@pytest.fixture
def fleet(tmp_path: Path) -> Path:
    """The reference fleet, scanned whole once, then gated on one tenant (as a CI pipeline does)."""
    (tmp_path / "manifests").symlink_to(ROOT / "manifests")
    (tmp_path / "inventory").symlink_to(ROOT / "inventory")
    assert run(tmp_path, "scan").exit_code == 0
    assert run(tmp_path, "gate", "--tenant", "402206").exit_code == 1
    return tmp_path


def test_after_a_gate_on_one_tenant_the_export_still_has_every_tenant(fleet):
    result = run(fleet, "export", "csv", "--summary", "--encoding", "utf-8")
    rows = list(csv.reader(io.StringIO(result.stdout_bytes.decode("utf-8"))))
    assert len(rows) - 1 == 123


def test_after_a_gate_on_one_tenant_diff_reports_nothing_new(fleet):
    alone = run(fleet, "diff", "--format", "json")  # the gate's run is no fleet run: one whole run, nothing to compare
    assert alone.exit_code == 2 and "only 0 whole runs before 'latest'" in alone.stderr
    assert run(fleet, "scan").exit_code == 0  # the same inputs again: still nothing changed
    diff = json.loads(run(fleet, "diff", "--format", "json").stdout)
    assert all(not t["changes"] for t in diff["tenants"]) and not diff.get("added") and not diff.get("removed")


def test_gate_scan_latest_gates_the_whole_fleet_not_the_narrowed_run(fleet):
    result = run(fleet, "gate", "--scan", "latest")
    assert result.exit_code == 1
    assert "44" in result.stdout  # the fleet's 44 blocking tenants, not the one gated last


def test_history_shows_each_runs_scope(fleet):
    result = json.loads(run(fleet, "history", "--format", "json").stdout)
    assert [(r["whole"], r["tenants"]) for r in result["runs"]] == [(True, 123), (False, 1)]
    table = run(fleet, "history").stdout.splitlines()
    assert table[3].split()[3] == "all" and table[4].split()[3] == "part"


def test_a_narrowed_run_is_used_when_it_is_named(fleet):
    runs = json.loads(run(fleet, "history", "--format", "json").stdout)["runs"]
    named = runs[1]["scan"]
    result = run(fleet, "export", "csv", "--summary", "--scan", named, "--encoding", "utf-8")
    assert len(list(csv.reader(io.StringIO(result.stdout_bytes.decode("utf-8"))))) - 1 == 1
    diff = json.loads(run(fleet, "diff", runs[0]["scan"], named, "--format", "json").stdout)
    assert [t["tenant"] for t in diff["tenants"]] == []  # 402206 did not change; the other 122 are not "removed"


def test_the_next_full_scans_report_counts_only_real_changes(fleet):
    assert run(fleet, "scan").exit_code == 0
    (fleet / "out").mkdir()
    assert run(fleet, "report", "html", "--out", "out/r.html").exit_code == 0
    page = (fleet / "out" / "r.html").read_text(encoding="utf-8")
    data = json.loads(page.split('<script type="application/json" id="report-data">', 1)[1].split("</script>", 1)[0])
    assert data["changes"] == []


def test_titles_are_stored_with_the_scan_so_an_export_away_from_the_catalog_has_them(fleet, tmp_path):
    away = tmp_path / "away"
    away.mkdir()
    (away / "drift.db").symlink_to(fleet / "drift.db")
    result = run(away, "export", "csv", "--encoding", "utf-8")
    rows = list(csv.reader(io.StringIO(result.stdout_bytes.decode("utf-8"))))
    titles = {row[3]: row[4] for row in rows[1:]}
    assert len(titles) == 32 and all(titles.values())
    assert "note: fix titles" not in result.stderr
