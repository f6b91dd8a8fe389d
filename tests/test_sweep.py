"""Sweeps: planning and ids, one run's tables, backends, failures, resume, export, report.

The pool tests share one reference sweep (module scope, one xdist group). Every backend must
produce identical tables for the same runs: a run depends only on (scenario, parameters, seed).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from talentmarket import ScenarioError
from talentmarket.cli import app
from talentmarket.runs import _sweep as sweep_module
from talentmarket.runs import (
    export_sweep,
    load_sweep,
    parse_assignment,
    plan_sweep,
    run_once,
    sweep,
)
from talentmarket.runs._store import RunRecord, open_store
from talentmarket.scenario import read_scenario_data

SMALL_YAML = """
name: sweep-small
description: Three labs; two of them make offers to a small team.
seed: 3
settings: {horizon_years: 4, discount_rate: 0.05, paths: 200}
labs:
  big:
    leader: pat
    attributes: {culture: -0.3, compute: 1.5, prestige: 1.0}
    mission: {consumer_products: 1.0}
    equity: {type: public, price_usd: 500, volatility: 0.3}
  small:
    leader: sam
    attributes: {culture: 1.0, autonomy: 1.0}
    mission: {frontier_research: 1.0}
    equity: {type: private, valuation_usd: 5B, volatility: 0.6, failure_hazard: 0.05,
             liquidity_hazard: 0.2}
  mid:
    leader: kim
    attributes: {culture: 0.3, compute: 0.5}
    mission: {frontier_research: 0.5, enterprise: 0.5}
    equity: {type: public, price_usd: 100, volatility: 0.25}
cohorts:
  team:
    employer: small
    size: 8
    wealth_usd: {lognormal: {median: 3M, sigma: 0.5}}
    risk_aversion: {uniform: {low: 1.0, high: 2.0}}
    package: {base_usd: 300k, grants: [{type: units, value_usd: 5M,
              vesting: {months: 48, every: 1, cliff: 12}}]}
    preferences:
      money: 1.0
      culture: {normal: {mean: 0.5, sd: 0.2}}
      leadership: {weight: 0.5, affinity: {pat: -0.3, sam: 0.5, kim: 0.2}}
      mission: {weight: 0.5, ideal: {frontier_research: 1.0}}
      compute: 0.3
      peers: 0.5
    collaborators: {within_cohort: 2}
offers:
  big-offer:
    from: big
    to: team
    package: {base_usd: 800k, grants: [{type: rsu, value_usd: 10M,
              vesting: {months: 48, every: 3}}]}
  mid-offer:
    from: mid
    to: team
    package: {base_usd: 600k, sign_on_usd: 1M, grants: [{type: rsu, value_usd: 4M,
              vesting: {months: 48, every: 3}}]}
