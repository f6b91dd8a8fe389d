"""The what-if behind the dashboard: one offer to one researcher, edited, and its effect.

The edits are made to the scenario *data* and validated again as a whole scenario, so that a
what-if is a scenario like any other (it has a hash, a valuation, a price):

- offer scale: ``decide(..., scale={offer: s})`` (every amount of the offer; not the
  make-whole);
- cash/equity mix and front-loading: the offer's package is replaced by the package of that
  mix with the same headline, as :mod:`talentmarket.pricing._design` expresses a mix (cash
  share of the headline, sign-on share of the cash kept from the offer, equity year weights
  proportional to (1 - f)^year);
- the leading person and the mission profile of the offering lab: ``labs.<lab>.leader`` and
  ``labs.<lab>.mission``.

The answer holds P(accept), the per-factor waterfall (offer minus staying, with money
equivalents), the distribution of the offer's realized value (a histogram, not the paths),
P(accept) against the offer's size (``acceptance_curve``) and what it would take (``price``).
"""

from __future__ import annotations

import copy
import math
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from talentmarket._errors import UnknownIdError
from talentmarket.api._errors import ServiceError
from talentmarket.choice import acceptance_curve, decide
from talentmarket.pricing import price
from talentmarket.pricing._design import _candidate_package
from talentmarket.scenario import Package, Scenario, format_usd
from talentmarket.scenario._models import Leadership, Mission
from talentmarket.valuation._scenario import offers_by_group

if TYPE_CHECKING:
    from talentmarket.api._schemas import WhatIfRequest
    from talentmarket.api._service import Resolved, Service

F64 = NDArray[np.float64]

#: Bins of the value histogram; the axis is cut at the 99.5th percentile.
HISTOGRAM_BINS = 40
#: People listed in the dashboard's researcher menu at most.
MAX_LISTED = 500


def _equity_value(package: Package, scenario: Scenario, lab_id: str) -> float:
    """Headline value of a package's equity: grants (value or shares x price) and refreshers."""
    lab = scenario.labs[lab_id]
    price_usd = getattr(lab.equity, "price_usd", 0.0) if lab.equity is not None else 0.0
    total = 0.0
    for grant in package.grants:
        value = grant.value_usd if grant.value_usd is not None else (grant.shares or 0) * price_usd
        total += float(value) * (1.0 - grant.vested_fraction)
    return total + package.refresh_usd_per_year * scenario.settings.horizon_years


def offer_mix(scenario: Scenario, offer: str, own_headline: float) -> dict[str, float]:
    """The mix of an offer as written: cash share of its headline, sign-on share of its cash,
    front-loading of its first grant's vesting (approximate: for the sliders' start)."""
    spec = scenario.offers[offer]
    package = spec.package
    horizon = scenario.settings.horizon_years
    equity = _equity_value(package, scenario, spec.from_)
    cash = 1.0 - equity / own_headline if own_headline > 0 else 1.0
    base_total = package.base_usd * horizon
    sign_on = package.sign_on_usd / (package.sign_on_usd + base_total) if package.sign_on_usd else 0
    front = 0.0
    if package.grants and package.grants[0].vesting.year_weights:
        w = np.asarray(package.grants[0].vesting.year_weights, dtype=float)
        ok = (w[:-1] > 0) & (w[1:] > 0)
        if ok.any():
            ratio = float(np.exp(np.mean(np.log(w[1:][ok] / w[:-1][ok]))))
            front = 1.0 - ratio
    return {
        "cash_fraction": float(np.clip(cash, 0.0, 1.0)),
        "sign_on_fraction": float(np.clip(sign_on, 0.0, 1.0)),
        "front_loading": float(np.clip(front, 0.0, 0.9)),
    }


def _round(x: float) -> float:
    return float(f"{x:.6g}")


def mix_package(
    scenario: Scenario,
    offer: str,
    own_headline: float,
    cash_fraction: float | None,
    front_loading: float | None,
) -> dict[str, Any]:
    """The offer's package with another mix and the same headline (scenario format).

    The structure (equity kind, vesting length, year weights (1 - f)^year, make-whole,
    clawback) is :mod:`talentmarket.pricing._design`'s; the amounts are set so that cash (base
    pay over the horizon plus sign-on) is exactly ``cash_fraction`` of the headline, the
    sign-on keeping its share of the cash as written. A lab without equity pays all in cash.
    """
    spec = scenario.offers[offer]
    mix = offer_mix(scenario, offer, own_headline)
    cash = mix["cash_fraction"] if cash_fraction is None else cash_fraction
    front = mix["front_loading"] if front_loading is None else front_loading
    lab = scenario.labs[spec.from_]
    kind = None if lab.equity is None else ("rsu" if lab.equity.type == "public" else "units")
    horizon = scenario.settings.horizon_years
    sign_on = mix["sign_on_fraction"]
    unit = _candidate_package(
        spec.package, cash, sign_on, front, spec.package.make_whole, kind, horizon
    )
    out = unit.model_dump(mode="json", by_alias=True, exclude_defaults=True)
    cash_usd = own_headline if kind is None else cash * own_headline
    out["base_usd"] = _round((1.0 - sign_on) * cash_usd / horizon)
    out["sign_on_usd"] = _round(sign_on * cash_usd)
    for grant in out.get("grants", []):
        grant["value_usd"] = _round(own_headline - cash_usd)
    return out


