"""Runs: one scenario end to end (and, later, sweeps of many seeded runs)."""

from __future__ import annotations

from talentmarket.runs._single import RunResult, run_scenario

__all__ = ["RunResult", "run_scenario"]
