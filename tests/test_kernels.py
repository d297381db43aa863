"""The numba assembly kernel against its slow numpy twin, for every z boundary condition."""
import numpy as np
import pytest
import scipy.sparse as sp

from fpsolve.grid import Grid, log_edges, uniform_edges
from fpsolve.problem import Physics, Source, build_problem
from fpsolve.physics import SlabAlfven

from twins import z_problem_twin

MODEL = SlabAlfven.from_mean_free_path(0.05, s=5 / 3, hc=0.4, va=0.02, p_ref=3.0)


@pytest.mark.parametrize("left, right", [("escape", "escape"), ("periodic", "periodic"), ("mirror", "escape"),
                                         ("escape", "mirror"), ("mirror", "mirror")])
def test_kernel_equals_twin(left, right):
    """Same sparsity and values (to round-off of summing duplicates: 4 ulp of the row scale)."""
    grid = Grid(uniform_edges(0.0, 1.0, 5), uniform_edges(-1, 1, 6), log_edges(1.0, 10.0, 4))
    ph = Physics(MODEL, Source(), loss_rate=lambda p: p / 30.0, tau_c=50.0, z_left=left, z_right=right,
                 p_slope_ref=3.0)
    pb = build_problem(grid, ph)
    lmp = pb.local_matrix()
    a = pb.A
    b = z_problem_twin(lmp, grid, ph)
    diff = abs(a - b)
    scale = abs(b).max(axis=1).toarray().ravel()
    assert np.all(diff.max(axis=1).toarray().ravel() <= 4 * np.finfo(float).eps * scale)
    # CSR invariants: sorted, unique column indices in every row
    for r in range(a.shape[0]):
        cols = a.indices[a.indptr[r]:a.indptr[r + 1]]
        assert np.all(np.diff(cols) > 0)


def test_problem_matrix_is_sorted_canonical_csr():
    grid = Grid(uniform_edges(-1.0, 1.0, 6), uniform_edges(-1, 1, 8), log_edges(1.0, 10.0, 3))
    pb = build_problem(grid, Physics(MODEL, Source(), tau_c=10.0))
    assert isinstance(pb.A, sp.csr_matrix) and pb.A.has_sorted_indices
    assert pb.A.shape == (grid.size, grid.size) and pb.b.size == grid.size


@pytest.mark.parametrize("left, right", [("escape", "escape"), ("periodic", "periodic"), ("mirror", "mirror")])
def test_kernel_with_stepped_cells_equals_twin(left, right):
    """The positivity fixup's slope weights theta (0 = the cell is transported by its mean): kernel
    and twin agree to 4 ulp of the row scale (round-off of summing duplicates), for random
    stepped cells including the end cells that feed the periodic and mirror inflow stencils."""
    from fpsolve.terms import Streaming

    grid = Grid(uniform_edges(0.0, 1.0, 5), uniform_edges(-1, 1, 6), log_edges(1.0, 10.0, 3))
    ph = Physics(MODEL, Source(), loss_rate=lambda p: p / 30.0, tau_c=50.0, z_left=left, z_right=right,
                 p_slope_ref=3.0)
    pb = build_problem(grid, ph)
    stepped = np.random.default_rng(7).random((grid.np_, grid.nz, grid.nmu)) < 0.4
    stepped[:, [0, -1], :] = True  # the end cells: their traces are the periodic / mirror inflow
    k = next(n for n, t in enumerate(pb.terms) if isinstance(t, Streaming))
    terms = list(pb.terms)
    terms[k] = terms[k].with_stepped(stepped)
    a = type(pb).from_terms(pb.layout, terms, pb.b, pb.physics).A
    b = z_problem_twin(pb.local_matrix(), grid, ph, theta=terms[k].theta)
    diff = abs(a - b)
    scale = abs(b).max(axis=1).toarray().ravel()
    assert np.all(diff.max(axis=1).toarray().ravel() <= 4 * np.finfo(float).eps * scale)
    assert abs(a - pb.A).max() > 0  # the weights change the matrix
