"""The fast path for release manifests gives exactly what the YAML parser gives, or steps aside."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from drift.catalog import fastrelease, load
from drift.catalog.fastrelease import parse_release
from drift.catalog.model import Catalog
from drift.errors import CatalogError

ROOT = Path(__file__).resolve().parents[1]
RELEASES = sorted((ROOT / "manifests" / "releases").glob("*/*.yaml"))
HEX = "a" * 64


def as_yaml(rows):
    return [
        {"path": p, "kind": k, "sha256": h, **({"content_sha256": c} if c else {}), **({"module": m} if m else {})}
        for p, k, h, c, m in rows
    ]


@pytest.mark.parametrize("path", RELEASES[:4], ids=lambda p: p.name)
def test_reference_manifests_parse_as_yaml_does(path):
    text = path.read_text(encoding="utf-8")
    parsed = parse_release(text)
    assert parsed is not None
    header, rows = parsed
    assert {**header, "files": as_yaml(rows)} == yaml.safe_load(text)


def test_whole_catalog_loads_the_same_without_the_fast_path(monkeypatch):
    fast = load.load_catalog(ROOT / "manifests")
    assert {f.module for r in fast.releases for f in r.files} > {None}, "the reference manifests name modules"
    monkeypatch.setattr(load, "parse_release", lambda text, seen=None: None)
    assert load.load_catalog(ROOT / "manifests") == fast


def write_release(root: Path, *lines: str) -> Path:
    """A catalog of one release whose files are `lines` (each an entry of the canonical layout, or not)."""
    (root / "releases" / "1.x").mkdir(parents=True)
    (root / "catalog.yaml").write_text('format: drift-catalog/1\nproduct: p\nlines: ["1.x"]\n', encoding="utf-8")
    text = 'format: drift-release/1\nline: "1.x"\nversion: "1.0"\nfiles:\n' + "".join(f"{line}\n" for line in lines)
    (root / "releases" / "1.x" / "1.0.yaml").write_text(text, encoding="utf-8")
    return root


def both_ways(root: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Catalog | str, Catalog | str]:
    """What loading gives (the catalog or the error's message) with the fast path, then without it."""
    outcomes: list[Catalog | str] = []
    for fast in (True, False):
        if not fast:
            monkeypatch.setattr(load, "parse_release", lambda text, seen=None: None)
        try:
            outcomes.append(load.load_catalog(root))
        except CatalogError as exc:
            outcomes.append(str(exc))
    return outcomes[0], outcomes[1]


def test_modules_load_the_same_through_the_fast_path_and_the_yaml_parser(tmp_path, monkeypatch):
    lines = (
        f'  - {{path: app/konbini/Kiosk.java, kind: source, sha256: "{HEX}", module: konbini}}',
        f'  - {{path: app/core/Main.java, kind: source, sha256: "{HEX}"}}',
        f'  - {{path: lib/kofu-konbini.jar, kind: binary, sha256: "{HEX}", content_sha256: "{"b" * 64}", module: konbini}}',
        f'  - {{path: conf/renkei.properties, kind: config, sha256: "{HEX}", module: renkei.v2}}',
    )
    root = write_release(tmp_path / "manifests", *lines)
    parsed = parse_release((root / "releases" / "1.x" / "1.0.yaml").read_text(encoding="utf-8"))
    assert parsed is not None, "the canonical layout with modules takes the fast path"
    assert [row[4] for row in parsed[1]] == ["konbini", "", "konbini", "renkei.v2"]
    fast, slow = both_ways(root, monkeypatch)
    assert fast == slow and isinstance(fast, Catalog)
    assert [(f.path, f.module) for f in fast.releases[0].files] == [
        ("app/konbini/Kiosk.java", "konbini"), ("app/core/Main.java", None), ("lib/kofu-konbini.jar", "konbini"),
        ("conf/renkei.properties", "renkei.v2"),
    ]


@pytest.mark.parametrize(
    ("module", "problem"),
    [
        ("yes", "not True"),  # YAML reads it as a boolean
        ("1.5", "not 1.5"),  # and this as a number
        ("null", "not None"),
        ("x" * 65, "1 to 64 characters"),  # the pattern takes at most 64
        ('"kon bini"', "whitespace"),
        ('"a;b"', "one of , ; |"),
        ('""', "1 to 64 characters"),
    ],
)
def test_a_malformed_module_is_refused_the_same_both_ways(tmp_path, monkeypatch, module, problem):
    root = write_release(
        tmp_path / "manifests",
        f'  - {{path: app/core/Main.java, kind: source, sha256: "{HEX}"}}',
        f'  - {{path: app/konbini/Kiosk.java, kind: source, sha256: "{HEX}", module: {module}}}',
    )
    fast, slow = both_ways(root, monkeypatch)
    assert fast == slow
    assert isinstance(fast, str) and fast.startswith(f"{root / 'releases' / '1.x' / '1.0.yaml'}: files[1].module: ") and problem in fast


@pytest.mark.parametrize(
    "line",
    [
        f'  - {{path: 1.0, kind: source, sha256: "{HEX}"}}',  # YAML reads 1.0 as a number
        f'  - {{path: a.txt, kind: yes, sha256: "{HEX}"}}',  # and yes as a boolean
        f'  - {{path: a/b.java, kind: source, sha256: "{HEX}"}}  # a comment',
        f'  - {{kind: source, path: a/b.java, sha256: "{HEX}"}}',
        f"  - {{path: a/b.java, kind: source, sha256: {HEX}}}",
        f'  - {{path: "a/b.java", kind: source, sha256: "{HEX}"}}',
        f'  - {{path: a/b.java, kind: source, sha256: "{HEX}", module: "konbini"}}',  # a quoted module
        f'  - {{path: a/b.java, kind: source, sha256: "{HEX}", module: yes}}',  # a module YAML reads as a boolean
        f'  - {{path: a/b.java, kind: source, sha256: "{HEX}", module: 1.5}}',  # or as a number
        f'  - {{path: a/b.java, kind: source, sha256: "{HEX}", module: {"x" * 65}}}',  # longer than a module may be
        f'  - {{path: a/b.jar, kind: binary, sha256: "{HEX}", module: konbini, content_sha256: "{HEX}"}}',  # other key order
        f'  - {{path: a/b.java, kind: source, sha256: "{HEX}", module: konbini, owner: x}}',  # an unknown key
    ],
)
def test_anything_else_goes_to_the_yaml_parser(line):
    text = f'format: drift-release/1\nline: "1.x"\nversion: "1.0"\nfiles:\n  - {{path: a/x.java, kind: source, sha256: "{HEX}"}}\n{line}\n'
    assert parse_release(text) is None


def test_a_manifest_without_a_final_newline_goes_to_the_yaml_parser():
    text = f'format: drift-release/1\nfiles:\n  - {{path: a/x.java, kind: source, sha256: "{HEX}"}}'
    assert parse_release(text) is None


def test_words_yaml_reads_as_other_types_are_recognised():
    assert fastrelease.plain_string("source") and not fastrelease.plain_string("null")


def test_lines_seen_in_another_manifest_give_the_same_rows():
    seen: dict = {}
    entry = f'  - {{path: a/x.java, kind: source, sha256: "{HEX}"}}\n'
    first = parse_release(f"format: drift-release/1\nfiles:\n{entry}", seen)
    second = parse_release(f"format: drift-release/1\nfiles:\n{entry}  - {{path: 1.0, kind: source, sha256: \"{HEX}\"}}\n", seen)
    third = parse_release(f"format: drift-release/1\nfiles:\n{entry}", seen)
    assert first is not None and third is not None and second is None
    assert first[1] == third[1] == [("a/x.java", "source", HEX, "", "")] and first[1][0] is third[1][0]
