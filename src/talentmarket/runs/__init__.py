"""Runs: one scenario end to end, and sweeps of many seeded runs stored in DuckDB."""

from __future__ import annotations

from talentmarket.runs._single import RunResult, run_scenario
from talentmarket.runs._sweep import (
    SweepData,
    SweepPlan,
    SweepProgress,
    SweepResult,
    export_sweep,
    load_sweep,
    parse_assignment,
    plan_sweep,
    run_plan,
    sweep,
)
from talentmarket.runs._task import RunTables, run_once

__all__ = [
    "RunResult",
    "RunTables",
    "SweepData",
    "SweepPlan",
    "SweepProgress",
    "SweepResult",
    "export_sweep",
    "load_sweep",
    "parse_assignment",
    "plan_sweep",
    "run_once",
    "run_plan",
    "run_scenario",
    "sweep",
]
