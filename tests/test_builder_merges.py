"""`drift catalog build` on histories where fixes reach newer lines by merges (SPEC 3), as git's own history
does: a fix made on the oldest maintenance line is merged up, one sync merge bringing many fixes at once.

A merge that brings a fix into a line is judged by every file it changes. Leaving out the files that look
like other fixes' work would clear false `partial` verdicts on real histories, but for every such rule tried
a crafted history made a tenant without the fix read `applied`; these tests keep those histories. Verdicts are checked against `git merge-base --is-ancestor` at every tag (`wrong`), and
tenants that lack a fix are checked not to read `applied`.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from tests.gitrepo import GitRepo
from tests.test_builder_landings import _tenant, build, verdicts, wrong

A0 = "int size(void) { return 0; }\nint post(void) { return send(size()); }\n"
A1 = "int size(void) { return 0; }\nint post(void) { reset_post_field_size(); return send(size()); }\n"
B0 = "int depth(void) { return 1; }\nint clone(void) { return walk(depth()); }\n"
B1 = "int depth(void) { return 1; }\nint clone(void) { refuse_symlinked_hooks(); return walk(depth()); }\n"


def _variant(out: Path, fix_id: str, line: str) -> list[str]:
    doc = yaml.safe_load((out / "fixes" / f"{fix_id}.yaml").read_text(encoding="utf-8"))
    return [f["path"] for v in doc["variants"] if v["line"] == line for f in v["files"]]


def _release_and_sync(repo: GitRepo, resolution: dict[str, str | bytes | None]) -> None:
    """On `maint`: release 1.0.1 (a version bump). Then on `main`: the sync of `maint`, resolved with the
    `resolution` files (and the version), released as 2.0.1."""
    repo.commit("release 1.0.1", {"src/version.txt": "1.0.1\n"})
    repo.tag("v1.0.1")
    repo.checkout("main")
    repo.merge_resolved("maint", "Sync with 1.0.1", {**resolution, "src/version.txt": "1.0.1\n"})
    repo.tag("v2.0.1")


def test_a_file_only_the_merge_changes_is_where_it_resolved_the_fix(tmp_path: Path) -> None:
    """On the newer line the code of the fix lives in another file, and the merge's resolution puts the change
    there: that file carries the fix, though no commit of the fix changes it."""
    repo = GitRepo(tmp_path / "repo")
    repo.commit("start", {"src/a.c": A0})
    repo.tag("v1.0.0")
    repo.branch("maint", "HEAD")
    repo.commit("2.0: post() moves to net.c", {"src/a.c": "int size(void) { return 0; }\n", "src/net.c": "int post(void) { return send(size()); }\n"})
    repo.tag("v2.0.0")
    repo.checkout("maint")
    fix = repo.commit("http: reset the post field size", {"src/a.c": A1})
    repo.tag("v1.0.1")
    repo.checkout("main")
    repo.merge_resolved("maint", "Sync with 1.0.1", {"src/net.c": "int post(void) { reset_post_field_size(); return send(size()); }\n"})
    repo.tag("v2.0.1")
    fixes = [{"id": "FIX-A", "title": "t", "severity": "high", "commits": [fix]}]
    result, out = build(repo, tmp_path, fixes, ["^v1=1.x", "^v2=2.x"])
    assert result.exit_code == 0, result.stderr
    assert _variant(out, "FIX-A", "2.x") == ["net.c"]
    found = verdicts(repo, out, tmp_path)
    assert wrong(repo, found, {"FIX-A": [fix]}) == []
    assert _tenant(repo, out, tmp_path, "v2.0.1", {"net.c": "int post(void) { return send(size()); }\n"}, "FIX-A").status == "missing"


def test_a_pull_request_merge_keeps_the_files_of_the_request_s_other_commits(tmp_path: Path) -> None:
    """A pull request's merge brings the named commit and another of the same request that no fix names: that
    commit's file is part of the change, and stays evidence (only files of other fixes, or of merges the
    merge brings, are left out)."""
    repo = GitRepo(tmp_path / "repo")
    repo.commit("start", {"src/a.c": A0, "src/b.c": B0})
    repo.tag("v1.0.0")
    repo.branch("pr", "HEAD")
    repo.checkout("pr")
    named = repo.commit("http: reset the post field size", {"src/a.c": A1})
    repo.commit("clone: the same guard on the other path", {"src/b.c": B1})
    repo.checkout("main")
    merged = repo.merge("pr", "Merge pull request #7")
    repo.tag("v1.1.0")
    fixes = [{"id": "FIX-A", "title": "t", "severity": "high", "commits": [named]}]
    result, out = build(repo, tmp_path, fixes, ["^v1=1.x"])
    assert result.exit_code == 0, result.stderr
    assert f"FIX-A: landing found on 1.x: {merged[:12]} (a merge that brings the fix into the line)" in result.stderr
    assert _variant(out, "FIX-A", "1.x") == ["a.c", "b.c"]
    assert _tenant(repo, out, tmp_path, "v1.1.0", {"b.c": B0}, "FIX-A").status == "partial"


def test_a_sync_of_a_sync_keeps_the_file_an_inner_merge_resolved_the_fix_into(tmp_path: Path) -> None:
    """The fix is made on 1.0. On 1.1 and main `post()` lives in util.c in another layout; the merge of 1.0 into
    1.1 resolves the fix there, and the merge of 1.1 into main brings that along. No commit of any fix explains
    util.c's change, so it stays evidence on main: a tenant that takes the fix back out of util.c, or one
    without the fix that only bumps version.txt, never reads `applied` (both did under a rule that left out
    every file the inner merges changed)."""
    u0 = "int util(void) { return 1; }\n"
    unfixed = u0 + "int post(void)\n{\n\treturn send(size());\n}\n"
    fixed = u0 + "int post(void)\n{\n\treset_post_field_size();\n\treturn send(size());\n}\n"
    repo = GitRepo(tmp_path / "repo")
    repo.commit("start", {"src/a.c": A0, "src/util.c": u0, "src/version.txt": "1.0.0\n"})
    repo.tag("v1.0.0")
    repo.branch("1.0", "HEAD")
    repo.commit("post() moves to util.c", {"src/a.c": "int size(void) { return 0; }\n", "src/util.c": unfixed})
    repo.branch("1.1", "HEAD")
    repo.checkout("1.1")
    repo.commit("release 1.1.0", {"src/version.txt": "1.1.0\n"})
    repo.tag("v1.1.0")
    repo.checkout("main")
    repo.commit("2.0 work", {"src/c.c": "int c(void) { return 3; }\n"})
    repo.tag("v2.0.0")
    repo.checkout("1.0")
    fix = repo.commit("http: reset the post field size", {"src/a.c": A1})
    repo.commit("release 1.0.1", {"src/version.txt": "1.0.1\n"})
    repo.tag("v1.0.1")
    repo.checkout("1.1")
    repo.merge_resolved("1.0", "Sync with 1.0.1", {"src/util.c": fixed})
    repo.commit("release 1.1.1", {"src/version.txt": "1.1.1\n"})
    repo.tag("v1.1.1")
    repo.checkout("main")
    repo.merge("1.1", "Sync with 1.1.1")
    repo.tag("v2.0.1")
    fixes = [{"id": "FIX-A", "title": "t", "severity": "high", "commits": [fix]}]
    result, out = build(repo, tmp_path, fixes, ["^v1\\.0=1.0", "^v1\\.1=1.1", "^v2=2.x"])
    assert result.exit_code == 0, result.stderr
    assert "util.c" in _variant(out, "FIX-A", "2.x")
    found = verdicts(repo, out, tmp_path)
    assert wrong(repo, found, {"FIX-A": [fix]}) == []
    for tag, files in (("v2.0.1", {"util.c": unfixed}), ("v1.1.1", {"util.c": unfixed}), ("v2.0.0", {"version.txt": "1.1.1\n"})):
        assert _tenant(repo, out, tmp_path, tag, files, "FIX-A").status != "applied", tag


def test_a_decoy_fix_that_spreads_the_fix_s_line_does_not_explain_it_away(tmp_path: Path) -> None:
    """The merge resolves the fix into util.c with the fix's own line; another fix in the register adds that
    very line to util.c and to five more files. A line the fix itself adds is never another fix's to explain:
    util.c stays evidence, and a tenant that takes the fix back out of it does not read `applied`."""
    u0 = "int util(void) { return 1; }\n"
    line = "reset_post_field_size();"
    repo = GitRepo(tmp_path / "repo")
    repo.commit("start", {"src/a.c": A0, "src/util.c": u0, **{f"src/d{i}.c": f"int d{i}(void) {{ return {i}; }}\n" for i in range(5)}})
    repo.tag("v1.0.0")
    repo.branch("maint", "HEAD")
    repo.commit("post() moves to util.c", {"src/a.c": "int size(void) { return 0; }\n", "src/util.c": u0 + "int post(void) { return send(size()); }\n"})
    repo.tag("v2.0.0")
    repo.checkout("maint")
    fix = repo.commit("http: reset the post field size", {"src/a.c": A1})
    decoy = repo.commit("tidy", {"src/util.c": u0 + line + "\n", **{f"src/d{i}.c": f"int d{i}(void) {{ return {i}; }}\n{line}\n" for i in range(5)}})
    resolved = u0 + line + "\nint post(void) {\n" + line + "\nreturn send(size()); }\n"
    _release_and_sync(repo, {"src/util.c": resolved, **{f"src/d{i}.c": f"int d{i}(void) {{ return {i}; }}\n{line}\n" for i in range(5)}})
    fixes = [
        {"id": "FIX-A", "title": "t", "severity": "high", "commits": [fix]},
        {"id": "FIX-D", "title": "t", "severity": "low", "commits": [decoy]},
    ]
    result, out = build(repo, tmp_path, fixes, ["^v1=1.x", "^v2=2.x"])
    assert result.exit_code == 0, result.stderr
    assert "util.c" in _variant(out, "FIX-A", "2.x")
    reverted = u0 + line + "\nint post(void) {\nreturn send(size()); }\n"
    assert _tenant(repo, out, tmp_path, "v2.0.1", {"util.c": reverted}, "FIX-A").status != "applied"


def test_a_fix_that_only_moves_a_brace_on_the_newer_line_is_not_explained_by_another_fix(tmp_path: Path) -> None:
    """On the newer line the merge's resolution only moves a `}` (a goto-fail style scope fix), and another
    fix of the same sync removes a function and adds a guarded block (a `}` removed and one added). The merge's
    change to util.c is still this fix's: a tenant with util.c as before reads `partial`, not `applied`."""
    post = "int post(int bad)\n{\n\tif (bad) {\n\t\tlog_error();\n\t}\n\t\treturn -1;\n\treturn send(size());\n}\n"
    post_fixed = "int post(int bad)\n{\n\tif (bad) {\n\t\tlog_error();\n\t\treturn -1;\n\t}\n\treturn send(size());\n}\n"
    a0 = "int size(void) { return 0; }\nint post(int bad) { if (bad) { log_error(); } return -1; return send(size()); }\n"
    a1 = "int size(void) { return 0; }\nint post(int bad) { if (bad) { log_error(); return -1; } return send(size()); }\n"
    b0 = "int helper(void)\n{\n\treturn system(cmd);\n}\nint clone(void)\n{\n\treturn walk(depth());\n}\n"
    b1 = "int clone(void)\n{\n\tif (symlinked_hooks()) {\n\t\treturn -1;\n\t}\n\treturn walk(depth());\n}\n"
    u0 = "int util(void) { return 1; }\n"
    repo = GitRepo(tmp_path / "repo")
    repo.commit("start", {"src/a.c": a0, "src/util.c": u0 + post, "src/b.c": b0, "src/version.txt": "1.0.0\n"})
    repo.tag("v1.0.0")
    repo.branch("maint", "HEAD")
    repo.commit("2.0: callers use util.c's post()", {"src/a.c": "int size(void) { return 0; }\n"})
    repo.tag("v2.0.0")
    repo.checkout("maint")
    fix_a = repo.commit("http: return on bad post", {"src/a.c": a1})
    fix_b = repo.commit("clone: drop helper, refuse symlinked hooks", {"src/b.c": b1})
    _release_and_sync(repo, {"src/util.c": u0 + post_fixed, "src/b.c": b1})
    fixes = [
        {"id": "FIX-A", "title": "t", "severity": "high", "commits": [fix_a]},
        {"id": "FIX-B", "title": "t", "severity": "high", "commits": [fix_b]},
    ]
    result, out = build(repo, tmp_path, fixes, ["^v1=1.x", "^v2=2.x"])
    assert result.exit_code == 0, result.stderr
    assert "util.c" in _variant(out, "FIX-A", "2.x")
    found = verdicts(repo, out, tmp_path)
    assert wrong(repo, {k: v for k, v in found.items() if k[1] == "FIX-A"}, {"FIX-A": [fix_a]}) == []
    assert _tenant(repo, out, tmp_path, "v2.0.1", {"util.c": u0 + post}, "FIX-A").status == "partial"


