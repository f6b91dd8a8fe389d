"""A scenario's market: compile people, labs and packages once, run an engine, explain it.

``simulate_scenario`` runs the engine a scenario's ``market:`` block names (or the one given):

- ``rounds``: the behavioral market of :mod:`talentmarket.market._rounds`;
- ``deferred-acceptance``: researchers rank labs by their utility of each lab's template offer
  (staying is their last acceptable choice), labs rank researchers by productivity; seats are
  incumbents plus the lab's ``capacity``; contract terms are the templates (fixed);
- ``auction``: the Kelso-Crawford salary auction: each lab values a researcher at productivity
  x the lab's multiplier x the horizon (USD), researchers value salary with their CRRA money
  term relative to wealth plus the lab's non-money utility; budgets as the engine's heuristic.

Every outcome reports assignment, contracts, flows between labs, spend and budget per lab,
refusals with their top reasons, the rounds history (``rounds``) and the number of blocking
pairs (a researcher who prefers a lab's template to where they ended, where the lab has a free
seat or a less productive hire).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from talentmarket._errors import InputError, Issue
from talentmarket.choice._money import (
    expected_money_utility,
    paired_nodes,
    value_nodes,
)
from talentmarket.market._auction import kelso_crawford_auction
from talentmarket.market._checks import blocking_pairs
from talentmarket.market._compiled import CRRAUtility, Market, Rankings, Valuations
from talentmarket.market._deferred_acceptance import deferred_acceptance
from talentmarket.market._results import MatchingResult
from talentmarket.market._rounds import (
    COUNTERS,
    REFUSED,
    STATUS_NAMES,
    STRATEGIES,
    PackageKinds,
    RoundsInput,
    _money,
    peer_share_at,
    rounds_market,
)
from talentmarket.scenario._amounts import format_usd
from talentmarket.scenario._compile import CompiledScenario, compile_scenario
from talentmarket.scenario._models import (
    Cohort,
    MarketLab,
    MarketSettings,
    Package,
    Researcher,
    Scenario,
)
from talentmarket.valuation._build import RowSpec
from talentmarket.valuation._scenario import ScenarioValuation, value_scenario

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]

ENGINE_NAMES = ("rounds", "auction", "deferred-acceptance")


@dataclass(frozen=True)
class MarketOutcome:
    """Who ends up where, at what price, and why (immutable).

    start, final: (n,) lab index of each researcher before and after. headline_usd, cost_usd:
    (n,) of the contract each mover signed (NaN for stayers). hires, spend_usd, counters_usd,
    budget_usd: (L,) per lab. flows: (L, L) movers from row lab to column lab. refusals: per
    lab, refused offers and how often each factor was the top reason. history: per round
    (``rounds`` only). blocking: number of blocking pairs.
    """

    engine: str
    scenario: str
    seed: int
    researcher_ids: tuple[str, ...]
    lab_ids: tuple[str, ...]
    start: I64
    final: I64
    headline_usd: F64
    cost_usd: F64
    hires: I64
    spend_usd: F64
    counters_usd: F64
    budget_usd: F64
    flows: I64
    refusals: tuple[dict[str, Any], ...]
    history: tuple[dict[str, Any], ...]
    blocking: int
    rounds_run: int
    converged: bool
    opening_probability: F64

    @property
    def movers(self) -> I64:
        return np.flatnonzero(self.start != self.final)

    def flows_dict(self) -> dict[str, dict[str, int]]:
        out: dict[str, dict[str, int]] = {}
        for a, b in zip(*np.nonzero(self.flows), strict=True):
            if a != b:
                out.setdefault(self.lab_ids[a], {})[self.lab_ids[b]] = int(self.flows[a, b])
        return out

    def labs_table(self) -> list[dict[str, Any]]:
        L = len(self.lab_ids)
        before = np.bincount(self.start, minlength=L)
        after = np.bincount(self.final, minlength=L)
        return [
            {
                "lab": lab,
                "headcount_start": int(before[j]),
                "headcount_end": int(after[j]),
                "hires": int(self.hires[j]),
                "spend_usd": float(self.spend_usd[j] + self.counters_usd[j]),
                "counter_offers_usd": float(self.counters_usd[j]),
                "budget_usd": None
                if not np.isfinite(self.budget_usd[j])
                else float(self.budget_usd[j]),
                "remaining_budget_usd": None
                if not np.isfinite(self.budget_usd[j])
                else float(self.budget_usd[j] - self.spend_usd[j] - self.counters_usd[j]),
            }
            for j, lab in enumerate(self.lab_ids)
        ]

    def contracts(self) -> list[dict[str, Any]]:
        return [
            {
                "researcher": self.researcher_ids[i],
                "from": self.lab_ids[self.start[i]],
                "to": self.lab_ids[self.final[i]],
                "headline_usd": float(self.headline_usd[i]),
                "employer_cost_usd": float(self.cost_usd[i]),
            }
            for i in self.movers
        ]

    def assignment(self) -> dict[str, list[str]]:
        """Where everyone ended: lab -> researcher ids (stable order)."""
        out: dict[str, list[str]] = {lab: [] for lab in self.lab_ids}
        for i in np.argsort(np.asarray(self.researcher_ids), kind="stable"):
            out[self.lab_ids[self.final[i]]].append(self.researcher_ids[i])
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON of ``simulate --json``; the full ``assignment`` up to 20,000 researchers
        (beyond, ``labs`` gives headcounts and ``contracts`` every move)."""
        return {
            "engine": self.engine,
            "scenario": self.scenario,
            "seed": self.seed,
            "researchers": len(self.researcher_ids),
            "moves": len(self.movers),
            "assignment": self.assignment() if len(self.researcher_ids) <= 20_000 else None,
            "contracts": self.contracts(),
            "flows": self.flows_dict(),
            "labs": self.labs_table(),
            "refusals": list(self.refusals),
            "history": list(self.history),
            "blocking_pairs": self.blocking,
            "rounds_run": self.rounds_run,
            "converged": self.converged,
        }

    def summary(self) -> Any:
        from rich.console import Group
        from rich.table import Table
        from rich.text import Text

        labs = Table(
            title=f"Market ({self.engine}, seed {self.seed}): "
            f"{len(self.movers):,} of {len(self.researcher_ids):,} researchers moved"
        )
        for col in ("lab", "start", "end", "hires", "spend", "budget left"):
            labs.add_column(col, justify="left" if col == "lab" else "right")
        for row in self.labs_table():
            left = row["remaining_budget_usd"]
            labs.add_row(
                row["lab"],
                f"{row['headcount_start']:,}",
                f"{row['headcount_end']:,}",
                f"{row['hires']:,}",
                format_usd(row["spend_usd"]),
                "unlimited" if left is None else format_usd(left),
            )
        flows = Table(title="Flows (from -> to)")
        for col in ("from", "to", "researchers"):
            flows.add_column(col, justify="right" if col == "researchers" else "left")
        for a, tos in self.flows_dict().items():
            for b, k in sorted(tos.items(), key=lambda kv: -kv[1]):
                flows.add_row(a, b, f"{k:,}")
        parts: list[Any] = [labs, flows]
        if self.refusals:
            ref = Table(title="Refused offers and their top reasons")
            for col in ("lab", "refused", "top reasons (how often first)"):
                ref.add_column(col)
            for r in self.refusals:
                reasons = ", ".join(f"{k} {v}" for k, v in list(r["top_reasons"].items())[:4])
                ref.add_row(r["lab"], f"{r['refused']:,}", reasons)
            parts.append(ref)
        parts.append(
            Text(
                f"blocking pairs: {self.blocking:,}; rounds: {self.rounds_run}"
                f"{' (converged)' if self.converged else ''}"
            )
        )
        return Group(*parts)


