"""The decision model: multinomial logit over {stay, each offer the person holds}.

U_ij = alpha_i * E[u((W0 + PV_ij) / W0)] + sum_k beta_ik x_jk + lead_i * affinity_i[leader_j]
       + mission_i * (ideal_i . mission_j) + peers_i * share of collaborators at j + eps_ij,

eps Gumbel (DESIGN.md, "Decisions"). Leaving forfeits what the current package still had to
vest unless the offer makes whole; both sides are valued over the same horizon on shared paths.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from talentmarket._errors import UnknownIdError
from talentmarket.choice._money import (
    certainty_equivalent_from_utility,
    expected_money_utility,
    money_equivalents,
    paired_nodes,
    value_nodes,
)
from talentmarket.scenario._amounts import format_usd
from talentmarket.valuation._scenario import STAY, ScenarioValuation, offers_by_group

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]

FACTOR_LABELS = {"peers": "colleagues"}


def format_probability(p: float) -> str:
    """A probability for people: 0.123, or 1.2e-04 when small."""
    return f"{p:.3f}" if p >= 0.001 or p == 0 else f"{p:.1e}"


def softmax(utility: F64, available: NDArray[np.bool_]) -> F64:
    """Logit probabilities along the last axis; unavailable alternatives get 0. Shape kept."""
    u = np.where(available, utility, -np.inf)
    u = u - u.max(axis=-1, keepdims=True)
    e = np.exp(u)
    return np.asarray(e / e.sum(axis=-1, keepdims=True))


@dataclass(frozen=True)
class DecisionResult:
    """Decisions of n people among up to A alternatives (column 0 is staying).

    alternatives: per person, the alternative ids (``"stay"`` then offer ids).
    utility, probability, money_utility, certainty_equivalent: (n, A); padding is NaN / 0.
    components: (n, A, F) utility of each factor (``factors``: money first) relative to
    staying; the components of column a sum to utility[:, a] - utility[:, 0].
    money_equivalent: (n, A, F) USD with the same effect (NaN where ``no_amount``).
    """

    people: tuple[str, ...]
    employers: tuple[str, ...]
    offer_labs: Mapping[str, str]
    alternatives: tuple[tuple[str, ...], ...]
    factors: tuple[str, ...]
    utility: F64
    probability: F64
    money_utility: F64
    certainty_equivalent: F64
    components: F64
    money_equivalent: F64
    no_amount: NDArray[np.bool_]
    seed: int
    scale: Mapping[str, float]

    def index(self, person: str) -> int:
        try:
            return self.people.index(person)
        except ValueError:
            raise UnknownIdError("researcher", person, self.people) from None

    def probability_of(self, person: str, alternative: str) -> float:
        """P(person chooses alternative) (0 if they do not hold it)."""
        i = self.index(person)
        alts = self.alternatives[i]
        return float(self.probability[i, alts.index(alternative)]) if alternative in alts else 0.0

    def acceptance(self, offer: str) -> F64:
        """(n,) probability that each person accepts ``offer`` (0 where they do not hold it)."""
        out = np.zeros(len(self.people))
        for i, alts in enumerate(self.alternatives):
            if offer in alts:
                out[i] = self.probability[i, alts.index(offer)]
        return out

    def expected_acceptances(self, offer: str | None = None) -> float:
        """Expected number of people who accept ``offer`` (any offer when None)."""
        if offer is not None:
            return float(self.acceptance(offer).sum())
        return float(self.probability[:, 1:].sum())

    def explanation(self, person: str, offer: str) -> list[dict[str, Any]]:
        """Per-factor utility (offer minus stay) with its money equivalent, in factor order."""
        i = self.index(person)
        alts = self.alternatives[i]
        if offer not in alts[1:]:
            raise UnknownIdError(f"offer held by {person}", offer, alts[1:])
        a = alts.index(offer)
        return [
            {
                "factor": f,
                "utility": float(self.components[i, a, k]),
                "money_equivalent_usd": (
                    None if self.no_amount[i, a, k] else float(self.money_equivalent[i, a, k])
                ),
                "no_amount": bool(self.no_amount[i, a, k]),
            }
            for k, f in enumerate(self.factors)
        ]

    def top_reasons(self, person: str, offer: str, k: int = 3) -> list[dict[str, Any]]:
        """The k factors that move the decision most, largest |utility| first (ties by name)."""
        rows = self.explanation(person, offer)
        return sorted(rows, key=lambda r: (-abs(r["utility"]), r["factor"]))[:k]

    def to_dict(self) -> dict[str, Any]:
        """JSON shape of ``talentmarket decide --json``."""
        out = []
        for i, person in enumerate(self.people):
            alts = self.alternatives[i]
            out.append(
                {
                    "researcher": person,
                    "employer": self.employers[i],
                    "probabilities": {a: float(self.probability[i, j]) for j, a in enumerate(alts)},
                    "certainty_equivalents_usd": {
                        a: float(self.certainty_equivalent[i, j]) for j, a in enumerate(alts)
                    },
                    "explanations": {
                        o: {
                            "factors": self.explanation(person, o),
                            "top_reasons": [r["factor"] for r in self.top_reasons(person, o)],
                        }
                        for o in alts[1:]
                    },
                }
            )
        return {"seed": self.seed, "decisions": out}

    def summary(self) -> Any:
        """A rich table: each person's probability of accepting each offer, top reasons.

        Each reason is the factor's utility (offer minus stay) and its money equivalent: the
        certain money with the same effect, or "no amount" where none would do.
        """
        from rich.table import Table

        table = Table(title="Decisions: P(accept) and the three factors that weigh most")
        table.add_column("researcher", overflow="fold")
        table.add_column("offer", overflow="fold")
        table.add_column("P(accept)", justify="right", no_wrap=True)
        for k in ("1st reason", "2nd", "3rd"):
            table.add_column(k, no_wrap=True)
        for i, person in enumerate(self.people):
            for o in self.alternatives[i][1:]:
                cells = []
                for r in self.top_reasons(person, o):
                    money = "no amount" if r["no_amount"] else format_usd(r["money_equivalent_usd"])
                    label = FACTOR_LABELS.get(r["factor"], r["factor"])
                    cells.append(f"{label} {r['utility']:+.2f}\n[dim]{money}[/]")
                table.add_row(person, o, format_probability(self.probability_of(person, o)), *cells)
        table.caption = "utility of the offer minus staying; dim: money with the same effect"
        return table


def decide(
    valuation: ScenarioValuation,
    *,
    people: Sequence[str] | None = None,
    scale: Mapping[str, float] | None = None,
    peer_share: F64 | None = None,
    indices: I64 | None = None,
    explain: bool = True,
    without_money_of: str | None = None,
) -> DecisionResult:
    """Probabilities and per-factor explanations for every person holding an offer.

    ``people`` restricts to those ids (default: everyone who holds at least one offer), or
    ``indices`` to those population indices; ``scale`` multiplies the amounts of named offers
    (the make-whole is not scaled); ``peer_share`` (n, L) overrides where collaborators are
    (default: at their employers). ``explain=False`` skips certainty equivalents and money
    equivalents (NaN), for callers that need only utilities and probabilities.
    ``without_money_of`` leaves that offer's money term out (0): pricing solves for it.
    """
    compiled = valuation.compiled
    scenario = compiled.scenario
    pop = compiled.population
    scale = dict(scale or {})
    for oid in scale:
        if oid not in scenario.offers:
            raise UnknownIdError("offer", oid, tuple(scenario.offers))
    by_group = offers_by_group(scenario)
    if indices is not None:
        idx = np.asarray(indices, dtype=np.int64)
    elif people is None:
        holds = np.array([g in by_group for g in pop.groups], dtype=bool)
        idx = np.flatnonzero(holds[pop.group_index]) if pop.n else np.zeros(0, np.int64)
    else:
        idx = np.array([pop.index_of(p) for p in people], dtype=np.int64)
    n = len(idx)
    present = np.unique(pop.group_index[idx])
    A = 1 + max((len(by_group.get(pop.groups[g], [])) for g in present), default=0)
    F = 1 + len(compiled.factor_names)
    factors = ("money", *compiled.factor_names)

    utility = np.full((n, A), np.nan)
    money_u = np.full((n, A), np.nan)
    ce = np.full((n, A), np.nan)
    comps = np.zeros((n, A, F))
    alts: list[tuple[str, ...]] = [()] * n
    offer_labs = {oid: o.from_ for oid, o in scenario.offers.items()}

    # Work per valuation group: members share the package distributions.
    groups = pop.group_index[idx]
    for g in np.unique(groups):
        rows = np.flatnonzero(groups == g)
        members = idx[rows]
        group = pop.groups[g]
        offers = by_group.get(group, [])
        W0, eta, alpha = pop.wealth[members], pop.eta[members], pop.money[members]
        employer = pop.employer[members]
        stay_fac = compiled.factor_utilities(members, employer, peer_share)
        stay_nodes = value_nodes(valuation.package_value(group, None).pv)
        m_stay = expected_money_utility(stay_nodes, W0, eta)
        money_u[rows, 0] = m_stay
        utility[rows, 0] = alpha * m_stay + stay_fac.sum(axis=1)
        for a, oid in enumerate(offers, start=1):
            # Offer and make-whole nodes are paired as written (scale 1) whatever the scale, so
            # that decide and price see one money term; both move with the same share price.
            if oid == without_money_of:
                m_off = np.zeros(len(members))
            else:
                own, make_whole = paired_nodes(*valuation.offer_parts(group, oid))
                m_off = expected_money_utility(scale.get(oid, 1.0) * own + make_whole, W0, eta)
            lab = np.full(len(members), compiled.lab_index(offer_labs[oid]))
            off_fac = compiled.factor_utilities(members, lab, peer_share)
            money_u[rows, a] = m_off
            utility[rows, a] = alpha * m_off + off_fac.sum(axis=1)
            comps[rows, a, 0] = alpha * (m_off - m_stay)
            comps[rows, a, 1:] = off_fac - stay_fac
        alt_ids = (STAY, *offers)
        if len(rows) == n:
            alts = [alt_ids] * n
        else:
            for r in rows.tolist():
                alts[r] = alt_ids
        if explain:
            ce[rows] = certainty_equivalent_from_utility(money_u[rows], W0[:, None], eta[:, None])

    available = ~np.isnan(utility)
    prob = softmax(np.nan_to_num(utility, nan=-np.inf), available)
    # Utility differences are exact by construction: rebuild them from the components.
    utility[:, 1:] = np.where(available[:, 1:], utility[:, :1] + comps[:, 1:].sum(axis=2), np.nan)
    money_eq: F64 = np.full((n, A, F), np.nan)
    no_amount: NDArray[np.bool_] = np.zeros((n, A, F), dtype=bool)
    if explain:
        W0, eta, alpha = pop.wealth[idx], pop.eta[idx], pop.money[idx]
        rep = np.repeat
        me_flat, none_flat = money_equivalents(
            comps.reshape(n * A, F),
            rep(alpha, A),
            rep(W0, A),
            rep(eta, A),
            rep(ce[:, 0], A),
        )
        money_eq = me_flat.reshape(n, A, F)
        no_amount = none_flat.reshape(n, A, F)
        # The money factor's equivalent is exact: the difference of certainty equivalents.
        money_eq[:, :, 0] = ce - ce[:, :1]
        no_amount[:, :, 0] = False
        money_eq[:, 0, :] = 0.0
        no_amount[:, 0, :] = False
    return DecisionResult(
        people=pop.ids_at(idx),
        employers=tuple(np.asarray(compiled.lab_ids, dtype=object)[pop.employer[idx]].tolist()),
        offer_labs=offer_labs,
        alternatives=tuple(alts),
        factors=factors,
        utility=utility,
        probability=prob,
        money_utility=money_u,
        certainty_equivalent=ce,
        components=comps,
        money_equivalent=money_eq,
        no_amount=no_amount,
        seed=valuation.seed,
        scale=scale,
    )