def _histogram(values: F64, bins: int = HISTOGRAM_BINS) -> dict[str, Any]:
    """Share of paths per bin of a (n_paths,) USD sample, the axis cut at the 99.5th pct."""
    lo = float(values.min())
    hi = float(np.quantile(values, 0.995))
    if not hi > lo:
        hi = lo + max(abs(lo), 1.0) * 1e-6
    counts, edges = np.histogram(values, bins=bins, range=(lo, hi))
    n = max(values.size, 1)
    return {
        "edges_usd": edges.tolist(),
        "share": (counts / n).tolist(),
        "share_above": float(np.mean(values > hi)),
    }


def _taken(
    status: str,
    target: float,
    scale: float | None,
    headline: float | None,
    cost: float | None,
    sup: float,
    sentence: str,
) -> dict[str, Any]:
    return {
        "status": status,
        "target": target,
        "scale": scale,
        "headline_usd": headline,
        "employer_cost_usd": cost,
        "sup_probability": sup,
        "sentence": sentence,
    }


def _sentence(result: Any, researcher: str, lab_name: str, scale_now: float) -> dict[str, Any]:
    """What it would take, in one sentence, from a one-person PriceResult."""
    status = result.status[0]
    target = result.target
    sup = float(result.sup_probability[0])
    if status == "ok":
        s = float(result.scale[0])
        head = float(result.headline_usd[0])
        cost = float(result.employer_cost_usd[0])
        ratio = s / scale_now
        compare = (
            f"{ratio:.2g}x what is on the table now"
            if not math.isclose(ratio, 1.0, rel_tol=0.005)
            else "about what is on the table now"
        )
        sentence = (
            f"To win {researcher} with P(accept) ≥ {target:g}, {lab_name} would have to offer "
            f"{format_usd(head)} headline ({s:.3g}x the offer; {compare}), at an expected cost "
            f"of {format_usd(cost)}."
        )
        return _taken(status, target, s, head, cost, sup, sentence)
    if status == "already":
        sentence = (
            f"{researcher} would accept with P ≥ {target:g} without any money: the offer's other "
            "qualities are enough."
        )
        return _taken(status, target, 0.0, None, None, sup, sentence)
    reason = result.reason(0).removeprefix("no amount: ")
    sentence = f"No amount of money would win {researcher} with P ≥ {target:g}: {reason}."
    return _taken(status, target, None, None, None, sup, sentence)


def _options(
    scenario: Scenario, population: Any, headlines: dict[str, float], offer: str
) -> dict[str, Any]:
    """Menus of the dashboard: who holds which offer, leaders, mission areas, the lab."""
    by_group = offers_by_group(scenario)
    people: list[dict[str, Any]] = []
    total = 0
    for i, pid in enumerate(population.ids):
        group = population.groups[population.group_index[i]]
        held = by_group.get(group)
        if not held:
            continue
        total += 1
        if len(people) < MAX_LISTED:
            employer = scenario.labs[tuple(scenario.labs)[population.employer[i]]]
            people.append(
                {
                    "id": pid,
                    "group": group,
                    "employer": tuple(scenario.labs)[population.employer[i]],
                    "employer_name": employer.name or tuple(scenario.labs)[population.employer[i]],
                    "offers": held,
                }
            )
    leaders: set[str] = {lab.leader for lab in scenario.labs.values() if lab.leader}
    areas: set[str] = set()
    for lab in scenario.labs.values():
        areas.update(lab.mission)
    prefs = [r.preferences for r in scenario.researchers.values()]
    prefs += [c.preferences for c in scenario.cohorts.values()]
    for pref in prefs:
        lead = pref.leadership
        if isinstance(lead, Leadership):
            leaders.update(lead.affinity)
        mission = pref.mission
        if isinstance(mission, Mission):
            areas.update(mission.ideal)
    spec = scenario.offers[offer]
    lab = scenario.labs[spec.from_]
    return {
        "researchers": people,
        "researchers_total": total,
        "offers": [
            {
                "id": oid,
                "from": o.from_,
                "from_name": scenario.labs[o.from_].name or o.from_,
                "to": o.to,
                "headline_usd": headlines.get(oid),
            }
            for oid, o in scenario.offers.items()
        ],
        "leaders": sorted(leaders),
        "mission_areas": sorted(areas),
        "lab": {
            "id": spec.from_,
            "name": lab.name or spec.from_,
            "leader": lab.leader,
            "mission": dict(lab.mission),
            "has_equity": lab.equity is not None,
        },
    }


