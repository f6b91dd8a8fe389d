"""Sweeps survive crashes: a killed worker, Ctrl-C, and the writer dying mid-transaction.

Each test starts ``python -m talentmarket sweep`` in a subprocess, breaks it, then checks that
the database holds only whole runs and that running the sweep again finishes it. Test hooks
(environment variables read by the workers and the writer) make the timing deterministic.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import duckdb
import pytest

from talentmarket.runs import sweep
from test_sweep import SMALL_YAML, small_data

pytestmark = pytest.mark.xdist_group("sweep-crash")

N_LABS, N_PEOPLE, N_OFFERS, N_ROUNDS = 3, 8, 2, 2


def start(db: Path, seeds: int, workers: int, **env: str) -> subprocess.Popen[str]:
    scenario = db.parent / "small.yaml"
    scenario.write_text(SMALL_YAML)
    args = [sys.executable, "-m", "talentmarket", "sweep", str(scenario)]
    args += ["--seeds", str(seeds), "--workers", str(workers), "--db", str(db), "--json"]
    return subprocess.Popen(
        args,
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for(condition: Any, timeout: float = 90.0, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def marks(folder: Path) -> list[tuple[str, int]]:
    """(run id, worker pid) of every run started so far, oldest first."""
    files = sorted(folder.iterdir(), key=lambda p: p.stat().st_mtime_ns)
    return [(p.stem, int(p.suffix[1:])) for p in files]


def check_whole_runs(db: Path) -> dict[str, str]:
    """Assert the database holds only whole runs; return run id -> status."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        runs = dict(con.execute("SELECT run_id, status FROM runs").fetchall())
        expected = {
            "lab_results": N_LABS,
            "researcher_results": N_PEOPLE,
            "offer_results": N_OFFERS,
            "round_results": N_LABS * N_ROUNDS,
        }
        for table, rows in expected.items():
            counts = dict(
                con.execute(f"SELECT run_id, count(*) FROM {table} GROUP BY 1").fetchall()
            )
            completed = {r for r, s in runs.items() if s == "completed"}
            assert set(counts) == completed, table  # no results without a completed run
            assert set(counts.values()) <= {rows}, table  # and never part of a run's rows
        params = con.execute("SELECT count(*) FROM run_parameters").fetchone()
        assert params == (0,)  # no grid in these sweeps
    finally:
        con.close()
    return {str(k): str(v) for k, v in runs.items()}


def test_killed_worker_and_ctrl_c_lose_only_runs_in_flight(tmp_path: Path) -> None:
    db, mark = tmp_path / "sweep.duckdb", tmp_path / "marks"
    mark.mkdir()
    proc = start(
        db,
        seeds=12,
        workers=2,
        TALENTMARKET_TEST_RUN_MARK=str(mark),
        TALENTMARKET_TEST_RUN_SLEEP="0.4",
    )
    try:
        # Kill the worker of the latest run to start while it runs: the pool breaks.
        started = wait_for(lambda: len(marks(mark)) >= 3 and marks(mark), what="3 runs")
        victim_run, victim = started[-1]
        os.kill(victim, signal.SIGKILL)
        # The sweep goes on in a fresh pool and retries the runs that were in flight...
        wait_for(
            lambda: any(pid not in {p for _, p in started} for _, pid in marks(mark)),
            what=f"a new worker after killing {victim} ({started})",
        )
        wait_for(lambda: [r for r, _ in marks(mark)].count(victim_run) >= 2, what="a retry")
        # ... until Ctrl-C: queued runs are dropped, the runs in flight are lost.
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=30)
    except AssertionError as exc:
        proc.kill()
        raise AssertionError(f"{exc}\nsweep stderr:\n{proc.communicate()[1]}") from None
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, stderr
    assert "interrupted" in stderr and stdout == ""
    stored = check_whole_runs(db)
    assert 0 < len(stored) < 12 and set(stored.values()) == {"completed"}

    # The same sweep again skips what is done and finishes; no run twice.
    result = sweep(small_data(), seeds=12, workers=2, db=db)
    assert (result.skipped, result.completed, result.failed) == (len(stored), 12 - len(stored), 0)
    assert len(check_whole_runs(db)) == 12


def test_writer_killed_mid_transaction_leaves_no_partial_run(tmp_path: Path) -> None:
    db = tmp_path / "sweep.duckdb"
    proc = start(db, seeds=5, workers=1, TALENTMARKET_TEST_CRASH_IN_COMMIT="3")
    stdout, stderr = proc.communicate(timeout=120)
    # The writer died between the inserts of the transaction holding the third run: none of
    # that transaction's rows were committed (runs finishing within a second of each other
    # share one), and every run committed before it is whole.
    assert proc.returncode == 86, stderr
    assert stdout == ""
    stored = check_whole_runs(db)
    assert 1 <= len(stored) <= 2 and set(stored.values()) == {"completed"}

    result = sweep(small_data(), seeds=5, workers=1, db=db)
    assert (result.skipped, result.completed, result.failed) == (len(stored), 5 - len(stored), 0)
    runs = check_whole_runs(db)
    assert len(runs) == 5
    assert json.dumps(result.to_dict())  # the --json payload is plain JSON
