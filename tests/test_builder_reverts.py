"""`drift catalog build` where a fix is reverted (`git revert`) in a later release: that release does not keep
the fix (SPEC 3: `fixed` holds "this version and every later one that keeps the fix"), so a tenant running it
is never told the fix is applied."""

from __future__ import annotations

from pathlib import Path

import yaml

from tests.gitrepo import GitRepo
from tests.test_builder_landings import _tenant, build, java

FILLER = tuple(f"int pad{i} = {i};" for i in range(8))


def _history(tmp_path: Path) -> tuple[GitRepo, str]:
    repo = GitRepo(tmp_path / "repo")
    repo.commit("start", {"src/Parse.java": java("Parse", "int limit = 10;", "int parse() { return read(limit); }", *FILLER, "// tail")})
    repo.tag("v1.0")
    fix = repo.commit("Parse: bound the input (security)", {
        "src/Parse.java": java("Parse", "int limit = 10;", "int parse() { return read(Math.min(limit, 8)); }", *FILLER, "// tail"),
    })
    repo.tag("v1.1")
    repo.commit("Parse: a later change to the same file", {
        "src/Parse.java": java("Parse", "int limit = 10;", "int parse() { return read(Math.min(limit, 8)); }", *FILLER, "// tail, reworded"),
    })
    repo.tag("v1.2")
    return repo, fix


def test_a_release_after_a_revert_of_the_fix_is_not_applied(tmp_path: Path) -> None:
    repo, fix = _history(tmp_path)
    repo.revert(fix)
    repo.tag("v1.3")
    fixes = [{"id": "SEC-1", "title": "t", "severity": "high", "commits": [fix]}]
    result, out = build(repo, tmp_path, fixes, ["^v1=1.x"])
    assert result.exit_code == 0, result.stderr
    for tag, status in (("v1.0", "missing"), ("v1.1", "applied"), ("v1.2", "applied"), ("v1.3", "missing")):
        assert _tenant(repo, out, tmp_path, tag, {}, "SEC-1").status == status, tag


def test_a_revert_of_the_revert_gives_the_fix_back(tmp_path: Path) -> None:
    repo, fix = _history(tmp_path)
    undo = repo.revert(fix)
    repo.tag("v1.3")
    repo.revert(undo)
    repo.tag("v1.4")
    fixes = [{"id": "SEC-1", "title": "t", "severity": "high", "commits": [fix]}]
    result, out = build(repo, tmp_path, fixes, ["^v1=1.x"])
    assert result.exit_code == 0, result.stderr
    for tag, status in (("v1.2", "applied"), ("v1.3", "missing"), ("v1.4", "applied")):
        assert _tenant(repo, out, tmp_path, tag, {}, "SEC-1").status == status, tag
    said = [line for line in result.stderr.splitlines() if line.startswith("check:")]
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
    fixes = [{"id": "SEC-1", "title": "t", "severity": "high", "commits": [fix]}]
    result, out = build(repo, tmp_path, fixes, ["^v1=1.x"])
    assert result.exit_code == 0, result.stderr
    assert again[:12] not in result.stderr  # the same change made again: no landing of its own
    for tag, status in (("v1.3", "missing"), ("v1.4", "applied")):
        assert _tenant(repo, out, tmp_path, tag, {}, "SEC-1").status == status, tag


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
    fixes = [{"id": "SEC-1", "title": "t", "severity": "high", "commits": [fix]}]
    result, out = build(repo, tmp_path, fixes, ["^v1\\.[01]=1.x", "^v1\\.2=1.2", "^v1\\.3=1.3"])
    assert result.exit_code == 0, result.stderr
    for tag, status in (("v1.2", "applied"), ("v1.2.1", "applied"), ("v1.2.2", "missing"), ("v1.3.0", "missing")):
        assert _tenant(repo, out, tmp_path, tag, {}, "SEC-1").status == status, tag


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
        "src/Parse.java": java("Parse", "int limit = 10;", "int parse() { return read(limit); }", *FILLER, "// tail, again"),
    })
    repo.tag("v1.4")
    fixes = [{"id": "SEC-1", "title": "t", "severity": "high", "commits": [fix]}]
    result, out = build(repo, tmp_path, fixes, ["^v1=1.x"])
    assert result.exit_code == 0, result.stderr
    assert _tenant(repo, out, tmp_path, "v1.4", {}, "SEC-1").status == "missing"


