"""Constant relative risk aversion (CRRA) utility, its inverse, and certainty equivalents.

u(w) = (w ** (1 - eta) - 1) / (1 - eta), and log(w) at eta == 1. All functions broadcast
``eta`` against their other arguments, so one call serves a cohort of people with different
risk aversions.

Numerics. Everything is computed from log(w), with ``expm1``/``log1p`` where the naive form
cancels. The certainty equivalent uses the scale-free wealth ratio w = (W0 + PV) / W0 and a
shifted log-mean-exp (see :func:`certainty_equivalent`), so it is exact to rounding for a
deterministic PV even when PV is tiny or huge relative to W0, and for large eta where
u(w) sits next to its supremum and inverting it directly would lose every digit.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

F64 = NDArray[np.float64]

__all__ = [
    "certainty_equivalent",
    "crra_inverse",
    "crra_sup",
    "crra_utility",
    "distribution_nodes",
]


def crra_utility(w: ArrayLike, eta: ArrayLike) -> F64:
    """CRRA utility of wealth.

    Parameters
    ----------
    w : array_like
        Wealth (any unit; usually a ratio to current wealth, dimensionless), > 0.
        ``w == 0`` gives ``-inf`` for eta >= 1 and ``-1 / (1 - eta)`` for eta < 1.
    eta : array_like
        Relative risk aversion (>= 0), broadcasting against ``w``.

    Returns
    -------
    ndarray of float64, the broadcast shape of ``w`` and ``eta``
        ``(w ** (1 - eta) - 1) / (1 - eta)``, ``log(w)`` where ``eta == 1``.
    """
    w_arr = np.asarray(w, dtype=np.float64)
    eta_arr = np.asarray(eta, dtype=np.float64)
    one_minus = 1.0 - eta_arr
    with np.errstate(divide="ignore", invalid="ignore"):
        log_w = np.log(w_arr)
        power = np.expm1(one_minus * log_w) / one_minus
    return np.asarray(np.where(one_minus == 0.0, log_w, power), dtype=np.float64)


def crra_inverse(u: ArrayLike, eta: ArrayLike) -> F64:
    """Inverse of :func:`crra_utility`: the wealth whose utility is ``u``.

    Parameters
    ----------
    u : array_like
        Utility values.
    eta : array_like
        Relative risk aversion (>= 0), broadcasting against ``u``.

    Returns
    -------
    ndarray of float64, the broadcast shape of ``u`` and ``eta``
        ``(1 + (1 - eta) u) ** (1 / (1 - eta))``, ``exp(u)`` where ``eta == 1``; ``+inf``
        where ``u >= crra_sup(eta)`` (no wealth reaches it), ``0`` where ``u`` is at or below
        the utility of zero wealth (eta < 1).
    """
    u_arr = np.asarray(u, dtype=np.float64)
    eta_arr = np.asarray(eta, dtype=np.float64)
    one_minus = 1.0 - eta_arr
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        base = one_minus * u_arr
        log_w = np.log1p(base) / one_minus
        # log1p(x < -1) is nan: u past the supremum (eta > 1) or below u(0) (eta < 1).
        beyond = base <= -1.0
        log_w = np.where(beyond, np.where(one_minus < 0.0, np.inf, -np.inf), log_w)
        log_w = np.where(one_minus == 0.0, u_arr, log_w)
        return np.asarray(np.exp(log_w), dtype=np.float64)


def crra_sup(eta: ArrayLike) -> F64:
    """Supremum of CRRA utility over all wealth: ``1 / (eta - 1)`` for eta > 1, else ``+inf``.

    Parameters
    ----------
    eta : array_like
        Relative risk aversion.

    Returns
    -------
    ndarray of float64, the shape of ``eta``
    """
    eta_arr = np.asarray(eta, dtype=np.float64)
    with np.errstate(divide="ignore"):
        bound = 1.0 / (eta_arr - 1.0)
    return np.asarray(np.where(eta_arr > 1.0, bound, np.inf), dtype=np.float64)


def certainty_equivalent(pv: ArrayLike, wealth: ArrayLike, eta: ArrayLike) -> F64:
    """Certainty equivalent of a random present value for a CRRA person.

    CE = u^-1(E[u(W0 + PV)]) - W0, computed scale-free with w = (W0 + PV) / W0 (CRRA is
    homothetic, so this equals the formula in dollars), the expectation taken over the last
    axis of ``pv`` with equal weights.

    Parameters
    ----------
    pv : array_like, shape (..., n_paths)
        USD present values, one per path. Values at or below ``-wealth`` mean ruin (w <= 0):
        utility ``-inf`` for eta >= 1, giving CE = -W0.
    wealth : array_like, broadcastable to (...)
        Current wealth W0 in USD, > 0.
    eta : array_like, broadcastable to (...)
        Relative risk aversion, >= 0 (eta = 0 is risk-neutral: CE = E[PV]).

    Returns
    -------
    ndarray of float64, shape (...)
        USD. Equals PV (to rounding) when PV is the same on every path; below E[PV] when PV
        varies and eta > 0; decreasing in eta.

    Notes
    -----
    With l = log(w) and c = (1 - eta) l, the certainty-equivalent log-wealth is
    ``(c* + log1p(mean(expm1(c - c*)))) / (1 - eta)`` with c* = max(c): a log-mean-exp shifted
    by its maximum, so the mean lies in [1/n, 1] and ``log1p`` is well conditioned, while
    ``expm1`` keeps the digits when eta is near 1. eta == 1 uses mean(l). The CE is
    ``W0 * expm1(l_ce)``, exact for small PV / W0.
    """
    pv_arr = np.asarray(pv, dtype=np.float64)
    if pv_arr.ndim == 0:
        raise ValueError("pv must have at least one axis (paths along the last axis)")
    w0 = np.asarray(wealth, dtype=np.float64)
    eta_arr = np.asarray(eta, dtype=np.float64)
    lead = np.broadcast_shapes(pv_arr.shape[:-1], w0.shape, eta_arr.shape)
    w0 = np.broadcast_to(w0, lead)
    eta_arr = np.broadcast_to(eta_arr, lead)
    one_minus = (1.0 - eta_arr)[..., None]
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        ratio = pv_arr / w0[..., None]
        # log1p keeps the digits of PV / W0 when PV is small against wealth.
        log_w = np.where(ratio > -1.0, np.log1p(ratio), -np.inf)
        c = one_minus * log_w
        c_max = np.max(c, axis=-1, keepdims=True)
        shifted = np.where(np.isfinite(c_max), c - c_max, 0.0)
        log_mean = c_max[..., 0] + np.log1p(np.mean(np.expm1(shifted), axis=-1))
        l_ce = log_mean / one_minus[..., 0]
        # eta > 1 and some path ruined: c_max = +inf, E[u] = -inf, so CE = -W0.
        l_ce = np.where(np.isposinf(c_max[..., 0]), -np.inf, l_ce)
        l_ce = np.where(one_minus[..., 0] == 0.0, np.mean(log_w, axis=-1), l_ce)
        return np.asarray(w0 * np.expm1(l_ce), dtype=np.float64)


def distribution_nodes(samples: ArrayLike, k: int) -> F64:
    """Compress samples into ``k`` equal-probability nodes that keep the mean.

    Node j is the mean of the sorted sample over the quantile band [j/k, (j+1)/k): the block
    mean of the sorted sample. When ``n_paths`` is not a multiple of ``k``, a sample that
    straddles a band boundary is split between the two nodes in proportion to the
    probability it contributes to each, so every node still carries probability exactly 1/k
    and ``nodes.mean(-1)`` equals ``samples.mean(-1)`` (to rounding). Expected utilities are
    then plain means over nodes: ``crra_utility(nodes, eta).mean(-1)``.

    Parameters
    ----------
    samples : array_like, shape (..., n_paths)
        Draws along the last axis (e.g. PV in USD).
    k : int
        Number of nodes, >= 1 (k > n_paths is allowed: samples are split further).

    Returns
    -------
    ndarray of float64, shape (..., k)
        Node values, sorted ascending, each with probability 1/k.
    """
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    arr = np.sort(np.asarray(samples, dtype=np.float64), axis=-1)
    n = arr.shape[-1]
    if n == 0:
        raise ValueError("samples must hold at least one draw along the last axis")
    if n % k == 0:
        blocks = arr.reshape(*arr.shape[:-1], k, n // k)
        return np.asarray(blocks.mean(axis=-1), dtype=np.float64)
    # Cumulative sum of the sorted sample, evaluated at the band edges j * n / k by linear
    # interpolation inside the straddling sample (integer arithmetic keeps the edges exact).
    csum = np.zeros((*arr.shape[:-1], n + 1))
    np.cumsum(arr, axis=-1, out=csum[..., 1:])
    edges = np.arange(k + 1, dtype=np.int64) * n
    whole = edges // k
    frac = (edges % k) / k
    at_edge = np.take(csum, whole, axis=-1)
    partial = np.take(arr, np.minimum(whole, n - 1), axis=-1) * frac
    at_edge += partial
    return np.asarray(np.diff(at_edge, axis=-1) * (k / n), dtype=np.float64)
