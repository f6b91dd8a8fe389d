"""Compiling a validated scenario into arrays: labs x factors, people x preferences.

Cohort members are drawn here, with streams keyed by the scenario seed and the cohort id, so a
member's draws do not depend on the order of cohorts or on other cohorts' sizes.
"""

from __future__ import annotations

import operator
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from talentmarket._errors import UnknownIdError
from talentmarket.scenario._load import member_ids
from talentmarket.scenario._models import (
    ATTRIBUTE_FACTORS,
    Distribution,
    Leadership,
    LogNormal,
    Mission,
    Normal,
    Param,
    Preferences,
    Scenario,
    Uniform,
)
from talentmarket.valuation._build import stable_key

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]


def draw(param: Param | Distribution, n: int, rng: np.random.Generator) -> F64:
    """``n`` draws of a parameter: a number repeats, a distribution is sampled with ``rng``."""
    if isinstance(param, LogNormal):
        spec = param.lognormal
        return np.asarray(spec.median * np.exp(spec.sigma * rng.standard_normal(n)))
    if isinstance(param, Normal):
        return rng.normal(param.normal.mean, param.normal.sd, n)
    if isinstance(param, Uniform):
        return rng.uniform(param.uniform.low, param.uniform.high, n)
    return np.full(n, float(param))


def _distinct_colleagues(size: int, k: int, rng: np.random.Generator) -> I64:
    """(size, k) distinct colleagues per member, never the member itself (Floyd's sampling)."""
    if k == 0 or size < 2:
        return np.zeros((size, 0), dtype=np.int64)
    m = size - 1  # draw offsets among the other members
    chosen = np.empty((size, k), dtype=np.int64)
    for c, j in enumerate(range(m - k, m)):
        t = rng.integers(0, j + 1, size=size)
        clash = (chosen[:, :c] == t[:, None]).any(axis=1)
        chosen[:, c] = np.where(clash, j, t)
    me = np.arange(size)[:, None]
    return chosen + (chosen >= me)


