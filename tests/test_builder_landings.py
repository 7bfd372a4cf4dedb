"""`drift catalog build` on histories shaped like real ones, each verdict checked against git ancestry.

Each test builds a small real repository (tests/gitrepo.py), builds the catalog through the CLI, then for every
release tag exports the deployed files, collects them as a tenant, scans, and asserts that the fix is `applied`
exactly where one of its landings (`git merge-base --is-ancestor`) is in the tag's history, and never
`missing` or `partial` where it is:
- two landings of one fix on one line that diverge (a maintenance release and a separate squash on main,
  whose next release is on the same line);
- a never-tagged trunk, the register naming only the trunk commit, backports made by a bot (no trailer, a
  "backport of PR #N as merged into master (<sha>)" body) and by hand conflicting in one file (per-file patch id);
- a fix made on the oldest maintenance line and merged up into three newer lines, a header split on one;
- a later refactor that deletes one of a fix's files, and another line that lost the file without the fix.
- a fix's file moved into a vendored library, with changes, before the next lines were cut from main.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from drift.catalog import load_catalog
from drift.catalog.builder.backports import references
from drift.cli import main
from drift.collect import collect
from drift.scan import run_scan
from drift.tenants import load_registry
from tests.gitrepo import GitRepo

NOW = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)


def build(repo: GitRepo, tmp: Path, fixes: list[dict[str, object]], line_of: list[str], *extra: str):
    register = tmp / "FIXES.yaml"
    register.write_text(yaml.safe_dump(fixes, sort_keys=False), encoding="utf-8")
    out = tmp / "manifests"
    args = ["catalog", "build", "--repo", str(repo.path), "--fixes", str(register), "--include", "src/*", "--map", "src/=",
            *(a for rule in line_of for a in ("--line-of", rule)), "--product", "p", "--out", str(out), *extra]
    result = CliRunner().invoke(main, args)
    return result, out


def verdicts(repo: GitRepo, catalog: Path, tmp: Path, artifacts: Path | None = None) -> dict[tuple[str, str], str]:
    """(tag, fix) -> the status a tenant running that tag gets."""
    inventory = tmp / "inventory"
    inventory.mkdir()
    registry = []
    for tag in repo.tags():
        root = repo.export(tag, tmp / "roots" / tag, "src")
        if artifacts is not None and (artifacts / tag[1:]).is_dir():
            for path in (artifacts / tag[1:]).rglob("*"):
                if path.is_file():
                    target = root / path.relative_to(artifacts / tag[1:])
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_bytes(path.read_bytes())
        tid = "t-" + tag.replace(".", "-")
        (inventory / f"{tid}.json").write_text(collect(root, tid, jobs=1, now=NOW).text, encoding="utf-8")
        registry.append({"id": tid, "name": tag})
    (inventory / "tenants.yaml").write_text(yaml.safe_dump(registry), encoding="utf-8")
    scan = run_scan(load_catalog(catalog), load_registry(inventory), inventory)
    return {(r.tenant.name, f.fix): f.status for r in scan.tenants for f in r.findings}


def wrong(repo: GitRepo, found: dict[tuple[str, str], str], landings: dict[str, list[str]]) -> list[str]:
    """Where the verdict disagrees with git: applied exactly where a landing is an ancestor of the tag."""
    bad = []
    for (tag, fix), status in sorted(found.items()):
        carried = any(repo.is_ancestor(c, tag) for c in landings[fix])
        if (status == "applied") != carried or (carried and status in ("missing", "partial")):
            bad.append(f"{tag} {fix}: {status}, though the fix is {'' if carried else 'not '}in its history")
    return bad


def _tenant(repo: GitRepo, out: Path, tmp: Path, tag: str, files: dict[str, str | None], fix_id: str):
    """The finding for a tenant running `tag` with `files` written over it (a name mapped to None is removed)."""
    root = repo.export(tag, tmp / "tenant" / tag, "src")
    for name, data in files.items():
        if data is None:
            (root / name).unlink()
        else:
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            (root / name).write_text(data, encoding="utf-8")
    inventory = tmp / "tenant-inventory" / tag
    inventory.mkdir(parents=True)
    (inventory / "t.json").write_text(collect(root, "t", jobs=1, now=NOW).text, encoding="utf-8")
    (inventory / "tenants.yaml").write_text(yaml.safe_dump([{"id": "t", "name": tag}]), encoding="utf-8")
    scan = run_scan(load_catalog(out), load_registry(inventory), inventory)
    return next(f for f in scan.tenants[0].findings if f.fix == fix_id)


def java(name: str, *body: str) -> str:
    return "\n".join([f"public class {name} {{", *(f"    {b}" for b in body), "}", ""])


def test_two_diverging_landings_on_one_line_are_two_variants(tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "repo")
    repo.commit("start", {"src/Parse.java": java("Parse", "int limit = 10;", "int parse() { return read(limit); }")})
    repo.tag("v1.2.0")
    repo.branch("1.2", "HEAD")
    repo.commit("main moves on", {"src/Other.java": java("Other", "int x = 1;")})
    repo.checkout("1.2")
    maint = repo.commit("Parse: bound the input (security)", {
        "src/Parse.java": java("Parse", "int limit = 10;", "int parse() { return read(Math.min(limit, 8)); }"),
    })
    repo.tag("v1.2.1")
    repo.checkout("main")
    squash = repo.commit("Squashed: Parse bound, and tidy", {
        "src/Parse.java": java("Parse", "static final int LIMIT = 10;", "int parse() { return read(Math.min(LIMIT, 8)); }"),
    })
    repo.tag("v1.3.0")
    repo.commit("later", {"src/Other.java": java("Other", "int x = 2;")})
    repo.tag("v1.3.1")
    fixes = [{"id": "SEC-1", "title": "t", "severity": "high", "commits": [maint, squash]}]
    result, out = build(repo, tmp_path, fixes, ["^v1=1.x"])
    assert result.exit_code == 0, result.stderr
    doc = yaml.safe_load((out / "fixes" / "SEC-1.yaml").read_text(encoding="utf-8"))
    assert [(v["line"], v["commits"]) for v in doc["variants"]] == [("1.x", [maint]), ("1.x", [squash])]
    found = verdicts(repo, out, tmp_path)
    assert wrong(repo, found, {"SEC-1": [maint, squash]}) == []
    assert found[("v1.3.1", "SEC-1")] == "applied"


def test_a_never_tagged_trunk_with_bot_and_conflicting_backports(tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "repo")
    body_a = ["int check(String s) {", "    if (s == null) return 0;", "    return s.length();", "}"]
    body_b = ["String render(String s) {", "    return template.fill(s);", "}"]
    repo.commit("start", {"src/A.java": java("A", *body_a), "src/B.java": java("B", *body_b)})
    repo.branch("1.0", "HEAD")
    repo.commit("trunk work", {"src/C.java": java("C", "int c = 3;")})
    repo.branch("1.1", "HEAD")
    repo.commit("more trunk work", {"src/C.java": java("C", "int c = 4;")})
    for branch, tag in (("1.0", "v1.0.0"), ("1.1", "v1.1.0")):
        repo.checkout(branch)
        repo.commit(f"release {tag}", {"src/version.txt": tag + "\n"})
        repo.tag(tag)
    repo.checkout("main")
    fixed_a = [b.replace("return s.length();", "return Math.min(s.length(), MAX_LENGTH_ALLOWED_BY_POLICY);") for b in body_a]
    fixed_b = [b.replace("template.fill(s)", "template.fill(Html.escapeEverything(s))") for b in body_b]
    trunk = repo.commit("Escape input and bound its length (#123)", {"src/A.java": java("A", *fixed_a), "src/B.java": java("B", *fixed_b)})
    repo.commit("trunk goes on", {"src/C.java": java("C", "int c = 5;")})
    # 1.1: the bot's backport: the same patch, no trailer, a body naming the trunk commit.
    repo.checkout("1.1")
    bot = repo.commit(
        f"[1.1] Escape input and bound its length (#124)\n\nThis is a backport of PR #123 as merged into master ({trunk}).\n",
        {"src/A.java": java("A", *fixed_a), "src/B.java": java("B", *fixed_b)},
    )
    repo.tag("v1.1.1")
    # 1.0: by hand, B.java conflicted and was resolved differently; no trailer, no body.
    repo.checkout("1.0")
    hand = repo.commit("Escape input and bound its length", {
        "src/A.java": java("A", *fixed_a),
        "src/B.java": java("B", *[b.replace("template.fill(s)", "template.fill(Escaper.html(s))") for b in body_b]),
    })
    repo.tag("v1.0.1")
    fixes = [{"id": "SEC-2", "title": "t", "severity": "critical", "commits": [trunk]}]
    result, out = build(repo, tmp_path, fixes, ["^v1\\.0=1.0", "^v1\\.1=1.1"])
    assert result.exit_code == 0, result.stderr
    report = result.stderr
    assert f"1.0: {hand[:12]} (found: same patch id for src/A.java)" in report, report
    assert f"1.1: {bot[:12]} (found: its backport body names {trunk[:12]})" in report, report
    assert "judged by the commit's own files" not in report, report
    found = verdicts(repo, out, tmp_path)
    assert wrong(repo, found, {"SEC-2": [trunk, bot, hand]}) == []


def test_a_fix_merged_up_into_three_newer_lines_with_a_header_split_on_one(tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "repo")
    header = "#pragma once\nint parse(const char *s);\n"
    code = "#include \"decl.h\"\nint parse(const char *s) { return s[0]; }\n"
    repo.commit("start", {"src/decl.h": header, "src/parse.c": code})
    tags = {}
    for version in ("1.0", "1.1", "1.2", "1.3"):
        repo.branch(version, "HEAD")
        repo.checkout(version)
        if version == "1.2":  # the header is split on 1.2: declarations of checks go to checks.h
            repo.commit("Split checks.h out of decl.h", {"src/checks.h": "#pragma once\nint valid(const char *s);\n",
                                                          "src/decl.h": header + "#include \"checks.h\"\n"})
        repo.commit(f"release {version}.0", {"src/version.txt": f"{version}.0\n"})
        repo.tag(f"v{version}.0")
        tags[version] = f"v{version}.0"
    repo.checkout("1.0")
    fixed_code = code.replace("return s[0];", "return valid(s) ? s[0] : -1;")
    fix = repo.commit("parse: refuse an empty string (CVE)", {"src/decl.h": header + "int valid(const char *s);\n", "src/parse.c": fixed_code})
    repo.commit("release 1.0.1", {"src/version.txt": "1.0.1\n"})
    repo.tag("v1.0.1")
    merges = []
    for older, newer in (("1.0", "1.1"), ("1.1", "1.2"), ("1.2", "1.3")):
        repo.checkout(newer)
        files: dict[str, str | bytes | None] = {"src/parse.c": fixed_code, "src/version.txt": f"{newer}.1\n"}
        if newer == "1.1":
            files["src/decl.h"] = header + "int valid(const char *s);\n"
        if newer == "1.2":
            files["src/checks.h"] = "#pragma once\nint valid(const char *s);\nint valid_len(const char *s);\n"
        merges.append(repo.merge_resolved(older, f"Merge {older} into {newer}", files))
        repo.tag(f"v{newer}.1")
    fixes = [{"id": "CVE-1", "title": "t", "severity": "critical", "commits": [fix]}]
    rules = [f"^v{v.replace('.', '[.]')}[.]={v}.x" for v in ("1.0", "1.1", "1.2", "1.3")]
    result, out = build(repo, tmp_path, fixes, rules)
    assert result.exit_code == 0, result.stderr
    doc = yaml.safe_load((out / "fixes" / "CVE-1.yaml").read_text(encoding="utf-8"))
    by_line = {v["line"]: v for v in doc["variants"]}
    assert sorted(by_line) == ["1.0.x", "1.1.x", "1.2.x", "1.3.x"]
    assert sorted(f["path"] for f in by_line["1.2.x"]["files"]) == ["checks.h", "parse.c", "version.txt"]
    found = verdicts(repo, out, tmp_path)
    assert wrong(repo, found, {"CVE-1": [fix]}) == []


def test_a_file_deleted_later_by_a_refactor_proves_nothing(tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "repo")
    repo.commit("start", {"src/X.java": java("X", "int x() { return 1; }"), "src/Y.java": java("Y", "int y() { return 1; }")})
    repo.tag("v1.0.0")
    repo.branch("2.x", "HEAD")
    fix = repo.commit("fix X and Y", {"src/X.java": java("X", "int x() { return 2; }"), "src/Y.java": java("Y", "int y() { return 2; }")})
    repo.tag("v1.0.1")
    repo.commit("refactor: Y goes", {"src/Y.java": None, "src/Z.java": java("Z", "completely different code here", "and more of it")})
    repo.tag("v1.0.2")
    repo.checkout("2.x")
    repo.commit("2.x refactor: Y goes too", {"src/Y.java": None})
    repo.tag("v2.0.0")
    fixes = [{"id": "FIX-3", "title": "t", "severity": "high", "commits": [fix]}]
    result, out = build(repo, tmp_path, fixes, ["^v1=1.x", "^v2=2.x"])
    assert result.exit_code == 0, result.stderr
    entry = next(f for f in yaml.safe_load((out / "fixes" / "FIX-3.yaml").read_text(encoding="utf-8"))["variants"][0]["files"]
                 if f["path"] == "Y.java")
    assert "absent" in entry["fixed"] and "absent" in entry["unfixed"]
    found = verdicts(repo, out, tmp_path)
    assert wrong(repo, found, {"FIX-3": [fix]}) == []
    assert found[("v2.0.0", "FIX-3")] == "missing"


def test_a_commit_that_adds_the_same_licence_file_elsewhere_is_not_a_backport(tmp_path: Path) -> None:
    """Patch ids per file tie two commits only through a change to the same file: two commits that each
    vendor a library with the same licence text are not one fix (found on a real history, where a fix that
    vendored one package was taken as landed on three lines through a merge that vendored another)."""
    licence = "Apache License\nVersion 2.0, January 2004\nhttp://www.apache.org/licenses/\n"
    repo = GitRepo(tmp_path / "repo")
    repo.commit("start", {"src/A.java": java("A", "int a() { return read(); }"), "src/deps.txt": "base 1.0\n"})
    repo.branch("1.0", "HEAD")
    repo.checkout("1.0")
    repo.commit("release 1.0.0", {"src/version.txt": "1.0.0\n"})
    repo.tag("v1.0.0")
    repo.checkout("main")
    fix = repo.commit("A: vendor the checked reader (security)", {
        "src/A.java": java("A", "int a() { return CheckedReader.read(); }"),
        "src/vendor/checked/LICENSE": licence,
        "src/deps.txt": "base 1.0\nchecked 2.1\n",
    })
    repo.tag("v1.1.0")
    repo.checkout("1.0")
    other = repo.commit("vendor the logging library", {"src/vendor/logging/LICENSE": licence, "src/deps.txt": "base 1.0\nlogging 3.0\n"})
    repo.tag("v1.0.1")
    fixes = [{"id": "SEC-4", "title": "t", "severity": "high", "commits": [fix]}]
    result, out = build(repo, tmp_path, fixes, ["^v1\\.0=1.0", "^v1\\.1=1.1"])
    assert result.exit_code == 0, result.stderr
    assert other[:12] not in result.stderr, result.stderr
    assert "SEC-4: no commit of the fix found on 1.0" in result.stderr, result.stderr
    found = verdicts(repo, out, tmp_path)
    assert wrong(repo, found, {"SEC-4": [fix]}) == []
    assert found[("v1.0.1", "SEC-4")] == "missing"


def test_a_trailer_on_a_commit_that_changes_none_of_the_fix_s_files_is_not_a_landing(tmp_path: Path) -> None:
    """A cherry-pick trailer is the vendor's word: on a line that never got the fix, a commit that changes
    only a notes file but says "(cherry picked from commit <fix>)" would make every later release of that
    line read `applied` through the notes file. It is left out and reported, and the release reads `missing`.
    A real backport to a file of another name (the code was moved on main after the line was cut) makes the
    fix's change all the same, and is taken."""
    before = java("A", "int a(String s) { return s.length(); }")
    after = java("A", "int a(String s) { return Math.min(s.length(), 64); }")
    repo = GitRepo(tmp_path / "repo")
    repo.commit("start", {"src/Old.java": before, "src/NOTES.txt": "notes\n"})
    for line in ("0.9", "1.0"):
        repo.branch(line, "HEAD")
        repo.checkout(line)
        repo.commit(f"release {line}.0", {"src/version.txt": f"{line}.0\n"})
        repo.tag(f"v{line}.0")
        repo.checkout("main")
    repo.commit("move Old to A", {"src/A.java": before, "src/Old.java": None})
    fix = repo.commit("A: bound the length (security)", {"src/A.java": after})
    repo.tag("v1.1.0")
    repo.checkout("1.0")
    moved = repo.commit(f"A: bound the length\n\n(cherry picked from commit {fix})\n", {"src/Old.java": after})
    repo.tag("v1.0.1")
    repo.checkout("0.9")
    forged = repo.commit(f"A: bound the length\n\n(cherry picked from commit {fix})\n", {"src/NOTES.txt": "notes, and the length is bounded\n"})
    repo.tag("v0.9.1")
    fixes = [{"id": "SEC-6", "title": "t", "severity": "high", "commits": [fix]}]
    result, out = build(repo, tmp_path, fixes, ["^v0\\.9=0.9", "^v1\\.0=1.0", "^v1\\.1=1.1"])
    assert result.exit_code == 0, result.stderr
    assert (
        f"check: SEC-6: {forged[:12]} (its cherry-pick trailer names {fix[:12]}) changes none of the fix's files; not taken"
        in result.stderr
    ), result.stderr
    assert f"1.0: {moved[:12]} (found: its cherry-pick trailer names {fix[:12]})" in result.stderr, result.stderr
    assert "SEC-6: no commit of the fix found on 0.9" in result.stderr, result.stderr
    found = verdicts(repo, out, tmp_path)
    assert wrong(repo, found, {"SEC-6": [fix, moved]}) == []
    assert found[("v0.9.1", "SEC-6")] == "missing"
    assert found[("v1.0.1", "SEC-6")] == "applied"


