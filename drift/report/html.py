"""The report as one self-contained HTML file: the page template, its style and script inlined, the data
embedded once as JSON. Nothing is fetched: no CDN, no font, no image but inline ones, and a
Content-Security-Policy that forbids the page any network access, so it opens offline and from an email.

The headline, filters and legend are written here, so they read (and print) without JavaScript; the
script draws the matrix from the data, a screenful of rows at a time.

Strings from tenants are HTML-escaped wherever they are written, here and in the script; text a person
reads also has its control and reordering characters shown as visible escapes (`\\e`, `\\u202e`: a bidi
override cannot reverse a line). The embedded JSON escapes `<`, `>`, `&` and those characters as `\\uXXXX`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from html import escape
from importlib import resources
from typing import Any

from drift.catalog.model import SEVERITIES, version_key
from drift.history import CHANGED, NEWLY_APPLIED, NEWLY_BLOCKING, REGRESSED, UNBLOCKED
from drift.report.headline import Headline
from drift.report.model import STATUS_ORDER, Report
from drift.report.words import fill, status_word
from drift.text import json_safe, terminal_safe

ASSETS = ("page.html", "page.css", "page.js")
"""The files of the page, shipped inside the package (pyproject.toml: package-data)."""
MAX_LISTED_CHANGES = 50
"""The headline lists at most this many changes; each tenant's detail shows all of its own."""
_LISTED_FIRST = (REGRESSED, NEWLY_BLOCKING, NEWLY_APPLIED, UNBLOCKED, CHANGED)
"""The order the headline lists changes in: what got worse first."""
_SLOT = re.compile(r"\{\{(\w+)\}\}")


def render_html(report: Report) -> str:
    """The whole page."""
    words = report.words
    slots = {
        "lang": escape(report.lang),
        "title": escape(words["title"]),
        "style": _asset("page.css"),
        "script": _asset("page.js"),
        "data": embed_json(report.data),
        "header": _header(report),
        "headline": _headline(report.headline, words),
        "filters": _filters(report),
        "legend": _legend(words),
        "shown": str(report.headline.tenants),
        "w_shown": escape(words["shown"]),
        "w_matrix": escape(words["matrix"]),
        "w_tenant": escape(words["h_tenant"]),
        "w_close": escape(words["close"]),
        "w_evidence": escape(words["evidence_heading"]),
        "w_tenant_detail": escape(words["tenant_heading"]),
        "w_no_script": escape(words["no_script"]),
    }
    return _SLOT.sub(lambda m: slots[m[1]], _asset("page.html"))


def embed_json(data: Mapping[str, Any]) -> str:
    """JSON safe inside a `<script type="application/json">`: no `<`, `>` or `&` can end the element."""
    text = json_safe(json.dumps(data, ensure_ascii=False, separators=(",", ":")))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _show(text: str) -> str:
    """Text a person reads on the page: control and reordering characters as visible escapes, then HTML-escaped."""
    return escape(terminal_safe(text))


def _asset(name: str) -> str:
    return resources.files("drift.report").joinpath(name).read_text(encoding="utf-8")


def _header(report: Report) -> str:
    words = report.words
    scan = report.data["scan"]
    items = [
        (words["h_scan"], f'<code>{escape(scan["id"])}</code>'),
        (words["h_scanned_at"], escape(scan["ran_at"])),
        (words["h_catalog_digest"], f'<code>{escape(scan["catalog_digest"])}</code>'),
        (words["policy"], f'{_show(scan["policy_source"])}: {escape(scan["policy"])}'),
    ]
    if report.narrowed is not None:
        items.append(("", escape(fill(words["narrowed"], n=len(report.narrowed)))))
    return "".join(f"<div><dt>{escape(k)}</dt><dd>{v}</dd></div>" for k, v in items)


def _headline(head: Headline, words: Mapping[str, str]) -> str:
    stats = [
        ("blocking", f"{head.blocking_tenants} / {head.tenants}", words["tenants_block"]),
        ("tenants", str(head.tenants), words["tenants"]),
        ("fixes", str(head.fixes), words["fixes"]),
        ("waived", str(head.waived), words["waived_findings"]),
        ("no-inventory", str(head.no_inventory), words["no_inventory"]),
    ]
    parts = ['<div class="stats">']
    parts += [
        f'<div class="stat" data-stat="{key}"><span class="num">{escape(num)}</span> <span class="label">{escape(label)}</span></div>'
        for key, num, label in stats
    ]
    parts.append("</div>")
    parts.append(_critical(head, words))
    parts.append(_since(head, words))
    return "".join(parts)


def _critical(head: Headline, words: Mapping[str, str]) -> str:
    title = f'<h3>{escape(words["critical_lacking"])}</h3>'
    if not head.critical:
        return f'<div class="critical">{title}<p>{escape(words["no_critical"])}</p></div>'
    heads = [words["h_fix"], words["h_title"], words["lacking"], status_word(words, "missing"), status_word(words, "partial"),
             status_word(words, "unverifiable"), status_word(words, "waived")]
    rows = "".join(
        f'<tr data-critical="{escape(lack.fix)}"><td><code>{_show(lack.fix)}</code></td><td>{_show(lack.title)}</td>'
        f'<td class="n strong">{lack.lacking}</td><td class="n">{lack.missing}</td><td class="n">{lack.partial}</td>'
        f'<td class="n">{lack.unverifiable}</td><td class="n">{lack.waived}</td></tr>'
        for lack in head.critical
    )
    return f'<div class="critical">{title}<div class="box"><table class="plain">{_thead(heads)}<tbody>{rows}</tbody></table></div></div>'


