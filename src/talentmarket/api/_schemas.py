"""Request and response models of the web service (pydantic), and the service's limits.

Requests mirror the command line: ``{"scenario": NAME_OR_OBJECT, ...}`` with the command's
options under their long names (``offer``, ``researcher``, ``target``, ``paths``, ``seed``,
``cash_fraction``, ``vesting_months``, ``budget``). Request models are frozen, forbid unknown
keys and refuse NaN and infinities, so that a typo is a 422 naming the field, never a silently
ignored option.

Response models document the JSON shapes (the same as ``talentmarket COMMAND --json``) in the
OpenAPI spec; responses are serialized by the service itself and checked against these models
by the test suite. They allow extra keys, so that the library may add fields.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

#: Saved scenario names: a letter or digit, then letters, digits, ``.``, ``_``, ``-``.
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
#: Researcher, offer, lab and person ids in requests.
ID_PATTERN = r"^[^\x00-\x1f]{1,200}$"
JOB_ID_PATTERN = r"^[0-9a-f]{32}$"


@dataclass(frozen=True)
class Limits:
    """Caps on what one request may ask of the service.

    max_body_bytes: request body size. max_paths: Monte Carlo paths. max_researchers: people in
    a scenario (researchers plus cohort members). max_researcher_paths: researchers x paths of
    one computation. max_rounds, max_simulation_size (paths x researchers x rounds, or x runs
    of a sweep) and max_sweep_runs: market simulations and sweeps. max_pending_jobs: jobs
    queued or running at once. max_saved_scenarios: scenarios the database keeps.
    job_timeout_s: wall time of one job.
    """

    max_body_bytes: int = 1 << 20
    max_paths: int = 100_000
    max_researchers: int = 20_000
    max_researcher_paths: int = 50_000_000
    max_rounds: int = 1_000
    max_simulation_size: int = 1_000_000_000
    max_sweep_runs: int = 1_000
    max_pending_jobs: int = 16
    max_saved_scenarios: int = 10_000
    job_timeout_s: float = 3600.0


DEFAULT_LIMITS = Limits()

_REQUEST = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)
_RESPONSE = ConfigDict(extra="allow")

ScenarioRef = Annotated[
    str | dict[str, Any],
    Field(
        description=(
            "A scenario: the name of a built-in (``meta-tml-2025`` or "
            "``builtin:meta-tml-2025``) or saved scenario, or a whole scenario object in the "
            "scenario format (see ``GET /api/schema``)."
        ),
    ),
]
Paths = Annotated[
    int | None,
    Field(ge=100, le=DEFAULT_LIMITS.max_paths, description="Monte Carlo paths (default: the "
          "scenario's ``settings.paths``)."),
]  # fmt: skip
Seed = Annotated[
    int | None,
    Field(ge=0, le=2**63 - 1, description="Random seed (default: the scenario's seed)."),
]
Id = Annotated[str, Field(pattern=ID_PATTERN, max_length=200)]
Target = Annotated[
    float, Field(gt=0.0, lt=1.0, description="Probability to reach, strictly in (0, 1).")
]

_EXAMPLE = "meta-tml-2025"


class _Request(BaseModel):
    model_config = _REQUEST

    scenario: ScenarioRef
    paths: Paths = None
    seed: Seed = None


class ValueRequest(_Request):
    """``talentmarket value``: package values (headline, E[PV], quantiles, cost, CE)."""

    model_config = ConfigDict(
        **_REQUEST, json_schema_extra={"examples": [{"scenario": _EXAMPLE, "paths": 2000}]}
    )

    offer: Id | None = Field(None, description="Only this offer (an id).")
    researcher: Id | None = Field(None, description="Only this researcher (an id).")


class DecideRequest(_Request):
    """``talentmarket decide``: probabilities and per-factor explanations."""

    model_config = ConfigDict(
        **_REQUEST,
        json_schema_extra={
            "examples": [{"scenario": _EXAMPLE, "researcher": "andrew-tulloch", "paths": 2000}]
        },
    )

    researcher: Id | None = Field(None, description="Only this researcher (an id).")


class PriceRequest(_Request):
    """``talentmarket price``: the smallest winning scale of an offer, or that none wins."""

    model_config = ConfigDict(
        **_REQUEST,
        json_schema_extra={
            "examples": [{"scenario": _EXAMPLE, "offer": "meta-to-tml-staff", "paths": 2000}]
        },
    )

    offer: Id = Field(description="The offer (an id).")
    researcher: Id | None = Field(None, description="Only this recipient (an id).")
    target: Target = 0.5


class CounterRequest(PriceRequest):
    """``talentmarket counter``: the smallest retention package against an outside offer."""

    cash_fraction: float = Field(
        0.5, ge=0.0, le=1.0, description="Share of the retention package paid as a raise."
    )
    vesting_months: int = Field(
        48, ge=1, le=240, description="Vesting of the retention grant (months)."
    )


class DesignRequest(_Request):
    """``talentmarket design``: the mix that maximizes P(accept) at a given employer cost."""

    model_config = ConfigDict(
        **_REQUEST,
        json_schema_extra={
            "examples": [{"scenario": _EXAMPLE, "offer": "meta-to-tulloch", "paths": 2000}]
        },
    )

    offer: Id = Field(description="The offer (an id).")
    researcher: Id | None = Field(None, description="Only this recipient (an id).")
    budget: str | float | None = Field(
        None,
        description='Expected employer cost in USD, e.g. "300M" or 3e8 (default: the '
        "offer's own).",
    )


class WhatIfRequest(_Request):
    """One what-if: an offer to one researcher, edited, and what it does to the decision."""

    model_config = ConfigDict(
        **_REQUEST,
        json_schema_extra={
            "examples": [
                {
                    "scenario": _EXAMPLE,
                    "researcher": "andrew-tulloch",
                    "offer": "meta-to-tulloch",
                    "scale": 2.0,
                    "cash_fraction": 0.3,
                    "front_loading": 0.2,
                    "leader": "mira-murati",
                    "mission": {"frontier_research": 1.0},
                    "paths": 2000,
                }
            ]
        },
    )

    researcher: Id | None = Field(
        None, description="The person deciding (default: the first recipient of the offer)."
    )
    offer: Id | None = Field(
        None, description="The offer (default: the first offer the researcher holds)."
    )
    scale: float = Field(
        1.0, gt=0.0, le=1000.0, description="Multiplier of every amount of the offer."
    )
    cash_fraction: float | None = Field(
        None,
        ge=0.0,
        le=1.0,
        description="Cash share of the offer's headline (the rest is equity); null: as written.",
    )
    front_loading: float | None = Field(
        None,
        ge=0.0,
        le=0.9,
        description="Front-loading f of the equity vesting (year weights proportional to "
        "(1 - f)^year); null: as written.",
    )
    leader: Id | None = Field(None, description="The person leading the offering lab.")
    mission: dict[Annotated[str, Field(pattern=NAME_PATTERN)], float] | None = Field(
        None,
        max_length=32,
        description="Mission profile of the offering lab: area -> weight (e.g. "
        "frontier_research: 1.0).",
    )
    target: Target = 0.5


class SimulateJob(BaseModel):
    """A market simulation (``talentmarket.market.simulate_scenario``)."""

    model_config = ConfigDict(
        **_REQUEST,
        json_schema_extra={"examples": [{"kind": "simulate", "scenario": _EXAMPLE, "rounds": 5}]},
    )

    kind: Literal["simulate"]
    scenario: ScenarioRef
    engine: Literal["rounds", "auction", "deferred-acceptance"] | None = Field(
        None, description="The market engine (default: the scenario's ``market.engine``)."
    )
    rounds: int | None = Field(
        None, ge=1, le=DEFAULT_LIMITS.max_rounds, description="Rounds of the rounds engine."
    )
    paths: Paths = None
    seed: Seed = None


class SweepJob(BaseModel):
    """A sweep of many seeded runs over a parameter grid (``talentmarket.runs.sweep``)."""

    model_config = ConfigDict(
        **_REQUEST,
        json_schema_extra={
            "examples": [
                {
                    "kind": "sweep",
                    "scenario": _EXAMPLE,
                    "seeds": 2,
                    "set": {"cohorts.tml-staff.preferences.peers": [0.5, 1.5]},
                    "paths": 500,
                }
            ]
        },
    )

    kind: Literal["sweep"]
    scenario: ScenarioRef
    seeds: int = Field(1, ge=1, le=1000, description="Seeds per grid point.")
    set: dict[Annotated[str, Field(min_length=1, max_length=300)], list[float | str]] = Field(
        default_factory=dict,
        max_length=16,
        description="Scenario field path -> values, as ``talentmarket sweep --set PATH=V1,V2``.",
    )
    paths: Paths = None
    seed: Seed = None


class RunJob(BaseModel):
    """Everything the scenario asks (``talentmarket run``), as a background job."""

    model_config = ConfigDict(
        **_REQUEST,
        json_schema_extra={"examples": [{"kind": "run", "scenario": _EXAMPLE, "paths": 2000}]},
    )

    kind: Literal["run"]
    scenario: ScenarioRef
    paths: Paths = None
    seed: Seed = None
    target: Target = 0.5


JobRequest = Annotated[SimulateJob | SweepJob | RunJob, Field(discriminator="kind")]


# --- responses ---------------------------------------------------------------------------


class ErrorItem(BaseModel):
    """One problem: the request field (dotted path) and what is wrong."""

    field: str | None
    message: str


class ErrorBody(BaseModel):
    """Every 4xx answer: an error code, the field at fault and a message; all problems."""

    model_config = _RESPONSE

    error: str
    field: str | None
    message: str
    errors: list[ErrorItem] = Field(default_factory=list)


class Health(BaseModel):
    model_config = _RESPONSE

    status: Literal["ok"]
    version: str
    saved_scenarios: int
    jobs: dict[str, int]


class ScenarioSummary(BaseModel):
    model_config = _RESPONSE

    name: str
    source: Literal["builtin", "saved"]
    description: str
    hash: str | None
    updated_at: str | None = None


class ScenarioList(BaseModel):
    model_config = _RESPONSE

    scenarios: list[ScenarioSummary]


class SavedScenario(BaseModel):
    model_config = _RESPONSE

    name: str
    hash: str
    created: bool
    labs: int
    researchers: int
    offers: int


class ScenarioDocument(BaseModel):
    model_config = _RESPONSE

    name: str
    source: Literal["builtin", "saved"]
    hash: str
    description: str
    data: dict[str, Any]


class Quantiles(BaseModel):
    model_config = _RESPONSE

    p05: float | None
    p50: float | None
    p95: float | None


class ValueItem(BaseModel):
    model_config = _RESPONSE

    id: str
    kind: Literal["current", "offer"]
    researcher: str | None
    cohort: str | None
    lab: str
    headline_usd: float | None
    expected_pv_usd: float | None
    pv_quantiles_usd: Quantiles
    p_realize_headline: float | None
    employer_cost_usd: float | None
    mc_standard_error_usd: float | None
    certainty_equivalent_usd: float | None


class ValueResponse(BaseModel):
    model_config = _RESPONSE

    seed: int
    paths: int
    offers: list[ValueItem]
    current: list[ValueItem]


class FactorRow(BaseModel):
    model_config = _RESPONSE

    factor: str
    utility: float | None
    money_equivalent_usd: float | None
    no_amount: bool


class Explanation(BaseModel):
    model_config = _RESPONSE

    factors: list[FactorRow]
    top_reasons: list[str]


class Decision(BaseModel):
    model_config = _RESPONSE

    researcher: str
    employer: str
    probabilities: dict[str, float | None]
    certainty_equivalents_usd: dict[str, float | None]
    explanations: dict[str, Explanation]


class DecideResponse(BaseModel):
    model_config = _RESPONSE

    seed: int
    decisions: list[Decision]


class PriceItem(BaseModel):
    model_config = _RESPONSE

    researcher: str
    offer: str
    status: Literal["ok", "unattainable", "already"]
    scale: float | None
    headline_usd: float | None
    employer_cost_usd: float | None
    probability_at_price: float | None
    sup_probability: float | None
    reason: str


class PriceResponse(BaseModel):
    model_config = _RESPONSE

    target: float
    seed: int
    prices: list[PriceItem]


class DesignCandidateOut(BaseModel):
    model_config = _RESPONSE

    cash_fraction: float | None
    sign_on_fraction: float | None
    front_loading: float | None
    make_whole: bool
    probability: float | None
    expected_pv_usd: float | None
    employer_cost_usd: float | None
    package: dict[str, Any]


class DesignResponse(BaseModel):
    model_config = _RESPONSE

    offer: str
    researchers: list[str]
    budget_usd: float | None
    original: DesignCandidateOut
    best: DesignCandidateOut
    gain: float | None
    candidates_evaluated: int
    seed: int


class Histogram(BaseModel):
    model_config = _RESPONSE

    edges_usd: list[float]
    share: list[float]


class WhatIfValue(BaseModel):
    model_config = _RESPONSE

    headline_usd: float | None
    expected_pv_usd: float | None
    pv_quantiles_usd: Quantiles
    p_realize_headline: float | None
    employer_cost_usd: float | None
    certainty_equivalent_usd: float | None
    mean_realized_usd: float | None
    histogram: Histogram


class Curve(BaseModel):
    model_config = _RESPONSE

    scales: list[float]
    headline_usd: list[float | None]
    probability: list[float | None]


class WhatItTakes(BaseModel):
    model_config = _RESPONSE

    status: Literal["ok", "unattainable", "already"]
    target: float
    scale: float | None
    headline_usd: float | None
    employer_cost_usd: float | None
    sup_probability: float | None
    sentence: str


class WhatIfResponse(BaseModel):
    model_config = _RESPONSE

    scenario: str
    scenario_hash: str
    seed: int
    paths: int
    researcher: str
    offer: str
    lab: str
    scale: float
    probability: float | None
    probabilities: dict[str, float | None]
    waterfall: list[FactorRow]
    value: WhatIfValue
    curve: Curve
    what_it_takes: WhatItTakes
    package: dict[str, Any]
    options: dict[str, Any]


class Job(BaseModel):
    """A background job: its state, and its result once done."""

    model_config = _RESPONSE

    id: str
    kind: str
    status: Literal["queued", "running", "done", "failed"]
    scenario: str | None
    scenario_hash: str | None
    params: dict[str, Any]
    created_at: str
    started_at: str | None
    finished_at: str | None
    result: dict[str, Any] | None = None
    summary: dict[str, Any] | None = None
    error: ErrorBody | None = None


class JobList(BaseModel):
    model_config = _RESPONSE

    jobs: list[Job]
