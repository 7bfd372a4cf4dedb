"""A small product with two lines, releases and fixes, written as a real catalog folder.

Each file's bytes depend on which fixes it carries, so a release's files are exactly what its fixes make
them: the ground truth that verdicts are checked against.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from tests.builders import make_jar, tok, write_yaml

LINES = ("1.x", "2.x")
RELEASES = {"1.x": ("1.0", "1.1", "1.2", "1.3"), "2.x": ("2.0", "2.1", "2.2")}
BASE_FILES = ("app/Main.java", "app/print/Job.java", "app/konbini/Kiosk.java", "lib/core.jar", "conf/app.properties")


@dataclass(frozen=True)
class DemoFix:
    id: str
    severity: str
    files: tuple[str, ...]
    landings: dict[str, str]  # line -> first release that ships it
    modules: tuple[str, ...] | None = None
    editions: tuple[str, ...] | None = None
    config: tuple[tuple[str, str, str], ...] = ()
    adds: tuple[str, ...] = ()  # files the fix adds (absent before)


FIXES = (
    DemoFix("DEMO-0001", "critical", ("app/print/Job.java",), {"1.x": "1.1", "2.x": "2.0"}),
    DemoFix("DEMO-0002", "high", ("app/print/Job.java", "lib/core.jar"), {"1.x": "1.2", "2.x": "2.1"}),
    DemoFix("DEMO-0003", "medium", ("app/konbini/Kiosk.java",), {"1.x": "1.3", "2.x": "2.1"}, modules=("konbini",)),
    DemoFix(
        "DEMO-0004", "high", ("app/print/Lock.java",), {"2.x": "2.2"},
        config=(("conf/app.properties", "print.lock", "exclusive"),), adds=("app/print/Lock.java",),
    ),
    DemoFix("DEMO-0005", "low", ("app/Main.java",), {"1.x": "1.3"}, editions=("seirei",)),
)


def _order(line: str, version: str) -> int:
    return RELEASES[line].index(version)


def carried(line: str, version: str) -> tuple[DemoFix, ...]:
    """The fixes release `version` of `line` carries."""
    return tuple(f for f in FIXES if line in f.landings and _order(line, f.landings[line]) <= _order(line, version))


def file_bytes(path: str, line: str, version: str) -> bytes | None:
    """The bytes of `path` at a release (None when the release does not have it)."""
    fixes = [f.id for f in carried(line, version) if path in f.files]
    if any(path in f.adds for f in FIXES) and not fixes:
        return None
    if path == "conf/app.properties":
        lock = "exclusive" if any(f.config for f in carried(line, version)) else "shared"
        return f"app.name=demo\nprint.lock={lock}\n".encode()
    if path.endswith(".jar"):
        return make_jar({"demo/Core.class": ("core " + " ".join(fixes)).encode()})
    return (f"// {path}\nclass X {{}} // fixes: {' '.join(fixes)} line-family: {'1' if not fixes else ''}\n").encode()


def release_files(line: str, version: str) -> dict[str, bytes]:
    """Every file of a release."""
    paths = set(BASE_FILES) | {p for f in FIXES for p in f.adds}
    return {p: b for p in sorted(paths) if (b := file_bytes(p, line, version)) is not None}


@dataclass
class Demo:
    root: Path
    catalog: Path = field(init=False)

    def __post_init__(self) -> None:
        self.catalog = self.root / "manifests"


def write_catalog(root: Path) -> Path:
    """Write the demo catalog under `root/manifests`; return that folder."""
    folder = root / "manifests"
    write_yaml(folder / "catalog.yaml", {"format": "drift-catalog/1", "product": "demo", "lines": list(LINES), "forked_from": {"2.x": "1.x"}})
    for line, versions in RELEASES.items():
        for version in versions:
            files = []
            for path, data in release_files(line, version).items():
                entry = {"path": path, "kind": "binary" if path.endswith(".jar") else "source", "sha256": tok(data)[7:]}
                if path.endswith(".jar"):
                    entry["content_sha256"] = tok(data, content=True)[len("content-sha256:"):]
                files.append(entry)
            write_yaml(folder / "releases" / line / f"{version}.yaml", {"format": "drift-release/1", "line": line, "version": version, "date": "2020-01-01", "files": files})
    for fix in FIXES:
        doc: dict = {"format": "drift-fix/1", "id": fix.id, "title": f"Demo defect {fix.id}", "severity": fix.severity, "published": "2020-02-01"}
        applies: dict = {}
        if fix.modules:
            applies["modules"] = list(fix.modules)
        if fix.editions:
            applies["editions"] = list(fix.editions)
        if applies:
            doc["applies_to"] = applies
        doc["variants"] = [_variant(fix, line) for line in LINES if line in fix.landings]
        write_yaml(folder / "fixes" / f"{fix.id}.yaml", doc)
    return folder


def _variant(fix: DemoFix, line: str) -> dict:
    entries = []
    for path in fix.files:
        fixed: list[str] = []
        unfixed: list[str] = []
        for version in RELEASES[line]:
            target = fixed if fix in carried(line, version) else unfixed
            data = file_bytes(path, line, version)
            tokens = ["absent"] if data is None else [tok(data)] + ([tok(data, content=True)] if path.endswith(".jar") else [])
            target.extend(t for t in tokens if t not in target)
        entries.append({"path": path, "fixed": fixed, "unfixed": [t for t in unfixed if t not in fixed]})
    variant: dict = {"line": line, "fixed_in": fix.landings[line], "files": entries}
    if fix.config:
        variant["config"] = [{"file": f, "key": k, "expect": v} for f, k, v in fix.config]
    return variant


def release_config(files: dict[str, bytes]) -> dict[tuple[str, str], str | None]:
    """The config values a collector would capture from these files for the demo's config checks."""
    from drift.collect.configfile import parse_properties

    values: dict[tuple[str, str], str | None] = {}
    for fix in FIXES:
        for path, key, _ in fix.config:
            if path in files:
                values[(path, key)] = parse_properties(files[path].decode()).get(key)
    return values


def write_release_inventory(folder: Path, tenant: str, line: str, version: str, **changes: bytes | None) -> Path:
    """An inventory of a tenant running exactly a release, with `changes` (path → bytes, None removes)."""
    from tests.builders import write_inventory

    files = release_files(line, version)
    for path, data in changes.items():
        path = path.replace("__", "/").replace("_dot_", ".")
        if data is None:
            files.pop(path, None)
        else:
            files[path] = data
    return write_inventory(folder, tenant, files, config=release_config(files))


def tenant_row(tid: str, line: str, *, edition: str = "seirei", modules: tuple[str, ...] = ("konbini",), name: str = "") -> dict:
    """A registry row."""
    return {"id": tid, "name": name or f"tenant {tid}", "prefecture": "福岡県", "edition": edition, "line": line, "modules": list(modules)}


def demo_site(root: Path, tenant: str = "402206", version: str = "2.2") -> Path:
    """In `root` (which holds the demo catalog, `manifests/`): a registry of one konbini tenant on line 2.x, and
    `tree/`, release `version` of 2.x deployed as it was released. Returns `root`."""
    write_yaml(root / "inventory" / "tenants.yaml", [
        {"id": tenant, "name": "宗像市", "prefecture": "福岡県", "edition": "seirei", "line": "2.x", "modules": ["konbini"]},
    ])
    for path, data in release_files("2.x", version).items():
        (root / "tree" / path).parent.mkdir(parents=True, exist_ok=True)
        (root / "tree" / path).write_bytes(data)
    return root
