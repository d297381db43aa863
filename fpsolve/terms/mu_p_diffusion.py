r"""Pitch-angle, cross and momentum diffusion as one quadratic form in (mu, p) (Eq. 3).

.. math::
    -\partial_\mu(D_{\mu\mu}\partial_\mu f + D_{\mu p}\partial_p f)
    - p^{-2}\partial_p\big(p^2[D_{\mu p}\partial_\mu f + D_{pp}\partial_p f]\big)

Per unit z mass, rows ``k * nmu + j`` integrated over ``dmu p^2 dp``.  The matrix is the gradient
of (the discrete analogue of ``1/2 int p^2 grad f . D grad f``)

``E = 1/2 sum_{k,faces} V_k G (f_{j+1} - f_j + X D_p f)^2 + 1/2 sum_{p faces} dmu p^2 R (df/dp)^2``

with ``G``, ``X`` of :mod:`fpsolve.face_coefficients`, ``D_p f`` the 3-point p-derivative averaged
over the two cells of the face (:func:`p_derivative_weights`) and ``R = <D_pp - D_mup^2/D_mumu>
>= 0``: symmetric positive semi-definite for any H_c (the tensor is degenerate for |H_c| = 1),
conservative (every piece is a difference of fluxes, ``D_p 1 = 0``), and its mu-face flux
``G (f_{j+1}-f_j) + G X D_p f`` makes both anisotropies of Eq. (7) exact at the mu centres in
the diffusion limit.  mu = +-1: no flux.  p ends: a :class:`PBoundary` —
:class:`ZeroFlux` (no diffusive flux), :class:`Dirichlet` (case name ``zero_value``: f = 0 on the
boundary face for the whole form) or :class:`ZeroValue` (``zero_value_reduced``: f = 0 on the
face for R only); channels ``outflow_p_min``, ``outflow_p_max``.  :meth:`MuPDiffusion.apply` is the
same operator in flux form (differences first) for the residual of
:meth:`fpsolve.problem.Problem.accurate_residual`.
"""
from __future__ import annotations

import numpy as np

from ..face_coefficients import face_coefficients
from .base import LocalTerm, Triplets, from_name

__all__ = ["MuPDiffusion", "PBoundary", "ZeroFlux", "ZeroValue", "Dirichlet", "p_boundary", "p_derivative_weights"]


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


class PBoundary:
    """Condition of the diffusive momentum flux at p_min and p_max."""

    name = "?"

    def triplets(self, term, plane, out: Triplets):
        """Add the boundary entries of ``term`` (a :class:`MuPDiffusion`) to ``out``."""

    def stencil(self, term, p, p_edges):
        """``(idx, w, open)`` of the p-derivative used by the form (default: :func:`p_derivative_weights`,
        shifted inwards at the ends: the zero-flux closure; ``open = 0``).  A boundary that knows
        f = 0 on its face may drop that node: ``open[k]`` is then the sum of the remaining weights
        (minus the dropped one) and ``D_p f = w_0 (f_0 - f_1) + w_2 (f_2 - f_1) + open f_1``."""
        idx, w = p_derivative_weights(p, term.p_slope_ref)
        return idx, w, np.zeros(p.size)

    def apply(self, term, plane, a, scale, y, mag, k0=0):
        """Flux form of the same entries: add them, applied to the plane stack ``a`` (planes
        ``k0 ...`` of the grid, B, nmu), to ``y`` and their magnitudes to ``mag`` (None: not wanted)."""

    def leaving(self, term, view) -> dict:
        return {}

    def notes(self, term) -> list:
        """Caveats of this boundary for the form of ``term`` (see :meth:`Term.notes`)."""
        return []

    def __repr__(self):
        return f"{type(self).__name__}()"

    def __eq__(self, other):
        return type(self) is type(other)

    def __hash__(self):
        return hash(type(self).__name__)


class ZeroFlux(PBoundary):
    """No diffusive flux through p_min and p_max."""

    name = "zero_flux"


