"""Benchmark: estimation against xlogit (MNL and panel mixed logit) and Biogeme (Swissmetro).

In one run, on the same data for both sides:

- MNL: 1,000,000 situations x 4 alternatives x 5 attributes (synthetic, Gumbel choices); both
  with standard errors (xlogit's default numerical Hessian; our analytic one and the sandwich);
- mixed logit: Train's electricity data (361 persons, 4,308 situations), six normal
  coefficients, panel likelihood, 600 Halton draws (the same draws on both sides);
- Swissmetro (Biogeme's 01logit): Biogeme cold (fresh process: import, model build, JAX
  compilation, estimation) and warm (a second estimation in that process), ours likewise.

Runs alternate ours / peer and report medians; peak memory is tracemalloc's peak during one
fit of each (numpy's allocations included), the inputs being built beforehand. Prints readable
lines, then one JSON line with the times, ``*_peak_mb``, log-likelihood differences,
``speedup_vs_xlogit_mnl`` and ``speedup_vs_xlogit_mixed``.

    python benchmarks/estimation.py [--quick] [--reps N] [--no-biogeme]

``--quick``: 100,000 situations and 100 draws, same keys.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # the wheel-download helpers of the test suite

from estimation_data import (  # noqa: E402
    BIOGEME_VERSION,
    ELECTRICITY_VARS,
    electricity_long,
    electricity_spec,
    wheel,
)
from talentmarket.estimation import fit  # noqa: E402

MNL_J, MNL_K = 4, 5


def mnl_data(n: int, seed: int = 0) -> tuple[pd.DataFrame, dict[str, Any], dict[str, Any]]:
    """Synthetic MNL data: our long DataFrame and spec, and xlogit's arrays (same numbers)."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n * MNL_J, MNL_K))
    beta = np.array([1.0, -0.5, 0.3, 0.8, -1.2])
    utility = (X @ beta).reshape(n, MNL_J) + rng.gumbel(size=(n, MNL_J))
    chosen = np.zeros((n, MNL_J), dtype=np.int8)
    chosen[np.arange(n), utility.argmax(axis=1)] = 1
    names = [f"x{k}" for k in range(MNL_K)]
    frame = pd.DataFrame(X, columns=names)
    frame.insert(0, "chosen", chosen.ravel())
    frame.insert(0, "alt", np.tile(np.arange(MNL_J), n))
    frame.insert(0, "sit", np.repeat(np.arange(n), MNL_J))
    spec = {
        "columns": {"situation": "sit", "alternative": "alt", "chosen": "chosen"},
        "coefficients": {name: name for name in names},
    }
    peer = {
        "X": X,
        "y": chosen.ravel(),
        "varnames": names,
        "alts": frame["alt"].to_numpy(),
        "ids": frame["sit"].to_numpy(),
    }
    return frame, spec, peer


def timed(func: Callable[[], Any]) -> tuple[float, Any]:
    began = time.perf_counter()
    out = func()
    return time.perf_counter() - began, out


def peak_mb(func: Callable[[], Any]) -> float:
    tracemalloc.start()
    try:
        func()
        return tracemalloc.get_traced_memory()[1] / 1e6
    finally:
        tracemalloc.stop()


def alternate(
    ours: Callable[[], float], theirs: Callable[[], float], reps: int
) -> tuple[float, float, float, float]:
    """Median times of ours and theirs, alternating; and the log-likelihood of each."""
    t_ours, t_theirs, ll_ours, ll_theirs = [], [], 0.0, 0.0
    for _ in range(reps):
        t, ll_ours = timed(ours)
        t_ours.append(t)
        t, ll_theirs = timed(theirs)
        t_theirs.append(t)
    return statistics.median(t_ours), statistics.median(t_theirs), ll_ours, ll_theirs


def bench_mnl(n: int, reps: int) -> dict[str, Any]:
    from xlogit import MultinomialLogit

    frame, spec, peer = mnl_data(n)

    def ours() -> float:
        return fit(frame, spec).log_likelihood

    def theirs() -> float:
        model = MultinomialLogit()
        model.fit(**peer, verbose=0)
        return float(model.loglikelihood)

    small, small_spec, small_peer = mnl_data(2000, seed=1)  # warm-up: JIT cache, imports
    fit(small, small_spec)
    MultinomialLogit().fit(**small_peer, verbose=0)
    t_ours, t_theirs, ll_ours, ll_theirs = alternate(ours, theirs, reps)
    return {
        "mnl_situations": n,
        "mnl_ours_s": t_ours,
        "mnl_xlogit_s": t_theirs,
        "mnl_ours_peak_mb": peak_mb(ours),
        "mnl_xlogit_peak_mb": peak_mb(theirs),
        "mnl_ll_ours": ll_ours,
        "mnl_ll_xlogit": ll_theirs,
        "mnl_ll_rel_diff": abs(ll_ours - ll_theirs) / abs(ll_theirs),
    }


