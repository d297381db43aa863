"""The momentum boundaries of the (mu, p) form: zero flux, and f = 0 on the face (Dirichlet).

``zero_value`` (:class:`Dirichlet`) applies f = 0 on the boundary face to the whole form: the
reduced diffusion R through its face flux and the D_mup^2/D_mumu part and the cross terms through
the end p-derivative stencils that include the face node.  ``zero_value_reduced``
(:class:`ZeroValue`, the former ``zero_value``) applies it to R only: for a degenerate tensor
(R = 0, the |H_c| = 1 case) it is the zero-flux condition, bit for bit.

Refinement in p on a smooth semi-analytic problem: homogeneous in z, D_mumu = 0.5 (1 - mu^2)
(1 + 0.3 mu) p^0.5, D_mup = 0.1 (1 - mu^2) p^1.5, D_pp = 0.2 p^2.5 (1 + 0.1 mu^2), a uniform
source p^-4, catastrophic losses T_c = 2, p in [1, 10] with 16, 32, 64, 128 cells and 8 mu
cells: the particle number in each eighth of the p range (fixed bins, exact sums of cells), the
largest relative change between levels, and the observed order log2 of successive changes.
"""
import numpy as np
import pytest

from fpsolve.grid import Grid, log_edges, uniform_edges
from fpsolve.physics.user_coefficients import CallableCoefficients
from fpsolve.problem import Physics, Source, build_problem
from fpsolve.solvers import solve_steady
from fpsolve.terms import Dirichlet, ZeroFlux, ZeroValue, p_boundary


def _d(mu, p):
    return (0.5 * (1 - mu**2) * (1 + 0.3 * mu) * p**0.5, 0.1 * (1 - mu**2) * p**1.5,
            0.2 * p**2.5 * (1 + 0.1 * mu**2))


def _degenerate(mu, p):
    a, b, _ = _d(mu, p)
    return a, b, b**2 / a  # R = D_pp - D_mup^2/D_mumu = 0


def _solve(fn, bc, n, nmu=8):
    g = Grid(None, uniform_edges(-1, 1, nmu), log_edges(1.0, 10.0, n))
    pb = build_problem(g, Physics(CallableCoefficients(fn), Source("uniform", q=4.0), tau_c=2.0, p_slope_ref=4.0,
                                  p_diffusion_bc=bc))
    f, info = solve_steady(pb, method="direct")
    assert info.converged
    return g, pb, f


