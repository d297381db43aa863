"""Finite-volume discretisation of Eq. (3): diffusion limit, conservation, orders, positivity."""
import numpy as np
import pytest
import scipy.sparse.linalg as spla
from scipy.integrate import quad

from fpsolve.face_coefficients import discrete_kappa_zz, face_coefficients
from fpsolve.grid import Grid, graded_mu_edges, log_edges, uniform_edges
from fpsolve.problem import Physics, Source, build_problem
from fpsolve.physics import SlabAlfven, pitch_integrals, streaming_amplitude_closed
from fpsolve.reference import milne_length
from fpsolve.result import balance_closed, particle_balance, streaming_coefficient
from fpsolve.solvers import solve_steady

EPS = np.finfo(float).eps


@pytest.mark.parametrize("s", [5 / 3, 1.5])
def test_discrete_kappa_zz_second_order(s):
    """Conductances from the exact integral of (1-mu^2)/D_mumu: kappa_zz converges at order 2 and
    is within 1e-3 on 64 uniform cells (measured 1.1e-4 for s = 5/3, 1.5e-4 for s = 1.5)."""
    m = SlabAlfven(s=s, d0_ref=1.0, form="small_eps", ultrarelativistic=True)
    ref = pitch_integrals(m, np.array([1.0])).kappa_zz[0]
    err = [abs(discrete_kappa_zz(m, uniform_edges(-1, 1, n), 1.0) / ref - 1) for n in (16, 32, 64)]
    orders = np.log2(np.array(err[:-1]) / np.array(err[1:]))
    assert err[-1] < 1e-3
    assert np.all(orders > 1.9)  # the leading error is O(dmu^2) (midpoint rule of the moment sum)
    # a graded grid converges at the same order
    errg = [abs(discrete_kappa_zz(m, graded_mu_edges(n, 2 - s), 1.0) / ref - 1) for n in (32, 64, 128)]
    assert np.all(np.log2(np.array(errg[:-1]) / np.array(errg[1:])) > 1.9)


def test_point_value_at_mu0_would_cut_hemispheres():
    """Why conductances: D_mumu(0) = 0 for Eq. (28), but the conductance across mu = 0 is finite."""
    m = SlabAlfven(s=5 / 3, d0_ref=1.0, form="small_eps", ultrarelativistic=True)
    grid = Grid(None, uniform_edges(-1, 1, 8), np.array([0.999, 1.001]))
    assert m.coefficients(np.array([0.0]), 1.0).d_mumu[0] == 0.0
    g0 = face_coefficients(m, grid).g_mu[0, 3]  # the face at mu = 0
    assert g0 > 0.1 * face_coefficients(m, grid).g_mu[0].max()


GRID = Grid(uniform_edges(-1.0, 1.0, 6), uniform_edges(-1, 1, 8), log_edges(1.0, 30.0, 5))
MODEL = SlabAlfven.from_mean_free_path(0.1, s=5 / 3, hc=0.3, va=0.05, p_ref=3.0)


def _mean_row_sums(A, grid):
    """Sum over the mean rows (volume-integrated equations) of every column: the particle change."""
    w = np.zeros(grid.shape)
    w[..., 0] = 1.0
    return w.ravel() @ A


@pytest.mark.parametrize("term", ["streaming", "mu_p_diffusion", "all_closed"])
def test_each_term_conserves_particles(term):
    """Each term alone with closed boundaries (periodic z, zero-flux p, no losses): the mean rows sum
    to zero in every column, to eps x (non-zeros per row, <= 30) x cells x the largest entry
    (the round-off of summing one column's entries).  tests/test_terms.py has the open-boundary
    version of this for every term."""
    ph = Physics(MODEL, Source(), z_left="periodic", z_right="periodic", p_slope_ref=4.0)
    pb = build_problem(GRID, ph)
    A = pb.A if term == "all_closed" else pb.block(next(t for t in pb.terms if t.name == term))
    sums = _mean_row_sums(A, GRID)
    bound = EPS * 30 * GRID.size * abs(A).max()
    assert np.max(np.abs(sums)) <= bound


def test_losses_leave_only_through_the_balance_channels():
    """With escape and all losses the column sums equal the loss functional: balance closes for any f."""
    ph = Physics(MODEL, Source("layer", width=0.3, q=4.0), loss_rate=lambda p: p / 20.0, tau_c=5.0,
                 p_slope_ref=4.0)
    pb = build_problem(GRID, ph)
    f = np.random.default_rng(3).random(GRID.size)
    bal = particle_balance(pb, f.reshape(GRID.shape))
    losses = sum(bal[k] for k in ("escape_z_min", "escape_z_max", "outflow_p_min", "outflow_p_max", "catastrophic"))
    w = np.zeros(GRID.shape)
    w[..., 0] = 1
    assert w.ravel() @ (pb.A @ f) == pytest.approx(losses, rel=1e-12)


