"""Monte Carlo valuation kernel: known answers, closed forms and reproducibility."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

import talentmarket.valuation as valuation
from talentmarket import InputError
from talentmarket.valuation import (
    PRIVATE,
    PUBLIC,
    EquitySources,
    EquityTranches,
    PackageRows,
    ValueSamples,
    simulate_values,
)

M = 72  # six years of months
T_YEARS = M / 12.0


@dataclass
class Book:
    """Builds the compiled arrays of a few packages by hand (the scenario layer's job)."""

    months: int = M
    sources: list[dict[str, Any]] = field(default_factory=list)
    rows: list[dict[str, Any]] = field(default_factory=list)
    tranches: list[dict[str, Any]] = field(default_factory=list)

    def source(
        self,
        kind: int = PUBLIC,
        *,
        drift: float = 0.0,
        vol: float = 0.0,
        failure: float = 0.0,
        liquidity: float = 0.0,
        dilution: float = 0.0,
        haircut: float = 0.0,
        key: int | None = None,
    ) -> int:
        self.sources.append(
            dict(
                key=len(self.sources) if key is None else key,
                kind=kind,
                drift=drift,
                volatility=vol,
                failure_hazard=failure,
                liquidity_hazard=liquidity,
                dilution_per_year=dilution,
                illiquidity_haircut=haircut,
            )
        )
        return len(self.sources) - 1

    def row(
        self,
        *,
        person: int = 0,
        hazard: float = 0.0,
        source: int = -1,
        salary: float = 0.0,
        sign_on: float = 0.0,
        clawback: float = 0.0,
        bonus: np.ndarray | None = None,
        median: float = 1.0,
        sigma: float = 0.0,
    ) -> int:
        pay = np.zeros(self.months + 1)
        pay[1:] = salary / 12.0
        self.rows.append(
            dict(
                person_key=person,
                departure_hazard=hazard,
                source=source,
                salary=pay,
                sign_on=sign_on,
                clawback_months=clawback,
                bonus_target=np.zeros(self.months + 1) if bonus is None else bonus,
                bonus_median=median,
                bonus_sigma=sigma,
            )
        )
        return len(self.rows) - 1

    def grant(
        self,
        row: int,
        vest: np.ndarray,
        *,
        grant_month: int = 0,
        strike: float = 0.0,
        option: bool = False,
    ) -> None:
        self.tranches.append(
            dict(row=row, vest=vest, grant_month=grant_month, strike=strike, is_option=option)
        )

    def build(self) -> tuple[EquitySources, PackageRows, EquityTranches]:
        def col(items: list[dict[str, Any]], name: str, dtype: Any) -> np.ndarray:
            if not items:
                return np.zeros(0, dtype=dtype)
            return np.asarray([it[name] for it in items], dtype=dtype)

        def mat(items: list[dict[str, Any]], name: str) -> np.ndarray:
            if not items:
                return np.zeros((0, self.months + 1))
            return np.stack([np.asarray(it[name], dtype=np.float64) for it in items])

        s, r, t = self.sources, self.rows, self.tranches
        rates = (
            "drift",
            "volatility",
            "failure_hazard",
            "liquidity_hazard",
            "dilution_per_year",
            "illiquidity_haircut",
        )
        sources = EquitySources(
            key=col(s, "key", np.int64),
            kind=col(s, "kind", np.int64),
            **{n: col(s, n, np.float64) for n in rates},
        )
        rows = PackageRows(
            person_key=col(r, "person_key", np.int64),
            departure_hazard=col(r, "departure_hazard", np.float64),
            source=col(r, "source", np.int64),
            salary=mat(r, "salary"),
            sign_on=col(r, "sign_on", np.float64),
            clawback_months=col(r, "clawback_months", np.float64),
            bonus_target=mat(r, "bonus_target"),
            bonus_median=col(r, "bonus_median", np.float64),
            bonus_sigma=col(r, "bonus_sigma", np.float64),
        )
        tranches = EquityTranches(
            row=col(t, "row", np.int64),
            vest=mat(t, "vest"),
            grant_month=col(t, "grant_month", np.int64),
            strike=col(t, "strike", np.float64),
            is_option=col(t, "is_option", np.bool_),
        )
        return sources, rows, tranches

    def simulate(
        self, *, n_paths: int = 2000, discount_rate: float = 0.0, seed: int = 11, **kw: Any
    ) -> ValueSamples:
        return simulate_values(
            *self.build(), n_paths=n_paths, discount_rate=discount_rate, seed=seed, **kw
        )


def vest_at(months: dict[int, float]) -> np.ndarray:
    vest = np.zeros(M + 1)
    for m, amount in months.items():
        vest[m] += amount
    return vest


def meta_schedule(value: float) -> np.ndarray:
    """1/16 of the grant every quarter over 48 months, no cliff."""
    vest = np.zeros(M + 1)
    vest[3:49:3] = value / 16.0
    return vest


def monthly_schedule(value: float, months: int = 48) -> np.ndarray:
    vest = np.zeros(M + 1)
    vest[1 : months + 1] = value / months
    return vest


def within(estimate: float, truth: float, se: float, k: float = 3.0) -> bool:
    return abs(estimate - truth) <= k * se


def mean_and_se(x: np.ndarray) -> tuple[float, float]:
    return float(x.mean()), float(x.std(ddof=1) / math.sqrt(x.size))


def normal_cdf(x: float) -> float:
    return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))


