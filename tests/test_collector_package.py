"""The collector is one package that needs nothing but the standard library and the files the bundle carries.

Each check imports it in a fresh `python3 -I -S` (no site-packages, no user paths, no PYTHONPATH) whose
`sys.path` holds only the bundle's files, staged into a temporary folder, so that an import of click, PyYAML,
cryptography or any module of drift the bundle does not carry fails here, not on a tenant's server.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from drift.cli.bundle import BUNDLED, STUBS, stage

ALLOWED_DRIFT = {"drift"} | {f"drift.{rel.removesuffix('.py').removesuffix('/__init__').replace('/', '.')}" for rel in (*BUNDLED, *STUBS) if rel != "__init__.py"}

PROBE = """
import json, sys
sys.path[:] = [sys.argv[1]] + [p for p in sys.path if p.startswith(sys.base_prefix) and "site-packages" not in p]
before = set(sys.modules)
import drift.collect
import drift.collect.main
import drift.collect.catalogkeys
import drift.collect.sign
drift.collect.sign._pure().publickey_unsafe(bytes(32))  # the carried pure-Python Ed25519
print(json.dumps(sorted(set(sys.modules) - before)))
"""


@pytest.fixture(scope="module")
def staged(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("bundle")
    stage(folder)
    return folder


def test_the_collector_imports_only_the_standard_library_and_what_the_bundle_carries(staged: Path) -> None:
    done = subprocess.run([sys.executable, "-I", "-S", "-c", PROBE, str(staged)], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    imported = json.loads(done.stdout)
    ours = {m for m in imported if m == "drift" or m.startswith("drift.")}
    collector = {m for m in ours if m == "drift.collect" or m.startswith("drift.collect.")}
    assert ours - collector <= ALLOWED_DRIFT, sorted(ours - collector - ALLOWED_DRIFT)
    others = {m.split(".")[0] for m in imported} - {"drift", "__mp_main__"}  # multiprocessing's alias of __main__
    assert others <= set(sys.stdlib_module_names) | {"_distutils_hack"}, sorted(others - set(sys.stdlib_module_names))
    assert not others & {"yaml", "click", "cryptography", "securesystemslib"}
    # Every module came from the staged folder, none from the installed drift.
    where = subprocess.run(
        [sys.executable, "-I", "-S", "-c", PROBE.replace("print(json.dumps(sorted(set(sys.modules) - before)))",
                                                          "print(json.dumps(sorted(m.__file__ for n, m in sys.modules.items() if n.startswith('drift'))))"),
         str(staged)],
        capture_output=True, text=True, check=True,
    )
    assert all(path.startswith(str(staged)) for path in json.loads(where.stdout))


def test_the_collector_package_holds_the_moved_modules() -> None:
    import drift.collect
    import drift.collect.archive
    import drift.collect.configfile
    import drift.collect.hashcache
    import drift.collect.run
    import drift.collect.walk

    assert drift.collect.collect is drift.collect.run.collect
    assert drift.collect.archive.ALGORITHM == "drift-content/1"
    root = Path(drift.collect.__file__).parent.parent
    for gone in ("collect.py", "walk.py", "hashcache.py", "configfile.py", "archive"):
        assert not (root / gone).exists(), gone


# `dataclass(slots=True)` (3.10+) is left to the bundle's `__main__`, which makes it a plain dataclass on 3.9.
_NEWER = [
    (re.compile(r"kw_only\s*="), "kw_only is 3.10+"),
    (re.compile(r"strict\s*=\s*True\)"), "zip(strict=) is 3.10+"),
    (re.compile(r"^\s*match\s+\S.*:\s*$", re.MULTILINE), "match is 3.10+"),
    (re.compile(r"\bdt\.UTC\b|datetime\.UTC\b"), "datetime.UTC is 3.11+"),
    (re.compile(r"^from typing import .*\bSelf\b", re.MULTILINE), "typing.Self is 3.11+ (import it under TYPE_CHECKING)"),
    (re.compile(r"\bExceptionGroup\b|\bexcept\*"), "exception groups are 3.11+"),
    (re.compile(r"^import tomllib|^from tomllib", re.MULTILINE), "tomllib is 3.11+"),
]


def test_the_collector_package_uses_nothing_newer_than_python_3_9() -> None:
    """A textual check of `drift/collect/` (the modules of this package), for where no Python 3.9 is at hand;
    `tests/test_bundle.py` runs the bundle with Python 3.9 itself when one is installed. The carried modules
    of drift outside the package are covered by that run (and `dataclass(slots=True)` there by the bundle's
    `__main__`)."""
    import drift.collect

    found = []
    for path in sorted(Path(drift.collect.__file__).parent.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        found += [f"{path.name}: {why}" for pattern, why in _NEWER if pattern.search(text)]
        # `X | Y` in annotations is fine under `from __future__ import annotations`: every module has it.
        assert "from __future__ import annotations" in text or not text.strip() or path.name == "__init__.py", path
    assert found == []
