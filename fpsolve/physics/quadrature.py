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

The truncation of the rule at ``u_max = 340`` (distance ``exp(-680)`` ~ 1e-296) bounds the
neglected tail by ``~1e-296**(2-s)/(2-s)``: below 1e-13 for s <= 1.95.
"""
from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple

import numpy as np
from scipy.special import expit

__all__ = ["Nodes", "as_nodes", "tanh_sinh_nodes", "exp_sinh_rule", "integrate_pieces"]

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


def integrate_pieces(func, edges, step: float = STEP):
    """Integrate ``func(nodes)`` over consecutive pieces ``edges[..., k]..edges[..., k+1]``.

    ``edges`` has shape ``S + (K+1,)``; ``func`` receives :class:`Nodes` of shape
    ``S + (K, n)`` and returns values of that shape (or a tuple of such arrays).
    Returns the integral(s) over the whole range, shape ``S``.  Zero-length pieces
    contribute exactly zero even where ``func`` is singular there.
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
        out = tuple(np.where((w > 0) & (np.isfinite(v) | ~unrepresentable), w * v, 0.0).sum(axis=(-1, -2))
                    for v in values)
    return out[0] if single else out


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