class ZeroValue(PBoundary):
    r"""f = 0 on the boundary face for the reduced diffusion ``R = D_pp - D_mup^2/D_mumu`` only:
    the face flux ``dmu p_b^2 R_b f_k / |p_k - p_b|`` (half-cell difference to f = 0 *at* the face)
    leaves through each end; the ``D_mup^2/D_mumu`` part of ``D_pp`` and the cross terms keep the
    zero-flux closure, so for a degenerate tensor (``|H_c| = 1``, R = 0) this is the zero-flux
    condition bit for bit.  Case name ``zero_value_reduced``; ``zero_value`` is :class:`Dirichlet`."""

    name = "zero_value"

    def _ends(self, term):
        p, pe = term.grid.p, term.grid.p_edges
        return ((0, 0, p[0] - pe[0]), (term.grid.np_ - 1, term.grid.np_, pe[-1] - p[-1]))

    def triplets(self, term, plane, out):
        idx, dmu, pe, r = plane.index, plane.width, plane.p_edges, term.coefficients.rpp_pf
        for kb, face, dist in self._ends(term):
            out.add(idx[kb], idx[kb], dmu * pe[face] ** 2 * r[face] / dist)

    def apply(self, term, plane, a, scale, y, mag, k0=0):
        dmu, pe, r = plane.width, plane.p_edges, term.coefficients.rpp_pf
        for kb, face, dist in self._ends(term):
            if not 0 <= kb - k0 < a.shape[0]:
                continue
            v = (dmu * pe[face] ** 2 * r[face] / dist)[None, :] * a[kb - k0] * scale[:, None]
            y[kb - k0] += v
            if mag is not None:
                mag[kb - k0] += np.abs(v)

    def leaving(self, term, view):
        a3, zmass, dmu, pe = view.a3, view.zmass, view.plane.width, view.plane.p_edges
        r, p = term.coefficients.rpp_pf, term.grid.p
        col_lo = np.tensordot(a3[0], dmu * r[0], axes=([-1], [0])) * zmass
        col_hi = np.tensordot(a3[-1], dmu * r[-1], axes=([-1], [0])) * zmass
        return {"outflow_p_min": float(pe[0] ** 2 * col_lo.sum() / (p[0] - pe[0])),
                "outflow_p_max": float(pe[-1] ** 2 * col_hi.sum() / (pe[-1] - p[-1]))}


