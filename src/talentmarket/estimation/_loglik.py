"""Log-likelihood, analytic gradient, Hessian and observation scores: plain functions.

Multinomial (conditional) logit, with the nonlinear CRRA money term::

    log L = sum_n log P_n,chosen,   P_nj = a_nj exp(V_nj) / sum_k a_nk exp(V_nk)

with a_nj the availability. Writing D_njq = dV_nj / dtheta_q (the columns x_njl for linear
parameters, ALPHA * du/deta for ETA), the score of situation n is ``sum_j (y_nj - P_nj) D_njq``
and the Hessian is ``-sum_n D_n' (diag P_n - P_n P_n') D_n + sum_nj (y_nj - P_nj) d2V_nj``,
whose second term is non-zero only in the (ALPHA, ETA) and (ETA, ETA) cells. Unavailable
alternatives have P = 0 and y = 0, so they enter neither scores nor Hessian.

Mixed logit, panel form (Train 2009, ch. 6): the probability of a person's sequence of choices
is simulated with R draws per person, ``L_p = (1/R) sum_r prod_t P_ptr``. With posterior draw
weights ``w_pr = prod_t P_ptr / sum_r' prod_t P_ptr'`` the score of person p is::

    s_pq = sum_r w_pr sum_t sum_j (y_ptj - P_ptjr) dV_ptjr / dtheta_q

Every dV/dtheta_q factorizes as ``x_ptjq * a_pqr`` (a = 1 for fixed coefficients, dbeta/dmean
and dbeta/dmean * draw for a random one), so the sum over draws is one batched matrix product
(``G = (w P) A'``) and no (units, parameters, draws) array is ever formed. Without a person
column each situation is its own unit.

Large inputs are processed in blocks of situations (or persons) to bound memory; the sums are
exact, only their order changes.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TypeVar, cast

import numba
import numpy as np
from numpy.typing import NDArray

from talentmarket.estimation._design import Design, Panel
from talentmarket.estimation._money import money_utility_derivatives

__all__ = [
    "LikelihoodPass",
    "gradient",
    "hessian",
    "log_likelihood",
    "loss_and_gradient",
    "mixed_pass",
    "mnl_pass",
    "observation_scores",
]

FloatArray = NDArray[np.float64]

# Elements (situations x alternatives x columns, or units x slots x alternatives x draws) per
# block: a few MB per temporary, small enough to stay in cache-friendly sizes.
BLOCK_ELEMENTS = 2**20
# Differences of utilities are capped before exp: a probability below exp(-700) is zero anyway.
_EXP_CAP = 700.0


@dataclass(frozen=True)
class LikelihoodPass:
    """What one pass over the data computed.

    Attributes
    ----------
    log_likelihood : float
    gradient : ndarray, shape (Q,)
        Of the log-likelihood.
    hessian : ndarray, shape (Q, Q), or None
        Of the log-likelihood (MNL only).
    scores : ndarray, shape (n_obs, Q), or None
        Per-observation gradients (situations for MNL, units for mixed logit).
    """

    log_likelihood: float
    gradient: FloatArray
    hessian: FloatArray | None
    scores: FloatArray | None


def _blocks(n: int, per_row: int) -> Iterator[tuple[int, int]]:
    size = max(16, BLOCK_ELEMENTS // max(per_row, 1))
    for start in range(0, n, size):
        yield start, min(n, start + size)


_T = TypeVar("_T")
_POOL: ThreadPoolExecutor | None = None
_WORKERS = max(1, min(4, os.cpu_count() or 1))


def _run(func: Callable[[int, int], _T], blocks: list[tuple[int, int]]) -> list[_T]:
    """Run ``func(start, stop)`` over blocks, on a small thread pool when there are several.

    numpy releases the GIL inside exp, log and matrix products, which dominate a block, so
    threads give real parallelism; blocks write disjoint rows of their outputs.
    """
    global _POOL
    if len(blocks) < 2 or _WORKERS < 2:
        return [func(start, stop) for start, stop in blocks]
    if _POOL is None:
        _POOL = ThreadPoolExecutor(max_workers=_WORKERS, thread_name_prefix="talentmarket-ll")
    return list(_POOL.map(lambda bounds: func(*bounds), blocks))


def _mnl_block_kernel(
    X: FloatArray,
    beta: FloatArray,
    available: NDArray[np.bool_],
    chosen: NDArray[np.intp],
    c1: FloatArray,
    c2: FloatArray,
    want_hessian: bool,
    scores: FloatArray,
) -> tuple[float, FloatArray, FloatArray, float, float]:
    """One fused pass over a block of situations (compiled with numba, releases the GIL).

    Parameters
    ----------
    X : ndarray, shape (Q, n, J)
        dV/dtheta_q per situation and alternative; the first L = beta.size rows are the linear
        columns (utility = beta . X[:L]).
    beta : ndarray, shape (L,)
    available : ndarray of bool, shape (n, J), or shape (0, 0) when all are available
    chosen : ndarray of intp, shape (n,)
    c1, c2 : ndarray, shape (n, J), or shape (0, 0)
        Returned as ``sum_nj (y - P) c`` (second-derivative terms of a nonlinear utility).
    want_hessian : bool
    scores : ndarray, shape (n, Q), or shape (0, 0)
        Filled with the per-situation scores when not empty.

    Returns
    -------
    log_likelihood, gradient (Q,), hessian (Q, Q) (zeros unless wanted), sum (y-P) c1,
    sum (y-P) c2.
    """
    Q, n, J = X.shape
    L = beta.size
    grad = np.zeros(Q)
    hess = np.zeros((Q, Q))
    has_avail = available.shape[0] > 0
    has_c = c1.shape[0] > 0
    has_scores = scores.shape[0] > 0
    v = np.empty(J)
    p = np.empty(J)
    dbar = np.empty(Q)
    total = 0.0
    cross1 = 0.0
    cross2 = 0.0
    for i in range(n):
        top = -np.inf
        for j in range(J):
            if has_avail and not available[i, j]:
                continue
            acc = 0.0
            for q in range(L):
                acc += beta[q] * X[q, i, j]
            v[j] = acc
            if acc > top:
                top = acc
        denom = 0.0
        for j in range(J):
            if has_avail and not available[i, j]:
                p[j] = 0.0
            else:
                p[j] = np.exp(v[j] - top)
                denom += p[j]
        c = chosen[i]
        total += v[c] - top - np.log(denom)
        for j in range(J):
            p[j] /= denom
        for q in range(Q):
            acc = 0.0
            for j in range(J):
                if p[j] > 0.0:
                    acc += p[j] * X[q, i, j]
            dbar[q] = acc
            score = X[q, i, c] - acc
            grad[q] += score
            if has_scores:
                scores[i, q] = score
        if has_c:
            r1 = c1[i, c]
            r2 = c2[i, c]
            for j in range(J):
                if p[j] > 0.0:
                    r1 -= p[j] * c1[i, j]
                    r2 -= p[j] * c2[i, j]
            cross1 += r1
            cross2 += r2
        if want_hessian:
            for q in range(Q):
                for q2 in range(q + 1):
                    acc = 0.0
                    for j in range(J):
                        if p[j] > 0.0:
                            acc += p[j] * X[q, i, j] * X[q2, i, j]
                    hess[q, q2] += dbar[q] * dbar[q2] - acc
    if want_hessian:
        for q in range(Q):
            for q2 in range(q):
                hess[q2, q] = hess[q, q2]
    return total, grad, hess, cross1, cross2


# Compiled once per machine (cache=True) and run without the GIL, so that the blocks of a large
# table are evaluated on several threads at once (see _run).
_mnl_block = cast(
    Callable[..., tuple[float, FloatArray, FloatArray, float, float]],
    numba.njit(nogil=True, cache=True, error_model="numpy")(_mnl_block_kernel),
)
_EMPTY2 = np.zeros((0, 0))
_EMPTY_BOOL = np.zeros((0, 0), dtype=np.bool_)


def mnl_pass(
    theta: FloatArray, design: Design, *, hessian: bool = False, scores: bool = False
) -> LikelihoodPass:
    """Multinomial logit log-likelihood and derivatives, random coefficients held at their means.

    Parameters
    ----------
    theta : ndarray, shape (>= Q,)
        Parameters; only the first ``Q = design.n_mnl`` (linear parameters and ETA) are read.
    design : Design
    hessian, scores : bool
        Also return the Hessian / the per-situation scores.

    Returns
    -------
    LikelihoodPass
        Gradient, Hessian and scores over the first Q parameters.
    """
    L, Q = design.n_linear, design.n_mnl
    beta = np.ascontiguousarray(theta[:L], dtype=np.float64)
    a, money = design.alpha, design.ratio is not None
    eta = float(theta[design.eta]) if design.eta is not None else 0.0
    N, J = design.n_situations, design.n_alternatives
    chosen, available = design.table.chosen, design.table.available
    score = np.empty((N, Q)) if scores else None

    def block(start: int, stop: int) -> tuple[float, FloatArray, FloatArray, float, float]:
        X = design.linear_block(start, stop, extra=Q - L)
        c1 = c2 = _EMPTY2
        if money:
            assert design.ratio is not None and a is not None
            parts = money_utility_derivatives(design.ratio[start:stop], eta, 2 if hessian else 1)
            X[a] = parts[0]
            np.multiply(parts[1], beta[a], out=X[L])
            c1 = parts[1]
            c2 = parts[2] if hessian else np.zeros_like(c1)
        avail = _EMPTY_BOOL if available is None else available[start:stop]
        out = _EMPTY2 if score is None else score[start:stop]
        return _mnl_block(X, beta, avail, chosen[start:stop], c1, c2, hessian, out)

    parts_all = _run(block, list(_blocks(N, J * Q)))
    total = sum(part[0] for part in parts_all)
    grad = np.zeros(Q)
    hess = np.zeros((Q, Q)) if hessian else None
    for _, g, h, cross1, cross2 in parts_all:
        grad += g
        if hess is not None:
            hess += h
            if money:
                assert a is not None
                hess[a, L] += cross1
                hess[L, a] += cross1
                hess[L, L] += beta[a] * cross2
    return LikelihoodPass(total, grad, hess, score)


def _random_coefficients(
    theta: FloatArray, design: Design, draws: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Random coefficients per unit and draw, and their derivative in the mean.

    Returns
    -------
    beta : ndarray, shape (n_units, K_r, R)
    dbeta_dmean : ndarray, shape (n_units, K_r, R)
        1 for normal, triangular and uniform; beta itself for lognormal.
    """
    mean = theta[list(design.random)]
    sd = theta[design.n_mnl :]
    beta = mean[None, :, None] + sd[None, :, None] * draws
    deriv = np.ones_like(beta)
    for k, dist in enumerate(design.distributions):
        if dist == "lognormal":
            beta[:, k, :] = np.exp(beta[:, k, :])
            deriv[:, k, :] = beta[:, k, :]
    return beta, deriv


