"""The price of talent: the smallest offer that wins a person, or proof that none does.

``price`` scales every amount of an offer's package by s (base, sign-on, bonus, grants,
refreshers; not share prices or strikes; the make-whole is a buy-out of what the person
forfeits and is not scaled) and finds the smallest s at which P(accept) reaches the target.
``counter`` finds the smallest retention package from the current employer that keeps
P(stay) at the target against an outside offer. Both are vectorized over a cohort.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from talentmarket._errors import InputError, Issue, UnknownIdError
from talentmarket.choice._decide import FACTOR_LABELS, DecisionResult, decide
from talentmarket.choice._money import paired_nodes
from talentmarket.pricing._solve import minimum_scales, money_term_limit
from talentmarket.scenario._amounts import format_usd
from talentmarket.scenario._models import Package, Vesting
from talentmarket.valuation._build import RowSpec
from talentmarket.valuation._scenario import ScenarioValuation

F64 = NDArray[np.float64]
Status = Literal["ok", "unattainable", "already"]


def _logit(p: float) -> float:
    return float(np.log(p) - np.log1p(-p))


def _logsumexp(u: F64, keep: NDArray[np.bool_]) -> F64:
    masked = np.where(keep, u, -np.inf)
    top = masked.max(axis=1)
    top = np.where(np.isfinite(top), top, 0.0)
    return np.asarray(top + np.log(np.exp(masked - top[:, None]).sum(axis=1)))


@dataclass(frozen=True)
class PriceResult:
    """Prices (or counter-offers) for n people against one offer.

    scale: (n,) the smallest multiplier reaching the target (inf: unattainable; 0: already);
    headline_usd, employer_cost_usd: (n,) at that scale (inf where unattainable);
    probability_at_price: (n,) P at that scale (the target's side: accept for ``price``,
    stay for ``counter``); sup_probability: (n,) the limit as the scale grows without bound;
    deficit: (n, F) the non-money utility (offer minus stay, per factor) behind each answer.
    """

    kind: Literal["price", "counter"]
    offer: str
    target: float
    people: tuple[str, ...]
    status: tuple[Status, ...]
    scale: F64
    headline_usd: F64
    employer_cost_usd: F64
    probability_at_price: F64
    sup_probability: F64
    factors: tuple[str, ...]
    deficit: F64
    seed: int
    template: dict[str, Any] = field(default_factory=dict)

    @property
    def n_unattainable(self) -> int:
        return sum(s == "unattainable" for s in self.status)

    def reason(self, i: int) -> str:
        """Plain words for person i's answer (why money cannot do it, where it cannot)."""
        if self.status[i] == "already":
            return "reaches the target with no money at all"
        if self.status[i] == "ok":
            return f"{format_usd(self.headline_usd[i])} headline ({self.scale[i]:.3g}x)"
        worst = np.argsort(self.deficit[i])[:3]
        parts = [
            f"{FACTOR_LABELS.get(self.factors[k], self.factors[k])} {self.deficit[i, k]:+.2f}"
            for k in worst
            if self.deficit[i, k] < 0
        ]
        side = "accepting" if self.kind == "price" else "staying"
        return (
            f"no amount: P({side}) tops out at {self.sup_probability[i]:.3g} < "
            f"{self.target:g}; money cannot cover " + ", ".join(parts)
        )

    def to_dict(self) -> dict[str, Any]:
        key = "prices" if self.kind == "price" else "counters"
        items = []
        for i, person in enumerate(self.people):
            ok = self.status[i] != "unattainable"
            items.append(
                {
                    "researcher": person,
                    "offer": self.offer,
                    "status": self.status[i],
                    "scale": float(self.scale[i]) if ok else None,
                    "headline_usd": float(self.headline_usd[i]) if ok else None,
                    "employer_cost_usd": float(self.employer_cost_usd[i]) if ok else None,
                    "probability_at_price": float(self.probability_at_price[i]) if ok else None,
                    "sup_probability": float(self.sup_probability[i]),
                    "reason": self.reason(i),
                }
            )
        out: dict[str, Any] = {
            "target": self.target,
            "seed": self.seed,
            key: items,
            "prices" if key == "counters" else "_": None,
        }
        out.pop("_", None)
        if key == "counters":
            out["prices"] = items  # the same shape under the common key
            out["template"] = self.template
        if len(self.people) > 1:
            out["cost_curve"] = self.cost_curve()
        return out

    def cost_curve(self) -> dict[str, Any]:
        """Cost to win k people (cheapest first) with probability >= target each."""
        order = sorted(
            (c, p)
            for c, p, s in zip(self.employer_cost_usd, self.people, self.status, strict=True)
            if s != "unattainable"
        )
        costs = np.cumsum([c for c, _ in order]) if order else np.zeros(0)
        return {
            "k": list(range(1, len(order) + 1)),
            "researchers": [p for _, p in order],
            "total_employer_cost_usd": costs.tolist(),
            "unattainable": self.n_unattainable,
        }

    def summary(self) -> Any:
        from rich.console import Group
        from rich.table import Table
        from rich.text import Text

        what = "price" if self.kind == "price" else "counter-offer"
        table = Table(
            title=f"{what.capitalize()} against {self.offer}: "
            f"P({'accept' if self.kind == 'price' else 'stay'}) >= {self.target:g}"
        )
        for col in (
            "researcher",
            "status",
            "scale",
            "headline",
            "employer cost",
            "P at price",
            "sup P",
            "what it takes",
        ):
            table.add_column(
                col, justify="left" if col in {"researcher", "status", "what it takes"} else "right"
            )
        for i, person in enumerate(self.people[:60]):
            ok = self.status[i] != "unattainable"
            table.add_row(
                person,
                self.status[i],
                f"{self.scale[i]:.3g}x" if ok else "-",
                format_usd(self.headline_usd[i]) if ok else "-",
                format_usd(self.employer_cost_usd[i]) if ok else "-",
                f"{self.probability_at_price[i]:.3f}" if ok else "-",
                f"{self.sup_probability[i]:.3g}",
                self.reason(i),
            )
        parts: list[Any] = [table]
        if len(self.people) > 60:
            parts.append(Text(f"... and {len(self.people) - 60} more"))
        if len(self.people) > 1:
            curve = self.cost_curve()
            steps = [
                (k, c) for k, c in zip(curve["k"], curve["total_employer_cost_usd"], strict=True)
            ]
            shown = steps if len(steps) <= 12 else steps[:: max(len(steps) // 10, 1)] + steps[-1:]
            text = ", ".join(f"{k}: {format_usd(c)}" for k, c in shown)
            parts.append(
                Text(
                    f"cost to {'hire' if self.kind == 'price' else 'keep'} k of them with "
                    f"P >= {self.target:g} each (cheapest first): {text or 'none'}; "
                    f"unattainable for {curve['unattainable']} of {len(self.people)}"
                )
            )
        return Group(*parts)


def _check_target(target: float) -> None:
    if not 0.0 < target < 1.0:
        raise InputError(
            [Issue("--target", "target", f"must be strictly between 0 and 1, got {target}")]
        )


def _recipients(
    valuation: ScenarioValuation, offer: str, people: Sequence[str] | None
) -> tuple[str, list[str]]:
    scenario = valuation.compiled.scenario
    if offer not in scenario.offers:
        raise UnknownIdError("offer", offer, tuple(scenario.offers))
    group = scenario.offers[offer].to
    pop = valuation.compiled.population
    members = list(pop.ids_at(pop.members(group)))
    if people is None:
        return group, members
    known = set(members)
    for p in people:
        if p not in known:
            raise UnknownIdError(f"recipient of {offer}", p, members)
    return group, list(people)


def _linear_at(scale: F64, fixed: float, per_unit: float) -> F64:
    """USD amounts at each answer: ``fixed + scale * per_unit``, inf where unattainable."""
    finite = np.isfinite(scale)
    return np.asarray(np.where(finite, fixed + np.where(finite, scale, 0.0) * per_unit, np.inf))


def _indices(
    valuation: ScenarioValuation, group: str, people: Sequence[str] | None, members: list[str]
) -> NDArray[np.int64]:
    pop = valuation.compiled.population
    if people is None:
        return pop.members(group)
    return np.array([pop.index_of(p) for p in members], dtype=np.int64)


def _column(d: DecisionResult, offer: str) -> NDArray[np.int64]:
    """Column of ``offer`` for each person of one valuation group (who share alternatives)."""
    n = len(d.alternatives)
    return np.full(n, d.alternatives[0].index(offer) if n else 0, dtype=np.int64)


def _solve(
    d: DecisionResult,
    column: NDArray[np.int64],
    x_paths: F64,
    y_paths: F64,
    wealth: F64,
    eta: F64,
    alpha: F64,
    target: float,
    *,
    pair_at_answer: bool = False,
) -> tuple[F64, list[Status], F64, F64]:
    """Scales, status, P at the answer and sup P, for column ``column`` of a decision.

    The money term of that column becomes mean_k u(1 + (s x_k + y_k) / W0) with joint nodes of
    the per-path samples ``x_paths`` (scaled) and ``y_paths`` (fixed), paired as written
    (s = 1) — as ``decide`` pairs an offer and its make-whole. With ``pair_at_answer`` the
    nodes are paired at the answer itself instead (a fixed point in a few passes; a cohort
    shares the pairing at its median answer): right for a counter-offer, whose retention grant
    is small beside the package kept.
    """
    at = 1.0
    passes = (8 if len(d.people) == 1 else 2) if pair_at_answer else 1
    for _ in range(passes):
        x, y = paired_nodes(x_paths, y_paths, at=at)
        result = _solve_nodes(d, column, x, y, wealth, eta, alpha, target)
        useful = result[0][np.isfinite(result[0]) & (result[0] > 0)]
        if useful.size == 0:
            break
        new_at = float(np.median(useful))
        if abs(new_at - at) <= 1e-12 * new_at:
            break
        at = new_at
    return result


_STATUS_NAMES = np.array(["already", "ok", "unattainable"], dtype=object)


def _solve_nodes(
    d: DecisionResult,
    column: NDArray[np.int64],
    x: F64,
    y: F64,
    wealth: F64,
    eta: F64,
    alpha: F64,
    target: float,
) -> tuple[F64, list[Status], F64, F64]:
    """One pass of ``_solve`` on fixed nodes."""
    n = len(d.people)
    rows = np.arange(n)
    U = d.utility
    available = ~np.isnan(U)
    others = available.copy()
    others[rows, column] = False
    lse_other = _logsumexp(U, others)  # unavailable (NaN) alternatives are never in others
    non_money = U[rows, column] - alpha * d.money_utility[rows, column]
    needed = _logit(target) + lse_other
    money_matters = alpha > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        m_star = np.where(
            money_matters, (needed - non_money) / np.where(money_matters, alpha, 1), np.inf
        )
    m_inf = money_term_limit(x, y, wealth, eta)
    scale = np.full(n, np.inf)
    m_at = np.full(n, np.nan)
    candidates = np.flatnonzero(money_matters & (m_inf > m_star))
    if candidates.size:
        s_c, _, m_c = minimum_scales(x, y, wealth[candidates], eta[candidates], m_star[candidates])
        scale[candidates] = s_c
        m_at[candidates] = m_c
    free = ~money_matters & (non_money >= needed)  # money does not count, and is not needed
    scale[free] = 0.0
    codes = np.where(scale == 0.0, 0, np.where(np.isfinite(scale), 1, 2))
    status: list[Status] = _STATUS_NAMES[codes].tolist()
    u_at = np.where(money_matters, alpha * m_at, 0.0) + non_money
    p_at = 1.0 / (1.0 + np.exp(lse_other - u_at))
    with np.errstate(invalid="ignore"):
        u_sup = np.where(
            np.isinf(m_inf) & money_matters,
            np.inf,
            alpha * np.nan_to_num(m_inf, posinf=0.0) + non_money,
        )
    p_sup = np.where(np.isinf(u_sup), 1.0, 1.0 / (1.0 + np.exp(lse_other - u_sup)))
    return scale, status, p_at, p_sup


def price(
    valuation: ScenarioValuation,
    offer: str,
    *,
    people: Sequence[str] | None = None,
    target: float = 0.5,
) -> PriceResult:
    """The smallest scale of ``offer`` at which each recipient accepts with P >= ``target``.

    Vectorized over every recipient (a cohort's members share the package distribution and
    differ in wealth, risk aversion and weights). Returns a PriceResult; status
    ``unattainable`` where the supremum of P(accept) as the scale grows is below the target.
    """
    _check_target(target)
    group, members = _recipients(valuation, offer, people)
    pop = valuation.compiled.population
    idx = _indices(valuation, group, people, members)
    d = decide(valuation, indices=idx, explain=False, without_money_of=offer)
    column = _column(d, offer)
    x_paths, y_paths = valuation.offer_parts(group, offer)
    wealth, eta, alpha = pop.wealth[idx], pop.eta[idx], pop.money[idx]
    scale, status, p_at, p_sup = _solve(d, column, x_paths, y_paths, wealth, eta, alpha, target)
    unit = valuation.package_value(group, offer, 1.0)
    base = valuation.package_value(group, offer, 0.0)
    headline = _linear_at(scale, base.headline, unit.headline - base.headline)
    cost0 = base.expected_employer_cost
    cost = _linear_at(scale, cost0, unit.expected_employer_cost - cost0)
    deficit = d.components[np.arange(len(members)), column, 1:]
    return PriceResult(
        "price",
        offer,
        target,
        tuple(members),
        tuple(status),
        scale,
        headline,
        cost,
        p_at,
        p_sup,
        d.factors[1:],
        deficit,
        valuation.seed,
    )


DEFAULT_RETENTION_VESTING = Vesting(months=48, every=3)


def retention_template(
    valuation: ScenarioValuation,
    offer: str,
    cash_fraction: float,
    vesting: Vesting = DEFAULT_RETENTION_VESTING,
) -> Package:
    """A retention package whose headline equals ``offer``'s own headline at scale 1.

    ``cash_fraction`` of it is a raise paid monthly over the horizon, the rest a grant of the
    employer's equity on ``vesting`` (all cash where the employer has no equity).
    """
    scenario = valuation.compiled.scenario
    target = scenario.offers[offer].to
    employer = (scenario.researchers.get(target) or scenario.cohorts[target]).employer
    group = target
    headline = valuation.package_value(group, offer, 1.0).headline
    if valuation.package_value(group, offer, 0.0).headline > 0:
        headline -= valuation.package_value(group, offer, 0.0).headline  # without make-whole
    equity = scenario.labs[employer].equity
    if equity is None:
        cash_fraction = 1.0
    years = scenario.settings.horizon_years
    grants = []
    if cash_fraction < 1.0 and equity is not None:
        kind = "rsu" if equity.type == "public" else "units"
        grants.append(
            {
                "type": kind,
                "value_usd": (1 - cash_fraction) * headline,
                "vesting": vesting.model_dump(exclude_defaults=True),
            }
        )
    return Package.model_validate({"base_usd": cash_fraction * headline / years, "grants": grants})


def counter(
    valuation: ScenarioValuation,
    offer: str,
    *,
    people: Sequence[str] | None = None,
    target: float = 0.5,
    cash_fraction: float = 0.5,
    vesting: Vesting = DEFAULT_RETENTION_VESTING,
) -> PriceResult:
    """The smallest retention package that keeps P(stay) >= ``target`` against ``offer``.

    The retention package is a template (``retention_template``) whose headline equals the
    outside offer's own headline at scale 1; the answer's ``scale`` multiplies it. Added to the
    current package, valued on the same paths.
    """
    _check_target(target)
    if not 0.0 <= cash_fraction <= 1.0:
        raise InputError(
            [
                Issue(
                    "--cash-fraction",
                    "cash_fraction",
                    f"must be between 0 and 1, got {cash_fraction}",
                )
            ]
        )
    group, members = _recipients(valuation, offer, people)
    scenario = valuation.compiled.scenario
    person = scenario.researchers.get(group) or scenario.cohorts[group]
    template = retention_template(valuation, offer, cash_fraction, vesting)
    spec = RowSpec(group, person.departure_hazard, person.employer, template)
    extra = valuation.value_packages([spec])
    pop = valuation.compiled.population
    idx = _indices(valuation, group, people, members)
    d = decide(valuation, indices=idx, explain=False)
    column = np.zeros(len(members), dtype=np.int64)
    stay = valuation.package_value(group, None)
    wealth, eta, alpha = pop.wealth[idx], pop.eta[idx], pop.money[idx]
    scale, status, p_at, p_sup = _solve(
        d, column, extra.pv[0], stay.pv, wealth, eta, alpha, target, pair_at_answer=True
    )
    headline = _linear_at(scale, 0.0, float(extra.headline[0]))
    cost = _linear_at(scale, 0.0, float(extra.employer_cost[0].mean()))
    deficit = -d.components[
        np.arange(len(members)), _column(d, offer), 1:
    ]  # staying minus the offer
    return PriceResult(
        "counter",
        offer,
        target,
        tuple(members),
        tuple(status),
        scale,
        headline,
        cost,
        p_at,
        p_sup,
        d.factors[1:],
        deficit,
        valuation.seed,
        template=template.model_dump(mode="json", by_alias=True, exclude_defaults=True),
    )
