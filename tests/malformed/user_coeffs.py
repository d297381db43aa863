"""Coefficient functions with one defect each, for the malformed corpus (model = "python")."""
import numpy as np


def negative(mu, p):
    """D_mumu < 0 inside (-1, 1)."""
    return -(1 - mu**2) + 0 * p, 0 * mu * p, 0 * mu * p


def huge(mu, p):
    """D_mumu ~ 1e300: finite, but its products in the operator overflow."""
    return 1e300 * (1 - mu**2) + 0 * p, 0 * mu * p, 0 * mu * p


def raises(mu, p):
    raise RuntimeError("my model fails\non two lines")


def two(mu, p):
    return 1 - mu**2 + 0 * p, 0 * mu * p


def nan(mu, p):
    return np.full(np.broadcast(mu, p).shape, np.nan), 0 * mu * p, 0 * mu * p
