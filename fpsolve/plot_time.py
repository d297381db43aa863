"""Figures of a physical-time run (:class:`fpsolve.transient.TimeSeriesResult`, from a run or a file).

* ``F(z, t)``: the isotropic part (Eq. 5) at the first probe's momentum on (z, time) — log colour
  scale over ``DECADES`` decades below the maximum, cells with ``F < -10^-DECADES max F`` (the DG-1
  undershoot at a front, not round-off) or NaN in grey, the probes' positions dashed;
* ``g(mu)/F`` at each probe (one panel per probe, titled by its z and p) at up to five output times
  (colour), kinetic (points) and Eq. (7) with the kinetic gradients (lines);
* ``|delta(t)|`` at each probe: kinetic Eq. (11) (points and solid line) against the diffusion
  approximation's (Eq. 7 in Eq. 11, dashed), with |delta| = 1, the superluminal bound (|delta| > 1
  needs f < 0 at mu = -+1: the diffusion approximation's streaming faster than the particles).

Units are the case's (:class:`fpsolve.plotting._Units`): physical cases z in pc, p in TeV/c and
time in yr; code-unit cases z in L, p in m c and time in L/c.  The time axis is logarithmic when
the positive output times span more than ``LOG_TIME_SPAN`` (times <= 0 are then left out), else
linear.  NaN values (``g/F`` and ``delta`` where F = 0, before the particles arrive) leave gaps.

``figure_*`` build the figures (returned, not written: the tests inspect their labels);
``plot_*`` write them through :func:`fpsolve.io.save_figure` (atomic).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = ["TIME_FIGURES", "time_figures", "plot_F_zt", "plot_g_probes", "plot_delta", "figure_F_zt", "figure_g_probes",
           "figure_delta", "probe_label", "DECADES", "LOG_TIME_SPAN"]

#: The colour scale of F(z, t) spans this many decades below its maximum (below: the lowest colour,
#: the colour bar's arrow); a burst's far tail (1e-30 of the peak) would otherwise take the scale.
DECADES = 6
#: Positive output times spanning more than this ratio are drawn on a log time axis.
LOG_TIME_SPAN = 30.0


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


def _units(r):
    from .plotting import _Units

    return _Units(r.case)


def probe_label(r, pr) -> str:
    """The probe's label (:func:`fpsolve.dataset.probe_label`, as in the summary)."""
    from .dataset import probe_label as label

    return label(r.case, pr.z, pr.p)


def _times(r):
    """(output times in the case's unit, unit name, log axis?)."""
    unit, per = r.time_unit
    t = np.asarray(r.times, float) / per
    pos = t[np.isfinite(t) & (t > 0)]
    log = pos.size >= 2 and pos.max() / pos.min() > LOG_TIME_SPAN
    return t, unit, log


def _positive(a):
    """``a`` with values <= 0 and NaN/Inf as NaN (masked on a log axis instead of clipped)."""
    a = np.array(a, dtype=float)
    a[~(np.isfinite(a) & (a > 0))] = np.nan
    return a


def _time_edges(t, log):
    """Cell edges of the output times for pcolormesh: mid-points (geometric on a log axis)."""
    if t.size == 1:
        return t[0] * np.array([0.9, 1.1]) if t[0] > 0 else t[0] + np.array([-0.5, 0.5])
    x = np.log(t) if log else t
    mid = 0.5 * (x[1:] + x[:-1])
    e = np.concatenate([[x[0] - (mid[0] - x[0])], mid, [x[-1] + (x[-1] - mid[-1])]])
    if not log:
        e[0] = max(e[0], 0.0) if t[0] >= 0 else e[0]
    return np.exp(e) if log else e


def _probe_momentum_index(r) -> int:
    return int(np.argmin(np.abs(np.log(r.grid.p / r.probes[0].p)))) if r.probes else r.grid.np_ // 2