@pytest.mark.parametrize("trailer", ["(cherry picked from commit {})", "(cherry pick from commit {})", "(cherry-picked from commit {})"])
def test_a_cherry_pick_trailer_as_people_type_it_names_its_commit(trailer: str) -> None:
    """git writes "cherry picked from"; a backport written by hand on a real history said "cherry pick from"."""
    sha = "30302a2850c2b64931bc725902361e1c53a7eacf"
    message = f"[1.2] mount: add string representation of mount flags\n\n{trailer.format(sha)}\n".encode()
    assert references(message) == [(sha, "cherry-pick trailer")]


def test_a_line_whose_releases_all_came_before_the_fix_is_not_named_as_lacking_it(tmp_path: Path) -> None:
    """A line that ended before the fix was written cannot carry it: naming it as a line where no commit of
    the fix was found buries, under one such line per fix, the lines where a backport may really be missing."""
    repo = GitRepo(tmp_path / "repo")
    repo.commit("start", {"src/A.java": java("A", "int a() { return 1; }")})
    for line in ("0.9", "1.0"):
        repo.branch(line, "HEAD")
        repo.checkout(line)
        repo.commit(f"release {line}.0", {"src/version.txt": f"{line}.0\n"})
        repo.tag(f"v{line}.0")
        repo.checkout("main")
    fix = repo.commit("A: check the bound (security)", {"src/A.java": java("A", "int a() { return 2; }")})
    repo.tag("v1.1.0")
    repo.checkout("1.0")
    repo.commit("release 1.0.1", {"src/version.txt": "1.0.1\n"})
    repo.tag("v1.0.1")
    fixes = [{"id": "SEC-7", "title": "t", "severity": "high", "commits": [fix]}]
    result, out = build(repo, tmp_path, fixes, ["^v0\\.9=0.9", "^v1\\.0=1.0", "^v1\\.1=1.1"])
    assert result.exit_code == 0, result.stderr
    assert "SEC-7: no commit of the fix found on 1.0;" in result.stderr, result.stderr
    found = verdicts(repo, out, tmp_path)
    assert found[("v0.9.0", "SEC-7")] == "missing"
    assert wrong(repo, found, {"SEC-7": [fix]}) == []


