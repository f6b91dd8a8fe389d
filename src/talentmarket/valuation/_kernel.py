"""Monte Carlo valuation kernel: packages x paths x months as arrays.

Inputs are the compiled arrays of :mod:`talentmarket.valuation._arrays`; the output is a
:class:`ValueSamples` of per-path present values. Semantics, all on the month grid
m = 0..M (month m ends at t = m / 12 years):

Discounting
    Cash received at month m counts ``exp(-discount_rate * m / 12)`` (continuous compounding,
    like the equity drift, so a zero-volatility public share with drift == discount_rate is
    worth exactly its grant value).

Public equity (kind PUBLIC)
    Share price GBM with S_0 = 1 and monthly log increments
    ``(drift - vol**2 / 2) / 12 + vol * sqrt(1 / 12) * Z``; E[S_t] = exp(drift * t). Units
    vesting at month m are received and sold at m at S_m. ``failure_hazard``,
    ``liquidity_hazard``, ``dilution_per_year`` and ``illiquidity_haircut`` are ignored.

Private equity (kind PRIVATE)
    Per-unit value V_m = GBM_m * (1 - dilution) ** (m / 12), and 0 from the failure month on;
    the failure month is ``ceil(12 * tau_f)``, tau_f ~ Exp(failure_hazard) years (never if
    the hazard is 0). The liquidity month is ``ceil(12 * tau_l)``, tau_l ~ Exp(liquidity_hazard).
    Units vested at or before the liquidity month are realized there at V; units vesting after
    it are realized at their vest month. Without a liquidity event within the horizon every
    vested unit is marked at month M at ``V_M * (1 - illiquidity_haircut)`` (0 if failed),
    discounted from M.

Options (``is_option``)
    Per unit ``max(value - strike, 0)`` instead of the value, the strike being a fraction of
    the grant-date price. Public options: every unit vested while employed is exercised at the
    person's last employed month ``min(k, M)`` (see Departure). Private options: realized when
    units of the same grant would be (liquidity month, vest month, or horizon mark, the haircut
    applied to the option's payoff) -- an approximation that ignores the early-exercise and
    post-departure exercise-window choices an option holder really has.

Refresh grants (``grant_month`` g > 0)
    ``vest[m]`` is value at grant in USD; on each path it buys ``vest[m] / S_g`` units (or
    ``/ V_g``; none if a private company failed by g), so the value at vest is
    ``vest[m] * S_m / S_g``. Option strikes of refresh grants are fractions of S_g (V_g).

Departure
    Each person (``person_key``) leaves at tau = E / departure_hazard years, E ~ Exp(1) drawn
    once per person and path and shared by all that person's rows (common random numbers);
    hazard 0 means never. The person is employed through month m iff m <= 12 tau, so the last
    employed month is k = min(floor(12 tau), M). Salary, bonus and vesting at months after k
    are forfeited; vested private units are kept and realized under the private rules.
    Clawback: if 12 tau < clawback_months T and the departure falls within the horizon
    (12 tau <= M), the person repays ``sign_on * (T - 12 tau) / T`` at tau, discounted at
    exactly tau (not on the month grid).

Bonus
    ``bonus_target[r, m] * multiplier``, the multiplier lognormal with the row's median and
    sigma, drawn per path and payment month from the person's stream. A person's draws cover
    the union of the bonus months of their rows, so rows of the same person share the
    multiplier of a given month.

Randomness
    Every stream is keyed by stable ids and a purpose, never by position:
    ``SeedSequence([seed, 1, source_key, j])`` for a company (j = 0 price normals, 1 failure
    times, 2 liquidity times) and ``SeedSequence([seed, 2, person_key, j])`` for a person
    (j = 0 departure times, 1 bonus normals). Adding a company or a person never changes
    anyone else's draws. Each stream is drawn in path order (all months of path p before path
    p + 1), so drawing in chunks of paths yields the same numbers as one big draw: results
    do not depend on ``path_chunk``.

Outputs (per row and path, USD)
    ``pv``: discounted cash actually received (clawback repayments negative); ``nominal``:
    the same undiscounted; ``employer_cost``: discounted cash paid less clawbacks plus equity
    delivered, valued at its vest month at S_m / V_m (no haircut, no liquidity wait), options
    at intrinsic value at the person's exercise (for private options the realization time, no
    haircut); ``headline`` per row: salary + sign-on + bonus targets + tranche vest amounts
    over the horizon at grant-date prices, undiscounted.

Speed and memory
    Per company and chunk of paths the only full-grid work is drawing the normals and one
    cumulative sum along months (the log price, computed once and shared by every row and
    tranche of that company). ``exp`` is taken only at the months some grant needs (vest and
    grant months, and M), gathered and transposed in one step into an event-major
    (n_events, P) block, and at per-path months (liquidity, exercise) via ``take_along_axis``.
    Departure cut-offs of salary are cumulative sums over months read at the last employed
    month; those of vesting and bonuses are masked sums over the event axis of the
    event-major block: numpy adds whole rows there, which is several times faster than
    row-wise cumulative sums over short rows and adds each path's terms in the same order
    whatever the chunk. Memory is the three (n_rows, n_paths) outputs plus O(path_chunk x M)
    scratch per company.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from talentmarket._errors import InputError, Issue
from talentmarket.valuation._arrays import (
    PRIVATE,
    PUBLIC,
    EquitySources,
    EquityTranches,
    PackageRows,
)
from talentmarket.valuation._crra import certainty_equivalent

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]

__all__ = ["DEFAULT_PATH_CHUNK", "ValueSamples", "simulate_values"]

DEFAULT_PATH_CHUNK = 2048
"""Paths per chunk: a company's (chunk, M + 1) log-price buffer stays within a few MiB."""

