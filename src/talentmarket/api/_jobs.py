"""Background jobs: a registry of kinds and a small runner that persists every state change.

A job kind is a name, a function ``run(scenario_data, options, context) -> {"result": ...,
"summary": ...}`` and an availability check; ``context`` holds what the service decides, never
the request (``sweep_db``: the DuckDB file of sweep runs, inside the service's data).

Each job runs in its own worker process, so that it can be stopped (a job that overruns its
time limit or outlives the service is terminated) and cannot take the service down. Workers
are forked from multiprocessing's fork server, which has imported the library once: a job
starts in milliseconds instead of seconds, and no worker is forked from the service itself,
whose numba threads make a plain fork unsafe.

The runner keeps the queue in memory and every state in the database: ``queued`` ->
``running`` -> ``done`` | ``failed``. Jobs still queued or running when the service stops are
queued again when it starts, so a restart loses nothing.

Kinds: ``simulate`` (``talentmarket.market.simulate_scenario``), ``sweep``
(``talentmarket.runs.sweep``) and ``run`` (``talentmarket.run_scenario``: everything the
scenario asks). A kind whose library function is missing in this version answers a 400
``not_available`` when submitted.
"""

from __future__ import annotations

import copy
import importlib
import json
import logging
import multiprocessing
import os
import queue
import signal
import tempfile
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from types import MappingProxyType
from typing import Any

from talentmarket._errors import TalentMarketError
from talentmarket.api._errors import ServiceError, error_body, from_library
from talentmarket.api._json import jsonable
from talentmarket.api._store import Store

log = logging.getLogger("talentmarket.api")

RunFunction = Callable[[dict[str, Any], dict[str, Any], dict[str, Any]], dict[str, Any]]


@dataclass(frozen=True)
class JobKind:
    """A registered kind of background job.

    name: the ``kind`` of ``POST /api/jobs``. run: ``(scenario data, options, context) ->
    {"result": dict, "summary": dict | None}``, a module-level function (it is pickled by
    reference into the worker process). available: None when the kind can run in this
    version, else why not.
    """

    name: str
    run: RunFunction
    summary: str = ""
    available: Callable[[], str | None] = lambda: None


def _library_function(module: str, name: str, kind: str) -> Callable[[], str | None]:
    def check() -> str | None:
        if hasattr(importlib.import_module(module), name):
            return None
        return (
            f"job kind {kind!r} is not available in this version of talentmarket "
            f"(it needs {module}.{name})"
        )

    return check


def _scenario(data: dict[str, Any]) -> Any:
    from talentmarket.scenario import scenario_from_dict

    return scenario_from_dict(data, "<job>")


def market_flows(result: dict[str, Any], scenario: Any, seed: int | None) -> list[dict[str, Any]]:
    """Moves between labs in a market result, as ``[{"from", "to", "count"}]`` (sorted).

    Uses the result's ``flows`` where it has them (a list of ``{from, to, count}`` or a mapping
    ``{from: {to: count}}``); otherwise derives them from ``assignment`` (lab -> researchers)
    and each researcher's employer in the scenario (``unmatched`` for those without a lab).
    """
    flows = result.get("flows")
    counts: dict[tuple[str, str], float] = {}
    movers_only = isinstance(flows, dict | list)  # flows list movers; stayers come from labs
    if isinstance(flows, dict):
        for src, row in flows.items():
            if isinstance(row, dict):
                for dst, n in row.items():
                    if isinstance(n, int | float):
                        counts[(str(src), str(dst))] = float(n)
    elif isinstance(flows, list):
        for item in flows:
            if not isinstance(item, dict):
                continue
            src = item.get("from", item.get("source", item.get("from_lab")))
            dst = item.get("to", item.get("target", item.get("to_lab")))
            n = item.get("count", item.get("value", item.get("researchers", item.get("n"))))
            if isinstance(n, list):
                n = len(n)
            if src is not None and dst is not None and isinstance(n, int | float):
                counts[(str(src), str(dst))] = counts.get((str(src), str(dst)), 0.0) + float(n)
    elif isinstance(result.get("assignment"), dict):
        from talentmarket.scenario import compile_scenario

        pop = compile_scenario(scenario, seed).population
        lab_ids = tuple(scenario.labs)
        employer = {pid: lab_ids[e] for pid, e in zip(pop.ids, pop.employer.tolist(), strict=True)}
        placed: list[tuple[str, str]] = []
        for lab, people in result["assignment"].items():
            if isinstance(people, list):
                placed.extend((str(p), str(lab)) for p in people)
        for p in result.get("unmatched", []) or []:
            placed.append((str(p), "unmatched"))
        for person, lab in placed:
            src = employer.get(person)
            if src is not None:
                counts[(src, lab)] = counts.get((src, lab), 0.0) + 1.0
    if movers_only and isinstance(result.get("labs"), list):
        # Stayers, from the labs' starting headcounts less those who left.
        for row in result["labs"]:
            if isinstance(row, dict) and isinstance(row.get("headcount_start"), int | float):
                lab = str(row.get("lab"))
                left = sum(n for (src, dst), n in counts.items() if src == lab and dst != lab)
                if row["headcount_start"] - left > 0:
                    counts[(lab, lab)] = float(row["headcount_start"] - left)
    return [
        {"from": src, "to": dst, "count": n} for (src, dst), n in sorted(counts.items()) if n > 0
    ]


