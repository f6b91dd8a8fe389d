"""Ascending salary auctions: labs bid up researchers' salaries (the prices).

Two engines over :class:`~._compiled.Valuations` (CSR over labs, values in USD):

:func:`assignment_auction` (quasi-linear, the fast path)
    Bertsekas's (1988) forward auction for the assignment problem with epsilon-scaling, at the
    level of labs: a lab with k empty seats bids on its k most profitable researchers (profit =
    value - salary), raising each salary to where the lab is indifferent, up to epsilon, with its
    (k+1)-th option (Bertsekas & Castañon 1989 on "similar persons"; a lab is k identical seats).
    Within a phase salaries only rise: an ascending salary auction whose minimum raise is
    epsilon. Epsilon-scaling (coarse phases first, keeping salaries, the last at epsilon =
    ``step_usd``) removes the price wars that small raises cause. Each phase ends with a short
    reverse pass (Bertsekas, Castañon & Tsaknakis 1993) that lowers the salary of anyone left
    unhired with a salary from an earlier phase until a lab takes them, or to 0. The result
    satisfies, with epsilon = step:

    (b) every lab's profit on each researcher it holds is within epsilon of its best profit on
        anyone it does not hold; (d) a lab with an empty seat gains at most epsilon from anyone;
    (IR) no lab makes a loss on anyone it holds; salaries >= 0 and 0 for the unhired.

    These give the surplus bound: for any other assignment A, summing each lab's profit over
    A against its held set costs at most epsilon per hire of A, and salaries sum to more over
    the held sets than over A, so total value(A) <= total value(result) + epsilon x |A|: the
    result is optimal to within ``step_usd x (hires in an optimal assignment)``, at most
    ``step_usd x min(n_researchers, seats)``: the n x step bound.

    Salaries: the auction's own salaries satisfy these conditions but are arbitrary within the
    core (a researcher nobody else wants may be bid up to a lab's full value by a jump bid).
    The engine returns instead the smallest salaries satisfying (b), (d) and IR for the
    assignment found: what the researcher's next-best lab would pay, less up to a step per
    link of the chain of labs that sets it. That is the outcome of Kelso & Crawford's
    ascending process up to the step, the lab-optimal point of the core of the assignment
    game (Shapley & Shubik 1971; Demange, Gale & Sotomayor 1986). They are computed from the
    auction's salaries (an upper bound) by a label-correcting longest-path pass;
    ``salaries="auction"`` returns the auction's own salaries instead.

:func:`kelso_crawford_auction` (general)
    Kelso & Crawford's (1982) salary-adjustment process, sequential: a lab with an empty seat
    offers its current salary to its most profitable researcher; the researcher holds the offer
    they like best (utility ``amenity + u(salary)``, u any increasing function: quasi-linear,
    CRRA or a table); a rejected lab raises its offer to that researcher on the salary grid
    (raise = max(step_usd, step_relative x salary)). A rejected lab jumps straight to the
    smallest grid salary the researcher would accept given what they hold, which is exactly
    where repeated one-step raises would end, because the held offer only improves. Under gross
    substitutes (additive values with capacities) it ends in the discrete core. Budgets are a
    documented heuristic: a lab never offers more than its remaining budget (budget minus the
    salaries it holds). Budgets break gross substitutes, so the result may then be unstable
    and inefficient; budgets are never exceeded.

Ties are broken by stable id: a lab prefers the lower researcher index among equally profitable
ones; a researcher prefers the lower lab index among equally good offers.
"""

from __future__ import annotations

import warnings
from typing import Literal

import numpy as np
from numba import njit

from talentmarket._errors import ConvergenceError, InputError, Issue
from talentmarket.market._compiled import B8, F64, I64, Market, Valuations
from talentmarket.market._results import MatchingResult
from talentmarket.market._utility import (
    QUASI_LINEAR,
    money_utility,
    salary_for,
    utility_args,
)

__all__ = ["assignment_auction", "kelso_crawford_auction", "salary_auction"]


# --------------------------------------------------------------------------------------------
# shared helpers (compiled)


@njit(cache=True, inline="always")
def _worse(w1: float, i1: int, w2: float, i2: int) -> bool:  # pragma: no cover
    # Candidate 1 is worse than 2: lower profit, or equal profit and higher index.
    return w1 < w2 or (w1 == w2 and i1 > i2)


