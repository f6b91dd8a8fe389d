"""The engine registry: every market engine under one name and one signature.

An engine is a function ``(market, rng) -> MatchingResult`` plus what it needs from the market
(``"rankings"`` or ``"values"``). The shared contract test suite runs every registered engine,
so an engine added later (the behavioral ``rounds`` engine) joins it by registering here.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np

from talentmarket._errors import InputError, Issue, UnknownIdError
from talentmarket.market._auction import assignment_auction, kelso_crawford_auction, salary_auction
from talentmarket.market._compiled import Basis, Market
from talentmarket.market._deferred_acceptance import deferred_acceptance
from talentmarket.market._results import MatchingResult

__all__ = ["ENGINES", "ENGINE_FEATURES", "Engine", "register_engine", "solve"]

Solver = Callable[[Market, np.random.Generator], MatchingResult]

ENGINE_FEATURES = frozenset({"budgets", "utility", "relative_step"})


@dataclass(frozen=True)
class Engine:
    """A registered market engine.

    name: registry key (kebab-case). solve: ``(market, rng) -> MatchingResult``; deterministic
    engines ignore ``rng``. needs: the part of the market it reads (``"rankings"`` or
    ``"values"``). stochastic: whether results depend on the seed (then the seed is recorded).
    summary: one line for help texts. features: which optional parts of :class:`Valuations`
    it accepts, among ``"budgets"``, ``"utility"`` (non-money utility or amenities) and
    ``"relative_step"``; it refuses markets using others with an :class:`InputError`.
    """

    name: str
    solve: Solver
    needs: Basis
    stochastic: bool = False
    summary: str = ""
    features: frozenset[str] = ENGINE_FEATURES


_ENGINES: dict[str, Engine] = {}
ENGINES: Mapping[str, Engine] = MappingProxyType(_ENGINES)


def register_engine(engine: Engine, *, replace: bool = False) -> Engine:
    """Add ``engine`` to :data:`ENGINES` (and so to the contract test suite).

    Parameters
    ----------
    engine
        The engine; its ``name`` is the registry key.
    replace
        Allow overwriting a registered name.

    Returns
    -------
    Engine
        ``engine``, so that it can be used as an expression.

    Raises
    ------
    InputError
        The name is taken and ``replace`` is False.
    """
    if engine.name in _ENGINES and not replace:
        raise InputError([Issue("ENGINES", engine.name, "an engine with this name is registered")])
    _ENGINES[engine.name] = engine
    return engine


def solve(market: Market, engine: str, *, seed: int | None = None) -> MatchingResult:
    """Solve ``market`` with the registered ``engine``.

    Parameters
    ----------
    market
        A compiled market with what the engine needs.
    engine
        A name in :data:`ENGINES`.
    seed
        Seed of the run's ``numpy.random.Generator``; a stochastic engine without one draws a
        fresh seed. Stochastic engines' results record it.

    Raises
    ------
    UnknownIdError
        No engine of that name.
    """
    spec = ENGINES.get(engine)
    if spec is None:
        raise UnknownIdError("engine", engine, sorted(ENGINES))
    if spec.stochastic and seed is None:
        seed = int(np.random.SeedSequence().entropy % (2**63))  # type: ignore[operator]
    result = spec.solve(market, np.random.default_rng(seed))
    if spec.stochastic and result.seed != seed:
        result = dataclasses.replace(result, seed=seed)
    return result


def _da_researchers(market: Market, rng: np.random.Generator) -> MatchingResult:
    return deferred_acceptance(market, proposing="researchers")


def _da_labs(market: Market, rng: np.random.Generator) -> MatchingResult:
    return deferred_acceptance(market, proposing="labs")


def _assignment(market: Market, rng: np.random.Generator) -> MatchingResult:
    return assignment_auction(market)


def _kelso_crawford(market: Market, rng: np.random.Generator) -> MatchingResult:
    return kelso_crawford_auction(market)


def _salary(market: Market, rng: np.random.Generator) -> MatchingResult:
    return salary_auction(market)


for _engine in (
    Engine("deferred-acceptance-researchers", _da_researchers, "rankings",
           summary="researcher-proposing deferred acceptance (researcher-optimal stable)"),
    Engine("deferred-acceptance-labs", _da_labs, "rankings",
           summary="lab-proposing deferred acceptance (lab-optimal stable)"),
    Engine("assignment-auction", _assignment, "values", features=frozenset(),
           summary="ascending salary auction, quasi-linear (Bertsekas, epsilon-scaling)"),
    Engine("kelso-crawford", _kelso_crawford, "values",
           summary="Kelso-Crawford salary adjustment: any increasing utility, budgets"),
    Engine("salary-auction", _salary, "values",
           summary="assignment-auction when it applies, else kelso-crawford"),
):  # fmt: skip
    register_engine(_engine)
