"""TR-BDF2 integrator (fpsolve.timestepping) on problems with exact solutions.

Every reference here is closed-form (exponentials of a diagonal or 2x2 system), independent of
the integrator; the tolerances follow from the requested rtol/atol or from the observed order.
"""
import numpy as np
import scipy.sparse as sp
from scipy.linalg import expm

from fpsolve.timestepping import TRBDF2, integrate


def _relaxation(rates, target, y0, t):
    """Exact ``y' = -rates (y - target)``."""
    return target + (y0 - target) * np.exp(-rates * t)


def _diag_problem(rates, target):
    A = sp.diags(rates)
    mass = np.ones_like(rates)
    return A, mass, (lambda t, side: rates * target)


def test_adaptive_accuracy_follows_rtol():
    # rates over 6 decades: stiff and slow components together
    rates = np.logspace(-1, 5, 7)
    target = np.linspace(1.0, 2.0, 7)
    A, m, src = _diag_problem(rates, target)
    y0 = np.zeros(7)
    errs = []
    for rtol in (1e-4, 1e-6, 1e-8):
        st, info = integrate(A, m, src, y0, 0.0, 5.0, options=TRBDF2(rtol=rtol, atol=rtol * 1e-3))
        assert info.completed and st.t == 5.0
        err = np.max(np.abs(st.y - _relaxation(rates, target, y0, 5.0)))
        # the system is contractive, so the global error is at most the sum of the local errors,
        # each held below rtol * |y| (+ atol) by the controller: steps * rtol * max|y|
        assert err <= st.step * (rtol * target.max() + rtol * 1e-3), (err, st.step, rtol)
        errs.append(err)
    # the error falls with rtol (as rtol^(2/3) for a second-order method with per-step control)
    assert errs[2] < errs[0] * 1e-2


def test_fixed_step_second_order():
    # a 2x2 system with complex eigenvalues 0.5 +- 2i (oscillatory decay), exact by the matrix exponential
    A = sp.csr_matrix(np.array([[0.5, -2.0], [2.0, 0.5]]))
    m = np.ones(2)
    b = np.array([1.0, 0.0])
    y0 = np.array([0.0, 1.0])
    T = 2.0
    Ad = A.toarray()
    yinf = np.linalg.solve(Ad, b)
    exact = yinf + expm(-Ad * T) @ (y0 - yinf)
    errs = []
    for n in (20, 40, 80, 160):
        st, _ = integrate(A, m, lambda t, s: b, y0, 0.0, T, options=TRBDF2(fixed_step=T / n))
        assert st.step == n
        errs.append(np.linalg.norm(st.y - exact))
    orders = np.log2(np.array(errs[:-1]) / np.array(errs[1:]))
    # TR-BDF2 is second order: observed orders within 0.1 of 2 on this smooth problem
    assert np.all(np.abs(orders - 2.0) < 0.1), orders


def test_l_stable_on_very_stiff_component():
    # h * rate = 1e8: the L-stable method damps the transient completely in one step
    A, m, src = _diag_problem(np.array([1e8]), np.array([3.0]))
    st, _ = integrate(A, m, src, np.array([1.0]), 0.0, 1.0, options=TRBDF2(fixed_step=1.0))
    # |R(-1e8)| ~ 1e-8 for TR-BDF2 (R(z) -> 0 as z -> -inf): the remaining transient is 2e-8 of 3
    assert abs(st.y[0] - 3.0) < 1e-7


def test_switch_on_and_off_exact_at_breakpoints():
    # source on in [1, 2): y' = -y + S(t), y(0) = 0
    def src(t, side):
        on = (1.0 <= t < 2.0) if side > 0 else (1.0 < t <= 2.0)
        return np.array([1.0 if on else 0.0])

    A, m = sp.identity(1, format="csr"), np.ones(1)
    opt = TRBDF2(rtol=1e-9, atol=1e-14)
    st, info = integrate(A, m, src, np.zeros(1), 0.0, 4.0, options=opt, breakpoints=[1.0, 2.0])
    exact = (1 - np.exp(-1.0)) * np.exp(-2.0)
    # contractive: global error <= steps * (rtol |y| + atol)
    assert abs(st.y[0] - exact) <= st.step * (1e-9 * 0.64 + 1e-14)
    assert info.completed
    # steps end exactly on the switch times (then no step straddles a jump of the source)
    assert 1.0 in st.history["t"] and 2.0 in st.history["t"]
    # without the breakpoints the controller must find the jumps by rejections: more work for
    # the same tolerance (measured 0 vs several rejected steps), the reason the option exists
    blind, info_blind = integrate(A, m, src, np.zeros(1), 0.0, 4.0, options=opt)
    assert 1.0 not in blind.history["t"][:-1] or 2.0 not in blind.history["t"]
    assert info_blind.rejected > info.rejected


def test_outputs_are_hit_exactly_and_in_order():
    A, m, src = _diag_problem(np.array([1.0]), np.array([1.0]))
    seen = []
    integrate(A, m, src, np.zeros(1), 0.0, 1.0, output_times=[0.0, 0.25, 0.5, 1.0],
              on_output=lambda t, y: seen.append(t))
    assert seen == [0.0, 0.25, 0.5, 1.0]


