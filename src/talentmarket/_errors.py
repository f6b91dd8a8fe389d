"""The one exception hierarchy of talentmarket.

    TalentMarketError           every error the library raises on purpose
    ├── InputError              an input (decisions table, model spec, instance) is invalid
    │   └── ScenarioError       a scenario file or object is invalid (carries every issue)
    ├── UnknownIdError          a named lab, researcher, offer or cohort does not exist
    └── ConvergenceError        a numerical procedure did not reach its tolerance

Each error carries its context (file, field path, ids) so that the CLI and the web service can
render it without a traceback. The CLI maps every ``TalentMarketError`` to exit status 2.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Issue:
    """One problem in an input: where (file, dotted field path) and what is wrong."""

    source: str
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.source}: {self.field}" if self.field else self.source
        return f"{where}: {self.message}"


class TalentMarketError(Exception):
    """Base class of every error talentmarket raises on purpose."""


class InputError(TalentMarketError):
    """An input other than a scenario is invalid; carries every issue found."""

    def __init__(self, issues: Sequence[Issue]) -> None:
        self.issues: tuple[Issue, ...] = tuple(issues)
        super().__init__("\n".join(str(i) for i in self.issues))


class ScenarioError(InputError):
    """A scenario is invalid; ``issues`` lists every problem with file and field path."""


class UnknownIdError(TalentMarketError):
    """A lab, researcher, offer or cohort id that the scenario does not define."""

    def __init__(self, kind: str, ident: str, known: Sequence[str]) -> None:
        self.kind = kind
        self.ident = ident
        self.known = tuple(known)
        shown = ", ".join(self.known[:12]) + (" ..." if len(self.known) > 12 else "")
        super().__init__(f"unknown {kind} {ident!r}; known: {shown or '(none)'}")


class ConvergenceError(TalentMarketError):
    """A numerical procedure stopped before reaching its tolerance."""
