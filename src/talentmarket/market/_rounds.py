"""The behavioral market: rounds of offers, counter-offers and choices (array core).

Each round (DESIGN.md, "Market"):

1. labs make offers. Round 1 holds the opening offers as written in the scenario; from round 2
   each lab acts by its strategy — ``posted`` (its template times a fixed scale to its most
   productive targets), ``bid-to-price`` (the smallest scale that reaches a target probability
   against staying, capped), ``match-competitor`` (the headline of the best outside offer a
   researcher holds) — never beyond its free seats or its uncommitted budget;
2. incumbents counter-offer (``never``, ``match`` the best offer's certainty-equivalent gain,
   or ``price``: the smallest retention holding P(stay) at a target), paid only if the person
   stays;
3. researchers choose among staying and the offers they hold with logit noise: a Gumbel taste
   shock is drawn once per person (for staying) and once per offer when it arrives, so a held
   offer is not a new lottery every round; choices change only as colleagues move and
   counters arrive;
4. moves update where everyone is; the next round's peer term (share of one's collaborators at
   each lab) follows. Offers expire ``offer_expiry`` rounds after they are made. Someone who
   accepted an offer has signed: no lab targets them again in this market.

The market stops when a round makes no offer and moves nobody, or after ``rounds`` rounds.
Capacity and budget hold by construction: a lab never has more open offers than free seats, nor
more committed cost than budget left. Every random draw comes from streams keyed by the seed.

Money of an offer: E[u(1 + (s x + y) / W0)] on the value nodes (x, y) of its package kind (the
offer's own package for scenario offers, the lab's template for a researcher's valuation group
otherwise), as in :func:`talentmarket.choice.decide`. A counter-offer is modelled as a certain
retention amount added to the certainty equivalent of the current package.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from talentmarket.choice._money import money_terms_by_kind, node_weights
from talentmarket.pricing._solve import minimum_scales
from talentmarket.valuation._crra import crra_inverse, crra_sup, crra_utility

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]
B8 = NDArray[np.bool_]

STRATEGIES = ("none", "posted", "bid-to-price", "match-competitor")
COUNTERS = ("never", "match", "price")

OPEN, ACCEPTED, REFUSED, WITHDRAWN = 0, 1, 2, 3
STATUS_NAMES = ("open", "accepted", "refused", "withdrawn")


@dataclass(frozen=True)
class PackageKinds:
    """Value nodes of every package an offer can be made of (n_kinds rows, k nodes).

    x: (n_kinds, k) USD nodes of the scaled part; y: (n_kinds, k) USD nodes of the fixed part
    (make-whole); headline, cost: (n_kinds,) USD at scale 1 of the scaled part;
    fixed_headline, fixed_cost: (n_kinds,) USD of the fixed part.
    """

    x: F64
    y: F64
    headline: F64
    cost: F64
    fixed_headline: F64
    fixed_cost: F64
    weights: F64 = field(default_factory=lambda: np.zeros((0, 0)))
    counts: I64 = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    @classmethod
    def from_lists(
        cls,
        xs: list[F64],
        ys: list[F64],
        headline: list[float],
        cost: list[float],
        fixed_headline: list[float],
        fixed_cost: list[float],
    ) -> PackageKinds:
        """Pad kinds with different node counts (a sure package has one) to one array."""
        k_max = max((len(x) for x in xs), default=1)
        n = len(xs)
        x = np.zeros((n, k_max))
        y = np.zeros((n, k_max))
        w = np.zeros((n, k_max))
        counts = np.array([len(v) for v in xs], dtype=np.int64)
        for i, (xi, yi) in enumerate(zip(xs, ys, strict=True)):
            x[i, : len(xi)] = xi
            y[i, : len(yi)] = yi
            w[i, : len(xi)] = node_weights(len(xi))
        return cls(
            x,
            y,
            np.array(headline),
            np.array(cost),
            np.array(fixed_headline),
            np.array(fixed_cost),
            w,
            counts,
        )

    def nodes(self, k: int) -> tuple[F64, F64]:
        """(x, y) nodes of kind k, unpadded."""
        c = int(self.counts[k])
        return self.x[k, :c], self.y[k, :c]


@dataclass(frozen=True)
class RoundsInput:
    """Compiled arrays of one behavioral market: n people, L labs, G valuation groups.

    location: (n,) lab index now. group: (n,) valuation group. base_utility: (n, L) non-money,
    non-peer utility of each person at each lab. alpha, wealth (USD), eta: (n,).
    peers_weight: (n,); collaborators in CSR (collab_ptr (n + 1,), collab_idx).
    money_now: (n,) money term of each person's current package. productivity: (n,) USD a
    year; multiplier: (L,) lab productivity multipliers (targets are ranked by their product).
    capacity: (L,) new hires allowed (inf: no limit); budget: (L,) USD (inf: no limit).
    strategy, counter: (L,) int codes into STRATEGIES, COUNTERS; scale, target_probability,
    max_scale: (L,); targets_per_round: (L,) int. template_kind: (G, L) package kind of lab j's
    template for group g (-1: none). opening_person, opening_lab, opening_kind,
    opening_scale: the round-1 offers.
    """

    location: I64
    group: I64
    base_utility: F64
    alpha: F64
    wealth: F64
    eta: F64
    peers_weight: F64
    collab_ptr: I64
    collab_idx: I64
    money_now: F64
    productivity: F64
    multiplier: F64
    capacity: F64
    budget: F64
    strategy: I64
    counter: I64
    scale: F64
    target_probability: F64
    max_scale: F64
    targets_per_round: I64
    kinds: PackageKinds
    template_kind: I64
    opening_person: I64
    opening_lab: I64
    opening_kind: I64
    opening_scale: F64


@dataclass(frozen=True)
class RoundsResult:
    """Outcome of the behavioral market (immutable).

    location: (n,) final lab; start: (n,) initial lab; money: (n,) final money term.
    hires, spend_usd, counters_usd: (L,) per lab (counters: retention paid by incumbents).
    offers: column arrays of every offer made (person, lab, kind, scale, headline_usd,
    cost_usd, round, status, probability_first: logit P(accept) when first decided).
    history: one dict per round. rounds_run; converged: stopped because nothing changed.
    """

    location: I64
    start: I64
    money: F64
    hires: I64
    spend_usd: F64
    counters_usd: F64
    offers: dict[str, NDArray[Any]]
    history: tuple[dict[str, Any], ...]
    rounds_run: int
    converged: bool
    seed: int
    opening_probability: F64 = field(default_factory=lambda: np.zeros(0))


def peer_share_at(people: I64, labs: I64, location: I64, ptr: I64, idx: I64) -> F64:
    """Share of each ``people[k]``'s collaborators who are at ``labs[k]`` (0 without any)."""
    counts = ptr[people + 1] - ptr[people]
    out = np.zeros(len(people))
    has = np.flatnonzero(counts > 0)
    if has.size == 0:
        return out
    owners = np.repeat(has, counts[has])
    starts = ptr[people[has]]
    offs = np.arange(owners.size) - np.repeat(np.cumsum(counts[has]) - counts[has], counts[has])
    where = location[idx[np.repeat(starts, counts[has]) + offs]]
    hit = (where == labs[owners]).astype(float)
    np.add.at(out, owners, hit)
    out[has] /= counts[has]
    return out