# --- compiling the scenario's market ---------------------------------------------------------


def _base_utility(compiled: CompiledScenario) -> F64:
    """(n, L) non-money, non-peer utility of every person at every lab."""
    pop = compiled.population
    out = np.zeros((pop.n, len(compiled.lab_ids)))
    if pop.attribute_factors:
        out += pop.attribute_weights @ compiled.attributes.T
    if "leadership" in compiled.factor_names:
        out += pop.leadership_weight[:, None] * pop.affinity
    if "mission" in compiled.factor_names:
        out += pop.mission_weight[:, None] * pop.mission_fit
    return out


def _templates(scenario: Scenario, settings: MarketSettings) -> dict[str, Package]:
    out: dict[str, Package] = {}
    for lab_id in scenario.labs:
        ml = settings.labs.get(lab_id)
        if ml is None or ml.strategy == "none":
            continue
        if ml.package is not None:
            out[lab_id] = ml.package
        else:
            first = next((o for o in scenario.offers.values() if o.from_ == lab_id), None)
            if first is not None:
                out[lab_id] = first.package
    return out


def _kinds(
    valuation: ScenarioValuation, templates: dict[str, Package]
) -> tuple[PackageKinds, dict[str, int], I64]:
    """Value nodes of scenario offers and of each lab template for each valuation group."""
    compiled = valuation.compiled
    scenario = compiled.scenario
    pop = compiled.population
    xs: list[F64] = []
    ys: list[F64] = []
    head: list[float] = []
    cost: list[float] = []
    fhead: list[float] = []
    fcost: list[float] = []
    offer_kind: dict[str, int] = {}
    for oid, offer in scenario.offers.items():
        group = offer.to
        x, y = paired_nodes(*valuation.offer_parts(group, oid))
        unit, zero = (
            valuation.package_value(group, oid, 1.0),
            valuation.package_value(group, oid, 0.0),
        )
        offer_kind[oid] = len(xs)
        xs.append(x)
        ys.append(y)
        head.append(unit.headline - zero.headline)
        cost.append(unit.expected_employer_cost - zero.expected_employer_cost)
        fhead.append(zero.headline)
        fcost.append(zero.expected_employer_cost)
    G, L = len(pop.groups), len(compiled.lab_ids)
    template_kind = np.full((G, L), -1, dtype=np.int64)
    people: dict[str, Researcher | Cohort] = {**scenario.researchers, **scenario.cohorts}
    specs: list[RowSpec] = []
    slots: list[tuple[int, int, bool]] = []
    for g, group in enumerate(pop.groups):
        person = people[group]
        for lab_id, pkg in templates.items():
            if lab_id == person.employer:
                continue
            j = compiled.lab_index(lab_id)
            specs.append(RowSpec(group, person.departure_hazard, lab_id, pkg))
            mw = pkg.make_whole and bool(person.package.grants)
            slots.append((g, j, mw))
            if mw:
                specs.append(
                    RowSpec(
                        group,
                        person.departure_hazard,
                        lab_id,
                        pkg,
                        make_whole_of=person.package,
                        make_whole_lab=person.employer,
                    )
                )
    if specs:
        samples = valuation.value_packages(specs)
        r = 0
        for g, j, mw in slots:
            y_pv = samples.pv[r + 1] if mw else np.zeros(valuation.n_paths)
            x, y = paired_nodes(samples.pv[r], y_pv)
            template_kind[g, j] = len(xs)
            xs.append(x)
            ys.append(y)
            head.append(float(samples.headline[r]))
            cost.append(float(samples.employer_cost[r].mean()))
            fhead.append(float(samples.headline[r + 1]) if mw else 0.0)
            fcost.append(float(samples.employer_cost[r + 1].mean()) if mw else 0.0)
            r += 2 if mw else 1
    kinds = PackageKinds.from_lists(xs, ys, head, cost, fhead, fcost)
    return kinds, offer_kind, template_kind


