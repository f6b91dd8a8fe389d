"""Synthetic decisions drawn from a scenario's own decision model (for ``talentmarket fit``).

Each choice situation draws one person from the scenario's population (individual researchers
and cohort members alike, among those whose group holds at least one offer). The alternatives
are staying and every offer the person's group holds; each offer's amounts are multiplied by a
random factor ``s ~ lognormal(0, scale_sigma)`` (median 1), drawn per situation and offer, so
that money varies between situations while everything else about the offer stays as written.
Utilities follow DESIGN.md's random utility exactly as :func:`talentmarket.decide` computes it
at ``scale={offer: s}``::

    U_ij = alpha_i * E[u((W0_i + PV_ij) / W0_i)] + sum_k w_ik * score_ijk + eps_ij,

with eps Gumbel, drawn by a seeded ``numpy.random.Generator``; the chosen alternative is the
argmax. The table is in the long format ``talentmarket fit`` reads, one row per situation x
alternative, with one column per factor holding the person-specific *score* (so that weight x
score is the factor's utility): lab attributes for the attribute factors, the affinity to the
lab's leader for ``leadership``, ideal . lab mission for ``mission`` and the share of the
person's collaborators at the lab for ``peers``.

Money enters through ``ce``, the certainty equivalent at the person's own risk aversion: since
``u((W0 + CE) / W0) = E[u((W0 + PV) / W0)]``, the spec
``money: {alpha: ALPHA, eta: ETA, wealth: wealth, value: ce}`` reproduces the money term
exactly at the true ETA, so a fit recovers ``preferences.money`` and ``risk_aversion`` where
every person shares them.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from talentmarket._errors import InputError, Issue
from talentmarket.choice import (
    certainty_equivalent_from_utility,
    expected_money_utility,
    paired_nodes,
    value_nodes,
)
from talentmarket.pricing import money_terms
from talentmarket.scenario import Scenario, compile_scenario
from talentmarket.valuation._build import stable_key
from talentmarket.valuation._scenario import STAY, offers_by_group, value_scenario

__all__ = ["DEFAULT_SCALE_SIGMA", "simulate_decisions", "write_decisions"]

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]

#: Spread (log-sd) of the random multiplier of each offer's amounts: ``exp(N(0, 0.6^2))`` has
#: median 1 and a 5%-95% range of about 0.37x-2.7x.
DEFAULT_SCALE_SIGMA = 0.6


def _scores(
    factor_names: tuple[str, ...],
    attribute_factors: tuple[str, ...],
    attributes: F64,
    affinity: F64,
    mission_fit: F64,
    peer_share: F64,
    person: I64,
    lab: I64,
) -> dict[str, F64]:
    """Per-factor scores of person ``person[k]`` at lab ``lab[k]`` (weight x score = utility).

    attributes: (L, A) lab scores; affinity, mission_fit, peer_share: (n, L). Returns one
    (len(person),) array per factor name.
    """
    out: dict[str, F64] = {}
    for name in factor_names:
        if name in attribute_factors:
            out[name] = attributes[lab, attribute_factors.index(name)]
        elif name == "leadership":
            out[name] = affinity[person, lab]
        elif name == "mission":
            out[name] = mission_fit[person, lab]
        elif name == "peers":
            out[name] = peer_share[person, lab]
        else:  # a factor the scenario lists but nothing scores: zero utility
            out[name] = np.zeros(len(person))
    return out


def simulate_decisions(
    scenario: Scenario,
    *,
    situations: int = 1000,
    seed: int | None = None,
    paths: int | None = None,
    scale_sigma: float = DEFAULT_SCALE_SIGMA,
) -> pd.DataFrame:
    """Draw stay-or-move decisions from a scenario's own decision model.

    Parameters
    ----------
    scenario : Scenario
        A validated scenario with at least one offer.
    situations : int
        Number of choice situations N (>= 1).
    seed : int or None
        Seed of everything random (cohort draws, valuation paths, people, offer scales, Gumbel
        noise); defaults to the scenario's seed.
    paths : int or None
        Monte Carlo paths of the valuation (default: the scenario's ``settings.paths``).
    scale_sigma : float
        Log-sd of the lognormal multiplier of each offer's amounts (median 1; 0: as written).

    Returns
    -------
    pandas.DataFrame
        Long format, one row per situation x alternative, situations in order and ``stay``
        first: ``situation`` (int), ``alternative`` (``stay`` or an offer id), ``chosen``
        (0/1), ``person`` (id), ``lab`` (lab of the alternative), ``scale`` (multiplier of the
        offer's amounts; 1 for staying), one column per factor of the scenario plus ``peers``
        (scores), ``wealth`` (W0, USD), ``pv`` (expected PV of the alternative's package, USD,
        make-whole included) and ``ce`` (certainty equivalent at the person's risk aversion,
        USD).

    Raises
    ------
    InputError
        If ``situations`` or ``scale_sigma`` is out of range, or nobody holds an offer.
    """
    issues = []
    if situations < 1:
        issues.append(Issue("simulate-decisions", "situations", f"must be >= 1, got {situations}"))
    if not (np.isfinite(scale_sigma) and scale_sigma >= 0):
        issues.append(
            Issue("simulate-decisions", "scale_sigma", f"must be >= 0, got {scale_sigma}")
        )
    if issues:
        raise InputError(issues)
    seed = scenario.seed if seed is None else seed
    compiled = compile_scenario(scenario, seed)
    pop = compiled.population
    by_group = offers_by_group(scenario)
    holds = np.array([g in by_group for g in pop.groups], dtype=bool)
    holders = np.flatnonzero(holds[pop.group_index]) if pop.n else np.zeros(0, np.int64)
    if holders.size == 0:
        raise InputError(
            [Issue(scenario.name, "offers", "nobody holds an offer: there is no decision to draw")]
        )
    valuation = value_scenario(compiled, seed=seed, paths=paths)
    rng = np.random.default_rng(np.random.SeedSequence([seed, stable_key("simulate-decisions")]))
    person = np.sort(holders[rng.integers(0, holders.size, size=situations)])
    peer_share = pop.peer_share(pop.employer, len(compiled.lab_ids))
    factor_names = compiled.factor_names
    lab_ids = compiled.lab_ids

    frames: list[pd.DataFrame] = []
    group_of = pop.group_index[person]
    sit_ids = np.arange(situations)
    for g in np.unique(group_of):
        rows = np.flatnonzero(group_of == g)
        who = person[rows]
        group = pop.groups[g]
        offers = by_group[group]
        W0, eta, alpha = pop.wealth[who], pop.eta[who], pop.money[who]
        n, J = len(rows), 1 + len(offers)
        labs = np.empty((n, J), dtype=np.int64)
        labs[:, 0] = pop.employer[who]
        scale = np.ones((n, J))
        money = np.empty((n, J))
        pv = np.empty((n, J))
        stay_pv = valuation.package_value(group, None).pv
        money[:, 0] = expected_money_utility(value_nodes(stay_pv), W0, eta)
        pv[:, 0] = stay_pv.mean()
        for a, oid in enumerate(offers, start=1):
            labs[:, a] = compiled.lab_index(scenario.offers[oid].from_)
            scale[:, a] = np.exp(scale_sigma * rng.standard_normal(n))
            own, make_whole = valuation.offer_parts(group, oid)
            # Nodes paired as written, exactly as ``decide`` pairs an offer and its make-whole.
            x, y = paired_nodes(own, make_whole)
            money[:, a] = money_terms(scale[:, a], x, y, W0, eta)
            pv[:, a] = scale[:, a] * own.mean() + make_whole.mean()
        ce = certainty_equivalent_from_utility(money, W0[:, None], eta[:, None])
        person_rep = np.repeat(who, J)
        lab_flat = labs.ravel()
        components = compiled.factor_utilities(person_rep, lab_flat, peer_share)
        utility = alpha[:, None] * money + components.sum(axis=1).reshape(n, J)
        choice = np.argmax(utility + rng.gumbel(size=(n, J)), axis=1)
        scores = _scores(
            factor_names,
            pop.attribute_factors,
            compiled.attributes,
            pop.affinity,
            pop.mission_fit,
            peer_share,
            person_rep,
            lab_flat,
        )
        frame = pd.DataFrame(
            {
                "situation": np.repeat(sit_ids[rows], J),
                "alternative": np.tile(np.array([STAY, *offers], dtype=object), n),
                "chosen": (np.arange(J)[None, :] == choice[:, None]).astype(np.int64).ravel(),
                "person": np.array(pop.ids, dtype=object)[person_rep],
                "lab": np.array(lab_ids, dtype=object)[lab_flat],
                "scale": scale.ravel(),
                **scores,
                "wealth": np.repeat(W0, J),
                "pv": pv.ravel(),
                "ce": ce.ravel(),
            }
        )
        frames.append(frame)
    out = pd.concat(frames, ignore_index=True)
    order = np.lexsort((np.arange(len(out)), out["situation"].to_numpy()))
    return out.iloc[order].reset_index(drop=True)


def decisions_format(path: str | Path) -> str:
    """``"csv"`` or ``"parquet"`` by the file suffix; InputError naming ``--out`` otherwise."""
    name = Path(path).name.lower()
    if name.endswith((".parquet", ".pq")):
        return "parquet"
    if name.endswith((".csv", ".csv.gz")):
        return "csv"
    raise InputError(
        [Issue(str(path), "--out", "unknown format; expected .csv, .csv.gz, .parquet or .pq")]
    )


def write_decisions(frame: pd.DataFrame, path: str | Path) -> Path:
    """Write a decisions table as CSV (``.csv``, ``.csv.gz``) or Parquet (``.parquet``, ``.pq``).

    The file is written under a temporary name in the same folder and renamed into place, so
    an interrupted write never leaves a half-written table behind.

    Parameters
    ----------
    frame : pandas.DataFrame
        The table.
    path : str or Path
        Destination; its suffix picks the format.

    Returns
    -------
    Path
        The path written.

    Raises
    ------
    InputError
        If the suffix is unknown or the folder cannot be written.
    """
    target = Path(path)
    kind = decisions_format(target)
    name = target.name.lower()
    suffix = ".csv.gz" if name.endswith(".csv.gz") else target.suffix
    try:
        fd, tmp_name = tempfile.mkstemp(
            prefix=f".{target.name}.", suffix=f".tmp{suffix}", dir=target.parent or Path(".")
        )
    except OSError as exc:
        raise InputError([Issue(str(path), "--out", f"cannot write: {exc.strerror}")]) from None
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        if kind == "parquet":
            frame.to_parquet(tmp, index=False)
        else:
            frame.to_csv(tmp, index=False)
        tmp.replace(target)
    except OSError as exc:
        raise InputError([Issue(str(path), "--out", f"cannot write: {exc.strerror}")]) from None
    finally:
        tmp.unlink(missing_ok=True)
    return target