def _bins(fn, bc, levels=(16, 32, 64, 128)):
    vals = []
    for n in levels:
        g, _, f = _solve(fn, bc, n)
        N = (f.reshape(g.shape) * g.dmu[None, :]).sum(1) * g.p_volume
        vals.append(N.reshape(8, n // 8).sum(1))
    vals = np.array(vals)
    change = np.abs(np.diff(vals, axis=0) / vals[-1]).max(axis=1)
    return change, np.log2(change[:-1] / change[1:])


def test_case_names():
    assert isinstance(p_boundary("zero_value"), Dirichlet)
    assert isinstance(p_boundary("zero_flux"), ZeroFlux)
    assert type(p_boundary("zero_value_reduced")) is ZeroValue


@pytest.mark.parametrize("bc", ["zero_flux", "zero_value"])
def test_p_refinement_order(bc):
    """Observed order >= 1.8 at the last two refinements for both boundaries (second-order scheme
    and second-order boundary closures; measured zero_flux 2.05, 2.00; zero_value 1.99, 2.01;
    the R-only zero_value_reduced gives 1.87, 1.89 here and its bins still move 1.1% at 128 cells,
    the Dirichlet 0.9%: the limits differ, the R-only one is a different boundary condition)."""
    change, orders = _bins(_d, bc)
    assert np.all(orders >= 1.8), (change, orders)


def test_dirichlet_is_not_zero_flux_for_a_degenerate_tensor():
    """R = 0 (the |H_c| = 1 analogue): the R-only condition is the zero-flux one (to 1e-10: R is the
    round-off of D_pp - D_mup^2/D_mumu of the user formula, ~1e-16 D_pp; bit for bit with the slab
    model's exact R = 0 at |H_c| = 1) — the defect this boundary replaces — while the Dirichlet one removes particles through the faces
    (measured 0.151 through p_min of the injected 1.8 per unit time at 32 cells)."""
    _, pz, fz = _solve(_degenerate, "zero_flux", 32)
    _, pr, fr = _solve(_degenerate, "zero_value_reduced", 32)
    _, pd, fd = _solve(_degenerate, "zero_value", 32)
    assert np.max(np.abs(fr - fz)) <= 1e-10 * np.max(fz)
    assert np.max(np.abs(fd - fz)) >= 1e-2 * np.max(fz)
    bal = pd.balance(fd)
    assert bal["outflow_p_min"] > 0.01 * bal["injected"] and bal["outflow_p_max"] > 0
    assert abs(bal["closure"]) <= max(1e-10, bal["closure_roundoff_bound"])


@pytest.mark.parametrize("bc", ["zero_flux", "zero_value", "zero_value_reduced"])
def test_p_boundary_flux_functional(bc):
    """Patch test (block and functional from the same pieces): 1_mean^T A_term f = the term's
    outflow channels for random f, to 8 eps sum |B| |f| (the round-off of the row sums)."""
    g = Grid(uniform_edges(-1.0, 1.0, 4), uniform_edges(-1, 1, 8), log_edges(1.0, 10.0, 6))
    pb = build_problem(g, Physics(CallableCoefficients(_d), Source("uniform", q=4.0), p_slope_ref=4.0,
                                  p_diffusion_bc=bc))
    term = next(t for t in pb.terms if t.name == "mu_p_diffusion")
    B = pb.block(term)
    w = pb.layout.mean_rows()
    f = np.random.default_rng(5).random(g.size)
    lhs = w @ (B @ f)
    rhs = sum(term.leaving(pb.layout.view(f)).values())
    assert abs(lhs - rhs) <= 8 * np.finfo(float).eps * float(w @ (abs(B) @ f)), (lhs, rhs)
    if bc == "zero_flux":
        assert rhs == 0.0


def test_degenerate_dirichlet_is_reported():
    """The caveat of :meth:`Dirichlet.notes`: present for f = 0 on the faces of a degenerate tensor
    (R = 0 on every boundary face), absent for the smooth tensor and for zero flux."""
    _, pd, _ = _solve(_degenerate, "zero_value", 16)
    _, ps, _ = _solve(_d, "zero_value", 16)
    _, pz, _ = _solve(_degenerate, "zero_flux", 16)
    assert len(pd.notes) == 1 and "100% of the boundary faces" in pd.notes[0], pd.notes
    assert ps.notes == [] and pz.notes == []


def test_degenerate_dirichlet_end_cells_and_interior():
    """What the caveat says, measured (so the note cannot outlive the defect unnoticed): with R = 0
    the first p cell's means alternate in sign along mu at fine p grids and the trust criterion
    of negative cell means (:func:`fpsolve.result.negative_cells`) flags them (measured at 512
    cells: the most negative end-cell mean is -1.56x the largest mean one eighth inwards; bound -1x), while the inner six eighths of the
    p range still converge at second order (orders 1.8-2.2 measured at 64/128/256 cells; bound
    1.6).  If a future stencil repairs the end cells, the first assertion fails: drop the note."""
    from fpsolve.result import negative_cells

    g, _, f = _solve(_degenerate, "zero_value", 512)
    F = f.reshape(g.shape)
    assert F[0].min() < -1.0 * F[512 // 8].max()
    assert negative_cells(g, F)["count"] > 0
    vals = []
    for n in (64, 128, 256):
        g, _, f = _solve(_degenerate, "zero_value", n)
        N = (f.reshape(g.shape) * g.dmu[None, :]).sum(1) * g.p_volume
        vals.append(N.reshape(8, n // 8).sum(1))
    vals = np.array(vals)
    for bins, bound in ((slice(2, 6), 1.6), (slice(1, 7), 1.0)):
        change = np.abs(np.diff(vals[:, bins], axis=0) / vals[-1, bins]).max(axis=1)
        assert np.log2(change[0] / change[1]) >= bound, (bins, change)
