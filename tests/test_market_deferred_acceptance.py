"""Deferred acceptance: agreement with `matching`, stability, proposer optimality."""

from __future__ import annotations

import itertools
import warnings
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

from market_strategies import matching_instances
from talentmarket.market import (
    MatchingResult,
    blocking_pairs,
    check_validity,
    compile_matching_instance,
    deferred_acceptance,
)

SIDES = ("researchers", "labs")


def _matching_solution(instance: dict[str, Any], optimal: str) -> dict[str, set[str]]:
    """The `matching` package's HR solution.

    Unacceptable entries (unreciprocated, or with a lab of capacity 0) are removed first, and
    players left with empty lists dropped: `matching` expects complete, reciprocated lists and
    fails on a capacity-0 hospital; "unranked means unacceptable" makes this equivalent.
    """
    from matching.games import HospitalResident

    labs = {h: s for h, s in instance["labs"].items() if s["capacity"] > 0}
    mutual = {
        (r, h)
        for r, prefs in instance["researchers"].items()
        for h in prefs
        if h in labs and r in labs[h]["preferences"]
    }
    residents = {
        r: [h for h in prefs if (r, h) in mutual] for r, prefs in instance["researchers"].items()
    }
    hospitals = {h: [r for r in s["preferences"] if (r, h) in mutual] for h, s in labs.items()}
    residents = {r: p for r, p in residents.items() if p}
    hospitals = {h: p for h, p in hospitals.items() if p}
    capacities = {h: labs[h]["capacity"] for h in hospitals}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        game = HospitalResident.create_from_dictionaries(
            residents, hospitals, capacities, clean=True
        )
        solution = game.solve(optimal=optimal)
    return {h.name: {r.name for r in rs} for h, rs in solution.items()}


def _ours(result: MatchingResult) -> dict[str, set[str]]:
    return {lab: set(rs) for lab, rs in result.assignment().items() if rs}


@pytest.mark.parametrize("side", SIDES)
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(instance=matching_instances())
def test_equals_matching_package(instance: dict[str, Any], side: str) -> None:
    market = compile_matching_instance(instance)
    ours = _ours(deferred_acceptance(market, proposing=side))  # type: ignore[arg-type]
    theirs = _matching_solution(instance, "resident" if side == "researchers" else "hospital")
    assert ours == {h: rs for h, rs in theirs.items() if rs}


@pytest.mark.parametrize("side", SIDES)
@settings(max_examples=200, deadline=None)
@given(instance=matching_instances(max_researchers=12, max_labs=5))
def test_stable_and_valid(instance: dict[str, Any], side: str) -> None:
    result = deferred_acceptance(compile_matching_instance(instance), proposing=side)  # type: ignore[arg-type]
    assert check_validity(result) == ()
    assert blocking_pairs(result).shape == (0, 2)


def _all_stable(instance: dict[str, Any]) -> list[dict[str, str | None]]:
    """Every stable matching of a small instance, by brute force over all assignments."""
    r_prefs = instance["researchers"]
    labs = instance["labs"]
    acceptable = {
        r: [lab for lab in prefs if r in labs[lab]["preferences"] and labs[lab]["capacity"] > 0]
        for r, prefs in r_prefs.items()
    }
    names = sorted(r_prefs)
    stable = []
    for choice in itertools.product(*[[None, *acceptable[r]] for r in names]):
        match = dict(zip(names, choice, strict=True))
        held: dict[str, list[str]] = {lab: [] for lab in labs}
        for r, lab in match.items():
            if lab is not None:
                held[lab].append(r)
        if any(len(held[lab]) > labs[lab]["capacity"] for lab in labs):
            continue
        if not _blocked(match, held, instance, acceptable):
            stable.append(match)
    return stable


def _blocked(
    match: dict[str, str | None],
    held: dict[str, list[str]],
    instance: dict[str, Any],
    acceptable: dict[str, list[str]],
) -> bool:
    labs = instance["labs"]
    for r, options in acceptable.items():
        prefs = instance["researchers"][r]
        for lab in options:
            if match[r] == lab:
                continue
            r_wants = match[r] is None or prefs.index(lab) < prefs.index(match[r])
            lab_prefs = labs[lab]["preferences"]
            lab_wants = len(held[lab]) < labs[lab]["capacity"] or any(
                lab_prefs.index(r) < lab_prefs.index(h) for h in held[lab]
            )
            if r_wants and lab_wants:
                return True
    return False


