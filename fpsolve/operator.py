r"""The steady problem as an affine operator ``A f = b`` (finite volumes, integrated form).

Equation (paper Eqs. 3, 4), all terms on the left:

.. math::
    v\mu\partial_z f - \partial_\mu(D_{\mu\mu}\partial_\mu f + D_{\mu p}\partial_p f)
    - p^{-2}\partial_p\big(p^2[D_{\mu p}\partial_\mu f + D_{pp}\partial_p f + b(p) f]\big)
    + f/T_c = S,

with ``b = |p_dot| >= 0`` the continuous loss rate (Eq. 4 with the sign of Eqs. 52-53) and
``T_c`` the catastrophic loss time.  Each row is the equation integrated over its cell
(``dz * dmu * p^2 dp``) — times ``xi`` for the slope rows of the linear-discontinuous z
representation — so that summing the mean rows gives the particle balance exactly:
``sum(b) = escape through the z ends + outflow at p_min (+ p_max) + catastrophic losses``.

Boundaries: z — free escape (no inflow), periodic, or a mirror at ``z_min`` (f(z_min, mu) =
f(z_min, -mu)); mu — no flux through mu = +-1 (``D_mumu`` vanishes there anyway); p — the loss
flux is upwind from above with no inflow at ``p_max`` and free outflow at ``p_min``; the
diffusive p flux is zero at both ends (``"zero_flux"``) or uses f = 0 beyond them
(``"zero_value"``).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import scipy.sparse as sp
from scipy.special import erf

from . import kernels
from .face_coefficients import FaceCoefficients, face_coefficients
from .grid import Grid

__all__ = ["Physics", "SteadyProblem", "mu_p_operator", "source_vector", "build_problem", "Source"]


@dataclass(frozen=True)
class Source:
    r"""``S(z, p) = amplitude * shape(z) * (p/p0)^{-q}`` with a unit-integral shape.

    kind: ``"uniform"`` (S_z = 1/length, or 1 for homogeneous problems), ``"layer"``
    (Theta(z_u - |z|), not normalised: S_z = 1 inside, as Eq. 60), ``"point"`` (delta(z - z_i),
    deposited so that the injected number is exact), ``"gaussian"`` (centre, sigma, unit integral).
    """

    kind: str = "uniform"
    amplitude: float = 1.0
    q: float = 4.0
    p0: float = 1.0
    centre: float = 0.0
    width: float = 0.0  # z_u for layers, sigma for Gaussians


@dataclass(frozen=True)
class Physics:
    """Everything the operator needs besides the grid: coefficient set, losses, source, boundaries."""

    model: object
    source: Source
    loss_rate: Callable | None = None  # b(p) = |p_dot| >= 0
    tau_c: float = np.inf  # catastrophic loss time
    p_slope_ref: float = 0.0  # Gamma_ref: p-derivatives and loss upwinding are exact for p^-Gamma_ref
    loss_scheme: str = "upwind2"  # upwind2 | upwind1 (see loss_face_weights)
    z_left: str = "escape"  # escape | periodic | mirror
    z_right: str = "escape"  # escape | periodic
    p_diffusion_bc: str = "zero_flux"  # zero_flux | zero_value


@dataclass(frozen=True)
class SteadyProblem:
    """``A f = b`` with the diagonal mass (cell volumes; 1/3 for slope rows) and what made it."""

    grid: Grid
    physics: Physics
    A: sp.csr_matrix
    b: np.ndarray
    mass: np.ndarray
    coefficients: FaceCoefficients
    l_mu_p: sp.csr_matrix
    timings: dict = field(default_factory=dict)

    def residual(self, f):
        return self.A @ f - self.b


def p_derivative_weights(p, gamma):
    r"""3-point ``df/dp(p_k) = sum_s w[k, s] f[idx[k, s]]``, exact for ``1``, ``p^-gamma`` and
    ``p^-gamma ln p``.

    Annihilating constants keeps the transposed (energy) terms conservative; exactness for power
    laws of index near ``gamma`` (to first order in the index change) removes the
    ``(gamma dlnp)^2/6`` error of plain central differences (7.7% for gamma = 4.7 at 16 cells
    per decade), which would enter the Compton–Getting anisotropy directly.  Second order for
    any smooth f; stencil k-1, k, k+1 (shifted inwards at the ends).  For gamma = 0 the basis is
    1, ln p, (ln p)^2.  Returns ``(idx, w)`` of shape (np, 3).
    """
    n = p.size
    if n < 3:
        idx = np.array([[0, min(1, n - 1), min(1, n - 1)]] * n)
        w = np.zeros((n, 3))
        if n == 2:
            w[:, 0], w[:, 1] = -1.0 / (p[1] - p[0]), 1.0 / (p[1] - p[0])
        return idx, w
    centre = np.clip(np.arange(n), 1, n - 2)
    idx = np.stack([centre - 1, centre, centre + 1], axis=1)
    x = p[idx] / p[:, None]  # stencil in units of p_k; derivative at x = 1
    lx = np.log(x)
    if abs(gamma) < 1e-9:
        basis, deriv = [np.ones_like(x), lx, lx**2], [0.0, 1.0, 0.0]
    else:
        basis, deriv = [np.ones_like(x), x ** (-gamma), x ** (-gamma) * lx], [0.0, -gamma, 1.0]
    mat = np.stack(basis, axis=1)  # (n, basis, stencil)
    rhs = np.broadcast_to(np.array(deriv), (n, 3))
    w = np.linalg.solve(mat, rhs[..., None])[..., 0] / p[:, None]
    return idx, w


def loss_face_weights(p, pf, gamma, scheme="upwind2"):
    r"""Upwind face values for the loss flux ``p^2 b f`` at interior p faces, from above.

    With ``f~ = f p^gamma`` (smooth for spectra near ``p^-gamma``): ``"upwind1"`` takes
    ``f~_face = f~_{k+1}`` (positive weights, exact for ``p^-gamma``); ``"upwind2"`` extrapolates
    ``f~`` linearly in ``ln p`` from cells k+1 and k+2 (exact for ``p^-gamma (a + b ln p)``,
    second order; first order in the top face).  Returns ``[(cell indices, weights), ...]``
    over the faces ``pf`` (face q between cells q and q+1).
    """
    n = p.size
    q = np.arange(n - 1)
    up1 = q + 1
    if scheme == "upwind1" or n < 3:
        return [(up1, (p[up1] / pf) ** gamma)]
    up2 = np.minimum(q + 2, n - 1)
    t = np.where(up2 > up1, (np.log(pf) - np.log(p[up1])) / np.where(up2 > up1, np.log(p[up1] / p[up2]), 1.0), 0.0)
    # f~_face = (1 + t) f~_{k+1} - t f~_{k+2};  f = f~ p^-gamma at the face
    w1 = (1.0 + t) * (p[up1] / pf) ** gamma
    w2 = -t * (p[up2] / pf) ** gamma
    return [(up1, w1), (up2, w2)]


def outflow_weights(p, p_edge0, gamma, scheme="upwind2"):
    """Face value of f at the lowest p edge (loss outflow), from cells 0 and 1 as in
    :func:`loss_face_weights`; returns ``[(cell, weight), ...]``."""
    if scheme == "upwind1" or p.size < 2:
        return [(0, (p[0] / p_edge0) ** gamma)]
    t = np.log(p_edge0 / p[0]) / np.log(p[0] / p[1])
    return [(0, (1.0 + t) * (p[0] / p_edge0) ** gamma), (1, -t * (p[1] / p_edge0) ** gamma)]


def mu_p_operator(grid: Grid, physics: Physics, fc: FaceCoefficients) -> sp.csr_matrix:
    r"""The (mu, p) part of A per unit z mass: rows/cols ``k*nmu + j``, integrated over dmu p^2 dp.

    Diffusion in (mu, p) is the gradient of one quadratic form (the discrete analogue of
    ``1/2 int p^2 grad f . D grad f``, ``D`` = [[D_mumu, D_mup], [D_mup, D_pp]]):

    ``E = 1/2 sum_{k,faces} V_k G (f_{j+1} - f_j + X D_p f)^2 + 1/2 sum_{p faces} dmu p^2 R (df/dp)^2``

    with ``G``, ``X`` of :mod:`fpsolve.face_coefficients`, ``D_p f`` the 3-point p-derivative
    averaged over the two cells of the face (:func:`p_derivative_weights`) and
    ``R = <D_pp - D_mup^2/D_mumu> >= 0``.  The matrix ``dE/df`` is symmetric positive
    semi-definite for any H_c (the tensor D is degenerate for |H_c| = 1, where R = 0), conserves
    particles (every piece is a difference of fluxes, and ``D_p 1 = 0``), and its mu-face flux
    ``G (f_{j+1}-f_j) + G X D_p f`` makes both anisotropies of Eq. (7) exact at the mu centres in the
    diffusion limit.  Losses (upwind from above in p) and catastrophic losses are added.
    """
    nk, nm = grid.np_, grid.nmu
    dmu = grid.dmu
    p, pe, vol = grid.p, grid.p_edges, grid.p_volume
    idx = np.arange(nk * nm).reshape(nk, nm)
    rows, cols, vals = [], [], []

    def add(r, c, v):
        r, c, v = np.broadcast_arrays(r, c, v)
        rows.append(r.ravel()); cols.append(c.ravel()); vals.append(v.ravel())

    # --- mu faces: J f = (f_{j+1} - f_j) + X D_p f ;  rows += J^T (V G) J f
    left, right = idx[:, :-1], idx[:, 1:]  # (nk, nm-1)
    w = fc.g_mu * vol[:, None]  # V G per face
    # the linear map J as a list of (column index array, coefficient array) terms, each (nk, nm-1)
    terms = [(right, np.ones_like(w)), (left, -np.ones_like(w))]
    if nk > 1:
        sidx, sw = p_derivative_weights(p, physics.p_slope_ref)  # (nk, 3)
        for s_ in range(3):
            kk = sidx[:, s_][:, None]
            coef = 0.5 * fc.x_mu * sw[:, s_][:, None]
            for cell in (left, right):
                terms.append((kk * nm + cell % nm, coef))
    for r_col, r_coef in terms:  # row pieces: J^T
        for c_col, c_coef in terms:
            add(r_col, c_col, r_coef * w * c_coef)

    # --- momentum faces: reduced diffusion R (compact) and losses (upwind from above)
    if nk > 1:
        pf = pe[1:-1]
        lower, upper = idx[:-1], idx[1:]
        wp = dmu[None, :] * (pf**2)[:, None]
        gpp = wp * fc.rpp_pf[1:-1] / (p[1:] - p[:-1])[:, None]
        for sign, r in ((-1.0, lower), (1.0, upper)):
            add(r, upper, sign * gpp)
            add(r, lower, -sign * gpp)
        if physics.loss_rate is not None:
            bl = wp * np.asarray(physics.loss_rate(pf), dtype=float)[:, None]
            for kk, wk in loss_face_weights(p, pf, physics.p_slope_ref, physics.loss_scheme):
                add(lower, kk[:, None] * nm + np.arange(nm)[None, :], -bl * wk[:, None])
                add(upper, kk[:, None] * nm + np.arange(nm)[None, :], bl * wk[:, None])
    if physics.loss_rate is not None:  # outflow at p_min from above; no inflow at p_max
        b0 = dmu * pe[0] ** 2 * float(np.asarray(physics.loss_rate(pe[0])))
        for cell, wk in outflow_weights(p, pe[0], physics.p_slope_ref, physics.loss_scheme):
            add(idx[0], idx[cell], b0 * wk)
    if physics.p_diffusion_bc == "zero_value":
        for kb, face, dist in ((0, 0, p[0] - pe[0]), (nk - 1, nk, pe[-1] - p[-1])):
            add(idx[kb], idx[kb], dmu * pe[face] ** 2 * fc.rpp_pf[face] / dist)
    if np.isfinite(physics.tau_c):
        add(idx, idx, dmu[None, :] * vol[:, None] / physics.tau_c)
    n = nk * nm
    m = sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(n, n))
    m.eliminate_zeros()
    return m


def _p_integral(src: Source, pe):
    """``int p^2 (p/p0)^-q dp`` over each momentum cell, exact."""
    a = 3.0 - src.q
    if abs(a) < 1e-12:
        return src.p0**3 * np.diff(np.log(pe))
    return src.p0**src.q * np.diff(pe**a) / a


def _z_moments(src: Source, ze, length):
    """Integrals of S_z over each z cell against 1 and xi = 2(z - z_i)/h: arrays (nz, 2)."""
    zc, h = 0.5 * (ze[1:] + ze[:-1]), np.diff(ze)
    m = np.zeros((zc.size, 2))
    if src.kind == "uniform":
        m[:, 0] = h / length
    elif src.kind == "layer":
        a = np.clip(ze[:-1], -src.width, src.width)
        b = np.clip(ze[1:], -src.width, src.width)
        m[:, 0] = b - a
        m[:, 1] = ((b - zc) ** 2 - (a - zc) ** 2) / h
    elif src.kind == "gaussian":
        s2 = np.sqrt(2.0) * src.width
        ea, eb = erf((ze[:-1] - src.centre) / s2), erf((ze[1:] - src.centre) / s2)
        ga = np.exp(-((ze[:-1] - src.centre) ** 2) / (2 * src.width**2)) / np.sqrt(2 * np.pi)
        gb = np.exp(-((ze[1:] - src.centre) ** 2) / (2 * src.width**2)) / np.sqrt(2 * np.pi)
        m[:, 0] = 0.5 * (eb - ea)
        m[:, 1] = (2.0 / h) * (-src.width * (gb - ga) + (src.centre - zc) * m[:, 0])
    elif src.kind == "point":
        inside = np.flatnonzero((ze[:-1] <= src.centre) & (src.centre <= ze[1:]))
        share = 1.0 / inside.size  # a point on an edge is split between the two cells
        for i in inside:
            m[i, 0] += share
            m[i, 1] += share * 2.0 * (src.centre - zc[i]) / h[i]
    else:
        raise ValueError(f"source kind = {src.kind!r} is not allowed; allowed: uniform, layer, point, gaussian")
    return m


def source_vector(grid: Grid, src: Source) -> np.ndarray:
    """Right-hand side: the source integrated over each cell (and against xi for slope rows)."""
    sp_ = src.amplitude * _p_integral(src, grid.p_edges)  # (nk,)
    if grid.homogeneous:
        return (sp_[:, None] * grid.dmu[None, :]).ravel()
    ze = grid.z_edges
    zm = _z_moments(src, ze, ze[-1] - ze[0])  # (nz, 2)
    return (sp_[:, None, None, None] * zm[None, :, None, :] * grid.dmu[None, None, :, None]).ravel()


_BC = {"escape": kernels.ESCAPE, "periodic": kernels.PERIODIC, "mirror": kernels.MIRROR}


def z_mass(grid: Grid) -> np.ndarray:
    """z mass of the two linear-discontinuous modes, (nz, 2): h and h/3."""
    h = grid.dz
    return np.stack([h, h / 3.0], axis=1)


def streaming_coefficients(grid: Grid, physics: Physics) -> np.ndarray:
    """``v(p_k) mu_j dmu_j V_k``, (np, nmu)."""
    v = np.asarray(physics.model.velocity(grid.p), dtype=float)
    return (v * grid.p_volume)[:, None] * (grid.mu * grid.dmu)[None, :]


def assemble_z_problem(l_mu_p: sp.csr_matrix, grid: Grid, physics: Physics) -> sp.csr_matrix:
    """Full z-problem matrix by the numba kernels: count, cumulate, fill (CSR, sorted, merged)."""
    nk, nz, nm = grid.np_, grid.nz, grid.nmu
    mirror = np.arange(nm)[::-1].copy()
    args = (l_mu_p.indptr.astype(np.int64), l_mu_p.indices.astype(np.int64), l_mu_p.data,
            nk, nz, nm, z_mass(grid), streaming_coefficients(grid, physics),
            _BC[physics.z_left], _BC[physics.z_right], mirror)
    counts = kernels.count_z_problem(*args)
    indptr = np.cumsum(counts)
    indices = np.empty(indptr[-1], dtype=np.int64)
    data = np.empty(indptr[-1], dtype=np.float64)
    kernels.fill_z_problem(*args, indptr, indices, data)
    n = nk * nz * nm * 2
    idx_dtype = np.int32 if indptr[-1] < 2**31 else np.int64
    return sp.csr_matrix((data, indices.astype(idx_dtype), indptr.astype(idx_dtype)), shape=(n, n))


def mass_vector(grid: Grid) -> np.ndarray:
    """Cell volumes per unknown (h/3 for slope modes): the mass of the pseudo-time march."""
    dv = grid.p_volume[:, None] * grid.dmu[None, :]
    if grid.homogeneous:
        return dv.ravel()
    return (dv[:, None, :, None] * z_mass(grid)[None, :, None, :]).ravel()


def build_problem(grid: Grid, physics: Physics) -> SteadyProblem:
    """Grid + physics -> ``SteadyProblem`` (face coefficients, (mu,p) operator, z assembly, source)."""
    import time

    if physics.z_left == "mirror":
        if not np.allclose(grid.mu_edges, -grid.mu_edges[::-1], rtol=0, atol=1e-15):
            raise ValueError("z_left = 'mirror' needs a mu grid symmetric about 0")
    t0 = time.perf_counter()
    fc = face_coefficients(physics.model, grid)
    t1 = time.perf_counter()
    l_mu_p = mu_p_operator(grid, physics, fc)
    t2 = time.perf_counter()
    A = l_mu_p if grid.homogeneous else assemble_z_problem(l_mu_p, grid, physics)
    t3 = time.perf_counter()
    b = source_vector(grid, physics.source)
    timings = {"coefficients_s": t1 - t0, "mu_p_operator_s": t2 - t1, "assembly_s": t3 - t2}
    return SteadyProblem(grid, physics, A.tocsr(), b, mass_vector(grid), fc, l_mu_p, timings)
