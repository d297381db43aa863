"""Standard figures of a run: g(mu)/F kinetic vs Eq. (7) at the probes; F(z) at a few momenta
(F(p) for homogeneous problems); from a file alone: g, F, delta and the residual history.
Physical cases are drawn in the case's units (z in pc, p in TeV/c), code cases in L and m c."""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

__all__ = ["standard_figures", "file_figures"]

FIGURES = ("g", "F", "delta", "residual")


class _Writer:
    """Saves figures as ``STEM_NAME.png`` and remembers the paths."""

    def __init__(self, stem):
        self.stem, self.paths = Path(stem), []

    def new(self):
        return plt.subplots(figsize=(6, 4))

    def save(self, fig, name):
        """Through :func:`fpsolve.io.save_figure` (temporary name, fsync, rename): never a half-written PNG."""
        from .io import save_figure

        fig.tight_layout()
        path = self.stem.with_name(f"{self.stem.name}_{name}.png")
        try:
            save_figure(fig, path, dpi=120)
        finally:
            plt.close(fig)
        self.paths.append(path)


class _Units:
    """Axis values and labels in the case's units: (pc, TeV/c) for physical cases, else (L, m c)."""

    def __init__(self, case):
        from .dataset import physical_scales

        scales = physical_scales(case)
        self.z_scale, self.p_scale = scales if scales is not None else (1.0, 1.0)
        self.z_unit, self.p_unit = ("pc", "TeV/c") if scales is not None else ("L", "m c")

    def z(self, z):
        return z * self.z_scale

    def p(self, p):
        return p * self.p_scale


def _profile(ax, grid, a, ks, log, units):
    """``a`` along p (homogeneous problems) or along z at the momenta ``ks`` (``a[k]``)."""
    if grid.homogeneous:
        ax.plot(units.p(grid.p), a)
        ax.set_xscale("log")
        ax.set_xlabel(f"p [{units.p_unit}]")
    else:
        for k in ks:
            ax.plot(units.z(grid.z), a[k], label=f"p = {units.p(grid.p[k]):.3g} {units.p_unit}")
        ax.set_xlabel(f"z [{units.z_unit}]")
        ax.legend(fontsize=7)
    if log:
        ax.set_yscale("log")


def _some_momenta(grid):
    return np.unique(np.linspace(0, grid.np_ - 1, min(4, grid.np_)).astype(int))


def _isotropic(w, result):
    fig, ax = w.new()
    _profile(ax, result.grid, result.fields.F, _some_momenta(result.grid), log=True, units=_Units(result.case))
    ax.set_ylabel(r"$F(p)$" if result.grid.homogeneous else r"$F(z, p)$")
    ax.set_title("isotropic part")
    w.save(fig, "F")


def standard_figures(result, stem) -> list[Path]:
    """``STEM_anisotropy.png`` (kinetic g/F and Eq. 7 at every probe) and ``STEM_F.png``."""
    w, grid, u = _Writer(stem), result.grid, _Units(result.case)
    if result.probes:
        fig, ax = w.new()
        for pr in result.probes:
            label = f"p = {u.p(pr.p):.3g} {u.p_unit}" + ("" if pr.z is None else f", z = {u.z(pr.z):.3g} {u.z_unit}")
            ax.plot(grid.mu, pr.g_over_F, "o", ms=3, label=f"kinetic, {label}")
            ax.plot(grid.mu, pr.g_da_over_F, "-", lw=1, label=f"Eq. (7), {label}")
        ax.set_xlabel(r"pitch-angle cosine $\mu$")
        ax.set_ylabel(r"$g(\mu)/F$")
        ax.axhline(0, color="0.7", lw=0.5)
        ax.legend(fontsize=7)
        ax.set_title("anisotropy: kinetic vs diffusion approximation")
        w.save(fig, "anisotropy")
    _isotropic(w, result)
    return w.paths


def residual_points(info):
    """``(x, residual)`` of the residual figure: the residual before each step (x = 1, 2, ...) and
    the final residual after the last step (x = steps + 1).  A history that already ends with the
    final residual (the sweep records only that one) is not given it twice."""
    h = [float(v) for v in info.residual_history]
    steps = max(len(h), len(getattr(info, "corrections", []) or []))
    final = float(info.residual)
    if h and len(h) < steps and h[-1] == final:
        h = h[:-1]  # the sweep's one entry is the final residual, after all of its steps
    x = list(range(1, len(h) + 1))
    if np.isfinite(final):
        x.append(steps + 1 if h or steps else 1)
        h.append(final)
    return np.asarray(x, dtype=float), np.asarray(h, dtype=float)


def file_figures(result, stem, what) -> list[Path]:
    """Figures from a file alone: ``g`` (g/F and Eq. 7 at the middle z and p), ``F``, ``delta``, ``residual``."""
    bad = set(what) - set(FIGURES)
    if bad:
        raise ValueError(f"--what {','.join(sorted(bad))}: unknown; allowed: {', '.join(sorted(FIGURES))}")
    w, g, fl, u = _Writer(stem), result.grid, result.fields, _Units(result.case)
    k = g.np_ // 2
    if "g" in what:
        fig, ax = w.new()
        at = (k,) if g.homogeneous else (k, g.nz // 2)
        where = "" if g.homogeneous else f", z = {u.z(g.z[at[1]]):.3g} {u.z_unit}"
        ax.plot(g.mu, fl.g[at] / fl.F[at], "o", ms=3, label=f"kinetic, p = {u.p(g.p[k]):.3g} {u.p_unit}{where}")
        ax.plot(g.mu, fl.g_da[at] / fl.F[at], "-", label="Eq. (7), numerical gradients")
        ax.set_xlabel(r"pitch-angle cosine $\mu$")
        ax.set_ylabel(r"$g(\mu)/F$")
        ax.legend(fontsize=7)
        w.save(fig, "g")
    if "F" in what:
        _isotropic(w, result)
    if "delta" in what:
        fig, ax = w.new()
        _profile(ax, g, fl.delta, [k], log=False, units=u)
        ax.set_ylabel(r"$\delta$ (Eq. 11, signed)")
        w.save(fig, "delta")
    if "residual" in what:
        fig, ax = w.new()
        x, h = residual_points(result.info)
        c = np.asarray(getattr(result.info, "corrections", []), dtype=float)
        ax.semilogy(x, h, "o-", label=r"residual $\|b-Af\|/\|b\|$ (before each step; last: final)")
        if c.size:
            ax.semilogy(np.arange(1, c.size + 1), c, "s-", label=r"correction $\|\delta f\|/\|f\|$ (forward error)")
        if np.isfinite(result.info.residual):
            ax.semilogy([x[-1]], [h[-1]], "*", ms=10, color="C0", label="final residual (after the last step)")
        ax.axhline(result.info.rtol, color="0.5", ls="--", label="rtol (on the correction)")
        ax.set_xlabel("iteration / pseudo-time step")
        ax.set_ylabel("relative size")
        ax.legend(fontsize=7)
        w.save(fig, "residual")
    return w.paths
