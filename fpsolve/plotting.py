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
