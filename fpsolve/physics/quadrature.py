"""Double-exponential quadrature for the singular pitch-angle and momentum integrals.

The integrands of the transport moments (paper Eqs. 9-10, 13-14) and of the anisotropy
(Eq. 7) contain ``|mu -+ eps|**(1-s)``: integrable but not smooth at the resonance gaps
``mu = +-eps`` (and at ``mu = 0`` for the small-eps form, Eq. 28).  Splitting [-1, 1] at
those points and applying the tanh-sinh rule on each piece converges exponentially for any
algebraic endpoint behaviour, including sums of non-integer powers, which Gauss rules do not.

Tanh-sinh puts nodes at distances down to ~1e-290 from an endpoint.  Those distances are
not representable as ``mu = a + d`` once ``d < 1e-16 |a|``, and the part of the integral
they carry is not negligible (``int_0^d t**(1-s) dt ~ d**(2-s)``, 1e-5 for d = 1e-16 and
s = 5/3).  Each node is therefore returned as a pair (``base``, ``off``): the nearest
endpoint and the exact signed offset from it.  The coefficient functions form
``mu - c`` as ``(base - c) + off``, exact whenever ``c`` is that endpoint.

End pieces (s up to 2).  The rule stops at ``u_max = 340`` (distance ``exp(-680)`` ~ 1e-296 of
the piece).  For an integrand ``~ C d**(1-s)`` the part beyond is ``~ d**(2-s)/(2-s)`` of the
integral: 1e-3 at s = 1.99, 50% at s = 1.999.  :func:`integrate_pieces` therefore continues the
trapezoidal sum analytically at every piece end where the integrand is singular enough to
matter: from the integrand at the nodes at ``|u| ~ 300`` and ``|u| ~ 150`` (distances ``x1 ~
1e-261``, ``x2 ~ 1e-130`` of the piece, where a singular integrand is its leading power to
~1e-130) it fits ``f = C x**(b-1)`` and replaces the nodes beyond ``x1`` by the infinite rest of
the sum of that power law, ``f(x1) x1 Q(b)``, ``Q(b) = sum_k h pi cosh t_k (1-x_k)(x_k/x1)**b``
(summed in logarithms: its terms decay only like ``exp(-b pi sinh t)``).  ``b`` is computed as
``ln[(f2 x2)/(f1 x1)]/ln(x2/x1)`` so that its error, ~1e-18 absolute, gives a relative error
~1e-18 (1/b + 600) of the end piece: ~2e-15 at s = 1.999, 5e-14 at ``2 - s = 1e-5``, 1e-12 at
``2 - s = 5e-7``.  A model that knows the exponent (slab waves: ``b = 2 - s`` at the zeros of
``D_mumu``) passes it as ``known_b`` and the fitted value snaps to it: exact for any s < 2.
The continuation is applied where ``b < B_TAIL = 0.1`` (the truncated part is below
``exp(-600 b)`` ~ 1e-26 of the integral otherwise, so results for s <= 1.9 are unchanged bit for
bit).  ``b <= 0`` (``f ~ 1/d`` or worse: not integrable) gives an infinite integral.
"""
from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple

import numpy as np
from scipy.special import expit

__all__ = ["Nodes", "as_nodes", "tanh_sinh_nodes", "exp_sinh_rule", "integrate_pieces", "tail_sum", "BLOCK_VALUES"]

#: Step of the tanh-sinh rule. h = 1/16 gives ~1e-15 on the moment integrands (tested).
STEP = 1.0 / 16.0
#: Largest |pi/2 sinh t|; endpoint distances reach exp(-2*U_MAX) of the interval length.
U_MAX = 340.0


class Nodes(NamedTuple):
    """Quadrature nodes ``mu = base + off`` with ``off`` exact (see module docstring)."""

    base: np.ndarray
    off: np.ndarray

    @property
    def value(self) -> np.ndarray:
        return self.base + self.off

    def minus(self, c) -> np.ndarray:
        """``mu - c``, exact to the last bit when ``c`` equals ``base``."""
        return (self.base - c) + self.off


def as_nodes(mu) -> Nodes:
    """Wrap plain values as nodes with zero offset (public callers pass arrays)."""
    if isinstance(mu, Nodes):
        return mu
    mu = np.asarray(mu, dtype=float)
    return Nodes(mu, np.zeros_like(mu))


@lru_cache(maxsize=8)
def _tanh_sinh_reference(step: float = STEP, u_max: float = U_MAX):
    """Reference rule on [0, 1]: fraction from the left end, from the right end, weight."""
    t_max = np.arcsinh(2.0 * u_max / np.pi)
    n = int(np.ceil(t_max / step))
    t = np.arange(-n, n + 1) * step
    u = 0.5 * np.pi * np.sinh(t)
    left = expit(2.0 * u)  # (1 + tanh u)/2, exact also where it is tiny
    right = expit(-2.0 * u)  # (1 - tanh u)/2
    weight = step * np.pi * np.cosh(t) * left * right
    return t, left, right, weight


