r"""Semi-analytic reference for eps = 0 slabs: the mu-discretised kinetic equation solved exactly in z.

Equation (paper Eqs. 3-4 at one momentum, eps = 0: pitch-angle scattering only, no losses)

.. math:: v\mu\,\partial_z f - \partial_\mu(D_{\mu\mu}\partial_\mu f) = S(z),

discretised in mu *only*, with the face conductances ``G`` of the kinetic solver
(:mod:`fpsolve.face_coefficients`) and every row integrated over its mu cell:

.. math:: W f'(z) = -L f(z) + S(z)\,d,\qquad W = \mathrm{diag}(v\mu_j\,\Delta\mu_j),\quad
          d = (\Delta\mu_j),\quad L = D^T\mathrm{diag}(G)\,D,

``(Df)_i = f_{i+1} - f_i``.  ``L`` is symmetric positive semi-definite with null space the
constants; ``W`` is non-singular (``mu = 0`` is an edge) and indefinite.  The modes
``f = phi e^{-sigma z}`` solve the pencil ``L phi = sigma W phi``.  With ``L = R^T R``,
``R = diag(sqrt G) D``, the non-zero ``sigma`` are those of the symmetric tridiagonal
``M = R W^{-1} R^T`` and ``phi = W^{-1} R^T psi`` (so ``phi_k^T W phi_l = sigma_k delta_kl``).
``M`` has one zero eigenvalue: ``sigma = 0`` is a 2x2 Jordan block of the pencil, the
diffusion mode ``f = b + c (z + phi_1)`` with ``L phi_1 = -W 1`` — the discrete Eq. (7)/(38)
anisotropy per unit gradient, whose face fluxes are ``v(mu_f^2 - 1)/2`` exactly — and
``kappa_zz = phi_1^T L phi_1 / 2`` (Eq. 9 on the grid, as
:func:`fpsolve.face_coefficients.discrete_kappa_zz`).  In modal coordinates
``f = sum_k a_k phi_k + b 1 + c phi_1`` the system decouples,

.. math:: a_k' + \sigma_k a_k = \delta_k S,\qquad c' = \delta_c S,\qquad b' = c + \delta_b S,

(``delta`` the coordinates of ``W^{-1} d``; ``delta_c = -1/kappa_zz``: ``F'' = -S/kappa_zz``),
integrated exactly against the source shapes of :mod:`.source_integrals` with exponentials
scaled from the end each mode decays away from.  The n free constants (one per decaying mode
and b, c at ``z_min``) follow from the n inflow conditions: free escape ``f(z_min, mu > 0) = 0``,
``f(z_max, mu < 0) = 0``, or a mirror ``f(z_min, mu) = f(z_min, -mu)``.

Nothing here touches the z discretisation of the kinetic solver (:mod:`fpsolve.terms.streaming`,
:mod:`fpsolve.kernels`): a comparison with the kinetic solution on the same mu grid isolates
the z error, and the same construction on finer mu grids gives the mu-converged answer.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.linalg import eigh_tridiagonal

from ..face_coefficients import face_coefficients
from ..grid import Grid, MuCells
from ..physics import pitch_integrals
from .source_integrals import SourceShape, shape_from_source

__all__ = ["wall_graded_edges", "PitchOperator", "pitch_operator", "SlabModes", "slab_modes", "SlabSolution",
           "solve_slab", "reference_for", "MilneLength", "milne_length", "source_strength"]

#: A zero eigenvalue of M is "zero" when below this fraction of the smallest decay rate; the
#: computed one is ~1e-16 ||M||, the smallest rate ~20/lambda, ||M|| ~ 1e7/lambda on 1024 uniform cells.
_ZERO_GAP = 1e-6
#: A symmetric eigensolver resolves an eigenvalue to ~eps ||M|| absolutely (a few eps with the
#: tridiagonal solvers): the slowest rate then carries a relative error ~eps max|sigma|/min|sigma|.
_EPS_RATE = 4.0 * np.finfo(float).eps
#: Largest accepted relative error of the slowest decay rate (grids graded hard towards mu = 0 reach it).
_RATE_TOL = 1e-6


def wall_graded_edges(z_min: float, z_max: float, h: float, h_wall: float, refine: int = 0) -> np.ndarray:
    """z edges: cells of width ~``h`` inside, halving towards each wall down to ``h_wall`` (the boundary
    layers of the fast modes, width ``1/max|sigma|``, are then resolved), every cell bisected
    ``refine`` times (a refinement family with a fixed grading, for observed orders)."""
    if not (0.0 < h_wall <= h < z_max - z_min):
        raise ValueError(f"h = {h!r}, h_wall = {h_wall!r}: allowed 0 < h_wall <= h < z_max - z_min")
    layer = np.cumsum([0.0] + [h_wall * 2.0**k for k in range(64) if h_wall * 2.0**k < h])
    if 2.0 * layer[-1] >= z_max - z_min:
        raise ValueError(f"h = {h!r}: the wall layers fill the slab; allowed: a smaller h")
    n = int(np.ceil((z_max - z_min - 2.0 * layer[-1]) / h))
    mid = np.linspace(z_min + layer[-1], z_max - layer[-1], n + 1)
    edges = np.concatenate([z_min + layer[:-1], mid, (z_max - layer[:-1])[::-1]])
    for _ in range(refine):
        edges = np.insert(edges, np.arange(1, edges.size), 0.5 * (edges[1:] + edges[:-1]))
    return edges


# ---------------------------------------------------------------------------------------------
# the mu operator at one momentum
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PitchOperator(MuCells):
    """``W f' = -L f + S d`` at one momentum: conductances ``g_f`` (nmu-1), speed ``v``."""

    mu_edges: np.ndarray
    v: float
    p: float
    g_f: np.ndarray

    @property
    def n(self) -> int:
        return self.mu.size

    @property
    def w(self):
        """Diagonal of ``W``: ``v mu_j dmu_j``."""
        return self.v * self.mu * self.dmu

    def apply_l(self, f):
        """``L f`` along the last axis (minus the flux difference ``G (f_{j+1} - f_j)``)."""
        flux = self.g_f * np.diff(f, axis=-1)
        zero = np.zeros(f.shape[:-1] + (1,))
        return -(np.concatenate([flux, zero], axis=-1) - np.concatenate([zero, flux], axis=-1))

    def l_matrix(self):
        """Dense ``L`` (tests, small grids)."""
        return self.apply_l(np.eye(self.n))

    @property
    def diffusion_shape(self):
        """``phi_1``: ``L phi_1 = -W 1`` with ``sum dmu phi_1 = 0`` — g per unit dF/dz (face fluxes
        ``G (phi_{j+1} - phi_j) = sum_{i<=j} v mu_i dmu_i = v (mu_f^2 - 1)/2``)."""
        flux = np.cumsum(self.w)[:-1]
        phi = np.concatenate([[0.0], np.cumsum(flux / self.g_f)])
        return phi - np.sum(phi * self.dmu) / 2.0

    @property
    def kappa_zz(self) -> float:
        """Discrete Eq. (9): ``-(v/2) sum mu dmu phi_1 = phi_1^T L phi_1 / 2``."""
        return float(-0.5 * np.sum(self.w * self.diffusion_shape))

    @property
    def mean_free_path(self) -> float:
        """``lambda = 3 kappa_zz / v`` of the discrete operator (Eq. 30's definition)."""
        return 3.0 * self.kappa_zz / self.v


