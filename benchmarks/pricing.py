"""Benchmark: price a cohort of 100,000 researchers against brentq called once per person.

Both solve the same decision model (the same value nodes, the same utilities): the baseline
is ``scipy.optimize.brentq`` on P(accept | s) - target for each person of a 2,000-person
subsample, extrapolated linearly to the cohort. Prints readable lines, then one JSON line with
``cohort_s``, ``brentq_per_person_s``, ``speedup`` and the largest scale difference.

    python benchmarks/pricing.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from typing import Any

import numpy as np
from scipy.optimize import brentq

import talentmarket as tm
from talentmarket.choice import node_weights, paired_nodes
from talentmarket.pricing import price
from talentmarket.valuation import crra_utility


def scenario(size: int, paths: int) -> dict[str, Any]:
    return {
        "name": "pricing-benchmark",
        "seed": 11,
        "settings": {"horizon_years": 4, "discount_rate": 0.05, "paths": paths},
        "labs": {
            "home": {
                "attributes": {"culture": 1.0},
                "equity": {
                    "type": "private",
                    "valuation_usd": "10B",
                    "volatility": 0.6,
                    "failure_hazard": 0.05,
                    "liquidity_hazard": 0.2,
                },
            },
            "rival": {
                "attributes": {"culture": -0.5, "compute": 1.0},
                "equity": {"type": "public", "price_usd": 500, "volatility": 0.35},
            },
        },
        "cohorts": {
            "staff": {
                "employer": "home",
                "size": size,
                "wealth_usd": {"lognormal": {"median": "5M", "sigma": 1.0}},
                "risk_aversion": {"uniform": {"low": 0.5, "high": 2.5}},
                "departure_hazard": 0.05,
                "package": {
                    "base_usd": "400k",
                    "grants": [
                        {
                            "type": "units",
                            "value_usd": "10M",
                            "vesting": {"months": 48, "cliff": 12},
                        }
                    ],
                },
                "preferences": {
                    "money": 1.0,
                    "culture": {"normal": {"mean": 0.6, "sd": 0.3}},
                    "compute": {"normal": {"mean": 0.4, "sd": 0.2}},
                },
            }
        },
        "offers": {
            "o": {
                "from": "rival",
                "to": "staff",
                "package": {
                    "base_usd": "1M",
                    "sign_on_usd": "5M",
                    "clawback_months": 12,
                    "grants": [
                        {"type": "rsu", "value_usd": "40M", "vesting": {"months": 48, "every": 3}}
                    ],
                    "make_whole": True,
                },
            }
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="10,000 people, 400 for brentq")
    parser.add_argument("--repeats", type=int, default=5, help="alternating repeats (median)")
    args = parser.parse_args()
    size, sub = (10_000, 400) if args.quick else (100_000, 2_000)
    target = 0.5

    t0 = time.perf_counter()
    valuation = tm.value_scenario(
        tm.compile_scenario(tm.scenario_from_dict(scenario(size, 10_000)))
    )
    setup_s = time.perf_counter() - t0
    first = valuation.compiled.population.ids[0]
    price(valuation, "o", people=[first], target=target)  # compile the kernel

    t0 = time.perf_counter()
    result = price(valuation, "o", target=target)
    cohort_s = time.perf_counter() - t0
    ok = np.array([s == "ok" for s in result.status])
    print(f"set-up (compile + value {size:,} people): {setup_s:.2f} s")
    print(
        f"cohort price, {size:,} people: {cohort_s:.3f} s "
        f"({ok.sum():,} ok, {result.n_unattainable:,} unattainable)"
    )

    # The baseline: the same decision model, brentq once per person.
    rng = np.random.default_rng(0)
    chosen = np.sort(rng.choice(np.flatnonzero(ok), size=min(sub, int(ok.sum())), replace=False))
    people = [result.people[i] for i in chosen]
    d = tm.decide(valuation, people=people)
    pop = valuation.compiled.population
    idx = np.array([pop.index_of(p) for p in people])
    x_paths, y_paths = valuation.offer_parts("staff", "o")
    x, y = paired_nodes(x_paths, y_paths)  # paired as written, as the decision model does
    weights = node_weights(len(x))
    col = 1
    alpha, W0, eta = pop.money[idx], pop.wealth[idx], pop.eta[idx]
    non_money = d.utility[:, col] - alpha * d.money_utility[:, col]
    stay = d.utility[:, 0]

    def p_accept(s: float, i: int) -> float:
        m = float(weights @ crra_utility(1.0 + (s * x + y) / W0[i], eta[i]))
        return 1.0 / (1.0 + np.exp(stay[i] - (alpha[i] * m + non_money[i])))

    base = np.empty(len(people))

    def run_brentq() -> float:
        t0 = time.perf_counter()
        for i in range(len(people)):
            hi = 1.0
            while p_accept(hi, i) < target:
                hi *= 2.0
            base[i] = brentq(
                lambda s, i=i: p_accept(s, i) - target, 0.0, hi, xtol=1e-14, rtol=1e-13
            )
        return time.perf_counter() - t0

    def run_cohort() -> float:
        t0 = time.perf_counter()
        price(valuation, "o", target=target)
        return time.perf_counter() - t0

    # Alternate the two and take medians: timings on a shared machine drift by tens of percent.
    cohort_times = [cohort_s]
    brentq_times = []
    for _ in range(args.repeats):
        brentq_times.append(run_brentq())
        cohort_times.append(run_cohort())
    cohort_s = statistics.median(cohort_times)
    brentq_s = statistics.median(brentq_times)
    print(
        f"cohort times {', '.join(f'{t:.3f}' for t in cohort_times)} s (median "
        f"{cohort_s:.3f}); brentq subsample {', '.join(f'{t:.2f}' for t in brentq_times)} s"
    )
    per_person = brentq_s / len(people)
    ours = result.scale[chosen]
    rel = float(np.max(np.abs(ours - base) / base))
    speedup = per_person * size / cohort_s
    print(
        f"brentq per person: {per_person * 1e3:.3f} ms ({len(people):,} people in "
        f"{brentq_s:.2f} s); extrapolated to {size:,}: {per_person * size:.1f} s"
    )
    print(f"speedup: {speedup:.0f}x; largest relative scale difference: {rel:.2e}")
    print(
        json.dumps(
            {
                "people": size,
                "cohort_s": cohort_s,
                "brentq_per_person_s": per_person,
                "speedup": speedup,
                "max_rel_scale_diff": rel,
                "subsample": len(people),
            }
        )
    )


if __name__ == "__main__":
    main()
