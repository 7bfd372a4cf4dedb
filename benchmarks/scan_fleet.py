"""Benchmark: scan a synthetic fleet and compare with the floor of merely reading its inventories.

    python benchmarks/scan_fleet.py                       # 1,741 tenants x 5,000 files (every municipality)
    python benchmarks/scan_fleet.py --tenants 200 --files 1000
    python benchmarks/scan_fleet.py --reference           # the committed reference fleet
    python benchmarks/scan_fleet.py --no-shared-lines     # no two inventories share a line (worst case)
    python benchmarks/scan_fleet.py --signed              # also: every inventory signed, scanned with a trust file

The catalog has 3 lines x 40 releases and 1,500 fixes. The fleet is generated once into --workdir (kept
for later runs with the same parameters). The scan (`drift scan`, into a fresh database, table output),
the floor (read and `json.loads` every inventory, one process) and drift's own reader alone run as child
processes, so wall time and peak memory (summed over a process and its workers) are measured the same way.
Each runs --repeat times, interleaved; the fastest run of each is compared (as timeit does: slower runs
measure the machine's other load), and the medians are shown beside them.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from measure import child

from drift.inventory.jsonwrite import dumps_inventory
from drift.inventory.model import FileRecord

LINES = ("10.x", "11.x", "12.x")
READER = """
import sys
from pathlib import Path
from drift.inventory.readers import read_inventory
print(sum(len(read_inventory(p).files) for p in sorted(Path(sys.argv[1]).glob("*.json"))))
"""
FLOOR = """
import json, sys
from pathlib import Path
n = 0
for p in sorted(Path(sys.argv[1]).glob("*.json")):
    n += len(json.loads(p.read_bytes())["files"])
