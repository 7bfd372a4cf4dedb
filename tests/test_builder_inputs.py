"""`drift catalog build` on awkward inputs: non-reproducible built outputs, old encodings, and globs that match
nothing (fail closed). Verdicts are checked against git ancestry at every tag (tests/test_builder_landings.py)."""

from __future__ import annotations

from pathlib import Path

import yaml
from click.testing import CliRunner

from drift.cli import main
from tests.builders import make_jar
from tests.gitrepo import GitRepo
from tests.test_builder_landings import build, java, verdicts, wrong


def jar_of(repo: GitRepo, tag: str, year: int) -> bytes:
    """The product's jar as a non-reproducible build makes it: classes from the sources, new bytes every time."""
    return make_jar({f"{p[4:-5]}.class": data for p, data in repo.tree_files(tag, "src").items() if p.endswith(".java")}, year=year)


def test_a_jar_rebuilt_every_release_goes_only_to_the_fixes_that_change_its_sources(tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "repo")
    repo.commit("start", {"src/A.java": java("A", "int a = 1;"), "src/B.java": java("B", "int b = 1;"), "tests/T.java": "t1\n"})
    repo.tag("v1.0.0")
    tests_only = repo.commit("cover the parser", {"tests/T.java": "t2\n", "docs/x.md": "doc\n"})
    reverted = repo.commit("B: bound b", {"src/B.java": java("B", "int b = Math.min(1, 2);")})
    repo.tag("v1.0.1")
    undo = repo.revert(reverted)
    repo.tag("v1.0.2")
    repo.commit("docs only", {"docs/x.md": "doc 2\n"})
    repo.tag("v1.0.3")
    artifacts = tmp_path / "artifacts"
    for year, tag in enumerate(repo.tags(), start=2001):
        (artifacts / tag[1:] / "lib").mkdir(parents=True)
        (artifacts / tag[1:] / "lib" / "app.jar").write_bytes(jar_of(repo, tag, year))
    fixes = [
        {"id": "TESTS-1", "title": "t", "severity": "high", "commits": [tests_only]},
        {"id": "REVERTED-1", "title": "t", "severity": "high", "commits": [reverted]},
    ]
    result, out = build(repo, tmp_path, fixes, ["^v1=1.x"], "--artifacts", str(artifacts), "--artifact-source", "src/*=lib/app.jar")
    assert result.exit_code == 0, result.stderr
    found = verdicts(repo, out, tmp_path, artifacts)
    assert {s for (_, fix), s in found.items() if fix == "TESTS-1"} == {"not-applicable"}
    reverted_status = {tag: s for (tag, fix), s in found.items() if fix == "REVERTED-1"}
    assert reverted_status == {"v1.0.0": "missing", "v1.0.1": "applied", "v1.0.2": "missing", "v1.0.3": "missing"}
    assert wrong(repo, {k: v for k, v in found.items() if k[1] == "REVERTED-1" and not repo.is_ancestor(undo, k[0])},
                 {"REVERTED-1": [reverted]}) == []


def test_without_a_source_map_a_rebuilt_jar_with_the_same_classes_goes_to_no_fix(tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "repo")
    repo.commit("start", {"src/A.java": java("A", "int a = 1;"), "tests/T.java": "t1\n"})
    repo.tag("v1.0.0")
    tests_only = repo.commit("cover A", {"tests/T.java": "t2\n"})
    repo.tag("v1.0.1")
    artifacts = tmp_path / "artifacts"
    for year, tag in enumerate(repo.tags(), start=2001):
        (artifacts / tag[1:] / "lib").mkdir(parents=True)
        (artifacts / tag[1:] / "lib" / "app.jar").write_bytes(jar_of(repo, tag, year))
    fixes = [{"id": "TESTS-1", "title": "t", "severity": "high", "commits": [tests_only]}]
    result, out = build(repo, tmp_path, fixes, ["^v1=1.x"], "--artifacts", str(artifacts))
    assert result.exit_code == 0, result.stderr
    assert yaml.safe_load((out / "fixes" / "TESTS-1.yaml").read_text(encoding="utf-8"))["variants"][0]["files"] == []


def test_a_latin1_commit_message_and_file_name_do_not_stop_the_build(tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "repo")
    repo.commit("start", {"src/A.java": java("A", "int a = 1;"), "src/caf\udce9.txt": b"x\n"})  # a Latin-1 file name
    repo.tag("v1.0.0")
    repo.branch("1.0", "HEAD")
    message = tmp_path / "msg"
    message.write_bytes("Corrigé: la vérification\n".encode("latin-1"))
    repo.tick()
    repo.write({"src/A.java": java("A", "int a = Math.max(0, 1); // checked")})
    repo.git("commit", "-q", "-F", str(message))
    fix = repo.rev("HEAD")
    assert repo.git("cat-file", "commit", fix).find("encoding") == -1  # no encoding header: raw Latin-1 bytes
    repo.tag("v2.0.0")
    repo.checkout("1.0")
    back = repo.cherry_pick(fix, trailer=True)
    repo.tag("v1.0.1")
    fixes = [{"id": "ENC-1", "title": "t", "severity": "high", "commits": [fix]}]
    result, out = build(repo, tmp_path, fixes, ["^v1=1.x", "^v2=2.x"])
    assert result.exit_code == 0, result.stderr
    assert f"1.x: {back[:12]} (found: its cherry-pick trailer names {fix[:12]})" in result.stderr, result.stderr
    release = yaml.safe_load((out / "releases" / "2.x" / "2.0.0.yaml").read_text(encoding="utf-8"))
    assert "caf%E9.txt" in [f["path"] for f in release["files"]]
    found = verdicts(repo, out, tmp_path)
    assert wrong(repo, found, {"ENC-1": [fix, back]}) == []