def tanh_sinh_nodes(a, b, step: float = STEP):
    """Tanh-sinh nodes and weights on [a, b] (arrays broadcast; a trailing node axis is added).

    Nodes on the left half are anchored at ``a``, on the right half at ``b``.
    Returns ``(Nodes, weights)``; a zero-length interval has zero weights.
    """
    a = np.asarray(a, dtype=float)[..., None]
    b = np.asarray(b, dtype=float)[..., None]
    t, left, right, w = _tanh_sinh_reference(step)
    length = b - a
    use_left = t < 0
    base = np.where(use_left, a, b)
    off = np.where(use_left, length * left, -length * right)
    # A node whose offset underflowed sits on the (possibly singular) anchor: drop it.  Its
    # weight is below 1e-290 of the piece's, so nothing measurable is lost.
    return Nodes(base, off), np.where(off != 0.0, length * w, 0.0)


#: Integrand values (pieces x nodes, all batch axes) that callers evaluating many integrals
#: (the solver's conductances, Eq. 7 at every cell) put into one call: the temporaries of a
#: call are ~20 arrays of this many doubles, ~80 MB (scripts/bench_coefficients.py).
BLOCK_VALUES = 1 << 19

#: Continue the sum analytically at piece ends where the fitted exponent ``b`` (integrand
#: ``~ x**(b-1)``) is below this (see module docstring).
B_TAIL = 0.1
#: ``|u|`` of the two nodes the end-point power law is fitted at.
_FIT_U = (300.0, 150.0)
#: ``b Q`` terms are summed until ``b (ln x1 - ln x_k)`` exceeds this (``exp(-60)`` ~ 1e-26).
_TAIL_DEPTH = 60.0


@lru_cache(maxsize=8)
def _fit_indices(step: float = STEP):
    """Indices (in the reference rule, left end) of the nodes at ``|u| ~ 300`` and ``~ 150``."""
    t, left, _, _ = _tanh_sinh_reference(step)
    u = 0.5 * np.pi * np.sinh(t)
    i1, i2 = (int(np.argmin(np.where(t < 0, np.abs(-u - uf), np.inf))) for uf in _FIT_U)
    return i1, i2


def tail_sum(b, step: float = STEP):
    r"""``Q(b) = sum_{k beyond x1} h pi cosh t_k (1 - x_k) (x_k/x_1)**b`` on the reference rule.

    With the integrand ``f = f(x_1) (x/x_1)**(b-1)`` beyond the fit node ``x_1`` the neglected
    part of the sum is ``f(x_1) x_1 Q(b)`` (``Q -> 1/b`` as b -> 0, ``int_0^{x_1} f = f_1 x_1/b``
    up to the trapezoid end correction this sum includes).  ``b <= 0``: infinite.
    """
    b = np.asarray(b, dtype=float)
    out = np.full(b.shape, np.inf)
    ok = b > 0
    if not np.any(ok):
        return out
    t, left, _, _ = _tanh_sinh_reference(step)
    i1, _ = _fit_indices(step)
    u1 = 0.5 * np.pi * np.sinh(t[i1])
    ln_x1 = np.log(left[i1])
    # extension t_k = t_1 - m h until b (ln x_1 - ln x_k) ~ 2 b (|u_k| - |u_1|) > _TAIL_DEPTH
    u_end = -u1 + 0.5 * _TAIL_DEPTH / b[ok].min() + 50.0
    m = np.arange(1, int(np.ceil((np.arcsinh(2.0 * u_end / np.pi) + t[i1]) / step)) + 2)
    tk = t[i1] - m * step
    uk = 0.5 * np.pi * np.sinh(tk)
    ln_xk = 2.0 * uk - np.log1p(np.exp(2.0 * uk))  # ln expit(2u), no overflow for u << 0
    depth = ln_x1 - ln_xk  # >= 0, increasing
    terms = step * np.pi * np.cosh(tk) * expit(-2.0 * uk) * np.exp(-b[ok][:, None] * depth)
    out[ok] = terms.sum(axis=-1)
    return out


#: A fitted exponent within this of a known one (``known_b``) is replaced by the known value
#: (fit error ~1e-18; a genuinely different exponent this close is indistinguishable anyway).
_SNAP = 1e-9


