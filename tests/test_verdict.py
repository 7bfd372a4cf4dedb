"""SPEC 5, rule by rule: entry states, variant verdicts, fix verdicts, applicability, config checks."""

from __future__ import annotations

import pytest

from drift.catalog.model import Applicability, ConfigCheck, FileEntry, Fix, Variant
from drift.inventory.model import ConfigValue, FileRecord, Inventory, Unreadable
from drift.results import Evidence
from drift.tenants import Tenant
from drift.verdict import NO_CONTEXT, Context, config_evidence, entry_evidence, judge_fix, variant_status

OLD, NEW, OTHER = "a" * 64, "b" * 64, "c" * 64
JAR_OLD, JAR_NEW = "d" * 64, "e" * 64
TENANT = Tenant("402206", "宗像市", "福岡県", "standard", "8.x", frozenset({"konbini"}))


def inventory(files: dict[str, FileRecord] | None = None, *, config=None, unreadable=()) -> Inventory:
    return Inventory(
        tenant="402206", collected_at=None, collector="test", files=files or {},
        config={(c.file, c.key): c for c in (config or [])},
        unreadable={p: Unreadable(p, "permission denied") for p in unreadable}, digest="sha256:" + "0" * 64,
    )


def entry(path: str = "app/Job.java", fixed=(f"sha256:{NEW}",), unfixed=(f"sha256:{OLD}",)) -> FileEntry:
    return FileEntry(path, tuple(fixed), tuple(unfixed))


def src(sha: str) -> FileRecord:
    return FileRecord(10, sha, None)


# Entry states

def test_file_matching_a_fixed_hash_is_fixed():
    ev = entry_evidence(entry(), inventory({"app/Job.java": src(NEW)}))
    assert (ev.state, ev.found, ev.expected) == ("fixed", f"sha256:{NEW}", (f"sha256:{NEW}",))


def test_file_matching_an_unfixed_hash_is_unfixed():
    assert entry_evidence(entry(), inventory({"app/Job.java": src(OLD)})).state == "unfixed"


def test_file_matching_neither_is_modified_and_shows_its_hash():
    ev = entry_evidence(entry(), inventory({"app/Job.java": src(OTHER)}))
    assert (ev.state, ev.found) == ("modified", f"sha256:{OTHER}")


def test_unreadable_file_is_unreadable_never_fixed():
    ev = entry_evidence(entry(), inventory({"app/Job.java": src(NEW)}, unreadable=["app/Job.java"]))
    assert ev.state == "unreadable"


def test_absent_file_without_absent_token_is_not_deployed():
    assert entry_evidence(entry(), inventory()).state == "not-deployed"


def test_absent_file_with_absent_in_fixed_is_fixed():
    assert entry_evidence(entry(fixed=("absent",)), inventory()).state == "fixed"


def test_absent_file_with_absent_in_unfixed_is_unfixed():
    assert entry_evidence(entry(unfixed=("absent",)), inventory()).state == "unfixed"


def test_absent_file_with_absent_in_both_is_ambiguous():
    e = entry(fixed=("absent", f"sha256:{NEW}"), unfixed=("absent", f"sha256:{OLD}"))
    assert entry_evidence(e, inventory()).state == "ambiguous"


def test_rebuilt_jar_matches_by_content_hash():
    e = entry("lib/print.jar", fixed=(f"sha256:{NEW}", f"content-sha256:{JAR_NEW}"), unfixed=(f"content-sha256:{JAR_OLD}",))
    ev = entry_evidence(e, inventory({"lib/print.jar": FileRecord(5, OTHER, JAR_NEW)}))
    assert (ev.state, ev.found) == ("fixed", f"content-sha256:{JAR_NEW}")


def test_stale_jar_matches_unfixed_by_content_hash():
    e = entry("lib/print.jar", fixed=(f"content-sha256:{JAR_NEW}",), unfixed=(f"content-sha256:{JAR_OLD}",))
    assert entry_evidence(e, inventory({"lib/print.jar": FileRecord(5, OTHER, JAR_OLD)})).state == "unfixed"


# Config checks

CHECK = ConfigCheck("conf/print.properties", "print.lock.mode", "exclusive")
CONF_FILE = {"conf/print.properties": src(OTHER)}


def test_config_value_equal_to_expect_is_fixed():
    ev = config_evidence(CHECK, inventory(CONF_FILE, config=[ConfigValue(CHECK.file, CHECK.key, "exclusive")]))
    assert (ev.path, ev.state, ev.found, ev.expected) == ("conf/print.properties#print.lock.mode", "fixed", "exclusive", ("exclusive",))


