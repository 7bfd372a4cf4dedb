"""`drift catalog build` where a fix is reverted (`git revert`) in a later release: that release does not keep
the fix (SPEC 3: `fixed` holds "this version and every later one that keeps the fix"), so a tenant running it
is never told the fix is applied."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from tests.gitrepo import GitRepo
from tests.test_builder_landings import _tenant, build, java

FILLER = tuple(f"int pad{i} = {i};" for i in range(8))


def _parse(body: str, tail: str = "// tail") -> str:
    return java("Parse", "int limit = 10;", f"int parse() {{ return read({body}); }}", *FILLER, tail)


def _render(body: str, end: str = "// end") -> str:
    return java("Render", f"String r(String s) {{ return {body}; }}", *FILLER, end)


def _one(
    repo: GitRepo, tmp_path: Path, commits: list[str], expected: dict[str, str], fix_id: str = "SEC-1", line_of: tuple[str, ...] = ("^v1=1.x",),
) -> str:
    """Build with one fix named by `commits`; assert each tag's status; the build's report."""
    result, out = build(repo, tmp_path, [{"id": fix_id, "title": "t", "severity": "high", "commits": commits}], list(line_of))
    assert result.exit_code == 0, result.stderr
    for tag, status in expected.items():
        assert _tenant(repo, out, tmp_path, tag, {}, fix_id).status == status, tag
    return result.stderr


def _history(tmp_path: Path) -> tuple[GitRepo, str]:
    repo = GitRepo(tmp_path / "repo")
    repo.commit("start", {"src/Parse.java": _parse("limit")})
    repo.tag("v1.0")
    fix = repo.commit("Parse: bound the input (security)", {"src/Parse.java": _parse("Math.min(limit, 8)")})
    repo.tag("v1.1")
    repo.commit("Parse: a later change to the same file", {"src/Parse.java": _parse("Math.min(limit, 8)", "// tail, reworded")})
    repo.tag("v1.2")
    return repo, fix


def test_a_release_after_a_revert_of_the_fix_is_not_applied(tmp_path: Path) -> None:
    repo, fix = _history(tmp_path)
    repo.revert(fix)
    repo.tag("v1.3")
    _one(repo, tmp_path, [fix], {"v1.0": "missing", "v1.1": "applied", "v1.2": "applied", "v1.3": "missing"})


def test_a_revert_of_the_revert_gives_the_fix_back(tmp_path: Path) -> None:
    repo, fix = _history(tmp_path)
    undo = repo.revert(fix)
    repo.tag("v1.3")
    repo.revert(undo)
    repo.tag("v1.4")
    report = _one(repo, tmp_path, [fix], {"v1.2": "applied", "v1.3": "missing", "v1.4": "applied"})
    said = [line for line in report.splitlines() if line.startswith("check:")]
    assert said == [
        (f"check: SEC-1: {undo[:12]} (Revert \"Parse: bound the input (security)\") reverts {fix[:12]}: 1.x 1.3 holds it"
        " and is taken not to carry the fix (a fix made again in another form is not known as the fix: check those releases)")
    ]


def test_the_fix_picked_again_after_its_revert_is_carried(tmp_path: Path) -> None:
    repo, fix = _history(tmp_path)
    repo.revert(fix)
    repo.tag("v1.3")
    again = repo.cherry_pick(fix)
    repo.tag("v1.4")
    report = _one(repo, tmp_path, [fix], {"v1.3": "missing", "v1.4": "applied"})
    assert again[:12] not in report  # the same change made again: no landing of its own


def test_a_revert_reaches_only_the_releases_that_hold_it(tmp_path: Path) -> None:
    """Reverted on main after the maintenance line was cut: the maintenance line keeps the fix, until the
    revert is picked there too (`cherry-pick -x` keeps "This reverts commit <the main-line fix>")."""
    repo, fix = _history(tmp_path)
    repo.branch("1.2", "v1.2")
    undo = repo.revert(fix)
    repo.tag("v1.3.0")
    repo.checkout("1.2")
    repo.commit("1.2: docs", {"src/README": "maintenance\n"})
    repo.tag("v1.2.1")
    repo.cherry_pick(undo)
    repo.tag("v1.2.2")
    expected = {"v1.2": "applied", "v1.2.1": "applied", "v1.2.2": "missing", "v1.3.0": "missing"}
    _one(repo, tmp_path, [fix], expected, line_of=("^v1\\.[01]=1.x", "^v1\\.2=1.2", "^v1\\.3=1.3"))


def test_a_revert_of_one_part_leaves_the_other_part_s_file_fixed_where_it_is(tmp_path: Path) -> None:
    """A fix of two commits on two files, one of them reverted later: the other file keeps the fix's bytes at
    the reverted release, and they stay in `fixed` (the releases with the whole fix must not read partial)."""
    repo, first = _history(tmp_path)
    second = repo.commit("Render: escape the name (same advisory)", {"src/Render.java": java("Render", "String r(String s) { return esc(s); }")})
    repo.tag("v1.2.5")
    repo.revert(first)
    repo.tag("v1.3")
    fixes = [{"id": "SEC-1", "title": "t", "severity": "high", "commits": [first, second]}]
    result, out = build(repo, tmp_path, fixes, ["^v1=1.x"])
    assert result.exit_code == 0, result.stderr
    doc = yaml.safe_load((out / "fixes" / "SEC-1.yaml").read_text(encoding="utf-8"))
    render = next(f for v in doc["variants"] for f in v["files"] if f["path"] == "Render.java")
    assert render["fixed"] and not set(render["fixed"]) & set(render["unfixed"])
    for tag, status in (("v1.2.5", "applied"), ("v1.3", "partial")):
        assert _tenant(repo, out, tmp_path, tag, {}, "SEC-1").status == status, tag


def test_a_message_saying_the_revert_was_reverted_is_not_enough(tmp_path: Path) -> None:
    """The vendor's word in its own favour: a commit whose message says it reverts the revert, but whose
    change does not make the fix again, gives nothing back."""
    repo, fix = _history(tmp_path)
    undo = repo.revert(fix)
    repo.tag("v1.3")
    repo.commit(f'Revert "Revert"\n\nThis reverts commit {undo}.', {
        "src/Parse.java": _parse("limit", "// tail, again"),
    })
    repo.tag("v1.4")
    _one(repo, tmp_path, [fix], {"v1.4": "missing"})


def test_the_fix_s_change_made_in_another_file_does_not_give_it_back(tmp_path: Path) -> None:
    """The same changed lines in a decoy file have the fix's patch id; only the fix's own files count."""
    repo, fix = _history(tmp_path)
    repo.commit("decoy holds the old line", {"src/Decoy.java": java("Decoy", "int parse() { return read(limit); }")})
    repo.revert(fix)
    repo.tag("v1.3")
    repo.commit("decoy bound", {"src/Decoy.java": java("Decoy", "int parse() { return read(Math.min(limit, 8)); }")})
    repo.tag("v1.4")
    _one(repo, tmp_path, [fix], {"v1.4": "missing"})


def test_a_revert_of_the_fix_made_again_takes_it_away_again(tmp_path: Path) -> None:
    repo, fix = _history(tmp_path)
    undo = repo.revert(fix)
    redo = repo.revert(undo)
    repo.tag("v1.3")
    repo.revert(redo)
    repo.tag("v1.4")
    _one(repo, tmp_path, [fix], {"v1.3": "applied", "v1.4": "missing"})


def test_a_revert_of_the_merge_that_brought_the_fix_takes_it_away(tmp_path: Path) -> None:
    repo, _ = _history(tmp_path)
    repo.commit("Render", {"src/Render.java": _render("s")})
    repo.branch("topic", "HEAD")
    repo.checkout("topic")
    fix = repo.commit("Render: escape the name (security)", {"src/Render.java": _render("esc(s)")})
    repo.checkout("main")
    repo.commit("main moves on", {"src/Other.java": java("Other", "int x = 1;")})
    merge = repo.merge("topic", "Merge branch 'topic'")
    repo.tag("v1.5")
    repo.commit("Render: later work", {"src/Render.java": _render("esc(s)", "// end, later")})
    repo.tag("v1.6")
    repo.tick()
    repo.git("revert", "--no-edit", "-m", "1", merge)
    repo.tag("v1.7")
    _one(repo, tmp_path, [fix], {"v1.5": "applied", "v1.6": "applied", "v1.7": "missing"}, fix_id="SEC-2")


def test_a_fix_of_two_commits_both_reverted_is_not_back_when_one_is_made_again(tmp_path: Path) -> None:
    repo, first = _history(tmp_path)
    second = repo.commit("Render: escape the name (same advisory)", {"src/Render.java": _render("esc(s)")})
    repo.tag("v1.2.5")
    undo_first = repo.revert(first)
    repo.revert(second)
    repo.tag("v1.3")
    repo.revert(undo_first)
    repo.tag("v1.4")
    _one(repo, tmp_path, [first, second], {"v1.2.5": "applied", "v1.3": "missing", "v1.4": "partial"})


def test_a_revert_of_a_commit_inside_the_named_merge(tmp_path: Path) -> None:
    """The register names a pull request's merge; the revert names the commit in it."""
    repo, _ = _history(tmp_path)
    repo.commit("Render", {"src/Render.java": _render("s")})
    repo.branch("topic", "HEAD")
    repo.checkout("topic")
    inner = repo.commit("Render: escape (security)", {"src/Render.java": _render("esc(s)")})
    repo.checkout("main")
    repo.commit("main moves on", {"src/Other.java": java("Other", "int x = 1;")})
    merge = repo.merge("topic", "Merge pull request #12")
    repo.tag("v1.5")
    repo.commit("Render: later", {"src/Render.java": _render("esc(s)", "// later")})
    repo.revert(inner)
    repo.tag("v1.6")
    _one(repo, tmp_path, [merge], {"v1.5": "applied", "v1.6": "missing"})


