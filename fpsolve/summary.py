"""The run summary: plain text read off a :class:`~fpsolve.result.Result` (nothing is computed here).

Grid, solver and residual, timings, the particle balance with its round-off bound, min f with
its location, and at each probe the kinetic g(mu)/F against Eq. (7) and the streaming
amplitude against Eq. (38) (or the Compton–Getting anisotropy against Eq. 39); results the code
cannot vouch for are flagged with ``**``.  Physical cases give positions and momenta in the case's
units too (pc, TeV/c); a probe momentum that is not a cell centre of the grid is named with the
momentum requested in the case.
"""
from __future__ import annotations

import numpy as np

__all__ = ["summary_text"]


def _in_case_units(result):
    """Formatters ``(z, p)`` that append the case's units for physical cases (code values unchanged)."""
    from .dataset import physical_scales

    scales = physical_scales(result.case)

    def z_text(z):
        text = f"{z:.6g}"
        return text if scales is None or not np.isfinite(z) else f"{text} L ({z * scales[0]:.6g} pc)"

    def p_text(p):
        text = f"{p:.6g}"
        return text if scales is None else f"{text} m c ({p * scales[1]:.6g} TeV/c)"

    return z_text, p_text


#: A prediction below this fraction of the kinetic max|g/F| is "g ~ 0" for the comparison: the
#: relative difference max|g - g_Eq7|/max|g_Eq7| would then only restate the ratio max|g|/max|g_Eq7|
#: (> 1/NEGLIGIBLE), e.g. 2.7e12 at a symmetry point where dF/dz is round-off.
NEGLIGIBLE = 1e-3


def _eq7_comparison(pr) -> str:
    """``|g - g_Eq7|/|g_Eq7| = ...`` where Eq. (7) predicts a g worth comparing with, else why not."""
    kinetic = float(np.max(np.abs(pr.g_over_F)))
    predicted = float(np.max(np.abs(pr.g_da_over_F)))
    if predicted > NEGLIGIBLE * kinetic and np.isfinite(pr.rel_err_da):
        return f"|g - g_Eq7|/|g_Eq7| = {pr.rel_err_da:.3e}"
    if kinetic == 0.0 and predicted == 0.0:
        return "g = 0 and Eq. 7 g = 0"
    return (f"Eq. 7 predicts g ~ 0 here (max|g_Eq7/F| = {predicted:.1e}, below {NEGLIGIBLE:g} of the kinetic "
            f"max|g/F|): no relative comparison")


def _g_s_predicted(pr) -> float:
    """max|g_s/F| of Eq. (38): |amplitude_Eq38 dF/dz / F| (the |mu|^(2-s) shape peaks at 1)."""
    return abs(pr.streaming_amplitude_eq38 * pr.dF_dz / pr.F) if pr.F else float("inf")


def _streaming_measurable(pr) -> bool:
    """The streaming amplitude g/F' is measurable where Eq. (38) predicts a streaming part of g
    above NEGLIGIBLE of the kinetic g (not at a symmetry point, where F' ~ 0)."""
    kinetic = float(np.max(np.abs(pr.g_over_F)))
    return _g_s_predicted(pr) > NEGLIGIBLE * kinetic


def summary_text(result) -> str:
    g, i, b, m = result.grid, result.info, result.balance, result.min_f
    t = result.timings
    z_text, p_text = _in_case_units(result)
    dims = "homogeneous (no z)" if g.homogeneous else f"{g.nz} z x2 (linear-discontinuous)"
    where = f"mu = {m['mu']:.4g}, p = {p_text(m['p'])}" if g.homogeneous else \
        f"z = {z_text(m['z'])}, mu = {m['mu']:.4g}, p = {p_text(m['p'])}"
    lines = [
        f"fpsolve {result.version} run: {result.case.origin}",
        f"grid: {dims}, {g.nmu} mu, {g.np_} p -> {g.size} unknowns"
        + (f", {result.problem.A.nnz} non-zeros" if result.problem is not None else ""),
        f"solver: {i.message}; {i.iterations} iterations, {i.factorizations} factorizations",
        f"time: coefficients {t.get('coefficients_s', 0):.3f} s, assembly {t.get('assembly_s', 0):.3f} s "
        f"(kernel compile {t.get('compile_s', 0):.3f} s), solve {i.wall_s:.3f} s; "
        f"peak memory {result.peak_memory_mb:.0f} MB",
        f"balance: injected {b['injected']:.6e} = escape {b['escape_z_min']:.4e} + {b['escape_z_max']:.4e}"
        f" + p_min {b['outflow_p_min']:.4e} + p_max {b['outflow_p_max']:.4e} + catastrophic "
        f"{b['catastrophic']:.4e};  closure {b['closure']:.2e} (round-off bound "
        f"{b['closure_roundoff_bound']:.1e})",
        f"min f: {m['value']:.4e} ({m['value'] / m['max']:.2e} of max) at {where}",
    ]
    failures = result.trust_failures()
    if failures:
        lines.append("** NOT TRUSTWORTHY: **")
        lines += [f"** {line} **" for line in failures]
    else:
        lines.append("trustworthy: converged, balance closed to its flux round-off, no cell mean negative "
                     "beyond its discretisation error")
    lines += [f"note: {note}" for note in getattr(result.problem, "notes", ())]
    for pr in result.probes:
        where = "homogeneous" if pr.z is None else f"z = {z_text(pr.z)}"
        lines.append(f"probe {where}, p = {p_text(pr.p)}: F = {pr.F:.6e}, max|g/F| = "
                     f"{np.max(np.abs(pr.g_over_F)):.4e}, {_eq7_comparison(pr)}"
                     + (f" ({pr.placement})" if getattr(pr, "interpolated", False) else ""))
        if pr.z is not None and np.isfinite(pr.streaming_amplitude) and pr.g_eq39_over_F is None \
                and not _streaming_measurable(pr):
            lines.append(f"    streaming amplitude: not measurable here (F' = dF/dz = {pr.dF_dz:.3e}: Eq. 38 predicts "
                         f"max|g_s/F| = {_g_s_predicted(pr):.1e}, below {NEGLIGIBLE:g} of the kinetic max|g/F|)")
        elif pr.z is not None and np.isfinite(pr.streaming_amplitude) and pr.g_eq39_over_F is None:
            lines.append(f"    streaming amplitude g/(F' |mu|^(2-s) sgn mu): kinetic {pr.streaming_amplitude:.6e}, "
                         f"Eq. 38 {pr.streaming_amplitude_eq38:.6e} "
                         f"(rel. diff {pr.streaming_amplitude / pr.streaming_amplitude_eq38 - 1:.3e})")
        if pr.g_eq39_over_F is not None and pr.z is None:
            err = np.max(np.abs(pr.g_over_F - pr.g_eq39_over_F)) / np.max(np.abs(pr.g_eq39_over_F))
            lines.append(f"    Compton–Getting: |g/F - Eq. 39 (corrected)|/max = {err:.3e}")
    return "\n".join(lines)