def test_config_value_that_differs_is_unfixed():
    assert config_evidence(CHECK, inventory(CONF_FILE, config=[ConfigValue(CHECK.file, CHECK.key, "shared")])).state == "unfixed"


def test_config_key_not_set_is_unfixed():
    assert config_evidence(CHECK, inventory(CONF_FILE, config=[ConfigValue(CHECK.file, CHECK.key, None)])).state == "unfixed"


def test_config_not_collected_is_unreadable():
    assert config_evidence(CHECK, inventory(CONF_FILE)).state == "unreadable"


def test_config_file_unreadable_is_unreadable():
    assert config_evidence(CHECK, inventory(CONF_FILE, unreadable=[CHECK.file])).state == "unreadable"


def test_config_file_absent_is_not_deployed():
    assert config_evidence(CHECK, inventory()).state == "not-deployed"


# Variant verdicts

def ev(*states: str) -> tuple[Evidence, ...]:
    return tuple(Evidence(f"f{i}", s, None, ()) for i, s in enumerate(states))


@pytest.mark.parametrize(
    ("states", "status"),
    [
        ((), "not-applicable"),
        (("not-deployed",), "not-applicable"),
        (("not-deployed", "ambiguous"), "unverifiable"),
        (("fixed", "fixed"), "applied"),
        (("fixed", "not-deployed"), "applied"),
        (("fixed", "ambiguous"), "applied"),
        (("unfixed", "unfixed"), "missing"),
        (("unfixed", "modified"), "missing"),
        (("unfixed", "fixed"), "partial"),
        (("unfixed", "fixed", "unreadable"), "partial"),
        (("fixed", "modified"), "unverifiable"),
        (("fixed", "unreadable"), "unverifiable"),
        (("modified",), "unverifiable"),
        (("fixed", "removed"), "unverifiable"),
        (("removed",), "unverifiable"),
        (("unfixed", "removed"), "missing"),
        (("unfixed", "fixed", "removed"), "partial"),
    ],
)
def test_variant_status(states, status):
    assert variant_status(ev(*states)) == status


# Fix verdicts

EVERYONE = Applicability()


def fix(*variants: Variant, applies_to: Applicability = EVERYONE) -> Fix:
    return Fix("KOFU-2019-0117", "title", "critical", None, (), applies_to, variants)


V8 = Variant("8.x", "8.1.3", (entry("app/Job.java"),))
V7 = Variant("7.x", "7.4.2", (entry("app/Job.java", fixed=(f"sha256:{OTHER}",), unfixed=(f"sha256:{NEW}",)),))


def test_fix_is_applied_if_any_variant_is_applied():
    # The 7.x variant calls NEW unfixed, the 8.x variant calls it fixed: one applied variant is enough.
    finding = judge_fix(fix(V7, V8), TENANT, inventory({"app/Job.java": src(NEW)}))
    assert (finding.status, finding.variant) == ("applied", "8.x")


def test_fix_takes_the_variant_with_most_deployed_entries():
    wide = Variant("7.x", None, (entry("app/Job.java"), entry("app/Other.java", fixed=(f"sha256:{NEW}",), unfixed=(f"sha256:{OLD}",))))
    narrow = Variant("8.x", None, (entry("app/Job.java", fixed=(f"sha256:{OTHER}",), unfixed=()), entry("app/Gone.java")))
    inv = inventory({"app/Job.java": src(OLD), "app/Other.java": src(NEW)})
    finding = judge_fix(fix(narrow, wide), TENANT, inv)
    assert (finding.status, finding.variant) == ("partial", "7.x")


def test_fix_tie_on_deployed_prefers_more_decided_entries():
    modified = Variant("7.x", None, (entry("app/Job.java", fixed=(f"sha256:{JAR_NEW}",), unfixed=(f"sha256:{JAR_OLD}",)),))
    decided = Variant("8.x", None, (entry("app/Job.java"),))
    finding = judge_fix(fix(modified, decided), TENANT, inventory({"app/Job.java": src(OLD)}))
    assert (finding.status, finding.variant) == ("missing", "8.x")


def test_fix_full_tie_takes_catalog_order():
    a = Variant("7.x", None, (entry("app/Job.java", fixed=(f"sha256:{JAR_NEW}",), unfixed=(f"sha256:{OLD}",)),))
    b = Variant("8.x", None, (entry("app/Job.java"),))
    assert judge_fix(fix(a, b), TENANT, inventory({"app/Job.java": src(OLD)})).variant == "7.x"


def test_fix_excluded_by_edition_is_not_applicable_whatever_the_files_say():
    finding = judge_fix(fix(V8, applies_to=Applicability(editions=frozenset({"seirei"}))), TENANT, inventory({"app/Job.java": src(OLD)}))
    assert finding.status == "not-applicable"
    assert "seirei" in finding.reason and finding.evidence == ()


