"""Positivity of the streaming discretisation (the fixup of :mod:`fpsolve.terms.streaming`).

The public slab case (cases/slab_streaming.toml: eps = 0, Gaussian source at z = 0.3, free escape
at z = +-1, L = 2) with ``turbulence.mean_free_path = lambda`` over lambda = 1e-5 .. 20
(Kn = lambda/L = 5e-6 .. 10) and z cells from dz = 1e4 lambda to dz = 1e-3 lambda.  DG-1 alone
undershoots in the thin regime (dz <~ 0.03 lambda) in the wall cells, for the incoming
directions; the fixup steps those cells and solves again.  Accuracy is measured against the
exact-in-z reference (:func:`fpsolve.reference.reference_for`) on the same mu grid.

``python tests/test_positivity.py`` prints the error table vs z resolution (DG-1 and with the
fixup) for Kn = 0.01, 0.1, 1, 10.
"""
import numpy as np
import pytest
import scipy.sparse.linalg as spla

from fpsolve import load_case
from fpsolve.build import build_grid, build_physics
from fpsolve.problem import build_problem
from fpsolve.reference import reference_for
from fpsolve.terms.streaming import Streaming, positive_solution

EPS = np.finfo(float).eps


def _direct(pb):
    return spla.spsolve(pb.A.tocsc(), pb.b), None


def _slab(lam, nz, extra=()):
    case = load_case("slab_streaming", [f"turbulence.mean_free_path={lam}", f"grid.z_cells={nz}", *extra])
    grid = build_grid(case)
    physics = build_physics(case)
    return grid, physics, build_problem(grid, physics)


def _streaming(pb):
    return next(t for t in pb.terms if isinstance(t, Streaming))


def _minima(pb, f):
    """(min cell mean, min transported trace) relative to max f, for one momentum plane."""
    f = f.reshape(pb.grid.shape)
    tr = _streaming(pb).transported(f)
    mx = max(f[..., 0].max(), tr.max())
    return f[..., 0].min() / mx, tr.min() / mx


def _errors(pb, physics, f):
    """max |F - F_ref| over the interior cells (all but the two wall cells) / max F_ref, and the
    same over the wall cells: cell means of F against the exact-in-z reference."""
    grid = pb.grid
    ref = reference_for(grid, physics).F_cell_means(grid.z_edges)
    F = 0.5 * np.sum(f.reshape(grid.shape)[0, :, :, 0] * grid.dmu, axis=1)
    e = np.abs(F - ref) / ref.max()
    return e[1:-1].max(), e[[0, -1]].max()


# (lambda, z cells): dz/lambda from 1e4 (thick) to 1e-3 (thin); Kn = lambda / 2
SWEEP = [(1e-5, 20), (1e-5, 200), (1e-3, 20), (1e-3, 2000), (0.01, 20), (0.01, 200), (0.1, 20), (0.1, 200),
         (0.1, 2000), (1.0, 20), (1.0, 67), (1.0, 200), (1.0, 1000), (10.0, 20), (10.0, 200), (20.0, 100)]


@pytest.mark.parametrize("lam, nz", SWEEP)
def test_slab_is_non_negative_and_as_accurate(lam, nz):
    """Cell means and transported traces >= 0 after the fixup, reached within 3 re-solves; the
    interior error against the exact-in-z reference is DG-1's to 2% (measured: within 1% where
    cells were stepped, identical elsewhere), the wall cells' within 10% (measured: within 2%) —
    the stepped cells hold values ~1e-5 of max f, so their first-order error hardly shows in F."""
    grid, physics, pb = _slab(lam, nz)
    f0, _ = _direct(pb)
    pb1, f1, _, rounds = positive_solution(pb, _direct)
    assert rounds <= 3
    m_mean, m_trace = _minima(pb1, f1)
    # the loop stops only with no negative cell left, so this holds when rounds < max_rounds: the
    # check is that it got there (the real checks are the rounds above and the accuracy below)
    assert m_mean >= 0.0 and m_trace >= 0.0
    e0, w0 = _errors(pb, physics, f0)
    e1, w1 = _errors(pb1, physics, f1)
    assert e1 <= 1.02 * e0 + 1e-12
    assert w1 <= 1.10 * w0 + 1e-12
    if _minima(pb, f0)[0] >= 0 and _minima(pb, f0)[1] >= 0:
        assert rounds == 0 and pb1 is pb  # nothing negative: DG-1 untouched (every thick case)


def test_dg1_alone_undershoots_in_the_thin_regime():
    """Why the fixup exists: lambda = 1, dz = 0.01 lambda, DG-1 has a negative cell mean beyond the
    trust flag's -1e-6 of max f (measured -7.6e-6), in a wall cell, for an incoming direction."""
    grid, _, pb = _slab(1.0, 200)
    f, _ = _direct(pb)
    f = f.reshape(grid.shape)
    m_mean, _ = _minima(pb, f)
    assert m_mean < -1e-6
    k, i, j = np.unravel_index(np.argmin(f[..., 0]), f.shape[:-1])
    assert i in (0, grid.nz - 1)
    assert (grid.mu[j] > 0) == (i == 0)  # incoming: mu > 0 at z_min, mu < 0 at z_max