def _money(kinds: PackageKinds, kind: I64, scale: F64, wealth: F64, eta: F64) -> F64:
    """Money term of offers: per offer its kind's nodes at its scale, for its person."""
    f = np.ascontiguousarray
    return np.asarray(
        money_terms_by_kind(
            f(kind, dtype=np.int64),
            f(scale, dtype=np.float64),
            kinds.x,
            kinds.y,
            kinds.weights,
            kinds.counts,
            f(wealth, dtype=np.float64),
            f(eta, dtype=np.float64),
        )
    )


def _certainty_equivalent(money: F64, wealth: F64, eta: F64) -> F64:
    return np.asarray(wealth * (crra_inverse(money, eta) - 1.0))


def rounds_market(
    data: RoundsInput, *, rounds: int, offer_expiry: int, counter_target: float, seed: int
) -> RoundsResult:
    """Run the behavioral market; see the module docstring. Reproducible from ``seed``."""
    n, L = data.base_utility.shape
    kinds = data.kinds
    loc = data.location.copy()
    signed = np.zeros(len(loc), dtype=bool)  # accepted an offer in this market: off the market
    start = data.location.copy()
    money = data.money_now.copy()
    hires = np.zeros(L, dtype=np.int64)
    spend = np.zeros(L)
    counters_paid = np.zeros(L)
    rng_root = np.random.SeedSequence([seed, 11])
    stay_shock: F64 = np.asarray(np.random.default_rng(rng_root.spawn(1)[0]).gumbel(size=n))
    order = np.lexsort((np.arange(n), -data.productivity))  # most productive first, stable

    # Offers, grown each round (column lists of arrays).
    cols: dict[str, list[NDArray[Any]]] = {
        k: []
        for k in (
            "person",
            "lab",
            "kind",
            "scale",
            "headline_usd",
            "cost_usd",
            "round",
            "money",
            "shock",
        )
    }
    status_parts: list[NDArray[np.int64]] = []
    first_prob_parts: list[F64] = []
    offered = np.zeros((0,), dtype=np.int64)  # person * L + lab of every offer ever made
    history: list[dict[str, Any]] = []
    opening_prob = np.zeros(len(data.opening_person))
    opening_kept = np.zeros(len(data.opening_person), dtype=bool)
    converged = False
    rounds_run = 0

    def committed(open_mask: B8) -> tuple[F64, F64]:
        if not status_parts:
            return np.zeros(L), np.zeros(L)
        lab = np.concatenate(cols["lab"])[open_mask]
        cost = np.concatenate(cols["cost_usd"])[open_mask]
        return (
            np.bincount(lab, minlength=L).astype(np.float64),
            np.bincount(lab, weights=cost, minlength=L).astype(np.float64),
        )

    for t in range(1, rounds + 1):
        rounds_run = t
        rng = np.random.default_rng(np.random.SeedSequence([seed, 12, t]))
        status = np.concatenate(status_parts) if status_parts else np.zeros(0, np.int64)
        open_mask = status == OPEN
        n_open, cost_open = committed(open_mask)
        seats = data.capacity - hires - n_open
        money_left = data.budget - spend - counters_paid - cost_open

        # --- 1. offers ---------------------------------------------------------------
        new_p: list[I64] = []
        new_l: list[I64] = []
        new_k: list[I64] = []
        new_s: list[F64] = []
        if t == 1 and len(data.opening_person) > 0:  # the opening offers, as written
            pri = np.lexsort((data.opening_person, -data.productivity[data.opening_person]))
            keep = np.zeros(len(data.opening_person), dtype=bool)
            for i in pri:  # the opening offers, as written, within seats and budget
                j, k = data.opening_lab[i], data.opening_kind[i]
                c = data.opening_scale[i] * kinds.cost[k] + kinds.fixed_cost[k]
                if seats[j] >= 1 and money_left[j] >= c:
                    keep[i] = True
                    seats[j] -= 1
                    money_left[j] -= c
            opening_kept = keep
            new_p.append(data.opening_person[keep])
            new_l.append(data.opening_lab[keep])
            new_k.append(data.opening_kind[keep])
            new_s.append(data.opening_scale[keep])
        else:
            open_people = (
                np.concatenate(cols["person"])[open_mask] if status_parts else np.zeros(0, np.int64)
            )
            open_labs = (
                np.concatenate(cols["lab"])[open_mask] if status_parts else np.zeros(0, np.int64)
            )
            for j in range(L):
                code = STRATEGIES[data.strategy[j]]
                want = int(min(data.targets_per_round[j], max(seats[j], 0)))
                if code == "none" or want <= 0 or money_left[j] <= 0:
                    continue
                eligible = (loc != j) & ~signed
                eligible &= data.template_kind[data.group, j] >= 0
                eligible[offered[offered % L == j] // L] = False  # one offer per person
                if code == "match-competitor":
                    holders = np.zeros(n, dtype=bool)
                    holders[open_people[open_labs != j]] = True
                    eligible &= holders
                ranked = order[eligible[order]]
                if ranked.size == 0:
                    continue
                people = ranked[: max(want * 3, want)]  # spare candidates for unaffordable ones
                kind = data.template_kind[data.group[people], j]
                if code == "posted":
                    scale = np.full(len(people), data.scale[j])
                elif code == "bid-to-price":
                    scale = _bid_to_price(
                        data,
                        people,
                        j,
                        kind,
                        loc,
                        money,
                        counter_target=None,
                        target=data.target_probability[j],
                    )
                else:  # match-competitor: the headline of the best competing open offer
                    best = np.zeros(n)
                    heads = np.concatenate(cols["headline_usd"])[open_mask]
                    np.maximum.at(best, open_people[open_labs != j], heads[open_labs != j])
                    scale = (best[people] - kinds.fixed_headline[kind]) / np.maximum(
                        kinds.headline[kind], 1e-300
                    )
                ok = np.isfinite(scale) & (scale > 0)
                scale = np.minimum(scale, data.max_scale[j])
                cost = scale * kinds.cost[kind] + kinds.fixed_cost[kind]
                cum = np.cumsum(np.where(ok, cost, 0.0))
                ok &= cum <= money_left[j]
                chosen = np.flatnonzero(ok)[:want]
                if chosen.size == 0:
                    continue
                seats[j] -= chosen.size
                money_left[j] -= cost[chosen].sum()
                new_p.append(people[chosen])
                new_l.append(np.full(chosen.size, j, dtype=np.int64))
                new_k.append(kind[chosen])
                new_s.append(scale[chosen])
        made = int(sum(len(p) for p in new_p))
        if made:
            p = np.concatenate(new_p)
            lab = np.concatenate(new_l)
            kind = np.concatenate(new_k)
            scale = np.concatenate(new_s)
            cols["person"].append(p)
            cols["lab"].append(lab)
            cols["kind"].append(kind)
            cols["scale"].append(scale)
            cols["headline_usd"].append(scale * kinds.headline[kind] + kinds.fixed_headline[kind])
            cols["cost_usd"].append(scale * kinds.cost[kind] + kinds.fixed_cost[kind])
            cols["round"].append(np.full(made, t, dtype=np.int64))
            cols["money"].append(_money(kinds, kind, scale, data.wealth[p], data.eta[p]))
            cols["shock"].append(rng.gumbel(size=made))
            status_parts.append(np.zeros(made, dtype=np.int64))
            first_prob_parts.append(np.full(made, np.nan))
            offered = np.concatenate([offered, p * L + lab])
        if not status_parts:
            history.append(_history(t, 0, 0, 0, 0, loc, spend, counters_paid, L))
            converged = True
            break
        person = np.concatenate(cols["person"])
        lab = np.concatenate(cols["lab"])
        status = np.concatenate(status_parts)
        first_prob = np.concatenate(first_prob_parts)
        off_money = np.concatenate(cols["money"])
        shock = np.concatenate(cols["shock"])
        open_idx = np.flatnonzero(status == OPEN)
        holders = np.unique(person[open_idx])

        # --- 2. counter-offers by incumbents ------------------------------------------
        share_here = peer_share_at(holders, loc[holders], loc, data.collab_ptr, data.collab_idx)
        v_stay = (
            data.alpha[holders] * money[holders]
            + data.base_utility[holders, loc[holders]]
            + data.peers_weight[holders] * share_here
        )
        off_share = peer_share_at(
            person[open_idx], lab[open_idx], loc, data.collab_ptr, data.collab_idx
        )
        p_of = person[open_idx]
        v_off = (
            data.alpha[p_of] * off_money[open_idx]
            + data.base_utility[p_of, lab[open_idx]]
            + data.peers_weight[p_of] * off_share
        )
        pos = np.searchsorted(holders, p_of)
        counter_cost = np.zeros(len(holders))
        employer = loc[holders]
        codes = data.counter[employer]
        lse = np.full(len(holders), -np.inf)  # log-sum-exp of each holder's offers
        np.logaddexp.at(lse, pos, v_off)
        if np.any(codes > 0):
            best_m = np.full(len(holders), -np.inf)
            np.maximum.at(best_m, pos, off_money[open_idx])
            w0, eta_h, a_h = data.wealth[holders], data.eta[holders], data.alpha[holders]
            ce_now = _certainty_equivalent(money[holders], w0, eta_h)
            needed = np.full(len(holders), np.nan)
            match = codes == 1
            if match.any():
                ce_best = _certainty_equivalent(best_m, w0, eta_h)
                needed[match] = np.maximum(ce_best - ce_now, 0.0)[match]
            price = codes == 2
            if price.any():
                target_v = np.log(counter_target / (1 - counter_target)) + lse
                m_needed = money[holders] + (target_v - v_stay) / np.where(a_h > 0, a_h, np.nan)
                reachable = (m_needed < crra_sup(eta_h)) & (a_h > 0)
                ce_needed = np.where(
                    reachable,
                    _certainty_equivalent(np.where(reachable, m_needed, money[holders]), w0, eta_h),
                    np.inf,
                )
                needed[price] = np.maximum(ce_needed - ce_now, 0.0)[price]
            # Within the employer's uncommitted budget, most productive first.
            for i in np.argsort(-data.productivity[holders], kind="stable"):
                c = needed[i]
                j = employer[i]
                if np.isfinite(c) and c > 1.0 and money_left[j] >= c:  # at least a dollar
                    counter_cost[i] = c
                    money_left[j] -= c
            has = counter_cost > 0
            new_m = crra_utility(1.0 + (ce_now + counter_cost) / w0, eta_h)
            v_stay = np.where(has, v_stay + a_h * (new_m - money[holders]), v_stay)
            money_after_counter = np.where(has, new_m, money[holders])
        else:
            money_after_counter = money[holders]

        # --- 3. choices ----------------------------------------------------------------
        # Logit probabilities of the first decision on each offer (for the record).
        p_first = np.asarray(np.exp(v_off - np.logaddexp(v_stay, lse)[pos]))
        fresh = np.isnan(np.asarray(first_prob)[open_idx])
        first_prob[open_idx[fresh]] = p_first[fresh]
        total_stay = v_stay + stay_shock[holders]
        total_off = v_off + shock[open_idx]
        best_off = np.full(len(holders), -np.inf)
        np.maximum.at(best_off, pos, total_off)
        moves = best_off > total_stay
        # The chosen offer: the one reaching best_off (ties: first made).
        is_best = (total_off == best_off[pos]) & moves[pos]
        chosen = np.zeros(len(holders), dtype=np.int64) - 1
        for k in np.flatnonzero(is_best)[::-1]:
            chosen[pos[k]] = open_idx[k]
        mover_rows = np.flatnonzero(chosen >= 0)
        acc = chosen[mover_rows]
        who = holders[mover_rows]

        # --- 4. moves ------------------------------------------------------------------
        status[acc] = ACCEPTED
        moved_people = np.zeros(n, dtype=bool)
        moved_people[who] = True
        signed[who] = True
        others = open_idx[moved_people[person[open_idx]] & (status[open_idx] == OPEN)]
        status[others] = WITHDRAWN
        costs = np.concatenate(cols["cost_usd"])
        np.add.at(spend, lab[acc], costs[acc])
        np.add.at(hires, lab[acc], 1)
        loc[who] = lab[acc]
        money[who] = off_money[acc]
        stayed = counter_cost > 0
        stayed &= ~np.isin(np.arange(len(holders)), mover_rows)
        np.add.at(counters_paid, employer[stayed], counter_cost[stayed])
        money[holders[stayed]] = money_after_counter[stayed]
        rounds_made = np.concatenate(cols["round"])
        expired = (status == OPEN) & (rounds_made + offer_expiry - 1 <= t)
        status[expired] = REFUSED
        # Write the statuses back into per-round parts.
        sizes = [len(part) for part in status_parts]
        status_parts = list(np.split(status, np.cumsum(sizes)[:-1]))
        first_prob_parts = list(np.split(first_prob, np.cumsum(sizes)[:-1]))
        if t == 1 and len(data.opening_person) > 0:  # the opening offers, as written
            opening_prob = np.full(len(data.opening_person), np.nan)
            opening_prob[opening_kept] = first_prob[: int(opening_kept.sum())]
        history.append(
            _history(
                t,
                made,
                len(acc),
                int(stayed.sum()),
                int(expired.sum()),
                loc,
                spend,
                counters_paid,
                L,
            )
        )
        if made == 0 and len(acc) == 0 and not np.any(status == OPEN):
            converged = True
            break

    int_cols = {"person", "lab", "kind", "round"}
    offers: dict[str, NDArray[Any]] = {
        k: (np.concatenate(v) if v else np.zeros(0, dtype=np.int64 if k in int_cols else float))
        for k, v in cols.items()
        if k != "shock"
    }
    offers["status"] = np.concatenate(status_parts) if status_parts else np.zeros(0, dtype=np.int64)
    offers["probability_first"] = (
        np.concatenate(first_prob_parts) if first_prob_parts else np.zeros(0)
    )
    return RoundsResult(
        loc,
        start,
        money,
        hires,
        spend,
        counters_paid,
        offers,
        tuple(history),
        rounds_run,
        converged,
        seed,
        opening_prob,
    )


def _bid_to_price(
    data: RoundsInput,
    people: I64,
    j: int,
    kind: I64,
    loc: I64,
    money: F64,
    counter_target: float | None,
    target: float,
) -> F64:
    """Smallest scale of lab j's template reaching P(accept vs stay) >= target, per person."""
    out = np.full(len(people), np.inf)
    a = data.alpha[people]
    share_stay = peer_share_at(people, loc[people], loc, data.collab_ptr, data.collab_idx)
    share_j = peer_share_at(people, np.full(len(people), j), loc, data.collab_ptr, data.collab_idx)
    v_stay = (
        a * money[people]
        + data.base_utility[people, loc[people]]
        + data.peers_weight[people] * share_stay
    )
    non_money = data.base_utility[people, j] + data.peers_weight[people] * share_j
    with np.errstate(divide="ignore", invalid="ignore"):
        m_star = (np.log(target / (1 - target)) + v_stay - non_money) / a
    for k in np.unique(kind):
        sel = np.flatnonzero((kind == k) & (a > 0))
        if sel.size == 0:
            continue
        x, y = data.kinds.nodes(int(k))
        s, _, _ = minimum_scales(
            x,
            y,
            data.wealth[people[sel]],
            data.eta[people[sel]],
            m_star[sel],
        )
        out[sel] = s
    return out


def _history(
    t: int,
    offers: int,
    moves: int,
    counters: int,
    expired: int,
    loc: I64,
    spend: F64,
    counters_paid: F64,
    L: int,
) -> dict[str, Any]:
    return {
        "round": t,
        "offers": offers,
        "moves": moves,
        "counters_accepted": counters,
        "expired": expired,
        "headcount": np.bincount(loc, minlength=L).tolist(),
        "spend_usd": (spend + counters_paid).tolist(),
    }
