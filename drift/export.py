"""The supervising agency's CSV (SPEC 6 `drift export csv`): rows of a stored scan, in English or Japanese,
encoded so that Excel on a Japanese Windows desktop opens it as written.

- `export_table` gives the rows (a header, then one row per tenant × fix, or per tenant with `summary`):
  plain strings, the stored values or their translation, nothing computed but counts and `blocking`.
- `encode_csv` writes them as RFC 4180 (quoted where needed, CRLF line ends) in `utf-8-sig` (a BOM, so
  Excel reads UTF-8), `utf-8` or `cp932`. A character the encoding cannot hold is an error naming the row
  and column, or, with `replace`, a visual equivalent (`—` → `―`, `¥` → `￥`) or `〓`, never silently.
  Every cell that would start a spreadsheet formula (`=`, `+`, `-`, `@`, TAB, CR: a name, a path, a time or
  a reason that came from a tenant) gets a leading `'` (`drift.text.csv_safe`), and a control or reordering
  character in a cell that came from a tenant (name, prefecture, evidence, reason, collection time) is written
  as a visible escape (`\\e`, `\\u202e`: `drift.text.terminal_safe`), so the cell reads as what it holds, in
  Excel and in a terminal alike (SPEC 5). Ordinary text is left as it is.
- `fix_titles` takes titles from the catalog the scan judged, and from no other.

Nothing here prints or writes a file: the CLI does.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from drift.catalog import load_catalog
from drift.errors import InputError
from drift.exportwords import LANGS, LANGUAGES, Language, columns
from drift.formats.evidence import evidence_parts
from drift.policy import Policy, Waiver
from drift.results import STATUSES, Finding, PerFinding, Scan, TenantResult
from drift.scan import NO_INVENTORY
from drift.text import csv_safe, shown, terminal_safe
from drift.zones import Zone

__all__ = [
    "ENCODINGS", "EXCEL_MAX_CELL", "EXCEL_MAX_ROWS", "LANGS", "LANGUAGES", "REPLACEMENT", "Encoded", "Language", "Table",
    "encode_csv", "evidence_text", "export_table", "fix_titles",
]

ENCODINGS = ("utf-8-sig", "utf-8", "cp932")
REPLACEMENT = "〓"
"""What `replace` writes for a character the encoding cannot hold and that has no visual equivalent: the
geta mark, the Japanese typesetter's sign for a missing character (cp932 0x81AC). A `?` would read as text."""
EQUIVALENTS = {"\u2014": "\u2015", "\u00a5": "\uffe5", "\u203e": "\uffe3", "\u00a0": " "}
"""Characters cp932 lacks, written under `replace` as the cp932 character every Windows shows the same.
(The codec itself already writes `〜 − ‖ ¢ £ ¬` as their Microsoft forms `～ － ∥ ￠ ￡ ￢`.)"""
EXCEL_MAX_ROWS = 1_048_576
"""Rows in an Excel sheet, the header included."""
EXCEL_MAX_CELL = 32_767
"""Characters in an Excel cell: a longer evidence text is cut at a whole entry and says how many are left out."""


@dataclass(frozen=True, slots=True)
class Table:
    """The rows of an export, made as they are read (a fleet's full export is millions of rows)."""

    header: tuple[str, ...]
    """The column headers, in the export's language."""
    rows: Iterable[tuple[str, ...]]
    """One tuple of cells per row, in header order; read once."""
    keys: tuple[int, ...]
    """The columns that name a row in a message (tenant, and fix in a full export)."""


def export_table(
    scan: Scan, *, lang: str = "en", summary: bool = False, titles: Mapping[str, str] | None = None, policy: Policy | None = None,
    waivers_on: dt.date | None = None, zone: Zone | None = None,
) -> Table:
    """The scan's rows: one per tenant × fix, or with `summary` one per tenant (counts per status, whether
    anything blocks under `policy` (default: the gate's defaults), uncatalogued and modified file counts).

    `titles` maps fix ids to titles; a fix it lacks gets an empty title. A summary needs only the findings
    that can block: a scan loaded with just those statuses gives the same rows.

    With `waivers_on` (a policy was given or found), the rows get the waiver columns (`WAIVER_COLUMNS`, or a
    count in a summary) after `blocking`: a blocking finding that a waiver of `policy` in force on that day
    covers is not blocking, and shows its waiver, as `drift gate` judges it; an expired waiver shows nothing.
    With `zone`, the scan and collection times are shown in it (`drift.zones`); else as stored (UTC).
    """
    words = LANGUAGES[lang]
    policy = policy or Policy()
    rows = _Rows(scan, words, policy, waivers_on, zone)
    header = tuple(words.headers[c] for c in columns(summary=summary, waivers=waivers_on is not None))
    if summary:
        return Table(header, rows.summary(), (0,))
    return Table(header, rows.full(titles or {}), (0, 3))


