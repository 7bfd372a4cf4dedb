"""`drift bundle collector`: one file that a plain python3 runs, writing what `drift collect` writes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from drift.catalog import load_catalog
from drift.cli import main
from drift.collect.catalogkeys import catalog_config_keys, read_config_keys
from drift.errors import DriftError, InputError
from drift.inventory.tenantid import tenant_option
from drift.tenants import check_tenant_id as registry_check_tenant_id
from tests.builders import make_jar

REPO = Path(__file__).resolve().parent.parent
CATALOG = REPO / "manifests"
PYTHON39 = next((p for p in ("/usr/bin/python3.9", "/root/.pyenv/versions/3.9.18/bin/python3.9") if os.access(p, os.X_OK)), None)


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("bundle") / "drift-collect.pyz"
    result = CliRunner().invoke(main, ["bundle", "collector", "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "deploy"
    (root / "lib").mkdir(parents=True)
    (root / "conf").mkdir()
    (root / "logs").mkdir()
    (root / "lib" / "kofu-print.jar").write_bytes(make_jar({"a/B.class": b"b" * 300}))
    (root / "lib" / "kofu-core.jar").write_bytes(make_jar({"c/D.class": b"d"}, year=2021))
    (root / "lib" / "nested.war").write_bytes(make_jar({"WEB-INF/lib/x.jar": make_jar({"x/X.class": b"x"})}))
    (root / "lib" / "broken.zip").write_bytes(b"PK\x03\x04 not really")
    (root / "conf" / "print.properties").write_text("print.lock.mode = strict\n", encoding="utf-8")
    (root / "logs" / "today.log").write_text("noise\n", encoding="utf-8")
    (root / "README").write_text("readme\n", encoding="utf-8")
    (root / "readme").write_text("another file: names differ only in case\n", encoding="utf-8")
    (root / "back\\slash.txt").write_text("a backslash in a name\n", encoding="utf-8")
    (root / os.fsdecode(b"bad-\xff.txt")).write_text("not UTF-8\n", encoding="utf-8")
    (root / "lib" / "current.jar").symlink_to("kofu-print.jar")
    (root / "escape").symlink_to("/etc/passwd")
    os.mkfifo(root / "pipe")
    return root


def _strip(text: str) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(text)
    for volatile in ("collected_at", "digest"):
        doc.pop(volatile)
    return doc


def _drift_collect(root: Path, out: Path, *extra: str) -> dict[str, Any]:
    result = CliRunner().invoke(main, ["collect", str(root), "--tenant", "402206", "--out", str(out), *extra])
    assert result.exit_code == 0, result.output
    return _strip(out.read_text(encoding="utf-8"))


def _run(bundle: Path, *args: str, python: str = sys.executable, pre: str = "") -> subprocess.CompletedProcess[str]:
    if pre:  # run the bundle as `python3 bundle.pyz` does, after `pre`
        code = f"import runpy, sys\n{pre}\nsys.argv = sys.argv[1:]\nrunpy.run_path(sys.argv[0], run_name='__main__')"
        cmd = [python, "-I", "-S", "-c", code, str(bundle), *args]
    else:
        cmd = [python, "-I", "-S", str(bundle), *args]
    return subprocess.run(cmd, capture_output=True, text=True, check=False, env={"PATH": os.environ.get("PATH", "")})


def test_the_bundle_writes_what_drift_collect_writes(bundle: Path, tree: Path, tmp_path: Path) -> None:
    expected = _drift_collect(tree, tmp_path / "drift.json", "--catalog", str(CATALOG), "--exclude", "logs")
    done = _run(bundle, str(tree), "--tenant", "402206", "--out", str(tmp_path / "X.json"), "--catalog", str(CATALOG), "--exclude", "logs")
    assert done.returncode == 0, done.stderr
    got = _strip((tmp_path / "X.json").read_text(encoding="utf-8"))
    assert got == expected
    for member in ("files", "unreadable", "links", "skipped", "excluded", "config", "content_errors"):
        assert got[member] == expected[member], member
    paths = {f["path"] for f in got["files"]}
    assert {"README", "readme", "lib/kofu-print.jar", "lib/nested.war"} <= paths
    assert all("content_sha256" in f for f in got["files"] if f["path"].endswith((".jar", ".war")))
    assert {u["path"] for u in got["unreadable"]} == {"back%5Cslash.txt", "bad-%FF.txt"}
    assert {c["key"]: c["value"] for c in got["config"]}["print.lock.mode"] == "strict"
    assert got["excluded"] == ["logs"]
    assert got["collector"] == expected["collector"]
    assert done.stderr.startswith(f"{tmp_path / 'X.json'}: 7 files, 2 unreadable, 2 links, 1 skipped")


@pytest.mark.skipif(PYTHON39 is None, reason="no Python 3.9 installed: test_collector_package.py greps for 3.10+ constructs instead")
def test_the_bundle_runs_on_python_3_9(bundle: Path, tree: Path, tmp_path: Path) -> None:
    assert PYTHON39 is not None
    expected = _drift_collect(tree, tmp_path / "drift.json", "--catalog", str(CATALOG), "--jobs", "2")
    done = _run(bundle, str(tree), "--tenant", "402206", "--out", str(tmp_path / "X.json"), "--catalog", str(CATALOG), "--jobs", "2",
                python=PYTHON39)
    assert done.returncode == 0, done.stderr
    assert _strip((tmp_path / "X.json").read_text(encoding="utf-8")) == expected


@pytest.mark.parametrize(
    "pre",
    [
        "import os\ndel os.fork",  # a platform whose os module has no fork
        # Windows: no fork start method (and a fork now fails loudly, so the collection would too)
        (
            "import multiprocessing, os\nmultiprocessing.get_all_start_methods = lambda: ['spawn']\n"
            "def no_fork(): raise OSError('fork used')\nos.fork = no_fork"
        ),
    ],
)
def test_without_fork_archives_are_hashed_by_threads(bundle: Path, tree: Path, tmp_path: Path, pre: str) -> None:
    expected = _drift_collect(tree, tmp_path / "drift.json", "--jobs", "2", "--catalog", str(CATALOG))
    done = _run(bundle, str(tree), "--tenant", "402206", "--out", str(tmp_path / "X.json"), "--jobs", "2",
               "--catalog", str(CATALOG), pre=pre)
    assert done.returncode == 0, done.stderr
    assert _strip((tmp_path / "X.json").read_text(encoding="utf-8")) == expected


WINDOWS = (  # what a Windows Python lacks that the collector could reach for: fork, fchmod (before 3.13), file owners, poll
    "import multiprocessing, os, select\nmultiprocessing.get_all_start_methods = lambda: ['spawn']\n"
    "del os.fork, os.fchmod, os.getuid, select.poll"
)


def test_on_a_windows_like_python_the_inventory_is_the_same_and_a_cache_is_never_used(bundle: Path, tree: Path, tmp_path: Path) -> None:
    expected = _drift_collect(tree, tmp_path / "drift.json", "--jobs", "2", "--catalog", str(CATALOG))
    for run in (1, 2):
        done = _run(bundle, str(tree), "--tenant", "402206", "--out", str(tmp_path / "X.json"), "--jobs", "2",
                    "--catalog", str(CATALOG), "--cache", str(tmp_path / "cache.json"), pre=WINDOWS)
        assert done.returncode == 0, done.stderr
        assert _strip((tmp_path / "X.json").read_text(encoding="utf-8")) == expected
    assert "cache discarded (this platform shows no file owners" in done.stderr and "cache: 0 reused" in done.stderr


def test_config_keys_file_gives_what_the_catalog_gives(bundle: Path, tree: Path, tmp_path: Path) -> None:
    keys = tmp_path / "keys.json"
    keys.write_text(json.dumps(sorted(load_catalog(CATALOG).config_keys())), encoding="utf-8")
    a = _run(bundle, str(tree), "--tenant", "402206", "--out", str(tmp_path / "a.json"), "--config-keys", str(keys))
    b = _run(bundle, str(tree), "--tenant", "402206", "--out", str(tmp_path / "b.json"), "--catalog", str(CATALOG))
    assert a.returncode == b.returncode == 0, a.stderr + b.stderr
    a_doc, b_doc = _strip((tmp_path / "a.json").read_text(encoding="utf-8")), _strip((tmp_path / "b.json").read_text(encoding="utf-8"))
    assert a_doc["config"] == b_doc["config"] != []
    assert [(f["path"], f["sha256"]) for f in a_doc["files"]] == [(f["path"], f["sha256"]) for f in b_doc["files"]]


def test_refusals_are_one_line_with_exit_2(bundle: Path, tree: Path, tmp_path: Path) -> None:
    out = str(tmp_path / "X.json")
    signed = _run(bundle, str(tree), "--tenant", "402206", "--out", out, "--sign", str(tmp_path / "no-key"))
    assert signed.returncode == 2
    assert signed.stderr.count("\n") == 1 and "no-key: --sign: cannot read the key" in signed.stderr
    bad = tmp_path / "cat"
    (bad / "fixes").mkdir(parents=True)
    (bad / "catalog.yaml").write_text("product: p\nlines: [\"1.x\"]\n", encoding="utf-8")
    (bad / "fixes" / "F-1.yaml").write_text("variants:\n  - line: \"1.x\"\n    config:\n      - file: a.properties\n        key: k\n", encoding="utf-8")
    refused = _run(bundle, str(tree), "--tenant", "402206", "--out", out, "--catalog", str(bad))
    assert refused.returncode == 2
    assert f"{bad / 'fixes' / 'F-1.yaml'}: line 4: " in refused.stderr and "--config-keys" in refused.stderr
    assert _run(bundle, str(tree), "--tenant", "402206", "--out", out, "--catalog", str(tmp_path)).returncode == 2
    assert _run(bundle, str(tree), "--tenant", "402207", "--out", out).returncode == 2
    assert _run(bundle, str(tree), "--tenant", "402206").returncode == 2  # --out is required
    assert not (tmp_path / "X.json").exists()


def test_the_catalog_parser_reads_what_the_catalog_loader_reads(tmp_path: Path) -> None:
    assert catalog_config_keys(CATALOG) == load_catalog(CATALOG).config_keys() != frozenset()
    fixes = tmp_path / "fixes"
    fixes.mkdir()
    (tmp_path / "catalog.yaml").write_text("product: p\n", encoding="utf-8")
    (fixes / "A.yaml").write_text(
        'title: "config: in a title"\nvariants:\n  - line: "1.x"\n    config: []\n  - line: "2.x"\n    config:\n'
        '      - {file: conf/a.ini, key: "s.k", expect: "1"}  # a comment\n'
        '      - {key: "\\u00e9", expect: "x", file: "conf/b c.properties"}\n',
        encoding="utf-8",
    )
    assert catalog_config_keys(tmp_path) == {("conf/a.ini", "s.k"), ("conf/b c.properties", "\u00e9")}
    for body, line in [
        ("variants:\n  - line: x\n    config: [{file: a, key: b, expect: c}]\n", 3),
        ("variants:\n  - line: x\n    config:\n      - {file: a, key: true, expect: c}\n", 4),
        ("variants:\n  - line: x\n    config:\n      - {file: a, key: 'b', expect: c}\n", 4),
        ("variants:\n  - line: x\n    config:\n      - {file: ../a, key: b, expect: c}\n", 4),
        ("variants:\n  - {line: x, config: [{file: a, key: b, expect: c}]}\n", 2),
    ]:
        (fixes / "A.yaml").write_text(body, encoding="utf-8")
        with pytest.raises(InputError) as caught:
            catalog_config_keys(tmp_path)
        assert f"A.yaml: line {line}" in str(caught.value)


def test_config_keys_file_is_checked(tmp_path: Path) -> None:
    keys = tmp_path / "keys.json"
    keys.write_text('[["conf/a.properties", "k"], ["/etc/passwd", "x"]]', encoding="utf-8")
    with pytest.raises(InputError, match=r"keys.json: \[1\]\[0\]"):
        read_config_keys(keys)
    keys.write_text('[["conf/a.properties", "k"]]', encoding="utf-8")
    assert read_config_keys(keys) == {("conf/a.properties", "k")}


@pytest.mark.parametrize("tenant", ["402206", "402207", "011002", "131211", "abc-1.x", "-x", "x" * 65, "４０２２０６", ""])
def test_the_bundles_tenant_check_is_the_registrys(tenant: str) -> None:
    def verdict(check: Any) -> str:
        try:
            return str(check())
        except DriftError:
            return "refused"

    assert verdict(lambda: tenant_option(tenant)) == verdict(lambda: registry_check_tenant_id(tenant, source="--tenant", where="ID"))


def test_run_without_isolation_it_warns_and_isolated_it_imports_nothing_planted(bundle: Path, tree: Path, tmp_path: Path) -> None:
    """Without `-I`, Python imports a `sitecustomize` on PYTHONPATH before the collector: one can make a file
    read as any bytes. Run isolated, nothing planted is imported; run without, the collector says so."""
    planted = tmp_path / "planted"
    planted.mkdir()
    (planted / "sitecustomize.py").write_text("import sys\nsys.stderr.write('PLANTED\\n')\n", encoding="utf-8")
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(planted)}
    args = [str(tree), "--tenant", "402206", "--out", str(tmp_path / "X.json")]
    loose = subprocess.run([sys.executable, str(bundle), *args], capture_output=True, text=True, check=False, env=env)
    assert loose.returncode == 0, loose.stderr
    assert "PLANTED" in loose.stderr and "warning: run it as python3 -I" in loose.stderr
    isolated = subprocess.run([sys.executable, "-I", str(bundle), *args], capture_output=True, text=True, check=False, env=env)
    assert isolated.returncode == 0, isolated.stderr
    assert "PLANTED" not in isolated.stderr and "python3 -I" not in isolated.stderr
