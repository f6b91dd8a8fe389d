"""The decision model: logit probabilities, exact explanations, bounded money, the built-in case."""

from __future__ import annotations

import copy
import math
from typing import Any

import numpy as np
import pytest

from conftest import DESIGN_EXAMPLE
from talentmarket.choice import acceptance_curve, decide
from talentmarket.scenario import compile_scenario, read_scenario_data, scenario_from_dict
from talentmarket.valuation._scenario import value_scenario


def simple(
    *,
    base: float = 2e6,
    wealth: float = 1e6,
    eta: float = 2.0,
    culture: float = 0.0,
    money: float = 1.0,
    paths: int = 200,
    stay_base: float = 0.0,
) -> dict[str, Any]:
    """One researcher, one cash-only offer: every package is deterministic."""
    return {
        "name": "simple",
        "settings": {"horizon_years": 1, "discount_rate": 0.0, "paths": paths},
        "labs": {
            "home": {"attributes": {"culture": 0.0}},
            "rival": {"attributes": {"culture": culture}},
        },
        "researchers": {
            "r": {
                "employer": "home",
                "wealth_usd": wealth,
                "risk_aversion": eta,
                "package": {"base_usd": stay_base},
                "preferences": {"money": money, "culture": 1.0},
            }
        },
        "offers": {"o": {"from": "rival", "to": "r", "package": {"base_usd": base}}},
    }


def run(data: dict[str, Any], **kw: Any) -> Any:
    s = scenario_from_dict(data)
    return value_scenario(compile_scenario(s), **kw)


def test_deterministic_money_term_is_crra_of_relative_wealth() -> None:
    v = run(simple(base=3e6, wealth=1e6, eta=2.0))
    d = decide(v)
    # m = u((W0 + x) / W0) with u(w) = 1 - 1/w at eta = 2; staying has x = 0.
    assert d.money_utility[0, 1] == pytest.approx(1 - 1 / 4, rel=1e-12)
    assert d.money_utility[0, 0] == pytest.approx(0.0, abs=1e-12)
    p = 1 / (1 + math.exp(-0.75))
    assert d.probability[0, 1] == pytest.approx(p, rel=1e-12)
    assert d.certainty_equivalent[0, 1] == pytest.approx(3e6, rel=1e-9)


def test_probabilities_sum_to_one_and_components_sum_to_utility_difference() -> None:
    s = scenario_from_dict(__import__("yaml").safe_load(DESIGN_EXAMPLE.read_text()))
    d = decide(value_scenario(compile_scenario(s), paths=2000))
    assert np.allclose(d.probability.sum(axis=1), 1.0, atol=1e-12)
    diff = d.utility[:, 1:] - d.utility[:, :1]
    assert np.allclose(d.components[:, 1:].sum(axis=2), diff, atol=1e-9, rtol=0)
    # Explanations in JSON say the same.
    item = d.to_dict()["decisions"][0]
    total = sum(f["utility"] for f in item["explanations"]["big-offer"]["factors"])
    assert total == pytest.approx(diff[0, 0], abs=1e-9)


@pytest.mark.parametrize("eta", [0.5, 1.0, 2.0, 4.0])
def test_monotone_in_money(eta: float) -> None:
    v = run(simple(eta=eta, culture=-1.0))
    curve = acceptance_curve(v, "o", np.logspace(-2, 3, 25)).probability[:, 0]
    assert (np.diff(curve) >= 0).all()
    unsaturated = curve[1:] < 1 - 1e-9
    assert (np.diff(curve)[unsaturated] > 0).all()


def test_bounded_money_supremum_and_no_amount() -> None:
    # eta = 2: m < 1 for any amount, so with a culture deficit of 3 the offer can never beat
    # staying: P(accept) < 1 / (1 + e^(3 - 1)).
    v = run(simple(eta=2.0, culture=-3.0))
    sup = 1 / (1 + math.exp(3.0 - 1.0))
    curve = acceptance_curve(v, "o", [1.0, 1e3, 1e6, 1e9]).probability[:, 0]
    assert (curve < sup).all()
    assert curve[-1] == pytest.approx(sup, rel=1e-6)
    d = decide(v)
    culture = next(f for f in d.explanation("r", "o") if f["factor"] == "culture")
    assert culture["no_amount"] is True and culture["money_equivalent_usd"] is None


