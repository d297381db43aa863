r"""User-supplied Fokker–Planck coefficients: a table on (mu, p) or a Python callable.

The paper names non-slab turbulence and non-resonant scattering as the next question; these
coefficient sets let a user plug their own ``D_mumu, D_mup, D_pp`` into every part of fpsolve
(transport moments, Eq. 7, the kinetic solver).  Both follow the protocol of
:class:`~fpsolve.physics.coefficients.SlabAlfven`: ``coefficients(mu, p)``, ``velocity(p)``,
``breakpoints(p)`` (interior mu points where the coefficients are not smooth, so that the
quadratures split there).
"""
from __future__ import annotations

import importlib
import importlib.util
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
from scipy.interpolate import RegularGridInterpolator

from . import _checks
from .coefficients import Coefficients, particle_speed
from .quadrature import as_nodes

__all__ = ["TabulatedCoefficients", "CallableCoefficients", "load_callable", "load_table"]

#: A momentum outside the table's p range by at most this (relative) is round-off of the grid
#: (p edges from geomspace/exp/log: a few ulp, ~1e-15): taken at the table's end with a warning.
P_ROUNDOFF = 1e-12


@dataclass(frozen=True)
class TabulatedCoefficients:
    """``D``s tabulated at nodes ``mu`` (covering [-1, 1]) x ``p``; linear in mu and in ln p.

    Arrays ``d_mumu``, ``d_mup``, ``d_pp`` have shape ``(p.size, mu.size)``.  The table's mu
    nodes are the break points (the interpolant has kinks there).  Evaluation outside the
    table's p range is refused (``ValueError`` naming the table, the momentum and the range;
    no extrapolation); a momentum outside by no more than ``P_ROUNDOFF`` (relative) is taken
    at the table's end with a warning.  A table with a single p node is p-independent.
    Inside the range the interpolant is a convex combination of the nodes, so non-negative
    nodes give non-negative ``D_mumu``, ``D_pp`` and a positive semi-definite tensor stays so.  ``D_mumu`` must be positive at
    the interior nodes: a zero of the linear interpolant inside (-1, 1) (e.g. Eq. 28 at mu = 0)
    makes ``int dmu/D_mumu`` diverge; such coefficients need the exact shape (``CallableCoefficients``).
    """

    mu: np.ndarray
    p: np.ndarray
    d_mumu: np.ndarray
    d_mup: np.ndarray
    d_pp: np.ndarray
    ultrarelativistic: bool = False
    name: str = "table"
    _interp: tuple = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        mu, p = np.asarray(self.mu, dtype=float), np.asarray(self.p, dtype=float)
        if mu.ndim != 1 or mu.size < 2 or mu[0] != -1.0 or mu[-1] != 1.0 or np.any(np.diff(mu) <= 0):
            raise ValueError("table mu nodes must increase strictly from exactly -1 to exactly 1")
        if p.ndim != 1 or p.size < 1 or np.any(np.diff(p) <= 0):
            raise ValueError("table p nodes must increase strictly")
        _checks.positive("table p", p)
        arrays = []
        for name in ("d_mumu", "d_mup", "d_pp"):
            a = np.asarray(getattr(self, name), dtype=float)
            if a.shape != (p.size, mu.size):
                raise ValueError(f"table {name} has shape {a.shape}; allowed: (len(p), len(mu)) = {(p.size, mu.size)}")
            _checks.finite(f"table {name}", a)
            arrays.append(a)
        if np.any(arrays[0][:, 1:-1] <= 0) or np.any(arrays[2] < 0):
            # a zero of the linear interpolant inside (-1, 1) makes 1/D_mumu non-integrable
            raise ValueError("table d_mumu must be > 0 at the interior mu nodes and d_pp >= 0 "
                             "(for D_mumu with interior zeros use model = 'python' with break points)")
        lp = np.log(p) if p.size > 1 else np.array([np.log(p[0]) - 1, np.log(p[0]) + 1])
        interps = tuple(RegularGridInterpolator((lp, mu), a if p.size > 1 else np.vstack([a, a]),
                                                bounds_error=False, fill_value=None) for a in arrays)
        object.__setattr__(self, "mu", mu)
        object.__setattr__(self, "p", p)
        object.__setattr__(self, "_interp", interps)

    def velocity(self, p):
        return particle_speed(p, ultrarelativistic=self.ultrarelativistic)

    def breakpoints(self, p):
        p = np.asarray(p, dtype=float)
        return np.broadcast_to(self.mu[1:-1], p.shape + (self.mu.size - 2,))

    def check_momenta(self, p):
        """``p`` clamped into the table's p range; refuses momenta outside it (beyond round-off)."""
        p = np.asarray(p, dtype=float)
        if self.p.size == 1:
            return p
        lo, hi = self.p[0], self.p[-1]
        outside = (p < lo) | (p > hi)
        if not np.any(outside):
            return p
        far = (p < lo * (1.0 - P_ROUNDOFF)) | (p > hi * (1.0 + P_ROUNDOFF)) | np.isnan(p)
        if np.any(far):
            bad = p[far] if np.ndim(p) else np.array([float(p)])
            q = bad.max() if bad.max() > hi else bad.min()  # the farthest outside
            raise ValueError(
                f"table {self.name}: momentum p = {q:.10g} is outside the table's p range "
                f"[{lo:.10g}, {hi:.10g}]; allowed: a momentum grid (p edges, report momenta) inside that range "
                "(the table is not extrapolated)")
        q = p[outside].flat[0] if np.ndim(p) else float(p)
        warnings.warn(f"table {self.name}: momentum p = {q!r} is outside the table's p range "
                      f"[{lo!r}, {hi!r}] by round-off; taken at the table's end", stacklevel=3)
        return np.clip(p, lo, hi)

    def coefficients(self, mu, p) -> Coefficients:
        m = as_nodes(mu).value
        m, pp = np.broadcast_arrays(m, self.check_momenta(p))
        pts = np.stack([np.log(pp).ravel(), np.clip(m, -1, 1).ravel()], axis=-1)
        # inside the range the interpolant is a convex combination of non-negative nodes: the
        # floor at 0 of D_mumu, D_pp only removes round-off of the interpolation weights
        return Coefficients(*(np.maximum(f(pts), 0.0).reshape(m.shape) if i != 1 else f(pts).reshape(m.shape)
                              for i, f in enumerate(self._interp)))


