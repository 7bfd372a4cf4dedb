"""Verdicts (SPEC 5), exactly as written: entry states, then variant, then fix."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from drift.catalog.model import ConfigCheck, FileEntry, Fix, Variant
from drift.filedrift import Unknown
from drift.hashes import ABSENT, CONTENT_SHA256
from drift.inventory.model import Inventory, excluded
from drift.results import (
    AMBIGUOUS,
    APPLIED,
    FIXED,
    MISSING,
    MODIFIED,
    NOT_APPLICABLE,
    NOT_DEPLOYED,
    PARTIAL,
    REMOVED,
    UNFIXED,
    UNREADABLE,
    UNVERIFIABLE,
    Evidence,
    Finding,
)
from drift.tenants import Tenant
from drift.text import clip

_UNCOUNTED = (NOT_DEPLOYED, AMBIGUOUS)
_CONTENT_PREFIX = CONTENT_SHA256 + ":"
_NOT_SHIPPED = object()
EXCLUDED_NOTE = "excluded at collection"
REMOVED_NOTE = "absent, yet its nearest release ships it"
NOT_COLLECTED_NOTE = "value not collected: collect again with --catalog"
"""A config file there, its key not captured (a sha256sum listing, or collected without the catalog at hand)."""
LISTING_NOTE = "not in the listing, which cannot show that a file is gone (it leaves out hidden files and links unsaid)"
"""An absent path that would prove a fix (`absent` in `fixed`), in a plain listing: no evidence."""
_MAX_REASON = 200


@dataclass(frozen=True, slots=True)
class Context:
    """What a tenant's verdicts read beyond its inventory and registry record (SPEC 5): which paths it should
    have, and where it keeps stale copies of fix files under names no release knows."""

    shipped: Mapping[str, str | None] = field(default_factory=dict)
    """Every path of the tenant's nearest release (the one its files match best) → the module that ships it
    (None: every tenant has it)."""
    modules: frozenset[str] = frozenset()
    """The modules the tenant deploys, as the registry says."""
    copies: Mapping[str, tuple[tuple[str, str], ...]] = field(default_factory=dict)
    """Fix file path → (hash token, uncatalogued tenant path) pairs: a tenant file at a path no release knows
    whose hash is a known unfixed version of that fix file, held by no release at another path."""
    release: tuple[int, ...] = ()
    """The catalog indexes of the releases `shipped` comes from ((-1,): every release, the tenant's files
    matching none); with `modules`, it says everything `shipped` says (for memo keys)."""
    twins: Mapping[str, str] = field(default_factory=dict)
    """Fix file path → the tenant path that differs from it only in case (an uncatalogued path): on a file
    system that ignores case, as Windows' does, that file is this one."""

    def expects(self, path: str) -> bool:
        """True when the tenant should have `path`: its nearest release ships it, in a module it deploys."""
        module = self.shipped.get(path, _NOT_SHIPPED)
        return module is None or (module is not _NOT_SHIPPED and module in self.modules)

    def key(self, paths: Sequence[str], shas: Sequence[str | None]) -> Any:
        """Everything verdicts at `paths` read from the context, given the tenant's sha256 there (None where
        absent): which absent paths are expected, and the stale copies of files at those paths."""
        removed = tuple(p for p, sha in zip(paths, shas) if sha is None and self.expects(p))
        if not self.copies and not self.twins:
            return removed
        return removed, tuple(map(self.copies.get, paths)), tuple(map(self.twins.get, paths))


NO_CONTEXT = Context()
"""A tenant of which nothing beyond its inventory is known: no path expected, no stale copy."""


def unseen(path: str, inventory: Inventory) -> str | None:
    """None when the collector saw what is at `path` (a regular file, or nothing); else why it did not, in a
    few words: the path, or a folder above it (whose files it never saw), is unreadable, a symbolic link
    (never followed), a FIFO, socket or device, or under an `--exclude` pattern."""
    if not inventory.unseen:
        return None
    if inventory.excluded and excluded(path, inventory.excluded):
        return EXCLUDED_NOTE
    parts = path.split("/")
    for candidate in (path, *("/".join(parts[:n]) for n in range(1, len(parts)))):
        if (u := inventory.unreadable.get(candidate)) is not None:
            reason = u.reason if len(u.reason) <= _MAX_REASON else u.reason[:_MAX_REASON] + "..."
            return f"unreadable: {reason}" if candidate == path else f"folder {candidate} unreadable: {reason}"
        if candidate in inventory.links:
            return "a symbolic link (not followed)" if candidate == path else f"folder {candidate} is a symbolic link (not followed)"
        if (k := inventory.skipped.get(candidate)) is not None:
            return f"a {k.kind}, not a regular file" if candidate == path else f"folder {candidate} is a {k.kind}"
    return None


