"""The FastAPI application: routes, error answers, the token and body-size guard, the dashboard.

``create_app(db=..., token=...)`` builds an application over a results database. Routes:

- ``GET /health``; ``GET /api/schema`` (the scenario format's JSON Schema);
- ``GET /api/scenarios``, ``POST /api/scenarios`` (body: a scenario; answers its name),
  ``GET /api/scenarios/{name}``;
- ``POST /api/{value|decide|price|counter|design}`` with ``{"scenario": NAME_OR_OBJECT,
  ...options}``: the same JSON as ``talentmarket COMMAND --json``;
- ``POST /api/whatif``: the dashboard's what-if;
- ``POST /api/jobs`` (``{"kind": "simulate" | "sweep" | "run", ...}``), ``GET /api/jobs``,
  ``GET /api/jobs/{id}``;
- ``GET /``: the what-if dashboard (scripts, styles and plotly.js served by the app itself).

Every 4xx answer is ``{"error", "field", "message", "errors"}``. Computations run in a thread
pool, off the event loop; answers are cached (they are deterministic in the scenario's hash and
the options).
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from http.cookies import SimpleCookie
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, TypeVar
from urllib.parse import parse_qs

from fastapi import Body, FastAPI, Query, Request
from fastapi import Path as PathParam
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from talentmarket import __version__
from talentmarket._errors import TalentMarketError
from talentmarket.api._errors import ServiceError, error_body, from_library, from_validation
from talentmarket.api._jobs import JOB_KINDS, JobRunner, sweep_data
from talentmarket.api._json import dumps
from talentmarket.api._schemas import (
    DEFAULT_LIMITS,
    JOB_ID_PATTERN,
    NAME_PATTERN,
    CounterRequest,
    DecideRequest,
    DecideResponse,
    DesignRequest,
    DesignResponse,
    ErrorBody,
    Health,
    Job,
    JobList,
    JobRequest,
    Limits,
    PriceRequest,
    PriceResponse,
    SavedScenario,
    ScenarioDocument,
    ScenarioList,
    SimulateJob,
    SweepJob,
    ValueRequest,
    ValueResponse,
    WhatIfRequest,
    WhatIfResponse,
)
from talentmarket.api._service import Resolved, Service, validate_name
from talentmarket.api._store import Store
from talentmarket.api._whatif import whatif

log = logging.getLogger("talentmarket.api")

TOKEN_COOKIE = "talentmarket_token"
TOKEN_HEADER = "x-talentmarket-token"
#: Rounds assumed for the size cap of a simulation that does not say.
DEFAULT_ROUNDS = 20
JSON = "application/json"

R = TypeVar("R")


def _errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    described = {
        400: "Not available in this version",
        401: "Missing or wrong token",
        404: "No such scenario or job",
        409: "Name taken by a built-in scenario, or the store is full",
        413: "Request body too large",
        422: "Invalid request: the field at fault and why",
        429: "Too many jobs queued",
    }
    return {c: {"model": ErrorBody, "description": described[c]} for c in (401, 413, *codes)}


def _static_dir() -> Path:
    return Path(str(resources.files("talentmarket.api") / "static"))


def _plotly_js() -> Path:
    import plotly

    return Path(plotly.__file__).parent / "package_data" / "plotly.min.js"


class _Guard:
    """Pure ASGI middleware: the token (when set) and the body-size cap, as JSON 4xx answers.

    The token may come as ``Authorization: Bearer T``, an ``X-Talentmarket-Token`` header, a
    ``talentmarket_token`` cookie or a ``token`` query parameter; a page loaded with the query
    parameter gets the cookie, so that its scripts and API calls carry it.
    """

    def __init__(self, app: ASGIApp, token: str | None, max_body: int) -> None:
        self.app = app
        self.token = token
        self.max_body = max_body

    async def _answer(self, send: Send, status: int, body: dict[str, Any]) -> None:
        payload = dumps(body)
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", JSON.encode()),
                    (b"content-length", str(len(payload)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": payload})

    def _presented(self, scope: Scope) -> tuple[str | None, bool]:
        """(token the request carries, whether it came in the query string)."""
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        auth = headers.get("authorization", "")
        if auth.lower().startswith("bearer "):
            return auth[7:].strip(), False
        if TOKEN_HEADER in headers:
            return headers[TOKEN_HEADER], False
        if "cookie" in headers:
            cookie: SimpleCookie = SimpleCookie()
            try:
                cookie.load(headers["cookie"])
            except Exception:  # a malformed cookie header is simply not a token
                cookie = SimpleCookie()
            if TOKEN_COOKIE in cookie:
                return cookie[TOKEN_COOKIE].value, False
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        if "token" in query:
            return query["token"][0], True
        return None, False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        set_cookie = False
        if self.token is not None:
            given, from_query = self._presented(scope)
            if given is None or not hmac.compare_digest(given.encode(), self.token.encode()):
                await self._answer(
                    send,
                    401,
                    error_body(
                        "unauthorized",
                        "token",
                        "this service needs its token: Authorization: Bearer TOKEN, an "
                        "X-Talentmarket-Token header, or ?token=TOKEN in the page address",
                    ),
                )
                return
            set_cookie = from_query
        if scope["method"] in {"POST", "PUT", "PATCH"}:
            replay = await self._buffered(scope, receive, send)
            if replay is None:
                return
            receive = replay
        if set_cookie:
            send = self._with_cookie(send)
        await self.app(scope, receive, send)

    def _with_cookie(self, send: Send) -> Send:
        cookie = f"{TOKEN_COOKIE}={self.token}; Path=/; HttpOnly; SameSite=Strict".encode()

        async def wrapped(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message["headers"], (b"set-cookie", cookie)]}
            await send(message)

        return wrapped

    async def _buffered(self, scope: Scope, receive: Receive, send: Send) -> Receive | None:
        """Read the body up to the cap; answer 413 beyond it; replay it to the app."""
        too_large = error_body(
            "too_large",
            "body",
            f"the request body is larger than {self.max_body:,} bytes",
        )
        for name, value in scope["headers"]:
            if name.lower() == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = 0
                if declared > self.max_body:
                    await self._answer(send, 413, too_large)
                    return None
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                await self._answer(send, 413, too_large)
                return None
            chunks.append(chunk)
            more = bool(message.get("more_body", False))
        body = b"".join(chunks)
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        return replay


def create_app(
    db: str | Path = "talentmarket.duckdb",
    token: str | None = None,
    *,
    limits: Limits = DEFAULT_LIMITS,
    compute_threads: int = 2,
    job_workers: int = 1,
) -> FastAPI:
    """The talentmarket web service over the results database ``db``.

    Parameters
    ----------
    db : str or Path
        DuckDB file holding saved scenarios and jobs (created if new; ``":memory:"`` keeps
        nothing).
    token : str or None
        When given, every request must carry it (see the module docstring).
    limits : Limits
        Caps on body size, paths, researchers and simulation size.
    compute_threads : int
        Threads that run computations off the event loop.
    job_workers : int
        Background jobs that may run at once (each in its own process).

    Returns
    -------
    FastAPI
        The application; run it with uvicorn (``talentmarket serve``).

    Raises
    ------
    OSError
        If the database cannot be opened.
    """
    store = Store(db)
    service = Service(store, limits)
    runner = JobRunner(
        store,
        workers=job_workers,
        timeout_s=limits.job_timeout_s,
        context={"sweep_db": _sweep_db(db), "sweep_workers": 1},
    )
    executor = ThreadPoolExecutor(max_workers=compute_threads, thread_name_prefix="tm-compute")
    static = _static_dir()
    index_html = (static / "index.html").read_text(encoding="utf-8")

    def warm_up() -> None:
        # Load numba's compiled kernels before the first real request needs them.
        try:
            resolved = service.builtin("meta-tml-2025")
            valuation = service.valuation(resolved, None, 200)
            from talentmarket.choice import decide

            decide(valuation)
        except Exception:  # warming up is an optimization, never a failure
            log.exception("warm-up failed")

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        runner.start()
        executor.submit(warm_up)
        try:
            yield
        finally:
            runner.stop()
            executor.shutdown(wait=False, cancel_futures=True)
            store.close()

    app = FastAPI(
        title="talentmarket",
        version=__version__,
        summary="Value offers, predict decisions, price people, simulate markets.",
        description=(
            "The talentmarket web service. Requests mirror the command line: "
            '`{"scenario": NAME_OR_OBJECT, ...options}`, answers are the JSON of '
            "`talentmarket COMMAND --json`. Errors are 4xx JSON bodies naming the field. "
            "When the service runs with a token, send it as `Authorization: Bearer TOKEN`."
        ),
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    app.state.service = service
    app.state.runner = runner
    app.state.store = store

    # --- error answers -----------------------------------------------------------------

    @app.exception_handler(ServiceError)
    async def _service_error(_: Request, exc: ServiceError) -> JSONResponse:
        return JSONResponse(exc.body(), status_code=exc.status)

    @app.exception_handler(TalentMarketError)
    async def _library_error(_: Request, exc: TalentMarketError) -> JSONResponse:
        err = from_library(exc)
        return JSONResponse(err.body(), status_code=err.status)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        err = from_validation(exc.errors())
        return JSONResponse(err.body(), status_code=err.status)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 400:  # a body FastAPI could not decode: invalid like any other
            err = ServiceError(422, "invalid_request", "body", f"not valid JSON: {exc.detail}")
            return JSONResponse(err.body(), status_code=422)
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return JSONResponse(
            error_body(code, None, str(exc.detail)),
            status_code=exc.status_code,
            headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        # A bug, not bad input: logged with its traceback, answered without one.
        log.error("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
        body = error_body("internal", None, "internal error; the service log has the details")
        return JSONResponse(body, status_code=500)

    # --- helpers -----------------------------------------------------------------------

    async def compute(fn: Callable[[], R]) -> R:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(executor, fn)

    async def resolve(ref: str | dict[str, Any]) -> Resolved:
        if isinstance(ref, str):
            name = ref.removeprefix("builtin:")
            if service.is_builtin(name):
                return service.builtin(name)  # cached after the first read
        return await run_in_threadpool(service.resolve, ref)

    async def answer(
        command: str,
        req: Any,
        fn: Callable[[Resolved, Any], dict[str, Any]],
    ) -> Response:
        resolved = await resolve(req.scenario)
        key = (command, resolved.hash, req.model_dump_json(exclude={"scenario"}))
        body = service.responses.peek(key)
        if body is None:

            def run() -> bytes:
                return service.responses.get(key, lambda: dumps(fn(resolved, req)))

            body = await compute(run)
        return Response(body, media_type=JSON)

    def not_found(field: str, message: str) -> ServiceError:
        return ServiceError(404, "not_found", field, message)

    # --- pages -------------------------------------------------------------------------

    @app.get("/", include_in_schema=False)
    async def index() -> HTMLResponse:
        return HTMLResponse(index_html, headers={"Cache-Control": "no-cache"})

    @app.get("/static/vendor/plotly.min.js", include_in_schema=False)
    async def plotly_js() -> FileResponse:
        return FileResponse(
            _plotly_js(),
            media_type="text/javascript",
            headers={"Cache-Control": "public, max-age=86400"},
        )

    app.mount("/static", StaticFiles(directory=static), name="static")

    # --- service -----------------------------------------------------------------------

    @app.get("/health", response_model=Health, responses=_errors(), tags=["service"])
    async def health() -> dict[str, Any]:
        """Liveness, version, saved scenarios and jobs by status, job kinds available."""
        saved = await run_in_threadpool(store.count_scenarios)
        jobs = await run_in_threadpool(store.count_jobs)
        kinds = {}
        for name, kind in sorted(JOB_KINDS.items()):
            reason = kind.available()
            kinds[name] = {"available": reason is None, "reason": reason, "summary": kind.summary}
        return {
            "status": "ok",
            "version": __version__,
            "saved_scenarios": saved,
            "jobs": jobs,
            "job_kinds": kinds,
        }

    @app.get("/api/schema", responses=_errors(), tags=["scenarios"])
    async def schema() -> dict[str, Any]:
        """The JSON Schema of the scenario format (``talentmarket schema``)."""
        from talentmarket.scenario import scenario_json_schema

        return scenario_json_schema()

    # --- scenarios ---------------------------------------------------------------------

    @app.get("/api/scenarios", response_model=ScenarioList, responses=_errors(), tags=["scenarios"])
    async def list_scenarios() -> dict[str, Any]:
        """Built-in and saved scenarios."""
        items: list[dict[str, Any]] = []
        for name in service.builtin_names:
            resolved = await run_in_threadpool(service.builtin, name)
            items.append(
                {
                    "name": name,
                    "source": "builtin",
                    "description": resolved.scenario.description,
                    "hash": resolved.hash,
                    "updated_at": None,
                }
            )
        for name, hash_, description, updated in await run_in_threadpool(store.list_scenarios):
            items.append(
                {
                    "name": name,
                    "source": "saved",
                    "description": description,
                    "hash": hash_,
                    "updated_at": updated,
                }
            )
        return {"scenarios": items}

    @app.post(
        "/api/scenarios",
        status_code=201,
        response_model=SavedScenario,
        responses=_errors(409, 422),
        tags=["scenarios"],
    )
    async def save_scenario(
        scenario: Annotated[
            dict[str, Any],
            Body(
                description="A scenario in the scenario format (see GET /api/schema); saved "
                "under its name (1-64 letters, digits, '.', '_', '-'), replacing a saved "
                "scenario of that name.",
                examples=[
                    {
                        "name": "one-offer",
                        "labs": {"a": {"equity": {"type": "public", "price_usd": 100}}, "b": {}},
                        "researchers": {"ada": {"employer": "b", "wealth_usd": "5M"}},
                        "offers": {"o": {"from": "a", "to": "ada", "package": {"base_usd": "1M"}}},
                    }
                ],
            ),
        ],
    ) -> dict[str, Any]:
        """Validate and save a scenario; answers its name and content hash."""
        resolved, created = await run_in_threadpool(service.save, scenario)
        s = resolved.scenario
        return {
            "name": s.name,
            "hash": resolved.hash,
            "created": created,
            "labs": len(s.labs),
            "researchers": resolved.researchers,
            "offers": len(s.offers),
        }

    @app.get(
        "/api/scenarios/{name}",
        response_model=ScenarioDocument,
        responses=_errors(404, 422),
        tags=["scenarios"],
    )
    async def get_scenario(name: Annotated[str, PathParam(max_length=200)]) -> dict[str, Any]:
        """A built-in or saved scenario: its data as written, hash and description."""
        validate_name(name.removeprefix("builtin:"), "name")
        try:
            resolved = await resolve(name)
        except ServiceError as exc:
            if exc.status == 404:
                raise not_found("name", exc.message) from None
            raise
        return {
            "name": resolved.name,
            "source": resolved.source,
            "hash": resolved.hash,
            "description": resolved.scenario.description,
            "data": resolved.data,
        }

    # --- commands ----------------------------------------------------------------------

    command_errors = _errors(404, 422)

    @app.post(
        "/api/value", response_model=ValueResponse, responses=command_errors, tags=["commands"]
    )
    async def value(req: ValueRequest) -> Response:
        """Package values: headline, expected PV, quantiles, employer cost, CE."""
        return await answer("value", req, service.value)

    @app.post(
        "/api/decide", response_model=DecideResponse, responses=command_errors, tags=["commands"]
    )
    async def decide(req: DecideRequest) -> Response:
        """Probability that each approached researcher accepts, and why (per factor)."""
        return await answer("decide", req, service.decide)

    @app.post(
        "/api/price", response_model=PriceResponse, responses=command_errors, tags=["commands"]
    )
    async def price(req: PriceRequest) -> Response:
        """The smallest scale of an offer that wins each recipient, or that no amount does."""
        return await answer("price", req, service.price)

    @app.post(
        "/api/counter", response_model=PriceResponse, responses=command_errors, tags=["commands"]
    )
    async def counter(req: CounterRequest) -> Response:
        """The smallest retention package that keeps each recipient against an outside offer."""
        return await answer("counter", req, service.counter)

    @app.post(
        "/api/design", response_model=DesignResponse, responses=command_errors, tags=["commands"]
    )
    async def design(req: DesignRequest) -> Response:
        """The package mix that maximizes P(accept) at the same expected cost to the employer."""
        return await answer("design", req, service.design)

    @app.post(
        "/api/whatif", response_model=WhatIfResponse, responses=command_errors, tags=["commands"]
    )
    async def what_if(req: WhatIfRequest) -> Response:
        """One offer to one researcher, edited (scale, mix, front-loading, leader, mission):
        P(accept), waterfall, value distribution, response curve and what it would take."""
        return await answer("whatif", req, lambda r, q: whatif(service, r, q))

    # --- jobs --------------------------------------------------------------------------

    @app.post(
        "/api/jobs",
        status_code=202,
        response_model=Job,
        responses=_errors(400, 404, 422, 429),
        tags=["jobs"],
    )
    async def submit_job(req: Annotated[JobRequest, Body()]) -> JSONResponse:
        """Start a market simulation, a sweep or a run as a background job; poll
        ``GET /api/jobs/{id}`` for its state and result."""
        kind = JOB_KINDS[req.kind]
        reason = kind.available()
        if reason is not None:
            raise ServiceError(400, "not_available", "kind", reason)
        resolved = await resolve(req.scenario)
        paths = service.check_size(resolved, req.paths)
        if isinstance(req, SimulateJob):
            market = getattr(resolved.scenario, "market", None)
            asked: Any = req.rounds or getattr(market, "rounds", None) or DEFAULT_ROUNDS
            rounds = int(asked)
            _check_simulation(paths, resolved.researchers, rounds, "rounds", "rounds", limits)
        elif isinstance(req, SweepJob):
            runs = await run_in_threadpool(_plan_sweep, resolved, req, limits)
            _check_simulation(paths, resolved.researchers, runs, "runs", "seeds", limits)
        options = req.model_dump(exclude={"kind", "scenario"})
        options["scenario_source"] = resolved.source

        def submit() -> str:
            return runner.submit(
                kind,
                scenario=resolved.name,
                scenario_hash=resolved.hash,
                options=options,
                data=resolved.data,
                max_pending=limits.max_pending_jobs,
            )

        job_id = await run_in_threadpool(submit)
        job = await run_in_threadpool(store.get_job, job_id)
        assert job is not None
        return JSONResponse(
            job.to_dict(), status_code=202, headers={"Location": f"/api/jobs/{job_id}"}
        )

    @app.get("/api/jobs", response_model=JobList, responses=_errors(422), tags=["jobs"])
    async def list_jobs(
        scenario: Annotated[str | None, Query(pattern=NAME_PATTERN)] = None,
        kind: Annotated[str | None, Query(pattern=r"^[a-z][a-z0-9-]{0,63}$")] = None,
        status: Annotated[str | None, Query(pattern=r"^(queued|running|done|failed)$")] = None,
        limit: Annotated[int, Query(ge=1, le=100)] = 20,
    ) -> Response:
        """Jobs, newest first, without their results (filter by scenario, kind, status)."""
        jobs = await run_in_threadpool(
            lambda: store.list_jobs(scenario=scenario, kind=kind, status=status, limit=limit)
        )
        return Response(
            dumps({"jobs": [j.to_dict(with_result=False) for j in jobs]}), media_type=JSON
        )

    @app.get("/api/jobs/{job_id}", response_model=Job, responses=_errors(404, 422), tags=["jobs"])
    async def get_job(job_id: Annotated[str, PathParam(pattern=JOB_ID_PATTERN)]) -> Response:
        """A job's state; its result once ``done``, its error once ``failed``."""
        job = await run_in_threadpool(store.get_job, job_id)
        if job is None:
            raise not_found("job_id", f"no job {job_id!r}")
        return Response(dumps(job.to_dict()), media_type=JSON)

    return _guarded(app, token, limits.max_body_bytes)


