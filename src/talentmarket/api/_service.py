"""What the routes call: scenario resolution, bounded caches and the commands' computations.

The service is a thin shell over the library: every answer comes from the same calls as the
command line (``value_scenario`` + ``valuation_to_dict``, ``decide``, ``price``, ``counter``,
``design``). What it adds is speed and safety:

- valuations (the expensive part: ~0.1-0.5 s for 20,000 paths) are cached in an LRU keyed by
  (scenario hash, seed, paths), bounded in entries and in bytes, and concurrent requests for
  the same key compute it once;
- answers are deterministic in (scenario hash, options), so whole answers are cached too
  (an LRU of serialized JSON, bounded in entries and bytes);
- scenarios are resolved only by name (built-ins by membership in the built-in list, saved
  ones from the database) or given inline, never from a path, so no request reaches a file;
- sizes are capped (paths, researchers, researchers x paths) before any work starts.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from talentmarket._errors import UnknownIdError
from talentmarket.api._errors import ServiceError
from talentmarket.api._json import non_finite_paths
from talentmarket.api._schemas import (
    NAME_PATTERN,
    CounterRequest,
    DecideRequest,
    DesignRequest,
    Limits,
    PriceRequest,
    ValueRequest,
)
from talentmarket.api._store import Store
from talentmarket.scenario import (
    Scenario,
    builtin_names,
    compile_scenario,
    read_scenario_data,
    scenario_from_dict,
    scenario_hash,
)
from talentmarket.valuation._scenario import ScenarioValuation, value_scenario

T = TypeVar("T")
_NAME = re.compile(NAME_PATTERN)
BUILTIN_PREFIX = "builtin:"


class Memo(Generic[T]):
    """A bounded LRU of computed values; concurrent callers of one key compute it once.

    Parameters
    ----------
    maxsize : int
        Entries kept; the least recently used are dropped beyond it.
    weigh : callable or None
        Weight of a value (e.g. bytes); with ``max_weight``, the least recently used are
        dropped while the total is above it (the newest entry is always kept).
    max_weight : float or None
        Bound on the total weight.
    """

    def __init__(
        self,
        maxsize: int,
        weigh: Callable[[T], float] | None = None,
        max_weight: float | None = None,
    ) -> None:
        self.maxsize = maxsize
        self.weigh = weigh
        self.max_weight = max_weight
        self._done: OrderedDict[Hashable, T] = OrderedDict()
        self._weights: dict[Hashable, float] = {}
        self._running: dict[Hashable, Future[T]] = {}
        self._lock = threading.Lock()

    def _store(self, key: Hashable, value: T) -> None:
        """Insert under the lock and evict beyond the bounds."""
        self._done[key] = value
        self._done.move_to_end(key)
        self._weights[key] = self.weigh(value) if self.weigh is not None else 0.0
        total = sum(self._weights.values())
        while len(self._done) > 1 and (
            len(self._done) > self.maxsize
            or (self.max_weight is not None and total > self.max_weight)
        ):
            old, _ = self._done.popitem(last=False)
            total -= self._weights.pop(old, 0.0)

    def peek(self, key: Hashable) -> T | None:
        """The cached value or None (marks it recently used)."""
        with self._lock:
            if key in self._done:
                self._done.move_to_end(key)
                return self._done[key]
        return None

    def get(self, key: Hashable, compute: Callable[[], T]) -> T:
        """The cached value of ``key``, computing it with ``compute()`` if absent."""
        with self._lock:
            if key in self._done:
                self._done.move_to_end(key)
                return self._done[key]
            future = self._running.get(key)
            owner = future is None
            if future is None:
                future = Future()
                self._running[key] = future
        if not owner:
            return future.result()
        try:
            value = compute()
        except BaseException as exc:
            with self._lock:
                del self._running[key]
            future.set_exception(exc)
            raise
        with self._lock:
            del self._running[key]
            self._store(key, value)
        future.set_result(value)
        return value

    def put(self, key: Hashable, value: T) -> None:
        with self._lock:
            self._store(key, value)

    def discard(self, key: Hashable) -> None:
        with self._lock:
            self._done.pop(key, None)
            self._weights.pop(key, None)

    def __len__(self) -> int:
        with self._lock:
            return len(self._done)


@dataclass(frozen=True)
class Resolved:
    """A scenario a request names or carries: its data (as written), validated form, hash."""

    name: str
    source: str  # "builtin", "saved" or "inline"
    data: dict[str, Any]
    scenario: Scenario
    hash: str

    @property
    def researchers(self) -> int:
        """People in the scenario (researchers plus cohort members), without compiling."""
        s = self.scenario
        return len(s.researchers) + sum(c.size for c in s.cohorts.values())


#: Bounds of the in-memory caches: valuations (their per-path samples) and answers.
VALUATION_CACHE_BYTES = 512 * 2**20
RESPONSE_CACHE_BYTES = 128 * 2**20


def _valuation_bytes(valuation: ScenarioValuation) -> float:
    s = valuation.samples
    return float(s.pv.nbytes + s.nominal.nbytes + s.employer_cost.nbytes)


def validate_name(name: str, field: str = "name") -> str:
    """``name`` if it matches the safe pattern of scenario names; 422 naming ``field`` if not."""
    if not _NAME.fullmatch(name):
        raise ServiceError(
            422,
            "invalid_name",
            field,
            f"{name[:80]!r} is not a scenario name: use 1-64 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit",
        )
    return name


def _digest(data: Any) -> str:
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


class Service:
    """Scenario resolution, caches and the commands (call the compute methods off the loop).

    Parameters
    ----------
    store : Store
        Saved scenarios.
    limits : Limits
        Caps on request sizes.
    """

    def __init__(self, store: Store, limits: Limits) -> None:
        self.store = store
        self.limits = limits
        self._builtins = frozenset(builtin_names())
        self._scenarios: Memo[Resolved] = Memo(128)
        self._saved: Memo[Resolved] = Memo(256)
        self.valuations: Memo[ScenarioValuation] = Memo(
            16, weigh=_valuation_bytes, max_weight=VALUATION_CACHE_BYTES
        )
        self.derived: Memo[Any] = Memo(256)
        self.responses: Memo[bytes] = Memo(1024, weigh=len, max_weight=RESPONSE_CACHE_BYTES)

    # --- scenarios ------------------------------------------------------------------------

    @property
    def builtin_names(self) -> list[str]:
        return sorted(self._builtins)

    def is_builtin(self, name: str) -> bool:
        return name in self._builtins

    def validate(self, data: Any, source: str, field: str = "scenario") -> Resolved:
        """Validate scenario data (a JSON object); 422 naming ``scenario.<path>`` if invalid."""
        if not isinstance(data, dict):
            raise ServiceError(422, "invalid_scenario", field, "a scenario must be an object")
        bad = non_finite_paths(data)
        if bad:
            items = [(f"{field}.{p}", "must be a finite number") for p in bad]
            raise ServiceError(422, "invalid_scenario", items[0][0], items[0][1], items)
        key = ("inline", _digest(data))

        def build() -> Resolved:
            scenario = scenario_from_dict(data, source)
            return Resolved(scenario.name, "inline", data, scenario, scenario_hash(scenario))

        return self._scenarios.get(key, build)

    def builtin(self, name: str) -> Resolved:
        def build() -> Resolved:
            data, source = read_scenario_data(f"{BUILTIN_PREFIX}{name}")
            scenario = scenario_from_dict(data, source)
            return Resolved(name, "builtin", data, scenario, scenario_hash(scenario))

        return self._scenarios.get(("builtin", name), build)

    def saved(self, name: str) -> Resolved | None:
        """A saved scenario by name (cached; the cache is updated on save), or None."""
        cached = self._saved.peek(name)
        if cached is not None:
            return cached
        stored = self.store.get_scenario(name)
        if stored is None:
            return None
        scenario = scenario_from_dict(stored.data, f"saved:{name}")
        resolved = Resolved(name, "saved", stored.data, scenario, stored.hash)
        self._saved.put(name, resolved)
        return resolved

    def resolve(self, ref: str | dict[str, Any], field: str = "scenario") -> Resolved:
        """The scenario a request names (built-in or saved) or carries inline."""
        if isinstance(ref, dict):
            return self.validate(ref, "<request>", field)
        name = ref.removeprefix(BUILTIN_PREFIX)
        validate_name(name, field)
        if name in self._builtins:
            return self.builtin(name)
        if not ref.startswith(BUILTIN_PREFIX):
            found = self.saved(name)
            if found is not None:
                return found
        known = ", ".join(self.builtin_names)
        raise ServiceError(
            404,
            "not_found",
            field,
            f"no scenario named {name!r} (built-ins: {known}; saved: GET /api/scenarios)",
        )

    def save(self, data: Any) -> tuple[Resolved, bool]:
        """Validate and save a scenario under its ``name``; returns it and whether it is new."""
        if isinstance(data, dict) and isinstance(data.get("name"), str):
            validate_name(data["name"], "scenario.name")
        resolved = self.validate(data, "<request>")
        name = validate_name(resolved.scenario.name, "scenario.name")
        if name in self._builtins:
            raise ServiceError(
                409,
                "name_taken",
                "scenario.name",
                f"{name!r} is a built-in scenario; save yours under another name",
            )
        self.check_researchers(resolved)
        if self.store.get_scenario(name) is None:
            count = self.store.count_scenarios()
            if count >= self.limits.max_saved_scenarios:
                raise ServiceError(
                    409,
                    "too_many_scenarios",
                    "scenario.name",
                    f"the service keeps at most {self.limits.max_saved_scenarios:,} saved "
                    "scenarios; save under the name of one you no longer need",
                )
        created = self.store.save_scenario(
            name, resolved.data, resolved.hash, resolved.scenario.description
        )
        self._saved.put(name, Resolved(name, "saved", resolved.data, resolved.scenario,
                                       resolved.hash))  # fmt: skip
        return resolved, created

    # --- limits ---------------------------------------------------------------------------

    def paths_of(self, resolved: Resolved, paths: int | None) -> int:
        """The paths a computation uses, checked against the caps."""
        n = resolved.scenario.settings.paths if paths is None else paths
        if n > self.limits.max_paths:
            raise ServiceError(
                422,
                "too_large",
                "paths",
                f"{n:,} paths asked (the scenario's settings.paths unless given); the service "
                f"allows at most {self.limits.max_paths:,}: pass a smaller paths",
            )
        return n

    def check_researchers(self, resolved: Resolved) -> int:
        """The scenario's researchers (cohort members included), checked against the cap."""
        people = resolved.researchers
        if people > self.limits.max_researchers:
            raise ServiceError(
                422,
                "too_large",
                "scenario.cohorts",
                f"the scenario has {people:,} researchers (cohort members included); the "
                f"service allows at most {self.limits.max_researchers:,}",
            )
        return people

    def check_size(self, resolved: Resolved, paths: int | None) -> int:
        """Checks researchers and researchers x paths; returns the paths to use."""
        people = self.check_researchers(resolved)
        n = self.paths_of(resolved, paths)
        if people * n > self.limits.max_researcher_paths:
            raise ServiceError(
                422,
                "too_large",
                "paths",
                f"{people:,} researchers x {n:,} paths = {people * n:,}; the service allows at "
                f"most {self.limits.max_researcher_paths:,}: pass a smaller paths",
            )
        return n

    # --- computations (run these off the event loop) ----------------------------------------

    def valuation(self, resolved: Resolved, seed: int | None, paths: int | None) -> Any:
        """The cached valuation of a scenario at (seed, paths)."""
        n = self.check_size(resolved, paths)
        s = resolved.scenario
        effective_seed = s.seed if seed is None else seed

        def build() -> ScenarioValuation:
            compiled = compile_scenario(s, effective_seed)
            return value_scenario(compiled, seed=effective_seed, paths=n)

        return self.valuations.get((resolved.hash, effective_seed, n), build)

    def value(self, resolved: Resolved, req: ValueRequest) -> dict[str, Any]:
        """``talentmarket value --json``."""
        from talentmarket.valuation._scenario import valuation_to_dict

        s = resolved.scenario
        if req.offer is not None and req.offer not in s.offers:
            raise UnknownIdError("offer", req.offer, tuple(s.offers))
        valuation = self.valuation(resolved, req.seed, req.paths)
        payload = valuation_to_dict(valuation, req.researcher)
        if req.offer is not None:
            to = s.offers[req.offer].to
            payload["offers"] = [o for o in payload["offers"] if o["id"] == req.offer]
            payload["current"] = [
                c
                for c in payload["current"]
                if c["cohort"] == to or c["researcher"] in {to, req.researcher}
            ]
        return payload

    def decide(self, resolved: Resolved, req: DecideRequest) -> dict[str, Any]:
        """``talentmarket decide --json``."""
        from talentmarket.choice import decide

        valuation = self.valuation(resolved, req.seed, req.paths)
        if req.researcher is not None:
            valuation.compiled.population.index_of(req.researcher)
        people = None if req.researcher is None else [req.researcher]
        return decide(valuation, people=people).to_dict()

    def price(self, resolved: Resolved, req: PriceRequest) -> dict[str, Any]:
        """``talentmarket price --json``."""
        from talentmarket.pricing import price

        valuation = self.valuation(resolved, req.seed, req.paths)
        people = None if req.researcher is None else [req.researcher]
        return price(valuation, req.offer, people=people, target=req.target).to_dict()

    def counter(self, resolved: Resolved, req: CounterRequest) -> dict[str, Any]:
        """``talentmarket counter --json``."""
        from talentmarket.pricing import counter
        from talentmarket.scenario import Vesting

        valuation = self.valuation(resolved, req.seed, req.paths)
        people = None if req.researcher is None else [req.researcher]
        vesting = Vesting(months=req.vesting_months, every=min(3, req.vesting_months))
        result = counter(
            valuation,
            req.offer,
            people=people,
            target=req.target,
            cash_fraction=req.cash_fraction,
            vesting=vesting,
        )
        return result.to_dict()

    def design(self, resolved: Resolved, req: DesignRequest) -> dict[str, Any]:
        """``talentmarket design --json``."""
        from talentmarket.pricing import design
        from talentmarket.scenario import parse_amount

        budget: float | None = None
        if isinstance(req.budget, str):
            try:
                budget = parse_amount(req.budget)
            except (ValueError, TypeError) as exc:
                raise ServiceError(422, "invalid_input", "budget", str(exc)) from None
        elif req.budget is not None:
            budget = float(req.budget)
        if budget is not None and not budget > 0:
            raise ServiceError(422, "invalid_input", "budget", f"must be positive, got {budget}")
        valuation = self.valuation(resolved, req.seed, req.paths)
        people = None if req.researcher is None else [req.researcher]
        return design(valuation, req.offer, people=people, budget_usd=budget).to_dict()
