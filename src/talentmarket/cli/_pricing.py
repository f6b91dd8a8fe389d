"""Pricing commands: price, counter, design, sensitivity."""

from __future__ import annotations

import typer

from talentmarket.cli._app import JSON_OPTION, SEED_OPTION, app, handle_errors, show
from talentmarket.cli._core import PATHS_OPTION, RESEARCHER_OPTION, SCENARIO_ARG
from talentmarket.scenario import compile_scenario, load_scenario
from talentmarket.valuation._scenario import ScenarioValuation, value_scenario

OFFER_REQUIRED = typer.Option(..., "--offer", help="The offer (an id).")
TARGET_OPTION = typer.Option(0.5, "--target", help="Probability to reach, strictly in (0, 1).")


def _valuation(scenario: str, seed: int | None, paths: int | None) -> ScenarioValuation:
    s = load_scenario(scenario)
    return value_scenario(compile_scenario(s, seed), seed=seed, paths=paths)


def _people(researcher: str | None) -> list[str] | None:
    """``--researcher`` as the ``people`` argument: one person, or everyone the offer reaches."""
    return None if researcher is None else [researcher]


@app.command()
@handle_errors
def price(
    scenario: str = SCENARIO_ARG,
    offer: str = OFFER_REQUIRED,
    researcher: str | None = RESEARCHER_OPTION,
    target: float = TARGET_OPTION,
    paths: int | None = PATHS_OPTION,
    seed: int | None = SEED_OPTION,
    json_out: bool = JSON_OPTION,
) -> None:
    """The smallest scale of an offer that wins each recipient, or that no amount does."""
    from talentmarket.pricing import price as price_fn

    v = _valuation(scenario, seed, paths)
    result = price_fn(v, offer, people=_people(researcher), target=target)
    show(result, json_out)


@app.command()
@handle_errors
def counter(
    scenario: str = SCENARIO_ARG,
    offer: str = OFFER_REQUIRED,
    researcher: str | None = RESEARCHER_OPTION,
    target: float = TARGET_OPTION,
    cash_fraction: float = typer.Option(
        0.5, "--cash-fraction", help="Share of the retention package paid as a raise (0-1)."
    ),
    vesting_months: int = typer.Option(
        48, "--vesting-months", min=1, max=240, help="Vesting of the retention grant (months)."
    ),
    paths: int | None = PATHS_OPTION,
    seed: int | None = SEED_OPTION,
    json_out: bool = JSON_OPTION,
) -> None:
    """The smallest retention package that keeps each recipient against an outside offer."""
    from talentmarket.pricing import counter as counter_fn
    from talentmarket.scenario import Vesting

    v = _valuation(scenario, seed, paths)
    result = counter_fn(
        v,
        offer,
        people=_people(researcher),
        target=target,
        cash_fraction=cash_fraction,
        vesting=Vesting(months=vesting_months, every=min(3, vesting_months)),
    )
    show(result, json_out)


@app.command()
@handle_errors
def design(
    scenario: str = SCENARIO_ARG,
    offer: str = OFFER_REQUIRED,
    researcher: str | None = RESEARCHER_OPTION,
    budget: str | None = typer.Option(
        None, "--budget", help="Expected employer cost, e.g. 300M (default: the offer's own)."
    ),
    paths: int | None = PATHS_OPTION,
    seed: int | None = SEED_OPTION,
    json_out: bool = JSON_OPTION,
) -> None:
    """The package mix that maximizes P(accept) at the same expected cost to the employer."""
    from talentmarket._errors import InputError, Issue
    from talentmarket.pricing import design as design_fn
    from talentmarket.scenario import parse_amount

    budget_usd = None
    if budget is not None:
        try:
            budget_usd = parse_amount(budget)
        except ValueError as exc:
            raise InputError([Issue("--budget", "budget", str(exc))]) from None
    v = _valuation(scenario, seed, paths)
    result = design_fn(v, offer, people=_people(researcher), budget_usd=budget_usd)
    show(result, json_out)


@app.command()
@handle_errors
def sensitivity(
    scenario: str = SCENARIO_ARG,
    paths: int | None = PATHS_OPTION,
    seed: int | None = SEED_OPTION,
    json_out: bool = JSON_OPTION,
) -> None:
    """Are the verdicts robust to disputed figures and assumption ranges? Which input flips them?"""
    from talentmarket.pricing import sensitivity as sensitivity_fn
    from talentmarket.scenario._load import read_scenario_data, scenario_from_dict

    data, source = read_scenario_data(scenario)  # read once: the edits start from the raw data
    s = scenario_from_dict(data, source)
    v = value_scenario(compile_scenario(s, seed), seed=seed, paths=paths)
    result = sensitivity_fn(v, data, paths=paths)
    show(result, json_out)
