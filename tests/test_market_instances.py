"""Instance parsing: the fast compile path agrees with the schema; errors name file and field."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings

from market_strategies import assignment_instances, matching_instances
from talentmarket import InputError
from talentmarket.market import (
    AssignmentInstance,
    MatchingInstance,
    compile_assignment_instance,
    compile_matching_instance,
    read_instance,
)


def _messages(exc: pytest.ExceptionInfo[InputError]) -> list[str]:
    return [str(i) for i in exc.value.issues]


def _same_rankings(a: Any, b: Any) -> None:
    assert a.researcher_ids == b.researcher_ids
    assert a.lab_ids == b.lab_ids
    np.testing.assert_array_equal(a.capacity, b.capacity)
    for name in (
        "researcher_ptr",
        "researcher_labs",
        "researcher_rank_at_lab",
        "lab_ptr",
        "lab_researchers",
        "lab_rank_at_researcher",
    ):
        np.testing.assert_array_equal(getattr(a.rankings, name), getattr(b.rankings, name))


@settings(max_examples=100, deadline=None)
@given(instance=matching_instances(max_researchers=10, max_labs=5))
def test_fast_path_equals_schema_path(instance: dict[str, Any]) -> None:
    fast = compile_matching_instance(instance)
    slow = MatchingInstance.parse(instance).compile()
    _same_rankings(fast, slow)


def test_cross_ranks_by_hand() -> None:
    market = compile_matching_instance(
        {
            "researchers": {"b": ["Y", "X"], "a": ["X"]},
            "labs": {
                "X": {"capacity": 1, "preferences": ["b"]},
                "Y": {"capacity": 1, "preferences": ["a", "b"]},
            },
        }
    )
    rk = market.rankings
    assert rk is not None
    assert market.researcher_ids == ("a", "b")  # stable (sorted) order, not file order
    np.testing.assert_array_equal(rk.researcher_labs, [0, 1, 0])  # a: X | b: Y, X
    np.testing.assert_array_equal(rk.researcher_rank_at_lab, [-1, 1, 0])
    np.testing.assert_array_equal(rk.lab_rank_at_researcher, [1, -1, 0])


@pytest.mark.parametrize(
    "ids",
    [
        ["a", "ab", "abc", "b"],
        ["researcher-with-a-long-common-prefix-0001", "researcher-with-a-long-common-prefix-0002"],
        ["x" * 40 + "1" + "y" * 9, "x" * 40 + "2" + "y" * 9],  # differ only in the middle
        ["", "é", "日本", "naïve"],
        ["has\x00nul", "plain"],  # the separator itself: falls back to the slow path
    ],
)
def test_id_mapping_edge_cases(ids: list[str]) -> None:
    instance = {
        "researchers": {r: ["L"] for r in ids},
        "labs": {"L": {"capacity": len(ids), "preferences": list(reversed(ids))}},
    }
    fast = compile_matching_instance(instance)
    slow = MatchingInstance.parse(instance).compile()
    _same_rankings(fast, slow)
    assert fast.rankings is not None
    assert np.all(fast.rankings.researcher_rank_at_lab >= 0)


BAD_MATCHING = [
    ({"researchers": {"a": ["Z"]}, "labs": {}}, "researchers.a[0]", "unknown lab id 'Z'"),
    (
        {"researchers": {"a": ["X", "X"]}, "labs": {"X": {"capacity": 1, "preferences": ["a"]}}},
        "researchers.a[1]",
        "duplicate lab id 'X'",
    ),
    (
        {"researchers": {"a": []}, "labs": {"X": {"capacity": 1, "preferences": ["a", "q"]}}},
        "labs.X.preferences[1]",
        "unknown researcher id 'q'",
    ),
    (
        {"researchers": {"a": []}, "labs": {"X": {"capacity": 1, "preferences": ["a", "a"]}}},
        "labs.X.preferences[1]",
        "duplicate researcher id 'a'",
    ),
    (
        {"researchers": {}, "labs": {"X": {"capacity": -1, "preferences": []}}},
        "labs.X.capacity",
        "greater than or equal to 0",
    ),
    (
        {"researchers": {}, "labs": {"X": {"capacity": 1, "prefs": []}}},
        "labs.X.prefs",
        "Extra inputs are not permitted",
    ),
    ({"researchers": {"a": "X"}, "labs": {}}, "researchers.a", "tuple"),
    ({"researchers": {"a": [1]}, "labs": {}}, "researchers.a[0]", "valid string"),
    ({"labs": {}}, "researchers", "Field required"),
    ({"researchers": {1: []}, "labs": {}}, "researchers[1] (key)", "valid string"),
    ([], "", "valid dictionary"),
]


@pytest.mark.parametrize(("data", "field", "message"), BAD_MATCHING)
def test_matching_errors_name_field(data: Any, field: str, message: str) -> None:
    with pytest.raises(InputError) as exc:
        compile_matching_instance(data, source="inst.json")
    hits = [i for i in exc.value.issues if i.field == field and message in i.message]
    assert hits, _messages(exc)
    assert all(i.source == "inst.json" for i in exc.value.issues)


def test_all_matching_errors_at_once() -> None:
    data = {
        "researchers": {"a": ["X", "nope", "X"]},
        "labs": {"X": {"capacity": -2, "preferences": ["a", "zed"]}},
    }
    with pytest.raises(InputError) as exc:
        compile_matching_instance(data, source="f.json")
    fields = {i.field for i in exc.value.issues}
    assert {"labs.X.capacity", "researchers.a[1]", "researchers.a[2]"} <= fields
    assert "labs.X.preferences[1]" in fields


BAD_ASSIGNMENT = [
    ({"labs": {}, "values": {}, "step_usd": -5}, "step_usd", "greater than 0"),
    ({"labs": {}, "values": {}, "step_usd": 0}, "step_usd", "greater than 0"),
    (
        {"labs": {"X": {"capacity": -1}}, "values": {}, "step_usd": 1},
        "labs.X.capacity",
        "greater than or equal to 0",
    ),
    ({"labs": {}, "values": {"X": {"a": 1}}, "step_usd": 1}, "values.X", "unknown lab id 'X'"),
    (
        {"labs": {"X": {"capacity": 1}}, "values": {"X": {"a": 1}}, "step_usd": 1,
         "researchers": ["b"]},
        "values.X.a",
        "unknown researcher id 'a'",
    ),
    (
        {"labs": {"X": {"capacity": 1}}, "values": {"X": {"a": float("nan")}}, "step_usd": 1},
        "values.X.a",
        "finite",
    ),
    (
        {"labs": {"X": {"capacity": 1, "budget_usd": -1}}, "values": {}, "step_usd": 1},
        "labs.X.budget_usd",
        "greater than or equal to 0",
    ),
    ({"labs": {}, "values": {}, "step_usd": 1, "stepp": 2}, "stepp", "Extra inputs"),
]  # fmt: skip


@pytest.mark.parametrize(("data", "field", "message"), BAD_ASSIGNMENT)
def test_assignment_errors_name_field(data: Any, field: str, message: str) -> None:
    with pytest.raises(InputError) as exc:
        compile_assignment_instance(data, source="game.json")
    hits = [i for i in exc.value.issues if i.field == field and message in i.message]
    assert hits, _messages(exc)


@settings(max_examples=40, deadline=None)
@given(instance=assignment_instances(budgets=True))
def test_assignment_compiles_values(instance: dict[str, Any]) -> None:
    market = compile_assignment_instance(instance)
    val = market.valuations
    assert val is not None
    dense = val.dense()
    for j, lab in enumerate(market.lab_ids):
        for i, r in enumerate(market.researcher_ids):
            expected = instance["values"].get(lab, {}).get(r)
            if expected is None:
                assert np.isnan(dense[j, i])
            else:
                assert dense[j, i] == expected
    budgets = [instance["labs"][lab].get("budget_usd", np.inf) for lab in market.lab_ids]
    np.testing.assert_array_equal(val.budget_usd, budgets)
    assert AssignmentInstance.parse(instance).step_usd == val.step_usd


def test_read_instance_errors_name_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "broken.json"
    bad.write_text("{not json")
    with pytest.raises(InputError, match=r"broken\.json: not valid JSON"):
        read_instance(bad)
    wrong = tmp_path / "wrong.json"
    wrong.write_text(json.dumps({"researchers": {"a": ["Q"]}, "labs": {}}))
    with pytest.raises(InputError, match=r"wrong\.json: researchers\.a\[0\]: unknown lab id"):
        read_instance(wrong)