@njit(cache=True)
def _heap_down(hw: F64, hi: I64, he: I64, size: int, pos: int) -> None:  # pragma: no cover
    # Min-heap (root = worst candidate) over the first ``size`` entries.
    w, i, e = hw[pos], hi[pos], he[pos]
    while True:
        c = 2 * pos + 1
        if c >= size:
            break
        if c + 1 < size and _worse(hw[c + 1], hi[c + 1], hw[c], hi[c]):
            c += 1
        if not _worse(hw[c], hi[c], w, i):
            break
        hw[pos], hi[pos], he[pos] = hw[c], hi[c], he[c]
        pos = c
    hw[pos], hi[pos], he[pos] = w, i, e


@njit(cache=True)
def _heap_up(hw: F64, hi: I64, he: I64, pos: int) -> None:  # pragma: no cover
    w, i, e = hw[pos], hi[pos], he[pos]
    while pos > 0:
        p = (pos - 1) // 2
        if not _worse(w, i, hw[p], hi[p]):
            break
        hw[pos], hi[pos], he[pos] = hw[p], hi[p], he[p]
        pos = p
    hw[pos], hi[pos], he[pos] = w, i, e


@njit(cache=True, inline="always")
def _hold(
    j: int, i: int, slots: I64, base: I64, slot_pos: I64, n_held: I64
) -> None:  # pragma: no cover
    slots[base[j] + n_held[j]] = i
    slot_pos[i] = n_held[j]
    n_held[j] += 1


@njit(cache=True, inline="always")
def _release(
    h: int, i: int, slots: I64, base: I64, slot_pos: I64, n_held: I64
) -> None:  # pragma: no cover
    t = slot_pos[i]
    last = slots[base[h] + n_held[h] - 1]
    slots[base[h] + t] = last
    slot_pos[last] = t
    n_held[h] -= 1


@njit(cache=True)
def _marginal(
    j: int, capacity: I64, n_held: I64, slots: I64, base: I64, values: F64, hentry: I64, price: F64
) -> float:  # pragma: no cover
    # A lab's marginal profit: its lowest profit on a held researcher, 0 with an empty seat.
    if n_held[j] < capacity[j]:
        return 0.0
    low = np.inf
    for t in range(n_held[j]):
        i = slots[base[j] + t]
        w = values[hentry[i]] - price[i]
        if w < low:
            low = w
    return low


# --------------------------------------------------------------------------------------------
# quasi-linear: forward auction with epsilon-scaling


