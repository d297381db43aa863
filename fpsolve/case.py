"""Case files: TOML text -> validated, frozen :class:`Case`.

A case names its unit system and, for now, the particle and the turbulence (the physics
report); later issues add the grid, sources, losses and solver sections.  Every key has a
type, a unit, a default and an allowed range, listed in :data:`SCHEMA` (the README's
case-format table is generated from the same list).  Errors are one line:
``FILE: [section] key = value: what is wrong; allowed: ...``.
"""
from __future__ import annotations

import difflib
import math
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from .physics import SlabAlfven
from .physics.units import PhysicalSetup

__all__ = ["Case", "CaseError", "Key", "SCHEMA", "load_case", "parse_case", "parse_override"]


class CaseError(ValueError):
    """A case file (or override) that cannot be used; the message is one line."""


@dataclass(frozen=True)
class Key:
    """One case key: expected kind, default (``...`` = required), unit, allowed range, meaning."""

    kind: str  # "float", "int", "bool", "str", "floats" (a number or a list of numbers)
    default: Any
    unit: str
    allowed: str
    doc: str
    check: Callable[[Any], bool] | None = None
    choices: tuple = ()


def _pos(x):
    return all(v > 0 for v in np.atleast_1d(x))


def _in(lo, hi, hi_open=False):
    return lambda x: all(lo <= v < hi if hi_open else lo <= v <= hi for v in np.atleast_1d(x))


