"""The result of an estimation: an immutable value with tables, JSON and a preferences block."""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from rich.console import Group
from rich.table import Table
from rich.text import Text
from scipy import special

from talentmarket._errors import ConvergenceError
from talentmarket.estimation._money import inverse_money_utility, money_utility
from talentmarket.estimation._spec import ModelSpec

if TYPE_CHECKING:
    from talentmarket.estimation._design import Design

__all__ = ["FACTORS", "EstimationResult"]

FloatArray = NDArray[np.float64]
CovarianceKind = Literal["robust", "classical", "clustered"]

#: Preference factors of the scenario format (DESIGN.md), in its order.
FACTORS: tuple[str, ...] = (
    "money", "culture", "leadership", "mission", "ethics", "compute", "autonomy", "prestige",
    "peers",
)  # fmt: skip
_WEIGHTED_FACTORS = ("leadership", "mission")  # scenario form {weight: ..., affinity/ideal: ...}


def _factor_of(name: str) -> str | None:
    """The preference factor a coefficient is named after (``culture``, ``B_CULTURE`` ...)."""
    key = name.lower()
    for prefix in ("b_", "beta_", "w_"):
        if key.startswith(prefix):
            key = key[len(prefix) :]
            break
    return key if key in FACTORS else None


def _normal_p(z: FloatArray) -> FloatArray:
    return np.asarray(2.0 * special.ndtr(-np.abs(z)), dtype=np.float64)


def _std(cov: FloatArray | None) -> FloatArray | None:
    if cov is None:
        return None
    return np.sqrt(np.clip(np.diag(cov), 0.0, None))


