"""Scenario markets: one contract every engine passes, and the behavioral rounds' own laws."""

from __future__ import annotations

import copy
import json
from typing import Any

import numpy as np
import pytest
import yaml

import talentmarket as tm
from conftest import DESIGN_EXAMPLE
from talentmarket.market._scenario import ENGINE_NAMES, simulate_scenario


def market_data(**market: Any) -> dict[str, Any]:
    """DESIGN.md's example with a big lab attractive enough that people move."""
    data = yaml.safe_load(DESIGN_EXAMPLE.read_text())
    data["settings"]["paths"] = 1000
    data["labs"]["big-lab"]["attributes"]["culture"] = 1.5
    data["labs"]["big-lab"]["capacity"] = 6
    prefs = data["cohorts"]["small-lab-staff"]["preferences"]
    prefs["leadership"]["affinity"]["pat-lee"] = 1.5
    prefs["mission"]["ideal"]["consumer_products"] = 0.5
    prefs["peers"] = 1.0
    data["offers"]["cohort-offer"] = {
        "from": "big-lab",
        "to": "small-lab-staff",
        "package": {
            "base_usd": "1M",
            "sign_on_usd": "30M",
            "grants": [{"type": "rsu", "value_usd": "200M", "vesting": {"months": 48, "every": 3}}],
        },
    }
    data["market"] = {
        "engine": "rounds",
        "rounds": 5,
        "labs": {
            "big-lab": {
                "strategy": "bid-to-price",
                "targets_per_round": 4,
                "target_probability": 0.4,
            },
            "small-lab": {"strategy": "none", "counter": "price"},
        },
        **market,
    }
    return data


@pytest.fixture(scope="module")
def scenario() -> tm.Scenario:
    return tm.scenario_from_dict(market_data())


@pytest.mark.parametrize("engine", ENGINE_NAMES)
def test_engine_contract(scenario: tm.Scenario, engine: str) -> None:
    out = simulate_scenario(scenario, engine=engine, seed=3)
    n, L = len(out.researcher_ids), len(out.lab_ids)
    # Researchers and seats are conserved.
    assert out.final.shape == (n,) and ((out.final >= 0) & (out.final < L)).all()
    assert out.flows.sum() == n
    assert (out.flows.sum(axis=1) == np.bincount(out.start, minlength=L)).all()
    assert (out.flows.sum(axis=0) == np.bincount(out.final, minlength=L)).all()
    # Capacities and budgets hold.
    for j, lab in enumerate(out.lab_ids):
        cap = scenario.labs[lab].capacity
        if cap is not None:
            assert out.hires[j] <= cap
        budget = scenario.labs[lab].budget_usd
        if budget is not None:
            assert out.spend_usd[j] + out.counters_usd[j] <= budget * (1 + 1e-12)
    # Every mover has a contract; nobody else does.
    movers = out.start != out.final
    assert np.isfinite(out.headline_usd[movers]).all()
    assert np.isnan(out.headline_usd[~movers]).all()
    # Same seed, same market; the result serializes.
    again = simulate_scenario(scenario, engine=engine, seed=3)
    assert np.array_equal(again.final, out.final)
    assert json.loads(json.dumps(out.to_dict()))["engine"] == engine


def test_deferred_acceptance_is_stable(scenario: tm.Scenario) -> None:
    out = simulate_scenario(scenario, engine="deferred-acceptance")
    assert out.blocking == 0
    assert len(out.movers) > 0


def test_rounds_move_people_and_explain_refusals(scenario: tm.Scenario) -> None:
    out = simulate_scenario(scenario, engine="rounds", seed=1)
    assert len(out.movers) > 0
    assert out.history and out.history[0]["round"] == 1
    assert sum(h["moves"] for h in out.history) == len(out.movers)
    for r in out.refusals:
        assert r["refused"] == sum(r["top_reasons"].values())


def test_rounds_reproducible_and_seed_sensitive() -> None:
    s = tm.scenario_from_dict(market_data(rounds=6))
    a = simulate_scenario(s, seed=11)
    b = simulate_scenario(s, seed=11)
    assert a.to_dict() == b.to_dict()
    finals = {tuple(simulate_scenario(s, seed=k).final) for k in range(4)}
    assert len(finals) > 1


def test_one_round_without_peers_is_the_decision_model() -> None:
    data = market_data(rounds=1)
    data["cohorts"]["small-lab-staff"]["preferences"]["peers"] = 0.0
    data["researchers"]["ada"]["preferences"]["peers"] = 0.0
    data["labs"]["big-lab"]["capacity"] = 100
    data["market"]["labs"]["small-lab"]["counter"] = "never"
    s = tm.scenario_from_dict(data)
    out = simulate_scenario(s, seed=5)
    d = tm.decide(tm.value_scenario(tm.compile_scenario(s, 5), seed=5))
    expected = []
    for oid, offer in s.offers.items():
        for person in d.people:
            if oid in d.alternatives[d.index(person)] and (
                person == offer.to or person.startswith(offer.to + "-")
            ):
                expected.append(d.probability_of(person, oid))
    assert np.allclose(out.opening_probability, expected, rtol=1e-9, atol=1e-12)
    # And the realized acceptances are draws from those probabilities.
    assert len(out.movers) <= len(expected)


def test_tight_budget_is_never_exceeded() -> None:
    data = market_data()
    data["labs"]["big-lab"]["budget_usd"] = "25M"
    out = simulate_scenario(tm.scenario_from_dict(data), seed=2)
    j = out.lab_ids.index("big-lab")
    assert out.spend_usd[j] <= 25e6


def test_builtin_ai_labs_market_runs_at_5000_researchers() -> None:
    data, _ = tm.scenario.read_scenario_data("builtin:ai-labs-2025")
    data = copy.deepcopy(data)
    data["settings"]["paths"] = 1000
    data["market"]["rounds"] = 3
    s = tm.scenario_from_dict(data)
    out = simulate_scenario(s, seed=1)
    assert len(out.researcher_ids) >= 5000 and len(out.lab_ids) == 10
    assert out.flows.sum() == len(out.researcher_ids)
    labs = {row["lab"]: row for row in out.labs_table()}
    assert labs["meta-msl"]["hires"] <= 70