def test_a_file_split_after_a_merge_up_is_followed_by_the_fix_s_lines_not_the_newer_line_s(tmp_path: Path) -> None:
    """The fix is merged up into 2.x, and a later 2.x release splits the fix's file: the fixed function goes to
    q.c, the rest (with 2.x's own functions) to r.c. The merge's lines are read against its first parent: only
    the fix's. Read against every parent, they included 2.x's own lines, so r.c (which holds those) was taken
    as the file's later name and q.c was not, and a tenant with the fix taken back out of q.c read `applied`."""
    base = "".join(f"int base_{k}(void) {{ return {k}; }}\n" for k in range(3))
    newer = "".join(f"int newer_{k}(void) {{ return {10 + k}; }}\n" for k in range(6))
    post = "int post(int n)\n{\n\treturn send(n);\n}\n"
    post_fixed = "int post(int n)\n{\n\tif (n > post_limit())\n\t\treturn refuse_oversized_post(n);\n\treturn send(n);\n}\n"
    repo = GitRepo(tmp_path / "repo")
    repo.commit("start", {"src/p.c": post + "\n\n\n" + base})
    repo.tag("v1.0.0")
    repo.branch("maint", "HEAD")
    repo.commit("2.0 functions", {"src/p.c": post + "\n\n\n" + base + newer})
    repo.tag("v2.0.0")
    repo.checkout("maint")
    fix = repo.commit("post: refuse oversized bodies", {"src/p.c": post_fixed + "\n\n\n" + base})
    repo.tag("v1.0.1")
    repo.checkout("main")
    repo.merge("maint", "Sync with 1.0.1")
    assert repo.git("show", "HEAD:src/p.c") == (post_fixed + "\n\n\n" + base + newer).strip()
    repo.tag("v2.0.1")
    repo.commit("split p.c", {"src/p.c": None, "src/q.c": post_fixed, "src/r.c": base + newer})
    repo.tag("v2.0.2")
    fixes = [{"id": "FIX-A", "title": "t", "severity": "high", "commits": [fix]}]
    result, out = build(repo, tmp_path, fixes, ["^v1=1.x", "^v2=2.x"])
    assert result.exit_code == 0, result.stderr
    assert "moved: FIX-A: p.c is judged as q.c on 2.x" in result.stderr, result.stderr
    assert "as r.c" not in result.stderr, result.stderr
    found = verdicts(repo, out, tmp_path)
    assert wrong(repo, found, {"FIX-A": [fix]}) == []
    assert _tenant(repo, out, tmp_path, "v2.0.2", {"q.c": post}, "FIX-A").status != "applied"
