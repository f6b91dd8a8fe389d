"""`talentmarket match`: tables, JSON, errors with file and field and exit status 2."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from talentmarket.cli import app

runner = CliRunner()

MATCHING = {
    "researchers": {"ada": ["big", "small"], "bo": ["small"], "cy": ["big", "small"], "dee": []},
    "labs": {
        "big": {"capacity": 1, "preferences": ["ada", "cy"]},
        "small": {"capacity": 2, "preferences": ["cy", "bo", "ada"]},
    },
}
GAME = {
    "labs": {"big": {"capacity": 2}, "small": {"capacity": 1}},
    "values": {
        "big": {"ada": 900_000, "bo": 500_000, "cy": 300_000},
        "small": {"ada": 800_000, "bo": 600_000},
    },
    "step_usd": 1_000,
}


def _write(tmp_path: Path, name: str, data: Any) -> str:
    path = tmp_path / name
    path.write_text(json.dumps(data))
    return str(path)


def test_match_json(tmp_path: Path) -> None:
    path = _write(tmp_path, "m.json", MATCHING)
    result = runner.invoke(app, ["match", path, "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload == {
        "assignment": {"big": ["ada"], "small": ["cy", "bo"]},
        "unmatched": ["dee"],
        "blocking_pairs": 0,
    }


def test_match_lab_proposing_and_table(tmp_path: Path) -> None:
    path = _write(tmp_path, "m.json", MATCHING)
    result = runner.invoke(app, ["match", path, "--proposing", "labs"])
    assert result.exit_code == 0, result.output
    assert "deferred-acceptance-labs" in result.stdout
    assert "unmatched (1): dee" in result.stdout


def test_match_salaries_json(tmp_path: Path) -> None:
    path = _write(tmp_path, "game.json", GAME)
    result = runner.invoke(app, ["match", path, "--salaries", "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["assignment"] == {"big": ["ada", "cy"], "small": ["bo"]}
    assert payload["total_value_usd"] == 1_800_000
    assert payload["blocking_pairs"] == 0
    assert set(payload["salaries"]) == {"ada", "bo", "cy"}
    assert 0 <= payload["salaries"]["cy"] <= 1_000


@pytest.mark.parametrize(
    ("args", "data", "expected"),
    [
        (
            [],
            {"researchers": {"ada": ["nowhere"]}, "labs": {}},
            "bad.json: researchers.ada[0]: unknown lab id 'nowhere'",
        ),
        (
            [],
            {"researchers": {}, "labs": {"x": {"capacity": -3}}},
            "bad.json: labs.x.capacity: Input should be greater than or equal to 0",
        ),
        (
            ["--salaries"],
            {"labs": {}, "values": {}, "step_usd": -1},
            "bad.json: step_usd: Input should be greater than 0",
        ),
    ],
)
def test_bad_instance_exits_2_naming_file_and_field(
    tmp_path: Path, args: list[str], data: Any, expected: str
) -> None:
    path = _write(tmp_path, "bad.json", data)
    result = runner.invoke(app, ["match", path, *args, "--json"])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert expected in " ".join(result.stderr.split())
    assert "Traceback" not in result.output


def test_missing_file_and_bad_flags(tmp_path: Path) -> None:
    result = runner.invoke(app, ["match", str(tmp_path / "none.json")])
    assert result.exit_code == 2
    assert "none.json" in result.stderr
    path = _write(tmp_path, "game.json", GAME)
    result = runner.invoke(app, ["match", path, "--salaries", "--proposing", "labs"])
    assert result.exit_code == 2
    assert "cannot be combined with --salaries" in result.stderr
