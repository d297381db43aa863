"""Case files: TOML text -> validated, frozen, typed :class:`Case`.

A case names its unit system, the particle, the turbulence and, for a kinetic run, the grid,
source, losses, boundaries, solver and probes.  Each section is a frozen dataclass
(:class:`UnitsSection`, ..., :class:`ProbesSection`) whose fields carry their :class:`Key`: type,
unit, default, allowed range and meaning.  The README's case-format table is generated from the
same fields (``scripts/case_keys.py``), and :func:`parse_case` is the one validator: it reads
the TOML, applies ``section.key=value`` overrides, coerces and range-checks every key (its
allowed range and, for magnitudes, its float64-usable range :data:`USABLE_LO`..:data:`USABLE_HI`),
checks a run case for consistency (domain, source and probes inside it, a steady state exists,
memory; the code-unit quantities the operator is built from usable, :func:`_check_numbers`; a
user coefficient function called once on the grid) and returns a :class:`Case`.  Errors are one line:
``FILE: [section] key = value: what is wrong; allowed: ...``.

Bundled cases (``cases/`` in the source tree, ``fpsolve/cases`` when installed) are addressable
by name: ``load_case("slab_streaming")``; an existing path always wins over a bundled name.
"""
from __future__ import annotations

import difflib
import hashlib
import json
import math
import tomllib
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Callable

import numpy as np

from .grid import Grid, graded_mu_edges, log_edges, snap_to_resonances, uniform_edges
from .physics import SlabAlfven
from .physics.units import C_LIGHT, PARSEC, YEAR, PhysicalSetup, tau_pion

__all__ = ["Case", "CaseError", "Key", "SCHEMA", "SECTIONS", "UNSET", "bundled_cases", "load_case", "parse_case",
           "parse_override", "resolve_case_path", "unset"]


class CaseError(ValueError):
    """A case file (or override) that cannot be used; the message is one line."""


@dataclass(frozen=True)
class Key:
    """One case key: expected kind, default (``None`` = none), unit, allowed range, meaning."""

    kind: str  # "float", "int", "bool", "str", "floats" (a number or a list of numbers)
    default: Any
    unit: str
    allowed: str
    doc: str
    check: Callable[[Any], bool] | None = None
    choices: tuple = ()
    usable: str = ""  # "mag": 0 (if allowed) or |x| in [USABLE_LO, USABLE_HI]; "coord": |x| <= USABLE_HI


#: Usable magnitude of a case number (every numeric key and the code-unit quantities derived from
#: them: lengths, momenta, cell widths, rates, times, the source).  The operator multiplies such
#: numbers: an entry is a rate times a cell volume (dz dmu p^2 dp), and the residual and error
#: norms square it; so a value enters products of up to four factors of its own size.  |x|^4 must
#: stay a normal float64 -- no overflow to inf, no underflow to a denormal or 0 (the NaN residual
#: of amplitude = 1e-320, the inf of p_min = 1e-320): |x| in [tiny^(1/4), max^(1/4)] =
#: [1.22e-77, 1.16e77], rounded inward so the printed range is the one applied.
USABLE_LO, USABLE_HI = 1.3e-77, 1.1e77
#: Smallest relative tolerance (solver and time stepping): one ulp of 1.0; a relative correction or
#: local error below it cannot be measured in float64, so such a run could never meet its tolerance.
RTOL_MIN = 2.220446049250313e-16


def _g(x: float) -> str:
    return f"{x:.3g}".replace("e+", "e")


def _usable_text(usable: str, allowed: str, default) -> str:
    if usable == "mag":
        zero = "0 or " if allowed.startswith((">= 0", "[0", "in [0")) else ""
        if default == math.inf:  # a large value only means "none" sooner: a rate 1/x or a time that is never reached
            return f"{allowed}; usable >= {_g(USABLE_LO)} (inf: none)"
        mod = "|x| in " if allowed.startswith("!=") else ""
        return f"{allowed}; usable {zero}{mod}[{_g(USABLE_LO)}, {_g(USABLE_HI)}]"
    if usable == "coord":
        return f"{allowed}; usable |x| <= {_g(USABLE_HI)}"
    return allowed


def key(kind, default, unit, allowed, doc, check=None, choices=(), usable=""):
    """A section field with its :class:`Key` (the dataclass default is the key's default); ``usable``:
    the float64 magnitude check of the value (``"mag"``, ``"coord"``), shown in ``allowed``."""
    return field(default=default, metadata={"key": Key(kind, default, unit, _usable_text(usable, allowed, default), doc,
                                                       check, choices, usable)})


def _usable(usable: str, nums, default=None) -> bool:
    """``nums`` passes the key's magnitude check (:data:`USABLE_LO`, :data:`USABLE_HI`); keys whose
    default is inf ("none": catastrophic_time, p_max_resonant, max_step, t_off) have no upper bound."""
    hi = math.inf if default == math.inf else USABLE_HI
    for v in nums:
        a = abs(v)
        if usable == "mag" and a != 0 and not (USABLE_LO <= a <= hi):
            return False
        if usable == "coord" and a > USABLE_HI:
            return False
    return True


def _pos(x):
    return all(v > 0 for v in np.atleast_1d(x))


def _in(lo, hi, hi_open=False):
    return lambda x: all(lo <= v < hi if hi_open else lo <= v <= hi for v in np.atleast_1d(x))


# --- the schema: one frozen dataclass per section; each field carries its Key -------------------
Floats = tuple[float, ...]


@dataclass(frozen=True)
class UnitsSection:
    """``[units]``: the unit system of the case."""

    system: str = key("str", "code", "", "code | physical",
                      "code: dimensionless (L, c, m c, L/c); physical: the paper's units", choices=("code", "physical"))
    length_unit_pc: float = key("float", 1000.0, "pc", "> 0", "code length unit L (physical cases)", _pos, usable="mag")


@dataclass(frozen=True)
class ParticleSection:
    """``[particle]``: momenta of the report, charge, mass."""

    momentum: Floats | None = key("floats", None, "m c", "> 0", "momenta of the report (code cases, required there)",
                                  _pos, usable="mag")
    kinetic_tev: Floats | None = key("floats", None, "TeV", "> 0",
                                     "kinetic energies per particle (physical; this or momentum_tev)", _pos, usable="mag")
    momentum_tev: Floats | None = key("floats", None, "TeV/c", "> 0", "momenta per particle (physical)", _pos, usable="mag")
    charge: float = key("float", 1.0, "e", "!= 0", "charge number Q", lambda x: x[0] != 0, usable="mag")
    mass_number: float = key("float", 1.0, "", "> 0", "mass number A (particle mass A m_p)", _pos, usable="mag")
    ultrarelativistic: bool = key("bool", False, "", "true | false", "v = c at every momentum (code cases)")


@dataclass(frozen=True)
class TurbulenceSection:
    """``[turbulence]``: the scattering coefficients (slab Alfvén waves, a table or a function)."""

    model: str = key("str", "slab", "", "slab | table | python",
                     "slab Alfvén waves (Eqs. 23-28), a table on (mu, p), or a Python function",
                     choices=("slab", "table", "python"))
    table: str | None = key("str", None, "", "an .npz file", "table: mu, p (m c), d_mumu, d_mup, d_pp (p x mu), code units")
    function: str | None = key("str", None, "", "module:function or file.py:function",
                               "python: f(mu, p) -> (D_mumu, D_mup, D_pp), code units")
    breakpoints: Floats | None = key("floats", None, "", "in (-1, 1)", "python: mu where the D's are not smooth")
    form: str = key("str", "linear", "", "isospectral | linear | small_eps", "coefficients: Eqs. (23, 26), (27) or (28)",
                    choices=("isospectral", "linear", "small_eps"))
    s: float = key("float", 5.0 / 3.0, "", "[1, 2)", "spectral index of the wave intensity (Eq. 19)", _in(1.0, 2.0, True))
    cross_helicity: float = key("float", 0.0, "", "[-1, 1]", "H_c (Eq. 15)", _in(-1.0, 1.0))
    sigma_f: float = key("float", 0.0, "", "[-1, 1]", "polarisation of forward waves (Eq. 15)", _in(-1.0, 1.0))
    sigma_b: float = key("float", 0.0, "", "[-1, 1]", "polarisation of backward waves (Eq. 15)", _in(-1.0, 1.0))
    alfven_speed: float = key("float", 0.0, "c", "[0, 1)", "V_A/c (code cases)", _in(0.0, 1.0, True), usable="mag")
    mean_free_path: float | None = key("float", None, "L", "> 0", "lambda = 3 kappa_zz/v at p_ref, leading order "
                                       "Eq. (30) (code cases, required there)", _pos, usable="mag")
    p_ref: float = key("float", 1.0, "m c", "> 0", "momentum where mean_free_path holds (code cases)", _pos, usable="mag")
    p_max_resonant: float = key("float", math.inf, "m c", "> 0", "p_m of Eq. (22): D_0 = 0 above (code cases)", _pos, usable="mag")
    b0_ug: float = key("float", 3.0, "uG", "> 0", "guide field B_0 (physical)", _pos, usable="mag")
    db_over_b0: float = key("float", 1.0, "", "> 0", "delta B / B_0 (physical)", _pos, usable="mag")
    lambda10: float = key("float", 1.0, "", "> 0", "lambda_max / 10 pc (physical, Eq. 22)", _pos, usable="mag")
    n_cm3: float = key("float", 1.0, "cm^-3", "> 0", "ionised density (physical: V_A, ln k_max/k_min)", _pos, usable="mag")
    alfven_speed_kms: float | None = key("float", None, "km/s", ">= 0", "V_A (physical); default from B_0 and n "
                                         "(Sect. 1); 0: eps = 0 (SWK limit)", lambda x: x[0] >= 0, usable="mag")


