"""The command line: every --json output parses and has the documented shape."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from talentmarket.cli import app

runner = CliRunner()
B = "builtin:meta-tml-2025"


def invoke_json(*args: str) -> Any:
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_scenarios_json_lists_name_description_path() -> None:
    items = invoke_json("scenarios")
    item = next(i for i in items if i["name"] == "meta-tml-2025")
    assert item["description"] and Path(item["path"]).is_file()
    assert Path(item["path"]).suffix == ".yaml"


def test_validate_and_schema_json() -> None:
    info = invoke_json("validate", B)
    assert info["valid"] is True and info["researchers"] == 13
    schema = invoke_json("schema")
    assert schema["title"] == "Scenario" and "labs" in schema["properties"]


def test_value_json_shape() -> None:
    payload = invoke_json("value", B, "--paths", "2000")
    assert {o["id"] for o in payload["offers"]} == {"meta-to-tulloch", "meta-to-tml-staff"}
    keys = {
        "id",
        "researcher",
        "headline_usd",
        "expected_pv_usd",
        "pv_quantiles_usd",
        "p_realize_headline",
        "employer_cost_usd",
        "mc_standard_error_usd",
        "certainty_equivalent_usd",
    }
    for item in payload["offers"] + payload["current"]:
        assert keys <= set(item)
        assert set(item["pv_quantiles_usd"]) == {"p05", "p50", "p95"}
    tulloch = next(o for o in payload["offers"] if o["id"] == "meta-to-tulloch")
    assert tulloch["researcher"] == "andrew-tulloch" and tulloch["certainty_equivalent_usd"] > 0
    cohort = next(o for o in payload["offers"] if o["id"] == "meta-to-tml-staff")
    assert cohort["researcher"] is None and cohort["certainty_equivalent_usd"] is None


def test_value_for_one_cohort_member_has_a_certainty_equivalent() -> None:
    payload = invoke_json("value", B, "--researcher", "tml-staff-003", "--paths", "1000")
    assert [o["id"] for o in payload["offers"]] == ["meta-to-tml-staff"]
    assert payload["offers"][0]["researcher"] == "tml-staff-003"
    assert payload["offers"][0]["certainty_equivalent_usd"] > 0
    only = invoke_json("value", B, "--offer", "meta-to-tulloch", "--paths", "1000")
    assert [o["id"] for o in only["offers"]] == ["meta-to-tulloch"]


def test_decide_json_shape() -> None:
    payload = invoke_json("decide", B, "--paths", "2000")
    decisions = payload["decisions"]
    assert len(decisions) == 13
    d = next(x for x in decisions if x["researcher"] == "andrew-tulloch")
    assert d["employer"] == "tml"
    assert sum(d["probabilities"].values()) == pytest.approx(1.0)
    factors = d["explanations"]["meta-to-tulloch"]["factors"]
    assert [f["factor"] for f in factors][:3] == ["money", "culture", "leadership"]
    for f in factors:
        assert set(f) == {"factor", "utility", "money_equivalent_usd", "no_amount"}
    one = invoke_json("decide", B, "--researcher", "tml-staff-002", "--paths", "1000")
    assert [x["researcher"] for x in one["decisions"]] == ["tml-staff-002"]


def test_run_and_demo_write_results_and_report(tmp_path: Path) -> None:
    payload = invoke_json("demo", "--out", str(tmp_path), "--paths", "2000")
    results = tmp_path / "meta-tml-2025" / "results.json"
    report = tmp_path / "meta-tml-2025" / "report.html"
    assert json.loads(results.read_text())["expected_acceptances"] == pytest.approx(
        payload["expected_acceptances"]
    )
    text = report.read_text()
    for div in ("fig-values", "fig-waterfall", "fig-curve"):
        assert f'id="{div}"' in text
    assert "cdn" not in text.split("<script>")[0].lower()  # plotly.js is inlined (offline)


def test_seed_option_changes_draws_reproducibly() -> None:
    a = invoke_json("value", B, "--paths", "1000", "--seed", "1")
    b = invoke_json("value", B, "--paths", "1000", "--seed", "1")
    c = invoke_json("value", B, "--paths", "1000", "--seed", "2")
    assert a == b and a != c


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["value", B, "--offer", "nope"], "unknown offer 'nope'"),
        (["decide", B, "--researcher", "nobody"], "unknown researcher 'nobody'"),
        (["value", B, "--paths", "5"], "--paths"),
    ],
)
def test_bad_options_exit_2(args: list[str], words: str) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert words in result.stderr
    assert "Traceback" not in result.output