@njit(cache=True)
def _forward_auction(
    indptr: I64,
    researchers: I64,
    values: F64,
    capacity: I64,
    n: int,
    col_ptr: I64,
    col_labs: I64,
    col_entries: I64,
    step: float,
    eps0: float,
    theta: float,
    max_bids: int,
) -> tuple[I64, I64, F64, int, int, int, bool]:  # pragma: no cover - compiled
    """Forward auction with epsilon-scaling; each phase ends with the reverse clean-up.

    Returns (holder (n,), hentry (n,), price (n,) USD, bids, phases, reverse_steps, converged):
    holder[i] the lab holding researcher i (-1), hentry[i] the CSR entry of that pair.
    """
    m = capacity.shape[0]
    price = np.zeros(n)
    holder = np.full(n, -1, np.int64)
    hentry = np.full(n, -1, np.int64)
    base = np.zeros(m + 1, np.int64)
    for j in range(m):
        base[j + 1] = base[j] + capacity[j]
    slots = np.empty(base[m], np.int64)
    slot_pos = np.zeros(n, np.int64)
    n_held = np.zeros(m, np.int64)
    max_cap = 1
    for j in range(m):
        max_cap = max(max_cap, capacity[j])
    hw = np.empty(max_cap + 1)
    hi = np.empty(max_cap + 1, np.int64)
    he = np.empty(max_cap + 1, np.int64)
    queue = np.empty(max(m, 1), np.int64)
    queued = np.zeros(m, np.bool_)
    bids = 0
    reverse = 0
    phases = 0
    eps = eps0
    while True:
        phases += 1
        holder[:] = -1
        n_held[:] = 0
        head = 0
        count = 0
        for j in range(m):
            if capacity[j] > 0 and indptr[j + 1] > indptr[j]:
                queue[count] = j
                count += 1
                queued[j] = True
        while count > 0:
            j = queue[head]
            head = head + 1 if head + 1 < m else 0
            count -= 1
            queued[j] = False
            k = capacity[j] - n_held[j]
            if k <= 0:
                continue
            # The k + 1 most profitable researchers this lab does not hold (profit > 0).
            size = k + 1
            hs = 0
            for e in range(indptr[j], indptr[j + 1]):
                i = researchers[e]
                if holder[i] == j:
                    continue
                w = values[e] - price[i]
                if w <= 0.0:
                    continue
                if hs < size:
                    hw[hs], hi[hs], he[hs] = w, i, e
                    _heap_up(hw, hi, he, hs)
                    hs += 1
                elif _worse(hw[0], hi[0], w, i):
                    hw[0], hi[0], he[0] = w, i, e
                    _heap_down(hw, hi, he, hs, 0)
            if hs == 0:
                continue  # wants nobody at these salaries: done unless it loses someone
            if hs == size:
                third = hw[0]  # the (k+1)-th best profit: what the lab falls back on
                first = 1
            else:
                third = 0.0  # fewer candidates than seats: the fallback is an empty seat
                first = 0
            for q in range(first, hs):
                e = he[q]
                i = hi[q]
                v = values[e]
                # Indifferent (up to eps) with the fallback; never above the lab's value (IR).
                new_price = v - third + eps
                price[i] = new_price if new_price < v else v
                h = holder[i]
                if h >= 0:
                    _release(h, i, slots, base, slot_pos, n_held)
                    if not queued[h]:
                        queue[(head + count) % m] = h
                        count += 1
                        queued[h] = True
                holder[i] = j
                hentry[i] = e
                _hold(j, i, slots, base, slot_pos, n_held)
                bids += 1
            if bids > max_bids:
                return holder, hentry, price, bids, phases, reverse, False
        # Reverse clean-up: researchers left unhired with a salary > 0 from an earlier phase.
        steps, ok = _reverse_cleanup(
            capacity, values, col_ptr, col_labs, col_entries, holder, hentry, price,
            slots, base, slot_pos, n_held, eps, max_bids - bids - reverse,
        )  # fmt: skip
        reverse += steps
        if not ok:
            return holder, hentry, price, bids, phases, reverse, False
        if eps <= step:
            break
        eps = max(eps / theta, step)

    return holder, hentry, price, bids, phases, reverse, True


@njit(cache=True)
def _reverse_cleanup(
    capacity: I64,
    values: F64,
    col_ptr: I64,
    col_labs: I64,
    col_entries: I64,
    holder: I64,
    hentry: I64,
    price: F64,
    slots: I64,
    base: I64,
    slot_pos: I64,
    n_held: I64,
    eps: float,
    max_steps: int,
) -> tuple[int, bool]:  # pragma: no cover - compiled
    """Reverse auction steps (Bertsekas, Castanon & Tsaknakis 1993) for every researcher left
    unhired with a salary > 0: lower the salary until some lab takes them (displacing its
    marginal researcher, who is then processed alike) or, if no lab gains more than ``eps``
    even at salary 0, set it to 0. Keeps the epsilon-conditions; returns (steps, ok).
    """
    n = holder.shape[0]
    stack = np.empty(n, np.int64)
    top = 0
    for i in range(n):
        if holder[i] < 0 and price[i] > 0.0:
            stack[top] = i
            top += 1
    steps = 0
    while top > 0:
        top -= 1
        i = stack[top]
        best = -np.inf
        second = -np.inf
        best_q = -1
        for q in range(col_ptr[i], col_ptr[i + 1]):
            j = col_labs[q]
            if capacity[j] == 0:
                continue
            g = values[col_entries[q]] - _marginal(
                j, capacity, n_held, slots, base, values, hentry, price
            )
            if g > best:
                second = best
                best = g
                best_q = q
            elif g > second:
                second = g
        if best_q < 0 or best <= eps:
            price[i] = 0.0  # no lab gains more than eps from hiring i even at salary 0
            continue
        steps += 1
        if steps > max_steps:
            return steps, False
        j = col_labs[best_q]
        new_price = max(0.0, second - eps)
        price[i] = min(new_price, price[i])
        if n_held[j] == capacity[j]:
            # Drop the lab's marginal researcher (lowest profit; ties: highest index).
            low = np.inf
            drop = -1
            for t in range(n_held[j]):
                r = slots[base[j] + t]
                w = values[hentry[r]] - price[r]
                if w < low or (w == low and r > drop):
                    low = w
                    drop = r
            _release(j, drop, slots, base, slot_pos, n_held)
            holder[drop] = -1
            hentry[drop] = -1
            if price[drop] > 0.0:
                stack[top] = drop
                top += 1
        holder[i] = j
        hentry[i] = col_entries[best_q]
        _hold(j, i, slots, base, slot_pos, n_held)
    return steps, True


