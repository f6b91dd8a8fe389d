"""Estimation: discrete-choice maximum likelihood from a table of observed decisions.

``fit(decisions, spec)`` estimates a conditional (multinomial) logit, linear or with DESIGN.md's
CRRA money term (nonlinear in its curvature ETA), or a mixed logit simulated with Halton draws
(per person with a person column: the panel likelihood). The :class:`EstimationResult` carries
estimates, classical, robust and person-clustered standard errors, fit statistics, money
equivalents with delta-method errors and a scenario ``preferences`` block.

The likelihood kernels are plain functions over a compiled :class:`Design`
(``log_likelihood``, ``gradient``, ``loss_and_gradient``, ``observation_scores``,
``hessian``), so that tests and other engines can use them directly.

``simulate_decisions(scenario)`` draws a decisions table from a scenario's own decision model
(``talentmarket simulate-decisions``), so that a fit can be checked against known weights.
"""

from __future__ import annotations

from talentmarket.estimation._data import DecisionTable, read_decisions, validate_decisions
from talentmarket.estimation._design import Design, compile_design
from talentmarket.estimation._fit import fit, prepare
from talentmarket.estimation._halton import standard_draws, uniform_draws
from talentmarket.estimation._loglik import (
    gradient,
    hessian,
    log_likelihood,
    loss_and_gradient,
    observation_scores,
)
from talentmarket.estimation._money import (
    inverse_money_utility,
    money_utility,
    money_utility_derivatives,
)
from talentmarket.estimation._results import FACTORS, EstimationResult
from talentmarket.estimation._simulate import simulate_decisions, write_decisions
from talentmarket.estimation._spec import (
    ColumnsSpec,
    ConstantsSpec,
    DrawsSpec,
    ModelSpec,
    MoneySpec,
    load_spec,
    parse_spec,
)

__all__ = [
    "FACTORS",
    "ColumnsSpec",
    "ConstantsSpec",
    "DecisionTable",
    "Design",
    "DrawsSpec",
    "EstimationResult",
    "ModelSpec",
    "MoneySpec",
    "compile_design",
    "fit",
    "gradient",
    "hessian",
    "inverse_money_utility",
    "load_spec",
    "log_likelihood",
    "loss_and_gradient",
    "money_utility",
    "money_utility_derivatives",
    "observation_scores",
    "parse_spec",
    "prepare",
    "read_decisions",
    "simulate_decisions",
    "standard_draws",
    "uniform_draws",
    "validate_decisions",
    "write_decisions",
]