class _Rows:
    """Makes the rows of one export."""

    def __init__(self, scan: Scan, words: Language, policy: Policy, waivers_on: dt.date | None, zone: Zone | None) -> None:
        self.scan = scan
        self.words = words
        self.policy = policy
        self.with_waivers = waivers_on is not None
        self.in_force: Mapping[tuple[str, str], Waiver] = (
            {(w.tenant, w.fix): w for w in policy.waivers if w.applies_on(waivers_on)} if waivers_on is not None else {}
        )
        self.waived_tenants = {tenant for tenant, _ in self.in_force}
        self.zone = zone
        self.scanned_at = self._time(scan.created_at)

    def _time(self, value: str) -> str:
        return self.zone.show(value) if self.zone is not None else value

    def _waiver(self, tenant: str, finding: Finding) -> Waiver | None:
        """The waiver in force that lets this blocking finding pass, if any (as `drift.gate.decide` finds it)."""
        if tenant not in self.waived_tenants or not self.policy.blocks(finding):
            return None
        return self.in_force.get((tenant, finding.fix))

    def full(self, titles: Mapping[str, str]) -> Iterator[tuple[str, ...]]:
        """One row per tenant × fix."""
        words, policy = self.words, self.policy
        yes, no = words.yes_no
        unwaived = (no, "", "", "") if self.with_waivers else ()

        def finding_cells(f: Finding) -> tuple[str, ...]:
            # The fix, its title and variant are the catalog's (a title may hold a line break); the evidence is the tenant's.
            return (
                f.fix, titles.get(f.fix, ""), words.severities.get(f.severity, f.severity), words.statuses.get(f.status, f.status),
                yes if policy.blocks(f) else no, *unwaived, f.variant or "", evidence_text(f, words),
            )

        # Tenants share finding objects: each one's cells are made once; a waiver is the one tenant's.
        cells = PerFinding(finding_cells)
        at = 4  # the index of `blocking` in finding_cells
        for result in self.scan.tenants:
            head = _tenant_cells(result)
            tail = (self.scan.id, self.scanned_at, self.scan.catalog_digest, *self._inventory_cells(result))
            tid = result.tenant.id
            for finding, row in zip(result.findings, cells.values(result.findings), strict=True):
                waiver = self._waiver(tid, finding)
                if waiver is not None:
                    row = (*row[:at], no, *self._waiver_cells(waiver), *row[at + 1 + len(unwaived):])
                yield (*head, *row, *tail)

    def _waiver_cells(self, waiver: Waiver) -> tuple[str, str, str, str]:
        # The approver and reason are the auditor's words, escaped as a tenant's would be (they reach Excel and terminals).
        return (self.words.yes_no[0], terminal_safe(waiver.approved_by), waiver.expires.isoformat(), terminal_safe(waiver.reason))

    def summary(self) -> Iterator[tuple[str, ...]]:
        """One row per tenant."""
        yes, no = self.words.yes_no
        for result in self.scan.tenants:
            blocking = [f for f in result.findings if self.policy.blocks(f)]
            waived = sum(1 for f in blocking if self._waiver(result.tenant.id, f) is not None)
            yield (
                *_tenant_cells(result),
                *(str(result.counts.get(s, 0)) for s in STATUSES),
                yes if len(blocking) > waived else no,
                *((str(waived),) if self.with_waivers else ()),
                str(len(result.drift.uncatalogued)),
                str(len(result.drift.modified)),
                self.scan.id, self.scanned_at, self.scan.catalog_digest, *self._inventory_cells(result),
            )

    def _inventory_cells(self, result: TenantResult) -> tuple[str, str, str]:
        """Inventory digest, collection time, and what became of its signature (`signed by <key>`, `unsigned`,
        `signature refused: ...`; empty when the scan used no trust file); the first two empty for a tenant
        with no inventory."""
        digest = "" if result.inventory_digest == NO_INVENTORY else result.inventory_digest
        return (digest, terminal_safe(self._time(result.collected_at or "")), terminal_safe(result.signature))


def _tenant_cells(result: TenantResult) -> tuple[str, str, str]:
    t = result.tenant
    return (terminal_safe(t.id), terminal_safe(t.name), terminal_safe(t.prefecture))


def evidence_text(finding: Finding, words: Language = LANGUAGES["en"]) -> str:
    """`path: state` (or `path: state (note)`) per entry, `; `-joined (in English, the text of the scan's own
    CSV), or the reason when there is no evidence; control characters escaped, cut at a whole entry to fit an
    Excel cell."""
    if not finding.evidence:
        return terminal_safe(words.reason(finding.reason))
    parts = evidence_parts(finding, words.states, terminal_safe)
    text = "; ".join(parts)
    if len(text) <= EXCEL_MAX_CELL:
        return text
    room = EXCEL_MAX_CELL - len(words.more.format(n=len(parts)))
    kept, size = 0, 0
    while size + len(parts[kept]) + 2 <= room:
        size += len(parts[kept]) + 2
        kept += 1
    return "; ".join([*parts[:kept], words.more.format(n=len(parts) - kept)])


