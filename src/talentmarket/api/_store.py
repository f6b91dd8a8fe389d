"""The service's results database (DuckDB): saved scenarios and background jobs.

Two tables (prefixed ``service_``, so that the file may also hold other talentmarket results),
written in transactions under one lock (a DuckDB connection is not meant to be shared by threads
without one):

- ``service_scenarios(name, data, hash, description, created_at, updated_at)``: validated
  scenarios as the JSON the client sent (amounts such as "200M" kept), keyed by their name;
- ``service_jobs(id, kind, status, scenario, scenario_hash, params, input, result, summary, error,
  created_at, started_at, finished_at)``: every job, the scenario data it runs on (``input``,
  a snapshot, so that a queued job survives a restart and later edits) and its outcome.

Times are ISO 8601 UTC strings with milliseconds (they sort as text). DuckDB holds a lock on
the file, so one service owns one database at a time.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

SCHEMA_VERSION = "1"

_DDL = (
    """CREATE TABLE IF NOT EXISTS service_meta (key VARCHAR PRIMARY KEY, value VARCHAR)""",
    """CREATE TABLE IF NOT EXISTS service_scenarios (
        name VARCHAR PRIMARY KEY,
        data VARCHAR NOT NULL,
        hash VARCHAR NOT NULL,
        description VARCHAR NOT NULL,
        created_at VARCHAR NOT NULL,
        updated_at VARCHAR NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS service_jobs (
        id VARCHAR PRIMARY KEY,
        kind VARCHAR NOT NULL,
        status VARCHAR NOT NULL,
        scenario VARCHAR,
        scenario_hash VARCHAR,
        params VARCHAR NOT NULL,
        input VARCHAR NOT NULL,
        result VARCHAR,
        summary VARCHAR,
        error VARCHAR,
        created_at VARCHAR NOT NULL,
        started_at VARCHAR,
        finished_at VARCHAR
    )""",
)


def now() -> str:
    """The current UTC time, ISO 8601 with milliseconds and ``Z``."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class StoredScenario:
    """A saved scenario: its JSON data as sent, content hash and times."""

    name: str
    data: dict[str, Any]
    hash: str
    description: str
    created_at: str
    updated_at: str


@dataclass(frozen=True)
class StoredJob:
    """A job row; ``params``, ``result``, ``summary`` and ``error`` decoded from JSON."""

    id: str
    kind: str
    status: str
    scenario: str | None
    scenario_hash: str | None
    params: dict[str, Any]
    result: dict[str, Any] | None
    summary: dict[str, Any] | None
    error: dict[str, Any] | None
    created_at: str
    started_at: str | None
    finished_at: str | None

    def to_dict(self, *, with_result: bool = True) -> dict[str, Any]:
        """The JSON shape of ``GET /api/jobs/{id}``."""
        out: dict[str, Any] = {
            "id": self.id,
            "kind": self.kind,
            "status": self.status,
            "scenario": self.scenario,
            "scenario_hash": self.scenario_hash,
            "params": self.params,
            "created_at": self.created_at,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "summary": self.summary,
            "error": self.error,
        }
        if with_result:
            out["result"] = self.result
        return out


def _loads(text: str | None) -> Any:
    return None if text is None else json.loads(text)


_JOB_COLUMNS = (
    "id, kind, status, scenario, scenario_hash, params, result, summary, error, created_at, "
    "started_at, finished_at"
)


class Store:
    """Saved scenarios and jobs in one DuckDB file (or ``":memory:"``).

    Parameters
    ----------
    path : str or Path
        The database file; created with its tables if new.

    Raises
    ------
    OSError
        If the file cannot be opened (another process holds it, a missing folder ...).
    """

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        try:
            self._con = duckdb.connect(self.path)
        except duckdb.Error as exc:
            raise OSError(0, f"cannot open the database: {exc}", self.path) from None
        self._lock = threading.Lock()
        with self._transaction() as con:
            for ddl in _DDL:
                con.execute(ddl)
            con.execute(
                "INSERT INTO service_meta VALUES ('schema_version', ?) ON CONFLICT DO NOTHING",
                [SCHEMA_VERSION],
            )

    class _Tx:
        def __init__(self, store: Store) -> None:
            self.store = store

        def __enter__(self) -> duckdb.DuckDBPyConnection:
            self.store._lock.acquire()
            self.store._con.execute("BEGIN TRANSACTION")
            return self.store._con

        def __exit__(self, kind: object, exc: object, tb: object) -> None:
            try:
                self.store._con.execute("COMMIT" if exc is None else "ROLLBACK")
            finally:
                self.store._lock.release()

    def _transaction(self) -> Store._Tx:
        return Store._Tx(self)

    def close(self) -> None:
        """Close the connection (idempotent)."""
        with self._lock:
            self._con.close()

    # --- scenarios ------------------------------------------------------------------------

    def save_scenario(self, name: str, data: dict[str, Any], hash_: str, description: str) -> bool:
        """Insert or replace a scenario; returns True if the name is new."""
        stamp = now()
        with self._transaction() as con:
            existed = con.execute(
                "SELECT 1 FROM service_scenarios WHERE name = ?", [name]
            ).fetchone()
            con.execute(
                "INSERT INTO service_scenarios VALUES (?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (name) DO UPDATE SET data = excluded.data, hash = excluded.hash, "
                "description = excluded.description, updated_at = excluded.updated_at",
                [name, json.dumps(data, sort_keys=True), hash_, description, stamp, stamp],
            )
        return existed is None

    def get_scenario(self, name: str) -> StoredScenario | None:
        """The saved scenario of that name, or None."""
        with self._transaction() as con:
            row = con.execute(
                "SELECT name, data, hash, description, created_at, updated_at "
                "FROM service_scenarios WHERE name = ?",
                [name],
            ).fetchone()
        if row is None:
            return None
        return StoredScenario(row[0], json.loads(row[1]), row[2], row[3], row[4], row[5])

    def list_scenarios(self) -> list[tuple[str, str, str, str]]:
        """(name, hash, description, updated_at) of every saved scenario, by name."""
        with self._transaction() as con:
            rows = con.execute(
                "SELECT name, hash, description, updated_at FROM service_scenarios ORDER BY name"
            ).fetchall()
        return [(str(r[0]), str(r[1]), str(r[2]), str(r[3])) for r in rows]

    def count_scenarios(self) -> int:
        with self._transaction() as con:
            row = con.execute("SELECT count(*) FROM service_scenarios").fetchone()
        return int(row[0]) if row else 0

    # --- jobs -----------------------------------------------------------------------------

    def create_job(
        self,
        job_id: str,
        kind: str,
        scenario: str | None,
        scenario_hash: str | None,
        params: dict[str, Any],
        input_data: dict[str, Any],
    ) -> None:
        """Record a new queued job with its options and the scenario data it runs on."""
        with self._transaction() as con:
            con.execute(
                "INSERT INTO service_jobs (id, kind, status, scenario, scenario_hash, params, "
                "input, created_at) VALUES (?, ?, 'queued', ?, ?, ?, ?, ?)",
                [
                    job_id,
                    kind,
                    scenario,
                    scenario_hash,
                    json.dumps(params),
                    json.dumps(input_data),
                    now(),
                ],
            )

    def mark_running(self, job_id: str) -> None:
        with self._transaction() as con:
            con.execute(
                "UPDATE service_jobs SET status = 'running', started_at = ? WHERE id = ?",
                [now(), job_id],
            )

    def finish_job(
        self,
        job_id: str,
        *,
        result: dict[str, Any] | None = None,
        summary: dict[str, Any] | None = None,
        error: dict[str, Any] | None = None,
    ) -> None:
        """Record a job's outcome: ``done`` with its result, or ``failed`` with its error."""
        status = "failed" if error is not None else "done"
        with self._transaction() as con:
            con.execute(
                "UPDATE service_jobs SET status = ?, result = ?, summary = ?, error = ?, "
                "finished_at = ? WHERE id = ?",
                [
                    status,
                    None if result is None else json.dumps(result, allow_nan=False),
                    None if summary is None else json.dumps(summary, allow_nan=False),
                    None if error is None else json.dumps(error),
                    now(),
                    job_id,
                ],
            )

    def job_input(self, job_id: str) -> dict[str, Any] | None:
        """The scenario data a job runs on, or None if there is no such job."""
        with self._transaction() as con:
            row = con.execute("SELECT input FROM service_jobs WHERE id = ?", [job_id]).fetchone()
        return None if row is None else dict(json.loads(row[0]))

    def get_job(self, job_id: str) -> StoredJob | None:
        with self._transaction() as con:
            row = con.execute(
                f"SELECT {_JOB_COLUMNS} FROM service_jobs WHERE id = ?", [job_id]
            ).fetchone()
        return None if row is None else _job(row)

    def list_jobs(
        self,
        *,
        scenario: str | None = None,
        kind: str | None = None,
        status: str | None = None,
        limit: int = 20,
    ) -> list[StoredJob]:
        """Jobs, newest first (ties by id), without their results."""
        where, args = [], []
        for column, value in (("scenario", scenario), ("kind", kind), ("status", status)):
            if value is not None:
                where.append(f"{column} = ?")
                args.append(value)
        clause = f"WHERE {' AND '.join(where)}" if where else ""
        columns = _JOB_COLUMNS.replace("result,", "NULL AS result,")
        with self._transaction() as con:
            rows = con.execute(
                f"SELECT {columns} FROM service_jobs {clause} ORDER BY created_at DESC, id LIMIT ?",
                [*args, limit],
            ).fetchall()
        return [_job(r) for r in rows]

    def count_jobs(self) -> dict[str, int]:
        """Number of jobs by status."""
        with self._transaction() as con:
            rows = con.execute(
                "SELECT status, count(*) FROM service_jobs GROUP BY status"
            ).fetchall()
        out = {"queued": 0, "running": 0, "done": 0, "failed": 0}
        out.update({str(s): int(n) for s, n in rows})
        return out

    def unfinished_jobs(self) -> list[str]:
        """Ids of jobs queued or running (e.g. when the service stopped), oldest first; they
        are set back to ``queued``."""
        with self._transaction() as con:
            rows = con.execute(
                "SELECT id FROM service_jobs WHERE status IN ('queued', 'running') "
                "ORDER BY created_at, id"
            ).fetchall()
            con.execute(
                "UPDATE service_jobs SET status = 'queued', started_at = NULL "
                "WHERE status = 'running'"
            )
        return [str(r[0]) for r in rows]


def _job(row: tuple[Any, ...]) -> StoredJob:
    return StoredJob(
        id=row[0],
        kind=row[1],
        status=row[2],
        scenario=row[3],
        scenario_hash=row[4],
        params=json.loads(row[5]),
        result=_loads(row[6]),
        summary=_loads(row[7]),
        error=_loads(row[8]),
        created_at=row[9],
        started_at=row[10],
        finished_at=row[11],
    )