@njit(cache=True)
def _minimal_salaries(
    indptr: I64,
    researchers: I64,
    values: F64,
    capacity: I64,
    holder: I64,
    hentry: I64,
    upper: F64,
    slack: float,
    tol: float,
    max_scans: int,
) -> tuple[F64, int, bool]:  # pragma: no cover - compiled
    """Smallest salaries keeping the assignment an epsilon-equilibrium (label-correcting).

    Constraints, for every lab j and researcher k it does not hold:
    salary[k] >= value[j, k] - marginal_j(salary) - slack, and salary >= 0, where marginal_j is
    j's lowest profit on a held researcher (0 with an empty seat). marginal_j falls when the
    salaries of j's own researchers rise, so a rise re-queues the researcher's lab. ``upper``
    (the auction's salaries) satisfies every constraint, so the iteration from 0 stays below it
    and ends (no positive cycles). Returns (salary (n,) USD, lab scans, converged).
    """
    m = capacity.shape[0]
    n = holder.shape[0]
    salary = np.zeros(n)
    base = np.zeros(m + 1, np.int64)
    for j in range(m):
        base[j + 1] = base[j] + capacity[j]
    slots = np.empty(base[m], np.int64)
    slot_pos = np.zeros(n, np.int64)
    n_held = np.zeros(m, np.int64)
    for i in range(n):
        if holder[i] >= 0:
            _hold(holder[i], i, slots, base, slot_pos, n_held)
    queue = np.empty(max(m, 1), np.int64)
    queued = np.zeros(m, np.bool_)
    count = 0
    for j in range(m):
        if indptr[j + 1] > indptr[j]:
            queue[count] = j
            count += 1
            queued[j] = True
    head = 0
    scans = 0
    while count > 0:
        j = queue[head]
        head = head + 1 if head + 1 < m else 0
        count -= 1
        queued[j] = False
        scans += 1
        if scans > max_scans:
            return salary, scans, False
        floor = _marginal(j, capacity, n_held, slots, base, values, hentry, salary) + slack
        for e in range(indptr[j], indptr[j + 1]):
            k = researchers[e]
            if holder[k] == j:
                continue
            bound = values[e] - floor
            if bound > salary[k] + tol:
                new = bound if bound < upper[k] else upper[k]
                if new > salary[k]:
                    salary[k] = new
                    h = holder[k]
                    if h >= 0 and not queued[h]:
                        queue[(head + count) % m] = h
                        count += 1
                        queued[h] = True
    return salary, scans, True


