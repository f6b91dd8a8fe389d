"""Compiling scenario packages into the valuation kernel's arrays (done once per scenario)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from talentmarket.scenario._models import Grant, Lab, Package, Scenario, Vesting
from talentmarket.valuation._arrays import (
    PRIVATE,
    PUBLIC,
    EquitySources,
    EquityTranches,
    PackageRows,
)
from talentmarket.valuation._schedule import remaining_schedule

#: Refresh grants vest like this when the package gives no schedule and has no grant to copy.
DEFAULT_REFRESH_VESTING = Vesting(months=48, every=3)


def stable_key(text: str) -> int:
    """A 63-bit integer derived from ``text``: seeds a random stream independent of order."""
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big") >> 1


@dataclass(frozen=True)
class RowSpec:
    """One package to value for one valuation person.

    ``person`` is the id whose departure and bonus draws the row uses (a researcher id, or a
    cohort id shared by its members). ``scale`` multiplies every amount of the package (not share
    prices or strikes). With ``make_whole_of`` set, the row is instead the buy-out, in ``lab``'s
    equity, of what that (current) package still had to vest.
    """

    person: str
    departure_hazard: float
    lab: str
    package: Package
    scale: float = 1.0
    make_whole_of: Package | None = None
    make_whole_lab: str | None = None


@dataclass(frozen=True)
class CompiledRows:
    """The kernel inputs plus, per row, its spec (same order)."""

    sources: EquitySources
    rows: PackageRows
    tranches: EquityTranches
    specs: tuple[RowSpec, ...]


def _unit_value(grant: Grant, lab: Lab) -> float:
    """Grant-date dollars of a grant (shares x price for a public company)."""
    if grant.value_usd is not None:
        return grant.value_usd
    assert grant.shares is not None and lab.equity is not None and lab.equity.type == "public"
    return grant.shares * lab.equity.price_usd


def _strike(grant: Grant, lab: Lab) -> float:
    if grant.type != "options":
        return 0.0
    if grant.strike_usd is not None:
        assert lab.equity is not None and lab.equity.type == "public"
        return grant.strike_usd / lab.equity.price_usd
    return 1.0 if grant.strike_fraction is None else grant.strike_fraction


def forfeited_value(package: Package, lab: Lab, n_months: int) -> tuple[float, np.ndarray]:
    """Unvested value of a current package's grants at today's prices and its vest timing.

    Returns (USD, (n_months + 1,) USD vesting per month); options count at intrinsic value.
    """
    vest = np.zeros(n_months + 1)
    for grant in package.grants:
        intrinsic = max(1.0 - _strike(grant, lab), 0.0) if grant.type == "options" else 1.0
        sched = remaining_schedule(grant.vesting, grant.vested_fraction, n_months)
        vest += _unit_value(grant, lab) * intrinsic * sched
    return float(vest.sum()), vest


def _sources(scenario: Scenario) -> tuple[EquitySources, dict[str, int]]:
    ids = [lab_id for lab_id, lab in scenario.labs.items() if lab.equity is not None]
    index = {lab_id: i for i, lab_id in enumerate(ids)}
    eq = [scenario.labs[i].equity for i in ids]

    def col(fn: object) -> np.ndarray:
        return np.array([fn(e) for e in eq], dtype=float)  # type: ignore[operator]

    sources = EquitySources(
        key=np.array([stable_key("lab:" + i) for i in ids], dtype=np.int64),
        kind=np.array([PUBLIC if e.type == "public" else PRIVATE for e in eq], dtype=np.int64),  # type: ignore[union-attr]
        drift=col(lambda e: e.drift),
        volatility=col(lambda e: e.volatility),
        failure_hazard=col(lambda e: getattr(e, "failure_hazard", 0.0)),
        liquidity_hazard=col(lambda e: getattr(e, "liquidity_hazard", 0.0)),
        dilution_per_year=col(lambda e: getattr(e, "dilution_per_year", 0.0)),
        illiquidity_haircut=col(lambda e: getattr(e, "illiquidity_haircut", 0.0)),
    )
    return sources, index


def compile_rows(scenario: Scenario, specs: Sequence[RowSpec]) -> CompiledRows:
    """Compile packages to kernel arrays on the scenario's monthly grid.

    Salary is paid monthly (base / 12, raised every 12 months), the bonus target at each
    anniversary, grants on their remaining vesting schedules, refresh grants at each anniversary
    within the horizon. Shapes: rows (n_specs, M + 1), tranches (n_tranches, M + 1).
    """
    M = 12 * scenario.settings.horizon_years
    n = len(specs)
    sources, source_index = _sources(scenario)
    months = np.arange(M + 1)
    year_of_month = np.maximum(months - 1, 0) // 12

    person_key = np.empty(n, dtype=np.int64)
    departure = np.empty(n)
    source = np.full(n, -1, dtype=np.int64)
    salary = np.zeros((n, M + 1))
    sign_on = np.zeros(n)
    clawback = np.zeros(n)
    bonus_target = np.zeros((n, M + 1))
    bonus_median = np.ones(n)
    bonus_sigma = np.zeros(n)
    t_row: list[int] = []
    t_vest: list[np.ndarray] = []
    t_month: list[int] = []
    t_strike: list[float] = []
    t_option: list[bool] = []

    for r, spec in enumerate(specs):
        person_key[r] = stable_key("person:" + spec.person)
        departure[r] = spec.departure_hazard
        lab = scenario.labs[spec.lab]
        source[r] = source_index.get(spec.lab, -1)
        if spec.make_whole_of is not None:
            old_lab = scenario.labs[spec.make_whole_lab or spec.lab]
            total, vest = forfeited_value(spec.make_whole_of, old_lab, M)
            if total <= 0:
                continue
            if source[r] >= 0:
                t_row.append(r)
                t_vest.append(vest * spec.scale)
                t_month.append(0)
                t_strike.append(0.0)
                t_option.append(False)
            else:  # a lab without equity buys out in cash on day one
                sign_on[r] = total * spec.scale
            continue
        pkg, s = spec.package, spec.scale
        growth = (1.0 + pkg.raise_) ** year_of_month
        salary[r, 1:] = s * pkg.base_usd / 12.0 * growth[1:]
        sign_on[r] = s * pkg.sign_on_usd
        clawback[r] = pkg.clawback_months
        if pkg.bonus is not None:
            anniversaries = months[12::12]
            bonus_target[r, anniversaries] = (
                s
                * pkg.bonus.target
                * pkg.base_usd
                * (1.0 + pkg.raise_) ** (anniversaries // 12 - 1)
            )
            mult = pkg.bonus.multiplier
            if isinstance(mult, float | int):
                bonus_median[r] = float(mult)
            else:
                bonus_median[r] = mult.lognormal.median
                bonus_sigma[r] = mult.lognormal.sigma
        for grant in pkg.grants:
            t_row.append(r)
            t_vest.append(
                s
                * _unit_value(grant, lab)
                * remaining_schedule(grant.vesting, grant.vested_fraction, M)
            )
            t_month.append(0)
            t_strike.append(_strike(grant, lab))
            t_option.append(grant.type == "options")
        if pkg.refresh_usd_per_year > 0 and source[r] >= 0:
            vesting = pkg.refresh_vesting or (
                pkg.grants[0].vesting if pkg.grants else DEFAULT_REFRESH_VESTING
            )
            sched = remaining_schedule(vesting, 0.0, M)
            for g in range(12, M, 12):
                vest = np.zeros(M + 1)
                vest[g:] = s * pkg.refresh_usd_per_year * sched[: M + 1 - g]
                t_row.append(r)
                t_vest.append(vest)
                t_month.append(g)
                t_strike.append(0.0)
                t_option.append(False)

    rows = PackageRows(
        person_key=person_key,
        departure_hazard=departure,
        source=source,
        salary=salary,
        sign_on=sign_on,
        clawback_months=clawback,
        bonus_target=bonus_target,
        bonus_median=bonus_median,
        bonus_sigma=bonus_sigma,
    )
    tranches = EquityTranches(
        row=np.array(t_row, dtype=np.int64),
        vest=np.array(t_vest, dtype=float).reshape(len(t_row), M + 1),
        grant_month=np.array(t_month, dtype=np.int64),
        strike=np.array(t_strike, dtype=float),
        is_option=np.array(t_option, dtype=bool),
    )
    return CompiledRows(sources, rows, tranches, tuple(specs))