def pitch_operator(model, p: float, mu_edges, p_edges=None) -> PitchOperator:
    """The mu operator of the kinetic solver at momentum ``p`` (or the cell ``p_edges``) on any mu grid.

    The conductances are :func:`fpsolve.face_coefficients.face_coefficients` of the kinetic
    solver.  Only eps = 0 problems (no mu-p coupling) reduce to one momentum: a coefficient set
    with ``D_mup`` or ``D_pp - D_mup^2/D_mumu`` non-zero is refused.
    """
    mu_edges = np.asarray(mu_edges, dtype=float)
    if p_edges is None:
        p_edges = np.array([p / (1.0 + 1e-12), p * (1.0 + 1e-12)])  # a cell centred on p
    grid = Grid(None, mu_edges, np.asarray(p_edges, dtype=float))
    if grid.np_ != 1:
        raise ValueError(f"p_edges = {p_edges!r}: one momentum cell expected (2 edges)")
    fc = face_coefficients(model, grid)
    if np.any(fc.x_mu != 0.0) or np.any(fc.rpp_pf != 0.0):
        raise ValueError("model: D_mup or D_pp is non-zero (eps > 0); the slab reference needs eps = 0")
    g_f = fc.g_mu[0]
    if not np.all(np.isfinite(g_f) & (g_f > 0.0)):
        raise ValueError(f"model: mu-face conductances must be finite and positive at p = {grid.p[0]:g} "
                         "(no scattering: the slab reference needs D_mumu > 0)")
    pc = float(grid.p[0])
    return PitchOperator(grid.mu_edges, float(model.velocity(pc)), pc, g_f)