def _money_now(valuation: ScenarioValuation) -> F64:
    pop = valuation.compiled.population
    out = np.empty(pop.n)
    for g, group in enumerate(pop.groups):
        members = np.flatnonzero(pop.group_index == g)
        nodes = value_nodes(valuation.package_value(group, None).pv)
        out[members] = expected_money_utility(nodes, pop.wealth[members], pop.eta[members])
    return out


def _multiplier(scenario: Scenario) -> F64:
    return np.array(
        [
            lab.productivity_multiplier
            if lab.productivity_multiplier is not None
            else float(np.exp(0.2 * lab.attributes.get("compute", 0.0)))
            for lab in scenario.labs.values()
        ]
    )


def _or_inf(value: float | None) -> float:
    return np.inf if value is None else float(value)


def compile_rounds(
    valuation: ScenarioValuation, settings: MarketSettings
) -> tuple[RoundsInput, PackageKinds]:
    """Arrays of the behavioral market of a valued scenario."""
    compiled = valuation.compiled
    scenario = compiled.scenario
    pop = compiled.population
    L = len(compiled.lab_ids)
    kinds, offer_kind, template_kind = _kinds(valuation, _templates(scenario, settings))
    labs = [settings.labs.get(j, MarketLab(strategy="none")) for j in compiled.lab_ids]
    op_p: list[I64] = []
    op_l: list[I64] = []
    op_k: list[I64] = []
    for oid, offer in scenario.offers.items():
        members = pop.members(offer.to)
        op_p.append(members)
        op_l.append(np.full(len(members), compiled.lab_index(offer.from_), dtype=np.int64))
        op_k.append(np.full(len(members), offer_kind[oid], dtype=np.int64))
    opening_person = np.concatenate(op_p) if op_p else np.zeros(0, np.int64)
    data = RoundsInput(
        location=pop.employer.copy(),
        group=pop.group_index,
        base_utility=_base_utility(compiled),
        alpha=pop.money,
        wealth=pop.wealth,
        eta=pop.eta,
        peers_weight=pop.peers_weight if "peers" in compiled.factor_names else np.zeros(pop.n),
        collab_ptr=pop.collab_ptr,
        collab_idx=pop.collab_idx,
        money_now=_money_now(valuation),
        productivity=pop.productivity,
        multiplier=_multiplier(scenario),
        capacity=np.array([_or_inf(scenario.labs[j].capacity) for j in compiled.lab_ids]),
        budget=np.array([_or_inf(scenario.labs[j].budget_usd) for j in compiled.lab_ids]),
        strategy=np.array([STRATEGIES.index(ml.strategy) for ml in labs], dtype=np.int64),
        counter=np.array([COUNTERS.index(ml.counter) for ml in labs], dtype=np.int64),
        scale=np.array([ml.scale for ml in labs]),
        target_probability=np.array([ml.target_probability for ml in labs]),
        max_scale=np.array([ml.max_scale for ml in labs]),
        targets_per_round=np.array([ml.targets_per_round for ml in labs], dtype=np.int64),
        kinds=kinds,
        template_kind=template_kind,
        opening_person=opening_person,
        opening_lab=np.concatenate(op_l) if op_l else np.zeros(0, np.int64),
        opening_kind=np.concatenate(op_k) if op_k else np.zeros(0, np.int64),
        opening_scale=np.ones(len(opening_person)),
    )
    assert data.base_utility.shape[1] == L
    return data, kinds


