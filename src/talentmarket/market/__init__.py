"""Markets: many labs competing for many researchers.

Engines (pure functions over a compiled :class:`Market`, returning :class:`MatchingResult`):

- :func:`deferred_acceptance` — stable matching, researcher- or lab-proposing (Gale & Shapley
  1962; Roth 1984);
- :func:`salary_auction` — the ascending salary auction: :func:`assignment_auction`
  (Bertsekas 1988, quasi-linear, fast) or :func:`kelso_crawford_auction` (Kelso & Crawford
  1982; any increasing utility of salary, budgets as a heuristic).

Checks are API: :func:`blocking_pairs`, :func:`check_validity`, :func:`core_violations`,
:func:`surplus_gap`. Every engine is registered in :data:`ENGINES` and passes one contract
test suite.
"""

from __future__ import annotations

from talentmarket.market._auction import (
    assignment_auction,
    kelso_crawford_auction,
    salary_auction,
)
from talentmarket.market._checks import (
    CoreViolations,
    SurplusGap,
    blocking_pairs,
    check_validity,
    core_violations,
    surplus_gap,
)
from talentmarket.market._compiled import (
    CRRAUtility,
    Market,
    Rankings,
    TabulatedUtility,
    Valuations,
)
from talentmarket.market._deferred_acceptance import deferred_acceptance
from talentmarket.market._instances import (
    AssignmentInstance,
    AssignmentLab,
    MatchingInstance,
    MatchingLab,
    compile_assignment_instance,
    compile_matching_instance,
    read_instance,
)
from talentmarket.market._registry import ENGINE_FEATURES, ENGINES, Engine, register_engine, solve
from talentmarket.market._results import MatchingResult
from talentmarket.market._rounds import RoundsInput, RoundsResult, rounds_market
from talentmarket.market._scenario import (
    ENGINE_NAMES,
    MarketOutcome,
    compile_rounds,
    simulate_scenario,
)

__all__ = [
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