SCHEMA: dict[str, dict[str, Key]] = {
    "units": {
        "system": Key("str", "code", "", "code | physical",
                      "code: dimensionless (L, c, m c, L/c); physical: the paper's units",
                      choices=("code", "physical")),
        "length_unit_pc": Key("float", 1000.0, "pc", "> 0", "code length unit L (physical cases)", _pos),
    },
    "particle": {
        "momentum": Key("floats", None, "m c", "> 0",
                        "momenta of the report (code cases, required there)", _pos),
        "kinetic_tev": Key("floats", None, "TeV", "> 0", "kinetic energies per particle (physical; this or momentum_tev)", _pos),
        "momentum_tev": Key("floats", None, "TeV/c", "> 0", "momenta per particle (physical)", _pos),
        "charge": Key("float", 1.0, "e", "!= 0", "charge number Q", lambda x: x != 0),
        "mass_number": Key("float", 1.0, "", "> 0", "mass number A (particle mass A m_p)", _pos),
        "ultrarelativistic": Key("bool", False, "", "true | false", "v = c at every momentum (code cases)"),
    },
    "turbulence": {
        "model": Key("str", "slab", "", "slab | table | python",
                     "slab Alfvén waves (Eqs. 23-28), a table on (mu, p), or a Python function",
                     choices=("slab", "table", "python")),
        "table": Key("str", None, "", "an .npz file", "table: mu, p (m c), d_mumu, d_mup, d_pp (p x mu), code units"),
        "function": Key("str", None, "", "module:function or file.py:function",
                        "python: f(mu, p) -> (D_mumu, D_mup, D_pp), code units"),
        "breakpoints": Key("floats", None, "", "in (-1, 1)", "python: mu where the D's are not smooth"),
        "form": Key("str", "linear", "", "isospectral | linear | small_eps",
                    "coefficients: Eqs. (23, 26), (27) or (28)", choices=("isospectral", "linear", "small_eps")),
        "s": Key("float", 5.0 / 3.0, "", "[1, 2)", "spectral index of the wave intensity (Eq. 19)", _in(1.0, 2.0, True)),
        "cross_helicity": Key("float", 0.0, "", "[-1, 1]", "H_c (Eq. 15)", _in(-1.0, 1.0)),
        "sigma_f": Key("float", 0.0, "", "[-1, 1]", "polarisation of forward waves (Eq. 15)", _in(-1.0, 1.0)),
        "sigma_b": Key("float", 0.0, "", "[-1, 1]", "polarisation of backward waves (Eq. 15)", _in(-1.0, 1.0)),
        "alfven_speed": Key("float", 0.0, "c", "[0, 1)", "V_A/c (code cases)", _in(0.0, 1.0, True)),
        "mean_free_path": Key("float", None, "L", "> 0",
                              "lambda = 3 kappa_zz/v at p_ref, leading order Eq. (30) (code cases, required there)", _pos),
        "p_ref": Key("float", 1.0, "m c", "> 0", "momentum where mean_free_path holds (code cases)", _pos),
        "p_max_resonant": Key("float", math.inf, "m c", "> 0", "p_m of Eq. (22): D_0 = 0 above (code cases)", _pos),
        "b0_ug": Key("float", 3.0, "uG", "> 0", "guide field B_0 (physical)", _pos),
        "db_over_b0": Key("float", 1.0, "", "> 0", "delta B / B_0 (physical)", _pos),
        "lambda10": Key("float", 1.0, "", "> 0", "lambda_max / 10 pc (physical, Eq. 22)", _pos),
        "n_cm3": Key("float", 1.0, "cm^-3", "> 0", "ionised density (physical: V_A, ln k_max/k_min)", _pos),
        "alfven_speed_kms": Key("float", None, "km/s", ">= 0",
                                "V_A (physical); default from B_0 and n (Sect. 1); 0: eps = 0 (SWK limit)",
                                lambda x: x[0] >= 0),
    },
    "grid": {
        "z_min": Key("float", -1.0, "L | pc", "< z_max", "lower end of the z domain"),
        "z_max": Key("float", 1.0, "L | pc", "> z_min", "upper end of the z domain"),
        "z_cells": Key("int", 0, "", "0 or >= 2", "z cells (linear-discontinuous); 0 = homogeneous (no z)",
                       lambda x: x[0] == 0 or x[0] >= 2),
        "mu_cells": Key("int", 32, "", "even, >= 4", "pitch-angle cells (mu = 0 is an edge)",
                        lambda x: x[0] >= 4 and x[0] % 2 == 0),
        "mu_grid": Key("str", "uniform", "", "uniform | graded | resonance",
                       "graded: uniform in |mu|^(2-s) near mu = 0; resonance: graded with +-eps on faces",
                       choices=("uniform", "graded", "resonance")),
        "p_min": Key("float", 0.99, "m c | TeV/c", "> 0", "lowest momentum edge", _pos),
        "p_max": Key("float", 1.01, "m c | TeV/c", "> p_min", "highest momentum edge", _pos),
        "p_cells": Key("int", 1, "", ">= 1", "momentum cells (log-spaced)", lambda x: x[0] >= 1),
        "z_edges": Key("floats", None, "L | pc", "strictly increasing", "given z edges (replace z_min, z_max, z_cells)"),
        "mu_edges": Key("floats", None, "", "from -1 to 1, 0 an edge", "given mu edges (replace mu_cells, mu_grid)"),
        "p_edges": Key("floats", None, "m c | TeV/c", "strictly increasing, > 0",
                       "given p edges (replace p_min, p_max, p_cells)", _pos),
    },
    "source": {
        "kind": Key("str", "uniform", "", "uniform | layer | point | gaussian",
                    "spatial shape: 1/length; Theta(z_u - |z|) (Eq. 60); delta(z - z_i) (Eq. 63); Gaussian",
                    choices=("uniform", "layer", "point", "gaussian")),
        "amplitude": Key("float", 1.0, "", "> 0", "normalisation (per L, p^2 dp, dmu/2 in code units)", _pos),
        "spectral_index": Key("float", 0.0, "", "finite", "q of S ∝ (p/p0)^-q"),
        "p0": Key("float", 1.0, "m c | TeV/c", "> 0", "reference momentum of the power law", _pos),
        "centre": Key("float", 0.0, "L | pc", "inside the domain", "z_i of point and Gaussian sources"),
        "width": Key("float", 0.0, "L | pc", ">= 0", "layer half-thickness z_u, or Gaussian sigma",
                     lambda x: x[0] >= 0),
    },
    "losses": {
        "pion_time": Key("float", None, "L/c | yr", "> 0", "tau_0 of pion losses p_dot = -p/tau_0 (Eq. 54)", _pos),
        "pion_density_cm3": Key("float", None, "cm^-3", "> 0", "physical: tau_0 = 5.4e7 yr / n (Eq. 54)", _pos),
        "power_law_rate": Key("float", 0.0, "(m c) c/L", ">= 0", "b0 of p_dot = -b0 p^index (code cases)",
                              lambda x: x[0] >= 0),
        "power_law_index": Key("float", 2.0, "", "finite", "index of the power-law loss"),
        "catastrophic_time": Key("float", math.inf, "L/c | yr", "> 0", "T_c of Eq. (4); inf = none", _pos),
        "scheme": Key("str", "upwind2", "", "upwind2 | upwind1",
                      "loss advection in p: upwind of f p^q, 2nd / 1st order", choices=("upwind2", "upwind1")),
    },
    "boundaries": {
        "z_min": Key("str", "escape", "", "escape | mirror | periodic",
                     "escape: no inflow; mirror: f(z_min, mu) = f(z_min, -mu)", choices=("escape", "mirror", "periodic")),
        "z_max": Key("str", "escape", "", "escape | periodic", "escape: no inflow", choices=("escape", "periodic")),
        "p_diffusion": Key("str", "zero_flux", "", "zero_flux | zero_value",
                           "momentum-diffusion condition at p_min and p_max", choices=("zero_flux", "zero_value")),
    },
    "solver": {
        "method": Key("str", "auto", "", "auto | direct | march | sweep | krylov", "steady-state solver",
                      choices=("auto", "direct", "march", "sweep", "krylov")),
        "rtol": Key("float", 1e-10, "", "(0, 1e-3]", "stop when ||A f - b|| <= rtol ||b||",
                    lambda x: 0 < x[0] <= 1e-3),
        "max_steps": Key("int", 200, "", ">= 1", "pseudo-time steps / Krylov iterations", lambda x: x[0] >= 1),
        "memory_limit_gb": Key("float", 16.0, "GB", "> 0", "refuse grids whose estimated memory exceeds this", _pos),
    },
    "probes": {
        "z": Key("floats", None, "L | pc", "inside the domain", "positions where g(mu) is compared with Eq. (7)"),
        "p": Key("floats", None, "m c | TeV/c", "inside the p range", "momenta of the probes (default: mid range)", _pos),
    },
}

