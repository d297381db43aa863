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
    assert found | {"fpsolve.validation", "fpsolve.cases"} == set(tool["packages"])
    assert all(name.startswith("fpsolve") for name in tool["packages"])
    assert tool["package-dir"] == {"fpsolve.validation": "validation", "fpsolve.cases": "cases"}
    assert tool["package-data"] == {"fpsolve.cases": ["*.toml"]}


def test_validation_is_importable_as_fpsolve_validation():
    """In a source tree the CLI loads validation/ as fpsolve.validation (installed: the real package)."""
    from fpsolve.cli import validation_package

    package = validation_package()
    assert package.__name__ == "fpsolve.validation"
    import fpsolve.validation.streaming as streaming

    assert streaming.NAME == "streaming" and callable(streaming.run)