# --------------------------------------------------------------------------- public surface


def test_public_names_are_pinned() -> None:
    assert sorted(valuation.__all__) == sorted(
        [
            "PRIVATE",
            "PUBLIC",
            "EquitySources",
            "EquityTranches",
            "PackageRows",
            "ValueSamples",
            "certainty_equivalent",
            "crra_inverse",
            "crra_sup",
            "crra_utility",
            "distribution_nodes",
            "simulate_values",
        ]
    )
    for name in valuation.__all__:
        assert hasattr(valuation, name)


# --------------------------------------------------------------------------- public equity


def test_zero_volatility_rsu_at_discount_drift_is_worth_its_grant_value() -> None:
    book = Book()
    s = book.source(PUBLIC, drift=0.07)
    r = book.row(source=s)
    book.grant(r, meta_schedule(900e6))
    values = book.simulate(n_paths=5, discount_rate=0.07)
    np.testing.assert_allclose(values.pv, 900e6, rtol=1e-9)
    np.testing.assert_allclose(values.employer_cost, 900e6, rtol=1e-9)
    assert values.headline[0] == pytest.approx(900e6, rel=1e-15)


def test_meta_schedule_has_sixteen_vest_events() -> None:
    # Zero drift and discount: what is received is the number of quarters vested x 1/16.
    book = Book()
    s = book.source(PUBLIC)
    r = book.row(source=s, hazard=0.5)
    book.grant(r, meta_schedule(16.0))
    values = book.simulate(n_paths=4000)
    levels = np.unique(np.round(values.nominal[0], 9))
    np.testing.assert_array_equal(levels, np.arange(17.0))


def test_mean_share_price_at_horizon_is_exp_drift_t() -> None:
    book = Book()
    s = book.source(PUBLIC, drift=0.08, vol=0.35)
    r = book.row(source=s)
    book.grant(r, vest_at({M: 1.0}))
    values = book.simulate(n_paths=20_000)
    price = values.nominal[0]
    mean, se = mean_and_se(price)
    assert within(mean, math.exp(0.08 * T_YEARS), se)
    # Log price is normal with variance vol^2 T.
    assert np.log(price).std() == pytest.approx(0.35 * math.sqrt(T_YEARS), rel=0.03)


