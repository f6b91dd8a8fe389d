"""The price kernel: the smallest scale s >= 0 at which a money term reaches a required level.

For person i with wealth W0_i and CRRA eta_i, and a package whose value nodes are s * x_k + y_k
(x: the scaled part, y: a fixed part such as a make-whole or the package being kept), the money
term m_i(s) = mean_k u((W0_i + s x_k + y_k) / W0_i) is increasing and concave in s when x >= 0.
We want the smallest s with m_i(s) >= m*_i.

Method (per person, in a compiled parallel loop): Jensen gives a lower bound
s0 = (W0 (u^-1(m*) - 1) - mean(y)) / mean(x) (risk only lowers m), then Newton steps from the left,
which for a concave increasing function never overshoot the root; a final step guarantees
m(s) >= m* at the returned s. Typically 3-5 passes over the k nodes.
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np
from numpy.typing import NDArray

F64 = NDArray[np.float64]

#: Relative tolerance in scale.
SCALE_RTOL = 1e-12
_MAX_ITER = 200


@nb.njit(cache=True, inline="always")
def _u(w: float, eta: float) -> float:
    one_minus = 1.0 - eta
    lw = math.log(w)
    if abs(one_minus * lw) < 1e-8:  # near eta = 1: series of expm1(a)/one_minus
        a = one_minus * lw
        return lw * (1.0 + 0.5 * a + a * a / 6.0)
    return math.expm1(one_minus * lw) / one_minus


@nb.njit(cache=True, inline="always")
def _u_inv(v: float, eta: float) -> float:
    one_minus = 1.0 - eta
    if abs(one_minus) < 1e-12:
        return math.exp(v)
    arg = one_minus * v
    if arg <= -1.0:
        return math.inf
    return math.exp(math.log1p(arg) / one_minus)


@nb.njit(cache=True)
def _m_and_slope(s: float, x: F64, y: F64, w0: float, eta: float) -> tuple[float, float]:
    acc = 0.0
    slope = 0.0
    k = x.shape[0]
    for j in range(k):
        w = 1.0 + (s * x[j] + y[j]) / w0
        if w <= 1e-300:
            w = 1e-300
        acc += _u(w, eta)
        slope += math.exp(-eta * math.log(w)) * x[j] / w0
    return acc / k, slope / k


@nb.njit(cache=True, parallel=True)
def minimum_scales(x: F64, y: F64, wealth: F64, eta: F64, m_star: F64) -> F64:
    """Smallest s >= 0 with mean_k u(1 + (s x_k + y_k) / W0) >= m* for each person.

    x, y: (k,) USD nodes (x >= 0); wealth, eta, m_star: (n,). Callers handle the cases
    m(0) >= m* (returns 0 here too) and m(inf) <= m* (returns inf). Returns (n,) scales.
    """
    n = wealth.shape[0]
    out = np.empty(n)
    mean_x = x.mean()
    mean_y = y.mean()
    for i in nb.prange(n):
        w0 = wealth[i]
        e = eta[i]
        target = m_star[i]
        m0, _ = _m_and_slope(0.0, x, y, w0, e)
        if m0 >= target:
            out[i] = 0.0
            continue
        if mean_x <= 0.0:
            out[i] = math.inf
            continue
        w_star = _u_inv(target, e)
        if not math.isfinite(w_star):
            out[i] = math.inf
            continue
        s = max((w0 * (w_star - 1.0) - mean_y) / mean_x, 0.0)
        found = False
        for _ in range(_MAX_ITER):
            m, slope = _m_and_slope(s, x, y, w0, e)
            gap = target - m
            if gap <= 0.0:
                found = True
                break
            if slope <= 0.0 or not math.isfinite(slope):
                break
            step = gap / slope
            s_next = s + step
            if step <= SCALE_RTOL * s_next:
                s = s_next * (1.0 + SCALE_RTOL)
                m, _ = _m_and_slope(s, x, y, w0, e)
                found = m >= target or (target - m) <= 1e-15 * abs(target)
                break
            s = s_next
        out[i] = s if found else math.inf
    return out


@nb.njit(cache=True, parallel=True)
def money_terms(scales: F64, x: F64, y: F64, wealth: F64, eta: F64) -> F64:
    """m_i(s_i) = mean_k u(1 + (s_i x_k + y_k) / W0_i) for each person; all (n,) but x, y (k,)."""
    n = wealth.shape[0]
    out = np.empty(n)
    for i in nb.prange(n):
        if math.isinf(scales[i]):
            out[i] = math.nan
            continue
        out[i], _ = _m_and_slope(scales[i], x, y, wealth[i], eta[i])
    return out


def money_term_limit(x: F64, y: F64, wealth: F64, eta: F64) -> F64:
    """lim_{s -> inf} m_i(s): nodes with x > 0 reach the bound of u (inf for eta <= 1). (n,)."""
    from talentmarket.valuation._crra import crra_sup, crra_utility

    sup = np.asarray(crra_sup(eta), dtype=float)
    grows = x > 0
    fixed = crra_utility(np.maximum(1.0 + y[None, ~grows] / wealth[:, None], 1e-300), eta[:, None])
    total = fixed.sum(axis=1) + (grows.sum() * sup if grows.any() else 0.0)
    return np.asarray(total / x.shape[0])
