"""The words of the HTML report, in English and Japanese.

Statuses, severities, evidence states, column headers and reasons are the agency CSV's own
(`drift.export.LANGUAGES`), so a page and a spreadsheet of the same scan say the same thing; only what
the page alone shows (headings, filters, the waived status, kinds of change) is written here.
"""

from __future__ import annotations

from collections.abc import Mapping

from drift.export import LANGUAGES, Language
from drift.history import CHANGED, NEWLY_APPLIED, NEWLY_BLOCKING, REGRESSED, UNBLOCKED
from drift.policy import BLOCKABLE, Policy

WAIVED = "waived"
"""The status a cell shows when a waiver in force lets its blocking finding pass."""

_PAGE_WORDS: dict[str, dict[str, str]] = {
    "en": {
        "title": "drift report",
        "summary": "Summary",
        "tenants": "tenants",
        "fixes": "fixes",
        "tenants_block": "tenants block",
        "waived_findings": "waived findings",
        "no_inventory": "tenants without an inventory",
        "policy": "policy",
        "defaults": "defaults",
        "policy_rule": "{statuses} at {severity} or above block; uncatalogued files {uncatalogued}",
        "u_block": "block", "u_warn": "warn", "u_ignore": "are ignored",
        "list_sep": ", ",
        "narrowed": "this scan judged only {n} fixes",
        "critical_lacking": "Critical fixes: tenants lacking them",
        "lacking": "lacking (missing or partial)",
        "no_critical": "No critical fix in this scan.",
        "since": "Since the previous run ({when}, scan {scan})",
        "first_run": "This is the first run: nothing to compare with.",
        "no_change": "No fix changed status.",
        "added_tenants": "tenants new to this run",
        "removed_tenants": "tenants no longer in this run",
        "more": "… and {n} more",
        "before": "before",
        "after": "now",
        "filters": "Filters",
        "edition": "edition",
        "line": "line",
        "all": "all",
        "search": "search",
        "search_placeholder": "tenant code or name",
        "sort": "sort tenants",
        "sort_worst": "worst first",
        "sort_status": "most of the chosen status",
        "sort_fixes": "sort fixes",
        "fixes_severity": "most severe first",
        "fixes_lacking": "most lacking first",
        "fixes_id": "by id",
        "shown": "tenants shown",
        "legend": "legend",
        "matrix": "Tenants × fixes",
        "close": "close",
        "evidence_heading": "Evidence",
        "tenant_heading": "Tenant",
        "path": "path",
        "state": "state",
        "found": "found",
        "found_at": "found at",
        "expected": "expected",
        "config_check": "config check",
        "file": "file",
        "reason": "reason",
        "waiver": "waiver",
        "approved_by": "approved by",
        "expires": "expires",
        "waiver_expired": "expired waiver (no longer applies)",
        "findings": "findings",
        "releases": "releases its files match",
        "uncatalogued_files": "uncatalogued files",
        "modified_files": "modified files",
        "file_count": "files",
        "none": "none",
        "modules": "modules",
        "blocks_because": "blocks",
        "change": "since the previous run",
        "since_title": "Since the previous run",
        "print_partial": "Printed {shown} of {total} tenants: narrow the filters to print them all.",
        "print_wide": "{fixes} fixes are wider than the page: filter by severity to print every column.",
        "no_script": "The matrix needs JavaScript; the summary above is complete without it.",
    },
    "ja": {
        "title": "drift 修正適用状況レポート",
        "summary": "概要",
        "tenants": "団体",
        "fixes": "修正",
        "tenants_block": "要対応の団体",
        "waived_findings": "例外承認された判定",
        "no_inventory": "インベントリ未提出の団体",
        "policy": "判定基準",
        "defaults": "既定",
        "policy_rule": "重要度「{severity}」以上の{statuses}を要対応とする。カタログ外ファイル: {uncatalogued}",
        "u_block": "要対応", "u_warn": "警告", "u_ignore": "無視",
        "list_sep": "・",
        "narrowed": "このスキャンは {n} 件の修正のみを判定",
        "critical_lacking": "緊急の修正: 未適用の団体数",
        "lacking": "未適用・一部適用",
        "no_critical": "このスキャンに緊急の修正はありません。",
        "since": "前回の実行（{when}、スキャン {scan}）からの変化",
        "first_run": "初回の実行のため、比較対象がありません。",
        "no_change": "判定が変わった修正はありません。",
        "added_tenants": "今回新たに加わった団体",
        "removed_tenants": "今回含まれない団体",
        "more": "…ほか{n}件",
        "before": "前回",
        "after": "今回",
        "filters": "絞り込み",
        "edition": "エディション",
        "line": "系列",
        "all": "すべて",
        "search": "検索",
        "search_placeholder": "団体コードまたは団体名",
        "sort": "団体の並び順",
        "sort_worst": "要対応の多い順",
        "sort_status": "選んだ判定の多い順",
        "sort_fixes": "修正の並び順",
        "fixes_severity": "重要度の高い順",
        "fixes_lacking": "未適用の多い順",
        "fixes_id": "修正ID順",
        "shown": "団体を表示中",
        "legend": "凡例",
        "matrix": "団体 × 修正",
        "close": "閉じる",
        "evidence_heading": "根拠",
        "tenant_heading": "団体",
        "path": "パス",
        "state": "状態",
        "found": "検出値",
        "found_at": "検出場所",
        "expected": "期待値",
        "config_check": "設定確認",
        "file": "ファイル",
        "reason": "理由",
        "waiver": "例外承認",
        "approved_by": "承認者",
        "expires": "有効期限",
        "waiver_expired": "期限切れの例外承認（適用されません）",
        "findings": "判定一覧",
        "releases": "ファイルが一致するリリース",
        "uncatalogued_files": "カタログ外ファイル",
        "modified_files": "改変ファイル",
        "file_count": "ファイル数",
        "none": "なし",
        "modules": "モジュール",
        "blocks_because": "要対応の理由",
        "change": "前回からの変化",
        "since_title": "前回の実行からの変化",
        "print_partial": "{total} 団体のうち {shown} 団体を印刷しました。すべて印刷するには絞り込んでください。",
        "print_wide": "{fixes} 件の修正は用紙の幅に収まりません。すべての列を印刷するには重要度で絞り込んでください。",
        "no_script": "表の表示には JavaScript が必要です。上の概要はそれだけで完結しています。",
    },
}

