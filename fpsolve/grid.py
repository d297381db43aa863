r"""Tensor finite-volume grid in (z, mu, p).

* ``z``: cell edges (uniform or given); ``None`` for the z-independent (homogeneous) mode.
  Each z cell carries two unknowns per (mu, p): the cell mean ``a`` and the half-slope ``b``
  of the linear-discontinuous representation ``f = a + b xi``, ``xi = 2(z - z_i)/h_i``.
* ``mu``: edges spanning exactly [-1, 1] with ``mu = 0`` an edge (the streaming direction is
  constant in every cell); uniform, or graded near ``mu = 0`` so that cells are uniform in
  ``|mu|^{2-s}`` there (where ``g ∝ |mu|^{2-s} sgn mu`` is not smooth; the grading is capped
  so that no edge but 0 is below ``MU_INNER_MIN`` = 1e-12 as s -> 2), optionally with the
  resonance gaps ``+-eps`` on faces (``snap_to_resonances``).
* ``p``: log-spaced or given edges.  The conserved density is ``N = int dz int dmu int p^2 dp f``:
  cell volumes are ``h_i * dmu_j * V_k`` with ``V_k = (p_{k+1/2}^3 - p_{k-1/2}^3)/3``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Grid", "uniform_edges", "graded_mu_edges", "graded_mu_exponent", "log_edges", "snap_to_resonances",
           "MU_INNER_MIN"]


def uniform_edges(lo: float, hi: float, n: int) -> np.ndarray:
    return np.linspace(lo, hi, n + 1)


def log_edges(lo: float, hi: float, n: int) -> np.ndarray:
    return np.geomspace(lo, hi, n + 1)


#: Smallest innermost interior edge of the graded mu grid.  Cells uniform in ``|mu|^eta`` put
#: it at ``(2/n)^(1/eta)``: 8e-25 for n = 32 at s = 1.95, below the smallest double for s = 1.999
#: (edges collapse onto 0).  Rows of the pitch-angle operator scale as ``G/dmu``: a cell of
#: width 1e-12 next to cells of 1e-2 already spans 1e10 in row scale, which times the rest of
#: the operator's conditioning (~1e4 on the bundled grids) approaches 1/(machine epsilon); and
#: the cell holds < 1e-12 of the particles, below the particle-balance round-off, so it cannot
#: resolve anything the solution needs.  The grading exponent is capped so that the innermost
#: edge stays at or above this; the exact conductances (int 1/D_mumu across the cell,
#: :mod:`fpsolve.face_coefficients`) keep the flux through it exact anyway.
MU_INNER_MIN = 1e-12


def graded_mu_exponent(n: int, eta: float) -> tuple[float, bool]:
    """Grading power ``k`` of :func:`graded_mu_edges` and whether the cap ``MU_INNER_MIN`` set it.

    ``k = 1/eta`` (cells uniform in ``|mu|^eta`` near 0) unless that puts the innermost edge
    ``(2/n)^k`` below ``MU_INNER_MIN``; then ``k = ln(MU_INNER_MIN)/ln(2/n)``.
    """
    k = np.inf if eta <= 0.0 else 1.0 / eta
    if n <= 2:
        return k, False
    k_cap = np.log(MU_INNER_MIN) / np.log(2.0 / n)
    return (k_cap, True) if k > k_cap else (k, False)


def graded_mu_edges(n: int, eta: float) -> np.ndarray:
    """``n`` (even) mu cells, uniform in ``|mu|^eta`` near 0, smoothly widening towards |mu| = 1.

    Half-grid map of ``u`` uniform in [0, 1]: ``mu = u^k`` (``k = 1/eta``) for ``u < 1/2``, then
    the quadratic that continues it with matching value and slope (C^1) to ``mu(1) = 1``.
    ``eta >= 1`` gives the uniform grid.  ``k`` is capped so that no edge but 0 lies below
    ``MU_INNER_MIN`` (:func:`graded_mu_exponent`; s close to 2, where ``eta = 2 - s``).
    """
    if n % 2:
        raise ValueError(f"mu cells = {n} is not allowed; allowed: an even number (mu = 0 must be an edge)")
    u = np.linspace(0.0, 1.0, n // 2 + 1)
    if eta >= 1.0:
        half = u
    else:
        k, _ = graded_mu_exponent(n, eta)
        u0 = 0.5
        if k == np.inf:  # n = 2: no interior edge below 1/2
            half = u
        else:
            a, b = u0**k, k * u0 ** (k - 1)
            c = (1.0 - a - b * (1.0 - u0)) / (1.0 - u0) ** 2
            half = np.where(u < u0, u**k, a + b * (u - u0) + c * (u - u0) ** 2)
            half[-1] = 1.0
    edges = np.concatenate([-half[::-1], half[1:]])
    narrow = np.diff(edges) <= 4.0 * np.spacing(np.maximum(np.abs(edges[1:]), np.abs(edges[:-1])))
    if np.any(narrow):  # cannot happen with the cap for n <= 2/MU_INNER_MIN; kept as the invariant
        raise ValueError(f"graded mu grid with {n} cells, eta = {eta!r}: a cell is narrower than 4 ulp of its position")
    return edges


def snap_to_resonances(edges: np.ndarray, eps: float) -> np.ndarray:
    """Move the edges nearest to +-eps onto +-eps (symmetric grid kept): the resonance gaps where
    D_mumu and D_mup have their cusps then sit on cell faces.  No change if eps is 0 or would
    collide with 0 or +-1."""
    e = np.array(edges, dtype=float)
    if eps <= 0.0:
        return e
    pos = np.flatnonzero((e > 0.0) & (e < 1.0))
    if pos.size == 0:
        return e
    i = pos[np.argmin(np.abs(e[pos] - eps))]
    e[i], e[e.size - 1 - i] = eps, -eps
    return e if np.all(np.diff(e) > 0) else np.array(edges, dtype=float)


def _check_edges(name, e, lo=None, hi=None):
    e = np.asarray(e, dtype=float)
    if e.ndim != 1 or e.size < 2 or not np.all(np.isfinite(e)):
        raise ValueError(f"{name} edges must be a finite 1-D array of at least 2 values")
    if not np.all(np.diff(e) > 0):
        raise ValueError(f"{name} edges are not strictly increasing")
    if lo is not None and (e[0] != lo or e[-1] != hi):
        raise ValueError(f"{name} edges span [{e[0]:g}, {e[-1]:g}]; allowed: exactly [{lo:g}, {hi:g}]")
    return e


class MuCells:
    """``mu`` centres and widths ``dmu`` from ``mu_edges`` (Grid, the reference's pitch operator)."""

    @property
    def mu(self):
        return 0.5 * (self.mu_edges[1:] + self.mu_edges[:-1])

    @property
    def dmu(self):
        return np.diff(self.mu_edges)


class PCells:
    """Momentum centres and volumes from ``p_edges`` (Grid, a term's local plane)."""

    @property
    def p(self):
        """Cell momenta: geometric centres ``sqrt(p_- p_+)`` (exact centres of log cells)."""
        return np.sqrt(self.p_edges[1:] * self.p_edges[:-1])

    @property
    def p_volume(self):
        """``V_k = int p^2 dp`` over each momentum cell."""
        return np.diff(self.p_edges**3) / 3.0


@dataclass(frozen=True)
class Grid(MuCells, PCells):
    """Edges in z (or None), mu and p; derived centres, widths and volumes."""

    z_edges: np.ndarray | None
    mu_edges: np.ndarray
    p_edges: np.ndarray

    def __post_init__(self):
        if self.z_edges is not None:
            object.__setattr__(self, "z_edges", _check_edges("z", self.z_edges))
        mu = _check_edges("mu", self.mu_edges, -1.0, 1.0)
        if not np.any(mu == 0.0):
            raise ValueError("mu edges must contain 0 (the streaming direction must be constant in every cell)")
        object.__setattr__(self, "mu_edges", mu)
        p = _check_edges("p", self.p_edges)
        if p[0] <= 0:
            raise ValueError(f"p edges start at {p[0]:g}; allowed: > 0")
        object.__setattr__(self, "p_edges", p)

    # sizes
    @property
    def homogeneous(self) -> bool:
        return self.z_edges is None

    @property
    def nz(self) -> int:
        return 0 if self.z_edges is None else self.z_edges.size - 1

    @property
    def nmu(self) -> int:
        return self.mu_edges.size - 1

    @property
    def np_(self) -> int:
        return self.p_edges.size - 1

    @property
    def shape(self) -> tuple:
        """Shape of the unknown array: ``(np, nz, nmu, 2)`` or ``(np, nmu)`` when homogeneous."""
        return (self.np_, self.nmu) if self.homogeneous else (self.np_, self.nz, self.nmu, 2)

    @property
    def size(self) -> int:
        return int(np.prod(self.shape))

    # centres and widths
    @property
    def z(self):
        return None if self.z_edges is None else 0.5 * (self.z_edges[1:] + self.z_edges[:-1])

    @property
    def dz(self):
        return None if self.z_edges is None else np.diff(self.z_edges)

