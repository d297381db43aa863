"""Probes are evaluated at the requested (z, p), by interpolation between cell centres, and named by it."""
import numpy as np
import pytest

import fpsolve
from fpsolve.build import build_grid, build_physics
from fpsolve.probes import evaluate_probes, p_weights, z_placement
from fpsolve.result import compute_fields
from fpsolve.studies import quantities


def test_p_weights_at_between_and_beyond_the_centres():
    pc = np.array([1.0, 2.0, 4.0])
    assert p_weights(pc, 2.0) == ([1], [1.0], None)
    cells, w, note = p_weights(pc, np.sqrt(2.0))  # halfway in ln p
    assert cells == [0, 1] and w == pytest.approx([0.5, 0.5], abs=1e-15) and "interpolated" in note
    cells, w, note = p_weights(pc, 1 / np.sqrt(2.0))  # half a cell below the first centre
    assert cells == [0, 1] and w == pytest.approx([1.5, -0.5], abs=1e-15) and "extrapolated" in note
    assert p_weights(pc, 4 * np.sqrt(2.0))[1] == pytest.approx([-0.5, 1.5], abs=1e-15)
    assert p_weights(np.array([1.0]), 1.01) == ([0], [1.0], "p held (1 momentum cell)")
    assert z_placement(np.array([-0.5, 0.5]), 0.5) is None
    assert "interpolated" in z_placement(np.array([-0.5, 0.5]), 0.0)


def _synthetic(case, field):
    """The probes of ``case`` on a prescribed f(z, mu, p) (cell means; zero DG slopes)."""
    grid, physics = build_grid(case), build_physics(case)
    if grid.homogeneous:
        f = field(None, grid.mu[None, :], grid.p[:, None])
    else:
        f = np.zeros(grid.shape)
        f[..., 0] = field(grid.z[None, :, None], grid.mu[None, None, :], grid.p[:, None, None])
    fields = compute_fields(grid, physics.model, f)
    return grid, evaluate_probes(case, grid, physics.model, fields, f)


def test_power_law_is_interpolated_exactly_between_momentum_centres():
    """f = p^-4.7 (1 + 0.3 mu) on 16 cells per 4 decades: the probe at p = 100 lies on a cell edge (between
    two centres); geometric interpolation of F and linear interpolation of g/F in ln p are exact for it
    (round-off: 1e-13, the ln/exp of values ~1e-10), where the nearest centre is 15% off in F."""
    case = fpsolve.load_case("compton_getting", ["grid.p_cells=16", "grid.mu_cells=8"])
    grid, (pr,) = _synthetic(case, lambda z, mu, p: p**-4.7 * (1 + 0.3 * mu))
    assert pr.p == 100.0 and pr.interpolated and "in ln p" in pr.placement
    assert pr.F == pytest.approx(100.0**-4.7, rel=1e-12)
    np.testing.assert_allclose(pr.g_over_F, 0.3 * grid.mu, rtol=0, atol=1e-13)
    assert -pr.p * pr.dF_dp / pr.F == pytest.approx(4.7, rel=1e-12)  # log_gradient is exact for a power law
    nearest = grid.p[np.argmin(np.abs(np.log(grid.p / 100.0)))]
    assert abs(nearest**-4.7 / 100.0**-4.7 - 1) > 0.1  # what the nearest-cell probe used to report


def test_interpolation_in_z_and_p_is_second_order():
    """A smooth field that is no power law, probed at z = 0.2 and p = 1, an edge of every grid of the ladder
    (the same relative place between two centres at each level): the interpolation error falls by 4 per
    halving of both cell sizes (second order).  Band 3.6-4.4: the next term of linear interpolation is
    O(h^2) relative to the leading one (h = 0.1 at the finest level).  Both parts are convex (no cancellation)."""
    errs = []
    field = lambda z, mu, p: (2.0 + np.exp(z)) * np.exp(np.log(p) ** 2 / 8) * (1 + 0.1 * mu)  # noqa: E731
    for n in (10, 20, 40):
        case = fpsolve.load_case("slab_streaming", [f"grid.z_cells={n}", f"grid.p_cells={n}", "grid.p_min=0.5",
                                                    "grid.p_max=2.0", "probes.p=[1.0]", "probes.z=[0.2]"])
        _, (pr,) = _synthetic(case, field)
        assert pr.placement == "z interpolated between cell centres; p interpolated between cell centres (in ln p)"
        errs.append(abs(pr.F / (2.0 + np.exp(0.2)) - 1))
    ratios = np.array(errs[:-1]) / np.array(errs[1:])
    assert np.all((ratios > 3.6) & (ratios < 4.4)), ratios


def test_probe_names_do_not_move_with_refinement():
    """The converge crash (KeyError 'F(p=74.99)'): names come from the requested (z, p), at every level."""
    keys = []
    for n in (16, 32):
        r = fpsolve.solve(fpsolve.load_case("compton_getting", [f"grid.p_cells={n}", "grid.mu_cells=8"]))
        keys.append(set(quantities(r)))
        assert "interpolated" in r.summary()  # p = 100 is an edge of both grids: the summary says so
    assert keys[0] == keys[1] and "F(p=100)" in keys[0]
    r = fpsolve.solve(fpsolve.load_case("slab_streaming", ["grid.z_cells=41", "grid.p_cells=2"]))
    assert "F(z=0,p=0.9999)" in quantities(r)  # z = 0 a centre of 41 cells, p = 0.99995 between 2 centres
    assert r.probes[0].placement == "p interpolated between cell centres (in ln p)"
