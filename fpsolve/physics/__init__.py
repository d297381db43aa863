"""Physics of the paper, pure numpy/scipy; imports nothing of the solver.

- :mod:`.coefficients` — slab Alfvén Fokker–Planck coefficients (Eqs. 16-28), ``D_0`` (24-25)
- :mod:`.moments` — transport moments by quadrature and closed forms (Eqs. 9-10, 29-33)
- :mod:`.anisotropy` — diffusion-approximation anisotropy (Eqs. 7, 13-14, 35-39)
- :mod:`.swk` — the SWK analytic solution with pion losses (Eqs. 52-89, ERRATA-corrected)
- :mod:`.units` — physical parameters and conversion to code units (Eqs. 20-22, 30-31, 41-59, 76-88)
- :mod:`.quadrature` — double-exponential rules that resolve the |mu -+ eps|^{s-1} singularities
- :mod:`.burst` — exact time-dependent references: moments of a burst (s = 1), free streaming,
  diffusion(-loss) Green's functions and the diffusion-approximation anisotropy of a burst
- :mod:`.dipole` — sky geometry of a field-aligned dipole (projection, band first harmonic, frames)
"""
from .anisotropy import (
    AnisotropyShapes,
    anisotropy_shapes,
    compton_getting_closed,
    delta_c_coefficient_closed,
    delta_s_coefficient_closed,
    streaming_amplitude_closed,
    streaming_shape_closed,
)
from .coefficients import (
    Coefficients,
    SlabAlfven,
    d0_normalisation,
    isospectral_coefficients,
    linear_coefficients,
    particle_speed,
    small_eps_coefficients,
)
from .moments import (
    PitchIntegrals,
    boundary_layer_ch,
    boundary_layer_j,
    convection_speed,
    convection_speed_closed,
    h0_closed,
    k0_closed,
    kappa_pp_closed,
    kappa_pp_closed_printed,
    kappa_zz_closed,
    pitch_integrals,
)
from .swk import SWK
from .units import PhysicalSetup

__all__ = [
    "AnisotropyShapes", "anisotropy_shapes", "compton_getting_closed", "delta_c_coefficient_closed",
    "delta_s_coefficient_closed", "streaming_amplitude_closed", "streaming_shape_closed",
    "Coefficients", "SlabAlfven", "d0_normalisation", "isospectral_coefficients",
    "linear_coefficients", "particle_speed", "small_eps_coefficients", "PitchIntegrals",
    "boundary_layer_ch", "boundary_layer_j", "convection_speed", "convection_speed_closed",
    "h0_closed", "k0_closed", "kappa_pp_closed", "kappa_pp_closed_printed", "kappa_zz_closed",
    "pitch_integrals", "SWK", "PhysicalSetup",
]