def test_refresh_grant_buys_units_at_the_grant_month_price() -> None:
    # vest[m] is USD at grant month g: worth vest[m] * S_m / S_g. With zero volatility and
    # drift == discount rate, the PV is vest * exp(-r g / 12).
    book = Book()
    s = book.source(PUBLIC, drift=0.05)
    r = book.row(source=s)
    vest = np.zeros(M + 1)
    vest[27:61:3] = 1e6 / 12
    book.grant(r, vest, grant_month=24)
    values = book.simulate(n_paths=3, discount_rate=0.05)
    np.testing.assert_allclose(values.pv, 1e6 * math.exp(-0.05 * 2.0), rtol=1e-12)
    grown = vest * np.exp(0.05 * (np.arange(M + 1) - 24) / 12)
    np.testing.assert_allclose(values.nominal, grown.sum(), rtol=1e-12)


def test_black_scholes_call_at_horizon() -> None:
    # Options vested at once, no departure: exercised at M; with drift == r the PV is the
    # Black-Scholes price of a call with S0 = 1.
    r_, vol, K = 0.04, 0.3, 1.2
    book = Book()
    s = book.source(PUBLIC, drift=r_, vol=vol)
    row = book.row(source=s)
    book.grant(row, vest_at({0: 1.0}), strike=K, option=True)
    values = book.simulate(n_paths=20_000, discount_rate=r_)
    d1 = (math.log(1.0 / K) + (r_ + vol**2 / 2) * T_YEARS) / (vol * math.sqrt(T_YEARS))
    d2 = d1 - vol * math.sqrt(T_YEARS)
    bs = normal_cdf(d1) - K * math.exp(-r_ * T_YEARS) * normal_cdf(d2)
    assert within(values.expected_pv[0], bs, values.mc_standard_error[0])


@pytest.mark.parametrize("kind", [PUBLIC, PRIVATE])
def test_option_payoff_between_zero_and_the_units_value(kind: int) -> None:
    book = Book()
    s = book.source(kind, drift=0.05, vol=0.5, failure=0.05, liquidity=0.3, haircut=0.2)
    vest = monthly_schedule(1e6)
    for strike in (0.0, 1.0, 3.0):
        r = book.row(source=s, hazard=0.1)
        book.grant(r, vest, strike=strike, option=True)
    values = book.simulate(n_paths=3000, discount_rate=0.03)
    zero, at_money, deep = values.nominal
    assert np.all(at_money >= 0) and np.all(deep >= 0)
    assert np.all(at_money <= zero) and np.all(deep <= at_money)
    assert np.all(values.pv >= 0)
    assert np.any(at_money > 0) and np.any(at_money < zero)


def test_public_option_exercised_at_departure() -> None:
    # Zero volatility: S_m = exp(mu m / 12); on every path the payoff is what vested by the
    # last employed month k times max(S_k - K, 0), for some k.
    mu, K = 0.1, 1.1
    book = Book()
    s = book.source(PUBLIC, drift=mu)
    r = book.row(source=s, hazard=0.4)
    vest = monthly_schedule(48.0)
    book.grant(r, vest, strike=K, option=True)
    values = book.simulate(n_paths=2000)
    k = np.arange(M + 1)
    candidates = np.cumsum(vest) * np.maximum(np.exp(mu * k / 12) - K, 0.0)
    got = values.nominal[0]
    assert np.all(np.min(np.abs(got[:, None] - candidates[None, :]), axis=1) < 1e-9)
    assert np.unique(np.round(got, 9)).size > 10


# --------------------------------------------------------------------------- departure


def test_departure_forfeits_unvested_equity() -> None:
    h = 0.2
    book = Book()
    s = book.source(PUBLIC)
    r = book.row(source=s, hazard=h)
    book.grant(r, monthly_schedule(1.0))
    values = book.simulate(n_paths=20_000)
    # Month m vests iff still employed: P(m <= 12 tau) = exp(-h m / 12).
    expected = sum(math.exp(-h * m / 12) for m in range(1, 49)) / 48
    mean, se = mean_and_se(values.nominal[0])
    assert within(mean, expected, se)
    assert values.p_realize_headline[0] == pytest.approx(math.exp(-h * 4.0), abs=0.02)


