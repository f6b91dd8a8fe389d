"""Decisions: logit probabilities of accepting offers and their per-factor explanations."""

from __future__ import annotations

from talentmarket.choice._curve import AcceptanceCurve, acceptance_curve
from talentmarket.choice._decide import DecisionResult, decide, format_probability, softmax
from talentmarket.choice._money import (
    certainty_equivalent_from_utility,
    expected_money_utility,
    money_equivalents,
    node_weights,
    paired_nodes,
    value_nodes,
)

__all__ = [
    "AcceptanceCurve",
    "DecisionResult",
    "acceptance_curve",
    "certainty_equivalent_from_utility",
    "decide",
    "expected_money_utility",
    "format_probability",
    "money_equivalents",
    "node_weights",
    "paired_nodes",
    "softmax",
    "value_nodes",
]
