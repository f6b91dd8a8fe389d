"""Vesting schedules and package compilation (known answers)."""

from __future__ import annotations

import numpy as np
import pytest

from talentmarket.scenario import Vesting, scenario_from_dict
from talentmarket.valuation._build import RowSpec, compile_rows
from talentmarket.valuation._schedule import remaining_schedule, vesting_schedule


def test_meta_quarterly_schedule_has_16_events_of_one_sixteenth() -> None:
    v = vesting_schedule(Vesting(months=48, every=3, cliff=0))
    events = np.flatnonzero(v)
    assert len(events) == 16
    assert events.tolist() == list(range(3, 49, 3))
    assert np.allclose(v[events], 1 / 16, rtol=1e-15)


def test_cliff_accumulates_to_the_cliff_month() -> None:
    v = vesting_schedule(Vesting(months=48, every=1, cliff=12))
    assert v[:12].sum() == 0
    assert v[12] == pytest.approx(12 / 48)
    assert np.allclose(v[13:], 1 / 48)
    assert v.sum() == pytest.approx(1.0)


def test_cliff_between_events_is_its_own_event() -> None:
    v = vesting_schedule(Vesting(months=48, every=3, cliff=10))
    assert v[10] == pytest.approx(3 / 16)  # events at 3, 6, 9 accumulate at month 10
    assert v[12] == pytest.approx(1 / 16)


def test_year_weights_front_load() -> None:
    v = vesting_schedule(
        Vesting(months=72, every=3, year_weights=[0.25, 0.2, 0.15, 0.15, 0.15, 0.1])
    )
    years = [v[12 * y + 1 : 12 * y + 13].sum() for y in range(6)]
    assert np.allclose(years, [0.25, 0.2, 0.15, 0.15, 0.15, 0.1])


def test_immediate_fraction_vests_on_day_one() -> None:
    v = vesting_schedule(Vesting(months=12, every=3, immediate_fraction=0.25))
    assert v[0] == pytest.approx(0.25) and v.sum() == pytest.approx(1.0)


def test_remaining_schedule_after_a_vested_fraction() -> None:
    vesting = Vesting(months=48, every=1, cliff=12)
    rest = remaining_schedule(vesting, 0.25, 72)  # one year in: 36 months of 1/48 remain
    assert rest.sum() == pytest.approx(0.75)
    assert np.flatnonzero(rest).tolist() == list(range(1, 37))
    # Cut at the horizon.
    assert remaining_schedule(vesting, 0.0, 24).sum() == pytest.approx(24 / 48)


def test_package_compiles_to_a_known_headline() -> None:
    s = scenario_from_dict(
        {
            "name": "h",
            "settings": {"horizon_years": 4, "discount_rate": 0.05, "paths": 100},
            "labs": {"a": {"equity": {"type": "public", "price_usd": 100}}, "b": {}},
            "researchers": {"r": {"employer": "b", "wealth_usd": "1M"}},
            "offers": {
                "o": {
                    "from": "a",
                    "to": "r",
                    "package": {
                        "base_usd": "1.2M",
                        "raise": 0.1,
                        "sign_on_usd": "5M",
                        "bonus": {"target": 0.5},
                        "grants": [
                            {"type": "rsu", "shares": 1000, "vesting": {"months": 48, "every": 3}}
                        ],
                        "refresh_usd_per_year": "1M",
                    },
                }
            },
        }
    )
    offer = s.offers["o"]
    c = compile_rows(s, [RowSpec("r", 0.0, "a", offer.package)])
    base = 1.2e6 * sum(1.1**y for y in range(4))
    bonus = 0.5 * base
    refresh = 1e6 * (36 + 24 + 12) / 48  # three refreshers, each cut at the horizon
    expected = base + 5e6 + bonus + 1000 * 100 + refresh
    got = (
        c.rows.salary.sum()
        + c.rows.sign_on.sum()
        + c.rows.bonus_target.sum()
        + c.tranches.vest.sum()
    )
    assert got == pytest.approx(expected, rel=1e-12)
    assert c.tranches.grant_month.tolist() == [0, 12, 24, 36]
