"""What one run of a sweep computes: a pure function of (scenario data, seed) -> tidy tables.

:func:`run_once` is the task that every backend executes (the local process pool and Ray call
the very same function), so a run's results depend only on its inputs, never on the backend,
the worker or the order in which runs finish.

A run without a ``market:`` block is the decision model realized once: every package is valued
on ``settings.paths`` paths, every person holding offers gets logit probabilities, and one draw
per person from ``SeedSequence([seed, 7])`` says where they end up. A run whose scenario has a
``market:`` block is delegated to ``talentmarket.market.simulate_scenario`` and fills the same
tables (plus one row per lab and round in ``rounds``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from talentmarket._errors import TalentMarketError
from talentmarket.choice._decide import DecisionResult, decide
from talentmarket.scenario._compile import CompiledScenario, compile_scenario
from talentmarket.scenario._load import scenario_from_dict
from talentmarket.scenario._models import Scenario
from talentmarket.valuation._scenario import ScenarioValuation, value_scenario

if TYPE_CHECKING:
    import pyarrow as pa

#: Stream key of the realization draws (the scenario compiler uses 3 for cohorts).
REALIZATION_STREAM = 7

#: Columns of each result table: name -> pyarrow type name (``pa.<type>()``).
COLUMNS: dict[str, tuple[tuple[str, str], ...]] = {
    "lab_results": (
        ("lab", "string"),
        ("headcount_before", "int64"),
        ("headcount_after", "int64"),
        ("hires", "int64"),
        ("departures", "int64"),
        ("acceptances", "int64"),
        ("expected_acceptances", "float64"),
        ("spend_usd", "float64"),
        ("expected_spend_usd", "float64"),
    ),
    "researcher_results": (
        ("researcher", "string"),
        ("group_id", "string"),
        ("employer", "string"),
        ("final_lab", "string"),
        ("offer", "string"),
        ("moved", "bool_"),
        ("probability", "float64"),
        ("p_move", "float64"),
        ("package_value_usd", "float64"),
        ("employer_cost_usd", "float64"),
    ),
    "offer_results": (
        ("offer", "string"),
        ("from_lab", "string"),
        ("to_id", "string"),
        ("recipients", "int64"),
        ("accepted", "int64"),
        ("expected_acceptances", "float64"),
        ("headline_usd", "float64"),
        ("expected_pv_usd", "float64"),
        ("employer_cost_usd", "float64"),
        ("spend_usd", "float64"),
    ),
    "round_results": (
        ("round", "int64"),
        ("lab", "string"),
        ("headcount", "int64"),
        ("spend_usd", "float64"),
    ),
}


def _table(name: str, columns: Mapping[str, Any]) -> pa.Table:
    """A result table with the declared column types (pyarrow is imported on first use)."""
    import pyarrow as pa

    schema = pa.schema([(c, getattr(pa, t)()) for c, t in COLUMNS[name]])
    return pa.Table.from_pydict(dict(columns), schema=schema)


@dataclass(frozen=True)
class RunTables:
    """The tidy results of one run (small pyarrow tables; one row per key).

    Attributes
    ----------
    labs : pyarrow.Table
        One row per lab: headcount before and after, hires (people who moved in), departures,
        acceptances of the lab's offers and their expected number, spend (USD, expected
        employer cost of the accepted offers) and its expectation.
    researchers : pyarrow.Table
        One row per person: employer, final lab, the offer accepted (null if they stayed), the
        probability of the realized choice, P(move), the expected present value (USD) of the
        package they end up with and its expected cost to the new employer (0 if they stayed).
    offers : pyarrow.Table
        One row per offer: recipients, how many accepted, the expected number, headline,
        expected PV and employer cost per recipient (USD), spend on acceptances.
    rounds : pyarrow.Table
        One row per (round, lab): headcount and cumulative spend (USD). The decision model has
        rounds 0 (before) and 1 (after); a market run has round 0 and one per market round.
    """

    labs: pa.Table
    researchers: pa.Table
    offers: pa.Table
    rounds: pa.Table

    def as_dict(self) -> dict[str, pa.Table]:
        """The four tables by their database name (``lab_results`` ...)."""
        return {
            "lab_results": self.labs,
            "researcher_results": self.researchers,
            "offer_results": self.offers,
            "round_results": self.rounds,
        }


def run_once(data: Mapping[str, Any], seed: int) -> RunTables:
    """Run one scenario once: a pure function of (scenario data, seed).

    Parameters
    ----------
    data : mapping
        Parsed scenario (YAML data after any ``--set`` edits); validated here.
    seed : int
        Seed of the run: cohort draws, valuation paths and the realization of every decision.

    Returns
    -------
    RunTables
        Per lab, per researcher, per offer and per round tables.

    Raises
    ------
    ScenarioError
        If ``data`` is not a valid scenario.
    """
    scenario = scenario_from_dict(data)
    if getattr(scenario, "market", None) is not None:
        return _market_run(scenario, seed)
    compiled = compile_scenario(scenario, seed)
    valuation = value_scenario(compiled, seed=seed)
    # Explanations (money equivalents) are not stored: skip them, probabilities are the same.
    decisions = decide(valuation, explain=False)
    return _decision_tables(compiled, valuation, decisions, seed)


def realize(probability: np.ndarray[Any, Any], n_alternatives: Sequence[int], seed: int) -> Any:
    """One draw per person from their choice probabilities.

    Parameters
    ----------
    probability : (n, A) float
        Rows sum to 1 over the first ``n_alternatives[i]`` columns (padding is 0).
    n_alternatives : (n,) int
        Alternatives each person actually has.
    seed : int
        Run seed; the draws come from ``SeedSequence([seed, 7])``.

    Returns
    -------
    (n,) int64
        Index of the chosen alternative per person (0 = stay).
    """
    rng = np.random.default_rng(np.random.SeedSequence([seed, REALIZATION_STREAM]))
    n = probability.shape[0]
    u = rng.random(n)
    cum = np.cumsum(probability, axis=1)
    choice = (u[:, None] >= cum).sum(axis=1)
    # Rounding can leave the last cumulative probability a hair below u: clamp to real choices.
    return np.minimum(choice, np.asarray(n_alternatives, dtype=np.int64) - 1).astype(np.int64)


def _decision_tables(
    compiled: CompiledScenario,
    valuation: ScenarioValuation,
    d: DecisionResult,
    seed: int,
) -> RunTables:
    scenario = compiled.scenario
    pop = compiled.population
    labs = compiled.lab_ids
    n = pop.n
    employer = [labs[e] for e in pop.employer.tolist()]
    group = [pop.groups[g] for g in pop.group_index.tolist()]
    final = list(employer)
    accepted: list[str | None] = [None] * n
    prob = np.ones(n)
    p_move = np.zeros(n)
    cost = np.zeros(n)
    value = np.array([valuation.package_value(g, None).expected_pv for g in pop.groups])[
        pop.group_index
    ]

    # Per (offer, group): value to the person and expected cost to the employer (USD).
    offer_pv: dict[str, float] = {}
    offer_cost: dict[str, float] = {}
    for oid, offer in scenario.offers.items():
        pv = valuation.package_value(offer.to, oid)
        offer_pv[oid], offer_cost[oid] = pv.expected_pv, pv.expected_employer_cost

    choice = realize(d.probability, [len(a) for a in d.alternatives], seed)
    expected = dict.fromkeys(scenario.offers, 0.0)
    for k, person in enumerate(d.people):
        i = pop.index_of(person)
        alts = d.alternatives[k]
        for a, oid in enumerate(alts[1:], start=1):
            expected[oid] += float(d.probability[k, a])
        c = int(choice[k])
        prob[i] = float(d.probability[k, c])
        p_move[i] = 1.0 - float(d.probability[k, 0])
        if c > 0:
            oid = alts[c]
            accepted[i] = oid
            final[i] = d.offer_labs[oid]
            value[i] = offer_pv[oid]
            cost[i] = offer_cost[oid]

    researchers = _table(
        "researcher_results",
        {
            "researcher": list(pop.ids),
            "group_id": group,
            "employer": employer,
            "final_lab": final,
            "offer": accepted,
            "moved": [f != e for f, e in zip(final, employer, strict=True)],
            "probability": prob,
            "p_move": p_move,
            "package_value_usd": value,
            "employer_cost_usd": cost,
        },
    )
    recipients = {oid: 0 for oid in scenario.offers}
    for g in group:
        for oid, offer in scenario.offers.items():
            if offer.to == g:
                recipients[oid] += 1
    n_accepted = {oid: sum(1 for a in accepted if a == oid) for oid in scenario.offers}
    offers = _table(
        "offer_results",
        {
            "offer": list(scenario.offers),
            "from_lab": [o.from_ for o in scenario.offers.values()],
            "to_id": [o.to for o in scenario.offers.values()],
            "recipients": [recipients[o] for o in scenario.offers],
            "accepted": [n_accepted[o] for o in scenario.offers],
            "expected_acceptances": [expected[o] for o in scenario.offers],
            "headline_usd": [
                valuation.package_value(o.to, oid).headline for oid, o in scenario.offers.items()
            ],
            "expected_pv_usd": [offer_pv[o] for o in scenario.offers],
            "employer_cost_usd": [offer_cost[o] for o in scenario.offers],
            "spend_usd": [n_accepted[o] * offer_cost[o] for o in scenario.offers],
        },
    )
    by_lab = {
        lab: {
            "acceptances": 0,
            "expected_acceptances": 0.0,
            "spend_usd": 0.0,
            "expected_spend_usd": 0.0,
        }
        for lab in labs
    }
    for oid, offer in scenario.offers.items():
        row = by_lab[offer.from_]
        row["acceptances"] += n_accepted[oid]
        row["expected_acceptances"] += expected[oid]
        row["spend_usd"] += n_accepted[oid] * offer_cost[oid]
        row["expected_spend_usd"] += expected[oid] * offer_cost[oid]
    return _lab_and_round_tables(labs, employer, final, by_lab, researchers, offers, None)


def _lab_and_round_tables(
    labs: Sequence[str],
    employer: Sequence[str],
    final: Sequence[str],
    by_lab: Mapping[str, Mapping[str, float]],
    researchers: pa.Table,
    offers: pa.Table,
    history: pa.Table | None,
) -> RunTables:
    before = {lab: 0 for lab in labs}
    after = {lab: 0 for lab in labs}
    hires = {lab: 0 for lab in labs}
    departures = {lab: 0 for lab in labs}
    for e, f in zip(employer, final, strict=True):
        before[e] += 1
        after[f] += 1
        if e != f:
            hires[f] += 1
            departures[e] += 1
    lab_table = _table(
        "lab_results",
        {
            "lab": list(labs),
            "headcount_before": [before[x] for x in labs],
            "headcount_after": [after[x] for x in labs],
            "hires": [hires[x] for x in labs],
            "departures": [departures[x] for x in labs],
            "acceptances": [int(by_lab[x]["acceptances"]) for x in labs],
            "expected_acceptances": [float(by_lab[x]["expected_acceptances"]) for x in labs],
            "spend_usd": [float(by_lab[x]["spend_usd"]) for x in labs],
            "expected_spend_usd": [float(by_lab[x]["expected_spend_usd"]) for x in labs],
        },
    )
    if history is None:
        history = _table(
            "round_results",
            {
                "round": [0] * len(labs) + [1] * len(labs),
                "lab": [*labs, *labs],
                "headcount": [before[x] for x in labs] + [after[x] for x in labs],
                "spend_usd": [0.0] * len(labs) + [float(by_lab[x]["spend_usd"]) for x in labs],
            },
        )
    return RunTables(labs=lab_table, researchers=researchers, offers=offers, rounds=history)


# --- market scenarios ---------------------------------------------------------------------


def _market_run(scenario: Scenario, seed: int) -> RunTables:
    """Fill the run tables from ``talentmarket.market.simulate_scenario``.

    Market runs differ from decision runs in three columns: a researcher's ``offer`` is the
    scenario offer from the lab they joined to their group (null if none: the market's own
    templates), ``package_value_usd`` is the headline of the contract they signed (null for
    stayers), and probabilities and expectations are null (the market draws its own choices).
    """
    from talentmarket.market import simulate_scenario

    outcome = simulate_scenario(scenario, seed=seed)
    labs = outcome.lab_ids
    L = len(labs)
    compiled = compile_scenario(scenario, seed)
    pop = compiled.population
    if tuple(pop.ids) != tuple(outcome.researcher_ids):
        raise TalentMarketError("market outcome and scenario disagree on the researchers")
    group = [pop.groups[g] for g in pop.group_index.tolist()]
    employer = [labs[j] for j in outcome.start.tolist()]
    final = [labs[j] for j in outcome.final.tolist()]
    offer_to = {(o.from_, o.to): oid for oid, o in scenario.offers.items()}
    moved = outcome.start != outcome.final
    nan = float("nan")
    joined = [
        offer_to.get((f, g)) if m else None
        for f, g, m in zip(final, group, moved.tolist(), strict=True)
    ]
    researchers = _table(
        "researcher_results",
        {
            "researcher": list(pop.ids),
            "group_id": group,
            "employer": employer,
            "final_lab": final,
            "offer": joined,
            "moved": moved.tolist(),
            "probability": [nan] * pop.n,
            "p_move": [nan] * pop.n,
            "package_value_usd": np.where(moved, outcome.headline_usd, np.nan),
            "employer_cost_usd": np.where(moved, outcome.cost_usd, 0.0),
        },
    )
    accepted = {oid: sum(1 for j in joined if j == oid) for oid in scenario.offers}
    spent = {oid: 0.0 for oid in scenario.offers}
    for j, cost in zip(joined, np.where(moved, outcome.cost_usd, 0.0).tolist(), strict=True):
        if j is not None:
            spent[j] += float(cost)
    recipients = {oid: group.count(o.to) for oid, o in scenario.offers.items()}
    offers = _table(
        "offer_results",
        {
            "offer": list(scenario.offers),
            "from_lab": [o.from_ for o in scenario.offers.values()],
            "to_id": [o.to for o in scenario.offers.values()],
            "recipients": [recipients[o] for o in scenario.offers],
            "accepted": [accepted[o] for o in scenario.offers],
            "expected_acceptances": [nan] * len(scenario.offers),
            "headline_usd": [nan] * len(scenario.offers),
            "expected_pv_usd": [nan] * len(scenario.offers),
            "employer_cost_usd": [nan] * len(scenario.offers),
            "spend_usd": [spent[o] for o in scenario.offers],
        },
    )
    spend = np.asarray(outcome.spend_usd) + np.asarray(outcome.counters_usd)
    by_lab = {
        lab: {
            "acceptances": int(outcome.hires[j]),
            "expected_acceptances": nan,
            "spend_usd": float(spend[j]),
            "expected_spend_usd": nan,
        }
        for j, lab in enumerate(labs)
    }
    # Round 0 is the start; the market reports cumulative headcount and spend per round after.
    start = np.bincount(outcome.start, minlength=L)
    rows: dict[str, list[Any]] = {"round": [], "lab": [], "headcount": [], "spend_usd": []}
    for record in ({"round": 0, "headcount": start, "spend_usd": np.zeros(L)}, *outcome.history):
        rows["round"] += [int(record["round"])] * L
        rows["lab"] += list(labs)
        rows["headcount"] += [int(h) for h in record["headcount"]]
        rows["spend_usd"] += [float(x) for x in record["spend_usd"]]
    history = _table("round_results", rows)
    return _lab_and_round_tables(labs, employer, final, by_lab, researchers, offers, history)
