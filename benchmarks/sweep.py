"""Benchmark: a 200-run sweep of ``builtin:ai-labs-2025`` on 1 and 2 local workers and on Ray.

Every configuration runs the same sweep (4 values of Meta's ``max_scale`` x 50 seeds) into a
fresh DuckDB file, on the same machine, in one process run; wall times include starting the
workers (a fresh process pool, or the fresh workers of a fresh Ray instance) and writing every
run. A Ray instance is started before each Ray sweep and shut down after it, so that no Ray
daemon runs during the local sweeps: ``ray_overhead_vs_local`` (Ray wall time / local wall
time, both with 2 workers) excludes its start-up, which ``ray_startup_s`` reports separately
(DESIGN.md). The configurations alternate order over ``--repeats`` (default 2; 1 with
``--quick``) and medians are reported.

The scenario runs as built in (its market block, 4,000 paths per package: one run takes about
0.3-0.5 s here, reported as ``run_s``; ``--paths`` changes it). Prints readable lines, then
one JSON line with ``parallel_efficiency_local`` (target >= 0.85 on 2 cores),
``ray_overhead_vs_local`` (target <= 1.15), ``ray_startup_s``, ``db_bytes`` and
``write_ms_per_run``.

    python benchmarks/sweep.py [--quick] [--repeats R] [--paths N]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from talentmarket.runs import load_sweep, run_once, sweep
from talentmarket.scenario import read_scenario_data

SCENARIO = "builtin:ai-labs-2025"
GRID = [("market.labs.meta-msl.max_scale", (1.5, 2.0, 3.0, 4.0))]


def time_one_run(data: dict[str, Any]) -> float:
    """Median wall time of one run in this process (after compiling / loading numba)."""
    run_once(data, 0)
    times = []
    for seed in (1, 2, 3):
        t0 = time.perf_counter()
        run_once(data, seed)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def one_sweep(
    data: dict[str, Any], seeds: int, folder: Path, backend: str, workers: int
) -> dict[str, Any]:
    db = folder / f"{backend}-{workers}-{time.monotonic_ns()}.duckdb"
    t0 = time.perf_counter()
    result = sweep(data, seeds=seeds, grid=GRID, backend=backend, workers=workers, db=db)
    wall = time.perf_counter() - t0
    assert result.failed == 0 and result.completed == result.runs, result
    size = db.stat().st_size + (
        db.with_name(db.name + ".wal").stat().st_size
        if db.with_name(db.name + ".wal").exists()
        else 0
    )
    return {
        "wall_s": wall,
        "write_s": result.write_s,
        "runs": result.runs,
        "db": db,
        "sweep_id": result.sweep_id,
        "bytes": size,
    }


def same_tables(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Whether two sweeps stored the same result tables; prints what differs when not."""
    x = load_sweep(a["sweep_id"], db=a["db"])
    y = load_sweep(b["sweep_id"], db=b["db"])
    same = True
    for name, keys in (
        ("labs", ["run_id", "lab"]),
        ("researchers", ["run_id", "researcher"]),
        ("offers", ["run_id", "offer"]),
        ("rounds", ["run_id", "round", "lab"]),
    ):
        fx = getattr(x, name).sort_values(keys).reset_index(drop=True)
        fy = getattr(y, name).sort_values(keys).reset_index(drop=True)
        if fx.equals(fy):
            continue
        same = False
        if fx.shape != fy.shape:
            print(f"  {name}: {fx.shape} rows/columns against {fy.shape}")
            continue
        for column in fx.columns:
            differ = ~((fx[column] == fy[column]) | (fx[column].isna() & fy[column].isna()))
            if differ.any():
                runs = fx.loc[differ, "run_id"].unique()
                print(
                    f"  {name}.{column}: {int(differ.sum())} values differ in {len(runs)} runs "
                    f"(first {runs[0]}: {fx.loc[differ, column].iloc[0]!r} against "
                    f"{fy.loc[differ, column].iloc[0]!r})"
                )
    return same


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="40 runs instead of 200")
    parser.add_argument("--repeats", type=int, default=None, help="alternating repeats")
    parser.add_argument("--paths", type=int, default=None, help="override settings.paths")
    args = parser.parse_args()
    seeds = 10 if args.quick else 50
    repeats = args.repeats or (1 if args.quick else 2)

    import ray

    load_before = os.getloadavg()[0]
    data, _ = read_scenario_data(SCENARIO)
    if args.paths:
        data["settings"]["paths"] = args.paths
    run_s = time_one_run(data)
    n_runs = seeds * len(GRID[0][1])
    print(
        f"{SCENARIO}: {n_runs} runs, {data['settings']['paths']:,} paths, "
        f"one run {run_s:.2f} s in process"
    )
    results: dict[str, list[dict[str, Any]]] = {"local-1": [], "local-2": [], "ray-2": []}
    startups: list[float] = []
    configs = [("local", 2), ("local", 1), ("ray", 2)]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for r in range(repeats):
            order = configs if r % 2 == 0 else configs[::-1]
            for backend, workers in order:
                if backend == "ray":
                    t0 = time.perf_counter()
                    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
                    startups.append(time.perf_counter() - t0)
                    print(f"  Ray instance up in {startups[-1]:.1f} s")
                try:
                    out = one_sweep(data, seeds, folder, backend, workers)
                finally:
                    if backend == "ray":
                        ray.shutdown()
                results[f"{backend}-{workers}"].append(out)
                print(
                    f"  {backend} x {workers}: {out['wall_s']:.1f} s "
                    f"({out['runs'] / out['wall_s']:.2f} runs/s), "
                    f"write {1000 * out['write_s'] / out['runs']:.1f} ms/run"
                )
        identical = same_tables(results["local-2"][0], results["ray-2"][0]) and same_tables(
            results["local-2"][0], results["local-1"][0]
        )
        db_bytes = results["local-2"][0]["bytes"]
    ray_startup_s = statistics.median(startups)

    def median(key: str, field: str = "wall_s") -> float:
        return statistics.median(o[field] for o in results[key])

    local_1, local_2, ray_2 = median("local-1"), median("local-2"), median("ray-2")
    writes = [o["write_s"] / o["runs"] for v in results.values() for o in v]
    figures = {
        "runs": n_runs,
        "paths": int(data["settings"]["paths"]),
        "run_s": round(run_s, 3),
        "local_1_worker_s": round(local_1, 2),
        "local_2_workers_s": round(local_2, 2),
        "ray_2_workers_s": round(ray_2, 2),
        "ray_startup_s": round(ray_startup_s, 2),
        "parallel_efficiency_local": round(local_1 / (2 * local_2), 3),
        "ray_overhead_vs_local": round(ray_2 / local_2, 3),
        "db_bytes": int(db_bytes),
        "db_kb_per_run": round(db_bytes / n_runs / 1024, 1),
        "write_ms_per_run": round(1000 * statistics.median(writes), 2),
        "identical_tables": identical,
        "repeats": repeats,
        # Context on a shared machine: 1-minute load average before and after.
        "load_average": [round(load_before, 2), round(os.getloadavg()[0], 2)],
    }
    print(
        f"parallel efficiency (local, 2 workers): {figures['parallel_efficiency_local']:.2f}; "
        f"Ray / local: {figures['ray_overhead_vs_local']:.2f}; database "
        f"{db_bytes / 1e6:.1f} MB ({figures['db_kb_per_run']} kB/run); "
        f"identical tables across backends: {identical}"
    )
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