@dataclass(frozen=True)
class CallableCoefficients:
    """``func(mu, p) -> (D_mumu, D_mup, D_pp)`` (arrays broadcast), with optional break points.

    Whatever the user's function raises, or a result that is not three arrays of the broadcast
    shape of ``(mu, p)``, is a ``ValueError`` naming the function (``name``): one line, the
    defect is the case's, not fpsolve's."""

    func: Callable
    ultrarelativistic: bool = False
    mu_breakpoints: tuple = ()
    name: str = "function"

    def velocity(self, p):
        return particle_speed(p, ultrarelativistic=self.ultrarelativistic)

    def breakpoints(self, p):
        p = np.asarray(p, dtype=float)
        return np.broadcast_to(np.asarray(self.mu_breakpoints, dtype=float), p.shape + (len(self.mu_breakpoints),))

    def coefficients(self, mu, p) -> Coefficients:
        m = as_nodes(mu).value
        shape = np.broadcast(m, p).shape
        allowed = "allowed: f(mu, p) -> (D_mumu, D_mup, D_pp), arrays broadcasting to the shape of (mu, p)"
        try:
            out = self.func(m, p)
        except Exception as err:  # the user's code: any failure is the case's defect, one line
            text = " ".join(str(err).split())
            raise ValueError(f"function {self.name}: f(mu, p) raised {type(err).__name__}: {text}; {allowed}") from err
        try:
            parts = tuple(out)
            if len(parts) != 3:
                raise ValueError(f"{len(parts)} values")
            return Coefficients(*(np.broadcast_to(np.asarray(x, dtype=float), shape) for x in parts))
        except (TypeError, ValueError) as err:
            text = " ".join(str(err).split())
            raise ValueError(f"function {self.name}: f(mu, p) returned {type(out).__name__} ({text}), not three "
                             f"arrays; {allowed}") from None


def load_table(path, ultrarelativistic=False) -> TabulatedCoefficients:
    """Read ``mu``, ``p``, ``d_mumu``, ``d_mup``, ``d_pp`` from an ``.npz`` file (never unpickling:
    a file that is not an .npz archive is a ``ValueError`` naming it)."""
    allowed = "allowed: an .npz with mu, p, d_mumu, d_mup, d_pp (numpy.savez)"
    if Path(path).is_dir():
        raise ValueError(f"table {path}: is a folder; {allowed}")
    if Path(path).exists() and not zipfile.is_zipfile(path):
        raise ValueError(f"table {path}: not an .npz archive; {allowed}")
    try:
        data = np.load(path, allow_pickle=False)
    except (ValueError, zipfile.BadZipFile, EOFError) as err:
        raise ValueError(f"table {path}: unreadable .npz ({' '.join(str(err).split())}); {allowed}") from None
    if not isinstance(data, np.lib.npyio.NpzFile):
        raise ValueError(f"table {path}: not an .npz archive; {allowed}")
    with data:
        missing = {"mu", "p", "d_mumu", "d_mup", "d_pp"} - set(data.files)
        if missing:
            raise ValueError(f"table {path} lacks {sorted(missing)}; allowed: an .npz with mu, p, d_mumu, d_mup, d_pp")
        return TabulatedCoefficients(data["mu"], data["p"], data["d_mumu"], data["d_mup"], data["d_pp"],
                                     ultrarelativistic=ultrarelativistic, name=str(path))


def load_callable(spec: str, base: Path | None = None):
    """``"module:function"`` or ``"path/to/file.py:function"`` (relative to ``base``) -> the function."""
    if ":" not in spec:
        raise ValueError(f"function = {spec!r}; allowed: 'module:function' or 'file.py:function'")
    target, name = spec.rsplit(":", 1)
    if target.endswith(".py"):
        path = Path(target)
        if base is not None and not path.is_absolute():
            path = base / path
        s = importlib.util.spec_from_file_location(path.stem, path)
        if s is None or not path.exists():
            raise ValueError(f"function = {spec!r}: file {path} not found")
        module = importlib.util.module_from_spec(s)
        s.loader.exec_module(module)
    else:
        module = importlib.import_module(target)
    try:
        return getattr(module, name)
    except AttributeError:
        raise ValueError(f"function = {spec!r}: {target} has no {name!r}") from None
