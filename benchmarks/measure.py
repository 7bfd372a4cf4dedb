"""Measuring a benchmark's child processes the same way everywhere: wall time and the peak of the summed
resident memory of the process and everything it starts."""

from __future__ import annotations

import subprocess
import tempfile
import time
from pathlib import Path


def child(args: list[str], cwd: Path, quiet: bool = False) -> tuple[float, float, str, str]:
    """Run a command; return (wall seconds, peak of the summed RSS of it and its children in MiB, stdout, stderr).

    With `quiet`, stdout goes to /dev/null."""
    start = time.perf_counter()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(args, cwd=cwd, stdout=subprocess.DEVNULL if quiet else out, stderr=err)
        peak = 0
        while proc.poll() is None:
            peak = max(peak, tree_rss_kib(proc.pid))
            time.sleep(0.02)
        wall = time.perf_counter() - start
        out.seek(0)
        err.seek(0)
        stderr = err.read().decode(errors="replace")
        if proc.returncode != 0:
            raise SystemExit(f"{' '.join(map(str, args))} exited {proc.returncode}: {stderr[-2000:]}")
        return wall, peak / 1024, out.read().decode(errors="replace"), stderr


def tree_rss_kib(pid: int) -> int:
    """Resident memory of a process and all its descendants, in KiB (0 once it has gone)."""
    total = 0
    try:
        with open(f"/proc/{pid}/status") as status:
            total += next((int(line.split()[1]) for line in status if line.startswith("VmRSS:")), 0)
        with open(f"/proc/{pid}/task/{pid}/children") as children:
            total += sum(tree_rss_kib(int(c)) for c in children.read().split())
    except (OSError, ValueError):
        pass
    return total
