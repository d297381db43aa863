"""The double-exponential rules against integrals known in closed form."""
import numpy as np
import pytest
from scipy.special import beta as beta_fn

from fpsolve.physics.quadrature import integrate_pieces, tanh_sinh_nodes

# Tanh-sinh at h = 1/16 converges to round-off for algebraic endpoint singularities;
# 1e-13 leaves a margin of ~100 ulps for the sums over ~190 nodes.
TOL = 1e-13


@pytest.mark.parametrize("a, b", [(-2 / 3, 0.0), (-0.5, 0.3), (-0.95, -0.2), (0.0, 0.0), (1.5, 2.5)])
def test_beta_integrals(a, b):
    """int_0^1 t^a (1-t)^b dt = B(a+1, b+1): endpoint powers down to t^-0.95."""
    got = integrate_pieces(lambda t: np.abs(t.minus(0.0)) ** a * np.abs(t.minus(1.0)) ** b, np.array([0.0, 1.0]))
    assert got == pytest.approx(beta_fn(a + 1, b + 1), rel=TOL)


def test_offsets_are_exact_next_to_endpoints():
    """Nodes closer to an endpoint than 1e-16 of it keep their exact distance."""
    nodes, w = tanh_sinh_nodes(0.3, 1.0)
    left = slice(0, w.size // 2)
    d, used = nodes.minus(0.3)[left], w[left] > 0
    assert d[used].min() < 1e-250  # far below what 0.3 + d can represent
    assert np.all(d[used] > 0)  # nodes whose offset underflowed carry zero weight


def test_interior_singularity_split_at_breakpoints():
    """int_{-1}^{1} |x - 0.01|^{-2/3} dx, split at the singular point (the D_mumu gap)."""
    e = 0.01
    got = integrate_pieces(lambda t: np.abs(t.minus(e)) ** (-2 / 3), np.array([-1.0, e, 1.0]))
    exact = 3 * ((1 + e) ** (1 / 3) + (1 - e) ** (1 / 3))
    assert got == pytest.approx(exact, rel=TOL)


def test_zero_length_pieces_contribute_nothing():
    got = integrate_pieces(lambda t: 1.0 / t.minus(0.0) ** 2, np.array([0.0, 0.0, 0.0]))
    assert got == 0.0
