"""The scenario format: DESIGN.md's example validates and runs; broken files get clear errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from conftest import DESIGN_EXAMPLE
from talentmarket.cli import app
from talentmarket.scenario import (
    builtin_names,
    compile_scenario,
    load_scenario,
    parse_amount,
    scenario_from_dict,
    scenario_hash,
)
from talentmarket.scenario._load import member_ids

runner = CliRunner()


@pytest.mark.parametrize(
    ("text", "usd"),
    [
        ("750k", 750e3),
        ("200M", 200e6),
        ("1.5B", 1.5e9),
        ("$1,000,000", 1e6),
        (42, 42.0),
        ("2.5m", 2.5e6),
        ("1e9", 1e9),
        ("3T", 3e12),
    ],
)
def test_amounts(text: Any, usd: float) -> None:
    assert parse_amount(text) == pytest.approx(usd, rel=1e-15)


@pytest.mark.parametrize("bad", ["12X", "-5M", "", "M", True, None, [1], float("inf")])
def test_bad_amounts(bad: Any) -> None:
    with pytest.raises(ValueError, match="amount"):
        parse_amount(bad)


def test_design_example_validates_and_compiles() -> None:
    s = load_scenario(DESIGN_EXAMPLE)
    c = compile_scenario(s)
    assert c.population.n == 1 + 30
    assert c.population.ids[1] == "small-lab-staff-001"
    # Cohort draws are reproducible and stay inside their distributions.
    again = compile_scenario(load_scenario(DESIGN_EXAMPLE))
    assert (again.population.wealth == c.population.wealth).all()
    eta = c.population.eta[1:]
    assert ((eta >= 1.5) & (eta <= 3.0)).all()
    # Every member has exactly 4 distinct colleagues, never themselves.
    ptr, idx = c.population.collab_ptr, c.population.collab_idx
    for i in range(1, 31):
        colleagues = idx[ptr[i] : ptr[i + 1]]
        assert len(set(colleagues.tolist())) == 4 and i not in colleagues


def test_design_example_runs_unchanged(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["run", str(DESIGN_EXAMPLE), "--out", str(tmp_path), "--paths", "2000", "--json"]
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["scenario"] == "example"
    assert (tmp_path / "example" / "report.html").stat().st_size > 10_000


def test_builtins_load() -> None:
    assert "meta-tml-2025" in builtin_names()
    for name in builtin_names():
        load_scenario(f"builtin:{name}")


def test_hash_is_stable_and_sensitive(design_data: dict[str, Any]) -> None:
    a = scenario_hash(scenario_from_dict(design_data))
    assert a == scenario_hash(scenario_from_dict(design_data))
    design_data["seed"] = 8
    assert scenario_hash(scenario_from_dict(design_data)) != a


def test_member_ids_are_stable() -> None:
    assert member_ids("c", 3) == ["c-001", "c-002", "c-003"]
    assert member_ids("c", 1000)[-1] == "c-1000"


def _set(data: dict[str, Any], path: str, value: Any) -> None:
    keys = path.split(".")
    node: Any = data
    for k in keys[:-1]:
        node = node[int(k)] if isinstance(node, list) else node[k]
    if isinstance(node, list):
        node[int(keys[-1])] = value
    else:
        node[keys[-1]] = value


# (edit: dotted path -> new value, or raw text), field named in the message, words expected
BROKEN: list[tuple[str, Any, str, str]] = [
    ("offers.big-offer.package.base_usd", "12X", "offers.big-offer.package.base_usd", "amount"),
    ("labs.big-lab.capcity", 3, "labs.big-lab.capcity", "did you mean 'capacity'"),
    ("researchers.ada.employer", "no-lab", "researchers.ada.employer", "unknown lab"),
    ("offers.big-offer.to", "bob", "offers.big-offer.to", "unknown researcher or cohort"),
    ("researchers.ada.risk_aversion", "high", "researchers.ada.risk_aversion", "number"),
    ("researchers.ada.package.grants.0.vesting.cliff", 60, "grants[0].vesting", "cliff"),
    (
        "offers.big-offer.package.grants.0.vesting.year_weights",
        [0.5, 0.5],
        "grants[0].vesting",
        "year_weights",
    ),
    ("offers.big-offer.from", "small-lab", "offers.big-offer.from", "already employs"),
    ("researchers.ada.wealth_usd", "-5M", "researchers.ada.wealth_usd", "negative"),
    (
        "researchers.ada.preferences.culture",
        {"normal": {"mean": 1, "sd": 1}},
        "researchers.ada.preferences.culture",
        "distributions are for cohorts",
    ),
    ("factors", ["culture", "vibes"], "factors[1]", "unknown factor 'vibes'"),
    (
        "researchers.ada.collaborators",
        ["nobody"],
        "researchers.ada.collaborators[0]",
        "unknown researcher",
    ),
    (
        "cohorts.small-lab-staff.collaborators.within_cohort",
        30,
        "cohorts.small-lab-staff.collaborators.within_cohort",
        "cannot be drawn",
    ),
    ("labs.small-lab.equity.type", "hybrid", "labs.small-lab.equity", "'public', 'private'"),
    (
        "labs.big-lab.attributes.leadership",
        1.0,
        "labs.big-lab.attributes.leadership",
        "computed per person",
    ),
    ("offers.big-offer.package.grants.0.type", "units", "grants[0].type", "use rsu"),
    ("settings.paths", 5, "settings.paths", "greater than or equal to 100"),
    (
        "offers.big-offer.package.bonus.multiplier",
        {"lognormal": {"median": 1.0}},
        "offers.big-offer.package.bonus.multiplier",
        "sigma",
    ),
]


@pytest.mark.parametrize(("edit", "value", "field", "words"), BROKEN, ids=[b[0] for b in BROKEN])
def test_broken_scenarios_exit_2_naming_file_and_field(
    design_data: dict[str, Any], write_yaml: Any, edit: str, value: Any, field: str, words: str
) -> None:
    _set(design_data, edit, value)
    path = write_yaml(design_data)
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 2
    assert str(path) in result.stderr
    assert field in result.stderr, result.stderr
    assert words in result.stderr, result.stderr
    assert "Traceback" not in result.output


RAW_BROKEN = [
    ("name: x\nlabs: {a: {}\n", "line", "YAML syntax"),
    ("name: x\nname: y\nlabs: {a: {}}\n", "line 2", "duplicate key 'name'"),
    ("", "", "must be a mapping, got empty"),
    ("- just\n- a list\n", "", "must be a mapping, got list"),
    ("labs: {a: {}}\n", "name", "required field is missing"),
]


@pytest.mark.parametrize(("text", "field", "words"), RAW_BROKEN)
def test_broken_files(write_yaml: Any, text: str, field: str, words: str) -> None:
    path = write_yaml(text)
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 2
    assert str(path) in result.stderr and field in result.stderr and words in result.stderr


def test_all_errors_reported_at_once(design_data: dict[str, Any], write_yaml: Any) -> None:
    _set(design_data, "researchers.ada.risk_aversion", "high")
    _set(design_data, "offers.big-offer.package.base_usd", "lots")
    result = runner.invoke(app, ["validate", "--json", str(write_yaml(design_data))])
    assert result.exit_code == 2
    errors = json.loads(result.stdout)["errors"]
    assert {e["field"] for e in errors} == {
        "researchers.ada.risk_aversion",
        "offers.big-offer.package.base_usd",
    }


def test_missing_file_and_unknown_builtin() -> None:
    for ref, words in [
        ("/nonexistent/s.yaml", "file not found"),
        ("builtin:nope", "no built-in scenario 'nope'"),
    ]:
        result = runner.invoke(app, ["value", ref])
        assert result.exit_code == 2 and words in result.stderr


def test_real_process_has_no_traceback(write_yaml: Any) -> None:
    path = write_yaml("name: x\nlabs: {a: {capacity: -1}}\n")
    proc = subprocess.run(
        [sys.executable, "-m", "talentmarket", "validate", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2
    assert "labs.a.capacity" in proc.stderr and str(path) in proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
