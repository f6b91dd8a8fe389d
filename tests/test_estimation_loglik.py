"""The fast likelihood kernels against a hand-written likelihood and finite differences."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import special

from talentmarket.estimation import (
    gradient,
    hessian,
    log_likelihood,
    loss_and_gradient,
    money_utility,
    money_utility_derivatives,
    observation_scores,
    prepare,
    standard_draws,
    uniform_draws,
)


def small_panel(seed: int = 0, persons: int = 7, alternatives: int = 3) -> pd.DataFrame:
    """A ragged panel with unavailable alternatives, money columns and missing rows."""
    rng = np.random.default_rng(seed)
    rows = []
    sit = 0
    for person in range(persons):
        for _ in range(int(rng.integers(1, 5))):
            available = rng.random(alternatives) < 0.8
            available[int(rng.integers(alternatives))] = True
            chosen = int(rng.choice(np.flatnonzero(available)))
            wealth = float(rng.lognormal(15, 1))
            for j in range(alternatives):
                if not available[j] and j == alternatives - 1:
                    continue  # an absent row is an unavailable alternative
                rows.append(
                    {
                        "sit": sit,
                        "pid": f"p{person}",
                        "alt": f"a{j}",
                        "chosen": int(j == chosen),
                        "av": int(available[j]),
                        "culture": rng.normal() if available[j] else np.nan,
                        "compute": rng.normal(),
                        "wealth": wealth,
                        "pv": wealth * rng.uniform(-0.5, 3.0),
                    }
                )
            sit += 1
    return pd.DataFrame(rows)


def spec(random: dict[str, str] | None = None) -> dict[str, object]:
    return {
        "columns": {"situation": "sit", "alternative": "alt", "chosen": "chosen",
                    "available": "av", "person": "pid"},
        "constants": {"reference": "a0"},
        "coefficients": {"culture": "culture"},
        "specific": {"compute_a1": {"a1": "compute"}},
        "money": {"alpha": "ALPHA", "eta": "ETA", "wealth": "wealth", "value": "pv"},
        "random": random or {},
        "draws": {"kind": "halton", "count": 9, "seed": 0},
    }  # fmt: skip


def hand_log_likelihood(frame: pd.DataFrame, theta: dict[str, float], draws: dict[str, np.ndarray]
                        | None = None) -> float:  # fmt: skip
    """Loop-by-loop simulated panel log-likelihood; draws[name] has shape (persons, R)."""
    persons = sorted(frame.pid.unique())
    total = 0.0
    R = 1 if draws is None else next(iter(draws.values())).shape[1]
    for p, person in enumerate(persons):
        rows_p = frame[frame.pid == person]
        sims = []
        for r in range(R):
            coef = dict(theta)
            for name, z in (draws or {}).items():
                value = theta[name] + theta[f"sd.{name}"] * z[p, r]
                coef[name] = math.exp(value) if name == "ALPHA" else value
            prob = 1.0
            for _, situation in rows_p.groupby("sit"):
                utilities, chosen = {}, None
                for _, row in situation.iterrows():
                    if not row.av:
                        continue
                    w = (row.wealth + row.pv) / row.wealth
                    eta = coef["ETA"]
                    m = math.log(w) if eta == 1 else (w ** (1 - eta) - 1) / (1 - eta)
                    v = coef["ALPHA"] * m + coef["culture"] * row.culture
                    if row.alt != "a0":
                        v += coef[f"ASC_{row.alt}"]
                    if row.alt == "a1":
                        v += coef["compute_a1"] * row.compute
                    utilities[row.alt] = v
                    if row.chosen:
                        chosen = row.alt
                denominator = sum(math.exp(v) for v in utilities.values())
                prob *= math.exp(utilities[chosen]) / denominator
            sims.append(prob)
        total += math.log(sum(sims) / R)
    return total


def fd_gradient(func, theta: np.ndarray, h: float = 1e-6) -> np.ndarray:  # type: ignore[no-untyped-def]
    out = np.empty_like(theta)
    for q in range(theta.size):
        up, down = theta.copy(), theta.copy()
        up[q] += h
        down[q] -= h
        out[q] = (func(up) - func(down)) / (2 * h)
    return out


def test_mnl_with_money_matches_hand_written_likelihood_and_derivatives() -> None:
    frame = small_panel()
    design = prepare(frame, spec())
    theta = np.array([0.3, -0.2, 0.7, 0.4, 1.3, 1.6])
    assert design.names == ("ASC_a1", "ASC_a2", "culture", "compute_a1", "ALPHA", "ETA")
    named = dict(zip(design.names, theta, strict=True))
    assert log_likelihood(theta, design) == pytest.approx(
        hand_log_likelihood(frame, named), rel=1e-12
    )
    analytic = gradient(theta, design)
    numeric = fd_gradient(lambda t: log_likelihood(t, design), theta)
    np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-7)
    loss, grad = loss_and_gradient(theta, design)
    assert loss == pytest.approx(-log_likelihood(theta, design))
    np.testing.assert_allclose(grad, -analytic)
    numeric_h = np.column_stack(
        [fd_gradient(lambda t, q=q: gradient(t, design)[q], theta) for q in range(theta.size)]
    )
    np.testing.assert_allclose(hessian(theta, design), numeric_h, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(observation_scores(theta, design).sum(axis=0), analytic, atol=1e-10)


@pytest.mark.parametrize("eta", [1.0, 1.0 + 1e-9, 0.999999, 2.5])
def test_gradient_in_eta_is_stable_near_one(eta: float) -> None:
    frame = small_panel(seed=3)
    design = prepare(frame, spec())
    theta = np.array([0.1, 0.2, 0.5, -0.3, 2.0, eta])
    numeric = fd_gradient(lambda t: log_likelihood(t, design), theta, h=1e-5)
    np.testing.assert_allclose(gradient(theta, design), numeric, rtol=1e-6, atol=1e-7)


def test_money_utility_series_and_closed_form_agree() -> None:
    w = np.geomspace(0.05, 500.0, 301)
    for eta in (0.0, 0.5, 0.98, 1.0, 1.02, 2.0, 4.0):
        exact = np.log(w) if eta == 1.0 else (w ** (1 - eta) - 1) / (1 - eta)
        np.testing.assert_allclose(money_utility(w, eta), exact, rtol=1e-12, atol=1e-14)
        u, du, d2u = money_utility_derivatives(w, eta)
        h = 1e-4
        d1 = (money_utility(w, eta + h) - money_utility(w, eta - h)) / (2 * h)
        np.testing.assert_allclose(du, d1, rtol=1e-6, atol=1e-9)
        d2 = (money_utility(w, eta + h) - 2 * u + money_utility(w, eta - h)) / h**2
        np.testing.assert_allclose(d2u, d2, rtol=1e-4, atol=1e-6)


def test_panel_mixed_logit_matches_hand_written_simulated_likelihood() -> None:
    frame = small_panel(seed=1)
    model = spec(random={"culture": "normal", "ALPHA": "lognormal"})
    design = prepare(frame, model)
    assert design.names[-2:] == ("sd.culture", "sd.ALPHA")
    theta = np.array([0.3, -0.2, 0.7, 0.4, 0.2, 1.6, 0.5, 0.3])
    persons = sorted(frame.pid.unique())
    z = standard_draws(uniform_draws(len(persons), 9, 2), ["normal", "lognormal"])
    draws = {"culture": z[:, 0, :], "ALPHA": z[:, 1, :]}
    named = dict(zip(design.names, theta, strict=True))
    expected = hand_log_likelihood(frame, named, draws)
    assert log_likelihood(theta, design) == pytest.approx(expected, rel=1e-12)
    analytic = gradient(theta, design)
    numeric = fd_gradient(lambda t: log_likelihood(t, design), theta)
    np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-7)
    scores = observation_scores(theta, design)
    assert scores.shape == (len(persons), theta.size)
    np.testing.assert_allclose(scores.sum(axis=0), analytic, atol=1e-10)


@pytest.mark.parametrize("dist", ["normal", "lognormal", "triangular", "uniform"])
def test_mixed_gradient_for_each_distribution_without_panel(dist: str) -> None:
    frame = small_panel(seed=2)
    model = spec(random={"culture": dist, "compute_a1": "normal"})
    model["columns"] = {k: v for k, v in model["columns"].items() if k != "person"}  # type: ignore[attr-defined]
    design = prepare(frame, model)
    theta = np.array([0.3, -0.2, 0.4, 0.4, 0.8, 1.2, 0.5, 0.3])
    numeric = fd_gradient(lambda t: log_likelihood(t, design), theta)
    np.testing.assert_allclose(gradient(theta, design), numeric, rtol=1e-6, atol=1e-7)


def test_unavailable_alternatives_do_not_matter() -> None:
    """Whatever sits in the columns of an unavailable alternative changes nothing."""
    frame = small_panel(seed=4)
    other = frame.copy()
    off = other.av == 0
    other.loc[off, "compute"] = 1e6
    other.loc[off, "pv"] = -1e12
    theta = np.array([0.3, -0.2, 0.7, 0.4, 1.3, 1.6])
    a, b = prepare(frame, spec()), prepare(other, spec())
    assert log_likelihood(theta, a) == log_likelihood(theta, b)
    np.testing.assert_array_equal(hessian(theta, a), hessian(theta, b))
    np.testing.assert_array_equal(observation_scores(theta, a), observation_scores(theta, b))


def test_halton_normal_draws_are_ndtri_of_the_sequence() -> None:
    u = uniform_draws(3, 4, 1, drop=0)
    assert u[0, 0, 0] == 0.0 and u[0, 0, 1] == 0.5 and u[0, 0, 2] == 0.25
    z = standard_draws(uniform_draws(3, 4, 1), ["normal"])
    np.testing.assert_array_equal(z, special.ndtri(uniform_draws(3, 4, 1)))
