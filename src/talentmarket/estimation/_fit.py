"""Maximum likelihood: ``fit(decisions, spec)``.

Multinomial logit (money term included) is maximized by a trust-region Newton method
(``scipy.optimize.minimize(method="trust-exact")``) on the analytic gradient and Hessian: a
handful of passes over the data. A mixed logit starts, as xlogit does, from the multinomial
logit estimates with standard deviations at 0.1, and is maximized by BFGS on the analytic
gradient, its inverse Hessian started at the inverse BHHH matrix; when standard errors are
wanted, the Hessian (forward differences of the analytic gradient) also serves for a final
Newton step.

Standard errors: classical ``(-H)^-1``; robust (sandwich) ``H^-1 B H^-1`` with ``B`` the sum of
outer products of the observation scores (Biogeme's definition); clustered by person, with the
scores summed per person and the factor ``G / (G - 1)``.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy import optimize

from talentmarket.estimation._data import read_decisions, validate_decisions
from talentmarket.estimation._design import Design, compile_design
from talentmarket.estimation._loglik import hessian, mixed_pass, mnl_pass, observation_scores
from talentmarket.estimation._results import EstimationResult
from talentmarket.estimation._spec import ModelSpec, load_spec, parse_spec

__all__ = ["fit", "prepare"]

FloatArray = NDArray[np.float64]


def prepare(
    decisions: pd.DataFrame | str | Path,
    spec: ModelSpec | Mapping[str, Any] | str | Path,
) -> Design:
    """Read, validate and compile a decisions table and a spec.

    Parameters
    ----------
    decisions : DataFrame, or path of a CSV or Parquet file
        Long format, one row per situation x alternative.
    spec : ModelSpec, mapping, or path of a YAML file

    Returns
    -------
    Design

    Raises
    ------
    InputError
        Naming the file, the field and the problem.
    """
    model = load_spec(spec) if isinstance(spec, str | Path) else parse_spec(spec)
    if isinstance(decisions, pd.DataFrame):
        frame, source = decisions, "<decisions>"
    else:
        frame, source = read_decisions(decisions), str(decisions)
    table = validate_decisions(frame, model, source=source)
    return compile_design(table, model)


class _Objective:
    """Minus the mean log-likelihood; fun, jac and hess at one point share one pass."""

    def __init__(self, design: Design, scale: float, *, mixed: bool) -> None:
        self.design, self.scale, self.mixed = design, scale, mixed
        self._memo: dict[bytes, tuple[float, FloatArray, FloatArray | None]] = {}
        self.first_log_likelihood: float | None = None
        self.evaluations = 0

    def at(self, x: FloatArray) -> tuple[float, FloatArray, FloatArray | None]:
        """(log-likelihood, gradient, Hessian or None) at ``x``, computed once."""
        key = np.asarray(x, dtype=np.float64).tobytes()
        if key not in self._memo:
            self.evaluations += 1
            if self.mixed:
                result = mixed_pass(x, self.design)
            else:
                result = mnl_pass(x, self.design, hessian=True)
            if len(self._memo) > 8:
                self._memo.pop(next(iter(self._memo)))
            self._memo[key] = (result.log_likelihood, result.gradient, result.hessian)
            if self.first_log_likelihood is None:
                self.first_log_likelihood = result.log_likelihood
        return self._memo[key]

    def fun(self, x: FloatArray) -> float:
        value = -self.at(x)[0] / self.scale
        return value if np.isfinite(value) else float(np.finfo(np.float64).max)

    def jac(self, x: FloatArray) -> FloatArray:
        return -self.at(x)[1] / self.scale

    def hess(self, x: FloatArray) -> FloatArray:
        H = self.at(x)[2]
        assert H is not None
        return -H / self.scale


def _newton(design: Design, theta0: FloatArray, maxiter: int) -> tuple[Any, _Objective]:
    """Trust-region Newton on the multinomial logit part of ``theta``."""
    objective = _Objective(design, float(design.n_situations), mixed=False)
    res = optimize.minimize(
        objective.fun,
        theta0,
        jac=objective.jac,
        hess=objective.hess,
        method="trust-exact",
        options={"gtol": 1e-10, "maxiter": maxiter},
    )
    return res, objective


def _bfgs(design: Design, theta0: FloatArray, maxiter: int) -> tuple[Any, _Objective]:
    """BFGS on the simulated log-likelihood, inverse Hessian started at the inverse BHHH."""
    scores = mixed_pass(theta0, design, scores=True).scores
    assert scores is not None
    n_obs = float(scores.shape[0])
    bhhh = scores.T @ scores / n_obs
    try:
        h0 = np.linalg.inv(bhhh + 1e-8 * np.eye(bhhh.shape[0]))
        h0 = 0.5 * (h0 + h0.T)
        if not np.all(np.linalg.eigvalsh(h0) > 0.0):
            raise np.linalg.LinAlgError("BHHH matrix not positive definite")
    except np.linalg.LinAlgError:
        h0 = np.eye(bhhh.shape[0])
    objective = _Objective(design, n_obs, mixed=True)
    objective.evaluations = 1
    res = optimize.minimize(
        objective.fun,
        theta0,
        jac=objective.jac,
        method="BFGS",
        options={"gtol": 1e-6, "maxiter": maxiter, "hess_inv0": h0},
    )
    return res, objective


def _optimize(design: Design, theta0: FloatArray, maxiter: int) -> dict[str, Any]:
    """Maximize from one start; returns theta, log-likelihood, gradient, iterations, status."""
    n_mnl = design.n_mnl
    res, objective = _newton(design, theta0[:n_mnl], maxiter)
    evaluations, iterations = objective.evaluations, int(res.nit)
    first = objective.first_log_likelihood
    theta = theta0.copy()
    theta[:n_mnl] = res.x
    if design.is_mixed:
        if any(name in design.spec.start for name in design.names[:n_mnl]):
            theta[:n_mnl] = theta0[:n_mnl]  # the user chose the means: start from them
        res, objective = _bfgs(design, theta, maxiter)
        evaluations += objective.evaluations
        iterations += int(res.nit)
        first = None
    theta = np.asarray(res.x, dtype=np.float64)
    ll, grad, _ = objective.at(theta)
    grad_norm = float(np.max(np.abs(grad))) / objective.scale if grad.size else 0.0
    return {
        "theta": theta,
        "log_likelihood": ll,
        "log_likelihood_start": first,
        "iterations": iterations,
        "evaluations": evaluations,
        # trust-exact and BFGS may stop on "precision loss" once the gradient is at rounding
        # level: that is convergence, not failure.
        "converged": bool(res.success) or grad_norm < 1e-6,
        "message": str(res.message),
        "grad_norm": grad_norm,
    }


def _log_likelihood(design: Design, theta: FloatArray) -> float:
    if design.is_mixed:
        return mixed_pass(theta, design).log_likelihood
    return mnl_pass(theta, design).log_likelihood


def _null_log_likelihood(design: Design) -> float:
    """Equal shares among the available alternatives (every parameter at zero)."""
    available = design.table.available
    if available is None:
        return -design.n_situations * float(np.log(design.n_alternatives))
    return -float(np.sum(np.log(available.sum(axis=1))))


def _inverse(matrix: FloatArray) -> FloatArray:
    try:
        return np.asarray(np.linalg.inv(matrix), dtype=np.float64)
    except np.linalg.LinAlgError:
        warnings.warn(
            "the Hessian is singular (a parameter is not identified); using a pseudo-inverse",
            RuntimeWarning,
            stacklevel=3,
        )
        return np.asarray(np.linalg.pinv(matrix), dtype=np.float64)


def _covariances(
    design: Design, H: FloatArray, scores: FloatArray
) -> tuple[FloatArray, FloatArray, FloatArray | None]:
    """Classical, robust (sandwich) and person-clustered covariance matrices.

    Parameters
    ----------
    H : ndarray, shape (P, P)
        Hessian of the log-likelihood at the estimates.
    scores : ndarray, shape (n_obs, P)
        Observation scores (situations, or persons for a panel mixed logit).
    """
    cov = _inverse(-H)
    robust = cov @ (scores.T @ scores) @ cov
    clustered = None
    person = design.table.person_index
    if person is not None:
        if design.is_mixed:
            per_person = scores  # panel units are the persons already
        else:
            per_person = np.zeros((int(person.max()) + 1, scores.shape[1]))
            np.add.at(per_person, person, scores)
        G = per_person.shape[0]
        if G > 1:
            clustered = cov @ (per_person.T @ per_person) @ cov * (G / (G - 1))
    return cov, robust, clustered


def _starting_points(design: Design, starts: int, rng: np.random.Generator) -> list[FloatArray]:
    points = [design.start.copy()]
    for _ in range(starts - 1):
        jitter = rng.normal(0.0, 0.5, size=design.start.size) * np.maximum(
            1.0, np.abs(design.start)
        )
        point = design.start + jitter
        if design.eta is not None:
            point[design.eta] = abs(point[design.eta])
        points.append(point)
    return points


def fit(
    decisions: pd.DataFrame | str | Path,
    spec: ModelSpec | Mapping[str, Any] | str | Path,
    *,
    starts: int = 1,
    std_errors: bool = True,
    seed: int | None = None,
    maxiter: int = 1000,
    progress: Callable[[str], None] | None = None,
) -> EstimationResult:
    """Estimate a conditional or mixed logit by maximum (simulated) likelihood.

    Parameters
    ----------
    decisions : DataFrame, or path of a CSV or Parquet file
        Long format: one row per situation x alternative, columns named in ``spec``.
    spec : ModelSpec, mapping, or path of a SPEC YAML file
        See :class:`ModelSpec`.
    starts : int
        Number of starting points: the spec's (or default) start, then random perturbations of
        it drawn with ``seed``. The best optimum is kept.
    std_errors : bool
        Compute the Hessian and the classical, robust and clustered standard errors.
    seed : int or None
        Seed of the extra starting points (recorded in the result). The simulation draws use
        the spec's ``draws.seed``.
    maxiter : int
        Iteration limit per optimization.
    progress : callable or None
        Called with a short message at each stage (for a CLI spinner).

    Returns
    -------
    EstimationResult

    Raises
    ------
    InputError
        If the table or the spec is invalid.
    """
    if starts < 1:
        raise ValueError(f"starts must be at least 1, got {starts}")
    began = time.perf_counter()
    say = progress or (lambda _message: None)
    say("reading and checking the data")
    design = prepare(decisions, spec)
    rng = np.random.default_rng(seed)
    points = _starting_points(design, starts, rng)
    runs = []
    for k, theta0 in enumerate(points):
        say(f"maximizing the likelihood (start {k + 1} of {len(points)})")
        runs.append(_optimize(design, theta0, maxiter))
    log_likelihood_start = runs[0]["log_likelihood_start"]
    if log_likelihood_start is None:
        log_likelihood_start = _log_likelihood(design, points[0])
    best = max(
        runs, key=lambda r: r["log_likelihood"] if np.isfinite(r["log_likelihood"]) else -np.inf
    )
    theta = best["theta"]
    ll = best["log_likelihood"]
    cov = robust = clustered = None
    if std_errors:
        say("computing standard errors")
        if design.is_mixed:
            H = hessian(theta, design)
            # One Newton step from BFGS's stopping point, kept only if it improves.
            grad = mixed_pass(theta, design).gradient
            try:
                step = np.linalg.solve(-H, grad)
            except np.linalg.LinAlgError:
                step = np.zeros_like(theta)
            candidate = theta + step
            if np.all(np.isfinite(step)):
                ll_candidate = _log_likelihood(design, candidate)
                if ll_candidate > ll:
                    theta, ll = candidate, ll_candidate
            scores = observation_scores(theta, design)
        else:
            final = mnl_pass(theta, design, hessian=True, scores=True)
            assert final.hessian is not None and final.scores is not None
            H, scores = final.hessian, final.scores
        cov, robust, clustered = _covariances(design, H, scores)
    return EstimationResult.from_fit(
        design=design,
        theta=theta,
        log_likelihood=ll,
        log_likelihood_start=log_likelihood_start,
        log_likelihood_null=_null_log_likelihood(design),
        covariance=cov,
        robust_covariance=robust,
        clustered_covariance=clustered,
        iterations=int(best["iterations"]),
        evaluations=int(sum(r["evaluations"] for r in runs)),
        converged=bool(best["converged"]),
        message=str(best["message"]),
        start_log_likelihoods=tuple(float(r["log_likelihood"]) for r in runs),
        seed=seed,
        elapsed_s=time.perf_counter() - began,
    )