"""
VALUE_PATH = "offers.big-offer.package.grants[0].value_usd"
GRID = [(VALUE_PATH, ("5M", "20M"))]
SEEDS = 3
RESULT_KEYS = {
    "labs": ["run_id", "lab"],
    "researchers": ["run_id", "researcher"],
    "offers": ["run_id", "offer"],
    "rounds": ["run_id", "round", "lab"],
    "parameters": ["run_id", "path"],
}
RUN_COLUMNS = ["run_id", "scenario_hash", "parameters", "seed", "paths", "status"]

runner = CliRunner()


def small_data() -> dict[str, Any]:
    """The small scenario as parsed YAML (a fresh copy)."""
    data: dict[str, Any] = yaml.safe_load(SMALL_YAML)
    return data


@pytest.fixture
def small_file(tmp_path: Path) -> Path:
    path = tmp_path / "small.yaml"
    path.write_text(SMALL_YAML)
    return path


def tables(db: Path, sweep_id: str) -> dict[str, pd.DataFrame]:
    """Every result table of a sweep plus the backend-independent run columns, sorted."""
    data = load_sweep(sweep_id, db=db)
    out = {
        name: getattr(data, name).sort_values(keys, kind="stable").reset_index(drop=True)
        for name, keys in RESULT_KEYS.items()
    }
    out["runs"] = data.runs[RUN_COLUMNS].sort_values("run_id").reset_index(drop=True)
    return out


def assert_same_tables(a: dict[str, pd.DataFrame], b: dict[str, pd.DataFrame]) -> None:
    assert a.keys() == b.keys()
    for name in a:
        pd.testing.assert_frame_equal(a[name], b[name], check_exact=True, obj=name)


# --- planning, ids, --set ------------------------------------------------------------------


def test_parse_assignment_follows_yaml_scalars_and_quoting() -> None:
    assert parse_assignment("a.b[0].c=200M, 0.3,mira-murati,true") == (
        "a.b[0].c",
        ("200M", 0.3, "mira-murati", True),
    )
    assert parse_assignment('x.y="a, b",c') == ("x.y", ("a, b", "c"))
    assert parse_assignment("settings.paths=2000") == ("settings.paths", (2000,))


@pytest.mark.parametrize(
    ("spec", "message"),
    [("no-equals", "expected PATH=V1,V2"), ("a..b=1", "malformed path"), ("a.b=", "one or more")],
)
def test_parse_assignment_rejects_bad_specs(spec: str, message: str) -> None:
    with pytest.raises(Exception, match=message):
        parse_assignment(spec)


def test_plan_is_the_product_with_stable_content_ids() -> None:
    grid = [(VALUE_PATH, ("5M", "10M", "20M")), ("labs.small.leader", ("sam", "pat"))]
    plan = plan_sweep(small_data(), seeds=2, grid=grid)
    assert len(plan.runs) == 3 * 2 * 2
    assert plan.seeds == (3, 4)  # the scenario's seed, then the next
    assert plan.grid[0] == (VALUE_PATH, (5e6, 1e7, 2e7))  # resolved: amounts are numbers
    ids = [r.run_id for r in plan.runs]
    assert len(set(ids)) == len(ids) and all(len(i) == 16 for i in ids)
    # Same run, same id: in another plan, and whatever the raw spelling of a value.
    again = plan_sweep(small_data(), seeds=[4], grid=[(VALUE_PATH, (10_000_000,))])
    one = plan_sweep(small_data(), seeds=[4], grid=[(VALUE_PATH, ("10M",))])
    assert [r.run_id for r in one.runs] == [r.run_id for r in again.runs]
    assert one.sweep_id == again.sweep_id != plan.sweep_id
    # The id covers the scenario: a different base scenario gives different ids.
    other = small_data()
    other["labs"]["mid"]["attributes"]["culture"] = 0.4
    moved = plan_sweep(other, seeds=[4], grid=[(VALUE_PATH, ("10M",))])
    assert moved.runs[0].run_id != one.runs[0].run_id


def test_every_grid_point_is_validated_before_anything_runs() -> None:
    with pytest.raises(ScenarioError) as info:
        plan_sweep(small_data(), grid=[("offers.nope.package.base_usd", ("1M",))])
    assert info.value.issues[0].field == "offers.nope.package.base_usd"
    assert "no field offers.nope" in info.value.issues[0].message
    with pytest.raises(ScenarioError) as info:
        plan_sweep(small_data(), grid=[(VALUE_PATH, ("5M", "lots"))])
    (issue,) = info.value.issues
    assert issue.field == VALUE_PATH and "lots" in issue.message


def test_cli_set_on_a_missing_path_exits_2_naming_it(tmp_path: Path, small_file: Path) -> None:
    db = tmp_path / "x.duckdb"
    args = ["sweep", str(small_file), "--db", str(db), "--json"]
    result = runner.invoke(app, [*args, "--set", "labs.small.leaderr=sam,pat"])
    assert result.exit_code == 2
    assert "labs.small.leaderr" in result.stderr and "unknown key" in result.stderr
    assert result.stdout == "" and not db.exists()  # nothing started
    result = runner.invoke(app, [*args, "--set", "labs.nowhere.leader=sam"])
    assert result.exit_code == 2 and "labs.nowhere.leader" in result.stderr
    result = runner.invoke(app, [*args, "--set", f"{VALUE_PATH}=5M,lots"])
    assert result.exit_code == 2 and VALUE_PATH in result.stderr and "lots" in result.stderr


# --- one run ------------------------------------------------------------------------------


def test_run_once_is_a_pure_function_of_data_and_seed() -> None:
    a, b, c = run_once(small_data(), 11), run_once(small_data(), 11), run_once(small_data(), 12)
    for name, table in a.as_dict().items():
        assert table.equals(b.as_dict()[name]), name
    assert not a.researchers.equals(c.researchers)


def test_a_market_run_is_the_same_on_any_number_of_threads() -> None:
    # Workers run one numba thread each, a single run in the parent all of them: a run's
    # tables must not depend on that (the built-in market prices offers with parallel kernels).
    import numba

    data, _ = read_scenario_data("builtin:ai-labs-2025")
    before = numba.get_num_threads()
    runs = []
    try:
        for threads in sorted({1, numba.config.NUMBA_NUM_THREADS}):
            numba.set_num_threads(threads)
            runs.append(run_once(data, 1).as_dict())
    finally:
        numba.set_num_threads(before)
    for name, table in runs[0].items():  # (pandas: NaN equals NaN, to the last bit otherwise)
        assert table.to_pandas().equals(runs[-1][name].to_pandas()), name


def test_run_tables_add_up() -> None:
    t = run_once(small_data(), 5)
    labs = t.labs.to_pandas().set_index("lab")
    people = t.researchers.to_pandas()
    offers = t.offers.to_pandas().set_index("offer")
    assert len(people) == 8 and set(labs.index) == {"big", "small", "mid"}
    moved = people[people["moved"]]
    assert labs["hires"].sum() == labs["departures"].sum() == len(moved)
    assert (labs["headcount_after"] - labs["headcount_before"]).sum() == 0
    assert labs.loc["big", "hires"] == (people["final_lab"] == "big").sum()
    assert offers.loc["big-offer", "accepted"] == (people["offer"] == "big-offer").sum()
    assert offers["recipients"].tolist() == [8, 8]
    spend = people.groupby("final_lab")["employer_cost_usd"].sum()
    assert labs.loc["big", "spend_usd"] == pytest.approx(spend.get("big", 0.0))
    assert ((people["probability"] > 0) & (people["probability"] <= 1)).all()
    assert np.allclose(labs["expected_acceptances"].sum(), people["p_move"].sum())
    rounds = t.rounds.to_pandas()
    assert rounds.groupby("round")["headcount"].sum().tolist() == [8, 8]


def test_market_scenarios_fill_the_same_tables_with_every_round() -> None:
    data = small_data()
    data["labs"]["big"]["capacity"] = 3
    data["market"] = {"engine": "rounds", "rounds": 4, "labs": {"big": {"strategy": "posted"}}}
    t = run_once(data, 2)
    again = run_once(data, 2)
    for name, table in t.as_dict().items():  # (NaN where the market has no probabilities)
        pd.testing.assert_frame_equal(table.to_pandas(), again.as_dict()[name].to_pandas())
    labs = t.labs.to_pandas().set_index("lab")
    people = t.researchers.to_pandas()
    assert labs["hires"].sum() == labs["departures"].sum() == people["moved"].sum()
    assert labs.loc["big", "hires"] <= 3  # the market respects capacity
    rounds = t.rounds.to_pandas()
    assert rounds["round"].min() == 0 and rounds["round"].max() >= 1
    assert (rounds.groupby("round")["headcount"].sum() == 8).all()
    last = rounds[rounds["round"] == rounds["round"].max()].set_index("lab")["headcount"]
    assert last.to_dict() == labs["headcount_after"].to_dict()


def test_realized_choices_follow_the_probabilities() -> None:
    # Over many seeds the share who move approaches the mean P(move).
    moves, p = [], []
    for seed in range(40):
        people = run_once(small_data(), seed).researchers.to_pandas()
        moves.append(people["moved"].mean())
        p.append(people["p_move"].mean())
    assert abs(np.mean(moves) - np.mean(p)) < 0.08


# --- backends, failures, resume ------------------------------------------------------------

pool = pytest.mark.xdist_group("sweep")


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """The reference sweep: local pool, 2 workers."""
    db = tmp_path_factory.mktemp("reference") / "sweep.duckdb"
    result = sweep(small_data(), seeds=SEEDS, grid=GRID, backend="local", workers=2, db=db)
    assert result.to_dict() == {
        "sweep_id": result.sweep_id,
        "runs": 6,
        "completed": 6,
        "failed": 0,
        "skipped": 0,
    }
    return db, result.sweep_id


@pool
def test_rerun_skips_completed_runs(reference: tuple[Path, str]) -> None:
    db, sweep_id = reference
    before = tables(db, sweep_id)
    again = sweep(small_data(), seeds=SEEDS, grid=GRID, workers=2, db=db)
    assert (again.sweep_id, again.skipped, again.completed, again.workers) == (sweep_id, 6, 0, 0)
    assert_same_tables(before, tables(db, sweep_id))


@pool
def test_stored_run_equals_run_once(reference: tuple[Path, str]) -> None:
    db, sweep_id = reference
    plan = plan_sweep(small_data(), seeds=SEEDS, grid=GRID)
    assert plan.sweep_id == sweep_id
    run = plan.runs[-1]
    stored = load_sweep(sweep_id, db=db).labs
    stored = stored[stored["run_id"] == run.run_id].drop(columns="run_id")
    stored = stored.sort_values("lab").reset_index(drop=True)
    fresh = run_once(run.data, run.seed).labs.to_pandas().sort_values("lab")
    fresh = fresh.reset_index(drop=True)
    pd.testing.assert_frame_equal(stored, fresh, check_exact=True)


@pool
def test_a_transaction_per_run_or_per_batch_stores_the_same(
    reference: tuple[Path, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sweep_module, "COMMIT_INTERVAL_S", 0.0)  # commit every run alone
    db = tmp_path / "one-by-one.duckdb"
    result = sweep(small_data(), seeds=SEEDS, grid=GRID, workers=2, db=db)
    assert_same_tables(tables(*reference), tables(db, result.sweep_id))


def test_a_batch_replaces_failed_tries_and_commits_whole(tmp_path: Path) -> None:
    data = small_data()
    results = {seed: run_once(data, seed).as_dict() for seed in (1, 2)}

    def record(run: str, seed: int, status: str) -> RunRecord:
        return RunRecord(
            run,
            "s",
            "h",
            {"x": seed},
            seed,
            200,
            "local",
            "w",
            None,
            None,
            status,
            "RuntimeError: boom" if status == "failed" else None,
        )

    with open_store(tmp_path / "batch.duckdb") as store:
        store.write_runs([(record("a", 1, "failed"), None)])
        store.write_runs(
            [(record("a", 1, "completed"), results[1]), (record("b", 2, "completed"), results[2])]
        )
        con = store.con
        runs = dict(con.execute("SELECT run_id, status FROM runs").fetchall())
        assert runs == {"a": "completed", "b": "completed"}
        assert con.execute("SELECT count(*) FROM run_parameters").fetchone() == (2,)
        for name, table in results[1].items():
            counts = dict(con.execute(f"SELECT run_id, count(*) FROM {name} GROUP BY 1").fetchall())
            assert counts == {"a": table.num_rows, "b": results[2][name].num_rows}, name
        with pytest.raises(Exception, match="unknown result table"):  # rolled back whole
            store.write_runs(
                [
                    (record("c", 3, "completed"), results[1]),
                    (record("d", 4, "completed"), {"nope": results[1]["lab_results"]}),
                ]
            )
        assert con.execute("SELECT count(*) FROM runs").fetchone() == (2,)


@pytest.fixture(scope="module")
def with_failures(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """The reference sweep on one worker, where every run with seed 4 raises."""
    db = tmp_path_factory.mktemp("failures") / "sweep.duckdb"
    mp = pytest.MonkeyPatch()
    mp.setenv("TALENTMARKET_TEST_RUN_FAIL", "4")  # the middle seed
    try:
        result = sweep(small_data(), seeds=SEEDS, grid=GRID, workers=1, db=db)
    finally:
        mp.undo()
    assert (result.completed, result.failed, result.skipped, result.workers) == (4, 2, 0, 1)
    assert all("injected failure for seed 4" in error for _, error in result.failures)
    return db, result.sweep_id


@pool
def test_failing_run_is_recorded_and_the_sweep_goes_on(
    with_failures: tuple[Path, str],
) -> None:
    db, sweep_id = with_failures
    data = load_sweep(sweep_id, db=db)
    failed = data.runs[data.runs["status"] == "failed"]
    assert set(failed["seed"]) == {4} and len(failed) == 2
    assert failed["error"].str.startswith("RuntimeError: injected failure").all()
    assert failed["traceback"].str.contains("_test_hooks").all()
    for frame in (data.labs, data.researchers, data.offers, data.rounds):
        assert not frame["run_id"].isin(failed["run_id"]).any()  # no results of failed runs
    completed = data.runs[data.runs["status"] == "completed"]
    assert set(data.labs["run_id"]) == set(completed["run_id"])


@pytest.fixture(scope="module")
def ray_instance() -> Any:
    ray = pytest.importorskip("ray", reason="Ray is not installed (pip install talentmarket[ray])")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


@pool
def test_backends_give_identical_tables(
    reference: tuple[Path, str],
    with_failures: tuple[Path, str],
    tmp_path: Path,
    ray_instance: Any,
) -> None:
    expected = tables(*reference)  # local pool, 2 workers
    db = tmp_path / "ray.duckdb"
    result = sweep(small_data(), seeds=SEEDS, grid=GRID, backend="ray", workers=2, db=db)
    assert (result.completed, result.failed, result.backend) == (6, 0, "ray")
    assert ray_instance.is_initialized()  # an instance it did not start is left running
    assert set(load_sweep(result.sweep_id, db=db).runs["backend"]) == {"ray"}
    assert_same_tables(expected, tables(db, result.sweep_id))
    # Retrying the one-worker sweep's failed runs (on Ray) completes it, and it too is equal.
    db, sweep_id = with_failures
    retry = sweep(small_data(), seeds=SEEDS, grid=GRID, backend="ray", workers=2, db=db)
    assert (retry.completed, retry.failed, retry.skipped) == (2, 0, 4)
    assert_same_tables(expected, tables(db, sweep_id))

    # The command line reaches the same backend (one Ray instance for the whole module).
    db = tmp_path / "cli.duckdb"
    small_file = tmp_path / "small.yaml"
    small_file.write_text(SMALL_YAML)
    args = ["sweep", str(small_file), "--seeds", "2", "--seed", "20", "--db", str(db)]
    result = runner.invoke(app, [*args, "--backend", "ray", "--workers", "2", "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert set(payload) == {"sweep_id", "runs", "completed", "failed", "skipped"}
    assert (payload["runs"], payload["completed"], payload["failed"]) == (2, 2, 0)
    assert set(load_sweep(payload["sweep_id"], db=db).runs["seed"]) == {20, 21}
    result = runner.invoke(app, [*args, "--json"])  # the same sweep: nothing left to run
    assert json.loads(result.stdout) == {**payload, "completed": 0, "skipped": 2}
    result = runner.invoke(app, [*args, "--address", "ray://nowhere:1"])
    assert result.exit_code == 2 and "--address" in result.stderr


@pool
def test_address_joins_an_existing_ray_cluster(tmp_path: Path) -> None:
    pytest.importorskip("ray", reason="Ray is not installed (pip install talentmarket[ray])")
    import secrets
    import shutil
    import socket
    import subprocess
    import sys
    import tempfile

    with socket.socket() as probe:  # a free port for the cluster's head
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # The cluster and its drivers share a token, as Ray's token authentication requires.
    env = {**os.environ, "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": secrets.token_hex(16)}
    log = tmp_path / "head.log"
    ray_dir = Path(tempfile.mkdtemp(prefix="tm-ray-"))  # Ray's socket paths must stay short
    # --block keeps the head's processes tied to this one: terminating it takes them down
    # (``ray stop`` would stop every Ray instance on the machine).
    with log.open("w") as out:
        head = subprocess.Popen(
            [
                str(Path(sys.executable).with_name("ray")),
                *("start", "--head", "--block", f"--port={port}", "--num-cpus=2"),
                *("--include-dashboard=false", "--disable-usage-stats"),
                f"--temp-dir={ray_dir}",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
        )
    try:
        wait_until(lambda: "Ray runtime started" in log.read_text() or head.poll() is not None)
        assert head.poll() is None, log.read_text()
        small_file = tmp_path / "small.yaml"
        small_file.write_text(SMALL_YAML)
        args = ["sweep", str(small_file), "--seeds", "2", "--seed", "30", "--json"]
        on_cluster = tmp_path / "cluster.duckdb"
        address = ["--backend", "ray", "--address", f"127.0.0.1:{port}"]
        proc = subprocess.run(
            [sys.executable, "-m", "talentmarket", *args, "--db", str(on_cluster), *address],
            capture_output=True,
            text=True,
            timeout=300,
            env=env,
        )
        assert proc.returncode == 0, proc.stderr[-3000:]
        payload = json.loads(proc.stdout)
        assert (payload["runs"], payload["completed"], payload["failed"]) == (2, 2, 0)
        assert set(load_sweep(payload["sweep_id"], db=on_cluster).runs["backend"]) == {"ray"}
        assert head.poll() is None  # the cluster outlives the sweep that joined it
    finally:
        head.terminate()
        try:
            head.wait(timeout=60)
        except subprocess.TimeoutExpired:
            head.kill()
        shutil.rmtree(ray_dir, ignore_errors=True)
    local = tmp_path / "local.duckdb"
    result = runner.invoke(app, [*args, "--db", str(local), "--workers", "1"])
    assert result.exit_code == 0, result.output
    assert_same_tables(tables(local, payload["sweep_id"]), tables(on_cluster, payload["sweep_id"]))


def wait_until(condition: Any, timeout: float = 120.0) -> None:
    import time

    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s")
        time.sleep(0.2)


# --- export -------------------------------------------------------------------------------


@pool
@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_export_round_trips(reference: tuple[Path, str], tmp_path: Path, fmt: str) -> None:
    import duckdb

    db, sweep_id = reference
    written = export_sweep(sweep_id[:8], tmp_path / fmt, format=fmt, db=db)
    assert {p.name for p in written.values()} == {f"{t}.{fmt}" for t in written}
    assert not list((tmp_path / fmt).glob(".*"))  # no temporary files left
    data = load_sweep(sweep_id, db=db)
    con = duckdb.connect()
    reader = "read_parquet" if fmt == "parquet" else "read_csv"
    for name, frame in {
        "runs": data.runs,
        "run_parameters": data.parameters,
        "lab_results": data.labs,
        "researcher_results": data.researchers,
        "offer_results": data.offers,
        "round_results": data.rounds,
    }.items():
        if fmt == "parquet":
            back = con.execute(f"SELECT * FROM read_parquet('{written[name]}')").df()
        else:  # CSV holds text: every value must come back as the same text
            back = con.execute(f"SELECT * FROM read_csv('{written[name]}', all_varchar=true)").df()
            con.register("frame", frame)
            frame = con.execute("SELECT CAST(COLUMNS(*) AS VARCHAR) FROM frame").df()
            con.unregister("frame")
        pd.testing.assert_frame_equal(back, frame, check_exact=True, obj=name)
    sweeps = con.execute(f"SELECT sweep_id FROM {reader}('{written['sweeps']}')").df()
    assert sweeps["sweep_id"].tolist() == [sweep_id]
    scen = con.execute(f"SELECT * FROM {reader}('{written['scenarios']}')").df()
    assert len(scen) == 2 and all(
        json.loads(s)["name"] == "sweep-small" for s in scen["scenario_json"]
    )


@pool
def test_export_cli_and_unknown_sweep(reference: tuple[Path, str], tmp_path: Path) -> None:
    db, sweep_id = reference
    out = tmp_path / "csv"
    args = ["export", str(out), "--sweep", sweep_id, "--format", "csv", "--db", str(db), "--json"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert Path(json.loads(result.stdout)["lab_results"]).is_file()
    result = runner.invoke(app, ["export", str(out), "--sweep", "ffff0000", "--db", str(db)])
    assert result.exit_code == 2 and "unknown sweep" in result.stderr and sweep_id in result.stderr


# --- report -------------------------------------------------------------------------------

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"


@pool
def test_report_renders_every_figure_in_headless_chromium(
    reference: tuple[Path, str], tmp_path: Path
) -> None:
    db, sweep_id = reference
    out = tmp_path / "report" / "sweep.html"
    result = runner.invoke(
        app, ["report", "--sweep", sweep_id, "--out", str(out), "--db", str(db), "--json"]
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    html = out.read_text()
    ids = ["fig-distribution", "fig-fan", "fig-response-1", "fig-flows"]
    for div in ids:
        assert f'id="{div}"' in html
    assert "What changed the outcome most: " + VALUE_PATH in html
    images = [Path(p) for p in payload["images"]]
    assert [p.stem for p in images] == ids
    for image in images:
        assert image.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and image.stat().st_size > 10_000

    if not CHROMIUM.exists():
        pytest.skip("chromium is not installed (make system-deps)")
    playwright = pytest.importorskip("playwright.sync_api")
    ARTIFACTS.mkdir(exist_ok=True)
    errors: list[str] = []
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM),
            args=[
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(out.as_uri())
            page.wait_for_load_state("load")
            for div in ids:
                page.wait_for_selector(f"#{div} svg.main-svg", timeout=15_000)
                # Each figure drew its data, not just an empty frame.
                drawn = page.locator(f"#{div} .scatterlayer .trace, #{div} .sankey .sankey-link")
                assert drawn.count() > 0, div
            page.screenshot(path=str(ARTIFACTS / "sweep-report.png"), full_page=True)
        finally:
            browser.close()
    assert errors == []
