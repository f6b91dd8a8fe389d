"""Outcome checks, public API used by tests and reports alike.

- :func:`blocking_pairs`: pairs who would both rather be together (Gale & Shapley 1962); with
  salaries, pairs that gain more than one salary step by re-contracting.
- :func:`check_validity`: capacities, acceptability, salaries, budgets, individual rationality.
- :func:`core_violations`: the core inequalities of the assignment game on returned salaries
  (Shapley & Shubik 1971; Demange, Gale & Sotomayor 1986), with the excess of each violation.
- :func:`surplus_gap`: total value against the optimal assignment (a linear program, solved by
  ``scipy.optimize.linear_sum_assignment`` on the capacity-expanded matrix).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from talentmarket._errors import InputError, Issue
from talentmarket.market._compiled import F64, I64, Market
from talentmarket.market._results import MatchingResult
from talentmarket.market._utility import salaries_for, utilities, utility_args

__all__ = [
    "CoreViolations",
    "SurplusGap",
    "blocking_pairs",
    "check_validity",
    "core_violations",
    "surplus_gap",
]

_SHOW = 10  # problems listed per kind by check_validity
_MAX_DENSE = 60_000_000  # entries of the capacity-expanded matrix surplus_gap accepts


def blocking_pairs(result: MatchingResult, *, tol_usd: float | None = None) -> I64:
    """Blocking pairs of a result, as (k, 2) int64 rows [researcher, lab], sorted.

    Rankings: a mutually acceptable pair, not matched together, where the researcher is
    unmatched or prefers the lab to their own, and the lab has an empty seat or prefers the
    researcher to one it holds. Exact (``tol_usd`` is ignored).

    Values (auctions): a pair that could agree on a salary making both strictly better off by
    more than ``tol_usd`` in total (default: one salary raise, max(step_usd, step_relative x
    salary)); see :func:`core_violations`.

    Parameters
    ----------
    result
        Any engine's result; its ``basis`` says which definition applies.
    tol_usd
        Tolerance in USD for salary results; ignored for rankings.

    Returns
    -------
    (k, 2) int64
        Rows [researcher index, lab index], sorted; ``len`` is the count reported as
        ``blocking_pairs``.
    """
    if result.basis == "rankings":
        return _blocking_rankings(result)
    core = core_violations(result, tol_usd=tol_usd)
    rows = np.column_stack((core.blocking[:, 1], core.blocking[:, 0])).astype(np.int64)
    return rows[np.lexsort((rows[:, 1], rows[:, 0]))] if rows.size else rows.reshape(0, 2)


def _blocking_rankings(result: MatchingResult) -> I64:
    market = result.market
    rk = market.require_rankings(result.engine)
    n = market.n_researchers
    lab_of = result.lab_of
    owner = np.repeat(np.arange(n, dtype=np.int64), np.diff(rk.researcher_ptr))
    labs = rk.researcher_labs
    pos = np.arange(labs.shape[0], dtype=np.int64) - rk.researcher_ptr[owner]
    current = lab_of[owner] == labs
    cur_pos = np.full(n, np.iinfo(np.int64).max, np.int64)
    cur_pos[owner[current]] = pos[current]
    cur_rank = np.full(n, -1, np.int64)
    cur_rank[owner[current]] = rk.researcher_rank_at_lab[current]
    matched = lab_of >= 0
    held = np.bincount(lab_of[matched], minlength=market.n_labs)
    worst = np.full(market.n_labs, -1, np.int64)
    np.maximum.at(worst, lab_of[matched], cur_rank[matched])
    rank_at_lab = rk.researcher_rank_at_lab
    lab_wants = (held[labs] < market.capacity[labs]) | (rank_at_lab < worst[labs])
    block = (rank_at_lab >= 0) & ~current & (pos < cur_pos[owner]) & lab_wants
    return np.column_stack((owner[block], labs[block])).astype(np.int64).reshape(-1, 2)


@dataclass(frozen=True, eq=False)
class CoreViolations:
    """Where returned salaries fail the core conditions (empty arrays: none).

    blocking : (k, 2) int64 [lab, researcher]
        Pairs not together where the lab's gain from hiring the researcher at the smallest
        salary the researcher would switch for exceeds the lab's marginal profit (its lowest
        profit on a researcher it holds, 0 with an empty seat) by more than the tolerance,
        and the lab could afford it.
    excess_usd : (k,) float64
        That gain in USD.
    unprofitable : (q,) int64
        Researchers whose lab pays more than their value (lab individual rationality).
    below_reservation : (q,) int64
        Researchers whose offer is worth less to them than being unmatched.
    unmatched_paid : (q,) int64
        Unmatched researchers with a salary other than 0.
    tol_usd : float or None
        The tolerance used (None: one raise per pair).
    """

    blocking: I64
    excess_usd: F64
    unprofitable: I64
    below_reservation: I64
    unmatched_paid: I64
    tol_usd: float | None

    @property
    def ok(self) -> bool:
        """True when there is no violation."""
        return not (
            self.blocking.size
            or self.unprofitable.size
            or self.below_reservation.size
            or self.unmatched_paid.size
        )


def core_violations(result: MatchingResult, *, tol_usd: float | None = None) -> CoreViolations:
    """Check the core inequalities of an auction result.

    For every lab j and researcher i not together: let s_min be the salary at which i would be
    exactly as well off at j as now (the inverse of i's utility; their salary itself when
    utility is money), and pi_j j's marginal profit. (j, i) violates the core when
    ``value[j, i] - max(s_min, 0) - pi_j > tol`` and j can afford s_min (remaining budget plus
    the salary of the researcher it would let go). Also checked: labs' and researchers'
    individual rationality and zero salary for the unmatched (to rounding).

    Parameters
    ----------
    result
        An auction result (``basis == "values"``, with salaries).
    tol_usd
        Tolerance in USD; default one raise per pair: max(step_usd, step_relative x s_min).

    Returns
    -------
    CoreViolations
    """
    market = result.market
    val = market.require_valuations(result.engine)
    salary = _salaries(result)
    lab_of = result.lab_of
    n, m = market.n_researchers, market.n_labs
    rows = val.lab_rows()
    cols = val.researchers
    values = val.values_usd
    amenity = val.amenity if val.amenity is not None else np.zeros(values.shape[0])
    args = utility_args(val)
    tiny = 1e-9 * max(1.0, float(np.abs(values).max()) if values.size else 1.0)

    held = lab_of[cols] == rows
    held_entry = np.full(n, -1, np.int64)
    held_entry[cols[held]] = np.flatnonzero(held)
    matched = lab_of >= 0
    # Current utility of each researcher.
    u_now = val.reservation.copy()
    idx = np.flatnonzero(matched & (held_entry >= 0))
    u_now[idx] = amenity[held_entry[idx]] + utilities(idx, salary[idx], *args)
    # Each lab's marginal profit and what it can still spend.
    profit_held = values[held] - salary[cols[held]]
    hires = np.bincount(rows[held], minlength=m)
    full = hires >= market.capacity
    marginal = np.full(m, np.inf)
    np.minimum.at(marginal, rows[held], profit_held)
    marginal = np.where(full, np.where(np.isfinite(marginal), marginal, 0.0), 0.0)
    spend = np.bincount(rows[held], weights=salary[cols[held]], minlength=m)
    freed = np.zeros(m)
    if val.has_budgets:
        # Salary of the researcher a full lab would let go: its lowest-profit one.
        held_rows, held_salary = rows[held], salary[cols[held]]
        order = np.lexsort((profit_held, held_rows))
        labs_with, first = np.unique(held_rows[order], return_index=True)
        lowest = np.zeros(m)
        lowest[labs_with] = held_salary[order][first]
        freed = np.where(full, lowest, 0.0)
    # Pairs not together (and the lab has seats at all).
    cand = np.flatnonzero(~held & (market.capacity[rows] > 0))
    ci, cj = cols[cand], rows[cand]
    s_min = salaries_for(ci, u_now[ci] - amenity[cand], *args)
    s_need = np.maximum(s_min, 0.0)
    excess = values[cand] - s_need - marginal[cj]
    affordable = s_need <= val.budget_usd[cj] - spend[cj] + freed[cj] + tiny
    if tol_usd is None:
        finite_need = np.where(np.isfinite(s_need), s_need, 0.0)
        tol = np.maximum(val.step_usd, val.step_relative * finite_need) + tiny
    else:
        tol = np.full(cand.shape[0], float(tol_usd) + tiny)
    bad = (excess > tol) & affordable & np.isfinite(s_min)
    blocking = np.column_stack((cj[bad], ci[bad])).astype(np.int64).reshape(-1, 2)

    m_idx = np.flatnonzero(matched)
    valid_pair = held_entry[m_idx] >= 0
    unprofitable = m_idx[valid_pair][
        values[held_entry[m_idx[valid_pair]]] - salary[m_idx[valid_pair]] < -tiny
    ]
    u_ok = u_now[m_idx] >= val.reservation[m_idx] - 1e-9 * np.maximum(1.0, np.abs(u_now[m_idx]))
    below = m_idx[~u_ok]
    unmatched_paid = np.flatnonzero(~matched & (np.abs(salary) > tiny))
    return CoreViolations(
        blocking=blocking,
        excess_usd=excess[bad],
        unprofitable=unprofitable.astype(np.int64),
        below_reservation=below.astype(np.int64),
        unmatched_paid=unmatched_paid.astype(np.int64),
        tol_usd=tol_usd,
    )


def _salaries(result: MatchingResult) -> F64:
    if result.salaries_usd is None:
        raise InputError(
            [Issue(result.market.source, "salaries", f"{result.engine} returned no salaries")]
        )
    return result.salaries_usd


def check_validity(result: MatchingResult) -> tuple[str, ...]:
    """Problems with a result's feasibility; an empty tuple means valid.

    Checks: ``lab_of`` has one entry per researcher with valid lab indices; no lab over
    capacity; every matched pair acceptable (ranked by both for rankings, valued for values);
    for salaries: finite, >= 0, 0 for the unmatched, no lab over its budget, no lab paying more
    than its value (lab individual rationality) and no researcher taking an offer worse than
    being unmatched (researcher individual rationality).

    Parameters
    ----------
    result
        Any engine's result.

    Returns
    -------
    tuple of str
        One message per problem (at most 10 per kind), naming the researcher and lab ids.
    """
    market = result.market
    rid, lid = market.researcher_ids, market.lab_ids
    problems: list[str] = []
    lab_of = result.lab_of
    if lab_of.shape != (market.n_researchers,):
        return (f"lab_of has shape {lab_of.shape}, expected ({market.n_researchers},)",)
    if lab_of.size and (lab_of.min() < -1 or lab_of.max() >= market.n_labs):
        return ("lab_of holds indices outside -1..n_labs-1",)
    matched = np.flatnonzero(lab_of >= 0)
    hires = np.bincount(lab_of[matched], minlength=market.n_labs)
    for j in np.flatnonzero(hires > market.capacity)[:_SHOW].tolist():
        problems.append(
            f"lab {lid[j]!r} holds {hires[j]} researchers, capacity {market.capacity[j]}"
        )
    if result.basis == "rankings":
        rk = market.require_rankings(result.engine)
        owner = np.repeat(np.arange(market.n_researchers), np.diff(rk.researcher_ptr))
        ok_pair = (rk.researcher_labs == lab_of[owner]) & (rk.researcher_rank_at_lab >= 0)
        accepted = np.zeros(market.n_researchers, bool)
        accepted[owner[ok_pair]] = True
        for i in matched[~accepted[matched]][:_SHOW].tolist():
            problems.append(
                f"researcher {rid[i]!r} is matched to lab {lid[lab_of[i]]!r}, "
                "which is not a mutually ranked pair"
            )
        return tuple(problems)
    val = market.require_valuations(result.engine)
    rows, cols = val.lab_rows(), val.researchers
    held = lab_of[cols] == rows
    has_pair = np.zeros(market.n_researchers, bool)
    has_pair[cols[held]] = True
    for i in matched[~has_pair[matched]][:_SHOW].tolist():
        problems.append(
            f"researcher {rid[i]!r} is matched to lab {lid[lab_of[i]]!r}, "
            "which has no value for them"
        )
    if result.salaries_usd is None:
        problems.append(f"{result.engine} returned no salaries")
        return tuple(problems)
    salary = result.salaries_usd
    tiny = 1e-9 * max(1.0, float(np.abs(val.values_usd).max()) if val.values_usd.size else 1.0)
    if salary.shape != (market.n_researchers,) or not np.all(np.isfinite(salary)):
        problems.append("salaries must be finite, one per researcher")
        return tuple(problems)
    for i in np.flatnonzero(salary < -tiny)[:_SHOW].tolist():
        problems.append(f"researcher {rid[i]!r} has a negative salary {salary[i]:.2f} USD")
    spend = np.bincount(lab_of[matched], weights=salary[matched], minlength=market.n_labs)
    over = spend > val.budget_usd * (1 + 1e-12) + tiny
    for j in np.flatnonzero(over)[:_SHOW].tolist():
        problems.append(
            f"lab {lid[j]!r} pays {spend[j]:,.2f} USD, over its budget {val.budget_usd[j]:,.2f} USD"
        )
    core = core_violations(result)
    for i in core.unmatched_paid[:_SHOW].tolist():
        problems.append(f"unmatched researcher {rid[i]!r} has salary {salary[i]:.2f} USD")
    for i in core.unprofitable[:_SHOW].tolist():
        problems.append(f"lab {lid[lab_of[i]]!r} pays researcher {rid[i]!r} more than their value")
    for i in core.below_reservation[:_SHOW].tolist():
        problems.append(f"researcher {rid[i]!r} is worse off at {lid[lab_of[i]]!r} than unmatched")
    return tuple(problems)


@dataclass(frozen=True)
class SurplusGap:
    """Total value of a result against the optimal assignment (USD).

    total_usd: value of the result; optimum_usd: of an optimal assignment (ignoring budgets);
    gap_usd: optimum - total; hires_optimal: pairs in that optimal assignment; bound_usd:
    step_usd x hires_optimal, the auctions' guarantee (gap <= bound without budgets).
    """

    total_usd: float
    optimum_usd: float
    gap_usd: float
    hires_optimal: int
    bound_usd: float

    @property
    def within_bound(self) -> bool:
        """gap <= bound (up to rounding)."""
        return self.gap_usd <= self.bound_usd + 1e-9 * max(1.0, abs(self.optimum_usd))


def optimal_assignment(market: Market) -> tuple[float, int]:
    """(optimal total value USD, number of hires) of the market's assignment game.

    ``scipy.optimize.linear_sum_assignment`` on the capacity-expanded matrix: one row per seat
    (lab j repeated capacity_j times), one column per researcher, value max(v, 0) where the
    pair exists and 0 elsewhere (hiring nobody).
    """
    from scipy.optimize import linear_sum_assignment

    val = market.require_valuations("surplus_gap")
    seats = int(market.capacity.sum())
    if seats * market.n_researchers > _MAX_DENSE:
        raise InputError(
            [
                Issue(
                    market.source,
                    "",
                    f"{seats} seats x {market.n_researchers} researchers is too large",
                )
            ]
        )
    dense = np.maximum(val.dense(fill=0.0), 0.0)
    expanded = np.repeat(dense, market.capacity, axis=0)
    if expanded.size == 0:
        return 0.0, 0
    r, c = linear_sum_assignment(expanded, maximize=True)
    chosen = expanded[r, c]
    return float(chosen.sum()), int(np.count_nonzero(chosen > 0))


def surplus_gap(result: MatchingResult) -> SurplusGap:
    """Gap between a result's total value and the optimal assignment (USD).

    Meaningful for money-equivalent utility (the assignment game); the optimum ignores budgets.

    Parameters
    ----------
    result
        A result over a market with :class:`Valuations`.

    Returns
    -------
    SurplusGap
        Totals in USD, the gap and the auctions' bound ``step_usd x hires_optimal``.

    Raises
    ------
    InputError
        The capacity-expanded (seats x researchers) matrix would exceed 6e7 entries.
    """
    market = result.market
    val = market.require_valuations(result.engine)
    optimum, hires = optimal_assignment(market)
    total = result.total_value_usd() or 0.0
    return SurplusGap(
        total_usd=total,
        optimum_usd=optimum,
        gap_usd=optimum - total,
        hires_optimal=hires,
        bound_usd=val.step_usd * hires,
    )
