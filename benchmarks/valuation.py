"""Benchmark: Monte Carlo package valuation against the cost of its random draws.

Values 1,000 packages x 10,000 paths x 72 months, each package on its own equity source
(1,000 companies, public and private mixed), with a vesting schedule, base salary, annual
bonus, a sign-on bonus with clawback and a departure hazard. The peer, timed in the same run
and alternated with the valuation, is numpy's default generator drawing packages x paths x
months float64 standard normals in the same chunks (``rng_only_s``). Times are medians over
the repeats; ``ratio_to_rng`` is the median of the per-repeat ratios (each valuation against
the rng run next to it, their order alternating), steadier on a shared machine than a ratio
of medians. The readable lines also give the ratio of CPU times, which load from other
processes disturbs least (``cpu_ratio_to_rng``).

    python benchmarks/valuation.py [--quick] [--repeats N]

Prints one readable line per figure, then, as the last line, one JSON object with
``path_months_per_s``, ``rng_only_s``, ``valuation_s``, ``ratio_to_rng``, ``peak_rss_mib``, and
``cpu_ratio_to_rng`` (the same ratio in CPU seconds of this process: both sides are
single-threaded, so it equals the wall-clock ratio on an idle machine and is the steadier
figure on a busy one).
``--quick`` values a tenth (100 packages), with the same keys.
"""

from __future__ import annotations

import argparse
import inspect
import json
import resource
import statistics
import sys
import time

import numpy as np

from talentmarket.valuation import (
    PRIVATE,
    PUBLIC,
    EquitySources,
    EquityTranches,
    PackageRows,
    simulate_values,
)

HORIZON_MONTHS = 72
# The kernel's own default chunk, so the rng peer draws in the same chunks.
DEFAULT_PATH_CHUNK = int(inspect.signature(simulate_values).parameters["path_chunk"].default)


def _schedule(months: int, every: int, cliff: int, horizon: int) -> np.ndarray:
    """Fractions vesting at each month 0..horizon: even amounts every ``every`` months over
    ``months``, with everything due before the cliff paid at the cliff."""
    out = np.zeros(horizon + 1)
    events = np.arange(every, months + 1, every)
    out[events] = 1.0 / events.size
    if cliff > 0:
        out[cliff] += out[:cliff].sum()
        out[:cliff] = 0.0
    return out


