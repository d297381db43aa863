"""fpsolve: the cosmic-ray Fokker–Planck equation without the diffusion approximation.

Layers (data flows one way, nothing imports upwards):

- :mod:`fpsolve.physics` — coefficients, transport moments, diffusion-approximation
  anisotropy, the SWK solution, physical units (pure numpy/scipy);
- :mod:`fpsolve.case` — case files (TOML) validated into frozen dataclasses;
- :mod:`fpsolve.report` — the physics report of a case;
- :mod:`fpsolve.cli` — the ``fpsolve`` command.
"""
from importlib.metadata import PackageNotFoundError, version as _version

try:
    __version__ = _version("fpsolve")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0+unknown"

from .case import Case, CaseError, load_case

__all__ = ["Case", "CaseError", "load_case", "__version__"]
