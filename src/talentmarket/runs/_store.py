"""The sweep database (DuckDB, one file, no server): schema, transactional writes, exports.

Tables (``run_id`` is 16 hex digits derived from the edited scenario's hash, the resolved
parameters and the seed; the same run has the same id in every sweep and on every backend)::

    sweeps              one row per sweep: base scenario, grid, seeds, planned runs
    sweep_runs          (sweep_id, run_id): the runs each sweep is made of
    scenarios           edited, validated scenario of each run, canonical JSON by hash
    runs                one row per executed run: parameters, seed, version, backend, worker,
                        started/finished (UTC), status ('completed' or 'failed'), error
    run_parameters      (run_id, path, value): the swept parameters, long form
    lab_results         per run and lab: headcounts, hires, departures, acceptances, spend
    researcher_results  per run and researcher: final lab, accepted offer, package value, P
    offer_results       per run and offer: recipients, accepted, expected acceptances, cost
    round_results       per run, round and lab: headcount and cumulative spend

Only the sweep's parent process writes. A run's row and all its result rows are inserted in one
transaction, so a reader (or a crash) never sees half a run; a failed run has a ``runs`` row
with its error and no result rows, and is replaced when it is retried. The result tables carry
no primary key: the ``runs`` key already forbids writing a run twice, and an index over
millions of result rows would triple the file and slow every write.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from talentmarket import __version__
from talentmarket._errors import InputError, Issue, TalentMarketError, UnknownIdError

if TYPE_CHECKING:
    import duckdb
    import pandas as pd

#: File name of the database when none is given (in the working directory).
DEFAULT_DB = "talentmarket.duckdb"

#: Test hook: the writer exits between the inserts of the k-th run it writes (k >= 1).
CRASH_IN_COMMIT_ENV = "TALENTMARKET_TEST_CRASH_IN_COMMIT"

RESULT_TABLES = ("lab_results", "researcher_results", "offer_results", "round_results")

_DDL = """
CREATE TABLE IF NOT EXISTS sweeps (
    sweep_id VARCHAR PRIMARY KEY,
    scenario_source VARCHAR NOT NULL,
    scenario_name VARCHAR NOT NULL,
    base_scenario_hash VARCHAR NOT NULL,
    grid VARCHAR NOT NULL,
    seeds VARCHAR NOT NULL,
    n_runs BIGINT NOT NULL,
    package_version VARCHAR NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE TABLE IF NOT EXISTS sweep_runs (
    sweep_id VARCHAR NOT NULL,
    run_id VARCHAR NOT NULL,
    position BIGINT NOT NULL,
    PRIMARY KEY (sweep_id, run_id)
);
CREATE TABLE IF NOT EXISTS scenarios (
    scenario_hash VARCHAR PRIMARY KEY,
    scenario_name VARCHAR NOT NULL,
    scenario_json VARCHAR NOT NULL
);
CREATE TABLE IF NOT EXISTS runs (
    run_id VARCHAR PRIMARY KEY,
    sweep_id VARCHAR NOT NULL,
    scenario_hash VARCHAR NOT NULL,
    parameters VARCHAR NOT NULL,
    seed BIGINT NOT NULL,
    paths BIGINT NOT NULL,
    package_version VARCHAR NOT NULL,
    backend VARCHAR NOT NULL,
    worker VARCHAR,
    started_at TIMESTAMP,
    finished_at TIMESTAMP,
    duration_s DOUBLE,
    status VARCHAR NOT NULL,
    error VARCHAR,
    traceback VARCHAR
);
CREATE TABLE IF NOT EXISTS run_parameters (
    run_id VARCHAR NOT NULL,
    path VARCHAR NOT NULL,
    value VARCHAR NOT NULL,
    value_number DOUBLE,
    PRIMARY KEY (run_id, path)
);
CREATE TABLE IF NOT EXISTS lab_results (
    run_id VARCHAR NOT NULL,
    lab VARCHAR NOT NULL,
    headcount_before BIGINT NOT NULL,
    headcount_after BIGINT NOT NULL,
    hires BIGINT NOT NULL,
    departures BIGINT NOT NULL,
    acceptances BIGINT NOT NULL,
    expected_acceptances DOUBLE,
    spend_usd DOUBLE,
    expected_spend_usd DOUBLE
);
CREATE TABLE IF NOT EXISTS researcher_results (
    run_id VARCHAR NOT NULL,
    researcher VARCHAR NOT NULL,
    group_id VARCHAR NOT NULL,
    employer VARCHAR NOT NULL,
    final_lab VARCHAR NOT NULL,
    "offer" VARCHAR,
    moved BOOLEAN NOT NULL,
    probability DOUBLE,
    p_move DOUBLE,
    package_value_usd DOUBLE,
    employer_cost_usd DOUBLE
);
CREATE TABLE IF NOT EXISTS offer_results (
    run_id VARCHAR NOT NULL,
    "offer" VARCHAR NOT NULL,
    from_lab VARCHAR NOT NULL,
    to_id VARCHAR NOT NULL,
    recipients BIGINT NOT NULL,
    accepted BIGINT NOT NULL,
    expected_acceptances DOUBLE,
    headline_usd DOUBLE,
    expected_pv_usd DOUBLE,
    employer_cost_usd DOUBLE,
    spend_usd DOUBLE
);
CREATE TABLE IF NOT EXISTS round_results (
    run_id VARCHAR NOT NULL,
    "round" BIGINT NOT NULL,
    lab VARCHAR NOT NULL,
    headcount BIGINT NOT NULL,
    spend_usd DOUBLE
);
"""

#: Row order of every exported table (stable across backends and worker counts).
_ORDER = {
    "sweeps": "sweep_id",
    "sweep_runs": "position",
    "scenarios": "scenario_hash",
    "runs": "run_id",
    "run_parameters": "run_id, path",
    "lab_results": "run_id, lab",
    "researcher_results": "run_id, researcher",
    "offer_results": 'run_id, "offer"',
    "round_results": 'run_id, "round", lab',
}
EXPORT_TABLES = tuple(_ORDER)


def canonical_json(value: Any) -> str:
    """Compact JSON with sorted keys: the form that is hashed and stored."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=False)


@dataclass(frozen=True)
class RunRecord:
    """What the writer stores about one run besides its result tables.

    ``started_at`` and ``finished_at`` are naive UTC datetimes (None if it never started);
    ``status`` is ``"completed"`` or ``"failed"``.
    """

    run_id: str
    sweep_id: str
    scenario_hash: str
    parameters: Mapping[str, Any]
    seed: int
    paths: int
    backend: str
    worker: str | None
    started_at: datetime | None
    finished_at: datetime | None
    status: str
    error: str | None = None
    traceback: str | None = None


class Store:
    """An open sweep database; use :func:`open_store`."""

    def __init__(self, con: duckdb.DuckDBPyConnection, path: Path) -> None:
        self.con = con
        self.path = path
        self.write_seconds = 0.0
        self.writes = 0
        crash = os.environ.get(CRASH_IN_COMMIT_ENV, "")
        self._crash_at = int(crash) if crash.strip().isdigit() else 0
        self._failed: set[str] = set()

    # ------------------------------------------------------------------------ sweeps

    def begin_sweep(
        self,
        *,
        sweep_id: str,
        source: str,
        name: str,
        base_hash: str,
        grid: Sequence[tuple[str, Sequence[Any]]],
        seeds: Sequence[int],
        run_ids: Sequence[str],
        scenarios: Mapping[str, tuple[str, str]],
    ) -> None:
        """Record a sweep, its runs and their scenarios (idempotent; one transaction).

        ``scenarios`` maps scenario hash -> (name, canonical JSON).
        """
        import pandas as pd

        con = self.con
        con.begin()
        try:
            con.execute(
                "INSERT OR IGNORE INTO sweeps VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    sweep_id,
                    source,
                    name,
                    base_hash,
                    canonical_json([[p, list(v)] for p, v in grid]),
                    canonical_json(list(seeds)),
                    len(run_ids),
                    __version__,
                    _utcnow(),
                ],
            )
            members = pd.DataFrame(
                {
                    "sweep_id": [sweep_id] * len(run_ids),
                    "run_id": list(run_ids),
                    "position": range(len(run_ids)),
                }
            )
            con.register("_members", members)
            con.execute("INSERT OR IGNORE INTO sweep_runs SELECT * FROM _members")
            con.unregister("_members")
            known = pd.DataFrame(
                {
                    "scenario_hash": list(scenarios),
                    "scenario_name": [v[0] for v in scenarios.values()],
                    "scenario_json": [v[1] for v in scenarios.values()],
                }
            )
            con.register("_scenarios", known)
            con.execute("INSERT OR IGNORE INTO scenarios SELECT * FROM _scenarios")
            con.unregister("_scenarios")
            con.commit()
        except BaseException as exc:
            _abort(con, exc)

    def completed(self, run_ids: Sequence[str]) -> set[str]:
        """The ids among ``run_ids`` that already have a completed run.

        Also remembers which have a failed run, so that writing them again replaces it.
        """
        if not run_ids:
            return set()
        import pandas as pd

        frame = pd.DataFrame({"run_id": list(run_ids)})
        self.con.register("_wanted", frame)
        try:
            rows = self.con.execute(
                "SELECT r.run_id, r.status FROM runs r JOIN _wanted w USING (run_id)"
            ).fetchall()
        except RuntimeError as exc:
            if _interrupted(exc):
                raise KeyboardInterrupt from exc
            raise
        finally:
            self.con.unregister("_wanted")
        self._failed.update(str(r[0]) for r in rows if r[1] != "completed")
        return {str(r[0]) for r in rows if r[1] == "completed"}

    # ------------------------------------------------------------------------ runs

    def write_run(self, record: RunRecord, tables: Mapping[str, Any] | None) -> None:
        """Insert one run and its result tables in one transaction (replacing a failed try).

        ``tables`` maps result table name -> pyarrow table (None for a failed run).
        """
        self.write_runs([(record, tables)])

    def write_runs(self, items: Sequence[tuple[RunRecord, Mapping[str, Any] | None]]) -> None:
        """Insert whole runs in one transaction: all of them become visible, or none.

        Each item is a run record and its result tables (name -> pyarrow table, None for a
        failed run); a retried run replaces its failed row. One insert per table for the whole
        batch: a commit and a statement cost milliseconds, a row microseconds.
        """
        import pyarrow as pa

        if not items:
            return
        con = self.con
        t0 = time.perf_counter()
        first_write = self.writes + 1
        self.writes += len(items)
        crash_here = first_write <= self._crash_at <= self.writes
        con.begin()
        try:
            retried = [r.run_id for r, _ in items if r.run_id in self._failed]
            if retried:
                # A retried run replaces its failed row; a completed run is never rewritten.
                marks = ", ".join("?" * len(retried))
                con.execute(f"DELETE FROM runs WHERE run_id IN ({marks})", retried)
                con.execute(f"DELETE FROM run_parameters WHERE run_id IN ({marks})", retried)
            run_rows: list[Any] = []
            param_rows: list[Any] = []
            for record, _ in items:
                run_rows += _run_row(record)
                for path, value in record.parameters.items():
                    param_rows += [record.run_id, path, canonical_json(value), _number(value)]
            width = len(run_rows) // len(items)
            marks = "(" + ", ".join("?" * width) + ")"
            con.execute(f"INSERT INTO runs VALUES {', '.join([marks] * len(items))}", run_rows)
            if param_rows:
                rows = ", ".join(["(?, ?, ?, ?)"] * (len(param_rows) // 4))
                con.execute(f"INSERT INTO run_parameters VALUES {rows}", param_rows)
            by_name: dict[str, list[Any]] = {}
            for record, tables in items:
                for name, table in (tables or {}).items():
                    if name not in RESULT_TABLES:
                        raise TalentMarketError(f"unknown result table {name!r}")
                    ids = pa.array([record.run_id] * table.num_rows, type=pa.string())
                    by_name.setdefault(name, []).append(table.add_column(0, "run_id", ids))
            for k, (name, parts) in enumerate(by_name.items()):
                con.register("_result", pa.concat_tables(parts, promote_options="default"))
                con.execute(f"INSERT INTO {name} BY NAME SELECT * FROM _result")
                con.unregister("_result")
                if k == 0 and crash_here:
                    # Test hook: die mid-transaction, as a killed process would.
                    os._exit(86)
            con.commit()
        except BaseException as exc:
            _abort(con, exc)
        finally:
            self.write_seconds += time.perf_counter() - t0
        for record, _ in items:
            if record.status == "completed":
                self._failed.discard(record.run_id)
            else:
                self._failed.add(record.run_id)

    # ------------------------------------------------------------------------ reading

    def sweep_ids(self) -> list[str]:
        """Every sweep id in the database, oldest first."""
        return [
            str(r[0])
            for r in self.con.execute("SELECT sweep_id FROM sweeps ORDER BY created_at").fetchall()
        ]

    def resolve_sweep(self, sweep_id: str) -> str:
        """The full id of a sweep given its id or a unique prefix (4+ characters)."""
        known = self.sweep_ids()
        if sweep_id in known:
            return sweep_id
        matches = [s for s in known if len(sweep_id) >= 4 and s.startswith(sweep_id)]
        if len(matches) == 1:
            return matches[0]
        raise UnknownIdError(f"sweep in {self.path}", sweep_id, known)

    def query(self, table: str, sweep_id: str) -> str:
        """SQL selecting the rows of ``table`` that belong to ``sweep_id`` (ordered)."""
        if table not in _ORDER:
            raise TalentMarketError(f"unknown table {table!r}")
        sid = sweep_id.replace("'", "''")
        if table == "sweeps":
            where = f"sweep_id = '{sid}'"
        elif table == "sweep_runs":
            where = f"sweep_id = '{sid}'"
        elif table == "scenarios":
            where = (
                "scenario_hash IN (SELECT r.scenario_hash FROM runs r JOIN sweep_runs s "
                f"USING (run_id) WHERE s.sweep_id = '{sid}')"
            )
        else:
            where = f"run_id IN (SELECT run_id FROM sweep_runs WHERE sweep_id = '{sid}')"
        return f"SELECT * FROM {table} WHERE {where} ORDER BY {_ORDER[table]}"

    def frame(self, table: str, sweep_id: str) -> pd.DataFrame:
        """The rows of ``table`` belonging to a sweep, as a DataFrame."""
        frame: pd.DataFrame = self.con.execute(self.query(table, sweep_id)).df()
        return frame

    def export(self, sweep_id: str, out_dir: Path, fmt: str) -> dict[str, Path]:
        """Write one file per table (``runs.parquet`` ...) into ``out_dir``; returns them.

        Each file is written under a temporary name and renamed, so a reader never sees a
        half-written file.
        """
        if fmt not in {"parquet", "csv"}:
            raise InputError([Issue("--format", fmt, "expected parquet or csv")])
        sweep_id = self.resolve_sweep(sweep_id)
        out_dir.mkdir(parents=True, exist_ok=True)
        options = "FORMAT parquet" if fmt == "parquet" else "FORMAT csv, HEADER true"
        written: dict[str, Path] = {}
        for table in EXPORT_TABLES:
            path = out_dir / f"{table}.{fmt}"
            tmp = out_dir / f".{table}.{fmt}.tmp"
            target = str(tmp).replace("'", "''")
            self.con.execute(f"COPY ({self.query(table, sweep_id)}) TO '{target}' ({options})")
            tmp.replace(path)
            written[table] = path
        return written


def _run_row(record: RunRecord) -> list[Any]:
    """The ``runs`` row of a record, in column order."""
    duration = (
        (record.finished_at - record.started_at).total_seconds()
        if record.started_at and record.finished_at
        else None
    )
    return [
        record.run_id,
        record.sweep_id,
        record.scenario_hash,
        canonical_json(dict(record.parameters)),
        record.seed,
        record.paths,
        __version__,
        record.backend,
        record.worker,
        record.started_at,
        record.finished_at,
        duration,
        record.status,
        record.error,
        record.traceback,
    ]


def _abort(con: duckdb.DuckDBPyConnection, exc: BaseException) -> NoReturn:
    """Roll back the open transaction and re-raise; Ctrl-C stays a KeyboardInterrupt.

    DuckDB turns a Ctrl-C that arrives during a statement into its own exception; the sweep
    must see it as the interrupt it is.
    """
    import duckdb

    # Nothing may be left to roll back (the commit had gone through).
    with contextlib.suppress(duckdb.Error):
        con.rollback()
    if _interrupted(exc):
        raise KeyboardInterrupt from exc
    raise exc


def _interrupted(exc: BaseException) -> bool:
    return type(exc).__name__ == "InterruptException" or (
        isinstance(exc, RuntimeError) and "interrupted" in str(exc).lower()
    )


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    return None


def _utcnow() -> datetime:
    from datetime import UTC

    return datetime.now(UTC).replace(tzinfo=None)


@contextmanager
def open_store(path: str | Path, *, read_only: bool = False) -> Iterator[Store]:
    """Open (and for writing, create) a sweep database; closes it on exit.

    Raises
    ------
    InputError
        If a read-only database does not exist, or the file is locked by another process
        (DuckDB allows one writing process at a time).
    """
    import duckdb

    db = Path(path)
    if read_only and not db.is_file():
        raise InputError([Issue(str(db), "", "no such database (run a sweep first)")])
    try:
        con = duckdb.connect(str(db), read_only=read_only)
    except duckdb.IOException as exc:
        message = str(exc)
        if "lock" in message.lower():
            message = "is in use by another process (a running sweep?); try again when it ends"
        raise InputError([Issue(str(db), "", message)]) from None
    except duckdb.Error as exc:
        raise InputError([Issue(str(db), "", f"cannot open the database: {exc}")]) from None
    try:
        # One writer thread: the cores belong to the workers.
        con.execute("SET threads = 1")
        if not read_only:
            con.execute(_DDL)
        yield Store(con, db)
    finally:
        con.close()