@settings(max_examples=120, deadline=None)
@given(instance=matching_instances(max_researchers=5, max_labs=3, max_capacity=2))
def test_proposer_optimal_by_brute_force(instance: dict[str, Any]) -> None:
    market = compile_matching_instance(instance)
    stable = _all_stable(instance)
    assert stable, "a stable matching always exists"
    ids = market.researcher_ids
    for side in SIDES:
        result = deferred_acceptance(market, proposing=side)  # type: ignore[arg-type]
        ours = {
            ids[i]: (market.lab_ids[j] if j >= 0 else None) for i, j in enumerate(result.lab_of)
        }
        assert ours in stable
        for other in stable:
            if side == "researchers":
                for r, lab in ours.items():
                    assert _r_rank(instance, r, lab) <= _r_rank(instance, r, other[r])
            else:
                for lab in instance["labs"]:
                    mine = sorted(_l_rank(instance, lab, r) for r, x in ours.items() if x == lab)
                    theirs = sorted(_l_rank(instance, lab, r) for r, x in other.items() if x == lab)
                    # Rural hospitals: same number hired; lab-optimal: k-th best is at least
                    # as good in ours, for every k.
                    assert len(mine) == len(theirs)
                    assert all(a <= b for a, b in zip(mine, theirs, strict=True))


def _r_rank(instance: dict[str, Any], r: str, lab: str | None) -> int:
    prefs: list[str] = instance["researchers"][r]
    return len(prefs) if lab is None else prefs.index(lab)


def _l_rank(instance: dict[str, Any], lab: str, r: str) -> int:
    prefs: list[str] = instance["labs"][lab]["preferences"]
    return prefs.index(r)


def test_known_answer_both_sides() -> None:
    # Classic: researchers and labs disagree; each side gets its first choices when proposing.
    instance = {
        "researchers": {"a": ["X", "Y"], "b": ["Y", "X"]},
        "labs": {"X": {"capacity": 1, "preferences": ["b", "a"]},
                 "Y": {"capacity": 1, "preferences": ["a", "b"]}},
    }  # fmt: skip
    market = compile_matching_instance(instance)
    assert deferred_acceptance(market).assignment() == {"X": ["a"], "Y": ["b"]}
    assert deferred_acceptance(market, proposing="labs").assignment() == {"X": ["b"], "Y": ["a"]}


def test_incomplete_lists_and_zero_capacity() -> None:
    instance = {
        "researchers": {"a": ["X", "Z"], "b": ["X"], "c": [], "d": ["Y"]},
        "labs": {
            "X": {"capacity": 2, "preferences": ["b", "c"]},  # a unranked: unacceptable
            "Y": {"capacity": 1, "preferences": []},  # d unranked
            "Z": {"capacity": 0, "preferences": ["a"]},
        },
    }
    for side in SIDES:
        result = deferred_acceptance(compile_matching_instance(instance), proposing=side)  # type: ignore[arg-type]
        assert result.assignment() == {"X": ["b"], "Y": [], "Z": []}
        assert result.unmatched() == ["a", "c", "d"]
        assert result.to_dict()["blocking_pairs"] == 0


def test_assignment_lists_follow_lab_ranking() -> None:
    instance = {
        "researchers": {"a": ["X"], "b": ["X"], "c": ["X"]},
        "labs": {"X": {"capacity": 3, "preferences": ["c", "a", "b"]}},
    }
    result = deferred_acceptance(compile_matching_instance(instance))
    assert result.assignment() == {"X": ["c", "a", "b"]}
    np.testing.assert_array_equal(result.lab_rank, [1, 2, 0])


def test_blocking_pairs_detects_an_unstable_matching() -> None:
    instance = {
        "researchers": {"a": ["X", "Y"], "b": ["X", "Y"]},
        "labs": {"X": {"capacity": 1, "preferences": ["a", "b"]},
                 "Y": {"capacity": 1, "preferences": ["a", "b"]}},
    }  # fmt: skip
    market = compile_matching_instance(instance)
    stable = deferred_acceptance(market)
    import dataclasses

    swapped = dataclasses.replace(stable, lab_of=np.array([1, 0]))  # a at Y, b at X: unstable
    np.testing.assert_array_equal(blocking_pairs(swapped), [[0, 0]])  # (a, X) blocks
    assert check_validity(swapped) == ()


def test_bad_proposing_side_is_an_input_error() -> None:
    from talentmarket import InputError

    market = compile_matching_instance({"researchers": {}, "labs": {}})
    with pytest.raises(InputError, match="expected 'researchers' or 'labs'"):
        deferred_acceptance(market, proposing="hospitals")  # type: ignore[arg-type]
