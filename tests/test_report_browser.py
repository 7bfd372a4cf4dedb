"""`drift report html` end to end, in a real headless Chromium, on the reference fleet.

The page is made by the real command line (`python -m drift scan`, then `report html`) from copies of the
repository's `manifests/` and `inventory/`, opened through a file:// URL in Debian's Chromium
(/usr/bin/chromium, installed by `.ci/run`), and driven with Playwright for Python, which never downloads a
browser of its own here: it is only given `executable_path`.

Screenshots for a person to look at go to `$DRIFT_SCREENSHOTS` when it is set, else to the test's tmp folder;
their paths are printed.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

CHROMIUM = Path(os.environ.get("DRIFT_CHROMIUM", "/usr/bin/chromium"))
if not CHROMIUM.exists():
    pytest.skip(
        f"no Chromium at {CHROMIUM}: install Debian's chromium and chromium-driver (`.ci/run` does, with apt-get)",
        allow_module_level=True,
    )
pytest.importorskip("playwright.sync_api", reason="Playwright for Python is missing: pip install -e '.[test]'")
from playwright.sync_api import Browser, ConsoleMessage, Page, expect, sync_playwright

ROOT = Path(__file__).resolve().parents[1]
TENANT, TENANT_NAME, FIX = "402206", "宗像市", "KOFU-2019-0117"
PREFECTURE = "福岡県"
ROWS = "#matrix tbody tr[data-tenant]"
# As the machine notes say: without the background-networking flags Chromium keeps trying to reach hosts this
# closed network refuses. Playwright adds a fresh --user-data-dir of its own to every launch.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TIMEOUT_MS = 10_000


@dataclass(frozen=True)
class Fleet:
    folder: Path
    tenants: list[dict[str, Any]]
    scan: dict[str, Any]
    reports: dict[str, Path]


def drift(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [sys.executable, "-m", "drift", *args], cwd=cwd, capture_output=True, text=True, timeout=600, check=False
    )
    assert done.returncode == 0, f"drift {' '.join(args)} exited {done.returncode}\n{done.stdout}\n{done.stderr}"
    return done


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Fleet:
    folder = tmp_path_factory.mktemp("fleet")
    for name in ("manifests", "inventory"):
        shutil.copytree(ROOT / name, folder / name)
    scan = json.loads(drift(folder, "scan", "--db", "drift.db", "--format", "json").stdout)
    reports = {}
    for lang in ("en", "ja"):
        out = folder / f"report-{lang}.html"
        drift(folder, "report", "html", "--out", str(out), "--lang", lang, "--scan", "latest", "--db", "drift.db")
        assert out.is_file() and out.stat().st_size > 0
        reports[lang] = out
    tenants = yaml.safe_load((folder / "inventory" / "tenants.yaml").read_text(encoding="utf-8"))
    assert len(tenants) == 123
    return Fleet(folder, tenants, scan, reports)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    folder = Path(os.environ["DRIFT_SCREENSHOTS"]) if os.environ.get("DRIFT_SCREENSHOTS") else tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@dataclass
class Opened:
    page: Page
    url: str
    problems: list[str] = field(default_factory=list)
    outside: list[str] = field(default_factory=list)

    def assert_clean(self) -> None:
        assert not self.problems, "console errors or warnings, or uncaught exceptions:\n" + "\n".join(self.problems)
        assert not self.outside, "not self-contained: it asked for more than its own file:\n" + "\n".join(self.outside)


def open_report(browser: Browser, report: Path) -> Iterator[Opened]:
    context = browser.new_context(viewport={"width": 1400, "height": 900}, locale="ja-JP")
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    opened = Opened(page, report.resolve().as_uri())

    def on_console(message: ConsoleMessage) -> None:
        if message.type in ("error", "warning"):
            opened.problems.append(f"console.{message.type}: {message.text} at {message.location}")

    page.on("console", on_console)
    page.on("pageerror", lambda error: opened.problems.append(f"uncaught: {error}"))
    page.on(
        "request",
        lambda request: None
        if request.url == opened.url or request.url.split(":", 1)[0] in ("data", "blob", "about")
        else opened.outside.append(request.url),
    )
    page.goto(opened.url, wait_until="load")
    try:
        yield opened
    finally:
        context.close()


@pytest.fixture
def en(browser: Browser, fleet: Fleet) -> Iterator[Opened]:
    yield from open_report(browser, fleet.reports["en"])


@pytest.fixture
def ja(browser: Browser, fleet: Fleet) -> Iterator[Opened]:
    yield from open_report(browser, fleet.reports["ja"])


def shown_count(page: Page) -> int:
    text = page.locator("#visible-count").inner_text()
    found = re.search(r"\d+", text)
    assert found, f"#visible-count holds no number: {text!r}"
    return int(found.group())


def expect_count(page: Page, count: int) -> None:
    expect(page.locator("#visible-count")).to_have_text(re.compile(rf"(?<!\d){count}(?!\d)"))
    assert shown_count(page) == count


def visible_tenants(page: Page) -> list[str]:
    """The data-tenant of every matrix row a person can see: not hidden, not display:none, not removed."""
    shown: list[str] = page.locator(f"{ROWS}:visible").evaluate_all("rows => rows.map(row => row.dataset.tenant)")
    return shown


def ids_where(fleet: Fleet, **match: str) -> set[str]:
    return {t["id"] for t in fleet.tenants if all(t[key] == value for key, value in match.items())}


def screenshot(page: Page, folder: Path, name: str) -> Path:
    path = folder / name
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 0
    print(f"\nscreenshot: {path}")
    return path


def test_the_page_loads_clean_and_shows_every_tenant(en: Opened, fleet: Fleet, shots: Path, capsys: pytest.CaptureFixture[str]) -> None:
    page = en.page
    expect(page.locator("#matrix")).to_be_visible()
    expect(page.locator("#headline")).to_be_visible()
    assert page.locator("#headline").inner_text().strip() != ""
    for control in ("#filter-prefecture", "#filter-edition", "#filter-line", "#filter-severity", "#filter-status", "#search"):
        expect(page.locator(control)).to_be_visible()
    expect_count(page, 123)
    shown = visible_tenants(page)
    assert len(shown) == len(set(shown)), "a tenant has two rows"
    assert set(shown) == {t["id"] for t in fleet.tenants}
    fixes = {f["fix"] for t in fleet.scan["tenants"] for f in t["findings"]}
    row = page.locator(f'{ROWS}[data-tenant="{TENANT}"]')
    assert row.locator('[data-role="tenant"]').count() == 1
    assert set(row.locator("td[data-fix]").evaluate_all("cells => cells.map(cell => cell.dataset.fix)")) == fixes
    with capsys.disabled():
        screenshot(page, shots, "report-en.png")
    en.assert_clean()


def test_filtering_by_prefecture_narrows_the_matrix(en: Opened, fleet: Fleet) -> None:
    page = en.page
    expected = ids_where(fleet, prefecture=PREFECTURE)
    assert TENANT in expected and 0 < len(expected) < 123
    page.select_option("#filter-prefecture", value=PREFECTURE)
    expect_count(page, len(expected))
    assert set(visible_tenants(page)) == expected
    page.select_option("#filter-prefecture", value="")
    expect_count(page, 123)
    assert len(visible_tenants(page)) == 123
    en.assert_clean()


@pytest.mark.parametrize("query", [TENANT, TENANT_NAME], ids=["code", "name"])
def test_the_search_box_finds_a_tenant_by_code_and_by_name(en: Opened, fleet: Fleet, query: str) -> None:
    page = en.page
    expected = {t["id"] for t in fleet.tenants if query in t["id"] or query in t["name"]}
    assert expected == {TENANT}
    page.fill("#search", query)
    expect_count(page, 1)
    assert visible_tenants(page) == [TENANT]
    page.fill("#search", "")
    expect_count(page, 123)
    en.assert_clean()


def test_clicking_a_cell_shows_its_evidence(en: Opened, fleet: Fleet, shots: Path, capsys: pytest.CaptureFixture[str]) -> None:
    page = en.page
    tenant = next(t for t in fleet.scan["tenants"] if t["id"] == TENANT)
    finding = next(f for f in tenant["findings"] if f["fix"] == FIX)
    assert finding["evidence"], "the reference fleet gives this finding evidence"
    cell = page.locator(f'{ROWS}[data-tenant="{TENANT}"] td[data-fix="{FIX}"]')
    assert cell.get_attribute("data-status") == finding["status"]
    cell.click()
    evidence = page.locator("#evidence")
    expect(evidence).to_be_visible()
    expect(evidence).to_contain_text(FIX)
    text = evidence.inner_text()
    assert TENANT in text
    assert finding["status"] in text
    for entry in finding["evidence"]:
        assert entry["path"] in text, f"evidence path {entry['path']} not shown"
        assert entry["state"] in text, f"evidence state {entry['state']} of {entry['path']} not shown"
        for digest in [entry["found"], *entry["expected"]]:
            if digest and ":" in digest:  # a hash, shown whole or cut short, but at least its first 8 digits
                prefix = digest.split(":", 1)[1][:8]
                assert prefix in text, f"hash {digest} of {entry['path']} not shown"
    with capsys.disabled():
        screenshot(page, shots, "report-en-evidence.png")
    en.assert_clean()


def test_clicking_the_tenant_opens_its_detail(en: Opened) -> None:
    page = en.page
    page.locator(f'{ROWS}[data-tenant="{TENANT}"] [data-role="tenant"]').click()
    detail = page.locator("#tenant-detail")
    expect(detail).to_be_visible()
    expect(detail).to_contain_text(TENANT)
    expect(detail).to_contain_text(TENANT_NAME)
    en.assert_clean()


def test_the_japanese_page_loads_clean(ja: Opened, fleet: Fleet, shots: Path, capsys: pytest.CaptureFixture[str]) -> None:
    page = ja.page
    expect(page.locator("#matrix")).to_be_visible()
    expect(page.locator("#headline")).to_be_visible()
    expect_count(page, 123)
    assert set(visible_tenants(page)) == {t["id"] for t in fleet.tenants}
    page.select_option("#filter-prefecture", value=PREFECTURE)
    expect_count(page, len(ids_where(fleet, prefecture=PREFECTURE)))
    page.select_option("#filter-prefecture", value="")
    expect_count(page, 123)
    with capsys.disabled():
        screenshot(page, shots, "report-ja.png")
    ja.assert_clean()