class Dirichlet(ZeroValue):
    r"""f = 0 on the boundary faces p_min and p_max, for the whole (mu, p) form (Eq. 3 with
    f(p_b) = 0): a true Dirichlet condition.

    Two places of the form see the boundary value.  (i) The p-derivative ``D_p f`` of the mu-face
    flux ``G (f_{j+1} - f_j + X D_p f)`` at the end cells uses the nodes ``p_b, p_0, p_1`` (and
    ``p_{n-2}, p_{n-1}, p_b``) with ``f(p_b) = 0``, exact for ``1, p^-Gamma, p^-Gamma ln p`` like
    the interior stencil (second order): the ``D_mup^2/D_mumu`` part of ``D_pp`` and the cross terms
    now feel f = 0 at the face, where the zero-flux closure (:class:`ZeroFlux`, and
    :class:`ZeroValue`) shifts the stencil inwards.  The form stays ``J^T W J`` (symmetric positive
    semi-definite); the weight of the dropped node makes the cross pieces of the end rows
    non-conservative: what they remove is the flux through the face (channels ``outflow_p_min``,
    ``outflow_p_max``: ``-sum_k w_b[k] sum_faces X psi`` over the end planes).  (ii) The reduced
    diffusion ``R`` has the face flux ``dmu p_b^2 R_b f_k / |p_k - p_b|`` (f = 0 on the face, as
    :class:`ZeroValue`).  At ``|H_c| = 1`` (R = 0) (i) alone carries the whole ``D_pp``.
    """

    name = "dirichlet"

    def stencil(self, term, p, p_edges):
        idx, w = (np.array(x) for x in p_derivative_weights(p, term.p_slope_ref))
        n = p.size
        open_ = np.zeros(n)
        if n < 2:
            return idx, w, open_
        gamma = term.p_slope_ref
        for k, nodes, real in ((0, (p_edges[0], p[0], p[1]), (1, 2)),
                               (n - 1, (p[n - 2], p[n - 1], p_edges[-1]), (0, 1))):
            x = np.asarray(nodes) / p[k]
            lx = np.log(x)
            if abs(gamma) < 1e-9:
                basis, deriv = [np.ones(3), lx, lx**2], [0.0, 1.0, 0.0]
            else:
                basis, deriv = [np.ones(3), x ** (-gamma), x ** (-gamma) * lx], [0.0, -gamma, 1.0]
            wk = np.linalg.solve(np.array(basis), np.array(deriv)) / p[k]
            # real nodes only (the face node carries f = 0); the middle node is cell k
            wrow = np.zeros(3)
            if k == 0:
                idx[k] = (1, 0, 0) if n > 1 else (0, 0, 0)
                wrow[0] = wk[2]  # node p_1
                wrow[1] = wk[1]  # node p_0 (middle)
            else:
                idx[k] = (n - 2, n - 1, n - 1)
                wrow[0] = wk[0]  # node p_{n-2}
                wrow[1] = wk[1]  # node p_{n-1} (middle)
            w[k] = wrow
            open_[k] = wrow.sum()
        return idx, w, open_

    def degenerate_faces(self, term) -> float:
        """Fraction of the boundary faces (both ends, all mu cells) where the tensor is degenerate:
        ``R < DEGENERATE_RTOL D_pp`` (``R`` the mu-cell average of ``D_pp - D_mup^2/D_mumu`` on
        the face, ``D_pp`` at the cell's mu centre), e.g. everywhere at ``|H_c| = 1``."""
        g = term.grid
        if g.np_ < 2:
            return 0.0
        pb = np.array([g.p_edges[0], g.p_edges[-1]])
        d_pp = np.asarray(term.model.coefficients(g.mu[None, :], pb[:, None]).d_pp, dtype=float)
        r = term.coefficients.rpp_pf[[0, -1]]
        return float(np.mean(r < DEGENERATE_RTOL * np.abs(d_pp)))

    def notes(self, term) -> list:
        """A degenerate tensor at the boundary faces (R = 0): the form then diffuses only along
        the characteristics ``dp/dmu = D_mup/D_mumu``; f = 0 imposed on a whole p face
        over-determines that transport, and the centred cross-derivative stencil answers with a
        one-cell layer whose values alternate in sign along mu.  Measured on the degenerate
        manufactured problem of ``tests/test_p_boundary.py`` (8 mu cells, p in [1, 10]): the
        end-cell means reach -2.4x the interior level at 1024-2048 cells and ``outflow_p_min``
        drifts 0.151, 0.156, 0.145, 0.135, 0.129, 0.126, 0.124 over 32…2048 cells, while the
        middle half of the p range converges at second order (1.98) and the second and seventh
        eighths at ~1.4 (``test_degenerate_dirichlet_end_cells_and_interior``).  Reported, not
        repaired."""
        frac = self.degenerate_faces(term)
        if frac < 0.5:
            return []
        return [f"boundaries.p_diffusion = zero_value with a degenerate (mu, p) tensor on {100 * frac:.0f}% of the "
                "boundary faces (D_pp = D_mup^2/D_mumu, e.g. |H_c| = 1): f in the first and last p cells "
                "does not converge under refinement (it alternates in sign along mu); the inner momenta "
                "do. Use zero_flux, or put p_min/p_max well beyond the momenta of interest"]

    def leaving(self, term, view):
        out = super().leaving(term, view)
        plane = view.plane
        if plane.np_ < 2:
            return out
        _, _, open_ = term.stencil(plane)
        a = view.a3  # (np, nz, nmu) planes of cell means, z mass as scale
        psi = term.face_psi(plane, a, view.zmass)
        c = 0.5 * term.coefficients.x_mu[:, None, :] * psi
        e = np.zeros_like(a)
        e[:, :, 1:] += c
        e[:, :, :-1] += c
        for ch, k in (("outflow_p_min", 0), ("outflow_p_max", plane.np_ - 1)):
            out[ch] += float(open_[k] * e[k].sum())
        return out


DEGENERATE_RTOL = 1e-8  # R below this fraction of D_pp: degenerate (R's quadrature is ~1e-15 of D_pp)

P_BY_NAME = {"zero_flux": ZeroFlux, "zero_value": Dirichlet, "zero_value_reduced": ZeroValue}


def p_boundary(value) -> PBoundary:
    """A :class:`PBoundary` from a case name or an instance."""
    return from_name(value, PBoundary, P_BY_NAME, "p diffusion boundary")


