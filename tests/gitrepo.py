"""Real git repositories for the tests, built with the `git` command line and nothing else.

Everything that goes into an object is pinned: author, committer, their dates (a clock that moves one step per
object written), the branch name, and the configuration (the user's and the system's are ignored), so the same
script gives the same commit ids on every machine and every run.

`build_product` builds the one repository `tests/test_catalog_build.py` proves `drift catalog build` on: a
product `kofu` with two maintenance lines and one fix for each case the build must handle. It is built once per
session and copied per test.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import os
import subprocess
import tarfile
from dataclasses import dataclass, field
from pathlib import Path

import yaml

JST = dt.timezone(dt.timedelta(hours=9))
START = dt.datetime(2023, 1, 10, 12, 0, tzinfo=JST)
"""Noon in Japan is 03:00 UTC the same day: a date reads the same in either zone."""

AUTHOR = ("Hanako Kofu", "hanako@kofu.example")
COMMITTER = ("Kofu Release", "release@kofu.example")


def _isodate(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S%z")


def git_env() -> dict[str, str]:
    """An environment in which git ignores the user's and the system's configuration."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(
        GIT_CONFIG_NOSYSTEM="1",
        GIT_CONFIG_GLOBAL=os.devnull,
        GIT_CONFIG_SYSTEM=os.devnull,
        GIT_TERMINAL_PROMPT="0",
        LC_ALL="C",
        TZ="UTC",
    )
    return env


