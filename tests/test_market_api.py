"""The public surface of talentmarket.market is small and pinned."""

from __future__ import annotations

import talentmarket.market as market


def test_public_names_are_pinned() -> None:
    # Engines, instances, checks and results; the scenario market (rounds, simulate) adds
    # ENGINE_NAMES, MarketOutcome, RoundsInput, RoundsResult, compile_rounds, rounds_market and
    # simulate_scenario.
    assert market.__all__ == [
        "ENGINES",
        "ENGINE_FEATURES",
        "ENGINE_NAMES",
        "AssignmentInstance",
        "AssignmentLab",
        "CRRAUtility",
        "CoreViolations",
        "Engine",
        "Market",
        "MarketOutcome",
        "MatchingInstance",
        "MatchingLab",
        "MatchingResult",
        "Rankings",
        "RoundsInput",
        "RoundsResult",
        "SurplusGap",
        "TabulatedUtility",
        "Valuations",
        "assignment_auction",
        "blocking_pairs",
        "check_validity",
        "compile_assignment_instance",
        "compile_matching_instance",
        "compile_rounds",
        "core_violations",
        "deferred_acceptance",
        "kelso_crawford_auction",
        "read_instance",
        "register_engine",
        "rounds_market",
        "salary_auction",
        "simulate_scenario",
        "solve",
        "surplus_gap",
    ]
    for name in market.__all__:
        assert getattr(market, name) is not None
