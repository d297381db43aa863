r"""Convergence ladders and parameter sweeps: independent runs, local processes or a Dask cluster.

``fpsolve converge CASE --refine z,mu,p --levels 4 --ratio 2`` multiplies the cell counts of the
refined axes by ``ratio**level`` and reports, for every quantity (F, |g/F| at the probes — each
evaluated at its requested (z, p) by interpolation, so that its value and name do not follow the
nearest cell centre as it moves with refinement — the streaming amplitude against Eq. 38, the
balance closure, judged against 1 since it is relative to the injection), the observed order from
the last three levels, ``p = ln(|q1 - q0| / |q2 - q1|) / ln(ratio)``, the Richardson value
``q* = q2 + (q2 - q1)/(ratio**p - 1)``, its error estimate ``|q* - q2|`` and the converged digits
``-log10(|q* - q2| / |q*|)``.  ``fpsolve sweep CASE key=v1,v2 ...`` runs the product of the listed
values.  Every run is a task cached by the hash of its resolved case and of the package source
(:func:`cache_key`), so a re-run skips finished ones and a code change never reuses stale results;
tasks go to local processes, or to ``dask.distributed`` with ``--scheduler ADDRESS``.
"""
from __future__ import annotations

import functools
import hashlib
import itertools
import json
import logging
import multiprocessing
import sys
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import numpy as np

from . import markdown
from .io import checksummed, save_figure, write_atomic, write_hdf5

__all__ = ["run_task", "run_tasks", "ladder", "richardson", "converge", "sweep", "cache_key", "source_hash"]

log = logging.getLogger(__name__)  # one line per finished run at INFO (``fpsolve -v``)

REFINE_KEYS = {"z": "z_cells", "mu": "mu_cells", "p": "p_cells", "t": "fixed_step"}
AXES = ("z", "mu", "p")  # the order of GridSection.cells
#: ``--refine t`` of a case without ``[time] fixed_step``: the coarsest level takes end / T_STEPS
#: (constant steps; the integrator still lands on output times and source switches exactly)
T_STEPS = 16


def probe_label(pr) -> str:
    """A probe's name: its *requested* (z, p), the same at every level of a ladder (the probe is
    evaluated there by interpolation, :mod:`fpsolve.probes`), never the nearest cell's."""
    return f"p={pr.p:.4g}" if pr.z is None else f"z={pr.z:.4g},p={pr.p:.4g}"


def quantities(result) -> dict:
    """Scalar diagnostics of a run, named by probe (its requested z, p: :func:`probe_label`); for a
    physical-time run, F and delta (Eq. 11) at each probe at the last output time, the particle
    content then and the time-integrated balance defect (relative to the injected number)."""
    if getattr(result, "kind", "") == "timeseries":
        unit, per = result.time_unit
        at = f"t={result.times[-1] / per:.4g} {unit}"
        q = {"balance defect": float(result.balance["relative"]),
             f"content({at})": float(result.balance["content"])}
        for pr in result.probes:
            where = f"p={pr.p:.4g}" if pr.z is None or not np.isfinite(pr.z) else f"z={pr.z:.4g},p={pr.p:.4g}"
            q[f"F({where},{at})"] = float(pr.F[-1])
            q[f"delta({where},{at})"] = float(pr.delta[-1])
        return q
    q = {"balance closure": float(result.balance["closure"])}
    for pr in result.probes:
        where = probe_label(pr)
        q[f"F({where})"] = float(pr.F)
        q[f"max|g/F|({where})"] = float(np.max(np.abs(pr.g_over_F)))
        if np.isfinite(pr.streaming_amplitude):
            q[f"amplitude/Eq.38({where})"] = float(pr.streaming_amplitude / pr.streaming_amplitude_eq38)
    return q


@functools.lru_cache(maxsize=None)
def source_hash() -> str:
    """SHA-256 of the package's own source (every ``.py`` under ``fpsolve/``, by relative path), once
    per process: any change of the code, a bug fix included, invalidates the cached runs."""
    root = Path(__file__).resolve().parent
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def cache_key(case) -> str:
    """The resolved case (every value, [solver] included), the package source and the user
    coefficient files (table .npz, python file) the case reads."""
    key = f"{case.digest()}-{source_hash()[:16]}"
    extra = case.model_files()
    if extra:  # user coefficient files: their contents are part of the case
        key += "-" + hashlib.sha256(b"".join(p.read_bytes() for p in extra)).hexdigest()[:16]
    return key