@dataclass(frozen=True)
class GridSection:
    """``[grid]``: z (or homogeneous), mu and p cells, or given edges."""

    z_min: float = key("float", -1.0, "L | pc", "< z_max", "lower end of the z domain", usable="coord")
    z_max: float = key("float", 1.0, "L | pc", "> z_min", "upper end of the z domain", usable="coord")
    z_cells: int = key("int", 0, "", "0 or >= 2", "z cells (linear-discontinuous); 0 = homogeneous (no z)",
                       lambda x: x[0] == 0 or x[0] >= 2)
    mu_cells: int = key("int", 32, "", "even, >= 4", "pitch-angle cells (mu = 0 is an edge)",
                        lambda x: x[0] >= 4 and x[0] % 2 == 0)
    mu_grid: str = key("str", "uniform", "", "uniform | graded | resonance",
                       "graded: uniform in |mu|^(2-s) near mu = 0; resonance: graded with +-eps on faces",
                       choices=("uniform", "graded", "resonance"))
    p_min: float = key("float", 0.99, "m c | TeV/c", "> 0", "lowest momentum edge", _pos, usable="mag")
    p_max: float = key("float", 1.01, "m c | TeV/c", "> p_min", "highest momentum edge", _pos, usable="mag")
    p_cells: int = key("int", 1, "", ">= 1", "momentum cells (log-spaced)", lambda x: x[0] >= 1)
    z_edges: Floats | None = key("floats", None, "L | pc", "strictly increasing",
                                 "given z edges (replace z_min, z_max, z_cells)", usable="coord")
    mu_edges: Floats | None = key("floats", None, "", "from -1 to 1, 0 an edge", "given mu edges (replace mu_cells, mu_grid)")
    p_edges: Floats | None = key("floats", None, "m c | TeV/c", "strictly increasing, > 0",
                                 "given p edges (replace p_min, p_max, p_cells)", _pos, usable="mag")

    @property
    def cells(self) -> tuple[int, int, int]:
        """``(nz, nmu, np)`` as the case gives them (edges or counts); ``nz = 0``: homogeneous."""
        nz = self.z_cells if self.z_edges is None else len(self.z_edges) - 1
        nmu = self.mu_cells if self.mu_edges is None else len(self.mu_edges) - 1
        np_ = self.p_cells if self.p_edges is None else len(self.p_edges) - 1
        return nz, nmu, np_

    @property
    def z_range(self) -> tuple[float, float]:
        return (self.z_edges[0], self.z_edges[-1]) if self.z_edges is not None else (self.z_min, self.z_max)

    @property
    def p_range(self) -> tuple[float, float]:
        return (self.p_edges[0], self.p_edges[-1]) if self.p_edges is not None else (self.p_min, self.p_max)


@dataclass(frozen=True)
class SourceSection:
    """``[source]``: S(z, p) = amplitude shape(z) (p/p0)^-q."""

    kind: str = key("str", "uniform", "", "uniform | layer | point | gaussian",
                    "spatial shape: 1/length; Theta(z_u - |z|) (Eq. 60); delta(z - z_i) (Eq. 63); Gaussian",
                    choices=("uniform", "layer", "point", "gaussian"))
    amplitude: float = key("float", 1.0, "", "> 0", "normalisation (per L, p^2 dp, dmu/2 in code units)", _pos, usable="mag")
    spectral_index: float = key("float", 0.0, "", "finite", "q of S ∝ (p/p0)^-q")
    p0: float = key("float", 1.0, "m c | TeV/c", "> 0", "reference momentum of the power law", _pos, usable="mag")
    centre: float = key("float", 0.0, "L | pc", "inside the domain", "z_i of point and Gaussian sources", usable="coord")
    width: float = key("float", 0.0, "L | pc", ">= 0", "layer half-thickness z_u, or Gaussian sigma", lambda x: x[0] >= 0, usable="mag")


@dataclass(frozen=True)
class LossesSection:
    """``[losses]``: continuous (pion, power law) and catastrophic losses."""

    pion_time: float | None = key("float", None, "L/c | yr", "> 0", "tau_0 of pion losses p_dot = -p/tau_0 (Eq. 54)",
                                  _pos, usable="mag")
    pion_density_cm3: float | None = key("float", None, "cm^-3", "> 0", "physical: tau_0 = 5.4e7 yr / n (Eq. 54)", _pos, usable="mag")
    power_law_rate: float = key("float", 0.0, "(m c) c/L", ">= 0", "b0 of p_dot = -b0 p^index (code cases)",
                                lambda x: x[0] >= 0, usable="mag")
    power_law_index: float = key("float", 2.0, "", "finite", "index of the power-law loss")
    catastrophic_time: float = key("float", math.inf, "L/c | yr", "> 0", "T_c of Eq. (4); inf = none", _pos, usable="mag")
    scheme: str = key("str", "upwind2", "", "upwind2 | upwind1", "loss advection in p: upwind of f p^q, 2nd / 1st order",
                      choices=("upwind2", "upwind1"))

    @property
    def any(self) -> bool:
        """Some continuous or catastrophic loss is on."""
        return (self.pion_time is not None or self.pion_density_cm3 is not None or self.power_law_rate > 0
                or math.isfinite(self.catastrophic_time))


@dataclass(frozen=True)
class BoundariesSection:
    """``[boundaries]``: z ends and the momentum-diffusion condition."""

    z_min: str = key("str", "escape", "", "escape | mirror | periodic",
                     "escape: no inflow; mirror: f(z_min, mu) = f(z_min, -mu)", choices=("escape", "mirror", "periodic"))
    z_max: str = key("str", "escape", "", "escape | periodic", "escape: no inflow", choices=("escape", "periodic"))
    p_diffusion: str = key("str", "zero_flux", "", "zero_flux | zero_value | zero_value_reduced",
                           "p_min, p_max: zero_flux: no diffusive flux; zero_value: f = 0 on the p faces for the "
                           "whole (mu, p) form (Dirichlet); zero_value_reduced: f = 0 for D_pp - D_mup^2/D_mumu only",
                           choices=("zero_flux", "zero_value", "zero_value_reduced"))


@dataclass(frozen=True)
class SolverSection:
    """``[solver]``: method, tolerance, step budget, memory limit."""

    method: str = key("str", "auto", "", "auto | direct | march | sweep | krylov", "steady-state solver",
                      choices=("auto", "direct", "march", "sweep", "krylov"))
    rtol: float = key("float", 1e-10, "", "[2.22e-16, 1e-3]", "stop when the forward-error estimate (the last refinement correction ||df||/||f||, with the compensated residual) <= rtol; at least one ulp (RTOL_MIN)", lambda x: RTOL_MIN <= x[0] <= 1e-3)
    max_steps: int = key("int", 200, "", ">= 1", "pseudo-time steps (march) / GMRES iterations in all (krylov; then a direct fallback)", lambda x: x[0] >= 1)
    memory_limit_gb: float = key("float", 16.0, "GB", "> 0", "refuse grids whose estimated memory exceeds this", _pos)


@dataclass(frozen=True)
class ProbesSection:
    """``[probes]``: where the kinetic anisotropy is compared with Eq. (7)."""

    z: Floats | None = key("floats", None, "L | pc", "inside the domain", "positions where g(mu) is compared with Eq. (7)")
    p: Floats | None = key("floats", None, "m c | TeV/c", "inside the p range", "momenta of the probes (default: mid range)",
                           _pos)