_SOURCE_STREAM = 1
_PERSON_STREAM = 2
_PRICE, _FAILURE, _LIQUIDITY = 0, 1, 2
_DEPARTURE, _BONUS = 0, 1
_HEADLINE_RTOL = 1e-9


def _readonly(a: NDArray[Any]) -> NDArray[Any]:
    a.setflags(write=False)
    return a


@dataclass(frozen=True)
class ValueSamples:
    """Simulated values of n_rows packages on n_paths paths (immutable).

    Attributes
    ----------
    pv : (n_rows, n_paths) float64
        USD received by the person, discounted to t = 0; clawback repayments negative.
    nominal : (n_rows, n_paths) float64
        The same cash flows undiscounted, USD.
    employer_cost : (n_rows, n_paths) float64
        Discounted USD cost to the employer (cash paid less clawbacks plus equity delivered at
        its vest-month value; options at intrinsic value at exercise).
    headline : (n_rows,) float64
        Nominal sum of all components at grant-date prices, undiscounted, USD.
    seed : int
        Seed the samples were drawn with.
    n_paths : int
    discount_rate : float
        Annual, continuously compounded.
    """

    pv: F64
    nominal: F64
    employer_cost: F64
    headline: F64
    seed: int
    n_paths: int
    discount_rate: float

    def __post_init__(self) -> None:
        for a in (self.pv, self.nominal, self.employer_cost, self.headline):
            _readonly(a)

    @property
    def n_rows(self) -> int:
        """Number of package rows."""
        return int(self.pv.shape[0])

    @property
    def expected_pv(self) -> F64:
        """(n_rows,) mean discounted value over paths, USD."""
        return np.asarray(self.pv.mean(axis=1), dtype=np.float64)

    @property
    def expected_employer_cost(self) -> F64:
        """(n_rows,) mean discounted employer cost over paths, USD."""
        return np.asarray(self.employer_cost.mean(axis=1), dtype=np.float64)

    @property
    def mc_standard_error(self) -> F64:
        """(n_rows,) Monte Carlo standard error of :attr:`expected_pv`, USD."""
        if self.n_paths < 2:
            return np.full(self.n_rows, np.nan)
        sd = self.pv.std(axis=1, ddof=1)
        return np.asarray(sd / math.sqrt(self.n_paths), dtype=np.float64)

    @property
    def p_realize_headline(self) -> F64:
        """(n_rows,) probability that the nominal amount received reaches the headline.

        A relative tolerance of 1e-9 absorbs rounding, so a deterministic package that pays its
        headline in full counts as realizing it.
        """
        threshold = self.headline * (1.0 - _HEADLINE_RTOL)
        hit = self.nominal >= threshold[:, None]
        return np.asarray(hit.mean(axis=1), dtype=np.float64)

    def pv_quantiles(self, qs: ArrayLike) -> F64:
        """Quantiles of the discounted value over paths.

        Parameters
        ----------
        qs : array_like, shape (n_q,)
            Probabilities in [0, 1].

        Returns
        -------
        ndarray, shape (n_rows, n_q)
            USD.
        """
        q = np.atleast_1d(np.asarray(qs, dtype=np.float64))
        return np.asarray(np.quantile(self.pv, q, axis=1).T, dtype=np.float64)

    def certainty_equivalent(self, wealth: ArrayLike, eta: ArrayLike) -> F64:
        """Certainty equivalent of each row's PV for a CRRA person.

        Parameters
        ----------
        wealth : array_like, broadcastable to (n_rows,)
            Current wealth W0, USD.
        eta : array_like, broadcastable to (n_rows,)
            Relative risk aversion.

        Returns
        -------
        ndarray, shape (n_rows,)
            USD; see :func:`talentmarket.valuation.certainty_equivalent`.
        """
        return certainty_equivalent(self.pv, wealth, eta)


