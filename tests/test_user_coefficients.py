"""User-supplied coefficients (table, Python function) through the physics layer and the solver."""
import numpy as np
import pytest

from fpsolve import load_case
from fpsolve.case import CaseError
from fpsolve.physics import SlabAlfven, anisotropy_shapes, pitch_integrals
from fpsolve.physics.user_coefficients import CallableCoefficients, TabulatedCoefficients
from fpsolve.run import solve

SLAB = SlabAlfven.from_mean_free_path(0.05, s=5 / 3, hc=0.3, va=0.05, ultrarelativistic=True)
EPS = 0.05


def slab_function(mu, p):
    return SLAB.coefficients(mu, p)


def test_callable_reproduces_the_slab_model():
    """The same function with the same break points: identical quadratures (to 1e-14)."""
    user = CallableCoefficients(slab_function, ultrarelativistic=True, mu_breakpoints=(-EPS, 0.0, EPS))
    p = np.array([1.0, 3.0])
    a, b = pitch_integrals(SLAB, p), pitch_integrals(user, p)
    for name in ("k0", "h0", "kappa_pp", "i_s", "i_c"):
        np.testing.assert_allclose(getattr(b, name), getattr(a, name), rtol=1e-14)
    sa, sb = anisotropy_shapes(SLAB, np.linspace(-1, 1, 9), p), anisotropy_shapes(user, np.linspace(-1, 1, 9), p)
    np.testing.assert_allclose(sb.a_c, sa.a_c, rtol=1e-13, atol=1e-16)


def test_table_converges_to_the_slab_model():
    """Linear interpolation of a table: kappa_zz error O(h^2) in the node spacing (observed ~2)."""
    errs = []
    for n in (41, 81, 161):
        mu = np.linspace(-1, 1, n)
        mu = np.unique(np.concatenate([mu, [-EPS, EPS]]))
        p = np.geomspace(0.5, 5, 5)
        d = SLAB.coefficients(mu[None, :], p[:, None])
        d_mumu = d.d_mumu.copy()
        table = TabulatedCoefficients(mu, p, d_mumu, d.d_mup, d.d_pp, ultrarelativistic=True)
        errs.append(abs(pitch_integrals(table, np.array([2.0])).kappa_zz[0]
                        / pitch_integrals(SLAB, np.array([2.0])).kappa_zz[0] - 1))
    assert errs[-1] < 1e-2
    assert np.log2(errs[0] / errs[1]) > 1.5 and np.log2(errs[1] / errs[2]) > 1.5


def test_table_validation():
    mu, p = np.linspace(-1, 1, 5), np.array([1.0, 2.0])
    ok = np.ones((2, 5))
    with pytest.raises(ValueError, match="d_mumu must be > 0 at the interior"):
        TabulatedCoefficients(mu, p, np.zeros((2, 5)), ok, ok)
    with pytest.raises(ValueError, match="shape"):
        TabulatedCoefficients(mu, p, ok[:, :3], ok, ok)
    with pytest.raises(ValueError, match="from exactly -1 to exactly 1"):
        TabulatedCoefficients(np.linspace(-0.9, 1, 5), p, ok, ok, ok)


def test_python_model_in_a_case_runs_like_the_slab(tmp_path):
    """A case with model = 'python' (a file next to the case) gives the slab run's solution.

    Agreement to 1e-8: the function sees rounded mu (no exact offsets), so quadrature nodes closer
    than 1e-16 to the zero of D_mumu at mu = 0 are lost, ~(1e-16)^{2-s} ~ 1e-6 of one node piece
    of int dmu/D (measured effect on f: 1.3e-10)."""
    (tmp_path / "mycoef.py").write_text(
        "from fpsolve.physics import SlabAlfven\n"
        "M = SlabAlfven.from_mean_free_path(0.01, s=5/3, form='small_eps', ultrarelativistic=True)\n"
        "def coeffs(mu, p):\n    return M.coefficients(mu, p)\n")
    text = (pytest.importorskip("pathlib").Path(__file__).resolve().parents[1] / "cases" / "slab_streaming.toml").read_text()
    user = text.replace('form = "small_eps"', 'model = "python"\nfunction = "mycoef.py:coeffs"\nbreakpoints = [0.0]')
    (tmp_path / "user.toml").write_text(user.replace("z_cells = 200", "z_cells = 40"))
    (tmp_path / "slab.toml").write_text(text.replace("z_cells = 200", "z_cells = 40"))
    ru, rs = solve(load_case(tmp_path / "user.toml")), solve(load_case(tmp_path / "slab.toml"))
    np.testing.assert_allclose(ru.f, rs.f, rtol=1e-8)
    bad = user.replace("mycoef.py:coeffs", "mycoef.py:nothing")
    (tmp_path / "bad.toml").write_text(bad)
    with pytest.raises(CaseError, match="has no 'nothing'"):
        load_case(tmp_path / "bad.toml").turbulence_model()


# --- no silent floors: non-PSD tensors and momenta outside a table are refused -------------
def _grid():
    from fpsolve.grid import Grid

    return Grid(None, np.linspace(-1, 1, 9), np.geomspace(1.0, 4.0, 4))


