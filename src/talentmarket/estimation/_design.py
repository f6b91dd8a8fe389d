"""Compiling a validated decisions table and a spec into the arrays the likelihood reads.

The parameter vector ``theta`` is laid out as::

    [ASC_<alt> ..., coefficients ..., specific ..., ALPHA]   the L linear parameters
    [ETA]                                                     if there is a money term
    [sd.<name> ...]                                           one per random coefficient

Utility of alternative j in situation n (draw r for random coefficients)::

    V_nj = sum_l beta_l x_njl            with x_nj,ALPHA = u(w_nj; ETA), w = (W0 + PV) / W0

Linear terms are kept as *terms* (views of the table's columns where possible) rather than one
dense (N, J, L) array, so that a large table is never copied whole: the likelihood materializes
dense blocks of a few thousand situations at a time (see ``linear_block``). A mixed logit also
gets a padded panel layout, persons x situations-per-person, built once.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from numpy.typing import NDArray

from talentmarket._errors import InputError, Issue
from talentmarket.estimation._data import DecisionTable
from talentmarket.estimation._halton import standard_draws, uniform_draws
from talentmarket.estimation._spec import ModelSpec

__all__ = ["Design", "Panel", "compile_design"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.intp]
BoolArray = NDArray[np.bool_]

# One linear term: (alternative index or None for every alternative, values or None for 1.0).
# values has shape (N, J) when the alternative is None, else (N,).
Term = tuple[int | None, FloatArray | None]

# Dense blocks above this many bytes are built chunk by chunk at every evaluation instead of
# once: it bounds memory at the price of re-copying (cheap next to exp and log).
DENSE_CACHE_BYTES = 48 * 2**20


@dataclass(frozen=True, eq=False)
class Panel:
    """Padded persons x situations layout of a mixed logit, relative to the chosen alternative.

    Units are persons (with a person column) or situations. Each situation keeps its J - 1
    non-chosen alternatives with ``x_nonchosen - x_chosen``: then
    ``log P_chosen = -log(1 + sum_d exp(V_d))`` and the chosen alternative needs no exp.

    Attributes
    ----------
    Xd : ndarray, shape (n_units, T, J - 1, L)
        Differences of the linear columns; the ALPHA column is filled at each evaluation.
        Padding slots (persons with fewer than T situations) are zero.
    nonchosen : ndarray of intp, shape (n_units, T, J - 1)
        Alternative index of each non-chosen slot.
    chosen : ndarray of intp, shape (n_units, T)
    available : ndarray, shape (n_units, T, J - 1), or None
        1.0 where the non-chosen alternative is available; 0 on padding. None: all available
        and no padding.
    ratio : ndarray, shape (n_units, T, J), or None
        Wealth ratio of the money term; 1 on padding and unavailable cells.
    draws : ndarray, shape (n_units, K_r, R)
        Standard draws of the random coefficients (see ``_halton.standard_draws``).
    """

    Xd: FloatArray
    nonchosen: IntArray
    chosen: IntArray
    available: FloatArray | None
    ratio: FloatArray | None
    draws: FloatArray


@dataclass(frozen=True, eq=False)
class Design:
    """A compiled estimation problem.

    Attributes
    ----------
    table : DecisionTable
        The validated data (situations x alternatives).
    spec : ModelSpec
    names : tuple of str, length P
        Parameter names in ``theta`` order.
    kinds : tuple of str, length P
        ``constant``, ``coefficient``, ``specific``, ``money`` (ALPHA), ``eta`` or ``sd``.
    n_linear : int
        L, number of linear parameters (ALPHA included).
    terms : tuple of tuple of Term, length L
        The data of each linear parameter (empty for ALPHA, computed from ``ratio``).
    alpha, eta : int or None
        Positions of ALPHA and ETA in ``theta``.
    ratio : ndarray, shape (N, J), or None
        ``(W0 + PV) / W0``; 1 where the alternative is unavailable.
    random : tuple of int
        Positions (among the linear parameters) of the random coefficients; their sds follow
        ETA in ``theta`` in the same order.
    distributions : tuple of str
        Mixing distribution of each random coefficient.
    panel : Panel or None
        Mixed logit layout.
    start : ndarray, shape (P,)
        Default starting values (spec ``start`` applied).
    """

    table: DecisionTable
    spec: ModelSpec
    names: tuple[str, ...]
    kinds: tuple[str, ...]
    n_linear: int
    terms: tuple[tuple[Term, ...], ...]
    alpha: int | None
    eta: int | None
    ratio: FloatArray | None
    random: tuple[int, ...]
    distributions: tuple[str, ...]
    panel: Panel | None
    start: FloatArray
    _cache: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def n_parameters(self) -> int:
        """P, the length of ``theta``."""
        return len(self.names)

    @property
    def n_situations(self) -> int:
        """N."""
        return self.table.n_situations

    @property
    def n_alternatives(self) -> int:
        """J."""
        return self.table.n_alternatives

    @property
    def is_mixed(self) -> bool:
        """Whether some coefficient is random."""
        return bool(self.random)

    @property
    def n_mnl(self) -> int:
        """Length of the non-random part of ``theta`` (linear parameters and ETA)."""
        return self.n_linear + (1 if self.eta is not None else 0)

    def linear_block(
        self, start: int, stop: int, *, extra: int = 0, cache: bool = True
    ) -> FloatArray:
        """Dense linear columns of situations ``start:stop``, parameter-major.

        Parameters
        ----------
        start, stop : int
            Situation range.
        extra : int
            Additional rows left for the caller (the ETA derivative column).
        cache : bool
            Keep the block for the next call when the whole design is small (see
            ``DENSE_CACHE_BYTES``); a large design is re-materialized block by block, which
            copies each column slice contiguously and never holds the whole table twice.

        Returns
        -------
        ndarray, shape (L + extra, stop - start, J)
            The caller may write the ALPHA row and the extra rows; nothing else.
        """
        key = f"block:{start}:{stop}:{extra}"
        if key in self._cache:
            block: FloatArray = self._cache[key]
            return block
        n, J, L = stop - start, self.n_alternatives, self.n_linear
        block = np.zeros((L + extra, n, J), dtype=np.float64)
        for k, terms in enumerate(self.terms):
            for alt, values in terms:
                if alt is None:
                    assert values is not None
                    block[k] = values[start:stop]
                elif values is None:
                    block[k, :, alt] = 1.0
                else:
                    block[k, :, alt] = values[start:stop]
        if cache and self.n_situations * J * (L + extra) * 8 <= DENSE_CACHE_BYTES:
            self._cache[key] = block
        return block


def _issue(design_source: str, field_path: str, message: str) -> InputError:
    return InputError([Issue(design_source, field_path, message)])


def compile_design(table: DecisionTable, spec: ModelSpec) -> Design:
    """Compile a validated table and a spec into a :class:`Design`.

    Parameters
    ----------
    table : DecisionTable
        From ``validate_decisions``.
    spec : ModelSpec

    Returns
    -------
    Design

    Raises
    ------
    InputError
        If ``random`` or ``start`` names a parameter the model does not have.
    """
    alts = table.alternatives
    names: list[str] = []
    kinds: list[str] = []
    terms: list[tuple[Term, ...]] = []
    if spec.constants is not None:
        for j, alt in enumerate(alts):
            if alt != spec.constants.reference:
                names.append(f"ASC_{alt}")
                kinds.append("constant")
                terms.append(((j, None),))
    for name, column in spec.coefficients.items():
        names.append(name)
        kinds.append("coefficient")
        terms.append(((None, table.wide(column)),))
    wide_cache: dict[str, FloatArray] = {}
    for name, per_alt in spec.specific.items():
        names.append(name)
        kinds.append("specific")
        items: list[Term] = []
        for alt, column in per_alt.items():
            if column not in wide_cache:
                wide_cache[column] = table.wide(column)
            items.append((alts.index(alt), wide_cache[column][:, alts.index(alt)]))
        terms.append(tuple(items))
    alpha = eta = None
    ratio = None
    if spec.money is not None:
        alpha = len(names)
        names.append(spec.money.alpha)
        kinds.append("money")
        terms.append(())
        wealth = table.wide(spec.money.wealth, fill=1.0)
        value = table.wide(spec.money.value, fill=0.0)
        ratio = (wealth + value) / wealth
        eta = len(names)
        names.append(spec.money.eta)
        kinds.append("eta")
    n_linear = len(terms)

    random: list[int] = []
    distributions: list[str] = []
    for k, name in enumerate(names[:n_linear]):
        if name in spec.random:
            random.append(k)
            distributions.append(spec.random[name])
    for name in spec.random:
        if name not in names[:n_linear]:
            raise _issue(table.source, f"random.{name}", "not a linear parameter of the model; "
                         f"known: {', '.join(names[:n_linear])}")  # fmt: skip
    for k in random:
        names.append(f"sd.{names[k]}")
        kinds.append("sd")

    start = np.zeros(len(names))
    if alpha is not None:
        start[alpha] = 0.5
    if eta is not None:
        start[eta] = 1.0
    start[n_linear + (eta is not None) :] = 0.1
    for name, initial in spec.start.items():
        if name not in names:
            raise _issue(table.source, f"start.{name}", "not a parameter of the model; known: "
                         + ", ".join(names))  # fmt: skip
        start[names.index(name)] = initial

    design = Design(
        table=table,
        spec=spec,
        names=tuple(names),
        kinds=tuple(kinds),
        n_linear=n_linear,
        terms=tuple(terms),
        alpha=alpha,
        eta=eta,
        ratio=ratio,
        random=tuple(random),
        distributions=tuple(distributions),
        panel=None,
        start=start,
    )
    if not random:
        return design
    return replace(design, panel=_panel(design), _cache={})


def _panel(design: Design) -> Panel:
    """Padded persons x situations arrays and the draws of a mixed logit."""
    table = design.table
    N, J = table.n_situations, table.n_alternatives
    if table.person_index is None:
        rows = np.arange(N, dtype=np.intp)[:, None]
    else:
        order = np.argsort(table.person_index, kind="stable")
        n_persons = 0 if table.person_ids is None else len(table.person_ids)
        counts = np.bincount(table.person_index, minlength=n_persons)
        T = int(counts.max())
        starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
        slot = np.arange(N) - np.repeat(starts, counts)
        rows = np.full((counts.size, T), -1, dtype=np.intp)
        rows[table.person_index[order], slot] = order
    n_units, T = rows.shape
    valid = rows >= 0
    safe = np.where(valid, rows, 0)
    chosen = np.where(valid, table.chosen[safe], 0)
    # Non-chosen alternatives of each slot, in alternative order.
    others = np.broadcast_to(np.arange(J), (n_units, T, J))
    keep = others != chosen[:, :, None]
    nonchosen = others[keep].reshape(n_units, T, J - 1).astype(np.intp)
    X = np.moveaxis(design.linear_block(0, N, cache=False), 0, -1)[safe]  # (n_units, T, J, L)
    Xd = np.take_along_axis(X, nonchosen[..., None], axis=2)
    Xd -= np.take_along_axis(X, chosen[:, :, None, None], axis=2)
    Xd[~valid] = 0.0
    available: FloatArray | None = None
    if table.available is not None or not valid.all():
        avail = np.ones((N, J), dtype=np.bool_) if table.available is None else table.available
        avail_slots = avail[safe]
        avail_slots[~valid] = False
        available = np.take_along_axis(avail_slots, nonchosen, axis=2).astype(np.float64)
    ratio = None
    if design.ratio is not None:
        ratio = design.ratio[safe]
        ratio[~valid] = 1.0
    draws_spec = design.spec.draws
    uniforms = uniform_draws(
        n_units,
        draws_spec.count,
        len(design.random),
        kind=draws_spec.kind,
        seed=draws_spec.seed,
        drop=draws_spec.drop,
        shuffle=draws_spec.shuffle,
    )
    draws = standard_draws(uniforms, design.distributions)
    return Panel(
        Xd=Xd, nonchosen=nonchosen, chosen=chosen, available=available, ratio=ratio, draws=draws
    )