# ---------------------------------------------------------------------------------------------
# eigen-decomposition of the pencil (L, W)
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SlabModes:
    """Non-zero modes ``sigma`` (ascending), ``phi`` (n, n-2) with ``phi_k^T W phi_k = sigma_k``,
    and the diffusion mode ``phi_1``; ``delta`` = coordinates of ``W^{-1} d``."""

    op: PitchOperator
    sigma: np.ndarray
    phi: np.ndarray
    phi1: np.ndarray
    delta: np.ndarray  # (n-2,) on the phi_k
    delta_b: float  # on the constant
    delta_c: float  # on phi_1 (= -1/kappa_zz)

    @property
    def decay_rates(self):
        return np.abs(self.sigma)


def slab_modes(op: PitchOperator) -> SlabModes:
    """Eigen-decomposition of ``L phi = sigma W phi`` via the tridiagonal ``M = R W^{-1} R^T``."""
    w, sg = op.w, np.sqrt(op.g_f)
    # (D W^-1 D^T)_{ii} = 1/w_i + 1/w_{i+1}, off-diagonal -1/w_{i+1}
    diag = sg * sg * (1.0 / w[:-1] + 1.0 / w[1:])
    off = -sg[:-1] * sg[1:] / w[1:-1]
    if diag.size == 1:  # two mu cells: only the diffusion mode
        sigma, psi = np.zeros(0), np.zeros((1, 0))
    else:
        sigma, psi = eigh_tridiagonal(diag, off)
        i0 = int(np.argmin(np.abs(sigma)))
        rest = np.delete(np.arange(sigma.size), i0)
        slowest, fastest = np.min(np.abs(sigma[rest])), np.max(np.abs(sigma))
        if abs(sigma[i0]) > _ZERO_GAP * slowest:
            raise ValueError(f"mu grid: the pencil (L, W) has no isolated zero eigenvalue ({sigma[i0]:.3e})")
        if _EPS_RATE * fastest / slowest > _RATE_TOL:
            raise ValueError(f"mu grid: decay rates span {fastest / slowest:.1e} (too strongly graded near mu = 0); "
                             f"the slowest modes would lose digits in double precision; allowed: a span below "
                             f"{_RATE_TOL / _EPS_RATE:.0e} (fewer or less graded cells)")
        sigma, psi = sigma[rest], psi[:, rest]
    # phi = W^{-1} R^T psi,  (R^T y)_j = sqrt(G) y at face j-1/2 minus at face j+1/2
    y = sg[:, None] * psi
    rt = np.concatenate([np.zeros((1, y.shape[1])), y]) - np.concatenate([y, np.zeros((1, y.shape[1]))])
    phi = rt / w[:, None]
    d = op.dmu
    delta = (phi.T @ d) / sigma
    phi1 = op.diffusion_shape
    c_n = 2.0 * op.kappa_zz  # phi_1^T L phi_1 = -1^T W phi_1
    # W^{-1} d = sum delta_k phi_k + delta_b 1 + delta_c phi_1; project with 1^T W and phi_1^T W
    delta_c = -np.sum(d) / c_n
    delta_b = (phi1 @ d - delta_c * np.sum(phi1 * w * phi1)) / -c_n
    return SlabModes(op, sigma, phi, phi1, delta, float(delta_b), float(delta_c))


