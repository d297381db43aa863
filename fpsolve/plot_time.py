"""Figures of a physical-time run (:class:`fpsolve.transient.TimeSeriesResult`, from a run or a file).

* ``F(z, t)``: the isotropic part at the probe momentum on (z, time) — log colour scale;
* ``g(mu)/F`` at each probe at a few output times, kinetic (points) and Eq. (7) with the kinetic
  gradients (lines);
* ``delta(t)`` at each probe: kinetic Eq. (11) against the diffusion approximation's (Eq. 7),
  with the superluminal line |delta| = 1.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = ["time_figures", "plot_F_zt", "plot_g_probes", "plot_delta"]


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(plt, fig, path) -> Path:
    """Through :func:`fpsolve.io.save_figure` (temporary name, fsync, rename)."""
    from .io import save_figure

    fig.tight_layout()
    try:
        return save_figure(fig, path, dpi=130)
    finally:
        plt.close(fig)


def plot_F_zt(r, path):
    plt = _plt()
    unit, per = r.time_unit
    fig, ax = plt.subplots(figsize=(6.0, 4.2))
    k = int(np.argmin(np.abs(np.log(r.grid.p / r.probes[0].p)))) if r.probes else 0
    if r.grid.homogeneous:
        ax.loglog(r.times / per, r.F[:, k], "-")
        ax.set_ylabel("F")
    else:
        F = np.asarray(r.F)[:, k, :]
        pos = F[F > 0]
        floor = pos.max() * 1e-8 if pos.size else 1.0
        im = ax.pcolormesh(r.grid.z, r.times / per, np.log10(np.maximum(F, floor)), shading="nearest")
        fig.colorbar(im, ax=ax, label=r"$\log_{10} F$")
        ax.set_xlabel("z [L]")
        ax.set_ylabel(f"t [{unit}]")
        if r.times.size > 2 and r.times[0] > 0 and r.times[-1] / r.times[0] > 50:
            ax.set_yscale("log")
    ax.set_title(f"F(z, t) at p = {r.grid.p[k]:.4g} m c")
    return _save(plt, fig, path)


def plot_g_probes(r, path):
    plt = _plt()
    unit, per = r.time_unit
    fig, ax = plt.subplots(figsize=(6.0, 4.2))
    for j, pr in enumerate(r.probes):
        idx = sorted(set(np.linspace(0, r.times.size - 1, min(5, r.times.size)).astype(int)))
        for i in idx:
            line, = ax.plot(r.grid.mu, pr.g_over_F[i], "o", ms=2.5,
                            label=f"probe {j}, t = {r.times[i] / per:.3g} {unit}")
            ax.plot(r.grid.mu, pr.g_da_over_F[i], "-", lw=0.8, color=line.get_color())
    ax.set_xlabel(r"$\mu$")
    ax.set_ylabel(r"$g(\mu)/F$: kinetic (points), Eq. (7) (lines)")
    ax.legend(fontsize=6)
    return _save(plt, fig, path)


def plot_delta(r, path):
    plt = _plt()
    unit, per = r.time_unit
    fig, ax = plt.subplots(figsize=(6.0, 4.2))
    for j, pr in enumerate(r.probes):
        line, = ax.loglog(r.times / per, np.abs(pr.delta), "o-", ms=3, label=f"kinetic, probe {j}")
        ax.loglog(r.times / per, np.abs(pr.delta_da), "--", color=line.get_color(), label=f"Eq. (7), probe {j}")
    ax.axhline(1.0, color="k", lw=0.6, ls=":")
    ax.set_xlabel(f"t [{unit}]")
    ax.set_ylabel(r"$|\delta|$ (Eq. 11)")
    ax.legend(fontsize=7)
    return _save(plt, fig, path)


def time_figures(r, stem, what=("F", "g", "delta")) -> list[Path]:
    """PNG files ``STEM_F_zt.png``, ``STEM_g_probes.png``, ``STEM_delta_t.png`` (those asked for)."""
    stem = Path(stem)
    out = []
    if "F" in what and r.times.size:
        out.append(plot_F_zt(r, stem.with_name(stem.name + "_F_zt.png")))
    if "g" in what and r.probes:
        out.append(plot_g_probes(r, stem.with_name(stem.name + "_g_probes.png")))
    if "delta" in what and r.probes:
        out.append(plot_delta(r, stem.with_name(stem.name + "_delta_t.png")))
    return out
