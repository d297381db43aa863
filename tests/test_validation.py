"""`fpsolve validate --quick` passes and writes its report (the full run is documented in the README)."""
import json
import os
import subprocess
import sys
from pathlib import Path


def test_validate_quick(tmp_path):
    """`fpsolve validate --quick`: every check and patch test passes.  In CI (.ci/run) the installed
    wheel has just run it from an empty folder (its exit status fails CI) and names its output in
    FPSOLVE_CI_VALIDATION_OUT: that output is checked here instead of a second identical run (~100 s)."""
    given = os.environ.get("FPSOLVE_CI_VALIDATION_OUT")
    if given:
        out = Path(given)
    else:
        out = tmp_path / "v"
        proc = subprocess.run([sys.executable, "-m", "fpsolve.cli", "validate", "--quick", "--out", str(out)],
                              capture_output=True, text=True, timeout=600)
        assert proc.returncode == 0, proc.stdout + proc.stderr
    records = json.loads((out / "checks.json").read_text())
    checks = [r for r in records if r["kind"] == "check"]
    patches = [r for r in records if r["kind"] == "patch"]
    assert len(checks) >= 40 and all(r["passed"] for r in checks)
    assert len(patches) >= 7 and all(r["passed"] for r in patches)  # streaming 6, knudsen 1
    report = (out / "report.md").read_text()
    assert "| transport | check | net convection" in report and "**FAIL**" not in report
    assert (out / "compton_getting" / "compton_getting_fig2.png").exists()


def test_validate_only_and_bad_name(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "fpsolve.cli", "validate", "--quick", "--only", "streaming",
                           "--out", str(tmp_path / "v")], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0 and "10 of 10 checks passed" in proc.stdout, proc.stdout
    report = (tmp_path / "v" / "report.md").read_text()
    assert "6 of 6 patch tests passed" in report and "| streaming | patch test | amplitude" in report
    proc = subprocess.run([sys.executable, "-m", "fpsolve.cli", "validate", "--only", "nonsense"],
                          capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 2 and "unknown problem" in proc.stderr