def figure_F_zt(r):
    """F(z, t) at the first probe's momentum (homogeneous problems: F(t)); returns the figure."""
    plt = _plt()
    u = _units(r)
    t, unit, log = _times(r)
    keep = t > 0 if log else np.ones(t.size, bool)
    k = _probe_momentum_index(r)
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    title = f"F(z, t) at p = {u.p(r.grid.p[k]):.4g} {u.p_unit}"
    if r.grid.homogeneous:
        F = np.asarray(r.F, float)[:, k][keep]
        ax.plot(t[keep], _positive(F), "o-", ms=3)
        ax.set_yscale("log")
        ax.set_ylabel("F (Eq. 5)")
        title = f"F(t) at p = {u.p(r.grid.p[k]):.4g} {u.p_unit}"
    else:
        F = np.asarray(r.F, float)[:, k, :][keep]
        tk = t[keep]
        finite = np.isfinite(F)
        top = float(np.log10(F[finite].max())) if finite.any() and F[finite].max() > 0 else 0.0
        floor = 10.0 ** (top - DECADES)
        # below the floor in size: the lowest colour (the colour bar's arrow); negative beyond it
        # (the DG-1 undershoot at a front, not round-off) or NaN: grey
        bad = ~finite | (F < -floor)
        logF = np.where(bad, np.nan, np.log10(np.maximum(np.where(finite, F, 1.0), floor)))
        cmap = plt.get_cmap("viridis").with_extremes(bad="0.8")
        im = ax.pcolormesh(u.z(r.grid.z_edges), _time_edges(tk, log), np.ma.masked_invalid(logF), cmap=cmap,
                           vmin=top - DECADES, vmax=top, shading="flat")
        label = r"$\log_{10} F$" + (rf" (grey: $F < -10^{{{-DECADES}}}\,F_{{max}}$)" if bad.any() else "")
        fig.colorbar(im, ax=ax, label=label, extend="min")
        for z in sorted({pr.z for pr in r.probes if np.isfinite(pr.z)}):
            ax.axvline(u.z(z), color="w", ls="--", lw=0.8)
        if any(np.isfinite(pr.z) for pr in r.probes):
            title += " (dashed: probes)"
        ax.set_xlabel(f"z [{u.z_unit}]")
    if r.grid.homogeneous:
        ax.set_xlabel(f"t [{unit}]")
        if log:
            ax.set_xscale("log")
    else:
        ax.set_ylabel(f"t [{unit}]")
        if log:
            ax.set_yscale("log")
    ax.set_title(title)
    return fig


def _time_indices(r, n=5):
    """Up to ``n`` output indices spread over the run (log-spaced on a log time axis) at which some
    probe's g/F is finite (F > 0: the particles have arrived)."""
    t, _, log = _times(r)
    ok = np.zeros(t.size, bool)
    for pr in r.probes:
        ok |= np.any(np.isfinite(np.asarray(pr.g_over_F, float)), axis=-1)
    if log:
        ok &= t > 0
    idx = np.flatnonzero(ok)
    if idx.size <= n:
        return list(idx)
    x = np.log(t[idx]) if log else t[idx]
    want = np.linspace(x[0], x[-1], n)
    return sorted({int(idx[np.argmin(np.abs(x - w))]) for w in want})


def figure_g_probes(r):
    """g(mu)/F at each probe (a panel each, titled by z and p), kinetic (points) and Eq. (7)
    (lines), colour = output time; one legend, outside the panels."""
    plt = _plt()
    from matplotlib.lines import Line2D

    t, unit, _ = _times(r)
    n = len(r.probes)
    ncol = min(n, 3)
    nrow = -(-n // ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(3.6 * ncol + 2.0, 3.2 * nrow), squeeze=False)
    idx = _time_indices(r)
    colours = plt.get_cmap("plasma")(np.linspace(0.0, 0.85, max(len(idx), 1)))
    for j, pr in enumerate(r.probes):
        ax = axes.flat[j]
        for c, i in zip(colours, idx):
            ax.plot(r.grid.mu, pr.g_over_F[i], "o", ms=3, color=c)
            ax.plot(r.grid.mu, pr.g_da_over_F[i], "-", lw=0.9, color=c)
        ax.axhline(0.0, color="0.6", lw=0.5)
        ax.set_title(probe_label(r, pr), fontsize=9)
        ax.set_xlabel(r"$\mu$")
        if j % ncol == 0:
            ax.set_ylabel(r"$g(\mu)/F$")
    for ax in list(axes.flat)[n:]:
        ax.set_visible(False)
    handles = [Line2D([], [], color=c, marker="o", ms=3, lw=0.9, label=f"t = {t[i]:.3g} {unit}")
               for c, i in zip(colours, idx)]
    handles += [Line2D([], [], color="k", marker="o", ms=3, ls="none", label="kinetic"),
                Line2D([], [], color="k", lw=0.9, label="Eq. (7), kinetic F'")]
    axes.flat[ncol - 1].legend(handles=handles, fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1.0),
                               borderaxespad=0.0)
    return fig