def cached_solve(case_path: str, overrides: list, cache_dir: str | None, suffix: str, details) -> dict:
    """Solve one case (in whatever process runs it) and return its record: the run's basics plus
    ``details(result)``; cached as ``CACHE/<cache_key><suffix>.json`` (written atomically; an
    unreadable cache file is a miss; a failed run is never cached)."""
    import fpsolve

    case = fpsolve.load_case(case_path, overrides)
    cache = Path(cache_dir) / f"{cache_key(case)}{suffix}.json" if cache_dir else None
    if cache is not None and cache.exists():
        try:
            record = json.loads(cache.read_text())
            record["cached"] = True
            return record
        except (OSError, ValueError):
            pass  # a truncated or foreign file: solve again
    if case.has_time:  # physical time: the time series (its info says "completed", not "converged")
        from .transient import run_transient

        result = run_transient(case)
        converged = result.info.completed
    else:
        result = fpsolve.solve(case)
        converged = result.info.converged
    record = {"overrides": list(overrides), "unknowns": int(result.grid.size), "converged": converged,
              "trustworthy": bool(result.trustworthy), "wall_s": result.timings["total_s"], "cached": False,
              **details(result)}
    if cache is not None and converged:
        from .io import write_atomic

        cache.parent.mkdir(parents=True, exist_ok=True)
        # workers may write one key at once (same content): no lock, the last rename wins
        write_atomic(cache, json.dumps(record), lock=False)
    return record


def run_task(case_path: str, overrides: list, cache_dir: str | None = None) -> dict:
    """Solve one case for a ladder or sweep: the study quantities and the probes' placements."""
    return cached_solve(case_path, overrides, cache_dir, "",
                        lambda r: {"quantities": quantities(r),
                                   "placements": {probe_label(pr): pr.placement for pr in r.probes
                                                  if hasattr(pr, "placement")}})


def _bar(total, progress):
    if not progress:
        return None
    from tqdm import tqdm

    return tqdm(total=total, desc="runs", unit="run", file=sys.stderr)


def run_tasks(tasks, scheduler: str | None = None, workers: int | None = None, progress: bool = False,
              task=run_task) -> list:
    """Run ``(case_path, overrides, cache_dir)`` tasks: a Dask cluster if ``scheduler``, else local
    processes; results in task order; ``progress`` draws a bar over finished runs (stderr).  ``task``
    is the module-level function each tuple is given to (default :func:`run_task`)."""
    bar = _bar(len(tasks), progress)
    done = [0]

    def finished(t, record=None):  # the bar, and one log line per run (``fpsolve -v``)
        done[0] += 1
        if bar is not None:
            bar.update(1)
        if isinstance(record, dict):
            log.info("run %d of %d done: %s (%s unknowns, %.2f s%s)", done[0], len(tasks), " ".join(record.get(
                "overrides", t[1])) or "(the case)", record.get("unknowns", "?"), record.get("wall_s", 0.0),
                ", cached" if record.get("cached") else "")
        else:
            log.info("run %d of %d done", done[0], len(tasks))

    try:
        if scheduler is not None:
            try:
                from dask.distributed import Client, as_completed as dask_completed
            except ImportError as err:
                raise ValueError("--scheduler needs dask.distributed (pip install distributed)") from err
            client = scheduler if hasattr(scheduler, "submit") else Client(scheduler)
            futures = [client.submit(task, *t, pure=False) for t in tasks]
            for _ in dask_completed(futures):
                finished(None)
            return client.gather(futures)
        if workers == 1 or len(tasks) == 1:
            out = []
            for t in tasks:
                out.append(task(*t))
                finished(t, out[-1])
            return out
        # spawn, not fork: numba's OpenMP threads make fork unsafe once the parent ran a kernel
        with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn")) as pool:
            futures = {pool.submit(task, *t): t for t in tasks}
            for fu in as_completed(futures):
                finished(futures[fu], fu.result() if fu.exception() is None else None)
            return [fu.result() for fu in futures]
    finally:
        if bar is not None:
            bar.close()


def ladder(case, refine, levels, ratio) -> list:
    """Override lists of the refinement levels (mu counts kept even; ``t``: the constant time step
    ``[time] fixed_step`` divided by ``ratio**level``, from the case's or end / :data:`T_STEPS`)."""
    if "t" in refine and not case.has_time:
        raise ValueError(f"--refine t: {case.origin} has no [time] section; allowed: z, mu, p for a steady case")
    cells = dict(zip(AXES, case.grid.cells))
    base = {ax: cells[ax] for ax in refine if ax != "t"}
    out = []
    for level in range(levels):
        over = []
        if "t" in refine:
            tm = case.transient
            h0 = tm.fixed_step if tm.fixed_step is not None else tm.end / T_STEPS
            over.append(f"time.fixed_step={h0 / ratio**level!r}")
        for ax, n in base.items():
            m = int(round(n * ratio**level))
            if ax == "mu":
                m += m % 2
            over.append(f"grid.{REFINE_KEYS[ax]}={m}")
        out.append(over)
    return out