def _offer_utilities(data: RoundsInput, kinds: PackageKinds) -> tuple[F64, F64, I64]:
    """(n, L) systematic utility of every lab's template (or opening offer) at scale 1, the
    (n,) utility of staying, and (n, L) the package kind used (-1: none)."""
    n, L = data.base_utility.shape
    kind = data.template_kind[data.group].copy()
    kind[data.opening_person, data.opening_lab] = data.opening_kind
    share = np.zeros((n, L))
    for j in range(L):
        share[:, j] = peer_share_at(
            np.arange(n), np.full(n, j), data.location, data.collab_ptr, data.collab_idx
        )
    util = np.full((n, L), -np.inf)
    rows, cols = np.nonzero(kind >= 0)
    if rows.size:
        m = _money(kinds, kind[rows, cols], np.ones(rows.size), data.wealth[rows], data.eta[rows])
        util[rows, cols] = (
            data.alpha[rows] * m
            + data.base_utility[rows, cols]
            + data.peers_weight[rows] * share[rows, cols]
        )
    here = np.arange(n)
    stay = (
        data.alpha * data.money_now
        + data.base_utility[here, data.location]
        + data.peers_weight * share[here, data.location]
    )
    return util, stay, kind


def _rankings(
    data: RoundsInput, util: F64, stay: F64, r_order: I64, l_order: I64
) -> tuple[Rankings, F64]:
    """Both sides' lists in stable (sorted-id) index order; staying is the last acceptable."""
    n, L = util.shape
    inv_r = np.empty(n, dtype=np.int64)
    inv_r[r_order] = np.arange(n)
    inv_l = np.empty(L, dtype=np.int64)
    inv_l[l_order] = np.arange(L)
    r_ptr = [0]
    r_labs: list[int] = []
    wants = np.zeros((n, L), dtype=bool)
    for i in r_order:
        better = np.flatnonzero(util[i] > stay[i])
        ranked = better[np.lexsort((inv_l[better], -util[i, better]))]
        lst = [int(inv_l[j]) for j in ranked] + [int(inv_l[data.location[i]])]
        wants[i, ranked] = True
        r_labs.extend(lst)
        r_ptr.append(len(r_labs))
    value = data.productivity[:, None] * data.multiplier[None, :]
    l_ptr = [0]
    l_res: list[int] = []
    for j in l_order:
        members = np.flatnonzero(wants[:, j] | (data.location == j))
        ranked = members[np.lexsort((inv_r[members], -value[members, j]))]
        l_res.extend(int(inv_r[i]) for i in ranked)
        l_ptr.append(len(l_res))
    return Rankings.from_lists(r_ptr, r_labs, l_ptr, l_res, source="market"), value


