r"""The term contract: one physical term = one object with its block and its boundary fluxes.

Every row of ``A`` is the equation integrated over its cell, so for any ``f``

.. math::  \mathbf 1_{\rm mean}^T A_{\rm term} f = \sum_{\rm channels} \Phi_{\rm term}(f),

the particles the term removes per unit time: what leaves through the boundaries it owns
(escape through z_min / z_max, outflow through p_min / p_max) or, for a volume sink, its loss
channel (catastrophic losses).  A conservative interior term has no channel and zero column
sums.  The particle balance is ``injected - sum over terms of their channels``: the operator and
the balance are built from the same objects and cannot drift apart.  ``tests/test_terms.py``
checks the identity term by term, to round-off.

Two kinds of terms:

* :class:`LocalTerm` — acts within one transverse plane: the kinetic (mu, p) plane per unit z
  mass (pitch-angle and momentum diffusion, losses, focusing), or the (z, p) plane of the reduced
  model.  It returns COO triplets on a :class:`Plane` (rows ``k * nt + t``, momentum cell ``k``
  slowest, transverse cell ``t``; every row integrated over ``width_t * p^2 dp``).
* :class:`ZTerm` — couples z cells of the kinetic problem (DG-1 streaming); it hands the
  assembly kernel plain arrays (streaming coefficients, inflow stencils of its boundaries).

The assembly (:mod:`fpsolve.problem`) sums the local triplets of all local terms into one plane
matrix and lifts it to the (z, DG mode) cells together with the streaming in one numba pass
(:mod:`fpsolve.kernels`) — an assembly detail: each term's block can be assembled alone
(:meth:`fpsolve.problem.Problem.block`).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from ..grid import PCells

__all__ = ["Plane", "Term", "LocalTerm", "ZTerm", "Triplets", "CHANNELS"]

#: The balance channels, in the order they are summed (particles leaving per unit time).
CHANNELS = ("escape_z_min", "escape_z_max", "outflow_p_min", "outflow_p_max", "catastrophic")


@dataclass(frozen=True)
class Plane(PCells):
    """Layout of a local block: momentum edges and the transverse cell widths (``dmu`` for the
    kinetic (mu, p) plane, ``dz`` for the reduced model's (z, p) plane)."""

    p_edges: np.ndarray
    width: np.ndarray

    @property
    def np_(self) -> int:
        return self.p_edges.size - 1

    @property
    def nt(self) -> int:
        return self.width.size

    @property
    def size(self) -> int:
        return self.np_ * self.nt


    @property
    def index(self):
        """Unknown index ``k * nt + t`` as an (np, nt) array."""
        return np.arange(self.size).reshape(self.np_, self.nt)

    def column(self, a3, zmass):
        """``int dz sum_t width_t f`` per momentum cell and z cell, (np, nz): the particles per
        ``p^2 dp`` that volume sinks and p-boundary fluxes act on.  ``a3``: cell means (np, nz, nt)."""
        return np.tensordot(a3, self.width, axes=([-1], [0])) * zmass[None, :]


class Triplets:
    """COO triplets collected in order (the order fixes how duplicates are summed)."""

    def __init__(self):
        self.rows, self.cols, self.vals = [], [], []

    def add(self, r, c, v):
        r, c, v = np.broadcast_arrays(r, c, v)
        self.rows.append(r.ravel()); self.cols.append(c.ravel()); self.vals.append(v.ravel())

    def extend(self, other: "Triplets"):
        self.rows += other.rows; self.cols += other.cols; self.vals += other.vals

    def matrix(self, n) -> sp.csr_matrix:
        if not self.vals:
            return sp.csr_matrix((n, n))
        m = sp.csr_matrix((np.concatenate(self.vals), (np.concatenate(self.rows), np.concatenate(self.cols))),
                          shape=(n, n))
        m.eliminate_zeros()
        return m


class Term:
    """Base of every term.  ``name``: short label; ``channels``: the balance channels it owns."""

    name = "term"
    channels: tuple = ()

    def leaving(self, view) -> dict:
        """Particles the term removes per unit time, by channel, for the solution in ``view``
        (a :class:`fpsolve.problem.SolutionView`).  Equals ``1_mean^T A_term f`` to round-off."""
        return {}

    def notes(self) -> list:
        """Caveats of this term on this grid that the run cannot repair but must report (one
        sentence each; the summary prints them and the build logs them as warnings)."""
        return []


class LocalTerm(Term):
    """A term acting within each transverse (mu, p) or (z, p) plane."""

    def triplets(self, plane: Plane) -> Triplets:
        raise NotImplementedError


class ZTerm(Term):
    """A term coupling z cells (kinetic problems): supplies the kernel's plain arrays."""

    def kernel_arrays(self, grid) -> tuple:
        """``(stream, left_cell, left_j, left_w, right_cell, right_j, right_w)`` for
        :func:`fpsolve.kernels.fill_z_block`."""
        raise NotImplementedError


def from_name(value, kind, table: dict, what: str):
    """A boundary condition from a case name (``table``: name -> class) or an instance of ``kind``."""
    if isinstance(value, kind):
        return value
    if value not in table:
        raise ValueError(f"{what} = {value!r} is not allowed; allowed: {', '.join(table)}")
    return table[value]()