def test_a_picked_revert_of_the_upstream_commit_the_fix_was_picked_from(tmp_path: Path) -> None:
    repo, _ = _history(tmp_path)
    repo.commit("Render", {"src/Render.java": _render("s")})
    repo.branch("upstream", "HEAD")
    repo.checkout("upstream")
    up = repo.commit("Render: escape (security)", {"src/Render.java": _render("esc(s)")})
    up_undo = repo.revert(up)
    repo.checkout("main")
    fix = repo.cherry_pick(up)
    repo.tag("v1.5")
    repo.commit("Render: later", {"src/Render.java": _render("esc(s)", "// later")})
    repo.cherry_pick(up_undo)  # "This reverts commit <up>", picked with -x
    repo.tag("v1.6")
    _one(repo, tmp_path, [fix], {"v1.5": "applied", "v1.6": "missing"})


def test_a_revert_behind_a_commit_dated_long_ago_is_still_seen(tmp_path: Path) -> None:
    """`git log --since` stops at a commit dated before it: an old patch applied with its own date on top of
    the revert would hide it."""
    repo, fix = _history(tmp_path)
    repo.revert(fix)
    saved = repo.now
    repo.now = saved.replace(year=saved.year - 3)
    repo.git("commit", "-q", "--allow-empty", "-m", "an old patch, with its own date")
    repo.now = saved
    repo.tag("v1.3")
    _one(repo, tmp_path, [fix], {"v1.3": "missing"})


