"""Benchmark: `drift catalog build` on a synthetic product history, against the floor `git log --all --raw`.

    python benchmarks/catalog_build.py                # ~10,000 commits, 3 lines x 40 tags, 300 fixes
    python benchmarks/catalog_build.py --scale 0.1    # a tenth of the commits, tags and fixes
    python benchmarks/catalog_build.py --profile 30   # and the build's top 30 functions by cumulative time

The repository is generated once into --workdir (kept for later runs with the same parameters), written as
one `git fast-import` stream from this process. Everything in it is pinned (seeded choices, fixed names and
dates, the user's git configuration ignored), so the same parameters give the same commit ids every time.

- ~2,000 files: sources, config and a few jars under `src/`, tests under `tests/` (not deployed).
- 3 maintenance lines, each forked from the one before: 10.x from the first commit, 11.x from 10.x at a
  quarter of the history, 12.x from 11.x at half of it; the newer the line, the busier.
- Ordinary commits touch 1-4 files; a few rename, add or delete one; about 3% are topic branches of 2-4
  commits merged back (a true merge: the line moves on in between).
- 40 release tags per line (`v10.0.0` ... `v10.3.9`), evenly spread over each line's commits.
- 300 fixes, each one commit on one line changing 1-3 files (sometimes one of them a test). About a third
  are carried to the other lines that already exist: most as `cherry-pick -x` (the trailer
  `(cherry picked from commit <sha>)`), a quarter as `Backport of <sha>: ...`.
- FIXES.yaml: `- {id, title, severity, commits}`; a third of the fixes name every landing, the others only
  their main commit, so the build must find the backports itself.

One run times, each as a child process (wall time and the peak summed RSS of it and its children):
- `drift catalog build` with `--include 'src/*' --map src/= --line-of '^v10=10.x' ...` into a fresh folder;
- the floor: `git log --all --raw` on the same repository, stdout to /dev/null (run once untimed first, so
  both read a warm page cache).
The catalog written is read back with `drift.catalog.load_catalog`, and the backports it found are compared
with the ones planted.
"""

from __future__ import annotations

import argparse
import io
import json
import math
import os
import random
import subprocess
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import yaml
from measure import child

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from drift.catalog import load_catalog

GENERATOR = 2
"""Bump when the generated history changes, so cached repositories are not reused."""
LINES = ("10.x", "11.x", "12.x")
FORK_AT = (0.0, 0.25, 0.5)
"""Share of the history's commits after which each line exists (forked from the line before)."""
ACTIVITY = (1, 2, 4)
"""Relative commit rate of each line once it exists."""
START = 1_546_300_800
"""2019-01-01T00:00:00Z."""
STEP = 3 * 3600
"""Seconds between commits."""
AUTHORS = (
    ("Hanako Kofu", "hanako@kofu.example"),
    ("Taro Yamada", "taro@kofu.example"),
    ("Keiko Sato", "keiko@kofu.example"),
    ("Jiro Suzuki", "jiro@kofu.example"),
    ("Mika Tanaka", "mika@kofu.example"),
)
MODULES = ("print", "ledger", "auth", "batch", "report", "tax", "ui", "export", "import", "audit")
VERBS = ("Tidy", "Refactor", "Update", "Adjust", "Document", "Simplify", "Log more in", "Speed up", "Clean up")
DEFECTS = ("null dereference", "wrong rounding", "race", "leak", "off-by-one", "bad escaping", "stale cache", "timeout")
SEVERITIES = ("critical", "high", "medium", "low")
WORDS = tuple(f"ident{i}" for i in range(400))


def git_env() -> dict[str, str]:
    """An environment in which git ignores the user's and the system's configuration."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(GIT_CONFIG_NOSYSTEM="1", GIT_CONFIG_GLOBAL=os.devnull, GIT_CONFIG_SYSTEM=os.devnull, LC_ALL="C", TZ="UTC")
    return env


@dataclass
class Event:
    """One step of the history on one line; the planned shape, before any file is chosen."""

    line: int
    kind: str
    """`import`, `ordinary`, `merge`, `fix` or `backport`."""
    topic: int = 0
    """For a merge: commits on the topic branch."""
    fix: int = -1
    """For a fix or a backport: which fix."""
    style: str = ""
    """For a backport: `cherry` or `backport-of`."""
    tag: str | None = None
    """The release tag put on the line's tip after this event."""


@dataclass
class Planned:
    events: list[Event]
    fix_line: list[int]
    listed_all: list[bool]
    backports: dict[int, list[int]] = field(default_factory=dict)
    """Fix -> indices of its backport events."""


