r"""Physical-time integration of the semi-discrete system ``M df/dt + A f = b(t)``.

This module knows only matrices and vectors: ``A`` (sparse, the steady operator), ``M`` (the
diagonal mass: cell volumes, ``h/3`` for the slope rows of the linear-discontinuous z
representation), the source ``b(t)`` and the linear functionals whose time integrals the caller
wants (particle content, boundary fluxes).  The problem layer supplies them.

Integrator: TR-BDF2 (Bank et al. 1985, IEEE Trans. Electron Devices 32, 1992; the analysis and
the embedded error estimate of Hosea & Shampine 1996, Appl. Numer. Math. 20, 21).  It is the
ESDIRK method with the Butcher tableau (``gamma = 2 - sqrt 2``, ``d = gamma/2``,
``w = (1 - d)/2 = sqrt(2)/4``)::

      0     |
      gamma | d      d
      1     | w      w      d
      ------+--------------------
      b     | w      w      d          (second order, L-stable)
      b_hat | (1-w)/3 (3w+1)/3 d/3     (third order, embedded)

The first stage is a trapezoidal step to ``t + gamma h``, the second a BDF2 step to ``t + h``;
both implicit stages solve with the *same* matrix ``M + d h A``, so one factorisation serves
a step and every following step of the same ``h``.  The local error estimate is
``(M + d h A)^{-1} M h sum (b - b_hat)_i k_i`` (the filtered estimate of Hosea & Shampine,
bounded for stiff components where the raw difference is not).

Step control: the error norm is the RMS of ``err / (atol + rtol max(|f_n|, |f_{n+1}|))``; a
step is accepted when it is <= 1.  To reuse factorisations the step size only changes when it
must: it is shrunk (``0.9 err^{-1/3}``, at least x0.2) after a rejection, and grown by a factor
of 2 only when the error would allow at least that (``0.9 err^{-1/3} >= 2``).  A small cache
keeps the factorisations of the last few step sizes.  Steps are clipped to land exactly on the
requested output times and on the source's breakpoints (switch-on/off times); a clipped step
does not change the running step size.

Positivity, two controls.  (1) The spatial one, ``fixup(t, y)``: called with every step that passed
the error test; it returns None or ``(A_new, redo)`` (the caller's positivity fix-up: cells switched
to first-order upwind, :mod:`fpsolve.transient`).  ``redo``: the step is recomputed from the same
``(t, y, h)`` with ``A_new`` (``info.fixup_resolves``); else the step is accepted and ``A_new``
is used from the next step on (cells released).  The factorisation cache is dropped with each new
operator.  The caller asks for a recomputation only when its switched set grew, so a step is
recomputed finitely often.
(2) The temporal one: after each step ``check(f)`` returns (min, max) of what the scheme transports;
a step whose min is below ``-positivity_tol * max`` is rejected and retried at half the step, down
to ``min_step`` and at most ``max_positivity_halvings`` times in a row (TR-BDF2 is not positive
for large steps: its trapezoidal stage is explicit in half); a step that cannot avoid it is
accepted and flagged (``info.negative_steps``), and the run goes on with the step size it had
before the halvings and without halving until a step is non-negative again (a spatial undershoot
does not shrink with the step: without this the step size fell by 2^-10 per step to 0 on a
kinetic burst).
(3) A projection, ``limit(t, f)``: the accepted step's solution is replaced by what it returns
before the next step starts from it (the caller's conservative positivity limiter).  The
functionals are integrated with the step's own stages (a conservative projection leaves the
content, hence the balance, unchanged).  The next step's error scale is at least the change the
projection made, ``|f_own - f_limited|``, cell by cell: no accuracy is asked below what the
limiter discarded (without this the clipped cells, relaxing on the scattering time at the atol
level, drove the steps of the coarse nearby_source_burst from 197 to 33485; with it 3341).

Integrals of linear functionals: with ``y_{n+1} = y_n + h sum_i b_i k_i`` and
``M k_i = b(t_i) - A Y_i``, every linear functional ``phi`` of the flux form obeys
``1^T M (y_{n+1} - y_n) = h sum_i b_i (1^T b(t_i) - 1^T A Y_i)``; integrating the caller's
functionals over the stages with the same weights ``b_i`` therefore makes the time-integrated
particle balance (injected - escaped - lost - change of content) close to the accuracy of the
linear solves, at every step size.

Checkpoint/restart: :class:`TimeState` holds everything the integrator needs; continuing from
a state gives the same result, to the last bit, as the uninterrupted run (the factorisation
cache is rebuilt; the factors of a matrix are deterministic).
"""
from __future__ import annotations

