"""The term layer: one physical term = one object (its block and its boundary fluxes).

- :mod:`.base` — the contract (:class:`LocalTerm`, :class:`ZTerm`, :class:`Plane`, channels)
- :mod:`.zboundary` — z-end conditions :class:`Escape`, :class:`Periodic`, :class:`Mirror`
- :mod:`.streaming` — ``v mu df/dz``, DG-1 upwind
- :mod:`.mu_p_diffusion` — pitch-angle, cross and momentum diffusion (one quadratic form) with
  its p boundary :class:`ZeroFlux` / :class:`Dirichlet` (f = 0 on the face) / :class:`ZeroValue` (R only)
- :mod:`.losses` — continuous losses (outflow at p_min), catastrophic losses (volume sink)
- :mod:`.source` — ``b`` and the injected number
- :mod:`.diffusion_model` — the reduced model's kappa_zz, convection and kappa_pp terms

:data:`KINETIC_TERMS` lists the kinetic terms in assembly order; each class has
``from_physics(grid, physics) -> term | None`` (None: the term is off).  Adding a term is one
module and one line here.
"""
from .base import CHANNELS, LocalTerm, Plane, Term, Triplets, ZTerm
from .focusing import AdiabaticFocusing
from .diffusion_model import Convection, MomentumDiffusion, SpatialDiffusion
from .losses import CatastrophicLosses, ContinuousLosses, loss_face_weights, outflow_weights
from .mu_p_diffusion import Dirichlet, MuPDiffusion, PBoundary, ZeroFlux, ZeroValue, p_boundary, p_derivative_weights
from .source import Source, SourceTerm, p_integral, z_moments
from .streaming import Streaming, streaming_coefficients
from .zboundary import Escape, Mirror, Periodic, ZBoundary, z_boundary

#: Kinetic terms in assembly order (the order fixes how duplicate entries are summed).
KINETIC_TERMS = [
    Streaming,
    MuPDiffusion,
    ContinuousLosses,
    CatastrophicLosses,
    AdiabaticFocusing,
]

__all__ = ["CHANNELS", "KINETIC_TERMS", "AdiabaticFocusing", "LocalTerm", "Plane", "Term", "Triplets", "ZTerm", "Convection",
           "MomentumDiffusion", "SpatialDiffusion", "CatastrophicLosses", "ContinuousLosses", "loss_face_weights",
           "outflow_weights", "MuPDiffusion", "PBoundary", "ZeroFlux", "ZeroValue", "Dirichlet", "p_boundary",
           "p_derivative_weights", "Source", "SourceTerm", "p_integral", "z_moments", "Streaming",
           "streaming_coefficients", "Escape", "Mirror", "Periodic", "ZBoundary", "z_boundary"]
