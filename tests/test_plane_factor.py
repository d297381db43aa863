"""The upwind plane factorisation (fpsolve.solvers.UpwindPlaneLU) against SuperLU on real planes.

Why each check can fail: the factor is taken (not the SuperLU fallback) only if the plane's
structure is detected; its stored fill must stay well below SuperLU's COLAMD fill (measured
0.60-0.73 of it, B3 plane 0.85; a regression to dense cell blocks, or to SuperLU behind the
detection, gives >= 1); its solution must be backward stable like an LU with pivoting.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

import fpsolve
from fpsolve.build import build_grid, build_physics
from fpsolve.problem import build_problem
from fpsolve.solvers import UpwindPlaneLU, _lu, _plane_factor, _plane_shape

CASES = Path(__file__).resolve().parents[1] / "cases"

#: Stored entries of the upwind factor / SuperLU's (COLAMD) L + U entries.  Measured 0.60 (swk_point,
#: 100 z x 16 mu), 0.73 (swk_layer, mirror end: folded pitch order), 0.85 (the B3 plane, 800 z x
#: 64 mu); the bound leaves ~15% for changes of SuperLU.  A dense cell block per z cell (m^2 = 4 nmu^2
#: entries against ~10 nmu^2 for all the face blocks) would already exceed it.
FILL_RATIO_MAX = 1.0


def _plane(name, overrides, k):
    case = fpsolve.load_case(CASES / f"{name}.toml", overrides)
    grid = build_grid(case)
    problem = build_problem(grid, build_physics(case))
    n = problem.A.shape[0] // grid.np_
    A = problem.A.tocsr()
    return A[k * n:(k + 1) * n, k * n:(k + 1) * n].tocsr(), _plane_shape(problem)


def _backward_error(M, x, b):
    """||b - M x||_inf / (|M| |x| + |b|)_max: the relative perturbation of M and b that x solves exactly."""
    r = b - M @ x
    return float(np.max(np.abs(r)) / np.max(abs(M) @ np.abs(x) + np.abs(b)))


@pytest.mark.parametrize("name,k", [("swk_point", 0), ("swk_point", 10), ("swk_layer", 0)])
def test_upwind_factor_is_taken_has_less_fill_and_is_backward_stable(name, k):
    M, shape = _plane(name, ["grid.z_cells=100", "grid.mu_cells=16", "grid.p_cells=12"], k)
    assert shape == (100, 16)
    f = _plane_factor(M, shape)
    assert isinstance(f, UpwindPlaneLU), "the upwind structure was not detected: SuperLU took the plane"
    lu = _lu(M)
    ratio = f.fill / (lu.L.nnz + lu.U.nnz)
    assert ratio <= FILL_RATIO_MAX, f"fill regressed: {ratio:.2f} of SuperLU's"
    b = np.random.default_rng(k).standard_normal(M.shape[0])
    x, x0 = f.solve(b), lu.solve(b)
    # backward error: measured 0.9e-16..1.4e-16 (SuperLU with partial pivoting: 1.4e-16..2.5e-16); 64 eps (1.4e-14)
    # allows growth of the pivot-free cell LUs and the face-trace Thomas, not a wrong factor
    assert _backward_error(M, x, b) <= 64 * np.finfo(float).eps, (_backward_error(M, x, b), _backward_error(M, x0, b))
    # and a right-hand side the problem has (the source plane): both solutions agree to cond(M) eps
    # (relative differences of 1e-10..1e-8 measured: the thick-limit planes have cond ~1e8)
    assert np.linalg.norm(x - x0) <= 1e-6 * np.linalg.norm(x0)


def test_structure_not_present_falls_back_to_superlu():
    """A plane that is not block tridiagonal in z (here: an entry coupling cells 0 and 2) or whose
    z coupling is of rank two is refused by the upwind factor (None), and :func:`_plane_factor`
    gives SuperLU's, with the same answer."""
    M, (nz, nmu) = _plane("swk_point", ["grid.z_cells=20", "grid.mu_cells=8", "grid.p_cells=4"], 0)
    m = 2 * nmu
    far = sp.lil_matrix(M.shape)
    far[0, 2 * m] = 1.0
    assert UpwindPlaneLU.build(M + far.tocsr(), nz, nmu) is None
    rank2 = sp.lil_matrix(M.shape)
    rank2[m, 0] = M[m, 0] if M[m, 0] != 0 else 1.0  # (cell 1, j = 0, d = 0) <- (cell 0, j = 0, d = 0)
    rank2[m + 1, 1] = 7.0
    rank2[m + 1, 0] = -3.0
    bad = sp.csr_matrix(M + rank2.tocsr())
    assert UpwindPlaneLU.build(bad, nz, nmu) is None
    f = _plane_factor(bad, (nz, nmu))
    assert not isinstance(f, UpwindPlaneLU)
    assert UpwindPlaneLU.build(M, nz, nmu) is not None  # the unmodified plane is taken


def test_krylov_fallback_respects_the_memory_limit():
    """A Krylov run over its iteration budget falls back to the whole-matrix LU only if that LU's
    estimated memory fits ``memory_limit_gb``; else the iterate comes back not converged with the
    reason (estimate and limit) in ``info.fallback`` and the message.  Without a limit, or with a
    limit it fits, the fallback runs and converges.  (full_alfvenic: eps > 0, p-coupled planes.)"""
    from fpsolve.solvers import estimated_direct_lu_gb, solve_steady

    case = fpsolve.load_case(CASES / "full_alfvenic.toml", ["grid.z_cells=10", "grid.mu_cells=8", "grid.p_cells=12"])
    problem = build_problem(build_grid(case), build_physics(case))
    need = estimated_direct_lu_gb(problem)
    assert 0 < need < 1.0
    _f, info = solve_steady(problem, method="krylov", max_steps=1, memory_limit_gb=need / 2)
    assert not info.converged and info.method == "krylov"
    assert "fallback not tried" in info.fallback and "memory_limit_gb" in info.message
    _f, info = solve_steady(problem, method="krylov", max_steps=1, memory_limit_gb=need * 2)
    assert info.converged and info.method == "krylov->direct", info.message
