"""Collecting where no catalog is at hand: said at once, and the scan and the gate say how to fix it."""

from __future__ import annotations

import json

from tests.builders import run_cli as run
from tests.demo import demo_site

TENANT = "402206"




def test_collect_without_a_catalog_warns_and_the_scan_and_gate_say_to_collect_again(demo_root):
    demo_site(demo_root)
    collected = run(demo_root, "collect", "tree", "--tenant", TENANT, "--catalog", "nowhere")
    assert collected.exit_code == 0
    warning = [line for line in collected.stderr.splitlines() if line.startswith("drift: warning:")]
    assert warning == [("drift: warning: no catalog at nowhere: no config value is captured, so a scan judges every config check "
                        "unreadable; give --catalog DIR (a copy of the catalog folder)")]
    scanned = json.loads(run(demo_root, "scan", "--format", "json").stdout)
    finding = next(f for f in scanned["tenants"][0]["findings"] if f["fix"] == "DEMO-0004")
    config = next(e for e in finding["evidence"] if "#" in e["path"])
    assert (finding["status"], config["state"], config["note"]) == ("unverifiable", "unreadable", "value not collected: collect again with --catalog")
    gate = run(demo_root, "gate")
    assert gate.exit_code == 1
    assert f"Next: collect again at {TENANT} with the catalog at hand (drift collect ROOT --tenant ID --catalog DIR)" in gate.stdout
    assert "Next: apply the fixes" not in gate.stdout
    # collected again with the catalog: judged, and the gate passes
    assert run(demo_root, "collect", "tree", "--tenant", TENANT).exit_code == 0
    assert run(demo_root, "gate").exit_code == 0