_CODE_ONLY = {("turbulence", k) for k in ("alfven_speed", "mean_free_path", "p_ref", "p_max_resonant")} | {
    ("particle", "momentum"), ("particle", "ultrarelativistic")}
_CODE_ONLY |= {("losses", "power_law_rate"), ("turbulence", "table"), ("turbulence", "function")}
_PHYSICAL_ONLY = {("turbulence", k) for k in ("b0_ug", "db_over_b0", "lambda10", "n_cm3", "alfven_speed_kms")} | {
    ("particle", "kinetic_tev"), ("particle", "momentum_tev"), ("units", "length_unit_pc"),
    ("losses", "pion_density_cm3")}


def _fmt(value) -> str:
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_fmt(v) for v in value) + "]"
    return repr(value)


def _suggest(name: str, options) -> str:
    close = difflib.get_close_matches(name, list(options), n=1, cutoff=0.5)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _coerce(source: str, section: str, name: str, key: Key, value):
    where = f"{source}: [{section}] {name} = {_fmt(value)}"

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
    return tuple(nums) if key.kind == "floats" else nums[0]


@dataclass(frozen=True)
class Case:
    """A validated case: resolved values of every key, by section, plus its source text."""

    source: str
    text: str
    values: dict = field(repr=False)
    given: frozenset = frozenset()  # sections present in the file (or overrides)

    def get(self, section: str, key: str):
        return self.values[section][key]

    @property
    def system(self) -> str:
        return self.values["units"]["system"]

    def physical_setup(self) -> PhysicalSetup:
        t, pt = self.values["turbulence"], self.values["particle"]
        return PhysicalSetup(
            b0_ug=t["b0_ug"], db_over_b0=t["db_over_b0"], lambda10=t["lambda10"], n_cm3=t["n_cm3"],
            va_kms=t["alfven_speed_kms"], charge=pt["charge"], mass_number=pt["mass_number"], s=t["s"],
            hc=t["cross_helicity"], sigma_f=t["sigma_f"], sigma_b=t["sigma_b"], form=t["form"],
            length_unit_pc=self.values["units"]["length_unit_pc"])

    def turbulence_model(self):
        """The coefficient set in code units: slab Alfvén (Eqs. 24-28), a table or a function."""
        t = self.values["turbulence"]
        if t["model"] != "slab":
            return self._user_model()
        try:
            if self.system == "physical":
                return self.physical_setup().turbulence()
            return SlabAlfven.from_mean_free_path(
                t["mean_free_path"], s=t["s"], p_ref=t["p_ref"], hc=t["cross_helicity"], va=t["alfven_speed"],
                sigma_f=t["sigma_f"], sigma_b=t["sigma_b"], form=t["form"], p_m=t["p_max_resonant"],
                ultrarelativistic=self.values["particle"]["ultrarelativistic"])
        except ValueError as err:
            raise CaseError(f"{self.source}: [turbulence]: {err}") from None

    @property
    def has_grid(self) -> bool:
        return "grid" in self.given

    def _user_model(self):
        from .physics.user_coefficients import CallableCoefficients, load_callable, load_table

        t = self.values["turbulence"]
        ur = self.values["particle"]["ultrarelativistic"]
        base = Path(self.source).parent if self.source and self.source != "<string>" else None
        try:
            if t["model"] == "table":
                if t["table"] is None:
                    raise ValueError("model = 'table' needs table = 'file.npz'")
                path = Path(t["table"])
                return load_table(base / path if base and not path.is_absolute() else path, ultrarelativistic=ur)
            if t["function"] is None:
                raise ValueError("model = 'python' needs function = 'module:function'")
            return CallableCoefficients(load_callable(t["function"], base), ultrarelativistic=ur,
                                        mu_breakpoints=tuple(t["breakpoints"] or ()))
        except (ValueError, OSError) as err:
            raise CaseError(f"{self.source}: [turbulence] {t['model']}: {err}") from None

    def momenta(self) -> np.ndarray:
        """The report's momenta in code units ``p/(m c)``: [particle], else the probe momenta."""
        pt = self.values["particle"]
        if pt["momentum"] is None and pt["kinetic_tev"] is None and pt["momentum_tev"] is None:
            from .build import probe_momenta
            return probe_momenta(self)
        if self.system == "physical":
            setup = self.physical_setup()
            if pt["kinetic_tev"] is not None:
                return np.asarray(setup.p_code(kinetic_tev=np.array(pt["kinetic_tev"])))
            return np.asarray(setup.p_code(momentum_tev=np.array(pt["momentum_tev"])))
        return np.asarray(pt["momentum"], dtype=float)


