"""Hypothesis strategies for random markets (shared by the market tests)."""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import strategies as st

from talentmarket.market import CRRAUtility, Market, Rankings, Valuations


def _ids(prefix: str, n: int) -> list[str]:
    return [f"{prefix}{k}" for k in range(n)]


@st.composite
def matching_instances(
    draw: st.DrawFn,
    max_researchers: int = 8,
    max_labs: int = 4,
    max_capacity: int = 3,
    min_researchers: int = 0,
    min_labs: int = 0,
) -> dict[str, Any]:
    """A matching instance in the dictionary layout, with incomplete lists on both sides.

    Each researcher ranks a random subset of labs in random order; each lab ranks a random
    subset of all researchers (mostly those who ranked it, sometimes others, who are then
    unacceptable to them), so unreciprocated entries occur on both sides.
    """
    n = draw(st.integers(min_researchers, max_researchers))
    m = draw(st.integers(min_labs, max_labs))
    researchers = _ids("r", n)
    labs = _ids("L", m)
    r_prefs: dict[str, list[str]] = {}
    for r in researchers:
        r_prefs[r] = draw(st.permutations(labs).flatmap(lambda p: st.sampled_from(
            [p[:k] for k in range(len(p) + 1)]
        ))) if labs else []  # fmt: skip
    lab_specs: dict[str, dict[str, Any]] = {}
    for lab in labs:
        ranked_it = [r for r in researchers if lab in r_prefs[r]]
        others = [r for r in researchers if r not in ranked_it]
        keep = draw(st.lists(st.sampled_from(ranked_it), unique=True)) if ranked_it else []
        extra = draw(st.lists(st.sampled_from(others), unique=True, max_size=2)) if others else []
        prefs = draw(st.permutations(keep + extra))
        lab_specs[lab] = {
            "capacity": draw(st.integers(0, max_capacity)),
            "preferences": list(prefs),
        }
    return {"researchers": r_prefs, "labs": lab_specs}


@st.composite
def assignment_instances(
    draw: st.DrawFn,
    max_researchers: int = 8,
    max_labs: int = 4,
    max_capacity: int = 3,
    budgets: bool = False,
    density: float | None = None,
) -> dict[str, Any]:
    """An assignment game in the dictionary layout: values in USD (integers up to $2M, many
    ties), a step, optional budgets."""
    n = draw(st.integers(1, max_researchers))
    m = draw(st.integers(1, max_labs))
    researchers = _ids("r", n)
    labs = _ids("L", m)
    dens = density if density is not None else draw(st.sampled_from([0.3, 0.7, 1.0]))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    scale = draw(st.sampled_from([1_000, 100_000, 2_000_000]))
    values: dict[str, dict[str, float]] = {}
    for lab in labs:
        row = {}
        for r in researchers:
            if rng.random() < dens:
                # coarse grid on purpose: equal values test the tie-breaking
                row[r] = float(rng.integers(0, 21) * scale / 20)
        values[lab] = row
    lab_specs: dict[str, dict[str, Any]] = {}
    for lab in labs:
        spec: dict[str, Any] = {"capacity": draw(st.integers(0, max_capacity))}
        if budgets and draw(st.booleans()):
            spec["budget_usd"] = float(draw(st.integers(0, 3)) * scale / 2)
        lab_specs[lab] = spec
    # Ascending processes take about value / step raises per contested pair: keep it <= 1000.
    step = draw(st.sampled_from([scale / 1000, scale / 100, scale / 7]))
    return {"labs": lab_specs, "values": values, "step_usd": step, "researchers": researchers}


@st.composite
def markets(
    draw: st.DrawFn,
    max_researchers: int = 8,
    max_labs: int = 4,
    budgets: bool = True,
    utilities: bool = True,
) -> Market:
    """A compiled market with both rankings and valuations (what any engine may need).

    Valuations may carry budgets, a relative step, CRRA utility and amenities.
    """
    n = draw(st.integers(1, max_researchers))
    m = draw(st.integers(1, max_labs))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    capacity = rng.integers(0, 4, m)
    # rankings: random incomplete lists
    r_lists = [list(rng.permutation(m)[: rng.integers(0, m + 1)]) for _ in range(n)]
    l_lists = [list(rng.permutation(n)[: rng.integers(0, n + 1)]) for _ in range(m)]
    rankings = Rankings.from_lists(
        np.concatenate(([0], np.cumsum([len(x) for x in r_lists]))),
        np.array([j for x in r_lists for j in x], np.int64),
        np.concatenate(([0], np.cumsum([len(x) for x in l_lists]))),
        np.array([i for x in l_lists for i in x], np.int64),
    )
    dense = rng.integers(0, 21, (m, n)) * 50_000.0
    acceptable = rng.random((m, n)) < draw(st.sampled_from([0.4, 1.0]))
    budget = None
    if budgets and draw(st.booleans()):
        budget = np.where(rng.random(m) < 0.5, rng.integers(0, 4, m) * 200_000.0, np.inf)
    utility = None
    amenity = None
    if utilities and draw(st.booleans()):
        utility = CRRAUtility(
            risk_aversion=rng.uniform(0, 3, n),
            wealth_usd=rng.uniform(1e5, 5e6, n),
            money_weight=rng.uniform(0.5, 2, n),
        )
        amenity = rng.normal(0, 0.3, int(acceptable.sum()))
    valuations = Valuations.from_dense(
        dense,
        acceptable=acceptable,
        budget_usd=budget,
        step_usd=float(draw(st.sampled_from([1_000.0, 25_000.0]))),
        step_relative=float(draw(st.sampled_from([0.0, 0.0, 0.05]))),
        utility=utility,
        amenity=amenity,
    )
    return Market(
        tuple(f"r{i:02d}" for i in range(n)),
        tuple(f"L{j:02d}" for j in range(m)),
        capacity,
        rankings=rankings,
        valuations=valuations,
        source="<hypothesis>",
    )