class GitRepo:
    """A repository being written: every object gets the next tick of a clock (one day apart)."""

    def __init__(
        self, path: Path, *, start: dt.datetime = START, step: dt.timedelta = dt.timedelta(days=1), init: bool = True
    ) -> None:
        self.path = path
        self.now = start
        self.step = step
        if not init:
            return
        path.mkdir(parents=True, exist_ok=True)
        self.git("init", "-q", "-b", "main")
        for key, value in {
            "core.autocrlf": "false",
            "commit.gpgsign": "false",
            "tag.gpgsign": "false",
            "merge.ff": "false",
            "gc.auto": "0",
            "advice.detachedHead": "false",
        }.items():
            self.git("config", key, value)

    @classmethod
    def open(cls, path: Path) -> GitRepo:
        """An existing repository (a copy of a built one): read it, or write more with the clock restarted."""
        return cls(path, init=False)

    # -- plumbing -------------------------------------------------------------------------------------------

    def git(self, *args: str, stdin: bytes | None = None, check: bool = True, author: tuple[str, str] = AUTHOR) -> str:
        """Run git in the repository at the clock's time; its stdout, stripped."""
        env = git_env()
        when = _isodate(self.now)
        env.update(
            GIT_AUTHOR_NAME=author[0],
            GIT_AUTHOR_EMAIL=author[1],
            GIT_AUTHOR_DATE=when,
            GIT_COMMITTER_NAME=COMMITTER[0],
            GIT_COMMITTER_EMAIL=COMMITTER[1],
            GIT_COMMITTER_DATE=when,
        )
        done = subprocess.run(["git", *args], cwd=self.path, env=env, input=stdin, capture_output=True, check=False)
        if check and done.returncode != 0:
            raise AssertionError(f"git {' '.join(args)} failed ({done.returncode}): {done.stderr.decode(errors='replace')}")
        return done.stdout.decode("utf-8", errors="surrogateescape").strip()

    def tick(self) -> None:
        self.now += self.step

    def rev(self, ref: str) -> str:
        """The full id of the commit `ref` names."""
        return self.git("rev-parse", "--verify", f"{ref}^{{commit}}")

    # -- writing history ------------------------------------------------------------------------------------

    def write(self, files: dict[str, str | bytes | None]) -> None:
        """Write files into the work tree and stage them; None deletes one."""
        for rel, content in files.items():
            target = self.path / rel
            if content is None:
                self.git("rm", "-q", "--", rel)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
            self.git("add", "--", rel)

    def commit(self, message: str, files: dict[str, str | bytes | None] | None = None, *, author: tuple[str, str] = AUTHOR) -> str:
        """Stage `files` and commit them (an empty commit when nothing changed is refused)."""
        self.tick()
        if files:
            self.write(files)
        self.git("commit", "-q", "-m", message, author=author)
        return self.rev("HEAD")

    def mv(self, old: str, new: str, message: str, content: str | None = None) -> str:
        """Rename a file with `git mv` (optionally editing it) and commit."""
        self.tick()
        (self.path / new).parent.mkdir(parents=True, exist_ok=True)
        self.git("mv", old, new)
        if content is not None:
            self.write({new: content})
        self.git("commit", "-q", "-m", message)
        return self.rev("HEAD")

    def branch(self, name: str, at: str) -> None:
        self.git("branch", name, at)

    def checkout(self, name: str) -> None:
        self.git("checkout", "-q", name)

    def cherry_pick(self, sha: str, *, trailer: bool = True) -> str:
        """`git cherry-pick [-x]`: with -x the message gets `(cherry picked from commit <sha>)`."""
        self.tick()
        self.git("cherry-pick", *(["-x"] if trailer else []), sha)
        return self.rev("HEAD")

    def revert(self, sha: str) -> str:
        self.tick()
        self.git("revert", "--no-edit", sha)
        return self.rev("HEAD")

    def merge(self, branch: str, message: str) -> str:
        """A merge commit even where a fast-forward would do (`--no-ff`)."""
        self.tick()
        self.git("merge", "-q", "--no-ff", "-m", message, branch)
        return self.rev("HEAD")

    def merge_resolved(self, branch: str, message: str, files: dict[str, str | bytes | None]) -> str:
        """A merge of `branch` whose tree is this branch's with `files` written: a merge whose conflicts a
        person resolved (`merge -s ours --no-commit`, then the resolution)."""
        self.tick()
        self.git("merge", "-q", "--no-ff", "--no-commit", "-s", "ours", branch)
        self.write(files)
        self.git("commit", "-q", "-m", message)
        return self.rev("HEAD")

    def tag(self, name: str, message: str | None = None, at: str = "HEAD") -> None:
        """An annotated tag with `message` (dated by the clock), else a lightweight one (dated by its commit)."""
        self.tick()
        if message is None:
            self.git("tag", name, at)
        else:
            self.git("tag", "-a", "-m", message, name, at)

    # -- reading it back ------------------------------------------------------------------------------------

    def is_ancestor(self, commit: str, ref: str) -> bool:
        """True when `commit` is in the history of `ref` (`git merge-base --is-ancestor`)."""
        env = git_env()
        done = subprocess.run(["git", "merge-base", "--is-ancestor", commit, ref], cwd=self.path, env=env, capture_output=True, check=False)
        if done.returncode not in (0, 1):
            raise AssertionError(done.stderr.decode(errors="replace"))
        return done.returncode == 0

    def tags(self) -> list[str]:
        return self.git("tag", "--list").splitlines()

    def changed_paths(self, commit: str) -> list[str]:
        """The paths a commit changes against its first parent (a merge: what it brings into its line)."""
        out = self.git("diff", "--no-renames", "--name-only", "-z", f"{commit}^1", commit)
        return sorted(p for p in out.split("\0") if p)

    def tree_files(self, ref: str, prefix: str = "") -> dict[str, bytes]:
        """Every file of `ref` under `prefix` (paths as in the repository), with its bytes."""
        data = subprocess.run(
            ["git", "archive", "--format=tar", ref, *([prefix] if prefix else [])],
            cwd=self.path, env=git_env(), capture_output=True, check=True,
        ).stdout
        files: dict[str, bytes] = {}
        with tarfile.open(fileobj=io.BytesIO(data)) as archive:
            for member in archive.getmembers():
                if member.isfile():
                    handle = archive.extractfile(member)
                    assert handle is not None
                    files[member.name] = handle.read()
        return files

    def export(self, ref: str, dest: Path, prefix: str = "") -> Path:
        """Write the files of `ref` under `prefix` into `dest` (a checkout without .git); returns dest/prefix."""
        for rel, data in self.tree_files(ref, prefix).items():
            target = dest / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        return dest / prefix if prefix else dest


