"""The Ansible example (`examples/ansible/collect.yml`) runs as shipped: three local "hosts" with real deploy trees of
the reference product, one with a stale jar, one without Python (a sha256sum listing through `raw`); the inventories
land in the auditor's `inventory/` folder under the tenants' names, and the play fails with its message while the
gate blocks and passes once every tenant is patched."""

from __future__ import annotations

import dataclasses
import datetime as dt
import importlib.util
import json
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from drift.tenants import check_tenant_id
from tests.builders import write_yaml

ROOT = Path(__file__).resolve().parents[1]
PLAYBOOK = ROOT / "examples" / "ansible" / "collect.yml"
SHIPPED_INVENTORY = ROOT / "examples" / "ansible" / "inventory.ini"
FLEET_SCRIPT = ROOT / "examples" / "make_reference_fleet.py"

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("ansible") is None,
    reason="ansible-core is not installed (pip install -e '.[test]' installs it)",
)

PATCHED, STALE, NO_PYTHON = "402206", "131211", "012068"  # 宗像市, 足立区, 釧路市
HOSTS = {PATCHED: "munakata", STALE: "adachi", NO_PYTHON: "kushiro"}
KIOSK_FIX = "KOFU-2019-0117"  # konbini; 足立区's stale lib/kofu-konbini.jar makes it partial
CONFIG_FIX = "KOFU-2023-0301"  # its config check cannot be judged from a sha256sum listing
BLOCKS = "The gate blocks (drift gate exit 1)"


def load_fleet_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_reference_fleet", FLEET_SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def fleet() -> tuple[ModuleType, Any]:
    """The reference fleet's script and its product (every release's files)."""
    script = load_fleet_script()
    return script, script.build_product()


def deploy(root: Path, files: dict[str, Any]) -> Path:
    """Write a deploy tree afresh: relative path → the script's Blob."""
    if root.exists():
        shutil.rmtree(root)
    for path, blob in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_bytes(blob.data)
    return root