def assignment_auction(
    market: Market,
    *,
    salaries: Literal["minimal", "auction"] = "minimal",
    scaling: float = 6.0,
    max_bids: int | None = None,
) -> MatchingResult:
    """Optimal assignment and salaries of the assignment game, by an ascending auction.

    Bertsekas's (1988) forward auction with epsilon-scaling, lab-level bids (see the module
    docstring); epsilon ends at ``valuations.step_usd``. Researchers care only about salary
    (quasi-linear; unmatched earns 0); labs earn value minus salary; no budgets.

    Parameters
    ----------
    market
        With :class:`Valuations`: ``values_usd`` (nnz,) over the acceptable pairs, capacities.
    salaries
        ``"minimal"``: the smallest salaries supporting the assignment within one step (the
        ascending-auction outcome); ``"auction"``: the auction's own final salaries.
    scaling
        Factor by which epsilon shrinks between phases (first phase: largest value / scaling).
    max_bids
        Safety limit on bids; default 10^4 x (pairs + labs + researchers).

    Returns
    -------
    MatchingResult
        ``lab_of`` (n_researchers,), ``salaries_usd`` (n_researchers,) USD. Total value is
        within ``step_usd x hires-in-an-optimal-assignment`` of the optimum (the bound of the
        module docstring); :func:`~talentmarket.market.surplus_gap` and
        :func:`~talentmarket.market.core_violations` check it.

    Raises
    ------
    InputError
        No valuations, budgets, non-money utility or relative steps (use
        :func:`kelso_crawford_auction`), or a bad option.
    ConvergenceError
        The safety limit on bids was reached.
    """
    val = market.require_valuations("assignment-auction")
    problems = []
    if not val.quasi_linear:
        problems.append(Issue(market.source, "utility", "needs money-equivalent utility"))
    if val.has_budgets:
        problems.append(Issue(market.source, "budget_usd", "budgets need kelso_crawford_auction"))
    if val.step_relative != 0:
        problems.append(
            Issue(market.source, "step_relative", "relative steps need kelso_crawford_auction")
        )
    if salaries not in ("minimal", "auction"):
        problems.append(
            Issue(market.source, "salaries", f"expected 'minimal' or 'auction', got {salaries!r}")
        )
    if not scaling > 1:
        problems.append(Issue(market.source, "scaling", f"expected a factor > 1, got {scaling!r}"))
    if problems:
        raise InputError(problems)
    n, m = market.n_researchers, market.n_labs
    limit = max_bids if max_bids is not None else 10_000 * (val.values_usd.size + n + m + 1)
    top = float(val.values_usd.max()) if val.values_usd.size else 0.0
    eps0 = max(val.step_usd, top / scaling)
    holder, hentry, price, bids, phases, reverse, ok = _forward_auction(
        val.indptr, val.researchers, val.values_usd, market.capacity, n,
        val.col_ptr, val.col_labs, val.col_entries,
        val.step_usd, eps0, float(scaling), int(limit),
    )  # fmt: skip
    if not ok:
        raise ConvergenceError(
            f"assignment auction stopped after {bids + reverse} bids ({market.source})"
        )
    scans = 0
    if salaries == "minimal":
        tol = 1e-12 * max(top, 1.0)
        price, scans, ok = _minimal_salaries(
            val.indptr, val.researchers, val.values_usd, market.capacity, holder, hentry,
            price, val.step_usd, tol, int(limit),
        )  # fmt: skip
        if not ok:
            raise ConvergenceError(
                f"minimal salaries stopped after {scans} scans ({market.source})"
            )
    price = np.where(holder >= 0, price, 0.0)
    return MatchingResult(
        market=market,
        engine="assignment-auction",
        basis="values",
        lab_of=holder,
        salaries_usd=price,
        iterations=int(bids + reverse),
        metadata={
            "step_usd": val.step_usd,
            "phases": int(phases),
            "forward_bids": int(bids),
            "reverse_bids": int(reverse),
            "salary_scans": int(scans),
            "salaries": salaries,
        },
    )


# --------------------------------------------------------------------------------------------
# general: Kelso-Crawford salary adjustment with any increasing utility, budgets


@njit(cache=True, inline="always")
def _raise(s: float, step: float, rel: float) -> float:  # pragma: no cover
    r = rel * s
    return s + (r if r > step else step)


@njit(cache=True)
def _grid_at_least(s: float, target: float, step: float, rel: float) -> float:  # pragma: no cover
    """The first salary on the grid s, s + max(step, rel s), ... that is >= target."""
    if s >= target:
        return s
    if rel > 0.0:
        cross = step / rel  # below it raises are absolute, above it relative
        if s < cross:
            goal = target if target < cross else cross
            k = np.ceil((goal - s) / step)
            s = s + max(k, 1.0) * step
            if s >= target:
                return s
        k = np.ceil(np.log(target / s) / np.log1p(rel))
        g = s * (1.0 + rel) ** max(k, 1.0)
        while g < target:
            g = g * (1.0 + rel)
        return float(g)
    k = np.ceil((target - s) / step)
    g = s + max(k, 1.0) * step
    while g < target:
        g += step
    return float(g)


