"""The vectorizable log and exp behind every money term agree with numpy to rounding."""

from __future__ import annotations

import numba as nb
import numpy as np
import pytest

from talentmarket._fastmath import EXP_MAX, EXP_MIN, exp_expm1, fast_log
from talentmarket.choice._money import crra_pair
from talentmarket.valuation import crra_utility

#: A few units in the last place: the C library itself is within one.
RTOL = 1e-15


@nb.njit
def _logs(x: np.ndarray) -> np.ndarray:
    out = np.empty_like(x)
    for i in range(x.shape[0]):
        out[i] = fast_log(x[i])
    return out


@nb.njit
def _exps(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    p = np.empty_like(a)
    q = np.empty_like(a)
    for i in range(a.shape[0]):
        p[i], q[i] = exp_expm1(a[i])
    return p, q


@nb.njit
def _pairs(w: np.ndarray, eta: float) -> tuple[np.ndarray, np.ndarray]:
    u = np.empty_like(w)
    du = np.empty_like(w)
    for i in range(w.shape[0]):
        u[i], du[i] = crra_pair(w[i], eta)
    return u, du


def _rel(got: np.ndarray, want: np.ndarray) -> float:
    scale = np.maximum(np.abs(want), np.finfo(float).tiny)
    return float(np.max(np.abs(got - want) / scale))


def test_log_over_the_whole_normal_range() -> None:
    rng = np.random.default_rng(1)
    x = np.exp(rng.uniform(np.log(2.3e-308), np.log(1.7e308), 200_000))
    edges = np.array(
        [
            2.3e-308,
            1e-300,
            0.5,
            np.sqrt(0.5),
            np.nextafter(np.sqrt(0.5), 1),
            2.0,
            np.sqrt(2.0),
            1e300,
            1.7e308,
        ]
    )
    x = np.concatenate([x, edges])
    assert _rel(_logs(x), np.log(x)) < RTOL


def test_log_near_one_keeps_relative_accuracy() -> None:
    # log(1 + d) ~ d: the answer is tiny, its relative error must stay at rounding.
    d = np.geomspace(1e-15, 0.4, 5_000)
    x = np.concatenate([1.0 + d, 1.0 - d / 2])
    assert _rel(_logs(x), np.log(x)) < RTOL
    assert fast_log(1.0) == 0.0


def test_exp_and_expm1_over_the_range() -> None:
    rng = np.random.default_rng(2)
    a = np.concatenate(
        [
            rng.uniform(EXP_MIN, EXP_MAX, 200_000),
            rng.uniform(-1, 1, 50_000),
            np.geomspace(1e-300, 1, 2_000),
            -np.geomspace(1e-300, 1, 2_000),
            [0.0, np.log(2) / 2, -np.log(2) / 2, EXP_MIN, EXP_MAX],
        ]
    )
    p, q = _exps(a)
    assert _rel(p, np.exp(a)) < RTOL
    assert _rel(q, np.expm1(a)) < RTOL
    assert _exps(np.array([0.0]))[0][0] == 1.0


def test_exp_clamps_outside_the_range() -> None:
    p, q = _exps(np.array([-1e4, 1e4]))
    assert p[0] == pytest.approx(np.exp(EXP_MIN), rel=RTOL) and q[0] == -1.0
    assert np.isfinite(p[1]) and p[1] == pytest.approx(np.exp(EXP_MAX), rel=RTOL)


@pytest.mark.parametrize("eta", [0.0, 0.5, 1.0 - 1e-13, 1.0, 1.0 + 1e-9, 2.0, 3.5, 10.0])
def test_crra_pair_matches_the_reference_utility_and_its_derivative(eta: float) -> None:
    w = np.concatenate([np.geomspace(1e-6, 1e6, 4_001), 1.0 + np.geomspace(1e-14, 1e-2, 500)])
    u, du = _pairs(w, eta)
    want = crra_utility(w, eta)
    # exp amplifies the rounding of log w by |(1 - eta) log w| (up to 124 here), as in any
    # pow computed through exp and log.
    amplification = 4.0 + np.abs((1.0 - eta) * np.log(w))
    assert np.all(np.abs(u - want) <= 4e-16 * amplification * np.abs(want))
    assert np.all(np.abs(du - w**-eta) <= 4e-16 * amplification * w**-eta)


def test_crra_pair_passes_nan_through_and_clamps_zero() -> None:
    u, _ = _pairs(np.array([np.nan, 0.0]), 2.0)
    assert np.isnan(u[0])
    assert u[1] == pytest.approx(crra_utility(1e-300, 2.0), rel=1e-15)
