"""`drift catalog build` on the shapes a project's security releases take (runc's, for one), each verdict checked
against git ancestry at every tag:
- the release is tagged on a side branch that merges the private fix into the line; the line itself takes the
  same fix later by another merge of that side branch, whose first parent is the line before the release
  (a first merge that drops the fix must not make the release read `applied`);
- a fix that changes one file and deletes another, at releases from before the deleted file existed.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.gitrepo import GitRepo
from tests.test_builder_landings import _tenant, build, verdicts

A0 = "int open_dev(int fd) { return openat(fd, \"null\", 0); }\nint other(void) { return 0; }\n"
A1 = "int open_dev(int fd) { return verify_dev_null(openat(fd, \"null\", O_NOFOLLOW)); }\nint other(void) { return 0; }\n"
MAIN1 = "int open_dev(int fd) {\n    return verify_dev_null(openat(fd, \"null\", O_NOFOLLOW));\n}\nint other(void) { return 0; }\n"
A2 = "int open_dev(int fd) { return verify_dev_null(openat(fd, \"null\", O_NOFOLLOW)); }\nint other(void) { return 1; }\n"


O0 = "int open_dev(int fd) { return openat(fd, \"null\", 0); }\n"
O1 = "int open_dev(int fd) { return verify_dev_null(openat(fd, \"null\", O_NOFOLLOW)); }\n"
P0 = "int mount_proc(void) { return mount(\"proc\", 0); }\n"
P1 = "int mount_proc(void) { return mount(\"proc\", MS_NOSUID|MS_NOEXEC); }\n"
GAP = "\n/* ---- */\n/* ---- */\n/* ---- */\n\n"


def _two_part_fix(repo: GitRepo) -> tuple[str, str]:
    """1.0.0, then on main the fix in two commits (F1, F2), released as 2.0.0."""
    repo.commit("start", {"src/dev.c": O0 + GAP + P0, "VERSION": "1.0.0\n"})
    repo.tag("v1.0.0")
    repo.branch("release-1.0", "HEAD")
    f1 = repo.commit("verify /dev/null", {"src/dev.c": O1 + GAP + P0})
    f2 = repo.commit("mount proc nosuid", {"src/dev.c": O1 + GAP + P1})
    repo.tag("v2.0.0")
    return f1, f2


def test_a_release_tagged_off_the_line_whose_merge_dropped_the_fix_never_reads_applied(tmp_path: Path) -> None:
    """1.0.1 is tagged on a side branch whose merge of the backport resolved the fix away (dev.c gets a
    comment); the maintenance branch then merges that side branch (with the pre-release state as first
    parent) and its resolution brings the real fix, released as 1.0.2. Both merges bring the fix's commits
    into the line and lie on one chain: one landing, which 1.0.1 (holding only the first) does not carry.
    Taking the second merge as adding nothing (it brings no commit of the fix the first lacked) made 1.0.1
    read `applied` without the fix's code; so it never does, though runc's honest releases of this shape
    (1.1.12) read `unverifiable` for it."""
    repo = GitRepo(tmp_path / "repo")
    repo.commit("start", {"src/dev.c": A0, "VERSION": "1.0.0\n"})
    repo.tag("v1.0.0")
    repo.branch("release-1.0", "HEAD")
    fix = repo.commit("rootfs: verify /dev/null before use", {"src/dev.c": MAIN1})
    repo.commit("main: version 2.0.0", {"VERSION": "2.0.0\n"})
    repo.tag("v2.0.0")
    repo.branch("ghsa", "v1.0.0")
    repo.checkout("ghsa")
    repo.commit(f"[1.0] rootfs: verify /dev/null before use\n\n(cherry picked from commit {fix})", {"src/dev.c": A1})
    repo.branch("ghsa-release", "v1.0.0")
    repo.checkout("ghsa-release")
    repo.merge_resolved("ghsa", "merge private security patches into ghsa-release-1.0.1", {"src/dev.c": "/* dev.c */\n" + A0})
    repo.commit("VERSION: release 1.0.1", {"VERSION": "1.0.1\n"})
    repo.tag("v1.0.1")
    repo.commit("VERSION: back to development", {"VERSION": "1.0.1+dev\n"})
    repo.checkout("release-1.0")
    repo.merge_resolved("ghsa-release", "Merge pull request from GHSA-xxxx", {"src/dev.c": A1, "VERSION": "1.0.1+dev\n"})
    repo.commit("VERSION: release 1.0.2", {"VERSION": "1.0.2\n"})
    repo.tag("v1.0.2")
    fixes = [{"id": "SEC-1", "title": "t", "severity": "high", "commits": [fix]}]
    result, out = build(repo, tmp_path, fixes, ["^v1=1.x", "^v2=2.x"])
    assert result.exit_code == 0, result.stderr
    found = verdicts(repo, out, tmp_path)
    assert found[("v1.0.1", "SEC-1")] != "applied"
    assert found[("v1.0.2", "SEC-1")] == "applied"
    assert _tenant(repo, out, tmp_path, "v1.0.2", {"dev.c": "/* dev.c */\n" + A0}, "SEC-1").status != "applied"


def test_a_file_the_fix_deletes_proves_nothing_where_releases_without_the_fix_lack_it_too(tmp_path: Path) -> None:
    """The fix changes dev.c and deletes helper.c, which 1.1 added. At 1.0, which never had helper.c and lacks
    the fix, the absence of helper.c proves nothing: 1.0 reads `missing` (judged by dev.c), not `partial`."""
    repo = GitRepo(tmp_path / "repo")
    repo.commit("start", {"src/dev.c": A0})
    repo.tag("v1.0.0")
    repo.commit("add a helper", {"src/helper.c": "int helper(void) { return mknod(\"null\"); }\n"})
    repo.tag("v1.1.0")
    fix = repo.commit("rootfs: verify /dev/null, drop the helper", {"src/dev.c": A1, "src/helper.c": None})
    repo.tag("v1.2.0")
    fixes = [{"id": "SEC-2", "title": "t", "severity": "high", "commits": [fix]}]
    result, out = build(repo, tmp_path, fixes, ["^v1=1.x"])
    assert result.exit_code == 0, result.stderr
    doc = yaml.safe_load((out / "fixes" / "SEC-2.yaml").read_text(encoding="utf-8"))
    helper = next(f for f in doc["variants"][0]["files"] if f["path"] == "helper.c")
    assert "absent" in helper["fixed"] and "absent" in helper["unfixed"]
    found = verdicts(repo, out, tmp_path)
    assert found == {("v1.0.0", "SEC-2"): "missing", ("v1.1.0", "SEC-2"): "missing", ("v1.2.0", "SEC-2"): "applied"}
    # helper.c kept at 1.2 is still a stale file: partial.
    assert _tenant(repo, out, tmp_path, "v1.2.0", {"helper.c": "int helper(void) { return mknod(\"null\"); }\n"}, "SEC-2").status == "partial"


def test_a_fix_that_only_deletes_a_file_still_reads_applied_where_it_is_gone(tmp_path: Path) -> None:
    """A deletion alone: the file's absence is the only evidence, so it stays evidence of the fix."""
    repo = GitRepo(tmp_path / "repo")
    repo.commit("start", {"src/dev.c": A0})
    repo.tag("v1.0.0")
    repo.commit("add a helper", {"src/helper.c": "int helper(void) { return mknod(\"null\"); }\n"})
    repo.tag("v1.1.0")
    fix = repo.commit("drop the helper", {"src/helper.c": None})
    repo.tag("v1.2.0")
    fixes = [{"id": "SEC-3", "title": "t", "severity": "high", "commits": [fix]}]
    result, out = build(repo, tmp_path, fixes, ["^v1=1.x"])
    assert result.exit_code == 0, result.stderr
    found = verdicts(repo, out, tmp_path)
    assert found[("v1.1.0", "SEC-3")] == "missing" and found[("v1.2.0", "SEC-3")] == "applied"


