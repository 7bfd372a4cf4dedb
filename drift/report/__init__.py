"""The fleet report: one self-contained HTML page of a stored scan (`drift report html`).

- `drift.report.model` turns a gated scan into the page's data: compact JSON, each distinct finding once;
- `drift.report.headline` counts what the top of the page says;
- `drift.report.html` writes the page from `page.html`, `page.css` and `page.js`, all inlined;
- `drift.report.words` holds its English and Japanese words (the agency CSV's, and the page's own).

Nothing here prints or writes a file: the CLI does.
"""

from drift.report.headline import Headline, Since
from drift.report.html import render_html
from drift.report.model import Report, build_report

__all__ = ["Headline", "Report", "Since", "build_report", "render_html"]
