"""The scenario file format as frozen pydantic models (DESIGN.md, "Scenario format").

Every mapping forbids unknown keys; amounts accept numbers or "750k", "200M", "1.5B"; rates are
annual fractions; durations are months unless the key says years. Cross-references (employers,
offer targets, collaborators, grant types against the company's equity) are checked by
``_load.cross_check`` so that every problem is reported at once.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    NonNegativeFloat,
    NonNegativeInt,
    PositiveInt,
    model_validator,
)

from talentmarket.scenario._amounts import parse_amount

Amount = Annotated[float, BeforeValidator(parse_amount)]
Fraction = Annotated[float, Field(ge=0.0, le=1.0)]

#: Factors whose score is a lab attribute (weight x score).
ATTRIBUTE_FACTORS: tuple[str, ...] = ("culture", "ethics", "compute", "autonomy", "prestige")
#: Every non-money factor, in display order; leadership and mission are computed per person.
FACTORS: tuple[str, ...] = (
    "culture",
    "leadership",
    "mission",
    "ethics",
    "compute",
    "autonomy",
    "prestige",
)


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


# --- distributions (cohort heterogeneity, bonus multipliers) -------------------------------


class LogNormalSpec(_Model):
    median: Annotated[Amount, Field(gt=0)]
    sigma: NonNegativeFloat


class NormalSpec(_Model):
    mean: float
    sd: NonNegativeFloat


class UniformSpec(_Model):
    low: float
    high: float

    @model_validator(mode="after")
    def _ordered(self) -> UniformSpec:
        if self.high < self.low:
            raise ValueError(f"high ({self.high}) must not be below low ({self.low})")
        return self


class LogNormal(_Model):
    lognormal: LogNormalSpec


class Normal(_Model):
    normal: NormalSpec


class Uniform(_Model):
    uniform: UniformSpec


Distribution = LogNormal | Normal | Uniform
#: A number, or (in cohorts) a distribution drawn per member with the scenario seed.
Param = float | Distribution
AmountParam = Amount | Distribution


# --- settings ---------------------------------------------------------------------------


class Settings(_Model):
    horizon_years: Annotated[int, Field(ge=1, le=40)] = 6
    discount_rate: Annotated[float, Field(ge=0.0, le=1.0)] = 0.05
    paths: Annotated[int, Field(ge=100, le=1_000_000)] = 20_000


# --- labs -------------------------------------------------------------------------------


class PublicEquity(_Model):
    """Listed shares: geometric Brownian motion from ``price_usd``."""

    type: Literal["public"]
    price_usd: Annotated[Amount, Field(gt=0)]
    drift: float = 0.05
    volatility: Annotated[float, Field(ge=0.0, le=5.0)] = 0.3


class PrivateEquity(_Model):
    """A private company: failure, liquidity events, dilution, illiquidity haircut."""

    type: Literal["private"]
    valuation_usd: Annotated[Amount, Field(gt=0)]
    drift: float = 0.0
    volatility: Annotated[float, Field(ge=0.0, le=5.0)] = 0.5
    failure_hazard: NonNegativeFloat = 0.0
    liquidity_hazard: NonNegativeFloat = 0.0
    dilution_per_year: Annotated[float, Field(ge=0.0, lt=1.0)] = 0.0
    illiquidity_haircut: Fraction = 0.3


Equity = Annotated[PublicEquity | PrivateEquity, Field(discriminator="type")]


class Lab(_Model):
    name: str | None = None
    leader: str | None = None
    attributes: dict[str, float] = Field(default_factory=dict)
    mission: dict[str, float] = Field(default_factory=dict)
    equity: Equity | None = None
    capacity: NonNegativeInt | None = None
    budget_usd: Amount | None = None
    #: How much more a researcher produces here than their base productivity (market engines);
    #: default exp(0.2 x the lab's compute score): compute makes people productive.
    productivity_multiplier: Annotated[float, Field(gt=0)] | None = None


# --- packages ---------------------------------------------------------------------------


class Vesting(_Model):
    """Vesting schedule: ``months`` long, an event ``every`` months, a ``cliff`` (months),
    optional per-year weights (front- or back-loading) and a fraction vesting on day one."""

    months: NonNegativeInt
    every: PositiveInt = 1
    cliff: NonNegativeInt = 0
    year_weights: list[NonNegativeFloat] | None = None
    immediate_fraction: Fraction = 0.0

    @model_validator(mode="after")
    def _consistent(self) -> Vesting:
        if self.cliff > self.months:
            raise ValueError(f"cliff ({self.cliff}) must not exceed months ({self.months})")
        if self.months == 0 and self.immediate_fraction < 1.0:
            raise ValueError("months is 0: set immediate_fraction: 1 (everything vests at once)")
        if self.year_weights is not None:
            years = -(-self.months // 12)
            if len(self.year_weights) != years:
                raise ValueError(
                    f"year_weights has {len(self.year_weights)} entries; {self.months} months "
                    f"span {years} years"
                )
            if sum(self.year_weights) <= 0:
                raise ValueError("year_weights must not all be zero")
        return self


class Grant(_Model):
    """An equity grant: ``rsu`` (public shares), ``units`` (private) or ``options``."""

    type: Literal["rsu", "units", "options"]
    value_usd: Amount | None = None
    shares: Annotated[float, Field(gt=0)] | None = None
    strike_usd: Amount | None = None
    strike_fraction: NonNegativeFloat | None = None
    vesting: Vesting
    vested_fraction: Fraction = 0.0

    @model_validator(mode="after")
    def _sized(self) -> Grant:
        if (self.value_usd is None) == (self.shares is None):
            raise ValueError("give exactly one of value_usd and shares")
        if self.type != "options" and (
            self.strike_usd is not None or self.strike_fraction is not None
        ):
            raise ValueError(f"a strike is only for options, not {self.type}")
        if self.strike_usd is not None and self.strike_fraction is not None:
            raise ValueError("give at most one of strike_usd and strike_fraction")
        return self


class Bonus(_Model):
    """Annual bonus: ``target`` share of base, times an uncertain multiplier."""

    target: NonNegativeFloat
    multiplier: float | LogNormal = 1.0


class Package(_Model):
    """A compensation package over the horizon (USD; raise is an annual fraction)."""

    base_usd: Amount = 0.0
    raise_: Annotated[float, Field(alias="raise", ge=-0.5, le=1.0)] = 0.0
    sign_on_usd: Amount = 0.0
    clawback_months: NonNegativeInt = 0
    bonus: Bonus | None = None
    grants: list[Grant] = Field(default_factory=list)
    refresh_usd_per_year: Amount = 0.0
    refresh_vesting: Vesting | None = None
    make_whole: bool = False


# --- people -----------------------------------------------------------------------------


class Leadership(_Model):
    weight: Param = 0.0
    affinity: dict[str, float] = Field(default_factory=dict)


class Mission(_Model):
    weight: Param = 0.0
    ideal: dict[str, float] = Field(default_factory=dict)


class Preferences(_Model):
    """Preference weights; in cohorts any number may be a distribution."""

    money: Param = 1.0
    culture: Param = 0.0
    leadership: Leadership | Param = 0.0
    mission: Mission | Param = 0.0
    ethics: Param = 0.0
    compute: Param = 0.0
    autonomy: Param = 0.0
    prestige: Param = 0.0
    peers: Param = 0.0


class Researcher(_Model):
    name: str | None = None
    employer: str
    wealth_usd: Annotated[Amount, Field(gt=0)]
    risk_aversion: NonNegativeFloat = 2.0
    departure_hazard: NonNegativeFloat = 0.0
    package: Package = Field(default_factory=Package)
    preferences: Preferences = Field(default_factory=Preferences)
    collaborators: list[str] = Field(default_factory=list)
    #: Value a lab gets from this researcher per year (USD), before the lab's multiplier.
    productivity_usd: Annotated[Amount, Field(gt=0)] = 1e6


class CohortCollaborators(_Model):
    within_cohort: NonNegativeInt = 0


class Cohort(_Model):
    name: str | None = None
    employer: str
    size: Annotated[int, Field(ge=1, le=2_000_000)]
    wealth_usd: AmountParam
    risk_aversion: Param = 2.0
    departure_hazard: NonNegativeFloat = 0.0
    package: Package = Field(default_factory=Package)
    preferences: Preferences = Field(default_factory=Preferences)
    collaborators: CohortCollaborators = Field(default_factory=CohortCollaborators)
    #: Value a lab gets from a member per year (USD), before the lab's multiplier.
    productivity_usd: AmountParam = 1e6


# --- offers -----------------------------------------------------------------------------


class Reported(_Model):
    """What the press reported: ranges, horizon, source, whether the figure is disputed."""

    headline_usd: Amount | Annotated[list[Amount], Field(min_length=2, max_length=2)] | None = None
    first_year_usd: Amount | Annotated[list[Amount], Field(min_length=2, max_length=2)] | None = (
        None
    )
    horizon_years: Annotated[float, Field(gt=0)] | None = None
    source: str | None = None
    disputed: bool = False


Range = Annotated[list[float], Field(min_length=2, max_length=2)]


class DesignBounds(_Model):
    """Bounds for ``talentmarket design``: shares are fractions of the package's cost."""

    cash_fraction: Range = Field(default_factory=lambda: [0.0, 1.0])
    sign_on_fraction: Range = Field(default_factory=lambda: [0.0, 0.5])
    front_loading: Range = Field(default_factory=lambda: [0.0, 0.4])
    make_whole: list[bool] = Field(default_factory=lambda: [True, False], min_length=1)

    @model_validator(mode="after")
    def _ordered(self) -> DesignBounds:
        for name in ("cash_fraction", "sign_on_fraction", "front_loading"):
            low, high = getattr(self, name)
            if not 0.0 <= low <= high <= 1.0:
                raise ValueError(f"{name} must be [low, high] with 0 <= low <= high <= 1")
        return self