@njit(cache=True, inline="always")
def _accepts(u: float, held: float, j: int, h: int) -> bool:  # pragma: no cover
    # Researcher takes an offer of utility u over what they hold (lab h, or nothing: h < 0).
    if h < 0:
        return u >= held
    return u > held or (u == held and j < h)


@njit(cache=True)
def _best_two(
    j: int,
    skip: int,
    indptr: I64,
    researchers: I64,
    values: F64,
    offer: F64,
    dead: B8,
    holder: I64,
    remaining: float,
) -> tuple[int, float, float, int]:  # pragma: no cover - compiled
    """Lab j's most profitable target (entry, profit) and the runner-up (profit, researcher).

    Targets: entries not dead, not held by j, not ``skip``, affordable at the current offer,
    with profit value - offer > 0. Ties go to the lower researcher index (rows are sorted).
    """
    best_e = -1
    best_w = 0.0
    second_w = 0.0
    second_i = -1
    for e in range(indptr[j], indptr[j + 1]):
        if dead[e] or e == skip:
            continue
        i = researchers[e]
        if holder[i] == j or offer[e] > remaining:
            continue
        w = values[e] - offer[e]
        if w > best_w:
            if best_e >= 0:
                second_w = best_w
                second_i = researchers[best_e]
            best_w = w
            best_e = e
        elif w > second_w:
            second_w = w
            second_i = i
    return best_e, best_w, second_w, second_i


@njit(cache=True, inline="always")
def _still_best(w: float, i: int, second_w: float, second_i: int) -> bool:  # pragma: no cover
    return w > 0.0 and (second_i < 0 or w > second_w or (w == second_w and i < second_i))


@njit(cache=True)
def _winning_offer(
    e: int,
    i: int,
    j: int,
    offer: F64,
    values: F64,
    amenity: F64,
    held_util: F64,
    holder: I64,
    step: float,
    rel: float,
    kind: int,
    eta: F64,
    wealth: F64,
    weight: F64,
    ks: F64,
    ku: F64,
) -> float:  # pragma: no cover - compiled
    """Smallest grid salary above lab j's current offer to i that i would take over what i
    holds now; -1 if it is not below j's value (j then gives up on i)."""
    s = offer[e]
    target = salary_for(kind, i, held_util[i] - amenity[e], eta, wealth, weight, ks, ku)
    if not target < values[e]:
        return -1.0
    # Start a hair below the inverse (rounding may put it above an acceptable grid point) and
    # walk up with exact utility comparisons.
    target -= 1e-9 * max(1.0, abs(target))
    new = _grid_at_least(s, max(target, s), step, rel)
    if new <= s:
        new = _raise(s, step, rel)
    h = holder[i]
    while new < values[e]:
        u = amenity[e] + money_utility(kind, i, new, eta, wealth, weight, ks, ku)
        if _accepts(u, held_util[i], j, h):
            return new
        new = _raise(new, step, rel)  # rounding left it a hair short
    return -1.0


