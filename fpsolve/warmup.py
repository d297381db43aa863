"""Kernel warm-up: compile (or load from numba's cache) the assembly and residual kernels once, on
a tiny problem, so that a run's assembly time does not include compilation."""
from __future__ import annotations

import time

import numpy as np

from . import kernels

__all__ = ["compile_kernels"]


def compile_kernels() -> float:
    """Compile (or load from cache) the numba kernels on a tiny problem; returns the seconds taken."""
    t0 = time.perf_counter()
    # one momentum cell, one z cell, two mu cells; an empty (mu, p) operator (3 row pointers)
    args = (np.zeros(3, dtype=np.int64), np.zeros(0, dtype=np.int64), np.zeros(0), 1, 1, 2,
            np.ones((1, 2)), np.array([[-1.0, 1.0]]), 0, 0, np.array([1, 0], dtype=np.int64))
    counts = kernels.count_z_problem(*args)
    indptr = np.cumsum(counts)
    kernels.fill_z_problem(*args, indptr, np.empty(indptr[-1], np.int64), np.empty(indptr[-1]))
    kernels.residual_compensated(np.array([0, 1]), np.array([0], dtype=np.int32), np.ones(1), np.ones(1),
                                 np.ones(1), np.empty(1))
    return time.perf_counter() - t0
