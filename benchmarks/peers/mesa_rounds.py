"""The rounds market written the way an agent-based modeller would: one Mesa agent per person.

A benchmark peer, not product code. It implements the subset of the behavioral rounds model
that ``benchmarks/rounds_market.py`` uses — labs post their template offer to their most
productive targets within free seats and budget, offers stay open ``offer_expiry`` rounds,
researchers choose with a Gumbel taste shock drawn once for staying and once per offer, the
peer term follows colleagues' moves, no counter-offers — from the same compiled inputs
(``talentmarket.market.compile_rounds``), so that the two implementations can be compared on
aggregate flows (within Monte Carlo error: their random streams differ) and on speed.
"""

from __future__ import annotations

import math
from typing import Any

import mesa
import numpy as np

from talentmarket.market import RoundsInput


def _utility(w: float, eta: float) -> float:
    if abs(1.0 - eta) < 1e-9:
        return math.log(w)
    return (w ** (1.0 - eta) - 1.0) / (1.0 - eta)


class Researcher(mesa.Agent):  # type: ignore[misc]
    """One researcher: where they work, their money, their preferences, their offers."""

    def __init__(self, model: RoundsModel, index: int) -> None:
        super().__init__(model)
        d = model.data
        self.index = index
        self.lab = int(d.location[index])
        self.money = float(d.money_now[index])
        self.offers: list[dict[str, Any]] = []
        self.lab_at_start = self.lab
        self.signed = False
        self.stay_shock = float(model.rng.gumbel())
        self.colleagues: list[Researcher] = []

    def peer_share(self, lab: int) -> float:
        """Share of colleagues at ``lab`` as the round began (everyone decides at once)."""
        if not self.colleagues:
            return 0.0
        return sum(1 for c in self.colleagues if c.lab_at_start == lab) / len(self.colleagues)

    def utility_at(self, lab: int, money: float) -> float:
        d = self.model.data
        i = self.index
        return (d.alpha[i] * money + d.base_utility[i, lab]
                + d.peers_weight[i] * self.peer_share(lab))

    def step(self) -> None:
        """Choose between staying and the open offers; move if an offer is better."""
        if not self.offers:
            return
        best = self.utility_at(self.lab, self.money) + self.stay_shock
        chosen = None
        for offer in self.offers:
            u = self.utility_at(offer["lab"], offer["money"]) + offer["shock"]
            if u > best:
                best, chosen = u, offer
        if chosen is not None:
            lab = self.model.labs[chosen["lab"]]
            self.model.flows[self.lab, chosen["lab"]] += 1
            self.lab = chosen["lab"]
            self.money = chosen["money"]
            self.signed = True
            lab.hires += 1
            lab.spend += chosen["cost"]
            for offer in self.offers:
                self.model.labs[offer["lab"]].open_offers -= 1
            self.offers = []


class Lab(mesa.Agent):  # type: ignore[misc]
    """One lab: posts its template to the most productive people it does not employ."""

    def __init__(self, model: RoundsModel, index: int) -> None:
        super().__init__(model)
        self.index = index
        self.hires = 0
        self.spend = 0.0
        self.open_offers = 0
        self.offered: set[int] = set()

    def step(self) -> None:
        m = self.model
        d = m.data
        j = self.index
        seats = d.capacity[j] - self.hires - self.open_offers
        budget = d.budget[j] - self.spend - sum(
            o["cost"] for r in m.researchers for o in r.offers if o["lab"] == j)
        want = int(min(d.targets_per_round[j], max(seats, 0)))
        if want <= 0:
            return
        made = 0
        for r in m.by_productivity:
            if made >= want:
                break
            if r.lab == j or r.index in self.offered or r.signed:
                continue
            kind = int(d.template_kind[d.group[r.index], j])
            if kind < 0:
                continue
            cost = d.kinds.cost[kind] + d.kinds.fixed_cost[kind]
            if cost > budget:
                continue
            x, y = d.kinds.nodes(kind)
            w = np.asarray(d.kinds.weights[kind, : len(x)])
            w0, eta = float(d.wealth[r.index]), float(d.eta[r.index])
            money = float(sum(wk * _utility(1.0 + (xk + yk) / w0, eta)
                              for wk, xk, yk in zip(w, x, y, strict=True)))
            r.offers.append({"lab": j, "money": money, "cost": cost, "round": m.round,
                             "shock": float(m.rng.gumbel())})
            self.offered.add(r.index)
            self.open_offers += 1
            budget -= cost
            made += 1


class RoundsModel(mesa.Model):  # type: ignore[misc]
    """The market: each step, labs post offers, researchers choose, old offers expire."""

    def __init__(self, data: RoundsInput, *, offer_expiry: int, seed: int) -> None:
        super().__init__(seed=seed)
        self.data = data
        self.offer_expiry = offer_expiry
        self.round = 0
        n, L = data.base_utility.shape
        self.flows = np.zeros((L, L), dtype=np.int64)
        self.researchers = [Researcher(self, i) for i in range(n)]
        for r in self.researchers:
            a, b = data.collab_ptr[r.index], data.collab_ptr[r.index + 1]
            r.colleagues = [self.researchers[c] for c in data.collab_idx[a:b]]
        self.labs = [Lab(self, j) for j in range(L)]
        order = sorted(range(n), key=lambda i: (-data.productivity[i], i))
        self.by_productivity = [self.researchers[i] for i in order]

    def step(self) -> None:
        self.round += 1
        for r in self.researchers:
            r.lab_at_start = r.lab
        for lab in self.labs:
            lab.step()
        for r in self.researchers:
            r.step()
        for r in self.researchers:  # expire
            kept = []
            for o in r.offers:
                if o["round"] + self.offer_expiry - 1 <= self.round:
                    self.labs[o["lab"]].open_offers -= 1
                else:
                    kept.append(o)
            r.offers = kept


def run_mesa(data: RoundsInput, *, rounds: int, offer_expiry: int, seed: int) -> np.ndarray:
    """Run the Mesa peer; returns the (L, L) matrix of where people started and ended."""
    model = RoundsModel(data, offer_expiry=offer_expiry, seed=seed)
    for _ in range(rounds):
        model.step()
    L = len(model.labs)
    flows = np.zeros((L, L), dtype=np.int64)
    for r in model.researchers:
        flows[int(data.location[r.index]), r.lab] += 1
    return flows
