"""Robustness of verdicts to disputed figures and declared assumption ranges.

Inputs varied one at a time, each to the low and the high end of its range:
- every offer whose ``reported`` figure is ``disputed``: its amounts are scaled so that the
  model's headline equals the low and the high reported headline;
- every ``assumptions`` entry of the scenario (a field path and [low, high]): the scenario is
  edited, validated again and re-valued on the same seed.
For each approached researcher and offer the verdict at the offer as written (accept when
P >= 0.5) is robust when no end of any range flips it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from talentmarket.choice._decide import DecisionResult, decide
from talentmarket.pricing._price import price
from talentmarket.scenario._compile import compile_scenario
from talentmarket.scenario._load import scenario_from_dict
from talentmarket.scenario._paths import set_path
from talentmarket.valuation._scenario import ScenarioValuation, value_scenario

F64 = NDArray[np.float64]
THRESHOLD = 0.5


@dataclass(frozen=True)
class SensitivityInput:
    """One input varied over [low, high]: P(accept) per (person, offer) at each end."""

    name: str
    kind: str  # "disputed" | "assumption"
    low: Any
    high: Any
    p_low: dict[tuple[str, str], float]
    p_high: dict[tuple[str, str], float]
    price_low: dict[str, Any]
    price_high: dict[str, Any]


@dataclass(frozen=True)
class SensitivityResult:
    """Baseline probabilities and, per input, the probabilities at both ends of its range."""

    baseline: dict[tuple[str, str], float]
    baseline_price: dict[str, Any]
    inputs: tuple[SensitivityInput, ...]
    largest_offer: str | None
    seed: int

    def flips(self, key: tuple[str, str]) -> list[str]:
        """Names of the inputs whose low or high end flips the verdict for (person, offer)."""
        base = self.baseline[key] >= THRESHOLD
        return [
            i.name
            for i in self.inputs
            if (i.p_low.get(key, self.baseline[key]) >= THRESHOLD) != base
            or (i.p_high.get(key, self.baseline[key]) >= THRESHOLD) != base
        ]

    def verdicts(self) -> list[dict[str, Any]]:
        out = []
        for (person, offer), p in self.baseline.items():
            lows = [
                min(i.p_low.get((person, offer), p), i.p_high.get((person, offer), p))
                for i in self.inputs
            ]
            highs = [
                max(i.p_low.get((person, offer), p), i.p_high.get((person, offer), p))
                for i in self.inputs
            ]
            flipped = self.flips((person, offer))
            out.append(
                {
                    "researcher": person,
                    "offer": offer,
                    "probability": p,
                    "verdict": "accept" if p >= THRESHOLD else "refuse",
                    "robust": not flipped,
                    "flipped_by": flipped,
                    "probability_range": [min([p, *lows]), max([p, *highs])],
                }
            )
        return out

    def tornado(self) -> list[dict[str, Any]]:
        """For the largest offer: mean P(accept) over its recipients at each end, widest first."""
        if self.largest_offer is None:
            return []
        keys = [k for k in self.baseline if k[1] == self.largest_offer]
        base = float(np.mean([self.baseline[k] for k in keys]))
        bars = []
        for i in self.inputs:
            lo = float(np.mean([i.p_low.get(k, self.baseline[k]) for k in keys]))
            hi = float(np.mean([i.p_high.get(k, self.baseline[k]) for k in keys]))
            bars.append(
                {
                    "input": i.name,
                    "low": i.low,
                    "high": i.high,
                    "p_low": lo,
                    "p_high": hi,
                    "baseline": base,
                }
            )
        return sorted(bars, key=lambda b: -abs(b["p_high"] - b["p_low"]))

    def to_dict(self) -> dict[str, Any]:
        return {
            "seed": self.seed,
            "threshold": THRESHOLD,
            "largest_offer": self.largest_offer,
            "verdicts": self.verdicts(),
            "inputs": [
                {
                    "input": i.name,
                    "kind": i.kind,
                    "low": i.low,
                    "high": i.high,
                    "price_low": i.price_low,
                    "price_high": i.price_high,
                }
                for i in self.inputs
            ],
            "baseline_price": self.baseline_price,
            "tornado": self.tornado(),
        }

    def summary(self) -> Any:
        from rich.console import Group
        from rich.table import Table

        table = Table(title="Are the verdicts robust? (accept when P >= 0.5)")
        for col in ("researcher", "offer", "P(accept)", "verdict", "range of P", "flipped by"):
            table.add_column(col, justify="right" if col == "P(accept)" else "left")
        for v in self.verdicts()[:60]:
            lo, hi = v["probability_range"]
            table.add_row(
                v["researcher"],
                v["offer"],
                f"{v['probability']:.3g}",
                v["verdict"],
                f"{lo:.3g} - {hi:.3g}",
                "robust" if v["robust"] else ", ".join(v["flipped_by"]),
            )
        tornado = Table(title=f"Largest offer ({self.largest_offer}): mean P(accept) at each end")
        for col in ("input", "low", "high", "P at low", "P at high"):
            tornado.add_column(col)
        for b in self.tornado():
            tornado.add_row(
                b["input"],
                _show(b["low"]),
                _show(b["high"]),
                f"{b['p_low']:.3g}",
                f"{b['p_high']:.3g}",
            )
        return Group(table, tornado)


def _show(value: Any) -> str:
    from talentmarket.scenario._amounts import format_usd

    if isinstance(value, float) and abs(value) >= 1e5:
        return format_usd(value)
    return str(value)


def _probabilities(d: DecisionResult) -> dict[tuple[str, str], float]:
    out = {}
    for i, person in enumerate(d.people):
        for a, offer in enumerate(d.alternatives[i][1:], start=1):
            out[(person, offer)] = float(d.probability[i, a])
    return out


def _price_summary(v: ScenarioValuation, offer: str | None) -> dict[str, Any]:
    if offer is None:
        return {}
    r = price(v, offer)
    finite = np.isfinite(r.headline_usd)
    return {
        "offer": offer,
        "unattainable": r.n_unattainable,
        "of": len(r.people),
        "median_headline_usd": float(np.median(r.headline_usd[finite])) if finite.any() else None,
    }


def sensitivity(
    valuation: ScenarioValuation,
    data: dict[str, Any] | None = None,
    *,
    paths: int | None = None,
) -> SensitivityResult:
    """Vary every disputed figure and declared assumption.

    ``data`` is the parsed scenario the paths address (default: the validated scenario dumped
    back to its file form); ``paths`` sets the Monte Carlo paths of the re-valuations.
    """
    scenario = valuation.compiled.scenario
    if data is None:
        data = scenario.model_dump(mode="json", by_alias=True)
    base = decide(valuation)
    baseline = _probabilities(base)
    heads = {
        oid: valuation.package_value(o.to, oid, 1.0).headline for oid, o in scenario.offers.items()
    }
    largest = max(heads, key=lambda k: (heads[k], k)) if heads else None
    inputs: list[SensitivityInput] = []
    for oid, offer in scenario.offers.items():
        rep = offer.reported
        if rep is None or not rep.disputed or not isinstance(rep.headline_usd, list):
            continue
        h1 = valuation.package_value(offer.to, oid, 1.0).headline
        h0 = valuation.package_value(offer.to, oid, 0.0).headline
        ends = []
        for target in rep.headline_usd:
            s = max((target - h0) / (h1 - h0), 0.0) if h1 > h0 else 1.0
            ends.append(_probabilities(decide(valuation, scale={oid: s})))
        inputs.append(
            SensitivityInput(
                f"offers.{oid}.reported.headline_usd",
                "disputed",
                rep.headline_usd[0],
                rep.headline_usd[1],
                ends[0],
                ends[1],
                {},
                {},
            )
        )
    for path, (low, high) in scenario.assumptions.items():
        ends_p, ends_price = [], []
        for value in (low, high):
            edited = scenario_from_dict(set_path(data, path, value), f"assumptions.{path}")
            v = value_scenario(
                compile_scenario(edited, valuation.seed),
                seed=valuation.seed,
                paths=paths or valuation.n_paths,
            )
            ends_p.append(_probabilities(decide(v)))
            ends_price.append(_price_summary(v, largest))
        inputs.append(
            SensitivityInput(
                path, "assumption", low, high, ends_p[0], ends_p[1], ends_price[0], ends_price[1]
            )
        )
    return SensitivityResult(
        baseline, _price_summary(valuation, largest), tuple(inputs), largest, valuation.seed
    )
