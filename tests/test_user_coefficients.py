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
