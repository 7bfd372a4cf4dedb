"""Verdicts (SPEC 5), exactly as written: entry states, then variant, then fix."""

from __future__ import annotations

from drift.catalog.model import ConfigCheck, FileEntry, Fix, Variant
from drift.hashes import ABSENT
from drift.inventory.model import Inventory
from drift.results import (
    AMBIGUOUS,
    APPLIED,
    FIXED,
    MISSING,
    MODIFIED,
    NOT_APPLICABLE,
    NOT_DEPLOYED,
    PARTIAL,
    UNFIXED,
    UNREADABLE,
    UNVERIFIABLE,
    Evidence,
    Finding,
)
from drift.tenants import Tenant

_UNCOUNTED = (NOT_DEPLOYED, AMBIGUOUS)


def unreadable(path: str, inventory: Inventory) -> bool:
    """True when the collector could not read what is at `path`, or at a folder above it (whose files it never
    saw): an unreadable entry, a symbolic link (never followed) or a FIFO, socket or device."""
    sections = [s for s in (inventory.unreadable, inventory.links, inventory.skipped) if s]
    if not sections:
        return False
    parts = path.split("/")
    candidates = [path, *("/".join(parts[:n]) for n in range(1, len(parts)))]
    return any(c in section for section in sections for c in candidates)


def entry_evidence(entry: FileEntry, inventory: Inventory) -> Evidence:
    """Judge one file entry of a variant against the tenant's inventory."""
    if unreadable(entry.path, inventory):
        return Evidence(entry.path, UNREADABLE, None, entry.fixed)
    record = inventory.files.get(entry.path)
    if record is None:
        in_fixed, in_unfixed = ABSENT in entry.fixed_set, ABSENT in entry.unfixed_set
        if in_fixed and in_unfixed:
            return Evidence(entry.path, AMBIGUOUS, ABSENT, entry.fixed)
        if in_fixed:
            return Evidence(entry.path, FIXED, ABSENT, entry.fixed)
        if in_unfixed:
            return Evidence(entry.path, UNFIXED, ABSENT, entry.fixed)
        return Evidence(entry.path, NOT_DEPLOYED, ABSENT, entry.fixed)
    tokens = record.tokens()
    for tok in tokens:
        if tok in entry.fixed_set:
            return Evidence(entry.path, FIXED, tok, entry.fixed)
    for tok in tokens:
        if tok in entry.unfixed_set:
            return Evidence(entry.path, UNFIXED, tok, entry.fixed)
    return Evidence(entry.path, MODIFIED, tokens[0], entry.fixed)


def config_evidence(check: ConfigCheck, inventory: Inventory) -> Evidence:
    """Judge one config check: `fixed` when the value equals `expect`, `unfixed` when it differs or is unset.

    The config file absent from the tenant is `not-deployed`; a file there whose key was not collected (a
    sha256sum listing, or a collection made before the catalog asked for the key) is `unreadable`.
    """
    label = f"{check.file}#{check.key}"
    expected = (check.expect,)
    if unreadable(check.file, inventory):
        return Evidence(label, UNREADABLE, None, expected)
    captured = inventory.config.get((check.file, check.key))
    if captured is None:
        if check.file not in inventory.files:
            return Evidence(label, NOT_DEPLOYED, ABSENT, expected)
        return Evidence(label, UNREADABLE, None, expected)
    if captured.value == check.expect:
        return Evidence(label, FIXED, captured.value, expected)
    return Evidence(label, UNFIXED, captured.value, expected)


def variant_evidence(variant: Variant, inventory: Inventory) -> tuple[Evidence, ...]:
    """Every entry of a variant judged: files first, then config checks, in catalog order."""
    files = tuple(entry_evidence(e, inventory) for e in variant.files)
    if not variant.config:
        return files
    return files + tuple(config_evidence(c, inventory) for c in variant.config)


def variant_status(evidence: tuple[Evidence, ...]) -> str:
    """A variant's status from its entries' states (SPEC 5)."""
    counted = [e.state for e in evidence if e.state not in _UNCOUNTED]
    if not counted:
        return UNVERIFIABLE if any(e.state == AMBIGUOUS for e in evidence) else NOT_APPLICABLE
    if all(state == FIXED for state in counted):
        return APPLIED
    if UNFIXED in counted:
        return PARTIAL if FIXED in counted else MISSING
    return UNVERIFIABLE


def judge_fix(fix: Fix, tenant: Tenant, inventory: Inventory) -> Finding:
    """One fix on one tenant: applicability first, then the best variant (SPEC 5)."""
    exclusion = exclusion_reason(fix, tenant)
    if exclusion:
        return Finding(fix.id, NOT_APPLICABLE, fix.severity, None, (), reason=exclusion)
    best: tuple[tuple[int, int, int], str, str, tuple[Evidence, ...]] | None = None
    for index, variant in enumerate(fix.variants):
        evidence = variant_evidence(variant, inventory)
        status = variant_status(evidence)
        if status == APPLIED:
            return Finding(fix.id, APPLIED, fix.severity, variant.line, evidence)
        deployed = sum(1 for e in evidence if e.state != NOT_DEPLOYED)
        decided = sum(1 for e in evidence if e.state in (FIXED, UNFIXED))
        rank = (-deployed, -decided, index)
        if best is None or rank < best[0]:
            best = (rank, status, variant.line, evidence)
    if best is None:
        return Finding(fix.id, NOT_APPLICABLE, fix.severity, None, (), reason="the fix has no variant")
    return Finding(fix.id, best[1], fix.severity, best[2], best[3])


def exclusion_reason(fix: Fix, tenant: Tenant) -> str:
    """Why `applies_to` excludes the tenant, or "" when the fix applies to it."""
    rule = fix.applies_to
    if rule.editions is not None and tenant.edition not in rule.editions:
        return f"applies to editions {', '.join(sorted(rule.editions))}; tenant runs {tenant.edition or 'no edition'}"
    if rule.modules is not None and not (rule.modules & tenant.modules):
        return f"applies to modules {', '.join(sorted(rule.modules))}; tenant deploys {', '.join(sorted(tenant.modules)) or 'none'}"
    return ""
