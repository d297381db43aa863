r"""Exact z integrals of the source shapes of a slab: exponential convolutions and antiderivatives.

The source shapes are those of the kinetic case (``[source] kind``; the same definitions as the
solver's source, re-derived here so that the reference shares no code with the z scheme):

* ``uniform``: ``1/(z_max - z_min)`` on the domain;
* ``layer``: ``Theta(z_u - |z|)`` (Eq. 60), not normalised;
* ``point``: ``delta(z - z_i)`` (Eq. 63);
* ``gaussian``: ``exp(-(z-c)^2/2 sigma^2)/(sigma sqrt(2 pi))``, cut at the domain ends.

For a shape ``s(t)`` on ``[z_min, z_max]`` (zero outside) and a decay rate ``tau > 0``:

.. math::
    E^+_\tau(z) = \int_{z_{\min}}^{z} e^{-\tau(z-t)} s(t)\,dt,\qquad
    E^-_\tau(z) = \int_{z}^{z_{\max}} e^{-\tau(t-z)} s(t)\,dt,

and the repeated integrals ``S_n(z) = int_{z_min}^z (z-t)^{n-1}/(n-1)! s(t) dt``, ``n = 1, 2, 3``.
``E^-`` is ``E^+`` of the mirror-image shape at ``-z``.  All forms are closed (``expm1``,
``erfc``, ``erfcx``) and never overflow: every exponential has a non-positive argument.  At a
point source (or a layer edge) the step is given its mean value 1/2 on the point itself, so a
pointwise value there is the mean of the two one-sided limits.
"""
from __future__ import annotations

from dataclasses import dataclass
from math import factorial

import numpy as np
from scipy.special import erfc, erfcx

__all__ = ["SourceShape", "shape_from_source"]

_SQRT2 = np.sqrt(2.0)
_SQRT2PI = np.sqrt(2.0 * np.pi)


def _heaviside(x):
    return np.heaviside(x, 0.5)


def _ramp(x, n):
    """``x_+^n / n!`` (``n = 0``: the step with 1/2 at 0)."""
    return _heaviside(x) if n == 0 else np.maximum(x, 0.0) ** n / factorial(n)


def _phi(x):
    return np.exp(-0.5 * x * x) / _SQRT2PI


def _cdf(x):
    return 0.5 * erfc(-x / _SQRT2)


def _psi(x):
    """``int_{-inf}^x Phi = x Phi(x) + phi(x)``."""
    return x * _cdf(x) + _phi(x)


def _chi(x):
    """``int_{-inf}^x psi = ((x^2 + 1) Phi(x) + x phi(x)) / 2``."""
    return 0.5 * ((x * x + 1.0) * _cdf(x) + x * _phi(x))


def _gauss_exp(x, k):
    r"""``exp(-k x + k^2/2) Phi(x - k)`` for ``k >= 0`` without overflow (``erfcx`` where x < k)."""
    x, k = np.broadcast_arrays(np.asarray(x, float), np.asarray(k, float))
    out = np.empty(x.shape)
    low = x < k
    out[low] = 0.5 * erfcx((k[low] - x[low]) / _SQRT2) * np.exp(-0.5 * x[low] ** 2)
    hi = ~low
    out[hi] = np.exp(-k[hi] * (x[hi] - 0.5 * k[hi])) * _cdf(x[hi] - k[hi])
    return out


