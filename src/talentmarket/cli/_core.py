"""Core commands: scenarios, validate, schema, value, decide, run, demo."""

from __future__ import annotations

from contextlib import nullcontext
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from talentmarket._errors import ScenarioError, UnknownIdError
from talentmarket.choice import format_probability
from talentmarket.cli._app import (
    JSON_OPTION,
    SEED_OPTION,
    app,
    console,
    emit_json,
    err_console,
    handle_errors,
)
from talentmarket.scenario import (
    builtin_dir,
    builtin_names,
    compile_scenario,
    format_usd,
    load_scenario,
    scenario_json_schema,
)
from talentmarket.scenario._models import Scenario

SCENARIO_ARG = typer.Argument(..., help="A scenario YAML file or builtin:NAME.")
PATHS_OPTION = typer.Option(
    None, "--paths", min=100, max=1_000_000, help="Monte Carlo paths (default: the scenario's)."
)
RESEARCHER_OPTION = typer.Option(None, "--researcher", help="Only this researcher (an id).")
DEMO_SCENARIO = "builtin:meta-tml-2025"


def _load(ref: str) -> Scenario:
    return load_scenario(ref)


def _usd(x: float | None) -> str:
    return "-" if x is None else format_usd(x)


@app.command()
@handle_errors
def scenarios(json_out: bool = JSON_OPTION) -> None:
    """List the built-in scenarios (copy a file from PATH to start your own)."""
    items = []
    for name in builtin_names():
        path = builtin_dir() / f"{name}.yaml"
        s = load_scenario(f"builtin:{name}")
        items.append({"name": name, "description": s.description, "path": str(path)})
    if json_out:
        emit_json(items)
        return
    table = Table(title="Built-in scenarios (use as builtin:NAME)")
    table.add_column("name", style="bold")
    table.add_column("description")
    table.add_column("path", overflow="fold")
    for item in items:
        table.add_row(item["name"], item["description"], item["path"])
    console.print(table)


@app.command()
@handle_errors
def validate(scenario: str = SCENARIO_ARG, json_out: bool = JSON_OPTION) -> None:
    """Check a scenario file and report every problem at once (exit status 2 if any)."""
    try:
        s = _load(scenario)
    except ScenarioError as exc:
        if json_out:
            emit_json(
                {
                    "valid": False,
                    "errors": [
                        {"file": i.source, "field": i.field, "message": i.message}
                        for i in exc.issues
                    ],
                }
            )
        raise
    pop = compile_scenario(s).population
    info = {
        "valid": True,
        "name": s.name,
        "labs": len(s.labs),
        "researchers": pop.n,
        "cohorts": len(s.cohorts),
        "offers": len(s.offers),
    }
    if json_out:
        emit_json(info)
        return
    console.print(
        f"[green]valid[/]: {s.name}: {info['labs']} labs, {info['researchers']} researchers "
        f"({info['cohorts']} cohorts), {info['offers']} offers"
    )


@app.command()
@handle_errors
def schema(json_out: bool = JSON_OPTION) -> None:
    """Print the JSON Schema of the scenario format."""
    emit_json(scenario_json_schema())


def _value_table(payload: dict[str, Any]) -> Table:
    table = Table(
        title=f"Package values (USD over the horizon; {payload['paths']:,} paths, "
        f"seed {payload['seed']})"
    )
    table.add_column("package", overflow="fold")
    table.add_column("for", overflow="fold")
    for col in ("headline", "E[PV]", "PV 5%-95%", "P(≥head)", "cost", "CE"):
        table.add_column(col, justify="right", no_wrap=True)
    for item in payload["offers"] + payload["current"]:
        q = item["pv_quantiles_usd"]
        table.add_row(
            item["id"],
            item["researcher"] or f"cohort {item['cohort']}",
            _usd(item["headline_usd"]),
            _usd(item["expected_pv_usd"]),
            f"{_usd(q['p05'])}-{_usd(q['p95'])}",
            f"{item['p_realize_headline']:.2f}",
            _usd(item["employer_cost_usd"]),
            _usd(item["certainty_equivalent_usd"]),
        )
    table.caption = (
        "E[PV]: expected present value; cost: expected cost to the employer; "
        "CE: certainty equivalent for the person"
    )
    return table


