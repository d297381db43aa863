"""Standard figures of a run: g(mu)/F kinetic vs Eq. (7) at the probes; F(z) at a few momenta
(F(p) for homogeneous problems); from a file alone: g, F, delta and the residual history."""
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
        fig.tight_layout()
        self.paths.append(self.stem.with_name(f"{self.stem.name}_{name}.png"))
        fig.savefig(self.paths[-1], dpi=120)
        plt.close(fig)


def _profile(ax, grid, a, ks, log):
    """``a`` along p (homogeneous problems) or along z at the momenta ``ks`` (``a[k]``)."""
    if grid.homogeneous:
        ax.plot(grid.p, a)
        ax.set_xscale("log")
        ax.set_xlabel("p [m c]")
    else:
        for k in ks:
            ax.plot(grid.z, a[k], label=f"p = {grid.p[k]:.3g} m c")
        ax.set_xlabel("z [L]")
        ax.legend(fontsize=7)
    if log:
        ax.set_yscale("log")


def _some_momenta(grid):
    return np.unique(np.linspace(0, grid.np_ - 1, min(4, grid.np_)).astype(int))


def _isotropic(w, result):
    fig, ax = w.new()
    _profile(ax, result.grid, result.fields.F, _some_momenta(result.grid), log=True)
    ax.set_ylabel(r"$F(p)$" if result.grid.homogeneous else r"$F(z, p)$")
    ax.set_title("isotropic part")
    w.save(fig, "F")


def standard_figures(result, stem) -> list[Path]:
    """``STEM_anisotropy.png`` (kinetic g/F and Eq. 7 at every probe) and ``STEM_F.png``."""
    w, grid = _Writer(stem), result.grid
    if result.probes:
        fig, ax = w.new()
        for pr in result.probes:
            label = f"p = {pr.p:.3g}" + ("" if pr.z is None else f", z = {pr.z:.3g}")
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


def file_figures(result, stem, what) -> list[Path]:
    """Figures from a file alone: ``g`` (g/F and Eq. 7 at the middle z and p), ``F``, ``delta``, ``residual``."""
    bad = set(what) - set(FIGURES)
    if bad:
        raise ValueError(f"--what {','.join(sorted(bad))}: unknown; allowed: {', '.join(sorted(FIGURES))}")
    w, g, fl = _Writer(stem), result.grid, result.fields
    k = g.np_ // 2
    if "g" in what:
        fig, ax = w.new()
        at = (k,) if g.homogeneous else (k, g.nz // 2)
        where = "" if g.homogeneous else f", z = {g.z[at[1]]:.3g}"
        ax.plot(g.mu, fl.g[at] / fl.F[at], "o", ms=3, label=f"kinetic, p = {g.p[k]:.3g}{where}")
        ax.plot(g.mu, fl.g_da[at] / fl.F[at], "-", label="Eq. (7), numerical gradients")
        ax.set_xlabel(r"pitch-angle cosine $\mu$")
        ax.set_ylabel(r"$g(\mu)/F$")
        ax.legend(fontsize=7)
        w.save(fig, "g")
    if "F" in what:
        _isotropic(w, result)
    if "delta" in what:
        fig, ax = w.new()
        _profile(ax, g, fl.delta, [k], log=False)
        ax.set_ylabel(r"$\delta$ (Eq. 11, signed)")
        w.save(fig, "delta")
    if "residual" in what:
        fig, ax = w.new()
        h = np.asarray(result.info.residual_history, dtype=float)
        ax.semilogy(np.arange(1, h.size + 1), h, "o-")
        ax.axhline(result.info.rtol, color="0.5", ls="--", label="rtol")
        ax.set_xlabel("iteration / pseudo-time step")
        ax.set_ylabel(r"$\|Af-b\|/\|b\|$")
        ax.legend(fontsize=7)
        w.save(fig, "residual")
    return w.paths
