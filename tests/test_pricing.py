"""The price of talent: inverse consistency, the analytic bound, cohorts, counters, design."""

from __future__ import annotations

import copy
import math
from typing import Any

import numpy as np
import pytest
import yaml

from conftest import DESIGN_EXAMPLE
from talentmarket.choice import decide
from talentmarket.pricing import counter, design, price, sensitivity
from talentmarket.scenario import compile_scenario, read_scenario_data, scenario_from_dict
from talentmarket.valuation._scenario import value_scenario
from test_decisions import simple


def valued(data: dict[str, Any], paths: int | None = None) -> Any:
    return value_scenario(compile_scenario(scenario_from_dict(data)), paths=paths)


@pytest.fixture(scope="module")
def example() -> Any:
    data = yaml.safe_load(DESIGN_EXAMPLE.read_text())
    # Make the example's cohort winnable at some price: a milder view of big-lab.
    data["labs"]["big-lab"]["attributes"]["culture"] = 0.5
    prefs = data["cohorts"]["small-lab-staff"]["preferences"]
    prefs["leadership"]["affinity"]["pat-lee"] = 1.0
    prefs["mission"]["ideal"]["consumer_products"] = 0.5
    data["offers"]["cohort-offer"] = {
        "from": "big-lab", "to": "small-lab-staff",
        "package": {"base_usd": "1M", "sign_on_usd": "5M",
                    "grants": [{"type": "rsu", "value_usd": "20M",
                                "vesting": {"months": 48, "every": 3}}]}}
    return data, valued(data, paths=4000)


@pytest.mark.parametrize("target", [0.15, 0.2, 0.3, 0.4])
def test_inverse_consistency(example: Any, target: float) -> None:
    _, v = example
    result = price(v, "cohort-offer", target=target)
    ok = [i for i, s in enumerate(result.status) if s == "ok"]
    assert ok, result.status
    for i in ok:
        person, s = result.people[i], float(result.scale[i])
        at = decide(v, people=[person], scale={"cohort-offer": s})
        below = decide(v, people=[person], scale={"cohort-offer": 0.99 * s})
        assert abs(at.probability_of(person, "cohort-offer") - target) < 0.002
        assert below.probability_of(person, "cohort-offer") < target
        assert result.probability_at_price[i] == pytest.approx(target, abs=0.002)


@pytest.mark.parametrize("culture", [-0.5, -1.0, -2.0, -3.0])
@pytest.mark.parametrize("eta", [1.5, 2.0, 3.0])
def test_unattainable_exactly_when_the_analytic_bound_is_below_target(
    culture: float, eta: float
) -> None:
    # Deterministic cash offer, nothing at stake when staying: m(inf) = 1 / (eta - 1), so
    # sup P = sigmoid(1 / (eta - 1) + culture).
    v = valued(simple(eta=eta, culture=culture))
    sup = 1.0 / (1.0 + math.exp(-(1.0 / (eta - 1.0) + culture)))
    for target in (0.5 * sup, 0.999 * sup, 1.001 * sup, min(0.5 * (1 + sup), 0.99)):
        if not 0 < target < 1:
            continue
        r = price(v, "o", target=target)
        assert r.sup_probability[0] == pytest.approx(sup, rel=1e-9)
        p0 = 1.0 / (1.0 + math.exp(-culture))  # no money at all
        expected = "unattainable" if sup < target else "already" if p0 >= target else "ok"
        assert r.status[0] == expected, (target, sup)


def test_money_without_bound_always_has_a_price() -> None:
    r = price(valued(simple(eta=0.8, culture=-8.0)), "o", target=0.9)
    assert r.status == ("ok",) and r.sup_probability[0] == 1.0


def test_already_when_no_money_is_needed() -> None:
    r = price(valued(simple(culture=2.0)), "o", target=0.5)
    assert r.status == ("already",) and r.scale[0] == 0.0


def test_monotone_in_target(example: Any) -> None:
    _, v = example
    scales = np.array([price(v, "cohort-offer", target=t).scale for t in (0.15, 0.2, 0.3, 0.4)])
    finite = np.isfinite(scales).all(axis=0)
    assert finite.any()
    kept = scales[:, finite]
    assert (np.diff(kept, axis=0) >= 0).all()
    positive = (kept[:-1] > 0) & (kept[1:] > 0)
    assert positive.any() and (np.diff(kept, axis=0)[positive] > 0).all()


def test_cohort_equals_one_at_a_time(example: Any) -> None:
    _, v = example
    cohort = price(v, "cohort-offer", target=0.3)
    for i, person in enumerate(cohort.people[:10]):
        one = price(v, "cohort-offer", people=[person], target=0.3)
        assert one.status[0] == cohort.status[i]
        if np.isfinite(one.scale[0]):
            assert one.scale[0] == pytest.approx(cohort.scale[i], rel=1e-9)
    curve = cohort.cost_curve()
    assert curve["unattainable"] == cohort.n_unattainable
    assert (np.diff(curve["total_employer_cost_usd"]) >= 0).all()