@pytest.mark.parametrize("rest", ["on the side branch, after the tag", "on the maintenance branch"])
def test_a_security_release_with_part_of_a_fix_does_not_read_applied(tmp_path: Path, rest: str) -> None:
    """The fix is F1 then F2. The security release 1.0.1 is tagged on a side branch holding F1's backport
    alone; F2's backport comes later, on that side branch or on the maintenance branch, which then merges
    the side branch (1.0.2). 1.0.1, with half the fix, does not read `applied`; 1.0.2, with both, does.
    (Where F2 is on the maintenance branch, the two landings diverge: each carries part, so they are one.)"""
    repo = GitRepo(tmp_path / "repo")
    f1, f2 = _two_part_fix(repo)
    repo.branch("ghsa", "v1.0.0")
    repo.checkout("ghsa")
    repo.cherry_pick(f1)
    repo.commit("VERSION: release 1.0.1", {"VERSION": "1.0.1\n"})
    repo.tag("v1.0.1")
    if rest == "on the side branch, after the tag":
        repo.cherry_pick(f2)
        repo.checkout("release-1.0")
    else:
        repo.checkout("release-1.0")
        repo.cherry_pick(f2)
    repo.merge("ghsa", "Merge pull request from GHSA-xxxx")
    repo.commit("VERSION: release 1.0.2", {"VERSION": "1.0.2\n"})
    repo.tag("v1.0.2")
    fixes = [{"id": "S", "title": "t", "severity": "high", "commits": [f1, f2]}]
    result, out = build(repo, tmp_path, fixes, ["^v1=1.x", "^v2=2.x"])
    assert result.exit_code == 0, result.stderr
    found = verdicts(repo, out, tmp_path)
    assert found[("v1.0.1", "S")] not in ("applied", "not-applicable")
    assert found[("v1.0.2", "S")] == "applied" and found[("v2.0.0", "S")] == "applied"