@dataclass(frozen=True)
class TimeSection:
    """``[time]``: a physical-time run (:mod:`fpsolve.transient`): end time, outputs, TR-BDF2
    options, the source's time profile and the initial state."""

    end: float | None = key("float", None, "L/c | yr", "> 0", "end of the run (required in [time])", _pos, usable="mag")
    output_times: Floats | None = key("floats", None, "L/c | yr", "in [0, end]", "times of the outputs "
                                      "(this or output_cadence; default: 20 log-spaced times)", lambda x: min(x) >= 0, usable="mag")
    output_cadence: float | None = key("float", None, "L/c | yr", "> 0", "an output every this long", _pos, usable="mag")
    integrator: str = key("str", "trbdf2", "", "trbdf2", "time integrator (fpsolve.timestepping)", choices=("trbdf2",))
    rtol: float = key("float", 1e-6, "", "[2.22e-16, 0.1]", "relative local error per step; at least one ulp (RTOL_MIN)",
                      lambda x: RTOL_MIN <= x[0] <= 0.1)
    atol: float = key("float", 1e-10, "", ">= 0", "absolute local error relative to max f of the initial state "
                      "(zero start: of the source's f after the run time)", lambda x: x[0] >= 0, usable="mag")
    first_step: float | None = key("float", None, "L/c | yr", "> 0, <= end", "first step (default: from the "
                                   "fastest rate of the operator)", _pos, usable="mag")
    max_step: float = key("float", math.inf, "L/c | yr", "> 0", "largest step", _pos, usable="mag")
    fixed_step: float | None = key("float", None, "L/c | yr", "> 0, <= end", "constant step, no error "
                                   "control (order studies)", _pos, usable="mag")
    positivity_tol: float | None = key("float", None, "", ">= 0", "reject steps with min f < -tol max f "
                                       "(halve the step); unset: no control", lambda x: x[0] >= 0)
    positivity_fixup: bool = key("bool", False, "", "true | false", "opt-in: switch cells whose mean goes negative "
                                 "to first-order upwind and recompute the step (fpsolve.transient); the run is then "
                                 "positive but flagged (first order there); false: plain DG-1")
    positivity_limiter: bool = key("bool", False, "", "true | false", "opt-in: after each step, negative cell means "
                                   "are set to zero and their deficit taken from the same z cell's pitch cells, else "
                                   "from the nearest z cells (conservative; cell means >= 0 in every output; fpsolve.transient, "
                                   "Positivity); a run is vouched for only if it changed nothing above the step's "
                                   "error tolerance")
    profile: str = key("str", "constant", "", "constant | burst | switch | table | python",
                       "source time profile: always on; all at t = 0 (initial state); on in [t_on, t_off); "
                       "piecewise linear table; amplitude(t) function",
                       choices=("constant", "burst", "switch", "table", "python"))
    t_on: float = key("float", 0.0, "L/c | yr", ">= 0", "switch: the source turns on", lambda x: x[0] >= 0, usable="mag")
    t_off: float = key("float", math.inf, "L/c | yr", "> t_on", "switch: the source turns off; inf = never", _pos, usable="mag")
    table: str | None = key("str", None, "", "a text file", "table: two columns t (case time unit), amplitude "
                            "factor; linear between rows, 0 outside")
    function: str | None = key("str", None, "", "module:function or file.py:function",
                               "python: amplitude factor a(t), t in the case time unit")
    initial: str = key("str", "zero", "", "zero | burst | steady:FILE.h5", "initial state: empty; the source's "
                       "shape and spectrum, isotropic (N = injected per unit time x 1); a steady result file")
    scattering: bool = key("bool", True, "", "true | false", "false: no pitch-angle/momentum diffusion term "
                           "(free streaming, a transient-only validation mode)")
    store_f_mb: float = key("float", 256.0, "MB", ">= 0", "store f at the outputs if it fits in this; "
                            "else F(z, p, t) and the probes only", lambda x: x[0] >= 0)


#: The sections in file order; the README's case-format table lists their keys in this order.
SECTIONS: dict[str, type] = {
    "units": UnitsSection, "particle": ParticleSection, "turbulence": TurbulenceSection, "grid": GridSection,
    "source": SourceSection, "losses": LossesSection, "boundaries": BoundariesSection, "solver": SolverSection,
    "probes": ProbesSection, "time": TimeSection,
}
#: ``SCHEMA[section][key]`` -> :class:`Key`, read off the section dataclasses (nothing is listed twice).
#: Case attribute of a section where it differs from the section name (``Case.time()`` converts times).
ATTR = {"time": "transient"}
SCHEMA: dict[str, dict[str, Key]] = {name: {f.name: f.metadata["key"] for f in fields(cls)}
                                     for name, cls in SECTIONS.items()}


_CODE_ONLY = {("turbulence", k) for k in ("alfven_speed", "mean_free_path", "p_ref", "p_max_resonant")} | {
    ("particle", "momentum"), ("particle", "ultrarelativistic")}
_CODE_ONLY |= {("losses", "power_law_rate"), ("turbulence", "table"), ("turbulence", "function")}
_PHYSICAL_ONLY = {("turbulence", k) for k in ("b0_ug", "db_over_b0", "lambda10", "n_cm3", "alfven_speed_kms")} | {
    ("particle", "kinetic_tev"), ("particle", "momentum_tev"), ("units", "length_unit_pc"),
    ("losses", "pion_density_cm3")}


class _Unset:
    def __repr__(self):
        return "UNSET"


#: Override value that removes a key (back to its default), e.g. ``("turbulence", "alfven_speed", UNSET)``:
#: how a code case becomes a physical one without editing its text.
UNSET = _Unset()


def unset(dotted: str):
    """``unset("turbulence.alfven_speed")`` -> the override that removes that key."""
    section, name = dotted.split(".", 1)
    return section, name, UNSET


def _fmt(value) -> str:
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_fmt(v) for v in value) + "]"
    return repr(value)


def _toml(value) -> str:
    """A coerced case value as TOML (round trip: parsing it gives the same value)."""
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return repr(value)


def _suggest(name: str, options) -> str:
    close = difflib.get_close_matches(name, list(options), n=1, cutoff=0.5)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _coerce(origin: str, section: str, name: str, key: Key, value, usable: bool = True):
    """One key's value, type- and range-checked; ``usable=False`` skips the float64-usability check
    (a result file's stored case is read back as written, whichever version wrote it)."""
    where = f"{origin}: [{section}] {name} = {_fmt(value)}"

    def bad(what):
        return CaseError(f"{where}: {what}; allowed: {key.allowed}" + (f" {key.unit}" if key.unit else ""))

    if key.kind == "bool":
        if not isinstance(value, bool):
            raise bad("not a boolean")
        return value
    if key.kind == "str":
        if not isinstance(value, str):
            raise bad("not a string")
        if key.choices and value not in key.choices:
            raise bad("unknown choice" + _suggest(value, key.choices))
        return value
    if key.kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise bad("not an integer")
        if key.check is not None and not key.check([value]):
            raise bad("out of range")
        return value
    items = value if key.kind == "floats" and isinstance(value, list) else [value]
    if key.kind == "floats" and isinstance(value, list) and not value:
        raise bad("empty list")
    nums = []
    for item in items:
        if isinstance(item, bool) or not isinstance(item, (int, float)):
            raise bad("not a number" if key.kind != "floats" else "not a number or list of numbers")
        if not math.isfinite(item) and not (item == math.inf and key.default == math.inf):
            raise bad("not a finite number")
        nums.append(float(item))
    if key.check is not None and not key.check(nums):
        raise bad("out of range")
    if usable and key.usable and not _usable(key.usable, nums, key.default):
        raise bad("outside the usable range (the operator multiplies up to four such numbers: |x|^4 must be a "
                  "normal float64)")
    return tuple(nums) if key.kind == "floats" else nums[0]


