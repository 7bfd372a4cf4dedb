"""Benchmark: `drift collect` on a tree like a real deployment, against `sha256sum` and the hashing floor.

    python benchmarks/collect_tree.py                 # ~20,000 files, ~1 GB (built once into --workdir)
    python benchmarks/collect_tree.py --scale 0.1     # a tenth of it

The tree: mostly small sources and class files, some config, and a few hundred jars from 100 KB to 20 MB
whose entries are deflated, as real jars are. One run prints:
- `drift collect` with 1 job and with every core;
- `find ROOT -type f -print0 | xargs -0 sha256sum` on the same tree;
- the hashing floor: the same bytes through hashlib, in one process;
- a re-collection with `--cache` of the unchanged tree, with the bytes it read (`rchar` of /proc/<pid>/io)
  next to those of a full collection.
Every run reads from the page cache (the floor runs first and warms it).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
IO_WRAPPER = (
    "import atexit, sys\n"
    "from drift.cli import main\n"
    "atexit.register(lambda: sys.stderr.write('\\nRCHAR ' + next(l.split()[1] for l in open('/proc/self/io') if l.startswith('rchar')) + '\\n'))\n"
    "main()\n"
)


def build(root: Path, scale: float, seed: int = 7) -> None:
    """Write the tree: ~20,000 files and ~1 GB at scale 1."""
    rnd = random.Random(seed)
    words = [f"ident{i}" for i in range(5000)]

    def source(n: int) -> bytes:
        return ("\n".join(f"    void {rnd.choice(words)}() {{ {rnd.choice(words)}({n}); }}" for _ in range(rnd.randint(20, 120)))).encode()

    count = int(18_000 * scale)
    for i in range(count):
        folder = root / "app" / f"m{i % 40:02d}" / f"p{i % 7}"
        folder.mkdir(parents=True, exist_ok=True)
        suffix = ".class" if i % 3 == 0 else ".java"
        (folder / f"C{i:05d}{suffix}").write_bytes(source(i) if suffix == ".java" else os.urandom(rnd.randint(500, 4000)))
    conf = root / "conf"
    conf.mkdir(parents=True, exist_ok=True)
    for i in range(int(400 * scale) or 1):
        (conf / f"module{i}.properties").write_text(f"module.name=m{i}\nprint.lock.mode=exclusive\n")
    lib = root / "lib"
    lib.mkdir(parents=True, exist_ok=True)
    jars = int(300 * scale) or 1
    target = int(900_000_000 * scale)
    sizes = sorted(rnd.uniform(0, 1) ** 3 for _ in range(jars))
    total = sum(sizes)
    for i, share in enumerate(sizes):
        size = max(100_000, min(20_000_000, int(target * share / total)))
        _jar(lib / f"lib{i:03d}.jar", size, rnd)
    (root / "DONE").write_text("ok\n")


def _jar(path: Path, size: int, rnd: random.Random) -> None:
    """A jar of about `size` bytes: deflated entries, half random bytes and half text, as class files are."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as jar:
        jar.writestr("META-INF/MANIFEST.MF", "Manifest-Version: 1.0\r\nCreated-By: bench\r\n\r\n")
        written, n = 0, 0
        while written < size:
            chunk = os.urandom(rnd.randint(2000, 30000)) + b"constant pool text " * rnd.randint(100, 1500)
            jar.writestr(f"com/example/C{n}.class", chunk)
            written += len(chunk) // 2
            n += 1


def timed(args: list[str], cwd: Path) -> tuple[float, str]:
    start = time.perf_counter()
    done = subprocess.run(args, cwd=cwd, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(args)} exited {done.returncode}: {done.stderr[-2000:]}")
    return wall, done.stderr


def floor(root: Path) -> tuple[float, int, int]:
    """Read and SHA-256 every regular file in one process: seconds, files, bytes."""
    start = time.perf_counter()
    files = total = 0
    for folder, _, names in os.walk(root):
        for name in names:
            with open(os.path.join(folder, name), "rb", buffering=0) as handle:
                digest = hashlib.sha256()
                while chunk := handle.read(1 << 20):
                    digest.update(chunk)
                    total += len(chunk)
            files += 1
    return time.perf_counter() - start, files, total


def rchar(stderr: str) -> int:
    return int(next(line.split()[1] for line in stderr.splitlines() if line.startswith("RCHAR")))


def content_read(stderr: str) -> int:
    """The collector's own count of file-content bytes it read, from its summary line."""
    return int(stderr.split(" bytes of file content read")[0].rsplit("; ", 1)[1].replace(",", ""))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "drift-collect-bench")
    args = parser.parse_args()
    tree = args.workdir / f"tree-{args.scale:g}"
    if not (tree / "DONE").exists():
        start = time.perf_counter()
        build(tree, args.scale)
        print(f"built in {time.perf_counter() - start:.0f} s: {tree}", file=sys.stderr)
    floor_s, files, size = floor(tree)
    cores = os.cpu_count() or 1
    with tempfile.TemporaryDirectory() as tmp:
        out, cache = Path(tmp) / "inventory.json", Path(tmp) / "cache.json"
        drift = [sys.executable, "-c", IO_WRAPPER, "collect", str(tree), "--tenant", "402206", "--out", str(out)]
        one_s, one_err = timed([*drift, "--jobs", "1"], ROOT)
        all_s, all_err = timed([*drift, "--jobs", str(cores)], ROOT)
        sums_s, _ = timed(["sh", "-c", f"find '{tree}' -type f -print0 | xargs -0 sha256sum > /dev/null"], ROOT)
        timed([*drift, "--cache", str(cache)], ROOT)  # fills the cache
        cached_s, cached_err = timed([*drift, "--cache", str(cache)], ROOT)
    print(f"tree: {files:,} files, {size / 1e9:.2f} GB")
    print(f"drift collect, 1 job:      {one_s:6.2f} s")
    print(f"drift collect, {cores} jobs:     {all_s:6.2f} s   ({sums_s / all_s:.1f}x faster than sha256sum, {all_s / floor_s:.2f}x the floor)")
    print(f"find | xargs sha256sum:    {sums_s:6.2f} s")
    print(f"hashing floor (hashlib):   {floor_s:6.2f} s")
    print(f"cached re-collection:      {cached_s:6.2f} s   ({all_s / cached_s:.1f}x faster than a full one)")
    print(
        f"file content read: full {content_read(all_err) / 1e6:,.1f} MB, cached {content_read(cached_err) / 1e6:,.1f} MB"
        f" (all reads of the process, imports included: {rchar(all_err) / 1e6:,.1f} MB and {rchar(cached_err) / 1e6:,.1f} MB)"
    )


if __name__ == "__main__":
    main()