def parse_override(text: str):
    """``section.key=value`` -> ``(section, key, value)``; the value is read as TOML, else as a string."""
    if "=" not in text or "." not in text.split("=", 1)[0]:
        raise CaseError(f"override {text!r}: expected section.key=value")
    lhs, rhs = text.split("=", 1)
    section, key = lhs.strip().split(".", 1)
    try:
        value = tomllib.loads(f"v = {rhs.strip()}")["v"]
    except tomllib.TOMLDecodeError:
        value = rhs.strip()
    return section, key, value


def parse_case(text: str, source: str = "<string>", overrides=()) -> Case:
    """Validate case text (and ``section.key=value`` overrides) into a :class:`Case`."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise CaseError(f"{source}: TOML syntax error: {err}") from None
    for item in overrides:
        section, key, value = parse_override(item) if isinstance(item, str) else item
        raw.setdefault(section, {})
        if not isinstance(raw[section], dict):
            raise CaseError(f"{source}: [{section}] is not a table")
        raw[section][key] = value
    raw.pop("title", None)
    for section in raw:
        if section not in SCHEMA:
            raise CaseError(f"{source}: unknown section [{section}]{_suggest(section, SCHEMA)}; "
                            f"allowed: {', '.join(SCHEMA)}")
        if not isinstance(raw[section], dict):
            raise CaseError(f"{source}: {section} must be a table [{section}]")
    values = {}
    for section, keys in SCHEMA.items():
        given = raw.get(section, {})
        for name in given:
            if name not in keys:
                raise CaseError(f"{source}: [{section}] unknown key {name!r}{_suggest(name, keys)}; "
                                f"allowed: {', '.join(keys)}")
        values[section] = {name: (_coerce(source, section, name, key, given[name]) if name in given else key.default)
                           for name, key in keys.items()}
    system = values["units"]["system"]
    wrong = _PHYSICAL_ONLY if system == "code" else _CODE_ONLY
    for section, name in sorted(wrong):
        if name in raw.get(section, {}):
            raise CaseError(f"{source}: [{section}] {name} is not used with [units] system = {system!r}; "
                            f"allowed: remove it or change the unit system")
    pt = values["particle"]
    given_p = [k for k in (("momentum",) if system == "code" else ("kinetic_tev", "momentum_tev"))
               if pt[k] is not None]
    if len(given_p) > 1 or (not given_p and "grid" not in raw):
        need = "momentum" if system == "code" else "exactly one of kinetic_tev, momentum_tev"
        raise CaseError(f"{source}: [particle] momentum missing or ambiguous; allowed: {need}")
    if system == "code" and values["turbulence"]["mean_free_path"] is None:
        raise CaseError(f"{source}: [turbulence] mean_free_path is required with [units] system = 'code'; "
                        f"allowed: > 0 L")
    case = Case(source, text, values, frozenset(raw))
    if case.has_grid:
        from .build import check_run_case
        check_run_case(case)
    model = case.turbulence_model()
    try:
        if hasattr(model, "eps"):
            model.eps(case.momenta())
    except ValueError as err:
        raise CaseError(f"{source}: [particle] momentum: {err} (V_A must stay below v)") from None
    return case


def load_case(path, overrides=()) -> Case:
    """Read and validate a case file; raises :class:`CaseError` with a one-line message."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as err:
        raise CaseError(f"{path}: cannot read case file ({err.strerror})") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise CaseError(f"{path}: not a UTF-8 text file; allowed: a TOML case file") from None
    return parse_case(text, str(path), overrides)