def bench_mixed(draws: int, reps: int) -> dict[str, Any]:
    from xlogit import MixedLogit

    frame = electricity_long()
    spec = electricity_spec(draws)
    names = list(ELECTRICITY_VARS)

    def ours() -> float:
        return fit(frame, spec).log_likelihood

    def theirs() -> float:
        model = MixedLogit()
        model.fit(
            X=frame[names], y=frame["choice"], varnames=names, alts=frame["alt"],
            ids=frame["chid"], panels=frame["id"], randvars=dict.fromkeys(names, "n"),
            n_draws=draws, verbose=0,
        )  # fmt: skip
        return float(model.loglikelihood)

    t_ours, t_theirs, ll_ours, ll_theirs = alternate(ours, theirs, reps)
    return {
        "mixed_draws": draws,
        "mixed_ours_s": t_ours,
        "mixed_xlogit_s": t_theirs,
        "mixed_ours_peak_mb": peak_mb(ours),
        "mixed_xlogit_peak_mb": peak_mb(theirs),
        "mixed_ll_ours": ll_ours,
        "mixed_ll_xlogit": ll_theirs,
        "mixed_ll_rel_diff": abs(ll_ours - ll_theirs) / abs(ll_theirs),
    }


_BIOGEME_SCRIPT = """
import json, sys, time, zipfile, io
began = time.perf_counter()
import pandas as pd
import biogeme.biogeme as bio
import biogeme.database as db
from biogeme import models
from biogeme.expressions import Beta, Variable
from biogeme.parameters import Parameters
imported = time.perf_counter()
raw = zipfile.ZipFile(sys.argv[1]).read("biogeme/data/data/swissmetro.dat")
df = pd.read_csv(io.BytesIO(raw), sep="\\t")
df = df[df.PURPOSE.isin([1, 3]) & (df.CHOICE != 0)]
V = Variable
ga = V("GA") == 0
asc_car, asc_train = Beta("ASC_CAR", 0, None, None, 0), Beta("ASC_TRAIN", 0, None, None, 0)
b_time, b_cost = Beta("B_TIME", 0, None, None, 0), Beta("B_COST", 0, None, None, 0)
utilities = {
    1: asc_train + b_time * V("TRAIN_TT") / 100 + b_cost * V("TRAIN_CO") * ga / 100,
    2: b_time * V("SM_TT") / 100 + b_cost * V("SM_CO") * ga / 100,
    3: asc_car + b_time * V("CAR_TT") / 100 + b_cost * V("CAR_CO") / 100,
}
av = {1: V("TRAIN_AV") * (V("SP") != 0), 2: V("SM_AV"), 3: V("CAR_AV") * (V("SP") != 0)}
def estimate():
    model = bio.BIOGEME(db.Database("swissmetro", df), models.loglogit(utilities, av, V("CHOICE")),
                        parameters=Parameters(), generate_html=False, generate_yaml=False,
                        save_iterations=False)
    model.model_name = "01logit"
    return model.estimate()
t0 = time.perf_counter(); res = estimate(); cold = time.perf_counter() - t0
t0 = time.perf_counter(); res = estimate(); warm = time.perf_counter() - t0
print(json.dumps({"import_s": imported - began, "cold_s": cold + imported - began,
                  "warm_s": warm, "ll": res.final_log_likelihood}))
"""

_OURS_SCRIPT = """
import json, sys, time
began = time.perf_counter()
sys.path.insert(0, sys.argv[1])
from estimation_data import SWISSMETRO_SPEC, swissmetro_long
from talentmarket.estimation import fit
frame = swissmetro_long()
imported = time.perf_counter()
t0 = time.perf_counter(); res = fit(frame, SWISSMETRO_SPEC); cold = time.perf_counter() - t0
t0 = time.perf_counter(); res = fit(frame, SWISSMETRO_SPEC); warm = time.perf_counter() - t0
print(json.dumps({"import_s": imported - began, "cold_s": cold + imported - began,
                  "warm_s": warm, "ll": res.log_likelihood}))
"""


