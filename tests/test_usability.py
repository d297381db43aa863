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


# --- residual figure --------------------------------------------------------------------------
def test_residual_figure_ends_with_the_final_residual(tmp_path, monkeypatch):
    """The residual history holds the residual *before* each step; the final one (after the last
    step) is the figure's last point (before: only a dotted line, no point)."""
    from fpsolve import plotting
    from fpsolve.solvers import SolveInfo

    info = SolveInfo(method="direct", rtol=1e-10, residual=5.9e-11, residual_history=[1.0, 1.3e-10],
                     corrections=[1.0, 3.8e-11])
    x, h = plotting.residual_points(info)
    assert list(x) == [1, 2, 3] and h[-1] == 5.9e-11
    sweep = SolveInfo(method="sweep", rtol=1e-10, residual=3e-7, residual_history=[3e-7], corrections=[1, 2e-7, 8e-14])
    x, h = plotting.residual_points(sweep)
    assert list(x) == [4] and list(h) == [3e-7]  # not twice
    r = fpsolve.solve(fpsolve.load_case(SLAB, ["grid.z_cells=20", "grid.mu_cells=8"]))
    drawn = []
    monkeypatch.setattr(plotting._Writer, "save", lambda self, fig, name: drawn.append(fig))
    plotting.file_figures(r, tmp_path / "x", ["residual"])
    ys = [line.get_ydata()[-1] for line in drawn[0].axes[0].lines]
    assert r.info.residual in ys


# --- help texts -------------------------------------------------------------------------------
def test_every_option_and_argument_has_help():
    from fpsolve.cli import _parser

    ap = _parser()
    sub = next(a for a in ap._actions if a.__class__.__name__ == "_SubParsersAction")
    missing = [f"{name} {a.dest}" for name, p in sub.choices.items() for a in p._actions
               if a.dest != "help" and not a.help]
    assert not missing, missing
    sweep = sub.choices["sweep"].format_help()
    assert "section.key=v1,v2" in sweep and "product" in sweep
    conv = sub.choices["converge"].format_help()
    for text in ("--levels N", "--ratio R", "--out DIR"):
        assert text in conv


# --- the logging story ------------------------------------------------------------------------
def _cli(*args, cwd):
    return subprocess.run([sys.executable, "-m", "fpsolve.cli", *args], capture_output=True, text=True, cwd=cwd,
                          env={**__import__("os").environ, "PYTHONPATH": str(ROOT)})


def test_quiet_default_verbose_levels(tmp_path):
    """-q: the one-line verdict, no summary; default: the summary, nothing on stderr; -v: timestamped
    progress of the solve (LU, refinement steps with forward-error estimates) on stderr; -vv: fpsolve's
    debug lines and no other library's (before: -q printed the summary, -v nothing, -vv a numba line)."""
    base = ["run", str(SLAB), "grid.z_cells=20", "grid.mu_cells=8", "solver.method=direct", "-o"]
    q = _cli("-q", *base, "q.h5", cwd=tmp_path)
    assert q.returncode == 0 and q.stdout.strip().splitlines() == ["wrote q.h5: CONVERGED, trustworthy"]
    assert q.stderr == ""
    d = _cli(*base, "d.h5", cwd=tmp_path)
    assert d.returncode == 0 and "balance:" in d.stdout and d.stderr == ""
    v = _cli("-v", *base, "v.h5", cwd=tmp_path)
    lines = v.stderr.splitlines()
    assert lines and all(re.match(r"^\d\d:\d\d:\d\d\.\d{3} fpsolve: ", ln) for ln in lines), lines
    for text in ("coefficients", "direct: LU done", "refinement step 1: residual before", "forward-error estimate"):
        assert any(text in ln for ln in lines), text
    assert "march:" not in v.stderr
    vv = _cli("-vv", *base, "vv.h5", cwd=tmp_path)
    assert "method" in vv.stderr or "wrote" in vv.stderr
    assert all(" fpsolve: " in ln for ln in vv.stderr.splitlines()), vv.stderr  # nothing from numba & co.
    assert len(vv.stderr.splitlines()) > len(lines)


def test_progress_flag_draws_no_march_bar_for_a_direct_solve(tmp_path):
    p = _cli("run", str(SLAB), "grid.z_cells=20", "grid.mu_cells=8", "solver.method=direct", "--progress",
             "-o", "p.h5", cwd=tmp_path)
    assert p.returncode == 0 and "march" not in p.stderr, p.stderr


# --- info ------------------------------------------------------------------------------------
def test_info_first_line_carries_the_trust_flags(tmp_path):
    _cli("-q", "run", str(SLAB), "grid.z_cells=20", "grid.mu_cells=8", "-o", "r.h5", cwd=tmp_path)
    out = _cli("info", "r.h5", cwd=tmp_path).stdout.splitlines()
    assert out[0] == "r.h5: CONVERGED, trustworthy"
    quiet = _cli("-q", "info", "r.h5", cwd=tmp_path).stdout.splitlines()
    assert quiet == [out[0]]


