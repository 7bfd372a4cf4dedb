"""The memoising fleet judge gives exactly the verdicts of `judge_fix`, tenant after tenant."""

from __future__ import annotations

from itertools import chain

from hypothesis import given, settings
from hypothesis import strategies as st

from drift.catalog.model import Applicability, Catalog, ConfigCheck, FileEntry, Fix, Release, ReleaseFile, Variant
from drift.expected import Expectations
from drift.filedrift import ReleaseIndex
from drift.inventory.model import ConfigValue, FileRecord, Inventory, Unreadable
from drift.judge import Judge
from drift.results import count_statuses
from drift.tenants import Tenant
from drift.verdict import Context, judge_fix

HEX = [c * 64 for c in "0123"]
PATHS = ["a/A.java", "a/B.java", "lib/c.jar"]
CHECK = ConfigCheck("conf/x.properties", "k", "on")
TOKENS = st.sampled_from([f"sha256:{h}" for h in HEX] + [f"content-sha256:{h}" for h in HEX] + ["absent"])


@st.composite
def entries(draw):
    path = draw(st.sampled_from(PATHS))
    pool = draw(st.lists(TOKENS, min_size=1, max_size=4, unique=True))
    cut = draw(st.integers(0, len(pool)))
    return FileEntry(path, tuple(pool[:cut]), tuple(pool[cut:]))


@st.composite
def fixes(draw, index):
    variants = []
    for line in draw(st.lists(st.sampled_from(["7.x", "8.x"]), max_size=2)):
        files = {e.path: e for e in draw(st.lists(entries(), max_size=3))}
        config = (CHECK,) if draw(st.booleans()) else ()
        variants.append(Variant(line, None, tuple(files.values()), config))
    modules = draw(st.sampled_from([None, frozenset({"konbini"}), frozenset({"renkei"})]))
    return Fix(f"F-{index}", "t", "high", None, (), Applicability(modules=modules), tuple(variants))


@st.composite
def inventories(draw):
    files = {}
    for path in PATHS + [CHECK.file]:
        if draw(st.booleans()):
            files[path] = FileRecord(1, draw(st.sampled_from(HEX)), draw(st.sampled_from([None, *HEX])))
    unreadable = {p: Unreadable(p, "denied") for p in PATHS + [CHECK.file, "a"] if draw(st.integers(0, 5)) == 0}
    config = {}
    if draw(st.booleans()):
        config[(CHECK.file, CHECK.key)] = ConfigValue(CHECK.file, CHECK.key, draw(st.sampled_from([None, "on", "off"])))
    excluded = tuple(draw(st.lists(st.sampled_from(["lib/*", "a/B.java", "conf", "*.jar"]), max_size=1)))
    return Inventory("t", None, "test", files, config, unreadable, "sha256:" + "0" * 64, excluded=excluded)


@st.composite
def contexts(draw):
    """What a tenant should have (paths of its nearest release, some in a module) and its stale copies."""
    shipped = {p: draw(st.sampled_from([None, "konbini", "renkei"])) for p in PATHS + [CHECK.file] if draw(st.booleans())}
    copies = {}
    for path in draw(st.lists(st.sampled_from(PATHS), max_size=2, unique=True)):
        copies[path] = tuple((draw(TOKENS.filter(lambda t: t != "absent")), f"old/{n}") for n in range(draw(st.integers(1, 2))))
    modules = draw(st.sampled_from([frozenset(), frozenset({"konbini"})]))
    return Context(shipped, modules, copies, (draw(st.integers(0, 3)),))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 10**6), min_size=1, max_size=4).flatmap(lambda ix: st.tuples(*(fixes(i) for i in range(len(ix))))),
       st.lists(st.tuples(inventories(), contexts()), min_size=1, max_size=6))
def test_judge_equals_judge_fix_for_every_tenant(fix_list, tenants):
    judge = Judge(fix_list)
    for i, (inventory, context) in enumerate(tenants):
        tenant = Tenant(f"T{i}", "n", modules=context.modules)
        assert judge.judge(tenant, inventory, context=context) == tuple(judge_fix(f, tenant, inventory, context) for f in fix_list)


