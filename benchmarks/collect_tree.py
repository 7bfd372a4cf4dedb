"""Benchmark: `drift collect` on a deployed tree, against rhash, hashdeep and sha256sum, and the work floor.

    python benchmarks/collect_tree.py                 # ~19,000 files, ~1 GB (built once into --workdir)
    python benchmarks/collect_tree.py --scale 0.1     # a tenth of it

Two trees and one catalog, built once:
- `released`: a tree deployed exactly from the catalog's newest release: mostly small sources and class
  files, some config, and a few hundred jars from 100 KB to 20 MB whose entries are deflated;
- `rebuilt`: the same tree with every jar rebuilt (new timestamps: other bytes, the same classes), so that
  no jar's bytes are catalogued and each must be inflated for its content hash;
- a catalog of 40 releases of that product in the layout `drift catalog build` writes, with one config check.

Run it with a Python that has drift's dependencies (a virtual environment: a plain interpreter starts in 0.03 s
here, one with site-wide hooks in 0.15 s); drift runs from this checkout. An editable install of drift
(`pip install -e .`) adds its import hook to every interpreter's start, 0.015 s here, which no installed
collector pays: the benchmark says so when it finds one. Every command runs once a round, `--repeat` rounds one after
another; each time is the best of the rounds, each ratio the median of the rounds' own ratios (the two
times of a round met the same machine: its speed drifts over a run), with their range. One run prints:
- on `released`: `drift collect --catalog` with every core, beside `rhash --sha256 -r`, `hashdeep -c sha256
  -r` and `find | xargs sha256sum` (Debian packages rhash and hashdeep; a missing one is said and skipped);
- on `rebuilt`: `drift collect --catalog`, beside the work floor: the SHA-256 of every file plus inflating and
  hashing every archive entry, with hashlib and zlib, spread over the cores;
- a re-collection of `released` with `--cache`, beside a full one, and beside the floor of any cached run:
  the interpreter's start, drift's imports, and one `lstat` of every file (`STAT_FLOOR`);
- what reading the catalog costs the collector: the config keys and archive hashes it reads, against the
  whole catalog loaded (what `drift collect` did before).
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
import zlib
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from drift.catalog import load_catalog
from drift.catalog.collectorneeds import collector_needs
from drift.collect.archive import content_sha256

RELEASES = 40


def build(root: Path, scale: float, seed: int = 7) -> dict[str, int]:
    """Write the as-released tree: ~19,000 files and ~1 GB at scale 1; returns each jar's size parameter."""
    rnd = random.Random(seed)
    words = [f"ident{i}" for i in range(5000)]

    def source(n: int) -> bytes:
        return ("\n".join(f"    void {rnd.choice(words)}() {{ {rnd.choice(words)}({n}); }}" for _ in range(rnd.randint(20, 120)))).encode()

    count = int(18_000 * scale)
    for i in range(count):
        folder = root / "app" / f"m{i % 40:02d}" / f"p{i % 7}"
        folder.mkdir(parents=True, exist_ok=True)
        suffix = ".class" if i % 3 == 0 else ".java"
        (folder / f"C{i:05d}{suffix}").write_bytes(source(i) if suffix == ".java" else rnd.randbytes(rnd.randint(500, 4000)))
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
    made = {}
    for i, share in enumerate(sizes):
        made[f"lib{i:03d}.jar"] = size = max(100_000, min(20_000_000, int(target * share / total)))
        _jar(lib / f"lib{i:03d}.jar", size, random.Random(i), 2020)
    return made