def figure_delta(r):
    """|delta(t)| at each probe, kinetic (Eq. 11) and Eq. (7), the superluminal bound |delta| = 1;
    one legend entry per probe (colour) plus the line styles, outside the axes."""
    plt = _plt()
    from matplotlib.lines import Line2D

    t, unit, log = _times(r)
    keep = t > 0 if log else np.ones(t.size, bool)
    fig, ax = plt.subplots(figsize=(7.4, 4.4))
    handles = []
    for pr in r.probes:
        line, = ax.plot(t[keep], _positive(np.abs(pr.delta))[keep], "o-", ms=3)
        ax.plot(t[keep], _positive(np.abs(pr.delta_da))[keep], "x--", ms=4, color=line.get_color())  # x: seen alone
        handles.append(Line2D([], [], color=line.get_color(), lw=2, label=probe_label(r, pr)))
    ax.set_yscale("log")
    if log:
        ax.set_xscale("log")
    bound = ax.axhline(1.0, color="k", lw=0.8, ls=":", label=r"$|\delta| = 1$: superluminal bound")
    handles += [Line2D([], [], color="k", marker="o", ms=3, label="kinetic (Eq. 11)"),
                Line2D([], [], color="k", ls="--", marker="x", ms=4, label="diffusion approx. (Eq. 7)"), bound]
    ax.set_xlabel(f"t [{unit}]")
    ax.set_ylabel(r"$|\delta|$ (Eq. 11)")
    ax.legend(handles=handles, fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0)
    return fig


def _banner(r, fig):
    """A partial run (interrupted, ``--keep-partial``) or a flagged one says so above its figures
    (:meth:`~fpsolve.timeseries.TimeSeriesResult.flags`)."""
    if getattr(r, "partial", False):
        fig.suptitle(r.stop_text(counts=False), fontsize=9, color="C3")
    elif not r.trustworthy:
        fig.suptitle("NOT TRUSTWORTHY: " + ", ".join(r.flags()), fontsize=9, color="C3")
    return fig


def plot_F_zt(r, path):
    return _save(_plt(), _banner(r, figure_F_zt(r)), path)


def plot_g_probes(r, path):
    return _save(_plt(), _banner(r, figure_g_probes(r)), path)


def plot_delta(r, path):
    return _save(_plt(), _banner(r, figure_delta(r)), path)


#: the file name suffix of each time-series figure (``fpsolve plot --what`` names -> STEM_<suffix>.png)
TIME_FIGURES = {"F": "F_zt", "g": "g_probes", "delta": "delta_t"}


def time_figures(r, stem, what=("F", "g", "delta")) -> list[Path]:
    """PNG files ``STEM_F_zt.png``, ``STEM_g_probes.png``, ``STEM_delta_t.png`` (those asked for)."""
    stem = Path(stem)
    out = []

    def path(w):
        return stem.with_name(f"{stem.name}_{TIME_FIGURES[w]}.png")

    if "F" in what and r.times.size:
        out.append(plot_F_zt(r, path("F")))
    if "g" in what and r.probes:
        out.append(plot_g_probes(r, path("g")))
    if "delta" in what and r.probes:
        out.append(plot_delta(r, path("delta")))
    return out