def test_money_equivalent_known_answer() -> None:
    # Deficit 0.5 at eta = 2 from b = 1: u(1 + c/W0) = 0.5  =>  c = W0 = 1M.
    v = run(simple(eta=2.0, culture=-0.5, wealth=1e6))
    culture = next(f for f in decide(v).explanation("r", "o") if f["factor"] == "culture")
    assert culture["no_amount"] is False
    assert culture["money_equivalent_usd"] == pytest.approx(-1e6, rel=1e-9)


def test_unbounded_money_always_compensates() -> None:
    v = run(simple(eta=0.5, culture=-50.0))
    culture = next(f for f in decide(v).explanation("r", "o") if f["factor"] == "culture")
    assert culture["no_amount"] is False and culture["money_equivalent_usd"] < 0


def test_zero_money_weight_means_no_amount() -> None:
    v = run(simple(money=0.0, culture=-0.1))
    culture = next(f for f in decide(v).explanation("r", "o") if f["factor"] == "culture")
    assert culture["no_amount"] is True


def test_same_seed_same_numbers() -> None:
    data, _ = read_scenario_data("builtin:meta-tml-2025")
    a = decide(run(data, paths=2000))
    b = decide(run(copy.deepcopy(data), paths=2000))
    assert np.array_equal(a.probability, b.probability)
    c = decide(run(data, paths=2000, seed=1))
    assert not np.array_equal(a.probability, c.probability)


# --- the built-in scenario reproduces 2025 for the reported reasons ----------------------------


@pytest.fixture(scope="module")
def builtin() -> tuple[dict[str, Any], Any]:
    data, _ = read_scenario_data("builtin:meta-tml-2025")
    return data, run(data, paths=5000)


def test_expected_acceptances_below_one(builtin: Any) -> None:
    _, v = builtin
    d = decide(v)
    assert d.expected_acceptances() < 1.0
    assert len(d.people) >= 13  # the co-founder and the approached staff


def test_largest_offer_refused_for_leadership_mission_culture(builtin: Any) -> None:
    _, v = builtin
    d = decide(v)
    reasons = [r["factor"] for r in d.top_reasons("andrew-tulloch", "meta-to-tulloch")]
    assert set(reasons) == {"leadership", "mission", "culture"}
    money = next(
        f for f in d.explanation("andrew-tulloch", "meta-to-tulloch") if f["factor"] == "money"
    )
    assert money["utility"] > 0  # money favours Meta; it is not why he refuses
    assert d.probability_of("andrew-tulloch", "meta-to-tulloch") < 0.05


def test_ten_times_the_money_barely_moves_him(builtin: Any) -> None:
    _, v = builtin
    p1 = decide(v).probability_of("andrew-tulloch", "meta-to-tulloch")
    p10 = decide(v, scale={"meta-to-tulloch": 10.0}).probability_of(
        "andrew-tulloch", "meta-to-tulloch"
    )
    assert p10 > p1
    assert p10 - p1 < 0.05


def test_leader_and_mission_change_moves_him_fivefold(builtin: Any) -> None:
    data, v = builtin
    p1 = decide(v).probability_of("andrew-tulloch", "meta-to-tulloch")
    edited = copy.deepcopy(data)
    edited["labs"]["meta-msl"]["leader"] = "mira-murati"
    edited["labs"]["meta-msl"]["mission"] = {"frontier_research": 1.0}
    p2 = decide(run(edited, paths=5000)).probability_of("andrew-tulloch", "meta-to-tulloch")
    assert p2 >= 5 * p1


@pytest.mark.parametrize(("wealth", "eta"), [(1e7, 3.0), (1e6, 5.0), (1e7, 1.5), (5e7, 2.0)])
def test_value_nodes_keep_certainty_equivalents_within_one_percent(
    builtin: Any, wealth: float, eta: float
) -> None:
    from talentmarket.choice import (
        certainty_equivalent_from_utility,
        expected_money_utility,
        value_nodes,
    )
    from talentmarket.valuation import certainty_equivalent

    _, v = builtin
    for group, offer in [("andrew-tulloch", "meta-to-tulloch"), ("tml-staff", None)]:
        pv = v.package_value(group, offer).pv
        full = float(certainty_equivalent(pv, wealth, eta))
        w, e = np.array([wealth]), np.array([eta])
        nodes = certainty_equivalent_from_utility(
            expected_money_utility(value_nodes(pv), w, e), w, e
        )[0]
        assert nodes == pytest.approx(full, rel=0.01)
        assert value_nodes(pv) @ __import__("talentmarket").choice.node_weights() == pytest.approx(
            pv.mean(), rel=1e-12
        )
