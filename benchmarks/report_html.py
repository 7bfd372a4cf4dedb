"""Benchmark: `drift report html` on a synthetic fleet of every municipality (1,741 tenants × 300 fixes).

    python benchmarks/report_html.py                  # a scan built directly and stored (seconds)
    python benchmarks/report_html.py --tenants 200 --fixes 50
    python benchmarks/report_html.py --generated      # scan_fleet.py's fleet, scanned by `drift scan` (minutes)

By default the scan is made in memory, as `drift scan` would store it, and stored twice (a run before,
where some tenants were on an older release, and the latest run), so the headline has changes to show:
tenants on 3 lines × 40 releases, each fix landing on 1-3 lines with 1-3 files, a tenth of the fixes
for one edition only, a few tenants without an inventory, local modifications that make tenant-specific
findings, uncatalogued and modified files, and a policy with waivers. With `--generated`, scan_fleet.py
writes a real catalog and inventories (`--files` per tenant) and `drift scan` judges them.

The report (`drift report html`, a child process) is timed in wall time and peak memory, and the page's
size printed. The issue asks for under 10 s and under 15 MB at 1,741 × 300.
"""

from __future__ import annotations

import argparse
import hashlib
import random
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from measure import child

from drift.results import (
    APPLIED,
    FIXED,
    MISSING,
    MODIFIED,
    NOT_APPLICABLE,
    NOT_DEPLOYED,
    PARTIAL,
    UNFIXED,
    UNVERIFIABLE,
    Evidence,
    FileDrift,
    Finding,
    TenantResult,
    count_statuses,
)
from drift.store import Store
from drift.tenants import Tenant, jis_check_digit

LINES = ("10.x", "11.x", "12.x")
SEVERITIES = ("critical", "high", "high", "medium", "medium", "medium", "low", "low")
PREFECTURES = (
    "北海道", "青森県", "岩手県", "宮城県", "秋田県", "山形県", "福島県", "茨城県", "栃木県", "群馬県", "埼玉県", "千葉県", "東京都",
    "神奈川県", "新潟県", "富山県", "石川県", "福井県", "山梨県", "長野県", "岐阜県", "静岡県", "愛知県", "三重県", "滋賀県", "京都府",
    "大阪府", "兵庫県", "奈良県", "和歌山県", "鳥取県", "島根県", "岡山県", "広島県", "山口県", "徳島県", "香川県", "愛媛県", "高知県",
    "福岡県", "佐賀県", "長崎県", "熊本県", "大分県", "宮崎県", "鹿児島県", "沖縄県",
)
WAIVERS = 60


def h(*parts: object) -> str:
    return "sha256:" + hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()


def tenant_codes(count: int, rnd: random.Random) -> list[tuple[str, str]]:
    """`count` distinct local government codes (right check digits), with their prefectures."""
    codes: set[str] = set()
    while len(codes) < count:
        first = f"{rnd.randrange(1, 48):02d}{rnd.randrange(100, 999):03d}"
        codes.add(first + str(jis_check_digit(first)))
    return sorted((code, PREFECTURES[int(code[:2]) - 1]) for code in codes)


