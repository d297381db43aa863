"""Standard figures of a run: g(mu)/F kinetic vs Eq. (7) at the probes; F(z) at a few momenta."""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

__all__ = ["standard_figures"]


def standard_figures(result, stem) -> list[Path]:
    stem = Path(stem)
    grid, out = result.grid, []
    if result.probes:
        fig, ax = plt.subplots(figsize=(6, 4))
        for pr in result.probes:
            label = f"p = {pr.p:.3g}" + ("" if pr.z is None else f", z = {pr.z:.3g}")
            ax.plot(grid.mu, pr.g_over_F, "o", ms=3, label=f"kinetic, {label}")
            ax.plot(grid.mu, pr.g_da_over_F, "-", lw=1, label=f"Eq. (7), {label}")
        ax.set_xlabel(r"pitch-angle cosine $\mu$")
        ax.set_ylabel(r"$g(\mu)/F$")
        ax.axhline(0, color="0.7", lw=0.5)
        ax.legend(fontsize=7)
        ax.set_title("anisotropy: kinetic vs diffusion approximation")
        fig.tight_layout()
        out.append(stem.with_name(stem.name + "_anisotropy.png"))
        fig.savefig(out[-1], dpi=120)
        plt.close(fig)
    if not grid.homogeneous:
        fig, ax = plt.subplots(figsize=(6, 4))
        ks = np.unique(np.linspace(0, grid.np_ - 1, min(4, grid.np_)).astype(int))
        for k in ks:
            ax.plot(grid.z, result.fields.F[k], label=f"p = {grid.p[k]:.3g} m c")
        ax.set_xlabel("z [L]")
        ax.set_ylabel(r"$F(z, p)$")
        ax.set_yscale("log")
        ax.legend(fontsize=7)
        ax.set_title("isotropic part")
        fig.tight_layout()
        out.append(stem.with_name(stem.name + "_F.png"))
        fig.savefig(out[-1], dpi=120)
        plt.close(fig)
    else:
        fig, ax = plt.subplots(figsize=(6, 4))
        ax.loglog(grid.p, result.fields.F)
        ax.set_xlabel("p [m c]")
        ax.set_ylabel(r"$F(p)$")
        ax.set_title("isotropic part")
        fig.tight_layout()
        out.append(stem.with_name(stem.name + "_F.png"))
        fig.savefig(out[-1], dpi=120)
        plt.close(fig)
    return out


def file_figures(result, stem, what) -> list[Path]:
    """Figures from a file alone: ``g`` (g/F and Eq. 7 at the middle z and p), ``F``, ``delta``, ``residual``."""
    allowed = {"g", "F", "delta", "residual"}
    bad = set(what) - allowed
    if bad:
        raise ValueError(f"--what {','.join(sorted(bad))}: unknown; allowed: {', '.join(sorted(allowed))}")
    stem, g, fl, out = Path(stem), result.grid, result.fields, []

    def save(fig, name):
        fig.tight_layout()
        out.append(stem.with_name(f"{stem.name}_{name}.png"))
        fig.savefig(out[-1], dpi=120)
        plt.close(fig)

    k = g.np_ // 2
    if "g" in what:
        fig, ax = plt.subplots(figsize=(6, 4))
        i = None if g.homogeneous else g.nz // 2
        F = fl.F[k] if i is None else fl.F[k, i]
        gk = fl.g[k] if i is None else fl.g[k, i]
        gd = fl.g_da[k] if i is None else fl.g_da[k, i]
        where = "" if i is None else f", z = {g.z[i]:.3g}"
        ax.plot(g.mu, gk / F, "o", ms=3, label=f"kinetic, p = {g.p[k]:.3g}{where}")
        ax.plot(g.mu, gd / F, "-", label="Eq. (7), numerical gradients")
        ax.set_xlabel(r"pitch-angle cosine $\mu$")
        ax.set_ylabel(r"$g(\mu)/F$")
        ax.legend(fontsize=7)
        save(fig, "g")
    if "F" in what:
        fig, ax = plt.subplots(figsize=(6, 4))
        if g.homogeneous:
            ax.loglog(g.p, fl.F)
            ax.set_xlabel("p [m c]")
        else:
            for kk in np.unique(np.linspace(0, g.np_ - 1, min(4, g.np_)).astype(int)):
                ax.plot(g.z, fl.F[kk], label=f"p = {g.p[kk]:.3g}")
            ax.set_xlabel("z [L]")
            ax.set_yscale("log")
            ax.legend(fontsize=7)
        ax.set_ylabel(r"$F$")
        save(fig, "F")
    if "delta" in what:
        fig, ax = plt.subplots(figsize=(6, 4))
        if g.homogeneous:
            ax.semilogx(g.p, fl.delta)
            ax.set_xlabel("p [m c]")
        else:
            ax.plot(g.z, fl.delta[k], label=f"p = {g.p[k]:.3g}")
            ax.set_xlabel("z [L]")
            ax.legend(fontsize=7)
        ax.set_ylabel(r"$\delta$ (Eq. 11, signed)")
        save(fig, "delta")
    if "residual" in what:
        fig, ax = plt.subplots(figsize=(6, 4))
        h = np.asarray(result.info.residual_history, dtype=float)
        ax.semilogy(np.arange(1, h.size + 1), h, "o-")
        ax.axhline(result.info.rtol, color="0.5", ls="--", label="rtol")
        ax.set_xlabel("iteration / pseudo-time step")
        ax.set_ylabel(r"$\|Af-b\|/\|b\|$")
        ax.legend(fontsize=7)
        save(fig, "residual")
    return out