def test_a_line_that_got_only_part_of_a_fix_never_reads_applied(tmp_path: Path) -> None:
    """Only F1 was backported to 1.x: its releases do not carry the fix, and the build says what is lacking."""
    repo = GitRepo(tmp_path / "repo")
    f1, f2 = _two_part_fix(repo)
    repo.checkout("release-1.0")
    repo.cherry_pick(f1)
    repo.commit("VERSION 1.0.1", {"VERSION": "1.0.1\n"})
    repo.tag("v1.0.1")
    fixes = [{"id": "S", "title": "t", "severity": "high", "commits": [f1, f2]}]
    result, out = build(repo, tmp_path, fixes, ["^v1=1.x", "^v2=2.x"])
    assert result.exit_code == 0, result.stderr
    assert f"check: S: on 1.x, no copy of {f2[:12]} was found beside the rest of the fix" in result.stderr
    found = verdicts(repo, out, tmp_path)
    assert found[("v1.0.1", "S")] not in ("applied", "not-applicable")
    assert found[("v2.0.0", "S")] == "applied"


def test_a_fix_named_by_two_diverging_commits_is_two_whole_landings(tmp_path: Path) -> None:
    """Two commits that diverge (the maintenance fix and main's own) are the same fix made twice, not two
    parts: each is whole, and a release with either carries it."""
    repo = GitRepo(tmp_path / "repo")
    repo.commit("start", {"src/dev.c": O0 + GAP + P0})
    repo.tag("v1.0.0")
    repo.branch("release-1.0", "HEAD")
    main_fix = repo.commit("verify /dev/null (main)", {"src/dev.c": O1 + GAP + P0 + "/* main */\n"})
    repo.tag("v2.0.0")
    repo.checkout("release-1.0")
    maint_fix = repo.commit("verify /dev/null (1.0)", {"src/dev.c": O1 + GAP + P0})
    repo.tag("v1.0.1")
    fixes = [{"id": "S", "title": "t", "severity": "high", "commits": [main_fix, maint_fix]}]
    result, out = build(repo, tmp_path, fixes, ["^v1=1.x", "^v2=2.x"])
    assert result.exit_code == 0, result.stderr
    assert "check:" not in result.stderr
    found = verdicts(repo, out, tmp_path)
    assert found[("v1.0.1", "S")] == "applied" and found[("v2.0.0", "S")] == "applied" and found[("v1.0.0", "S")] == "missing"


