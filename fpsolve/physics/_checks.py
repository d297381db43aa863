"""Parameter checks shared by the physics functions.

Every check raises ``ValueError`` whose message names the parameter, shows the bad value
and states the allowed range, so that a caller (case loader, notebook) can pass it on.
"""
from __future__ import annotations

import math

import numpy as np


def _show(value) -> str:
    arr = np.asarray(value)
    if arr.ndim == 0:
        return repr(float(arr)) if np.issubdtype(arr.dtype, np.number) else repr(value)
    return f"array with values in [{np.nanmin(arr):g}, {np.nanmax(arr):g}]"


def finite(name: str, value) -> None:
    arr = np.asarray(value, dtype=float)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} = {_show(value)} is not finite; allowed: finite real numbers")


def in_range(name: str, value, lo=-math.inf, hi=math.inf, *, lo_open=False, hi_open=False) -> None:
    """Require ``lo <= value <= hi`` (strict where ``*_open``); NaN/inf are rejected first."""
    finite(name, value)
    arr = np.asarray(value, dtype=float)
    ok = (arr > lo if lo_open else arr >= lo) & (arr < hi if hi_open else arr <= hi)
    if not np.all(ok):
        left = "(" if lo_open else "["
        right = ")" if hi_open or hi == math.inf else "]"
        bad = arr[~ok] if arr.ndim else arr
        raise ValueError(
            f"{name} = {_show(bad if arr.ndim else value)} is outside the allowed range "
            f"{left}{lo:g}, {hi:g}{right}"
        )


def positive(name: str, value) -> None:
    in_range(name, value, 0.0, math.inf, lo_open=True, hi_open=True)