def simulate_values(
    sources: EquitySources,
    rows: PackageRows,
    tranches: EquityTranches,
    *,
    n_paths: int,
    discount_rate: float,
    seed: int,
    path_chunk: int = DEFAULT_PATH_CHUNK,
) -> ValueSamples:
    """Simulate every package row on ``n_paths`` paths of the monthly grid.

    Parameters
    ----------
    sources : EquitySources
        n_sources companies.
    rows : PackageRows
        n_rows packages on M + 1 months.
    tranches : EquityTranches
        n_tranches equity grants, each in a row whose ``source`` is >= 0.
    n_paths : int
        Monte Carlo paths, >= 1.
    discount_rate : float
        Annual, continuously compounded.
    seed : int
        Non-negative; with the stable keys it fixes every draw (see module docstring).
    path_chunk : int
        Paths processed at a time; bounds memory, never changes results.

    Returns
    -------
    ValueSamples
        ``pv``, ``nominal``, ``employer_cost`` of shape (n_rows, n_paths), ``headline`` (n_rows,).
    """
    _check_inputs(sources, rows, tranches, n_paths, seed, path_chunk)
    n_rows, M = rows.n, rows.n_months
    months = np.arange(M + 1, dtype=np.int64)
    disc = np.exp(-discount_rate * months / 12.0)
    pv = np.zeros((n_rows, n_paths))
    nominal = np.zeros((n_rows, n_paths))
    cost = np.zeros((n_rows, n_paths))
    # Last employed month per row and path, filled by the people pass, read by the equity pass.
    last = np.full((n_rows, n_paths), M, dtype=np.int32 if M < 2**31 else np.int64)

    _people_pass(rows, disc, discount_rate, n_paths, seed, path_chunk, pv, nominal, cost, last)
    _equity_pass(sources, rows, tranches, disc, n_paths, seed, path_chunk, pv, nominal, cost, last)

    headline = rows.salary.sum(axis=1) + rows.sign_on + rows.bonus_target.sum(axis=1)
    np.add.at(headline, tranches.row, tranches.vest.sum(axis=1))
    return ValueSamples(
        pv=pv,
        nominal=nominal,
        employer_cost=cost,
        headline=np.asarray(headline, dtype=np.float64),
        seed=int(seed),
        n_paths=int(n_paths),
        discount_rate=float(discount_rate),
    )


# --------------------------------------------------------------------------- checks


