"""Shared fixtures: scenario files and small scenario builders."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

HERE = Path(__file__).parent
DESIGN_EXAMPLE = HERE / "scenarios" / "design_example.yaml"


@pytest.fixture
def design_data() -> dict[str, Any]:
    """The scenario example of DESIGN.md, as parsed YAML (a fresh copy per test)."""
    return copy.deepcopy(yaml.safe_load(DESIGN_EXAMPLE.read_text()))


@pytest.fixture
def write_yaml(tmp_path: Path):  # type: ignore[no-untyped-def]
    """Write a mapping (or raw text) to a YAML file in a temporary folder; returns its path."""

    def write(data: Any, name: str = "scenario.yaml") -> Path:
        path = tmp_path / name
        path.write_text(data if isinstance(data, str) else yaml.safe_dump(data, sort_keys=False))
        return path

    return write