_WAIVED_WORD = {"en": WAIVED, "ja": "例外承認"}
_CHANGE_WORDS = {
    "en": {REGRESSED: "regressed", NEWLY_APPLIED: "newly applied", NEWLY_BLOCKING: "newly missing or blocking",
           UNBLOCKED: "no longer blocking", CHANGED: "changed"},
    "ja": {REGRESSED: "後退（適用済みから外れた）", NEWLY_APPLIED: "新たに適用", NEWLY_BLOCKING: "新たに要対応",
           UNBLOCKED: "要対応が解消", CHANGED: "判定が変化"},
}


def language(lang: str) -> Language:
    """The export's words for `lang` (statuses, severities, states, headers, reasons)."""
    return LANGUAGES[lang]


def page_words(lang: str) -> dict[str, str]:
    """Every word the page shows, by key: the page's own, then the export's headers (`h_<column>`),
    statuses (`s_<status>`, `waived` included), severities (`v_<severity>`), states (`e_<state>`) and
    kinds of change (`c_<change>`)."""
    words = dict(_PAGE_WORDS[lang])
    export = LANGUAGES[lang]
    # English headers are the CSV's column names (`scanned_at`): on a page they read as words.
    words.update({f"h_{k}": v.replace("_", " ") if lang == "en" else v for k, v in export.headers.items()})
    words.update({f"s_{k}": v for k, v in export.statuses.items()})
    words[f"s_{WAIVED}"] = _WAIVED_WORD[lang]
    words.update({f"v_{k}": v for k, v in export.severities.items()})
    words.update({f"e_{k}": v for k, v in export.states.items()})
    words.update({f"c_{k}": v for k, v in _CHANGE_WORDS[lang].items()})
    return words


def fill(template: str, **values: object) -> str:
    """A page word with its `{name}` fields filled."""
    return template.format(**values)


def policy_text(words: Mapping[str, str], policy: Policy) -> str:
    """The policy's blocking rule in the page's language (`Policy.describe` in English)."""
    statuses = [status_word(words, s) for s in BLOCKABLE if s in policy.statuses]
    return fill(
        words["policy_rule"], statuses=words["list_sep"].join(statuses),
        severity=words.get(f"v_{policy.min_severity}", policy.min_severity), uncatalogued=words[f"u_{policy.uncatalogued}"],
    )


def status_word(words: Mapping[str, str], status: str) -> str:
    """The word for a status (the status itself when unknown)."""
    return words.get(f"s_{status}", status)