class MuPDiffusion(LocalTerm):
    """The (mu, p) quadratic form of a coefficient set on the kinetic grid, with its p boundary."""

    name = "mu_p_diffusion"
    channels = ("outflow_p_min", "outflow_p_max")

    def __init__(self, grid, model, p_slope_ref: float = 0.0, p_bc=ZeroFlux()):
        self.grid, self.model, self.p_slope_ref = grid, model, float(p_slope_ref)
        self.p_bc = p_boundary(p_bc)
        self.coefficients = face_coefficients(model, grid)

    @classmethod
    def from_physics(cls, grid, physics):
        return cls(grid, physics.model, physics.p_slope_ref, physics.p_diffusion_bc)

    def triplets(self, plane) -> Triplets:
        fc, out = self.coefficients, Triplets()
        nk, nm = plane.np_, plane.nt
        p, pe, vol, dmu = plane.p, plane.p_edges, plane.p_volume, plane.width
        idx = plane.index
        # --- mu faces: J f = (f_{j+1} - f_j) + X D_p f ;  rows += J^T (V G) J f
        left, right = idx[:, :-1], idx[:, 1:]  # (nk, nm-1)
        w = fc.g_mu * vol[:, None]  # V G per face
        # the linear map J as (column index array, coefficient array) pieces, each (nk, nm-1)
        pieces = [(right, np.ones_like(w)), (left, -np.ones_like(w))]
        if nk > 1:
            sidx, sw, _ = self.stencil(plane)  # (nk, 3)
            for s_ in range(3):
                kk = sidx[:, s_][:, None]
                coef = 0.5 * fc.x_mu * sw[:, s_][:, None]
                for cell in (left, right):
                    pieces.append((kk * nm + cell % nm, coef))
        for r_col, r_coef in pieces:  # row pieces: J^T
            for c_col, c_coef in pieces:
                out.add(r_col, c_col, r_coef * w * c_coef)
        # --- momentum faces: reduced diffusion R (compact)
        if nk > 1:
            pf = pe[1:-1]
            lower, upper = idx[:-1], idx[1:]
            wp = dmu[None, :] * (pf**2)[:, None]
            gpp = wp * fc.rpp_pf[1:-1] / (p[1:] - p[:-1])[:, None]
            for sign, r in ((-1.0, lower), (1.0, upper)):
                out.add(r, upper, sign * gpp)
                out.add(r, lower, -sign * gpp)
        self.p_bc.triplets(self, plane, out)
        return out

    def apply(self, plane, a, scale, magnitude=False):
        r"""``A_term f`` in flux form, conservative by construction: the same operator as
        :meth:`triplets` (in exact arithmetic) evaluated as differences first, never through
        merged matrix entries.

        ``a``: the solution as a stack of (mu, p) planes, shape (np, B, nmu) (B = z cells x DG
        modes, or 1); ``scale`` (B,): the z mass of each plane (``h``, ``h/3``; 1 if homogeneous).
        Per mu face ``J f = (f_{j+1} - f_j) + X D_p f`` with ``D_p f = w_0 (f_{k0} - f_{k1}) +
        w_2 (f_{k2} - f_{k1})`` (the 3-point weights sum to zero), ``psi = V G scale J f``, and
        ``J^T psi`` adds ``+-psi`` to the two cells of the face and ``+-w_s X psi / 2`` in
        difference pairs to the momentum rows of the stencil; per p face ``phi = scale dmu p_f^2
        R (f_{k+1} - f_k)/dp`` adds ``-+phi``.  Every flux enters two rows with opposite signs, so
        the row sums telescope to the boundary fluxes up to the rounding of the fluxes themselves
        (eps |flux|), not of the merged diagonal (eps G f, G ~ dz/lambda times the streaming
        entries in the thick limit).  Returns ``(y, mag)``: ``y`` like ``a``; ``mag`` the sum of
        the magnitudes of the contributions per row (None unless ``magnitude``), the scale of
        the rounding of ``y``.
        """
        fc = self.coefficients
        nk = plane.np_
        p, pe, vol, dmu = plane.p, plane.p_edges, plane.p_volume, plane.width
        s = scale[None, :, None]
        y = np.zeros_like(a)
        mag = np.zeros_like(a) if magnitude else None
        jf = a[:, :, 1:] - a[:, :, :-1]
        cross = nk > 1 and self._has("x_mu")  # eps = 0: no cross terms, skip their work
        if cross:
            dmat = self._dp_matrix(plane)
            sidx, sw, open_ = self.stencil(plane)
            mid = a[sidx[:, 1]]
            dp = sw[:, 0, None, None] * (a[sidx[:, 0]] - mid) + sw[:, 2, None, None] * (a[sidx[:, 2]] - mid)
            if np.any(open_ != 0):  # rows whose face node (f = 0) was dropped
                dp = dp + open_[:, None, None] * mid
            jf = jf + 0.5 * fc.x_mu[:, None, :] * (dp[:, :, :-1] + dp[:, :, 1:])
        psi = (fc.g_mu * vol[:, None])[:, None, :] * jf * s
        y[:, :, 1:] += psi
        y[:, :, :-1] -= psi
        if magnitude:
            mag[:, :, 1:] += np.abs(psi)
            mag[:, :, :-1] += np.abs(psi)
        if cross:
            c = 0.5 * fc.x_mu[:, None, :] * psi  # (nk, B, nm-1)
            e = np.zeros_like(a)
            e[:, :, 1:] += c
            e[:, :, :-1] += c
            y += (dmat.T @ e.reshape(nk, -1)).reshape(a.shape)
            if magnitude:
                mag += (np.abs(dmat.T) @ np.abs(e).reshape(nk, -1)).reshape(a.shape)
        if nk > 1 and self._has("rpp"):
            gpp = (dmu[None, :] * (pe[1:-1] ** 2)[:, None] * fc.rpp_pf[1:-1] / (p[1:] - p[:-1])[:, None])
            phi = gpp[:, None, :] * (a[1:] - a[:-1]) * s
            y[1:] += phi
            y[:-1] -= phi
            if magnitude:
                mag[1:] += np.abs(phi)
                mag[:-1] += np.abs(phi)
        self.p_bc.apply(self, plane, a, scale, y, mag)
        return y, mag

    def _has(self, what) -> bool:
        """Whether the cross coefficients (``x_mu``) or R at interior p faces (``rpp``) are not all 0."""
        cache = self.__dict__.setdefault("_has_cache", {})
        if what not in cache:
            fc = self.coefficients
            cache[what] = bool(np.any(fc.x_mu != 0) if what == "x_mu" else np.any(fc.rpp_pf[1:-1] != 0))
        return cache[what]

    def notes(self) -> list:
        return self.p_bc.notes(self)

    def couples_planes(self) -> bool:
        """True if the form couples momentum planes (cross terms or R at interior p faces)."""
        fc = self.coefficients
        return self.grid.np_ > 1 and bool(np.any(fc.x_mu != 0) or np.any(fc.rpp_pf[1:-1] != 0))

    def apply_plane(self, plane, k, a, scale):
        """Flux form of momentum plane ``k`` alone (``a``: (B, nmu)), for a form that does not
        couple the planes (:meth:`couples_planes` False, e.g. eps = 0): its mu faces and the p
        boundary's entries of that plane (what a plane-by-plane solver refines with)."""
        if self.couples_planes():
            raise ValueError("apply_plane: the (mu, p) form couples the momentum planes")
        psi = (self.coefficients.g_mu[k] * plane.p_volume[k])[None, :] * (a[:, 1:] - a[:, :-1]) * scale[:, None]
        y = np.zeros((1,) + a.shape)
        y[0, :, 1:] += psi
        y[0, :, :-1] -= psi
        self.p_bc.apply(self, plane, a[None], scale, y, None, k0=k)
        return y[0]

    def stencil(self, plane):
        """``(idx, w, open)`` of the p-derivative at the cell momenta (:func:`p_derivative_weights`),
        with the end rows the p boundary sets (:meth:`PBoundary.stencil`)."""
        key = ("stencil", plane.p_edges.tobytes(), self.p_slope_ref)
        cache = self.__dict__.setdefault("_dp_cache", {})
        if key not in cache:
            cache[key] = self.p_bc.stencil(self, plane.p, plane.p_edges)
        return cache[key]

    def face_psi(self, plane, a, scale):
        """The mu-face fluxes ``psi = V G scale J f`` of the plane stack ``a`` (np, B, nmu)."""
        fc = self.coefficients
        jf = a[:, :, 1:] - a[:, :, :-1]
        if plane.np_ > 1:
            sidx, sw, open_ = self.stencil(plane)
            mid = a[sidx[:, 1]]
            dp = sw[:, 0, None, None] * (a[sidx[:, 0]] - mid) + sw[:, 2, None, None] * (a[sidx[:, 2]] - mid)
            dp = dp + open_[:, None, None] * mid
            jf = jf + 0.5 * fc.x_mu[:, None, :] * (dp[:, :, :-1] + dp[:, :, 1:])
        return (fc.g_mu * plane.p_volume[:, None])[:, None, :] * jf * scale[None, :, None]

    def _dp_matrix(self, plane):
        """Dense (np, np) matrix of :func:`p_derivative_weights` in difference form (the middle
        weight is ``-(w_0 + w_2)``), for the transposed cross terms."""
        key = ("matrix", plane.p_edges.tobytes(), self.p_slope_ref)
        cache = self.__dict__.setdefault("_dp_cache", {})
        if key not in cache:
            sidx, sw, open_ = self.stencil(plane)
            m = np.zeros((plane.np_, plane.np_))
            rows = np.arange(plane.np_)
            for s_, w in ((0, sw[:, 0]), (2, sw[:, 2])):
                np.add.at(m, (rows, sidx[:, s_]), w)
                np.add.at(m, (rows, sidx[:, 1]), -w)
            np.add.at(m, (rows, sidx[:, 1]), open_)
            cache[key] = m
        return cache[key]

    def leaving(self, view) -> dict:
        return self.p_bc.leaving(self, view)
