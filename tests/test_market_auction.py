"""Salary auctions: surplus against the LP optimum, core inequalities, rationality, budgets."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings

from market_strategies import assignment_instances
from talentmarket import InputError
from talentmarket.market import (
    CRRAUtility,
    Market,
    TabulatedUtility,
    Valuations,
    assignment_auction,
    check_validity,
    compile_assignment_instance,
    core_violations,
    kelso_crawford_auction,
    salary_auction,
    surplus_gap,
)

QUASI_LINEAR_ENGINES = {
    "assignment-auction": assignment_auction,
    "assignment-auction-own-salaries": lambda m: assignment_auction(m, salaries="auction"),
    "kelso-crawford": kelso_crawford_auction,
}


@pytest.mark.parametrize("engine", sorted(QUASI_LINEAR_ENGINES))
@settings(max_examples=120, deadline=None)
@given(instance=assignment_instances(max_researchers=9, max_labs=4))
def test_quasi_linear_surplus_core_and_rationality(instance: dict[str, Any], engine: str) -> None:
    market = compile_assignment_instance(instance)
    result = QUASI_LINEAR_ENGINES[engine](market)
    assert check_validity(result) == ()
    gap = surplus_gap(result)
    # Within (hires x step) of the optimum from linear_sum_assignment.
    assert gap.gap_usd >= -1e-6
    assert gap.within_bound, gap
    core = core_violations(result)
    assert core.ok, core
    salaries = result.salaries_usd
    assert salaries is not None
    values = result.pair_values_usd()
    assert values is not None
    matched = result.lab_of >= 0
    assert np.all(salaries >= 0)
    assert np.all(salaries[~matched] == 0)
    assert np.all(values[matched] - salaries[matched] >= -1e-6)  # labs never lose money


@settings(max_examples=120, deadline=None)
@given(instance=assignment_instances(max_researchers=9, max_labs=4, budgets=True))
def test_budgets_never_exceeded(instance: dict[str, Any]) -> None:
    market = compile_assignment_instance(instance)
    result = salary_auction(market)
    assert check_validity(result) == ()
    spend = result.spend_usd()
    assert spend is not None
    val = market.valuations
    assert val is not None
    assert np.all(spend <= val.budget_usd + 1e-6)
    if not val.has_budgets:
        assert surplus_gap(result).within_bound


def _market(values: Any, capacity: Any, **kwargs: Any) -> Market:
    v = np.asarray(values, float)
    val = Valuations.from_dense(v, **kwargs)
    m, n = v.shape
    return Market(
        tuple(f"r{i:03d}" for i in range(n)),
        tuple(f"L{j:03d}" for j in range(m)),
        capacity,
        valuations=val,
    )


@pytest.mark.parametrize("engine", sorted(QUASI_LINEAR_ENGINES))
def test_second_price_known_answer(engine: str) -> None:
    # One researcher, labs valuing them 100k, 60k and 30k: the 100k lab hires at about 60k.
    market = _market([[100_000], [60_000], [30_000]], [1, 1, 1], step_usd=1_000)
    result = QUASI_LINEAR_ENGINES[engine](market)
    assert result.lab_of.tolist() == [0]
    assert result.salaries_usd is not None
    if engine == "assignment-auction-own-salaries":
        assert 59_000 <= result.salaries_usd[0] <= 100_000
    else:
        assert 59_000 <= result.salaries_usd[0] <= 61_000


def test_uncontested_researcher_earns_zero() -> None:
    market = _market([[100_000, 50_000]], [2], step_usd=1_000)
    for result in (assignment_auction(market), kelso_crawford_auction(market)):
        assert result.lab_of.tolist() == [0, 0]
        np.testing.assert_allclose(result.salaries_usd, [0, 0])  # type: ignore[arg-type]


def test_ties_broken_by_stable_id() -> None:
    # Two identical researchers, one seat: the lower index (stable id order) is hired.
    market = _market([[50_000, 50_000]], [1], step_usd=1_000)
    for engine in (assignment_auction, kelso_crawford_auction):
        assert engine(market).lab_of.tolist() == [0, -1]
    # Two identical labs, one researcher: the lower lab index wins the tie.
    market = _market([[50_000], [50_000]], [1, 1], step_usd=1_000)
    assert kelso_crawford_auction(market).lab_of.tolist() == [0]
    assert assignment_auction(market).lab_of[0] in (0, 1)


@settings(max_examples=60, deadline=None)
@given(instance=assignment_instances(max_researchers=8, max_labs=4, density=1.0))
def test_crra_without_amenities_equals_money(instance: dict[str, Any]) -> None:
    # Researchers who care only about salary rank offers the same under any increasing
    # utility, so the Kelso-Crawford outcome must not change.
    market = compile_assignment_instance(instance)
    val = market.valuations
    assert val is not None
    n = market.n_researchers
    rng = np.random.default_rng(n)
    crra = CRRAUtility(rng.uniform(0, 4, n), rng.uniform(1e5, 1e7, n), rng.uniform(0.1, 3, n))
    knots = np.linspace(0, 5e6, 6)
    table = TabulatedUtility(np.tile(knots, (n, 1)), np.tile(np.sqrt(knots), (n, 1)))
    base = kelso_crawford_auction(market)
    for utility in (crra, table):
        other = dataclasses.replace(market, valuations=dataclasses.replace(val, utility=utility))
        result = kelso_crawford_auction(other)
        np.testing.assert_array_equal(result.lab_of, base.lab_of)
        np.testing.assert_allclose(result.salaries_usd, base.salaries_usd)  # type: ignore[arg-type]


@settings(max_examples=60, deadline=None)
@given(instance=assignment_instances(max_researchers=8, max_labs=4))
def test_crra_with_amenities_is_in_the_core(instance: dict[str, Any]) -> None:
    market = compile_assignment_instance(instance)
    val = market.valuations
    assert val is not None
    n, nnz = market.n_researchers, val.values_usd.size
    rng = np.random.default_rng(nnz)
    crra = CRRAUtility(rng.uniform(0, 3, n), rng.uniform(1e5, 1e7, n), np.ones(n))
    val2 = dataclasses.replace(val, utility=crra, amenity=rng.normal(0, 0.2, nnz))
    result = kelso_crawford_auction(dataclasses.replace(market, valuations=val2))
    assert check_validity(result) == ()
    assert core_violations(result).ok


def test_bounded_utility_can_refuse_any_salary() -> None:
    # eta = 3: money utility is bounded by 0.5; a lab the researcher dislikes by 1 util can
    # never win them, however much it values them ("no amount of money").
    utility = CRRAUtility(np.array([3.0]), np.array([1e6]), np.array([1.0]))
    val = Valuations.from_dense(
        [[1e9], [1e5]], step_usd=1_000, utility=utility, amenity=[-1.0, 0.0]
    )
    market = Market(("ada",), ("big", "small"), np.array([1, 1]), valuations=val)
    result = kelso_crawford_auction(market)
    assert result.lab_of.tolist() == [1]
    assert check_validity(result) == ()


def test_relative_step() -> None:
    market = _market([[1e6], [8e5]], [1, 1], step_usd=1_000, step_relative=0.05)
    result = salary_auction(market)
    assert result.engine == "kelso-crawford"
    assert result.lab_of.tolist() == [0]
    assert result.salaries_usd is not None
    assert 8e5 * 0.95 <= result.salaries_usd[0] <= 8e5 * 1.06
    assert core_violations(result).ok


def test_fast_engine_refuses_what_it_cannot_do() -> None:
    market = _market([[1.0]], [1], step_usd=1.0, budget_usd=[5.0])
    with pytest.raises(InputError, match="budgets need kelso_crawford_auction"):
        assignment_auction(market)
    assert salary_auction(market).engine == "kelso-crawford"


def test_dense_medium_market_against_lsa() -> None:
    rng = np.random.default_rng(3)
    values = rng.integers(0, 1_000_000, (20, 200)).astype(float)
    market = _market(values, np.full(20, 8), step_usd=100.0)
    result = assignment_auction(market)
    gap = surplus_gap(result)
    assert gap.within_bound
    assert core_violations(result).ok


@settings(max_examples=60, deadline=None)
@given(instance=assignment_instances(max_researchers=8, max_labs=4))
def test_war_shortcut_changes_nothing(instance: dict[str, Any]) -> None:
    # Without budgets the offer process ends in the same place whatever the order of offers,
    # so resolving bidding wars at once must equal replaying every single raise.
    market = compile_assignment_instance(instance)
    val = market.valuations
    assert val is not None
    n, nnz = market.n_researchers, val.values_usd.size
    rng = np.random.default_rng(nnz)
    crra = CRRAUtility(rng.uniform(0, 3, n), rng.uniform(1e5, 1e7, n), np.ones(n))
    for valuations in (
        val,
        dataclasses.replace(val, utility=crra, amenity=rng.normal(0, 0.2, nnz)),
    ):
        other = dataclasses.replace(market, valuations=valuations)
        fast = kelso_crawford_auction(other)
        slow = kelso_crawford_auction(other, shortcut_wars=False)
        np.testing.assert_array_equal(fast.lab_of, slow.lab_of)
        np.testing.assert_allclose(fast.salaries_usd, slow.salaries_usd)  # type: ignore[arg-type]