@njit(cache=True)
def _kelso_crawford(
    indptr: I64,
    researchers: I64,
    values: F64,
    capacity: I64,
    budget: F64,
    n: int,
    step: float,
    rel: float,
    amenity: F64,
    reservation: F64,
    kind: int,
    eta: F64,
    wealth: F64,
    weight: F64,
    ks: F64,
    ku: F64,
    max_proposals: int,
    shortcut_wars: bool,
) -> tuple[I64, F64, int, bool]:  # pragma: no cover - compiled
    """Sequential Kelso-Crawford process. Returns (lab_of (n,), salary (n,) USD, offers, ok).

    Bidding wars are resolved in O(1) per raise: when lab j outbids the holder h of researcher
    i, h (now with an empty seat) would next target i again (nothing it prefers got cheaper)
    and raise; we let j and h alternate on i directly until one prefers its runner-up, found
    once per war by a row scan. Without budgets labs' preferences over contracts are
    substitutes, so this cumulative-offer process ends in the lab-optimal stable outcome
    whatever the order of offers (Hatfield & Milgrom 2005): the same outcome as queueing h,
    only faster. With budgets (runner-ups change as budgets free up) wars are not shortcut.
    """
    m = capacity.shape[0]
    nnz = researchers.shape[0]
    offer = np.zeros(nnz)  # each lab's current offer to each acceptable researcher (USD)
    dead = np.zeros(nnz, np.bool_)  # the lab no longer wants or cannot win the researcher
    holder = np.full(n, -1, np.int64)
    held_entry = np.full(n, -1, np.int64)
    held_salary = np.zeros(n)
    held_util = reservation.copy()
    n_held = np.zeros(m, np.int64)
    committed = np.zeros(m)
    wars = shortcut_wars
    for j in range(m):
        if budget[j] < np.inf:
            wars = False
    queue = np.empty(max(m, 1), np.int64)
    queued = np.zeros(m, np.bool_)
    count = 0
    for j in range(m):
        if capacity[j] > 0 and indptr[j + 1] > indptr[j]:
            queue[count] = j
            count += 1
            queued[j] = True
    head = 0
    proposals = 0
    while count > 0:
        j = queue[head]
        head = head + 1 if head + 1 < m else 0
        count -= 1
        queued[j] = False
        while n_held[j] < capacity[j]:
            remaining = budget[j] - committed[j]
            e, _w, second_w, second_i = _best_two(
                j, -1, indptr, researchers, values, offer, dead, holder, remaining
            )
            if e < 0:
                break
            proposals += 1
            if proposals > max_proposals:
                return holder, held_salary, proposals, False
            i = researchers[e]
            s = offer[e]
            u = amenity[e] + money_utility(kind, i, s, eta, wealth, weight, ks, ku)
            h = holder[i]
            if _accepts(u, held_util[i], j, h):
                if h >= 0:
                    n_held[h] -= 1
                    committed[h] -= held_salary[i]
                    if not queued[h]:
                        queue[(head + count) % m] = h
                        count += 1
                        queued[h] = True
                holder[i] = j
                held_entry[i] = e
                held_salary[i] = s
                held_util[i] = u
                n_held[j] += 1
                committed[j] += s
                continue
            # Rejected: raise to the smallest grid salary i would take over what i holds.
            new = _winning_offer(
                e, i, j, offer, values, amenity, held_util, holder, step, rel,
                kind, eta, wealth, weight, ks, ku,
            )  # fmt: skip
            if new < 0:
                dead[e] = True
                continue
            offer[e] = new
            if not wars or h < 0 or not _still_best(values[e] - new, i, second_w, second_i):
                continue
            # Bidding war on i between the attacker a (wins now) and the defender d.
            a, ea, a_w, a_i = j, e, second_w, second_i
            d, ed = h, held_entry[i]
            # d's runner-up: its best target other than i (entry ed is skipped).
            ex, ew, _, _ = _best_two(
                d, ed, indptr, researchers, values, offer, dead, holder, np.inf
            )
            d_w2 = ew if ex >= 0 else 0.0
            d_i2 = researchers[ex] if ex >= 0 else -1
            while True:
                proposals += 2  # d's offer is rejected, a's accepted
                if proposals > max_proposals:
                    return holder, held_salary, proposals, False
                n_held[d] -= 1
                committed[d] -= held_salary[i]
                holder[i] = a
                held_entry[i] = ea
                held_salary[i] = offer[ea]
                held_util[i] = amenity[ea] + money_utility(
                    kind, i, offer[ea], eta, wealth, weight, ks, ku
                )
                n_held[a] += 1
                committed[a] += offer[ea]
                new = _winning_offer(
                    ed, i, d, offer, values, amenity, held_util, holder, step, rel,
                    kind, eta, wealth, weight, ks, ku,
                )  # fmt: skip
                if new < 0:
                    dead[ed] = True
                    break
                offer[ed] = new
                if not _still_best(values[ed] - new, i, d_w2, d_i2):
                    break
                a, ea, a_w, a_i, d, ed, d_w2, d_i2 = d, ed, d_w2, d_i2, a, ea, a_w, a_i
            # d gave up on i and has an empty seat: it continues (j's loop, or the queue).
            if d != j and not queued[d]:
                queue[(head + count) % m] = d
                count += 1
                queued[d] = True
    return holder, held_salary, proposals, True