class Fleet:
    """A synthetic catalog and fleet, judged without files: what `drift scan` would find."""

    def __init__(self, tenants: int, fixes: int, releases: int, seed: int = 2023) -> None:
        rnd = random.Random(seed)
        self.releases = releases
        self.fixes = [
            {
                "id": f"SYN-{fx:05d}",
                "severity": SEVERITIES[fx % len(SEVERITIES)],
                "files": [f"app/m{rnd.randrange(40):02d}/F{rnd.randrange(5000):05d}.java" for _ in range(rnd.randint(1, 3))],
                "land": {line: rnd.randrange(releases) for line in rnd.sample(LINES, rnd.randint(1, 3))},
                "seirei_only": rnd.random() < 0.1,
            }
            for fx in range(fixes)
        ]
        self.tenants = []
        for n, (code, prefecture) in enumerate(tenant_codes(tenants, rnd)):
            line = LINES[n % 3]
            edition = "seirei" if rnd.random() < 0.05 else "standard"
            self.tenants.append({
                "tenant": Tenant(code, f"自治体{n}", prefecture, edition, line, frozenset({"inkan", "koseki"})),
                "release": rnd.randrange(releases),
                "modified": {rnd.choice(fx["files"]) + f"#{fx['id']}" for fx in rnd.sample(self.fixes, 2)},
                "no_inventory": rnd.random() < 0.003,
            })
        self._shared: dict[tuple[object, ...], Finding] = {}

    def finding(self, fx: dict[str, object], tenant: dict[str, object], release: int) -> Finding:
        """The finding of one fix on one tenant at `release`; tenants in the same state share the object."""
        t: Tenant = tenant["tenant"]  # type: ignore[assignment]
        fid, severity, files = str(fx["id"]), str(fx["severity"]), list(fx["files"])  # type: ignore[call-overload]
        if fx["seirei_only"] and t.edition != "seirei":
            return self._share((fid, "na"), lambda: Finding(
                fid, NOT_APPLICABLE, severity, None, (), f"applies to editions seirei; tenant runs {t.edition}"))
        if tenant["no_inventory"]:
            return self._share((fid, "none"), lambda: Finding(fid, UNVERIFIABLE, severity, None, (), "no inventory for this tenant"))
        land: dict[str, int] = fx["land"]  # type: ignore[assignment]
        line = str(t.line) if t.line in land else min(land)
        landed = release >= land[line] and t.line in land
        states = []
        for k, path in enumerate(files):
            if f"{path}#{fid}" in tenant["modified"]:  # type: ignore[operator]
                states.append((path, MODIFIED, h("local", t.id, path)))
            elif k == 1 and (release * 7 + len(path)) % 23 == 0:
                states.append((path, UNFIXED if landed else FIXED, h(path, line, not landed)))  # a half-applied hotfix
            elif k == 2 and release % 17 == 5:
                states.append((path, NOT_DEPLOYED, "absent"))
            else:
                states.append((path, FIXED if landed else UNFIXED, h(path, line, landed)))
        counted = {state for _, state, _ in states if state != NOT_DEPLOYED}
        if MODIFIED in counted:
            status = UNVERIFIABLE
        elif counted == {FIXED}:
            status = APPLIED
        elif FIXED in counted:
            status = PARTIAL
        else:
            status = MISSING
        key = (fid, line, tuple(states))
        return self._share(key, lambda: Finding(
            fid, status, severity, line,
            tuple(Evidence(path, state, found, (h(path, line, True), h(path, line, "rebuilt"))) for path, state, found in states),
        ))

    def _share(self, key: tuple[object, ...], make: object) -> Finding:
        found = self._shared.get(key)
        if found is None:
            found = self._shared[key] = make()  # type: ignore[operator]
        return found

    def results(self, earlier: bool) -> Iterator[TenantResult]:
        """Every tenant's result; `earlier`: the run before, where every fifth tenant was a few releases behind."""
        for n, tenant in enumerate(self.tenants):
            release = int(tenant["release"])  # type: ignore[call-overload]
            if earlier and n % 5 == 0:
                release = max(0, release - 3)
            if earlier and n % 97 == 1:
                release = min(self.releases - 1, release + 4)  # later rolled back: regressions
            t: Tenant = tenant["tenant"]  # type: ignore[assignment]
            findings = tuple(self.finding(fx, tenant, release) for fx in self.fixes)
            no_inventory = bool(tenant["no_inventory"])
            drift = FileDrift() if no_inventory else FileDrift(
                uncatalogued=tuple(f"custom/{t.id}/X{k}.java" for k in range(5)),
                modified=tuple(sorted(p.split("#")[0] for p in tenant["modified"])),  # type: ignore[attr-defined]
                releases={f"{str(t.line)[:-2]}.{release}.0": 4990, f"{str(t.line)[:-2]}.{max(0, release - 1)}.0": 10},
            )
            yield TenantResult(
                t, "none" if no_inventory else h("inventory", t.id, release), None if no_inventory else "2023-06-14T00:00:00Z",
                findings, drift, count_statuses(findings),
            )



