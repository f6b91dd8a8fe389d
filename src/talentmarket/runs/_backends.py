"""Where runs execute: a local process pool or a Ray cluster, around one task function.

Both backends call :func:`execute` on a :class:`Job` and yield :class:`Outcome` objects as runs
finish (in completion order; results never depend on it), and ``None`` whenever
``HEARTBEAT_S`` passes with nothing finished, so that the caller can act on time (commit what
it holds). :func:`execute` never raises for a
failing run: the error and its traceback come back in the outcome, so one bad run does not stop
a sweep. A worker process that dies (killed, out of memory) breaks the local pool; the pool is
restarted and the runs that were in flight are resubmitted, up to ``MAX_ATTEMPTS`` times each
(Ray retries tasks of dead workers the same way).

Test hooks (environment variables read by the worker, so tests can time and break runs):
``TALENTMARKET_TEST_RUN_MARK`` (a folder: each run creates ``RUN_ID.PID`` there as it starts),
``TALENTMARKET_TEST_RUN_SLEEP`` (seconds each run sleeps first) and
``TALENTMARKET_TEST_RUN_FAIL`` (comma-separated seeds whose runs raise).
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import socket
import threading
import time
import traceback as tb
from collections import deque
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Protocol

from talentmarket._errors import InputError, Issue
from talentmarket.runs._task import RunTables, run_once

MARK_ENV = "TALENTMARKET_TEST_RUN_MARK"
SLEEP_ENV = "TALENTMARKET_TEST_RUN_SLEEP"
FAIL_ENV = "TALENTMARKET_TEST_RUN_FAIL"

#: How many times a run may be in flight when its worker dies before it is recorded as failed.
MAX_ATTEMPTS = 3

BACKENDS = ("local", "ray")

#: Seconds without a finished run after which ``outcomes`` yields ``None``.
HEARTBEAT_S = 0.25


@dataclass(frozen=True)
class Job:
    """One run to execute: its id, the edited scenario data and the seed."""

    run_id: str
    data: Mapping[str, Any]
    seed: int


@dataclass(frozen=True)
class Outcome:
    """What came back from a run: tables (completed) or an error (failed).

    ``started_at`` / ``finished_at`` are naive UTC datetimes; ``worker`` is ``host:pid``.
    """

    run_id: str
    tables: RunTables | None
    error: str | None
    traceback: str | None
    started_at: datetime | None
    finished_at: datetime | None
    worker: str | None

    @property
    def status(self) -> str:
        """``"completed"`` or ``"failed"``."""
        return "completed" if self.error is None else "failed"


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _limit_threads() -> None:
    # One run per core: numba's parallel loops inside a run would oversubscribe the workers.
    try:
        import numba

        if numba.get_num_threads() != 1:
            numba.set_num_threads(1)
    except (ImportError, ValueError):  # pragma: no cover - numba is a dependency
        pass


def _test_hooks(job: Job) -> None:
    mark = os.environ.get(MARK_ENV)
    if mark:
        with open(os.path.join(mark, f"{job.run_id}.{os.getpid()}"), "w"):
            pass
    sleep = os.environ.get(SLEEP_ENV)
    if sleep:
        time.sleep(float(sleep))
    fail = os.environ.get(FAIL_ENV)
    if fail and str(job.seed) in {s.strip() for s in fail.split(",")}:
        raise RuntimeError(f"injected failure for seed {job.seed} ({FAIL_ENV})")


def execute(job: Job) -> Outcome:
    """Run one job and capture its outcome: the task function of every backend.

    Parameters
    ----------
    job : Job
        Run id, scenario data and seed.

    Returns
    -------
    Outcome
        The run's tables, or its error (``"Type: message"``) and traceback.
    """
    _limit_threads()
    worker = f"{socket.gethostname()}:{os.getpid()}"
    started = _now()
    try:
        _test_hooks(job)
        tables = run_once(job.data, job.seed)
    except Exception as exc:
        return Outcome(
            job.run_id,
            None,
            f"{type(exc).__name__}: {exc}",
            tb.format_exc(),
            started,
            _now(),
            worker,
        )
    return Outcome(job.run_id, tables, None, None, started, _now(), worker)


def _lost(job: Job, why: str) -> Outcome:
    return Outcome(job.run_id, None, why, None, None, None, None)


class Backend(Protocol):
    """Runs jobs somewhere and yields their outcomes as they finish."""

    name: str
    workers: int

    def __enter__(self) -> Backend: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None: ...

    def outcomes(self, jobs: Sequence[Job]) -> Iterator[Outcome | None]: ...


def _init_worker() -> None:
    """Set up a pool worker: parent handles Ctrl-C; the worker dies with its parent."""
    # Ctrl-C reaches the whole process group; only the parent decides what to do with it.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _limit_threads()
    # A pool worker blocks on its task queue forever if the parent is killed (SIGKILL, OOM):
    # watch for the parent's death and leave, so no orphan keeps memory or pipes open.
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, name="talentmarket-parent-watch", daemon=True).start()


class LocalBackend:
    """A pool of ``workers`` processes (spawned, whatever the global start method)."""

    name = "local"

    def __init__(self, workers: int | None = None) -> None:
        self.workers = max(1, workers or _cpu_count())
        self._pool: ProcessPoolExecutor | None = None

    def _start(self) -> ProcessPoolExecutor:
        self._pool = ProcessPoolExecutor(
            max_workers=self.workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_init_worker,
        )
        return self._pool

    def __enter__(self) -> LocalBackend:
        self._start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stop(now=exc_type is not None)

    def _stop(self, *, now: bool) -> None:
        pool, self._pool = self._pool, None
        if pool is None:
            return
        if not now:
            pool.shutdown(wait=True)
            return
        # Interrupted: drop queued runs and end the ones in flight instead of waiting for them.
        # ProcessPoolExecutor has no public way to stop busy workers before Python 3.14.
        processes = list((getattr(pool, "_processes", None) or {}).values())
        pool.shutdown(wait=False, cancel_futures=True)
        for process in processes:
            if process.is_alive():
                process.terminate()
        for process in processes:
            process.join(timeout=5)

    def outcomes(self, jobs: Sequence[Job]) -> Iterator[Outcome | None]:
        """Yield each job's outcome as it finishes (``None`` on a quiet heartbeat); restart
        the pool if a worker dies."""
        queue = deque(jobs)
        attempts: dict[str, int] = {}
        inflight: dict[Future[Outcome], Job] = {}
        limit = 2 * self.workers  # keep every worker busy while the parent writes

        def lose(job: Job) -> None:
            queue.appendleft(job)
            attempts[job.run_id] = attempts.get(job.run_id, 0) + 1

        while queue or inflight:
            pool = self._pool or self._start()
            broken = False
            while queue and len(inflight) < limit:
                try:
                    future = pool.submit(execute, queue[0])
                except BrokenProcessPool:  # a worker died since the last wait
                    broken = True
                    break
                inflight[future] = queue.popleft()
            if not broken:
                done, _ = wait(inflight, timeout=HEARTBEAT_S, return_when=FIRST_COMPLETED)
                if not done:
                    yield None
                for future in done:
                    job = inflight.pop(future)
                    try:
                        outcome = future.result()
                    except BrokenProcessPool:
                        broken = True
                        lose(job)
                        continue
                    except Exception as exc:  # the outcome did not make it back
                        outcome = _lost(job, f"{type(exc).__name__}: {exc}")
                    yield outcome
            if not broken:
                continue
            # A worker died: every run still in flight is lost with the pool. Collect the
            # ones that finished meanwhile, resubmit the rest on a fresh pool.
            finished, _ = wait(inflight)
            for future in finished:
                job = inflight.pop(future)
                if future.exception() is None:
                    yield future.result()
                else:
                    lose(job)
            self._stop(now=True)
            for job in list(queue):
                if attempts.get(job.run_id, 0) >= MAX_ATTEMPTS:
                    queue.remove(job)
                    yield _lost(
                        job,
                        f"WorkerDied: a worker process died {MAX_ATTEMPTS} times while "
                        "running this run (killed, or out of memory?)",
                    )


class RayBackend:
    """Ray tasks: a local instance sized to the machine, or an existing cluster (``address``).

    If Ray is already initialized in this process, that instance is used (and left running).
    """

    name = "ray"

    def __init__(self, workers: int | None = None, address: str | None = None) -> None:
        self.requested = workers
        self.address = address
        self.workers = workers or 1
        self._started = False
        self._ray: Any = None
        self._cpus = 0

    def __enter__(self) -> RayBackend:
        try:
            import ray
        except ImportError:
            raise InputError(
                [
                    Issue(
                        "--backend",
                        "ray",
                        "Ray is not installed: pip install 'talentmarket[ray]'",
                    )
                ]
            ) from None
        self._ray = ray
        if not ray.is_initialized():
            if self.address:
                try:
                    ray.init(address=self.address, log_to_driver=False)
                except (ConnectionError, RuntimeError, ValueError) as exc:
                    raise InputError(
                        [
                            Issue(
                                "--address",
                                self.address,
                                f"cannot join the Ray cluster: {exc} (is it running, and do "
                                "RAY_AUTH_MODE / RAY_AUTH_TOKEN match the cluster's?)",
                            )
                        ]
                    ) from None
            else:
                ray.init(
                    address="local",
                    num_cpus=_cpu_count(),
                    include_dashboard=False,
                    log_to_driver=False,
                )
            self._started = True
        resources: dict[str, float] = ray.cluster_resources()  # type: ignore[no-untyped-call]
        self._cpus = int(resources.get("CPU", 1))
        self.workers = max(1, self.requested or self._cpus)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._started and self._ray is not None:
            self._ray.shutdown()
            self._started = False

    def outcomes(self, jobs: Sequence[Job]) -> Iterator[Outcome | None]:
        """Yield each job's outcome as it finishes (at most ``workers`` running at once;
        ``None`` on a quiet heartbeat)."""
        ray = self._ray
        task = _ray_task(ray)
        queue = deque(jobs)
        inflight: dict[Any, Job] = {}
        # Where Ray's CPUs already cap the runs at ``workers``, queue a few more tasks so that no
        # worker waits for the next one; otherwise in flight is what runs.
        limit = 2 * self.workers if self.workers >= self._cpus else self.workers

        def refill() -> None:
            while queue and len(inflight) < limit:
                job = queue.popleft()
                inflight[task.remote(job)] = job

        try:
            refill()
            while inflight:
                ready, _ = ray.wait(list(inflight), num_returns=1, timeout=HEARTBEAT_S)
                if not ready:
                    yield None
                for ref in ready:
                    job = inflight.pop(ref)
                    # Keep the workers busy while the parent writes this run.
                    refill()
                    try:
                        yield ray.get(ref)
                    except ray.exceptions.RayError as exc:
                        yield _lost(job, f"{type(exc).__name__}: {exc}")
        finally:
            for ref in inflight:
                ray.cancel(ref, force=True)


_RAY_TASKS: dict[int, Any] = {}


def _ray_task(ray: Any) -> Any:
    """``execute`` as a Ray remote function (one CPU; retried if its worker dies)."""
    key = id(ray)
    if key not in _RAY_TASKS:
        _RAY_TASKS[key] = ray.remote(num_cpus=1, max_retries=MAX_ATTEMPTS - 1)(execute)
    return _RAY_TASKS[key]


def _cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def make_backend(name: str, *, workers: int | None = None, address: str | None = None) -> Backend:
    """The backend called ``name`` (``"local"`` or ``"ray"``); raises InputError otherwise."""
    if workers is not None and workers < 1:
        raise InputError([Issue("--workers", str(workers), "must be at least 1")])
    if name == "local":
        if address:
            raise InputError([Issue("--address", address, "only applies to --backend ray")])
        return LocalBackend(workers)
    if name == "ray":
        return RayBackend(workers, address)
    raise InputError([Issue("--backend", name, f"expected one of {', '.join(BACKENDS)}")])
