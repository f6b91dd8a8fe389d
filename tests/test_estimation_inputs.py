"""Every bad decisions table or spec is an InputError naming file, field and reason."""

from __future__ import annotations

import dataclasses
import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from rich.console import Console

import talentmarket.estimation as estimation
from talentmarket import ConvergenceError, InputError
from talentmarket.estimation import fit, load_spec, parse_spec, prepare

BASE_SPEC: dict[str, Any] = {
    "columns": {"situation": "sit", "alternative": "alt", "chosen": "chosen", "available": "av",
                "person": "pid"},
    "constants": {"reference": "stay"},
    "coefficients": {"culture": "culture"},
    "specific": {"B_X_move": {"move": "x"}},
}  # fmt: skip


def table(**changes: list[Any]) -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            "sit": [1, 1, 2, 2, 3, 3],
            "pid": ["a", "a", "a", "a", "b", "b"],
            "alt": ["stay", "move"] * 3,
            "chosen": [1, 0, 0, 1, 1, 0],
            "av": [1, 1, 1, 1, 1, 1],
            "culture": [0.1, 0.5, -0.2, 0.3, 0.0, 1.0],
            "x": [0.0, 1.0, 0.0, 2.0, 0.0, 3.0],
        }
    )
    for column, values in changes.items():
        frame[column] = values
    return frame


def issues_of(frame: pd.DataFrame, spec: dict[str, Any] = BASE_SPEC) -> list[str]:
    with pytest.raises(InputError) as caught:
        prepare(frame, spec)
    return [str(issue) for issue in caught.value.issues]


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"chosen": [0, 0, 0, 1, 1, 0]}, "columns.chosen: every situation needs exactly one chosen"
         " alternative; 1 situation(s) of column 'sit' have no chosen alternative (first: 1)"),
        ({"chosen": [1, 1, 0, 1, 1, 0]}, "more than one chosen row (first: 1)"),
        ({"chosen": [1, 0, 0, 1, 1, "yes"]}, "columns.chosen: column 'chosen' must hold 0 or 1"),
        ({"av": [1, 1, 1, 0, 1, 1]}, "columns.available: 1 situation(s) chose an unavailable"
         " alternative (first: 2)"),
        ({"av": [1, 1, 1, 1, 1, 7]}, "columns.available: column 'av' must hold 0 or 1"),
        ({"culture": [0.1, np.nan, -0.2, 0.3, 0.0, 1.0]}, "coefficients.culture: column 'culture'"
         " is missing or not finite for an available alternative in 1 situation(s) (first: 1)"),
        ({"culture": ["a", "b", "c", "d", "e", "f"]}, "coefficients.culture: column 'culture'"
         " must be numeric"),
        ({"pid": ["a", "b", "a", "a", "b", "b"]}, "columns.person: column 'pid' changes within 1"
         " situation(s) (first: 1)"),
        ({"alt": ["stay", "stay", "stay", "move", "stay", "move"]}, "columns.alternative: 1"
         " (situation, alternative) pair(s) occur on several rows: (1, stay)"),
    ],
)  # fmt: skip
def test_bad_tables(changes: dict[str, list[Any]], expected: str) -> None:
    messages = issues_of(table(**changes))
    assert any(
        message.startswith("<decisions>: ") and expected in message for message in messages
    ), messages


def test_nan_in_an_unavailable_alternative_is_fine() -> None:
    frame = table(av=[1, 0, 1, 1, 1, 1], culture=[0.1, np.nan, -0.2, 0.3, 0.0, 1.0])
    assert prepare(frame, BASE_SPEC).n_situations == 3


def test_missing_columns_and_unknown_alternatives_all_reported() -> None:
    spec = {**BASE_SPEC, "coefficients": {"culture": "culture", "B_Z": "z"},
            "columns": {**BASE_SPEC["columns"], "person": "who"}}  # fmt: skip
    messages = issues_of(table(), spec)
    assert any("coefficients.B_Z: column 'z' is not in the table" in m for m in messages)
    assert any("columns.person: column 'who' is not in the table" in m for m in messages)
    spec = {**BASE_SPEC, "constants": {"reference": "leave"}, "specific": {"B": {"go": "x"}}}
    messages = issues_of(table(), spec)
    assert any("constants.reference: alternative 'leave' does not occur" in m for m in messages)
    assert any("specific.B.go: alternative 'go' does not occur" in m for m in messages)


def test_money_columns_must_give_positive_wealth() -> None:
    spec = {**BASE_SPEC, "money": {"wealth": "w", "value": "pv"}}
    messages = issues_of(table(w=[1.0, 1.0, 0.0, 0.0, 2.0, 2.0], pv=[0.0] * 6), spec)
    assert any("money.wealth: column 'w' must be positive; it is not in 1 situation(s)" in m
               for m in messages)  # fmt: skip
    messages = issues_of(table(w=[1.0] * 6, pv=[0.0, -3.0, 0.0, 0.0, 0.0, 0.0]), spec)
    assert any("money.value: wealth + 'pv' must be positive" in m for m in messages)