def test_info_on_a_checkpoint_names_the_full_restart_command(tmp_path):
    """The checkpoint of a march stores its `fpsolve run ... -o OUT --restart CK` line, overrides included
    (before: `fpsolve run CASE --restart CK (the same overrides)`)."""
    args = ["run", str(SLAB), "grid.z_cells=20", "grid.mu_cells=8", "solver.method=march", "solver.max_steps=3",
            "--checkpoint-every", "1", "-o", "sub_out.h5"]
    r = _cli(*args, cwd=tmp_path)
    assert r.returncode == 3  # not converged in 3 steps: nothing written, the checkpoint stays
    info = _cli("info", "sub_out.checkpoint.h5", cwd=tmp_path)
    assert info.returncode == 0
    line = info.stdout.strip()
    assert "CHECKPOINT" in line
    for text in ("grid.z_cells=20", "solver.max_steps=3", "-o sub_out.h5", "--restart sub_out.checkpoint.h5",
                 "--checkpoint-every 1"):
        assert text in line, (text, line)


# --- study files through the one atomic writer --------------------------------------------------
def test_converge_h5_and_cache_use_the_atomic_writer(tmp_path, monkeypatch):
    import fpsolve.io as fio

    written = []
    real = fio.write_atomic

    def spy(path, data, **kw):
        written.append(Path(path).name)
        return real(path, data, **kw)

    monkeypatch.setattr(fio, "write_atomic", spy)
    monkeypatch.setattr(studies, "write_atomic", spy)
    monkeypatch.setattr(studies, "run_tasks", lambda tasks, *a, **k: _fake_records(len(tasks)))
    studies.converge(str(SLAB), [], ["z"], 3, 2.0, tmp_path)
    assert {"converge.md", "converge.png", "converge.h5"} <= set(written), written
    import h5py

    with h5py.File(tmp_path / "converge.h5", "r") as h5:
        assert h5.attrs["complete"] and h5["unknowns"].fletcher32
    # the run cache: a real (small) solve writes its record through the same writer
    written.clear()
    studies.cached_solve(str(SLAB), ["grid.z_cells=20", "grid.mu_cells=8"], str(tmp_path / "cache"), "", lambda r: {})
    assert len(written) == 1 and written[0].endswith(".json")
    assert not list((tmp_path / "cache").glob(".*"))  # no temporary or lock file left


# --- memory -------------------------------------------------------------------------------------
def _limited(limit_gb):
    import resource

    def set_limit():
        resource.setrlimit(resource.RLIMIT_AS, (int(limit_gb * 1024**3), resource.RLIM_INFINITY))
    return set_limit


def test_grid_over_the_address_space_limit_is_refused_before_work(tmp_path):
    """`ulimit -v 6000000` and a 7.7 GB grid: before, a 38-line `SystemError: gstrf was called with
    invalid arguments` after the assembly; now one line naming estimate and limit, exit 6."""
    import os

    proc = subprocess.run([sys.executable, "-m", "fpsolve.cli", "run", str(SLAB), "grid.z_cells=3200",
                           "grid.mu_cells=512", "solver.method=direct", "-o", "big.h5"], capture_output=True,
                          text=True, cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(ROOT)},
                          preexec_fn=_limited(6000000 / 1024**2), timeout=300)
    assert proc.returncode == 6, proc.stderr
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert "not enough memory for this grid: estimated 7.69 GB" in proc.stderr
    assert "address-space limit 5.72 GB (ulimit -v)" in proc.stderr
    assert list(tmp_path.iterdir()) == []


OOM_SCRIPT = """
import resource, sys
import fpsolve.cli as cli
cli.check_memory = lambda case: case.estimated_memory_gb()  # no refusal: the run itself must run out
from fpsolve.warmup import compile_kernels
compile_kernels()
resource.setrlimit(resource.RLIMIT_AS, (int((cli._vm_size_gb() + 0.6) * 1024**3), resource.RLIM_INFINITY))
sys.exit(cli.main(sys.argv[1:]))
"""


def test_out_of_memory_during_the_run_is_one_line(tmp_path):
    """Memory running out inside SuperLU (its C messages 'Can't expand MemType', 'malloc fails' and
    scipy's SystemError) or numpy (MemoryError): one line naming estimate and limit, exit 6."""
    import os

    proc = subprocess.run([sys.executable, "-c", OOM_SCRIPT, "run", str(SLAB), "grid.z_cells=1000", "grid.mu_cells=256",
                           "solver.method=direct", "-o", "oom.h5"], capture_output=True, text=True, cwd=tmp_path,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=300)
    assert proc.returncode == 6, proc.stderr
    assert proc.stderr.count("\n") == 1, proc.stderr
    assert proc.stderr.startswith("fpsolve: error: out of memory during the run: estimated 1.1 GB")
    assert "address-space limit" in proc.stderr and "nothing written" in proc.stderr
    assert list(tmp_path.iterdir()) == []