def test_a_revert_in_a_sha256_repository(tmp_path: Path) -> None:
    path = tmp_path / "repo"
    path.mkdir()
    repo = GitRepo(path, init=False)
    repo.git("init", "-q", "--object-format=sha256", "-b", "main")
    for key, value in {"core.autocrlf": "false", "commit.gpgsign": "false", "tag.gpgsign": "false", "merge.ff": "false"}.items():
        repo.git("config", key, value)
    repo.commit("start", {"src/Parse.java": java("Parse", "int parse() { return read(limit); }", *FILLER, "// tail")})
    fix = repo.commit("Parse: bound (security)", {"src/Parse.java": java("Parse", "int parse() { return read(Math.min(limit, 8)); }", *FILLER, "// tail")})
    repo.tag("v1.1")
    repo.commit("Parse: tail", {"src/Parse.java": java("Parse", "int parse() { return read(Math.min(limit, 8)); }", *FILLER, "// tail 2")})
    repo.revert(fix)
    repo.tag("v1.3")
    assert len(fix) == 64
    _one(repo, tmp_path, [fix], {"v1.1": "applied", "v1.3": "missing"})


def _admin(guarded: bool, debug_guarded: bool) -> str:
    return java(
        "Admin", "void admin(User u) {", *(["    checkAuth(u, Role.ADMIN);"] if guarded else []), "    doAdmin(u);", "}", *FILLER,
        "void debugDump(User u) {", *(["    checkAuth(u, Role.ADMIN);"] if debug_guarded else []), "    dump(u);", "}",
    )


