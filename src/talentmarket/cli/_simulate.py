"""The market command: simulate SCENARIO --engine rounds|auction|deferred-acceptance."""

from __future__ import annotations

import typer

from talentmarket.cli._app import JSON_OPTION, SEED_OPTION, app, handle_errors, show
from talentmarket.cli._core import PATHS_OPTION, SCENARIO_ARG
from talentmarket.scenario import load_scenario


@app.command()
@handle_errors
def simulate(
    scenario: str = SCENARIO_ARG,
    engine: str | None = typer.Option(
        None, "--engine", help="rounds | auction | deferred-acceptance (default: the scenario's)."
    ),
    rounds: int | None = typer.Option(None, "--rounds", min=1, max=1000, help="Rounds (rounds)."),
    paths: int | None = PATHS_OPTION,
    seed: int | None = SEED_OPTION,
    json_out: bool = JSON_OPTION,
) -> None:
    """Many labs competing for many researchers: who moves where, at what price, and why."""
    from talentmarket.market._scenario import simulate_scenario

    s = load_scenario(scenario)
    result = simulate_scenario(s, engine=engine, seed=seed, rounds=rounds, paths=paths)
    show(result, json_out)
