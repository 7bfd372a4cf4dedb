"""The command line on real files: output and exit codes checked separately."""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path

import click
import pytest

from drift.cli import main
from tests.builders import run_cli as run
from tests.test_scan import write_demo_fleet


def commands(group: click.Group, prefix: tuple[str, ...] = ()):
    context = click.Context(group)
    for name in group.list_commands(context):
        command = group.get_command(context, name)
        yield (*prefix, name)
        if isinstance(command, click.Group):
            yield from commands(command, (*prefix, name))


@pytest.mark.parametrize("path", list(commands(main)), ids=" ".join)
def test_every_command_has_help(path, tmp_path):
    result = run(tmp_path, *path, "--help")
    assert result.exit_code == 0
    assert "Usage:" in result.output


def test_scan_table_lists_worst_tenants_first_then_blocking_findings(demo_root):
    write_demo_fleet(demo_root)
    result = run(demo_root, "scan")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[2] == "4 tenants, 3 with blocking findings (missing, partial, unverifiable at high or above)"
    order = [line.split()[0] for line in lines[5:9]]
    assert order == ["131211", "402206", "362018", "141305"]
    blocking = lines[lines.index("blocking findings") + 3 :]
    assert blocking[0].split()[:4] == ["131211", "DEMO-0001", "critical", "unverifiable"]
    assert any(line.split()[:4] == ["362018", "DEMO-0002", "high", "partial"] for line in blocking)
    assert not any(" medium " in line or " low " in line for line in blocking)


def test_scan_json_is_the_golden_document(demo_root):
    write_demo_fleet(demo_root)
    result = run(demo_root, "scan", "--format", "json")
    assert result.exit_code == 0
    golden = (Path(__file__).parent / "golden" / "demo_scan.json").read_text(encoding="utf-8")
    assert result.stdout == golden
    assert run(demo_root, "scan", "--format", "json").stdout == golden  # stored scan, same bytes


def test_scan_csv_has_one_row_per_tenant_and_fix(demo_root):
    write_demo_fleet(demo_root)
    result = run(demo_root, "scan", "--format", "csv")
    assert result.exit_code == 0
    assert b"\r\n" in result.stdout_bytes
    rows = list(csv.DictReader(io.StringIO(result.stdout, newline="")))
    assert len(rows) == 4 * 5
    row = next(r for r in rows if r["tenant"] == "362018" and r["fix"] == "DEMO-0002")
    assert (row["status"], row["blocking"], row["name"]) == ("partial", "yes", "徳島市")
    assert "app/print/Job.java: unfixed" in row["evidence"]


def test_scan_narrowed_to_a_tenant_and_fix(demo_root):
    write_demo_fleet(demo_root)
    result = run(demo_root, "scan", "--tenant", "362018", "--fix", "DEMO-0002", "--format", "json")
    doc = json.loads(result.stdout)
    assert [(t["id"], [f["fix"] for f in t["findings"]]) for t in doc["tenants"]] == [("362018", ["DEMO-0002"])]


def test_scan_stores_into_the_named_database(demo_root):
    write_demo_fleet(demo_root)
    assert run(demo_root, "scan", "--db", "results/fleet.db").exit_code == 2  # folder missing: a usage error
    (demo_root / "results").mkdir()
    assert run(demo_root, "scan", "--db", "results/fleet.db").exit_code == 0
    assert (demo_root / "results" / "fleet.db").is_file()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("scan", "--tenant", "999999"), "--tenant: no tenant '999999' in the registry"),
        (("scan", "--fix", "NOPE-1"), "--fix: no fix 'NOPE-1' in the catalog"),
        (("scan", "--catalog", "nowhere"), "nowhere: no catalog.yaml: not a catalog folder"),
        (("scan", "--inventory", "nowhere"), "nowhere: no tenants.yaml or tenants.csv"),
        (("catalog", "validate", "--catalog", "nowhere"), "nowhere: no catalog.yaml: not a catalog folder"),
        (("scan", "--db", "missing/drift.db"), "missing/drift.db: --db: folder missing does not exist"),
    ],
)
def test_bad_arguments_give_one_line_and_exit_2(demo_root, args, message):
    write_demo_fleet(demo_root)
    result = run(demo_root, *args)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.strip().splitlines() == [f"drift: error: {message}"]


def test_catalog_validate_reports_counts_and_digest(demo_root):
    result = run(demo_root, "catalog", "validate")
    assert result.exit_code == 0
    assert result.stdout.splitlines()[0] == "manifests: valid: product demo, lines 1.x, 2.x, 7 releases, 5 fixes"
    assert result.stdout.splitlines()[1].startswith("digest sha256:")


def test_scan_notes_an_inventory_whose_tenant_is_not_registered(demo_root):
    write_demo_fleet(demo_root)
    (demo_root / "inventory" / "999999.sha256").write_text(f"{'a' * 64}  app/Main.java\n")
    result = run(demo_root, "scan")
    assert result.exit_code == 0
    assert "drift: note: inventory/999999.sha256: no tenant '999999' in the registry; not scanned" in result.stderr


def test_the_program_ends_with_its_exit_code_and_all_its_output(tmp_path: Path) -> None:
    """`python -m drift` (and the `drift` script) end the process at once once the command is done: what the
    command wrote still reaches a pipe whole, and the exit code is the command's."""
    import subprocess
    import sys

    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    shown = subprocess.run([sys.executable, "-m", "drift", "--help"], check=False, capture_output=True, text=True, env=env, cwd=tmp_path)
    assert shown.returncode == 0 and shown.stdout.startswith("Usage:") and "collect" in shown.stdout and shown.stdout.endswith("\n")
    refused = subprocess.run([sys.executable, "-m", "drift", "collect", str(tmp_path / "absent"), "--tenant", "402206"], check=False,
                             capture_output=True, text=True, env=env, cwd=tmp_path)
    assert refused.returncode == 2 and refused.stderr.startswith("drift: error:") and "not a folder" in refused.stderr