def _handler(check: str) -> str:
    return "def handle(req, debug=False):\n    if debug:\n        log(req)\n" + check + "    return serve(req)\n" + "".join(f"# {i}\n" for i in range(8))


@pytest.mark.parametrize(
    ("path", "before", "fixed", "elsewhere"),
    [
        ("src/Admin.java", _admin(False, False), _admin(True, False), _admin(False, True)),  # the check added to another method
        ("src/handler.py", _handler(""), _handler("    authorize(req)\n"), _handler("        authorize(req)\n")),  # indented into `if debug:`
    ],
    ids=["another-method", "indented-into-a-branch"],
)
def test_the_fix_s_lines_added_elsewhere_after_its_revert_do_not_give_it_back(tmp_path: Path, path: str, before: str, fixed: str, elsewhere: str) -> None:
    """The same changed lines, whitespace aside, have the fix's patch id; the fix is back only with its very diff."""
    repo = GitRepo(tmp_path / "repo")
    repo.commit("start", {path: before})
    fix = repo.commit("guard (security)", {path: fixed})
    repo.tag("v1.1")
    repo.revert(fix)
    repo.commit("guard again, elsewhere", {path: elsewhere})
    repo.tag("v1.3")
    _one(repo, tmp_path, [fix], {"v1.1": "applied", "v1.3": "missing"})


def test_a_register_that_names_a_fix_and_its_revert_never_reads_applied(tmp_path: Path) -> None:
    repo, fix = _history(tmp_path)
    undo = repo.revert(fix)
    repo.tag("v1.3")
    said = _one(repo, tmp_path, [fix, undo], {"v1.3": "missing"})
    assert f"{undo[:12]} (Revert" in said


def _guarded(admin: bool, debug: bool, *, wrapped: bool = False) -> str:
    """Two methods with the same lines around the spot the fix guards; the first one's body optionally
    wrapped in a branch whose braces lie beyond a diff's context."""
    def block(name: str, guard: bool, wrap: bool) -> list[str]:
        body = ["    int a = 0;", "    int b = 0;", "    int c = 0;", "    int d = 0;", *(["    checkAuth(u);"] if guard else []),
                "    run(u);", "    int e = 0;", "    int f = 0;", "    int g = 0;", "    int h = 0;"]
        return [f"void {name}(User u) {{", *(["    if (LEGACY_MODE) {", *body, "    }"] if wrap else body), "}"]
    return java("Admin", *block("admin", admin, wrapped), "int pad = 1;", *block("debugDump", debug, False))


def test_the_fix_s_very_hunk_in_another_method_does_not_give_it_back(tmp_path: Path) -> None:
    """Same lines around the spot in two methods: the fix's hunk, context and all, added to the other one."""
    repo = GitRepo(tmp_path / "repo")
    repo.commit("start", {"src/Admin.java": _guarded(False, False)})
    fix = repo.commit("Admin: require auth (security)", {"src/Admin.java": _guarded(True, False)})
    repo.tag("v1.1")
    repo.revert(fix)
    repo.commit("Admin: auth for the debug dump", {"src/Admin.java": _guarded(False, True)})
    repo.tag("v1.3")
    _one(repo, tmp_path, [fix], {"v1.1": "applied", "v1.3": "missing"})


def test_a_revert_of_the_revert_after_the_code_around_moved_does_not_give_it_back(tmp_path: Path) -> None:
    """The method's body wrapped in `if (LEGACY_MODE)` (beyond the diff's context) after the revert; the revert
    of the revert then puts the check back inside that branch. Its diff is the fix's, byte for byte."""
    repo = GitRepo(tmp_path / "repo")
    repo.commit("start", {"src/Admin.java": _guarded(False, False)})
    fix = repo.commit("Admin: require auth (security)", {"src/Admin.java": _guarded(True, False)})
    repo.tag("v1.1")
    undo = repo.revert(fix)
    repo.commit("Admin: legacy mode", {"src/Admin.java": _guarded(False, False, wrapped=True)})
    repo.revert(undo)
    repo.tag("v1.3")
    _one(repo, tmp_path, [fix], {"v1.1": "applied", "v1.3": "missing"})


