"""The small usability items of issue 9: Markdown tables, the summary of homogeneous and symmetric
cases, the report where a closed form is 0, the residual figure, help texts, logging levels,
stdout flushed on a signal, study files written atomically, ``info`` first lines, memory refusals."""
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import fpsolve
from fpsolve import markdown, studies
from fpsolve.report import format_report, physics_report

ROOT = Path(__file__).resolve().parents[1]
SLAB = ROOT / "cases" / "slab_streaming.toml"


def _columns(line: str) -> int:
    """Cells of a Markdown table line: unescaped '|' separators minus one."""
    return len(re.findall(r"(?<!\\)\|", line)) - 1


def _assert_table(lines):
    rows = [ln for ln in lines if ln.startswith("|")]
    assert rows, "no table"
    assert len({_columns(ln) for ln in rows}) == 1, rows


def test_markdown_cell_escapes_pipes():
    lines = markdown.table(["quantity", "value"], [["max|g/F|(z=0)", 1.5], ["a\nb", "x|y"]])
    _assert_table(lines)
    assert lines[2] == r"| max\|g/F\|(z=0) | 1.5 |"
    assert lines[3] == r"| a b | x\|y |"


def _fake_records(n):
    return [{"unknowns": 100 * (i + 1), "wall_s": 0.1, "cached": False, "converged": True,
             "quantities": {"balance closure": 1e-16, "max|g/F|(z=0,p=1)": 7.6e-3 * (1 + 2.0 ** -i)},
             "placements": {"z=0,p=1": "at a cell centre"}} for i in range(n)]


def test_sweep_and_converge_tables_survive_pipes(tmp_path, monkeypatch):
    """sweep.md and converge.md: every row of a table has the header's column count although the
    quantity names contain '|' (before: `max|g/F|` split the cells)."""
    monkeypatch.setattr(studies, "run_tasks", lambda tasks, *a, **k: _fake_records(len(tasks)))
    studies.sweep(str(SLAB), ["turbulence.cross_helicity=0,0.5"], out=tmp_path / "s")
    _assert_table((tmp_path / "s" / "sweep.md").read_text().splitlines())
    studies.converge(str(SLAB), [], ["z"], 3, 2.0, tmp_path / "c")
    text = (tmp_path / "c" / "converge.md").read_text().split("\n\n")
    tables = [block.splitlines() for block in text if block.startswith("|")]
    assert len(tables) == 2
    for t in tables:
        _assert_table(t)
    assert r"max\|g/F\|(z=0,p=1)" in "\n".join(tables[1])


def test_validation_report_table_uses_the_helper():
    source = (ROOT / "validation" / "report.py").read_text()
    assert "markdown.table(" in source and '"|---' not in source


@pytest.fixture(scope="module")
def symmetric():
    """The slab with its source at the probe (z = 0): dF/dz = 0 there by symmetry."""
    return fpsolve.solve(fpsolve.load_case(SLAB, ["source.centre=0.0", "grid.z_cells=40", "grid.mu_cells=8"]))


def test_summary_no_relative_error_over_a_zero_prediction(symmetric):
    """Eq. (7) predicts g ~ 0 at a symmetry point: the relative difference (2.7e12 before) is not
    printed; the line says why.  The streaming amplitude is not compared either (F' ~ 0)."""
    pr = symmetric.probes[0]
    assert np.max(np.abs(pr.g_da_over_F)) < 1e-3 * np.max(np.abs(pr.g_over_F))  # the premise
    text = symmetric.summary()
    line = next(ln for ln in text.splitlines() if ln.startswith("probe"))
    assert "|g - g_Eq7|/|g_Eq7|" not in line and "Eq. 7 predicts g ~ 0 here" in line
    assert "streaming amplitude: not measurable here" in text and "rel. diff" not in text


def test_summary_keeps_the_comparison_where_meaningful():
    r = fpsolve.solve(fpsolve.load_case(SLAB, ["grid.z_cells=40", "grid.mu_cells=8"]))
    text = r.summary()
    assert "|g - g_Eq7|/|g_Eq7| = " in text and "Eq. 38" in text


def test_homogeneous_summary_has_no_z():
    r = fpsolve.solve(fpsolve.load_case("compton_getting", ["grid.p_cells=16", "grid.mu_cells=8"]))
    text = r.summary()
    grid = next(ln for ln in text.splitlines() if ln.startswith("grid:"))
    assert grid.count(" p") == 1 and grid.startswith("grid: homogeneous (no z), 8 mu, 16 p"), grid
    minf = next(ln for ln in text.splitlines() if ln.startswith("min f"))
    assert "z =" not in minf and "nan" not in minf, minf


def test_report_absolute_difference_where_closed_form_is_zero():
    """U = H_c V_A = 0 at H_c = 0, quadrature -5e-18: the difference is given relative to V_A and
    starred (before: 'inf')."""
    case = fpsolve.load_case("compton_getting", ["turbulence.cross_helicity=0"])
    rows = physics_report(case)
    u = next(r for r in rows if r.quantity.startswith("U ="))
    assert u.closed == 0.0 and u.quadrature != 0.0 and u.absolute
    assert abs(u.rel_diff) < 1e-12
    text = format_report(case, rows)
    assert "inf" not in text.replace("info", "")
    assert "(quadrature - closed)/V_A" in text
    # a non-zero closed form stays relative
    kzz = next(r for r in rows if r.quantity == "kappa_zz")
    assert not kzz.absolute and kzz.rel_diff == pytest.approx(kzz.quadrature / kzz.closed - 1)