@dataclass(frozen=True)
class Population:
    """Every researcher of a scenario as arrays (n people, L labs, A attribute factors).

    ids: person ids (cohort members as ``COHORT-001``...); group: valuation group (the
    researcher id, or the cohort id shared by its members) with ``group_index`` into ``groups``.
    employer: (n,) lab index. wealth: (n,) USD. eta: (n,) CRRA risk aversion.
    money: (n,) money weight alpha. attribute_weights: (n, A) for ``attribute_factors``.
    leadership_weight, mission_weight, peers_weight: (n,). affinity: (n, L) affinity to each
    lab's leader. mission_fit: (n, L) ideal . lab mission profile. Collaborators in CSR form
    (collab_ptr (n + 1,), collab_idx).
    """

    ids: tuple[str, ...]
    groups: tuple[str, ...]
    group_index: I64
    employer: I64
    wealth: F64
    eta: F64
    departure_hazard: F64
    money: F64
    attribute_factors: tuple[str, ...]
    attribute_weights: F64
    leadership_weight: F64
    affinity: F64
    mission_weight: F64
    mission_fit: F64
    peers_weight: F64
    collab_ptr: I64
    collab_idx: I64
    productivity: F64 = field(default_factory=lambda: np.zeros(0))  # (n,) USD a year
    positions: Mapping[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.positions:
            object.__setattr__(self, "positions", {p: i for i, p in enumerate(self.ids)})

    @property
    def n(self) -> int:
        return len(self.ids)

    def index_of(self, person: str) -> int:
        """Index of a person id; raises UnknownIdError."""
        try:
            return self.positions[person]
        except KeyError:
            raise UnknownIdError("researcher", person, self.ids) from None

    def ids_at(self, indices: I64) -> tuple[str, ...]:
        """The ids of the people at ``indices``, in order (one C-level gather, not a loop)."""
        positions = np.asarray(indices, dtype=np.int64).tolist()
        if not positions:
            return ()
        if len(positions) == 1:
            return (self.ids[positions[0]],)
        return tuple(operator.itemgetter(*positions)(self.ids))

    def members(self, group: str) -> I64:
        """Indices of the people in a valuation group (a researcher or a cohort)."""
        g = self.groups.index(group)
        return np.flatnonzero(self.group_index == g)

    def peer_share(self, location: I64, n_labs: int) -> F64:
        """(n, L) share of each person's collaborators at each lab, given where everyone is."""
        counts = np.diff(self.collab_ptr)
        owner = np.repeat(np.arange(self.n), counts)
        share = np.zeros((self.n, n_labs))
        np.add.at(share, (owner, location[self.collab_idx]), 1.0)
        return share / np.maximum(counts, 1)[:, None]


@dataclass(frozen=True)
class CompiledScenario:
    """A scenario compiled once: lab arrays and the population."""

    scenario: Scenario
    lab_ids: tuple[str, ...]
    attributes: F64  # (L, A) lab scores of the attribute factors
    factor_names: tuple[str, ...]  # explanation order: declared factors, then peers
    population: Population

    def lab_index(self, lab: str) -> int:
        try:
            return self.lab_ids.index(lab)
        except ValueError:
            raise UnknownIdError("lab", lab, self.lab_ids) from None

    def peer_share_at_employers(self) -> F64:
        """(n, L) share of each person's collaborators at each lab while everyone stays put.

        Computed once and kept (read-only): decisions need it for every alternative."""
        cached: F64 | None = self.__dict__.get("_peer_share_home")
        if cached is None:
            pop = self.population
            cached = pop.peer_share(pop.employer, len(self.lab_ids))
            cached.setflags(write=False)
            object.__setattr__(self, "_peer_share_home", cached)
        return cached

    def factor_utilities(self, people: I64, labs: I64, peer_share: F64 | None = None) -> F64:
        """Non-money utility components of person ``people[k]`` at lab ``labs[k]``.

        Returns (len(people), len(factor_names)): weight x score per factor, in
        ``factor_names`` order. ``peer_share`` (n, L) defaults to everyone at their employer.
        """
        pop = self.population
        if peer_share is None:
            peer_share = self.peer_share_at_employers()
        rows = _as_rows(people)
        labs = np.asarray(labs, dtype=np.int64)
        n = len(labs)

        def at_lab(table: F64) -> F64:  # table[people[k], labs[k]]
            if isinstance(rows, slice):
                return np.take_along_axis(table[rows], labs[:, None], axis=1)[:, 0]
            return np.asarray(table[rows, labs])

        out = np.zeros((n, len(self.factor_names)))
        for f, name in enumerate(self.factor_names):
            if name in pop.attribute_factors:
                a = pop.attribute_factors.index(name)
                out[:, f] = pop.attribute_weights[rows, a] * self.attributes[labs, a]
            elif name == "leadership":
                out[:, f] = pop.leadership_weight[rows] * at_lab(pop.affinity)
            elif name == "mission":
                out[:, f] = pop.mission_weight[rows] * at_lab(pop.mission_fit)
            elif name == "peers":
                out[:, f] = pop.peers_weight[rows] * at_lab(peer_share)
        return out


def _as_rows(people: I64) -> slice | I64:
    """``people`` as a slice when it is a run of consecutive indices (a cohort): views, not
    gathers, for the per-person arrays."""
    people = np.asarray(people, dtype=np.int64)
    n = len(people)
    if n > 1 and people[-1] - people[0] == n - 1 and bool(np.all(np.diff(people) == 1)):
        return slice(int(people[0]), int(people[0]) + n)
    return people


def _split(pref: Preferences) -> tuple[Param, dict[str, float], Param, dict[str, float]]:
    lead: Any = pref.leadership
    mis: Any = pref.mission
    lw, aff = (lead.weight, lead.affinity) if isinstance(lead, Leadership) else (lead, {})
    mw, ideal = (mis.weight, mis.ideal) if isinstance(mis, Mission) else (mis, {})
    return lw, aff, mw, ideal


def compile_scenario(scenario: Scenario, seed: int | None = None) -> CompiledScenario:
    """Compile labs and people (drawing cohort members with ``seed``, default the scenario's)."""
    seed = scenario.seed if seed is None else seed
    lab_ids = tuple(scenario.labs)
    L = len(lab_ids)
    attr_factors = tuple(f for f in ATTRIBUTE_FACTORS if f in scenario.factors)
    attributes = np.array(
        [[scenario.labs[j].attributes.get(f, 0.0) for f in attr_factors] for j in lab_ids],
        dtype=float,
    ).reshape(L, len(attr_factors))
    leaders = [scenario.labs[j].leader for j in lab_ids]
    missions = [scenario.labs[j].mission for j in lab_ids]
    lab_pos = {j: i for i, j in enumerate(lab_ids)}

    ids: list[str] = []
    groups: list[str] = []
    gidx: list[NDArray[np.int64]] = []
    cols: dict[str, list[F64]] = {
        k: [] for k in ("employer", "wealth", "eta", "departure", "money", "lw", "mw", "pw", "prod")
    }
    attr_w: list[F64] = []
    aff_rows: list[F64] = []
    fit_rows: list[F64] = []

    def add_block(
        group: str,
        members: list[str],
        employer: str,
        wealth: F64,
        eta: F64,
        departure: float,
        pref: Preferences,
        rng: np.random.Generator | None,
    ) -> None:
        n = len(members)
        g = len(groups)
        groups.append(group)
        ids.extend(members)
        gidx.append(np.full(n, g, dtype=np.int64))
        gen = rng if rng is not None else np.random.default_rng(0)
        lw, aff, mw, ideal = _split(pref)
        cols["employer"].append(np.full(n, lab_pos[employer], dtype=float))
        cols["wealth"].append(wealth)
        cols["eta"].append(eta)
        cols["departure"].append(np.full(n, departure))
        cols["money"].append(draw(pref.money, n, gen))
        attr_w.append(
            np.column_stack([draw(getattr(pref, f), n, gen) for f in attr_factors])
            if attr_factors
            else np.zeros((n, 0))
        )
        cols["lw"].append(draw(lw, n, gen))
        cols["mw"].append(draw(mw, n, gen))
        cols["pw"].append(draw(pref.peers, n, gen))
        aff_row = np.array([aff.get(ld, 0.0) if ld else 0.0 for ld in leaders])
        fit_row = np.array([sum(ideal.get(k, 0.0) * v for k, v in mi.items()) for mi in missions])
        aff_rows.append(np.broadcast_to(aff_row, (n, L)))
        fit_rows.append(np.broadcast_to(fit_row, (n, L)))

    for rid, r in scenario.researchers.items():
        add_block(
            rid,
            [rid],
            r.employer,
            np.array([r.wealth_usd]),
            np.array([r.risk_aversion]),
            r.departure_hazard,
            r.preferences,
            None,
        )
        cols["prod"].append(np.array([r.productivity_usd]))
    cohort_rngs: dict[str, np.random.Generator] = {}
    for cid, c in scenario.cohorts.items():
        rng = np.random.default_rng(np.random.SeedSequence([seed, 3, stable_key("cohort:" + cid)]))
        cohort_rngs[cid] = rng
        members = member_ids(cid, c.size)
        wealth = draw(c.wealth_usd, c.size, rng)
        eta = np.maximum(draw(c.risk_aversion, c.size, rng), 0.0)
        add_block(
            cid,
            members,
            c.employer,
            np.maximum(wealth, 1.0),
            eta,
            c.departure_hazard,
            c.preferences,
            rng,
        )
        # Its own stream, so that adding productivity changed none of the other draws.
        prod_rng = np.random.default_rng(
            np.random.SeedSequence([seed, 4, stable_key("cohort:" + cid)])
        )
        cols["prod"].append(np.maximum(draw(c.productivity_usd, c.size, prod_rng), 0.0))

    index = {pid: i for i, pid in enumerate(ids)}
    ptr = [0]
    idx: list[NDArray[np.int64]] = []
    for r in scenario.researchers.values():
        lst = np.array([index[c] for c in r.collaborators], dtype=np.int64)
        idx.append(lst)
        ptr.append(ptr[-1] + len(lst))
    for cid, c in scenario.cohorts.items():
        first = index[member_ids(cid, c.size)[0]]
        colleagues = _distinct_colleagues(c.size, c.collaborators.within_cohort, cohort_rngs[cid])
        idx.append((colleagues + first).ravel())
        ptr.extend((ptr[-1] + np.arange(1, c.size + 1) * colleagues.shape[1]).tolist())

    def cat(name: str) -> F64:
        return np.concatenate(cols[name]) if cols[name] else np.zeros(0)

    pop = Population(
        ids=tuple(ids),
        groups=tuple(groups),
        group_index=np.concatenate(gidx) if gidx else np.zeros(0, dtype=np.int64),
        employer=cat("employer").astype(np.int64),
        wealth=cat("wealth"),
        eta=cat("eta"),
        departure_hazard=cat("departure"),
        money=cat("money"),
        attribute_factors=attr_factors,
        attribute_weights=np.concatenate(attr_w) if attr_w else np.zeros((0, len(attr_factors))),
        leadership_weight=cat("lw"),
        affinity=np.concatenate(aff_rows) if aff_rows else np.zeros((0, L)),
        mission_weight=cat("mw"),
        mission_fit=np.concatenate(fit_rows) if fit_rows else np.zeros((0, L)),
        peers_weight=cat("pw"),
        collab_ptr=np.array(ptr, dtype=np.int64),
        collab_idx=np.concatenate(idx) if idx else np.zeros(0, dtype=np.int64),
        productivity=cat("prod"),
    )
    factor_names = (*scenario.factors, "peers")
    return CompiledScenario(scenario, lab_ids, attributes, tuple(factor_names), pop)