def _differences(values: FloatArray, panel: Panel, start: int, stop: int) -> FloatArray:
    """Non-chosen minus chosen values, (n, T, J) -> (n, T, J - 1)."""
    chosen = panel.chosen[start:stop, :, None]
    out = np.take_along_axis(values, panel.nonchosen[start:stop], axis=2)
    out -= np.take_along_axis(values, chosen, axis=2)
    return out


def mixed_pass(theta: FloatArray, design: Design, *, scores: bool = False) -> LikelihoodPass:
    """Simulated (panel) mixed logit log-likelihood and its analytic gradient.

    Parameters
    ----------
    theta : ndarray, shape (P,)
    design : Design
        With a ``panel`` (some coefficient random).
    scores : bool
        Also return the per-unit scores.

    Returns
    -------
    LikelihoodPass
        Hessian is None.

    Notes
    -----
    Utilities are taken relative to the chosen alternative (``Panel``), so that with
    ``E_d = exp(V_d - V_chosen)`` over the non-chosen d, ``P_chosen = 1 / (1 + sum_d E_d)``,
    ``P_d = E_d P_chosen``, and ``sum_j (y_j - P_j) x_j = -sum_d P_d (x_d - x_chosen)``.
    """
    theta = np.asarray(theta, dtype=np.float64)
    panel = design.panel
    assert panel is not None
    L, n_mnl = design.n_linear, design.n_mnl
    rv = list(design.random)
    fixed = [k for k in range(L) if k not in design.random]
    Kr = len(rv)
    a = design.alpha
    alpha_random = a is not None and a in design.random
    eta = float(theta[design.eta]) if design.eta is not None else 0.0
    lognormal = [k for k, d in enumerate(design.distributions) if d == "lognormal"]
    units, T, Jd, _ = panel.Xd.shape
    R = panel.draws.shape[2]
    log_r = np.log(R)
    beta_fixed = theta[fixed]
    unit_scores = np.empty((units, design.n_parameters))

    def block(start: int, stop: int) -> float:
        n = stop - start
        Xd = panel.Xd[start:stop]
        if panel.ratio is not None:
            assert a is not None
            m, dm = money_utility_derivatives(panel.ratio[start:stop], eta, 1)
            Xd = Xd.copy()
            Xd[..., a] = _differences(m, panel, start, stop)
            dmd = _differences(dm, panel, start, stop)
        draws = panel.draws[start:stop]
        beta_r, dmean = _random_coefficients(theta, design, draws)
        Xr = Xd[..., rv]  # (n, T, J-1, Kr)
        E = np.matmul(Xr.reshape(n, T * Jd, Kr), beta_r).reshape(n, T, Jd, R)
        if fixed:
            E += (Xd[..., fixed] @ beta_fixed)[..., None]
        np.minimum(E, _EXP_CAP, out=E)
        np.exp(E, out=E)
        if panel.available is not None:
            E *= panel.available[start:stop, :, :, None]
        denom = E.sum(axis=2)
        denom += 1.0  # (n, T, R): 1 / P_chosen
        ell = -np.log(denom).sum(axis=1)  # (n, R): log prod_t P_chosen
        top = ell.max(axis=1, keepdims=True)
        w = np.exp(ell - top)
        wsum = w.sum(axis=1, keepdims=True)
        w /= wsum  # posterior weights of the draws
        # E becomes w_r P_d,r: one division and one product over the largest array.
        E *= (w[:, None, :] / denom)[:, :, None, :]
        Pbar = E.sum(axis=3)  # (n, T, J-1)
        s = unit_scores[start:stop]
        s[:, fixed] = -np.einsum("ntd,ntdk->nk", Pbar, Xd[..., fixed])
        # Draw-dependent derivative factors a_qr: dbeta/dmean (lognormal only; 1 otherwise),
        # dbeta/dsd for every random coefficient, beta_ALPHA for ETA when ALPHA is random.
        A_parts = [dmean[:, lognormal, :], dmean * draws]
        if alpha_random:
            assert a is not None
            k_alpha = rv.index(a)
            A_parts.append(beta_r[:, k_alpha : k_alpha + 1, :])
        A = np.concatenate(A_parts, axis=1)
        G = np.matmul(E.reshape(n, T * Jd, R), A.transpose(0, 2, 1)).reshape(n, T, Jd, -1)
        n_ln = len(lognormal)
        mean_part = np.broadcast_to(Pbar[..., None], (n, T, Jd, Kr)).copy()
        if n_ln:
            mean_part[..., lognormal] = G[..., :n_ln]
        s[:, rv] = -np.einsum("ntdk,ntdk->nk", Xr, mean_part)
        s[:, n_mnl:] = -np.einsum("ntdk,ntdk->nk", Xr, G[..., n_ln : n_ln + Kr])
        if design.eta is not None:
            assert a is not None
            if alpha_random:
                s[:, design.eta] = -np.einsum("ntd,ntd->n", dmd, G[..., -1])
            else:
                s[:, design.eta] = -theta[a] * np.einsum("ntd,ntd->n", dmd, Pbar)
        return float(np.sum(top[:, 0] + np.log(wsum[:, 0]) - log_r))

    total = sum(_run(block, list(_blocks(units, T * max(Jd, 1) * R))))
    grad = unit_scores.sum(axis=0)
    return LikelihoodPass(total, grad, None, unit_scores if scores else None)


