"""The public surface of talentmarket.market is small and pinned."""

from __future__ import annotations

import talentmarket.market as market


def test_public_names_are_pinned() -> None:
    assert market.__all__ == [
        "ENGINES",
        "ENGINE_FEATURES",
        "AssignmentInstance",
        "AssignmentLab",
        "CRRAUtility",
        "CoreViolations",
        "Engine",
        "Market",
        "MatchingInstance",
        "MatchingLab",
        "MatchingResult",
        "Rankings",
        "SurplusGap",
        "TabulatedUtility",
        "Valuations",
        "assignment_auction",
        "blocking_pairs",
        "check_validity",
        "compile_assignment_instance",
        "compile_matching_instance",
        "core_violations",
        "deferred_acceptance",
        "kelso_crawford_auction",
        "read_instance",
        "register_engine",
        "salary_auction",
        "solve",
        "surplus_gap",
    ]
    for name in market.__all__:
        assert getattr(market, name) is not None