def _check_inputs(
    sources: EquitySources,
    rows: PackageRows,
    tranches: EquityTranches,
    n_paths: int,
    seed: int,
    path_chunk: int,
) -> None:
    issues: list[Issue] = []

    def bad(fld: str, msg: str) -> None:
        issues.append(Issue("valuation", fld, msg))

    if n_paths < 1:
        bad("n_paths", f"must be >= 1, got {n_paths}")
    if path_chunk < 1:
        bad("path_chunk", f"must be >= 1, got {path_chunk}")
    if seed < 0:
        bad("seed", f"must be >= 0, got {seed}")
    ns, nr, nt, M = sources.n, rows.n, tranches.n, rows.n_months
    for name in (
        "kind",
        "drift",
        "volatility",
        "failure_hazard",
        "liquidity_hazard",
        "dilution_per_year",
        "illiquidity_haircut",
    ):
        if getattr(sources, name).shape != (ns,):
            bad(f"sources.{name}", f"shape {getattr(sources, name).shape}, expected ({ns},)")
    if ns and np.any(sources.key < 0):
        bad("sources.key", "keys must be >= 0 (they seed random streams)")
    if ns and not np.all(np.isin(sources.kind, (PUBLIC, PRIVATE))):
        bad("sources.kind", "must be PUBLIC (0) or PRIVATE (1)")
    for name in ("volatility", "failure_hazard", "liquidity_hazard"):
        if ns and np.any(getattr(sources, name) < 0):
            bad(f"sources.{name}", "must be >= 0")
    for name in ("dilution_per_year", "illiquidity_haircut"):
        v = getattr(sources, name)
        if ns and np.any((v < 0) | (v >= 1)):
            bad(f"sources.{name}", "must be in [0, 1)")
    for name in (
        "departure_hazard",
        "source",
        "sign_on",
        "clawback_months",
        "bonus_median",
        "bonus_sigma",
    ):
        if getattr(rows, name).shape != (nr,):
            bad(f"rows.{name}", f"shape {getattr(rows, name).shape}, expected ({nr},)")
    if M < 0:
        bad("rows.salary", "needs at least one month column")
    if rows.bonus_target.shape != rows.salary.shape:
        bad("rows.bonus_target", f"shape {rows.bonus_target.shape}, expected {rows.salary.shape}")
    if nr and np.any(rows.person_key < 0):
        bad("rows.person_key", "keys must be >= 0 (they seed random streams)")
    if nr and np.any(rows.departure_hazard < 0):
        bad("rows.departure_hazard", "must be >= 0")
    if nr and np.any((rows.source < -1) | (rows.source >= ns)):
        bad("rows.source", f"must be -1 or an index in [0, {ns})")
    if nr and np.any(rows.bonus_target != 0) and np.any(rows.bonus_median <= 0):
        bad("rows.bonus_median", "must be > 0")
    for name in ("grant_month", "strike", "is_option"):
        if getattr(tranches, name).shape != (nt,):
            bad(f"tranches.{name}", f"shape {getattr(tranches, name).shape}, expected ({nt},)")
    if tranches.vest.shape != (nt, M + 1):
        bad("tranches.vest", f"shape {tranches.vest.shape}, expected ({nt}, {M + 1})")
    if nt:
        if np.any((tranches.row < 0) | (tranches.row >= nr)):
            bad("tranches.row", f"must index rows in [0, {nr})")
        elif np.any(rows.source[tranches.row] < 0):
            bad("tranches.row", "a tranche belongs to a row without an equity source")
        if np.any((tranches.grant_month < 0) | (tranches.grant_month > M)):
            bad("tranches.grant_month", f"must be in [0, {M}]")
        elif tranches.vest.shape == (nt, M + 1):
            early = np.arange(M + 1)[None, :] < tranches.grant_month[:, None]
            if np.any((tranches.vest != 0) & early):
                bad("tranches.vest", "a grant vests before its grant month")
        if np.any(tranches.vest < 0):
            bad("tranches.vest", "must be >= 0")
        if np.any(tranches.strike < 0):
            bad("tranches.strike", "must be >= 0")
    if issues:
        raise InputError(issues)


# --------------------------------------------------------------------------- helpers


def _stream(seed: int, kind: int, key: int, purpose: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([seed, kind, int(key), purpose]))


def _chunks(n_paths: int, path_chunk: int) -> list[slice]:
    return [slice(lo, min(lo + path_chunk, n_paths)) for lo in range(0, n_paths, path_chunk)]


class _Scratch:
    """Reusable flat float64 buffers handed out as C-contiguous (n, P) arrays.

    Always contiguous, whatever P, so numpy takes the same loops on every chunk and chunked
    results equal unchunked ones bit for bit. Buffers: ``a`` masked values, ``b`` weighted
    values being summed, ``c`` a second mask, ``d`` payoffs computed from prices.
    """

    def __init__(self, size: int) -> None:
        self._bufs = {name: np.empty(size) for name in "abcd"}

    def _get(self, name: str, n: int, P: int) -> F64:
        return self._bufs[name][: n * P].reshape(n, P)

    def a(self, n: int, P: int) -> F64:
        return self._get("a", n, P)

    def b(self, n: int, P: int) -> F64:
        return self._get("b", n, P)

    def c(self, n: int, P: int) -> F64:
        return self._get("c", n, P)

    def d(self, n: int, P: int) -> F64:
        return self._get("d", n, P)