def test_a_part_applied_again_by_git_am_is_found_by_its_author_date_and_subject(tmp_path: Path) -> None:
    """F2's backport was applied with `git am` after a conflict (another patch id, no trailer): it keeps F2's
    author, time and subject (with a `[1.0]` tag), which finds it, and 1.0.1 carries the whole fix."""
    repo = GitRepo(tmp_path / "repo")
    f1, f2 = _two_part_fix(repo)
    repo.checkout("release-1.0")
    repo.cherry_pick(f1)
    written = repo.git("log", "-1", "--format=%aI", f2)
    resolved = "int mount_proc(void) { return mount(\"proc\", MS_NOSUID|MS_NOEXEC|MS_NODEV); }\n"
    repo.commit("[1.0] mount proc nosuid", {"src/dev.c": O1 + GAP + resolved})
    repo.git("commit", "-q", "--amend", "--no-edit", f"--date={written}")
    backport = repo.rev("HEAD")
    repo.commit("VERSION 1.0.1", {"VERSION": "1.0.1\n"})
    repo.tag("v1.0.1")
    fixes = [{"id": "S", "title": "t", "severity": "high", "commits": [f1, f2]}]
    result, out = build(repo, tmp_path, fixes, ["^v1=1.x", "^v2=2.x"])
    assert result.exit_code == 0, result.stderr
    assert f"{backport[:12]} (found: same author, date and subject as {f2[:12]})" in result.stderr
    assert "check:" not in result.stderr
    found = verdicts(repo, out, tmp_path)
    assert found[("v1.0.1", "S")] == "applied" and found[("v1.0.0", "S")] == "missing"


def test_a_first_attempt_reverted_before_a_line_was_cut_is_no_copy_of_the_fix(tmp_path: Path) -> None:
    """F0 lands on main and is reverted; 1.x is cut after the revert. The fix F is F0 picked again and amended
    (git keeps its author, time and subject). F0 is in F's own history: never a copy of it, so 1.x, which
    has none of the fix, does not read `applied`."""
    repo = GitRepo(tmp_path / "repo")
    repo.commit("start", {"src/dev.c": O0 + GAP + P0})
    repo.tag("v1.0.0")
    first = repo.commit("verify /dev/null", {"src/dev.c": "int open_dev(int fd) { return openat(fd, \"null\", O_NOFOLLOW); }\n" + GAP + P0})
    repo.revert(first)
    repo.branch("release-1.0", "HEAD")
    repo.checkout("release-1.0")
    repo.commit("dev: a comment", {"src/dev.c": O0 + GAP + P0 + "/* 1.x */\n"})
    repo.tag("v1.0.1")
    repo.checkout("main")
    repo.commit("verify /dev/null", {"src/dev.c": O1 + GAP + P0})
    repo.git("commit", "-q", "--amend", "--no-edit", f"--date={repo.git('log', '-1', '--format=%aI', first)}")
    fix = repo.rev("HEAD")
    repo.tag("v2.0.0")
    fixes = [{"id": "S", "title": "t", "severity": "high", "commits": [fix]}]
    result, out = build(repo, tmp_path, fixes, ["^v1=1.x", "^v2=2.x"])
    assert result.exit_code == 0, result.stderr
    assert first[:12] not in result.stderr
    found = verdicts(repo, out, tmp_path)
    assert found[("v1.0.1", "S")] not in ("applied", "not-applicable") and found[("v2.0.0", "S")] == "applied"


def test_a_file_change_both_parts_make_is_a_copy_of_neither(tmp_path: Path) -> None:
    """F1 and F2 each add the same log line to util.c. A 1.x commit adding only that line matches both by
    util.c's patch id: it carries neither part, and 1.x does not read `applied`."""
    def util(a: bool, b: bool) -> str:
        lines = ["int util_a(void) {", "    return 0;", "}", "", "int util_b(void) {", "    return 0;", "}", ""]
        if b:
            lines.insert(5, '    log_info("hardening: input validated");')
        if a:
            lines.insert(1, '    log_info("hardening: input validated");')
        return "\n".join(lines) + "\n"

    repo = GitRepo(tmp_path / "repo")
    repo.commit("start", {"src/dev.c": O0, "src/mount.c": P0, "src/util.c": util(False, False)})
    repo.tag("v1.0.0")
    repo.branch("release-1.0", "HEAD")
    f1 = repo.commit("verify /dev/null", {"src/dev.c": O1, "src/util.c": util(True, False)})
    f2 = repo.commit("mount proc nosuid", {"src/mount.c": P1, "src/util.c": util(True, True)})
    repo.tag("v2.0.0")
    repo.checkout("release-1.0")
    repo.commit("util: log validation", {"src/util.c": util(True, False)})
    repo.tag("v1.0.1")
    fixes = [{"id": "S", "title": "t", "severity": "high", "commits": [f1, f2]}]
    result, out = build(repo, tmp_path, fixes, ["^v1=1.x", "^v2=2.x"])
    assert result.exit_code == 0, result.stderr
    found = verdicts(repo, out, tmp_path)
    assert found[("v1.0.1", "S")] not in ("applied", "not-applicable")