@pytest.mark.parametrize("tagged_on_main", [True, False], ids=["a-release-before-the-move", "no-release-before-the-move"])
def test_a_fix_file_moved_and_edited_before_a_line_was_cut_is_followed_there(tmp_path: Path, tagged_on_main: bool) -> None:
    """The shape of a real history: the fix comes into main through a pull-request merge, so each line cut
    from main has its own landing (that merge); main later moves the fix's file into a vendored library with
    its imports changed, and the next lines are cut after the move. Their releases lack the file's old path:
    its new path is the evidence there, found from the latest release in their history that holds the file,
    or from the landing where none does (1.1 released from its own branch)."""
    before = java("Freezer", "import app.cgroups;", "String state() { return read(); }")
    after = java("Freezer", "import app.cgroups;", "String state() { return current(read()); }")
    repo = GitRepo(tmp_path / "repo")
    repo.commit("start", {"src/cgroups/Freezer.java": before, "src/Main.java": java("Main", "int m = 1;")})
    repo.branch("1.0", "HEAD")
    repo.checkout("1.0")
    repo.commit("release 1.0.0", {"src/version.txt": "1.0.0\n"})
    repo.tag("v1.0.0")
    repo.checkout("main")
    repo.branch("pr-3081", "HEAD")
    repo.checkout("pr-3081")
    fix = repo.commit("freezer: report the current state (security)", {"src/cgroups/Freezer.java": after})
    repo.checkout("main")
    merged = repo.merge("pr-3081", "Merge pull request #3081")
    repo.branch("1.1", "HEAD")
    if tagged_on_main:
        repo.tag("v1.1.0")
    repo.mv("src/cgroups/Freezer.java", "src/vendor/cgroups/Freezer.java", "switch to the cgroups library",
            after.replace("import app.cgroups;", "import lib.cgroups;"))
    repo.commit("main moves on", {"src/Main.java": java("Main", "int m = 2;")})
    repo.tag("v1.2.0")
    repo.commit("main moves on again", {"src/Main.java": java("Main", "int m = 3;")})
    repo.branch("1.3", "HEAD")
    repo.checkout("1.3")
    repo.commit("release 1.3.0", {"src/version.txt": "1.3.0\n"})
    repo.tag("v1.3.0")
    repo.checkout("1.1")
    if not tagged_on_main:
        repo.commit("release 1.1.0", {"src/version.txt": "1.1.0\n"})
        repo.tag("v1.1.0")
    repo.commit("release 1.1.1", {"src/version.txt": "1.1.1\n"})
    repo.tag("v1.1.1")
    fixes = [{"id": "SEC-8", "title": "t", "severity": "high", "commits": [fix]}]
    rules = ["^v1\\.0=1.0", "^v1\\.1=1.1", "^v1\\.2=1.2", "^v1\\.3=1.3"]
    result, out = build(repo, tmp_path, fixes, rules)
    assert result.exit_code == 0, result.stderr
    assert f"1.3: {merged[:12]} (a merge that brings the fix into the line)" in result.stderr, result.stderr
    said = r"moved: SEC-8: cgroups/Freezer\.java is judged as vendor/cgroups/Freezer\.java on (1\.2, )?1\.3 where it moved \(it holds"
    assert re.search(said, result.stderr), result.stderr
    found = verdicts(repo, out, tmp_path)
    assert {tag: found[(tag, "SEC-8")] for tag in repo.tags()} == {
        "v1.0.0": "missing", "v1.1.0": "applied", "v1.1.1": "applied", "v1.2.0": "applied", "v1.3.0": "applied",
    }
    assert wrong(repo, found, {"SEC-8": [fix]}) == []


