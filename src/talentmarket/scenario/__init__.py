"""Scenarios: the YAML file format, validation with clear errors, built-ins, compiled arrays."""

from __future__ import annotations

from talentmarket.scenario._amounts import format_usd, parse_amount
from talentmarket.scenario._compile import CompiledScenario, Population, compile_scenario
from talentmarket.scenario._load import (
    builtin_dir,
    builtin_names,
    load_scenario,
    member_ids,
    read_scenario_data,
    scenario_from_dict,
    scenario_hash,
    scenario_json_schema,
)
from talentmarket.scenario._models import (
    ATTRIBUTE_FACTORS,
    FACTORS,
    Cohort,
    Grant,
    Lab,
    Offer,
    Package,
    Preferences,
    Researcher,
    Scenario,
    Settings,
    Vesting,
)

__all__ = [
    "ATTRIBUTE_FACTORS",
    "FACTORS",
    "Cohort",
    "CompiledScenario",
    "Grant",
    "Lab",
    "Offer",
    "Package",
    "Population",
    "Preferences",
    "Researcher",
    "Scenario",
    "Settings",
    "Vesting",
    "builtin_dir",
    "builtin_names",
    "compile_scenario",
    "format_usd",
    "load_scenario",
    "member_ids",
    "parse_amount",
    "read_scenario_data",
    "scenario_from_dict",
    "scenario_hash",
    "scenario_json_schema",
]