#: Differences below this fraction of the value are the round-off of the steady solves (thick
#: problems converge to ~1e-9 relative, the round-off floor of the residual): no order from them.
NOISE = 1e-8


#: Quantities that are already relative to a scale of 1 (the balance closure is relative to the
#: injected number): their round-off is judged against 1, not against their own (round-off) size.
UNIT_SCALE = ("balance closure", "balance defect")


def richardson(values, ratio, scale=None):
    """Observed order, extrapolated value, error estimate and converged digits from the last three levels;
    differences below ``NOISE * scale`` (default: the largest of the values) are round-off."""
    q0, q1, q2 = values[-3:]
    d1, d2 = q1 - q0, q2 - q1
    scale = max(abs(q0), abs(q1), abs(q2)) if scale is None else scale
    if max(abs(d1), abs(d2)) <= NOISE * scale or abs(d2) <= NOISE * scale:
        # both differences, or the last one, at the solve's round-off: no order can be read
        err = abs(d2) if abs(d2) <= NOISE * scale else max(abs(d1), abs(d2))
        return {"order": float("nan"), "extrapolated": q2, "error": err,
                "digits": float(-np.log10(max(err, 1e-300) / scale)) if scale else float("nan"),
                "note": "converged to round-off" + ("" if abs(d1) <= NOISE * scale else " (at the finest levels)")}
    if d1 == 0 or d2 == 0 or np.sign(d1) != np.sign(d2):
        return {"order": float("nan"), "extrapolated": q2, "error": abs(d2), "digits": float("nan"),
                "note": "not monotone: no asymptotic order yet"}
    order = float(np.log(abs(d1) / abs(d2)) / np.log(ratio))
    if abs(d2) >= abs(d1):  # differences not shrinking: Richardson would extrapolate the wrong way
        return {"order": order, "extrapolated": q2, "error": abs(d2), "digits": float("nan"),
                "note": "differences not decreasing: not in the asymptotic range"}
    extrapolated = q2 + d2 / (ratio**order - 1.0)
    error = abs(extrapolated - q2)
    digits = float(-np.log10(error / abs(extrapolated))) if extrapolated and error else float("inf")
    return {"order": order, "extrapolated": float(extrapolated), "error": float(error), "digits": digits, "note": ""}


