"""Researchers' utility of a salary offer, as compiled kernels shared by engines and checks.

The utility of lab j's offer of salary s to researcher i is ``amenity[e] + u_i(s)`` (e the
pair's entry), with u_i one of:

- ``QUASI_LINEAR``: u(s) = s (money-equivalent utility; USD);
- ``CRRA``: alpha_i * m_i(s), m_i(s) = u((W0_i + s) / W0_i), u the CRRA utility with
  relative risk aversion eta_i (see :class:`~._compiled.CRRAUtility`);
- ``TABLE``: piecewise-linear through per-researcher knots (any increasing function).

Each kind comes with its inverse, so an engine can jump straight to the smallest salary a
researcher would accept instead of raising step by step.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from talentmarket.market._compiled import F64, I64, CRRAUtility, TabulatedUtility, Valuations

QUASI_LINEAR = 0
CRRA = 1
TABLE = 2

UtilityArgs = tuple[int, F64, F64, F64, F64, F64]


def utility_args(valuations: Valuations) -> UtilityArgs:
    """(kind, eta, wealth, weight, knots_usd, knots_utility) for the kernels below."""
    n = valuations.col_ptr.shape[0] - 1
    empty = np.zeros((n, 0))
    u = valuations.utility
    if isinstance(u, CRRAUtility):
        return (
            CRRA,
            np.ascontiguousarray(u.risk_aversion, np.float64),
            np.ascontiguousarray(u.wealth_usd, np.float64),
            np.ascontiguousarray(u.money_weight, np.float64),
            empty,
            empty,
        )
    if isinstance(u, TabulatedUtility):
        ones = np.ones(n)
        return (
            TABLE,
            ones,
            ones,
            ones,
            np.ascontiguousarray(u.salary_usd, np.float64),
            np.ascontiguousarray(u.utility, np.float64),
        )
    ones = np.ones(n)
    return QUASI_LINEAR, ones, ones, ones, empty, empty


@njit(cache=True)
def money_utility(
    kind: int, i: int, s: float, eta: F64, wealth: F64, weight: F64, ks: F64, ku: F64
) -> float:  # pragma: no cover - compiled
    """u_i(s): utility of salary ``s`` USD (>= 0) for researcher ``i``."""
    if kind == QUASI_LINEAR:
        return s
    if kind == CRRA:
        x = np.log1p(s / wealth[i])
        e = eta[i]
        if abs(e - 1.0) < 1e-12:
            return float(weight[i] * x)
        return float(weight[i] * np.expm1((1.0 - e) * x) / (1.0 - e))
    g = ks.shape[1]
    if s >= ks[i, g - 1]:
        slope = (ku[i, g - 1] - ku[i, g - 2]) / (ks[i, g - 1] - ks[i, g - 2])
        return float(ku[i, g - 1] + slope * (s - ks[i, g - 1]))
    lo = 0
    hi = g - 1
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if ks[i, mid] <= s:
            lo = mid
        else:
            hi = mid
    t = (s - ks[i, lo]) / (ks[i, hi] - ks[i, lo])
    return float(ku[i, lo] + t * (ku[i, hi] - ku[i, lo]))


@njit(cache=True)
def salary_for(
    kind: int, i: int, y: float, eta: F64, wealth: F64, weight: F64, ks: F64, ku: F64
) -> float:  # pragma: no cover - compiled
    """Inverse of :func:`money_utility`: the salary s with u_i(s) = y.

    Returns inf when no salary reaches ``y`` (CRRA with eta > 1 is bounded above by
    weight / (eta - 1)), and a value <= 0 when salary 0 already reaches it.
    """
    if kind == QUASI_LINEAR:
        return y
    if kind == CRRA:
        e = eta[i]
        z = y / weight[i]
        if abs(e - 1.0) < 1e-12:
            if z > 700.0:
                return np.inf
            return float(wealth[i] * np.expm1(z))
        a = (1.0 - e) * z
        if a <= -1.0:
            return np.inf  # beyond the bound 1 / (eta - 1)
        p = np.log1p(a) / (1.0 - e)
        if p > 700.0:
            return np.inf
        return float(wealth[i] * np.expm1(p))
    g = ks.shape[1]
    if y <= ku[i, 0]:
        return float(ks[i, 0] - (ku[i, 0] - y))  # any salary >= 0 reaches it
    if y >= ku[i, g - 1]:
        slope = (ku[i, g - 1] - ku[i, g - 2]) / (ks[i, g - 1] - ks[i, g - 2])
        return float(ks[i, g - 1] + (y - ku[i, g - 1]) / slope)
    lo = 0
    hi = g - 1
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if ku[i, mid] <= y:
            lo = mid
        else:
            hi = mid
    t = (y - ku[i, lo]) / (ku[i, hi] - ku[i, lo])
    return float(ks[i, lo] + t * (ks[i, hi] - ks[i, lo]))


@njit(cache=True)
def utilities(
    researcher: I64, salary: F64, kind: int, eta: F64, wealth: F64, weight: F64, ks: F64, ku: F64
) -> F64:  # pragma: no cover - compiled
    """Vectorized :func:`money_utility`: (k,) researcher indices, (k,) USD -> (k,) utils."""
    out = np.empty(researcher.shape[0])
    for t in range(researcher.shape[0]):
        out[t] = money_utility(kind, researcher[t], salary[t], eta, wealth, weight, ks, ku)
    return out


@njit(cache=True)
def salaries_for(
    researcher: I64, target: F64, kind: int, eta: F64, wealth: F64, weight: F64, ks: F64, ku: F64
) -> F64:  # pragma: no cover - compiled
    """Vectorized :func:`salary_for`: (k,) researcher indices, (k,) utils -> (k,) USD."""
    out = np.empty(researcher.shape[0])
    for t in range(researcher.shape[0]):
        out[t] = salary_for(kind, researcher[t], target[t], eta, wealth, weight, ks, ku)
    return out
