"""CLI commands for estimation (fit, simulate-decisions)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
import yaml
from rich.table import Table

from talentmarket._errors import InputError, Issue
from talentmarket.cli._app import JSON_OPTION, app, console, emit_json, handle_errors
from talentmarket.estimation import EstimationResult, simulate_decisions, write_decisions
from talentmarket.estimation import fit as fit_model
from talentmarket.estimation._simulate import DEFAULT_SCALE_SIGMA, decisions_format


def _money_table(result: EstimationResult, cost: str | None) -> Any:
    """WTP or money-equivalents, or None when the model has neither a money term nor ``cost``."""
    if cost is None and result.spec.money is None:
        return None
    try:
        return result.willingness_to_pay(cost)
    except ValueError as exc:
        raise InputError([Issue("--cost", "", str(exc))]) from None


def _render_money(frame: Any, result: EstimationResult, cost: str | None) -> Table:
    if cost is not None:
        title = f"Willingness to pay (per unit, in units of {cost}'s column)"
    else:
        title = (
            f"Money-equivalents (USD of PV per unit; W0 = {result.reference_wealth:,.0f}, "
            f"PV = {result.reference_value:,.0f}; robust delta-method s.e.)"
        )
    table = Table(title=title, title_justify="left", header_style="bold")
    for heading, justify in (("factor", "left"), ("estimate", "right"), ("std err", "right")):
        table.add_column(heading, justify=justify)  # type: ignore[arg-type]
    for name, row in frame.iterrows():
        estimate = "no amount" if row["unattainable"] else f"{row['estimate']:,.6g}"
        table.add_row(str(name), estimate, f"{row['std_error']:.4g}")
    return table


def _preferences_document(result: EstimationResult, source: str) -> dict[str, Any]:
    document: dict[str, Any] = {"preferences": result.to_preferences()}
    if result.risk_aversion is not None:
        document["risk_aversion"] = result.risk_aversion
    document["fitted"] = {
        "decisions": source,
        "log_likelihood": round(result.log_likelihood, 6),
        "n_situations": result.n_situations,
    }
    return document


DECISIONS_ARG = typer.Argument(..., help="Decisions table, long format (CSV or Parquet).")
MODEL_OPTION = typer.Option(..., "--model", "-m", help="Model specification (YAML).")
PREFERENCES_OPTION = typer.Option(
    None, "--write-preferences", help="Write the fitted weights as a preferences block (YAML)."
)
NO_STD_ERRORS_OPTION = typer.Option(
    False, "--no-std-errors", help="Skip the Hessian and the standard errors."
)
STARTS_OPTION = typer.Option(1, "--starts", min=1, help="Number of starting points.")
SEED_OPTION = typer.Option(None, "--seed", help="Seed of the extra starting points.")
COST_OPTION = typer.Option(
    None, "--cost", help="Cost coefficient for willingness to pay (models without money)."
)


@app.command("fit")
@handle_errors
def fit(
    decisions: Path = DECISIONS_ARG,
    model: Path = MODEL_OPTION,
    json_output: bool = JSON_OPTION,
    write_preferences: Path | None = PREFERENCES_OPTION,
    no_std_errors: bool = NO_STD_ERRORS_OPTION,
    starts: int = STARTS_OPTION,
    seed: int | None = SEED_OPTION,
    cost: str | None = COST_OPTION,
) -> None:
    """Estimate preference weights from observed decisions (conditional or mixed logit)."""
    if json_output:
        result = fit_model(decisions, model, starts=starts, std_errors=not no_std_errors, seed=seed)
    else:
        with console.status("fitting") as status:
            result = fit_model(
                decisions,
                model,
                starts=starts,
                std_errors=not no_std_errors,
                seed=seed,
                progress=lambda message: status.update(message),
            )
    money = _money_table(result, cost)
    if write_preferences is not None:
        document = _preferences_document(result, str(decisions))
        try:
            write_preferences.write_text(yaml.safe_dump(document, sort_keys=False))
        except OSError as exc:
            raise InputError(
                [Issue(str(write_preferences), "", f"cannot write: {exc.strerror}")]
            ) from None
    if json_output:
        payload = result.to_dict()
        if money is not None:
            key = "willingness_to_pay" if cost is not None else "money_equivalents"
            payload[key] = {
                str(name): {k: row[k] for k in ("estimate", "std_error", "unattainable")}
                for name, row in money.iterrows()
            }
        payload["preferences"] = result.to_preferences()
        emit_json(payload)
        return
    console.print(result.summary())
    if money is not None and len(money):
        console.print(_render_money(money, result, cost))
    if write_preferences is not None:
        console.print(f"preferences written to {write_preferences}")


SIM_SCENARIO_ARG = typer.Argument(..., help="A scenario YAML file or builtin:NAME.")
SIM_OUT_OPTION = typer.Option(
    ..., "--out", help="Decisions table to write: .csv, .csv.gz, .parquet or .pq (atomic)."
)
SITUATIONS_OPTION = typer.Option(
    1000, "--situations", min=1, max=10_000_000, help="Number of choice situations."
)
SIM_SEED_OPTION = typer.Option(None, "--seed", help="Random seed; defaults to the scenario's.")
SIM_PATHS_OPTION = typer.Option(
    None, "--paths", min=100, max=1_000_000, help="Monte Carlo paths (default: the scenario's)."
)
SCALE_SIGMA_OPTION = typer.Option(
    DEFAULT_SCALE_SIGMA,
    "--scale-sigma",
    min=0.0,
    help="Log-sd of the lognormal multiplier (median 1) of each offer's amounts.",
)


@app.command("simulate-decisions")
@handle_errors
def simulate_decisions_command(
    scenario: str = SIM_SCENARIO_ARG,
    out: Path = SIM_OUT_OPTION,
    situations: int = SITUATIONS_OPTION,
    seed: int | None = SIM_SEED_OPTION,
    paths: int | None = SIM_PATHS_OPTION,
    scale_sigma: float = SCALE_SIGMA_OPTION,
    json_output: bool = JSON_OPTION,
) -> None:
    """Draw a decisions table from a scenario's own decision model (input for ``fit``)."""
    from talentmarket.scenario import load_scenario

    decisions_format(out)  # an unknown suffix fails before the work, not after
    s = load_scenario(scenario)
    frame = simulate_decisions(
        s, situations=situations, seed=seed, paths=paths, scale_sigma=scale_sigma
    )
    written = write_decisions(frame, out)
    chosen = frame[frame["chosen"] == 1]
    info = {
        "out": str(written),
        "scenario": s.name,
        "seed": s.seed if seed is None else seed,
        "situations": situations,
        "rows": len(frame),
        "people": int(frame["person"].nunique()),
        "columns": [str(c) for c in frame.columns],
        "share_stay": float((chosen["alternative"] == "stay").mean()),
        "scale_sigma": scale_sigma,
    }
    if json_output:
        emit_json(info)
        return
    console.print(
        f"{situations:,} situations ({len(frame):,} rows, {info['people']} people) written to "
        f"{written}; {info['share_stay']:.1%} chose to stay"
    )