import logging
import math
import time as _time
from dataclasses import dataclass
from typing import Callable

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

__all__ = ["TRBDF2", "TimeState", "TimeInfo", "integrate", "splu_factory", "StepFailure"]

log = logging.getLogger(__name__)  # accepted steps at INFO (``fpsolve -v``)

GAMMA = 2.0 - math.sqrt(2.0)
D = GAMMA / 2.0  # = 1 - 1/sqrt(2)
W = (1.0 - D) / 2.0  # = sqrt(2)/4
B = np.array([W, W, D])
B_HAT = np.array([(1.0 - W) / 3.0, (3.0 * W + 1.0) / 3.0, D / 3.0])
E = B - B_HAT  # weights of the error estimate
C = np.array([0.0, GAMMA, 1.0])


class StepFailure(RuntimeError):
    """The step size fell below ``min_step`` (error control) or NaN/Inf appeared."""


def splu_factory(matrix):
    """Sparse LU (SuperLU, COLAMD) of ``matrix``; returns ``solve(rhs)``."""
    lu = spla.splu(sp.csc_matrix(matrix), permc_spec="COLAMD")
    return lu.solve


@dataclass
class TimeState:
    """Everything needed to continue an integration exactly (checkpoint/restart)."""

    t: float
    y: np.ndarray
    h: float  # running step size
    step: int  # accepted steps so far
    next_output: int  # index of the next output time
    integrals: dict  # time integrals of the caller's functionals so far
    history: dict  # per-step diagnostics: lists keyed by name
    y_own: np.ndarray | None = None  # the last step's own solution when ``limit`` changed it (error scale)


@dataclass
class TimeInfo:
    """What the integrator did."""

    accepted: int = 0
    rejected: int = 0
    positivity_rejected: int = 0
    negative_steps: int = 0  # accepted steps with f below -positivity_tol max f (at min_step)
    fixup_resolves: int = 0  # steps recomputed with an operator from ``fixup``
    factorizations: int = 0
    wall_s: float = 0.0
    completed: bool = False
    message: str = ""


@dataclass
class TRBDF2:
    """Options of the TR-BDF2 integrator (see the module docstring)."""

    rtol: float = 1e-6
    atol: float = 1e-12  # absolute tolerance in units of f (the caller scales it to max f)
    first_step: float | None = None
    min_step: float = 0.0
    max_step: float = np.inf
    fixed_step: float | None = None  # constant-step mode: no error control (estimate still recorded)
    positivity_tol: float | None = None  # None: no positivity control
    max_positivity_halvings: int = 10  # consecutive halvings of one step by the positivity control (2^-10)
    cache_size: int = 3
    factory: Callable = splu_factory


def _rms(x):
    return float(np.sqrt(np.mean(x * x))) if x.size else 0.0