def test_salary_stops_at_departure() -> None:
    h = 0.3
    book = Book()
    book.row(salary=12.0, hazard=h)  # 1 USD a month
    values = book.simulate(n_paths=20_000)
    expected = sum(math.exp(-h * m / 12) for m in range(1, M + 1))
    mean, se = mean_and_se(values.nominal[0])
    assert within(mean, expected, se)


def test_clawback_lowers_pv_by_the_expected_repayment() -> None:
    h, r_, T, S = 0.25, 0.05, 24.0, 5e7
    book = Book()
    book.row(hazard=h, sign_on=S, salary=1e6)
    book.row(hazard=h, sign_on=S, salary=1e6, clawback=T, person=0)
    values = book.simulate(n_paths=20_000, discount_rate=r_)
    diff = values.pv[0] - values.pv[1]
    # E[S (T - x) / T exp(-rho x); x < T], x = 12 tau ~ Exp(lam) months.
    lam, rho = h / 12, r_ / 12
    c = lam + rho
    expected = S * lam / T * (T / c - (1 - math.exp(-c * T)) / c**2)
    mean, se = mean_and_se(diff)
    assert within(mean, expected, se)
    assert np.all(diff >= 0)
    # Paths where the person stays past T repay nothing.
    assert np.mean(diff == 0) == pytest.approx(math.exp(-h * T / 12), abs=0.02)
    np.testing.assert_allclose(
        values.employer_cost[0] - values.employer_cost[1], diff, rtol=1e-9, atol=1e-3
    )


def test_rows_of_one_person_share_departure_and_bonus_draws() -> None:
    bonus = np.zeros(M + 1)
    bonus[12::12] = 1e5
    book = Book()
    book.row(person=3, hazard=0.2, salary=1e5, bonus=bonus, sigma=0.4)
    book.row(person=3, hazard=0.2, salary=2e5, bonus=2 * bonus, sigma=0.4)
    book.row(person=4, hazard=0.2, salary=1e5, bonus=bonus, sigma=0.4)
    values = book.simulate(n_paths=500)
    np.testing.assert_allclose(values.nominal[1], 2 * values.nominal[0], rtol=1e-12)
    assert not np.allclose(values.nominal[2], values.nominal[0])


def test_bonus_multiplier_is_lognormal() -> None:
    median, sigma = 0.8, 0.5
    bonus = np.zeros(M + 1)
    bonus[12::12] = 1.0
    book = Book()
    book.row(bonus=bonus, median=median, sigma=sigma)
    values = book.simulate(n_paths=20_000)
    mean, se = mean_and_se(values.nominal[0])
    assert within(mean, 6 * median * math.exp(sigma**2 / 2), se)
    assert values.headline[0] == pytest.approx(6.0)


# --------------------------------------------------------------------------- private equity


def test_private_failure_value_falls_as_exp_minus_hazard_t() -> None:
    # Instant liquidity (month 1): units vesting at m are realized at m, worth 0 once failed.
    lam = 0.3
    book = Book()
    s = book.source(PRIVATE, failure=lam, liquidity=1e9)
    for m in (6, 24, 48, 72):
        r = book.row(source=s)
        book.grant(r, vest_at({m: 1.0}))
    values = book.simulate(n_paths=10_000)
    for i, m in enumerate((6, 24, 48, 72)):
        alive = values.nominal[i]
        assert set(np.unique(alive).tolist()) <= {0.0, 1.0}
        mean, se = mean_and_se(alive)
        assert within(mean, math.exp(-lam * m / 12), se)


