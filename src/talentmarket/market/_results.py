"""Immutable results of the market engines."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import numpy as np
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from talentmarket.market._compiled import F64, I64, Basis, Market

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["MatchingResult"]


def _frozen_array(a: Any, dtype: type) -> Any:
    out: Any = np.array(a, dtype=dtype, copy=True)
    out.setflags(write=False)
    return out


@dataclass(frozen=True, eq=False)
class MatchingResult:
    """Who works where (and, for the auctions, at what salary); immutable.

    Attributes
    ----------
    market : Market
        The compiled market that was solved (ids, capacities, rankings/valuations).
    engine : str
        Registry name of the engine that produced the result.
    basis : {"rankings", "values"}
        What acceptability and stability are judged against.
    lab_of : (n_researchers,) int64
        Lab index of each researcher, -1 if unmatched (read-only).
    lab_rank : (n_researchers,) int64 or None
        Position of the researcher in their lab's ranking (-1 if unmatched); rankings only.
    salaries_usd : (n_researchers,) float64 or None
        Salary of each researcher in USD (0 if unmatched); auctions only.
    proposing : str or None
        Proposing side of deferred acceptance.
    iterations : int
        Proposals (deferred acceptance) or bids (auctions).
    converged : bool
        False if an engine stopped at an iteration limit.
    seed : int or None
        Seed of the run (None for deterministic engines).
    metadata : Mapping[str, object]
        Engine-specific figures (phases, epsilon, ...).
    """

    market: Market
    engine: str
    basis: Basis
    lab_of: I64
    lab_rank: I64 | None = None
    salaries_usd: F64 | None = None
    proposing: str | None = None
    iterations: int = 0
    converged: bool = True
    seed: int | None = None
    metadata: Mapping[str, object] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "lab_of", _frozen_array(self.lab_of, np.int64))
        if self.lab_rank is not None:
            object.__setattr__(self, "lab_rank", _frozen_array(self.lab_rank, np.int64))
        if self.salaries_usd is not None:
            object.__setattr__(self, "salaries_usd", _frozen_array(self.salaries_usd, np.float64))
        object.__setattr__(self, "metadata", MappingProxyType(dict(self.metadata)))

    # ----------------------------------------------------------------------------- figures

    @property
    def n_matched(self) -> int:
        """Number of researchers with a lab."""
        return int(np.count_nonzero(self.lab_of >= 0))

    def hires(self) -> I64:
        """(n_labs,) int64 number of researchers each lab holds."""
        matched = self.lab_of[self.lab_of >= 0]
        return np.bincount(matched, minlength=self.market.n_labs).astype(np.int64)

    def pair_values_usd(self) -> F64 | None:
        """(n_researchers,) value of each researcher to their lab (USD, 0 if unmatched), or
        None without valuations."""
        val = self.market.valuations
        if val is None:
            return None
        out = np.zeros(self.market.n_researchers)
        rows = val.lab_rows()
        for_pair = (self.lab_of[val.researchers] == rows) & (rows >= 0)
        out[val.researchers[for_pair]] = val.values_usd[for_pair]
        return out

    def total_value_usd(self) -> float | None:
        """Sum of labs' values of the researchers they hold (USD), or None without valuations."""
        values = self.pair_values_usd()
        return None if values is None else float(values.sum())

    def spend_usd(self) -> F64 | None:
        """(n_labs,) salaries each lab pays (USD), or None without salaries."""
        if self.salaries_usd is None:
            return None
        matched = self.lab_of >= 0
        spend = np.bincount(
            self.lab_of[matched], weights=self.salaries_usd[matched], minlength=self.market.n_labs
        )
        return np.asarray(spend, np.float64)

    def blocking_pairs(self, tol_usd: float | None = None) -> I64:
        """(k, 2) int64 [researcher, lab] blocking pairs; see :func:`~.blocking_pairs`."""
        from talentmarket.market._checks import blocking_pairs

        return blocking_pairs(self, tol_usd=tol_usd)

    # ----------------------------------------------------------------------------- views

    def _order(self) -> I64:
        """Matched researchers grouped by lab, in the lab's ranking order (else by id)."""
        matched = np.flatnonzero(self.lab_of >= 0)
        if self.lab_rank is not None:
            key = self.lab_rank[matched]
        else:
            key = matched
        return matched[np.lexsort((key, self.lab_of[matched]))]

    def assignment(self) -> dict[str, list[str]]:
        """Lab id -> researcher ids it holds (every lab, stable id order; within a lab, the
        lab's ranking order for rankings, id order otherwise)."""
        ids = self.market.researcher_ids
        order = self._order()
        bounds = np.searchsorted(self.lab_of[order], np.arange(self.market.n_labs + 1))
        return {
            lab: [ids[i] for i in order[bounds[j] : bounds[j + 1]].tolist()]
            for j, lab in enumerate(self.market.lab_ids)
        }

    def unmatched(self) -> list[str]:
        """Ids of researchers without a lab, in stable id order."""
        ids = self.market.researcher_ids
        return [ids[i] for i in np.flatnonzero(self.lab_of < 0).tolist()]

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of ``talentmarket match``.

        ``{"assignment": {lab: [researchers]}, "unmatched": [...], "blocking_pairs": k}``;
        with salaries also ``"salaries": {researcher: usd}`` (matched researchers) and
        ``"total_value_usd"``. ``blocking_pairs`` counts pairs that gain more than one salary
        step by re-contracting (exact for rankings).
        """
        out: dict[str, Any] = {
            "assignment": self.assignment(),
            "unmatched": self.unmatched(),
            "blocking_pairs": int(self.blocking_pairs().shape[0]),
        }
        if self.salaries_usd is not None:
            ids = self.market.researcher_ids
            order = self._order().tolist()
            out["salaries"] = {ids[i]: float(self.salaries_usd[i]) for i in order}
        total = self.total_value_usd()
        if total is not None:
            out["total_value_usd"] = total
        return out

    def summary(self, max_labs: int = 20, max_names: int = 6) -> RenderableType:
        """A rich renderable: one table row per lab (at most ``max_labs``) and a line of
        totals; returns, never prints."""
        market = self.market
        hires = self.hires()
        spend = self.spend_usd()
        n_block = int(self.blocking_pairs().shape[0])
        caption = (
            f"{market.source}: {self.n_matched} of {market.n_researchers} researchers matched; "
            f"{n_block} blocking pair{'s' if n_block != 1 else ''}"
        )
        total = self.total_value_usd()
        if total is not None:
            caption += f"; total value {_usd(total)}"
        table = Table(title=self.engine)
        table.add_column("lab")
        table.add_column("hired", justify="right")
        if spend is not None:
            table.add_column("salaries", justify="right")
        table.add_column("researchers")
        assignment = self.assignment()
        for j, lab in enumerate(market.lab_ids[:max_labs]):
            names = assignment[lab]
            shown = ", ".join(names[:max_names]) + (" ..." if len(names) > max_names else "")
            row = [lab, f"{hires[j]}/{market.capacity[j]}"]
            if spend is not None:
                row.append(_usd(float(spend[j])))
            table.add_row(*row, shown)
        if market.n_labs > max_labs:
            table.add_row(
                f"... {market.n_labs - max_labs} more labs", *([""] * (len(table.columns) - 1))
            )
        return Group(table, Text(caption))

    def to_frame(self) -> pd.DataFrame:
        """One row per researcher: researcher, lab (None if unmatched), salary_usd, value_usd."""
        import pandas as pd

        labs = [self.market.lab_ids[j] if j >= 0 else None for j in self.lab_of.tolist()]
        data: dict[str, Any] = {"researcher": list(self.market.researcher_ids), "lab": labs}
        if self.salaries_usd is not None:
            data["salary_usd"] = self.salaries_usd
        values = self.pair_values_usd()
        if values is not None:
            data["value_usd"] = values
        return pd.DataFrame(data)


def _usd(x: float) -> str:
    for scale, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(x) >= scale:
            return f"${x / scale:,.2f}{suffix}"
    return f"${x:,.0f}"