def test_a_squashed_backport_whose_trailers_name_both_parts_carries_both(tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "repo")
    f1, f2 = _two_part_fix(repo)
    repo.checkout("release-1.0")
    repo.commit(f"[1.0] /dev/null and proc hardening\n\n(cherry picked from commit {f1})\n(cherry picked from commit {f2})",
                {"src/dev.c": O1 + GAP + P1})
    repo.tag("v1.0.1")
    fixes = [{"id": "S", "title": "t", "severity": "high", "commits": [f1, f2]}]
    result, out = build(repo, tmp_path, fixes, ["^v1=1.x", "^v2=2.x"])
    assert result.exit_code == 0, result.stderr
    assert "check:" not in result.stderr
    assert verdicts(repo, out, tmp_path)[("v1.0.1", "S")] == "applied"


SSH_OLD = (
    "static int gen_proto(git_str *request, const char *cmd, const char *repo)\n{\n"
    "\tgit_str_puts(request, cmd);\n\tgit_str_puts(request, \" '\");\n\tgit_str_puts(request, repo);\n"
    "\tgit_str_puts(request, \"'\");\n\treturn 0;\n}\n"
    "static int send_command(ssh_stream *s) { return libssh2_channel_exec(s->channel, s->cmd); }\n"
)


def test_code_split_into_a_new_file_before_the_fix_is_still_unfixed_where_the_new_file_is_not(tmp_path: Path) -> None:
    """libgit2's shape: 1.8 split the libssh2 code out of transports/ssh.c into ssh_libssh2.c (git sees no
    rename: ssh.c stays, smaller), then the fix escaped the path in gen_proto there. 1.7, which lacks
    ssh_libssh2.c, has the unescaped gen_proto in ssh.c: it reads `missing`, not `not-applicable`. So does
    1.6, which never had the code: the fix's entry cannot tell one absence of ssh_libssh2.c from another,
    and fails closed."""
    repo = GitRepo(tmp_path / "repo")
    repo.commit("start", {"src/other/util.c": "int util(void) { return 0; }\n"})
    repo.tag("v1.6.0")
    repo.commit("ssh transport", {"src/transports/ssh.c": SSH_OLD})
    repo.tag("v1.7.0")
    repo.branch("maint-1.7", "HEAD")
    repo.commit("ssh: refactor libssh2-specific bits into their own file", {
        "src/transports/ssh.c": "int git_transport_ssh(void) { return ssh_libssh2_transport(); }\n",
        "src/transports/ssh_libssh2.c": SSH_OLD + "int ssh_libssh2_transport(void) { return 1; }\n",
    })
    repo.tag("v1.8.0")
    fix = repo.commit("CVE-2026-5917: Escape repo path in gen_proto()", {
        "src/transports/ssh_libssh2.c": SSH_OLD.replace("\tgit_str_puts(request, repo);\n", "\tgit_str_puts_escaped(request, repo, \"'!\", \"'\\\\\", \"'\");\n")
        + "int ssh_libssh2_transport(void) { return 1; }\n",
    })
    repo.tag("v1.8.1")
    repo.checkout("maint-1.7")
    repo.commit("1.7: docs", {"src/other/util.c": "int util(void) { return 1; }\n"})
    repo.tag("v1.7.1")
    fixes = [{"id": "SEC-9", "title": "t", "severity": "high", "commits": [fix]}]
    result, out = build(repo, tmp_path, fixes, ["^v1.6=1.6", "^v1.7=1.7", "^v1.8=1.8"])
    assert result.exit_code == 0, result.stderr
    assert "transports/ssh.c holds the code the fix touched in transports/ssh_libssh2.c" in result.stderr
    found = verdicts(repo, out, tmp_path)
    assert found[("v1.7.0", "SEC-9")] == found[("v1.7.1", "SEC-9")] == "missing"
    assert found[("v1.8.0", "SEC-9")] == "missing" and found[("v1.8.1", "SEC-9")] == "applied"
    assert found[("v1.6.0", "SEC-9")] == "missing"