@dataclass(frozen=True)
class Case:
    """A validated case: one typed, frozen section per TOML table, plus where it came from.

    ``origin``: the file (or ``"<string>"``); ``text``: its text as read; ``given``: the
    ``(section, key)`` pairs set by the file or the overrides; ``sections``: the tables present.
    """

    origin: str
    text: str
    units: UnitsSection
    particle: ParticleSection
    turbulence: TurbulenceSection
    grid: GridSection
    source: SourceSection
    losses: LossesSection
    boundaries: BoundariesSection
    solver: SolverSection
    probes: ProbesSection
    transient: TimeSection = TimeSection()  # the [time] section (``Case.time`` converts times)
    given: frozenset = frozenset()
    sections: frozenset = frozenset()

    @property
    def system(self) -> str:
        return self.units.system

    @property
    def has_grid(self) -> bool:
        """A run case (it has a ``[grid]``); without one, only the physics report applies."""
        return "grid" in self.sections

    @property
    def has_time(self) -> bool:
        """A physical-time run (it has a ``[time]`` section)."""
        return "time" in self.sections

    # --- identity ------------------------------------------------------------------------------
    def resolved_text(self) -> str:
        """The case as TOML with every given key (file and overrides) at its validated value:
        ``parse_case(case.resolved_text())`` gives the same case."""
        lines = []
        for name in SECTIONS:
            if name not in self.sections:
                continue
            section = getattr(self, ATTR.get(name, name))
            lines.append(f"[{name}]")
            lines += [f"{f.name} = {_toml(getattr(section, f.name))}" for f in fields(section)
                      if (name, f.name) in self.given]
            lines.append("")
        return "\n".join(lines)

    def digest(self, *, solver: bool = True) -> str:
        """SHA-256 of every resolved value (file text and overrides alike); ``solver=False`` leaves out
        ``[solver]`` (a checkpoint may be continued with another step budget)."""
        values = {name: {k: (list(v) if isinstance(v, tuple) else v)
                         for k, v in asdict(getattr(self, ATTR.get(name, name))).items()}
                  for name in SECTIONS if (solver or name != "solver") and (name in ATTR) <= (name in self.sections)}
        return hashlib.sha256(json.dumps(values, sort_keys=True, default=str).encode()).hexdigest()

    # --- unit conversion (physical cases: pc, TeV/c, yr -> L, m c, L/c) --------------------------
    def physical_setup(self) -> PhysicalSetup:
        t, pt = self.turbulence, self.particle
        return PhysicalSetup(
            b0_ug=t.b0_ug, db_over_b0=t.db_over_b0, lambda10=t.lambda10, n_cm3=t.n_cm3, va_kms=t.alfven_speed_kms,
            charge=pt.charge, mass_number=pt.mass_number, s=t.s, hc=t.cross_helicity, sigma_f=t.sigma_f,
            sigma_b=t.sigma_b, form=t.form, length_unit_pc=self.units.length_unit_pc)

    def length(self, x):
        """A length of the case in code units (pc -> L for physical cases); None stays None."""
        if x is None:
            return None
        if self.system == "physical":
            return np.asarray(x, dtype=float) * PARSEC / self.physical_setup().length_unit_cm
        return np.asarray(x, dtype=float)

    def momentum(self, p):
        """A momentum of the case in code units (TeV/c -> m c for physical cases)."""
        if p is None:
            return None
        if self.system == "physical":
            return np.asarray(p, dtype=float) / self.physical_setup().momentum_unit_tev
        return np.asarray(p, dtype=float)

    def time_unit(self) -> tuple[str, float]:
        """The case's time unit: ``(name, L/c per unit)``, ("yr", ...) for physical cases, else ("L/c", 1)."""
        return ("yr", float(self.time(1.0))) if self.system == "physical" else ("L/c", 1.0)

    def time(self, t):
        """A time of the case in code units (yr -> L/c for physical cases); inf and None stay."""
        if t is None or not np.isfinite(t):
            return t
        if self.system == "physical":
            return t * YEAR / self.physical_setup().time_unit_s
        return t

    # --- physics -------------------------------------------------------------------------------
    def turbulence_model(self):
        """The coefficient set in code units: slab Alfvén (Eqs. 24-28), a table or a function."""
        t = self.turbulence
        if t.model != "slab":
            return self._user_model()
        try:
            if self.system == "physical":
                return self.physical_setup().turbulence()
            return SlabAlfven.from_mean_free_path(
                t.mean_free_path, s=t.s, p_ref=t.p_ref, hc=t.cross_helicity, va=t.alfven_speed, sigma_f=t.sigma_f,
                sigma_b=t.sigma_b, form=t.form, p_m=t.p_max_resonant, ultrarelativistic=self.particle.ultrarelativistic)
        except ValueError as err:  # name the case's keys, not the coefficient set's parameters
            text = " ".join(str(err).split())
            if text.startswith("va (V_A/c)"):
                given = (f"alfven_speed_kms = {t.alfven_speed_kms!r}" if t.alfven_speed_kms is not None else
                         f"b0_ug = {t.b0_ug!r}, n_cm3 = {t.n_cm3!r} (V_A = B_0/sqrt(4 pi rho))")
                va = float(text.split("=", 1)[1].split()[0])
                raise CaseError(f"{self.origin}: [turbulence] {given}: V_A = {va:.6g} c, not below the speed of "
                                f"light; allowed: V_A < {C_LIGHT / 1e5:.9g} km/s") from None
            keys = ("mean_free_path, p_ref, s" if self.system == "code" else
                    "b0_ug, db_over_b0, lambda10, n_cm3, s and [units] length_unit_pc")
            raise CaseError(f"{self.origin}: [turbulence] {keys}: the scattering coefficients are not usable "
                            f"({text.replace('d0_ref', 'D_0 at the reference momentum')})") from None

    def model_files(self) -> list[Path]:
        """Files the coefficients come from (table .npz, python file), resolved next to the case."""
        t = self.turbulence
        names = []
        if t.model == "table" and t.table:
            names.append(t.table)
        if t.model == "python" and t.function and t.function.rsplit(":", 1)[0].endswith(".py"):
            names.append(t.function.rsplit(":", 1)[0])
        base = self._base()
        paths = [Path(n) if Path(n).is_absolute() or base is None else base / n for n in names]
        return [p for p in paths if p.exists()]

    def _base(self):
        """The folder relative paths in the case are taken from: the case file's; the current folder
        for a bundled case of the installed package (its folder is the package's, not the user's)."""
        if not self.origin or self.origin == "<string>":
            return None
        folder = Path(self.origin).parent
        if folder.resolve() == (Path(__file__).resolve().parent / "cases"):
            return None
        return folder

    def _user_model(self):
        from .physics.user_coefficients import CallableCoefficients, load_callable, load_table

        t = self.turbulence
        ur = self.particle.ultrarelativistic
        base = self._base()
        path = None
        try:
            if t.model == "table":
                if t.table is None:
                    raise ValueError("model = 'table' needs table = 'file.npz'")
                path = Path(t.table)
                path = base / path if base and not path.is_absolute() else path
                return load_table(path, ultrarelativistic=ur)
            if t.function is None:
                raise ValueError("model = 'python' needs function = 'module:function'")
            return CallableCoefficients(load_callable(t.function, base), ultrarelativistic=ur,
                                        mu_breakpoints=tuple(t.breakpoints or ()), name=repr(t.function))
        except (ValueError, OSError, ImportError) as err:
            text = " ".join(str(err).split())
            if isinstance(err, ImportError):  # the user's module: not found, or its import failed
                text = f"function = {t.function!r}: cannot import ({type(err).__name__}: {text}); allowed: " \
                       f"module:function or file.py:function"
            elif isinstance(err, OSError):
                text = f"cannot read {err.filename or ''} ({err.strerror or text}); allowed: an .npz file"
            if t.model == "table" and t.table is not None:
                for prefix in (f"table {path}: ", f"table {path} "):
                    text = text.removeprefix(prefix)
                raise CaseError(f"{self.origin}: [turbulence] table = {t.table!r}: {text}") from None
            raise CaseError(f"{self.origin}: [turbulence] {t.model}: {text}") from None

    def initial_path(self) -> Path:
        """``[time] initial = "steady:FILE.h5"``: the file, relative to the case's folder (the current
        folder for a bundled case of the installed package)."""
        path = Path(self.transient.initial.split(":", 1)[1])
        base = self._base()
        return base / path if base and not path.is_absolute() else path

    def source_profile(self):
        """``a(t)`` of ``[time] profile`` in code time: the source is ``a(t) b``; with its breakpoints.

        Returns ``(a, breakpoints)``; ``a(t, side)`` takes ``side = +1`` (right limit) or ``-1`` (left
        limit) so a switch is exact at its edges.  ``burst``: ``a = 0`` (the burst is the initial state).
        Table and function times are in the case's time unit (yr for physical cases)."""
        tm, where = self.transient, self.origin
        if tm.profile == "constant":
            return (lambda t, side: 1.0), ()
        if tm.profile == "burst":
            return (lambda t, side: 0.0), ()
        if tm.profile == "switch":
            on, off = float(self.time(tm.t_on)), float(self.time(tm.t_off))

            def switch(t, side):
                return 1.0 if ((on <= t < off) if side > 0 else (on < t <= off)) else 0.0
            return switch, tuple(x for x in (on, off) if np.isfinite(x))
        if tm.profile == "table":
            path = Path(tm.table)
            base = self._base()
            path = base / path if base and not path.is_absolute() else path
            try:
                data = np.loadtxt(path, ndmin=2, delimiter=None if path.suffix != ".csv" else ",")
            except (OSError, ValueError) as err:
                raise CaseError(f"{where}: [time] table = {tm.table!r}: cannot read ({err}); allowed: a two-column "
                                f"text file t, amplitude") from None
            if data.shape[1] != 2 or data.shape[0] < 2 or not np.all(np.isfinite(data)) \
                    or not np.all(np.diff(data[:, 0]) > 0) or np.any(data[:, 1] < 0):
                raise CaseError(f"{where}: [time] table = {tm.table!r}: not two finite columns with increasing "
                                f"times and amplitudes >= 0; allowed: a two-column text file t, amplitude")
            tt = np.array([float(self.time(x)) for x in data[:, 0]])
            amp = data[:, 1].copy()
            return (lambda t, side: float(np.interp(t, tt, amp, left=0.0, right=0.0))), tuple(tt)
        from .physics.user_coefficients import load_callable

        try:
            func = load_callable(tm.function, self._base())
        except (ValueError, OSError, ImportError) as err:
            raise CaseError(f"{where}: [time] function: {err}") from None
        scale = float(self.time(1.0))  # case time unit in code units

        def user(t, side):
            try:
                a = float(func(t / scale))
            except Exception as err:  # the user's code: any failure is the case's defect, one line
                raise CaseError(f"{where}: [time] function = {tm.function!r}: a({t / scale:g}) raised "
                                f"{type(err).__name__}: {' '.join(str(err).split())}; allowed: a(t) -> a number "
                                f">= 0") from None
            if not (np.isfinite(a) and a >= 0):
                raise CaseError(f"{where}: [time] function = {tm.function!r}: a({t / scale:g}) = {a!r}; "
                                f"allowed: finite and >= 0")
            return a
        return user, ()

    def loss_rate(self):
        """``b(p) = |p_dot|`` in code units: pion (p/tau_0, Eq. 54) plus a power law; None without
        continuous losses."""
        lo = self.losses
        tau0 = self.time(lo.pion_time) if lo.pion_time is not None else None
        if lo.pion_density_cm3 is not None:
            tau0 = tau_pion(lo.pion_density_cm3) / self.physical_setup().time_unit_s
        rate, index = lo.power_law_rate, lo.power_law_index
        if tau0 is None and rate == 0.0:
            return None

        def b(p):
            p = np.asarray(p, dtype=float)
            out = np.zeros_like(p)
            if tau0 is not None:
                out = out + p / tau0
            if rate:
                out = out + rate * p**index
            return out

        return b

    # --- grid and probes in code units ---------------------------------------------------------
    def grid_edges(self):
        """``(z_edges or None, mu_edges, p_edges)`` in code units."""
        g = self.grid
        if g.z_edges is not None:
            z = self.length(g.z_edges)
        else:
            z = None if g.z_cells == 0 else uniform_edges(float(self.length(g.z_min)), float(self.length(g.z_max)),
                                                           g.z_cells)
        if g.mu_edges is not None:
            mu = np.asarray(g.mu_edges, dtype=float)
        elif g.mu_grid in ("graded", "resonance"):
            mu = graded_mu_edges(g.mu_cells, 2.0 - self.turbulence.s)
            if g.mu_grid == "resonance":  # +-eps at the middle momentum of the grid on cell faces
                model = self.turbulence_model()
                p_mid = float(self.momentum(np.sqrt(g.p_min * g.p_max)))
                mu = snap_to_resonances(mu, float(model.eps(p_mid)) if hasattr(model, "eps") else 0.0)
        else:
            mu = uniform_edges(-1.0, 1.0, g.mu_cells)
        if g.p_edges is not None:
            p = self.momentum(g.p_edges)
        else:
            p = log_edges(float(self.momentum(g.p_min)), float(self.momentum(g.p_max)), g.p_cells)
        return z, mu, p

    def make_grid(self) -> Grid:
        """The tensor grid; bad edges are a one-line ``CaseError``."""
        try:
            return Grid(*self.grid_edges())
        except ValueError as err:
            raise CaseError(f"{self.origin}: [grid]: {err}") from None

    def probe_positions(self):
        """``[probes] z`` in code units (None if not given)."""
        return None if self.probes.z is None else np.atleast_1d(self.length(self.probes.z))

    def probe_momenta(self):
        """``[probes] p`` in code units; default: the geometric middle of ``[grid] p_min, p_max``."""
        if self.probes.p is None:
            return np.atleast_1d(self.momentum(np.sqrt(self.grid.p_min * self.grid.p_max)))
        return np.atleast_1d(self.momentum(self.probes.p))

    def momenta(self) -> np.ndarray:
        """The report's momenta in code units ``p/(m c)``: [particle], else the probe momenta."""
        pt = self.particle
        if pt.momentum is None and pt.kinetic_tev is None and pt.momentum_tev is None:
            return self.probe_momenta()
        if self.system == "physical":
            setup = self.physical_setup()
            if pt.kinetic_tev is not None:
                return np.asarray(setup.p_code(kinetic_tev=np.array(pt.kinetic_tev)))
            return np.asarray(setup.p_code(momentum_tev=np.array(pt.momentum_tev)))
        return np.asarray(pt.momentum, dtype=float)

    def estimated_memory_gb(self) -> float:
        """Peak memory of a run (GB) for the method it will use (``auto``: the method
        ``solvers.choose_method`` picks from the same facts), from counts alone (no assembly).

        Calibrated on ru_maxrss of whole runs (scripts/BENCHMARKS.md, "memory estimate"):
        the interpreter with numpy/scipy/numba and the compiled kernels (0.20 GB); the matrix
        (12 bytes per non-zero; non-zeros per row: ~6 for eps = 0 in a z plane, +2 with losses
        between planes, ~17 with the mixed terms, ~15 homogeneous) kept alive, once more during
        assembly and the round-off floor's |A|; the coefficient quadrature's blocks (eps > 0:
        ~4 kB per (mu, p) cell up to its 0.5 GB block); 4 unknown-sized vectors and the
        diagnostics' fields (16 vectors); and the solver:

        * sweep: the LU factors of ``workers + 1`` (z, mu) planes (factorised ahead, none kept);
        * krylov: the LU factors of every plane (12 bytes per stored non-zero) and the GMRES
          basis: only the vectors a cycle uses are touched (3-30 per cycle in the benchmarks),
          counted as 20 of the ``KRYLOV_RESTART``;
        * direct (and march): the LU of the whole matrix, 14 bytes per non-zero of L + U with
          SuperLU's work space (measured 12-17).  LU fill per unknown of a 2-D pattern (a single (z, mu) plane,
          or homogeneous (mu, p)): 3.5 r^1.5 (w/64)^0.4 for r non-zeros per row and w unknowns
          across the short side (measured 48-346 on 200x32 ... 800x128 slab planes and
          64x128 ... 256x512 Compton-Getting grids, within 20%); of a p-coupled (z, mu, p)
          matrix: twice the product of the two smallest of (2 nz, nmu, np) (full_alfvenic;
          tev10_slab: 9.4 GB estimated, 8.8 GB measured), 0.75 times it when eps = 0 couples
          the planes one way only (one measurement: the 32x16 SWK ladder rung, 0.9 GB).
        """
        from .solvers import DIRECT_MAX_UNKNOWNS, KRYLOV_RESTART, SWEEP_WORKERS

        nz, nmu, np_ = self.grid.cells
        homogeneous = nz == 0
        n = float(max(nz, 1)) * (1 if homogeneous else 2) * nmu * np_
        t = self.turbulence
        if self.system == "physical":
            eps_positive = t.alfven_speed_kms is None or t.alfven_speed_kms > 0  # None: from B_0 and n
        else:
            eps_positive = t.alfven_speed > 0
        mixed = t.model != "slab" or eps_positive
        if homogeneous:
            r = 15.0 if mixed else 5.0
        else:
            r = 17.0 if mixed else 6.0 + (2.0 if (self.losses.any and np_ > 1) else 0.0)
        plane_n = n / np_
        plane_w = nmu if homogeneous else 2.0 * min(nmu, nz)

        def fill_2d(rows, per_row, w):  # LU non-zeros of a 2-D pattern
            return rows * 3.5 * per_row ** 1.5 * max(w / 64.0, 0.25) ** 0.4

        method = self.solver.method
        if method == "auto":
            if np_ > 1 and not mixed:
                method = "sweep"
            elif np_ == 1 or homogeneous:
                method = "direct" if n <= DIRECT_MAX_UNKNOWNS else "krylov"
            else:
                method = "krylov"
        plane_fill = fill_2d(plane_n, min(r, 6.0), plane_w)
        if method == "sweep":
            solver = (SWEEP_WORKERS + 1) * 14.0 * plane_fill
        elif method == "krylov":
            solver = np_ * 12.0 * plane_fill + min(KRYLOV_RESTART, 20) * 8.0 * n
        elif np_ == 1 or homogeneous:  # direct or march: LU of a 2-D pattern
            solver = 14.0 * fill_2d(n, r, plane_w if np_ == 1 else min(nmu, np_))
        else:  # LU of the p-coupled 3-D matrix
            a, b, _ = sorted((2.0 * max(nz, 1), float(nmu), float(np_)))
            solver = 14.0 * n * (2.0 if mixed else 0.75) * a * b  # eps = 0: p coupled one way only
        matrix = 12.0 * r * n
        quadrature = min(4.0e3 * nmu * np_, 0.5e9) if mixed else 0.0
        vectors = 8.0 * n
        build = matrix + quadrature
        return (0.20e9 + matrix + 4 * vectors + max(build, solver, 12 * vectors)) / 1e9