def test_the_fix_s_change_made_in_another_file_does_not_give_it_back(tmp_path: Path) -> None:
    """The same changed lines in a decoy file have the fix's patch id; only the fix's own files count."""
    repo, fix = _history(tmp_path)
    repo.commit("decoy holds the old line", {"src/Decoy.java": java("Decoy", "int parse() { return read(limit); }")})
    repo.revert(fix)
    repo.tag("v1.3")
    repo.commit("decoy bound", {"src/Decoy.java": java("Decoy", "int parse() { return read(Math.min(limit, 8)); }")})
    repo.tag("v1.4")
    fixes = [{"id": "SEC-1", "title": "t", "severity": "high", "commits": [fix]}]
    result, out = build(repo, tmp_path, fixes, ["^v1=1.x"])
    assert result.exit_code == 0, result.stderr
    assert _tenant(repo, out, tmp_path, "v1.4", {}, "SEC-1").status == "missing"


def test_a_revert_of_the_fix_made_again_takes_it_away_again(tmp_path: Path) -> None:
    repo, fix = _history(tmp_path)
    undo = repo.revert(fix)
    redo = repo.revert(undo)
    repo.tag("v1.3")
    repo.revert(redo)
    repo.tag("v1.4")
    fixes = [{"id": "SEC-1", "title": "t", "severity": "high", "commits": [fix]}]
    result, out = build(repo, tmp_path, fixes, ["^v1=1.x"])
    assert result.exit_code == 0, result.stderr
    for tag, status in (("v1.3", "applied"), ("v1.4", "missing")):
        assert _tenant(repo, out, tmp_path, tag, {}, "SEC-1").status == status, tag


def test_a_revert_of_the_merge_that_brought_the_fix_takes_it_away(tmp_path: Path) -> None:
    repo, _ = _history(tmp_path)
    repo.commit("Render", {"src/Render.java": java("Render", "String r(String s) { return s; }", *FILLER, "// end")})
    repo.branch("topic", "HEAD")
    repo.checkout("topic")
    fix = repo.commit("Render: escape the name (security)", {
        "src/Render.java": java("Render", "String r(String s) { return esc(s); }", *FILLER, "// end"),
    })
    repo.checkout("main")
    repo.commit("main moves on", {"src/Other.java": java("Other", "int x = 1;")})
    merge = repo.merge("topic", "Merge branch 'topic'")
    repo.tag("v1.5")
    repo.commit("Render: later work", {"src/Render.java": java("Render", "String r(String s) { return esc(s); }", *FILLER, "// end, later")})
    repo.tag("v1.6")
    repo.tick()
    repo.git("revert", "--no-edit", "-m", "1", merge)
    repo.tag("v1.7")
    fixes = [{"id": "SEC-2", "title": "t", "severity": "high", "commits": [fix]}]
    result, out = build(repo, tmp_path, fixes, ["^v1=1.x"])
    assert result.exit_code == 0, result.stderr
    for tag, status in (("v1.5", "applied"), ("v1.6", "applied"), ("v1.7", "missing")):
        assert _tenant(repo, out, tmp_path, tag, {}, "SEC-2").status == status, tag


def test_a_fix_of_two_commits_both_reverted_is_not_back_when_one_is_made_again(tmp_path: Path) -> None:
    repo, first = _history(tmp_path)
    second = repo.commit("Render: escape the name (same advisory)", {
        "src/Render.java": java("Render", "String r(String s) { return esc(s); }", *FILLER, "// end"),
    })
    repo.tag("v1.2.5")
    undo_first = repo.revert(first)
    repo.revert(second)
    repo.tag("v1.3")
    repo.revert(undo_first)
    repo.tag("v1.4")
    fixes = [{"id": "SEC-1", "title": "t", "severity": "high", "commits": [first, second]}]
    result, out = build(repo, tmp_path, fixes, ["^v1=1.x"])
    assert result.exit_code == 0, result.stderr
    for tag, status in (("v1.2.5", "applied"), ("v1.3", "missing"), ("v1.4", "partial")):
        assert _tenant(repo, out, tmp_path, tag, {}, "SEC-1").status == status, tag