def _mask_window(
    x: F64,
    months: I64,
    hi: NDArray[Any] | None,
    lo: NDArray[Any] | None,
    out: F64,
) -> F64:
    """``x`` with, per path, the events outside the window (lo, hi] set to zero.

    Parameters
    ----------
    x : (n, P) float64
        Values per event (rows, e.g. vest months) and path (columns), event-major.
    months : (n,) int64
        Month of each event, ascending.
    hi, lo : (P,) int or None
        Window per path; None means no bound on that side.
    out : (n, P) float64
        Where the masked values go; ``x`` itself is returned when no path cuts any event.
    """
    n = x.shape[0]
    cut_hi = hi is not None and n > 0 and int(hi.min()) < int(months[-1])
    cut_lo = lo is not None and n > 0 and int(lo.max()) >= int(months[0])
    if not (cut_hi or cut_lo):
        return x
    if cut_hi and hi is not None:
        mask = months[:, None] <= hi[None, :]
        if cut_lo and lo is not None:
            mask &= months[:, None] > lo[None, :]
    elif lo is not None:
        mask = months[:, None] > lo[None, :]
    return np.multiply(x, mask, out=out)


def _weighted_sums(x: F64, weights: tuple[F64, ...], out: F64) -> list[F64]:
    """Per path, ``sum_j x[j, p] * w[j]`` for each weight vector ``w`` (n,); x is (n, P).

    Event-major layout: the sum over axis 0 adds whole rows in event order, so each path's
    sum is the same sequence of additions whatever the number of paths in the chunk.
    """
    sums = []
    for w in weights:
        y = np.multiply(x, w[:, None], out=out)
        sums.append(_sum_events(y))
    return sums


def _sum_events(y: F64) -> F64:
    """(P,) column sums of a C-contiguous (n, P) array, added row by row in event order.

    numpy adds whole rows for P >= 2; a single column would be reduced as one contiguous run
    with pairwise summation instead, so it is padded to two columns to give, bit for bit, what
    the path gets in any other chunk.
    """
    if y.shape[1] == 1:
        padded = np.zeros((y.shape[0], 2))
        padded[:, :1] = y
        return np.asarray(padded.sum(axis=0)[:1], dtype=np.float64)
    return np.asarray(y.sum(axis=0), dtype=np.float64)


def _ceil_months(rng: np.random.Generator, hazard: float, P: int, never: int) -> I64:
    """(P,) int64 month ``ceil(12 * tau)``, tau ~ Exp(hazard) years, capped at ``never``."""
    tau_months = rng.standard_exponential(P) * (12.0 / hazard)
    np.ceil(tau_months, out=tau_months)
    np.minimum(tau_months, never, out=tau_months)
    return tau_months.astype(np.int64)


# --------------------------------------------------------------------------- people


