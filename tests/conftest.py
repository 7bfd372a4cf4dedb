"""Shared fixtures: the demo catalog is written once per session and copied per test."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.demo import write_catalog


@pytest.fixture(scope="session")
def demo_catalog_master(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_catalog(tmp_path_factory.mktemp("demo"))


@pytest.fixture
def demo_root(tmp_path: Path, demo_catalog_master: Path) -> Path:
    """A fresh folder holding `manifests/` (the demo catalog); tests add `inventory/`."""
    shutil.copytree(demo_catalog_master, tmp_path / "manifests")
    return tmp_path
