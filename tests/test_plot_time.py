"""Figures of a physical-time run (fpsolve.plot_time): labels in the case's units, legends, time
axis, colour floor and NaN handling, inspected on the matplotlib objects (no solve: a synthetic
TimeSeriesResult on the case's own grid)."""
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from fpsolve import load_case  # noqa: E402
from fpsolve.build import build_grid  # noqa: E402
from fpsolve.plot_time import DECADES, figure_delta, figure_F_zt, figure_g_probes, time_figures  # noqa: E402
from fpsolve.timeseries import ProbeSeries, TimeSeriesResult  # noqa: E402
from fpsolve.timestepping import TimeInfo  # noqa: E402

NEARBY = ["grid.z_cells=50", "grid.p_cells=3", "grid.mu_cells=8"]


def synthetic(name, overrides, times_case):
    """A TimeSeriesResult on the case's grid: a Gaussian spreading from the source, F = 0 at the
    probes before t_arrive (NaN g/F and delta there, as a run records them), a negative undershoot
    cell, probes at the case's [probes]."""
    case = load_case(name, overrides)
    grid = build_grid(case)
    per = float(case.time(1.0)) if case.system == "physical" else 1.0
    times = np.asarray(times_case, float) * per
    nt = times.size
    z = grid.z
    width = 0.05 * (z[-1] - z[0]) * np.sqrt(1 + np.arange(nt))
    F = np.exp(-0.5 * ((z[None, :] - z.mean()) / width[:, None]) ** 2)[:, None, :] * np.ones((1, grid.np_, 1))
    F[:, :, 0] = 1e-30  # far tail, below the colour floor
    F[1, :, 1] = -1e-2  # an undershoot well below -10^-DECADES max F: grey
    probes = []
    zs = case.probe_positions() if case.probes.z is not None else [np.nan]
    for zp in zs:
        for pp in case.probe_momenta():
            g = np.outer(np.linspace(0.3, 0.01, nt), -grid.mu)
            g[0] = np.nan  # F = 0 before arrival
            d = np.linspace(2.0, 0.01, nt)
            d[0] = np.nan
            probes.append(ProbeSeries(float(zp), float(pp), np.ones(nt), g, 1.1 * g, d, 1.2 * d, np.ones(nt), -0.1,
                                      np.zeros(nt)))
    return TimeSeriesResult(case, grid, times, F, None, {}, probes, {}, {"relative": 0.0}, TimeInfo(completed=True))


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def legend_texts(fig):
    return [t.get_text() for ax in fig.axes if ax.get_legend() for t in ax.get_legend().get_texts()]


def test_physical_case_labelled_in_pc_tev_yr():
    r = synthetic("nearby_source_burst", NEARBY, [300.0, 1e3, 1e4, 1e5, 3e5])
    fig = figure_delta(r)
    texts = legend_texts(fig)
    # probes named by position and momentum in the case's units, not by number
    assert not any("probe 0" in t for t in texts), texts
    for p in (10, 100, 1000):
        assert f"z = 0 pc, p = {p} TeV/c" in texts, texts
    assert any("superluminal" in t for t in texts), texts
    ax = fig.axes[0]
    assert ax.get_xlabel() == "t [yr]" and ax.get_xscale() == "log"  # 300 yr .. 3e5 yr: three decades
    # the legend is outside the axes (anchored right of them): it covers no data
    leg = ax.get_legend()
    assert leg.get_bbox_to_anchor().x0 > ax.get_window_extent().x1

    fig = figure_g_probes(r)
    titles = [ax.get_title() for ax in fig.axes if ax.get_visible()]
    assert titles == ["z = 0 pc, p = 10 TeV/c", "z = 0 pc, p = 100 TeV/c", "z = 0 pc, p = 1000 TeV/c"], titles
    texts = legend_texts(fig)
    # one legend, times in yr (the first output has g/F = NaN: not among them), kinetic vs Eq. (7)
    assert sum(ax.get_legend() is not None for ax in fig.axes) == 1
    assert "t = 300 yr" not in texts and "t = 3e+05 yr" in texts and any("Eq. (7)" in t for t in texts), texts

    fig = figure_F_zt(r)
    ax = fig.axes[0]
    assert ax.get_xlabel() == "z [pc]" and ax.get_ylabel() == "t [yr]" and ax.get_yscale() == "log"
    assert "TeV/c" in ax.get_title() and "m c" not in ax.get_title()
    # the z axis spans the domain in pc (-2000 .. 3000 pc), not in L
    assert ax.get_xlim() == pytest.approx((-2000.0, 3000.0))
    im = ax.collections[0]
    lo, hi = im.get_clim()
    assert hi - lo == DECADES  # a floor DECADES below the maximum, not 1e-30 of the tail
    assert hi == pytest.approx(np.log10(np.nanmax(r.F)), rel=1e-12)  # the top of the scale: max F (round-off)
    data = im.get_array()
    assert np.ma.count_masked(data) == 1  # the one undershoot cell is grey; the 1e-30 tail is not


