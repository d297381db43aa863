"""Kernel warm-up: compile (or load from numba's cache) the assembly and residual kernels once, on
a tiny problem, so that a run's assembly time does not include compilation."""
from __future__ import annotations

import time

from . import kernels, plane_lu

__all__ = ["compile_kernels"]


def compile_kernels() -> float:
    """Compile (or load from cache) the numba kernels (:func:`fpsolve.kernels.warm_up`); returns the seconds taken."""
    t0 = time.perf_counter()
    kernels.warm_up()
    plane_lu.warm_up()
    return time.perf_counter() - t0
