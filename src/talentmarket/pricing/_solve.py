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

from talentmarket.choice._money import mean_utility_and_slope, money_terms, node_weights

F64 = NDArray[np.float64]

__all__ = ["minimum_scales", "money_term_limit", "money_terms"]

#: Relative tolerance in scale.
SCALE_RTOL = 1e-11
_MAX_ITER = 200


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
def _coarse(v: F64, wts: F64, k: int) -> tuple[F64, F64]:
    """Weighted means and weights of k equal runs of consecutive nodes (len(v) divisible by k)."""
    out = np.empty(k)
    w_out = np.empty(k)
    b = v.shape[0] // k
    for j in range(k):
        w = wts[j * b : (j + 1) * b]
        w_out[j] = w.sum()
        out[j] = (v[j * b : (j + 1) * b] * w).sum() / w_out[j]
    return out, w_out


@nb.njit(cache=True, inline="always")
def _newton(
    s: float, x: F64, y: F64, wts: F64, w0: float, eta: float, target: float, rtol: float
) -> tuple[float, float]:
    """Newton on m(s) = target from s (either side: m is concave, so a step from the right
    lands left of the root and steps from the left never overshoot). Returns (s, m(s))."""
    m = math.nan
    for _ in range(_MAX_ITER):
        m, slope = mean_utility_and_slope(s, x, y, wts, w0, eta)
        if not (slope > 0.0) or not math.isfinite(slope):
            break
        s_next = max(s + (target - m) / slope, 0.0)
        if abs(s_next - s) <= rtol * s_next:
            # m at s_next, to first order (the error is O(step^2): far below any tolerance).
            return s_next, m + slope * (s_next - s)
        s = s_next
    return s, m


def minimum_scales(x: F64, y: F64, wealth: F64, eta: F64, m_star: F64) -> tuple[F64, F64, F64]:
    """Smallest s >= 0 with E[u(1 + (s X + Y) / W0)] >= m* for each person.

    x, y: (k,) USD value nodes (x >= 0, weights ``node_weights(k)``); wealth, eta, m_star: (n,).
    Returns (scale, m(0), m(scale)), each (n,): scale 0 where m(0) >= m* already, inf where no
    finite scale reaches m* (then m(scale) is NaN). m(0) is NaN where Jensen's bound shows it
    is below m* (not needed). Newton runs first on 16 coarse nodes, then on all k from there.
    """
    f = np.ascontiguousarray
    return _minimum_scales(
        f(x, dtype=np.float64),
        f(y, dtype=np.float64),
        node_weights(len(x)),
        f(wealth, dtype=np.float64),
        f(eta, dtype=np.float64),
        f(m_star, dtype=np.float64),
    )


@nb.njit(cache=True, parallel=True)
def _minimum_scales(
    x: F64, y: F64, wts: F64, wealth: F64, eta: F64, m_star: F64
) -> tuple[F64, F64, F64]:
    n = wealth.shape[0]
    scale = np.empty(n)
    m_zero = np.full(n, np.nan)
    m_at = np.full(n, np.nan)
    mean_x = (x * wts).sum()
    mean_y = (y * wts).sum()
    k = x.shape[0]
    kc = 16 if k % 16 == 0 and k > 16 else k
    xc, wc = _coarse(x, wts, kc)
    yc, _ = _coarse(y, wts, kc)
    for i in nb.prange(n):
        w0 = wealth[i]
        e = eta[i]
        target = m_star[i]
        w_star = _u_inv(target, e)
        s0 = (w0 * (w_star - 1.0) - mean_y) / mean_x if mean_x > 0 else math.inf
        if not s0 > 0.0:  # Jensen cannot rule out m(0) >= m*: look
            m0 = mean_utility_and_slope(0.0, x, y, wts, w0, e)[0]
            m_zero[i] = m0
            if m0 >= target:
                scale[i] = 0.0
                m_at[i] = m0
                continue
            s0 = 0.0
        if mean_x <= 0.0 or not math.isfinite(w_star):
            scale[i] = math.inf
            continue
        s, _ = _newton(s0, xc, yc, wc, w0, e, target, 1e-6)
        s, m = _newton(s, x, y, wts, w0, e, target, SCALE_RTOL)
        if math.isfinite(m) and not m >= target:
            # Converged from the left to within SCALE_RTOL: step onto the feasible side.
            s *= 1.0 + 4.0 * SCALE_RTOL
            m = max(m, target)
        if m >= target or (target - m) <= 1e-14 * abs(target):
            scale[i] = s
            m_at[i] = m
        else:
            scale[i] = math.inf
    return scale, m_zero, m_at


def money_term_limit(x: F64, y: F64, wealth: F64, eta: F64) -> F64:
    """lim_{s -> inf} m_i(s): nodes with x > 0 reach the bound of u (inf for eta <= 1). (n,)."""
    from talentmarket.valuation._crra import crra_sup, crra_utility

    sup = np.asarray(crra_sup(eta), dtype=float)
    wts = node_weights(len(x))
    grows = x > 0
    fixed = crra_utility(np.maximum(1.0 + y[None, ~grows] / wealth[:, None], 1e-300), eta[:, None])
    total = fixed @ wts[~grows]
    if grows.any():
        total = total + wts[grows].sum() * sup
    return np.asarray(total)