def _one_fix(tmp_path: Path) -> tuple[list[str], Path]:
    """Two releases and a fix between them: the `catalog build` arguments but the `--include` and `--line-of`
    ones, and the catalog folder they name."""
    repo = GitRepo(tmp_path / "repo")
    repo.commit("start", {"src/A.java": java("A", "int a = 1;")})
    repo.tag("v1.0.0")
    fix = repo.commit("fix", {"src/A.java": java("A", "int a = 2;")})
    repo.tag("v1.0.1")
    register = tmp_path / "FIXES.yaml"
    register.write_text(yaml.safe_dump([{"id": "F-1", "title": "t", "severity": "high", "commits": [fix]}]), encoding="utf-8")
    out = tmp_path / "manifests"
    return ["catalog", "build", "--repo", str(repo.path), "--fixes", str(register), "--out", str(out)], out


def test_an_include_glob_that_matches_nothing_is_refused_naming_it(tmp_path: Path) -> None:
    args, out = _one_fix(tmp_path)
    result = CliRunner().invoke(main, [*args, "--line-of", "^v1=1.x", "--include", "src/*", "--include", "scr/*"])
    assert result.exit_code == 2 and "scr/*" in result.stderr, result.stderr
    assert not out.exists()


def test_a_line_with_no_release_tag_is_refused_naming_the_rule(tmp_path: Path) -> None:
    """A `--line-of` rule whose line no tag reaches (a typo in the pattern) is exit 2 naming it, not an
    internal error, and writes nothing."""
    args, out = _one_fix(tmp_path)
    result = CliRunner().invoke(main, [*args, "--include", "src/*", "--line-of", "^v1=1.x", "--line-of", "^v2=2.x"])
    assert result.exit_code == 2, result.stderr
    assert result.stderr.strip().splitlines() == ["drift: error: --line-of: ^v2=2.x: no release tag is on that line (a typo?)"]
    assert not out.exists()


def test_a_release_with_no_files_is_refused(tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "repo")
    repo.commit("start", {"README": "r\n"})
    repo.tag("v1.0.0")
    fix = repo.commit("fix", {"src/A.java": java("A", "int a = 2;")})
    repo.tag("v1.0.1")
    result, _ = build(repo, tmp_path, [{"id": "F-1", "title": "t", "severity": "high", "commits": [fix]}], ["^v1=1.x"])
    assert result.exit_code == 2 and "1.0.0" in result.stderr and "src/*" in result.stderr, result.stderr


def test_validate_refuses_a_release_manifest_with_no_files(tmp_path: Path) -> None:
    root = tmp_path / "manifests"
    (root / "releases" / "1.x").mkdir(parents=True)
    (root / "fixes").mkdir()
    (root / "catalog.yaml").write_text("format: drift-catalog/1\nproduct: p\nlines: [\"1.x\"]\n", encoding="utf-8")
    (root / "releases" / "1.x" / "1.0.0.yaml").write_text(
        'format: drift-release/1\nline: "1.x"\nversion: "1.0.0"\nfiles: []\n', encoding="utf-8"
    )
    result = CliRunner().invoke(main, ["catalog", "validate", "--catalog", str(root)])
    assert result.exit_code == 2, result.output
    assert "1.0.0.yaml" in result.stderr and "files" in result.stderr, result.stderr


def test_an_out_folder_whose_parent_does_not_exist_is_exit_2_and_creates_nothing(tmp_path):
    import subprocess
    import sys

    repo = tmp_path / "p"
    (repo / "src").mkdir(parents=True)
    (repo / "src" / "a.txt").write_text("a\n")
    env = {**__import__("os").environ, "GIT_AUTHOR_NAME": "n", "GIT_AUTHOR_EMAIL": "a@b", "GIT_COMMITTER_NAME": "n", "GIT_COMMITTER_EMAIL": "a@b"}
    for args in (["init", "-q"], ["add", "."], ["commit", "-qm", "one"], ["tag", "v1.0.0"]):
        subprocess.run(["git", *args], cwd=repo, env=env, check=True)
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True, check=True).stdout.strip()
    (tmp_path / "F.yaml").write_text(f"- {{id: X-1, title: t, severity: high, commits: [{head}]}}\n")
    done = subprocess.run([sys.executable, "-m", "drift", "catalog", "build", "--repo", "p", "--fixes", "F.yaml", "--include", "src/*",
                           "--line-of", "^v1=1.x", "--out", "no/such/cat"], cwd=tmp_path, capture_output=True, text=True, check=False)
    assert done.returncode == 2 and "no/such/cat: --out: cannot write cat: no/such does not exist" in done.stderr
    assert not (tmp_path / "no").exists()