#: Largest s of a run (the report takes any s < 2): the quadrature is exact up to s = 2 - 2^-52, but
#: the discrete problem's round-off floor grows ~3e-11/(2-s) (measured with the direct solve,
#: slab case: 2.7e-7 at 2 - s = 1e-4, 2.8e-5 at 1e-6, 9e5 at 2.2e-16).
S_MAX_RUN = 1.9999


def check_run_limits(case: Case) -> None:
    """What only a kinetic run (not the physics report) needs of a case: ``s <= S_MAX_RUN``."""
    s = getattr(case.turbulence_model(), "s", None)
    if s is not None and s > S_MAX_RUN:
        raise CaseError(f"{case.origin}: [turbulence] s = {s!r}: outside the allowed range [1, {S_MAX_RUN}] for a "
                        f"run (closer to 2 the scattering rate D_0 ~ 1/(2-s) at fixed mean free path lifts the "
                        f"solve's round-off floor, ~3e-11/(2-s): 3e-7 at s = 1.9999, O(1) at s = 2 - 2e-16); "
                        f"fpsolve report takes [1, 2)")

_LN_LO, _LN_HI = math.log(USABLE_LO), math.log(USABLE_HI)
#: The integrator stops when the remaining time is below 8 ulp of the end (timestepping.integrate);
#: a step below twice that cannot advance t by a representable, measurable amount.
STEP_MIN_ULPS = 16