def plan(commits: int, tags: int, fixes: int, seed: int) -> Planned:
    """Which line each step is on and what it is; tags, fixes and backports placed."""
    rnd = random.Random(seed)
    events = [Event(0, "import")]
    count = 1
    while count < commits:
        share = count / commits
        live = [k for k in range(len(LINES)) if share >= FORK_AT[k]]
        line = rnd.choices(live, weights=[ACTIVITY[k] for k in live])[0]
        if rnd.random() < 0.03:
            topic = rnd.randint(2, 4)
            events.append(Event(line, "merge", topic=topic))
            count += topic + 2
        else:
            events.append(Event(line, "ordinary"))
            count += 1
    started = [next(i for i, e in enumerate(events) if e.line == k) for k in range(len(LINES))]
    # Fixes: ordinary steps, none in the last 3% (so that each line's last release carries them).
    eligible = [i for i, e in enumerate(events[: int(len(events) * 0.97)]) if e.kind == "ordinary"]
    if len(eligible) < fixes:
        raise SystemExit(f"{commits} commits leave room for only {len(eligible)} fixes")
    at = sorted(rnd.sample(eligible, fixes))
    for n, i in enumerate(at):
        events[i].kind, events[i].fix = "fix", n
    planned = Planned(events, [events[i].line for i in at], [rnd.random() < 1 / 3 for _ in range(fixes)])
    for n, i in enumerate(at):
        if rnd.random() >= 1 / 3:
            continue
        others = [k for k in range(len(LINES)) if k != events[i].line and started[k] < i]
        if not others:
            continue
        for target in sorted(rnd.sample(others, rnd.randint(1, len(others)))):
            j = i + rnd.randint(1, 40)
            while j < len(events) and not (events[j].line == target and events[j].kind == "ordinary"):
                j += 1
            if j < len(events):
                events[j].kind, events[j].fix = "backport", n
                events[j].style = "cherry" if rnd.random() < 0.75 else "backport-of"
                planned.backports.setdefault(n, []).append(j)
    for k, name in enumerate(LINES):
        own = [i for i, e in enumerate(events) if e.line == k]
        if len(own) < tags:
            raise SystemExit(f"line {name} has {len(own)} commits, fewer than {tags} tags")
        major = name.split(".")[0]
        for t in range(tags):
            events[own[math.ceil((t + 1) * len(own) / tags) - 1]].tag = f"v{major}.{t // 10}.{t % 10}"
    return planned