@st.composite
def releases(draw):
    """A few releases of the tenants' paths (unchanged files shared from one release to the next)."""
    files = {}
    made = []
    for version in range(draw(st.integers(1, 4))):
        for path in draw(st.lists(st.sampled_from(PATHS + [CHECK.file]), min_size=1 if not made else 0, unique=True)):
            if path in files and draw(st.integers(0, 3)) == 0:
                del files[path]
            else:
                content = draw(st.sampled_from(HEX)) if path.endswith(".jar") else None
                files[path] = ReleaseFile(path, "x", draw(st.sampled_from(HEX)), content, draw(st.sampled_from([None, None, "konbini", "renkei"])))
        made.append(Release("7.x", f"7.{version}", None, tuple(files[p] for p in sorted(files))))
    return Catalog("p", ("7.x",), {}, tuple(made), draw(st.tuples(*(fixes(i) for i in range(draw(st.integers(0, 6)))))), "sha256:" + "0" * 64)


@st.composite
def tenants_near(draw, catalog):
    """An inventory made from one of the releases, then changed here and there (like `inventories`)."""
    release = draw(st.sampled_from(catalog.releases))
    files = {f.path: FileRecord(1, f.sha256, f.content_sha256) for f in release.files}
    for path in draw(st.lists(st.sampled_from(PATHS + [CHECK.file]), max_size=2, unique=True)):
        change = draw(st.sampled_from(["drop", "replace", "content"]))
        if change == "drop":
            files.pop(path, None)
        elif change == "content" and path in files:  # the same bytes, another (or no) content hash
            files[path] = files[path]._replace(content_sha256=draw(st.sampled_from([None, *HEX])))
        else:
            files[path] = FileRecord(1, draw(st.sampled_from(HEX)), draw(st.sampled_from([None, *HEX])))
    for n in range(draw(st.integers(0, 2))):  # files no release knows: maybe stale copies of fix files
        files[f"old/{n}.jar"] = FileRecord(1, draw(st.sampled_from(HEX)), draw(st.sampled_from([None, *HEX])))
    unreadable = {p: Unreadable(p, "denied") for p in PATHS + ["a"] if draw(st.integers(0, 8)) == 0}
    config = {}
    if draw(st.booleans()):
        config[(CHECK.file, CHECK.key)] = ConfigValue(CHECK.file, CHECK.key, draw(st.sampled_from([None, "on", "off"])))
    excluded = tuple(draw(st.lists(st.sampled_from(["lib/*", "a/B.java"]), max_size=1))) if draw(st.integers(0, 8)) == 0 else ()
    return Inventory("t", None, "test", files, config, unreadable, "sha256:" + "0" * 64, excluded=excluded)


@settings(max_examples=400, deadline=None)
@given(st.lists(st.integers(0, 10**6), min_size=1, max_size=40).flatmap(lambda ix: st.tuples(*(fixes(i) for i in range(len(ix))))),
       releases(), st.data())
def test_judging_from_the_nearest_release_equals_judge_fix(fix_list, catalog, data):
    judge = Judge(fix_list)
    index = ReleaseIndex(catalog)
    expectations = Expectations(catalog, index)
    for i in range(12):
        inventory = data.draw(tenants_near(catalog))
        tenant = Tenant(f"T{i}", "n", modules=data.draw(st.sampled_from([frozenset(), frozenset({"konbini"})])))
        nearest = index.nearest(inventory.files)
        context, _ = expectations.context(tenant, inventory.files, index.file_drift(inventory.files, nearest))
        judged = judge.judge_counted(tenant, inventory, nearest, context)
        assert judged.findings == tuple(judge_fix(f, tenant, inventory, context) for f in fix_list)
        assert judged.counts == count_statuses(judged.findings)
        assert tuple(chain.from_iterable(judged.runs)) == judged.findings