def _since(head: Headline, words: Mapping[str, str]) -> str:
    since = head.since
    if since.previous is None or since.diff is None:
        return f'<div class="since"><h3>{escape(words["since_title"])}</h3><p>{escape(words["first_run"])}</p></div>'
    previous = since.previous
    title = fill(words["since"], when=previous.ran_at, scan=previous.scan.removeprefix("sha256:")[:12])
    counts = "".join(
        f'<li data-change="{kind}"><span class="num">{n}</span> {escape(words["c_" + kind])}</li>' for kind, n in since.counts.items()
    )
    parts = [f'<div class="since"><h3>{escape(title)}</h3><ul class="counts">{counts}</ul>']
    changes = sorted(
        ((t, c) for t in since.diff.tenants for c in t.changes), key=lambda tc: (_LISTED_FIRST.index(tc[1].change), tc[0].tenant, tc[1].fix)
    )
    if not changes:
        parts.append(f'<p>{escape(words["no_change"])}</p>')
    else:
        heads = [words["h_tenant"], words["h_name"], words["h_fix"], words["h_severity"], words["before"], words["after"], words["change"]]
        rows = "".join(
            f'<tr><td><button type="button" class="link" data-open-tenant="{escape(t.tenant)}">{escape(t.tenant)}</button></td>'
            f"<td>{_show(t.name)}</td>"
            f'<td><button type="button" class="link" data-open-tenant="{escape(t.tenant)}" data-open-fix="{escape(c.fix)}">'
            f"{escape(c.fix)}</button></td>"
            f'<td>{escape(words.get("v_" + c.severity, c.severity))}</td>'
            f'<td>{escape(status_word(words, c.before) if c.before else "—")}</td><td>{escape(status_word(words, c.after))}</td>'
            f'<td data-change="{c.change}">{escape(words["c_" + c.change])}</td></tr>'
            for t, c in changes[:MAX_LISTED_CHANGES]
        )
        parts.append(f'<div class="box"><table class="plain">{_thead(heads)}<tbody>{rows}</tbody></table></div>')
        if len(changes) > MAX_LISTED_CHANGES:
            parts.append(f'<p>{escape(fill(words["more"], n=len(changes) - MAX_LISTED_CHANGES))}</p>')
    for key, ids in (("added_tenants", since.diff.added), ("removed_tenants", since.diff.removed)):
        if ids:
            parts.append(f'<p>{escape(words[key])}: {_show(", ".join(ids))}</p>')
    parts.append("</div>")
    return "".join(parts)


def _thead(heads: Iterable[str]) -> str:
    return "<thead><tr>" + "".join(f'<th scope="col">{escape(h)}</th>' for h in heads) + "</tr></thead>"


def _filters(report: Report) -> str:
    words = report.words
    tenants: Sequence[Mapping[str, Any]] = report.data["tenants"]
    first_id: dict[str, str] = {}
    for t in tenants:
        if t["pref"] and (t["pref"] not in first_id or t["id"] < first_id[t["pref"]]):
            first_id[t["pref"]] = t["id"]
    # Local government codes begin with the prefecture's JIS number: their order is the usual one.
    prefectures = sorted(first_id, key=lambda p: (first_id[p], p))
    editions = sorted({t["ed"] for t in tenants if t["ed"]})
    lines = sorted({t["line"] for t in tenants if t["line"]}, key=version_key)
    present = {SEVERITIES[f["sev"]] for f in report.data["fixes"]}
    severities = [(s, words.get("v_" + s, s)) for s in SEVERITIES if s in present]
    statuses = [(s, status_word(words, s)) for s in STATUS_ORDER]
    selects = [
        ("filter-prefecture", words["h_prefecture"], [(p, p) for p in prefectures]),
        ("filter-edition", words["edition"], [(e, e) for e in editions]),
        ("filter-line", words["line"], [(line, line) for line in lines]),
        ("filter-severity", words["h_severity"], severities),
        ("filter-status", words["h_status"], statuses),
    ]
    parts = [_select(key, label, [("", words["all"]), *options]) for key, label, options in selects]
    parts.append(
        f'<label class="search">{escape(words["search"])} <input id="search" type="search" autocomplete="off" '
        f'placeholder="{escape(words["search_placeholder"])}"></label>'
    )
    parts.append(_select("sort", words["sort"], [
        ("worst", words["sort_worst"]), ("id", words["h_tenant"]), ("name", words["h_name"]),
        ("prefecture", words["h_prefecture"]), ("edition", words["edition"]), ("line", words["line"]),
        ("status", words["sort_status"]),
    ]))
    parts.append(_select("sort-fixes", words["sort_fixes"], [
        ("severity", words["fixes_severity"]), ("lacking", words["fixes_lacking"]), ("id", words["fixes_id"]),
    ]))
    return "".join(parts)


def _select(key: str, label: str, options: Iterable[tuple[str, str]]) -> str:
    # A value is shown escaped too: the script compares it with the tenant's string escaped the same way.
    body = "".join(f'<option value="{_show(value)}">{_show(text)}</option>' for value, text in options)
    return f'<label for="{key}">{escape(label)} <select id="{key}">{body}</select></label>'


def _legend(words: Mapping[str, str]) -> str:
    statuses = "".join(
        f'<li><span class="cell" data-status="{s}"></span> {escape(status_word(words, s))}</li>' for s in STATUS_ORDER
    )
    return statuses + f'<li><span class="cell chg"></span> {escape(words["change"])}</li>'