class Offer(_Model):
    from_: str = Field(alias="from")
    to: str
    package: Package
    reported: Reported | None = None
    design: DesignBounds = Field(default_factory=DesignBounds)


class MarketLab(_Model):
    """How one lab behaves in the behavioral market (``market.labs.<lab>``).

    strategy: ``posted`` (its template offer, times ``scale``, to its most valuable targets),
    ``bid-to-price`` (each target gets the smallest scale reaching ``target_probability``, up
    to ``max_scale``), ``match-competitor`` (matches the best outside offer a researcher holds)
    or ``none``. counter: what it does when its own people hold outside offers: ``never``,
    ``match`` (a certain retention worth the best offer's certainty-equivalent gain) or
    ``price`` (the smallest retention keeping P(stay) at ``market.counter_target``).
    package: the offer template (default: the lab's first offer in ``offers``).
    """

    strategy: Literal["posted", "bid-to-price", "match-competitor", "none"] = "posted"
    counter: Literal["never", "match", "price"] = "never"
    package: Package | None = None
    scale: Annotated[float, Field(gt=0)] = 1.0
    target_probability: Annotated[float, Field(gt=0, lt=1)] = 0.5
    max_scale: Annotated[float, Field(gt=0)] = 20.0
    targets_per_round: NonNegativeInt = 10