def _in_band(x, zero_ok=False) -> bool:
    """Every value finite and of usable magnitude (:data:`USABLE_LO`, :data:`USABLE_HI`); 0 if ``zero_ok``."""
    with np.errstate(all="ignore"):
        a = np.abs(np.asarray(x, dtype=float))
    return bool(np.all(np.isfinite(a)) and np.all(((a >= USABLE_LO) & (a <= USABLE_HI)) | (zero_ok & (a == 0))))


def _worst(x, zero_ok=False) -> float:
    """The value of ``x`` farthest outside the usable band (for the message)."""
    with np.errstate(all="ignore"):
        a = np.atleast_1d(np.abs(np.asarray(x, dtype=float))).ravel()
        bad = a[~np.isfinite(a) | ((a != 0) & ((a < USABLE_LO) | (a > USABLE_HI))) | ((a == 0) & (not zero_ok))]
    if bad.size == 0:
        return float(a[0])
    return float(bad[np.argmax(np.abs(np.log(np.where(bad > 0, bad, 5e-324))))]) if np.all(np.isfinite(bad)) \
        else float(bad[~np.isfinite(bad)][0])


def _check_numbers(case: Case) -> None:
    """The code-unit quantities the operator is built from -- lengths, cell widths, momenta, the
    scattering rate D_0, eps, loss rates and times, the source spectrum -- are finite and of usable
    magnitude (:data:`USABLE_LO`, :data:`USABLE_HI`), else one line naming the user's keys they come
    from (never an internal name) and the usable range.  Each key alone was checked by
    :func:`_coerce`; this catches combinations (a unit times a length, an index times ln p, ...)."""
    where, phys = case.origin, case.system == "physical"
    band = f"[{_g(USABLE_LO)}, {_g(USABLE_HI)}]"
    lu = f" with [units] length_unit_pc = {case.units.length_unit_pc!r}" if phys else ""
    mu = f" with [particle] mass_number = {case.particle.mass_number!r}" if phys else ""

    def refuse(keys, what, allowed):
        raise CaseError(f"{where}: {keys}: {what}; allowed: {allowed}")

    g = case.grid
    momenta = [np.atleast_1d(case.momenta()).astype(float)]
    p_keys = "[particle] momentum" if not phys else "[particle] " + ("kinetic_tev" if case.particle.kinetic_tev
                                                                     is not None else "momentum_tev")
    if not _in_band(momenta[0]):
        refuse(p_keys + mu, f"momentum {_worst(momenta[0]):.3g} m c in code units is outside the usable range",
               f"code-unit momenta in {band} m c")
    if case.has_grid:
        nz = g.cells[0]
        with np.errstate(all="ignore"):
            if nz:
                z = np.asarray(case.length(g.z_edges if g.z_edges is not None else g.z_range), dtype=float)
                extent = float(z[-1] - z[0])
                dz = np.diff(z) if g.z_edges is not None else np.array([extent / nz])
            pe = np.asarray(case.momentum(g.p_edges if g.p_edges is not None else g.p_range), dtype=float)
        if nz:
            zk = "[grid] z_edges" if g.z_edges is not None else \
                f"[grid] z_min = {g.z_min!r}, z_max = {g.z_max!r}, z_cells = {g.z_cells}"
            if not _in_band(z, zero_ok=True):
                refuse(zk + lu, f"z = {_worst(z, True):.3g} L in code units is outside the usable range",
                       f"|z| <= {_g(USABLE_HI)} L")
            if not (_in_band(extent) and _in_band(dz)):
                refuse(zk + lu, f"domain length {extent:.3g} L, cell width {_worst(dz):.3g} L in code units: outside "
                                f"the usable range", f"domain length and cell widths in {band} L")
        pk = "[grid] p_edges" if g.p_edges is not None else f"[grid] p_min = {g.p_min!r}, p_max = {g.p_max!r}"
        if not _in_band(pe):
            refuse(pk + mu, f"momentum {_worst(pe):.3g} m c in code units is outside the usable range",
                   f"code-unit momenta in {band} m c")
        momenta.append(pe)
        src = case.source
        if src.kind in ("layer", "gaussian") and nz:
            w = float(case.length(src.width))
            if not _in_band(w):
                refuse(f"[source] width = {src.width!r}{lu}", f"{w:.3g} L in code units is outside the usable range",
                       f"{band} L")
        if nz and src.kind in ("point", "gaussian") and not _in_band(case.length(src.centre), zero_ok=True):
            refuse(f"[source] centre = {src.centre!r}{lu}", "outside the usable range", f"|z| <= {_g(USABLE_HI)} L")
        p0 = float(case.momentum(src.p0))
        if not _in_band(p0):
            refuse(f"[source] p0 = {src.p0!r}{mu}", f"{p0:.3g} m c in code units is outside the usable range",
                   f"{band} m c")
        # spectrum (p/p0)^-q on the p edges, in logs (it must not overflow or underflow by itself)
        lnr = np.abs(np.log(pe / p0))
        q = src.spectral_index
        if q != 0 and np.any(abs(q) * lnr > min(-_LN_LO, _LN_HI)):
            qmax = min(-_LN_LO, _LN_HI) / float(lnr.max())
            refuse(f"[source] spectral_index = {q!r}", f"(p/p0)^-q on the momentum grid reaches "
                   f"exp({abs(q) * float(lnr.max()):.4g}), outside the usable range",
                   f"|q| <= {qmax:.4g} for this grid and p0 (|q ln(p/p0)| <= {min(-_LN_LO, _LN_HI):.4g})")
        with np.errstate(all="ignore"):
            spec = src.amplitude * (pe / p0) ** -q
            length = extent if nz and src.kind == "uniform" else (w if nz and src.kind in ("layer", "gaussian")
                                                                   else 1.0)
            density = spec / length
        if not (_in_band(spec) and _in_band(density)):
            refuse(f"[source] amplitude = {src.amplitude!r}", f"the source density reaches "
                   f"{_worst(np.append(spec, density)):.3g} (code units), outside the usable range",
                   f"amplitude x (p/p0)^-q / length in {band}")
        lo = case.losses
        with np.errstate(all="ignore"):
            if lo.pion_time is not None or lo.pion_density_cm3 is not None:
                name = "pion_time" if lo.pion_time is not None else "pion_density_cm3"
                tau0 = (float(case.time(lo.pion_time)) if lo.pion_time is not None
                        else tau_pion(lo.pion_density_cm3) / case.physical_setup().time_unit_s)
                if not (_in_band(tau0) and _in_band(pe / tau0)):
                    refuse(f"[losses] {name} = {getattr(lo, name)!r}{lu}", f"loss time {tau0:.3g} L/c, rate p/tau_0 "
                           f"up to {_worst(pe / tau0):.3g} in code units: outside the usable range",
                           f"tau_0 and p/tau_0 in {band} (code units)")
            if lo.power_law_rate > 0:
                k = lo.power_law_index
                if np.any(abs(k) * np.abs(np.log(pe)) > min(-_LN_LO, _LN_HI)):
                    kmax = min(-_LN_LO, _LN_HI) / float(np.abs(np.log(pe)).max())
                    refuse(f"[losses] power_law_index = {k!r}", f"p^index on the momentum grid is outside the "
                           f"usable range", f"|index| <= {kmax:.4g} for this momentum grid")
                b = lo.power_law_rate * pe ** k
                if not (_in_band(b) and _in_band(b / pe)):
                    refuse(f"[losses] power_law_rate = {lo.power_law_rate!r}", f"loss rate b0 p^index reaches "
                           f"{_worst(b):.3g} (code units), outside the usable range", f"b0 p^index and b0 p^(index-1) "
                           f"in {band} on the momentum grid")
            if math.isfinite(lo.catastrophic_time):
                tc = float(case.time(lo.catastrophic_time))
                if not (tc > USABLE_HI or _in_band(tc)):  # longer: its rate 1/T_c is only negligible
                    refuse(f"[losses] catastrophic_time = {lo.catastrophic_time!r}{lu}", f"{tc:.3g} L/c in code "
                           f"units is outside the usable range", f">= {_g(USABLE_LO)} L/c or inf")
    # scattering: D_0 where it is not zero (p <= p_m), and eps -- rates of the operator (a run case;
    # the physics report takes any finite D_0: its transport coefficients scale as 1/D_0)
    model = case.turbulence_model()
    if case.has_grid and hasattr(model, "d0"):
        pp = np.concatenate(momenta)
        with np.errstate(all="ignore"):
            d0 = np.asarray(model.d0(pp), dtype=float)
        on = pp <= model.p_m
        if not _in_band(d0[on]):
            t = case.turbulence
            keys = (f"[turbulence] mean_free_path = {t.mean_free_path!r}, p_ref = {t.p_ref!r}" if not phys else
                    f"[turbulence] b0_ug = {t.b0_ug!r}, db_over_b0 = {t.db_over_b0!r}, lambda10 = {t.lambda10!r}"
                    f"{lu}")
            refuse(keys, f"the scattering rate D_0 reaches {_worst(d0[on]):.3g} c/L on the momenta, outside the "
                   f"usable range", f"D_0 in {band} c/L")
        if model.va > 0:
            with np.errstate(all="ignore"):
                e = model.va / np.asarray(model.velocity(pp), dtype=float)
            if not _in_band(e):
                key_ = "[turbulence] alfven_speed" if not phys else "[turbulence] alfven_speed_kms"
                refuse(key_, f"eps = V_A/v reaches {_worst(e):.3g}, outside the usable range",
                       f"eps in {band} or 0")
    if case.turbulence.model != "slab":
        _check_user_coefficients(case, model, np.concatenate(momenta))