@pytest.mark.parametrize(
    ("spec", "field", "message"),
    [
        ({"coefficients": {"B": "x"}, "random": {"C": "normal"}}, "random.C",
         "not a coefficient of the model"),
        ({"coefficients": {"B": "x"}, "random": {"B": "gamma"}}, "random.B", "Input should be"),
        ({"coefficients": {"B": "x"}, "draws": {"count": 0}}, "draws.count", "greater than 0"),
        ({"coefficients": {"B": "x"}, "colums": {}}, "colums", "unknown key"),
        ({"coefficients": {"B": "x"}, "specific": {"B": {"a": "x"}}}, "specific.B",
         "used twice"),
        ({"constants": {"reference": "a"}, "coefficients": {"ASC_b": "x"}}, "coefficients.ASC_b",
         "clashes"),
        ({"coefficients": {"B": "x"}, "start": {"Q": 1.0}}, "start.Q", "not a parameter"),
        ({}, "", "the model has no parameter"),
    ],
)  # fmt: skip
def test_bad_specs(spec: dict[str, Any], field: str, message: str) -> None:
    with pytest.raises(InputError) as caught:
        parse_spec(spec, source="m.yaml")
    issue = caught.value.issues[0]
    assert issue.source == "m.yaml"
    assert issue.field == field
    assert message in issue.message


def test_spec_files(tmp_path: Path) -> None:
    path = tmp_path / "m.yaml"
    path.write_text("coefficients: [1, 2]\n")
    with pytest.raises(
        InputError, match=r"m.yaml: coefficients: Input should be a valid dictionary"
    ):
        load_spec(path)
    path.write_text("coefficients: {B: x\n")
    with pytest.raises(InputError, match="not valid YAML"):
        load_spec(path)
    path.write_text("- 1\n")
    with pytest.raises(InputError, match="expected a mapping"):
        load_spec(path)
    path.write_text("coefficients: {B: x}\nconstants: {reference: 1}\n")
    assert load_spec(path).constants is not None and load_spec(path).constants.reference == "1"


def test_random_on_an_unknown_constant_is_reported_at_compile_time() -> None:
    spec = {**BASE_SPEC, "random": {"ASC_nope": "normal"}}
    messages = issues_of(table(), spec)
    assert any("random.ASC_nope: not a linear parameter" in m for m in messages)


def test_public_surface_is_pinned() -> None:
    assert sorted(estimation.__all__) == sorted([
        "FACTORS", "ColumnsSpec", "ConstantsSpec", "DecisionTable", "Design", "DrawsSpec",
        "EstimationResult", "ModelSpec", "MoneySpec", "compile_design", "fit", "gradient",
        "hessian", "inverse_money_utility", "load_spec", "log_likelihood", "loss_and_gradient",
        "money_utility", "money_utility_derivatives", "observation_scores", "parse_spec",
        "prepare", "read_decisions", "simulate_decisions", "standard_draws", "uniform_draws",
        "validate_decisions", "write_decisions",
    ])  # fmt: skip
    for name in estimation.__all__:
        assert getattr(estimation, name) is not None


def test_result_is_frozen_and_renders_without_printing(capsys: pytest.CaptureFixture[str]) -> None:
    result = fit(table(), BASE_SPEC)
    with pytest.raises(AttributeError):
        result.log_likelihood = 0.0  # type: ignore[misc]
    with pytest.raises(ValueError):
        result.estimates[0] = 1.0
    summary = result.summary()
    assert capsys.readouterr().out == ""
    console = Console(file=io.StringIO(), width=120)
    console.print(summary)
    text = console.file.getvalue()  # type: ignore[attr-defined]
    assert "culture" in text and "log-likelihood" in text
    frame = result.to_frame()
    assert list(frame.columns) == ["estimate", "std_error", "robust_std_error",
                                   "clustered_std_error", "z", "p"]  # fmt: skip
    json.dumps(result.to_dict(), default=float)


def test_check_convergence_raises_when_the_optimizer_stopped_early() -> None:
    result = fit(table(), BASE_SPEC)
    stopped = dataclasses.replace(result, converged=False, message="iteration limit")
    with pytest.raises(ConvergenceError, match=r"did not converge .*: iteration limit"):
        stopped.check_convergence()


def test_read_decisions_formats(tmp_path: Path) -> None:
    frame = table()
    frame.to_csv(tmp_path / "d.csv", index=False)
    frame.to_parquet(tmp_path / "d.parquet")
    a = fit(tmp_path / "d.csv", BASE_SPEC)
    b = fit(tmp_path / "d.parquet", BASE_SPEC)
    assert a.log_likelihood == pytest.approx(b.log_likelihood)
    (tmp_path / "d.xlsx").write_text("x")
    with pytest.raises(InputError, match="unknown format"):
        fit(tmp_path / "d.xlsx", BASE_SPEC)
    with pytest.raises(InputError, match="file not found"):
        fit(tmp_path / "none.csv", BASE_SPEC)
