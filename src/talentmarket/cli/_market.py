"""CLI commands for markets (match, simulate)."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

import typer

from talentmarket.cli._app import (
    JSON_OPTION,
    SEED_OPTION,
    app,
    console,
    emit_json,
    fail,
    handle_errors,
)
from talentmarket.market import deferred_acceptance, read_instance, salary_auction

# --------------------------------------------------------------------------------------------
# match: plain matching instances and assignment games


class Proposing(StrEnum):
    """Proposing side of deferred acceptance."""

    researchers = "researchers"
    labs = "labs"


INSTANCE_ARGUMENT = typer.Argument(
    ...,
    metavar="INSTANCE.json",
    help=(
        'Matching instance: {"researchers": {id: [lab ids]}, "labs": {id: {"capacity": k, '
        '"preferences": [researcher ids]}}}, lists best first, unranked = unacceptable.'
    ),
)
PROPOSING_OPTION = typer.Option(
    None,
    "--proposing",
    help="Proposing side of deferred acceptance: researchers (default) or labs.",
)
SALARIES_OPTION = typer.Option(
    False,
    "--salaries",
    help=(
        'Read an assignment game instead: {"labs": {id: {"capacity": k, "budget_usd": b?}}, '
        '"values": {lab: {researcher: usd}}, "step_usd": d}; solve it by the ascending salary '
        "auction."
    ),
)


@app.command()
@handle_errors
def match(
    instance: Path = INSTANCE_ARGUMENT,
    proposing: Proposing | None = PROPOSING_OPTION,
    salaries: bool = SALARIES_OPTION,
    json_output: bool = JSON_OPTION,
    seed: int | None = SEED_OPTION,
) -> None:
    """Match researchers to labs: stable matching, or salaries by an ascending auction.

    Both engines are deterministic (ties by stable id); ``--seed`` is accepted like on every
    command and has no effect here.
    """
    if salaries and proposing is not None:
        fail("--proposing applies to preference lists; it cannot be combined with --salaries")
    market = read_instance(instance, salaries=salaries)
    if salaries:
        result = salary_auction(market)
    else:
        side = (proposing or Proposing.researchers).value
        result = deferred_acceptance(market, proposing="labs" if side == "labs" else "researchers")
    if json_output:
        emit_json(result.to_dict())
        return
    console.print(result.summary())
    unmatched = result.unmatched()
    if unmatched:
        shown = ", ".join(unmatched[:12]) + (" ..." if len(unmatched) > 12 else "")
        console.print(f"unmatched ({len(unmatched)}): {shown}", highlight=False)


# --------------------------------------------------------------------------------------------
# simulate: scenario markets (to come)
