"""The price of talent: minimum winning offers, counter-offers, package design, sensitivity."""

from __future__ import annotations

from talentmarket.pricing._design import DesignCandidate, DesignResult, design
from talentmarket.pricing._price import PriceResult, counter, price, retention_template
from talentmarket.pricing._sensitivity import SensitivityInput, SensitivityResult, sensitivity
from talentmarket.pricing._solve import minimum_scales, money_term_limit, money_terms

__all__ = [
    "DesignCandidate",
    "DesignResult",
    "PriceResult",
    "SensitivityInput",
    "SensitivityResult",
    "counter",
    "design",
    "minimum_scales",
    "money_term_limit",
    "money_terms",
    "price",
    "retention_template",
    "sensitivity",
]