def run_simulate(
    data: dict[str, Any], options: dict[str, Any], context: dict[str, Any]
) -> dict[str, Any]:
    """Kind ``simulate``: ``talentmarket.market.simulate_scenario`` on the scenario."""
    market = importlib.import_module("talentmarket.market")
    if options.get("paths") is not None:
        data = copy.deepcopy(data)
        settings = data.setdefault("settings", {})
        settings["paths"] = options["paths"]
    scenario = _scenario(data)
    kwargs = {k: options[k] for k in ("engine", "seed", "rounds") if options.get(k) is not None}
    result = market.simulate_scenario(scenario, **kwargs)
    payload = jsonable(result.to_dict())
    return {
        "result": payload,
        "summary": {"flows": market_flows(payload, scenario, options.get("seed"))},
    }


def sweep_data(data: dict[str, Any], paths: int | None) -> dict[str, Any]:
    """The scenario data a sweep runs on: ``settings.paths`` set where the request gives it."""
    if paths is None:
        return data
    out = copy.deepcopy(data)
    out.setdefault("settings", {})["paths"] = paths
    return out


def run_sweep(
    data: dict[str, Any], options: dict[str, Any], context: dict[str, Any]
) -> dict[str, Any]:
    """Kind ``sweep``: ``talentmarket.runs.sweep`` (local backend, the service's sweep DB)."""
    runs = importlib.import_module("talentmarket.runs")
    result = runs.sweep(
        sweep_data(data, options.get("paths")),
        seeds=options.get("seeds") or 1,
        grid=options.get("set") or {},
        seed=options.get("seed"),
        backend="local",
        workers=context.get("sweep_workers", 1),
        db=context.get("sweep_db") or Path(tempfile.mkdtemp(prefix="talentmarket-")) / "s.duckdb",
    )
    payload = jsonable(result.to_dict())
    return {"result": payload, "summary": payload}


def run_run(
    data: dict[str, Any], options: dict[str, Any], context: dict[str, Any]
) -> dict[str, Any]:
    """Kind ``run``: everything the scenario asks (``talentmarket run``), without files."""
    from talentmarket.runs import run_scenario

    scenario = _scenario(data)
    result = run_scenario(
        scenario,
        seed=options.get("seed"),
        paths=options.get("paths"),
        target=float(options.get("target", 0.5)),
    )
    payload = jsonable(result.to_dict())
    return {
        "result": payload,
        "summary": {
            "expected_acceptances": payload["expected_acceptances"],
            "what_it_takes": result.what_it_takes(),
        },
    }


_KINDS: dict[str, JobKind] = {}
#: Every registered job kind by name (read-only view; add with :func:`register_job_kind`).
JOB_KINDS = MappingProxyType(_KINDS)


def register_job_kind(kind: JobKind, *, replace: bool = False) -> JobKind:
    """Add a job kind; refuses to overwrite a name unless ``replace``."""
    if kind.name in _KINDS and not replace:
        raise ValueError(f"a job kind named {kind.name!r} is registered")
    _KINDS[kind.name] = kind
    return kind


register_job_kind(
    JobKind(
        "simulate",
        run_simulate,
        "a market simulation (rounds, auction or deferred acceptance)",
        _library_function("talentmarket.market", "simulate_scenario", "simulate"),
    )
)
register_job_kind(
    JobKind(
        "sweep",
        run_sweep,
        "many seeded runs over a parameter grid",
        _library_function("talentmarket.runs", "sweep", "sweep"),
    )
)
register_job_kind(JobKind("run", run_run, "everything the scenario asks (talentmarket run)"))


def _child(
    conn: Connection,
    run: RunFunction,
    data: dict[str, Any],
    opts: dict[str, Any],
    context: dict[str, Any],
) -> None:
    """Worker process entry: run one job and send ``(status, JSON text)`` back."""
    if hasattr(os, "setsid"):
        os.setsid()  # its own process group: stopping the job stops the processes it started
    try:
        out = run(data, opts, context)
        conn.send(("ok", json.dumps(jsonable(out), allow_nan=False)))
    except TalentMarketError as exc:
        conn.send(("error", json.dumps(from_library(exc).body())))
    except BaseException as exc:  # report, never hang the parent
        traceback.print_exc()
        body = error_body("job_failed", None, f"{type(exc).__name__}: {exc}")
        conn.send(("error", json.dumps(body)))
    finally:
        conn.close()


def _terminate(process: Any) -> None:
    """Stop a job's process and every process it started (its process group)."""
    if process.pid is not None and hasattr(os, "killpg"):
        try:
            os.killpg(process.pid, signal.SIGTERM)
            return
        except (ProcessLookupError, PermissionError):
            pass
    process.terminate()


