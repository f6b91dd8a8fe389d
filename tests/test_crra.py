"""CRRA utility, inverse, supremum, certainty equivalents and distribution nodes."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from talentmarket.valuation import (
    certainty_equivalent,
    crra_inverse,
    crra_sup,
    crra_utility,
    distribution_nodes,
)

etas = st.floats(min_value=0.0, max_value=8.0, allow_nan=False)


# --------------------------------------------------------------------------- utility


def test_utility_known_values() -> None:
    w = np.array([0.5, 1.0, 2.0, 10.0])
    np.testing.assert_allclose(crra_utility(w, 0.0), w - 1.0, rtol=1e-15)
    np.testing.assert_allclose(crra_utility(w, 1.0), np.log(w), rtol=1e-15)
    np.testing.assert_allclose(crra_utility(w, 2.0), 1.0 - 1.0 / w, rtol=1e-15)
    np.testing.assert_allclose(crra_utility(w, 3.0), (1.0 - w**-2.0) / 2.0, rtol=1e-15)
    assert crra_utility(1.0, 5.0) == 0.0


def test_utility_broadcasts_eta_against_w() -> None:
    w = np.array([[1.5], [3.0]])  # (2, 1)
    eta = np.array([0.0, 1.0, 2.0])  # (3,)
    u = crra_utility(w, eta)
    assert u.shape == (2, 3)
    np.testing.assert_allclose(u[1], [2.0, math.log(3.0), 2.0 / 3.0], rtol=1e-15)


def test_utility_at_zero_wealth() -> None:
    assert crra_utility(0.0, 2.0) == -np.inf
    assert crra_utility(0.0, 1.0) == -np.inf
    assert crra_utility(0.0, 0.5) == pytest.approx(-2.0)


def test_utility_is_continuous_in_eta_at_one() -> None:
    w = np.array([0.3, 2.0, 50.0])
    np.testing.assert_allclose(crra_utility(w, 1.0 + 1e-9), np.log(w), rtol=1e-8)
    np.testing.assert_allclose(crra_utility(w, 1.0 - 1e-9), np.log(w), rtol=1e-8)


@given(w=st.floats(min_value=1e-2, max_value=1e2), eta=etas)
def test_inverse_round_trip(w: float, eta: float) -> None:
    # For eta > 1 and large w, u sits next to its supremum: a rounding error of u is
    # amplified by w ** (eta - 1) in relative terms, so the tolerance follows that condition.
    tol = 1e-13 * max(1.0, w ** (eta - 1.0))
    assert crra_inverse(crra_utility(w, eta), eta) == pytest.approx(w, rel=tol)


def test_inverse_at_and_past_the_supremum_is_infinite() -> None:
    assert crra_inverse(1.0, 2.0) == np.inf
    assert crra_inverse(1.5, 2.0) == np.inf
    assert crra_inverse(0.999, 2.0) == pytest.approx(1000.0, rel=1e-9)


def test_sup() -> None:
    np.testing.assert_array_equal(crra_sup([0.0, 0.5, 1.0]), [np.inf, np.inf, np.inf])
    np.testing.assert_allclose(crra_sup([2.0, 3.0, 1.5]), [1.0, 0.5, 2.0], rtol=1e-15)


@given(w=st.floats(min_value=1e-3, max_value=1e12), eta=st.floats(min_value=1.01, max_value=8.0))
def test_utility_stays_below_its_supremum(w: float, eta: float) -> None:
    assert crra_utility(w, eta) <= crra_sup(eta)


# --------------------------------------------------------------------------- CE


@settings(max_examples=200)
@given(
    pv=st.floats(min_value=-0.9, max_value=1e4) | st.floats(min_value=1e-9, max_value=1e-3),
    wealth=st.floats(min_value=1e3, max_value=1e10),
    eta=etas,
    n=st.integers(min_value=1, max_value=2000),
)
def test_ce_of_a_sure_amount_is_that_amount(pv: float, wealth: float, eta: float, n: int) -> None:
    amount = pv * wealth  # from -0.9 W0 to 1e4 W0, and tiny amounts
    ce = certainty_equivalent(np.full(n, amount), wealth, eta)
    assert ce == pytest.approx(amount, rel=1e-12, abs=1e-300)


def test_ce_known_answers() -> None:
    pv = np.array([0.0, 1e6, 3e6])
    w0 = 1e6
    w = 1.0 + pv / w0
    assert certainty_equivalent(pv, w0, 0.0) == pytest.approx(pv.mean(), rel=1e-13)
    # eta = 1: geometric mean of wealth; eta = 2: harmonic mean.
    geo = w0 * (math.exp(np.log(w).mean()) - 1.0)
    harm = w0 * (1.0 / (1.0 / w).mean() - 1.0)
    assert certainty_equivalent(pv, w0, 1.0) == pytest.approx(geo, rel=1e-13)
    assert certainty_equivalent(pv, w0, 2.0) == pytest.approx(harm, rel=1e-13)


def test_ce_below_mean_and_decreasing_in_eta() -> None:
    rng = np.random.default_rng(0)
    pv = rng.lognormal(mean=15.0, sigma=1.0, size=5000)
    eta = np.array([0.0, 0.5, 1.0, 2.0, 4.0, 8.0])
    ce = certainty_equivalent(pv[None, :], 2e6, eta)
    assert ce.shape == (6,)
    assert ce[0] == pytest.approx(pv.mean(), rel=1e-12)
    assert np.all(ce[1:] < pv.mean())
    assert np.all(np.diff(ce) < 0)


def test_ce_is_bounded_for_high_risk_aversion() -> None:
    # With eta > 1 utility is bounded: a huge payoff with a small chance adds little.
    pv = np.zeros(1000)
    pv[0] = 1e15
    ce = certainty_equivalent(pv, 1e6, 3.0)
    assert 0.0 < ce < 1e4


def test_ce_broadcasts_wealth_and_eta_over_rows() -> None:
    rng = np.random.default_rng(1)
    pv = rng.normal(1e6, 3e5, size=(3, 400))
    wealth = np.array([1e6, 5e6, 2e7])
    ce = certainty_equivalent(pv, wealth, 2.0)
    assert ce.shape == (3,)
    for i in range(3):
        assert ce[i] == pytest.approx(certainty_equivalent(pv[i], wealth[i], 2.0), rel=1e-14)
    # More wealth, less concern for the same risk: CE closer to the mean.
    gaps = pv.mean(axis=1) - ce
    assert gaps[0] > 0 and gaps[2] > 0


def test_ce_with_ruin() -> None:
    pv = np.array([-2e6, 1e6])
    assert certainty_equivalent(pv, 1e6, 2.0) == -1e6
    assert certainty_equivalent(pv, 1e6, 1.0) == -1e6


def test_ce_needs_a_path_axis() -> None:
    with pytest.raises(ValueError, match="at least one axis"):
        certainty_equivalent(np.float64(1.0), 1.0, 1.0)


# --------------------------------------------------------------------------- nodes


def test_nodes_are_block_means_of_the_sorted_sample() -> None:
    samples = np.array([5.0, 1.0, 3.0, 2.0, 8.0, 4.0])
    np.testing.assert_allclose(distribution_nodes(samples, 3), [1.5, 3.5, 6.5], rtol=1e-15)
    np.testing.assert_allclose(distribution_nodes(samples, 1), [samples.mean()], rtol=1e-15)


def test_nodes_split_straddling_samples() -> None:
    # 5 samples in 2 bands of 2.5: the middle sample counts half in each band.
    nodes = distribution_nodes(np.array([1.0, 2.0, 3.0, 4.0, 5.0]), 2)
    np.testing.assert_allclose(nodes, [(1 + 2 + 1.5) / 2.5, (1.5 + 4 + 5) / 2.5], rtol=1e-15)


@settings(max_examples=100)
@given(
    samples=st.lists(st.floats(min_value=-1e9, max_value=1e9), min_size=1, max_size=60),
    k=st.integers(min_value=1, max_value=25),
)
def test_nodes_equal_block_means_of_the_k_fold_sample(samples: list[float], k: int) -> None:
    # Oracle: repeating every sorted sample k times makes the length divisible by k; the
    # fractional split is exactly the block means of that sample.
    x = np.sort(np.asarray(samples))
    n = x.size
    oracle = np.repeat(x, k).reshape(k, n).mean(axis=1)
    nodes = distribution_nodes(x[::-1], k)
    scale = max(1.0, float(np.abs(x).max()))
    np.testing.assert_allclose(nodes, oracle, rtol=1e-12, atol=1e-12 * scale)
    assert nodes.mean() == pytest.approx(x.mean(), rel=1e-12, abs=1e-12 * scale)
    assert np.all(np.diff(nodes) >= -1e-12 * scale)


def test_nodes_along_last_axis_give_cheap_expected_utility() -> None:
    rng = np.random.default_rng(2)
    pv = rng.lognormal(14.0, 0.8, size=(4, 10_001))
    nodes = distribution_nodes(pv, 64)
    assert nodes.shape == (4, 64)
    np.testing.assert_allclose(nodes.mean(axis=1), pv.mean(axis=1), rtol=1e-12)
    full = certainty_equivalent(pv, 3e6, 2.0)
    cheap = certainty_equivalent(nodes, 3e6, 2.0)
    np.testing.assert_allclose(cheap, full, rtol=2e-3)


def test_nodes_reject_bad_k() -> None:
    with pytest.raises(ValueError, match="k must be >= 1"):
        distribution_nodes(np.ones(4), 0)
