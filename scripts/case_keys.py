"""Print the README's case-format table from fpsolve.case.SCHEMA (a test keeps them equal)."""
from fpsolve.case import SCHEMA


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|")


def table() -> str:
    rows = ["| section | key | default | unit | allowed | meaning |", "|---|---|---|---|---|---|"]
    for section, keys in SCHEMA.items():
        for name, key in keys.items():
            if key.default is None:
                default = "—"
            elif isinstance(key.default, bool):
                default = str(key.default).lower()
            elif isinstance(key.default, str):
                default = f'"{key.default}"'
            else:
                default = f"{key.default:.6g}"
            rows.append(f"| `[{section}]` | `{name}` | {default} | {key.unit or '—'} | "
                        f"{_cell(key.allowed)} | {_cell(key.doc)} |")
    return "\n".join(rows)


def update_readme(path) -> None:
    """Replace the block between the case-keys markers of the README with the current table."""
    from pathlib import Path

    text = Path(path).read_text()
    begin, end = "<!-- case-keys:begin -->\n", "\n<!-- case-keys:end -->"
    a, b = text.index(begin) + len(begin), text.index(end)
    Path(path).write_text(text[:a] + table() + text[b:])


if __name__ == "__main__":
    import sys
    from pathlib import Path

    if "--update-readme" in sys.argv:
        update_readme(Path(__file__).resolve().parents[1] / "README.md")
    else:
        print(table())
