"""The README's case-format table, generated from the section dataclasses of fpsolve.case.

``python scripts/case_keys.py`` prints it; ``--update-readme`` rewrites the block between the
``<!-- case-keys:begin -->`` and ``<!-- case-keys:end -->`` markers of README.md
(tests/test_case_cli.py keeps the two equal).
"""
from dataclasses import fields
from pathlib import Path

from fpsolve.case import SECTIONS

BEGIN, END = "<!-- case-keys:begin -->\n", "\n<!-- case-keys:end -->"


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|")


def _default(value) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, str):
        return f'"{value}"'
    return f"{value:.6g}"


def table() -> str:
    rows = ["| section | key | default | unit | allowed | meaning |", "|---|---|---|---|---|---|"]
    for section, cls in SECTIONS.items():
        for f in fields(cls):
            key = f.metadata["key"]
            rows.append(f"| `[{section}]` | `{f.name}` | {_default(key.default)} | {key.unit or '—'} | "
                        f"{_cell(key.allowed)} | {_cell(key.doc)} |")
    return "\n".join(rows)


def update_readme(path) -> None:
    """Replace the block between the case-keys markers of the README with the current table."""
    text = Path(path).read_text()
    a, b = text.index(BEGIN) + len(BEGIN), text.index(END)
    Path(path).write_text(text[:a] + table() + text[b:])


if __name__ == "__main__":
    import sys

    if "--update-readme" in sys.argv:
        update_readme(Path(__file__).resolve().parents[1] / "README.md")
    else:
        print(table())