def _subprocess_json(script: str, *args: str) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as cwd:  # Biogeme writes files where it runs
        done = subprocess.run(
            [sys.executable, "-c", textwrap.dedent(script), *args],
            cwd=cwd, capture_output=True, text=True, timeout=1800, check=False,
        )  # fmt: skip
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        raise RuntimeError(done.stderr[-2000:])
    result: dict[str, Any] = json.loads(lines[-1])
    return result


def bench_swissmetro(with_biogeme: bool) -> dict[str, Any]:
    ours = _subprocess_json(_OURS_SCRIPT, str(ROOT / "tests"))
    out: dict[str, Any] = {
        "swissmetro_ours_cold_s": ours["cold_s"],
        "swissmetro_ours_warm_s": ours["warm_s"],
        "swissmetro_biogeme_cold_s": None,
        "swissmetro_biogeme_warm_s": None,
        "swissmetro_ll_diff_vs_biogeme": None,
        "swissmetro_ll_ours": ours["ll"],
    }
    if with_biogeme:
        theirs = _subprocess_json(_BIOGEME_SCRIPT, str(wheel("biogeme", BIOGEME_VERSION)))
        out["swissmetro_biogeme_cold_s"] = theirs["cold_s"]
        out["swissmetro_biogeme_warm_s"] = theirs["warm_s"]
        out["swissmetro_ll_diff_vs_biogeme"] = ours["ll"] - theirs["ll"]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="100,000 situations, 100 draws")
    parser.add_argument("--reps", type=int, default=None, help="alternating repetitions")
    parser.add_argument("--no-biogeme", action="store_true", help="skip Biogeme (slow cold)")
    args = parser.parse_args()
    n, draws = (100_000, 100) if args.quick else (1_000_000, 600)
    reps = args.reps or (3 if args.quick else 1)

    report: dict[str, Any] = {"quick": args.quick, "reps": reps}
    print(f"MNL: {n:,} situations x {MNL_J} alternatives x {MNL_K} attributes", flush=True)
    report.update(bench_mnl(n, reps))
    print(
        f"  ours {report['mnl_ours_s']:.2f} s, {report['mnl_ours_peak_mb']:.0f} MB; "
        f"xlogit {report['mnl_xlogit_s']:.2f} s, {report['mnl_xlogit_peak_mb']:.0f} MB; "
        f"log-likelihood rel. diff {report['mnl_ll_rel_diff']:.1e}",
        flush=True,
    )
    print(f"mixed logit: electricity, panel, {draws} Halton draws", flush=True)
    report.update(bench_mixed(draws, reps))
    print(
        f"  ours {report['mixed_ours_s']:.2f} s, {report['mixed_ours_peak_mb']:.0f} MB; "
        f"xlogit {report['mixed_xlogit_s']:.2f} s, {report['mixed_xlogit_peak_mb']:.0f} MB; "
        f"log-likelihood rel. diff {report['mixed_ll_rel_diff']:.1e}",
        flush=True,
    )
    print("Swissmetro 01logit: cold (fresh process) and warm", flush=True)
    report.update(bench_swissmetro(not args.no_biogeme))
    line = (
        f"  ours cold {report['swissmetro_ours_cold_s']:.2f} s, "
        f"warm {report['swissmetro_ours_warm_s']:.3f} s"
    )
    if report["swissmetro_biogeme_cold_s"] is not None:
        line += (
            f"; Biogeme cold {report['swissmetro_biogeme_cold_s']:.1f} s, warm "
            f"{report['swissmetro_biogeme_warm_s']:.2f} s; log-likelihood diff "
            f"{report['swissmetro_ll_diff_vs_biogeme']:.1e}"
        )
    print(line, flush=True)
    report["speedup_vs_xlogit_mnl"] = report["mnl_xlogit_s"] / report["mnl_ours_s"]
    report["speedup_vs_xlogit_mixed"] = report["mixed_xlogit_s"] / report["mixed_ours_s"]
    report["memory_ratio_vs_xlogit_mnl"] = report["mnl_ours_peak_mb"] / report["mnl_xlogit_peak_mb"]
    report["memory_ratio_vs_xlogit_mixed"] = (
        report["mixed_ours_peak_mb"] / report["mixed_xlogit_peak_mb"]
    )
    print(
        f"speedup vs xlogit: MNL {report['speedup_vs_xlogit_mnl']:.2f}x, mixed "
        f"{report['speedup_vs_xlogit_mixed']:.2f}x; memory ratio MNL "
        f"{report['memory_ratio_vs_xlogit_mnl']:.2f}, mixed "
        f"{report['memory_ratio_vs_xlogit_mixed']:.2f}",
        flush=True,
    )
    print(json.dumps(report))


if __name__ == "__main__":
    main()