def source_strength(source, p_edges) -> float:
    r"""Source per unit ``dz dmu p^2 dp`` averaged over a momentum cell:
    ``amplitude int p^2 (p/p0)^{-q} dp / int p^2 dp`` (exact)."""
    lo, hi = float(p_edges[0]), float(p_edges[1])
    a = 3.0 - source.q
    if abs(a) < 1e-12:
        pint = source.p0**3 * np.log(hi / lo)
    else:
        pint = source.p0**source.q * (hi**a - lo**a) / a
    return source.amplitude * pint / ((hi**3 - lo**3) / 3.0)


# ---------------------------------------------------------------------------------------------
# the slab solution
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SlabSolution:
    """Exact-in-z solution of ``W f' = -L f + strength s(z) d`` on ``[z_min, z_max]``.

    Amplitudes: ``amp_pos`` of the modes decaying from ``z_min`` (``sigma > 0``, scaled
    ``e^{-sigma (z - z_min)}``), ``amp_neg`` of those decaying from ``z_max``
    (``e^{sigma (z_max - z)}``), and ``b0``, ``c0`` of the diffusion mode at ``z_min``.
    """

    modes: SlabModes
    shape: SourceShape
    strength: float
    z_min: float
    z_max: float
    left: str
    amp_pos: np.ndarray
    amp_neg: np.ndarray
    b0: float
    c0: float

    # modal coordinates -------------------------------------------------------------------
    def _modal(self, z):
        """``a (nz, n-2)``, ``b (nz,)``, ``c (nz,)`` at points ``z``."""
        z = np.atleast_1d(np.asarray(z, dtype=float))
        slack = 1e-12 * (self.z_max - self.z_min)
        if np.any((z < self.z_min - slack) | (z > self.z_max + slack)):
            raise ValueError(f"z = {z.min():g}..{z.max():g} is outside the slab [{self.z_min:g}, {self.z_max:g}]")
        m = self.modes
        pos = m.sigma > 0
        tp, tn = m.sigma[pos], -m.sigma[~pos]
        a = np.empty((z.size, m.sigma.size))
        st = self.strength
        a[:, pos] = (self.amp_pos[None, :] * np.exp(-tp[None, :] * (z[:, None] - self.z_min))
                     + st * m.delta[pos][None, :] * self.shape.forward(z, tp))
        a[:, ~pos] = (self.amp_neg[None, :] * np.exp(-tn[None, :] * (self.z_max - z[:, None]))
                      - st * m.delta[~pos][None, :] * self.shape.backward(z, tn))
        s1, s2 = self.shape.repeated(z, 1), self.shape.repeated(z, 2)
        c = self.c0 + st * m.delta_c * s1
        b = self.b0 + self.c0 * (z - self.z_min) + st * (m.delta_c * s2 + m.delta_b * s1)
        return a, b, c

    def _assemble(self, a, b, c):
        m = self.modes
        return a @ m.phi.T + b[:, None] + c[:, None] * m.phi1[None, :]

    # pointwise ----------------------------------------------------------------------------
    def f(self, z):
        """``f(z, mu_j)``: (nz, nmu).  At a point source, the mean of the one-sided limits."""
        return self._assemble(*self._modal(z))

    def F(self, z):
        """Isotropic part, Eq. (5) on the grid: ``1/2 sum dmu f``."""
        return 0.5 * self.f(z) @ self.modes.op.dmu

    def g(self, z):
        """Anisotropy ``f - F``, Eq. (2)."""
        fz = self.f(z)
        return fz - (0.5 * fz @ self.modes.op.dmu)[:, None]

    def dfdz(self, z):
        """``f'`` from the semi-discrete equation itself: ``W^{-1}(-L f + strength s(z) d)``."""
        op = self.modes.op
        rhs = -op.apply_l(self.f(z)) + self.strength * self.shape.value(z)[..., None] * op.dmu[None, :]
        return rhs / op.w[None, :]

    def streaming_flux(self, z):
        """``(v/2) sum mu dmu f``: the flux of F (= -kappa_zz F' in the diffusion limit)."""
        return 0.5 * self.f(z) @ self.modes.op.w

    # cell means -------------------------------------------------------------------------------
    def cell_means(self, z_edges):
        """Exact means of f over the cells ``z_edges`` (nz, nmu): each mode integrated in closed
        form (``int a_k = (delta_k strength int s - [a_k]) / sigma_k``, polynomials for b, c)."""
        ze = np.asarray(z_edges, dtype=float)
        h = np.diff(ze)
        a, b, c = self._modal(ze)
        m, st = self.modes, self.strength
        s1, s2, s3 = (self.shape.repeated(ze, n) for n in (1, 2, 3))
        ia = (st * m.delta[None, :] * np.diff(s1)[:, None] - np.diff(a, axis=0)) / m.sigma[None, :]
        x = ze - self.z_min
        ic = self.c0 * h + st * m.delta_c * np.diff(s2)
        ib = self.b0 * h + self.c0 * np.diff(x * x) / 2.0 + st * (m.delta_c * np.diff(s3) + m.delta_b * np.diff(s2))
        return self._assemble(ia, ib, ic) / h[:, None]

    def F_cell_means(self, z_edges):
        return 0.5 * self.cell_means(z_edges) @ self.modes.op.dmu

    # balance -------------------------------------------------------------------------------------
    @property
    def escape_z_min(self) -> float:
        """Particles leaving through ``z_min``: ``sum_{mu<0} v |mu| dmu f(z_min)`` (per unit p^2 dp)."""
        if self.left == "mirror":
            return 0.0
        op = self.modes.op
        f0 = self.f(np.array([self.z_min]))[0]
        return float(-np.sum(np.where(op.mu < 0, op.w * f0, 0.0)))

    @property
    def escape_z_max(self) -> float:
        op = self.modes.op
        f1 = self.f(np.array([self.z_max]))[0]
        return float(np.sum(np.where(op.mu > 0, op.w * f1, 0.0)))

    @property
    def injected(self) -> float:
        """``strength int s dz sum dmu``."""
        return float(self.strength * self.shape.total * np.sum(self.modes.op.dmu))