def build_case(
    n_packages: int, seed: int = 20250701
) -> tuple[EquitySources, PackageRows, EquityTranches]:
    """A market of ``n_packages`` offers, one company each (fixed by ``seed``)."""
    M = HORIZON_MONTHS
    rng = np.random.default_rng(seed)
    n = n_packages
    kind = np.where(np.arange(n) % 2 == 0, PUBLIC, PRIVATE).astype(np.int64)
    private = kind == PRIVATE
    sources = EquitySources(
        key=np.arange(n, dtype=np.int64),
        kind=kind,
        drift=rng.uniform(0.03, 0.12, n),
        volatility=np.where(private, rng.uniform(0.4, 0.8, n), rng.uniform(0.2, 0.45, n)),
        failure_hazard=np.where(private, rng.uniform(0.02, 0.10, n), 0.0),
        liquidity_hazard=np.where(private, rng.uniform(0.10, 0.30, n), 0.0),
        dilution_per_year=np.where(private, rng.uniform(0.05, 0.15, n), 0.0),
        illiquidity_haircut=np.where(private, rng.uniform(0.1, 0.4, n), 0.0),
    )
    base = rng.uniform(3e5, 2e6, n)
    salary = np.zeros((n, M + 1))
    salary[:, 1:] = base[:, None] / 12.0 * 1.03 ** (np.arange(M) // 12)[None, :]
    bonus = np.zeros((n, M + 1))
    bonus[:, 12::12] = 0.3 * base[:, None]
    rows = PackageRows(
        person_key=np.arange(n, dtype=np.int64),
        departure_hazard=rng.uniform(0.03, 0.15, n),
        source=np.arange(n, dtype=np.int64),
        salary=salary,
        sign_on=rng.uniform(1e6, 5e7, n),
        clawback_months=np.full(n, 24.0),
        bonus_target=bonus,
        bonus_median=np.ones(n),
        bonus_sigma=np.full(n, 0.3),
    )
    # Schedules as in real offers: quarterly without cliff (Meta), monthly with a one-year
    # cliff, quarterly over six years, annual over four.
    schedules = [
        _schedule(48, 3, 0, M),
        _schedule(48, 1, 12, M),
        _schedule(72, 3, 0, M),
        _schedule(48, 12, 0, M),
    ]
    which = np.arange(n) % len(schedules)
    value = rng.uniform(1e7, 1e9, n)
    vest = np.stack([schedules[w] for w in which]) * value[:, None]
    is_option = np.arange(n) % 10 == 7
    tranches = EquityTranches(
        row=np.arange(n, dtype=np.int64),
        vest=vest,
        grant_month=np.zeros(n, dtype=np.int64),
        strike=np.where(is_option, 1.0, 0.0),
        is_option=is_option,
    )
    return sources, rows, tranches


def rng_only(n_sources: int, n_paths: int, n_months: int, path_chunk: int, seed: int) -> float:
    """Seconds for numpy's default generator to draw the valuation's normals, same chunks."""
    buf = np.empty((min(path_chunk, n_paths), n_months))
    start = time.perf_counter()
    for key in range(n_sources):
        rng = np.random.default_rng(np.random.SeedSequence([seed, 1, key, 0]))
        for lo in range(0, n_paths, path_chunk):
            rng.standard_normal(out=buf[: min(path_chunk, n_paths - lo)])
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100 packages instead of 1,000")
    parser.add_argument(
        "--repeats", type=int, default=None, help="alternating runs (median); 3, or 5 quick"
    )
    parser.add_argument("--paths", type=int, default=10_000)
    parser.add_argument("--path-chunk", type=int, default=DEFAULT_PATH_CHUNK)
    args = parser.parse_args(argv)

    n_packages = 100 if args.quick else 1_000
    if args.repeats is None:
        args.repeats = 5 if args.quick else 3
    n_paths, M, seed = args.paths, HORIZON_MONTHS, 7
    sources, rows, tranches = build_case(n_packages)

    def value_once() -> tuple[float, float, float]:
        start, cpu = time.perf_counter(), time.process_time()
        values = simulate_values(
            sources,
            rows,
            tranches,
            n_paths=n_paths,
            discount_rate=0.05,
            seed=seed,
            path_chunk=args.path_chunk,
        )
        wall, cpu = time.perf_counter() - start, time.process_time() - cpu
        return wall, cpu, float(values.expected_pv.mean())

    def rng_once() -> tuple[float, float]:
        cpu = time.process_time()
        wall = rng_only(n_packages, n_paths, M, args.path_chunk, seed)
        return wall, time.process_time() - cpu

    rng_times: list[float] = []
    val_times: list[float] = []
    ratios: list[float] = []
    cpu_ratios: list[float] = []
    for i in range(max(1, args.repeats)):
        # Alternate which runs first, so a change in machine load hits both alike.
        if i % 2 == 0:
            rng_wall, rng_cpu = rng_once()
            val_wall, val_cpu, mean_pv = value_once()
        else:
            val_wall, val_cpu, mean_pv = value_once()
            rng_wall, rng_cpu = rng_once()
        rng_times.append(rng_wall)
        val_times.append(val_wall)
        ratios.append(val_wall / rng_wall)
        cpu_ratios.append(val_cpu / rng_cpu)

    rng_s = statistics.median(rng_times)
    val_s = statistics.median(val_times)
    path_months = n_packages * n_paths * M
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux
    figures = {
        "path_months_per_s": path_months / val_s,
        "rng_only_s": rng_s,
        "valuation_s": val_s,
        "ratio_to_rng": statistics.median(ratios),
        "peak_rss_mib": peak_mib,
        "cpu_ratio_to_rng": statistics.median(cpu_ratios),
    }
    print(f"case: {n_packages} packages x {n_paths} paths x {M} months, one company each")
    print(f"mean expected PV per package: {mean_pv:,.0f} USD")
    print(
        f"valuation:    {val_s:8.2f} s  (median of {len(val_times)}: "
        f"{', '.join(f'{t:.2f}' for t in val_times)})"
    )
    print(
        f"rng only:     {rng_s:8.2f} s  (median of {len(rng_times)}: "
        f"{', '.join(f'{t:.2f}' for t in rng_times)})"
    )
    print(
        f"ratio to rng: {figures['ratio_to_rng']:8.2f}   (target <= 3; median of per-pair "
        f"ratios {', '.join(f'{x:.2f}' for x in ratios)}; CPU-time ratio "
        f"{statistics.median(cpu_ratios):.2f})"
    )
    print(f"throughput:   {figures['path_months_per_s']:.3e} path-months/s")
    print(f"peak RSS:     {peak_mib:8.0f} MiB (target < 4096)")
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
