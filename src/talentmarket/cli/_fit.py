"""CLI commands for estimation (fit)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
import yaml
from rich.table import Table

from talentmarket._errors import InputError, Issue
from talentmarket.cli._app import JSON_OPTION, app, console, emit_json, handle_errors
from talentmarket.estimation import EstimationResult
from talentmarket.estimation import fit as fit_model


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