def integrate(A, mass, source: Callable, y0, t0: float, t_end: float, *, options: TRBDF2 | None = None,
              output_times=(), breakpoints=(), functionals: Callable | None = None,
              check: Callable | None = None, on_output: Callable | None = None,
              callback: Callable | None = None, state: TimeState | None = None, fixup: Callable | None = None,
              limit: Callable | None = None):
    """Integrate ``M y' + A y = source(t)`` from ``t0`` to ``t_end``; returns ``(state, info)``.

    ``source(t, side)``: the right-hand side at ``t``; ``side = +1`` asks for the right limit
    (stage at the start of a step), ``-1`` for the left limit (stages inside or at the end), so a
    source switched on or off at a breakpoint is integrated exactly.  ``output_times``: the
    integrator lands on each and calls ``on_output(t, y)``.  ``functionals(t, y, b)`` returns a
    dict of linear functionals (e.g. escape fluxes, injected rate) whose time integrals are
    accumulated with the method's weights (``state.integrals``); they must be linear in ``(y, b)``
    (one call per step, on the weighted sums of the stages; ``t`` is the step's end).  ``check(y)`` returns
    ``(min, max)`` for the positivity control.  ``callback(state)`` is called after each accepted
    step and may return True to stop (the state is then a checkpoint).  ``fixup(t, y)``: None or
    ``(A_new, redo)`` (module docstring, Positivity).  ``limit(t, y)``: the accepted step's solution
    as the next step starts from it (a conservative positivity limiter; the functionals are
    integrated with the step's own stage values).
    """
    opt = options or TRBDF2()
    A = sp.csr_matrix(A)
    m = np.asarray(mass, dtype=float)
    outs = np.array(sorted(float(t) for t in output_times if t0 <= t <= t_end), dtype=float)
    brk = sorted(float(t) for t in breakpoints if t0 < t < t_end)
    info = TimeInfo()
    wall0 = _time.perf_counter()
    if state is None:
        h0 = opt.fixed_step or opt.first_step
        if h0 is None:
            # a step of one relaxation time of the fastest scale the error control can follow:
            # start small and let the controller grow it (x2 per accepted step)
            rate = np.abs(A.diagonal()) / m
            h0 = 1.0 / max(float(rate.max()), 1e-300) if rate.size else (t_end - t0)
            h0 = min(h0, (t_end - t0) * 1e-3) if t_end > t0 else h0
        state = TimeState(float(t0), np.array(y0, dtype=float), float(min(h0, opt.max_step)), 0, 0, {},
                          {"t": [], "dt": [], "error": [], "min_f": [], "max_f": []})
        while state.next_output < outs.size and outs[state.next_output] <= state.t:
            if on_output is not None:
                on_output(state.t, state.y)
            state.next_output += 1
    cache: dict = {}

    def solver(h):
        if h not in cache:
            if len(cache) >= opt.cache_size:
                cache.pop(next(iter(cache)))
            cache[h] = opt.factory(sp.diags(m) + (D * h) * A)
            info.factorizations += 1
        return cache[h]

    def fn(t, y, b):
        return functionals(t, y, b) if functionals is not None else {}

    t, y, h = state.t, state.y, state.h
    halvings, h_unhalved = 0, h  # consecutive positivity halvings of the current step, the step before them
    futile = False  # the last halvings did not help: accept (flagged) until a step is non-negative again
    tiny = 8 * np.finfo(float).eps * max(abs(t_end), abs(t0))
    y_pre = state.y_own  # the last accepted step's own solution when the limiter changed it
    while t_end - t > tiny:
        # land on outputs and breakpoints without changing the running step
        stop = t_end
        if state.next_output < outs.size:
            stop = min(stop, outs[state.next_output])
        for tb in brk:
            if tb - t > tiny:
                stop = min(stop, tb)
                break
        remaining = stop - t
        landing = remaining <= h * (1.0 + 1e-12)  # this step ends on the stop
        # the running h when it reaches the stop to round-off (same factorisation); else clipped
        hh = (h if abs(remaining - h) <= 1e-12 * h else remaining) if landing else h
        b1 = source(t, +1)
        mk1 = b1 - A @ y  # M k1
        my = m * y
        solve = solver(hh)
        t2 = t + GAMMA * hh
        b2 = source(t2, -1)
        y2 = solve(my + (D * hh) * (mk1 + b2))
        mk2 = (m * (y2 - y) - (D * hh) * mk1) / (D * hh)
        t3 = t + hh
        b3 = source(t3, -1)
        y3 = solve(my + (W * hh) * (mk1 + mk2) + (D * hh) * b3)
        if not np.all(np.isfinite(y3)):
            raise StepFailure(f"NaN/Inf in the solution at t = {t3:.6g} (step {state.step + 1})")
        mk3 = (m * (y3 - y) - (W * hh) * (mk1 + mk2)) / (D * hh)
        raw = hh * (E[0] * mk1 + E[1] * mk2 + E[2] * mk3)
        err_vec = solve(raw)
        scale = opt.atol + opt.rtol * np.maximum(np.abs(y), np.abs(y3))
        if y_pre is not None:  # a limited start: no accuracy asked below what the limiter changed
            scale = np.maximum(scale, np.abs(y_pre - y))
        err = _rms(err_vec / scale)
        if opt.fixed_step is None and err > 1.0 and hh > opt.min_step:
            info.rejected += 1
            h = max(hh * max(0.2, 0.9 * err ** (-1.0 / 3.0)), opt.min_step)
            continue
        pending = None
        if fixup is not None:
            res = fixup(t3, y3)
            if res is not None:
                new_a, redo = res
                if redo:  # recompute this step with the caller's new operator
                    A = sp.csr_matrix(new_a)
                    cache.clear()
                    info.fixup_resolves += 1
                    continue
                pending = new_a  # accept the step; the next one uses the new operator
        lo, hi = check(y3) if check is not None else (0.0, 1.0)
        negative = opt.positivity_tol is not None and lo < -opt.positivity_tol * max(hi, 0.0)
        if (negative and hh > opt.min_step and opt.fixed_step is None and not futile
                and halvings < opt.max_positivity_halvings):
            if halvings == 0:
                h_unhalved = h  # the running step before this step's positivity halvings
            info.positivity_rejected += 1
            halvings += 1
            h = max(0.5 * hh, opt.min_step)
            continue
        if negative and halvings:
            h = h_unhalved  # halving did not help (a spatial undershoot): go on with the step that was running
            futile = True  # and do not halve again until a step is non-negative
        elif not negative:
            futile = False
        halvings = 0
        if opt.fixed_step is None and err > 1.0:
            raise StepFailure(f"step size {hh:.3e} at t = {t:.6g} reached min_step with error {err:.2e} > 1")
        if negative:
            info.negative_steps += 1
        # accepted: integrate the functionals with the method's weights; they are linear in (y, b), so
        # one call on the weighted stage sums: sum_i w_i phi(Y_i, b_i) = phi(sum_i w_i Y_i, sum_i w_i b_i)
        if functionals is not None:
            ys = W * (y + y2) + D * y3
            bs = W * (b1 + b2) + D * b3
            for key, val in fn(t3, ys, bs).items():
                state.integrals[key] = state.integrals.get(key, 0.0) + hh * val
        if limit is not None:
            y_lim = limit(t3, y3)
            y_pre = None if y_lim is y3 else y3
            y3 = y_lim
        t, y = (stop if landing else t3), y3
        state.step += 1
        info.accepted += 1
        hist = state.history
        hist["t"].append(t); hist["dt"].append(hh); hist["error"].append(err)
        hist["min_f"].append(lo); hist["max_f"].append(hi)
        if landing and state.next_output < outs.size and t == outs[state.next_output]:
            if on_output is not None:
                on_output(t, y)
            state.next_output += 1
        if opt.fixed_step is None and hh == h:
            grow = 0.9 * err ** (-1.0 / 3.0) if err > 0 else np.inf
            if grow >= 2.0:
                h = min(2.0 * h, opt.max_step)
        state.t, state.y, state.h, state.y_own = t, y, h, y_pre
        log.info("time step %d: t = %.6g, dt = %.3e, error estimate %.2e (%d rejected so far)", state.step, t, hh, err,
                 info.rejected + info.positivity_rejected)
        if pending is not None:
            A = sp.csr_matrix(pending)
            cache.clear()
        if callback is not None and callback(state) and t_end - t > tiny:  # a stop on the last step: completed
            info.wall_s = _time.perf_counter() - wall0
            info.message = f"stopped at t = {t:.6g} after {state.step} steps"
            return state, info
    state.t, state.y, state.h = t, y, h
    info.completed = True
    info.wall_s = _time.perf_counter() - wall0
    info.message = (f"reached t = {t:.6g} in {state.step} steps ({info.rejected} rejected by error, "
                    f"{info.positivity_rejected} by positivity), {info.factorizations} factorizations"
                    + (f", {info.fixup_resolves} recomputed by the positivity fix-up" if info.fixup_resolves else ""))
    return state, info