def sha256_token(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


# ---------------------------------------------------------------------------------------------------------------
# The product
# ---------------------------------------------------------------------------------------------------------------


def java(package: str, name: str, *body: str) -> str:
    lines = [f"package jp.kofu.{package};", "", f"public class {name} {{", *(f"    {b}" for b in body), "}", ""]
    return "\n".join(lines)


def properties(version: str) -> str:
    return f"# kofu application settings\nkofu.version={version}\nprint.lock.release_on_timeout=false\n"


LOGIN_7 = java(
    "auth", "Login",
    "static final int MAX_ATTEMPTS = 5;",
    "boolean check(String user, String password) {",
    "    return Directory.verify(user, password);",
    "}",
)
LOGIN_8 = java(
    "auth", "Login",
    "static final int MAX_ATTEMPTS = 5;",
    "private final Directory directory;",
    "Login(Directory directory) { this.directory = directory; }",
    "Result check(Credentials credentials) {",
    "    return directory.verify(credentials);",
    "}",
)


@dataclass
class Product:
    """The repository and what a test needs to know about it."""

    repo: GitRepo
    commits: dict[str, str] = field(default_factory=dict)
    """Named commits: `A8` is fix A on 8.x, `A7` its backport on 7.x, `E-revert` the revert of E, ...
    (the fixes and what each tests: see tests/test_catalog_build.py)."""
    fixes: list[dict[str, object]] = field(default_factory=list)
    """The fix register (FIXES.yaml) as written."""

    @property
    def path(self) -> Path:
        return self.repo.path


# Fix ids: distinct enough that none is a part of another.
A, B, C, D, E, F, G, H, I, J, K = (
    "KOFU-A-CHERRY-PICKED",
    "KOFU-B-BACKPORT-OF",
    "KOFU-C-CONFLICTED",
    "KOFU-D-MERGED",
    "KOFU-E-REVERTED",
    "KOFU-F-RENAMED",
    "KOFU-G-TESTS-ONLY",
    "KOFU-H-ADDS-FILE",
    "KOFU-I-DELETES-FILE",
    "KOFU-J-PATCH-ID",
    "KOFU-K-MOVED",
)

RELEASE_TAGS = ("v7.4.0", "v7.4.1", "v7.4.2", "v8.0.0", "v8.0.1", "v8.1.0")
PRE_RELEASE_TAGS = ("v8.1.0-rc1",)
LINE_OF = ("^v?7\\.=7.x", "^v?8\\.=8.x")


def line_of_tag(tag: str) -> str:
    return "7.x" if tag.startswith("v7.") else "8.x"


def build_product(path: Path) -> Product:
    """Build the repository of the fictional product `kofu` (see the timeline in the comments)."""
    repo = GitRepo(path)
    p = Product(repo)
    c = p.commits

    # The initial import. Deployed: src/** (deploy root = src/). Not deployed: tests/, build.gradle, README.md.
    c["import"] = repo.commit("Initial import of kofu", {
        "README.md": "# kofu\n\nCertificate issuance.\n",
        "build.gradle": "plugins { id 'java' }\n",
        "src/app/print/IssueJob.java": java(
            "print", "IssueJob",
            "Certificate issue(Resident resident) {",
            "    Record record = registry.read(resident.id());",
            "    return printer.print(record);",
            "}",
        ),
        "src/app/print/Render.java": java("print", "Render", "int margin(int m) {", "    int margin = m;", "    return margin;", "}"),
        "src/app/auth/Login.java": LOGIN_7,
        "src/app/auth/Session.java": java(
            "auth", "Session",
            "static final int TIMEOUT_MINUTES = 30;",
            "boolean expired(long idleMinutes) {",
            "    return idleMinutes > TIMEOUT_MINUTES * 60;",
            "}",
        ),
        "src/app/cache/Cache.java": java("cache", "Cache", "int capacity() {", "    return 1024;", "}"),
        "src/app/print/Stamp.java": java("print", "Stamp", "byte[] seal(Certificate c) {", "    return Seal.sign(c.bytes(), Keys.DEFAULT);", "}"),
        "src/app/util/Strings.java": java("util", "Strings", "static String trim(String s) {", "    return s.trim();", "}"),
        "src/app/legacy/XmlImport.java": java("legacy", "XmlImport", "Document parse(InputStream in) {", "    return factory.parse(in);", "}"),
        "src/app/feature/Export.java": java("feature", "Export", "String row(String[] fields) {", "    return String.join(\",\", fields);", "}"),
        "src/conf/app.properties": properties("7.4.0-SNAPSHOT"),
        "tests/IssueJobTest.java": java("print", "IssueJobTest", "@Test void issues() {", "    assertNotNull(job.issue(resident));", "}"),
    })
    c["branch-point"] = repo.commit("Build: Java 11", {"build.gradle": "plugins { id 'java' }\njava { sourceCompatibility = 11 }\n"})

    # 7.x branches from that early commit and is released as 7.4.0.
    repo.branch("7.x", c["branch-point"])
    repo.checkout("7.x")
    c["7.4.0"] = repo.commit("Release 7.4.0", {"src/conf/app.properties": properties("7.4.0")})
    repo.tag("v7.4.0", "kofu 7.4.0")

    # main goes on to 8.0: the login is rewritten, so a later login fix cannot be cherry-picked to 7.x as is.
    repo.checkout("main")
    c["8.0-login"] = repo.commit("Login: credentials object, injected directory", {"src/app/auth/Login.java": LOGIN_8})
    c["8.0.0"] = repo.commit("Release 8.0.0", {"src/conf/app.properties": properties("8.0.0")})
    repo.tag("v8.0.0", "kofu 8.0.0")
    repo.tag("ci-nightly-0042")  # not a release: does not match the default --tags

    # The fixes, on main (8.x), between 8.0.0 and 8.0.1.
    c["A8"] = repo.commit("IssueJob: lock the resident record while issuing", {
        "src/app/print/IssueJob.java": java(
            "print", "IssueJob",
            "Certificate issue(Resident resident) {",
            "    try (Lock lock = registry.lock(resident.id())) {",
            "        Record record = registry.read(resident.id());",
            "        return printer.print(record);",
            "    }",
            "}",
        ),
    })
    c["B8"] = repo.commit("Render: clamp a negative margin", {
        "src/app/print/Render.java": java("print", "Render", "int margin(int m) {", "    int margin = Margins.clamp(m);", "    return margin;", "}"),
    })
    c["C8"] = repo.commit("Login: lock out after MAX_ATTEMPTS failures", {
        "src/app/auth/Login.java": LOGIN_8.replace(
            "    return directory.verify(credentials);",
            "    if (attempts.exceeded(credentials.user(), MAX_ATTEMPTS)) return Result.LOCKED;\n"
            "        return directory.verify(credentials);",
        ),
    })
    # D lands through a feature branch merged with --no-ff; a tests-only fix (G) lands on main meanwhile.
    repo.branch("fix/export-escaping", "HEAD")
    repo.checkout("fix/export-escaping")
    c["D-1"] = repo.commit("Export: quote fields", {
        "src/app/feature/Export.java": java("feature", "Export", "String row(String[] fields) {", "    return Csv.join(fields);", "}"),
    })
    c["D-2"] = repo.commit("Export: CSV quoting helper", {
        "src/app/feature/Csv.java": java(
            "feature", "Csv", "static String join(String[] fields) {", "    return quoteEach(fields);", "}",
        ),
    })
    repo.checkout("main")
    c["G8"] = repo.commit("IssueJobTest: cover concurrent updates", {
        "tests/IssueJobTest.java": java(
            "print", "IssueJobTest", "@Test void issues() {", "    assertNotNull(job.issue(resident));", "}",
            "@Test void concurrentUpdate() {", "    assertSame(resident, job.issue(resident).resident());", "}",
        ),
    })
    c["D8"] = repo.merge("fix/export-escaping", "Merge branch 'fix/export-escaping': CSV injection in exports")
    c["E8"] = repo.commit("Cache: bound the capacity by memory", {
        "src/app/cache/Cache.java": java("cache", "Cache", "int capacity() {", "    return Memory.bounded(1024);", "}"),
    })
    c["F8"] = repo.commit("Strings: trim full-width spaces", {
        "src/app/print/Stamp.java": java("print", "Stamp", "byte[] seal(Certificate c) {", "    return Seal.sign(c.bytes(), Keys.DEFAULT);", "}"),
        "src/app/util/Strings.java": java("util", "Strings", "static String trim(String s) {", "    return s.strip();", "}"),
    })
    c["H8"] = repo.commit("Audit log of every issuance", {
        "src/app/audit/AuditLog.java": java("audit", "AuditLog", "void issued(Certificate c) {", "    journal.append(c);", "}"),
    })
    c["I8"] = repo.commit("Remove the XML import (XXE)", {"src/app/legacy/XmlImport.java": None})
    c["J8"] = repo.commit("Session: timeout in minutes, not seconds", {
        "src/app/auth/Session.java": java(
            "auth", "Session",
            "static final int TIMEOUT_MINUTES = 30;",
            "boolean expired(long idleMinutes) {",
            "    return idleMinutes > TIMEOUT_MINUTES;",
            "}",
        ),
    })
    c["K8"] = repo.commit("Stamp: sign with the municipality's key", {
        "src/app/print/Stamp.java": java("print", "Stamp", "byte[] seal(Certificate c) {", "    return Seal.sign(c.bytes(), Keys.of(c.issuer()));", "}"),
    })
    c["8.0.1"] = repo.commit("Release 8.0.1", {"src/conf/app.properties": properties("8.0.1")})
    repo.tag("v8.0.1")  # lightweight: dated by its commit

    # Backports to 7.x.
    repo.checkout("7.x")
    c["A7"] = repo.cherry_pick(c["A8"], trailer=True)  # (a) cherry-pick -x: trailer, same patch
    c["B7"] = repo.commit(  # (b) by hand: another patch, found only by its message
        f"Render: clamp a negative margin (7.x)\n\nThe 7.x renderer has no Margins helper.\n\nBackport of {c['B8']}\n",
        {"src/app/print/Render.java": java("print", "Render", "int margin(int m) {", "    int margin = Math.max(0, m);", "    return margin;", "}")},
    )
    c["C7"] = repo.commit(  # (c) conflict resolved by hand, no trailer: nothing ties it to C8
        "Login: lock out after five failures",
        {"src/app/auth/Login.java": LOGIN_7.replace(
            "    return Directory.verify(user, password);",
            "    if (Attempts.count(user) >= MAX_ATTEMPTS) return false;\n        return Directory.verify(user, password);",
        )},
    )
    c["7.4.1"] = repo.commit("Release 7.4.1", {"src/conf/app.properties": properties("7.4.1")})
    repo.tag("v7.4.1", "kofu 7.4.1")
    c["I7"] = repo.cherry_pick(c["I8"], trailer=True)  # (i) registered with both commits
    c["J7"] = repo.cherry_pick(c["J8"], trailer=False)  # (j) no trailer: same patch, found by patch-id
    c["7.4.2"] = repo.commit("Release 7.4.2", {"src/conf/app.properties": properties("7.4.2")})
    repo.tag("v7.4.2", "kofu 7.4.2")

    # main after 8.0.1: E is reverted, Strings.java renamed, then 8.1.0-rc1 and 8.1.0.
    repo.checkout("main")
    c["E-revert"] = repo.revert(c["E8"])
    c["F-rename"] = repo.mv(
        "src/app/util/Strings.java", "src/app/util/Text.java", "Rename Strings to Text",
        content=java("util", "Text", "static String trim(String s) {", "    return s.strip();", "}"),
    )
    c["K-move"] = repo.mv("src/app/print/Stamp.java", "src/app/print/seal/Stamp.java", "Move Stamp into print/seal")
    c["8.1.0-rc1"] = repo.commit("8.1.0 release candidate 1", {"src/conf/app.properties": properties("8.1.0-rc1")})
    repo.tag("v8.1.0-rc1")
    c["8.1.0"] = repo.commit("Release 8.1.0", {"src/conf/app.properties": properties("8.1.0")})
    repo.tag("v8.1.0", "kofu 8.1.0")

    p.fixes = [
        {"id": A, "title": "Another resident's certificate under a concurrent update", "severity": "critical",
         "published": "2023-03-01", "commits": [c["A8"]]},
        {"id": B, "title": "Negative margin crashes printing", "severity": "medium", "commits": [c["B8"]]},
        {"id": C, "title": "No lockout after failed logins", "severity": "high", "commits": [c["C8"]]},
        {"id": D, "title": "CSV injection in exports", "severity": "high", "commits": [c["D8"]]},
        {"id": E, "title": "Cache grows without bound", "severity": "medium", "commits": [c["E8"]]},
        {"id": F, "title": "Full-width spaces kept in names", "severity": "low", "aliases": ["KOFU-F-OLD"], "commits": [c["F8"]]},
        {"id": G, "title": "Concurrent update untested", "severity": "low", "applies_to": {"editions": ["standard", "seirei"]},
         "commits": [c["G8"]]},
        {"id": H, "title": "Issuance not audited", "severity": "high", "commits": [c["H8"]]},
        {"id": I, "title": "XXE in the XML import", "severity": "critical", "commits": [c["I8"], c["I7"]]},
        {"id": J, "title": "Session timeout 60 times too long", "severity": "high", "commits": [c["J8"]]},
        {"id": K, "title": "Certificates sealed with the vendor's key", "severity": "critical", "commits": [c["K8"]]},
    ]
    return p


def write_fixes(path: Path, fixes: list[dict[str, object]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(fixes, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path
