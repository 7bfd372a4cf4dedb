"""The fast path for release manifests gives exactly what the YAML parser gives, or steps aside."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from drift.catalog import fastrelease, load
from drift.catalog.fastrelease import parse_release

ROOT = Path(__file__).resolve().parents[1]
RELEASES = sorted((ROOT / "manifests" / "releases").glob("*/*.yaml"))
HEX = "a" * 64


def as_yaml(rows):
    return [{"path": p, "kind": k, "sha256": h, **({"content_sha256": c} if c else {})} for p, k, h, c in rows]


@pytest.mark.parametrize("path", RELEASES[:4], ids=lambda p: p.name)
def test_reference_manifests_parse_as_yaml_does(path):
    text = path.read_text(encoding="utf-8")
    parsed = parse_release(text)
    assert parsed is not None
    header, rows = parsed
    assert {**header, "files": as_yaml(rows)} == yaml.safe_load(text)


def test_whole_catalog_loads_the_same_without_the_fast_path(monkeypatch):
    fast = load.load_catalog(ROOT / "manifests")
    monkeypatch.setattr(load, "parse_release", lambda text, seen=None: None)
    assert load.load_catalog(ROOT / "manifests") == fast


@pytest.mark.parametrize(
    "line",
    [
        f'  - {{path: 1.0, kind: source, sha256: "{HEX}"}}',  # YAML reads 1.0 as a number
        f'  - {{path: a.txt, kind: yes, sha256: "{HEX}"}}',  # and yes as a boolean
        f'  - {{path: a/b.java, kind: source, sha256: "{HEX}"}}  # a comment',
        f'  - {{kind: source, path: a/b.java, sha256: "{HEX}"}}',
        f"  - {{path: a/b.java, kind: source, sha256: {HEX}}}",
        f'  - {{path: "a/b.java", kind: source, sha256: "{HEX}"}}',
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
    assert first[1] == third[1] == [("a/x.java", "source", HEX, "")] and first[1][0] is third[1][0]