@dataclass(frozen=True)
class SourceShape:
    """A source shape on ``[z_min, z_max]``: ``kind`` box (height on [a, b]), point (at ``a``) or
    gaussian (centre ``a``, width ``b``), times ``weight``."""

    kind: str
    a: float
    b: float
    weight: float
    z_min: float
    z_max: float

    def reflected(self) -> "SourceShape":
        """The mirror image ``s(-z)`` on ``[-z_max, -z_min]``."""
        if self.kind == "box":
            return SourceShape("box", -self.b, -self.a, self.weight, -self.z_max, -self.z_min)
        if self.kind == "point":
            return SourceShape("point", -self.a, 0.0, self.weight, -self.z_max, -self.z_min)
        return SourceShape("gaussian", -self.a, self.b, self.weight, -self.z_max, -self.z_min)

    # ------------------------------------------------------------------ values
    def value(self, z):
        """``s(z)`` (a point source has no point value: 0)."""
        z = np.asarray(z, float)
        if self.kind == "box":
            return self.weight * ((z >= self.a) & (z <= self.b)).astype(float)
        if self.kind == "point":
            return np.zeros_like(z)
        inside = (z >= self.z_min) & (z <= self.z_max)
        return self.weight * inside * _phi((z - self.a) / self.b) / self.b

    def repeated(self, z, n: int):
        """``S_n(z) = int_{z_min}^z (z-t)^{n-1}/(n-1)! s(t) dt``, n = 1, 2, 3."""
        z = np.asarray(z, float)
        if self.kind == "box":
            return self.weight * (_ramp(z - self.a, n) - _ramp(z - self.b, n))
        if self.kind == "point":
            return self.weight * _ramp(z - self.a, n - 1)
        c, sg = self.a, self.b
        x, xm = (z - c) / sg, (self.z_min - c) / sg
        d = z - self.z_min
        if n == 1:
            out = _cdf(x) - _cdf(xm)
        elif n == 2:
            out = sg * (_psi(x) - _psi(xm)) - d * _cdf(xm)
        elif n == 3:
            out = sg**2 * (_chi(x) - _chi(xm)) - sg * d * _psi(xm) - 0.5 * d * d * _cdf(xm)
        else:
            raise ValueError(f"n = {n!r} is not allowed; allowed: 1, 2, 3")
        return self.weight * out

    @property
    def total(self) -> float:
        """``int s dz`` over the domain."""
        return float(self.repeated(np.array(self.z_max), 1))

    def forward(self, z, tau):
        r"""``E^+_tau(z)``: arrays ``z`` (nz,) and ``tau`` (m,) > 0 -> (nz, m)."""
        z = np.asarray(z, float)[:, None]
        tau = np.asarray(tau, float)[None, :]
        if self.kind == "box":
            a, b = max(self.a, self.z_min), min(self.b, self.z_max)
            if b <= a:
                return np.zeros(np.broadcast_shapes(z.shape, tau.shape))
            m = np.clip(z, a, b)
            out = np.exp(-tau * np.maximum(z - m, 0.0)) * -np.expm1(-tau * (m - a)) / tau
            return self.weight * out
        if self.kind == "point":
            return self.weight * _heaviside(z - self.a) * np.exp(-tau * np.maximum(z - self.a, 0.0))
        c, sg = self.a, self.b
        k = tau * sg
        x, xm = (z - c) / sg, (self.z_min - c) / sg
        out = _gauss_exp(x, k) - np.exp(-tau * (z - self.z_min)) * _gauss_exp(xm, k)
        return self.weight * out

    def backward(self, z, tau):
        r"""``E^-_tau(z)``, the forward integral of the mirror image at ``-z``."""
        return self.reflected().forward(-np.asarray(z, float), tau)


def shape_from_source(source, z_min: float, z_max: float) -> SourceShape:
    """The z shape of a source record (attributes ``kind``, ``centre``, ``width``; no amplitude)."""
    kind = source.kind
    if kind == "uniform":
        return SourceShape("box", z_min, z_max, 1.0 / (z_max - z_min), z_min, z_max)
    if kind == "layer":
        if not source.width > 0:
            raise ValueError(f"source width = {source.width!r}: a layer needs a width; allowed: > 0")
        a, b = max(-source.width, z_min), min(source.width, z_max)
        if b <= a:
            raise ValueError(f"source width = {source.width!r}: the layer misses the domain [{z_min:g}, {z_max:g}]")
        return SourceShape("box", a, b, 1.0, z_min, z_max)
    if kind == "point":
        if not z_min <= source.centre <= z_max:
            raise ValueError(f"source centre = {source.centre!r} is outside [{z_min:g}, {z_max:g}]")
        return SourceShape("point", source.centre, 0.0, 1.0, z_min, z_max)
    if kind == "gaussian":
        if not source.width > 0:
            raise ValueError(f"source width = {source.width!r}: a gaussian needs a width; allowed: > 0")
        return SourceShape("gaussian", source.centre, source.width, 1.0, z_min, z_max)
    raise ValueError(f"source kind = {kind!r} is not allowed; allowed: uniform, layer, point, gaussian")