def test_private_without_liquidity_is_marked_with_haircut_and_dilution() -> None:
    mu, d, h, r_ = 0.1, 0.15, 0.3, 0.04
    book = Book()
    s = book.source(PRIVATE, drift=mu, dilution=d, haircut=h)
    r = book.row(source=s)
    vest = meta_schedule(1e6)
    book.grant(r, vest)
    values = book.simulate(n_paths=4, discount_rate=r_)
    mark = 1e6 * math.exp(mu * T_YEARS) * (1 - d) ** T_YEARS * (1 - h)
    np.testing.assert_allclose(values.nominal, mark, rtol=1e-12)
    np.testing.assert_allclose(values.pv, mark * math.exp(-r_ * T_YEARS), rtol=1e-12)
    # The employer delivers each unit at its vest month at V_m, without haircut.
    m = np.arange(M + 1)
    delivered = (vest * np.exp((mu - r_) * m / 12) * (1 - d) ** (m / 12)).sum()
    np.testing.assert_allclose(values.employer_cost, delivered, rtol=1e-12)


def test_private_option_marked_with_haircut_costs_its_intrinsic_value() -> None:
    mu, d, h, r_, K = 0.2, 0.05, 0.3, 0.04, 1.5
    book = Book()
    s = book.source(PRIVATE, drift=mu, dilution=d, haircut=h)
    r = book.row(source=s)
    book.grant(r, meta_schedule(1e6), strike=K, option=True)
    values = book.simulate(n_paths=3, discount_rate=r_)
    intrinsic = 1e6 * (math.exp(mu * T_YEARS) * (1 - d) ** T_YEARS - K)
    assert intrinsic > 0
    np.testing.assert_allclose(values.nominal, (1 - h) * intrinsic, rtol=1e-12)
    np.testing.assert_allclose(values.pv, (1 - h) * intrinsic * math.exp(-r_ * T_YEARS), rtol=1e-12)
    np.testing.assert_allclose(
        values.employer_cost, intrinsic * math.exp(-r_ * T_YEARS), rtol=1e-12
    )


def test_private_liquidity_event_avoids_the_haircut() -> None:
    # Drift == r, no dilution: a unit vested at 0 is worth 1 in PV whenever it is realized
    # at a liquidity event, and (1 - h) when marked at the horizon.
    lam_l, h, r_ = 0.2, 0.4, 0.06
    book = Book()
    s = book.source(PRIVATE, drift=r_, liquidity=lam_l, haircut=h)
    r = book.row(source=s)
    book.grant(r, vest_at({0: 1.0}))
    values = book.simulate(n_paths=20_000, discount_rate=r_)
    p_none = math.exp(-lam_l * T_YEARS)
    mean, se = mean_and_se(values.pv[0])
    assert within(mean, 1 - p_none + (1 - h) * p_none, se)
    assert set(np.round(np.unique(values.pv[0]), 12).tolist()) == {1.0, 1 - h}


def test_private_units_vested_after_departure_are_kept() -> None:
    # Leaving forfeits what vests later, but vested units stay and are realized later.
    book = Book()
    s = book.source(PRIVATE, liquidity=0.3)
    r = book.row(source=s, hazard=0.5)
    vest = monthly_schedule(48.0)
    book.grant(r, vest)
    values = book.simulate(n_paths=3000)
    # Zero drift and vol: each vested unit is worth 1 if realized, or (1 - 0) at the mark.
    assert np.all(np.abs(values.nominal[0] - np.round(values.nominal[0])) < 1e-9)
    expected = sum(math.exp(-0.5 * m / 12) for m in range(1, 49))
    mean, se = mean_and_se(values.nominal[0])
    assert within(mean, expected, se)


# --------------------------------------------------------------------------- headline, CE


def test_headline_is_the_hand_sum() -> None:
    bonus = np.zeros(M + 1)
    bonus[12::12] = 7.5e5
    book = Book()
    s = book.source(PUBLIC, vol=0.3)
    r = book.row(source=s, salary=1.5e6, sign_on=5e7, bonus=bonus, hazard=0.1, clawback=24)
    book.grant(r, meta_schedule(9e8))
    refresh = np.zeros(M + 1)
    refresh[15:61:3] = 1e7 / 16
    book.grant(r, refresh, grant_month=12)
    values = book.simulate(n_paths=10)
    assert values.headline[0] == pytest.approx(1.5e6 * 6 + 5e7 + 7.5e5 * 6 + 9e8 + 1e7, rel=1e-14)


