r"""Terms + grid + source -> the discrete problem ``A f = b`` (and ``M df/dt + A f = b(t)``).

``A`` is the sum of the terms' blocks (:mod:`fpsolve.terms`); ``b`` the source integrated over
each cell; ``M`` (``mass``) the diagonal cell volumes (``h/3`` for DG slope rows), so that a time
stepper and the steady solvers (:mod:`fpsolve.solvers`, which see only ``A``, ``b``, ``mass``)
share one object.  :meth:`Problem.balance` is ``injected = sum over terms of the particles each
removes`` — the same objects as ``A``, so the balance cannot drift from the operator.
:meth:`Problem.accurate_residual` is ``b - A f`` of the unrounded operator (the (mu, p) form in
flux form, the other terms by their blocks, compensated): the solvers refine with it, so the
solution is that of the operator whose balance closes to the rounding of the fluxes
(:meth:`Problem.closure_roundoff`), not that of the rounded merged entries of ``A``
(:meth:`Problem.plane_residual`: the same, one momentum plane at a time, for the plane sweep).

Layouts: a kinetic z problem (unknowns ``((k*nz + i)*nmu + j)*2 + d``; the local (mu, p) blocks
per unit z mass are lifted to the z cells and DG modes together with the streaming in one
numba pass), a homogeneous kinetic problem (``k*nmu + j``) and the reduced model's (z, p) plane
(``k*nz + i``).
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from functools import cached_property
from typing import Callable

import numpy as np
import scipy.sparse as sp

from . import kernels
from .grid import Grid
from .terms import CHANNELS, KINETIC_TERMS, LocalTerm, Plane, SourceTerm, Triplets, ZTerm
from .terms.source import Source

log = logging.getLogger(__name__)

__all__ = ["Physics", "Source", "Layout", "Problem", "SolutionView", "build_problem", "kinetic_layout",
           "reduced_layout"]


@dataclass(frozen=True)
class Physics:
    """Everything the kinetic terms need besides the grid: coefficients, losses, source, boundaries.

    ``z_left``/``z_right``: a :class:`~fpsolve.terms.ZBoundary` or its case name (escape,
    periodic, mirror); ``p_diffusion_bc``: a :class:`~fpsolve.terms.PBoundary` or its name
    (zero_flux, zero_value)."""

    model: object
    source: Source
    loss_rate: Callable | None = None  # b(p) = |p_dot| >= 0
    tau_c: float = np.inf  # catastrophic loss time
    p_slope_ref: float = 0.0  # Gamma_ref: p-derivatives and loss upwinding are exact for p^-Gamma_ref
    loss_scheme: str = "upwind2"  # upwind2 | upwind1 (see terms.losses.loss_face_weights)
    z_left: object = "escape"
    z_right: object = "escape"
    p_diffusion_bc: object = "zero_flux"
    focusing_length: float = np.inf  # L_B = -B/(dB/dz) of adiabatic focusing; inf = off


@dataclass(frozen=True)
class Layout:
    """How the unknowns of a problem are arranged.  ``plane``: where the local terms act;
    ``shape``: of the unknown array; ``lift``: local blocks lifted to (z cell, DG mode)."""

    grid: Grid
    plane: Plane
    shape: tuple
    lift: bool

    @property
    def size(self) -> int:
        return int(np.prod(self.shape))

    @property
    def zmass(self):
        """Integration weight of the z direction per z cell of the local planes."""
        return self.grid.dz if self.lift else np.ones(1)

    def mean_rows(self) -> np.ndarray:
        """1 on the rows that are equations integrated over a cell (not the DG slope rows)."""
        w = np.zeros(self.shape)
        if self.lift:
            w[..., 0] = 1.0
        else:
            w[...] = 1.0
        return w.ravel()

    def mass(self) -> np.ndarray:
        """Cell volumes per unknown (h/3 for slope modes)."""
        dv = self.plane.p_volume[:, None] * self.plane.width[None, :]
        if not self.lift:
            return dv.ravel()
        h = self.grid.dz
        zm = np.stack([h, h / 3.0], axis=1)
        return (dv[:, None, :, None] * zm[None, :, None, :]).ravel()

    def view(self, f) -> "SolutionView":
        f = np.asarray(f).reshape(self.shape)
        a3 = f[..., 0] if self.lift else f[:, None, :]
        return SolutionView(self.plane, f, a3, self.zmass)


def kinetic_layout(grid: Grid) -> Layout:
    plane = Plane(grid.p_edges, grid.dmu)
    return Layout(grid, plane, grid.shape, not grid.homogeneous)


def reduced_layout(grid: Grid) -> Layout:
    """The reduced model's (z, p) plane of cell means F."""
    if grid.homogeneous:
        raise ValueError("the reduced model needs a z grid")
    return Layout(grid, Plane(grid.p_edges, grid.dz), (grid.np_, grid.nz), False)


