"""Money in utils and utils in money: the CRRA money term of DESIGN.md's random utility.

m(x) = u((W0 + x) / W0) with u the CRRA utility of risk aversion eta: scale-free (doubling
wealth is worth log 2 at eta = 1) and bounded above by 1 / (eta - 1) when eta > 1.
"""

from __future__ import annotations

import functools
import math

import numba as nb
import numpy as np
from numpy.typing import NDArray

from talentmarket._fastmath import exp_expm1, fast_log
from talentmarket.valuation._crra import crra_inverse, crra_sup, crra_utility

F64 = NDArray[np.float64]

#: Nodes a package's value distribution is compressed to for expected utility.
N_NODES = 128
#: Node k covers the probability band [(k/K)^3, ((k+1)/K)^3) of the sorted sample: dense in the
#: lower tail, where a concave utility is most sensitive. With 128 nodes certainty equivalents
#: stay within about half a percent of the full-path value even at eta = 5 (equal bands were
#: off by up to 15% at eta = 3); the tests pin this.
NODE_TAIL_POWER = 3.0


@functools.lru_cache(maxsize=64)
def _band_edges(k: int) -> F64:
    edges = (np.arange(k + 1) / k) ** NODE_TAIL_POWER
    edges.setflags(write=False)
    return edges


def node_weights(k: int = N_NODES) -> F64:
    """(k,) probabilities of the k value nodes (summing to 1)."""
    return np.diff(_band_edges(k))


#: Flags of the node loops: reassociation lets LLVM vectorize the sums over nodes; no
#: assumptions about NaN or infinity (a NaN wealth ratio must stay NaN).
NODE_LOOP_FASTMATH = {"contract", "reassoc", "nsz", "arcp"}


@nb.njit(cache=True, inline="always", fastmath=NODE_LOOP_FASTMATH, error_model="numpy")
def crra_pair(w: float, eta: float) -> tuple[float, float]:
    """(u(w), u'(w)) for CRRA eta at relative wealth w > 0 (w is kept within [1e-300, 1e300]).

    u = expm1((1 - eta) log w) / (1 - eta), log w at eta = 1; branch-free, so that loops over
    nodes vectorize. NaN in, NaN out.
    """
    wc = min(max(w, 1e-300), 1e300)
    lw = fast_log(wc)
    one_minus = 1.0 - eta
    p, em1 = exp_expm1(one_minus * lw)
    u = lw if one_minus == 0.0 else em1 / one_minus
    if w != w:
        u = math.nan
    return u, p / wc


@nb.njit(cache=True, fastmath=NODE_LOOP_FASTMATH, error_model="numpy")
def mean_utility_and_slope(
    s: float, x: F64, y: F64, wts: F64, w0: float, eta: float
) -> tuple[float, float]:
    """sum_k wts_k u(1 + (s x_k + y_k) / W0) and its derivative in s; x, y, wts (k,)."""
    acc = 0.0
    slope = 0.0
    inv = 1.0 / w0
    for j in range(x.shape[0]):
        u, du = crra_pair(1.0 + (s * x[j] + y[j]) * inv, eta)
        acc += wts[j] * u
        slope += wts[j] * du * x[j] * inv
    return acc, slope


@nb.njit(cache=True, parallel=True)
def _money_terms(scales: F64, x: F64, y: F64, wts: F64, wealth: F64, eta: F64) -> F64:
    n = wealth.shape[0]
    out = np.empty(n)
    for i in nb.prange(n):
        if math.isinf(scales[i]):
            out[i] = math.nan
        else:
            out[i] = mean_utility_and_slope(scales[i], x, y, wts, wealth[i], eta[i])[0]
    return out


@nb.njit(cache=True, parallel=True)
def money_terms_by_kind(
    kind: NDArray[np.int64],
    scales: F64,
    x: F64,
    y: F64,
    wts: F64,
    counts: NDArray[np.int64],
    wealth: F64,
    eta: F64,
) -> F64:
    """Money terms of many offers of many package kinds in one pass.

    kind, scales, wealth, eta: (n,) per offer; x, y, wts: (n_kinds, k_max) padded nodes and
    weights; counts: (n_kinds,) nodes used per kind. Returns (n,).
    """
    n = wealth.shape[0]
    out = np.empty(n)
    for i in nb.prange(n):
        k = kind[i]
        c = counts[k]
        out[i] = mean_utility_and_slope(
            scales[i], x[k, :c], y[k, :c], wts[k, :c], wealth[i], eta[i]
        )[0]
    return out


