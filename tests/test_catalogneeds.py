"""With `--cache`, what a collection needs of the catalog is read once and then taken from the cache while
every file of the catalog folder keeps its stat; any change to the catalog reads it again."""

from __future__ import annotations

import functools
import json
import os
from pathlib import Path
from typing import Any

import pytest
import yaml

import drift.cli.collect
import drift.collect.hashcache
from drift.collect.catalogneeds import CatalogNeeds, folder_key
from drift.collect.hashcache import open_cache
from tests import cachefiles
from tests.builders import run_cli as run
from tests.demo import demo_site

TENANT = "402206"


@pytest.fixture
def site(demo_root: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    demo_site(demo_root)
    monkeypatch.setattr(drift.collect.hashcache, "RACY_MARGIN_NS", -60_000_000_000)  # files made just now count as settled
    return demo_root


def _collect(site: Path) -> dict[str, Any]:
    result = run(site, "collect", "tree", "--tenant", TENANT, "--out", "inv.json", "--cache", "cache.json")
    assert result.exit_code == 0, result.output
    return json.loads((site / "inv.json").read_text(encoding="utf-8"))


def _unread(monkeypatch: pytest.MonkeyPatch, marker: Path) -> None:
    """Have the catalog read (in whichever process) leave `marker`."""
    real = drift.cli.collect._collector_needs

    @functools.wraps(real)  # the same reader, as the cache knows it
    def reading(catalog: Path) -> Any:
        marker.touch()
        return real(catalog)

    monkeypatch.setattr(drift.cli.collect, "_collector_needs", reading)


def test_a_second_collection_takes_the_catalog_from_the_cache(site: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = _collect(site)
    assert first["config"], "the demo catalog checks a config key"
    marker = site / "read"
    _unread(monkeypatch, marker)
    second = _collect(site)
    assert not marker.exists(), "the catalog was read again"
    assert second["config"] == first["config"]


def test_a_config_check_added_to_the_catalog_is_read_at_once(site: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _collect(site)
    (site / "tree" / "conf" / "app.properties").write_text("print.lock=exclusive\nprint.spool=/var/spool\n", encoding="utf-8")
    fix = site / "manifests" / "fixes" / "DEMO-0004.yaml"
    doc = yaml.safe_load(fix.read_text(encoding="utf-8"))
    doc["variants"][0]["config"].append({"file": "conf/app.properties", "key": "print.spool", "expect": "/var/spool"})
    fix.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    inventory = _collect(site)
    assert {"file": "conf/app.properties", "key": "print.spool", "value": "/var/spool"} in inventory["config"]


@pytest.mark.parametrize("change", ["added", "removed", "renamed", "touched"])
def test_any_change_to_the_catalog_folder_reads_it_again(site: Path, monkeypatch: pytest.MonkeyPatch, change: str) -> None:
    _collect(site)
    catalog = site / "manifests"
    release = next((catalog / "releases").rglob("*.yaml"))
    if change == "added":
        (catalog / "notes.txt").write_text("x\n", encoding="utf-8")
    elif change == "removed":
        release.unlink()
    elif change == "renamed":
        release.rename(release.with_name("9.9.yaml"))
    else:
        os.utime(release, (0, release.stat().st_mtime))  # the ctime moves, whatever the times are set to
    marker = site / "read"
    _unread(monkeypatch, marker)
    run(site, "collect", "tree", "--tenant", TENANT, "--out", "inv.json", "--cache", "cache.json")
    assert marker.exists()


def test_a_catalog_others_can_write_is_read_every_time(site: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fix = next((site / "manifests" / "fixes").glob("*.yaml"))
    fix.chmod(0o664)
    _collect(site)
    marker = site / "read"
    _unread(monkeypatch, marker)
    _collect(site)
    assert marker.exists()
    assert folder_key(site / "manifests", open_cache(site / "cache.json")) is None


def test_a_link_in_the_catalog_folder_makes_it_uncachable(site: Path) -> None:
    (site / "manifests" / "alias.yaml").symlink_to(site / "manifests" / "catalog.yaml")
    assert folder_key(site / "manifests", open_cache(site / "cache.json")) is None


def test_what_another_reader_read_is_not_taken(site: Path) -> None:
    """The one-file collector reads the catalog without YAML: it never takes what the installed drift read
    (nor the other way round), whatever the two would give."""
    catalog, path = site / "manifests", site / "cache.json"
    cache = open_cache(path)
    with CatalogNeeds(catalog, drift.cli.collect._collector_needs, cache) as needs:
        wanted = needs.result()
    cache.save(path)
    with CatalogNeeds(catalog, drift.cli.collect._collector_needs, open_cache(path)) as again:
        assert again.recalled and again.result() == wanted
    with CatalogNeeds(catalog, _other_reader, open_cache(path)) as other:
        assert not other.recalled
        assert other.result() == (frozenset(), frozenset())


def _other_reader(catalog: Path) -> tuple[frozenset[tuple[str, str]], frozenset[str]]:
    return frozenset(), frozenset()


def test_a_remembered_value_of_the_wrong_shape_is_read_again(site: Path) -> None:
    catalog, path = site / "manifests", site / "cache.json"
    cache = open_cache(path)
    with CatalogNeeds(catalog, drift.cli.collect._collector_needs, cache) as needs:
        needs.result()
    cache.save(path)
    remembered = cachefiles.header(path)["remembered"]
    remembered[1][1] = [["conf/app.properties"]]  # a pair cut short
    cachefiles.write(path, cachefiles.entries(path), algorithm=cachefiles.header(path)["algorithm"], remembered=remembered)
    path.chmod(0o600)
    with CatalogNeeds(catalog, drift.cli.collect._collector_needs, open_cache(path)) as again:
        assert not again.recalled