class History:
    """Writes the fast-import stream: blobs, commits, tags; reads commit ids back with `get-mark`."""

    def __init__(self, out: IO[bytes], back: IO[bytes], files: int, seed: int) -> None:
        self.out = out
        self.back = back
        self.rnd = random.Random(seed + 1)
        self.mark = 0
        self.rev = 0
        self.clock = START
        self.commits = 0
        self.kinds: list[str] = []
        self.bases: dict[int, str] = {}
        self.blobs: dict[tuple[int, int], int] = {}
        self.state: list[dict[str, tuple[int, int]] | None] = [None] * len(LINES)
        """Per line: path -> (file id, revision)."""
        self.paths: list[list[str] | None] = [None] * len(LINES)
        self.tips: list[int | None] = [None] * len(LINES)
        self.moved = 0
        self.initial = self._layout(files)

    def _layout(self, files: int) -> dict[str, tuple[int, int]]:
        """The first commit's files: ~85% sources (a few config files and jars), ~15% tests."""
        paths = {}
        for i in range(files):
            module = f"m{i % 40:02d}"
            if i % 200 == 7:
                kind, path = "jar", f"src/lib/lib{i:04d}.jar"
            elif i % 33 == 5:
                kind, path = "props", f"src/main/resources/{module}/settings{i:04d}.properties"
            elif i % 7 == 3:
                kind, path = "test", f"tests/{module}/Test{i:04d}.java"
            else:
                kind, path = "java", f"src/main/java/com/kofu/{module}/C{i:04d}.java"
            self.kinds.append(kind)
            paths[path] = (i, 0)
        return paths

    def _base(self, fid: int) -> str:
        base = self.bases.get(fid)
        if base is None:
            rnd = random.Random(fid * 7919 + 17)
            body = "".join(f"    void {rnd.choice(WORDS)}() {{ {rnd.choice(WORDS)}({rnd.randint(0, 999)}); }}\n" for _ in range(rnd.randint(15, 70)))
            base = self.bases[fid] = f"package com.kofu.m{fid % 40:02d};\n\npublic class C{fid} {{\n    static final int REVISION = @REV@;\n{body}}}\n"
        return base

    def content(self, fid: int, rev: int) -> bytes:
        kind = self.kinds[fid]
        if kind == "props":
            return f"module=m{fid % 40:02d}\nprint.lock.mode=exclusive\nbuild.revision={rev}\n".encode()
        text = self._base(fid).replace("@REV@", str(rev))
        if kind != "jar":
            return text.encode()
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as jar:
            for name, data in (("META-INF/MANIFEST.MF", "Manifest-Version: 1.0\r\n\r\n"), (f"com/kofu/C{fid}.class", text * 4)):
                info = zipfile.ZipInfo(name, date_time=(2019, 1, 1, 0, 0, 0))
                info.compress_type = zipfile.ZIP_DEFLATED
                jar.writestr(info, data)
        return buffer.getvalue()

    def _next(self) -> int:
        self.mark += 1
        return self.mark

    def blob(self, fid: int, rev: int) -> int:
        key = (fid, rev)
        if key not in self.blobs:
            data = self.content(fid, rev)
            mark = self.blobs[key] = self._next()
            self.out.write(b"blob\nmark :%d\ndata %d\n%s\n" % (mark, len(data), data))
        return self.blobs[key]

    def commit(self, ref: str, parent: int | None, message: str, changes: list[str], merge: int | None = None) -> int:
        mark = self._next()
        self.clock += STEP
        self.commits += 1
        name, email = self.rnd.choice(AUTHORS)
        text = message.encode()
        lines = [f"commit {ref}", f"mark :{mark}", f"author {name} <{email}> {self.clock} +0000",
                 f"committer {name} <{email}> {self.clock} +0000", f"data {len(text)}"]
        head = "\n".join(lines).encode() + b"\n" + text + b"\n"
        tail = ([f"from :{parent}"] if parent else []) + ([f"merge :{merge}"] if merge else []) + changes
        self.out.write(head + "".join(f"{t}\n" for t in tail).encode() + b"\n")
        return mark

    def sha(self, mark: int) -> str:
        self.out.write(b"get-mark :%d\n" % mark)
        self.out.flush()
        return self.back.readline().decode().strip()

    def tag(self, name: str, mark: int) -> None:
        self.out.write(f"reset refs/tags/{name}\nfrom :{mark}\n\n".encode())

    # Lines and files.

    def start(self, line: int) -> None:
        """A line's first step: it forks from the tip of the line before."""
        if self.state[line] is None:
            if line == 0:
                self.state[0], self.paths[0] = {}, []
            else:
                self.state[line] = dict(self.state[line - 1])  # type: ignore[arg-type]
                self.paths[line] = list(self.paths[line - 1])  # type: ignore[arg-type]
                self.tips[line] = self.tips[line - 1]

    def modify(self, state: dict[str, tuple[int, int]], path: str) -> str:
        fid = state[path][0]
        self.rev += 1
        state[path] = (fid, self.rev)
        return f"M 100644 :{self.blob(fid, self.rev)} {path}"

    def pick(self, line: int, count: int, avoid: frozenset[str] | set[str] = frozenset(), kinds: tuple[str, ...] | None = None) -> list[str]:
        paths = self.paths[line]
        state = self.state[line]
        chosen: list[str] = []
        while len(chosen) < count:
            path = self.rnd.choice(paths)  # type: ignore[arg-type]
            if path not in chosen and path not in avoid and (kinds is None or self.kinds[state[path][0]] in kinds):  # type: ignore[index]
                chosen.append(path)
        return chosen

    def ordinary(self, line: int, avoid: frozenset[str] | set[str] = frozenset()) -> list[str]:
        """1-4 files changed, now and then one renamed, added or deleted; the changes, and the paths they touch."""
        state, paths = self.state[line], self.paths[line]
        assert state is not None and paths is not None
        roll = self.rnd.random()
        if roll < 0.005:
            old = self.pick(line, 1, avoid, ("java",))[0]
            self.moved += 1
            new = f"{old.rsplit('/', 1)[0]}/Moved{self.moved:04d}.java"
            state[new] = state.pop(old)
            paths[paths.index(old)] = new
            return [f"R {old} {new}"]
        if roll < 0.01:
            fid = len(self.kinds)
            self.kinds.append("java")
            path = f"src/main/java/com/kofu/m{fid % 40:02d}/N{fid:05d}.java"
            state[path] = (fid, 0)
            paths.append(path)
            return [self.modify(state, path)]
        if roll < 0.012:
            path = self.pick(line, 1, avoid, ("java", "test"))[0]
            del state[path]
            paths.remove(path)
            return [f"D {path}"]
        count = self.rnd.choices((1, 2, 3, 4), weights=(5, 3, 2, 1))[0]
        return [self.modify(state, path) for path in self.pick(line, count, avoid)]

    def message(self) -> str:
        module = self.rnd.choice(MODULES)
        return f"{module}: {self.rnd.choice(VERBS)} {self.rnd.choice(WORDS)}\n\nTicket KOFU-{self.rnd.randint(1000, 9999)}.\n"