def _full_pass(theta: FloatArray, design: Design, *, scores: bool = False) -> LikelihoodPass:
    theta = np.asarray(theta, dtype=np.float64)
    if design.is_mixed:
        return mixed_pass(theta, design, scores=scores)
    return mnl_pass(theta, design, scores=scores)


def log_likelihood(theta: FloatArray, design: Design) -> float:
    """Log-likelihood (simulated for a mixed logit).

    Parameters
    ----------
    theta : ndarray, shape (P,)
        Parameters in ``design.names`` order.
    design : Design

    Returns
    -------
    float
    """
    return _full_pass(theta, design).log_likelihood


def gradient(theta: FloatArray, design: Design) -> FloatArray:
    """Analytic gradient of the log-likelihood.

    Returns
    -------
    ndarray, shape (P,)
    """
    return _full_pass(theta, design).gradient


def loss_and_gradient(theta: FloatArray, design: Design) -> tuple[float, FloatArray]:
    """The loss minimized by ``fit`` (minus the log-likelihood) and its gradient, in one pass.

    Returns
    -------
    loss : float
    gradient : ndarray, shape (P,)
    """
    result = _full_pass(theta, design)
    return -result.log_likelihood, -result.gradient


def observation_scores(theta: FloatArray, design: Design) -> FloatArray:
    """Per-observation gradients of the log-likelihood (BHHH, sandwich, clustering).

    Returns
    -------
    ndarray, shape (n_obs, P)
        Observations are situations (MNL, or mixed logit without a person column) or persons
        (panel mixed logit).
    """
    result = _full_pass(theta, design, scores=True)
    assert result.scores is not None
    return result.scores


def hessian(theta: FloatArray, design: Design, *, step: float = 1e-6) -> FloatArray:
    """Hessian of the log-likelihood.

    Analytic for a multinomial logit (money term included). For a mixed logit, forward
    differences of the analytic gradient with relative step ``step`` (P + 1 passes; an
    analytic simulated Hessian would cost a (parameters x parameters x draws) product per
    unit), symmetrized.

    Returns
    -------
    ndarray, shape (P, P)
    """
    theta = np.asarray(theta, dtype=np.float64)
    if not design.is_mixed:
        result = mnl_pass(theta, design, hessian=True)
        assert result.hessian is not None
        return result.hessian
    P = theta.size
    H = np.empty((P, P))
    base = gradient(theta, design)
    for q in range(P):
        h = step * max(1.0, abs(theta[q]))
        up = theta.copy()
        up[q] += h
        H[:, q] = (gradient(up, design) - base) / h
    return 0.5 * (H + H.T)
