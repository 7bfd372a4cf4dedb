"""The gate's SARIF log against the published SARIF 2.1.0 schema.

No Python package ships that schema; Microsoft's SARIF SDK does, in the npm package
`@microsoft/sarif-multitool-linux` (MIT). The test fetches that package once with `npm pack` into a cache
folder and reads `sarif-2.1.0.json` from it, without installing or running anything from it; set
DRIFT_SARIF_SCHEMA to a copy of the schema to skip the download. Without npm and without a copy the test
is skipped, saying why (the strict subset schema in test_junit_sarif.py still runs everywhere).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner

from drift.cli import main

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "@microsoft/sarif-multitool-linux@5.7.0"
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "drift-tests" / "sarif-2.1.0.json"


@pytest.fixture(scope="module")
def published_schema() -> dict:
    named = os.environ.get("DRIFT_SARIF_SCHEMA")
    if named:
        return json.loads(Path(named).read_text(encoding="utf-8"))
    if not CACHE.is_file():
        npm = shutil.which("npm")
        if npm is None:
            pytest.skip("the published SARIF 2.1.0 schema is not at hand: no npm, and DRIFT_SARIF_SCHEMA is not set")
        with tempfile.TemporaryDirectory() as tmp:
            done = subprocess.run([npm, "pack", PACKAGE, "--silent"], cwd=tmp, capture_output=True, text=True, timeout=600, check=False)
            if done.returncode != 0:
                pytest.skip(f"the published SARIF 2.1.0 schema is not at hand: npm pack failed: {done.stderr.strip()[-300:]}")
            archive = next(Path(tmp).glob("*.tgz"))
            with tarfile.open(archive) as tar:
                member = tar.extractfile("package/sarif-2.1.0.json")
                assert member is not None
                data = member.read()
        CACHE.parent.mkdir(parents=True, exist_ok=True)
        CACHE.write_bytes(data)
    return json.loads(CACHE.read_text(encoding="utf-8"))


def test_the_reference_fleets_sarif_log_is_valid_sarif_2_1_0(published_schema: dict, tmp_path: Path) -> None:
    shutil.copytree(ROOT / "manifests", tmp_path / "manifests")
    shutil.copytree(ROOT / "inventory", tmp_path / "inventory")
    old = os.getcwd()
    os.chdir(tmp_path)
    try:
        result = CliRunner().invoke(main, ["gate", "--sarif", "gate.sarif", "--db", "drift.db"])
    finally:
        os.chdir(old)
    assert result.exit_code == 1
    log = json.loads((tmp_path / "gate.sarif").read_text(encoding="utf-8"))
    assert published_schema["title"].startswith("Static Analysis Results Format (SARIF) Version 2.1.0")
    validator = jsonschema.Draft4Validator(published_schema, format_checker=jsonschema.FormatChecker())
    errors = sorted(validator.iter_errors(log), key=lambda e: list(e.path))
    assert errors == [], [f"{list(e.path)}: {e.message[:200]}" for e in errors[:5]]
    assert sum(len(run["results"]) for run in log["runs"]) > 0