def test_non_psd_tensor_is_refused_naming_mu_and_p():
    """D_mup^2 = 4 D_mumu D_pp: D_pp - D_mup^2/D_mumu = -3 D_pp, far beyond round-off."""
    from fpsolve.face_coefficients import face_coefficients

    def bad(mu, p):
        one = 1 - mu**2
        return one, 2 * one * p, one * p**2

    with pytest.raises(ValueError, match=r"not positive semi-definite at mu = \S+, p = \S+: .*allowed: D_mumu >= 0") as err:
        face_coefficients(CallableCoefficients(bad), _grid())
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("shrink, refused", [(1e-14, False), (1e-9, True)])
def test_psd_round_off_threshold(shrink, refused):
    """One wave direction (H_c = 1): D_pp D_mumu = D_mup^2 exactly, so the user's tensor is
    semi-definite up to round-off and is accepted (R = 0 to ~1e-15 of D_pp).  D_pp scaled by
    (1 - shrink): 1e-14 is within the documented threshold PSD_RTOL = 1e-12 (accepted),
    1e-9 is not (refused)."""
    from fpsolve.face_coefficients import PSD_RTOL, face_coefficients

    one_way = SlabAlfven.from_mean_free_path(0.05, s=5 / 3, hc=1.0, va=0.05, ultrarelativistic=True)

    def func(mu, p):
        d = one_way.coefficients(mu, p)
        return d.d_mumu, d.d_mup, d.d_pp * (1 - shrink)

    user = CallableCoefficients(func, ultrarelativistic=True, mu_breakpoints=(-EPS, 0.0, EPS))
    assert (shrink > PSD_RTOL) == refused
    if refused:
        with pytest.raises(ValueError, match="not positive semi-definite"):
            face_coefficients(user, _grid())
    else:
        fc = face_coefficients(user, _grid())
        d_pp_scale = float(np.max(one_way.coefficients(np.array(0.5), np.array(4.0)).d_pp))
        assert np.all(fc.rpp_pf >= 0) and np.max(fc.rpp_pf) <= 1e-12 * d_pp_scale


def _table(p=(0.5, 1.0, 5.0), name="coeffs.npz"):
    mu = np.unique(np.concatenate([np.linspace(-1, 1, 21), [-EPS, EPS]]))
    p = np.asarray(p)
    d = SLAB.coefficients(mu[None, :], p[:, None])
    return TabulatedCoefficients(mu, p, d.d_mumu, d.d_mup, d.d_pp, ultrarelativistic=True, name=name)


def test_table_refuses_momenta_outside_its_range():
    """No extrapolation: p = 6 beyond the table's [0.5, 5] is refused naming the table and range."""
    table = _table()
    with pytest.raises(ValueError, match=r"table coeffs\.npz: momentum p = 6 is outside the table's p range \[0\.5, 5\]"):
        table.coefficients(np.array([0.2]), np.array([6.0]))
    with pytest.raises(ValueError, match="outside the table's p range"):
        pitch_integrals(table, np.array([0.4]))


def test_table_momentum_outside_by_round_off_warns_and_takes_the_end():
    """p = 5 (1 + 1e-14): round-off of a grid edge (P_ROUNDOFF = 1e-12): a warning, and the
    table's values at p = 5."""
    table = _table()
    mu = np.array([-0.5, 0.3])
    with pytest.warns(UserWarning, match="outside the table's p range .* by round-off"):
        got = table.coefficients(mu, np.array(5.0 * (1 + 1e-14)))
    np.testing.assert_array_equal(got.d_mumu, table.coefficients(mu, np.array(5.0)).d_mumu)


def test_table_in_a_case_beyond_its_range_is_refused(tmp_path):
    """A table case whose momentum grid reaches beyond the table is refused before any work, one
    line naming the case file, the key and the table's range (no extrapolation)."""
    mu = np.unique(np.concatenate([np.linspace(-1, 1, 21), [-EPS, EPS]]))
    p = np.array([0.5, 1.0, 2.0])
    d = SLAB.coefficients(mu[None, :], p[:, None])
    np.savez(tmp_path / "t.npz", mu=mu, p=p, d_mumu=d.d_mumu, d_mup=d.d_mup, d_pp=d.d_pp)
    from fpsolve.case import CaseError

    text = (pytest.importorskip("pathlib").Path(__file__).resolve().parents[1] / "cases" / "compton_getting.toml").read_text()
    text = text.replace('form = "linear"', 'model = "table"\ntable = "t.npz"').replace("s = 1.6666666666666667\n", "")
    (tmp_path / "c.toml").write_text(text.replace("mu_cells = 64", "mu_cells = 8").replace("p_cells = 128", "p_cells = 4"))
    with pytest.raises(CaseError) as err:
        load_case(tmp_path / "c.toml", ["grid.p_min=0.6", "grid.p_max=3.0", "probes.p=[1.0]"])
    msg = str(err.value)
    assert "\n" not in msg and msg.startswith(str(tmp_path / "c.toml")) and "[turbulence] table:" in msg
    assert "momentum p = 3 is outside the table's p range [0.5, 2]" in msg