def listing(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture
def site(tmp_path: Path, fleet: tuple[ModuleType, Any]) -> dict[str, Any]:
    """The auditor's folder (catalog, registry, policy), a deploy root per host, and the Ansible inventory."""
    script, product = fleet
    specs = {t.id: t for t in script.TENANTS}
    auditor = tmp_path / "auditor"
    shutil.copytree(ROOT / "manifests", auditor / "manifests")
    write_yaml(auditor / "inventory" / "tenants.yaml", [
        {"id": t.id, "name": t.name, "prefecture": t.prefecture, "edition": t.edition, "line": t.line, "modules": list(t.modules)}
        for t in (specs[code] for code in HOSTS)
    ])
    # The listing of the host without Python has no config values: waive the one check that needs them there.
    write_yaml(auditor / "drift-policy.yaml", {"waivers": [{
        "tenant": NO_PYTHON, "fix": CONFIG_FIX, "reason": "sha256sum listing: no config values are collected",
        "approved_by": "情報政策課", "expires": dt.date.today() + dt.timedelta(days=90),
    }]})
    trees = {
        PATCHED: script.inventory_files(product, dataclasses.replace(specs[PATCHED], release="8.2.2", konbini_from=None)),
        STALE: script.inventory_files(product, specs[STALE]),  # 8.2.2 with the konbini jar of 8.0.0
        NO_PYTHON: script.inventory_files(product, specs[NO_PYTHON]),  # 7.4.6
    }
    fixed_jar = script.inventory_files(product, dataclasses.replace(specs[STALE], konbini_jar_from=None))
    assert trees[STALE]["lib/kofu-konbini.jar"].sha256 != fixed_jar["lib/kofu-konbini.jar"].sha256
    roots = {code: deploy(tmp_path / "hosts" / HOSTS[code] / "kofu", files) for code, files in trees.items()}
    hosts: dict[str, dict[str, str | bool]] = {}
    for code, name in HOSTS.items():
        host: dict[str, str | bool] = {"ansible_connection": "local", "drift_tenant": code, "drift_root": str(roots[code])}
        if code == NO_PYTHON:  # no Python there: any module run on this host fails
            host |= {"drift_no_python": True, "ansible_python_interpreter": str(tmp_path / "no-such-python3")}
        else:
            host |= {"ansible_python_interpreter": sys.executable, "drift_python": sys.executable}
        hosts[name] = host
    hosts_file = tmp_path / "hosts.yml"
    hosts_file.write_text(json.dumps({"tenants": {"hosts": hosts}}, indent=1, ensure_ascii=False), encoding="utf-8")
    return {"tmp": tmp_path, "auditor": auditor, "roots": roots, "hosts_file": hosts_file, "fixed_jar": fixed_jar["lib/kofu-konbini.jar"]}


def ansible_env(tmp: Path) -> dict[str, str]:
    """An environment that keeps Ansible to folders of the test and ignores the machine's own settings."""
    for folder in ("temp", "ansible-home", "ansible-local", "ansible-remote"):
        (tmp / folder).mkdir(exist_ok=True)
    config = tmp / "ansible.cfg"
    config.write_text("[defaults]\n", encoding="utf-8")
    return {
        "PATH": os.environ.get("PATH", ""), "HOME": str(tmp), "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", "TMPDIR": str(tmp / "temp"),
        "ANSIBLE_CONFIG": str(config), "ANSIBLE_HOME": str(tmp / "ansible-home"),
        "ANSIBLE_LOCAL_TEMP": str(tmp / "ansible-local"), "ANSIBLE_REMOTE_TEMP": str(tmp / "ansible-remote"),
        "ANSIBLE_HOST_KEY_CHECKING": "False", "ANSIBLE_NOCOLOR": "1", "ANSIBLE_RETRY_FILES_ENABLED": "False",
        "ANSIBLE_PIPELINING": "True",
    }


def ansible(tool: str, *args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """`ansible-<tool> ARGS...`, run by this Python."""
    return subprocess.run([sys.executable, "-m", "ansible", tool, *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=300, check=False)


def test_the_shipped_inventory_names_a_valid_tenant_and_root_for_every_host(tmp_path: Path) -> None:
    env = ansible_env(tmp_path)
    listed = ansible("inventory", "-i", str(SHIPPED_INVENTORY), "--list", cwd=tmp_path, env=env)
    assert listed.returncode == 0, listed.stderr
    found = json.loads(listed.stdout)
    hostvars = found["_meta"]["hostvars"]
    assert len(found["tenants"]["hosts"]) == 3
    for host in found["tenants"]["hosts"]:
        tenant = str(hostvars[host]["drift_tenant"])
        assert check_tenant_id(tenant, source=SHIPPED_INVENTORY, where=host) == tenant
        assert hostvars[host]["drift_root"].startswith("/")
    assert any(str(v.get("drift_no_python")).lower() == "true" for v in hostvars.values())
    checked = ansible("playbook", "--syntax-check", "-i", str(SHIPPED_INVENTORY), str(PLAYBOOK), cwd=tmp_path, env=env)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def play(site: dict[str, Any]) -> subprocess.CompletedProcess[str]:
    """`ansible-playbook -i hosts.yml collect.yml` from the auditor's folder, kept to folders of the test."""
    tmp: Path = site["tmp"]
    env = ansible_env(tmp)
    extra = tmp / "vars.json"
    extra.write_text(json.dumps({"drift_command": shlex.join([sys.executable, "-m", "drift"])}), encoding="utf-8")
    done = ansible("playbook", "-i", str(site["hosts_file"]), str(PLAYBOOK), "-e", f"@{extra}", cwd=site["auditor"], env=env)
    temp = tmp / "temp"
    assert list(temp.iterdir()) == [], "the play left temporary files behind"
    return done


def scan_document(auditor: Path) -> dict[str, Any]:
    """`drift scan --format json` in the auditor's folder."""
    done = subprocess.run([sys.executable, "-m", "drift", "scan", "--format", "json"], cwd=auditor, capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    document: dict[str, Any] = json.loads(done.stdout)
    return document


def statuses(document: dict[str, Any]) -> dict[str, dict[str, str]]:
    """Tenant → fix → status."""
    return {t["id"]: {f["fix"]: f["status"] for f in t["findings"]} for t in document["tenants"]}


def drift_script() -> str:
    """The installed `drift` command (the hosts here are this machine)."""
    found = shutil.which("drift") or str(Path(sys.executable).parent / "drift")
    assert Path(found).exists(), "drift is not installed: pip install -e '.[test]'"
    return found


def test_the_play_collects_every_host_and_fails_while_the_gate_blocks(site: dict[str, Any]) -> None:
    before = {code: listing(root) for code, root in site["roots"].items()}
    done = play(site)
    output = done.stdout + done.stderr
    assert done.returncode != 0, output
    assert BLOCKS in output, output
    assert "BLOCKED: 1 of 3 tenants blocks" in output, output
    inventory = site["auditor"] / "inventory"
    assert sorted(p.name for p in inventory.iterdir()) == ["012068.sha256", "131211.json", "402206.json", "tenants.yaml"]
    assert {code: listing(root) for code, root in site["roots"].items()} == before, "the play changed a deploy root"

    found = statuses(scan_document(site["auditor"]))
    assert found[STALE][KIOSK_FIX] == "partial"
    assert set(found[PATCHED].values()) <= {"applied", "not-applicable"}
    assert found[PATCHED][KIOSK_FIX] == "applied"
    assert found[NO_PYTHON][KIOSK_FIX] == "not-applicable"  # no konbini module
    assert found[NO_PYTHON][CONFIG_FIX] == "unverifiable"
    assert {s for fix, s in found[NO_PYTHON].items() if fix != CONFIG_FIX} <= {"applied", "not-applicable"}
    assert "applied" in found[NO_PYTHON].values()

    # 足立区 deploys the fixed jar and collects with drift installed on its host; 宗像市 signs with the one-file collector:
    # the next run collects afresh and passes.
    (site["roots"][STALE] / "lib" / "kofu-konbini.jar").write_bytes(site["fixed_jar"].data)
    first = (inventory / f"{STALE}.json").read_bytes()
    key = site["tmp"] / "hosts" / HOSTS[PATCHED] / "inventory-key"
    generated = subprocess.run([sys.executable, "-m", "drift", "key", "generate", "--out", str(key)], capture_output=True, text=True,
                               timeout=60, check=False)
    assert generated.returncode == 0, generated.stderr
    write_yaml(inventory / "trust.yaml", {"keys": [{
        "id": "munakata", "public_key": key.with_name(key.name + ".pub").read_text(encoding="utf-8").strip(),
        "signs": "inventory", "tenants": [PATCHED],
    }]})
    hosts = json.loads(site["hosts_file"].read_text(encoding="utf-8"))
    hosts["tenants"]["hosts"][HOSTS[PATCHED]] |= {"drift_sign_key": str(key)}
    hosts["tenants"]["hosts"][HOSTS[STALE]] |= {"drift_host_command": drift_script()}
    site["hosts_file"].write_text(json.dumps(hosts), encoding="utf-8")
    done = play(site)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert BLOCKS not in output
    assert sorted(p.name for p in inventory.iterdir()) == [
        "012068.sha256", "131211.json", "402206.json", "402206.json.sig", "tenants.yaml", "trust.yaml"]
    assert (inventory / f"{STALE}.json").read_bytes() != first
    document = scan_document(site["auditor"])
    assert statuses(document)[STALE][KIOSK_FIX] == "applied"
    signed = {t["id"]: t.get("signed_by") for t in document["tenants"]}
    assert signed[PATCHED] is not None and signed[STALE] is None, signed