def _seats(data: RoundsInput) -> I64:
    L = data.base_utility.shape[1]
    incumbents = np.bincount(data.location, minlength=L)
    extra = np.where(np.isfinite(data.capacity), data.capacity, data.location.size)
    return (incumbents + extra).astype(np.int64)


def simulate_scenario(
    scenario: Scenario,
    *,
    engine: str | None = None,
    seed: int | None = None,
    rounds: int | None = None,
    paths: int | None = None,
) -> MarketOutcome:
    """Run a scenario's market (its ``market:`` block, or defaults) with the named engine."""
    settings = scenario.market or MarketSettings()
    engine = engine or settings.engine
    if engine not in ENGINE_NAMES:
        raise InputError(
            [
                Issue(
                    "--engine",
                    "engine",
                    f"unknown engine {engine!r}; engines: {', '.join(ENGINE_NAMES)}",
                )
            ]
        )
    seed = scenario.seed if seed is None else seed
    compiled = compile_scenario(scenario, seed)
    valuation = value_scenario(compiled, seed=seed, paths=paths)
    data, kinds = compile_rounds(valuation, settings)
    n, L = data.base_utility.shape
    pop = compiled.population
    headline = np.full(n, np.nan)
    cost = np.full(n, np.nan)
    hires = np.zeros(L, dtype=np.int64)
    spend = np.zeros(L)
    counters = np.zeros(L)
    refusals: tuple[dict[str, Any], ...] = ()
    history: tuple[dict[str, Any], ...] = ()
    rounds_run, converged = 1, True
    opening = np.zeros(0)
    if engine == "rounds":
        result = rounds_market(
            data,
            rounds=rounds or settings.rounds,
            offer_expiry=settings.offer_expiry,
            counter_target=settings.counter_target,
            seed=seed,
        )
        final = result.location
        acc = result.offers["status"] == 1
        headline[result.offers["person"][acc]] = result.offers["headline_usd"][acc]
        cost[result.offers["person"][acc]] = result.offers["cost_usd"][acc]
        hires, spend, counters = result.hires, result.spend_usd, result.counters_usd
        refusals = _refusals(compiled, data, result.offers)
        history = result.history
        rounds_run, converged = result.rounds_run, result.converged
        opening = result.opening_probability
        blocking = _blocking_rounds(data, kinds, result, spend + counters)
    else:
        r_order = np.array(sorted(range(n), key=lambda i: pop.ids[i]), dtype=np.int64)
        l_order = np.array(sorted(range(L), key=lambda j: compiled.lab_ids[j]), dtype=np.int64)
        util, stay, kind = _offer_utilities(data, kinds)
        rankings, value = _rankings(data, util, stay, r_order, l_order)
        market = Market(
            tuple(pop.ids[i] for i in r_order),
            tuple(compiled.lab_ids[j] for j in l_order),
            _seats(data)[l_order],
            rankings=rankings,
            source=scenario.name,
        )
        if engine == "deferred-acceptance":
            matched = deferred_acceptance(market)
            final = _final_from(matched, r_order, l_order, data.location)
            final, headline, cost, hires, spend = _contracts(data, kinds, kind, final)
        else:
            matched = _auction(
                data,
                util,
                stay,
                value,
                r_order,
                l_order,
                market,
                settings,
                scenario.settings.horizon_years,
            )
            final = _final_from(matched, r_order, l_order, data.location)
            salaries = np.zeros(n)
            salaries[r_order] = np.asarray(matched.salaries_usd)
            moved = final != data.location
            headline = np.where(moved, salaries, np.nan)
            cost = headline.copy()
            np.add.at(hires, final[moved], 1)
            np.add.at(spend, final[moved], salaries[moved])
        blocking = len(blocking_pairs(matched))
    flows = np.zeros((L, L), dtype=np.int64)
    np.add.at(flows, (data.location, final), 1)
    return MarketOutcome(
        engine=engine,
        scenario=scenario.name,
        seed=seed,
        researcher_ids=pop.ids,
        lab_ids=compiled.lab_ids,
        start=data.location.copy(),
        final=final,
        headline_usd=headline,
        cost_usd=cost,
        hires=hires,
        spend_usd=spend,
        counters_usd=counters,
        budget_usd=data.budget,
        flows=flows,
        refusals=refusals,
        history=history,
        blocking=blocking,
        rounds_run=rounds_run,
        converged=converged,
        opening_probability=opening,
    )