def test_the_old_bytes_of_a_fix_file_at_its_new_name_are_unfixed(tmp_path: Path) -> None:
    """A fix's file moved later is judged at its new name, and the versions the old name had without the fix
    are unfixed there too: a tenant who puts the stale file at the new name reads `missing` (it read
    `unverifiable`, a version nobody knew), and a release whose move put the old bytes back is not `applied`
    for a fix its history contains (the build reports it)."""
    before = java("Old", "int limit() { return 0; }")
    after = java("Old", "int limit() { return 64; }")
    repo = GitRepo(tmp_path / "repo")
    repo.commit("start", {"src/Old.java": before, "src/Main.java": java("Main", "int m = 1;")})
    repo.branch("1.0", "HEAD")
    repo.checkout("1.0")
    repo.commit("release 1.0.0", {"src/version.txt": "1.0.0\n"})
    repo.tag("v1.0.0")
    repo.checkout("main")
    fix = repo.commit("Old: bound the limit (security)", {"src/Old.java": after})
    repo.tag("v1.1.0")
    repo.mv("src/Old.java", "src/core/New.java", "move Old into core", after + "// moved\n")
    repo.tag("v1.2.0")
    repo.branch("1.3", "HEAD")
    repo.checkout("1.3")
    repo.commit("release 1.3.0", {"src/core/New.java": before, "src/version.txt": "1.3.0\n"})
    repo.tag("v1.3.0")
    fixes = [{"id": "SEC-9", "title": "t", "severity": "high", "commits": [fix]}]
    result, out = build(repo, tmp_path, fixes, ["^v1\\.0=1.0", "^v1\\.1=1.1", "^v1\\.2=1.2", "^v1\\.3=1.3"])
    assert result.exit_code == 0, result.stderr
    assert "conflict: SEC-9: core/New.java: at 1.3 1.3.0, which has the fix" in result.stderr, result.stderr
    assert "(1.0 1.0.0 (at Old.java))" in result.stderr, result.stderr
    found = verdicts(repo, out, tmp_path)
    assert {tag: found[(tag, "SEC-9")] for tag in repo.tags()} == {
        "v1.0.0": "missing", "v1.1.0": "applied", "v1.2.0": "applied", "v1.3.0": "missing",
    }

    finding = _tenant(repo, out, tmp_path, "v1.2.0", {"core/New.java": before}, "SEC-9")
    assert finding.status == "missing"
    assert [(e.path, e.state) for e in finding.evidence if e.state != "ambiguous"] == [("core/New.java", "unfixed")]