def test_deterministic_package_ce_equals_pv_and_realizes_its_headline() -> None:
    book = Book()
    s = book.source(PUBLIC, drift=0.05)
    r = book.row(source=s, salary=4e5, sign_on=1e6)
    book.grant(r, meta_schedule(2e7))
    values = book.simulate(n_paths=7, discount_rate=0.03)
    pv = values.expected_pv[0]
    np.testing.assert_array_equal(values.pv, pv)
    for eta in (0.0, 1.0, 2.0, 6.0):
        assert values.certainty_equivalent(5e6, eta)[0] == pytest.approx(pv, rel=1e-12)
    assert values.p_realize_headline[0] == 1.0
    assert values.mc_standard_error[0] == pytest.approx(0.0, abs=1e-6)


def test_ce_below_expected_pv_with_risk_and_decreasing_in_eta() -> None:
    book = Book()
    s = book.source(PUBLIC, drift=0.07, vol=0.4)
    r = book.row(source=s, salary=4e5, hazard=0.1)
    book.grant(r, meta_schedule(5e7))
    values = book.simulate(n_paths=4000, discount_rate=0.05)
    ce = np.array([values.certainty_equivalent(1e7, eta)[0] for eta in (0.5, 1.0, 2.0, 4.0)])
    assert np.all(ce < values.expected_pv[0])
    assert np.all(np.diff(ce) < 0)


def test_result_summaries() -> None:
    book = Book()
    s = book.source(PUBLIC, drift=0.05, vol=0.3)
    for value in (1e6, 2e6):
        r = book.row(source=s, hazard=0.1)
        book.grant(r, meta_schedule(value))
    values = book.simulate(n_paths=1000, seed=5, discount_rate=0.02)
    assert values.seed == 5 and values.n_paths == 1000 and values.discount_rate == 0.02
    q = values.pv_quantiles([0.1, 0.5, 0.9])
    assert q.shape == (2, 3) and np.all(np.diff(q, axis=1) >= 0)
    np.testing.assert_allclose(values.expected_pv[1], 2 * values.expected_pv[0], rtol=1e-12)
    se = values.mc_standard_error
    np.testing.assert_allclose(se, values.pv.std(axis=1, ddof=1) / math.sqrt(1000))
    np.testing.assert_allclose(values.expected_employer_cost, values.employer_cost.mean(axis=1))
    assert np.all((values.p_realize_headline >= 0) & (values.p_realize_headline <= 1))
    with pytest.raises(ValueError):
        values.pv[0, 0] = 1.0
    with pytest.raises(dataclasses.FrozenInstanceError):
        values.seed = 6  # type: ignore[misc]


# --------------------------------------------------------------------------- randomness


def rich_book() -> Book:
    """Every feature at once: public and private, options, refresh, bonus, departure."""
    bonus = np.zeros(M + 1)
    bonus[12::12] = 1e5
    book = Book()
    pub = book.source(PUBLIC, drift=0.07, vol=0.35, key=10)
    prv = book.source(
        PRIVATE, drift=0.15, vol=0.6, failure=0.1, liquidity=0.2, dilution=0.1, haircut=0.25, key=20
    )
    a = book.row(
        person=1,
        source=pub,
        hazard=0.15,
        salary=1e6,
        sign_on=1e7,
        clawback=24,
        bonus=bonus,
        sigma=0.3,
    )
    b = book.row(person=1, source=prv, hazard=0.15, salary=8e5, bonus=bonus, sigma=0.3)
    c = book.row(person=2, source=pub, hazard=0.05, salary=5e5)
    book.grant(a, meta_schedule(1e8))
    book.grant(a, monthly_schedule(1e7), strike=1.0, option=True)
    refresh = np.zeros(M + 1)
    refresh[27:61:3] = 1e6
    book.grant(a, refresh, grant_month=24)
    book.grant(b, monthly_schedule(5e7))
    book.grant(b, meta_schedule(2e7), strike=0.5, option=True)
    book.grant(b, refresh, grant_month=24)
    book.grant(c, vest_at({12: 1e6, 24: 1e6}))
    return book


