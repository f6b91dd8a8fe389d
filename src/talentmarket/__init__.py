"""talentmarket: models the market for scarce AI talent."""

from __future__ import annotations

from talentmarket._errors import (
    ConvergenceError,
    InputError,
    ScenarioError,
    TalentMarketError,
    UnknownIdError,
)

__version__ = "0.1.0"

__all__ = [
    "ConvergenceError",
    "InputError",
    "ScenarioError",
    "TalentMarketError",
    "UnknownIdError",
    "__version__",
]