def kelso_crawford_auction(
    market: Market, *, max_proposals: int | None = None, shortcut_wars: bool = True
) -> MatchingResult:
    """Kelso & Crawford's (1982) ascending salary process, any increasing utility, budgets.

    See the module docstring. Researchers' utility of lab j's offer s is ``amenity + u(s)``
    (``valuations.utility``; money itself when None) and they hold the best offer; unmatched
    utility is ``valuations.reservation``. Labs earn value minus salary, offer to their most
    profitable researcher with an empty seat, raise by max(step_usd, step_relative x salary)
    when rejected, and never offer more than their remaining budget.

    Cost: an ascending process makes up to value / step raises on each contested pair, so its
    time grows like 1 / step (the price wars that epsilon-scaling removes from
    :func:`assignment_auction`). Two-lab bidding wars cost O(1) per raise; still, keep
    value / step around 10^3-10^4. A ``RuntimeWarning`` is issued when the bound on raises
    exceeds 10^9.

    Parameters
    ----------
    market
        With :class:`Valuations`.
    max_proposals
        Safety limit; default a bound the process cannot exceed (4 x the grid salaries below
        every value, plus a margin): reaching it means a bug, not a hard market.
    shortcut_wars
        Resolve two labs' bidding war over one researcher in O(1) per raise (default) instead
        of requeueing the outbid lab after every raise; same outcome without budgets (see
        the kernel's note), ignored with budgets. False replays every step, slowly.

    Returns
    -------
    MatchingResult
        ``lab_of`` (n_researchers,), ``salaries_usd`` (n_researchers,) USD (0 if unmatched).
        Quasi-linear without budgets: the core inequalities hold within one raise and the
        total value is within ``step x hires`` of the optimum, like :func:`assignment_auction`.

    Raises
    ------
    ConvergenceError
        The safety limit was reached.
    """
    val = market.require_valuations("kelso-crawford")
    n, m = market.n_researchers, market.n_labs
    if max_proposals is None:
        # Each offer rises at most value / step times; every offer is a raise or displaces a
        # holder, which needs a raise before it can happen again: a true bound, not a guess.
        raises = float(np.sum(np.ceil(np.maximum(val.values_usd, 0.0) / val.step_usd) + 1.0))
        limit = int(min(4.0 * raises + 10.0 * (val.values_usd.size + n + m) + 1000.0, 2.0**62))
        if raises > 1e9:
            warnings.warn(
                f"{market.source}: up to {raises:.1e} salary raises with step_usd="
                f"{val.step_usd:g}; a larger step is proportionally faster",
                RuntimeWarning,
                stacklevel=2,
            )
    else:
        limit = max_proposals
    amenity = val.amenity if val.amenity is not None else np.zeros(val.values_usd.size)
    kind, eta, wealth, weight, ks, ku = utility_args(val)
    holder, salary, proposals, ok = _kelso_crawford(
        val.indptr, val.researchers, val.values_usd, market.capacity, val.budget_usd, n,
        val.step_usd, val.step_relative, amenity, val.reservation,
        kind, eta, wealth, weight, ks, ku, int(limit), bool(shortcut_wars),
    )  # fmt: skip
    if not ok:
        raise ConvergenceError(
            f"Kelso-Crawford auction stopped after {proposals} offers ({market.source})"
        )
    return MatchingResult(
        market=market,
        engine="kelso-crawford",
        basis="values",
        lab_of=holder,
        salaries_usd=np.where(holder >= 0, salary, 0.0),
        iterations=int(proposals),
        metadata={
            "step_usd": val.step_usd,
            "step_relative": val.step_relative,
            "utility": "quasi-linear" if kind == QUASI_LINEAR else type(val.utility).__name__,
        },
    )


def fast_path_applies(val: Valuations) -> bool:
    """True when :func:`assignment_auction` can solve these valuations (quasi-linear utility,
    no budgets, absolute step)."""
    return val.quasi_linear and not val.has_budgets and val.step_relative == 0


def salary_auction(market: Market) -> MatchingResult:
    """The ascending salary auction: :func:`assignment_auction` when it applies (quasi-linear,
    no budgets, absolute step), else :func:`kelso_crawford_auction`.

    Parameters
    ----------
    market
        With :class:`Valuations`.

    Returns
    -------
    MatchingResult
        Assignment and salaries (USD); ``engine`` names the engine used.
    """
    val = market.require_valuations("salary-auction")
    if fast_path_applies(val):
        return assignment_auction(market)
    return kelso_crawford_auction(market)