def test_code_case_labelled_in_L_and_mc_linear_time():
    r = synthetic("burst_slab", ["grid.z_cells=40", "grid.mu_cells=8"], [0.05, 0.2, 0.5, 1.0])
    texts = legend_texts(figure_delta(r))
    assert any(t.startswith("z = 0 L, p = ") and t.endswith(" m c") for t in texts), texts
    fig = figure_F_zt(r)
    ax = fig.axes[0]
    assert ax.get_xlabel() == "z [L]" and ax.get_ylabel() == "t [L/c]"
    assert ax.get_yscale() == "linear"  # 0.05 .. 1: less than LOG_TIME_SPAN
    assert "m c" in ax.get_title()


def test_log_time_axis_drops_nonpositive_times(tmp_path):
    """t = 0 among the outputs (output_times may start at 0): left out of a log axis, which would
    otherwise fail or draw from -inf; the figures are still written (atomic writer)."""
    r = synthetic("burst_slab", ["grid.z_cells=40", "grid.mu_cells=8"], [0.0, 0.05, 0.5, 5.0, 30.0])
    fig = figure_delta(r)
    ax = fig.axes[0]
    assert ax.get_xscale() == "log"
    for line in ax.get_lines():
        x = np.asarray(line.get_xdata(), float)
        assert x.size == 0 or np.all(x > 0) or line.get_linestyle() == ":", x
    paths = time_figures(r, tmp_path / "run")
    assert [p.name for p in paths] == ["run_F_zt.png", "run_g_probes.png", "run_delta_t.png"]
    assert all(p.stat().st_size > 1000 for p in paths)


def test_partial_run_says_so_above_its_figures():
    from fpsolve.plot_time import _banner

    r = synthetic("nearby_source_burst", NEARBY, [300.0, 1e3, 1e4])
    assert _banner(r, figure_delta(r))._suptitle is None  # a completed run: no banner
    r.info.completed, r.t_reached = False, float(r.case.time(2e4))
    fig = _banner(r, figure_delta(r))
    assert fig._suptitle.get_text() == "PARTIAL: stopped at t = 20000 yr of end 300000 yr"


def test_plot_checks_the_time_figures_own_names(tmp_path):
    """`fpsolve plot` of a time series checks STEM_F_zt.png (the name it writes), not STEM_F.png: a
    folder in the way is one line, exit 2, before any figure is written (it was found only when the
    figure was saved)."""
    import subprocess
    import sys

    from fpsolve import load_case
    from fpsolve.transient import run_transient, write_timeseries

    r = run_transient(load_case("burst_slab", ["grid.z_cells=50", "grid.mu_cells=8", "time.end=1.0",
                                               "time.output_times=[0.5, 1.0]", "time.fixed_step=0.125"]))
    write_timeseries(r, tmp_path / "b.h5")
    (tmp_path / "b_F_zt.png").mkdir()
    p = subprocess.run([sys.executable, "-m", "fpsolve.cli", "plot", "b.h5"], capture_output=True, text=True,
                       cwd=tmp_path)
    assert p.returncode == 2 and "b_F_zt.png" in p.stderr and len(p.stderr.strip().splitlines()) == 1, p.stderr
    assert not (tmp_path / "b_g_probes.png").exists() and not (tmp_path / "b_delta_t.png").exists()
    # a steady figure asked of a time series: one line naming the allowed ones (was: exit 0, nothing written)
    p = subprocess.run([sys.executable, "-m", "fpsolve.cli", "plot", "b.h5", "--what", "residual", "-o", "figs"],
                       capture_output=True, text=True, cwd=tmp_path)
    assert p.returncode == 2 and "allowed: F, g, delta" in p.stderr and len(p.stderr.strip().splitlines()) == 1


def test_flagged_run_says_so_above_its_figures():
    """A run that is not vouched for carries NOT TRUSTWORTHY and its first flags above each figure (a
    kinetic |delta| of 2.95 was drawn above the superluminal line with no mark); a trustworthy one
    carries nothing."""
    from fpsolve.plot_time import _banner

    r = synthetic("nearby_source_burst", NEARBY, [300.0, 1e3, 1e4])
    r.balance["relative"] = 1.0  # a balance that does not close: not vouched for
    fig = _banner(r, figure_delta(r))
    assert fig._suptitle is not None and fig._suptitle.get_text().startswith("NOT TRUSTWORTHY: balance not closed")
    r.balance["relative"] = 0.0
    assert r.trustworthy
    fig = _banner(r, figure_delta(r))
    assert fig._suptitle is None


def test_a_single_resolved_diffusion_point_is_drawn():
    """Only the last output resolved (earlier ratios NaN): the Eq. (7) series is one point and must be
    visible (markers; a dashed line alone draws nothing for one point)."""
    r = synthetic("nearby_source_burst", NEARBY, [300.0, 1e3, 1e4])
    for pr in r.probes:
        pr.delta[:-1] = np.nan
        pr.delta_da[:-1] = np.nan
    fig = figure_delta(r)
    da = [ln for ln in fig.axes[0].get_lines() if ln.get_linestyle() == "--"]
    assert len(da) == len(r.probes)
    for ln in da:
        assert np.isfinite(np.asarray(ln.get_ydata(), float)).sum() == 1
        assert ln.get_marker() not in (None, "", "None")
