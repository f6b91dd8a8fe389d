"""Vesting schedules on the monthly grid."""

from __future__ import annotations

import numpy as np

from talentmarket.scenario._models import Vesting
from talentmarket.valuation._arrays import F64


def vesting_schedule(vesting: Vesting) -> F64:
    """Fraction of a grant that vests at each month ``0..vesting.months``.

    Events fall every ``every`` months (the last one at ``months``); with ``year_weights`` a
    year's weight is split evenly among the events in that year, otherwise each event weighs
    the months it covers. Events before the ``cliff`` accumulate to the cliff month;
    ``immediate_fraction`` vests at month 0. Returns shape (months + 1,), summing to 1.
    """
    months = vesting.months
    out = np.zeros(months + 1)
    out[0] = vesting.immediate_fraction
    rest = 1.0 - vesting.immediate_fraction
    if months == 0 or rest <= 0.0:
        out[0] = 1.0
        return out
    events = list(range(vesting.every, months + 1, vesting.every))
    if not events or events[-1] != months:
        events.append(months)
    ev = np.asarray(events)
    if vesting.year_weights is not None:
        weights = np.asarray(vesting.year_weights, dtype=float)
        year = (ev - 1) // 12
        per_event = np.zeros(len(ev))
        for y, w in enumerate(weights):
            in_year = year == y
            if in_year.any():
                per_event[in_year] = w / in_year.sum()
        if per_event.sum() <= 0:
            per_event = np.diff(np.concatenate(([0], ev))).astype(float)
    else:
        per_event = np.diff(np.concatenate(([0], ev))).astype(float)
    per_event *= rest / per_event.sum()
    if vesting.cliff > 0:
        before = ev < vesting.cliff
        out[vesting.cliff] += per_event[before].sum()
        per_event = np.where(before, 0.0, per_event)
    np.add.at(out, ev, per_event)
    return out


def remaining_schedule(vesting: Vesting, vested_fraction: float, n_months: int) -> F64:
    """What is still to vest of a grant of which ``vested_fraction`` has vested, from now on.

    The schedule is advanced to the first month by which that fraction had vested; the
    remainder (fractions of the whole grant) is placed on months ``0..n_months`` from now and
    cut at the horizon. Shape (n_months + 1,).
    """
    full = vesting_schedule(vesting)
    out = np.zeros(n_months + 1)
    if vested_fraction <= 0.0:
        k = min(len(full), n_months + 1)
        out[:k] = full[:k]
        return out
    cum = np.cumsum(full)
    start = int(np.searchsorted(cum, vested_fraction - 1e-12))
    if start >= len(full):
        return out
    rem = full[start:].copy()
    rem[0] = max(cum[start] - vested_fraction, 0.0)
    k = min(len(rem), n_months + 1)
    out[:k] = rem[:k]
    return out
