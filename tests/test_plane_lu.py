"""The time-step linear solves by momentum planes (fpsolve.plane_lu): the plane factors against
the whole-matrix SuperLU, the two-way coupled (eps > 0) GMRES path, its fallback, the choice rule,
and a physical-time run whose series must not depend on the linear solver."""
import numpy as np
import pytest
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from fpsolve import load_case
from fpsolve import plane_lu
from fpsolve.plane_lu import PlaneStepSolver, choose_step_solver, plane_coupling
from fpsolve.transient import build_transient, run_transient

GRID = ["grid.z_cells=40", "grid.mu_cells=8", "grid.p_cells=6", "grid.p_min=0.5", "grid.p_max=2.0", "source.width=0.1"]
COUPLED = GRID + ["turbulence.alfven_speed=0.02"]  # eps > 0: D_mup, D_pp couple the p planes both ways
TIME = ["time.end=0.5", "time.output_times=[0.1, 0.3, 0.5]", "time.rtol=1e-6"]


def _problem(extra):
    problem, grid, _ = build_transient(load_case("burst_slab", extra))
    return problem, grid.np_


@pytest.mark.parametrize("extra, coupling", [(GRID, "none"), (GRID + ["losses.power_law_rate=0.5"], "upper"),
                                             (COUPLED, "two-way")])
@pytest.mark.parametrize("h", [1e-3, 0.1, 10.0])
def test_plane_solver_equals_whole_lu(extra, coupling, h):
    problem, nk = _problem(extra)
    assert plane_coupling(problem.A, nk) == coupling
    mat = sp.csr_matrix(sp.diags(problem.mass) + h * problem.A)
    rhs = np.random.default_rng(3).standard_normal(mat.shape[0])
    s = PlaneStepSolver(mat, nk, rtol=1e-6)
    x, ref = s(rhs), spla.splu(mat.tocsc()).solve(rhs)
    # one-way/none: both are LU solves (round-off times the growth with h: 1e-12).  Two-way: GMRES to
    # the relative residual 1e-15 (1e-5 BALANCE_TOL) or at most 80 eps ||A||x||, times the condition
    # of M + dhA (up to ~1e2 at h = 10): 1e-10 would catch a solve stopped at a loose tolerance
    tol = 1e-12 if coupling != "two-way" else 1e-10
    assert np.max(np.abs(x - ref)) <= tol * np.max(np.abs(ref))
    assert s.fallbacks == 0
    if coupling == "two-way":
        assert s.iterations > 0 and s.max_residual <= max(s.tol, 1e-11)


def test_gmres_miss_falls_back_to_whole_lu(monkeypatch):
    problem, nk = _problem(COUPLED)
    monkeypatch.setattr(plane_lu, "GMRES_MAXITER", 1)
    monkeypatch.setattr(plane_lu, "GMRES_RESTART", 1)
    mat = sp.csr_matrix(sp.diags(problem.mass) + 10.0 * problem.A)
    rhs = np.random.default_rng(4).standard_normal(mat.shape[0])
    s = PlaneStepSolver(mat, nk)
    x = s(rhs)
    assert s.fallbacks == 1  # one GMRES iteration cannot reach 1e-13 at h = 10
    # patch test: the fallback is the whole-matrix LU itself (round-off)
    assert np.max(np.abs(mat @ x - rhs)) <= 1e-12 * np.max(np.abs(rhs))


def test_choice_rule(monkeypatch):
    problem, nk = _problem(COUPLED)
    assert choose_step_solver(problem.A, nk)[0] == "splu"  # 3840 unknowns: below the size rule
    monkeypatch.setattr(plane_lu, "COUPLED_PLANES_MIN_UNKNOWNS", 1000)
    assert choose_step_solver(problem.A, nk)[0] == "planes-gmres"
    unc, nk = _problem(GRID)
    assert choose_step_solver(unc.A, nk)[0] == "planes"
    with pytest.raises(ValueError, match="both ways"):
        choose_step_solver(problem.A, nk, force="planes")


def test_coupled_time_series_independent_of_the_linear_solver(monkeypatch):
    runs = {}
    for name, threshold in (("splu", 10**12), ("planes-gmres", 0)):
        monkeypatch.setattr(plane_lu, "COUPLED_PLANES_MIN_UNKNOWNS", threshold)
        r = run_transient(load_case("burst_slab", COUPLED + TIME))
        assert f"linear solver: {name}" in r.info.message
        runs[name] = r
    a, b = runs["splu"], runs["planes-gmres"]
    assert a.info.accepted == b.info.accepted and a.info.rejected == b.info.rejected
    # the GMRES residual (<= 1e-13 relative) against the LU's round-off: measured 2e-12 on F.  1e-8
    # (the bar) is far below the time error at rtol 1e-6, so the series are the same series
    for x, y in ((a.F, b.F), (a.moments["N"], b.moments["N"]), (a.moments["z2"], b.moments["z2"]),
                 (a.history["content"], b.history["content"]), (a.history["t"], b.history["t"])):
        assert np.max(np.abs(x - y)) <= 1e-8 * np.max(np.abs(x))
    assert abs(b.balance["relative"]) < 1e-12  # the GMRES residual keeps the balance closed