class JobRunner:
    """Runs queued jobs, ``workers`` at a time, each in a spawned process.

    Parameters
    ----------
    store : Store
        Where job states and results are written.
    workers : int
        Jobs that may run at once.
    timeout_s : float
        Wall-time limit of one job; an overrunning job is terminated and fails.
    context : dict
        Passed to every job's run function (e.g. ``sweep_db``).
    """

    def __init__(
        self,
        store: Store,
        *,
        workers: int = 1,
        timeout_s: float = 3600.0,
        context: dict[str, Any] | None = None,
    ) -> None:
        self.store = store
        self.context = dict(context or {})
        self.workers = workers
        self.timeout_s = timeout_s
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self._mp = multiprocessing.get_context("forkserver")
        self._pending = 0
        self._lock = threading.Lock()

    @property
    def pending(self) -> int:
        """Jobs queued or running in this runner."""
        with self._lock:
            return self._pending

    def start(self) -> None:
        """Queue again the jobs a previous run left unfinished, and start the workers."""
        # The fork server imports these once (it is started at the first job, single-threaded).
        self._mp.set_forkserver_preload(["talentmarket.api._jobs", "talentmarket.runs"])
        for job_id in self.store.unfinished_jobs():
            self._enqueue(job_id)
        for k in range(self.workers):
            thread = threading.Thread(target=self._work, name=f"tm-jobs-{k}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the workers; a running job's process is terminated (it is queued again at the
        next start)."""
        self._stopping.set()
        for _ in self._threads:
            self._queue.put(None)
        for thread in self._threads:
            thread.join(timeout)
        self._threads.clear()

    def submit(
        self,
        kind: JobKind,
        *,
        scenario: str | None,
        scenario_hash: str | None,
        options: dict[str, Any],
        data: dict[str, Any],
        max_pending: int,
    ) -> str:
        """Record and queue a job; returns its id. ServiceError 429 when the queue is full."""
        with self._lock:
            if self._pending >= max_pending:
                raise ServiceError(
                    429,
                    "too_many_jobs",
                    None,
                    f"{self._pending} jobs are queued or running (at most {max_pending}); "
                    "try again when one has finished",
                )
        job_id = uuid.uuid4().hex
        self.store.create_job(job_id, kind.name, scenario, scenario_hash, options, data)
        self._enqueue(job_id)
        return job_id

    def _enqueue(self, job_id: str) -> None:
        with self._lock:
            self._pending += 1
        self._queue.put(job_id)

    def _work(self) -> None:
        while not self._stopping.is_set():
            job_id = self._queue.get()
            if job_id is None:
                return
            try:
                self._run(job_id)
            except Exception as exc:  # the worker thread must survive whatever happens
                log.exception("job %s could not be run", job_id)
                self._fail_quietly(job_id, f"the job could not be run: {type(exc).__name__}: {exc}")
            finally:
                with self._lock:
                    self._pending -= 1

    def _fail_quietly(self, job_id: str, message: str) -> None:
        try:
            job = self.store.get_job(job_id)
            if job is not None and job.status in {"queued", "running"}:
                self.store.finish_job(job_id, error=error_body("job_failed", None, message))
        except Exception:  # the database itself failed: nothing more to record
            log.exception("job %s: could not record its failure", job_id)

    def _run(self, job_id: str) -> None:
        job = self.store.get_job(job_id)
        data = self.store.job_input(job_id)
        if job is None or data is None or job.status != "queued":
            return
        kind = JOB_KINDS.get(job.kind)
        reason = "unknown job kind" if kind is None else kind.available()
        if kind is None or reason is not None:
            self.store.finish_job(
                job_id, error=error_body("not_available", "kind", reason or "unknown job kind")
            )
            return
        self.store.mark_running(job_id)
        receiver, sender = self._mp.Pipe(duplex=False)
        # Not a daemon: a sweep starts its own process pool, which daemons may not.
        process = self._mp.Process(
            target=_child, args=(sender, kind.run, data, job.params, self.context)
        )
        process.start()
        sender.close()
        deadline = time.monotonic() + self.timeout_s
        outcome: tuple[str, str] | None = None
        try:
            while outcome is None:
                if receiver.poll(0.2):
                    try:
                        outcome = receiver.recv()
                    except EOFError:
                        break
                elif not process.is_alive() and not receiver.poll(0):
                    break
                elif self._stopping.is_set():
                    _terminate(process)
                    return  # left "running": queued again at the next start
                elif time.monotonic() > deadline:
                    _terminate(process)
                    self.store.finish_job(
                        job_id,
                        error=error_body(
                            "timeout", None, f"the job ran longer than {self.timeout_s:g} s"
                        ),
                    )
                    return
        finally:
            receiver.close()
            process.join(5)
        if outcome is None:
            message = f"the job's worker process ended unexpectedly (exit code {process.exitcode})"
            self.store.finish_job(job_id, error=error_body("job_failed", None, message))
            return
        status, text = outcome
        payload = json.loads(text)
        if status == "ok":
            self.store.finish_job(job_id, result=payload["result"], summary=payload.get("summary"))
        else:
            self.store.finish_job(job_id, error=payload)