def _people_pass(
    rows: PackageRows,
    disc: F64,
    discount_rate: float,
    n_paths: int,
    seed: int,
    path_chunk: int,
    pv: F64,
    nominal: F64,
    cost: F64,
    last: NDArray[Any],
) -> None:
    """Cash components and departure months, one person at a time (their rows together)."""
    M = rows.n_months
    pay_nom = np.cumsum(rows.salary, axis=1)
    pay_disc = np.cumsum(rows.salary * disc, axis=1)
    pv += rows.sign_on[:, None]
    nominal += rows.sign_on[:, None]
    cost += rows.sign_on[:, None]
    keys = rows.person_key
    order = np.argsort(keys, kind="stable")
    uniq, starts = np.unique(keys[order], return_index=True)
    groups = np.split(order, starts[1:])
    width = min(path_chunk, n_paths)
    for key, rs in zip(uniq.tolist(), groups, strict=True):
        hazard = rows.departure_hazard[rs]
        leaves = hazard > 0
        scale = 12.0 / np.where(leaves, hazard, 1.0)
        bonus_months = np.flatnonzero(np.any(rows.bonus_target[rs] != 0, axis=0))
        nb = int(bonus_months.size)
        dep_rng = _stream(seed, _PERSON_STREAM, key, _DEPARTURE) if np.any(leaves) else None
        bonus_rng = _stream(seed, _PERSON_STREAM, key, _BONUS) if nb else None
        scratch = _Scratch(nb * width)
        for sl in _chunks(n_paths, path_chunk):
            P = sl.stop - sl.start
            # Departure month x = 12 tau per row and path (inf: never), last employed month k.
            if dep_rng is not None:
                x = dep_rng.standard_exponential(P)[None, :] * scale[:, None]
                x[~leaves] = np.inf
                k = np.minimum(np.floor(x), M).astype(np.int64)
            else:
                x = np.full((rs.size, P), np.inf)
                k = np.full((rs.size, P), M, dtype=np.int64)
            # Standard normals of the bonus multipliers, event-major (nb, P).
            z = bonus_rng.standard_normal((P, nb)).T if bonus_rng is not None else None
            for i, r in enumerate(rs.tolist()):
                kr = k[i]
                last[r, sl] = kr
                got_d = pay_disc[r, kr]
                got_n = pay_nom[r, kr]
                target = rows.bonus_target[r, bonus_months]
                if z is not None and np.any(target != 0):
                    mult = np.multiply(z, rows.bonus_sigma[r], out=scratch.d(nb, P))
                    np.exp(mult, out=mult)
                    mult *= rows.bonus_median[r]
                    paid = _mask_window(mult, bonus_months, kr, None, scratch.a(nb, P))
                    bonus_d, bonus_n = _weighted_sums(
                        paid, (target * disc[bonus_months], target), scratch.b(nb, P)
                    )
                    got_d += bonus_d
                    got_n += bonus_n
                T = float(rows.clawback_months[r])
                if T > 0 and rows.sign_on[r] != 0 and leaves[i]:
                    xr = x[i]
                    owes = (xr < T) & (xr <= M)
                    repay = np.where(owes, rows.sign_on[r] * (T - xr) / T, 0.0)
                    # Repaid at tau itself, not on the month grid.
                    got_n -= repay
                    got_d -= repay * np.exp(-discount_rate / 12.0 * np.where(owes, xr, 0.0))
                pv[r, sl] += got_d
                nominal[r, sl] += got_n
                cost[r, sl] += got_d


# --------------------------------------------------------------------------- equity


@dataclass(frozen=True)
class _Tranche:
    """One grant prepared for the chunk loop (everything that does not depend on paths)."""

    row: int
    vest_months: I64  # (n_v,) months with a nonzero vest amount, ascending
    vest_rows: slice | I64  # their rows in the source's fixed-month price block
    w_nom: F64  # (n_v,) vest amounts
    w_disc: F64  # (n_v,) vest amounts x discount factor
    cum_vest: F64  # (M + 1,) amount vested through month m
    grant_row: int  # row of the grant month in the fixed block; -1 for month 0
    strike: float
    is_option: bool


def _equity_pass(
    sources: EquitySources,
    rows: PackageRows,
    tranches: EquityTranches,
    disc: F64,
    n_paths: int,
    seed: int,
    path_chunk: int,
    pv: F64,
    nominal: F64,
    cost: F64,
    last: NDArray[Any],
) -> None:
    """Equity of every tranche, one company at a time, sharing its price paths."""
    if tranches.n == 0:
        return
    M = disc.shape[0] - 1
    # One set of chunk buffers for all companies: allocating megabytes per company would
    # return them to the system and fault fresh pages in again for every company.
    width = min(path_chunk, n_paths)
    bufs = _Buffers(
        z=np.empty(width * M), cum=np.empty(width * (M + 1)), scratch=_Scratch(width * (M + 1))
    )
    tranche_source = rows.source[tranches.row]
    for s in np.unique(tranche_source).tolist():
        ts = np.flatnonzero(tranche_source == s)
        _value_source(
            sources, s, tranches, ts, disc, n_paths, seed, path_chunk, bufs, pv, nominal, cost, last
        )


@dataclass(frozen=True)
class _Buffers:
    """Scratch shared by all companies: normals (P, M), log-price sums (P, M + 1), events."""

    z: F64
    cum: F64
    scratch: _Scratch