def policy_text(latest: list[TenantResult], count: int) -> str:
    """A policy file waiving `count` blocking findings of the latest run, one in ten of the waivers expired."""
    rnd = random.Random(7)
    blocking = [
        (r.tenant.id, f.fix) for r in latest for f in r.findings
        if f.status in (MISSING, PARTIAL, UNVERIFIABLE) and f.severity in ("critical", "high") and r.inventory_digest != "none"
    ]
    lines = ["format: drift-policy/1", "waivers:"]
    for k, (tenant, fix) in enumerate(rnd.sample(blocking, min(count, len(blocking)))):
        lines += [
            f'  - tenant: "{tenant}"', f"    fix: {fix}", "    reason: compensating control in place", "    approved_by: 情報政策課",
            f"    expires: {'2023-01-31' if k % 10 == 0 else '2099-12-31'}",
        ]
    return "\n".join(lines) + "\n"


def store_synthetic(db: Path, tenants: int, fixes: int, releases: int) -> None:
    """Store the fleet's run before and its latest run, and write a policy with waivers beside the database."""
    fleet = Fleet(tenants, fixes, releases)
    latest = list(fleet.results(earlier=False))
    with Store(db) as store:
        store.save_scan(h("catalog"), "2023-06-13T00:00:00Z", fleet.results(earlier=True))
        store.save_scan(h("catalog"), "2023-06-14T00:00:00Z", latest)
    (db.parent / "drift-policy.yaml").write_text(policy_text(latest, WAIVERS), encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tenants", type=int, default=1741)
    parser.add_argument("--fixes", type=int, default=300)
    parser.add_argument("--releases", type=int, default=40)
    parser.add_argument("--files", type=int, default=1000, help="with --generated: files per tenant")
    parser.add_argument("--generated", action="store_true", help="scan_fleet.py's catalog and inventories, scanned by drift scan")
    parser.add_argument("--lang", choices=("en", "ja"), default="ja")
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "drift-bench")
    parser.add_argument("--keep", type=Path, default=None, help="copy the page here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        db = work / "drift.db"
        extra: list[str] = []
        if args.generated:
            from scan_fleet import generate

            fleet = args.workdir / f"t{args.tenants}-f{args.files}-r{args.releases}-x{args.fixes}"
            if not (fleet / "DONE").exists():
                generate(fleet, args.tenants, args.files, args.releases, args.fixes)
            wall, _, _, _ = child(
                [sys.executable, "-m", "drift", "scan", "--catalog", str(fleet / "manifests"), "--inventory", str(fleet / "inventory"),
                 "--db", str(db), "--format", "json"], work, quiet=True,
            )
            print(f"drift scan: {wall:.1f} s")
            extra = ["--catalog", str(fleet / "manifests")]
            label = f"{args.tenants} tenants x {args.fixes} fixes (scan_fleet.py, {args.files} files each, scanned)"
        else:
            store_synthetic(db, args.tenants, args.fixes, args.releases)
            label = f"{args.tenants} tenants x {args.fixes} fixes (synthetic scan, 2 runs, {WAIVERS} waivers)"
        out = work / "report.html"
        wall, rss, _, _ = child(
            [sys.executable, "-m", "drift", "report", "html", "--db", str(db), "--out", str(out), "--lang", args.lang, *extra], work,
        )
        size = out.stat().st_size
        if args.keep:
            args.keep.write_bytes(out.read_bytes())
    print(f"fleet: {label}")
    print(f"drift report html --lang {args.lang}: {wall:.2f} s wall, {rss:.0f} MiB peak")
    print(f"page: {size:,} bytes ({size / 2**20:.1f} MiB)")
    print(f"limits: 10 s, 15 MB: {'within' if wall < 10 and size < 15_000_000 else 'EXCEEDED'}")


if __name__ == "__main__":
    main()