class MarketSettings(_Model):
    """The market a scenario asks for: engine and, for ``rounds``, the labs' behaviour."""

    engine: Literal["rounds", "auction", "deferred-acceptance"] = "rounds"
    rounds: Annotated[int, Field(ge=1, le=1000)] = 10
    offer_expiry: Annotated[int, Field(ge=1, le=1000)] = 2
    counter_target: Annotated[float, Field(gt=0, lt=1)] = 0.5
    salary_step_usd: Annotated[Amount, Field(gt=0)] = 1e6
    labs: dict[str, MarketLab] = Field(default_factory=dict)


class Scenario(_Model):
    """A whole scenario: labs, researchers, cohorts and offers."""

    name: str
    description: str = ""
    seed: NonNegativeInt = 0
    settings: Settings = Field(default_factory=Settings)
    factors: list[str] = Field(default_factory=lambda: list(FACTORS))
    labs: dict[str, Lab]
    researchers: dict[str, Researcher] = Field(default_factory=dict)
    cohorts: dict[str, Cohort] = Field(default_factory=dict)
    offers: dict[str, Offer] = Field(default_factory=dict)
    market: MarketSettings | None = None
    #: Ranges of assumptions for sensitivity: field path -> [low, high] (amounts allowed).
    assumptions: dict[str, Annotated[list[float | str], Field(min_length=2, max_length=2)]] = (
        Field(default_factory=dict)
    )