def test_a_fix_file_renamed_then_reverted_is_unfixed_where_it_is_lacking(tmp_path: Path) -> None:
    repo, first = _history(tmp_path)
    repo.commit("Render", {"src/Render.java": _render("s")})
    second = repo.commit("Render: escape (same advisory)", {"src/Render.java": _render("esc(s)")})
    repo.tag("v1.2.5")
    repo.mv("src/Parse.java", "src/Parser.java", "Rename Parse to Parser")
    repo.revert(first)  # follows the rename
    repo.tag("v1.3")
    _one(repo, tmp_path, [first, second], {"v1.2.5": "applied", "v1.3": "partial"})


@pytest.mark.parametrize("written", [lambda up: up[:10], lambda up: up.upper()], ids=["abbreviated", "upper-case"])
def test_a_backport_of_line_names_the_origin_however_it_is_written(tmp_path: Path, written: Callable[[str], str]) -> None:
    repo, _ = _history(tmp_path)
    repo.commit("Render", {"src/Render.java": _render("s")})
    repo.branch("upstream", "HEAD")
    repo.checkout("upstream")
    up = repo.commit("Render: escape (security)", {"src/Render.java": _render("esc(s)")})
    up_undo = repo.revert(up)
    repo.checkout("main")
    fix = repo.commit(f"Render: escape the name\n\nBackport of {written(up)}\n", {"src/Render.java": _render("esc(s)")})
    repo.tag("v1.5")
    repo.commit("Render: later", {"src/Render.java": _render("esc(s)", "// later")})
    repo.cherry_pick(up_undo)  # names `up` whole
    repo.tag("v1.6")
    _one(repo, tmp_path, [fix], {"v1.5": "applied", "v1.6": "missing"})


def test_a_revert_of_the_origin_s_origin(tmp_path: Path) -> None:
    """Upstream picked its fix from master to stable; the vendor backported the stable pick; upstream's revert,
    picked to stable and then by the vendor, names only master's commit."""
    repo, _ = _history(tmp_path)
    repo.commit("Render", {"src/Render.java": _render("s")})
    repo.branch("up-master", "HEAD")
    repo.branch("up-stable", "HEAD")
    repo.checkout("up-master")
    u0 = repo.commit("Render: escape (security)", {"src/Render.java": _render("esc(s)")})
    repo.checkout("up-stable")
    u = repo.cherry_pick(u0)
    repo.checkout("up-master")
    r0 = repo.revert(u0)
    repo.checkout("up-stable")
    stable_undo = repo.cherry_pick(r0)
    repo.checkout("main")
    fix = repo.commit(f"Render: escape the name\n\nBackport of {u}\n", {"src/Render.java": _render("esc(s)")})
    repo.tag("v1.5")
    repo.commit("Render: later", {"src/Render.java": _render("esc(s)", "// later")})
    repo.cherry_pick(stable_undo)
    repo.tag("v1.6")
    _one(repo, tmp_path, [fix], {"v1.5": "applied", "v1.6": "missing"})


def test_a_revert_of_a_copy_no_message_ties_to_the_fix(tmp_path: Path) -> None:
    """A hotfix branch cut before the fix picks it, is merged, and the pick is reverted: the copy is known by
    its patch id."""
    repo = GitRepo(tmp_path / "repo")
    repo.commit("start", {"src/Parse.java": _parse("limit")})
    repo.branch("hotfix", "HEAD")
    fix = repo.commit("Parse: bound the input (security)", {"src/Parse.java": _parse("Math.min(limit, 8)")})
    repo.tag("v1.1")
    repo.checkout("hotfix")
    copy = repo.cherry_pick(fix)
    repo.checkout("main")
    repo.merge("hotfix", "Merge branch 'hotfix'")
    repo.commit("Parse: later", {"src/Parse.java": _parse("Math.min(limit, 8)", "// later")})
    repo.tag("v1.2")
    repo.revert(copy)
    repo.tag("v1.3")
    _one(repo, tmp_path, [fix], {"v1.1": "applied", "v1.2": "applied", "v1.3": "missing"})


