"""The price kernel: the smallest scale s >= 0 at which a money term reaches a required level.

For person i with wealth W0_i and CRRA eta_i, and a package whose value nodes are s * x_k + y_k
(x: the scaled part, y: a fixed part such as a make-whole or the package being kept), the money
term m_i(s) = mean_k u((W0_i + s x_k + y_k) / W0_i) is increasing and concave in s when x >= 0.
We want the smallest s with m_i(s) >= m*_i.

Method (per person, in a compiled parallel loop): Jensen gives a lower bound
s0 = (W0 (u^-1(m*) - 1) - mean(y)) / mean(x) (risk only lowers m). Halley steps (m, m' and m''
come from one pass over the nodes) run first on 16 coarse nodes, then on all k. Once the Newton
step is below 1e-5 of s, the last Newton iterate is taken without another pass: for a concave m
it lies left of the root by about |m''| d^2 / (2 m'), and it is moved right by twice that, so
that m(s) >= m* at the returned s. Typically 3-4 coarse passes and 2 passes over the k nodes.
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np
from numpy.typing import NDArray

from talentmarket.choice._money import (
    NODE_LOOP_FASTMATH,
    crra_pair,
    mean_utility_and_slope,
    money_terms,
    node_weights,
)

F64 = NDArray[np.float64]

__all__ = ["minimum_scales", "money_term_limit", "money_terms"]

#: Relative margin added to every answer beyond the Newton error bound, so that rounding in
#: m cannot leave it on the wrong side of the root.
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


@nb.njit(cache=True, fastmath=NODE_LOOP_FASTMATH, error_model="numpy")
def _moments(
    s: float, x: F64, y: F64, wts: F64, w0: float, eta: float
) -> tuple[float, float, float]:
    """m(s) = sum_k wts_k u(1 + (s x_k + y_k) / W0) with its first and second derivatives in s."""
    m = 0.0
    d1 = 0.0
    d2 = 0.0
    inv = 1.0 / w0
    for j in range(x.shape[0]):
        w = max(1.0 + (s * x[j] + y[j]) * inv, 1e-300)
        u, du = crra_pair(w, eta)
        dx = x[j] * inv
        m += wts[j] * u
        d1 += wts[j] * du * dx
        d2 -= wts[j] * eta * du / w * dx * dx
    return m, d1, d2


#: The Newton step (relative to s) below which the next iterate is taken without another pass.
_LAST_STEP = 1e-5


@nb.njit(cache=True, inline="always")
def _halley(
    s: float, x: F64, y: F64, wts: F64, w0: float, eta: float, target: float, last_step: float
) -> tuple[float, float]:
    """Solve m(s) = target from s. Halley steps while far; once the Newton step d is within
    ``last_step`` of s, returns the Newton iterate moved right past its error bound
    |m''| d^2 / m' (Newton on a concave m lands left of the root) and m there, to first order.
    Returns (s, nan) where m stops rising (then the target is out of reach)."""
    for _ in range(_MAX_ITER):
        m, d1, d2 = _moments(s, x, y, wts, w0, eta)
        if not (d1 > 0.0) or not math.isfinite(d1):
            return s, math.nan
        f = m - target
        step = -f / d1
        if abs(step) <= last_step * s or step == 0.0:
            s_next = max(s + step, 0.0)
            s_next += abs(d2) / d1 * step * step + 4.0 * SCALE_RTOL * s_next
            return s_next, m + d1 * (s_next - s)
        denominator = 2.0 * d1 * d1 - f * d2
        if denominator > d1 * d1:  # Halley, when it is at most twice the Newton step
            step = -2.0 * f * d1 / denominator
        s = max(s + step, 0.0)
    return s, math.nan


def minimum_scales(x: F64, y: F64, wealth: F64, eta: F64, m_star: F64) -> tuple[F64, F64, F64]:
    """Smallest s >= 0 with E[u(1 + (s X + Y) / W0)] >= m* for each person.

    x, y: (k,) USD value nodes (x >= 0, weights ``node_weights(k)``); wealth, eta, m_star: (n,).
    Returns (scale, m(0), m(scale)), each (n,): scale 0 where m(0) >= m* already, inf where no
    finite scale reaches m* (then m(scale) is NaN). m(0) is NaN where Jensen's bound shows it
    is below m* (not needed). Halley steps run first on 16 coarse nodes, then on all k from
    there; answers lie right of the root by at most twice the last Newton error bound (about
    1e-10 of s), as the price must reach the target.
    """
    f = np.ascontiguousarray
    x = f(x, dtype=np.float64)
    y = f(y, dtype=np.float64)
    wts = node_weights(len(x))
    k = len(x)
    # The coarse nodes and means are computed serially, here: inside the parallel kernel numba
    # would turn their sums into parallel reductions whose rounding depends on the number of
    # threads, and the answers with it (in the last bits).
    xc, wc = _coarse(x, wts, 16 if k % 16 == 0 and k > 16 else k)
    yc, _ = _coarse(y, wts, len(xc))
    return _minimum_scales(
        x,
        y,
        wts,
        xc,
        yc,
        wc,
        math.fsum(x * wts),
        math.fsum(y * wts),
        f(wealth, dtype=np.float64),
        f(eta, dtype=np.float64),
        f(m_star, dtype=np.float64),
    )


@nb.njit(cache=True, parallel=True)
def _minimum_scales(
    x: F64,
    y: F64,
    wts: F64,
    xc: F64,
    yc: F64,
    wc: F64,
    mean_x: float,
    mean_y: float,
    wealth: F64,
    eta: F64,
    m_star: F64,
) -> tuple[F64, F64, F64]:
    # Nothing but the loop over people here (see minimum_scales): results per person must
    # not depend on how many threads share the loop.
    n = wealth.shape[0]
    scale = np.empty(n)
    m_zero = np.empty(n)
    m_at = np.empty(n)
    for i in nb.prange(n):
        m_zero[i] = math.nan
        m_at[i] = math.nan
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
        s, _ = _halley(s0, xc, yc, wc, w0, e, target, 1e-3)
        s, m = _halley(s, x, y, wts, w0, e, target, _LAST_STEP)
        if math.isfinite(m):
            scale[i] = s
            m_at[i] = max(m, target)
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
