"""Valuing every package of a scenario: offers (with their make-whole) and current packages.

Packages are valued once per *valuation group* (a researcher, or a cohort whose members share a
package and a departure hazard); members differ only in wealth and risk aversion, which enter
through the certainty equivalent.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from talentmarket._errors import UnknownIdError
from talentmarket.scenario._compile import CompiledScenario
from talentmarket.scenario._models import Cohort, Researcher, Scenario
from talentmarket.valuation._arrays import F64
from talentmarket.valuation._build import CompiledRows, RowSpec, compile_rows
from talentmarket.valuation._crra import certainty_equivalent
from talentmarket.valuation._kernel import ValueSamples, simulate_values

STAY = "stay"


def offers_by_group(scenario: Scenario) -> dict[str, list[str]]:
    """Offer ids per valuation group (researcher or cohort id), in scenario order."""
    out: dict[str, list[str]] = {}
    for oid, offer in scenario.offers.items():
        out.setdefault(offer.to, []).append(oid)
    return out


@dataclass(frozen=True)
class PackageValue:
    """Summary of one package's simulated value (USD).

    pv, nominal, employer_cost: (n_paths,) per-path discounted value to the person,
    undiscounted value, discounted cost to the employer; headline: the nominal figure at
    grant-date prices.
    """

    pv: F64
    nominal: F64
    employer_cost: F64
    headline: float

    @property
    def expected_pv(self) -> float:
        return float(self.pv.mean())

    @property
    def mc_standard_error(self) -> float:
        return float(self.pv.std(ddof=1) / np.sqrt(self.pv.size)) if self.pv.size > 1 else 0.0

    @property
    def p_realize_headline(self) -> float:
        return float(np.mean(self.nominal >= self.headline * (1 - 1e-12)))

    @property
    def expected_employer_cost(self) -> float:
        return float(self.employer_cost.mean())

    def quantiles(self) -> dict[str, float]:
        q = np.quantile(self.pv, [0.05, 0.5, 0.95])
        return {"p05": float(q[0]), "p50": float(q[1]), "p95": float(q[2])}

    def certainty_equivalent(self, wealth: float, eta: float) -> float:
        return float(certainty_equivalent(self.pv, wealth, eta))

    def to_dict(self) -> dict[str, Any]:
        return {
            "headline_usd": self.headline,
            "expected_pv_usd": self.expected_pv,
            "pv_quantiles_usd": self.quantiles(),
            "p_realize_headline": self.p_realize_headline,
            "employer_cost_usd": self.expected_employer_cost,
            "mc_standard_error_usd": self.mc_standard_error,
        }


@dataclass(frozen=True)
class ScenarioValuation:
    """Every package of a scenario valued on shared random paths (immutable).

    ``stay_row[group]`` is the row of the group's current package; ``offer_row[(offer, group)]``
    the offer's package and ``make_whole_row[(offer, group)]`` its buy-out, if any.
    """

    compiled: CompiledScenario
    rows: CompiledRows
    samples: ValueSamples
    seed: int
    n_paths: int
    stay_row: dict[str, int]
    offer_row: dict[tuple[str, str], int]
    make_whole_row: dict[tuple[str, str], int] = field(default_factory=dict)

    def _check_offer(self, offer: str, group: str) -> None:
        if (offer, group) not in self.offer_row:
            raise UnknownIdError(
                "offer", f"{offer} (to {group})", sorted({o for o, _ in self.offer_row})
            )

    def package_value(self, group: str, offer: str | None, scale: float = 1.0) -> PackageValue:
        """Value of staying (``offer=None``) or of an offer for a group, amounts x ``scale``."""
        s = self.samples
        if offer is None:
            r = self.stay_row[group]
            return PackageValue(s.pv[r], s.nominal[r], s.employer_cost[r], float(s.headline[r]))
        self._check_offer(offer, group)
        r = self.offer_row[(offer, group)]
        pv, nominal = scale * s.pv[r], scale * s.nominal[r]
        cost, headline = scale * s.employer_cost[r], scale * float(s.headline[r])
        mw = self.make_whole_row.get((offer, group))
        if mw is not None:
            pv = pv + s.pv[mw]
            nominal = nominal + s.nominal[mw]
            cost = cost + s.employer_cost[mw]
            headline += float(s.headline[mw])
        return PackageValue(pv, nominal, cost, headline)

    def value_packages(self, specs: list[RowSpec]) -> ValueSamples:
        """Value further packages (rows ``specs``) on this valuation's own paths and seed, so
        that they compare path by path with every package valued here."""
        return value_rows(self.compiled.scenario, specs, n_paths=self.n_paths, seed=self.seed)

    def offer_parts(self, group: str, offer: str) -> tuple[F64, F64]:
        """(pv of the offer's own package at scale 1, pv of its make-whole or zeros), per path."""
        self._check_offer(offer, group)
        s = self.samples
        mw = self.make_whole_row.get((offer, group))
        return s.pv[self.offer_row[(offer, group)]], (
            s.pv[mw] if mw is not None else np.zeros(self.n_paths)
        )


def value_scenario(
    compiled: CompiledScenario, *, seed: int | None = None, paths: int | None = None
) -> ScenarioValuation:
    """Value every current package and every offer (with its make-whole) of a scenario."""
    scenario = compiled.scenario
    seed = scenario.seed if seed is None else seed
    n_paths = scenario.settings.paths if paths is None else paths
    specs: list[RowSpec] = []
    stay_row: dict[str, int] = {}
    offer_row: dict[tuple[str, str], int] = {}
    mw_row: dict[tuple[str, str], int] = {}
    people: dict[str, Researcher | Cohort] = {**scenario.researchers, **scenario.cohorts}
    for group, person in people.items():
        stay_row[group] = len(specs)
        specs.append(RowSpec(group, person.departure_hazard, person.employer, person.package))
    for oid, offer in scenario.offers.items():
        person = people[offer.to]
        offer_row[(oid, offer.to)] = len(specs)
        specs.append(RowSpec(offer.to, person.departure_hazard, offer.from_, offer.package))
        if offer.package.make_whole and person.package.grants:
            mw_row[(oid, offer.to)] = len(specs)
            specs.append(
                RowSpec(
                    offer.to,
                    person.departure_hazard,
                    offer.from_,
                    offer.package,
                    make_whole_of=person.package,
                    make_whole_lab=person.employer,
                )
            )
    rows = compile_rows(scenario, specs)
    samples = _simulate(scenario, rows, n_paths, seed)
    return ScenarioValuation(compiled, rows, samples, seed, n_paths, stay_row, offer_row, mw_row)


def value_rows(
    scenario: Scenario, specs: list[RowSpec], *, n_paths: int, seed: int
) -> ValueSamples:
    """Per-path values of the packages ``specs`` (rows in that order): (len(specs), n_paths)."""
    return _simulate(scenario, compile_rows(scenario, specs), n_paths, seed)


def _simulate(scenario: Scenario, rows: CompiledRows, n_paths: int, seed: int) -> ValueSamples:
    return simulate_values(
        rows.sources,
        rows.rows,
        rows.tranches,
        n_paths=n_paths,
        discount_rate=scenario.settings.discount_rate,
        seed=seed,
    )


def _item(
    valuation: ScenarioValuation,
    ident: str,
    group: str,
    offer: str | None,
    person: str | None,
) -> dict[str, Any]:
    scenario = valuation.compiled.scenario
    pop = valuation.compiled.population
    value = valuation.package_value(group, offer)
    is_cohort = group in scenario.cohorts
    item: dict[str, Any] = {
        "id": ident,
        "kind": "current" if offer is None else "offer",
        "researcher": person,
        "cohort": group if is_cohort else None,
        "lab": (
            scenario.offers[offer].from_
            if offer
            else (scenario.cohorts.get(group) or scenario.researchers[group]).employer
        ),
        **value.to_dict(),
        "certainty_equivalent_usd": None,
    }
    if person is not None:
        i = pop.index_of(person)
        item["certainty_equivalent_usd"] = value.certainty_equivalent(
            float(pop.wealth[i]), float(pop.eta[i])
        )
    if offer is not None:
        reported = scenario.offers[offer].reported
        item["reported"] = None if reported is None else reported.model_dump(mode="json")
    return item


def valuation_to_dict(
    valuation: ScenarioValuation, researcher: str | None = None
) -> dict[str, Any]:
    """JSON shape of ``talentmarket value --json``: ``{"offers": [...], "current": [...]}``.

    One item per offer (for a cohort offer, one for the cohort with ``researcher: null`` unless
    ``researcher`` names a member) and one per current package (per researcher; per cohort);
    ``certainty_equivalent_usd`` is given where the person is known.
    """
    compiled = valuation.compiled
    scenario = compiled.scenario
    pop = compiled.population
    group_of: str | None = None
    if researcher is not None:
        group_of = pop.groups[pop.group_index[pop.index_of(researcher)]]
    offers: list[dict[str, Any]] = []
    for oid, offer in scenario.offers.items():
        if group_of is not None and offer.to != group_of:
            continue
        person = (
            researcher
            if researcher is not None
            else (offer.to if offer.to in scenario.researchers else None)
        )
        offers.append(_item(valuation, oid, offer.to, oid, person))
    current: list[dict[str, Any]] = []
    for group in valuation.stay_row:
        if group_of is not None and group != group_of:
            continue
        person = (
            researcher
            if researcher is not None
            else (group if group in scenario.researchers else None)
        )
        current.append(_item(valuation, f"current:{person or group}", group, None, person))
    return {
        "seed": valuation.seed,
        "paths": valuation.n_paths,
        "offers": offers,
        "current": current,
    }