def _check_user_coefficients(case: Case, model, p) -> None:
    """A table's or function's ``D_mumu, D_mup, D_pp`` at the grid's mu edges and centres and the
    momenta: computable (the function runs and returns three arrays), finite, ``D_mumu, D_pp >= 0``
    and of usable magnitude (0 or in [USABLE_LO, USABLE_HI]); else one line naming the key."""
    t, where = case.turbulence, case.origin
    name = f"[turbulence] table = {t.table!r}" if t.model == "table" else f"[turbulence] function = {t.function!r}"
    if case.has_grid:
        e = case.make_grid().mu_edges
        mu = np.unique(np.concatenate([e, 0.5 * (e[1:] + e[:-1])]))
    else:
        mu = np.linspace(-1.0, 1.0, 65)
    if hasattr(model, "check_momenta"):
        p = p[(p >= model.p[0]) & (p <= model.p[-1])] if model.p.size > 1 else p
    try:
        with np.errstate(all="ignore"):
            c = model.coefficients(mu[None, :], p[:, None])
    except ValueError as err:
        text = " ".join(str(err).split()).removeprefix(f"function {getattr(model, 'name', '')}: ")
        raise CaseError(f"{where}: {name}: {text}") from None
    for label, d, nonneg in (("D_mumu", c.d_mumu, True), ("D_mup", c.d_mup, False), ("D_pp", c.d_pp, True)):
        d = np.asarray(d, dtype=float)
        if not _in_band(d, zero_ok=True) or (nonneg and np.any(d < 0)):
            i = np.unravel_index(np.argmax(~np.isfinite(d) | (nonneg & (d < 0)) | ~((np.abs(d) == 0) | (
                (np.abs(d) >= USABLE_LO) & (np.abs(d) <= USABLE_HI)))), d.shape)
            raise CaseError(f"{where}: {name}: {label} = {float(d[i])!r} at mu = {float(np.broadcast_to(mu[None, :], d.shape)[i]):.6g}, "
                            f"p = {float(np.broadcast_to(p[:, None], d.shape)[i]):.6g} m c; allowed: finite, "
                            f"{'>= 0, ' if nonneg else ''}0 or |{label}| in [{_g(USABLE_LO)}, {_g(USABLE_HI)}] (code units)")


def _check_run_case(case: Case) -> None:
    """Consistency of a run case: domain, source inside, probes inside, memory, a steady state exists."""
    src, g, bd, where = case.source, case.grid, case.boundaries, case.origin
    if g.z_edges is not None and len(g.z_edges) < 3:
        raise CaseError(f"{where}: [grid] z_edges: at least 3 edges (2 cells); allowed: strictly increasing list")
    (z_min, z_max), (p_min, p_max) = g.z_range, g.p_range
    if z_max <= z_min:
        raise CaseError(f"{where}: [grid] z_max = {z_max!r}: not above z_min = {z_min!r}; allowed: > z_min")
    if p_max <= p_min:
        raise CaseError(f"{where}: [grid] p_max = {p_max!r}: not above p_min = {p_min!r}; allowed: > p_min")
    homogeneous = g.cells[0] == 0
    if homogeneous and src.kind != "uniform":
        raise CaseError(f"{where}: [source] kind = {src.kind!r}: a homogeneous problem (z_cells = 0) "
                        f"needs a z-independent source; allowed: 'uniform'")
    if not homogeneous:
        if src.kind in ("point", "gaussian") and not (z_min <= src.centre <= z_max):
            raise CaseError(f"{where}: [source] centre = {src.centre!r}: outside the domain; "
                            f"allowed: [{z_min:g}, {z_max:g}]")
        if src.kind in ("layer", "gaussian") and src.width <= 0:
            raise CaseError(f"{where}: [source] width = {src.width!r}: a {src.kind} needs a width; allowed: > 0")
        if (bd.z_min == "periodic") != (bd.z_max == "periodic"):
            raise CaseError(f"{where}: [boundaries] z_min = {bd.z_min!r}, z_max = {bd.z_max!r}: "
                            f"periodic must be set at both ends; allowed: both periodic or neither")
        for z in case.probes.z or ():
            if not (z_min <= z <= z_max):
                raise CaseError(f"{where}: [probes] z = {z!r}: outside the domain; allowed: [{z_min:g}, {z_max:g}]")
    for p in case.probes.p or ():
        if not (p_min <= p <= p_max):
            raise CaseError(f"{where}: [probes] p = {p!r}: outside the momentum range; "
                            f"allowed: [{p_min:g}, {p_max:g}]")
    _check_numbers(case)
    need = case.estimated_memory_gb()
    limit = case.solver.memory_limit_gb
    if need > limit:
        raise CaseError(f"{where}: [grid] too large: estimated memory {need:.3g} GB exceeds [solver] "
                        f"memory_limit_gb = {limit:g}; allowed: fewer cells or a larger limit")
    grid = case.make_grid()  # edges given in the case are checked here, before any work
    model = case.turbulence_model()
    if hasattr(model, "eps"):
        try:
            model.eps(grid.p_edges)
        except ValueError as err:
            raise CaseError(f"{where}: [grid] p_min = {p_min!r}: {err} (V_A must stay below v on the "
                            f"whole momentum grid); allowed: a larger p_min") from None
    if hasattr(model, "check_momenta"):  # user tables: no extrapolation beyond their p range
        try:
            model.check_momenta(grid.p_edges)
        except ValueError as err:
            raise CaseError(f"{where}: [turbulence] table: {err}") from None
    escape = not homogeneous and "escape" in (bd.z_min, bd.z_max)
    if not (escape or case.losses.any or bd.p_diffusion == "zero_value" or case.has_time):
        raise CaseError(f"{where}: no steady state: particles neither escape ([boundaries]) nor are lost "
                        f"([losses]); allowed: an escape boundary or a loss term")


def _check_time_case(case: Case) -> None:
    """Consistency of a ``[time]`` section (a physical-time run): one-line errors naming the key."""
    tm, where = case.transient, case.origin
    unit = "yr" if case.system == "physical" else "L/c"
    if not case.has_grid:
        raise CaseError(f"{where}: [time] needs a run case; allowed: add [grid] (and [source]) or remove [time]")
    if tm.end is None:
        raise CaseError(f"{where}: [time] end is required; allowed: > 0 {unit}")
    if tm.output_times is not None and tm.output_cadence is not None:
        raise CaseError(f"{where}: [time] output_times and output_cadence are both given; allowed: one of them")
    for t in tm.output_times or ():
        if t > tm.end:
            raise CaseError(f"{where}: [time] output_times = {t!r}: after end = {tm.end!r}; allowed: [0, end] {unit}")
    for name in ("first_step", "fixed_step", "output_cadence"):
        v = getattr(tm, name)
        if v is not None and v > tm.end:
            raise CaseError(f"{where}: [time] {name} = {v!r}: longer than end = {tm.end!r}; allowed: (0, end] {unit}")
    if tm.fixed_step is not None and ("time", "first_step") in case.given:
        raise CaseError(f"{where}: [time] first_step is not used with fixed_step; allowed: remove one of them")
    if tm.profile == "switch" and tm.t_off <= tm.t_on:
        raise CaseError(f"{where}: [time] t_off = {tm.t_off!r}: not after t_on = {tm.t_on!r}; allowed: > t_on {unit}")
    if tm.profile != "switch":
        for name in ("t_on", "t_off"):
            if ("time", name) in case.given:
                raise CaseError(f"{where}: [time] {name} is used only with profile = 'switch'; allowed: remove it "
                                f"or set profile = 'switch'")
    if tm.profile == "table" and tm.table is None:
        raise CaseError(f"{where}: [time] profile = 'table' needs table = 'FILE'; allowed: a two-column text file")
    if tm.profile == "python" and tm.function is None:
        raise CaseError(f"{where}: [time] profile = 'python' needs function = 'module:function'; "
                        f"allowed: module:function or file.py:function")
    if tm.profile == "burst" and tm.initial == "burst":
        raise CaseError(f"{where}: [time] initial = 'burst' with profile = 'burst' injects the burst twice; "
                        f"allowed: one of them")
    if tm.initial not in ("zero", "burst") and not tm.initial.startswith("steady:"):
        raise CaseError(f"{where}: [time] initial = {tm.initial!r}: unknown initial state; "
                        f"allowed: zero | burst | steady:FILE.h5")
    if tm.initial.startswith("steady:"):
        path = case.initial_path()
        if not path.is_file():
            raise CaseError(f"{where}: [time] initial = {tm.initial!r}: file {path} not found; "
                            f"allowed: steady:FILE.h5 (a result of fpsolve run on the same grid)")
    if tm.profile == "table":
        case.source_profile()  # reads and checks the table
    if tm.profile == "python":
        a, _ = case.source_profile()  # imports the function
        end = float(case.time(tm.end))
        for t in (0.0, end):  # it runs and gives a finite a(t) >= 0 (else one line naming it)
            a(t, +1)
    _check_time_numbers(case)


