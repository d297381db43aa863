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


if __name__ == "__main__":
    print(table())
