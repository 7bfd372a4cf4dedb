"""Proof captures for a person to look at, each also checked here:

- `scan-terminal.txt` (and `.raw`, the bytes as the terminal got them): `drift scan` on the reference fleet
  in a real pseudo-terminal, whose tenant table keeps its columns aligned with Japanese names in them;
- `report.png`: the HTML report after scan → gate --tenant 402206 → scan, in headless Chromium through
  Playwright, launched as tests/test_report_browser.py launches it (skipped, with the reason, without it).

They go to `$DRIFT_CAPTURES` when it is set, else to a temporary folder; their paths are printed.
"""

from __future__ import annotations

import errno
import fcntl
import os
import re
import struct
import subprocess
import sys
import termios
from pathlib import Path

import pytest
from wcwidth import wcswidth

ROOT = Path(__file__).resolve().parents[1]
COLUMNS, LINES = 200, 50
ANSI = re.compile(r"\x1b(\[[0-?]*[ -/]*[@-~]|\][^\x07]*\x07|[@-Z\\-_])")


@pytest.fixture(scope="module")
def captures(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = Path(os.environ["DRIFT_CAPTURES"]) if os.environ.get("DRIFT_CAPTURES") else tmp_path_factory.mktemp("captures")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def fleet_args(db: Path) -> list[str]:
    return ["--catalog", str(ROOT / "manifests"), "--inventory", str(ROOT / "inventory"), "--db", str(db)]


def in_a_terminal(args: list[str], cwd: Path) -> bytes:
    """What `python -m drift ARGS` writes to a real pseudo-terminal of COLUMNS × LINES (stdin, stdout and
    stderr all on it, as in an operator's shell)."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", LINES, COLUMNS, 0, 0))
    env = {**os.environ, "TERM": "xterm-256color", "LANG": "C.UTF-8", "COLUMNS": str(COLUMNS), "LINES": str(LINES)}
    process = subprocess.Popen([sys.executable, "-m", "drift", *args], cwd=cwd, stdin=slave, stdout=slave, stderr=slave, env=env)
    os.close(slave)
    out = bytearray()
    try:
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError as exc:  # EIO: the child closed the terminal
                if exc.errno != errno.EIO:
                    raise
                break
            if not chunk:
                break
            out += chunk
    finally:
        os.close(master)
        code = process.wait(timeout=600)
    assert code == 0, out.decode("utf-8", "replace")[-2000:]
    return bytes(out)


def screen_text(raw: bytes) -> str:
    """The lines a person sees: escape sequences dropped, a line redrawn after CR (a progress bar) as its last
    drawing, the terminal's CRLF as LF."""
    lines = []
    for line in raw.decode("utf-8").replace("\r\n", "\n").split("\n"):
        lines.append(ANSI.sub("", line.rsplit("\r", 1)[-1]).rstrip())
    return "\n".join(lines)


def column_starts(line: str) -> list[int]:
    """The display column where each cell of a table row starts (cells are parted by two spaces or more)."""
    return [wcswidth(line[: m.start()]) for m in re.finditer(r"(?:^|(?<=  ))\S", line)]


def test_scan_in_a_terminal_keeps_japanese_columns_aligned(captures, tmp_path):
    raw = in_a_terminal(["scan", *fleet_args(tmp_path / "drift.db"), "--jobs", "2"], tmp_path)
    (captures / "scan-terminal.raw").write_bytes(raw)
    text = screen_text(raw)
    (captures / "scan-terminal.txt").write_text(text, encoding="utf-8")
    print(f"\nterminal capture: {captures / 'scan-terminal.txt'}")

    lines = text.split("\n")
    header = next(i for i, line in enumerate(lines) if line.split()[:3] == ["tenant", "name", "line"])
    rule = lines[header + 1]
    assert set(rule) <= {"-", " "}
    starts = [m.start() for m in re.finditer(r"-+", rule)]  # the rule is ASCII: index = display column
    assert column_starts(lines[header]) == starts
    rows = []
    for line in lines[header + 2:]:
        if not line.strip():
            break
        rows.append(line)
    assert len(rows) == 123
    japanese = [row for row in rows if not row.split()[1].isascii()]
    assert len(japanese) == 123  # every name of the reference fleet is Japanese: 宗像市, 川崎市, さいたま市 …
    for row in japanese:
        assert column_starts(row) == starts, f"misaligned: {row!r}"
    assert any(row.split()[:2] == ["402206", "宗像市"] for row in rows)
    widths = {wcswidth(row.split()[1]) for row in japanese}
    assert len(widths) > 1  # names of several widths (北区 … さいたま市) line up all the same


CHROMIUM = Path(os.environ.get("DRIFT_CHROMIUM", "/usr/bin/chromium"))


def drift(cwd: Path, *args: str, expect: int = 0) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([sys.executable, "-m", "drift", *args], cwd=cwd, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == expect, f"drift {' '.join(args)} exited {done.returncode}\n{done.stdout}\n{done.stderr}"
    return done


def test_report_screenshot_after_scan_gate_scan(captures, tmp_path):
    if not CHROMIUM.exists():
        pytest.skip(f"no Chromium at {CHROMIUM}: install Debian's chromium (`.ci/run` does, with apt-get); no screenshot taken")
    sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright for Python is missing: pip install -e '.[test]'")
    from tests.test_report_browser import CHROMIUM_ARGS, TIMEOUT_MS

    db = tmp_path / "drift.db"
    drift(tmp_path, "scan", *fleet_args(db), "--jobs", "2")
    gated = drift(tmp_path, "gate", "--tenant", "402206", *fleet_args(db), "--jobs", "2", expect=1)
    assert "BLOCKED: 1 of 1 tenant blocks" in gated.stdout
    drift(tmp_path, "scan", *fleet_args(db), "--jobs", "2")
    page = captures / "report.html"
    drift(tmp_path, "report", "html", "--db", str(db), "--catalog", str(ROOT / "manifests"), "--lang", "ja", "--timezone", "Asia/Tokyo",
          "--out", str(page))

    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1400, "height": 900}, locale="ja-JP")
            tab = context.new_page()
            tab.set_default_timeout(TIMEOUT_MS)
            tab.goto(page.resolve().as_uri(), wait_until="load")
            tab.wait_for_selector("#matrix tbody tr[data-tenant]", timeout=TIMEOUT_MS)
            assert tab.locator("#matrix tbody tr[data-tenant='402206']").count() == 1
            assert "+09:00" in tab.content()
            shot = captures / "report.png"
            tab.screenshot(path=str(shot), full_page=False)
        finally:
            browser.close()
    assert shot.stat().st_size > 10_000
    print(f"\nscreenshot: {shot}")