def assert_same(x: ValueSamples, y: ValueSamples) -> None:
    np.testing.assert_array_equal(x.pv, y.pv)
    np.testing.assert_array_equal(x.nominal, y.nominal)
    np.testing.assert_array_equal(x.employer_cost, y.employer_cost)
    np.testing.assert_array_equal(x.headline, y.headline)


def test_same_seed_same_numbers_and_another_seed_differs() -> None:
    book = rich_book()
    first = book.simulate(n_paths=300, seed=3, discount_rate=0.05)
    assert_same(first, book.simulate(n_paths=300, seed=3, discount_rate=0.05))
    other = book.simulate(n_paths=300, seed=4, discount_rate=0.05)
    assert not np.array_equal(first.pv, other.pv)


@settings(max_examples=8, deadline=None)
@given(chunk=st.integers(min_value=1, max_value=130))
@example(chunk=1)
@example(chunk=2)
@example(chunk=7)
def test_results_do_not_depend_on_path_chunk(chunk: int) -> None:
    book = rich_book()
    whole = book.simulate(n_paths=120, seed=9, discount_rate=0.05, path_chunk=10_000)
    assert_same(whole, book.simulate(n_paths=120, seed=9, discount_rate=0.05, path_chunk=chunk))


def test_more_paths_extend_the_same_paths() -> None:
    book = rich_book()
    few = book.simulate(n_paths=100, seed=9, path_chunk=64)
    many = book.simulate(n_paths=250, seed=9, path_chunk=64)
    np.testing.assert_array_equal(many.pv[:, :100], few.pv)


def test_adding_a_company_or_person_leaves_other_draws_alone() -> None:
    book = rich_book()
    before = book.simulate(n_paths=200, seed=2)
    s = book.source(PUBLIC, drift=0.0, vol=0.9, key=99)
    r = book.row(person=77, source=s, hazard=0.3, salary=1e5)
    book.grant(r, meta_schedule(1e6))
    # Reorder so the new ones come first: positions must not matter, only keys.
    book.sources.insert(0, book.sources.pop())
    book.rows.insert(0, book.rows.pop())
    for row in book.rows:
        if row["source"] >= 0:
            row["source"] = (row["source"] + 1) % len(book.sources)
    for tr in book.tranches:
        tr["row"] = (tr["row"] + 1) % len(book.rows)
    after = book.simulate(n_paths=200, seed=2)
    np.testing.assert_array_equal(after.pv[1:], before.pv)
    np.testing.assert_array_equal(after.employer_cost[1:], before.employer_cost)


def test_memory_and_shapes_for_many_rows_on_one_company() -> None:
    book = Book()
    s = book.source(PUBLIC, drift=0.05, vol=0.3)
    for i in range(50):
        r = book.row(person=i, source=s, hazard=0.1)
        book.grant(r, meta_schedule(1e6 * (i + 1)))
    values = book.simulate(n_paths=200, path_chunk=64)
    assert values.pv.shape == (50, 200) and values.headline.shape == (50,)
    # Same company, same paths: without departures the rows would be proportional;
    # with independent departures they differ.
    assert not np.allclose(values.pv[1], 2 * values.pv[0])


# --------------------------------------------------------------------------- input errors


def test_bad_inputs_are_reported_with_their_field() -> None:
    book = Book()
    s = book.source(PUBLIC)
    r = book.row(source=s)
    vest = np.zeros(M + 1)
    vest[6] = 1.0
    book.grant(r, vest, grant_month=12)
    with pytest.raises(InputError, match=r"tranches\.vest: a grant vests before its grant month"):
        book.simulate()
    with pytest.raises(InputError, match="n_paths: must be >= 1, got 0"):
        Book().simulate(n_paths=0)
    book = Book()
    book.row(source=-1)
    book.grant(0, vest)
    with pytest.raises(InputError, match="without an equity source"):
        book.simulate()