def solve_slab(modes: SlabModes, shape: SourceShape, strength: float = 1.0, *, left: str = "escape") -> SlabSolution:
    """Amplitudes from the inflow conditions: free escape at ``z_max`` (``f(mu < 0) = 0``) and at
    ``z_min`` free escape (``f(mu > 0) = 0``) or a mirror (``f(mu) = f(-mu)``); one dense n x n solve."""
    if left not in ("escape", "mirror"):
        raise ValueError(f"left = {left!r} is not allowed; allowed: escape, mirror")
    op = modes.op
    mu = op.mu
    if left == "mirror" and not np.allclose(op.mu_edges, -op.mu_edges[::-1], rtol=0, atol=1e-15):
        raise ValueError("left = 'mirror' needs a mu grid symmetric about 0")
    zmin, zmax = shape.z_min, shape.z_max
    pos = modes.sigma > 0
    npos, nneg = int(pos.sum()), int((~pos).sum())
    zero = SlabSolution(modes, shape, strength, zmin, zmax, left, np.zeros(npos), np.zeros(nneg), 0.0, 0.0)

    def columns(z):
        """f at z for unit amplitudes (n, n) and the particular part (n,)."""
        e_pos = np.exp(-modes.sigma[pos] * (z - zmin))
        e_neg = np.exp(modes.sigma[~pos] * (zmax - z))
        cols = np.concatenate([modes.phi[:, pos] * e_pos, modes.phi[:, ~pos] * e_neg,
                               np.ones((op.n, 1)), (modes.phi1 + (z - zmin))[:, None]], axis=1)
        return cols, zero.f(np.array([z]))[0]

    c_lo, p_lo = columns(zmin)
    c_hi, p_hi = columns(zmax)
    up, down = mu > 0, mu < 0
    if left == "escape":
        rows_lo, rhs_lo = c_lo[up], -p_lo[up]
    else:
        mirror = np.arange(op.n)[::-1]
        rows_lo = c_lo[up] - c_lo[mirror][up]
        rhs_lo = -(p_lo[up] - p_lo[mirror][up])
    a = np.vstack([rows_lo, c_hi[down]])
    rhs = np.concatenate([rhs_lo, -p_hi[down]])
    if a.shape[0] != a.shape[1]:
        raise ValueError(f"mu grid: {int(up.sum())} cells with mu > 0 and {int(down.sum())} with mu < 0 do not "
                         f"match the {npos} + {nneg} decaying modes")
    u = np.linalg.solve(a, rhs)
    return SlabSolution(modes, shape, strength, zmin, zmax, left, u[:npos], u[npos:npos + nneg],
                        float(u[-2]), float(u[-1]))


