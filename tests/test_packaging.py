"""The installed layout: every subpackage is listed, validation and the bundled cases live inside
the package, nothing is installed at the top level but ``fpsolve``."""
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_every_subpackage_is_installed():
    """pyproject lists its packages explicitly (validation/ and cases/ are mapped into fpsolve):
    a new subpackage must be added there, or the wheel would miss it."""
    tool = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    found = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "fpsolve").rglob("__init__.py")}
    assert found | {"fpsolve.validation", "fpsolve.cases", "fpsolve.data"} == set(tool["packages"])
    assert all(name.startswith("fpsolve") for name in tool["packages"])
    assert tool["package-dir"] == {"fpsolve.validation": "validation", "fpsolve.cases": "cases"}
    assert tool["package-data"] == {"fpsolve.cases": ["*.toml"], "fpsolve.data": ["*.csv", "*.md"]}
    assert (ROOT / "fpsolve" / "data" / "anisotropy_measurements.csv").is_file()


def test_validation_is_importable_as_fpsolve_validation():
    """In a source tree the CLI loads validation/ as fpsolve.validation (installed: the real package)."""
    from fpsolve.cli import validation_package

    package = validation_package()
    assert package.__name__ == "fpsolve.validation"
    import fpsolve.validation.streaming as streaming

    assert streaming.NAME == "streaming" and callable(streaming.run)


def _imports(path: Path, package: str, modules: set) -> set:
    """fpsolve modules a file imports (at module level or inside functions)."""
    import ast

    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            parts = package.split(".")
            base = ".".join(parts[: len(parts) - node.level + 1] + [node.module or ""]).strip(".") \
                if node.level else node.module
            for alias in node.names:
                out.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base)
        elif isinstance(node, ast.Import):
            out |= {alias.name for alias in node.names}
    return out & modules


def test_no_import_cycles():
    """Layers import one way (case below build below run; result, probes, summary, dataset, io apart):
    no cycle in the module graph, lazy imports included."""
    files = {".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__"): p
             for p in (ROOT / "fpsolve").rglob("*.py")}
    graph = {m: _imports(p, m if p.name == "__init__.py" else m.rsplit(".", 1)[0], set(files)) - {m}
             for m, p in files.items()}

    def reachable(start):
        seen, todo = set(), [start]
        while todo:
            for nxt in graph[todo.pop()] - seen:
                seen.add(nxt)
                todo.append(nxt)
        return seen

    cycles = sorted({tuple(sorted((m, d))) for m in graph for d in graph[m] if m in reachable(d)})
    assert not cycles, cycles
