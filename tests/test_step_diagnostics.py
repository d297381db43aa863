"""The per-step diagnostics of physical-time runs in one pass (``kernels.dg_ranges``) and the fast
path of the trust rule (``result.negative_cells``): both must give what the plain numpy forms give."""
import numpy as np

from fpsolve import load_case
from fpsolve.build import build_grid
from fpsolve.kernels import dg_ranges
from fpsolve.result import _negative_excess, negative_cells
from fpsolve.transient import transported_range


def _grid():
    return build_grid(load_case("burst_slab", ["grid.z_cells=12", "grid.mu_cells=6", "grid.p_cells=3",
                                               "grid.p_min=0.5", "grid.p_max=2.0"]))


def test_dg_ranges_equals_numpy():
    g = _grid()
    rng = np.random.default_rng(1)
    for _ in range(5):
        f = rng.standard_normal(g.shape)
        a, b = f[..., 0], f[..., 1]
        out = np.where(g.mu > 0, a + b, a - b)
        got = dg_ranges(f, np.ascontiguousarray(g.mu > 0))
        assert got == (a.min(), a.max(), out.min(), out.max(), np.abs(f).max())
        assert transported_range(g, f.ravel()) == (min(a.min(), out.min()), max(a.max(), out.max()))


def test_fast_path_of_the_trust_rule_never_hides_a_cell():
    """Random positive fields with one mean set to -k tol (k = 0.5, 1, 1.5, 1e6): the count must equal
    the full estimate's.  Here the neighbour differences are O(1), so only the deep cells count; the
    threshold itself is probed by test_fast_path_threshold_is_probed."""
    g = _grid()
    rng = np.random.default_rng(2)
    counted = []
    for k in range(40):
        f = np.abs(rng.standard_normal(g.shape))
        f[..., 1] *= 0.01 * (k % 3)  # slopes 0, small, larger
        err = [0.0, 1e-12, 1e-6][k % 3]
        tol = 1e-13 * np.abs(f).max() + err
        i = tuple(rng.integers(0, n) for n in g.shape[:3])
        f[i + (0,)] = -tol * [0.5, 1.0, 1.5, 1e6][k % 4]
        f[i + (1,)] = 0.0
        full = int(_negative_excess(g, f, err)[0].sum())
        assert negative_cells(g, f, err)["count"] == full
        counted.append(full)
    assert 0 < sum(c > 0 for c in counted) < len(counted)  # both kinds of field were met
    f = np.ones(g.shape)
    f[..., 1] = 0.0
    assert negative_cells(g, f, 0.0)["count"] == 0
    f[0, 3, 2, 0] = -1.0  # far below its estimate (neighbours differ by 2: a quarter is 0.5)
    assert negative_cells(g, f, 0.0)["count"] == 1


def test_fast_path_threshold_is_probed():
    """A zero field with one mean of 1 (max|f| = 1) and a probe cell at -k tol, tol = 1e-13 + solve
    error: its estimate is a quarter of its neighbour differences (k tol / 4), so it is flagged for
    k > 4/3 and not below.  The fast path may answer 0 only for k <= 1; a looser threshold (e.g. 2 tol)
    would hide the k = 1.5 cell and fail here."""
    g = _grid()
    for err in (0.0, 1e-9):
        tol = 1e-13 + err
        for k, expected in ((0.5, 0), (1.0, 0), (1.2, 0), (1.5, 1), (3.0, 1)):
            f = np.zeros(g.shape)
            f[2, 0, 0, 0] = 1.0
            f[1, 6, 3, 0] = -k * tol
            assert negative_cells(g, f, err)["count"] == expected, (err, k)
            assert int(_negative_excess(g, f, err)[0].sum()) == expected
