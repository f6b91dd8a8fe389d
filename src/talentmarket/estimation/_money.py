"""The CRRA money term of DESIGN.md and its derivatives in the curvature eta.

``m(w; eta) = u(w) = (w**(1 - eta) - 1) / (1 - eta)`` (``log w`` at ``eta = 1``), where
``w = (W0 + PV) / W0`` is wealth after the package relative to wealth before it.

With ``L = log w``, ``c = 1 - eta`` and ``x = c * L``::

    u        =  L    * phi(x),   phi(x) = expm1(x) / x            = sum_{n>=1} x**(n-1) / n!
    du/deta  = -L**2 * psi(x),   psi(x) = ((x - 1) e**x + 1) / x**2 = sum_{n>=2} (n-1) x**(n-2) / n!
    d2u/deta2 = L**3 * chi(x),   chi(x) = ((x**2 - 2x + 2) e**x - 2) / x**3
                                                               = sum_{n>=3} (n-1)(n-2) x**(n-3) / n!

The closed forms cancel catastrophically near ``x = 0`` (eta near 1, or w near 1), so for
``|x| < 0.25`` the power series are used instead; both agree to rounding where they meet.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

from talentmarket.valuation._crra import crra_inverse, crra_utility

__all__ = ["inverse_money_utility", "money_utility", "money_utility_derivatives"]

FloatArray = NDArray[np.float64]

# |x| < 0.25: 14 terms leave a truncation error below 1e-20; at |x| = 0.25 the closed forms
# lose at most eps / |x|**3 ~ 1.5e-14 (relative) to cancellation.
_SERIES_TERMS = 14
_SERIES_LIMIT = 0.25
# Taylor coefficients of phi, psi and chi (see the module docstring), lowest order first.
_PHI = np.array([1.0 / math.factorial(n) for n in range(1, _SERIES_TERMS + 1)])
_PSI = np.array([(n - 1) / math.factorial(n) for n in range(2, _SERIES_TERMS + 2)])
_CHI = np.array([(n - 1) * (n - 2) / math.factorial(n) for n in range(3, _SERIES_TERMS + 3)])


def _horner(coefficients: FloatArray, x: FloatArray) -> FloatArray:
    out = np.full_like(x, coefficients[-1])
    for c in coefficients[-2::-1]:
        out *= x
        out += c
    return out


def _phi_psi_chi(x: FloatArray, order: int) -> tuple[FloatArray, ...]:
    """phi, psi (order >= 1) and chi (order >= 2) at ``x``, stable at ``x = 0``."""
    small = np.abs(x) < _SERIES_LIMIT
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        xs = np.where(small, 1.0, x)  # keeps the closed forms finite where they are unused
        ex = np.exp(xs)
        out = [np.expm1(xs) / xs]
        if order >= 1:
            out.append(((xs - 1.0) * ex + 1.0) / (xs * xs))
        if order >= 2:
            out.append(((xs * xs - 2.0 * xs + 2.0) * ex - 2.0) / (xs * xs * xs))
    if small.any():
        # Series only where needed: most entries are far from x = 0 unless eta is near 1.
        index = np.nonzero(small)
        xi = x[index]
        for arr, coefficients in zip(out, (_PHI, _PSI, _CHI), strict=False):
            arr[index] = _horner(coefficients, xi)
    return tuple(out)


def money_utility(ratio: FloatArray, eta: float) -> FloatArray:
    """CRRA utility of the wealth ratio, ``u(w) = (w**(1-eta) - 1) / (1-eta)``.

    The same function as :func:`talentmarket.valuation.crra_utility` (which it calls), under
    the name the likelihood uses.

    Parameters
    ----------
    ratio : ndarray, any shape
        ``w = (W0 + PV) / W0``, strictly positive.
    eta : float
        Relative risk aversion (curvature); ``eta = 1`` gives ``log w``.

    Returns
    -------
    ndarray, same shape as ``ratio``
        Utils; bounded above by ``1 / (eta - 1)`` when ``eta > 1``.
    """
    return crra_utility(ratio, eta)


def money_utility_derivatives(
    ratio: FloatArray, eta: float, order: int = 2
) -> tuple[FloatArray, ...]:
    """``u``, ``du/deta`` and (``order == 2``) ``d2u/deta2`` at the wealth ratio.

    Parameters
    ----------
    ratio : ndarray, any shape
        ``w = (W0 + PV) / W0``, strictly positive.
    eta : float
        Relative risk aversion.
    order : {1, 2}
        Highest derivative in eta returned.

    Returns
    -------
    tuple of ndarray, each the shape of ``ratio``
        ``(u, du/deta)`` or ``(u, du/deta, d2u/deta2)``.
    """
    log_w = np.log(np.asarray(ratio, dtype=np.float64))
    parts = _phi_psi_chi((1.0 - eta) * log_w, order)
    log_w2 = log_w * log_w
    out = [log_w * parts[0], -log_w2 * parts[1]]
    if order >= 2:
        out.append(log_w2 * log_w * parts[2])
    return tuple(out)


def inverse_money_utility(utility: FloatArray, eta: float) -> FloatArray:
    """The wealth ratio ``w`` with ``u(w) = utility``; ``inf`` where no ratio reaches it.

    :func:`talentmarket.valuation.crra_inverse` under the likelihood's name.

    Parameters
    ----------
    utility : ndarray, any shape
        Utils.
    eta : float
        Relative risk aversion. With ``eta > 1`` utilities at or above ``1 / (eta - 1)`` are
        unattainable and give ``inf``.

    Returns
    -------
    ndarray, same shape as ``utility``
    """
    return crra_inverse(utility, eta)