def _jar(path: Path, size: int, rnd: random.Random, year: int) -> None:
    """A jar of about `size` bytes: deflated entries, half random bytes and half text, as class files are.
    The same `rnd` seed gives the same entries; `year` changes only the timestamps (the bytes, not the content)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as jar:
        jar.writestr(zipfile.ZipInfo("META-INF/MANIFEST.MF", (year, 1, 1, 0, 0, 0)), "Manifest-Version: 1.0\r\nCreated-By: bench\r\n\r\n",
                     zipfile.ZIP_DEFLATED)
        written, n = 0, 0
        while written < size:
            chunk = rnd.randbytes(rnd.randint(2000, 30000)) + b"constant pool text " * rnd.randint(100, 1500)
            jar.writestr(zipfile.ZipInfo(f"com/example/C{n}.class", (year, 1, 1, 0, 0, 0)), chunk, zipfile.ZIP_DEFLATED)
            written += len(chunk) // 2
            n += 1


def rebuild(released: Path, rebuilt: Path, jars: dict[str, int]) -> None:
    """The same tree with every jar rebuilt a year later: other bytes, the same content hash."""
    shutil.copytree(released, rebuilt, copy_function=os.link)  # hard links: the same bytes, no copy
    for name, size in jars.items():
        (rebuilt / "lib" / name).unlink()
        _jar(rebuilt / "lib" / name, size, random.Random(int(name[3:6])), 2021)


def write_catalog(tree: Path, catalog: Path, seed: int = 11) -> None:
    """A catalog of `RELEASES` releases of line 1.x; the newest lists the tree exactly, older ones differ in a
    few hundred files. One fix checks a config key."""
    rnd = random.Random(seed)
    rows = []
    for path in sorted(p for p in tree.rglob("*") if p.is_file()):
        rel = path.relative_to(tree).as_posix()
        data = path.read_bytes()
        content = content_sha256(io.BytesIO(data)) if rel.endswith(".jar") else None
        rows.append((rel, hashlib.sha256(data).hexdigest(), content))
    (catalog / "releases" / "1.x").mkdir(parents=True)
    (catalog / "fixes").mkdir()
    header = "# Written by drift catalog build: rebuild rather than edit.\n"
    (catalog / "catalog.yaml").write_text(f'{header}format: drift-catalog/1\nproduct: bench\nlines: ["1.x"]\n')
    for n in range(RELEASES):
        changed = set() if n == RELEASES - 1 else set(rnd.sample(range(len(rows)), min(300, len(rows))))
        lines = [f'{header}format: drift-release/1\nline: "1.x"\nversion: "1.0.{n}"\ndate: 2026-01-{n % 28 + 1:02d}\nfiles:\n']
        for i, (rel, sha, content) in enumerate(rows):
            sha = rnd.randbytes(32).hex() if i in changed else sha
            kind = "binary" if content else ("config" if rel.endswith(".properties") else "source")
            extra = f', content_sha256: "{rnd.randbytes(32).hex() if i in changed else content}"' if content else ""
            lines.append(f'  - {{path: {rel}, kind: {kind}, sha256: "{sha}"{extra}}}\n')
        (catalog / "releases" / "1.x" / f"1.0.{n}.yaml").write_text("".join(lines))
    source = next(rel for rel, _, _ in rows if rel.endswith(".java"))
    sha = next(sha for rel, sha, _ in rows if rel == source)
    (catalog / "fixes" / "BENCH-1.yaml").write_text(
        f'{header}format: drift-fix/1\nid: BENCH-1\ntitle: "A bench fix"\nseverity: high\nvariants:\n  - line: "1.x"\n'
        f'    fixed_in: "1.0.0"\n    commits: []\n    files:\n      - path: {source}\n        fixed: ["sha256:{sha}"]\n'
        f'        unfixed: ["absent"]\n    config:\n      - {{file: conf/module0.properties, key: "print.lock.mode", expect: "exclusive"}}\n'
    )


def timed(args: list[str], repeat: int) -> float:
    """The best wall time of `repeat` runs of a command (its output discarded)."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        done = subprocess.run(args, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, check=False)
        best = min(best, time.perf_counter() - start)
        if done.returncode != 0:
            raise SystemExit(f"{' '.join(args)} exited {done.returncode}: {done.stderr[-2000:]}")
    return best


def _work(path: str) -> int:
    """The floor's work on one file: its SHA-256, and for an archive every entry inflated and hashed."""
    with open(path, "rb", buffering=0) as handle:
        data = handle.read()
    hashlib.sha256(data).digest()
    if path.endswith(".jar"):
        with zipfile.ZipFile(path) as jar:
            for info in jar.infolist():
                at = info.header_offset  # the local header: 30 bytes, then its own name and extra field
                start = at + 30 + int.from_bytes(data[at + 26 : at + 28], "little") + int.from_bytes(data[at + 28 : at + 30], "little")
                raw = data[start : start + info.compress_size]
                body = zlib.decompress(raw, -15) if info.compress_type == zipfile.ZIP_DEFLATED else raw
                hashlib.sha256(body).digest()
    return len(data)


def work_floor(pool: ProcessPoolExecutor, tree: Path) -> float:
    """The time to do `_work` on every file of `tree` over the pool's processes."""
    paths = [str(p) for p in tree.rglob("*") if p.is_file()]
    paths.sort(key=lambda p: -os.path.getsize(p))  # the largest first: the cores finish together
    start = time.perf_counter()
    sum(pool.map(_work, paths, chunksize=64))
    return time.perf_counter() - start


STAT_FLOOR = """
import os, sys
import drift.cli.main, drift.cli.collect  # what `drift collect` imports before it walks

def walk(path):
    with os.scandir(path) as entries:
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                walk(entry.path)
            else:
                entry.stat(follow_symlinks=False)

walk(sys.argv[1])
"""
"""The floor of any cached re-collection in Python: the interpreter's start, drift's imports, and one `lstat`
of every file (a change to a file's content moves no time of its folder, so each file must be looked at)."""


