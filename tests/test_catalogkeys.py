"""The collector's reading of a catalog without YAML (`drift.collect.catalogkeys`): what it returns is what
the catalog loader reads, or it refuses; never a key missed in silence."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from drift.catalog import load_catalog
from drift.catalog.builder.writer import _quoted, _scalar
from drift.catalog.load import load_config_keys
from drift.collect.catalogkeys import catalog_archive_hashes, catalog_config_keys
from drift.errors import InputError

REPO = Path(__file__).resolve().parent.parent
SHA = "a" * 64

_names = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1, max_size=8).filter(str.strip)
_files = st.sampled_from(["conf/a.properties", "conf/b c.ini", "conf/x.yaml", "etc/app.conf"])
_checks = st.lists(st.tuples(_files, _names, _names), min_size=0, max_size=3)


def _fix(variants: list[list[tuple[str, str, str]]]) -> dict[str, object]:
    doc: dict[str, object] = {"format": "drift-fix/1", "id": "F-1", "title": "t", "severity": "high", "variants": []}
    for n, checks in enumerate(variants):
        variant: dict[str, object] = {"line": "1.x", "files": [{"path": f"app/F{n}.java", "fixed": [f"sha256:{SHA}"], "unfixed": ["absent"]}]}
        if checks:
            variant["config"] = [{"file": f, "key": k, "expect": e} for f, k, e in checks]
        doc["variants"].append(variant)  # type: ignore[attr-defined]
    return doc


def _reads_what_the_loader_reads_or_refuses(catalog: Path) -> None:
    """The stdlib reader gives the catalog loader's config keys, or refuses naming the fix file's line."""
    truth = load_catalog(catalog).config_keys()
    try:
        got = catalog_config_keys(catalog)
    except InputError as exc:
        assert "F-1.yaml: line " in str(exc)
    else:
        assert got == truth


@settings(max_examples=150, deadline=None)
@given(
    variants=st.lists(_checks, min_size=1, max_size=3),
    flow=st.sampled_from([None, False]),
    indent=st.sampled_from([2, 4]),
    sort_keys=st.booleans(),
    drift_layout=st.booleans(),
)
def test_what_it_reads_is_what_the_loader_reads_or_it_refuses(
    tmp_path_factory: pytest.TempPathFactory, variants: list[list[tuple[str, str, str]]], flow: bool | None, indent: int,
    sort_keys: bool, drift_layout: bool,
) -> None:
    catalog = tmp_path_factory.mktemp("catalog")
    (catalog / "fixes").mkdir()
    (catalog / "catalog.yaml").write_text('format: drift-catalog/1\nproduct: p\nlines: ["1.x"]\n', encoding="utf-8")
    doc = _fix(variants)
    if drift_layout:  # as drift catalog build writes config checks: one flow mapping a line
        text = "format: drift-fix/1\nid: F-1\ntitle: t\nseverity: high\nvariants:\n"
        for n, checks in enumerate(variants):
            text += f'  - line: "1.x"\n    files:\n      - path: app/F{n}.java\n        fixed: ["sha256:{SHA}"]\n        unfixed: ["absent"]\n'
            if checks:
                text += "    config:\n" + "".join(f"      - {{file: {_scalar(f)}, key: {_quoted(k)}, expect: {_quoted(e)}}}\n" for f, k, e in checks)
    else:
        text = yaml.safe_dump(doc, default_flow_style=flow, indent=indent, sort_keys=sort_keys, allow_unicode=True)
    (catalog / "fixes" / "F-1.yaml").write_text(text, encoding="utf-8")
    _reads_what_the_loader_reads_or_refuses(catalog)


def test_the_reference_catalog_is_read_without_yaml() -> None:
    catalog = load_catalog(REPO / "manifests")
    assert catalog_config_keys(REPO / "manifests") == catalog.config_keys() != frozenset()
    archives = {f.sha256 for r in catalog.releases for f in r.files if f.content_sha256 is not None}
    assert catalog_archive_hashes(REPO / "manifests") == archives != frozenset()


_VARIANT = '  - line: "1.x"\n    files:\n      - path: app/F.java\n        fixed: ["sha256:' + SHA + '"]\n        unfixed: ["absent"]\n'


@pytest.mark.parametrize(
    "text",
    [
        # an explicit key
        "format: drift-fix/1\nid: F-1\ntitle: t\nseverity: high\nvariants:\n" + _VARIANT + "    ? config\n    : - {file: conf/a.properties, key: k, expect: v}\n",
        # a key spelled with escapes
        "format: drift-fix/1\nid: F-1\ntitle: t\nseverity: high\nvariants:\n" + _VARIANT + '    "con\\x66ig":\n      - {file: conf/a.properties, key: k, expect: v}\n',
        "format: drift-fix/1\nid: F-1\ntitle: t\nseverity: high\nvariants:\n" + _VARIANT + '    "\\u0063onfig": [{file: conf/a.properties, key: k, expect: v}]\n',
        # a "#" inside a quoted value before the key, on one flow line
        'format: drift-fix/1\nid: F-1\ntitle: t\nseverity: high\nvariants:\n  - {line: "1.x", fixed_in: "#1", files: [], config: [{file: conf/a.properties, key: k, expect: v}]}\n',
        # a flow mapping continued on a line that starts with "title"
        '{format: drift-fix/1, id: F-1, severity: high,\ntitle: "t", variants: [{line: "1.x", files: [], config: [{file: conf/a.properties, key: k, expect: v}]}]}\n',
        ('{"format": "drift-fix/1", "id": "F-1", "title": "t", "severity": "high", "variants": [{"line": "1.x", "files": [],\n'
        '  "config": [{"file": "conf/a.properties", "key": "#k", "expect": "v"}]}]}\n'),
    ],
)
def test_layouts_it_does_not_follow_are_refused_never_read_as_no_key(tmp_path: Path, text: str) -> None:
    (tmp_path / "fixes").mkdir()
    (tmp_path / "catalog.yaml").write_text('format: drift-catalog/1\nproduct: p\nlines: ["1.x"]\n', encoding="utf-8")
    (tmp_path / "fixes" / "F-1.yaml").write_text(text, encoding="utf-8")
    _reads_what_the_loader_reads_or_refuses(tmp_path)
    assert load_config_keys(tmp_path) == load_catalog(tmp_path).config_keys()


def test_a_key_with_a_lone_surrogate_is_refused_with_its_line(tmp_path: Path) -> None:
    (tmp_path / "fixes").mkdir()
    (tmp_path / "catalog.yaml").write_text('format: drift-catalog/1\nproduct: p\nlines: ["1.x"]\n', encoding="utf-8")
    (tmp_path / "fixes" / "F-1.yaml").write_text(
        "format: drift-fix/1\nid: F-1\ntitle: t\nseverity: high\nvariants:\n" + _VARIANT
        + '    config:\n      - {file: conf/a.properties, key: "\\udc80", expect: "x"}\n', encoding="utf-8")
    with pytest.raises(InputError, match=r"F-1.yaml: line 12: the key holds a lone surrogate"):
        catalog_config_keys(tmp_path)
