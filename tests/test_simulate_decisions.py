"""`simulate-decisions`: data drawn from a scenario's own model, fitted back to its weights."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

import talentmarket as tm
from talentmarket.cli import app
from talentmarket.estimation import fit, read_decisions, simulate_decisions

runner = CliRunner()

FACTORS = ("culture", "leadership", "mission", "compute")
#: Everyone shares these weights (and risk aversion 2): the truth a fit must recover.
TRUE = {
    "culture": 0.8,
    "leadership": 1.0,
    "mission": 0.7,
    "compute": 0.4,
    "peers": 1.2,
    "ALPHA": 1.0,
    "ETA": 2.0,
}
SPEC = {
    "columns": {"person": "person"},
    "coefficients": {name: name for name in (*FACTORS, "peers")},
    "money": {"alpha": "ALPHA", "eta": "ETA", "wealth": "wealth", "value": "ce"},
}
LABS = ("alpha", "beta", "gamma", "delta")
LEADERS = ("ann", "bob", "cat", "dan")


def _scenario_data() -> dict[str, Any]:
    """Four labs, a cohort at each, every other lab making the cohort an offer."""
    attributes = [(1.0, -1.0), (-1.0, 1.5), (0.5, 0.5), (0.0, 2.0)]
    missions = [
        {"research": 1.0},
        {"products": 1.0},
        {"research": 0.5, "products": 0.5},
        {"research": 0.2, "products": 1.2},
    ]
    labs: dict[str, Any] = {}
    for lab, leader, (culture, compute), mission in zip(
        LABS, LEADERS, attributes, missions, strict=True
    ):
        labs[lab] = {
            "leader": leader,
            "attributes": {"culture": culture, "compute": compute},
            "mission": mission,
        }
        if lab in ("alpha", "beta"):
            labs[lab]["equity"] = {"type": "public", "price_usd": 100, "volatility": 0.4}
    affinities = [
        (1.0, -0.5, 0.3, 0.0),
        (-0.3, 0.8, 0.0, 0.5),
        (0.5, 0.5, 1.0, -1.0),
        (0.0, -1.0, 0.5, 1.0),
    ]
    ideals = [(1.0, -0.5), (0.2, 1.0), (0.8, 0.3), (-0.5, 1.0)]
    cohorts: dict[str, Any] = {}
    offers: dict[str, Any] = {}
    for k, lab in enumerate(LABS):
        cohorts[f"c{k}"] = {
            "employer": lab,
            "size": 40,
            "wealth_usd": {"lognormal": {"median": "5M", "sigma": 1.0}},
            "risk_aversion": TRUE["ETA"],
            "package": {"base_usd": "400k"},
            "preferences": {
                "money": TRUE["ALPHA"],
                "culture": TRUE["culture"],
                "compute": TRUE["compute"],
                "peers": TRUE["peers"],
                "leadership": {
                    "weight": TRUE["leadership"],
                    "affinity": dict(zip(LEADERS, affinities[k], strict=True)),
                },
                "mission": {
                    "weight": TRUE["mission"],
                    "ideal": dict(zip(("research", "products"), ideals[k], strict=True)),
                },
            },
            "collaborators": {"within_cohort": 3},
        }
        for other in LABS:
            if other == lab:
                continue
            package: dict[str, Any] = {"base_usd": "1M", "sign_on_usd": "2M"}
            if other in ("alpha", "beta"):  # equity: the certainty equivalent is below E[PV]
                package["grants"] = [
                    {"type": "rsu", "value_usd": "6M", "vesting": {"months": 48, "every": 3}}
                ]
            offers[f"{other}-to-c{k}"] = {"from": other, "to": f"c{k}", "package": package}
    return {
        "name": "same-weights",
        "seed": 3,
        "settings": {"paths": 2000},
        "factors": list(FACTORS),
        "labs": labs,
        "cohorts": cohorts,
        "offers": offers,
    }


@pytest.fixture(scope="module")
def scenario() -> tm.Scenario:
    return tm.scenario_from_dict(_scenario_data(), "<test>")


@pytest.fixture(scope="module")
def decisions(scenario: tm.Scenario) -> pd.DataFrame:
    return simulate_decisions(scenario, situations=3000, seed=5)


def test_long_format_columns_and_one_choice_per_situation(decisions: pd.DataFrame) -> None:
    assert list(decisions.columns) == [
        "situation",
        "alternative",
        "chosen",
        "person",
        "lab",
        "scale",
        *FACTORS,
        "peers",
        "wealth",
        "pv",
        "ce",
    ]
    assert decisions["situation"].nunique() == 3000
    assert (decisions.groupby("situation")["chosen"].sum() == 1).all()
    first = decisions.groupby("situation").head(1)
    assert (first["alternative"] == "stay").all() and (first["scale"] == 1.0).all()
    offers = decisions[decisions["alternative"] != "stay"]
    # The documented lognormal multiplier: median about 1, log-sd about 0.6.
    assert abs(np.median(offers["scale"]) - 1.0) < 0.05
    assert abs(np.log(offers["scale"]).std() - 0.6) < 0.03
    # Equity is risky: its certainty equivalent is below its expected PV.
    risky = offers["lab"].isin(["alpha", "beta"])
    assert (offers.loc[risky, "ce"] < offers.loc[risky, "pv"]).all()
    assert ((decisions["peers"] == 1.0) == (decisions["alternative"] == "stay")).all()


def test_rows_agree_with_decide_at_the_drawn_scales(
    scenario: tm.Scenario, decisions: pd.DataFrame
) -> None:
    """The table's scores and certainty equivalents are decide's, at the situation's scales."""
    valuation = tm.value_scenario(tm.compile_scenario(scenario, 5), seed=5)
    for situation in (0, 1234, 2999):
        rows = decisions[decisions["situation"] == situation].reset_index(drop=True)
        person = str(rows["person"][0])
        scale = {
            str(a): float(s)
            for a, s in zip(rows["alternative"][1:], rows["scale"][1:], strict=True)
        }
        result = tm.decide(valuation, people=[person], scale=scale)
        assert result.alternatives[0] == tuple(rows["alternative"])
        np.testing.assert_allclose(result.certainty_equivalent[0], rows["ce"], rtol=1e-9)
        factors = result.factors
        for a in range(1, len(rows)):
            for name in (*FACTORS, "peers"):
                weight = TRUE[name]
                expected = weight * (rows[name][a] - rows[name][0])
                got = result.components[0, a, factors.index(name)]
                assert got == pytest.approx(expected, abs=1e-12), (situation, a, name)