# --- signals and stdout ---------------------------------------------------------------------------
SLOW_WRITE = """
import pathlib, sys, time
import fpsolve.io as io
real = io.write_result
def slow(result, path):
    pathlib.Path("started").write_text("x")
    time.sleep(60)
    return real(result, path)
io.write_result = slow
from fpsolve.cli import main
sys.exit(main(sys.argv[1:]))
"""


def test_sigterm_after_the_summary_keeps_stdout(tmp_path):
    """SIGTERM while the result is being written: the summary already printed reaches stdout (a pipe,
    block-buffered) before the one stderr line, exit 143, nothing written.  (A regression guard: the
    flush before the signal's line; the loss reported in issue 9 did not reproduce on this branch's
    base.)"""
    import os
    import signal
    import time

    proc = subprocess.Popen([sys.executable, "-c", SLOW_WRITE, "run", str(SLAB), "grid.z_cells=20", "grid.mu_cells=8",
                             "-o", "r.h5"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    deadline = time.monotonic() + 120
    while not (tmp_path / "started").exists() and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.1)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err
    assert out.startswith("fpsolve ") and "balance:" in out and "trustworthy" in out
    assert err == "fpsolve: interrupted by SIGTERM\n"
    assert not (tmp_path / "r.h5").exists()


def test_info_on_a_time_checkpoint_is_one_line(tmp_path):
    """Before: `fpsolve: error: ...checkpoint.h5: not an fpsolve result file` (exit 2)."""
    burst = ROOT / "cases" / "burst_slab.toml"
    r = _cli("-q", "run", str(burst), "time.end=0.2", "time.output_times=[0.1,0.2]", "grid.z_cells=30",
             "grid.mu_cells=8", "--checkpoint-every", "5", "-o", "b.h5", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert not (tmp_path / "b.checkpoint.h5").exists()  # removed after the series is written
    r = _cli("-q", "run", str(burst), "time.end=0.2", "time.output_times=[0.1,0.2]", "grid.z_cells=30",
             "grid.mu_cells=8", "--checkpoint-every", "5", "--keep-checkpoint", "-o", "b.h5", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout.count("\n") == 1 and r.stdout.startswith("wrote b.h5: ")  # -q: the verdict only
    info = _cli("info", "b.checkpoint.h5", cwd=tmp_path)
    assert info.returncode == 0 and info.stdout.count("\n") == 1, info.stderr
    assert info.stdout.startswith("b.checkpoint.h5: CHECKPOINT of a physical-time run at t = ")
    assert "--restart b.checkpoint.h5" in info.stdout
    assert "-o b.h5 --checkpoint-every 5" in info.stdout and "grid.z_cells=30" in info.stdout  # the stored command


def _fake_task(case_path, overrides, cache_dir):
    return {"overrides": list(overrides), "unknowns": 10, "wall_s": 0.5, "cached": False}


def test_studies_log_each_finished_run(caplog):
    """-v during a sweep or ladder: one line per finished run (before: nothing until the end)."""
    import logging

    logger = logging.getLogger("fpsolve.studies")
    logger.addHandler(caplog.handler)  # the CLI's configuration may have stopped propagation
    old = logger.level
    logger.setLevel(logging.INFO)
    try:
        studies.run_tasks([("c", ["a.b=1"], None), ("c", ["a.b=2"], None)], workers=1, task=_fake_task)
    finally:
        logger.removeHandler(caplog.handler)
        logger.setLevel(old)
    lines = list(dict.fromkeys(r.getMessage() for r in caplog.records if r.name == "fpsolve.studies"))  # a record
    # reaches caplog's handler twice when "fpsolve" still propagates to the root
    assert lines == ["run 1 of 2 done: a.b=1 (10 unknowns, 0.50 s)", "run 2 of 2 done: a.b=2 (10 unknowns, 0.50 s)"]


def test_report_above_p_m_says_why_there_is_no_table():
    """Above p_m no wave resonates (D_0 = 0, Eqs. 24-25): the report printed rows of inf/nan with
    numpy division warnings; now one line per such momentum and the tables of the others (the
    conftest turns a numpy division warning into an error, so the old code fails here)."""
    case = fpsolve.load_case("ism_4tev", ["particle.kinetic_tev=[4.0, 1e5, 1e7]"])
    rows = physics_report(case)
    text = format_report(case, rows)
    assert {r.p for r in rows} == {min(case.momenta())}
    assert text.count("above p_m = 4416.8 TeV/c") == 2
    assert not re.search(r"\b(inf|nan)\b", text), text


def test_numerically_closed_problem_is_named_as_such(tmp_path):
    """mean_free_path = 1e-70 on the public slab: escape exists (2e-2 for f = 1) but is 4e-74 of the
    operator's size; the refusal said "no term removes particles", which was false.  Now it names
    the ratio (exit 2, one line)."""
    r = subprocess.run([sys.executable, "-m", "fpsolve.cli", "run", "slab_streaming",
                        "turbulence.mean_free_path=1e-70", "-o", str(tmp_path / "x.h5")],
                       capture_output=True, text=True, cwd=tmp_path)
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert "no term removes" not in r.stderr and "of the operator's size" in r.stderr
    assert not (tmp_path / "x.h5").exists()