@dataclass
class SolutionView:
    """A solution as the terms' flux functionals read it: ``f`` (layout shape), the cell means
    ``a3`` (np, nz or 1, nt) and the z weights ``zmass``."""

    plane: Plane
    f: np.ndarray
    a3: np.ndarray
    zmass: np.ndarray

    @cached_property
    def column(self):
        return self.plane.column(self.a3, self.zmass)


def _lift(layout: Layout, local: sp.csr_matrix, zterm: ZTerm | None) -> sp.csr_matrix:
    """Local plane matrix (+ streaming) -> the z-problem matrix (numba: count, cumulate, fill)."""
    grid = layout.grid
    nk, nz, nm = grid.np_, grid.nz, grid.nmu
    h = grid.dz
    mass = np.stack([h, h / 3.0], axis=1)
    if zterm is None:
        none = (-1, np.arange(nm, dtype=np.int64), np.zeros(2))
        zargs = (np.zeros((nk, nm)), *none, *none)
    else:
        zargs = zterm.kernel_arrays(grid)
    args = (local.indptr.astype(np.int64), local.indices.astype(np.int64), local.data, nk, nz, nm, mass,
            zargs[0], *zargs[1:])
    counts = kernels.count_z_block(*args)
    indptr = np.cumsum(counts)
    indices = np.empty(indptr[-1], dtype=np.int64)
    data = np.empty(indptr[-1], dtype=np.float64)
    kernels.fill_z_block(*args, indptr, indices, data)
    n = layout.size
    idx_dtype = np.int32 if indptr[-1] < 2**31 else np.int64
    return sp.csr_matrix((data, indices.astype(idx_dtype), indptr.astype(idx_dtype)), shape=(n, n))


def _local_matrix(layout: Layout, terms) -> sp.csr_matrix:
    trip = Triplets()
    for t in terms:
        trip.extend(t.triplets(layout.plane))
    return trip.matrix(layout.plane.size)


def assemble(layout: Layout, terms) -> tuple:
    """``A`` of a list of terms on a layout, and the seconds of the local and the lift step."""
    local = [t for t in terms if isinstance(t, LocalTerm)]
    zterms = [t for t in terms if isinstance(t, ZTerm)]
    if len(zterms) > 1:
        raise ValueError("one z term (streaming) per problem")
    if zterms and not layout.lift:
        raise ValueError(f"term {zterms[0].name!r} needs a z grid")
    t0 = time.perf_counter()
    L = _local_matrix(layout, local)
    t1 = time.perf_counter()
    A = _lift(layout, L, zterms[0] if zterms else None) if layout.lift else L
    return A.tocsr(), t1 - t0, time.perf_counter() - t1


