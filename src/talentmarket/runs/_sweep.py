"""Sweeps: the product of a parameter grid and seeds, run on a backend, stored in DuckDB.

A sweep is planned before anything runs: every grid point is applied to the parsed scenario
(``--set PATH=V1,V2``) and validated as a whole scenario, so a missing path or a bad value is
reported (exit status 2, naming the path and the value) before a single worker starts.

Ids are content hashes (16 hex digits of SHA-256 over canonical JSON)::

    run_id   = H(hash of the edited, validated scenario, resolved parameters, seed)
    sweep_id = H(hash of the base scenario, grid of resolved values, seeds)

so the same run has the same id in every sweep, on every backend and machine. Resuming is
skipping the run ids the database already holds as completed; failed runs are retried.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from talentmarket._errors import InputError, Issue, ScenarioError
from talentmarket.runs._backends import Job, Outcome, make_backend
from talentmarket.runs._store import DEFAULT_DB, RunRecord, canonical_json, open_store
from talentmarket.scenario._load import read_scenario_data, scenario_from_dict, scenario_hash
from talentmarket.scenario._paths import get_path, set_path, split_path

Grid = Sequence[tuple[str, Sequence[Any]]]


def _digest(payload: Any) -> str:
    return hashlib.sha256(canonical_json(payload).encode()).hexdigest()[:16]


def run_id(scenario_hash: str, parameters: Mapping[str, Any], seed: int) -> str:
    """The id of a run: 16 hex digits of SHA-256 over (scenario hash, parameters, seed).

    ``scenario_hash`` is the hash of the edited, validated scenario and ``parameters`` the
    resolved values of the swept paths (as validated: ``"200M"`` resolves to ``200000000.0``).
    """
    return _digest(
        {"scenario_hash": scenario_hash, "parameters": dict(parameters), "seed": int(seed)}
    )


def parse_assignment(spec: str) -> tuple[str, tuple[Any, ...]]:
    """Parse ``PATH=V1,V2,...`` (a ``--set`` option) into the path and its values.

    Values follow YAML's rules for a flow list without its brackets: ``200M``, ``0.3``,
    ``mira-murati``, ``true``, ``[1, 2]``; a value that contains a comma must be quoted
    (``"a, b"``).

    Raises
    ------
    InputError
        If there is no ``=``, the path is malformed or the values do not parse.
    """
    path, sep, text = spec.partition("=")
    path = path.strip()
    if not sep or not path:
        raise InputError(
            [Issue("--set", spec, "expected PATH=V1,V2,... (e.g. settings.paths=2000,5000)")]
        )
    try:
        split_path(path)
    except ValueError as exc:
        raise InputError([Issue("--set", path, str(exc))]) from None
    try:
        values = yaml.safe_load(f"[{text}]")
    except yaml.YAMLError as exc:
        problem = getattr(exc, "problem", None) or str(exc)
        raise InputError(
            [
                Issue(
                    "--set",
                    path,
                    f"cannot parse values {text!r}: {problem} (quote a value "
                    "that contains a comma)",
                )
            ]
        ) from None
    if not isinstance(values, list) or not values or any(v is None for v in values):
        raise InputError([Issue("--set", path, f"expected one or more values, got {text!r}")])
    return path, tuple(values)


@dataclass(frozen=True)
class PlannedRun:
    """One run of a plan: id, edited scenario data, resolved parameters and seed."""

    run_id: str
    scenario_hash: str
    scenario_name: str
    data: Mapping[str, Any]
    parameters: Mapping[str, Any]
    seed: int
    paths: int


@dataclass(frozen=True)
class SweepPlan:
    """Every run of a sweep, validated and identified, in submission order.

    ``grid`` holds the resolved values of each swept path; ``scenarios`` maps the hash of each
    edited scenario to (name, canonical JSON) for the database.
    """

    sweep_id: str
    source: str
    name: str
    base_hash: str
    grid: tuple[tuple[str, tuple[Any, ...]], ...]
    seeds: tuple[int, ...]
    runs: tuple[PlannedRun, ...]
    scenarios: Mapping[str, tuple[str, str]] = field(repr=False)

    def jobs(self, skip: set[str] | frozenset[str] = frozenset()) -> list[Job]:
        """The jobs of the runs whose ids are not in ``skip``, in plan order."""
        return [Job(r.run_id, r.data, r.seed) for r in self.runs if r.run_id not in skip]


def _seeds(seeds: int | Sequence[int], first: int) -> tuple[int, ...]:
    if isinstance(seeds, int):
        if seeds < 1:
            raise InputError([Issue("--seeds", str(seeds), "must be at least 1")])
        return tuple(range(first, first + seeds))
    out = tuple(int(s) for s in seeds)
    if not out or any(s < 0 for s in out):
        raise InputError([Issue("--seeds", str(list(seeds)), "expected non-negative seeds")])
    if len(set(out)) != len(out):
        raise InputError([Issue("--seeds", str(list(seeds)), "lists a seed twice")])
    return out


def plan_sweep(
    scenario: str | Path | Mapping[str, Any],
    *,
    seeds: int | Sequence[int] = 1,
    grid: Grid | Mapping[str, Sequence[Any]] = (),
    seed: int | None = None,
) -> SweepPlan:
    """Validate every grid point and identify every run, before anything runs.

    Parameters
    ----------
    scenario : str, Path or mapping
        A YAML path, ``builtin:NAME``, or parsed scenario data.
    seeds : int or sequence of int
        A count N (seeds ``seed, seed + 1, ..., seed + N - 1``) or the seeds themselves.
    grid : sequence of (path, values) or mapping path -> values
        Swept scenario fields; the plan is their product (first path varies slowest).
    seed : int, optional
        First seed when ``seeds`` is a count (default: the scenario's ``seed``).

    Returns
    -------
    SweepPlan
        Runs ordered by grid point, then seed; duplicates (values that resolve alike) once.

    Raises
    ------
    ScenarioError
        Listing every grid point that is not a valid scenario, naming path and value.
    """
    if isinstance(scenario, Mapping):
        data: Any = dict(scenario)
        source = "<scenario>"
    else:
        data, source = read_scenario_data(scenario)
    base = scenario_from_dict(data, source)
    items = list(grid.items()) if isinstance(grid, Mapping) else list(grid)
    paths = [p for p, _ in items]
    issues: list[Issue] = []
    for p in sorted({p for p in paths if paths.count(p) > 1}):
        issues.append(Issue(source, p, "is swept twice; give all its values in one --set"))
    for p, values in items:
        if not values:
            issues.append(Issue(source, p, "has no values"))
    if issues:
        raise ScenarioError(issues)
    seed_list = _seeds(seeds, base.seed if seed is None else seed)

    runs: list[PlannedRun] = []
    seen: set[str] = set()
    scenarios: dict[str, tuple[str, str]] = {}
    resolved_grid: dict[str, dict[int, Any]] = {p: {} for p in paths}
    for indices in itertools.product(*(range(len(v)) for _, v in items)):
        edited = data
        point = [(p, items[k][1][j]) for k, (p, j) in enumerate(zip(paths, indices, strict=True))]
        where = ", ".join(f"{p}={_show(v)}" for p, v in point)
        try:
            for p, v in point:
                edited = set_path(edited, p, v, source)
            s = scenario_from_dict(edited, source)
        except ScenarioError as exc:
            for issue in exc.issues:
                new = Issue(issue.source, issue.field, f"{issue.message} (with --set {where})")
                if new not in issues:
                    issues.append(new)
            continue
        dumped = s.model_dump(mode="json", by_alias=True)
        resolved: dict[str, Any] = {}
        for k, (p, v) in enumerate(point):
            try:
                resolved[p] = get_path(dumped, p, source)
            except ScenarioError:  # a path the model drops on dumping: keep the given value
                resolved[p] = v
            resolved_grid[p].setdefault(indices[k], resolved[p])
        h = scenario_hash(s)
        scenarios.setdefault(h, (s.name, canonical_json(dumped)))
        for sd in seed_list:
            rid = run_id(h, resolved, sd)
            if rid in seen:
                continue
            seen.add(rid)
            runs.append(PlannedRun(rid, h, s.name, edited, resolved, sd, s.settings.paths))
    if issues:
        raise ScenarioError(issues)
    grid_out = tuple((p, tuple(resolved_grid[p][j] for j in range(len(v)))) for p, v in items)
    base_hash = scenario_hash(base)
    sweep = _digest(
        {
            "scenario_hash": base_hash,
            "grid": [[p, list(v)] for p, v in grid_out],
            "seeds": list(seed_list),
        }
    )
    return SweepPlan(
        sweep_id=sweep,
        source=source,
        name=base.name,
        base_hash=base_hash,
        grid=grid_out,
        seeds=seed_list,
        runs=tuple(runs),
        scenarios=scenarios,
    )


def _show(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, default=str)


@dataclass(frozen=True)
class SweepProgress:
    """Where a running sweep stands (passed to the ``on_progress`` callback).

    ``total`` counts the runs this invocation executes (skipped ones excluded); ``last`` is the
    outcome just finished, committed within ``COMMIT_INTERVAL_S`` (None for the first call,
    before any run finished).
    """

    sweep_id: str
    total: int
    done: int
    completed: int
    failed: int
    skipped: int
    workers: int
    backend: str
    last: Outcome | None = None


@dataclass(frozen=True)
class SweepResult:
    """What a sweep did (immutable): counts of this invocation, timings, failures.

    ``runs`` is the size of the sweep, ``skipped`` the runs already completed before, and
    ``completed`` / ``failed`` what this invocation ran; ``write_s`` is the time spent in
    database transactions. ``failures`` holds (run id, error) of the runs that failed.
    """

    sweep_id: str
    db: Path
    runs: int
    completed: int
    failed: int
    skipped: int
    backend: str
    workers: int
    wall_s: float
    write_s: float
    failures: tuple[tuple[str, str], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The ``--json`` payload: sweep_id, runs, completed, failed, skipped."""
        return {
            "sweep_id": self.sweep_id,
            "runs": self.runs,
            "completed": self.completed,
            "failed": self.failed,
            "skipped": self.skipped,
        }

    def summary(self) -> Any:
        """A rich table of the counts and timings."""
        from rich.table import Table

        table = Table(title=f"Sweep {self.sweep_id} ({self.db})", show_header=False)
        table.add_column("", style="bold")
        table.add_column("", justify="right")
        table.add_row("runs in the sweep", str(self.runs))
        table.add_row("completed now", str(self.completed))
        table.add_row("failed now", str(self.failed))
        table.add_row("already done (skipped)", str(self.skipped))
        table.add_row(
            "backend", f"{self.backend} x {self.workers}" if self.workers else "(nothing to run)"
        )
        table.add_row("wall time", f"{self.wall_s:.1f} s")
        ran = self.completed + self.failed
        if ran:
            table.add_row("write time per run", f"{1000 * self.write_s / ran:.1f} ms")
        return table


#: A finished run waits at most this long (seconds) in the writer before its commit; runs that
#: finish meanwhile share the transaction (one commit and one insert per table for the batch).
COMMIT_INTERVAL_S = 1.0
#: At most this many runs per transaction.
MAX_BATCH = 64


def _record(
    plan: SweepPlan, by_id: Mapping[str, Any], backend: str, outcome: Outcome
) -> tuple[RunRecord, Mapping[str, Any] | None]:
    """What the writer stores for one outcome: its run record and result tables."""
    planned = by_id[outcome.run_id]
    record = RunRecord(
        run_id=planned.run_id,
        sweep_id=plan.sweep_id,
        scenario_hash=planned.scenario_hash,
        parameters=planned.parameters,
        seed=planned.seed,
        paths=planned.paths,
        backend=backend,
        worker=outcome.worker,
        started_at=outcome.started_at,
        finished_at=outcome.finished_at,
        status=outcome.status,
        error=outcome.error,
        traceback=outcome.traceback,
    )
    return record, None if outcome.tables is None else outcome.tables.as_dict()


def run_plan(
    plan: SweepPlan,
    *,
    backend: str = "local",
    workers: int | None = None,
    address: str | None = None,
    db: str | Path = DEFAULT_DB,
    on_progress: Callable[[SweepProgress], None] | None = None,
) -> SweepResult:
    """Execute the runs of ``plan`` not yet completed in ``db`` and store each as it finishes.

    A run is committed whole (run row and result rows in one transaction) within
    ``COMMIT_INTERVAL_S`` of finishing; runs that finish meanwhile share the transaction. A
    run that raises is stored as failed with its error; the sweep goes on. On Ctrl-C, the
    finished runs are committed, queued runs are dropped, runs in flight are lost, and
    ``KeyboardInterrupt`` propagates; running the same plan again finishes the sweep.

    Parameters
    ----------
    plan : SweepPlan
        From :func:`plan_sweep`.
    backend, workers, address, db, on_progress
        As for :func:`sweep`.

    Returns
    -------
    SweepResult
        Counts of this invocation (completed, failed, skipped), timings and failures.
    """
    t0 = time.perf_counter()
    engine = make_backend(backend, workers=workers, address=address)
    by_id = {r.run_id: r for r in plan.runs}
    with open_store(db) as store:
        store.begin_sweep(
            sweep_id=plan.sweep_id,
            source=plan.source,
            name=plan.name,
            base_hash=plan.base_hash,
            grid=plan.grid,
            seeds=plan.seeds,
            run_ids=[r.run_id for r in plan.runs],
            scenarios=plan.scenarios,
        )
        done = store.completed([r.run_id for r in plan.runs])
        jobs = plan.jobs(done)
        counts = {"completed": 0, "failed": 0}
        failures: list[tuple[str, str]] = []

        def report(n_workers: int, last: Outcome | None) -> None:
            if on_progress is not None:
                on_progress(
                    SweepProgress(
                        plan.sweep_id,
                        len(jobs),
                        counts["completed"] + counts["failed"],
                        counts["completed"],
                        counts["failed"],
                        len(done),
                        n_workers,
                        engine.name,
                        last,
                    )
                )

        n_workers = 0
        pending: list[tuple[RunRecord, Mapping[str, Any] | None]] = []
        last_commit = -math.inf

        def commit() -> None:
            nonlocal last_commit
            batch = list(pending)
            pending.clear()
            store.write_runs(batch)
            last_commit = time.monotonic()

        if jobs:
            with engine:
                n_workers = engine.workers
                report(n_workers, None)
                try:
                    for outcome in engine.outcomes(jobs):
                        if outcome is not None:
                            pending.append(_record(plan, by_id, engine.name, outcome))
                            counts[outcome.status] += 1
                            if outcome.error is not None:
                                failures.append((outcome.run_id, outcome.error))
                        due = time.monotonic() - last_commit >= COMMIT_INTERVAL_S
                        if pending and (due or len(pending) >= MAX_BATCH):
                            commit()
                        if outcome is not None:
                            report(n_workers, outcome)
                finally:
                    # Finished runs are whole: keep them, also on Ctrl-C or a lost backend.
                    if pending:
                        commit()
        else:
            report(0, None)
        write_s = store.write_seconds
    return SweepResult(
        sweep_id=plan.sweep_id,
        db=Path(db),
        runs=len(plan.runs),
        completed=counts["completed"],
        failed=counts["failed"],
        skipped=len(done),
        backend=engine.name,
        workers=n_workers,
        wall_s=time.perf_counter() - t0,
        write_s=write_s,
        failures=tuple(failures),
    )


def sweep(
    scenario: str | Path | Mapping[str, Any],
    *,
    seeds: int | Sequence[int] = 1,
    grid: Grid | Mapping[str, Sequence[Any]] = (),
    seed: int | None = None,
    backend: str = "local",
    workers: int | None = None,
    address: str | None = None,
    db: str | Path = DEFAULT_DB,
    on_progress: Callable[[SweepProgress], None] | None = None,
) -> SweepResult:
    """Run a scenario over the product of a parameter grid and seeds; store every run.

    Parameters
    ----------
    scenario : str, Path or mapping
        A YAML path, ``builtin:NAME`` or parsed scenario data.
    seeds : int or sequence of int
        Number of seeds (from ``seed``, default the scenario's) or the seeds themselves.
    grid : sequence of (path, values) or mapping
        Scenario fields to sweep, e.g. ``{"offers.o.package.base_usd": ["1M", "2M"]}``.
    seed : int, optional
        First seed when ``seeds`` is a count.
    backend : {"local", "ray"}
        A local process pool, or Ray (a local instance sized to the machine, or the cluster
        at ``address``).
    workers : int, optional
        Parallel runs (default: every CPU of the machine or cluster).
    address : str, optional
        Address of an existing Ray cluster (``ray`` backend only).
    db : str or Path
        DuckDB file (created if missing).
    on_progress : callable, optional
        Called with a :class:`SweepProgress` before the first and after every run.

    Returns
    -------
    SweepResult
        Counts (completed, failed, skipped), timings and failures.
    """
    plan = plan_sweep(scenario, seeds=seeds, grid=grid, seed=seed)
    return run_plan(
        plan, backend=backend, workers=workers, address=address, db=db, on_progress=on_progress
    )


def export_sweep(
    sweep_id: str,
    out_dir: str | Path,
    *,
    format: str = "parquet",
    db: str | Path = DEFAULT_DB,
) -> dict[str, Path]:
    """Write every table of a sweep, one file per table, into ``out_dir``.

    Parameters
    ----------
    sweep_id : str
        The sweep's id (or a unique prefix of at least 4 characters).
    out_dir : str or Path
        Folder to write into (created).
    format : {"parquet", "csv"}
        File format.
    db : str or Path
        The sweep database.

    Returns
    -------
    dict
        Table name -> file written (``sweeps``, ``sweep_runs``, ``scenarios``, ``runs``,
        ``run_parameters``, ``lab_results``, ``researcher_results``, ``offer_results``,
        ``round_results``).
    """
    with open_store(db, read_only=True) as store:
        return store.export(sweep_id, Path(out_dir), format)


@dataclass(frozen=True)
class SweepData:
    """A stored sweep as DataFrames (one per table), for reports and analysis.

    ``info`` is the sweep's row (``grid`` and ``seeds`` decoded from JSON); the frames hold the
    rows of the sweep's runs only: ``runs``, ``parameters`` (long: run_id, path, value,
    value_number), ``labs``, ``researchers``, ``offers``, ``rounds``.
    """

    sweep_id: str
    info: Mapping[str, Any]
    runs: Any
    parameters: Any
    labs: Any
    researchers: Any
    offers: Any
    rounds: Any

    @property
    def swept_paths(self) -> list[str]:
        """The swept scenario paths, in grid order."""
        return [p for p, _ in self.info["grid"]]


def load_sweep(sweep_id: str, *, db: str | Path = DEFAULT_DB) -> SweepData:
    """Read a sweep's tables from its database.

    Parameters
    ----------
    sweep_id : str
        The sweep's id, or a unique prefix of at least 4 characters.
    db : str or Path
        The sweep database (opened read-only).

    Returns
    -------
    SweepData
        The sweep's row and one DataFrame per table, rows of this sweep's runs only.

    Raises
    ------
    UnknownIdError
        If no sweep (or more than one) matches ``sweep_id``.
    InputError
        If the database is missing or in use by a running sweep.
    """
    with open_store(db, read_only=True) as store:
        sid = store.resolve_sweep(sweep_id)
        info: dict[str, Any] = {
            str(k): v for k, v in store.frame("sweeps", sid).iloc[0].to_dict().items()
        }
        info["grid"] = json.loads(info["grid"])
        info["seeds"] = json.loads(info["seeds"])
        return SweepData(
            sweep_id=sid,
            info=info,
            runs=store.frame("runs", sid),
            parameters=store.frame("run_parameters", sid),
            labs=store.frame("lab_results", sid),
            researchers=store.frame("researcher_results", sid),
            offers=store.frame("offer_results", sid),
            rounds=store.frame("round_results", sid),
        )