def _end_tails(v, nodes, w, step, known_b=()):
    """Power-law continuation beyond the fit node at both ends of every piece.

    Returns ``(drop, tail)``: a mask of the nodes (beyond the fit node) that the continuation
    replaces, and the continuation per piece, shape ``v.shape[:-1]``.
    """
    n = v.shape[-1]
    i1, i2 = _fit_indices(step)
    drop = np.zeros(v.shape, dtype=bool)
    tail = np.zeros(v.shape[:-1])
    for j1, j2, deeper in ((i1, i2, slice(0, i1)), (n - 1 - i1, n - 1 - i2, slice(n - i1, n))):
        f1, f2 = v[..., j1], v[..., j2]
        x1, x2 = np.abs(nodes.off[..., j1]), np.abs(nodes.off[..., j2])
        with np.errstate(divide="ignore", invalid="ignore", over="ignore", under="ignore"):
            ratio = (f2 / f1) * (x2 / x1)  # ~ (x2/x1)**b, of order 1 where b is small
            b = np.log(ratio) / np.log(x2 / x1)
        # x1 >= 1e-290: the fit node's offset is a normal double (pieces longer than ~3e-32)
        use = ((w[..., j1] > 0) & (x1 >= 1e-290) & np.isfinite(f1) & np.isfinite(f2) & (f1 != 0)
               & (ratio > 0) & np.isfinite(b) & (b < B_TAIL))
        if not np.any(use):
            continue
        for bk in known_b:
            b = np.where(np.abs(b - bk) <= _SNAP, bk, b)
        drop[..., deeper] |= use[..., None]
        tail[use] += f1[use] * x1[use] * tail_sum(b[use], step)
    return drop, tail


def integrate_pieces(func, edges, step: float = STEP, known_b=()):
    """Integrate ``func(nodes)`` over consecutive pieces ``edges[..., k]..edges[..., k+1]``.

    ``edges`` has shape ``S + (K+1,)``; ``func`` receives :class:`Nodes` of shape
    ``S + (K, n)`` and returns values of that shape (or a tuple of such arrays).
    Returns the integral(s) over the whole range, shape ``S``.  Zero-length pieces
    contribute exactly zero even where ``func`` is singular there.  Singular piece ends get
    the analytic power-law continuation of the module docstring (an integral that diverges
    there, ``f ~ 1/d`` or worse, is returned as +-inf).  ``known_b``: exact end exponents
    (integrand ``~ d**(b-1)``) the model knows, e.g. ``2 - s`` for ``1/D_mumu`` at a zero of
    ``D_mumu ~ d**(s-1)``; a fitted ``b`` within 1e-9 of one is replaced by it, which keeps the
    end piece exact also for ``2 - s`` down to 2e-16 (the fit alone: ~5e-19/(2-s) relative).
    """
    edges = np.asarray(edges, dtype=float)
    nodes, w = tanh_sinh_nodes(edges[..., :-1], edges[..., 1:], step)
    # Singular values are dropped only where they cannot matter: zero weights (zero-length
    # pieces, underflow at the far ends of the rule) and nodes whose value rounds onto their
    # anchor (|off| below 1e-15 of it: weight < 1e-290 of the piece), where a function that only
    # sees the rounded mu (user coefficients) can return 0/0.  Anywhere else a NaN propagates.
    unrepresentable = np.abs(nodes.off) <= 1e-15 * np.maximum(np.abs(nodes.base), 1e-300)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        values = func(nodes)
        single = not isinstance(values, tuple)
        values = (values,) if single else values
        out = []
        for v in values:
            v = np.broadcast_to(v, w.shape)
            terms = np.where((w > 0) & (np.isfinite(v) | ~unrepresentable), w * v, 0.0)
            drop, tail = _end_tails(v, nodes, w, step, tuple(known_b))
            if np.any(drop):
                terms = np.where(drop, 0.0, terms)
                out.append(terms.sum(axis=(-1, -2)) + tail.sum(axis=-1))
            else:
                out.append(terms.sum(axis=(-1, -2)))
    return out[0] if single else tuple(out)


@lru_cache(maxsize=8)
def exp_sinh_rule(step: float = 1.0 / 64.0, t_min: float = -4.6, t_max: float = 4.6):
    """Exp-sinh rule for [0, inf): ``u = exp(pi/2 sinh t)``; returns ``(log u, log weight)``.

    Callers scale ``u`` by the location of the integrand's bulk (``u -> u0 u``, adding
    ``log u0`` to both arrays); the step 1/64 resolves peaks of width ~1/sqrt(150) in log u.

    Logarithms are returned so that integrands like ``u**c (1+u)**(-c-1) exp(-a u)`` can be
    evaluated without overflow.  ``|t| <= 4.6`` spans u = exp(-+78): the tails left out are
    below ``exp(-78 (c+1/2))`` for integrands ~u**(c-1/2) at 0 (SWK: c > 0) and are cut by
    the exponential or the algebraic decay at infinity.
    """
    n_lo, n_hi = int(np.floor(t_min / step)), int(np.ceil(t_max / step))
    t = np.arange(n_lo, n_hi + 1) * step
    log_u = 0.5 * np.pi * np.sinh(t)
    log_w = np.log(step * 0.5 * np.pi * np.cosh(t)) + log_u
    return log_u, log_w