def money_terms(scales: F64, x: F64, y: F64, wealth: F64, eta: F64) -> F64:
    """m_i = E[u(1 + (s_i X + Y) / W0_i)] over the value nodes, per person.

    scales, wealth, eta: (n,); x, y: (k,) USD nodes (weights ``node_weights(k)``). NaN where
    s_i is infinite.
    """
    f = np.ascontiguousarray
    return np.asarray(
        _money_terms(
            f(scales, dtype=np.float64),
            f(x, dtype=np.float64),
            f(y, dtype=np.float64),
            node_weights(len(x)),
            f(wealth, dtype=np.float64),
            f(eta, dtype=np.float64),
        )
    )


def _band_means(sorted_values: F64, k: int) -> F64:
    """Means of ``sorted_values`` over the k node bands (a draw straddling an edge is split)."""
    n = sorted_values.shape[-1]
    csum = np.zeros(n + 1)
    np.cumsum(sorted_values, out=csum[1:])
    edges = _band_edges(k) * n
    whole = np.minimum(np.floor(edges).astype(np.int64), n - 1)
    frac = edges - whole
    at_edge = csum[whole] + sorted_values[whole] * frac
    at_edge[-1] = csum[-1]
    width = np.diff(edges)
    return np.asarray(np.diff(at_edge) / width)


def value_nodes(pv: F64, k: int = N_NODES) -> F64:
    """(k,) value nodes of a (n_paths,) USD sample, weights ``node_weights(k)`` (mean kept).

    A sample with one value (a sure package) is one node of weight 1.
    """
    if pv.size and pv.min() == pv.max():
        return pv[:1].copy()
    return _band_means(np.sort(pv), k)


def paired_nodes(x: F64, y: F64, k: int = N_NODES, at: float = 1.0) -> tuple[F64, F64]:
    """Joint value nodes of two per-path USD samples (n_paths,) -> ((k,), (k,)).

    Paths are ordered by ``at * x + y`` and both are averaged over the node bands in that
    order, so ``at * nodes_x + nodes_y`` equals ``value_nodes(at * x + y)``: the nodes of an
    offer whose own amounts are scaled by ``at`` beside an unscaled make-whole (or of a package
    kept plus a scaled retention grant). Near ``at`` the same nodes serve other scales.
    """
    if x.size and x.min() == x.max() and y.min() == y.max():
        return x[:1].copy(), y[:1].copy()  # a sure amount: one node, weight 1
    order = np.argsort(at * x + y, kind="stable")
    return _band_means(x[order], k), _band_means(y[order], k)


def expected_money_utility(nodes: F64, wealth: F64, eta: F64) -> F64:
    """E[u((W0 + X) / W0)] for each person: nodes (k,) USD; wealth, eta (n,); returns (n,)."""
    n = wealth.shape[0]
    return money_terms(np.ones(n), nodes, np.zeros_like(nodes), wealth, eta)


def certainty_equivalent_from_utility(util: F64, wealth: F64, eta: F64) -> F64:
    """USD sure amount with the same money utility: W0 * (u^-1(util) - 1); shape of util."""
    return np.asarray(wealth * (crra_inverse(util, eta) - 1.0))


def money_equivalents(
    delta: F64, alpha: F64, wealth: F64, eta: F64, base_ce: F64
) -> tuple[F64, NDArray[np.bool_]]:
    """The certain money with the same effect as a utility difference, and where none exists.

    delta: (n, F) utility differences (offer minus stay) per factor; alpha, wealth, eta,
    base_ce: (n,) money weight, wealth W0 (USD), CRRA eta and the person's certainty
    equivalent of staying (USD). For each |delta| the amount c > 0 solves
    alpha * [u(b + c / W0) - u(b)] = |delta| with b = 1 + base_ce / W0, and is reported with
    the sign of delta (a deficit is the money it would take to make up for it). Where
    u(b) + |delta| / alpha reaches the bound of u (eta > 1), or alpha = 0, no finite amount
    does: the amount is NaN and ``no_amount`` is True. Returns ((n, F) USD, (n, F) bool).
    """
    b = 1.0 + base_ce / wealth
    ub = crra_utility(b, eta)
    sup = crra_sup(eta)
    with np.errstate(divide="ignore", invalid="ignore"):
        target = ub[:, None] + np.abs(delta) / alpha[:, None]
    reachable = (target < sup[:, None]) & (alpha[:, None] > 0)
    reachable |= delta == 0
    safe = np.where(reachable, target, ub[:, None])
    amount = wealth[:, None] * (crra_inverse(safe, eta[:, None]) - b[:, None])
    amount = np.where(delta == 0, 0.0, amount)
    signed = np.where(reachable, np.sign(delta) * amount, np.nan)
    return np.asarray(signed, dtype=float), ~reachable
