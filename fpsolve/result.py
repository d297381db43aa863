r"""A kinetic solution (:class:`Result`) and its diagnostics: F, g, delta, fluxes, the Eq. (7)
prediction, the particle balance, min f, values at a position z.

Representation: ``f`` has shape ``(np, nz, nmu, 2)`` (cell mean ``a`` and half-slope ``b`` of
the linear-discontinuous z representation) or ``(np, nmu)`` for homogeneous problems.  All
derived fields are cell means in z, with shape ``(np, nz, ...)`` (``nz`` axis absent when
homogeneous).  ``F = 1/2 sum_j dmu_j f_j`` is the same mu quadrature the scheme conserves.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ._version import __version__
from .dataset import describe
from .physics import anisotropy_shapes, streaming_shape_closed
from .summary import summary_text

__all__ = ["Result", "Fields", "compute_fields", "particle_balance", "balance_closed", "negative_cells", "min_f", "interpolate_z",
           "cell_means_at", "isotropic_at", "streaming_coefficient"]


@dataclass
class Fields:
    """Derived fields (cell means in z; arrays indexed [p, z, mu] or [p, mu])."""

    f: np.ndarray  # cell means of f
    F: np.ndarray  # isotropic part, Eq. (5)
    g: np.ndarray  # anisotropy f - F, Eq. (2)
    dF_dz: np.ndarray | None  # from the linear-discontinuous slopes
    dF_dp: np.ndarray  # central differences in p (one-sided at the ends)
    delta: np.ndarray  # maximum relative anisotropy, Eq. (11), signed: (f(1)-f(-1))/(f(1)+f(-1))
    streaming_flux: np.ndarray  # (v/2) sum mu dmu f: the flux of the isotropic equation
    g_da: np.ndarray  # diffusion-approximation anisotropy, Eq. (7), from the numerical gradients
    a_s: np.ndarray = field(repr=False, default=None)  # Eq. (7) shapes at the grid, (np, nmu)
    a_c: np.ndarray = field(repr=False, default=None)


def end_values(a, mu):
    """Linear extrapolation of cell means to mu = -1 and mu = +1 (last axis), not below zero where
    the end cell's mean is non-negative: a distribution whose means are >= 0 has end values >= 0
    (the line through the last two means crosses zero only where they do not resolve its fall,
    e.g. a beam ahead of a light front), so delta (Eq. 11) of non-negative means obeys |delta| <= 1
    (measured without the floor: 1.014 at the probe ahead of the quick hard-sphere burst)."""
    lo = a[..., 0] + (a[..., 0] - a[..., 1]) * (-1.0 - mu[0]) / (mu[0] - mu[1])
    hi = a[..., -1] + (a[..., -1] - a[..., -2]) * (1.0 - mu[-1]) / (mu[-1] - mu[-2])
    lo = np.where((a[..., 0] >= 0) & (lo < 0), 0.0, lo)
    hi = np.where((a[..., -1] >= 0) & (hi < 0), 0.0, hi)
    return lo, hi


def log_gradient(F, p, z=None):
    """``dF/dp = (F/p) d ln F/d ln p`` (axis 0 of ``F``) by second-order differences in log space
    (exact for power laws), one-sided second order at the ends (with 3 or more momenta); where the
    log-space stencil meets ``F <= 0`` (or a non-finite value), plain second-order differences in
    p — with a warning (logger ``fpsolve.result``) naming how many points and the first of them
    (its p, and its z from ``z`` for fields with a z axis)."""
    if p.size < 2:
        return np.zeros_like(F)
    edge = 2 if p.size >= 3 else 1
    shape = (-1,) + (1,) * (F.ndim - 1)
    pp = p.reshape(shape)
    with np.errstate(divide="ignore", invalid="ignore"):
        slope = np.gradient(np.log(F), np.log(p), axis=0, edge_order=edge)
        out = F / pp * slope
    ok = np.isfinite(out) & (F > 0)
    if ok.all():
        return out
    import logging

    bad = np.argwhere(~ok)
    first = bad[0]
    where = f"p = {p[first[0]]:.6g}"
    if z is not None and F.ndim > 1:
        where += f", z = {np.asarray(z)[first[1]]:.6g}"
    logging.getLogger(__name__).warning(
        "dF/dp: F <= 0 (min %.3g) in the log-space stencil at %d of %d points, first at %s: plain "
        "differences in p used there", float(np.nanmin(F)), bad.shape[0], F.size, where)
    plain = np.gradient(F, p, axis=0, edge_order=edge)
    return np.where(ok, out, plain)


def compute_fields(grid, model, f) -> Fields:
    """The derived fields of a solution ``f`` (see :class:`Fields`).

    Gradients are second order where the solution is smooth, like the cell means.  ``dF/dz`` in an
    interior cell is the difference of F at its two faces over its width, F at a face being
    ``1/2 sum_j dmu_j fhat_j`` of the upwind face values ``fhat`` the scheme transports (``a + b``
    of the cell below for mu > 0, ``a - b`` of the cell above for mu < 0): centred on any z grid,
    error ``dz^2 F_zzz/24``.  The DG half-slopes alone fall to first order once dz is not >>
    lambda (slab, lambda = 0.1: order 1.0, against 2.0 from the face values).  They are kept in
    the two end cells, where no centred difference exists: at a free-escape wall the kinetic
    boundary layer (F' log-singular at the wall) defeats every cell-level estimate, and at a
    mirror the slope sees the local gradient ``F' ~ z`` that a one-sided difference of the means
    misses when its 3-cell stencil reaches a kink of the source (swk_layer: 0.5% against 35%).
    ``dF/dp``: :func:`log_gradient`.
    """
    mu, dmu, p = grid.mu, grid.dmu, grid.p
    a = f if grid.homogeneous else f[..., 0]
    F = 0.5 * np.tensordot(a, dmu, axes=([-1], [0]))
    g = a - F[..., None]
    if grid.homogeneous:
        dF_dz = None
    else:
        b = f[..., 1]
        dF_dz = np.tensordot(b, dmu, axes=([-1], [0])) / grid.dz[None, :]  # 2 b_F/dz, b_F = F's half-slope
        if grid.nz >= 3:
            fhat = np.where(mu > 0, a[:, :-1] + b[:, :-1], a[:, 1:] - b[:, 1:])  # upwind values, interior faces
            F_face = 0.5 * np.tensordot(fhat, dmu, axes=([-1], [0]))  # (np, nz - 1)
            dF_dz[:, 1:-1] = np.diff(F_face, axis=1) / grid.dz[None, 1:-1]
    dF_dp = log_gradient(F, p, None if grid.homogeneous else grid.z)
    lo, hi = end_values(a, mu)
    with np.errstate(invalid="ignore", divide="ignore"):
        delta = (hi - lo) / (hi + lo)
    v = np.asarray(model.velocity(p), dtype=float)
    vshape = (-1,) + (1,) * (F.ndim - 1)
    streaming = 0.5 * v.reshape(vshape) * np.tensordot(a, mu * dmu, axes=([-1], [0]))
    shapes = anisotropy_shapes(model, mu, p)
    if grid.homogeneous:
        g_da = shapes.a_c * dF_dp[:, None]
    else:
        g_da = shapes.a_s[:, None, :] * dF_dz[..., None] + shapes.a_c[:, None, :] * dF_dp[..., None]
    return Fields(a, F, g, dF_dz, dF_dp, delta, streaming, g_da, shapes.a_s, shapes.a_c)


def particle_balance(problem, f) -> dict:
    """Injected number and every loss channel from the terms' boundary fluxes; closure relative to injection.

    ``injected = escape_z_min + escape_z_max + outflow_p_min + outflow_p_max + catastrophic``
    holds to round-off plus the residual of the linear solve (sum of the mean rows of A f - b):
    each channel is the flux functional of the term that owns it (:meth:`fpsolve.problem.Problem.balance`).
    """
    return problem.balance(f)


#: Closure any converged run reaches: the forward error of the solve (default rtol 1e-10) moves
#: the boundary fluxes by that fraction of the injection at most (measured closures of the
#: bundled cases with the flux-form residual: 2e-16 ... 3e-14).
BALANCE_TOL = 1e-10


def balance_closed(balance, tol=BALANCE_TOL) -> bool:
    """Closed to ``tol`` or to ``closure_roundoff_bound``, whichever is larger.

    The bound is the flux-form one (:meth:`fpsolve.problem.Problem.closure_roundoff`:
    8 eps x the sum of the magnitudes of the face fluxes over the injected number — the rounding
    the flux-form residual really has, with the factor 8 stated there), not the stored matrix's
    ``8 eps sum |A| |f|`` (``closure_roundoff_bound_matrix``, reported only): that one grows like
    dz/lambda and accepted 8e-5 on the thick slab (lambda = 1e-5, bound 1.6e-2), where the
    flux-form solution closes to 2e-14 (bound 1.7e-8)."""
    return abs(balance["closure"]) <= max(tol, balance["closure_roundoff_bound"])


def negative_cells(grid, f, solve_error: float = 0.0) -> dict:
    """Cell means below the tolerance of their own discretisation error, and the worst of them.

    A linear-discontinuous trace ``a +- b`` of a positive function undershoots 0 whenever the
    cell does not resolve its variation (``|b| > a``): the undershoot is at most ``|b|``, so a
    negative *trace* with ``a >= 0`` is the representation's own error and is never flagged
    (it is reported as min f).  A cell mean is the solution's own value: it is flagged when
    ``a < -tol``, ``tol`` the local discretisation-error estimate the run has: the larger of
    ``|b|`` (the difference between the DG trace and the cell mean; z problems) and a quarter of
    the largest difference to the neighbouring cell means in z and mu (a second-order cell mean
    errs by a fraction of the variation across it where that variation is not resolved, e.g. in
    the boundary layer of the incoming directions next to a free-escape face: the slab with
    lambda = 0.3, 400 cells, has a mean of -2.8e-5 where the next z cell differs by 2e-3), plus
    ``solve_error``, the absolute error of the solve's iterate (:class:`Result` passes the last
    refinement correction, ``forward_error * ||f||_2``, which bounds every entry's estimated
    error: full_alfvenic with no scattering above p = 300 has means of -1.7e-12 in planes where
    f ~ 1e-12, within its 5e-10), and the round-off of f, ``1e-13 max|f|``.  The quarter makes a
    sign alternation in mu of amplitude A (differences 2A, tol A/2) fail, the signature of an
    indefinite stencil.
    """
    a = f if grid.homogeneous else f[..., 0]
    if _none_below(grid, f, solve_error):
        return {"count": 0, "worst": 0.0, "estimate": 0.0}
    bad, excess, est = _negative_excess(grid, f, solve_error)
    out = {"count": int(bad.sum()), "worst": 0.0, "estimate": 0.0}
    if out["count"]:
        w = np.unravel_index(np.argmax(np.where(bad, excess, -np.inf)), a.shape)
        out["worst"], out["estimate"] = float(a[w]), float(est[w])
    return out


def negative_cell_mask(grid, f, solve_error: float = 0.0) -> np.ndarray:
    """The cells :func:`negative_cells` counts, (np, nz, nmu) bool (the time runs' fix-up switches them)."""
    return _negative_excess(grid, f, solve_error)[0]


def _none_below(grid, f, solve_error) -> bool:
    """No mean below ``-(1e-13 max|f| + solve_error)``: then no cell has a positive excess (the
    estimate is >= 0) -- one pass instead of the estimate's (a time run asks at every step)."""
    if grid.homogeneous or f.size == 0 or f.ndim != 4 or f.dtype != np.float64:
        return False
    from .kernels import dg_ranges

    amin, _, _, _, big = dg_ranges(f, np.ascontiguousarray(grid.mu > 0))
    return amin >= -(1e-13 * big + solve_error)


def _negative_excess(grid, f, solve_error):
    fmax = float(np.max(np.abs(f))) if f.size else 0.0
    a = f if grid.homogeneous else f[..., 0]
    est = np.zeros_like(a)
    axes = (-1,) if grid.homogeneous else (-1, 1)
    for ax in axes:
        d = 0.25 * np.abs(np.diff(a, axis=ax))
        n = a.shape[ax]
        lo = [slice(None)] * a.ndim
        hi = [slice(None)] * a.ndim
        lo[ax], hi[ax] = slice(0, n - 1), slice(1, n)
        est[tuple(lo)] = np.maximum(est[tuple(lo)], d)
        est[tuple(hi)] = np.maximum(est[tuple(hi)], d)
    if not grid.homogeneous:
        est = np.maximum(est, np.abs(f[..., 1]))
    excess = -a - est - 1e-13 * fmax - solve_error
    return excess > 0, excess, est


def min_f(grid, f) -> dict:
    """Smallest value of f the scheme transports, and where: cell means and upwind face values.

    For z problems the values are the cell means ``a`` and the outflow traces (``a + b`` for
    mu > 0, ``a - b`` for mu < 0), which are the face values of the streaming flux.  The
    inflow-side traces are never used by the upwind scheme; their minimum is reported as
    ``reconstruction_min`` (it undershoots next to free-escape inflow faces, where the exact
    value jumps to 0 within a fraction of a mean free path).
    """
    if grid.homogeneous:
        k, j = np.unravel_index(np.argmin(f), f.shape)
        return {"value": float(f[k, j]), "max": float(f.max()), "z": float("nan"),
                "mu": float(grid.mu[j]), "p": float(grid.p[k]), "reconstruction_min": float(f.min())}
    a, b = f[..., 0], f[..., 1]
    up = grid.mu > 0
    outflow = np.where(up, a + b, a - b)
    cand = np.stack([a, outflow], axis=-1)
    k, i, j, which = np.unravel_index(np.argmin(cand), cand.shape)
    z = grid.z[i] if which == 0 else grid.z_edges[i + (1 if up[j] else 0)]
    inflow = np.where(up, a - b, a + b)
    return {"value": float(cand[k, i, j, which]), "max": float(cand.max()), "z": float(z),
            "mu": float(grid.mu[j]), "p": float(grid.p[k]), "reconstruction_min": float(inflow.min())}


def interpolate_z(grid, a, z0):
    """Cell values ``a[:, i, ...]`` (axis 1 = z cells) interpolated linearly between cell centres to
    ``z0`` (constant beyond the outer centres)."""
    ze, zc = grid.z_edges, grid.z
    if not (ze[0] <= z0 <= ze[-1]):
        raise ValueError(f"probe z = {z0!r} is outside the domain [{ze[0]:g}, {ze[-1]:g}]")
    if zc.size == 1:
        return a[:, 0]
    i = int(np.clip(np.searchsorted(zc, z0) - 1, 0, zc.size - 2))
    t = float(np.clip((z0 - zc[i]) / (zc[i + 1] - zc[i]), 0.0, 1.0))
    return (1 - t) * a[:, i] + t * a[:, i + 1]


def cell_means_at(grid, f, z0):
    """Cell means ``a`` interpolated linearly between cell centres to ``z0``, shape (np, nmu).  In the
    thick diffusion limit the anisotropy (~lambda/dz of f) is carried by the cell means; the traces
    a +- b differ from them by the resolved part of the slope."""
    return interpolate_z(grid, f[..., 0], z0)


def isotropic_at(grid, f, fields, z0):
    """``F(z0, p)`` from the interpolated cell means and ``d ln F/dz`` from the linear-discontinuous
    slopes of the cells on either side of ``z0`` (one cell if ``z0`` is inside it): arrays over p."""
    F = 0.5 * np.sum(cell_means_at(grid, f, z0) * grid.dmu, axis=1)
    i = int(np.searchsorted(grid.z_edges, z0))
    on_edge = 0 < i < grid.nz and np.isclose(grid.z_edges[i], z0, rtol=0, atol=1e-12)
    cells = [i - 1, i] if on_edge else [max(i - 1, 0)]
    return F, np.mean([fields.dF_dz[:, c] for c in cells], axis=0) / F


def streaming_coefficient(g, grid, s):
    """Least-squares coefficient ``c`` of ``g(mu) ~ c |mu|^{2-s} sgn mu`` (the Eq. 38 shape) over the mu
    cells, weighted by dmu; ``g`` may carry leading axes (mu last)."""
    shape = streaming_shape_closed(grid.mu, s=s)
    return np.sum(g * shape * grid.dmu, axis=-1) / np.sum(shape**2 * grid.dmu)


@dataclass
class Result:
    """A kinetic solution with everything needed to judge it; also what :func:`fpsolve.read` returns
    (then ``problem`` is None: the operator is not stored, and ``probes`` is empty)."""

    case: object  # fpsolve.case.Case
    grid: object  # fpsolve.grid.Grid
    f: np.ndarray
    info: object  # fpsolve.solvers.SolveInfo
    fields: Fields
    balance: dict
    min_f: dict
    probes: list  # fpsolve.probes.Probe
    timings: dict = field(default_factory=dict)
    peak_memory_mb: float = 0.0
    version: str = __version__
    problem: object = None  # fpsolve.problem.Problem of the run
    stored_summary: str = ""  # the summary written with the file (read results)

    @property
    def balance_ok(self) -> bool:
        """The particle balance closes (see :func:`balance_closed`)."""
        return balance_closed(self.balance)

    def _negative_cells(self) -> dict:
        f = np.asarray(self.f)
        fe = getattr(self.info, "forward_error", np.inf)
        if not np.isfinite(fe):
            fe = getattr(self.info, "rtol", 0.0)
        return negative_cells(self.grid, f, fe * float(np.linalg.norm(f)))

    @property
    def negative_f(self) -> bool:
        """Some cell mean is negative beyond its discretisation-error estimate and the solve's
        error (:func:`negative_cells`)."""
        return self._negative_cells()["count"] > 0

    def trust_failures(self) -> list:
        """One line per failed criterion of :attr:`trustworthy` (empty: trustworthy)."""
        out = []
        if not self.info.converged:
            out.append(f"NOT CONVERGED: {self.info.message}")
        if not self.balance_ok:
            b = self.balance
            out.append(f"particle balance not closed: |closure| {abs(b['closure']):.2e} > max({BALANCE_TOL:.0e}, "
                       f"round-off bound {b['closure_roundoff_bound']:.1e})")
        neg = self._negative_cells()
        if neg["count"]:
            out.append(f"NEGATIVE f: {neg['count']} cell means below minus their discretisation-error estimate "
                       f"(worst {neg['worst']:.3e} against |trace - mean| {neg['estimate']:.3e})")
        return out

    @property
    def trustworthy(self) -> bool:
        """Converged (forward-error test), balance closed (:func:`balance_closed`) and no cell mean
        negative beyond its discretisation error (:func:`negative_cells`); else flagged, with one
        line per failed criterion (:meth:`trust_failures`) in the summary."""
        return not self.trust_failures()

    def summary(self) -> str:
        """The run summary (:func:`fpsolve.summary.summary_text`); for a read result, the one in the file."""
        return self.stored_summary or summary_text(self)

    def to_xarray(self):
        """The fields as an ``xarray.Dataset`` with dimensions (z, mu, p): exactly the root of the HDF5
        file :func:`fpsolve.write` makes (both come from :func:`fpsolve.dataset.describe`)."""
        try:
            import xarray as xr
        except ImportError as err:  # pragma: no cover - xarray is in the test extra
            raise ImportError("Result.to_xarray needs xarray (pip install xarray)") from err
        d = describe(self)
        return xr.Dataset({v.name: (v.dims, v.data, v.attrs) for v in d.variables},
                          coords={c.name: (c.dims, c.data, c.attrs) for c in d.coords}, attrs=d.attrs)