def test_price_headline_and_cost_are_linear_in_scale(example: Any) -> None:
    _, v = example
    r = price(v, "cohort-offer", target=0.3)
    i = next(i for i, s in enumerate(r.status) if s == "ok")
    value = v.package_value("small-lab-staff", "cohort-offer", float(r.scale[i]))
    assert r.headline_usd[i] == pytest.approx(value.headline, rel=1e-9)
    assert r.employer_cost_usd[i] == pytest.approx(value.expected_employer_cost, rel=1e-9)


def test_builtin_largest_offer_is_unattainable_at_even_odds() -> None:
    data, _ = read_scenario_data("builtin:meta-tml-2025")
    r = price(valued(data, paths=3000), "meta-to-tulloch", target=0.5)
    assert r.status == ("unattainable",)
    assert r.sup_probability[0] < 0.01
    assert "leadership" in r.reason(0) and "no amount" in r.reason(0)


def test_counter_and_price_are_the_same_situation(example: Any) -> None:
    data = copy.deepcopy(example[0])
    # Make ada likely to leave: she now likes the rival's leader.
    prefs = data["researchers"]["ada"]["preferences"]
    prefs["leadership"]["affinity"]["pat-lee"] = 2.0
    prefs["mission"]["ideal"]["consumer_products"] = 1.0
    prefs["culture"] = 0.0
    v = valued(data, paths=4000)
    assert decide(v, people=["ada"]).probability_of("ada", "big-offer") > 0.5
    c = counter(v, "big-offer", target=0.5, cash_fraction=1.0)
    assert c.status == ("ok",), c.reason(0)
    # Add the counter (a cash raise) to ada's current package: the offer as written now has
    # even odds, so pricing it at 0.5 from the other side gives scale 1.
    from talentmarket.scenario import parse_amount

    pkg = data["researchers"]["ada"]["package"]
    pkg["base_usd"] = parse_amount(pkg["base_usd"]) + c.template["base_usd"] * float(c.scale[0])
    p = price(valued(data, paths=4000), "big-offer", target=0.5)
    assert p.status == ("ok",)
    assert p.scale[0] == pytest.approx(1.0, rel=1e-2)


def test_design_never_worse_and_prefers_cash_when_risk_averse() -> None:
    data = simple(eta=3.0, culture=-0.2, base=1e6, wealth=5e6, paths=3000)
    data["settings"]["horizon_years"] = 4
    data["labs"]["rival"]["equity"] = {"type": "public", "price_usd": 100, "drift": 0.05,
                                        "volatility": 0.8}
    data["offers"]["o"]["package"] = {"base_usd": "1M", "grants": [
        {"type": "rsu", "value_usd": "20M", "vesting": {"months": 48, "every": 3}}]}
    v = valued(data)
    r = design(v, "o")
    assert r.best.probability >= r.original.probability
    assert r.gain > 0
    assert r.best.cash_fraction is not None and r.best.cash_fraction >= 0.75
    by_cash = {c.cash_fraction: c.probability for c in r.candidates
               if c.sign_on_fraction == 0.0 and c.front_loading == 0.0 and not c.make_whole}
    cash = sorted(by_cash)
    assert by_cash[cash[-1]] > by_cash[cash[0]]
    # The recommended snippet is a valid package.
    from talentmarket.scenario import Package

    Package.model_validate(r.best.package)


def test_sensitivity_flags_a_fragile_verdict() -> None:
    data = simple(eta=2.0, culture=-0.6, base=5e5, wealth=1e6)
    data["assumptions"] = {"labs.rival.attributes.culture": [-2.0, 1.0]}
    v = valued(data)
    r = sensitivity(v, data)
    verdict = r.verdicts()[0]
    assert verdict["robust"] is False
    assert verdict["flipped_by"] == ["labs.rival.attributes.culture"]


def test_answers_do_not_depend_on_the_number_of_threads() -> None:
    # Sums inside a parallel kernel become parallel reductions whose rounding follows the
    # thread count; the kernels keep them outside, so answers are the same to the last bit.
    import numba

    from talentmarket.choice._money import money_terms
    from talentmarket.pricing._solve import minimum_scales

    rng = np.random.default_rng(5)
    x, y = np.sort(rng.lognormal(15, 1, 128)), rng.lognormal(13, 1, 128)
    wealth, eta = rng.lognormal(15, 1, 501), rng.uniform(0.5, 3.0, 501)
    m_star = money_terms(np.full(501, 2.0), x, y, wealth, eta)
    before = numba.get_num_threads()
    answers = []
    try:
        for threads in sorted({1, numba.config.NUMBA_NUM_THREADS}):
            numba.set_num_threads(threads)
            answers.append(
                (
                    minimum_scales(x, y, wealth[:2], eta[:2], m_star[:2])[0],
                    minimum_scales(x, y, wealth, eta, m_star)[0],
                    money_terms(np.full(501, 1.3), x, y, wealth, eta),
                )
            )
    finally:
        numba.set_num_threads(before)
    for a, b in zip(answers[0], answers[-1], strict=True):
        assert a.tobytes() == b.tobytes()