def _blocking_rounds(data: RoundsInput, kinds: PackageKinds, result: Any, spent: F64) -> int:
    """Blocking pairs of a behavioral outcome, vectorized over people x labs.

    (i, j) blocks when i prefers lab j's template at scale 1 to where i ended (utilities with
    colleagues where they ended) and j would take i: a free seat and budget for the template,
    or a new hire less productive than i.
    """
    n, L = data.base_utility.shape
    final = result.location
    here = np.arange(n)
    kind = data.template_kind[data.group]
    u_final = (
        data.alpha * result.money
        + data.base_utility[here, final]
        + data.peers_weight * peer_share_at(here, final, final, data.collab_ptr, data.collab_idx)
    )
    offers = result.offers
    accepted = offers["status"] == 1
    weakest = np.full(L, np.inf)
    np.minimum.at(
        weakest,
        offers["lab"][accepted].astype(np.int64),
        data.productivity[offers["person"][accepted].astype(np.int64)],
    )
    count = 0
    for j in range(L):
        has = np.flatnonzero((kind[:, j] >= 0) & (final != j))
        if has.size == 0:
            continue
        k = kind[has, j]
        money = _money(kinds, k, np.ones(has.size), data.wealth[has], data.eta[has])
        share = peer_share_at(has, np.full(has.size, j), final, data.collab_ptr, data.collab_idx)
        u_j = data.alpha[has] * money + data.base_utility[has, j] + data.peers_weight[has] * share
        cost = kinds.cost[k] + kinds.fixed_cost[k]
        free = (result.hires[j] < data.capacity[j]) & (spent[j] + cost <= data.budget[j])
        displaces = data.productivity[has] > weakest[j]
        count += int(np.count_nonzero((u_j > u_final[has]) & (free | displaces)))
    return count


