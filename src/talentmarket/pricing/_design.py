"""Package design: the mix that maximizes P(accept) at a given expected cost to the employer.

Candidates span a grid inside the offer's ``design`` bounds: the cash share of the cost (base
and sign-on against equity), the sign-on share of the cash, front-loading of the vesting (year
weights proportional to (1 - f)^year) and make-whole on or off. Every candidate is valued on the
same paths, scaled so that its expected employer cost equals the budget, and scored by the mean
P(accept) of the recipients. The offer's own mix, scaled to the same budget, is always a
candidate, so the answer is never worse than the offer as written.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from talentmarket._errors import InputError, Issue
from talentmarket.choice._decide import decide, softmax
from talentmarket.choice._money import expected_money_utility, paired_nodes
from talentmarket.pricing._price import _recipients
from talentmarket.scenario._amounts import format_usd
from talentmarket.scenario._models import Package
from talentmarket.valuation._build import RowSpec
from talentmarket.valuation._scenario import ScenarioValuation

F64 = NDArray[np.float64]


@dataclass(frozen=True)
class DesignCandidate:
    """One package mix at the budget: its parameters, package and mean P(accept)."""

    cash_fraction: float | None
    sign_on_fraction: float | None
    front_loading: float | None
    make_whole: bool
    package: dict[str, Any]
    probability: float
    expected_pv_usd: float
    employer_cost_usd: float

    @property
    def is_original(self) -> bool:
        return self.cash_fraction is None


@dataclass(frozen=True)
class DesignResult:
    """The best package mix for an offer at a budget, against the offer's own mix."""

    offer: str
    people: tuple[str, ...]
    budget_usd: float
    original: DesignCandidate
    best: DesignCandidate
    candidates: tuple[DesignCandidate, ...]
    seed: int

    @property
    def gain(self) -> float:
        """Increase in mean P(accept) over the offer's own mix at the same cost."""
        return self.best.probability - self.original.probability

    def to_dict(self) -> dict[str, Any]:
        def cand(c: DesignCandidate) -> dict[str, Any]:
            return {
                "cash_fraction": c.cash_fraction,
                "sign_on_fraction": c.sign_on_fraction,
                "front_loading": c.front_loading,
                "make_whole": c.make_whole,
                "probability": c.probability,
                "expected_pv_usd": c.expected_pv_usd,
                "employer_cost_usd": c.employer_cost_usd,
                "package": c.package,
            }

        return {
            "offer": self.offer,
            "researchers": list(self.people),
            "budget_usd": self.budget_usd,
            "original": cand(self.original),
            "best": cand(self.best),
            "gain": self.gain,
            "candidates_evaluated": len(self.candidates),
            "seed": self.seed,
        }

    def summary(self) -> Any:
        import yaml
        from rich.console import Group
        from rich.table import Table
        from rich.text import Text

        table = Table(
            title=f"Design of {self.offer} at {format_usd(self.budget_usd)} expected "
            f"cost ({len(self.people)} recipient(s))"
        )
        for col in (
            "mix",
            "cash",
            "sign-on",
            "front-loading",
            "make-whole",
            "mean P(accept)",
            "E[PV]",
        ):
            table.add_column(col, justify="left" if col == "mix" else "right")
        for label, c in (("offer as written", self.original), ("recommended", self.best)):
            table.add_row(
                label,
                "-" if c.cash_fraction is None else f"{c.cash_fraction:.0%}",
                "-" if c.sign_on_fraction is None else f"{c.sign_on_fraction:.0%}",
                "-" if c.front_loading is None else f"{c.front_loading:.2f}",
                "yes" if c.make_whole else "no",
                f"{c.probability:.4g}",
                format_usd(c.expected_pv_usd),
            )
        snippet = yaml.safe_dump({"package": self.best.package}, sort_keys=False)
        return Group(
            table,
            Text(
                f"gain over the offer's own mix: {self.gain:+.4g} (of {len(self.candidates)} mixes)"
            ),
            Text("recommended package (scenario format):\n" + snippet),
        )


def _grid(low: float, high: float, n: int) -> list[float]:
    return sorted({round(float(v), 6) for v in np.linspace(low, high, n)})


