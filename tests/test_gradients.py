"""Second-order output gradients dF/dz and dF/dp (fpsolve.result.compute_fields, log_gradient).

dF/dz is checked against the exact-in-z reference of the same mu-discretised operator
(:mod:`fpsolve.reference`: its derivative is analytic in z), dF/dp against a 16x finer p grid.
"""
import logging

import numpy as np
import pytest
import scipy.sparse.linalg as spla

from fpsolve.grid import Grid, log_edges, uniform_edges
from fpsolve.physics import SlabAlfven
from fpsolve.problem import Physics, Source, build_problem
from fpsolve.reference import reference_for
from fpsolve.result import compute_fields, log_gradient


def _slab(lam, nz, left="mirror"):
    """eps = 0 slab on [-1, 1], 16 mu cells, smooth Gaussian source (sigma = 0.1) at z = 0.3."""
    m = SlabAlfven.from_mean_free_path(lam, s=5 / 3, form="small_eps", ultrarelativistic=True)
    grid = Grid(uniform_edges(-1, 1, nz), uniform_edges(-1, 1, 16), np.array([0.99, 1.01]))
    ph = Physics(m, Source("gaussian", q=0.0, centre=0.3, width=0.1), z_left=left)
    pb = build_problem(grid, ph)
    f = spla.spsolve(pb.A.tocsc(), pb.b).reshape(grid.shape)
    return m, grid, ph, f


def _dz_errors(lam, nz):
    """max |dF/dz - reference| / max |reference| over the cells with z < 0.8: the mirror end cell
    included (F' ~ 0 there for this source), the escape wall's kinetic boundary layer (where F' is
    log-singular at the wall) left out."""
    m, grid, ph, f = _slab(lam, nz)
    ref = 0.5 * (reference_for(grid, ph).dfdz(grid.z) @ grid.dmu)
    d = compute_fields(grid, m, f).dF_dz[0]
    sel = grid.z < 0.8
    return np.max(np.abs(d - ref)[sel]) / np.max(np.abs(ref))


@pytest.mark.parametrize("lam", [1e-3, 0.1])  # thick (dz = 50..12.5 lambda) and transitional (0.5..0.125)
def test_dF_dz_second_order(lam):
    """Observed order >= 1.8 on both refinements 40 -> 80 -> 160 cells.  Measured: lambda = 1e-3:
    2.0, 2.0 (errors 2.3e-3, 6.0e-4, 1.5e-4); lambda = 0.1: 1.9, 2.1 (1.8e-3, 4.7e-4, 1.1e-4).
    The DG half-slopes used before: 2.0, 2.2 (thick) but 0.9, 1.1 for lambda = 0.1 (9.9e-3,
    5.4e-3, 2.5e-3)."""
    err = [_dz_errors(lam, nz) for nz in (40, 80, 160)]
    orders = np.log2(np.array(err[:-1]) / np.array(err[1:]))
    assert np.all(orders >= 1.8), (err, orders)


def _homogeneous(n):
    """Homogeneous (mu, p) problem on p = 1..30 with momentum diffusion (eps = V_A/v = 0.05, zero-flux
    p ends), catastrophic losses and a p^-4 source: F(p) is smooth and not a power law (on which
    the log-space differences would be exact)."""
    m = SlabAlfven.from_mean_free_path(0.1, s=5 / 3, hc=0.3, va=0.05, p_ref=3.0)
    grid = Grid(None, uniform_edges(-1, 1, 8), log_edges(1.0, 30.0, n))
    ph = Physics(m, Source("uniform", q=4.0), tau_c=5.0, p_slope_ref=4.0)
    pb = build_problem(grid, ph)
    f = spla.spsolve(pb.A.tocsc(), pb.b).reshape(grid.shape)
    return grid, compute_fields(grid, m, f)


