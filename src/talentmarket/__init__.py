"""talentmarket: models the market for scarce AI talent.

Value multi-year packages as distributions and as certainty equivalents, predict whether a
person accepts and explain why per factor, and run whole scenarios end to end::

    import talentmarket as tm
    scenario = tm.load_scenario("builtin:meta-tml-2025")
    valuation = tm.value_scenario(tm.compile_scenario(scenario))
    decisions = tm.decide(valuation)
"""

from __future__ import annotations

__version__ = "0.1.0"

from talentmarket._errors import (
    ConvergenceError,
    InputError,
    Issue,
    ScenarioError,
    TalentMarketError,
    UnknownIdError,
)
from talentmarket.choice import (
    AcceptanceCurve,
    DecisionResult,
    acceptance_curve,
    decide,
)
from talentmarket.runs import RunResult, run_scenario
from talentmarket.scenario import (
    CompiledScenario,
    Scenario,
    compile_scenario,
    load_scenario,
    scenario_from_dict,
)
from talentmarket.valuation._scenario import (
    PackageValue,
    ScenarioValuation,
    value_scenario,
)

__all__ = [
    "AcceptanceCurve",
    "CompiledScenario",
    "ConvergenceError",
    "DecisionResult",
    "InputError",
    "Issue",
    "PackageValue",
    "RunResult",
    "Scenario",
    "ScenarioError",
    "ScenarioValuation",
    "TalentMarketError",
    "UnknownIdError",
    "__version__",
    "acceptance_curve",
    "compile_scenario",
    "decide",
    "load_scenario",
    "run_scenario",
    "scenario_from_dict",
    "value_scenario",
]
