"""`talentmarket fit`: JSON, tables, preferences file, and clear errors with exit status 2."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from estimation_data import SWISSMETRO_SPEC, DataUnavailableError, swissmetro_long
from talentmarket.cli import app
from test_estimation_recovery import SPEC as MONEY_SPEC
from test_estimation_recovery import simulate_decisions

runner = CliRunner()


@pytest.fixture(scope="module")
def swissmetro_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    try:
        frame = swissmetro_long()
    except DataUnavailableError as exc:
        pytest.skip(f"Swissmetro data unavailable: {exc}")
    root = tmp_path_factory.mktemp("swissmetro")
    data, model = root / "swissmetro.parquet", root / "01logit.yaml"
    frame.to_parquet(data)
    model.write_text(yaml.safe_dump(SWISSMETRO_SPEC))
    return data, model


@pytest.fixture(scope="module")
def money_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("money")
    data, model = root / "decisions.csv", root / "model.yaml"
    simulate_decisions(7, n_situations=1200).to_csv(data, index=False)
    model.write_text(yaml.safe_dump(MONEY_SPEC))
    return data, model


def test_fit_json(swissmetro_files: tuple[Path, Path]) -> None:
    data, model = swissmetro_files
    result = runner.invoke(app, ["fit", str(data), "--model", str(model), "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["log_likelihood"] == pytest.approx(-5331.252, abs=1e-3)
    assert payload["n_situations"] == 6768
    assert payload["converged"] is True
    b_time = payload["coefficients"]["B_TIME"]
    assert set(b_time) >= {"estimate", "std_error", "robust_std_error"}
    assert b_time["estimate"] == pytest.approx(-1.27786, abs=1e-4)


def test_fit_table_without_standard_errors(swissmetro_files: tuple[Path, Path]) -> None:
    data, model = swissmetro_files
    result = runner.invoke(
        app, ["fit", str(data), "--model", str(model), "--no-std-errors", "--starts", "2",
              "--seed", "3"]
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "B_TIME" in result.stdout and "-5331.252" in result.stdout


def test_fit_writes_preferences_and_money_equivalents(
    money_files: tuple[Path, Path], tmp_path: Path
) -> None:
    data, model = money_files
    out = tmp_path / "prefs.yaml"
    result = runner.invoke(
        app, ["fit", str(data), "--model", str(model), "--json", "--write-preferences", str(out)]
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert set(payload["money_equivalents"]) == {"culture", "compute", "prestige"}
    written = yaml.safe_load(out.read_text())
    assert set(written["preferences"]) == {"money", "culture", "compute", "prestige"}
    assert written["preferences"] == pytest.approx(payload["preferences"])
    assert written["risk_aversion"] == pytest.approx(payload["coefficients"]["ETA"]["estimate"])
    table = runner.invoke(app, ["fit", str(data), "--model", str(model)])
    assert table.exit_code == 0, table.output
    assert "Money-equivalents" in table.stdout


def test_unknown_spec_key_exits_2_naming_file_and_field(tmp_path: Path) -> None:
    data = tmp_path / "d.csv"
    pd.DataFrame({"situation": [1, 1], "alternative": ["a", "b"], "chosen": [1, 0]}).to_csv(
        data, index=False
    )
    model = tmp_path / "bad.yaml"
    model.write_text("coefficients: {B_X: x}\ndraws: {kind: sobol}\nextra: 1\n")
    result = runner.invoke(app, ["fit", str(data), "--model", str(model)])
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert f"{model}: draws.kind:" in result.stderr
    assert f"{model}: extra: unknown key" in result.stderr


def test_bad_decisions_exit_2_naming_file_column_and_reason(tmp_path: Path) -> None:
    data = tmp_path / "d.csv"
    pd.DataFrame(
        {"situation": [1, 1, 2, 2], "alternative": ["a", "b", "a", "b"], "chosen": [1, 1, 0, 2],
         "x": [0.1, 0.2, 0.3, 0.4]}
    ).to_csv(data, index=False)  # fmt: skip
    model = tmp_path / "m.yaml"
    model.write_text("coefficients: {B_X: x, B_Y: y}\n")
    result = runner.invoke(app, ["fit", str(data), "--model", str(model), "--json"])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert f"{data}: coefficients.B_Y: column 'y' is not in the table" in result.stderr
    model.write_text("coefficients: {B_X: x}\n")
    result = runner.invoke(app, ["fit", str(data), "--model", str(model)])
    assert result.exit_code == 2
    assert f"{data}: columns.chosen: column 'chosen' must hold 0 or 1" in result.stderr


def test_missing_files_exit_2(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["fit", str(tmp_path / "nope.csv"), "--model", str(tmp_path / "m.yaml")]
    )
    assert result.exit_code == 2
    assert "m.yaml" in result.stderr