def test_fix_excluded_by_modules_is_not_applicable():
    finding = judge_fix(fix(V8, applies_to=Applicability(modules=frozenset({"renkei"}))), TENANT, inventory({"app/Job.java": src(OLD)}))
    assert finding.status == "not-applicable"


def test_fix_applies_when_tenant_has_one_of_the_modules():
    rule = Applicability(modules=frozenset({"renkei", "konbini"}), editions=frozenset({"standard"}))
    assert judge_fix(fix(V8, applies_to=rule), TENANT, inventory({"app/Job.java": src(OLD)})).status == "missing"


def test_fix_with_no_variant_is_not_applicable_with_a_reason():
    finding = judge_fix(fix(), TENANT, inventory())
    assert finding.status == "not-applicable" and finding.reason


def test_config_check_alone_makes_a_fix_missing():
    v = Variant("8.x", None, (entry("app/Job.java"),), (CHECK,))
    inv = inventory({"app/Job.java": src(NEW), **CONF_FILE}, config=[ConfigValue(CHECK.file, CHECK.key, "shared")])
    finding = judge_fix(fix(v), TENANT, inv)
    assert finding.status == "partial"
    assert [e.state for e in finding.evidence] == ["fixed", "unfixed"]


def test_finding_carries_evidence_per_entry():
    v = Variant("8.x", None, (entry("app/Job.java"), entry("lib/x.jar", fixed=(f"sha256:{JAR_NEW}",), unfixed=(f"sha256:{JAR_OLD}",))))
    finding = judge_fix(fix(v), TENANT, inventory({"app/Job.java": src(NEW), "lib/x.jar": src(JAR_OLD)}))
    assert finding.status == "partial"
    assert [(e.path, e.state, e.found) for e in finding.evidence] == [
        ("app/Job.java", "fixed", f"sha256:{NEW}"),
        ("lib/x.jar", "unfixed", f"sha256:{JAR_OLD}"),
    ]


def test_file_under_a_folder_the_collector_could_not_list_is_unreadable_not_absent():
    inv = Inventory(
        tenant="402206", collected_at=None, collector="test", files={}, config={},
        unreadable={"app": Unreadable("app", "cannot list folder: permission denied")}, digest="sha256:" + "0" * 64,
    )
    assert entry_evidence(entry("app/Job.java"), inv).state == "unreadable"
    assert entry_evidence(entry("application/Job.java"), inv).state == "not-deployed"
    assert config_evidence(ConfigCheck("app/conf/x.properties", "k", "v"), inv).state == "unreadable"


def test_a_link_or_a_fifo_where_a_fix_file_should_be_is_unreadable():
    from drift.inventory.model import Link, Skipped

    inv = Inventory(
        tenant="402206", collected_at=None, collector="test", files={}, config={}, unreadable={}, digest="sha256:" + "0" * 64,
        links={"app/Job.java": Link("app/Job.java", "/tmp/Job.java", True), "lib": Link("lib", "../shared/lib", True)},
        skipped={"conf/print.properties": Skipped("conf/print.properties", "fifo")},
    )
    assert entry_evidence(entry("app/Job.java"), inv).state == "unreadable"
    assert entry_evidence(entry("lib/print.jar"), inv).state == "unreadable"
    assert config_evidence(CHECK, inv).state == "unreadable"


# What the audited party cannot hide (SPEC 5): removed files, stale copies, exclusions

SHIPPED = Context(shipped={"app/Job.java": None, "lib/konbini.jar": "konbini", "conf/print.properties": None}, modules=frozenset({"konbini"}))


def test_a_file_the_nearest_release_ships_and_the_tenant_lacks_is_removed_not_not_deployed():
    ev = entry_evidence(entry(), inventory(), SHIPPED)
    assert (ev.state, ev.found, ev.note) == ("removed", "absent", "absent, yet its nearest release ships it")


def test_a_removed_file_counts_like_unreadable_so_the_fix_is_never_not_applicable():
    assert judge_fix(fix(V8), TENANT, inventory(), SHIPPED).status == "unverifiable"
    assert judge_fix(fix(V8), TENANT, inventory(), NO_CONTEXT).status == "not-applicable"


def test_removing_the_stale_file_of_a_partial_fix_leaves_it_unverifiable_not_applied():
    v = Variant("8.x", None, (entry("app/Job.java"), entry("lib/konbini.jar", fixed=(f"sha256:{JAR_NEW}",), unfixed=(f"sha256:{JAR_OLD}",))))
    assert judge_fix(fix(v), TENANT, inventory({"app/Job.java": src(NEW), "lib/konbini.jar": src(JAR_OLD)}), SHIPPED).status == "partial"
    assert judge_fix(fix(v), TENANT, inventory({"app/Job.java": src(NEW)}), SHIPPED).status == "unverifiable"