def test_stepped_streaming_keeps_the_term_contract():
    """With stepped cells the streaming's flux functional is still the column-sum defect of its
    block (to eps x entries x the largest term), and the balance of the fixed-up solution closes to
    1e-10 (its linear system is solved exactly by the direct LU)."""
    grid, physics, pb = _slab(1.0, 200)
    pb1, f1, _, rounds = positive_solution(pb, _direct)
    st = _streaming(pb1)
    assert rounds >= 1 and st.stepped is not None and st.stepped.any()
    B = pb1.block(st)
    x = np.random.default_rng(5).random(grid.size)
    w = pb1.layout.mean_rows()
    lhs = w @ (B @ x)
    rhs = sum(st.leaving(pb1.layout.view(x.reshape(grid.shape))).values())
    assert abs(lhs - rhs) <= 32 * EPS * (w @ (abs(B) @ x))
    bal = pb1.balance(f1.reshape(grid.shape))
    assert abs(bal["closure"]) <= max(1e-10, bal["closure_roundoff_bound"])


def test_mirror_wall_slab():
    """A mirror at z_min, escape at z_max, thin regime: non-negative after the fixup, interior
    error DG-1's to 2% (as above)."""
    grid, physics, pb = _slab(1.0, 200, ['boundaries.z_min="mirror"'])
    f0, _ = _direct(pb)
    pb1, f1, _, rounds = positive_solution(pb, _direct)
    assert rounds <= 3
    assert min(_minima(pb1, f1)) >= 0.0
    assert _errors(pb1, physics, f1)[0] <= 1.02 * _errors(pb, physics, f0)[0] + 1e-12


def _table(lams=(0.02, 0.2, 2.0, 20.0), nzs=(10, 20, 40, 80, 160, 320, 640)):
    """Error vs z resolution, DG-1 and with the fixup: Kn = lambda / L, L = 2."""
    print("Kn      nz    dz/lam   DG-1: min mean   err_int   err_wall |"
          " fixup: rounds  stepped  min     err_int   err_wall")
    for lam in lams:
        for nz in nzs:
            grid, physics, pb = _slab(lam, nz)
            f0, _ = _direct(pb)
            pb1, f1, _, rounds = positive_solution(pb, _direct)
            st = _streaming(pb1)
            n = 0 if st.stepped is None else int(st.stepped.sum())
            e0, w0 = _errors(pb, physics, f0)
            e1, w1 = _errors(pb1, physics, f1)
            print(f"{lam / 2:<7g} {nz:<5d} {2 / nz / lam:<8.3g} {min(_minima(pb, f0)):>10.2e} {e0:10.2e} {w0:10.2e} |"
                  f" {rounds:5d} {n:8d} {min(_minima(pb1, f1)):10.2e} {e1:10.2e} {w1:10.2e}", flush=True)


if __name__ == "__main__":
    _table()


def test_thick_slab_is_untouched_and_keeps_the_diffusion_limit():
    """lambda = 0.01, dz = 10 lambda: DG-1 is already non-negative, the fixup changes nothing
    (rounds = 0, the very same problem), and F is within 1% of the diffusion solution with the
    walls moved out by this operator's Milne length (measured 4.1e-4 away from the source)."""
    from scipy.integrate import quad

    from fpsolve.physics import pitch_integrals
    from fpsolve.reference import milne_length

    grid, physics, pb = _slab(0.01, 20)
    pb1, f, _, rounds = positive_solution(pb, _direct)
    assert rounds == 0 and pb1 is pb
    m = physics.model
    kzz = pitch_integrals(m, grid.p).kappa_zz[0]
    L = 1 + milne_length(m, float(grid.p[0]), grid.mu_edges).z0  # the walls moved out by the Milne length

    def f_diff(z):
        S = lambda z0: np.exp(-((z0 - 0.3) ** 2) / (2 * 0.02**2)) / (np.sqrt(2 * np.pi) * 0.02)  # noqa: E731
        G = lambda z0: (L + min(z, z0)) * (L - max(z, z0)) / (2 * L * kzz)  # noqa: E731
        return quad(lambda z0: S(z0) * G(z0), 0.0, 0.6, points=[0.3], limit=200)[0]

    F = 0.5 * np.sum(f.reshape(grid.shape)[0, :, :, 0] * grid.dmu, axis=1)
    far = np.abs(grid.z - 0.3) > 0.15
    ref = np.array([f_diff(z) for z in grid.z[far]])
    assert np.max(np.abs(F[far] / ref - 1)) < 0.01