def test_an_attempt_reverted_inside_the_named_merge_is_how_the_fix_was_made(tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "repo")
    repo.commit("start", {"src/Parse.java": _parse("limit")})
    repo.branch("topic", "HEAD")
    repo.checkout("topic")
    attempt = repo.commit("Parse: try a cap", {"src/Parse.java": _parse("cap(limit)")})
    repo.revert(attempt)
    repo.commit("Parse: bound the input (security)", {"src/Parse.java": _parse("Math.min(limit, 8)")})
    repo.checkout("main")
    repo.commit("main moves on", {"src/Other.java": java("Other", "int x = 1;")})
    merge = repo.merge("topic", "Merge pull request #9")
    repo.tag("v1.1")
    said = _one(repo, tmp_path, [merge], {"v1.1": "applied"})
    assert "check:" not in said


def test_a_revert_of_a_nested_merge_inside_the_named_one(tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "repo")
    repo.commit("start", {"src/Render.java": _render("s")})
    repo.branch("feature", "HEAD")
    repo.checkout("feature")
    repo.commit("feature: other work", {"src/Other.java": java("Other", "int x = 1;")})
    repo.branch("sub", "HEAD")
    repo.checkout("sub")
    repo.commit("Render: escape (security)", {"src/Render.java": _render("esc(s)")})
    repo.checkout("feature")
    nested = repo.merge("sub", "Merge branch 'sub' into feature")
    repo.checkout("main")
    merge = repo.merge("feature", "Merge pull request #7")
    repo.tag("v1.1")
    repo.commit("Render: later", {"src/Render.java": _render("esc(s)", "// later")})
    repo.tick()
    repo.git("revert", "--no-edit", "-m", "1", nested)
    repo.tag("v1.3")
    _one(repo, tmp_path, [merge], {"v1.1": "applied", "v1.3": "partial"})  # Other.java, which the named merge brings, is unchanged


@pytest.mark.parametrize("moved", ["into another file", "into a copy"])
def test_a_revert_that_takes_the_fix_out_of_a_file_the_fix_never_touched(tmp_path: Path, moved: str) -> None:
    """The check moved to Guard.java (or the live code copied to Parser2.java) before the revert, which takes
    it out there: the revert's files are evidence too. With a copy, the fix's change is then made again on the
    old file alone, which does not give the fix back."""
    repo = GitRepo(tmp_path / "repo")
    repo.commit("start", {"src/Parse.java": _parse("limit")})
    fix = repo.commit("Parse: bound the input (security)", {"src/Parse.java": _parse("Math.min(limit, 8)")})
    repo.tag("v1.1")
    other = "src/Guard.java" if moved == "into another file" else "src/Parser2.java"
    repo.commit("the code moves", {other: java("Other", "int parse() { return read(Math.min(limit, 8)); }")})
    repo.tag("v1.2")
    undo = f'Revert "Parse: bound the input (security)"\n\nThis reverts commit {fix}.\n'
    if moved == "into another file":
        repo.commit(undo, {other: java("Other", "int parse() { return read(limit); }")})
    else:
        repo.commit(undo, {other: java("Other", "int parse() { return read(limit); }"), "src/Parse.java": _parse("limit")})
        repo.tick()
        repo.git("cherry-pick", fix)
    repo.tag("v1.3")
    _one(repo, tmp_path, [fix], {"v1.1": "applied", "v1.2": "applied", "v1.3": "partial"})


@pytest.mark.parametrize("where", ["message", "path"])
def test_a_control_byte_in_a_message_or_a_path_neither_hides_a_revert_nor_stops_the_build(tmp_path: Path, where: str) -> None:
    repo, fix = _history(tmp_path)
    if where == "message":
        repo.tick()
        repo.git("revert", "--no-commit", fix)
        repo.git("commit", "-q", "-m", f'Revert "Parse"\x01\n\nThis reverts commit {fix}.\n')
    else:
        repo.revert(fix)
        repo.commit("a note", {"src/Parse.java": _parse("limit", "// note"), "src/\x01nosuchrev": "x\n"})
    repo.tag("v1.3")
    _one(repo, tmp_path, [fix], {"v1.2": "applied", "v1.3": "missing"})