def test_a_fix_file_renamed_just_before_the_fix_is_unfixed_under_its_old_name(tmp_path: Path) -> None:
    """The fix changes `core/N.java`, which a commit just before it renamed from `P.java` (renaming its class
    too). The releases before the rename hold the vulnerable code as `P.java`: they read `missing`, not
    `not-applicable` (which passes the gate), and so does a tenant who renames the file back."""
    before = java("P", "int limit() { return 0; }", "int other() { return 1; }")
    after = java("P", "int limit() { return 64; }", "int other() { return 1; }")
    repo = GitRepo(tmp_path / "repo")
    repo.commit("start", {"src/P.java": before, "src/Q.java": java("Q", "int q = 0;")})
    repo.tag("v1.0.0")
    repo.commit("release 1.0.1", {"src/Q.java": java("Q", "int q = 1;")})
    repo.tag("v1.0.1")
    repo.mv("src/P.java", "src/core/N.java", "tidy: move P into core, as N", before.replace("class P", "class N"))
    fix = repo.commit("N: bound the limit (security)", {"src/core/N.java": after.replace("class P", "class N")})
    repo.tag("v1.1.0")
    fixes = [{"id": "SEC-10", "title": "t", "severity": "high", "commits": [fix]}]
    result, out = build(repo, tmp_path, fixes, ["^v1=1.x"])
    assert result.exit_code == 0, result.stderr
    said = "moved: SEC-10: P.java is judged as core/N.java in releases without the fix (git sees one renamed to the other)"
    assert said in result.stderr, result.stderr
    found = verdicts(repo, out, tmp_path)
    assert {tag: found[(tag, "SEC-10")] for tag in repo.tags()} == {"v1.0.0": "missing", "v1.0.1": "missing", "v1.1.0": "applied"}
    assert wrong(repo, found, {"SEC-10": [fix]}) == []
    renamed_back = _tenant(repo, out, tmp_path, "v1.1.0", {"core/N.java": None, "P.java": before}, "SEC-10")
    assert renamed_back.status == "missing", renamed_back


