"""How the probability of accepting responds to the size of an offer."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from talentmarket.choice._decide import decide
from talentmarket.valuation._scenario import ScenarioValuation

F64 = NDArray[np.float64]


@dataclass(frozen=True)
class AcceptanceCurve:
    """P(accept) of each recipient of ``offer`` at each scale of its amounts.

    scales: (S,) multipliers of every amount of the offer's package; probability: (S, n).
    """

    offer: str
    people: tuple[str, ...]
    scales: F64
    probability: F64
    headline_usd: F64

    def to_dict(self) -> dict[str, Any]:
        return {
            "offer": self.offer,
            "scales": self.scales.tolist(),
            "headline_usd": self.headline_usd.tolist(),
            "people": list(self.people),
            "probability": self.probability.T.tolist(),
            "mean_probability": self.probability.mean(axis=1).tolist(),
        }


def acceptance_curve(
    valuation: ScenarioValuation,
    offer: str,
    scales: Sequence[float] | F64 | None = None,
) -> AcceptanceCurve:
    """P(accept) for every recipient of ``offer`` as its amounts are scaled (default 0.1x-100x,
    31 points on a log grid)."""
    grid = np.logspace(-1, 2, 31) if scales is None else np.asarray(scales, dtype=float)
    scenario = valuation.compiled.scenario
    group = scenario.offers[offer].to
    people = list(
        valuation.compiled.population.ids[i] for i in valuation.compiled.population.members(group)
    )
    probs = np.empty((len(grid), len(people)))
    heads = np.empty(len(grid))
    for k, s in enumerate(grid):
        result = decide(valuation, people=people, scale={offer: float(s)})
        probs[k] = result.acceptance(offer)
        heads[k] = valuation.package_value(group, offer, float(s)).headline
    return AcceptanceCurve(offer, tuple(people), grid, probs, heads)
