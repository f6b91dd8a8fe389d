"""The public surface is small and pinned: changing an __all__ is a decision, not an accident."""

from __future__ import annotations

import importlib

import pytest

PUBLIC = {
    "talentmarket": [
        "AcceptanceCurve", "CompiledScenario", "ConvergenceError", "DecisionResult",
        "InputError", "Issue", "PackageValue", "RunResult", "Scenario", "ScenarioError",
        "ScenarioValuation", "TalentMarketError", "UnknownIdError", "__version__",
        "acceptance_curve", "compile_scenario", "decide", "load_scenario", "run_scenario",
        "scenario_from_dict", "value_scenario",
    ],
    "talentmarket.choice": [
        "AcceptanceCurve", "DecisionResult", "acceptance_curve",
        "certainty_equivalent_from_utility", "decide", "expected_money_utility",
        "format_probability", "money_equivalents", "node_weights", "paired_nodes", "softmax",
        "value_nodes",
    ],
    "talentmarket.pricing": [
        "DesignCandidate", "DesignResult", "PriceResult", "SensitivityInput",
        "SensitivityResult", "counter", "design", "minimum_scales", "money_term_limit",
        "money_terms", "price", "retention_template", "sensitivity",
    ],
    "talentmarket.runs": [
        "RunResult", "RunTables", "SweepData", "SweepPlan", "SweepProgress", "SweepResult",
        "export_sweep", "load_sweep", "parse_assignment", "plan_sweep", "run_once", "run_plan",
        "run_scenario", "sweep",
    ],
    "talentmarket.report": [
        "SweepReport", "acceptance_curve_figure", "render_report", "render_sweep_report",
        "sweep_figures", "sweep_summary", "value_distribution_figure", "waterfall_figure",
        "write_sweep_report",
    ],
    "talentmarket.cli": ["app", "main"],
}


@pytest.mark.parametrize("module", sorted(PUBLIC))
def test_all_is_pinned(module: str) -> None:
    mod = importlib.import_module(module)
    assert sorted(mod.__all__) == sorted(PUBLIC[module])
    for name in mod.__all__:
        assert hasattr(mod, name), name


def test_scenario_and_valuation_surfaces_resolve() -> None:
    for module in ("talentmarket.scenario", "talentmarket.valuation"):
        mod = importlib.import_module(module)
        assert mod.__all__ and all(hasattr(mod, n) for n in mod.__all__)