def test_dF_dp_second_order():
    """dF/dp of the solution against a reference interpolated (linearly in ln p) from a 1024-cell
    grid, over p = 2..15: observed order >= 1.8 on 16 -> 32 -> 64 -> 128 cells (measured 2.1, 1.9,
    2.0; errors 3.8e-3 .. 5.9e-5), as F itself (2.0).  Nearer the p ends the discrete solution
    has its own layer at the zero-flux faces (on the fine grid d ln F/dp goes from -0.106 to
    -0.194 over its first 4 cells), so the end cells are checked on a smooth F below."""
    gr, fr = _homogeneous(1024)
    x_ref, d_ref = np.log(gr.p), fr.dF_dp / fr.F  # d ln F/dp: O(0.1) over the range
    err = []
    for n in (16, 32, 64, 128):
        g, fl = _homogeneous(n)
        ref = np.interp(np.log(g.p), x_ref, d_ref)
        mid = (g.p > 2.0) & (g.p < 15.0)
        err.append(np.max(np.abs(fl.dF_dp / fl.F - ref)[mid]) / np.max(np.abs(ref)))
    orders = np.log2(np.array(err[:-1]) / np.array(err[1:]))
    assert np.all(orders >= 1.8), (err, orders)


def test_log_gradient_ends_are_second_order():
    """On a smooth, non-power-law F(p) = p^-3 exp(-p/10) (1 + 0.3 sin ln p) at log-spaced momenta
    (with a z axis): the end points converge at order >= 1.8 (measured 2.0: 6.1e-3, 1.6e-3, 3.9e-4;
    the first-order ends used before: 1.0, 5.1e-2 .. 1.3e-2), the interior too."""
    def F_exact(p):
        return p**-3.0 * np.exp(-p / 10.0) * (1 + 0.3 * np.sin(np.log(p)))

    def dF_exact(p):
        return F_exact(p) * (-3.0 / p - 0.1 + 0.3 * np.cos(np.log(p)) / p / (1 + 0.3 * np.sin(np.log(p))))

    err_end, err_mid = [], []
    for n in (16, 32, 64):
        p = np.exp(np.linspace(0.0, np.log(30.0), n))
        F = np.stack([F_exact(p), 2 * F_exact(p)], axis=1)
        d = log_gradient(F, p, np.array([0.0, 1.0]))
        e = np.abs(d / dF_exact(p)[:, None] - np.array([1.0, 2.0]))
        err_end.append(e[[0, -1]].max())
        err_mid.append(e[1:-1].max())
    for err in (err_end, err_mid):
        orders = np.log2(np.array(err[:-1]) / np.array(err[1:]))
        assert np.all(orders >= 1.8), (err, orders)


@pytest.mark.parametrize("nz", [2, 6])
def test_end_cells_keep_the_dg_slopes(nz):
    """Patch test: in the end cells (every cell when nz < 3), where no centred difference exists,
    dF/dz is the DG half-slope of F, 2 b_F/dz, to round-off (1e-14 relative); see compute_fields
    for why (the mirror case swk_layer is checked in tests/test_cases.py)."""
    m, grid, ph, f = _slab(0.1, nz, left="escape")
    d = compute_fields(grid, m, f).dF_dz
    b_F = 0.5 * np.tensordot(f[..., 1], grid.dmu, axes=([-1], [0]))
    ends = [0, -1]
    np.testing.assert_allclose(d[:, ends], (2 * b_F / grid.dz[None, :])[:, ends], rtol=1e-14, atol=0)


def test_log_gradient_warns_where_F_is_not_positive(caplog):
    """F <= 0 switches the log-space differences to plain ones there, with a warning naming the
    first such point (p and z); the result there is the plain second-order difference."""
    p = np.array([1.0, 2.0, 4.0, 8.0, 16.0])
    z = np.array([-0.5, 0.5])
    F = np.stack([p**-2.0, p**-2.0], axis=1)
    F[3, 1] = 0.0
    with caplog.at_level(logging.WARNING, logger="fpsolve.result"):
        d = log_gradient(F, p, z)
    assert "p = 4" in caplog.text and "z = 0.5" in caplog.text  # first point whose stencil meets F = 0
    plain = np.gradient(F, p, axis=0, edge_order=2)
    np.testing.assert_array_equal(d[3, 1], plain[3, 1])
    # the column without a zero is the log-space gradient: exact for the power law (round-off, 1e-14)
    np.testing.assert_allclose(d[:, 0], -2.0 * p**-3.0, rtol=1e-14)
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="fpsolve.result"):
        log_gradient(F[:, 0], p)
    assert caplog.text == ""  # positive F: no warning