def _conservative_chain(n=30, seed=1):
    """Upwind advection plus diffusion on a 1-D chain with outflow at the right end: the column
    sums of A are zero except at the last cell (its outflow), so 1^T A y = outflow(y)."""
    rng = np.random.default_rng(seed)
    vel = 1.0
    kappa = rng.uniform(0.5, 1.5, n - 1)
    A = sp.lil_matrix((n, n))
    for i in range(n - 1):  # flux from i to i+1: vel*y_i + kappa (y_i - y_{i+1})
        for r, sgn in ((i, 1.0), (i + 1, -1.0)):
            A[r, i] += sgn * (vel + kappa[i])
            A[r, i + 1] -= sgn * kappa[i]
    A[n - 1, n - 1] += vel  # outflow
    return A.tocsr(), np.full(n, 0.5), vel


def test_time_integrated_balance_closes_to_round_off():
    A, m, vel = _conservative_chain()
    n = m.size
    shape = np.exp(-((np.arange(n) - 5.0) ** 2) / 4.0)

    def src(t, side):
        return shape * (1.0 + np.sin(3.0 * t))

    def fun(t, y, b):
        return {"injected": b.sum(), "outflow": vel * y[-1]}

    y0 = np.zeros(n)
    st, _ = integrate(A, m, src, y0, 0.0, 20.0, options=TRBDF2(rtol=1e-3, atol=1e-6), functionals=fun)
    change = float(m @ st.y - m @ y0)
    closure = st.integrals["injected"] - st.integrals["outflow"] - change
    # exact identity of the method up to the LU solves: 1e-12 of the injected number
    assert abs(closure) < 1e-12 * st.integrals["injected"], closure


def test_restart_is_bitwise():
    A, m, vel = _conservative_chain(seed=2)
    n = m.size
    src = lambda t, side: np.ones(n) * np.exp(-t)  # noqa: E731
    opt = TRBDF2(rtol=1e-5, atol=1e-9)
    full, _ = integrate(A, m, src, np.zeros(n), 0.0, 10.0, options=opt)
    part, info = integrate(A, m, src, np.zeros(n), 0.0, 10.0, options=opt, callback=lambda s: s.step == 7)
    assert not info.completed and part.step == 7
    import copy

    resumed, info2 = integrate(A, m, src, None, 0.0, 10.0, options=opt, state=copy.deepcopy(part))
    assert info2.completed and resumed.step == full.step
    assert np.array_equal(resumed.y, full.y)
    assert resumed.history["dt"] == full.history["dt"]


def test_positivity_control_rejects_negative_steps():
    # pure upwind advection of a sharp pulse with a large first step: TR-BDF2's trapezoidal
    # stage undershoots; with the control on, every accepted step is non-negative to the tolerance
    n = 80
    A = sp.diags([np.full(n, 40.0), np.full(n - 1, -40.0)], [0, -1]).tocsr()
    m = np.ones(n)
    y0 = np.zeros(n)
    y0[5] = 1.0
    chk = lambda y: (float(y.min()), float(y.max()))  # noqa: E731
    free, _ = integrate(A, m, lambda t, s: np.zeros(n), y0, 0.0, 1.0,
                        options=TRBDF2(rtol=0.5, atol=1e-3, first_step=0.2), check=chk)
    assert min(free.history["min_f"]) < -1e-6  # the uncontrolled run does undershoot
    st, info = integrate(A, m, lambda t, s: np.zeros(n), y0, 0.0, 1.0,
                         options=TRBDF2(rtol=0.5, atol=1e-3, first_step=0.2, positivity_tol=1e-6,
                                        min_step=1e-6), check=chk)
    assert info.positivity_rejected > 0 and info.negative_steps == 0
    assert min(st.history["min_f"]) >= -1e-6 * max(st.history["max_f"])


def test_factorisations_are_reused():
    A, m, src = _diag_problem(np.array([1.0, 10.0]), np.array([1.0, 1.0]))
    st, info = integrate(A, m, src, np.zeros(2), 0.0, 1.0, options=TRBDF2(fixed_step=0.01))
    assert st.step == 100 and info.factorizations == 1


def test_a_stop_asked_on_the_last_step_is_a_completed_run():
    """A callback asking to stop at the step that reaches t_end (e.g. a signal during the last step of a
    --keep-partial run) ends a complete integration: it was reported "not completed" and written as
    partial."""
    A, m, vel = _conservative_chain(seed=3)
    n = m.size
    src = lambda t, side: np.ones(n)  # noqa: E731
    opt = TRBDF2(fixed_step=0.5)
    st, info = integrate(A, m, src, np.zeros(n), 0.0, 2.0, options=opt, callback=lambda s: s.step == 4)
    assert info.completed and st.step == 4 and st.t == 2.0
    st, info = integrate(A, m, src, np.zeros(n), 0.0, 2.0, options=opt, callback=lambda s: s.step == 3)
    assert not info.completed and st.step == 3