def generate(dest: Path, commits: int, tags: int, fixes: int, files: int, seed: int) -> dict[str, object]:
    """Write dest/repo (the repository) and dest/FIXES.yaml; return what was planted."""
    planned = plan(commits, tags, fixes, seed)
    repo = dest / "repo"
    env = git_env()
    subprocess.run(["git", "init", "-q", f"--initial-branch={LINES[-1]}", str(repo)], check=True, env=env)
    marks_path = dest / "marks"
    proc = subprocess.Popen(
        ["git", "fast-import", "--quiet", "--done", f"--export-marks={marks_path}"],
        cwd=repo, stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, bufsize=1 << 20,
    )
    assert proc.stdin is not None and proc.stdout is not None
    out = proc.stdin
    history = History(out, proc.stdout, files, seed)
    fix_marks: dict[int, list[int]] = {}
    fix_paths: dict[int, list[str]] = {}
    fix_text: dict[int, tuple[str, str]] = {}
    main_sha: dict[int, str] = {}
    backport_released: dict[int, list[bool]] = {}
    last_tag = {e.line: i for i, e in enumerate(planned.events) if e.tag}
    rnd = history.rnd
    for index, event in enumerate(planned.events):
        line = event.line
        ref = f"refs/heads/{LINES[line]}"
        history.start(line)
        state = history.state[line]
        assert state is not None
        if event.kind == "import":
            changes = []
            for path, (fid, rev) in history.initial.items():
                state[path] = (fid, rev)
                history.paths[line].append(path)  # type: ignore[union-attr]
                changes.append(f"M 100644 :{history.blob(fid, rev)} {path}")
            history.tips[line] = history.commit(ref, None, "Import of the Kofu sources\n", changes)
        elif event.kind == "ordinary":
            history.tips[line] = history.commit(ref, history.tips[line], history.message(), history.ordinary(line))
        elif event.kind == "merge":
            name = f"topic/{rnd.choice(MODULES)}-{index}"
            topic_state = dict(state)
            topic_tip = history.tips[line]
            touched: set[str] = set()
            for _ in range(event.topic):
                paths = history.pick(line, rnd.randint(1, 3), kinds=("java", "props", "test"))
                touched.update(paths)
                changes = [history.modify(topic_state, p) for p in paths]
                topic_tip = history.commit("refs/heads/topic", topic_tip, history.message(), changes)
            count = rnd.choices((1, 2), weights=(3, 1))[0]
            changes = [history.modify(state, p) for p in history.pick(line, count, avoid=touched)]
            history.tips[line] = history.commit(ref, history.tips[line], history.message(), changes)
            changes = [f"M 100644 :{history.blobs[topic_state[p]]} {p}" for p in sorted(touched)]
            for p in touched:
                state[p] = topic_state[p]
            message = f"Merge branch '{name}' into {LINES[line]}\n"
            history.tips[line] = history.commit(ref, history.tips[line], message, changes, merge=topic_tip)
        elif event.kind == "fix":
            n = event.fix
            count = rnd.choices((1, 2, 3), weights=(5, 3, 2))[0]
            paths = history.pick(line, count, kinds=("java", "props", "jar"))
            if count > 1 and rnd.random() < 0.3:
                paths[-1] = history.pick(line, 1, avoid=set(paths), kinds=("test",))[0]
            title = f"Fix {rnd.choice(DEFECTS)} in {paths[0].rsplit('/', 1)[1]}"
            body = f"The {rnd.choice(MODULES)} module mishandled {rnd.choice(WORDS)}.\n"
            fix_paths[n], fix_text[n] = paths, (title, body)
            fix_id = f"SYN-{n:04d}"
            changes = [history.modify(state, p) for p in paths]
            mark = history.tips[line] = history.commit(ref, history.tips[line], f"{fix_id}: {title}\n\n{body}", changes)
            fix_marks[n] = [mark]
        else:  # backport
            n = event.fix
            if n not in main_sha:
                main_sha[n] = history.sha(fix_marks[n][0])
            title, body = fix_text[n]
            fix_id = f"SYN-{n:04d}"
            if event.style == "cherry":
                message = f"{fix_id}: {title}\n\n{body}\n(cherry picked from commit {main_sha[n]})\n"
            else:
                message = f"Backport of {main_sha[n][:12]}: {title}\n\n{fix_id}. {body}"
            paths = [p for p in fix_paths[n] if p in state] or history.pick(line, 1, kinds=("java",))
            changes = [history.modify(state, p) for p in paths]
            mark = history.tips[line] = history.commit(ref, history.tips[line], message, changes)
            fix_marks[n].append(mark)
            backport_released.setdefault(n, []).append(index <= last_tag[line])
        if event.tag:
            history.tag(event.tag, history.tips[line])  # type: ignore[arg-type]
    out.write(b"done\n")
    out.flush()
    proc.stdin.close()
    if proc.wait() != 0:
        raise SystemExit(f"git fast-import exited {proc.returncode}")
    subprocess.run(["git", "update-ref", "-d", "refs/heads/topic"], cwd=repo, check=True, env=env)
    shas = {}
    for record in marks_path.read_text().splitlines():
        key, sha = record.split()
        shas[int(key[1:])] = sha
    register = []
    for n in range(fixes):
        landings = [shas[m] for m in fix_marks[n]]
        listed = landings if planned.listed_all[n] else landings[:1]
        title = fix_text[n][0]
        register.append(
            f'- {{id: SYN-{n:04d}, title: {json.dumps(f"Synthetic defect {n}: {title}")}, severity: {SEVERITIES[n % 4]}, '
            f'commits: [{", ".join(listed)}]}}\n'
        )
    (dest / "FIXES.yaml").write_text("".join(register))
    main_only = [n for n in range(fixes) if not planned.listed_all[n]]
    return {
        "commits": history.commits,
        "tags": tags * len(LINES),
        "fixes": fixes,
        "files": len(history.initial),
        "backported_fixes": len(planned.backports),
        "backport_commits": sum(len(v) for v in backport_released.values()),
        "released_backports": {str(n): sum(v) for n, v in backport_released.items()},
        "main_only": main_only,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=1.0, help="commits, tags and fixes times this")
    parser.add_argument("--commits", type=int, help="default 10,000 x scale")
    parser.add_argument("--tags", type=int, help="release tags per line; default 40 x scale")
    parser.add_argument("--fixes", type=int, help="default 300 x scale")
    parser.add_argument("--files", type=int, default=2000, help="files in the first commit")
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "drift-catalog-bench")
    parser.add_argument("--profile", type=int, default=0, metavar="N", help="also run the build under cProfile and print its top N entries")
    parser.add_argument("--large", action="store_true", help="the large shape: 80,000 commits, ~1,000 tags, 136 releases on 26 lines, 20 fixes")
    parser.add_argument("--large-files", type=int, default=800, help="deployed files of the large shape")
    args = parser.parse_args()
    if args.large:
        run_large(args)
        return
    commits = args.commits or max(200, round(10_000 * args.scale))
    tags = args.tags or max(2, round(40 * args.scale))
    fixes = args.fixes or max(3, round(300 * args.scale))
    dest = args.workdir / f"g{GENERATOR}-c{commits}-t{tags}-x{fixes}-f{args.files}-s{args.seed}"
    done = dest / "DONE.json"
    if not done.exists():
        if dest.exists():
            subprocess.run(["rm", "-rf", "--", str(dest)], check=True)
        dest.mkdir(parents=True)
        start = time.perf_counter()
        meta = generate(dest, commits, tags, fixes, args.files, args.seed)
        done.write_text(json.dumps(meta) + "\n")
        print(f"generated in {time.perf_counter() - start:.1f} s: {dest}", file=sys.stderr)
    meta = json.loads(done.read_text())
    repo, register = dest / "repo", dest / "FIXES.yaml"
    pack_mib = sum(p.stat().st_size for p in (repo / ".git" / "objects" / "pack").glob("*.pack")) / 2**20
    floor_cmd = ["git", "log", "--all", "--raw"]
    child(floor_cmd, repo, quiet=True)  # warms the page cache for both
    floor_wall, floor_rss, _, _ = child(floor_cmd, repo, quiet=True)
    line_rules = [arg for k, name in enumerate(LINES) for arg in ("--line-of", f"^v{name.split('.')[0]}={name}")]
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "catalog"
        build_args = [
            "catalog", "build", "--repo", str(repo), "--fixes", str(register), "--include", "src/*", "--map", "src/=",
            *line_rules, "--out", str(out),
        ]
        build_wall, build_rss, _, report = child([sys.executable, "-m", "drift", *build_args], ROOT)
        catalog = load_catalog(out)
        profile = ""
        if args.profile:
            _, _, profile, _ = child([sys.executable, "-m", "cProfile", "-s", "cumtime", "-m", "drift", *build_args], ROOT)
    main_only = set(meta["main_only"])
    planted = sum(v for n, v in meta["released_backports"].items() if int(n) in main_only)
    found = sum(len(f.variants) - 1 for f in catalog.fixes if int(f.id.split("-")[1]) in main_only and f.variants)
    sizes = [len(r.files) for r in catalog.releases]
    print(
        f"repository: {meta['commits']:,} commits, {meta['files']:,} files at first, {len(LINES)} lines x {tags} tags, "
        f"{meta['fixes']} fixes ({meta['backported_fixes']} carried to other lines in {meta['backport_commits']} commits); "
        f"pack {pack_mib:.0f} MiB"
    )
    print(
        f"catalog: {len(catalog.releases)} releases ({min(sizes):,}-{max(sizes):,} deployed files each), {len(catalog.fixes)} fixes, "
        f"{sum(len(f.variants) for f in catalog.fixes)} variants"
    )
    print(f"backports found for fixes naming only their main commit: {found} (planted and released: {planted})")
    print(f"build (drift catalog build): {build_wall:.2f} s wall, {build_rss:.0f} MiB peak")
    print(f"floor (git log --all --raw > /dev/null): {floor_wall:.2f} s wall, {floor_rss:.0f} MiB peak")
    print(f"build / floor: {build_wall / floor_wall:.1f}x   (targets: build under 60 s, within 5x of the floor)")
    print(f"build's report: {len(report.splitlines())} lines; first: {report.splitlines()[0] if report else ''}")
    if profile:
        rows = profile.splitlines()
        head = next((i for i, row in enumerate(rows) if row.lstrip().startswith("ncalls")), 0)
        print("\n".join(rows[max(0, head - 4) : head + 1 + args.profile]))