def reference_for(grid, physics, k: int = 0) -> SlabSolution:
    """The reference for a kinetic problem (``fpsolve.grid.Grid``, ``fpsolve.problem.Physics``; read
    through their attributes only) at momentum cell ``k``: same mu grid, slab, source and walls."""
    if grid.homogeneous:
        raise ValueError("grid: the slab reference needs z cells (z_cells > 0)")
    if physics.loss_rate is not None or np.isfinite(physics.tau_c):
        raise ValueError("losses: the slab reference has no losses (pion_time, power_law_rate, catastrophic_time)")
    if physics.z_right != "escape" or physics.z_left not in ("escape", "mirror"):
        raise ValueError(f"boundaries: z_min = {physics.z_left!r}, z_max = {physics.z_right!r}; allowed: "
                         "z_min escape or mirror, z_max escape")
    pe = grid.p_edges[k:k + 2]
    op = pitch_operator(physics.model, float(grid.p[k]), grid.mu_edges, p_edges=pe)
    shape = shape_from_source(physics.source, float(grid.z_edges[0]), float(grid.z_edges[-1]))
    return solve_slab(slab_modes(op), shape, source_strength(physics.source, pe), left=physics.z_left)


# ---------------------------------------------------------------------------------------------
# Milne problem
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class MilneLength:
    r"""Half-space ``z > 0``, no inflow at ``z = 0``, no source, unit flux-carrying gradient at
    infinity: ``F -> z + z_0``.  ``z0`` in code length; ``z0_over_lambda`` with the discrete
    ``lambda = 3 kappa_zz/v`` of the same mu grid, ``z0_over_lambda_eq9`` with the quadrature
    kappa_zz of Eq. (9); ``F0`` = F(0) per unit gradient; ``emergent`` = f(0, mu) per unit gradient."""

    z0: float
    kappa_zz: float
    mean_free_path: float
    mean_free_path_eq9: float
    F0: float
    mu: np.ndarray
    emergent: np.ndarray

    @property
    def z0_over_lambda(self) -> float:
        return self.z0 / self.mean_free_path

    @property
    def z0_over_lambda_eq9(self) -> float:
        return self.z0 / self.mean_free_path_eq9


def milne_length(model, p: float, mu_edges) -> MilneLength:
    r"""Extrapolation length of this operator: the Milne problem on the same eigen-decomposition.

    ``f(z) = sum_{sigma_k > 0} A_k phi_k e^{-sigma_k z} + (z + z_0) 1 + phi_1`` (the decaying modes
    and the diffusion mode with unit gradient); ``f(0, mu_j) = 0`` for ``mu_j > 0`` fixes the
    ``n_+ - 1`` amplitudes and ``z_0``.  The asymptotic ``F = z + z_0`` vanishes at ``z = -z_0``.
    """
    op = pitch_operator(model, p, mu_edges)
    m = slab_modes(op)
    pos = m.sigma > 0
    up = op.mu > 0
    a = np.concatenate([m.phi[:, pos], np.ones((op.n, 1))], axis=1)[up]
    u = np.linalg.solve(a, -m.phi1[up])
    z0 = float(u[-1])
    f0 = m.phi[:, pos] @ u[:-1] + z0 + m.phi1
    lam9 = float(pitch_integrals(model, np.array([op.p])).mean_free_path[0])
    return MilneLength(z0, op.kappa_zz, op.mean_free_path, lam9, float(0.5 * f0 @ op.dmu), op.mu, f0)