@dataclass(frozen=True, eq=False)
class EstimationResult:
    """Estimates of a discrete-choice model, their uncertainty and fit statistics.

    Attributes
    ----------
    names : tuple of str, length P
        Parameter names: ``ASC_<alt>``, coefficients, ALPHA, ETA, ``sd.<name>``.
    kinds : tuple of str, length P
        ``constant``, ``coefficient``, ``specific``, ``money``, ``eta`` or ``sd``.
    estimates : ndarray, shape (P,)
    covariance, robust_covariance, clustered_covariance : ndarray, shape (P, P), or None
        Classical ``(-H)^-1``, sandwich ``H^-1 (S'S) H^-1``, and clustered by person; None when
        standard errors were skipped (or, for clustered, without a person column).
    log_likelihood, log_likelihood_start, log_likelihood_null : float
        At the estimates, at the (first) starting values, with every parameter at zero (equal
        shares among the available alternatives).
    n_situations, n_persons, n_alternatives, n_draws : int
        ``n_persons`` is 0 without a person column, ``n_draws`` 0 for a multinomial logit.
    alternatives : tuple of str
    distributions : dict of str to str
        Mixing distribution of each random coefficient.
    iterations, evaluations : int
        Optimizer iterations (best start) and likelihood passes (all starts).
    converged : bool
    message : str
        The optimizer's.
    start_log_likelihoods : tuple of float
        Final log-likelihood of each start.
    seed : int or None
        Seed of the extra starts.
    elapsed_s : float
        Wall time of the fit.
    spec : ModelSpec
    reference_wealth, reference_value : float or None
        Median W0 and PV of the chosen alternatives: the default point of money-equivalents.
    """

    names: tuple[str, ...]
    kinds: tuple[str, ...]
    estimates: FloatArray
    covariance: FloatArray | None
    robust_covariance: FloatArray | None
    clustered_covariance: FloatArray | None
    log_likelihood: float
    log_likelihood_start: float
    log_likelihood_null: float
    n_situations: int
    n_persons: int
    n_alternatives: int
    n_draws: int
    alternatives: tuple[str, ...]
    distributions: dict[str, str]
    iterations: int
    evaluations: int
    converged: bool
    message: str
    start_log_likelihoods: tuple[float, ...]
    seed: int | None
    elapsed_s: float
    spec: ModelSpec
    reference_wealth: float | None = None
    reference_value: float | None = None

    @classmethod
    def from_fit(
        cls,
        *,
        design: Design,
        theta: FloatArray,
        covariance: FloatArray | None,
        robust_covariance: FloatArray | None,
        clustered_covariance: FloatArray | None,
        **stats: Any,
    ) -> EstimationResult:
        """Assemble a result from a compiled design and the optimizer's output."""
        table = design.table
        ref_w = ref_v = None
        if design.spec.money is not None:
            rows = np.arange(table.n_situations)
            wealth = table.wide(design.spec.money.wealth, fill=1.0)[rows, table.chosen]
            value = table.wide(design.spec.money.value, fill=0.0)[rows, table.chosen]
            ref_w, ref_v = float(np.median(wealth)), float(np.median(value))
        for arr in (theta, covariance, robust_covariance, clustered_covariance):
            if arr is not None:
                arr.setflags(write=False)
        return cls(
            names=design.names,
            kinds=design.kinds,
            estimates=theta,
            covariance=covariance,
            robust_covariance=robust_covariance,
            clustered_covariance=clustered_covariance,
            n_situations=design.n_situations,
            n_persons=0 if table.person_ids is None else len(table.person_ids),
            n_alternatives=design.n_alternatives,
            n_draws=design.spec.draws.count if design.is_mixed else 0,
            alternatives=table.alternatives,
            distributions={
                design.names[k]: d for k, d in zip(design.random, design.distributions, strict=True)
            },
            spec=design.spec,
            reference_wealth=ref_w,
            reference_value=ref_v,
            **stats,
        )

    # Statistics -------------------------------------------------------------------------------

    @property
    def n_parameters(self) -> int:
        """P, the number of estimated parameters."""
        return len(self.names)

    @property
    def std_errors(self) -> FloatArray | None:
        """Classical standard errors, shape (P,)."""
        return _std(self.covariance)

    @property
    def robust_std_errors(self) -> FloatArray | None:
        """Robust (sandwich) standard errors, shape (P,)."""
        return _std(self.robust_covariance)

    @property
    def clustered_std_errors(self) -> FloatArray | None:
        """Standard errors clustered by person, shape (P,)."""
        return _std(self.clustered_covariance)

    @property
    def z_values(self) -> FloatArray | None:
        """Estimates over their robust standard errors, shape (P,)."""
        se = self.robust_std_errors
        if se is None:
            return None
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.asarray(self.estimates / se, dtype=np.float64)

    @property
    def p_values(self) -> FloatArray | None:
        """Two-sided normal p-values of the robust z values, shape (P,)."""
        z = self.z_values
        return None if z is None else _normal_p(z)

    @property
    def aic(self) -> float:
        """Akaike information criterion, ``2 P - 2 log L``."""
        return 2.0 * self.n_parameters - 2.0 * self.log_likelihood

    @property
    def bic(self) -> float:
        """Bayesian information criterion, ``P log N - 2 log L`` (N situations)."""
        return self.n_parameters * math.log(self.n_situations) - 2.0 * self.log_likelihood

    @property
    def rho_squared(self) -> float:
        """McFadden's rho-squared against the equal-shares model."""
        return 1.0 - self.log_likelihood / self.log_likelihood_null

    @property
    def rho_squared_bar(self) -> float:
        """Rho-squared adjusted for the number of parameters."""
        return 1.0 - (self.log_likelihood - self.n_parameters) / self.log_likelihood_null

    def __getitem__(self, name: str) -> float:
        """The estimate of parameter ``name``."""
        return float(self.estimates[self.names.index(name)])

    def check_convergence(self) -> None:
        """Raise :class:`~talentmarket.ConvergenceError` unless the optimizer converged."""
        if not self.converged:
            raise ConvergenceError(
                f"the likelihood maximization did not converge after {self.iterations} "
                f"iterations: {self.message}"
            )

    def _covariance(self, kind: CovarianceKind) -> FloatArray | None:
        return {
            "robust": self.robust_covariance,
            "classical": self.covariance,
            "clustered": self.clustered_covariance,
        }[kind]

    # Tables ------------------------------------------------------------------------------------

    def to_frame(self) -> pd.DataFrame:
        """One row per parameter: estimate, the three standard errors, z and p.

        Returns
        -------
        pandas.DataFrame
            Index ``parameter``; NaN where standard errors were not computed.
        """
        nan = np.full(self.n_parameters, np.nan)

        def col(values: FloatArray | None) -> FloatArray:
            return nan if values is None else values

        frame = pd.DataFrame(
            {
                "estimate": self.estimates,
                "std_error": col(self.std_errors),
                "robust_std_error": col(self.robust_std_errors),
                "clustered_std_error": col(self.clustered_std_errors),
                "z": col(self.z_values),
                "p": col(self.p_values),
            },
            index=pd.Index(self.names, name="parameter"),
        )
        return frame

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary (plain floats; NaN where unavailable).

        Returns
        -------
        dict
            ``log_likelihood``, ``coefficients: {name: {estimate, std_error, robust_std_error,
            clustered_std_error, z, p}}``, ``n_situations``, ``converged`` and the other
            statistics.
        """
        frame = self.to_frame()
        coefficients = {
            name: {key: float(value) for key, value in row.items()}
            for name, row in frame.iterrows()
        }
        out: dict[str, Any] = {
            "log_likelihood": self.log_likelihood,
            "log_likelihood_start": self.log_likelihood_start,
            "log_likelihood_null": self.log_likelihood_null,
            "rho_squared": self.rho_squared,
            "rho_squared_bar": self.rho_squared_bar,
            "aic": self.aic,
            "bic": self.bic,
            "n_situations": self.n_situations,
            "n_persons": self.n_persons,
            "n_alternatives": self.n_alternatives,
            "n_parameters": self.n_parameters,
            "n_draws": self.n_draws,
            "iterations": self.iterations,
            "evaluations": self.evaluations,
            "converged": self.converged,
            "message": self.message,
            "starts": len(self.start_log_likelihoods),
            "start_log_likelihoods": list(self.start_log_likelihoods),
            "seed": self.seed,
            "elapsed_s": self.elapsed_s,
            "coefficients": coefficients,
            "distributions": dict(self.distributions),
        }
        return out

    def summary(self) -> Group:
        """A rich renderable: fit statistics and the coefficient table (never printed here)."""
        stats = Table.grid(padding=(0, 2))
        stats.add_column(style="bold")
        stats.add_column(justify="right")
        stats.add_column(style="bold")
        stats.add_column(justify="right")
        model = "mixed logit" if self.distributions else "multinomial logit"
        if self.distributions and self.n_persons:
            model = "panel mixed logit"
        J, P = self.n_alternatives, self.n_parameters
        rows = [
            ("model", model, "situations", f"{self.n_situations:,}"),
            ("log-likelihood", f"{self.log_likelihood:.3f}", "persons", f"{self.n_persons:,}"),
            ("at start", f"{self.log_likelihood_start:.3f}", "alternatives", f"{J}"),
            ("null (equal shares)", f"{self.log_likelihood_null:.3f}", "parameters", f"{P}"),
            ("rho-squared", f"{self.rho_squared:.4f}", "draws", str(self.n_draws or "-")),
            ("rho-squared bar", f"{self.rho_squared_bar:.4f}", "iterations", str(self.iterations)),
            ("AIC", f"{self.aic:.2f}", "converged", "yes" if self.converged else "NO"),
            ("BIC", f"{self.bic:.2f}", "time", f"{self.elapsed_s:.2f} s"),
        ]  # fmt: skip
        for cells in rows:
            stats.add_row(*cells)
        table = Table(title="Estimates", title_justify="left", header_style="bold")
        table.add_column("parameter")
        for heading in ("estimate", "std err", "robust", "clustered", "z", "p"):
            table.add_column(heading, justify="right")
        frame = self.to_frame()

        def fmt(value: float, spec: str = ".4g") -> str:
            return "-" if not np.isfinite(value) else format(value, spec)

        for name, row in frame.iterrows():
            table.add_row(
                str(name),
                fmt(row["estimate"], ".6g"),
                fmt(row["std_error"]),
                fmt(row["robust_std_error"]),
                fmt(row["clustered_std_error"]),
                fmt(row["z"], ".2f"),
                fmt(row["p"], ".3g"),
            )
        parts: list[Any] = [stats, table]
        if not self.converged:
            parts.append(Text(f"warning: not converged: {self.message}", style="bold red"))
        parts.append(Text("z and p use the robust standard errors.", style="dim"))
        return Group(*parts)

    # Money ------------------------------------------------------------------------------------

    def willingness_to_pay(
        self,
        cost: str | None = None,
        *,
        wealth: float | None = None,
        value: float | None = None,
        covariance: CovarianceKind = "robust",
    ) -> pd.DataFrame:
        """Money-equivalents of a one-unit increase of each factor, with delta-method errors.

        With ``cost`` (a coefficient on a cost column): ``-beta_k / beta_cost``, in the cost
        column's units. Otherwise the model's money term: the change of PV (USD) with the same
        utility as one more unit of factor k for a person of wealth ``wealth`` whose package is
        worth ``value``: ``W0 * (u^-1(u(w) + beta_k / ALPHA) - w)``, ``w = (W0 + PV) / W0``;
        ``inf`` ("no amount") when the bounded money utility cannot reach it. For random
        coefficients the mean parameter is used.

        Parameters
        ----------
        cost : str or None
            Name of the cost coefficient; required without a money term.
        wealth, value : float or None
            Reference W0 and PV in USD; default the medians over the chosen alternatives.
        covariance : {"robust", "classical", "clustered"}
            Which covariance the delta method uses.

        Returns
        -------
        pandas.DataFrame
            Index ``parameter``; columns ``estimate``, ``std_error``, ``z``, ``unattainable``.

        Raises
        ------
        ValueError
            If neither a cost coefficient nor a money term is available.
        """
        theta = self.estimates
        cov = self._covariance(covariance)
        index = {name: k for k, name in enumerate(self.names)}
        skip = {k for k, kind in enumerate(self.kinds) if kind in ("money", "eta", "sd")}
        if cost is not None:
            if cost not in index:
                raise ValueError(
                    f"unknown cost coefficient {cost!r}; known: {', '.join(self.names)}"
                )
            c = index[cost]
            skip.add(c)

            def wtp(t: FloatArray, k: int) -> float:
                return float(-t[k] / t[c])

            partners = [c]
        else:
            money = self.spec.money
            if money is None:
                raise ValueError("the model has no money term: name a cost coefficient")
            a, e = index[money.alpha], index[money.eta]
            W0 = float(wealth if wealth is not None else self.reference_wealth or 1.0)
            PV = float(value if value is not None else self.reference_value or 0.0)
            w = np.array([(W0 + PV) / W0])

            def wtp(t: FloatArray, k: int) -> float:
                target = money_utility(w, t[e]) + t[k] / t[a]
                return float(W0 * (inverse_money_utility(target, t[e])[0] - w[0]))

            partners = [a, e]
        records = []
        for k, name in enumerate(self.names):
            if k in skip:
                continue
            estimate = wtp(theta, k)
            se = math.nan
            if cov is not None and np.isfinite(estimate):
                se = _delta_std_error(functools.partial(wtp, k=k), theta, [k, *partners], cov)
            records.append(
                {
                    "parameter": name,
                    "estimate": estimate,
                    "std_error": se,
                    "z": estimate / se if se and np.isfinite(se) else math.nan,
                    "unattainable": bool(not np.isfinite(estimate)),
                }
            )
        return pd.DataFrame.from_records(records).set_index("parameter")

    # Back into the decision model ---------------------------------------------------------------

    def to_preferences(self) -> dict[str, Any]:
        """The fitted weights as a scenario ``preferences`` block (DESIGN.md's vocabulary).

        Coefficients named after a factor (``culture``, ``B_CULTURE``, ``b_compute`` ...) give
        that factor's weight; the money term's ALPHA gives ``money``. Random coefficients give
        cohort distributions: ``{normal: {mean, sd}}``, ``{lognormal: {median, sigma}}``,
        ``{uniform: {low, high}}``, ``{triangular: {low, mode, high}}``. ``leadership`` and
        ``mission`` are written as ``{weight: ...}`` (their affinities and ideals are not
        estimated here).

        Returns
        -------
        dict
            Factor -> weight (float or distribution mapping), in DESIGN.md's factor order.
        """
        out: dict[str, Any] = {}
        index = {name: k for k, name in enumerate(self.names)}
        money = self.spec.money
        for name, kind in zip(self.names, self.kinds, strict=True):
            if kind in ("eta", "sd", "constant"):
                continue
            factor = "money" if (money is not None and name == money.alpha) else _factor_of(name)
            if factor is None or factor in out:
                continue
            mean = float(self.estimates[index[name]])
            weight: Any = mean
            if name in self.distributions:
                sd = abs(float(self.estimates[index[f"sd.{name}"]]))
                dist = self.distributions[name]
                if dist == "normal":
                    weight = {"normal": {"mean": mean, "sd": sd}}
                elif dist == "lognormal":
                    weight = {"lognormal": {"median": math.exp(mean), "sigma": sd}}
                elif dist == "uniform":
                    weight = {"uniform": {"low": mean - sd, "high": mean + sd}}
                else:
                    weight = {"triangular": {"low": mean - sd, "mode": mean, "high": mean + sd}}
            out[factor] = {"weight": weight} if factor in _WEIGHTED_FACTORS else weight
        return {factor: out[factor] for factor in FACTORS if factor in out}

    @property
    def risk_aversion(self) -> float | None:
        """The estimated CRRA eta (a researcher's ``risk_aversion``), or None."""
        if self.spec.money is None:
            return None
        return self[self.spec.money.eta]


def _delta_std_error(
    func: Callable[[FloatArray], float], theta: FloatArray, involved: list[int], cov: FloatArray
) -> float:
    """Delta-method standard error of ``func(theta)`` by central differences over ``involved``."""
    grad = np.zeros(theta.size)
    for q in involved:
        h = 1e-6 * max(1.0, abs(float(theta[q])))
        up, down = theta.copy(), theta.copy()
        up[q] += h
        down[q] -= h
        f_up, f_down = func(up), func(down)
        if not (np.isfinite(f_up) and np.isfinite(f_down)):
            return math.nan
        grad[q] = (f_up - f_down) / (2 * h)
    variance = float(grad @ cov @ grad)
    return math.sqrt(variance) if variance >= 0 else math.nan
