"""Market engines against their peers; the last line printed is one JSON object.

    python benchmarks/market.py [--quick]

Deferred acceptance (``da_*``)
    50,000 researchers, 5,000 labs of capacity 10, 20 ranked labs each (popularity-weighted);
    each lab ranks everyone who ranked it by a quality score plus noise. Timed from the
    JSON-like dictionaries (as ``json.load`` returns them) to the assignment: validation,
    compilation to arrays and the compiled loop. Against the ``matching`` package
    (HospitalResident, resident-optimal) on a 20,000-researcher market of the same shape
    (5,000 with ``--quick``), from the same dictionaries, in the same process; the outputs are
    checked equal. ``da_speedup_vs_matching`` = matching's time / ours.

Salary auction (``auction_*``)
    5,000 researchers x 500 labs x 10 seats (5,000 seats), dense i.i.d. values uniform on
    [0, 1M) USD, step 100 USD; :func:`assignment_auction` (optimal assignment *and* salaries)
    against ``scipy.optimize.linear_sum_assignment`` on the capacity-expanded 5,000 x 5,000
    matrix (assignment only), alternating, medians. ``auction_surplus_gap`` is the relative
    shortfall (optimum - ours) / optimum; the guarantee is hires x step.

Rounds (``rounds_*``, ``speedup_vs_mesa``)
    ``benchmarks/rounds_market.py``'s synthetic market: 1,000,000 researchers (100,000 with
    ``--quick``) x 20 labs x 10 rounds, every lab posting offers; timed from the scenario
    dictionary (validation, cohort draws, valuation, the rounds, the outcome with its blocking
    pairs) in a child process so that ``rounds_peak_rss_mib`` is the market's own peak. Against
    the same rounds model written one Mesa agent per researcher (``benchmarks/peers``) at
    10,000 researchers (2,000 with ``--quick``) on the same compiled inputs, 3 seeds each:
    ``speedup_vs_mesa`` = Mesa's engine time / ours, and the mean number of movers of both
    (they draw different random streams, so they agree within Monte Carlo error).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import threading
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from talentmarket.market import (
    Market,
    Valuations,
    assignment_auction,
    compile_matching_instance,
    deferred_acceptance,
    surplus_gap,
)

SEED = 20250801


def matching_dicts(
    n_researchers: int, n_labs: int, capacity: int, ranked: int, seed: int
) -> dict[str, Any]:
    """A matching instance as ``json.load`` would return it (fresh string objects)."""
    rng = np.random.default_rng(seed)
    popularity = rng.lognormal(0.0, 0.5, n_labs)
    cdf = np.cumsum(popularity) / popularity.sum()
    draws = 2 * ranked + 10
    picks = np.empty((n_researchers, ranked), np.int64)
    todo = np.arange(n_researchers)
    while todo.size:
        cand = np.searchsorted(cdf, rng.random((todo.size, draws)))
        order = np.argsort(cand, axis=1, kind="stable")
        sorted_c = np.take_along_axis(cand, order, axis=1)
        dup_sorted = np.zeros_like(cand, bool)
        dup_sorted[:, 1:] = sorted_c[:, 1:] == sorted_c[:, :-1]
        dup = np.empty_like(dup_sorted)
        np.put_along_axis(dup, order, dup_sorted, axis=1)
        first = np.cumsum(~dup, axis=1)
        ok = first[:, -1] >= ranked
        rows = np.flatnonzero(ok)
        keep = (~dup[rows]) & (first[rows] <= ranked)
        picks[todo[rows]] = cand[rows][keep].reshape(rows.size, ranked)
        todo = todo[~ok]
    width = len(str(n_researchers - 1))
    r_ids = np.array([f"r{i:0{width}d}" for i in range(n_researchers)], dtype=object)
    l_ids = np.array([f"lab{j:0{len(str(n_labs - 1))}d}" for j in range(n_labs)], dtype=object)
    researchers = dict(zip(r_ids.tolist(), l_ids[picks].tolist(), strict=True))
    quality = rng.normal(0.0, 1.0, n_researchers)
    owner = np.repeat(np.arange(n_researchers), ranked)
    lab = picks.ravel()
    score = quality[owner] + 0.5 * rng.normal(0.0, 1.0, owner.size)
    order = np.lexsort((-score, lab))
    bounds = np.searchsorted(lab[order], np.arange(n_labs + 1))
    ranked_ids = r_ids[owner[order]].tolist()
    labs = {
        l_ids[j]: {"capacity": capacity, "preferences": ranked_ids[bounds[j] : bounds[j + 1]]}
        for j in range(n_labs)
    }
    data = {"researchers": researchers, "labs": labs}
    return json.loads(json.dumps(data))  # type: ignore[no-any-return]


def ours(data: dict[str, Any]) -> tuple[float, float, Any]:
    """(seconds to compile, seconds to solve, result) from the dictionaries."""
    t0 = time.perf_counter()
    market = compile_matching_instance(data)
    t1 = time.perf_counter()
    result = deferred_acceptance(market)
    t2 = time.perf_counter()
    return t1 - t0, t2 - t1, result


def theirs(data: dict[str, Any]) -> tuple[float, dict[str, set[str]]]:
    """Seconds for `matching` (resident-optimal) from the same dictionaries, and its answer."""
    from matching.games import HospitalResident

    residents = data["researchers"]
    hospitals = {h: s["preferences"] for h, s in data["labs"].items()}
    capacities = {h: s["capacity"] for h, s in data["labs"].items()}
    out: dict[str, Any] = {}

    def run() -> None:
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            game = HospitalResident.create_from_dictionaries(residents, hospitals, capacities)
            solution = game.solve(optimal="resident")
        out["elapsed"] = time.perf_counter() - t0
        out["answer"] = {h.name: {r.name for r in rs} for h, rs in solution.items()}

    # `matching` deep-copies its players, which reference each other: the recursion goes as
    # deep as the market is large, so it needs a deep stack (a thread with a large one).
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 50 * len(residents) + 10_000))
    threading.stack_size(1 << 30)
    try:
        worker = threading.Thread(target=run)
        worker.start()
        worker.join()
    finally:
        threading.stack_size(0)
        sys.setrecursionlimit(limit)
    return out["elapsed"], out["answer"]


def alternate(
    first: Callable[[], float], second: Callable[[], float], rounds: int
) -> tuple[float, float]:
    """Medians of two timings taken alternately (shared machines drift)."""
    a, b = [], []
    for _ in range(rounds):
        a.append(first())
        b.append(second())
    return statistics.median(a), statistics.median(b)


def bench_da(quick: bool) -> dict[str, Any]:
    n = 10_000 if quick else 50_000
    print(f"deferred acceptance: generating {n:,} researchers ...", flush=True)
    data = matching_dicts(n, n // 10, 10, 20, SEED)
    ours(matching_dicts(50, 5, 10, 3, 1))  # load the compiled code
    runs = [ours(data) for _ in range(7)]
    totals = [c + s for c, s, _ in runs]
    med = int(np.argsort(totals)[len(totals) // 2])
    compile_s, solve_s, result = runs[med]
    assert result.blocking_pairs().shape[0] == 0
    print(
        f"  ours: {statistics.median(totals):.3f} s (compile {compile_s:.3f} s, "
        f"loop {solve_s * 1e3:.1f} ms), {result.n_matched:,} matched",
        flush=True,
    )

    n_peer = 5_000 if quick else 20_000
    print(f"  matching at {n_peer:,} researchers (slow) ...", flush=True)
    peer = matching_dicts(n_peer, n_peer // 10, 10, 20, SEED + 1)
    answer: dict[str, set[str]] = {}
    ours_small: list[float] = []

    def run_ours() -> float:
        c, s, r = ours(peer)
        ours_small.append(c + s)
        mine = {lab: set(rs) for lab, rs in r.assignment().items() if rs}
        assert not answer or mine == answer, "deferred acceptance differs from matching"
        return c + s

    def run_theirs() -> float:
        elapsed, got = theirs(peer)
        answer.update({h: rs for h, rs in got.items() if rs})
        return elapsed

    run_ours()
    their_s, our_s = alternate(run_theirs, run_ours, 2 if quick else 1)
    run_ours()  # and once more after, so ours brackets theirs
    our_s = statistics.median(ours_small)
    print(f"  matching: {their_s:.2f} s; ours on the same: {our_s:.4f} s", flush=True)
    return {
        "da_s": statistics.median(totals),
        "da_compile_s": compile_s,
        "da_loop_s": solve_s,
        "da_n_researchers": n,
        "da_speedup_vs_matching": their_s / our_s,
        "da_matching_s": their_s,
        "da_ours_at_matching_size_s": our_s,
        "da_matching_n_researchers": n_peer,
    }


def bench_auction(quick: bool) -> dict[str, Any]:
    from scipy.optimize import linear_sum_assignment

    n_labs, capacity = (200, 10) if quick else (500, 10)
    n = n_labs * capacity
    step = 100.0
    rng = np.random.default_rng(SEED)
    values = rng.integers(0, 1_000_000, (n_labs, n)).astype(np.float64)
    width = len(str(n - 1))
    market = Market(
        tuple(f"r{i:0{width}d}" for i in range(n)),
        tuple(f"lab{j:03d}" for j in range(n_labs)),
        np.full(n_labs, capacity),
        valuations=Valuations.from_dense(values, step_usd=step),
    )
    print(f"auction: {n:,} researchers x {n:,} seats, dense ...", flush=True)
    small = Market(
        ("a", "b"),
        ("x",),
        np.ones(1, np.int64),
        valuations=Valuations.from_dense([[1.0, 2.0]], step_usd=0.1),
    )
    assignment_auction(small)  # load the compiled code
    results = []

    def run_auction() -> float:
        t0 = time.perf_counter()
        results.append(assignment_auction(market))
        return time.perf_counter() - t0

    def run_lsa() -> float:
        t0 = time.perf_counter()
        expanded = np.repeat(values, capacity, axis=0)
        linear_sum_assignment(expanded, maximize=True)
        return time.perf_counter() - t0

    auction_s, lsa_s = alternate(run_auction, run_lsa, 3)
    gap = surplus_gap(results[-1])
    print(
        f"  auction {auction_s:.3f} s (with salaries), linear_sum_assignment {lsa_s:.3f} s; "
        f"gap {gap.gap_usd:,.0f} USD of {gap.optimum_usd:,.0f} (bound {gap.bound_usd:,.0f})",
        flush=True,
    )
    return {
        "auction_s": auction_s,
        "auction_time_ratio_vs_lsa": auction_s / lsa_s,
        "auction_surplus_gap": gap.gap_usd / gap.optimum_usd,
        "auction_surplus_gap_usd": gap.gap_usd,
        "auction_gap_bound_usd": gap.bound_usd,
        "auction_lsa_s": lsa_s,
        "auction_n": n,
        "auction_step_usd": step,
    }


def _rounds_child(n: int) -> None:
    """In a child process: one full market from the scenario dictionary; prints JSON."""
    import resource

    import talentmarket as tm
    from talentmarket.market import simulate_scenario

    sys.path.insert(0, str(Path(__file__).parent))
    from rounds_market import market_scenario

    simulate_scenario(tm.scenario_from_dict(market_scenario(2_000)), seed=1)  # compile kernels
    t0 = time.perf_counter()
    out = simulate_scenario(tm.scenario_from_dict(market_scenario(n)), seed=1)
    elapsed = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"s": elapsed, "peak_mib": peak, "movers": len(out.movers),
                      "rounds": out.rounds_run}))


def bench_rounds(quick: bool) -> dict[str, Any]:
    import subprocess

    import talentmarket as tm
    from talentmarket.market import compile_rounds, rounds_market

    here = Path(__file__).parent
    sys.path.insert(0, str(here))
    sys.path.insert(0, str(here / "peers"))
    from mesa_rounds import run_mesa

    from rounds_market import market_scenario

    n = 100_000 if quick else 1_000_000
    print(f"rounds: {n:,} researchers x 20 labs x 10 rounds (child process)", flush=True)
    child = subprocess.run([sys.executable, __file__, "--rounds-child", str(n)],
                           capture_output=True, text=True, check=True)
    got = json.loads(child.stdout.strip().splitlines()[-1])
    print(f"  {got['s']:.2f} s, peak {got['peak_mib']:,.0f} MiB, {got['movers']:,} moved",
          flush=True)

    m = 2_000 if quick else 10_000
    s = tm.scenario_from_dict(market_scenario(m))
    valuation = tm.value_scenario(tm.compile_scenario(s, 1), seed=1)
    assert s.market is not None
    data, _ = compile_rounds(valuation, s.market)
    ours_t, mesa_t, ours_moves, mesa_moves = [], [], [], []
    rounds_market(data, rounds=10, offer_expiry=2, counter_target=0.5, seed=0)  # warm up
    for seed in range(3):
        t0 = time.perf_counter()
        r = rounds_market(data, rounds=10, offer_expiry=2, counter_target=0.5, seed=seed)
        ours_t.append(time.perf_counter() - t0)
        ours_moves.append(int(np.count_nonzero(r.start != r.location)))
        t0 = time.perf_counter()
        flows = run_mesa(data, rounds=10, offer_expiry=2, seed=seed)
        mesa_t.append(time.perf_counter() - t0)
        mesa_moves.append(int(flows.sum() - np.trace(flows)))
    speedup = statistics.median(mesa_t) / statistics.median(ours_t)
    print(f"  vs Mesa at {m:,}: ours {statistics.median(ours_t):.3f} s, Mesa "
          f"{statistics.median(mesa_t):.3f} s -> {speedup:.0f}x; movers ours {ours_moves}, "
          f"Mesa {mesa_moves}", flush=True)
    return {
        "rounds_s": got["s"],
        "rounds_peak_rss_mib": got["peak_mib"],
        "rounds_n": n,
        "speedup_vs_mesa": speedup,
        "mesa_n": m,
        "movers_mean_ours": statistics.mean(ours_moves),
        "movers_mean_mesa": statistics.mean(mesa_moves),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="reduced sizes, same keys")
    parser.add_argument("--rounds-child", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.rounds_child:
        _rounds_child(args.rounds_child)
        return
    figures: dict[str, Any] = {"quick": args.quick}
    figures |= bench_da(args.quick)
    figures |= bench_auction(args.quick)
    figures |= bench_rounds(args.quick)
    sys.stdout.write(json.dumps(figures) + "\n")


if __name__ == "__main__":
    main()
