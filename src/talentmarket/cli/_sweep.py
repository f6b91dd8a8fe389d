"""CLI commands for runs at scale: sweep, export, report."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Any

import typer

from talentmarket.cli._app import (
    JSON_OPTION,
    SEED_OPTION,
    app,
    console,
    emit_json,
    err_console,
    handle_errors,
)
from talentmarket.runs import (
    SweepProgress,
    export_sweep,
    parse_assignment,
    plan_sweep,
    run_plan,
)
from talentmarket.runs._store import DEFAULT_DB

DB_OPTION = typer.Option(
    Path(DEFAULT_DB), "--db", help="DuckDB file of the sweep results (created if missing)."
)
SWEEP_ID_OPTION = typer.Option(
    ..., "--sweep", help="Sweep id (printed by `talentmarket sweep`; a unique prefix will do)."
)
SEEDS_OPTION = typer.Option(1, "--seeds", min=1, help="Seeds per grid point (seed, seed+1, ...).")
SET_OPTION = typer.Option(
    [],
    "--set",
    metavar="PATH=V1,V2,...",
    help=(
        "Sweep a scenario field over values, e.g. "
        "offers.meta-to-tml-staff.package.grants[0].value_usd=200M,500M,1B or "
        "labs.meta-msl.leader=mira-murati. Values follow YAML (200M, 0.3, true); quote a "
        "value that contains a comma. Repeat --set for a grid (the product)."
    ),
)
ADDRESS_OPTION = typer.Option(
    None,
    "--address",
    help="Join this Ray cluster (ray backend); without it a local Ray instance is started.",
)
WORKERS_OPTION = typer.Option(
    None, "--workers", min=1, help="Runs in parallel (default: every CPU)."
)
OUT_DIR_ARG = typer.Argument(..., metavar="DIR", help="Folder for the files (created).")
OUT_OPTION = typer.Option(
    None, "--out", help="HTML file to write (default: sweep-ID.html); PNGs go beside it."
)
PNG_OPTION = typer.Option(True, "--png/--no-png", help="Also export each figure as PNG.")
EXIT_FAILED_RUNS = 1
EXIT_INTERRUPTED = 130


class BackendName(StrEnum):
    """Where the runs execute."""

    local = "local"
    ray = "ray"


class ExportFormat(StrEnum):
    """File format of exported tables."""

    parquet = "parquet"
    csv = "csv"


BACKEND_OPTION = typer.Option(
    BackendName.local, "--backend", help="local: a process pool; ray: Ray tasks."
)
FORMAT_OPTION = typer.Option(ExportFormat.parquet, "--format", help="parquet or csv.")


class _Bar:
    """A rich progress bar on stderr: runs done, rate and ETA."""

    def __init__(self, enabled: bool) -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TaskProgressColumn,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self.progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TaskProgressColumn(),
            TextColumn("{task.fields[rate]}"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=err_console,
            disable=not enabled,
        )
        self.task: Any = None
        self.last: SweepProgress | None = None

    def __call__(self, event: SweepProgress) -> None:
        self.last = event
        if event.total == 0:  # nothing to run: every run is already done
            return
        if self.task is None:
            self.progress.start()
            note = f" ({event.skipped} already done)" if event.skipped else ""
            self.task = self.progress.add_task(
                f"sweep {event.sweep_id} · {event.backend} x {event.workers}{note}",
                total=event.total,
                rate="",
            )
        speed = self.progress.tasks[0].speed if self.progress.tasks else None
        self.progress.update(
            self.task,
            completed=event.done,
            rate=f"{speed:.2f} runs/s" if speed else "",
        )
        if event.last is not None and event.last.error is not None:
            self.progress.console.print(
                f"[yellow]run {event.last.run_id} failed:[/] {event.last.error}",
                highlight=False,
                soft_wrap=True,
            )

    def stop(self) -> None:
        self.progress.stop()


@app.command("sweep")
@handle_errors
def sweep_command(
    scenario: str = typer.Argument(..., help="A scenario YAML file or builtin:NAME."),
    seeds: int = SEEDS_OPTION,
    assignments: list[str] = SET_OPTION,
    backend: BackendName = BACKEND_OPTION,
    address: str | None = ADDRESS_OPTION,
    workers: int | None = WORKERS_OPTION,
    db: Path = DB_OPTION,
    seed: int | None = SEED_OPTION,
    json_out: bool = JSON_OPTION,
) -> None:
    """Run a scenario over a grid of parameters and seeds; results go to a DuckDB file.

    Runs already completed in the database are skipped, so running the same command again
    resumes an interrupted sweep (failed runs are retried). Exit status: 0 when every run
    completed, 1 when some failed (each is recorded with its error), 2 for bad input, 130 when
    interrupted.
    """
    grid = [parse_assignment(a) for a in assignments]
    plan = plan_sweep(scenario, seeds=seeds, grid=grid, seed=seed)
    bar = _Bar(enabled=not json_out)
    try:
        result = run_plan(
            plan,
            backend=backend.value,
            workers=workers,
            address=address,
            db=db,
            on_progress=bar,
        )
    except KeyboardInterrupt:
        bar.stop()
        done = bar.last.completed if bar.last else 0
        err_console.print(
            f"[bold red]interrupted:[/] sweep {plan.sweep_id}: {done} runs stored this time; "
            "runs in flight were dropped. Run the same command again to finish it.",
            highlight=False,
            soft_wrap=True,
        )
        raise typer.Exit(EXIT_INTERRUPTED) from None
    finally:
        bar.stop()
    if json_out:
        emit_json(result.to_dict())
    else:
        console.print(result.summary())
        console.print(
            f"next: talentmarket report --sweep {result.sweep_id} --db {db}",
            highlight=False,
        )
    if result.failed:
        raise typer.Exit(EXIT_FAILED_RUNS)


@app.command("export")
@handle_errors
def export_command(
    out_dir: Path = OUT_DIR_ARG,
    sweep_id: str = SWEEP_ID_OPTION,
    fmt: ExportFormat = FORMAT_OPTION,
    db: Path = DB_OPTION,
    json_out: bool = JSON_OPTION,
) -> None:
    """Write a sweep's tables (runs, per-lab/researcher/offer/round results), one file each."""
    written = export_sweep(sweep_id, out_dir, format=fmt.value, db=db)
    if json_out:
        emit_json({name: str(path) for name, path in written.items()})
        return
    for name, path in written.items():
        console.print(f"{name:>20}  {path}", highlight=False)


@app.command("report")
@handle_errors
def report_command(
    sweep_id: str = SWEEP_ID_OPTION,
    out: Path | None = OUT_OPTION,
    png: bool = PNG_OPTION,
    db: Path = DB_OPTION,
    json_out: bool = JSON_OPTION,
) -> None:
    """An HTML report of a sweep: distributions, fan charts, response curves, flows, summary."""
    from talentmarket.report import write_sweep_report

    with err_console.status("rendering the report" + (" and PNG figures" if png else "")):
        report = write_sweep_report(sweep_id, out=out, db=db, png=png)
    if json_out:
        emit_json(report.to_dict())
        return
    console.print(f"report: {report.html}", highlight=False)
    if report.images:
        console.print(f"figures (PNG): {report.images[0].parent}", highlight=False)
    for line in report.summary:
        console.print(f"- {line}", highlight=False)