def test_a_moved_fix_is_followed_by_its_own_lines_not_by_a_likeness_of_whole_files(tmp_path: Path) -> None:
    """After the fix, a refactor splits the file: the bulk goes to `Rest.java` (which git pairs with the old
    name) and the fixed method to `Limit.java`; a later one leaves a stub at `Limit.java` and moves the code
    to `impl/Limit.java`; an empty file and a byte copy of an unrelated file appear beside them. The evidence
    is the file that holds the fix's lines at each release, so a tenant who puts the vulnerable method back
    there is never `applied`, and nothing unrelated is taken for the fix."""
    bulk = [f"int helper{i}() {{ return {i} * 7; }}" for i in range(12)]
    before = java("P", "int limit(int n) { return n; }", *bulk)
    after = java("P", "int limit(int n) { return Math.min(n, LIMIT_MAX); }", *bulk)
    repo = GitRepo(tmp_path / "repo")
    repo.commit("start", {"src/P.java": before, "src/Q.java": java("Q", "int q = 0;")})
    repo.tag("v1.0.0")
    fix = repo.commit("P: bound the limit (security)", {"src/P.java": after, "src/Q.java": java("Q", "int q = 1;")})
    repo.tag("v1.1.0")
    limit_after = java("Limit", "int limit(int n) { return Math.min(n, LIMIT_MAX); }")
    limit_before = java("Limit", "int limit(int n) { return n; }")
    repo.commit("split P", {"src/P.java": None, "src/Rest.java": java("P", *bulk), "src/Limit.java": limit_after,
                            "src/empty.txt": "", "src/NOTICE": java("Q", "int q = 1;")})
    repo.tag("v1.2.0")
    repo.commit("Limit into impl", {"src/Limit.java": java("Limit", "// moved to impl"), "src/impl/Limit.java": limit_after})
    repo.tag("v1.3.0")
    fixes = [{"id": "SEC-11", "title": "t", "severity": "high", "commits": [fix]}]
    result, out = build(repo, tmp_path, fixes, ["^v1=1.x"])
    assert result.exit_code == 0, result.stderr
    assert "conflict" not in result.stderr, result.stderr
    doc = yaml.safe_load((out / "fixes" / "SEC-11.yaml").read_text(encoding="utf-8"))
    assert [f["path"] for f in doc["variants"][0]["files"]] == ["Limit.java", "P.java", "Q.java", "impl/Limit.java"]
    found = verdicts(repo, out, tmp_path)
    assert {tag: found[(tag, "SEC-11")] for tag in repo.tags()} == {
        "v1.0.0": "missing", "v1.1.0": "applied", "v1.2.0": "applied", "v1.3.0": "applied",
    }
    for tag, name in (("v1.2.0", "Limit.java"), ("v1.3.0", "impl/Limit.java")):
        reverted = _tenant(repo, out, tmp_path, tag, {name: limit_before}, "SEC-11")
        assert reverted.status in ("partial", "unverifiable"), (tag, reverted)


