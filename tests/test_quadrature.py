"""The double-exponential rules against integrals known in closed form."""
import numpy as np
import pytest
from scipy.special import beta as beta_fn

from fpsolve.physics.quadrature import integrate_pieces, tail_sum, tanh_sinh_nodes

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


# --- singular ends with exponents near -1 (s -> 2): the analytic continuation of the sum ---
@pytest.mark.parametrize("a", [-0.9, -0.99, -0.999, -0.99999])
def test_beta_integrals_near_non_integrable(a):
    """int_0^1 t^a (1-t)^0.5 dt = B(a+1, 3/2): the rule alone misses ~1e-296^(a+1) of it (50% at
    a = -0.999); with the fitted power-law continuation the error is ~1e-18/(a+1) relative
    (fit of the exponent), i.e. <= 1e-13 down to a + 1 = 1e-5."""
    got = integrate_pieces(lambda t: np.abs(t.minus(0.0)) ** a * np.abs(t.minus(1.0)) ** 0.5, np.array([0.0, 1.0]))
    assert got == pytest.approx(beta_fn(a + 1, 1.5), rel=TOL)


@pytest.mark.parametrize("b", [1e-3, 1e-8, 2.0**-52])
def test_known_exponent_keeps_the_end_exact(b):
    """With the exponent given (``known_b``), int_0^1 t^(b-1) dt = 1/b to round-off for any b > 0
    (the fit alone would be off by ~1e-18/b: 5e-3 at b = 2^-52)."""
    got = integrate_pieces(lambda t: np.abs(t.minus(0.0)) ** (b - 1.0), np.array([0.0, 1.0]), known_b=(b,))
    assert got == pytest.approx(1.0 / b, rel=TOL)


def test_both_ends_singular_and_interior_gap():
    """|x - 0.3|^-0.999 on [-1, 0.3] and [0.3, 1]: a singular end anchored at 0.3 (not at 0),
    where 0.3 + d is not representable for d < 3e-17 (the exact offsets carry it)."""
    a = -0.999
    got = integrate_pieces(lambda t: np.abs(t.minus(0.3)) ** a, np.array([-1.0, 0.3, 1.0]), known_b=(a + 1,))
    exact = (1.3 ** (a + 1) + 0.7 ** (a + 1)) / (a + 1)
    assert got == pytest.approx(exact, rel=TOL)


def test_non_integrable_end_gives_infinity():
    """1/t and 1/t^1.5 at an end: the integral diverges and is returned as inf (not a finite sum)."""
    for a in (-1.0, -1.5):
        assert integrate_pieces(lambda t: np.abs(t.minus(0.0)) ** a, np.array([0.0, 1.0])) == np.inf


def test_tail_sum_approaches_one_over_b():
    """Q(b) -> 1/b as b -> 0 (the continued sum is int_0^{x1} x^{b-1} dx / x1^b = 1/b up to the
    trapezoid's end terms O(1) on the scale of 1/b, so b Q(b) - 1 = O(b) up to a bounded factor)."""
    for b in (1e-6, 1e-9, 1e-12):
        assert abs(b * tail_sum(b) - 1.0) < 1e3 * b
    assert tail_sum(0.0) == np.inf and tail_sum(-0.1) == np.inf


def test_regular_integrands_unchanged_by_the_continuation():
    """Ends with exponent b >= B_TAIL (here b = 1, 1/2, 0.2) are summed as before, bit for bit."""
    from fpsolve.physics import quadrature as q

    for a in (0.0, -0.5, -0.8):
        f = lambda t, a=a: np.abs(t.minus(0.0)) ** a  # noqa: E731
        nodes, w = tanh_sinh_nodes(np.array([0.0]), np.array([1.0]))
        with np.errstate(divide="ignore", invalid="ignore"):  # 0 * inf at the zero-weight end node
            plain = np.where(w > 0, w * f(nodes), 0.0).sum(axis=(-1, -2))
        assert q.B_TAIL <= a + 1
        assert integrate_pieces(f, np.array([0.0, 1.0])) == plain
