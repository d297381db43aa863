r"""Sky geometry of a cosmic-ray dipole: what an observatory sees of an anisotropy at the Sun.

Pure geometry; imports numpy only (nothing of the solver, nothing of the other physics
modules).  Angles are in degrees, directions are unit vectors in the J2000 equatorial
frame (x towards RA 0h, y towards RA 6h, z towards the north celestial pole).

A dipole anisotropy of amplitude ``delta`` along the unit vector ``b_hat`` gives the
relative intensity ``I(n)/<I> - 1 = delta (b_hat . n)`` in the arrival direction ``n``.  For
the diffusion approximation of the paper (Eq. 7, and the streaming and Compton–Getting
amplitudes of Eqs. 35-41) the first Legendre moment of ``g(mu)`` is such a dipole, aligned
with the mean magnetic field: ``delta`` is signed, ``delta > 0`` means an excess *from* the
direction ``+b_hat``.

Functions
---------
- :func:`unit_vector`, :func:`direction_angles` — (RA, Dec) <-> unit vector.
- :func:`equatorial_to_galactic`, :func:`galactic_to_equatorial` — IAU galactic frame (J2000).
- :func:`ecliptic_to_equatorial`, :func:`equatorial_to_ecliptic` — mean ecliptic of J2000.
- :func:`dipole_vector` — ``delta * b_hat``.
- :func:`equatorial_projection` — the part a ground array can see: ``delta_0h``, ``delta_6h``,
  amplitude ``|delta| cos Dec_b`` and RA phase (flipped by 180° when ``delta < 0``), and the
  invisible vertical part ``delta_N``.
- :func:`band_mean_cos_dec`, :func:`first_harmonic` — the first harmonic in right ascension
  ``A1 = delta_h <cos dec>`` an experiment in a declination band reports.
- :func:`compton_getting_amplitude` — Earth-orbit Compton–Getting dipole ``(2 + gamma) V/c``.

Default field direction
-----------------------
:data:`IBEX_RIBBON_CENTER_ECLIPTIC` is the centre of the IBEX ribbon, ecliptic J2000
``(lambda, beta) = (219.2° ± 1.3°, 39.9° ± 2.3°)`` (Funsten et al. 2013, ApJ, article 30,
"Circularity of the IBEX ribbon of enhanced ENA flux", abstract; the J2000 ecliptic frame
is stated in A&A 586, A31 (2016), doi: 10.1051/0004-6361/201527437, Sect. 1:
"approximately centered on ecliptic (J2000) coordinates (219.2°, 39.9°) (Funsten et al.
2013)"), taken as the local interstellar field direction, as that paper's Fig. 2 caption
does ("we assume that the interstellar magnetic field is aligned with the IBEX ribbon
center").  :data:`DEFAULT_B_RA_DEC` is that direction converted to equatorial
J2000 with :func:`ecliptic_to_equatorial`.  An independent, cosmic-ray based alternative is
:data:`HAWC_ICECUBE_2019_B_RA_DEC` = (229.2° ± 3.5°, 11.4° ± 3.0°) (HAWC & IceCube 2019, ApJ,
doi: 10.3847/1538-4357/aaf5cc, abstract), inferred from the boundary between the large
excess and deficit regions of the 10 TeV all-sky map.  The axis of ``b_hat`` has no sign
of its own: the sign of ``delta`` carries the direction of the streaming.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = [
    "OBLIQUITY_J2000_DEG", "NGP_RA_DEG", "NGP_DEC_DEG", "L_NCP_DEG",
    "IBEX_RIBBON_CENTER_ECLIPTIC", "DEFAULT_B_RA_DEC", "HAWC_ICECUBE_2019_B_RA_DEC",
    "EARTH_ORBITAL_SPEED_KM_S", "C_LIGHT_KM_S",
    "unit_vector", "direction_angles",
    "galactic_rotation_matrix", "ecliptic_rotation_matrix",
    "equatorial_to_galactic", "galactic_to_equatorial",
    "ecliptic_to_equatorial", "equatorial_to_ecliptic",
    "dipole_vector", "EquatorialProjection", "equatorial_projection",
    "band_mean_cos_dec", "FirstHarmonic", "first_harmonic",
    "compton_getting_amplitude",
]

#: Mean obliquity of the ecliptic at J2000.0, IAU 1980 model: 84381.448 arcsec
#: (ERFA ``eraObl80``; listed as the IAU 1980 J2000.0 value in the docs of the
#: ``celestial-core`` crate, module ``obliquity``).  The IAU 2006 value 84381.406"
#: differs by 1.2e-5 degrees, far below any cosmic-ray direction error.
OBLIQUITY_J2000_DEG = 84381.448 / 3600.0

#: North galactic pole (J2000) and galactic longitude of the north celestial pole, the
#: constants of the IAU galactic frame in J2000 as used by e.g. the R package
#: ``celestial`` (``eq2gal``: ``pole_RA = 192.859508, pole_Dec = 27.128336``,
#: ``eta = 32.932`` = ``l_NCP - 90``), after Duffett-Smith, "Practical astronomy with your
#: calculator".  With these, the galactic centre is at RA 266.405°, Dec -28.936° (the
#: doctest of the same conversion in gist barentsen/2367839 gives ``[266.405, -28.936]``).
NGP_RA_DEG = 192.859508
NGP_DEC_DEG = 27.128336
L_NCP_DEG = 122.932

#: IBEX ribbon centre, ecliptic J2000 (lambda, beta) in degrees (Funsten et al. 2013, abstract).
IBEX_RIBBON_CENTER_ECLIPTIC = (219.2, 39.9)
#: Its 1-sigma errors (lambda, beta) in degrees (same source).
IBEX_RIBBON_CENTER_ECLIPTIC_ERR = (1.3, 2.3)
#: Local interstellar field from the HAWC+IceCube 10 TeV all-sky map (RA, Dec) in degrees.
HAWC_ICECUBE_2019_B_RA_DEC = (229.2, 11.4)

#: Mean orbital speed of the Earth [km/s]: 2 pi AU / sidereal year = 29.78 km/s.
EARTH_ORBITAL_SPEED_KM_S = 2.0 * np.pi * 1.495978707e8 / (365.256363 * 86400.0)
C_LIGHT_KM_S = 299792.458


# --------------------------------------------------------------------------- checks
def _finite(name: str, value) -> np.ndarray:
    arr = np.asarray(value, dtype=float)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} = {value!r} is not finite; allowed: finite real numbers")
    return arr


def _dec(name: str, value) -> np.ndarray:
    arr = _finite(name, value)
    if np.any(np.abs(arr) > 90.0):
        raise ValueError(f"{name} = {value!r} is outside the allowed range [-90, 90] degrees")
    return arr


# --------------------------------------------------------------------------- vectors
def unit_vector(lon_deg, lat_deg) -> np.ndarray:
    r"""Unit vector ``(cos b cos l, cos b sin l, sin b)`` of a longitude/latitude pair.

    Broadcasts; the last axis of the result has length 3.  Works for any of the frames
    here (RA/Dec, l/b, ecliptic lambda/beta).
    """
    lon = np.radians(_finite("lon_deg", lon_deg))
    lat = np.radians(_dec("lat_deg", lat_deg))
    lon, lat = np.broadcast_arrays(lon, lat)
    return np.stack([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)], axis=-1)


def direction_angles(vec) -> tuple[np.ndarray, np.ndarray]:
    r"""(longitude in [0, 360), latitude in [-90, 90]) of vectors (last axis of length 3).

    The vectors need not be normalised; a zero vector has no direction and is rejected.
    """
    v = _finite("vec", vec)
    if v.shape[-1:] != (3,):
        raise ValueError(f"vec has shape {v.shape}; allowed: last axis of length 3")
    norm = np.linalg.norm(v, axis=-1)
    if np.any(norm == 0.0):
        raise ValueError("vec contains a zero vector, which has no direction")
    lon = np.degrees(np.arctan2(v[..., 1], v[..., 0])) % 360.0
    lat = np.degrees(np.arcsin(np.clip(v[..., 2] / norm, -1.0, 1.0)))
    # ``% 360`` can return 360.0 for tiny negative angles: fold it back.
    lon = np.where(lon >= 360.0, lon - 360.0, lon)
    if lon.ndim == 0:  # scalar in, floats out (np.where returns 0-d arrays)
        return float(lon), float(lat)
    return lon, lat


# --------------------------------------------------------------------------- frames
def galactic_rotation_matrix() -> np.ndarray:
    r"""Matrix ``M`` with ``n_gal = M @ n_eq`` (J2000 equatorial -> IAU galactic).

    Its rows are the galactic axes written in equatorial coordinates: ``z_g`` is the north
    galactic pole (RA, Dec) = (:data:`NGP_RA_DEG`, :data:`NGP_DEC_DEG`); the north
    celestial pole has galactic longitude :data:`L_NCP_DEG` and latitude ``Dec_NGP``, so
    ``u = (z_eq - sin(Dec_NGP) z_g)/cos(Dec_NGP) = cos(l_NCP) x_g + sin(l_NCP) y_g`` and
    ``w = z_g x u = cos(l_NCP) y_g - sin(l_NCP) x_g`` give
    ``x_g = cos(l_NCP) u - sin(l_NCP) w``, ``y_g = sin(l_NCP) u + cos(l_NCP) w``.  This is
    the standard J2000 galactic rotation (the same pole and ``l_NCP`` as the spherical
    formulas of Duffett-Smith quoted in the constants above).
    """
    z_g = unit_vector(NGP_RA_DEG, NGP_DEC_DEG)
    z_eq = np.array([0.0, 0.0, 1.0])
    sd = np.sin(np.radians(NGP_DEC_DEG))
    cd = np.cos(np.radians(NGP_DEC_DEG))
    u = (z_eq - sd * z_g) / cd
    w = np.cross(z_g, u)
    cl, sl = np.cos(np.radians(L_NCP_DEG)), np.sin(np.radians(L_NCP_DEG))
    x_g = cl * u - sl * w
    y_g = sl * u + cl * w
    return np.stack([x_g, y_g, z_g])


def ecliptic_rotation_matrix(obliquity_deg: float = OBLIQUITY_J2000_DEG) -> np.ndarray:
    r"""Matrix ``E`` with ``n_eq = E @ n_ecl``: rotation by the obliquity about the x axis.

    ``x_eq = x_ecl``, ``y_eq = cos(eps) y_ecl - sin(eps) z_ecl``,
    ``z_eq = sin(eps) y_ecl + cos(eps) z_ecl`` (the equinox is common to both frames;
    the ecliptic pole is at RA 270°, Dec 90° - eps).
    """
    eps = np.radians(_finite("obliquity_deg", obliquity_deg))
    c, s = np.cos(eps), np.sin(eps)
    return np.array([[1.0, 0.0, 0.0], [0.0, c, -s], [0.0, s, c]])


def equatorial_to_galactic(ra_deg, dec_deg):
    """(RA, Dec) J2000 -> (l, b), degrees, via :func:`galactic_rotation_matrix`."""
    n = unit_vector(ra_deg, dec_deg)
    return direction_angles(n @ galactic_rotation_matrix().T)


def galactic_to_equatorial(l_deg, b_deg):
    """(l, b) -> (RA, Dec) J2000, degrees; the transpose (inverse) of the rotation above."""
    n = unit_vector(l_deg, b_deg)
    return direction_angles(n @ galactic_rotation_matrix())


def ecliptic_to_equatorial(lon_deg, lat_deg, obliquity_deg: float = OBLIQUITY_J2000_DEG):
    """Ecliptic (lambda, beta) of J2000 -> (RA, Dec) J2000, degrees."""
    n = unit_vector(lon_deg, lat_deg)
    return direction_angles(n @ ecliptic_rotation_matrix(obliquity_deg).T)


def equatorial_to_ecliptic(ra_deg, dec_deg, obliquity_deg: float = OBLIQUITY_J2000_DEG):
    """(RA, Dec) J2000 -> ecliptic (lambda, beta) of J2000, degrees."""
    n = unit_vector(ra_deg, dec_deg)
    return direction_angles(n @ ecliptic_rotation_matrix(obliquity_deg))


def _default_b():
    ra, dec = ecliptic_to_equatorial(*IBEX_RIBBON_CENTER_ECLIPTIC)
    return float(ra), float(dec)


#: Default field direction b_hat, (RA, Dec) J2000 in degrees: the IBEX ribbon centre
#: converted from ecliptic J2000 (see the module docstring): about (229.66°, 23.31°),
#: computed here, not typed, as ``ecliptic_to_equatorial(219.2, 39.9)``.
DEFAULT_B_RA_DEC = _default_b()


# --------------------------------------------------------------------------- dipole
def dipole_vector(delta, ra_b_deg, dec_b_deg) -> np.ndarray:
    r"""Dipole vector ``delta * b_hat(RA_b, Dec_b)``, last axis of length 3 (equatorial).

    ``delta`` is signed: the intensity excess points along ``sign(delta) b_hat``.
    """
    d = _finite("delta", delta)
    return d[..., None] * unit_vector(ra_b_deg, dec_b_deg)


@dataclass(frozen=True)
class EquatorialProjection:
    r"""Equatorial (horizontal) part of a dipole and its invisible vertical part.

    delta_0h, delta_6h
        components along RA 0h and RA 6h (the ``delta_0h``, ``delta_6h`` of the
        HAWC+IceCube 2019 all-sky analysis, doi: 10.3847/1538-4357/aaf5cc, abstract).
    amplitude
        ``delta_h = sqrt(delta_0h^2 + delta_6h^2) = |delta| cos(Dec_b)`` (>= 0).
    phase_deg
        RA of the maximum of ``delta_h cos(RA - phase)``, in [0, 360): ``RA_b`` for
        ``delta > 0``, ``RA_b + 180°`` for ``delta < 0``; NaN when ``amplitude == 0``.
    delta_n
        component along the north celestial pole, ``delta sin(Dec_b)``; ground arrays using
        relative (time-scrambling, East-West) methods are blind to it.
    """

    delta_0h: np.ndarray
    delta_6h: np.ndarray
    amplitude: np.ndarray
    phase_deg: np.ndarray
    delta_n: np.ndarray


def equatorial_projection(delta, ra_b_deg, dec_b_deg) -> EquatorialProjection:
    r"""Split ``delta b_hat`` into ``delta_0h, delta_6h`` (equatorial plane) and ``delta_N``.

    With ``n = (cos d cos a, cos d sin a, sin d)`` the relative intensity is
    ``delta b_hat . n = delta_h cos(d) cos(a - phase) + delta_N sin(d)``; the first term is the
    only one seen as a modulation in right ascension.  The "amplitude ... in the equatorial
    plane" and its ``cos(declination)`` dependence are the quantities of EAS-TOP 1996
    (ApJ 470, 501, abstract: "amplitude and phase of the first harmonic in sidereal time are
    (in the equatorial plane) ... The amplitude of the anisotropy exhibits the expected
    cos δ dependence").
    """
    v = dipole_vector(delta, ra_b_deg, dec_b_deg)
    d0, d6, dn = v[..., 0], v[..., 1], v[..., 2]
    amp = np.hypot(d0, d6)
    with np.errstate(invalid="ignore"):
        phase = np.degrees(np.arctan2(d6, d0)) % 360.0
    phase = np.where(phase >= 360.0, phase - 360.0, phase)
    phase = np.where(amp > 0.0, phase, np.nan)
    return EquatorialProjection(d0, d6, amp, phase, dn)


def band_mean_cos_dec(dec_min_deg, dec_max_deg, exposure=None, *, nodes: int = 64):
    r"""Mean ``<cos d>`` over a declination band, weighted by solid angle (and exposure).

    Averaging the relative intensity ``delta_h cos(d) cos(a - phase) + delta_N sin(d)`` over
    the band at fixed RA with the solid-angle weight ``cos d`` (times an optional relative
    exposure ``w(d)``) gives a first harmonic in RA of amplitude ``delta_h <cos d>`` with

    .. math::
        \langle\cos\delta\rangle = \frac{\int w\cos^2\delta\,d\delta}{\int w\cos\delta\,d\delta}
        \overset{w=1}{=} \frac{\delta_2-\delta_1+\sin\delta_2\cos\delta_2-\sin\delta_1\cos\delta_1}
        {2(\sin\delta_2-\sin\delta_1)} .

    The uniform-exposure closed form is the inverse of the field-of-view correction factor
    ``fov_corr = 2(s1 - s2)/(d1 - d2 + c1 s1 - c2 s2)`` (``s = sin d``, ``c = cos d``) of a
    public IceCube "12year-dipole" phase/amplitude plotting script (option
    ``--fov-correction``, band from -90° to the mask declination; found in a public code
    index that did not name its repository).  A band reduced to one declination gives
    ``cos d`` (the EAS-TOP "expected cos δ dependence").

    exposure
        ``None`` (uniform in solid angle) or a callable ``w(dec_deg) >= 0``; integrated with
        ``nodes``-point Gauss–Legendre quadrature in ``d``.
    """
    d1 = np.radians(_dec("dec_min_deg", dec_min_deg))
    d2 = np.radians(_dec("dec_max_deg", dec_max_deg))
    if np.any(d2 < d1):
        raise ValueError(f"dec_max_deg = {dec_max_deg!r} is below dec_min_deg = {dec_min_deg!r}")
    if exposure is None:
        width = d2 - d1
        small = width < 1e-6
        num = width + np.sin(d2) * np.cos(d2) - np.sin(d1) * np.cos(d1)
        den = 2.0 * (np.sin(d2) - np.sin(d1))
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.where(small, np.cos(0.5 * (d1 + d2)), num / np.where(small, 1.0, den))
        return mean if np.ndim(mean) else float(mean)
    if np.ndim(d1) or np.ndim(d2):
        raise ValueError("exposure weighting needs scalar dec_min_deg and dec_max_deg")
    if not callable(exposure):
        raise ValueError(f"exposure = {exposure!r} is not callable; allowed: None or w(dec_deg)")
    x, wq = np.polynomial.legendre.leggauss(int(nodes))
    d = 0.5 * (d2 - d1) * x + 0.5 * (d1 + d2)
    w = np.asarray(exposure(np.degrees(d)), dtype=float) * np.ones_like(d)
    if not np.all(np.isfinite(w)) or np.any(w < 0.0):
        raise ValueError("exposure(dec_deg) returned negative or non-finite weights")
    den = np.sum(wq * w * np.cos(d))
    if den <= 0.0:
        raise ValueError("exposure(dec_deg) is zero over the whole band")
    return float(np.sum(wq * w * np.cos(d) ** 2) / den)


@dataclass(frozen=True)
class FirstHarmonic:
    """First harmonic in right ascension: ``amplitude cos(RA - phase_deg)``."""

    amplitude: np.ndarray
    phase_deg: np.ndarray
    mean_cos_dec: np.ndarray


def first_harmonic(delta, ra_b_deg, dec_b_deg, dec_min_deg, dec_max_deg, exposure=None):
    r"""``A1 = |delta| cos(Dec_b) <cos d>_band`` and its RA phase, for a declination band.

    The first-harmonic amplitude of the band-averaged RA profile of the dipole
    ``delta b_hat`` (see :func:`band_mean_cos_dec`); the phase is that of
    :func:`equatorial_projection`.  This is the geometric projection only: it ignores
    reconstruction biases of a given analysis method, which the experiments discuss
    separately.
    """
    proj = equatorial_projection(delta, ra_b_deg, dec_b_deg)
    mc = band_mean_cos_dec(dec_min_deg, dec_max_deg, exposure)
    return FirstHarmonic(proj.amplitude * mc, proj.phase_deg, mc)


def compton_getting_amplitude(gamma, v_km_s=EARTH_ORBITAL_SPEED_KM_S):
    r"""Compton–Getting dipole ``(2 + gamma) V/c`` of an observer moving at speed ``V``.

    ``gamma`` is the spectral index of the differential intensity ``j ∝ E^-gamma``
    (equivalently ``Gamma = gamma + 2`` for the phase-space density ``f ∝ p^-Gamma``, the
    ``Gamma V/c`` form of the paper's Eqs. 40-41 with ``H_c mu`` replaced by the direction
    cosine).  Compton & Getting 1935, Phys. Rev. 47, 817, doi: 10.1103/PhysRev.47.817;
    general derivation Gleeson & Axford 1968, Ap&SS 2, 431, doi: 10.1007/BF02175919.  The
    default ``V`` is the Earth's mean orbital speed, giving the solar-time dipole pointing
    to the Earth's apex (6h solar time); EAS-TOP 1996 (ApJ 470, 501, abstract) quotes
    4.7e-4 as the expected equatorial amplitude.  Valid for ``V << c``.
    """
    g = _finite("gamma", gamma)
    v = _finite("v_km_s", v_km_s)
    if np.any(v < 0.0) or np.any(v >= C_LIGHT_KM_S):
        raise ValueError(f"v_km_s = {v_km_s!r} is outside the allowed range [0, c)")
    if np.any(g <= -2.0):
        raise ValueError(f"gamma = {gamma!r} is outside the allowed range (-2, inf)")
    out = (2.0 + g) * v / C_LIGHT_KM_S
    return out if np.ndim(out) else float(out)