def converge(case_path, overrides=(), refine=("z",), levels=4, ratio=2.0, out="converge-out",
             scheduler=None, workers=None, progress=False):
    """Run a refinement ladder and write ``converge.md``, ``converge.png`` and ``converge.h5``; returns the rows."""
    import fpsolve

    case = fpsolve.load_case(case_path, list(overrides))
    if levels < 3:
        raise ValueError(f"--levels {levels}: at least 3 levels are needed for an observed order")
    bad = set(refine) - set(REFINE_KEYS)
    if bad:
        raise ValueError(f"--refine {','.join(sorted(bad))}: unknown axis; allowed: z, mu, p, t")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    steps = ladder(case, refine, levels, ratio)
    records = run_tasks([(str(case_path), list(overrides) + s, str(out / "cache")) for s in steps], scheduler, workers,
                        progress)
    names = list(records[0]["quantities"])
    rows = []
    for name in names:
        vals = [r["quantities"][name] for r in records]
        rows.append({"quantity": name, "values": vals,
                     **richardson(vals, ratio, 1.0 if name in UNIT_SCALE else None)})
    lines = [f"# Convergence of {case_path} (refine {','.join(refine)}, ratio {ratio:g})", ""]
    lines += markdown.table(["level", "overrides", "unknowns", "wall [s]", "cached", "trustworthy"],
                            [[i, " ".join(s), r["unknowns"], f"{r['wall_s']:.2f}", r["cached"],
                              {True: "yes", False: "NO"}.get(r.get("trustworthy"), "?")]
                             for i, (s, r) in enumerate(zip(steps, records))])
    flagged = [i for i, r in enumerate(records) if r.get("trustworthy") is False]
    if flagged:
        note = (f"levels {', '.join(map(str, flagged))} of {levels} are NOT TRUSTWORTHY (fpsolve info on such a run "
                "names the flag): the orders and digits below measure the discretisation's convergence there, "
                "not the accuracy of the physics")
        lines += ["", f"**{note}.**"]
        log.warning("%s", note)
    lines += ["", "Probes are evaluated at the requested (z, p) at every level (linear interpolation between z "
              "cell centres, in ln p between momentum centres: second order):", ""]
    for label in records[0].get("placements", {}):
        lines.append(f"- {label}: " + "; ".join(f"level {i}: {r.get('placements', {}).get(label, '?')}"
                                                for i, r in enumerate(records)))
    lines.append("")
    lines += markdown.table(["quantity", *(f"level {i}" for i in range(levels)), "observed order", "Richardson",
                             "error estimate", "converged digits", "note"],
                            [[row["quantity"], *(f"{v:.10g}" for v in row["values"]), f"{row['order']:.3f}",
                              f"{row['extrapolated']:.10g}", f"{row['error']:.2e}", f"{row['digits']:.2f}", row["note"]]
                             for row in rows])
    write_atomic(out / "converge.md", "\n".join(lines) + "\n")
    _figure(rows, records, out / "converge.png", len(refine), steps if list(refine) == ["t"] else None)

    def fill(h5):
        h5.attrs["case"] = str(case_path)
        h5.attrs["refine"] = ",".join(refine)
        h5.attrs["ratio"] = ratio
        h5.attrs["fpsolve_version"] = fpsolve.__version__
        h5.attrs["kind"] = "converge"
        checksummed(h5, "unknowns", [r["unknowns"] for r in records])
        for row in rows:
            g = h5.create_group(row["quantity"].replace("/", "_"))
            checksummed(g, "values", row["values"])
            for k in ("order", "extrapolated", "error", "digits"):
                g.attrs[k] = row[k]

    write_hdf5(out / "converge.h5", fill)
    return rows


def _figure(rows, records, path, n_axes, time_steps=None):
    """|q - q*| against the unknowns, with reference slopes of orders 1 and 2 (N^(-order/n_axes));
    ``time_steps`` (the levels' overrides of ``--refine t``): against the time step, slopes dt^order."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if time_steps is not None:  # the unknowns do not change: the abscissa is 1/dt, the slopes dt^order
        dt = np.array([float(next(o for o in s if o.startswith("time.fixed_step=")).split("=", 1)[1])
                       for s in time_steps])
        n, n_axes = 1.0 / dt, 1
    else:
        n = np.array([r["unknowns"] for r in records], dtype=float)
    fig, ax = plt.subplots(figsize=(6, 4.2))
    for row in rows:
        err = np.abs(np.array(row["values"]) - row["extrapolated"])[:-1]
        if np.all(err > 0) and np.all(np.isfinite(err)):
            ax.loglog(n[:-1], err, "o-", label=row["quantity"])
    if ax.lines:
        x0, y0 = n[0], max(line.get_ydata()[0] for line in ax.lines)
        for order, style in ((1, ":"), (2, "--")):
            ax.loglog(n[:-1], y0 * (n[:-1] / x0) ** (-order / n_axes), style, color="0.5", lw=0.8,
                      label=f"order {order}")
    ax.set_xlabel("1 / time step (case time unit)" if time_steps is not None else "unknowns N")
    ax.set_ylabel("|q - q_Richardson|")
    ax.legend(fontsize=6)
    fig.tight_layout()
    try:
        save_figure(fig, path, dpi=150)
    finally:
        plt.close(fig)


def sweep(case_path, assignments, overrides=(), out="sweep-out", scheduler=None, workers=None, progress=False):
    """Runs for every combination of ``section.key=v1,v2,...``; writes ``sweep.md`` and returns the records."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    axes = []
    for a in assignments:
        key, _, values = a.partition("=")
        if not values:
            raise ValueError(f"sweep {a!r}: expected section.key=v1,v2,...")
        axes.append([f"{key}={v}" for v in values.split(",")])
    combos = [list(c) for c in itertools.product(*axes)]
    records = run_tasks([(str(case_path), list(overrides) + c, str(out / "cache")) for c in combos], scheduler, workers,
                        progress)
    names = list(records[0]["quantities"])
    lines = markdown.table(["run", *names], [[" ".join(c), *(f"{r['quantities'][k]:.6g}" for k in names)]
                                             for c, r in zip(combos, records)])
    write_atomic(out / "sweep.md", "\n".join(lines) + "\n")
    return records