def best_of(work: object, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        work()  # type: ignore[operator]
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--repeat", type=int, default=3, help="runs of each command; the best counts")
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "drift-collect-bench")
    args = parser.parse_args()
    base = args.workdir / f"v2-{args.scale:g}"
    released, rebuilt, catalog = base / "released", base / "rebuilt", base / "catalog"
    if not (base / "DONE").exists():
        shutil.rmtree(base, ignore_errors=True)
        start = time.perf_counter()
        rebuild(released, rebuilt, build(released, args.scale))
        write_catalog(released, catalog)
        (base / "DONE").write_text("ok\n")
        print(f"built in {time.perf_counter() - start:.0f} s: {base}", file=sys.stderr)
    # Bytecode as an installed package has it (an environment with PYTHONDONTWRITEBYTECODE would otherwise
    # compile drift's modules again on every run).
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "drift")], check=True)
    if any(name.startswith("__editable__") for name in sys.modules):
        print("note: an editable install's import hook runs at every start of this Python (0.015 s here), which an installed "
              "collector does not pay: use a virtual environment with drift's dependencies alone", file=sys.stderr)
    cores = os.cpu_count() or 1
    files = sum(1 for p in released.rglob("*") if p.is_file())
    size = sum(p.stat().st_size for p in released.rglob("*") if p.is_file())
    jars = len(list((released / "lib").glob("*.jar")))
    peers = {}
    for name, command in (
        ("rhash --sha256 -r", ["rhash", "--sha256", "-r", str(released)]),
        ("hashdeep -c sha256 -r", ["hashdeep", "-c", "sha256", "-r", str(released)]),
        ("find | xargs sha256sum", ["sh", "-c", f"find '{released}' -type f -print0 | xargs -0 sha256sum"]),
    ):
        if shutil.which(command[0]):
            peers[name] = command
        else:
            print(f"note: {command[0]} is not installed (Debian package {command[0]}): left out", file=sys.stderr)
    # Every command once a round, the rounds one after another: the machine's speed drifts over a run, and
    # a ratio is taken within a round, where both of its figures met the same machine, the two one right
    # after the other (the cached run and the cached floor next to the full run, rhash after it).
    rounds: list[dict[str, float]] = []
    with tempfile.TemporaryDirectory() as tmp, ProcessPoolExecutor(cores) as pool:
        out, cache = Path(tmp) / "inventory.json", Path(tmp) / "cache.json"

        def drift(tree: Path, *extra: str) -> list[str]:
            return [sys.executable, "-m", "drift", "collect", str(tree), "--tenant", "402206", "--out", str(out), "--catalog", str(catalog),
                    "--jobs", str(cores), *extra]

        work_floor(pool, rebuilt), work_floor(pool, released)  # the page cache warm for both trees
        timed(drift(released, "--cache", str(cache)), 1)  # fills the cache
        for _ in range(args.repeat):  # each ratio's two commands one right after the other
            times = {"stat floor": timed([sys.executable, "-c", STAT_FLOOR, str(released)], 1)}
            times["cached"] = timed(drift(released, "--cache", str(cache)), 1)
            times["released"] = timed(drift(released), 1)
            times.update((name, timed(command, 1)) for name, command in peers.items())
            times["rebuilt"] = timed(drift(rebuilt), 1)
            times["floor"] = work_floor(pool, rebuilt)
            rounds.append(times)
    needs_s = best_of(lambda: collector_needs(catalog), args.repeat)
    whole_s = best_of(lambda: load_catalog(catalog), 1)
    best = {name: min(r[name] for r in rounds) for name in rounds[0]}

    def ratio(a: str, b: str, what: str) -> str:
        ratios = sorted(r[a] / r[b] for r in rounds)
        return f"{statistics.median(ratios):.2f}x {what}, rounds {ratios[0]:.2f}-{ratios[-1]:.2f}x"

    fastest = min(peers, key=lambda name: best[name]) if peers else None
    print(f"tree: {files:,} files, {size / 1e9:.2f} GB, {jars} jars; catalog: {RELEASES} releases; {cores} cores; "
          f"best of {args.repeat} rounds, ratios the median of the rounds'")
    print(f"as released: drift collect --catalog     {best['released']:6.2f} s" + (
        f"   ({ratio('released', fastest, fastest + ' (the fastest peer)')}; target 1.25x)" if fastest else ""))
    for name in peers:
        print(f"             {name:<28} {best[name]:6.2f} s")
    print(f"rebuilt:     drift collect --catalog     {best['rebuilt']:6.2f} s   ({ratio('rebuilt', 'floor', 'the work floor')}; target 1.5x)")
    print(f"             work floor ({cores} processes)     {best['floor']:6.2f} s   (SHA-256 of every file, every jar entry inflated and hashed)")
    print(f"cached re-collection                     {best['cached']:6.2f} s   ({ratio('released', 'cached', 'faster than a full one')}; target 4x)")
    print(f"             cached floor                {best['stat floor']:6.2f} s   (start, drift's imports, one lstat a file; "
          f"{ratio('released', 'stat floor', 'faster than a full one')})")
    print(f"catalog read by collect                  {needs_s:6.2f} s   (config keys and archive hashes; the whole catalog loaded: {whole_s:.2f} s)")


if __name__ == "__main__":
    main()
