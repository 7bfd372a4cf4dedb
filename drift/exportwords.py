"""The words of the agency's CSV (`drift export csv`): its columns, and their headers and values in English
and Japanese. The HTML report (`drift.report.words`) uses the same words, so a page and a spreadsheet of
the same scan say the same thing."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

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
    STATUSES,
    UNFIXED,
    UNREADABLE,
    UNVERIFIABLE,
)

LANGS = ("en", "ja")

FULL_COLUMNS = (
    "tenant", "name", "prefecture", "fix", "title", "severity", "status", "blocking", "variant", "evidence",
    "scan", "scanned_at", "catalog_digest", "inventory_digest", "collected_at", "signature",
)
SUMMARY_COLUMNS = (
    "tenant", "name", "prefecture", *STATUSES, "blocking", "uncatalogued", "modified",
    "scan", "scanned_at", "catalog_digest", "inventory_digest", "collected_at", "signature",
)
WAIVER_COLUMNS = ("waived", "waiver_approved_by", "waiver_expires", "waiver_reason")
"""With a policy, a full export has these right after `blocking`: whether a waiver in force lets the
finding pass, and that waiver's approver, last day and reason (empty when none)."""
SUMMARY_WAIVED = "waived_count"
"""With a policy, a summary has this right after `blocking`: the tenant's waived findings (header `waived`)."""


def columns(*, summary: bool, waivers: bool) -> tuple[str, ...]:
    """The columns of an export, in order: the waiver columns only `waivers` (a policy was given or found)."""
    base = SUMMARY_COLUMNS if summary else FULL_COLUMNS
    if not waivers:
        return base
    at = base.index("blocking") + 1
    return (*base[:at], *((SUMMARY_WAIVED,) if summary else WAIVER_COLUMNS), *base[at:])


@dataclass(frozen=True, slots=True)
class Language:
    """The words of one language of the export. English is the stored words themselves."""

    headers: Mapping[str, str]
    """Column (a name of `FULL_COLUMNS`, `SUMMARY_COLUMNS`, `WAIVER_COLUMNS` or `SUMMARY_WAIVED`) → its header."""
    statuses: Mapping[str, str]
    """Fix status → word."""
    severities: Mapping[str, str]
    """Severity → word."""
    states: Mapping[str, str]
    """Evidence state → word."""
    yes_no: tuple[str, str]
    """The words for yes and no."""
    reason: Callable[[str], str]
    """A finding's reason, translated."""
    more: str
    """Ends an evidence text cut for Excel; `{n}` is how many entries were left out."""


_ENGLISH = Language(
    headers={**{c: c for c in (*FULL_COLUMNS, *SUMMARY_COLUMNS, *WAIVER_COLUMNS)}, SUMMARY_WAIVED: "waived"},
    statuses={s: s for s in STATUSES},
    severities={s: s for s in ("critical", "high", "medium", "low")},
    states={s: s for s in (FIXED, UNFIXED, MODIFIED, UNREADABLE, REMOVED, NOT_DEPLOYED, AMBIGUOUS)},
    yes_no=("yes", "no"),
    reason=lambda reason: reason,
    more="… ({n} more)",
)

_JA_STATUSES = {APPLIED: "適用済み", MISSING: "未適用", PARTIAL: "一部適用", UNVERIFIABLE: "検証不能", NOT_APPLICABLE: "対象外"}

# The reasons drift gives (drift.verdict, drift.scan); any other is left in English.
_JA_REASONS: tuple[tuple[re.Pattern[str], Callable[[re.Match[str]], str]], ...] = (
    (re.compile(r"no inventory for this tenant"), lambda m: "インベントリなし"),
    (re.compile(r"the fix has no variant"), lambda m: "修正に系列なし"),
    (
        re.compile(r"applies to editions (.*); tenant runs (.*)"),
        lambda m: f"対象エディション: {m[1]}（この団体: {'なし' if m[2] == 'no edition' else m[2]}）",
    ),
    (
        re.compile(r"applies to modules (.*); tenant deploys (.*)"),
        lambda m: f"対象モジュール: {m[1]}（この団体: {'なし' if m[2] == 'none' else m[2]}）",
    ),
)


def _ja_reason(reason: str) -> str:
    for pattern, words in _JA_REASONS:
        if match := pattern.fullmatch(reason):
            return words(match)
    return reason


_JAPANESE = Language(
    headers={
        "tenant": "団体コード", "name": "団体名", "prefecture": "都道府県", "fix": "修正ID", "title": "件名",
        "severity": "重要度", "status": "判定", "blocking": "要対応", "variant": "系列", "evidence": "根拠",
        "scan": "スキャンID", "scanned_at": "スキャン日時", "catalog_digest": "カタログダイジェスト",
        "inventory_digest": "インベントリダイジェスト", "collected_at": "収集日時", "signature": "署名",
        **{s: f"{word}件数" for s, word in _JA_STATUSES.items()},
        "uncatalogued": "カタログ外ファイル数", "modified": "改変ファイル数",
        "waived": "免除", "waiver_approved_by": "免除承認者", "waiver_expires": "免除期限", "waiver_reason": "免除理由",
        SUMMARY_WAIVED: "免除件数",
    },
    statuses=_JA_STATUSES,
    # The four CVSS v3 levels as JVN and IPA write them.
    severities={"critical": "緊急", "high": "重要", "medium": "警告", "low": "注意"},
    states={
        FIXED: "修正済み", UNFIXED: "未修正", MODIFIED: "改変", UNREADABLE: "読取不可", REMOVED: "欠落", NOT_DEPLOYED: "未配置",
        AMBIGUOUS: "判別不能",
    },
    yes_no=("はい", "いいえ"),
    reason=_ja_reason,
    more="…ほか{n}件",
)

LANGUAGES: dict[str, Language] = {"en": _ENGLISH, "ja": _JAPANESE}
"""Language code → its words."""
