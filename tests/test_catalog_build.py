"""`drift catalog build` proved on a real git repository (tests/gitrepo.py builds it; see its timeline).

The proof has two oracles, both computed from git itself and never from drift:
- the catalog the contract asks for, file by file: release manifests from `git archive` of each tag, and each
  fix's variants, files, `fixed` and `unfixed` hashes from `git merge-base --is-ancestor` and `git diff`;
- the verdicts a tenant running each tag must get: every tag is checked out, collected with `drift collect`,
  registered as a tenant and scanned. A fix is `applied` where its commits are in the tag's history.

What each case of the repository expects, and why (tags: v7.4.0 v7.4.1 v7.4.2 on 7.x; v8.0.0 v8.0.1 v8.1.0
and the pre-release v8.1.0-rc1 on 8.x; every fix lands on main between v8.0.0 and v8.0.1):
- A (cherry-pick -x to 7.x before v7.4.1): the build finds the 7.x commit by its trailer (and its patch id).
  Variants 8.x and 7.x. Applied at v8.0.1+, v7.4.1+; missing at v8.0.0, v7.4.0.
- B (a hand-written 7.x commit, another patch, whose message says `Backport of <sha>`): found by that line
  only. Applied at v8.0.1+, v7.4.1+; missing at v8.0.0, v7.4.0.
- C (the 7.x commit resolves the conflict differently, no trailer, another patch): nothing ties it to C, so
  the build must say 7.x was not found, and the catalog has an 8.x variant only. Its `unfixed` hashes are those
  of every release without the registered commit, 7.x's patched Login.java among them: 7.x tenants are
  `missing` even at v7.4.1 and v7.4.2, which do carry the hand-made fix. That is what the register lets the
  build know, and the report says so; a vendor adds the 7.x commit to the register to fix it.
- D (a feature branch merged with --no-ff; the register names the merge): the variant's files are the merge
  against its first parent: Export.java changed and Csv.java added (`unfixed: [absent]`). Applied at v8.0.1+.
- E (reverted before v8.1.0): Cache.java at v8.1.0 has the bytes of v8.0.0 again. That hash would be both
  fixed (v8.1.0 contains E) and unfixed (v8.0.0 does not): it stays in `unfixed` only. Applied at v8.0.1
  only; missing at v8.1.0 (and at the rc), which contain the fix *and* its revert.
- F (Strings.java renamed to Text.java before v8.1.0, by another commit): at v8.1.0 Strings.java is missing from
  a release that contains the fix, but the fix did not delete it, so its absence proves nothing: `absent`
  stands in both lists (SPEC 3), and the later name Text.java carries the evidence. Applied at v8.0.1 and v8.1.0.
- G (touches tests/ only, which is not deployed): one variant with `files: []`: `not-applicable` at every
  tag. (It also carries `applies_to`, which must reach the catalog.)
- H (adds AuditLog.java): `unfixed: [absent]`. Applied at v8.0.1+; missing elsewhere (7.x never got it).
- I (deletes XmlImport.java; the register names both the 8.x and the 7.x commit): `fixed: [absent]` on both
  variants. Applied at v8.0.1+ and v7.4.2; missing at v8.0.0, v7.4.0, v7.4.1.
- J (plain cherry-pick without -x to 7.x after v7.4.1): found by `git patch-id --stable` alone. Applied at
  v8.0.1+ and v7.4.2.
- K (print/Stamp.java moved to print/seal/Stamp.java unchanged before v8.1.0): as F, `absent` stands in both
  lists of print/Stamp.java; and the build follows a rename without change by its hash (README), so the later name is an
  entry too (`fixed` its hash, `unfixed: [absent]`, and `absent` in `fixed` too, since v8.0.1 lacks it).
  Applied at v8.0.1 and v8.1.0; a v8.1.0 tenant whose moved file went back to the unfixed bytes is not.

The release manifests' `date` is the tagged commit's (README), not an annotated tag's own date.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from drift.catalog import load_catalog
from drift.cli import main
from drift.collect import collect
from drift.scan import run_scan
from drift.tenants import load_registry
from tests.gitrepo import (
    LINE_OF,
    PRE_RELEASE_TAGS,
    RELEASE_TAGS,
    A,
    B,
    C,
    D,
    E,
    F,
    G,
    GitRepo,
    H,
    I,
    J,
    K,
    Product,
    build_product,
    line_of_tag,
    sha256_token,
    write_fixes,
)

ABSENT = "absent"
ALL_TAGS = (*RELEASE_TAGS, *PRE_RELEASE_TAGS)
NOW = dt.datetime(2023, 6, 14, 1, 30, tzinfo=dt.UTC)

# Where each fix must land: line -> the commits of that landing (names of Product.commits). Registered commits
# and the backports the build must find; C's hand-made 7.x commit (C7) is deliberately not here.
LANDINGS: dict[str, dict[str, tuple[str, ...]]] = {
    A: {"8.x": ("A8",), "7.x": ("A7",)},
    B: {"8.x": ("B8",), "7.x": ("B7",)},
    C: {"8.x": ("C8",)},
    D: {"8.x": ("D8",)},
    E: {"8.x": ("E8",)},
    F: {"8.x": ("F8",)},
    G: {"8.x": ("G8",)},
    H: {"8.x": ("H8",)},
    I: {"8.x": ("I8",), "7.x": ("I7",)},
    J: {"8.x": ("J8",), "7.x": ("J7",)},
    K: {"8.x": ("K8",)},
}
UNDONE_BY = {E: "E-revert"}
"""A fix whose effect a later commit undoes: not applied where that commit is in the history too."""
NO_DEPLOYED_FILE = {G}


# -- fixtures --------------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def product_master(tmp_path_factory: pytest.TempPathFactory) -> Product:
    """The repository, built once per session (copied per test by `product`)."""
    return build_product(tmp_path_factory.mktemp("git") / "kofu")


def copy_product(master: Product, dest: Path) -> Product:
    shutil.copytree(master.path, dest, symlinks=True)
    return Product(GitRepo.open(dest), dict(master.commits), [dict(f) for f in master.fixes])


@pytest.fixture
def product(tmp_path: Path, product_master: Product) -> Product:
    """A fresh copy of the repository for one test."""
    return copy_product(product_master, tmp_path / "kofu")


def build_args(repo: Path, fixes: Path, out: Path, *extra: str) -> list[str]:
    return [
        "catalog", "build", "--repo", str(repo), "--fixes", str(fixes), "--include", "src/*", "--map", "src/=",
        *(a for rule in LINE_OF for a in ("--line-of", rule)), "--product", "kofu", "--out", str(out), *extra,
    ]


def run(*args: str):
    return CliRunner().invoke(main, list(args))


def build(product: Product, folder: Path, *extra: str, fixes: list[dict[str, object]] | None = None):
    fixes_path = write_fixes(folder / "FIXES.yaml", product.fixes if fixes is None else fixes)
    out = folder / "manifests"
    return run(*build_args(product.path, fixes_path, out, *extra)), out


def described(result) -> str:
    return f"exit {result.exit_code}\n--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}" + (
        f"\n--- exception\n{result.exc_info[1]!r}" if result.exception and not isinstance(result.exception, SystemExit) else ""
    )


@dataclass
class Built:
    product: Product
    out: Path
    result: object


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory, product_master: Product) -> Built:
    """One build of a copy of the repository, shared read-only by the tests that only look at it."""
    folder = tmp_path_factory.mktemp("built")
    product = copy_product(product_master, folder / "kofu")
    result, out = build(product, folder)
    return Built(product, out, result)


def require_success(b: Built) -> None:
    assert b.result.exit_code == 0, described(b.result)


def files_of(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


# -- the oracle: what the contract says the catalog holds, computed from git ---------------------------------------


def deployed(repo_path: str) -> str | None:
    """`--include 'src/*' --map src/=`: the deployed path of a repository path, None when not deployed."""
    return repo_path[len("src/"):] if repo_path.startswith("src/") else None


def release_files(repo: GitRepo, tag: str) -> dict[str, bytes]:
    return {deployed(p): data for p, data in repo.tree_files(tag, "src").items()}


def token_at(files: dict[str, bytes], path: str) -> str:
    return sha256_token(files[path]) if path in files else ABSENT


def expected_fix(product: Product, fix_id: str, releases: tuple[str, ...] = RELEASE_TAGS) -> dict[str, dict[str, dict[str, set[str]]]]:
    """line -> deployed path -> {"fixed": tokens, "unfixed": tokens}, as the contract defines them."""
    repo, c = product.repo, product.commits
    trees = {tag: release_files(repo, tag) for tag in releases}
    every_commit = [c[name] for names in LANDINGS[fix_id].values() for name in names]
    none_of_fix = [t for t in releases if not any(repo.is_ancestor(x, t) for x in every_commit)]
    variants: dict[str, dict[str, dict[str, set[str]]]] = {}
    for line, names in LANDINGS[fix_id].items():
        commits = [c[n] for n in names]
        changed = {d for x in commits for p in repo.changed_paths(x) if (d := deployed(p)) is not None}
        all_of_variant = [t for t in releases if all(repo.is_ancestor(x, t) for x in commits)]
        moved = later_names(repo, changed, commits, all_of_variant, releases)
        paths = sorted(changed | set(moved))
        deletes = {d for x in commits for p in deleted_paths(repo, x) if (d := deployed(p)) is not None}
        entries = {}
        for path in paths:
            fixed = {token_at(trees[t], path) for t in all_of_variant}
            unfixed = {token_at(trees[t], path) for t in none_of_fix}
            # a later name is unfixed in the old name's versions too (a stale copy moved there)
            unfixed |= {token_at(trees[t], old) for old in moved.get(path, ()) for t in none_of_fix if old in trees[t]}
            fixed -= unfixed - {ABSENT}  # a hash in both stays in unfixed only; absent in both stays in both
            if ABSENT in fixed and path not in deletes:
                unfixed.add(ABSENT)  # removed by other commits than the landing: its absence proves nothing
            entries[path] = {"fixed": fixed, "unfixed": unfixed}
        variants[line] = entries
    return variants


def deleted_paths(repo: GitRepo, commit: str) -> list[str]:
    """The paths a commit deletes against its first parent (a rename deletes its old name)."""
    out = repo.git("diff", "--no-renames", "--name-only", "--diff-filter=D", "-z", f"{commit}^1", commit)
    return [p for p in out.split("\0") if p]


def later_names(repo: GitRepo, paths: set[str], commits: list[str], carrying: list[str], releases: tuple[str, ...]) -> dict[str, set[str]]:
    """Where a release carrying the fix lacks one of `paths`: the files no release holding the path also holds
    that contain at least half of the lines (stripped, three letters or digits at least) the landing's commits
    add to the path and its last commit still holds, counting only lines that at most 4 of those files hold;
    at most 4; each with the paths it comes from. (README: files moved later
    are followed by the fix's own lines.)"""
    found: dict[str, set[str]] = {}
    trees = {t: release_files(repo, t) for t in releases}
    last = release_files(repo, commits[-1])
    for path in paths:
        added: set[bytes] = set()
        for commit in commits:
            patch = repo.git("diff", "-U0", "--no-renames", f"{commit}^1", commit, "--", "src/" + path)
            added |= {line[1:].strip().encode() for line in patch.splitlines() if line.startswith("+") and not line.startswith("+++")}
        lines = {x for x in added if len(re.findall(rb"[A-Za-z0-9]", x)) >= 3}
        if path not in last or not lines:
            continue
        lines &= {x.strip() for x in last[path].split(b"\n")}
        beside = {p for t in releases if path in trees[t] for p in trees[t]}
        for tag in carrying:
            if path in trees[tag] or not lines:
                continue
            held = {o: lines & {x.strip() for x in data.split(b"\n")} for o, data in trees[tag].items() if o not in beside}
            telling = {x for x in lines if sum(x in h for h in held.values()) <= 4}  # `return nil` says nothing
            names = [o for o, h in held.items() if telling and 2 * len(h & telling) >= len(telling)]
            if len(names) <= 4:
                for name in names:
                    found.setdefault(name, set()).add(path)
    return found


def first_release(repo: GitRepo, commits: list[str], line: str, releases: tuple[str, ...] = RELEASE_TAGS) -> str:
    """The first release of `line` that contains every commit (by version order, which is date order here)."""
    return next(t[1:] for t in releases if line_of_tag(t) == line and all(repo.is_ancestor(x, t) for x in commits))


def expected_status(product: Product, fix_id: str, tag: str) -> str:
    """What a tenant running `tag` must get for the fix (see the module docstring for each case)."""
    if fix_id in NO_DEPLOYED_FILE:
        return "not-applicable"
    repo, c = product.repo, product.commits
    landed = any(repo.is_ancestor(c[n], tag) for names in LANDINGS[fix_id].values() for n in names)
    undone = fix_id in UNDONE_BY and repo.is_ancestor(c[UNDONE_BY[fix_id]], tag)
    return "applied" if landed and not undone else "missing"


def tenant_id(tag: str) -> str:
    return "tag-" + tag.replace(".", "-")


# -- 1. it builds, validates, and builds the same bytes again --------------------------------------------------


def test_build_writes_a_valid_catalog_and_the_same_bytes_twice(product: Product, product_master: Product, tmp_path: Path):
    refs_before = product.repo.git("for-each-ref", "--format=%(refname) %(objectname)")
    first, out1 = build(product, tmp_path / "one")
    assert first.exit_code == 0, described(first)
    assert "Traceback" not in first.output

    validated = run("catalog", "validate", "--catalog", str(out1))
    assert validated.exit_code == 0, described(validated)
    assert "product kofu" in validated.stdout
    assert f"{len(RELEASE_TAGS)} releases, {len(LANDINGS)} fixes" in validated.stdout

    # Again, from another copy of the repository at another path, into another folder: the same bytes.
    other = copy_product(product_master, tmp_path / "elsewhere" / "kofu")
    second, out2 = build(other, tmp_path / "two")
    assert second.exit_code == 0, described(second)
    one, two = files_of(out1), files_of(out2)
    assert sorted(one) == sorted(two)
    assert [name for name in one if one[name] != two[name]] == []

    # Reading the history changes nothing in it.
    assert product.repo.git("for-each-ref", "--format=%(refname) %(objectname)") == refs_before
    assert product.repo.git("status", "--porcelain") == ""


def test_catalog_layout(built: Built):
    require_success(built)
    names = sorted(files_of(built.out))
    assert names == sorted(
        ["catalog.yaml"]
        + [f"releases/{line_of_tag(t)}/{t[1:]}.yaml" for t in RELEASE_TAGS]
        + [f"fixes/{fix_id}.yaml" for fix_id in LANDINGS]
    )
    head = yaml.safe_load((built.out / "catalog.yaml").read_text(encoding="utf-8"))
    assert head["product"] == "kofu"
    assert sorted(head["lines"]) == ["7.x", "8.x"]


@pytest.mark.parametrize("how", ["git clone", "branches deleted", "bare clone"])
def test_the_catalog_follows_from_tags_and_register_alone(built: Built, tmp_path: Path, how: str):
    """A CI clone has 7.x only as a remote-tracking branch, a bare one has no work tree, and a repository may have
    dropped its maintenance branches: releases are tags, so each gives the same catalog, backports included."""
    require_success(built)
    if how == "branches deleted":
        product = copy_product(built.product, tmp_path / "kofu")
        product.repo.git("branch", "-D", "7.x", "fix/export-escaping")
        repo = product.path
    else:
        repo = tmp_path / ("kofu.git" if how == "bare clone" else "kofu")
        GitRepo.open(tmp_path).git("clone", "-q", *(["--bare"] if how == "bare clone" else []), str(built.product.path), str(repo))
    fixes = write_fixes(tmp_path / "FIXES.yaml", built.product.fixes)
    result = run(*build_args(repo, fixes, tmp_path / "manifests"))
    assert result.exit_code == 0, described(result)
    one, two = files_of(built.out), files_of(tmp_path / "manifests")
    assert sorted(one) == sorted(two)
    assert [name for name in one if one[name] != two[name]] == []


def test_a_failed_build_leaves_the_previous_catalog_whole(product: Product, tmp_path: Path):
    result, out = build(product, tmp_path)
    assert result.exit_code == 0, described(result)
    before = files_of(out)
    fixes = [dict(f) for f in product.fixes]
    fixes[4] = {**fixes[4], "commits": ["0" * 40]}
    result, out = build(product, tmp_path, fixes=fixes)
    assert result.exit_code == 2, described(result)
    assert files_of(out) == before


# -- 2a. the catalog holds what the contract says, hash by hash ------------------------------------------------


@pytest.mark.parametrize("tag", RELEASE_TAGS)
def test_release_manifest_is_the_deployed_tree_of_its_tag(built: Built, tag: str):
    require_success(built)
    line, version = line_of_tag(tag), tag[1:]
    doc = yaml.safe_load((built.out / "releases" / line / f"{version}.yaml").read_text(encoding="utf-8"))
    assert (doc["format"], doc["line"], str(doc["version"])) == ("drift-release/1", line, version)
    found = {f["path"]: "sha256:" + f["sha256"] for f in doc["files"]}
    expected = {p: sha256_token(data) for p, data in release_files(built.product.repo, tag).items()}
    assert found == expected  # src/ mapped away; tests/, README.md and build.gradle left out
    assert [f["path"] for f in doc["files"]] == sorted(found), "files in path order"
    if "date" in doc:  # the tagged commit's date (README), whatever the date of an annotated tag
        assert str(doc["date"]) == built.product.repo.git("log", "-1", "--format=%cs", tag)


@pytest.mark.parametrize("fix_id", list(LANDINGS))
def test_fix_variants_files_and_hashes_follow_the_contract(built: Built, fix_id: str):
    require_success(built)
    product = built.product
    doc = yaml.safe_load((built.out / "fixes" / f"{fix_id}.yaml").read_text(encoding="utf-8"))
    entry = next(f for f in product.fixes if f["id"] == fix_id)
    assert doc["format"] == "drift-fix/1"
    assert (doc["id"], doc["title"], doc["severity"]) == (entry["id"], entry["title"], entry["severity"])
    if "published" in entry:
        assert str(doc.get("published")) == entry["published"]
    assert doc.get("aliases", []) == entry.get("aliases", [])
    assert doc.get("applies_to") == entry.get("applies_to")

    expected = expected_fix(product, fix_id)
    lines = [v["line"] for v in doc["variants"]]
    assert sorted(lines) == sorted(expected), f"{fix_id}: variants for lines {lines}, expected {sorted(expected)}"
    for variant in doc["variants"]:
        line = variant["line"]
        found = {f["path"]: {"fixed": set(f["fixed"]), "unfixed": set(f["unfixed"])} for f in variant["files"]}
        assert found == expected[line], f"{fix_id} {line}"
        if variant.get("fixed_in") is not None and expected[line]:
            commits = [product.commits[n] for n in LANDINGS[fix_id][line]]
            assert str(variant["fixed_in"]) == first_release(product.repo, commits, line), f"{fix_id} {line}"


def test_the_cases_read_as_intended(built: Built):
    """The few facts the oracle above computes, spelled out, so that an oracle bug cannot hide a case."""
    require_success(built)

    def variant(fix_id: str, line: str) -> dict[str, dict[str, list[str]]]:
        doc = yaml.safe_load((built.out / "fixes" / f"{fix_id}.yaml").read_text(encoding="utf-8"))
        v = next(v for v in doc["variants"] if v["line"] == line)
        return {f["path"]: {"fixed": f["fixed"], "unfixed": f["unfixed"]} for f in v["files"]}

    assert list(variant(A, "7.x")) == ["app/print/IssueJob.java"]
    assert list(variant(C, "8.x")) == ["app/auth/Login.java"]
    assert sorted(variant(D, "8.x")) == ["app/feature/Csv.java", "app/feature/Export.java"]
    assert variant(D, "8.x")["app/feature/Csv.java"]["unfixed"] == [ABSENT]
    cache = variant(E, "8.x")["app/cache/Cache.java"]
    assert len(cache["fixed"]) == 1 and len(cache["unfixed"]) == 1  # the reverted bytes: unfixed only
    assert sorted(variant(F, "8.x")) == ["app/util/Strings.java", "app/util/Text.java"]  # renamed later, with an edit
    strings = variant(F, "8.x")["app/util/Strings.java"]
    assert ABSENT in strings["fixed"] and ABSENT in strings["unfixed"]  # deleted by another commit: proves nothing
    assert variant(G, "8.x") == {}
    assert variant(H, "8.x")["app/audit/AuditLog.java"]["unfixed"] == [ABSENT]
    assert variant(I, "8.x")["app/legacy/XmlImport.java"]["fixed"] == [ABSENT]
    assert variant(I, "7.x")["app/legacy/XmlImport.java"]["fixed"] == [ABSENT]
    assert list(variant(J, "7.x")) == ["app/auth/Session.java"]
    assert sorted(variant(K, "8.x")) == ["app/print/Stamp.java", "app/print/seal/Stamp.java"]
    moved = variant(K, "8.x")["app/print/seal/Stamp.java"]
    assert ABSENT in moved["fixed"] and len(moved["fixed"]) == 2
    old_bytes = [t for t in variant(K, "8.x")["app/print/Stamp.java"]["unfixed"] if t != ABSENT]
    assert old_bytes and sorted(moved["unfixed"]) == sorted([*old_bytes, ABSENT])  # a stale copy moved to the new name is unfixed


# -- 2b. ground truth: a tenant running each tag is judged by what that tag really contains ----------------------


def scan_every_tag(product: Product, catalog: Path, folder: Path):
    """Check out every tag, collect its deploy root as tenant `tag-vX-Y-Z`, register them all, and scan."""
    inventory = folder / "inventory"
    inventory.mkdir(parents=True)
    registry = []
    for tag in ALL_TAGS:
        root = product.repo.export(tag, folder / "checkouts" / tag, "src")  # the deploy root: src/ mapped away
        tid = tenant_id(tag)
        (inventory / f"{tid}.json").write_text(collect(root, tid, jobs=1, now=NOW).text, encoding="utf-8")
        registry.append({"id": tid, "name": f"kofu {tag}", "line": line_of_tag(tag)})
    (inventory / "tenants.yaml").write_text(yaml.safe_dump(registry, sort_keys=False), encoding="utf-8")
    return run_scan(load_catalog(catalog), load_registry(inventory), inventory)


def wrong_verdicts(product: Product, scan) -> list[str]:
    found = {(r.tenant.id, f.fix): f for r in scan.tenants for f in r.findings}
    wrong = []
    for tag in ALL_TAGS:
        for fix_id in LANDINGS:
            expected = expected_status(product, fix_id, tag)
            finding = found[(tenant_id(tag), fix_id)]
            if finding.status != expected:
                evidence = "; ".join(f"{e.path}: {e.state}" for e in finding.evidence)
                wrong.append(f"{tag} {fix_id}: expected {expected}, got {finding.status} (variant {finding.variant}: {evidence})")
    return wrong


def test_every_tag_collected_and_scanned_gets_the_verdicts_its_history_says(built: Built, tmp_path: Path):
    require_success(built)
    scan = scan_every_tag(built.product, built.out, tmp_path)
    wrong = wrong_verdicts(built.product, scan)
    assert wrong == [], "\n".join(wrong)

    # Every release tag's files are exactly one catalogued release; the rc (not in the catalog) differs from
    # every release in its version file only.
    for result in scan.tenants:
        tag = next(t for t in ALL_TAGS if tenant_id(t) == result.tenant.id)
        assert result.drift.uncatalogued == (), tag
        if tag in RELEASE_TAGS:
            assert result.drift.modified == (), tag
            assert next(iter(result.drift.releases)) == tag[1:], (tag, dict(result.drift.releases))
        else:
            assert result.drift.modified == ("conf/app.properties",), tag


def write_oracle_catalog(product: Product, out: Path) -> Path:
    """The catalog the contract describes, written straight from the git oracle (no `catalog build`)."""
    repo = product.repo
    (out / "catalog.yaml").parent.mkdir(parents=True)
    (out / "catalog.yaml").write_text(yaml.safe_dump({"product": "kofu", "lines": ["7.x", "8.x"]}), encoding="utf-8")
    for tag in RELEASE_TAGS:
        files = [{"path": p, "kind": "source", "sha256": sha256_token(d)[len("sha256:"):]}
                 for p, d in sorted(release_files(repo, tag).items())]
        doc = {"format": "drift-release/1", "line": line_of_tag(tag), "version": tag[1:], "files": files}
        path = out / "releases" / line_of_tag(tag) / f"{tag[1:]}.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    (out / "fixes").mkdir()
    for entry in product.fixes:
        variants = [
            {"line": line, "files": [{"path": p, "fixed": sorted(h["fixed"]), "unfixed": sorted(h["unfixed"])}
                                     for p, h in sorted(entries.items())]}
            for line, entries in expected_fix(product, entry["id"]).items()
        ]
        doc = {"format": "drift-fix/1", "id": entry["id"], "title": entry["title"], "severity": entry["severity"],
               **{k: entry[k] for k in ("aliases", "applies_to") if k in entry}, "variants": variants}
        (out / "fixes" / f"{entry['id']}.yaml").write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return out


def test_the_two_oracles_agree(product: Product, tmp_path: Path):
    """The contract's catalog, written from git by hand, gives the verdicts the history says: so a failure of
    the two tests above is the build's, not the oracles'."""
    catalog = write_oracle_catalog(product, tmp_path / "manifests")
    assert run("catalog", "validate", "--catalog", str(catalog)).exit_code == 0
    wrong = wrong_verdicts(product, scan_every_tag(product, catalog, tmp_path))
    assert wrong == [], "\n".join(wrong)


def test_a_moved_file_put_back_to_its_unfixed_bytes_is_not_applied(built: Built, tmp_path: Path):
    """A v8.1.0 tenant whose print/seal/Stamp.java was overwritten with the 8.0.0 bytes (an old overlay) does not
    carry K, though print/Stamp.java is absent as at every fixed v8.1.0: the followed name must catch it."""
    require_success(built)
    repo = built.product.repo
    root = repo.export("v8.1.0", tmp_path / "checkout", "src")
    (root / "app/print/seal/Stamp.java").write_bytes(repo.tree_files("v8.0.0", "src")["src/app/print/Stamp.java"])
    inventory = tmp_path / "inventory"
    inventory.mkdir()
    (inventory / "overlay.json").write_text(collect(root, "overlay", jobs=1, now=NOW).text, encoding="utf-8")
    (inventory / "tenants.yaml").write_text(yaml.safe_dump([{"id": "overlay", "name": "overlay"}]), encoding="utf-8")
    scan = run_scan(load_catalog(built.out), load_registry(inventory), inventory, fix_ids=[K])
    finding = scan.tenants[0].findings[0]
    assert finding.status != "applied", finding


# -- 3. the build says what it found ---------------------------------------------------------------------------

NOT_FOUND = r"(not found|could not|couldn't|cannot|can't|no commit|no backport|missing|none found|unknown)"


def report_about(text: str, fix_id: str) -> str:
    """The lines of the build's messages that name `fix_id`, with any indented lines under them."""
    lines = text.splitlines()
    picked: list[str] = []
    for i, line in enumerate(lines):
        if fix_id in line:
            picked.append(line)
            j = i + 1
            while j < len(lines) and lines[j][:1].isspace() and not any(f in lines[j] for f in LANDINGS if f != fix_id):
                picked.append(lines[j])
                j += 1
    return "\n".join(picked)


def says_not_found(report: str, line: str) -> bool:
    escaped = re.escape(line)
    return bool(
        re.search(rf"{escaped}\W*[^\n]{{0,20}}?{NOT_FOUND}", report, re.IGNORECASE)
        or re.search(rf"{NOT_FOUND}[^\n;]{{0,40}}?{escaped}", report, re.IGNORECASE)
    )


@pytest.mark.parametrize("fix_id", [A, B, J])
def test_report_names_the_line_a_backport_was_found_on(built: Built, fix_id: str):
    require_success(built)
    # Lines about hashes (a conflict names releases of both lines) say nothing of backports.
    report = "\n".join(line for line in report_about(built.result.stderr, fix_id).splitlines() if "sha256:" not in line)
    assert re.search(r"(found|backport)[^\n]*7\.x", report, re.IGNORECASE), f"{fix_id}: the report does not say 7.x was found:\n{built.result.stderr}"
    assert not says_not_found(report, "7.x"), f"{fix_id}: 7.x reported as not found:\n{report}"


def test_report_says_7x_was_not_found_for_the_conflicted_backport(built: Built):
    require_success(built)
    report = report_about(built.result.stderr, C)
    assert says_not_found(report, "7.x"), f"{C}: the report does not say 7.x was not found:\n{built.result.stderr}"
    assert built.product.commits["C7"][:7] not in built.result.stderr


@pytest.mark.parametrize("fix_id", [E, G])
def test_report_names_a_reverted_fix_and_a_fix_with_no_deployed_file(built: Built, fix_id: str):
    """E: its reverted hash would be both fixed and unfixed (kept in unfixed: reported). G: no deployed file."""
    require_success(built)
    assert fix_id in built.result.stderr, built.result.stderr


# -- 4. a bad register is refused, naming the entry --------------------------------------------------------------


@pytest.mark.parametrize(
    "bad",
    ["0123456789abcdef0123456789abcdef01234567", "0123456", "blob", "not-a-sha", "4b7c1c3\nmain"],
    ids=["unknown-full", "unknown-short", "blob", "not-a-sha", "two-lines"],
)
def test_a_commit_that_does_not_exist_is_refused_naming_the_entry(product: Product, tmp_path: Path, bad: str):
    if bad == "blob":
        bad = product.repo.git("rev-parse", "v8.0.0:README.md")  # an object, but not a commit
    fixes = [dict(f) for f in product.fixes]
    fixes[2] = {**fixes[2], "commits": [bad]}
    result, out = build(product, tmp_path, fixes=fixes)
    assert result.exit_code == 2, described(result)
    message = result.stderr
    assert "Traceback" not in result.output
    assert "FIXES.yaml" in message, message
    assert "[2].commits[0]" in message, message
    assert not (out / "catalog.yaml").exists() or run("catalog", "validate", "--catalog", str(out)).exit_code == 0


def test_a_fix_id_given_twice_is_refused_naming_the_entry(product: Product, tmp_path: Path):
    fixes = [dict(f) for f in product.fixes]
    fixes.append({**fixes[1], "id": fixes[0]["id"]})
    result, _ = build(product, tmp_path, fixes=fixes)
    assert result.exit_code == 2, described(result)
    message = result.stderr
    assert "Traceback" not in result.output
    assert "FIXES.yaml" in message, message
    assert f"[{len(fixes) - 1}]" in message and fixes[0]["id"] in message, message


# -- beyond the letter of the contract -------------------------------------------------------------------------


@pytest.mark.parametrize("named", ["A7", "B7"])
def test_a_register_naming_the_backport_finds_the_main_line_commit(product: Product, tmp_path: Path, named: str):
    """The contract asks for the commits on other lines that carry the named one. A register often knows the
    commit on the line its ticket was filed for, which may be the backport: its own trailer (`cherry picked
    from commit`, `Backport of`) names the other commit, and the link should be read both ways. Otherwise the
    8.x releases, which carry the fix, get their hashes in `unfixed` and every 8.x tenant is `missing`."""
    fix = next(f for f in product.fixes if f["id"] == (A if named == "A7" else B))
    entry = {**fix, "commits": [product.commits[named]]}
    result, out = build(product, tmp_path, fixes=[entry])
    assert result.exit_code == 0, described(result)
    doc = yaml.safe_load((out / "fixes" / f"{entry['id']}.yaml").read_text(encoding="utf-8"))
    assert sorted(v["line"] for v in doc["variants"]) == ["7.x", "8.x"], result.stderr


def test_a_release_tag_on_something_else_than_a_commit_is_an_input_problem(product: Product, tmp_path: Path):
    """git.git and linux carry tags on blobs and trees (linux's v2.6.11 is a tree, and matches `^v?\\d`). Such a
    tag is skipped with a word, or refused naming it (exit 2); it is not an operational failure (exit 3)."""
    product.repo.git("tag", "v0.9-keys", product.repo.git("rev-parse", "v8.0.0:README.md"))
    result, _ = build(product, tmp_path, "--line-of", "^v?0\\.=8.x")
    assert result.exit_code in (0, 2), described(result)
    assert "v0.9-keys" in result.stderr, described(result)


# -- 5. pre-releases ---------------------------------------------------------------------------------------------


def test_pre_release_tags_are_skipped_unless_asked_for(product: Product, tmp_path: Path):
    result, out = build(product, tmp_path / "default")
    assert result.exit_code == 0, described(result)
    assert sorted(p.name for p in (out / "releases" / "8.x").iterdir()) == ["8.0.0.yaml", "8.0.1.yaml", "8.1.0.yaml"]

    result, out = build(product, tmp_path / "with", "--pre-releases")
    assert result.exit_code == 0, described(result)
    assert sorted(p.name for p in (out / "releases" / "8.x").iterdir()) == [
        "8.0.0.yaml", "8.0.1.yaml", "8.1.0-rc1.yaml", "8.1.0.yaml",
    ]
    doc = yaml.safe_load((out / "releases" / "8.x" / "8.1.0-rc1.yaml").read_text(encoding="utf-8"))
    assert str(doc["version"]) == "8.1.0-rc1"
    assert {f["path"]: "sha256:" + f["sha256"] for f in doc["files"]} == {
        p: sha256_token(d) for p, d in release_files(product.repo, "v8.1.0-rc1").items()
    }
    validated = run("catalog", "validate", "--catalog", str(out))
    assert validated.exit_code == 0, described(validated)

    # The rc contains E and its revert: E's reverted hash stays unfixed only; F's renamed file is absent.
    releases = (*RELEASE_TAGS, *PRE_RELEASE_TAGS)
    for fix_id in (E, F):
        fix = yaml.safe_load((out / "fixes" / f"{fix_id}.yaml").read_text(encoding="utf-8"))
        found = {v["line"]: {f["path"]: {"fixed": set(f["fixed"]), "unfixed": set(f["unfixed"])} for f in v["files"]}
                 for v in fix["variants"]}
        assert found == expected_fix(product, fix_id, releases), fix_id


# -- the oracle itself -----------------------------------------------------------------------------------------


def test_the_repository_is_what_the_cases_need(product: Product):
    """Checks of the fixture, independent of drift: if these fail, the proof above proves nothing."""
    repo, c = product.repo, product.commits
    assert sorted(t for t in repo.tags() if re.search(r"^v?\d", t)) == sorted(ALL_TAGS)
    # A's backport carries the trailer; B's the Backport-of line; C's neither, and the patch ids differ.
    message = lambda sha: repo.git("log", "-1", "--format=%B", sha)
    patch_id = lambda sha: repo.git("patch-id", "--stable", stdin=repo.git("show", sha).encode() + b"\n").split()[0]
    assert f"(cherry picked from commit {c['A8']})" in message(c["A7"])
    assert f"Backport of {c['B8']}" in message(c["B7"])
    assert c["C8"] not in message(c["C7"]) and "cherry picked" not in message(c["C7"])
    assert patch_id(c["B7"]) != patch_id(c["B8"]) and patch_id(c["C7"]) != patch_id(c["C8"])
    assert patch_id(c["J7"]) == patch_id(c["J8"]) and "cherry picked" not in message(c["J7"])
    # D is a real merge whose first parent is main.
    assert len(repo.git("log", "-1", "--format=%P", c["D8"]).split()) == 2
    assert repo.changed_paths(c["D8"]) == ["src/app/feature/Csv.java", "src/app/feature/Export.java"]
    assert repo.changed_paths(c["G8"]) == ["tests/IssueJobTest.java"]
    # K's file moves unchanged (an exact rename to git); F's is edited as it moves (not one).
    renames = repo.git("diff", "--name-status", "--find-renames=100%", "--diff-filter=R", "v8.0.1", "v8.1.0")
    assert renames == "R100\tsrc/app/print/Stamp.java\tsrc/app/print/seal/Stamp.java"
    # E's revert restores v8.0.0's bytes at v8.1.0; F's file is gone at v8.1.0.
    assert repo.tree_files("v8.1.0", "src")["src/app/cache/Cache.java"] == repo.tree_files("v8.0.0", "src")["src/app/cache/Cache.java"]
    assert "src/app/util/Strings.java" not in repo.tree_files("v8.1.0", "src")
    # 7.x does not contain any 8.x fix commit, and no release contains C7 through the 8.x line.
    for tag in ("v7.4.0", "v7.4.1", "v7.4.2"):
        assert not any(repo.is_ancestor(c[n], tag) for n in ("A8", "B8", "C8", "D8", "E8", "F8", "G8", "H8", "I8", "J8", "K8"))
    # Commit ids do not depend on the machine or the run (pinned names, dates and configuration).
    assert repo.git("log", "-1", "--format=%an <%ae> %ad %cn <%ce> %cd", "--date=iso-strict", c["A7"]) == (
        "Hanako Kofu <hanako@kofu.example> 2023-01-19T12:00:00+09:00 Kofu Release <release@kofu.example> 2023-02-03T12:00:00+09:00"
    )
    assert c["8.1.0"] == "6dc478f4a20b34e1141179070f7e860dafeb879b"
    assert c["7.4.2"] == "2b6cca4898098ef599a738c2d6b3c7f850fdef19"


def test_expected_verdicts_table_reads_as_the_docstring_says(product: Product):
    table = {fix_id: "".join("A" if expected_status(product, fix_id, t) == "applied" else
                             "n" if expected_status(product, fix_id, t) == "not-applicable" else "." for t in ALL_TAGS)
             for fix_id in LANDINGS}
    # columns: v7.4.0 v7.4.1 v7.4.2 v8.0.0 v8.0.1 v8.1.0 v8.1.0-rc1
    assert table == {
        A: ".AA.AAA",
        B: ".AA.AAA",
        C: "....AAA",
        D: "....AAA",
        E: "....A..",
        F: "....AAA",
        G: "nnnnnnn",
        H: "....AAA",
        I: "..A.AAA",
        J: "..A.AAA",
        K: "....AAA",
    }


def test_artifacts_join_the_releases_and_the_fixes_whose_release_changed_them(tmp_path: Path) -> None:
    from tests.builders import make_jar

    repo = GitRepo(tmp_path / "repo")
    repo.commit("start", {"src/app/A.java": "class A {}\n"})
    repo.tag("v1.0.0")
    fix = repo.commit("fix A", {"src/app/A.java": "class A { /* fixed */ }\n"})
    repo.tag("v1.0.1")
    old_jar, new_jar = make_jar({"A.class": b"old"}), make_jar({"A.class": b"fixed"})
    for version, jar in (("1.0.0", old_jar), ("1.0.1", new_jar)):
        (tmp_path / "artifacts" / version / "lib").mkdir(parents=True)
        (tmp_path / "artifacts" / version / "lib" / "app.jar").write_bytes(jar)
    (tmp_path / "FIXES.yaml").write_text(f"- {{id: FIX-1, title: t, severity: high, commits: [{fix}]}}\n", encoding="utf-8")
    out = tmp_path / "catalog"
    result = CliRunner().invoke(main, [
        "catalog", "build", "--repo", str(tmp_path / "repo"), "--fixes", str(tmp_path / "FIXES.yaml"),
        "--include", "src/*", "--map", "src/=", "--line-of", "^v1=1.x", "--artifacts", str(tmp_path / "artifacts"), "--out", str(out),
    ])
    assert result.exit_code == 0, result.stderr
    catalog = load_catalog(out)
    release = next(r for r in catalog.releases if r.version == "1.0.1")
    jar = next(f for f in release.files if f.path == "lib/app.jar")
    assert (jar.kind, jar.sha256) == ("binary", hashlib.sha256(new_jar).hexdigest())
    entry = next(e for e in catalog.fixes[0].variants[0].files if e.path == "lib/app.jar")
    assert f"sha256:{hashlib.sha256(new_jar).hexdigest()}" in entry.fixed
    assert f"sha256:{hashlib.sha256(old_jar).hexdigest()}" in entry.unfixed


def test_a_fix_no_release_contains_yet_is_missing_everywhere_not_not_applicable(tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "repo")
    repo.commit("start", {"src/app/A.java": "class A {}\n"})
    repo.tag("v1.0.0")
    fix = repo.commit("hot fix, not released yet", {"src/app/A.java": "class A { /* hot fixed */ }\n"})
    (tmp_path / "FIXES.yaml").write_text(f"- {{id: HOT-1, title: t, severity: critical, commits: [{fix}]}}\n", encoding="utf-8")
    out = tmp_path / "catalog"
    result = CliRunner().invoke(main, [
        "catalog", "build", "--repo", str(tmp_path / "repo"), "--fixes", str(tmp_path / "FIXES.yaml"),
        "--include", "src/*", "--map", "src/=", "--line-of", "^v1=1.x", "--out", str(out),
    ])
    assert result.exit_code == 0, result.stderr
    assert "HOT-1: " in result.stderr and "is in no release" in result.stderr
    variant = load_catalog(out).fixes[0].variants[0]
    assert (variant.line, variant.fixed_in) == ("1.x", None)
    released = hashlib.sha256(b"class A {}\n").hexdigest()
    hot = hashlib.sha256(b"class A { /* hot fixed */ }\n").hexdigest()
    assert [(e.path, e.fixed, e.unfixed) for e in variant.files] == [("app/A.java", (f"sha256:{hot}",), (f"sha256:{released}",))]


def test_a_file_only_one_line_has_is_not_deployed_on_the_other_not_unfixed(tmp_path: Path) -> None:
    """A fix to a file 7.x alone ships: 8.x tenants have no such file, and that proves nothing."""
    repo = GitRepo(tmp_path / "repo")
    repo.commit("start", {"src/app/A.java": "class A {}\n", "src/app/Legacy.java": "class Legacy {}\n"})
    repo.tag("v7.0.0")
    repo.branch("7.x", "HEAD")
    repo.commit("8.x drops the legacy codec", {"src/app/Legacy.java": None})
    repo.tag("v8.0.0")
    repo.checkout("7.x")
    fix = repo.commit("fix the legacy codec", {"src/app/Legacy.java": "class Legacy { /* fixed */ }\n"})
    repo.tag("v7.0.1")
    (tmp_path / "FIXES.yaml").write_text(f"- {{id: LEG-1, title: t, severity: high, commits: [{fix}]}}\n", encoding="utf-8")
    out = tmp_path / "catalog"
    result = CliRunner().invoke(main, [
        "catalog", "build", "--repo", str(tmp_path / "repo"), "--fixes", str(tmp_path / "FIXES.yaml"),
        "--include", "src/*", "--map", "src/=", "--line-of", "^v7=7.x", "--line-of", "^v8=8.x", "--out", str(out),
    ])
    assert result.exit_code == 0, result.stderr
    entry = load_catalog(out).fixes[0].variants[0].files[0]
    assert entry.path == "app/Legacy.java" and "absent" not in entry.unfixed


def test_register_config_checks_and_forked_lines_reach_the_catalog(tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "repo")
    repo.commit("start", {"src/app/A.java": "class A {}\n", "src/conf/print.properties": "print.lock.mode=shared\n"})
    repo.tag("v7.0.0")
    fix = repo.commit("lock exclusively", {"src/app/A.java": "class A { /* locks */ }\n"})
    repo.tag("v8.0.0")
    (tmp_path / "FIXES.yaml").write_text(
        f"- {{id: LOCK-1, title: t, severity: high, commits: [{fix}],\n"
        "   config: [{file: conf/print.properties, key: print.lock.mode, expect: \"exclusive\"}]}\n",
        encoding="utf-8",
    )
    out = tmp_path / "catalog"
    result = CliRunner().invoke(main, [
        "catalog", "build", "--repo", str(tmp_path / "repo"), "--fixes", str(tmp_path / "FIXES.yaml"),
        "--include", "src/*", "--map", "src/=", "--line-of", "^v7=7.x", "--line-of", "^v8=8.x", "--out", str(out),
    ])
    assert result.exit_code == 0, result.stderr
    catalog = load_catalog(out)
    assert catalog.forked_from == {"8.x": "7.x"}
    (variant,) = catalog.fixes[0].variants
    assert [(c.file, c.key, c.expect) for c in variant.config] == [("conf/print.properties", "print.lock.mode", "exclusive")]


def test_a_register_config_check_must_be_complete(tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "repo")
    fix = repo.commit("start", {"src/app/A.java": "class A {}\n"})
    repo.tag("v1.0.0")
    (tmp_path / "FIXES.yaml").write_text(
        f"- {{id: X-1, title: t, severity: high, commits: [{fix}], config: [{{file: conf/a.properties, key: k}}]}}\n", encoding="utf-8"
    )
    result = CliRunner().invoke(main, [
        "catalog", "build", "--repo", str(tmp_path / "repo"), "--fixes", str(tmp_path / "FIXES.yaml"),
        "--include", "src/*", "--line-of", "^v1=1.x", "--out", str(tmp_path / "out"),
    ])
    assert result.exit_code == 2
    assert "FIXES.yaml: [0].config[0]: needs exactly a file, a key and expect" in result.stderr


# -- 5. modules: `--module GLOB=NAME` names the module that ships each deployed file ------------------------------

MODULE_RULES = (
    "app/print/seal/*=seal",  # before app/print/*: the first rule that matches wins
    "app/print/*=print",
    "app/auth/*=auth",
    "conf/*.properties=conf",
    "app/print/seal/Stamp.java=never",  # matches, but an earlier rule always wins: not a typo, not reported
    "src/app/cache/*=cache",  # the repository path: rules match the deployed path (after --map), so it matches nothing
    "app/billing/*=billing",  # no release has such a file
)


def expected_module(path: str) -> str | None:
    """The module MODULE_RULES give a deployed path, worked out by hand."""
    if path.startswith("app/print/seal/"):
        return "seal"
    if path.startswith("app/print/"):
        return "print"
    if path.startswith("app/auth/"):
        return "auth"
    return "conf" if path.startswith("conf/") and path.endswith(".properties") else None


def test_module_rules_name_each_deployed_files_module_in_every_release(product: Product, tmp_path: Path):
    from drift.catalog.fastrelease import parse_release

    result, out = build(product, tmp_path, *(a for rule in MODULE_RULES for a in ("--module", rule)))
    assert result.exit_code == 0, described(result)
    catalog = load_catalog(out)
    seen = {f.module for r in catalog.releases for f in r.files}
    assert seen == {None, "seal", "print", "auth", "conf"}
    for release in catalog.releases:
        assert {f.path: f.module for f in release.files} == {f.path: expected_module(f.path) for f in release.files}, release.version
    stamp = next(f for r in catalog.releases if r.version == "8.1.0" for f in r.files if f.path == "app/print/seal/Stamp.java")
    assert stamp.module == "seal"
    for manifest in (out / "releases").rglob("*.yaml"):
        text = manifest.read_text(encoding="utf-8")
        assert parse_release(text) is not None, "the writer keeps the layout the fast path reads"
        for line in text.splitlines():
            if line.startswith("  - {"):  # `module:` written on the files that have one, and only on those
                assert ("module: " in line) == (expected_module(line.split("path: ", 1)[1].split(",", 1)[0]) is not None), line
    # The rules that match no deployed file are reported, each by name; the others are not.
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 2, result.stderr
    assert "--module src/app/cache/*=cache" in warnings[0] and "--module app/billing/*=billing" in warnings[1]
    assert all("matches no deployed file" in w for w in warnings)
    # The fixes are those of a build without modules, byte for byte; and the manifests differ only by `module`.
    plain, plain_out = build(product, tmp_path / "plain")
    assert plain.exit_code == 0, described(plain)
    assert "warning:" not in plain.stderr
    with_modules, without = files_of(out), files_of(plain_out)
    assert sorted(with_modules) == sorted(without)
    for name, data in without.items():
        assert b"module:" not in data, name
        assert re.sub(rb", module: [^}]+", b"", with_modules[name]) == data, name


def test_the_first_module_rule_that_matches_wins(product: Product, tmp_path: Path):
    result, out = build(product, tmp_path, "--module", "app/print/*=print", "--module", "app/print/seal/*=seal", "--module", "*=core")
    assert result.exit_code == 0, described(result)
    assert "warning:" not in result.stderr, "every rule matches some file, though seal never wins"
    release = next(r for r in load_catalog(out).releases if r.version == "8.1.0")
    modules = {f.path: f.module for f in release.files}
    assert modules["app/print/seal/Stamp.java"] == "print"
    assert modules["app/print/IssueJob.java"] == "print"
    assert {m for p, m in modules.items() if not p.startswith("app/print/")} == {"core"}, "`*` crosses `/`"


def test_artifacts_get_modules_too(tmp_path: Path) -> None:
    from tests.builders import make_jar

    repo = GitRepo(tmp_path / "repo")
    repo.commit("start", {"src/app/konbini/A.java": "class A {}\n"})
    repo.tag("v1.0.0")
    (tmp_path / "artifacts" / "1.0.0" / "lib").mkdir(parents=True)
    (tmp_path / "artifacts" / "1.0.0" / "lib" / "kofu-konbini.jar").write_bytes(make_jar({"A.class": b"a"}))
    (tmp_path / "artifacts" / "1.0.0" / "lib" / "kofu-core.jar").write_bytes(make_jar({"C.class": b"c"}))
    (tmp_path / "FIXES.yaml").write_text("[]\n", encoding="utf-8")
    out = tmp_path / "catalog"
    result = CliRunner().invoke(main, [
        "catalog", "build", "--repo", str(tmp_path / "repo"), "--fixes", str(tmp_path / "FIXES.yaml"), "--include", "src/*",
        "--map", "src/=", "--line-of", "^v1=1.x", "--artifacts", str(tmp_path / "artifacts"), "--out", str(out),
        "--module", "app/konbini/*=konbini", "--module", "lib/kofu-konbini.jar=konbini",
    ])
    assert result.exit_code == 0, result.stderr
    (release,) = load_catalog(out).releases
    assert {f.path: f.module for f in release.files} == {
        "app/konbini/A.java": "konbini", "lib/kofu-konbini.jar": "konbini", "lib/kofu-core.jar": None,
    }


@pytest.mark.parametrize(
    "rule",
    ["app/*", "=konbini", "app/*=", "app/*=kon bini", "app/*=konbini,renkei", "app/*=a;b", "app/*=a|b", "app/*=" + "x" * 65],
    ids=["no-equals", "no-glob", "no-name", "space", "comma", "semicolon", "bar", "too-long"],
)
def test_a_malformed_module_rule_is_refused_before_anything_is_written(tmp_path: Path, rule: str):
    out = tmp_path / "manifests"
    result = run(*build_args(tmp_path / "repo", tmp_path / "FIXES.yaml", out, "--module", "app/ok/*=ok", "--module", rule))
    assert result.exit_code == 2, described(result)
    assert "--module" in result.stderr and "Traceback" not in result.output
    assert not out.exists()