# -- the large shape: ~1,000 tags and ~80,000 commits, a never-tagged trunk and 26 maintenance lines ----------------


def generate_large(dest: Path, commits: int, lines: int, releases: int, other_tags: int, files: int, fixes: int, seed: int) -> dict[str, object]:
    """A trunk (`main`, never tagged) and `lines` maintenance branches forked from it one after another;
    `releases` release tags spread over the lines (`v<k>.<n>`) and `other_tags` nightly tags on the trunk
    (`nightly-<n>`, not releases). `files` files under src/ (deployed) and a quarter as many under tests/.
    `fixes` fixes on the trunk, each carried to every line forked before it that has a release after it:
    half by `cherry-pick -x`, half by hand (no trailer: found by patch id). The register names the trunk commit only."""
    rnd = random.Random(seed)
    repo = dest / "repo"
    subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True, env=git_env())
    paths = [f"src/{MODULES[i % len(MODULES)]}/F{i:05d}.java" for i in range(files)] + [f"tests/T{i:05d}.java" for i in range(files // 4)]
    stream = io.BytesIO()
    marks = 0
    when = START

    def blob_text(path: str, rev: int, guards: tuple[int, ...]) -> bytes:
        body = "".join(f"    int {WORDS[(len(path) * 7 + sum(path.encode()) + k) % len(WORDS)]}{k} = {k};\n" for k in range(12))
        return (f"// {path}\nclass X {{\n{body}    int rev = {rev};\n" + "".join(f"    void guard{g}() {{ check(input, {g}); }}\n" for g in guards) + "}\n").encode()

    def commit(branch: str, parent: int | None, changes: dict[str, bytes], message: str) -> int:
        nonlocal marks, when
        marks += 1
        when += 600
        head = f"commit refs/heads/{branch}\nmark :{marks}\nauthor A <a@x> {when} +0000\ncommitter A <a@x> {when} +0000\n"
        msg = message.encode()
        stream.write(head.encode() + f"data {len(msg)}\n".encode() + msg + b"\n")
        if parent is not None:
            stream.write(f"from :{parent}\n".encode())
        for path, data in changes.items():
            stream.write(f"M 100644 inline {path}\ndata {len(data)}\n".encode() + data + b"\n")
        stream.write(b"\n")
        return marks

    state: dict[str, dict[str, tuple[int, tuple[int, ...]]]] = {"main": {p: (0, ()) for p in paths}}
    tip = {"main": commit("main", None, {p: blob_text(p, 0, ()) for p in paths}, "import")}
    fork_at = [int(commits * 0.85 * (k + 1) / (lines + 1)) for k in range(lines)]
    fix_at = sorted(rnd.sample(range(commits // 3, int(commits * 0.9)), fixes))
    per_line_releases = [releases // lines + (1 if k < releases % lines else 0) for k in range(lines)]
    release_at = {k: sorted(rnd.sample(range(fork_at[k] + 50, commits), per_line_releases[k])) for k in range(lines)}
    release_steps = {step: k for k, steps in release_at.items() for step in steps}
    nightly = set(rnd.sample(range(1, commits), other_tags))
    tags: list[tuple[str, int]] = []
    register, fix_commits = [], {}
    released_backports = 0
    for step in range(1, commits):
        live = [k for k in range(lines) if fork_at[k] <= step]
        for k in live:
            if fork_at[k] == step:
                state[f"L{k + 1}"] = dict(state["main"])
                tip[f"L{k + 1}"] = tip["main"]
        if step in fix_at:
            i = fix_at.index(step)
            chosen = rnd.sample(paths[:files], 2)
            changes = {}
            for p in chosen:
                rev, guards = state["main"][p]
                state["main"][p] = (rev, (*guards, 1000 + i))
                changes[p] = blob_text(p, rev, state["main"][p][1])
            tip["main"] = commit("main", tip["main"], changes, f"Fix {DEFECTS[i % len(DEFECTS)]} in {chosen[0]} (#{9000 + i})\n")
            fix_commits[i] = tip["main"]
            register.append((i, tip["main"]))
            for k in live:  # carried to every line that has a release after the fix
                if not any(s > step for s in release_at[k]):
                    continue
                branch = f"L{k + 1}"
                backport = {}
                for p in chosen:
                    rev, guards = state[branch][p]
                    state[branch][p] = (rev, (*guards, 1000 + i))
                    backport[p] = blob_text(p, rev, state[branch][p][1])
                trailer = f"\n\n(cherry picked from commit {_placeholder(i)})\n" if k % 2 == 0 else "\n"
                tip[branch] = commit(branch, tip[branch], backport, f"Fix {DEFECTS[i % len(DEFECTS)]} in {chosen[0]}{trailer}")
                released_backports += 1
            continue
        branch = "main" if not live or rnd.random() < 0.4 else f"L{rnd.choice(live) + 1}"
        changes = {}
        for p in rnd.sample(paths, rnd.randint(1, 2)):
            rev, guards = state[branch][p]
            state[branch][p] = (rev + 1, guards)
            changes[p] = blob_text(p, rev + 1, guards)
        tip[branch] = commit(branch, tip[branch], changes, f"{rnd.choice(VERBS)} {changes and next(iter(changes))}\n")
        if step in release_steps:
            k = release_steps[step]
            tags.append((f"v{k + 1}.{release_at[k].index(step)}", tip[f"L{k + 1}"]))
        if step in nightly:
            tags.append((f"nightly-{step}", tip["main"]))
    data = stream.getvalue()
    marks_of = _import_large(repo, data, fix_commits, tags)
    (dest / "FIXES.yaml").write_text(
        "".join(f"- {{id: BIG-{i}, title: fix {i}, severity: high, commits: [{marks_of[m]}]}}\n" for i, m in register), encoding="utf-8"
    )
    return {"commits": commits, "lines": lines, "releases": releases, "tags": len(tags), "fixes": fixes, "released_backports": released_backports}


def _import_large(repo: Path, data: bytes, fix_commits: dict[int, int], tags: list[tuple[str, int]]) -> dict[int, str]:
    """Import in two passes: the trunk's fix commits first get their ids (commits are content-addressed, and the
    trunk never depends on a branch), then the whole stream with the trailers filled in."""
    env = git_env()
    first = _fast_import(repo, data, env)
    marks = {int(m[1:]): sha for m, sha in (line.split() for line in first.splitlines())}
    for i, mark in fix_commits.items():
        data = data.replace(_placeholder(i).encode(), marks[mark].encode())  # as long as the id: the data lengths hold
    for ref in ("refs/heads/" + b for b in subprocess.run(["git", "for-each-ref", "--format=%(refname:short)", "refs/heads"], cwd=repo,
                                                         env=env, capture_output=True, text=True, check=True).stdout.split()):
        subprocess.run(["git", "update-ref", "-d", ref], cwd=repo, env=env, check=True)
    second = _fast_import(repo, data, env)
    marks = {int(m[1:]): sha for m, sha in (line.split() for line in second.splitlines())}
    subprocess.run(["git", "update-ref", "--stdin"], cwd=repo, env=env, check=True,
                   input="".join(f"create refs/tags/{name} {marks[m]}\n" for name, m in tags).encode())
    subprocess.run(["git", "gc", "--quiet", "--prune=now"], cwd=repo, env=env, check=True)
    return marks


def _placeholder(fix: int) -> str:
    return f"FIX{fix:037d}"


def _fast_import(repo: Path, data: bytes, env: dict[str, str]) -> str:
    """Import the stream; the marks file's text (`:<mark> <sha>` lines)."""
    marks = repo / ".git" / "bench-marks"
    done = subprocess.run(["git", "fast-import", "--quiet", "--force", f"--export-marks={marks}"], cwd=repo, input=data, env=env, capture_output=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"git fast-import failed: {done.stderr.decode(errors='replace')[-2000:]}")
    return marks.read_text()


def run_large(args: argparse.Namespace) -> None:
    commits, lines, releases, other = 80_000, 26, 136, 864
    dest = args.workdir / f"large{GENERATOR}-c{commits}-l{lines}-r{releases}-f{args.large_files}-s{args.seed}"
    done = dest / "DONE.json"
    if not done.exists():
        if dest.exists():
            subprocess.run(["rm", "-rf", "--", str(dest)], check=True)
        dest.mkdir(parents=True)
        start = time.perf_counter()
        meta = generate_large(dest, commits, lines, releases, other, args.large_files, 20, args.seed)
        done.write_text(json.dumps(meta) + "\n")
        print(f"generated in {time.perf_counter() - start:.1f} s: {dest}", file=sys.stderr)
    meta = json.loads(done.read_text())
    repo = dest / "repo"
    floors = {
        "git log --all --raw": ["git", "log", "--all", "--raw"],
        "git cat-file --batch-all-objects --batch": ["git", "cat-file", "--batch-all-objects", "--batch"],
    }
    for cmd in floors.values():
        child(cmd, repo, quiet=True)  # warm the page cache
    timed = {name: child(cmd, repo, quiet=True)[:2] for name, cmd in floors.items()}
    rules = [a for k in range(lines) for a in ("--line-of", f"^v{k + 1}\\.=L{k + 1}")]
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "catalog"
        build_args = ["catalog", "build", "--repo", str(repo), "--fixes", str(dest / "FIXES.yaml"), "--include", "src/*", "--map", "src/=",
                      *rules, "--out", str(out)]
        wall, rss, _, report = child([sys.executable, "-m", "drift", *build_args], ROOT)
        catalog = load_catalog(out)
        if args.profile:
            _, _, profile, _ = child([sys.executable, "-m", "cProfile", "-s", "cumtime", "-m", "drift", *build_args], ROOT)
            rows = profile.splitlines()
            head = next((i for i, row in enumerate(rows) if row.lstrip().startswith("ncalls")), 0)
            print("\n".join(rows[max(0, head - 4) : head + 1 + args.profile]))
        planted, found = _backports_found(repo, dest / "FIXES.yaml", out, lines)
    print(f"repository: {meta['commits']:,} commits, {meta['tags']:,} tags ({releases} releases on {lines} lines), {meta['fixes']} fixes")
    print(f"catalog: {len(catalog.releases)} releases of {min(len(r.files) for r in catalog.releases)}-{max(len(r.files) for r in catalog.releases)} files, "
          f"{sum(len(f.variants) for f in catalog.fixes)} variants; planted backports found as their line's landing: {found} of {planted}")
    print(f"build (drift catalog build): {wall:.2f} s wall, {rss:.0f} MiB peak   (target: under 15 s)")
    for name, (floor_wall, floor_rss) in timed.items():
        print(f"{name} > /dev/null: {floor_wall:.2f} s wall, {floor_rss:.0f} MiB peak")
    missing = [line for line in report.splitlines() if "no commit of the fix found" in line]
    print(f"build's report: {len(report.splitlines())} lines, {len(missing)} naming lines without a commit of the fix")


def _backports_found(repo: Path, register: Path, catalog: Path, lines: int) -> tuple[int, int]:
    """(planted, found): the backport commits in the repository (a commit on a line whose subject is a fix's
    trunk subject without its "(#N)"), and how many of them are the commits of their fix's variant on that line."""
    subjects = {}
    for entry in yaml.safe_load(register.read_text(encoding="utf-8")):
        sha = entry["commits"][0]
        subject = subprocess.run(["git", "log", "-1", "--format=%s", sha], cwd=repo, capture_output=True, text=True, check=True).stdout.strip()
        subjects[subject.rsplit(" (#", 1)[0]] = entry["id"]
    landed: dict[tuple[str, str], set[str]] = {}
    for path in (catalog / "fixes").glob("*.yaml"):
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        for variant in doc.get("variants") or []:
            landed.setdefault((doc["id"], variant["line"]), set()).update(variant.get("commits") or [])
    planted = found = 0
    for k in range(1, lines + 1):
        log = subprocess.run(["git", "log", "--format=%H %s", f"main..L{k}"], cwd=repo, capture_output=True, text=True, check=True).stdout
        for row in log.splitlines():
            sha, subject = row.split(" ", 1)
            if subject in subjects:
                planted += 1
                found += any(c.startswith(sha[:12]) or sha.startswith(c) for c in landed.get((subjects[subject], f"L{k}"), ()))
    return planted, found


if __name__ == "__main__":
    main()
