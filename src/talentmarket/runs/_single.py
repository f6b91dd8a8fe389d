"""One run of a scenario: every package valued, every decision explained, response curves."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from talentmarket import __version__
from talentmarket.choice._curve import AcceptanceCurve, acceptance_curve
from talentmarket.choice._decide import DecisionResult, decide
from talentmarket.market._scenario import MarketOutcome, simulate_scenario
from talentmarket.pricing._design import DesignResult, design
from talentmarket.pricing._price import PriceResult, counter, price
from talentmarket.pricing._sensitivity import SensitivityResult, sensitivity
from talentmarket.scenario._compile import compile_scenario
from talentmarket.scenario._load import scenario_hash
from talentmarket.scenario._models import Scenario
from talentmarket.valuation._scenario import ScenarioValuation, valuation_to_dict, value_scenario


@dataclass(frozen=True)
class RunResult:
    """Everything one run computed, reproducible from (scenario, seed, paths)."""

    scenario: Scenario
    scenario_hash: str
    seed: int
    paths: int
    valuation: ScenarioValuation
    decisions: DecisionResult
    curves: tuple[AcceptanceCurve, ...]
    prices: tuple[PriceResult, ...] = ()
    counters: tuple[PriceResult, ...] = ()
    designs: tuple[DesignResult, ...] = ()
    sensitivity: SensitivityResult | None = None
    market: MarketOutcome | None = None

    @property
    def largest_offer(self) -> str | None:
        """Id of the offer with the largest headline value (ties by id)."""
        best: tuple[float, str] | None = None
        for oid, offer in self.scenario.offers.items():
            head = self.valuation.package_value(offer.to, oid).headline
            if best is None or (-head, oid) < (-best[0], best[1]):
                best = (head, oid)
        return None if best is None else best[1]

    def to_dict(self) -> dict[str, Any]:
        """The ``results.json`` payload."""
        by_offer = {
            oid: {
                "expected_acceptances": self.decisions.expected_acceptances(oid),
                "recipients": int((self.decisions.acceptance(oid) > 0).sum()),
            }
            for oid in self.scenario.offers
        }
        return {
            "talentmarket_version": __version__,
            "scenario": self.scenario.name,
            "scenario_hash": self.scenario_hash,
            "seed": self.seed,
            "paths": self.paths,
            "largest_offer": self.largest_offer,
            "expected_acceptances": self.decisions.expected_acceptances(),
            "offers": by_offer,
            "valuation": valuation_to_dict(self.valuation),
            "decisions": self.decisions.to_dict()["decisions"],
            "acceptance_curves": [c.to_dict() for c in self.curves],
            "prices": {p.offer: p.to_dict() for p in self.prices},
            "counters": {c.offer: c.to_dict() for c in self.counters},
            "designs": {d.offer: d.to_dict() for d in self.designs},
            "sensitivity": None if self.sensitivity is None else self.sensitivity.to_dict(),
            "market": None if self.market is None else self.market.to_dict(),
        }

    def what_it_takes(self) -> str | None:
        """One sentence: what it would take to win the largest offer's recipient(s)."""
        offer = self.largest_offer
        result = next((p for p in self.prices if p.offer == offer), None)
        if offer is None or result is None:
            return None
        n = len(result.people)
        if n == 1:
            return (
                f"To win {result.people[0]} with {offer} (P >= {result.target:g}): "
                + result.reason(0)
            )
        ok = n - result.n_unattainable
        return (
            f"To win the recipients of {offer} (P >= {result.target:g} each): "
            f"{ok} of {n} can be won at some price; no amount wins the other "
            f"{result.n_unattainable}"
        )

    def write(self, out_dir: Path) -> tuple[Path, Path]:
        """Write ``results.json`` and ``report.html`` into ``out_dir`` (created); returns both.

        Files are written to temporary names and renamed, so an interrupted run never leaves a
        half-written result behind.
        """
        from talentmarket.report import render_report

        out_dir.mkdir(parents=True, exist_ok=True)
        results = out_dir / "results.json"
        report = out_dir / "report.html"
        payload = json.dumps(_clean(self.to_dict()), indent=2, allow_nan=False)
        _atomic_write(results, payload)
        _atomic_write(report, render_report(self))
        return results, report


def _clean(obj: Any) -> Any:
    import math

    if isinstance(obj, dict):
        return {k: _clean(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_clean(v) for v in obj]
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def run_scenario(
    scenario: Scenario,
    *,
    seed: int | None = None,
    paths: int | None = None,
    target: float = 0.5,
) -> RunResult:
    """Value, decide, price, counter, design and stress every offer of a scenario."""
    seed = scenario.seed if seed is None else seed
    compiled = compile_scenario(scenario, seed)
    valuation = value_scenario(compiled, seed=seed, paths=paths)
    decisions = decide(valuation)
    curves = tuple(acceptance_curve(valuation, oid) for oid in scenario.offers)
    prices = tuple(price(valuation, oid, target=target) for oid in scenario.offers)
    counters = tuple(counter(valuation, oid, target=target) for oid in scenario.offers)
    designs = tuple(design(valuation, oid) for oid in scenario.offers)
    stress = sensitivity(valuation, paths=paths)
    market = (
        simulate_scenario(scenario, seed=seed, paths=paths) if scenario.market is not None else None
    )
    return RunResult(
        scenario=scenario,
        scenario_hash=scenario_hash(scenario),
        seed=seed,
        paths=valuation.n_paths,
        valuation=valuation,
        decisions=decisions,
        curves=curves,
        prices=prices,
        counters=counters,
        designs=designs,
        sensitivity=stress,
        market=market,
    )