def test_an_old_name_put_back_with_its_old_bytes_never_makes_older_releases_not_applicable(tmp_path: Path) -> None:
    """The vendor renames `P.java` to `N.java`, puts a dead copy of the old `P.java` back, and fixes `N.java`.
    The old bytes are then held with and without the fix, so they prove nothing: leaving the old name out
    would make the releases before the rename read `not-applicable` (which passes the gate). They read
    `missing`; the fixed release reads `partial`, with the conflict reported: fail closed, both."""
    before = java("P", "int limit() { return 0; }", "int other() { return 1; }")
    repo = GitRepo(tmp_path / "repo")
    repo.commit("start", {"src/P.java": before})
    repo.tag("v1.0.0")
    repo.mv("src/P.java", "src/core/N.java", "move P into core")
    repo.commit("keep the old class for old callers", {"src/P.java": before})
    fix = repo.commit("N: bound the limit (security)", {"src/core/N.java": before.replace("return 0;", "return 64;")})
    repo.tag("v1.1.0")
    fixes = [{"id": "SEC-12", "title": "t", "severity": "high", "commits": [fix]}]
    result, out = build(repo, tmp_path, fixes, ["^v1=1.x"])
    assert result.exit_code == 0, result.stderr
    assert "conflict: SEC-12: P.java: at 1.x 1.1.0, which has the fix" in result.stderr, result.stderr
    found = verdicts(repo, out, tmp_path)
    assert {tag: found[(tag, "SEC-12")] for tag in repo.tags()} == {"v1.0.0": "missing", "v1.1.0": "partial"}