@dataclass(frozen=True, slots=True)
class Encoded:
    """A table written as CSV bytes."""

    data: bytes
    """The whole file: RFC 4180, CRLF line ends, in the chosen encoding (with a BOM for `utf-8-sig`)."""
    rows: int
    """Rows written, the header not counted."""
    replaced: int
    """Characters replaced because the encoding cannot hold them (only with `replace`)."""
    replaced_rows: int
    """Rows where characters were replaced."""


def encode_csv(table: Table, encoding: str, *, replace: bool = False, source: str | None = None) -> Encoded:
    """The table as CSV bytes in `encoding`, every cell that would start a formula neutralised (`csv_safe`).

    A character the encoding cannot hold raises `InputError` naming the first row (the header is row 1, as
    in Excel), its tenant and fix, the column and the character, after counting every such character. With
    `replace`, each is written as its visual equivalent in `EQUIVALENTS`, else as `REPLACEMENT`. `source`
    (the output file) prefixes the message.
    """
    if encoding not in ENCODINGS:
        raise InputError(f"unknown encoding {shown(encoding)} (one of {', '.join(ENCODINGS)})", where="--encoding")
    buffer = io.BytesIO()
    # Every cell is checked before it is written, so the strict codec can only fail on a bug.
    stream = io.TextIOWrapper(buffer, encoding=encoding, errors="strict", newline="")
    writer = csv.writer(stream, lineterminator="\r\n")
    fitter = _Fitter(table, encoding, replace)
    writer.writerow(map(csv_safe, fitter.fit(table.header, 1)))
    rows = 0
    for rows, row in enumerate(table.rows, start=1):
        fitted = row if all(cell.isascii() for cell in row) else fitter.fit(row, rows + 1)
        if fitter.failure is None:
            writer.writerow(map(csv_safe, fitted))
    if fitter.failure is not None:
        raise InputError(fitter.message(), source=source, where=f"row {fitter.failure[0]}")
    stream.flush()
    data = buffer.getvalue()
    stream.detach()
    return Encoded(data, rows, fitter.count, len(fitter.rows))


class _Fitter:
    """Checks each cell against the encoding; replaces what it cannot hold, or remembers the first failure."""

    def __init__(self, table: Table, encoding: str, replace: bool) -> None:
        self.table = table
        self.encoding = encoding
        self.replace = replace
        self.count = 0
        self.rows: set[int] = set()
        self.failure: tuple[int, tuple[str, ...], int, str] | None = None

    def fit(self, row: tuple[str, ...], number: int) -> tuple[str, ...]:
        """The row, each cell writable in the encoding (replaced, or left as it is after a failure)."""
        return tuple(self._cell(cell, row, number, column) for column, cell in enumerate(row))

    def _cell(self, cell: str, row: tuple[str, ...], number: int, column: int) -> str:
        if cell.isascii():
            return cell
        try:
            cell.encode(self.encoding)
            return cell
        except UnicodeEncodeError:
            pass
        out: list[str] = []
        for char in cell:
            try:
                char.encode(self.encoding)
                out.append(char)
                continue
            except UnicodeEncodeError:
                pass
            self.count += 1
            self.rows.add(number)
            if self.failure is None and not self.replace:
                self.failure = (number, row, column, char)
            out.append(self._substitute(char))
        return "".join(out)

    def _substitute(self, char: str) -> str:
        for candidate in (EQUIVALENTS.get(char), REPLACEMENT):
            if candidate is None:
                continue
            try:
                candidate.encode(self.encoding)
                return candidate
            except UnicodeEncodeError:
                continue
        return "?"

    def message(self) -> str:
        """The one-line error for the first failure."""
        assert self.failure is not None
        number, row, column, char = self.failure
        header = self.table.header
        names = ", ".join(f"{header[k]} {row[k]}" for k in self.table.keys if number > 1 and k < len(row))
        where = f"{names}, " if names else ""
        others = self.count - 1
        more = f" ({others} more such characters, in {len(self.rows)} rows in all)" if others else ""
        return (
            f"{where}column {header[column]}: {shown(char)} (U+{ord(char):04X}) cannot be written in {self.encoding}{more}; "
            f"use --encoding utf-8-sig, or --replace-unencodable to write {REPLACEMENT} for it"
        )


def fix_titles(scan: Scan, catalog_dir: str | Path) -> dict[str, str]:
    """Fix id → title, from the catalog at `catalog_dir`, which must be the one the scan judged (same digest):
    every cell of a row then comes from what the row's catalog digest names. Raises `InputError` when the
    folder holds no catalog, or another one."""
    catalog = load_catalog(catalog_dir)
    if catalog.digest != scan.catalog_digest:
        raise InputError(
            f"catalog {catalog.digest} is not the one scan {scan.id} judged ({scan.catalog_digest})",
            source=catalog_dir, where="--catalog",
        )
    return {fix.id: fix.title for fix in catalog.fixes}