def _to_stable(final: I64, r_order: I64, l_order: I64) -> I64:
    inv_l = np.empty(len(l_order), dtype=np.int64)
    inv_l[l_order] = np.arange(len(l_order))
    return inv_l[final[r_order]]


def _final_from(matched: MatchingResult, r_order: I64, l_order: I64, location: I64) -> I64:
    final = location.copy()
    lab_of = np.asarray(matched.lab_of)
    has = lab_of >= 0
    final[r_order[has]] = l_order[lab_of[has]]
    return final


def _contracts(
    data: RoundsInput, kinds: PackageKinds, kind: I64, final: I64
) -> tuple[I64, F64, F64, I64, F64]:
    n, L = kind.shape
    moved = np.flatnonzero(final != data.location)
    k = kind[moved, final[moved]]
    headline: F64 = np.full(n, np.nan)
    cost: F64 = np.full(n, np.nan)
    headline[moved] = kinds.headline[k] + kinds.fixed_headline[k]
    cost[moved] = kinds.cost[k] + kinds.fixed_cost[k]
    hires = np.bincount(final[moved], minlength=L).astype(np.int64)
    spend = np.bincount(final[moved], weights=cost[moved], minlength=L).astype(np.float64)
    return final, headline, cost, hires, spend


def _auction(
    data: RoundsInput,
    util: F64,
    stay: F64,
    value: F64,
    r_order: I64,
    l_order: I64,
    market: Market,
    settings: MarketSettings,
    horizon_years: int,
) -> MatchingResult:
    n, L = util.shape
    inv_r = np.empty(n, dtype=np.int64)
    inv_r[r_order] = np.arange(n)
    share = np.zeros((n, L))
    for j in range(L):
        share[:, j] = peer_share_at(
            np.arange(n), np.full(n, j), data.location, data.collab_ptr, data.collab_idx
        )
    amenity = data.base_utility + data.peers_weight[:, None] * share
    dense = (value * horizon_years).T[l_order][:, r_order]  # (L, n) USD in stable order
    valuations = Valuations.from_dense(
        dense,
        budget_usd=data.budget[l_order],
        step_usd=settings.salary_step_usd,
        utility=CRRAUtility(
            data.eta[r_order], data.wealth[r_order], np.maximum(data.alpha[r_order], 1e-9)
        ),
        amenity=amenity.T[l_order][:, r_order][np.isfinite(dense)],
        reservation=np.full(n, -1e9),
        source="market",
    )
    auction_market = Market(
        market.researcher_ids,
        market.lab_ids,
        market.capacity,
        valuations=valuations,
        source=market.source,
    )
    return kelso_crawford_auction(auction_market)


def _refusals(
    compiled: CompiledScenario, data: RoundsInput, offers: dict[str, NDArray[Any]]
) -> tuple[dict[str, Any], ...]:
    """Refused offers per lab with how often each factor was the largest deficit."""
    refused = np.flatnonzero(offers["status"] == REFUSED)
    if refused.size == 0:
        return ()
    people = offers["person"][refused].astype(np.int64)
    labs = offers["lab"][refused].astype(np.int64)
    off = compiled.factor_utilities(people, labs)
    here = compiled.factor_utilities(people, data.location[people])
    diff = off - here
    money = data.alpha[people] * (offers["money"][refused] - data.money_now[people])
    names = ("money", *compiled.factor_names)
    full = np.column_stack([money, diff])
    top = np.argmin(full, axis=1)
    out = []
    for j in np.unique(labs):
        sel = labs == j
        counts = np.bincount(top[sel], minlength=len(names))
        reasons = {
            names[k]: int(counts[k]) for k in np.argsort(-counts, kind="stable") if counts[k] > 0
        }
        out.append({"lab": compiled.lab_ids[j], "refused": int(sel.sum()), "top_reasons": reasons})
    return tuple(out)


__all__ = ["ENGINE_NAMES", "STATUS_NAMES", "MarketOutcome", "compile_rounds", "simulate_scenario"]