def _slab(lam, nz, nmu=32, source_sigma=0.02):
    m = SlabAlfven.from_mean_free_path(lam, s=5 / 3, form="small_eps", ultrarelativistic=True)
    grid = Grid(uniform_edges(-1, 1, nz), uniform_edges(-1, 1, nmu), np.array([0.99, 1.01]))
    pb = build_problem(grid, Physics(m, Source("gaussian", q=0.0, centre=0.3, width=source_sigma)))
    f = spla.spsolve(pb.A.tocsc(), pb.b).reshape(grid.shape)[0]
    return m, grid, f


def _amplitude_at_zero(m, grid, f):
    """Kinetic streaming amplitude at z = 0 (cell means, F' from the DG slopes) over Eq. (38)."""
    i = grid.nz // 2  # z = 0 is the edge between cells i-1 and i
    a = 0.5 * (f[i - 1, :, 0] + f[i, :, 0])
    F = 0.5 * np.sum(a * grid.dmu)
    dF = 0.5 * np.sum(0.5 * (f[i - 1, :, 1] + f[i, :, 1]) * grid.dmu) * 2 / grid.dz[i]
    amp = streaming_coefficient(a - F, grid, 5 / 3) / dF
    kzz = pitch_integrals(m, grid.p).kappa_zz[0]
    return amp / streaming_amplitude_closed(s=5 / 3, kappa_zz=kzz, v=1.0) - 1


@pytest.mark.parametrize("nz, bound", [(200, 0.01), (20, 0.05)])  # dz = lambda, 10 lambda (issue bounds)
def test_public_slab_streaming_amplitude(nz, bound):
    """Streaming amplitude at z = 0 vs Eq. (38) with the numerical F'(0); measured 1e-12 and 1e-7."""
    m, grid, f = _slab(0.01, nz)
    assert abs(_amplitude_at_zero(m, grid, f)) < bound


def test_thick_diffusion_limit():
    """lambda = 1e-4, 100 cells (dz = 200 lambda): F within 1% of the diffusion solution with
    extrapolated boundaries (Milne length 0.71 lambda) away from the source, amplitude within 2%.
    Measured: 4e-4 and 3e-11.  First-order upwind streaming would add ~dz/4 = 50 lambda of diffusion."""
    lam = 1e-4
    m, grid, f = _slab(lam, 100)
    kzz = pitch_integrals(m, grid.p).kappa_zz[0]
    L = 1 + milne_length(m, float(grid.p[0]), grid.mu_edges).z0  # this operator's Milne length (0.674 lambda)

    def f_diff(z):
        S = lambda z0: np.exp(-((z0 - 0.3) ** 2) / (2 * 0.02**2)) / (np.sqrt(2 * np.pi) * 0.02)  # noqa: E731
        G = lambda z0: (L + min(z, z0)) * (L - max(z, z0)) / (2 * L * kzz)  # noqa: E731
        return quad(lambda z0: S(z0) * G(z0), 0.0, 0.6, points=[0.3], limit=200)[0]

    F = 0.5 * np.sum(f[:, :, 0] * grid.dmu, axis=1)
    far = np.abs(grid.z - 0.3) > 0.1
    ref = np.array([f_diff(z) for z in grid.z[far]])
    assert np.max(np.abs(F[far] / ref - 1)) < 0.01
    assert abs(_amplitude_at_zero(m, grid, f)) < 0.02


def test_second_order_in_z():
    """F(0) on nz = 40, 80, 160 (lambda = 1e-3, dz = 50 .. 12.5 lambda, F smooth on the grid):
    observed order log2 of the ratio of successive differences >= 1.8 (measured 2.23; the
    linear-discontinuous cell means are second order).  Near dz ~ lambda the kinetic boundary
    layers start to be resolved and the limit being approached changes (diffusion -> kinetic)."""
    vals = []
    for nz in (40, 80, 160):
        _, grid, f = _slab(1e-3, nz, nmu=16, source_sigma=0.1)
        i = nz // 2
        vals.append(0.25 * np.sum((f[i - 1, :, 0] + f[i, :, 0]) * grid.dmu))
    order = np.log2((vals[0] - vals[1]) / (vals[1] - vals[2]))
    assert order > 1.8, order