def test_same_seed_same_table_other_seed_other_table(scenario: tm.Scenario) -> None:
    a = simulate_decisions(scenario, situations=50, seed=11)
    b = simulate_decisions(scenario, situations=50, seed=11)
    c = simulate_decisions(scenario, situations=50, seed=12)
    pd.testing.assert_frame_equal(a, b)
    assert not a["chosen"].equals(c["chosen"]) or not a["scale"].equals(c["scale"])


def test_fit_recovers_the_scenario_weights_within_three_standard_errors(
    decisions: pd.DataFrame,
) -> None:
    result = fit(decisions, SPEC)
    assert result.converged
    se = result.std_errors
    assert se is not None
    for name, true in TRUE.items():
        k = result.names.index(name)
        assert abs(result.estimates[k] - true) <= 3 * se[k], (name, result.estimates[k], se[k])
    assert set(result.to_preferences()) == {"money", *FACTORS, "peers"}


def test_cli_writes_csv_and_parquet_that_fit_reads(tmp_path: Path) -> None:
    scenario_file = tmp_path / "s.yaml"
    scenario_file.write_text(yaml.safe_dump(_scenario_data()))
    for name in ("d.csv", "d.parquet"):
        out = tmp_path / name
        result = runner.invoke(
            app,
            [
                "simulate-decisions",
                str(scenario_file),
                "--out",
                str(out),
                "--situations",
                "200",
                "--seed",
                "4",
                "--json",
            ],
        )
        assert result.exit_code == 0, result.output
        info = json.loads(result.stdout)
        assert info["rows"] == len(read_decisions(out)) and info["situations"] == 200
        assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp left
    pd.testing.assert_frame_equal(
        read_decisions(tmp_path / "d.csv"),
        read_decisions(tmp_path / "d.parquet"),
        check_dtype=False,
    )
    model = tmp_path / "model.yaml"
    model.write_text(yaml.safe_dump(SPEC))
    fitted = runner.invoke(app, ["fit", str(tmp_path / "d.csv"), "--model", str(model), "--json"])
    assert fitted.exit_code == 0, fitted.output
    assert "culture" in json.loads(fitted.stdout)["coefficients"]


def test_cli_errors_name_the_problem(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["simulate-decisions", "builtin:meta-tml-2025", "--out", str(tmp_path / "d.txt")]
    )
    assert result.exit_code == 2
    assert "--out: unknown format" in result.output
    data = _scenario_data()
    data["offers"] = {}
    path = tmp_path / "none.yaml"
    path.write_text(yaml.safe_dump(data))
    result = runner.invoke(app, ["simulate-decisions", str(path), "--out", str(tmp_path / "d.csv")])
    assert result.exit_code == 2 and "nobody holds an offer" in result.output
    assert not (tmp_path / "d.csv").exists()


def test_library_rejects_bad_arguments(scenario: tm.Scenario) -> None:
    with pytest.raises(tm.InputError, match="situations: must be >= 1"):
        simulate_decisions(scenario, situations=0)
    with pytest.raises(tm.InputError, match="scale_sigma"):
        simulate_decisions(scenario, situations=5, scale_sigma=-1.0)
