"""Package valuation: compiled package arrays in, simulated values and certainty equivalents out.

The scenario layer compiles packages into :class:`EquitySources`, :class:`PackageRows` and
:class:`EquityTranches`; :func:`simulate_values` turns them into :class:`ValueSamples`
(per-path present values, nominal amounts and employer cost); the CRRA functions turn values
into utilities and certainty equivalents.
"""

from __future__ import annotations

from talentmarket.valuation._arrays import (
    PRIVATE,
    PUBLIC,
    EquitySources,
    EquityTranches,
    PackageRows,
)
from talentmarket.valuation._crra import (
    certainty_equivalent,
    crra_inverse,
    crra_sup,
    crra_utility,
    distribution_nodes,
)
from talentmarket.valuation._kernel import ValueSamples, simulate_values

__all__ = [
    "PRIVATE",
    "PUBLIC",
    "EquitySources",
    "EquityTranches",
    "PackageRows",
    "ValueSamples",
    "certainty_equivalent",
    "crra_inverse",
    "crra_sup",
    "crra_utility",
    "distribution_nodes",
    "simulate_values",
]