def test_a_file_of_a_module_the_tenant_does_not_deploy_stays_not_deployed():
    e = entry("lib/konbini.jar")
    without = Context(shipped=SHIPPED.shipped, modules=frozenset({"renkei"}))
    assert entry_evidence(e, inventory(), without).state == "not-deployed"
    assert entry_evidence(e, inventory(), SHIPPED).state == "removed"


def test_a_path_the_nearest_release_does_not_ship_stays_not_deployed():
    assert entry_evidence(entry("app/Other.java"), inventory(), SHIPPED).state == "not-deployed"


def test_absent_in_a_hash_list_still_decides_before_removed():
    assert entry_evidence(entry(unfixed=("absent",)), inventory(), SHIPPED).state == "unfixed"
    assert entry_evidence(entry(fixed=("absent",)), inventory(), SHIPPED).state == "fixed"


def test_a_config_file_the_tenant_should_have_but_lacks_is_removed():
    assert config_evidence(CHECK, inventory(), SHIPPED).state == "removed"


def test_a_stale_copy_under_an_unknown_name_makes_an_absent_entry_unfixed_and_says_where():
    copies = Context(shipped=SHIPPED.shipped, modules=SHIPPED.modules, copies={"lib/konbini.jar": ((f"sha256:{JAR_OLD}", "lib/konbini-8.0.0.jar"),)})
    e = entry("lib/konbini.jar", fixed=(f"sha256:{JAR_NEW}",), unfixed=(f"sha256:{JAR_OLD}",))
    ev = entry_evidence(e, inventory({"lib/konbini-8.0.0.jar": src(JAR_OLD)}), copies)
    assert (ev.state, ev.found, ev.found_at, ev.note) == ("unfixed", f"sha256:{JAR_OLD}", "lib/konbini-8.0.0.jar", "stale copy at lib/konbini-8.0.0.jar")
    # even where the fix deleted the file (absent means fixed) or the tenant never had it
    deleted = entry("lib/konbini.jar", fixed=("absent",), unfixed=(f"sha256:{JAR_OLD}",))
    assert entry_evidence(deleted, inventory(), copies).state == "unfixed"
    # a copy whose hash is not in this entry's unfixed list says nothing about it
    other = entry("lib/konbini.jar", fixed=(f"sha256:{JAR_NEW}",), unfixed=(f"sha256:{OLD}",))
    assert entry_evidence(other, inventory(), copies).state == "removed"


def test_a_stale_copy_beside_a_fixed_file_leaves_it_fixed():
    copies = Context(copies={"lib/konbini.jar": ((f"sha256:{JAR_OLD}", "lib/old.jar"),)})
    e = entry("lib/konbini.jar", fixed=(f"sha256:{JAR_NEW}",), unfixed=(f"sha256:{JAR_OLD}",))
    assert entry_evidence(e, inventory({"lib/konbini.jar": src(JAR_NEW)}), copies).state == "fixed"
    ev = entry_evidence(e, inventory({"lib/konbini.jar": src(JAR_OLD)}), copies)
    assert (ev.state, ev.note) == ("unfixed", "another stale copy at lib/old.jar")


def excluding(*patterns: str, files: dict[str, FileRecord] | None = None) -> Inventory:
    return Inventory(tenant="402206", collected_at=None, collector="test", files=files or {}, config={}, unreadable={},
                     digest="sha256:" + "0" * 64, excluded=patterns)


@pytest.mark.parametrize("pattern", ["app/Job.java", "app", "app/", "*.java", "app/*"])
def test_a_fix_file_under_an_exclude_pattern_is_unreadable_excluded_at_collection(pattern):
    ev = entry_evidence(entry(), excluding(pattern))
    assert (ev.state, ev.note) == ("unreadable", "excluded at collection")
    assert judge_fix(fix(V8), TENANT, excluding(pattern)).status == "unverifiable"


def test_an_exclude_pattern_wins_over_a_listed_file_and_config_values():
    assert entry_evidence(entry(), excluding("app", files={"app/Job.java": src(NEW)})).state == "unreadable"
    assert config_evidence(CHECK, excluding("conf/*")).note == "excluded at collection"


def test_a_pattern_that_matches_another_path_leaves_the_entry_alone():
    assert entry_evidence(entry(), excluding("application", files={"app/Job.java": src(NEW)})).state == "fixed"