def entry_evidence(entry: FileEntry, inventory: Inventory, context: Context = NO_CONTEXT) -> Evidence:
    """Judge one file entry of a variant against the tenant's inventory (SPEC 5)."""
    why = unseen(entry.path, inventory)
    if why is not None:
        return Evidence(entry.path, UNREADABLE, None, entry.fixed, note=why)
    copy = _stale_copy(entry, context)
    record = inventory.files.get(entry.path)
    if record is None:
        if copy is not None:  # renaming a stale file never hides it
            return Evidence(entry.path, UNFIXED, copy[0], entry.fixed, copy[1], f"stale copy at {copy[1]}")
        twin = context.twins.get(entry.path) if context.twins else None
        if twin is not None and (held := inventory.files.get(twin)) is not None:
            return _twin_evidence(entry, twin, held.tokens())
        in_fixed, in_unfixed = ABSENT in entry.fixed_set, ABSENT in entry.unfixed_set
        if in_fixed and in_unfixed:
            return Evidence(entry.path, AMBIGUOUS, ABSENT, entry.fixed)
        if in_fixed:
            if not inventory.proves_absence:
                return Evidence(entry.path, UNREADABLE, None, entry.fixed, note=LISTING_NOTE)
            return Evidence(entry.path, FIXED, ABSENT, entry.fixed)
        if in_unfixed:
            return Evidence(entry.path, UNFIXED, ABSENT, entry.fixed)
        if context.expects(entry.path):
            return Evidence(entry.path, REMOVED, ABSENT, entry.fixed, note=REMOVED_NOTE)
        return Evidence(entry.path, NOT_DEPLOYED, ABSENT, entry.fixed)
    tokens = record.tokens()
    for tok in tokens:
        if tok in entry.fixed_set:
            return Evidence(entry.path, FIXED, tok, entry.fixed)
    for tok in tokens:
        if tok in entry.unfixed_set:
            if copy is not None:
                return Evidence(entry.path, UNFIXED, tok, entry.fixed, note=f"another stale copy at {copy[1]}")
            return Evidence(entry.path, UNFIXED, tok, entry.fixed)
    return Evidence(entry.path, MODIFIED, tokens[0], entry.fixed)


def _twin_evidence(entry: FileEntry, twin: str, tokens: Sequence[str]) -> Evidence:
    """An absent fix file beside a file whose name differs only in case: where names ignore case, that file
    is this one. A known unfixed version is `unfixed`; anything else proves nothing (on a file system that
    keeps case, the fix file is simply gone), never `fixed` nor an absence that proves the fix."""
    for tok in tokens:
        if tok in entry.unfixed_set:
            return Evidence(entry.path, UNFIXED, tok, entry.fixed, twin, f"as {twin}, which differs only in case")
    return Evidence(entry.path, UNREADABLE, tokens[0], entry.fixed, twin,
                    f"only {twin} is there, which differs in case: where names ignore case, it is this file")


def _stale_copy(entry: FileEntry, context: Context) -> tuple[str, str] | None:
    """(token, path) of the first stale copy of the entry's file whose hash is in its `unfixed` list."""
    copies = context.copies.get(entry.path) if context.copies else None
    if not copies:
        return None
    for token, path in copies:
        if token in entry.unfixed_set:
            return token, path
    return None