def test_solvers_agree_and_balance_closes():
    """direct, march and krylov give the same solution; the balance closes to 1e-10 or its round-off bound."""
    ph = Physics(MODEL, Source("layer", width=0.3, q=4.0), loss_rate=lambda p: p / 20.0, tau_c=5.0,
                 p_slope_ref=4.0)
    pb = build_problem(GRID, ph)
    sols = {}
    for method in ("direct", "march", "krylov"):
        f, info = solve_steady(pb, method=method, rtol=1e-10)
        assert info.converged, info.message
        sols[method] = f
        assert balance_closed(particle_balance(pb, f.reshape(GRID.shape)))
    scale = np.abs(sols["direct"]).max()
    for method in ("march", "krylov"):
        # each meets rtol 1e-10 on ||Af - b||; the solution difference is bounded by ~rtol cond(A)
        # relative in the worst case (cond = 2.4e6 here), i.e. not by rtol alone: 1e-8 of max f leaves
        # room for that; measured 4e-14 (march) and 5e-15 (krylov)
        assert np.max(np.abs(sols[method] - sols["direct"])) <= 1e-8 * scale


def test_sweep_is_exact_for_losses_only():
    """eps = 0 with losses: A is block upper-triangular in p and one downward sweep is the exact solve."""
    m = SlabAlfven.from_mean_free_path(0.1, s=5 / 3, p_ref=3.0)
    pb = build_problem(GRID, Physics(m, Source("point", centre=0.2, q=4.7), loss_rate=lambda p: p / 20.0,
                                     p_slope_ref=4.7))
    fs, info = solve_steady(pb, method="auto")
    assert info.method == "sweep" and info.converged
    fd, _ = solve_steady(pb, method="direct")
    # both exact solves of the same A: they differ by round-off amplified by cond(A), far below 1e-10
    assert np.max(np.abs(fs - fd)) <= 1e-10 * np.abs(fd).max()


def test_non_convergence_is_reported():
    ph = Physics(MODEL, Source("layer", width=0.3, q=4.0), tau_c=5.0, p_slope_ref=4.0)
    pb = build_problem(GRID, ph)
    f, info = solve_steady(pb, method="march", max_steps=2)
    assert not info.converged and "not converged" in info.message and "after 2 iterations" in info.message
    with pytest.raises(ValueError, match="method = 'sweep' needs"):
        solve_steady(pb, method="sweep")


def test_zero_value_momentum_boundary_closes_the_balance():
    """Zero-value momentum diffusion at the p ends: particles leave through p_min and p_max, and
    the balance channels account for them (closure to 1e-10 or its round-off bound)."""
    ph = Physics(MODEL, Source("layer", width=0.3, q=4.0), tau_c=50.0, p_diffusion_bc="zero_value",
                 p_slope_ref=4.0)
    pb = build_problem(GRID, ph)
    f, info = solve_steady(pb, method="direct")
    bal = particle_balance(pb, f.reshape(GRID.shape))
    assert info.converged and bal["outflow_p_min"] > 0 and bal["outflow_p_max"] > 0
    assert balance_closed(bal)


def test_given_edges_in_a_case(tmp_path):
    from pathlib import Path

    from fpsolve import load_case
    from fpsolve.build import build_grid
    from fpsolve.case import CaseError

    text = (Path(__file__).resolve().parents[1] / "cases" / "slab_streaming.toml").read_text()
    over = ["grid.z_edges=[-1.0, -0.5, 0.0, 0.2, 0.4, 1.0]", "grid.mu_edges=[-1.0, -0.3, 0.0, 0.6, 1.0]"]
    (tmp_path / "c.toml").write_text(text)
    g = build_grid(load_case(tmp_path / "c.toml", over))
    assert g.nz == 5 and g.nmu == 4 and g.z_edges[3] == 0.2
    with pytest.raises(CaseError, match=r"\[grid\]: mu edges must contain 0"):
        load_case(tmp_path / "c.toml", ["grid.mu_edges=[-1.0, 0.5, 1.0]"])


def test_resonance_mu_grid_puts_plus_minus_eps_on_faces():
    from pathlib import Path

    from fpsolve import load_case
    from fpsolve.build import build_grid

    case = load_case(Path(__file__).resolve().parents[1] / "cases" / "compton_getting.toml", ['grid.mu_grid="resonance"'])
    e = build_grid(case).mu_edges
    assert np.any(e == 0.01) and np.any(e == -0.01) and np.any(e == 0.0)
    np.testing.assert_array_equal(e, -e[::-1])