@dataclass(frozen=True)
class Problem:
    """``A f = b`` with the diagonal mass and the terms that made it.

    ``balance(f)``: injected and each loss channel; ``block(term)``: one term's matrix alone.
    """

    layout: Layout
    terms: tuple
    A: sp.csr_matrix
    b: np.ndarray
    mass: np.ndarray
    physics: Physics | None = None
    timings: dict = field(default_factory=dict)

    @classmethod
    def from_terms(cls, layout: Layout, terms, b, physics=None, timings=None) -> "Problem":
        terms = tuple(t for t in terms if t is not None)
        A, t_local, t_lift = assemble(layout, terms)
        tm = dict(timings or {}, mu_p_operator_s=t_local, assembly_s=t_lift)
        return cls(layout, terms, A, np.asarray(b, dtype=float), layout.mass(), physics, tm)

    @property
    def grid(self) -> Grid:
        return self.layout.grid

    @cached_property
    def notes(self) -> list:
        """The terms' caveats on this grid (:meth:`fpsolve.terms.base.Term.notes`)."""
        return [n for t in self.terms for n in t.notes()]

    @property
    def coefficients(self):
        """Face coefficients of the (mu, p) diffusion term (None without one)."""
        return next((t.coefficients for t in self.terms if hasattr(t, "coefficients")), None)

    @cached_property
    def _flux_split(self):
        """The terms evaluated in flux form (those with ``apply``: the (mu, p) quadratic form) and
        the matrix of all the others (streaming, losses, focusing), assembled without them."""
        flux = tuple(t for t in self.terms if hasattr(t, "apply"))
        rest = [t for t in self.terms if not hasattr(t, "apply")]
        if not flux:
            return flux, self.A
        return flux, (assemble(self.layout, rest)[0] if rest else sp.csr_matrix(self.A.shape))

    def _planes(self, f):
        """``f`` as a stack of local planes (np, B, nt) and the z mass of each plane (B,)."""
        lay = self.layout
        if lay.lift:
            nk, nz, nm = self.grid.np_, self.grid.nz, self.grid.nmu
            a = np.asarray(f).reshape(nk, nz, nm, 2).transpose(0, 1, 3, 2).reshape(nk, 2 * nz, nm)
            h = self.grid.dz
            return a, np.stack([h, h / 3.0], axis=1).ravel()
        return np.asarray(f).reshape(lay.plane.np_, 1, lay.plane.nt), np.ones(1)

    def _unplanes(self, y):
        if self.layout.lift:
            nk, nz, nm = self.grid.np_, self.grid.nz, self.grid.nmu
            return y.reshape(nk, nz, 2, nm).transpose(0, 1, 3, 2).ravel()
        return y.ravel()

    def flux_form(self, f, magnitude=False):
        """``(A_flux f, |contributions| per row or None)`` of the flux-form terms (zeros if none)."""
        flux, _ = self._flux_split
        f = np.asarray(f, dtype=float).ravel()
        y = np.zeros_like(f)
        mag = np.zeros_like(f) if magnitude else None
        if flux:
            a, scale = self._planes(f)
            for t in flux:
                yt, mt = t.apply(self.layout.plane, a, scale, magnitude)
                y += self._unplanes(yt)
                if magnitude:
                    mag += self._unplanes(mt)
        return y, mag

    def accurate_residual(self, f) -> np.ndarray:
        r"""``b - A f`` of the *unrounded* operator, conservative by construction.

        The stored ``A`` merges the (mu, p) form's entries (``G ~ dz/lambda`` times the streaming
        entries in the thick limit) into one value per position; their rounding makes the column
        sums of ``A`` non-conservative at ``eps G``, so the solution of the stored ``A`` misses the
        particle balance by that (8e-5 of the injection on the slab at lambda = 1e-5, dz = 2000
        lambda).  Here the (mu, p) form is evaluated in flux form (:meth:`MuPDiffusion.apply`:
        differences first, every flux added to two rows with opposite signs) and the other terms
        through their own blocks in compensated (double-double) arithmetic
        (:func:`fpsolve.kernels.residual_compensated`); the two are subtracted once.  Refinement
        with this residual (the solvers pick it up, using the LU of the stored ``A`` as the
        approximate inverse) converges to the solution of the unrounded operator, whose balance
        closes to the rounding of the fluxes (:meth:`balance`).  Measured
        (``scripts/residual_accuracy.py``, slab lambda = 1e-5, dz = 2000 lambda): the blocks must be
        compensated (plain: closure 2.4e-12, F off by 2e-12 of max), the flux form need not (in long
        double: F within 1e-13, closure 5e-14 either way; here 2e-14).  Problems without a flux-form
        term: the compensated residual of ``A``.
        """
        flux, rest = self._flux_split
        f = np.ascontiguousarray(f, dtype=float).ravel()
        r = np.empty_like(self.b)
        kernels.residual_compensated(rest.indptr, rest.indices, rest.data, f, self.b, r)
        if flux:
            r -= self.flux_form(f)[0]
        return r

    def closure_roundoff(self, f, injected) -> dict:
        r"""Round-off bound of the balance closure of ``f``, relative to ``injected``.

        ``closure * injected = 1_mean^T (b - A_exact f)`` exactly (every channel is its term's
        column defect).  The iterate a refinement ends with has the computed residual at its
        rounding noise, which is, per row, a few eps times the sum of the magnitudes of the
        fluxes that row adds: ``|B| |f|`` of the block terms (their entries: streaming ``s``, loss
        rates; the compensated product adds nothing) and the magnitudes of the flux-form
        contributions (:meth:`flux_form`).  Hence
        ``closure_roundoff_bound = ROUNDOFF_FACTOR eps sum_mean rows (|B_rest| |f| + |fluxes|) / injected``.
        In the thick limit the face fluxes are of the size of the net fluxes, not ``G f``: this
        is 1e-11 where the stored matrix's bound ``8 eps sum |A| |f|`` (kept as
        ``closure_roundoff_bound_matrix``, what a solution of the stored A can reach) is 1.6e-2
        (slab, lambda = 1e-5, dz = 2000 lambda).  Without flux-form terms the two are the same.
        """
        f = np.asarray(f, dtype=float).ravel()
        w = self.layout.mean_rows()
        eps = np.finfo(float).eps
        flux, rest = self._flux_split
        matrix = float(w @ (abs(self.A) @ np.abs(f)))
        if flux:
            absum = float(w @ (abs(rest) @ np.abs(f) + self.flux_form(f, magnitude=True)[1]))
        else:
            absum = matrix
        scale = abs(injected) if injected else float("nan")
        return {"closure_roundoff_bound": ROUNDOFF_FACTOR * eps * absum / scale,
                "closure_roundoff_bound_matrix": 8 * eps * matrix / scale}

    def plane_residual(self, k, x, rows=None):
        """``b - A f`` on the rows of momentum plane ``k`` (the slice ``k*n:(k+1)*n``), in the
        form of :meth:`accurate_residual`, for solvers that work plane by plane (the sweep).
        Needs the flux-form terms not to couple the planes (they do not when the problem is
        block triangular in p, the sweep's condition); ``rows``: the stored rows of the plane
        (used when there is no flux-form term)."""
        n = self.A.shape[0] // self.grid.np_
        sl = slice(k * n, (k + 1) * n)
        flux, rest = self._flux_split
        x = np.ascontiguousarray(x, dtype=float).ravel()
        if flux or rows is None:
            # the rows of the last plane asked for (a sweep refines one plane at a time; keeping
            # every plane's rows would duplicate the matrix)
            last = self.__dict__.get("_rest_rows")
            if last is None or last[0] != k:
                # a view of the rows (shares data and indices: no copy of the plane's rows)
                rest = sp.csr_matrix(rest)
                s0, s1 = int(rest.indptr[sl.start]), int(rest.indptr[sl.stop])
                rows = sp.csr_matrix((n, rest.shape[1]), dtype=rest.dtype)
                rows.data, rows.indices = rest.data[s0:s1], rest.indices[s0:s1]
                rows.indptr = rest.indptr[sl.start:sl.stop + 1] - s0
                last = self.__dict__["_rest_rows"] = (k, rows)
            m = last[1]
        else:
            m = rows
        r = np.empty(n)
        kernels.residual_compensated(m.indptr, m.indices, m.data, x, np.ascontiguousarray(self.b[sl]), r)
        if flux:
            xk = x[sl]
            if self.layout.lift:
                nz, nm = self.grid.nz, self.grid.nmu
                ak = xk.reshape(nz, nm, 2).transpose(0, 2, 1).reshape(2 * nz, nm)
                scale = np.stack([self.grid.dz, self.grid.dz / 3.0], axis=1).ravel()
            else:
                ak, scale = xk.reshape(1, -1), np.ones(1)
            y = sum(t.apply_plane(self.layout.plane, k, ak, scale) for t in flux)
            if self.layout.lift:
                y = y.reshape(nz, 2, nm).transpose(0, 2, 1)
            r -= y.ravel()
        return r

    def block(self, term) -> sp.csr_matrix:
        """The matrix of ``term`` alone on this problem's layout."""
        return assemble(self.layout, [term])[0]

    def local_matrix(self) -> sp.csr_matrix:
        """The sum of the local terms' plane blocks (per unit z mass for kinetic z problems)."""
        return _local_matrix(self.layout, [t for t in self.terms if isinstance(t, LocalTerm)])

    def leaving(self, f) -> dict:
        """Particles removed per unit time by each channel, summed over the terms (term order)."""
        view = self.layout.view(f)
        out = dict.fromkeys(CHANNELS, 0.0)
        for t in self.terms:
            for ch, v in t.leaving(view).items():
                out[ch] += v
        return out

    def balance(self, f) -> dict:
        r"""``injected = escape_z_min + escape_z_max + outflow_p_min + outflow_p_max + catastrophic``,
        closure relative to injection, and its round-off bound.

        Holds to round-off plus the residual of the linear solve (the sum of the mean rows of
        ``A f - b``) because every channel is the column-sum defect of its own term's block.
        ``closure_roundoff_bound``: see :meth:`closure_roundoff`.
        """
        f = np.asarray(f)
        if self.layout.lift:
            injected = self.b.reshape(self.layout.shape)[..., 0].sum()
        else:
            injected = self.b.sum()
        out = {"injected": float(injected)}
        chans = self.leaving(f)
        out.update(chans)
        losses = 0.0
        for ch in CHANNELS:
            losses = losses + chans[ch]
        out["closure"] = (injected - losses) / injected if injected != 0 else float("nan")
        out.update(self.closure_roundoff(f, injected))
        return out


#: Rounding operations a flux-form contribution goes through (difference, cross-term product,
#: conductance x volume, z mass, accumulation into its row: <= 5, each <= eps/2 relative), times
#: 2: the residual of a converged iterate is at its rounding noise (refinement stops there), and
#: the balance sums those rows once more.  See :meth:`Problem.closure_roundoff`.
ROUNDOFF_FACTOR = 8


def kinetic_terms(grid: Grid, physics: Physics) -> list:
    """The registered kinetic terms (:data:`fpsolve.terms.KINETIC_TERMS`) that are on for ``physics``."""
    return [t for t in (cls.from_physics(grid, physics) for cls in KINETIC_TERMS) if t is not None]


def build_problem(grid: Grid, physics: Physics) -> Problem:
    """Grid + physics -> :class:`Problem` (kinetic terms, their assembly, the source)."""
    t0 = time.perf_counter()
    terms = kinetic_terms(grid, physics)
    t1 = time.perf_counter()
    b = SourceTerm(physics.source).kinetic_vector(grid)
    problem = Problem.from_terms(kinetic_layout(grid), terms, b, physics, {"coefficients_s": t1 - t0})
    for note in problem.notes:
        log.warning(note)
    return problem