def _prepare(tranches: EquityTranches, ts: I64, fixed: I64, disc: F64) -> list[_Tranche]:
    prepared = []
    for t in ts.tolist():
        vest = tranches.vest[t]
        vm = np.flatnonzero(vest).astype(np.int64)
        pos = np.searchsorted(fixed, vm).astype(np.int64)
        contiguous = pos.size > 0 and int(pos[-1] - pos[0]) == pos.size - 1
        g = int(tranches.grant_month[t])
        prepared.append(
            _Tranche(
                row=int(tranches.row[t]),
                vest_months=vm,
                vest_rows=slice(int(pos[0]), int(pos[-1]) + 1) if contiguous else pos,
                w_nom=vest[vm],
                w_disc=vest[vm] * disc[vm],
                cum_vest=np.cumsum(vest),
                grant_row=int(np.searchsorted(fixed, g)) if g > 0 else -1,
                strike=float(tranches.strike[t]),
                is_option=bool(tranches.is_option[t]),
            )
        )
    return prepared


def _value_source(
    sources: EquitySources,
    s: int,
    tranches: EquityTranches,
    ts: I64,
    disc: F64,
    n_paths: int,
    seed: int,
    path_chunk: int,
    bufs: _Buffers,
    pv: F64,
    nominal: F64,
    cost: F64,
    last: NDArray[Any],
) -> None:
    """Add the equity of tranches ``ts`` (all on source ``s``) into pv, nominal and cost."""
    M = disc.shape[0] - 1
    private = int(sources.kind[s]) == PRIVATE
    vol = float(sources.volatility[s])
    a = vol * math.sqrt(1.0 / 12.0)
    b = (float(sources.drift[s]) - 0.5 * vol * vol) / 12.0
    if private:
        b += math.log1p(-float(sources.dilution_per_year[s])) / 12.0
    fail_h = float(sources.failure_hazard[s]) if private else 0.0
    liq_h = float(sources.liquidity_hazard[s]) if private else 0.0
    keep = 1.0 - float(sources.illiquidity_haircut[s]) if private else 1.0
    key = int(sources.key[s])
    never = M + 1

    # Months at which every path needs the price: vest and grant months (and M if private).
    vest_any = np.flatnonzero(np.any(tranches.vest[ts] != 0, axis=0))
    grants = tranches.grant_month[ts]
    extra = np.asarray([*grants[grants > 0].tolist(), *([M] if private else [])], dtype=np.int64)
    fixed = np.union1d(vest_any, extra).astype(np.int64)
    prepared = _prepare(tranches, ts, fixed, disc)
    drift_fixed = (b * fixed)[:, None]
    # Last month whose log price is read: per-path months (liquidity, exercise) reach M;
    # otherwise the last fixed month, and the cumulative sum can stop there.
    per_path_months = private or any(tr.is_option for tr in prepared)
    need = M if per_path_months or fixed.size == 0 else int(fixed[-1])

    price_rng = _stream(seed, _SOURCE_STREAM, key, _PRICE) if a > 0 else None
    fail_rng = _stream(seed, _SOURCE_STREAM, key, _FAILURE) if fail_h > 0 else None
    liq_rng = _stream(seed, _SOURCE_STREAM, key, _LIQUIDITY) if liq_h > 0 else None
    scratch = bufs.scratch

    for sl in _chunks(n_paths, path_chunk):
        P = sl.stop - sl.start
        # cum[p, m]: sum of the first m standard normals of path p (column 0 = 0), for
        # m <= need. All M normals are drawn, path-major, so chunks concatenate to one big
        # draw and the paths do not depend on which months the grants use.
        cum: F64 | None = None
        if price_rng is not None:
            z = bufs.z[: P * M].reshape(P, M)
            price_rng.standard_normal(out=z)
            cum = bufs.cum[: P * (M + 1)].reshape(P, M + 1)
            cum[:, 0] = 0.0
            np.cumsum(z[:, :need], axis=1, out=cum[:, 1 : need + 1])
        fail = _ceil_months(fail_rng, fail_h, P, never) if fail_rng is not None else None
        liq = _ceil_months(liq_rng, liq_h, P, never) if liq_rng is not None else None

        def price_at(m: NDArray[Any], cum: F64 | None = cum, fail: I64 | None = fail) -> F64:
            """(P,) price (per-unit value) at per-path month m; 0 from the failure month on."""
            logp = b * m.astype(np.float64)
            if cum is not None:
                logp += a * np.take_along_axis(cum, m[:, None].astype(np.intp), axis=1)[:, 0]
            out = np.exp(logp)
            if fail is not None:
                out[m >= fail] = 0.0
            return out

        # Prices at the fixed months, event-major (n_fixed, P): the only exp over a block.
        # cum.T[fixed] gathers and transposes in one pass.
        if cum is not None:
            px = cum.T[fixed]
            px *= a
            px += drift_fixed
        else:
            px = np.repeat(drift_fixed, P, axis=1)
        np.exp(px, out=px)
        if fail is not None:
            px *= fixed[:, None] < fail[None, :]

        if private:
            # Units vested by the liquidity month are realized there, or marked at M with the
            # haircut when no liquidity event comes within the horizon.
            liq_m = liq if liq is not None else np.full(P, never, dtype=np.int64)
            real_m = np.minimum(liq_m, M)
            real_px = price_at(real_m)
            real_disc = disc[real_m]
            real_keep = np.where(liq_m <= M, 1.0, keep) if keep != 1.0 else None

        for tr in prepared:
            r = tr.row
            k = last[r, sl]
            per_unit = None
            if tr.grant_row >= 0:
                # Refresh grant: USD at grant buys 1 / price units (none if already failed).
                at_grant = px[tr.grant_row]
                with np.errstate(divide="ignore"):
                    per_unit = np.where(at_grant > 0, 1.0 / at_grant, 0.0)
            if not private and tr.is_option:
                # Every unit vested while employed is exercised at the last employed month k.
                payoff = price_at(k)
                if per_unit is not None:
                    payoff *= per_unit
                payoff -= tr.strike
                np.maximum(payoff, 0.0, out=payoff)
                got_n = tr.cum_vest[k] * payoff
                got_d = got_n * disc[k]
                pv[r, sl] += got_d
                nominal[r, sl] += got_n
                cost[r, sl] += got_d
                continue
            # Payoff per grant-date dollar at each vest month, (n_v, P).
            n_v = tr.vest_months.size
            x = px[tr.vest_rows]
            if per_unit is not None or tr.is_option:
                payoff_buf = scratch.d(n_v, P)
                np.copyto(payoff_buf, x)
                x = payoff_buf
                if per_unit is not None:
                    x *= per_unit[None, :]
                if tr.is_option:
                    x -= tr.strike
                    np.maximum(x, 0.0, out=x)
            # Only what vests while employed (month <= k) is delivered.
            vested = _mask_window(x, tr.vest_months, k, None, scratch.a(n_v, P))
            if not private:
                got_d, got_n = _weighted_sums(vested, (tr.w_disc, tr.w_nom), scratch.b(n_v, P))
                pv[r, sl] += got_d
                nominal[r, sl] += got_n
                cost[r, sl] += got_d
                continue
            # Private: units vesting after the liquidity month, while employed, are realized
            # at their vest month ("late"); the rest at real_m ("early").
            if n_v == 0 or int(liq_m.min()) >= int(tr.vest_months[-1]):
                late_d = late_n = np.zeros(P)
            else:
                late = _mask_window(vested, tr.vest_months, None, liq_m, scratch.c(n_v, P))
                late_d, late_n = _weighted_sums(late, (tr.w_disc, tr.w_nom), scratch.b(n_v, P))
            early = real_px * per_unit if per_unit is not None else real_px.copy()
            if tr.is_option:
                early -= tr.strike
                np.maximum(early, 0.0, out=early)
            early *= tr.cum_vest[np.minimum(k, real_m)]
            early_kept = early * real_keep if real_keep is not None else early
            pv[r, sl] += early_kept * real_disc + late_d
            nominal[r, sl] += early_kept + late_n
            if tr.is_option:
                # Intrinsic value at exercise (= realization), without the haircut.
                cost[r, sl] += early * real_disc + late_d
            else:
                # Delivered at the vest month at V_m, without haircut or liquidity wait.
                (delivered,) = _weighted_sums(vested, (tr.w_disc,), scratch.b(n_v, P))
                cost[r, sl] += delivered
