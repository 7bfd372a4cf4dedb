"""The garbage collector paused for a collection, and given back as it was: a caller that drives drift
from a longer-lived process (a test run, a service) keeps its collector."""

from __future__ import annotations

import gc
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import drift.cli.collect
from drift.cli.main import main
from drift.collect.gcpause import paused_gc


def test_the_collector_is_given_back_as_it_was() -> None:
    assert gc.isenabled()
    with paused_gc():
        assert not gc.isenabled()
        with paused_gc():
            assert not gc.isenabled()
        assert not gc.isenabled(), "a nested pause ended the outer one"
    assert gc.isenabled()
    gc.disable()
    try:
        with paused_gc():
            pass
        assert not gc.isenabled(), "a pause turned on a collector its caller had turned off"
    finally:
        gc.enable()


def test_drift_collect_runs_paused_and_gives_the_collector_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "deploy"
    root.mkdir()
    (root / "a.txt").write_text("a\n", encoding="utf-8")
    real = drift.cli.collect.collect_inventory
    enabled: list[bool] = []

    def collect(*args: Any, **kwargs: Any) -> Any:
        enabled.append(gc.isenabled())
        return real(*args, **kwargs)

    monkeypatch.setattr(drift.cli.collect, "collect_inventory", collect)
    result = CliRunner().invoke(main, ["collect", str(root), "--tenant", "402206", "--out", str(tmp_path / "inv.json"),
                                       "--catalog", str(tmp_path / "none"), "--cache", str(tmp_path / "cache.json")])
    assert result.exit_code == 0, result.output
    assert enabled == [False]
    assert gc.isenabled()