CRIU = (
    "int criu_checkpoint(struct container *c, struct criu_opts *opts)\n{\n"
    "\tstruct criu_req req = { .type = CRIU_REQ_TYPE__DUMP };\n\treq.opts = opts;\n"
    "\tadd_namespaces_to_request(c, &req);\n\tadd_cgroups_to_request(c, &req);\n"
    "\treturn criu_swrk(c, &req);\n}\n"
)


def test_a_fix_that_only_adds_lines_finds_its_code_in_the_file_it_was_split_from(tmp_path: Path) -> None:
    """runc's shape: the checkpoint code moved from container_linux.go into criu_linux.go, then a fix added
    one line to it. The fix removes nothing; the lines around its change are in container.c at releases
    before the move, which read `missing`, not `not-applicable`."""
    repo = GitRepo(tmp_path / "repo")
    repo.commit("start", {"src/lib/container.c": "int container_start(struct container *c) { return run(c); }\n" + CRIU})
    repo.tag("v1.0.0")
    repo.commit("criu: move the checkpoint code into its own file", {
        "src/lib/container.c": "int container_start(struct container *c) { return run(c); }\n", "src/lib/criu.c": CRIU,
    })
    repo.tag("v1.1.0")
    fix = repo.commit("criu: add the time namespace to the request", {
        "src/lib/criu.c": CRIU.replace("\tadd_cgroups_to_request(c, &req);\n", "\tadd_cgroups_to_request(c, &req);\n\tadd_time_ns_to_request(c, &req);\n"),
    })
    repo.tag("v1.1.1")
    fixes = [{"id": "SEC-10", "title": "t", "severity": "high", "commits": [fix]}]
    result, out = build(repo, tmp_path, fixes, ["^v1=1.x"])
    assert result.exit_code == 0, result.stderr
    found = verdicts(repo, out, tmp_path)
    assert found == {("v1.0.0", "SEC-10"): "missing", ("v1.1.0", "SEC-10"): "missing", ("v1.1.1", "SEC-10"): "applied"}


def test_a_backport_to_the_old_name_of_the_fix_s_file_is_taken(tmp_path: Path) -> None:
    """libgit2's CVE-2022-29187: main moved `src/repository.c` to `src/libgit2/repository.c` before the fix;
    1.3's copy (same author, time and subject, another patch after a conflict) changes the file under its
    old name. Git sees the rename, so the copy changes the fix's file: 1.3.2 carries the fix."""
    old = "int repo_open(const char *path) {\n    return open_gitdir(path);\n}\n"
    repo = GitRepo(tmp_path / "repo")
    repo.commit("start", {"src/repository.c": old})
    repo.tag("v1.3.0")
    repo.branch("maint-1.3", "HEAD")
    repo.mv("src/repository.c", "src/libgit2/repository.c", "move the library sources under src/libgit2/")
    repo.tag("v1.4.0")
    fix = repo.commit("repo: validate gitdir and gitlink ownership", {
        "src/libgit2/repository.c": "int repo_open(const char *path) {\n    if (!owned_by_user(path)) return -1;\n    return open_gitdir(path);\n}\n",
    })
    repo.tag("v1.4.1")
    repo.checkout("maint-1.3")
    repo.commit("[1.3] repo: validate gitdir and gitlink ownership", {
        "src/repository.c": "int repo_open(const char *path) {\n    if (!owned_by_current_user(path))\n        return -1;\n    return open_gitdir(path);\n}\n",
    })
    repo.git("commit", "-q", "--amend", "--no-edit", f"--date={repo.git('log', '-1', '--format=%aI', fix)}")
    repo.tag("v1.3.2")
    fixes = [{"id": "CVE-2022-29187", "title": "t", "severity": "high", "commits": [fix]}]
    result, out = build(repo, tmp_path, fixes, ["^v1.3=1.3", "^v1.4=1.4"])
    assert result.exit_code == 0, result.stderr
    assert "check:" not in result.stderr
    found = verdicts(repo, out, tmp_path)
    assert found[("v1.3.2", "CVE-2022-29187")] == "applied" and found[("v1.3.0", "CVE-2022-29187")] == "missing"
    assert found[("v1.4.1", "CVE-2022-29187")] == "applied" and found[("v1.4.0", "CVE-2022-29187")] == "missing"