def _check_simulation(
    paths: int, researchers: int, repeats: int, what: str, field: str, limits: Limits
) -> None:
    size = paths * researchers * repeats
    if size > limits.max_simulation_size:
        raise ServiceError(
            422,
            "too_large",
            field,
            f"{paths:,} paths x {researchers:,} researchers x {repeats:,} {what} = {size:,}; "
            f"the service allows at most {limits.max_simulation_size:,}",
        )


def _plan_sweep(resolved: Resolved, req: SweepJob, limits: Limits) -> int:
    """Validate a sweep before it is queued (every grid point a valid scenario); its runs."""
    from talentmarket.runs import plan_sweep

    points = 1
    for values in req.set.values():
        points *= max(len(values), 1)
    if points * req.seeds > limits.max_sweep_runs:
        raise ServiceError(
            422,
            "too_large",
            "set",
            f"{points:,} grid points x {req.seeds:,} seeds = {points * req.seeds:,} runs; the "
            f"service allows at most {limits.max_sweep_runs:,} per sweep",
        )
    plan = plan_sweep(
        sweep_data(resolved.data, req.paths), seeds=req.seeds, grid=req.set, seed=req.seed
    )
    return len(plan.runs)


def _sweep_db(db: str | Path) -> str | None:
    """The DuckDB file of sweep runs: beside the service's database (None for an in-memory
    service: each sweep then writes to a temporary file of its own)."""
    if str(db) == ":memory:":
        return None
    path = Path(db)
    return str(path.with_name(f"{path.stem}-sweeps.duckdb"))


def _guarded(app: FastAPI, token: str | None, max_body: int) -> FastAPI:
    app.add_middleware(_Guard, token=token, max_body=max_body)
    return app