def config_evidence(check: ConfigCheck, inventory: Inventory, context: Context = NO_CONTEXT) -> Evidence:
    """Judge one config check: `fixed` when the value equals `expect`, `unfixed` when it differs or is unset.

    The config file absent from the tenant is `removed` when its nearest release ships it (in a module it
    deploys), else `not-deployed`; a file there whose key was not collected (a sha256sum listing, or a
    collection made before the catalog asked for the key) is `unreadable`.
    """
    label = f"{check.file}#{check.key}"
    expected = (check.expect,)
    why = unseen(check.file, inventory)
    if why is not None:
        return Evidence(label, UNREADABLE, None, expected, note=why)
    captured = inventory.config.get((check.file, check.key))
    if captured is None:
        if check.file not in inventory.files:
            if context.expects(check.file):
                return Evidence(label, REMOVED, ABSENT, expected, note=REMOVED_NOTE)
            return Evidence(label, NOT_DEPLOYED, ABSENT, expected)
        return Evidence(label, UNREADABLE, None, expected, note=NOT_COLLECTED_NOTE)
    if captured.value == check.expect:
        return Evidence(label, FIXED, captured.value, expected)
    return Evidence(label, UNFIXED, captured.value, expected)


def variant_evidence(variant: Variant, inventory: Inventory, context: Context = NO_CONTEXT) -> tuple[Evidence, ...]:
    """Every entry of a variant judged: files first, then config checks, in catalog order."""
    files = tuple(entry_evidence(e, inventory, context) for e in variant.files)
    if not variant.config:
        return files
    return files + tuple(config_evidence(c, inventory, context) for c in variant.config)


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


def judge_fix(fix: Fix, tenant: Tenant, inventory: Inventory, context: Context = NO_CONTEXT) -> Finding:
    """One fix on one tenant: applicability first, then the best variant (SPEC 5)."""
    exclusion = exclusion_reason(fix, tenant)
    if exclusion:
        return Finding(fix.id, NOT_APPLICABLE, fix.severity, None, (), reason=exclusion)
    best: tuple[tuple[int, int, int], str, str, tuple[Evidence, ...]] | None = None
    for index, variant in enumerate(fix.variants):
        evidence = variant_evidence(variant, inventory, context)
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


def content_unknown(findings: Sequence[Finding], fixes: Sequence[Fix], tenant: Tenant, unknown: Mapping[str, Unknown]) -> tuple[Finding, ...]:
    """`findings` (of `fixes`, in order) once the files `unknown` (at paths no release knows) are known to
    have content a scan cannot know (`drift.filedrift.ReleaseIndex.with_release_content`). Any of them could
    be a stale copy (SPEC 5), which turns an entry whose own file is absent into `unfixed`. So a finding that
    reads `applied`, or `not-applicable` by its files (not its `applies_to`), with an entry whose file is
    absent and whose `unfixed` list such a file could match (an archive whose content hash alone is unknown
    matches only content hashes), is `unverifiable`, saying which file: hiding a stale file from the
    collector never buys a verdict."""
    if not unknown:
        return tuple(findings)
    whole = [p for p, u in unknown.items() if not u.archive]
    out = []
    for fix, finding in zip(fixes, findings, strict=True):
        if finding.status in (APPLIED, NOT_APPLICABLE) and not exclusion_reason(fix, tenant):
            absent = {e.path for e in finding.evidence if e.found in (None, ABSENT)} if finding.evidence else None
            hiding = whole if _may_hide(fix, absent, by_content=False) else []
            if not hiding and _may_hide(fix, absent, by_content=True):
                hiding = [p for p, u in unknown.items() if u.archive]
            if hiding:
                first = unknown[hiding[0]]
                more = f" (and {len(hiding) - 1} more)" if len(hiding) > 1 else ""
                reason = f"{clip(hiding[0], 120)}{more}: {first.note}: a stale copy there cannot be ruled out"
                finding = Finding(finding.fix, UNVERIFIABLE, finding.severity, finding.variant, finding.evidence, reason=reason)
        out.append(finding)
    return tuple(out)


def _may_hide(fix: Fix, absent: set[str] | None, *, by_content: bool) -> bool:
    """True when an entry of `fix` whose file is absent (any entry when `absent` is None: no evidence) has
    an `unfixed` hash that a file of unknown content could have (by content: a content hash)."""
    return any(
        (absent is None or e.path in absent) and any(t != ABSENT and (not by_content or t.startswith(_CONTENT_PREFIX)) for t in e.unfixed)
        for v in fix.variants for e in v.files
    )