@app.command()
@handle_errors
def value(
    scenario: str = SCENARIO_ARG,
    offer: str | None = typer.Option(None, "--offer", help="Only this offer (an id)."),
    researcher: str | None = RESEARCHER_OPTION,
    paths: int | None = PATHS_OPTION,
    seed: int | None = SEED_OPTION,
    json_out: bool = JSON_OPTION,
) -> None:
    """Value packages: headline, expected PV, quantiles, employer cost, certainty equivalent."""
    from talentmarket.valuation._scenario import valuation_to_dict, value_scenario

    s = _load(scenario)
    if offer is not None and offer not in s.offers:
        raise UnknownIdError("offer", offer, tuple(s.offers))
    compiled = compile_scenario(s, seed)
    valuation = value_scenario(compiled, seed=seed, paths=paths)
    payload = valuation_to_dict(valuation, researcher)
    if offer is not None:
        payload["offers"] = [o for o in payload["offers"] if o["id"] == offer]
        payload["current"] = [
            c
            for c in payload["current"]
            if c["cohort"] == s.offers[offer].to
            or c["researcher"] in {s.offers[offer].to, researcher}
        ]
    if json_out:
        emit_json(payload)
        return
    console.print(_value_table(payload))


@app.command()
@handle_errors
def decide(
    scenario: str = SCENARIO_ARG,
    researcher: str | None = RESEARCHER_OPTION,
    paths: int | None = PATHS_OPTION,
    seed: int | None = SEED_OPTION,
    json_out: bool = JSON_OPTION,
) -> None:
    """Probability that each approached researcher accepts, and why (per factor)."""
    from talentmarket.choice import decide as decide_fn
    from talentmarket.valuation._scenario import value_scenario

    s = _load(scenario)
    compiled = compile_scenario(s, seed)
    if researcher is not None:
        compiled.population.index_of(researcher)
    valuation = value_scenario(compiled, seed=seed, paths=paths)
    result = decide_fn(valuation, people=None if researcher is None else [researcher])
    if json_out:
        emit_json(result.to_dict())
        return
    console.print(result.summary())
    for oid in s.offers:
        holders = int(sum(oid in alts for alts in result.alternatives))
        if holders:
            console.print(
                f"expected acceptances of {oid}: "
                f"{format_probability(result.expected_acceptances(oid))} of {holders}"
            )


def _run(scenario: str, out: Path, paths: int | None, seed: int | None, json_out: bool) -> None:
    from talentmarket.runs import run_scenario

    s = _load(scenario)
    status = err_console.status(f"running {s.name} ...") if not json_out else nullcontext()
    with status:
        result = run_scenario(s, seed=seed, paths=paths)
        results_path, report_path = result.write(out / s.name)
    if json_out:
        emit_json(
            {**result.to_dict(), "results_path": str(results_path), "report_path": str(report_path)}
        )
        return
    payload = result.to_dict()
    console.print(_value_table(payload["valuation"]))
    console.print(result.decisions.summary())
    for oid, info in payload["offers"].items():
        console.print(
            f"[bold]{oid}[/]: expected acceptances "
            f"{format_probability(info['expected_acceptances'])} "
            f"of {info['recipients']} approached"
        )
    sentence = result.what_it_takes()
    if sentence:
        console.print(f"[bold]What it would take:[/] {sentence}")
    if result.sensitivity is not None:
        verdicts = result.sensitivity.verdicts()
        fragile = [v for v in verdicts if not v["robust"]]
        console.print(
            f"Sensitivity: {len(verdicts) - len(fragile)} of {len(verdicts)} verdicts robust "
            f"across {len(result.sensitivity.inputs)} disputed figures and assumption ranges"
            + (
                ": "
                + "; ".join(
                    f"{v['researcher']} flipped by {', '.join(v['flipped_by'])}"
                    for v in fragile[:5]
                )
                if fragile
                else ""
            )
        )
    console.print(f"results: {results_path}\nreport:  {report_path}")


OUT_OPTION = typer.Option(Path("out"), "--out", help="Folder for results.json and report.html.")


@app.command()
@handle_errors
def run(
    scenario: str = SCENARIO_ARG,
    out: Path = OUT_OPTION,
    paths: int | None = PATHS_OPTION,
    seed: int | None = SEED_OPTION,
    json_out: bool = JSON_OPTION,
) -> None:
    """Everything the scenario asks, written to OUT/NAME/results.json and report.html."""
    _run(scenario, out, paths, seed, json_out)


@app.command()
@handle_errors
def demo(
    out: Path = OUT_OPTION,
    paths: int | None = PATHS_OPTION,
    seed: int | None = SEED_OPTION,
    json_out: bool = JSON_OPTION,
) -> None:
    """Run the built-in meta-tml-2025 scenario (the 2025 Meta / TML offers)."""
    _run(DEMO_SCENARIO, out, paths, seed, json_out)
