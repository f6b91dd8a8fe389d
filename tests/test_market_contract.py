"""The contract every market engine passes, parametrized over the engine registry.

An engine joins this suite by registering itself in ``talentmarket.market.ENGINES`` (an
``Engine`` with ``solve(market, rng) -> MatchingResult``) from a module that
``talentmarket.market`` imports; nothing here names engines one by one. The markets generated
carry everything an engine may read: rankings, values, budgets, relative steps, CRRA utility
and amenities.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from rich.console import Console

from market_strategies import markets
from talentmarket.market import (
    ENGINE_FEATURES,
    ENGINES,
    Market,
    MatchingResult,
    check_validity,
    solve,
)

ENGINE_NAMES = sorted(ENGINES)


def test_registry_lists_the_engines() -> None:
    assert {
        "deferred-acceptance-researchers",
        "deferred-acceptance-labs",
        "assignment-auction",
        "kelso-crawford",
        "salary-auction",
    } <= set(ENGINES)
    for name, engine in ENGINES.items():
        assert engine.name == name
        assert engine.needs in ("rankings", "values")
        assert engine.features <= ENGINE_FEATURES


def _solvable(engine: str, market: Market) -> Market:
    """Strip the optional parts of the valuations that the engine does not handle."""
    features = ENGINES[engine].features
    val = market.valuations
    if val is None:
        return market
    changes: dict[str, Any] = {}
    if "budgets" not in features:
        changes["budget_usd"] = np.full(market.n_labs, np.inf)
    if "relative_step" not in features:
        changes["step_relative"] = 0.0
    if "utility" not in features:
        changes["utility"] = None
        changes["amenity"] = None
    return dataclasses.replace(market, valuations=dataclasses.replace(val, **changes))


@pytest.mark.parametrize("engine", ENGINE_NAMES)
@settings(max_examples=40, deadline=None)
@given(market=markets())
def test_engine_contract(engine: str, market: Market) -> None:
    market = _solvable(engine, market)
    spec = ENGINES[engine]
    result = solve(market, engine, seed=7)

    # The result describes this market and is feasible.
    assert isinstance(result, MatchingResult)
    assert result.market is market
    assert result.basis == spec.needs
    assert result.lab_of.shape == (market.n_researchers,)
    assert result.lab_of.dtype == np.int64
    assert check_validity(result) == ()
    if spec.stochastic:
        assert result.seed == 7

    # Same inputs, same seed: same result.
    again = solve(market, engine, seed=7)
    np.testing.assert_array_equal(again.lab_of, result.lab_of)
    if result.salaries_usd is not None:
        np.testing.assert_array_equal(again.salaries_usd, result.salaries_usd)

    # JSON shape of `talentmarket match`: every researcher exactly once.
    payload = json.loads(json.dumps(result.to_dict()))
    assert set(payload["assignment"]) == set(market.lab_ids)
    listed = [r for rs in payload["assignment"].values() for r in rs] + payload["unmatched"]
    assert sorted(listed) == sorted(market.researcher_ids)
    assert isinstance(payload["blocking_pairs"], int)
    if result.salaries_usd is not None:
        assert set(payload["salaries"]) == {r for rs in payload["assignment"].values() for r in rs}


@pytest.mark.parametrize("engine", ENGINE_NAMES)
def test_result_is_immutable_and_summary_returns(
    engine: str, capsys: pytest.CaptureFixture[str]
) -> None:
    market = _solvable(engine, _small_market())
    result = solve(market, engine)
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.engine = "other"  # type: ignore[misc]
    with pytest.raises(ValueError, match="read-only"):
        result.lab_of[0] = 0
    renderable = result.summary()
    assert capsys.readouterr().out == ""  # summary() returns, never prints
    console = Console(record=True, width=100)
    console.print(renderable)
    assert "researchers matched" in console.export_text()
    frame = result.to_frame()
    assert list(frame["researcher"]) == list(market.researcher_ids)


def _small_market() -> Market:
    from talentmarket.market import Rankings, Valuations

    rankings = Rankings.from_lists([0, 2, 3, 3], [0, 1, 1], [0, 2, 4], [0, 1, 1, 2])
    valuations = Valuations.from_dense(
        [[300_000.0, 200_000.0, np.nan], [250_000.0, 260_000.0, 100_000.0]], step_usd=1_000
    )
    capacity = np.array([1, 2])
    return Market(("a", "b", "c"), ("X", "Y"), capacity, rankings=rankings, valuations=valuations)


def test_unknown_engine_names_the_known_ones() -> None:
    from talentmarket import UnknownIdError

    with pytest.raises(UnknownIdError, match="unknown engine 'nope'; known: assignment-auction"):
        solve(_small_market(), "nope")