def _pick(scenario: Scenario, population: Any, req: WhatIfRequest) -> tuple[str, str, str]:
    """(researcher, offer, valuation group) the what-if is about, with clear errors."""
    by_group = offers_by_group(scenario)
    if req.offer is not None and req.offer not in scenario.offers:
        raise UnknownIdError("offer", req.offer, tuple(scenario.offers))
    if req.researcher is not None:
        i = population.index_of(req.researcher)
        group = population.groups[population.group_index[i]]
        held = by_group.get(group, [])
        if not held:
            raise ServiceError(
                422, "no_offer", "researcher", f"{req.researcher!r} holds no offer in this scenario"
            )
        offer = req.offer or held[0]
        if offer not in held:
            raise ServiceError(
                422,
                "not_held",
                "offer",
                f"offer {offer!r} goes to {scenario.offers[offer].to!r}, not to "
                f"{req.researcher!r} (who holds: {', '.join(held)})",
            )
        return req.researcher, offer, group
    if not scenario.offers:
        raise ServiceError(422, "no_offer", "scenario.offers", "the scenario makes no offer")
    offer = req.offer or next(iter(scenario.offers))
    group = scenario.offers[offer].to
    return population.ids[int(population.members(group)[0])], offer, group


def whatif(service: Service, resolved: Resolved, req: WhatIfRequest) -> dict[str, Any]:
    """Compute one what-if (see the module docstring); run off the event loop."""
    s = resolved.scenario
    base = service.valuation(resolved, req.seed, req.paths)
    researcher, offer, group = _pick(s, base.compiled.population, req)
    spec = s.offers[offer]
    lab_id = spec.from_
    # Headline of each offer's own package (its make-whole is the value at scale 0).
    headlines = {
        oid: base.package_value(o.to, oid, 1.0).headline
        - base.package_value(o.to, oid, 0.0).headline
        for oid, o in s.offers.items()
    }
    data: dict[str, Any] | None = None
    if req.cash_fraction is not None or req.front_loading is not None:
        data = copy.deepcopy(resolved.data)
        data["offers"][offer]["package"] = mix_package(
            s, offer, headlines[offer], req.cash_fraction, req.front_loading
        )
    if req.leader is not None or req.mission is not None:
        data = copy.deepcopy(resolved.data) if data is None else data
        lab = data["labs"][lab_id]
        if req.leader is not None:
            lab["leader"] = req.leader
        if req.mission is not None:
            lab["mission"] = dict(req.mission)
    edited = resolved if data is None else service.validate(data, f"{resolved.name} (what-if)")
    valuation = base if data is None else service.valuation(edited, req.seed, req.paths)
    pop = valuation.compiled.population
    i = pop.index_of(researcher)

    decision = decide(valuation, people=[researcher], scale={offer: req.scale})
    value = valuation.package_value(group, offer, req.scale)
    key = (edited.hash, valuation.seed, valuation.n_paths, offer)
    curve = service.derived.get(("curve", *key), lambda: acceptance_curve(valuation, offer))
    priced = service.derived.get(
        ("price", *key, researcher, req.target),
        lambda: price(valuation, offer, people=[researcher], target=req.target),
    )
    k = curve.people.index(researcher)
    lab_name = s.labs[lab_id].name or lab_id
    return {
        "scenario": resolved.name,
        "scenario_hash": edited.hash,
        "edited": data is not None,
        "seed": valuation.seed,
        "paths": valuation.n_paths,
        "researcher": researcher,
        "employer": valuation.compiled.lab_ids[pop.employer[i]],
        "offer": offer,
        "lab": lab_id,
        "scale": req.scale,
        "make_whole_headline_usd": valuation.package_value(group, offer, 0.0).headline,
        "probability": decision.probability_of(researcher, offer),
        "probabilities": {
            a: float(decision.probability[0, j]) for j, a in enumerate(decision.alternatives[0])
        },
        "waterfall": decision.explanation(researcher, offer),
        "value": {
            **value.to_dict(),
            "certainty_equivalent_usd": value.certainty_equivalent(
                float(pop.wealth[i]), float(pop.eta[i])
            ),
            "mean_realized_usd": float(value.nominal.mean()),
            "histogram": _histogram(value.nominal),
        },
        "curve": {
            "scales": curve.scales.tolist(),
            "headline_usd": curve.headline_usd.tolist(),
            "probability": curve.probability[:, k].tolist(),
        },
        "what_it_takes": _sentence(priced, researcher, lab_name, req.scale),
        "package": edited.scenario.offers[offer].package.model_dump(
            mode="json", by_alias=True, exclude_defaults=True
        ),
        "person": {
            "wealth_usd": float(pop.wealth[i]),
            "risk_aversion": float(pop.eta[i]),
            "money_weight": float(pop.money[i]),
        },
        "options": {
            **_options(s, base.compiled.population, headlines, offer),
            "as_written": offer_mix(s, offer, headlines[offer]),
        },
    }
