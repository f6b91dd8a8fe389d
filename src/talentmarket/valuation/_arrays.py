"""Compiled inputs of the valuation kernel: plain arrays, validated once by the scenario layer.

Units: USD; time on a monthly grid m = 0..M (M = 12 x horizon years), month m ending at m/12
years. Equity amounts are in *grant-date dollars*: one unit is worth 1 USD at t = 0 in its
company (share price or per-unit value normalized to 1), so a grant of value_usd = 900M is 9e8
units; an option strike is a fraction of the t = 0 price.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

PUBLIC = 0
PRIVATE = 1

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]


@dataclass(frozen=True)
class EquitySources:
    """One row per company whose equity appears in some package (n_sources rows).

    key: (n_sources,) int64 stable id, seeds the company's random stream (so adding a company
        never changes another company's paths).
    kind: (n_sources,) int64, PUBLIC or PRIVATE.
    drift, volatility: (n_sources,) annual, continuously compounded log-price drift is
        drift - volatility**2 / 2 (GBM); E[S_t] = exp(drift * t).
    failure_hazard: (n_sources,) per year; at failure a private company's equity goes to 0.
    liquidity_hazard: (n_sources,) per year; a private company's units can only be sold at or
        after a liquidity event. Ignored for PUBLIC.
    dilution_per_year: (n_sources,) fraction lost per year, continuously: (1 - d) ** t.
    illiquidity_haircut: (n_sources,) fraction taken off the horizon-end mark of units that
        never became liquid within the horizon.
    """

    key: I64
    kind: I64
    drift: F64
    volatility: F64
    failure_hazard: F64
    liquidity_hazard: F64
    dilution_per_year: F64
    illiquidity_haircut: F64

    @property
    def n(self) -> int:
        return int(self.key.shape[0])


@dataclass(frozen=True)
class PackageRows:
    """One row per (package, person) to value (n_rows rows); M = n_months.

    person_key: (n_rows,) int64 stable id of the person; rows with the same person share the
        departure-time and bonus draws (common random numbers: stay vs. offer compare fairly).
    departure_hazard: (n_rows,) per year; the person leaves at an exponential time, forfeiting
        what vests later and repaying the clawed-back share of the sign-on bonus.
    source: (n_rows,) int64 index into EquitySources of the package's company (-1: no equity).
    salary: (n_rows, M + 1) USD paid at the end of month m (m >= 1) if still employed.
    sign_on: (n_rows,) USD paid at m = 0.
    clawback_months: (n_rows,) months T; leaving at t < T months repays sign_on * (T - t) / T
        at the departure time (0: no clawback).
    bonus_target: (n_rows, M + 1) USD target bonus paid at month m if still employed.
    bonus_median, bonus_sigma: (n_rows,) lognormal multiplier of each bonus payment
        (independent per payment and path).
    """

    person_key: I64
    departure_hazard: F64
    source: I64
    salary: F64
    sign_on: F64
    clawback_months: F64
    bonus_target: F64
    bonus_median: F64
    bonus_sigma: F64

    @property
    def n(self) -> int:
        return int(self.person_key.shape[0])

    @property
    def n_months(self) -> int:
        return int(self.salary.shape[1]) - 1


@dataclass(frozen=True)
class EquityTranches:
    """Equity grants, one row per grant (n_tranches rows), each belonging to a package row.

    row: (n_tranches,) int64 index into PackageRows; the company is that row's source.
    vest: (n_tranches, M + 1) amount vesting at month m: grant-date dollars (units) for a grant
        made at month 0; for a grant made later (refresh) the *value at grant* in USD, converted
        to units at the simulated price of its grant month.
    grant_month: (n_tranches,) int64 month of grant (0, or 12, 24, ... for refresh grants).
    strike: (n_tranches,) strike as a fraction of the grant-date price; 0 for RSUs and units
        (then the payoff is the unit value itself, not max(value - strike, 0)).
    is_option: (n_tranches,) bool.
    """

    row: I64
    vest: F64
    grant_month: I64
    strike: F64
    is_option: NDArray[np.bool_]

    @property
    def n(self) -> int:
        return int(self.row.shape[0])