def _check_time_numbers(case: Case) -> None:
    """``[time]`` values in code units are of usable magnitude; max/fixed steps and the output cadence can
    advance t (at least :data:`STEP_MIN_ULPS` ulp of the end); the outputs of a cadence fit the
    memory limit.  One line naming the key and the usable range (in the case's time unit)."""
    tm, where = case.transient, case.origin
    phys = case.system == "physical"
    unit = "yr" if phys else "L/c"
    lu = f" with [units] length_unit_pc = {case.units.length_unit_pc!r}" if phys else ""
    band = f"[{_g(USABLE_LO)}, {_g(USABLE_HI)}]"
    with np.errstate(all="ignore"):
        for name in ("end", "output_cadence", "first_step", "max_step", "fixed_step", "t_on", "t_off"):
            v = getattr(tm, name)
            if v is None or v == 0 or v == math.inf:
                continue
            c = float(case.time(v))
            if not _in_band(c) and not (c > USABLE_HI and SCHEMA["time"][name].default == math.inf):
                raise CaseError(f"{where}: [time] {name} = {v!r}{lu}: {c:.3g} L/c in code units is outside the "
                                f"usable range; allowed: {band} L/c in code units")
        for v in tm.output_times or ():
            if v and not _in_band(float(case.time(v))):
                raise CaseError(f"{where}: [time] output_times = {v!r}{lu}: {float(case.time(v)):.3g} L/c in code "
                                f"units is outside the usable range; allowed: 0 or {band} L/c in code units")
    # (first_step is taken at t = 0, where any positive step advances t: measured, first_step = 1e-17
    # with end = 30 runs; the error control then grows it)
    shortest = STEP_MIN_ULPS * np.finfo(float).eps * tm.end
    for name in ("output_cadence", "max_step", "fixed_step"):
        v = getattr(tm, name)
        if v is not None and v < shortest:
            raise CaseError(f"{where}: [time] {name} = {v!r}: shorter than {STEP_MIN_ULPS} ulp of end = {tm.end!r} "
                            f"(t could not advance by it); allowed: >= {shortest:.3g} {unit}")
    if tm.output_cadence is not None:
        nz, _, np_ = case.grid.cells
        per_output = 8.0 * (max(nz, 1) * np_ + 1)  # F(z, p) and the time of each output, at least
        n_max = case.solver.memory_limit_gb * 1e9 / per_output
        if tm.end / tm.output_cadence > n_max:
            raise CaseError(f"{where}: [time] output_cadence = {tm.output_cadence!r}: {tm.end / tm.output_cadence:.3g} "
                            f"outputs of F(z, p) exceed [solver] memory_limit_gb = {case.solver.memory_limit_gb:g}; "
                            f"allowed: >= {tm.end / n_max:.3g} {unit}")


def parse_override(text: str):
    """``section.key=value`` -> ``(section, key, value)``; the value is read as TOML, else as a string."""
    if "=" not in text or "." not in text.split("=", 1)[0]:
        raise CaseError(f"override {text!r}: expected section.key=value")
    lhs, rhs = text.split("=", 1)
    section, name = lhs.strip().split(".", 1)
    try:
        value = tomllib.loads(f"v = {rhs.strip()}")["v"]
    except tomllib.TOMLDecodeError:
        value = rhs.strip()
    return section, name, value


def parse_case(text: str, origin: str = "<string>", overrides=()) -> Case:
    """Validate case text (and overrides: ``section.key=value`` strings or ``(section, key, value)``
    tuples, value :data:`UNSET` to remove a key) into a :class:`Case`: the one validator.  ``origin``
    names the file in messages and anchors relative paths (coefficient tables and functions)."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise CaseError(f"{origin}: TOML syntax error: {err}") from None
    for item in overrides:
        section, name, value = parse_override(item) if isinstance(item, str) else item
        raw.setdefault(section, {})
        if not isinstance(raw[section], dict):
            raise CaseError(f"{origin}: [{section}] is not a table")
        if value is UNSET:
            raw[section].pop(name, None)
        else:
            raw[section][name] = value
    raw.pop("title", None)
    for section in raw:
        if section not in SCHEMA:
            raise CaseError(f"{origin}: unknown section [{section}]{_suggest(section, SCHEMA)}; "
                            f"allowed: {', '.join(SCHEMA)}")
        if not isinstance(raw[section], dict):
            raise CaseError(f"{origin}: {section} must be a table [{section}]")
    values = {}
    for section, keys in SCHEMA.items():
        given = raw.get(section, {})
        for name in given:
            if name not in keys:
                raise CaseError(f"{origin}: [{section}] unknown key {name!r}{_suggest(name, keys)}; "
                                f"allowed: {', '.join(keys)}")
        values[ATTR.get(section, section)] = SECTIONS[section](**{name: _coerce(origin, section, name, keys[name], value)
                                               for name, value in given.items()})
    system = values["units"].system
    wrong = _PHYSICAL_ONLY if system == "code" else _CODE_ONLY
    for section, name in sorted(wrong):
        if name in raw.get(section, {}):
            raise CaseError(f"{origin}: [{section}] {name} is not used with [units] system = {system!r}; "
                            f"allowed: remove it or change the unit system")
    pt = values["particle"]
    names = ("momentum",) if system == "code" else ("kinetic_tev", "momentum_tev")
    given_p = [n for n in names if getattr(pt, n) is not None]
    if len(given_p) > 1 or (not given_p and "grid" not in raw):
        need = "momentum" if system == "code" else "exactly one of kinetic_tev, momentum_tev"
        raise CaseError(f"{origin}: [particle] momentum missing or ambiguous; allowed: {need}")
    if system == "code" and values["turbulence"].mean_free_path is None:
        raise CaseError(f"{origin}: [turbulence] mean_free_path is required with [units] system = 'code'; "
                        f"allowed: > 0 L")
    given = frozenset((section, name) for section, keys in raw.items() for name in keys)
    case = Case(origin, text, **values, given=given, sections=frozenset(raw))
    if case.has_grid:
        _check_run_case(case)
    if case.has_time:
        _check_time_case(case)
    if not case.has_grid:
        _check_numbers(case)
    model = case.turbulence_model()
    try:
        if hasattr(model, "eps"):
            model.eps(case.momenta())
    except ValueError as err:
        raise CaseError(f"{origin}: [particle] momentum: {err} (V_A must stay below v)") from None
    return case


def bundled_cases() -> dict[str, Path]:
    """The bundled cases by name: ``fpsolve/cases`` when installed, ``cases/`` in a source tree."""
    here = Path(__file__).resolve().parent
    for folder in (here / "cases", here.parent / "cases"):
        if folder.is_dir():
            return {p.stem: p for p in sorted(folder.glob("*.toml"))}
    return {}


def resolve_case_path(name) -> Path:
    """An existing path as given; else a bundled case by name (``slab_streaming`` or
    ``slab_streaming.toml``), also when a missing path names one (``cases/slab_streaming.toml``
    as the README's quick start writes it, run outside the repository)."""
    path = Path(name)
    if path.exists():
        return path
    return bundled_cases().get(path.stem if path.suffix == ".toml" else path.name, path)


def load_case(path, overrides=()) -> Case:
    """Read and validate a case file (a path, or a bundled case by name); raises :class:`CaseError`
    with a one-line message."""
    path = resolve_case_path(path)
    try:
        data = path.read_bytes()
    except OSError as err:
        hint = f"; allowed: a case file or a bundled case: {', '.join(bundled_cases())}"
        raise CaseError(f"{path}: cannot read case file ({err.strerror}){hint}") from None
    try:
        text = data.decode("utf-8-sig")  # a UTF-8 byte-order mark (editors on Windows) is not part of the text
    except UnicodeDecodeError:
        raise CaseError(f"{path}: not a UTF-8 text file; allowed: a TOML case file") from None
    return parse_case(text, str(path), overrides)
