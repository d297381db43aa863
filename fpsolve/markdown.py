"""Markdown tables of the reports (``report.md``, ``sweep.md``, ``converge.md``): one helper, so
that a cell containing ``|`` (``max|g/F|``) or a line break never breaks a table."""
from __future__ import annotations

__all__ = ["cell", "table"]


def cell(value) -> str:
    """One table cell: ``|`` escaped as ``\\|`` (GitHub/CommonMark tables), line breaks as spaces."""
    return " ".join(str(value).split("\n")).replace("\\|", "|").replace("|", "\\|")


def table(header, rows) -> list[str]:
    """The lines of a Markdown table: header, separator, one line per row (cells escaped)."""
    def line(cells):
        return "| " + " | ".join(cell(c) for c in cells) + " |"

    header = list(header)
    return [line(header), "|" + "---|" * len(header)] + [line(r) for r in rows]