def _candidate_package(
    template: Package,
    cash: float,
    sign_on: float,
    front: float,
    make_whole: bool,
    kind: str | None,
    horizon_years: int,
) -> Package:
    """A package of headline 1 USD (before scaling) with the given mix."""
    vest_months = template.grants[0].vesting.months if template.grants else 48
    vest_months = max(min(vest_months, 12 * horizon_years), 12)
    years = -(-vest_months // 12)
    weights = [(1.0 - front) ** y for y in range(years)]
    cash_years = min(horizon_years, years)
    grants = []
    equity = 1.0 - cash if kind is not None else 0.0
    cash = 1.0 - equity
    if equity > 0:
        grants.append(
            {
                "type": kind,
                "value_usd": equity,
                "vesting": {"months": vest_months, "every": 3, "year_weights": weights},
            }
        )
    return Package.model_validate(
        {
            "base_usd": cash * (1.0 - sign_on) / cash_years,
            "sign_on_usd": cash * sign_on,
            "clawback_months": template.clawback_months,
            "grants": grants,
            "make_whole": make_whole,
        }
    )


def _scaled_snippet(pkg: Package, scale: float) -> dict[str, Any]:
    data = pkg.model_dump(mode="json", by_alias=True, exclude_defaults=True)
    for key in ("base_usd", "sign_on_usd", "refresh_usd_per_year"):
        if key in data:
            data[key] = float(f"{data[key] * scale:.6g}")
    for grant in data.get("grants", []):
        if "value_usd" in grant:
            grant["value_usd"] = float(f"{grant['value_usd'] * scale:.6g}")
        if "shares" in grant:
            grant["shares"] = float(f"{grant['shares'] * scale:.6g}")
    return data


def design(
    valuation: ScenarioValuation,
    offer: str,
    *,
    people: Sequence[str] | None = None,
    budget_usd: float | None = None,
    grid: int = 5,
) -> DesignResult:
    """The package mix with the highest mean P(accept) at an expected employer cost.

    ``budget_usd`` defaults to the offer's own expected cost (make-whole included); ``grid``
    points per continuous dimension inside the offer's ``design`` bounds.
    """
    scenario = valuation.compiled.scenario
    group, members = _recipients(valuation, offer, people)
    spec_offer = scenario.offers[offer]
    person = scenario.researchers.get(group) or scenario.cohorts[group]
    own = valuation.package_value(group, offer, 1.0)
    budget = own.expected_employer_cost if budget_usd is None else float(budget_usd)
    if not budget > 0:
        raise InputError([Issue("--budget", "budget_usd", f"must be positive, got {budget}")])
    bounds = spec_offer.design
    lab = scenario.labs[spec_offer.from_]
    kind = None if lab.equity is None else ("rsu" if lab.equity.type == "public" else "units")
    has_grants = bool(person.package.grants)
    mw_options = [m for m in bounds.make_whole if has_grants or not m] or [False]
    combos = list(
        itertools.product(
            _grid(bounds.cash_fraction[0], bounds.cash_fraction[1], grid),
            _grid(bounds.sign_on_fraction[0], bounds.sign_on_fraction[1], 3),
            _grid(bounds.front_loading[0], bounds.front_loading[1], 3),
            mw_options,
        )
    )
    packages = [
        _candidate_package(spec_offer.package, c, so, f, m, kind, scenario.settings.horizon_years)
        for c, so, f, m in combos
    ]
    specs = [RowSpec(group, person.departure_hazard, spec_offer.from_, p) for p in packages]
    mw_spec = RowSpec(
        group,
        person.departure_hazard,
        spec_offer.from_,
        spec_offer.package,
        make_whole_of=person.package,
        make_whole_lab=person.employer,
    )
    samples = valuation.value_packages([*specs, mw_spec])
    mw_pv, mw_cost = samples.pv[-1], float(samples.employer_cost[-1].mean())

    base = decide(valuation, people=members)
    pop = valuation.compiled.population
    idx = np.array([pop.index_of(p) for p in members])
    col = np.array([alts.index(offer) for alts in base.alternatives])
    rows_i = np.arange(len(members))
    alpha, W0, eta = pop.money[idx], pop.wealth[idx], pop.eta[idx]
    non_money = base.utility[rows_i, col] - alpha * base.money_utility[rows_i, col]
    U = np.nan_to_num(base.utility, nan=-np.inf)
    available = ~np.isnan(base.utility)

    def mean_probability(x: F64, y: F64) -> float:
        m = expected_money_utility(x + y, W0, eta)
        u = U.copy()
        u[rows_i, col] = alpha * m + non_money
        return float(softmax(u, available)[rows_i, col].mean())

    # The offer as written, scaled to the budget (its make-whole is fixed).
    own_x, own_y = paired_nodes(*valuation.offer_parts(group, offer))
    own_mw_cost = valuation.package_value(group, offer, 0.0).expected_employer_cost
    own_pkg_cost = own.expected_employer_cost - own_mw_cost
    s_own = (budget - own_mw_cost) / own_pkg_cost if own_pkg_cost > 0 else 0.0
    original = DesignCandidate(
        None,
        None,
        None,
        spec_offer.package.make_whole,
        _scaled_snippet(spec_offer.package, max(s_own, 0.0)),
        mean_probability(max(s_own, 0.0) * own_x, own_y),
        max(s_own, 0.0) * float(own_x.mean()) + float(own_y.mean()),
        budget,
    )
    candidates = [original]
    for k, ((c, so, f, m), pkg) in enumerate(zip(combos, packages, strict=True)):
        cost1 = float(samples.employer_cost[k].mean())
        fixed = mw_cost if m else 0.0
        if cost1 <= 0 or budget <= fixed:
            continue
        s = (budget - fixed) / cost1
        y = mw_pv if m else np.zeros_like(mw_pv)
        x_nodes, y_nodes = paired_nodes(samples.pv[k], y)
        candidates.append(
            DesignCandidate(
                c,
                so,
                f,
                m,
                _scaled_snippet(pkg, s),
                mean_probability(s * x_nodes, y_nodes),
                s * float(samples.pv[k].mean()) + float(y.mean()),
                budget,
            )
        )
    best = max(candidates, key=lambda c: (c.probability, c.is_original))
    return DesignResult(
        offer, tuple(members), budget, original, best, tuple(candidates), valuation.seed
    )
