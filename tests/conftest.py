"""Shared fixtures: the demo catalog is written once per session and copied per test; the cache's file
systems where the temporary folder is on another."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

import drift.collect.hashcache
from drift.collect.hashcache import WRITEBACK_FILE_SYSTEMS, file_system
from tests.demo import write_catalog


@pytest.fixture(scope="session")
def demo_catalog_master(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_catalog(tmp_path_factory.mktemp("demo"))


@pytest.fixture
def demo_root(tmp_path: Path, demo_catalog_master: Path) -> Path:
    """A fresh folder holding `manifests/` (the demo catalog); tests add `inventory/`."""
    shutil.copytree(demo_catalog_master, tmp_path / "manifests")
    return tmp_path


_TMP_FILE_SYSTEM = file_system(os.stat(tempfile.gettempdir()).st_dev)


@pytest.fixture(autouse=True)
def _cache_where_the_tests_write(monkeypatch: pytest.MonkeyPatch) -> None:
    """A cache never holds files on a file system not known to write pages back (tmpfs, for one). Where the
    temporary folder is on one, the tests would find nothing cached: there, and only there, its type is
    taken as one that does (the tests' files are never written through a memory mapping). The tests of that
    rule set the list back."""
    if _TMP_FILE_SYSTEM not in WRITEBACK_FILE_SYSTEMS:
        monkeypatch.setattr(drift.collect.hashcache, "WRITEBACK_FILE_SYSTEMS", WRITEBACK_FILE_SYSTEMS | {_TMP_FILE_SYSTEM})