print(n)
"""


def h(*parts: object) -> str:
    return hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()


def generate(out: Path, tenants: int, files: int, releases: int, fixes: int, seed: int = 2023, *, shared_lines: bool = True) -> None:
    """Write manifests/ and inventory/ for a synthetic product and fleet. Without `shared_lines`, every
    tenant's file sizes are its own, so that no two inventories have a line in common (the worst case for
    drift's reader, which parses each distinct line once)."""
    rnd = random.Random(seed)
    paths = [f"lib/lib{i:04d}.jar" if i % 50 == 0 else f"app/m{i % 40:02d}/F{i:05d}.java" for i in range(files)]
    # Each fix touches 1-3 files and lands on 1-3 lines at some release index.
    fix_files = [rnd.sample(range(files), rnd.randint(1, 3)) for _ in range(fixes)]
    fix_land = [{line: rnd.randrange(releases) for line in rnd.sample(LINES, rnd.randint(1, 3))} for _ in range(fixes)]
    touching: dict[int, list[int]] = {}
    for fx, idxs in enumerate(fix_files):
        for i in idxs:
            touching.setdefault(i, []).append(fx)

    def carried(i: int, line: str, r: int) -> tuple[int, ...]:
        return tuple(fx for fx in touching.get(i, ()) if line in fix_land[fx] and fix_land[fx][line] <= r)

    def digests(i: int, line: str, r: int) -> tuple[str, str | None]:
        key = carried(i, line, r)
        return h(paths[i], key), (h("content", paths[i], key) if paths[i].endswith(".jar") else None)

    man = out / "manifests"
    (man / "fixes").mkdir(parents=True, exist_ok=True)
    (man / "catalog.yaml").write_text(f'format: drift-catalog/1\nproduct: synth\nlines: [{", ".join(repr(x) for x in LINES)}]\n')
    state: dict[tuple[str, int], list[tuple[str, str | None]]] = {}
    for line in LINES:
        (man / "releases" / line).mkdir(parents=True, exist_ok=True)
        for r in range(releases):
            version = f"{line[:-2]}.{r}.0"
            rows = [digests(i, line, r) for i in range(files)]
            state[(line, r)] = rows
            body = "".join(
                f'  - {{path: {p}, kind: binary, sha256: "{s}", content_sha256: "{c}"}}\n' if c
                else f'  - {{path: {p}, kind: source, sha256: "{s}"}}\n'
                for p, (s, c) in zip(paths, rows, strict=True)
            )
            (man / "releases" / line / f"{version}.yaml").write_text(
                f'format: drift-release/1\nline: "{line}"\nversion: "{version}"\ndate: 2020-01-01\nfiles:\n{body}'
            )
    for fx in range(fixes):
        variants = []
        for line, landed in sorted(fix_land[fx].items()):
            entries = []
            for i in fix_files[fx]:
                fixed: list[str] = []
                unfixed: list[str] = []
                for r in range(releases):
                    s, c = state[(line, r)][i]
                    target = fixed if r >= landed else unfixed
                    for t in (f"sha256:{s}", f"content-sha256:{c}" if c else None):
                        if t and t not in target:
                            target.append(t)
                unfixed = [t for t in unfixed if t not in fixed]
                entries.append(f"      - path: {paths[i]}\n        fixed: {json.dumps(fixed)}\n        unfixed: {json.dumps(unfixed)}\n")
            variants.append(f'  - line: "{line}"\n    fixed_in: "{line[:-2]}.{landed}.0"\n    files:\n{"".join(entries)}')
        severity = ("critical", "high", "medium", "low")[fx % 4]
        (man / "fixes" / f"SYN-{fx:05d}.yaml").write_text(
            f"format: drift-fix/1\nid: SYN-{fx:05d}\ntitle: Synthetic defect {fx}\nseverity: {severity}\nvariants:\n{''.join(variants)}"
        )
    inv = out / "inventory"
    inv.mkdir(parents=True, exist_ok=True)
    registry = []
    for t in range(tenants):
        tid = f"T{t:05d}"
        line = LINES[t % 3]
        r = rnd.randrange(releases)
        registry.append(f'- {{id: "{tid}", name: "Tenant {t}", line: "{line}", edition: standard}}\n')
        base = 1000 if shared_lines else 1000 + files * t
        records = {p: FileRecord(base + i, s, c) for i, (p, (s, c)) in enumerate(zip(paths, state[(line, r)], strict=True))}
        for k in rnd.sample(range(files), 3):  # local modifications
            records[paths[k]] = FileRecord(1, h("local", tid, k), None)
        for k in range(5):  # custom code
            records[f"custom/{tid}/X{k}.java"] = FileRecord(1, h("custom", tid, k), None)
        data = dumps_inventory(
            tenant=tid, collected_at="2023-06-14T00:00:00Z", collector="synthetic", content_hash="drift-content/1",
            files=records, config=[], unreadable=[],
        )
        (inv / f"{tid}.json").write_bytes(data)
    (inv / "tenants.yaml").write_text("".join(registry))
    (out / "DONE").write_text("ok\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tenants", type=int, default=1741)
    parser.add_argument("--files", type=int, default=5000)
    parser.add_argument("--releases", type=int, default=40)
    parser.add_argument("--fixes", type=int, default=1500)
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "drift-bench")
    parser.add_argument("--reference", action="store_true", help="time the committed reference fleet instead")
    parser.add_argument("--no-shared-lines", dest="shared_lines", action="store_false",
                        help="give every tenant its own file sizes, so that no two inventories share a line")
    parser.add_argument("--repeat", type=int, default=3, help="measure each this many times (default 3) and show the fastest")
    parser.add_argument("--signed", action="store_true",
                        help="also sign every inventory and time the scan with a trust file that requires signatures")
    args = parser.parse_args()
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    if args.reference:
        fleet = ROOT
        label = "reference fleet (manifests/, inventory/)"
    else:
        fleet = args.workdir / f"t{args.tenants}-f{args.files}-r{args.releases}-x{args.fixes}{'' if args.shared_lines else '-unique'}"
        label = f"{args.tenants} tenants x {args.files} files; 3 lines x {args.releases} releases; {args.fixes} fixes"
        label += "" if args.shared_lines else "; no line shared between inventories"
        if not (fleet / "DONE").exists():
            start = time.perf_counter()
            generate(fleet, args.tenants, args.files, args.releases, args.fixes, shared_lines=args.shared_lines)
            print(f"generated in {time.perf_counter() - start:.1f} s: {fleet}", file=sys.stderr)
    inventory = fleet / "inventory"
    trust = sign_fleet(fleet) if args.signed else None
    floors, readers, scans, signed_scans = [], [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        for run in range(args.repeat):  # interleaved, so that a slow spell of the machine hits all three alike
            floor_wall, floor_rss, floor_out, _ = child([sys.executable, "-c", FLOOR, str(inventory)], fleet)
            records = int(floor_out.strip().splitlines()[0])
            floors.append((floor_wall, floor_rss))
            readers.append(child([sys.executable, "-c", READER, str(inventory)], ROOT)[:2])
            db = Path(tmp) / f"bench-{run}.db"
            scans.append(child(
                [sys.executable, "-m", "drift", "scan", "--catalog", str(fleet / "manifests"), "--inventory", str(inventory),
                 "--db", str(db), "--format", "table"],
                fleet,
            )[:2])
            if trust is not None:
                signed_scans.append(child(
                    [sys.executable, "-m", "drift", "scan", "--catalog", str(fleet / "manifests"), "--inventory", str(inventory),
                     "--db", str(Path(tmp) / f"signed-{run}.db"), "--format", "table", "--trust", str(trust)],
                    fleet,
                )[:2])
    scan_wall, floor_wall, reader_wall = (min(w for w, _ in runs) for runs in (scans, floors, readers))
    scan_rss, floor_rss, reader_rss = (max(r for _, r in runs) for runs in (scans, floors, readers))
    print(f"fleet: {label}")
    print(f"file records: {records:,}")
    print(f"runs: {args.repeat} of each, interleaved; the fastest is shown (then the median and the slowest), memory is the highest peak")
    print(f"scan (drift scan, stored, table): {scan_wall:.2f} s wall ({_spread(scans)}), {scan_rss:.0f} MiB peak, {records / scan_wall:,.0f} records/s")
    print(f"floor (read + json.loads every inventory): {floor_wall:.2f} s wall ({_spread(floors)}), {floor_rss:.0f} MiB peak")
    print(f"drift's reader alone (digest verified, every field checked): {reader_wall:.2f} s wall ({_spread(readers)}), {reader_rss:.0f} MiB peak")
    print(f"scan / floor: {scan_wall / floor_wall:.2f}x ({_median(scans) / _median(floors):.2f}x by medians); scan / reader: {scan_wall / reader_wall:.2f}x")
    if signed_scans:
        signed_wall = min(w for w, _ in signed_scans)
        print(f"signed scan (every inventory's signature verified against a trust file): {signed_wall:.2f} s wall ({_spread(signed_scans)}), "
              f"{max(r for _, r in signed_scans):.0f} MiB peak")
        print(f"signed scan / scan: {signed_wall / scan_wall:.2f}x ({_median(signed_scans) / _median(scans):.2f}x by medians)")


def sign_fleet(fleet: Path) -> Path:
    """Sign every inventory of the fleet once (kept for later runs) with one municipal key trusted for every
    tenant; returns the trust file (outside the inventory folder, so that the plain scan ignores it)."""
    from drift.trust.inventories import sign_inventory
    from drift.trust.keys import generate_key, load_signing_key

    trust = fleet / "trust.yaml"
    if (fleet / "SIGNED").exists():
        return trust
    key_path = fleet / "keys" / "municipal"
    if not key_path.exists():
        key_path.parent.mkdir(exist_ok=True)
        generate_key(key_path)
    key = load_signing_key(key_path)
    start = time.perf_counter()
    inventories = sorted((fleet / "inventory").glob("*.json"))
    for path in inventories:
        sign_inventory(path, key)
    trust.write_text(
        "require: [inventory]\nkeys:\n  - id: municipal\n"
        f'    public_key: "{key.public.line}"\n    signs: inventory\n    tenants: ["*"]\n'
    )
    (fleet / "SIGNED").write_text("ok\n")
    print(f"signed {len(inventories)} inventories in {time.perf_counter() - start:.1f} s", file=sys.stderr)
    return trust


def _median(runs: list[tuple[float, float]]) -> float:
    return statistics.median(wall for wall, _ in runs)


def _spread(runs: list[tuple[float, float]]) -> str:
    return f"median {_median(runs):.2f}, slowest {max(wall for wall, _ in runs):.2f}"


if __name__ == "__main__":
    main()
