"""Simulation draws for mixed logit: Halton sequences and pseudo-random uniforms, as in xlogit.

The draws are bit-for-bit those of xlogit 0.2.7 (``MixedLogit._generate_halton_draws`` and
``_generate_random_draws``) so that an estimate can be compared with xlogit's on the very same
draws (and with mlogit's, which uses the same construction):

- the k-th random coefficient uses the k-th prime of xlogit's list (which skips 67);
- one sequence of ``n_units * n_draws + drop`` points per coefficient, the first ``drop``
  discarded, optionally shuffled, then cut into consecutive blocks of ``n_draws`` per unit
  (person in a panel, else choice situation), units in sorted order of their ids;
- shuffling and pseudo draws use ``numpy.random.RandomState(seed)``, the generator xlogit seeds
  globally; here it is a local object, so no global state is touched.

Uniforms are then mapped to the mixing distribution's standard draw: normal and lognormal
through the normal quantile, triangular on [-1, 1], uniform on [-1, 1].
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray
from scipy import special

__all__ = ["XLOGIT_PRIMES", "halton_sequence", "standard_draws", "uniform_draws"]

FloatArray = NDArray[np.float64]

# xlogit's list, verbatim (67 is missing there; keeping it so keeps the draws identical).
XLOGIT_PRIMES: tuple[int, ...] = (
    2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 71, 73, 79, 83, 89, 97,
    101, 103, 107, 109, 113, 127, 131, 137, 139, 149, 151, 157, 163, 167, 173, 179, 181, 191, 193,
    197, 199, 211, 223, 227, 229, 233, 239, 241, 251, 257, 263, 269, 271, 277, 281, 283, 293, 307,
    311,
)  # fmt: skip


def halton_sequence(length: int, prime: int, drop: int = 100) -> FloatArray:
    """Points ``drop .. drop + length - 1`` of the Halton (radical-inverse) sequence in a base.

    The digits are added from the least significant one up, in floating point, in the same order
    as xlogit's block construction, so the values agree bit for bit.

    Parameters
    ----------
    length : int
        Number of points returned.
    prime : int
        Base of the sequence.
    drop : int
        Number of leading points discarded (the first is 0).

    Returns
    -------
    ndarray, shape (length,)
        Points in [0, 1).
    """
    index = np.arange(drop, drop + length, dtype=np.int64)
    out = np.zeros(length, dtype=np.float64)
    t = 1
    while index.any():
        digit = index % prime
        out += (1 / prime**t) * digit
        index //= prime
        t += 1
    return out


def uniform_draws(
    n_units: int,
    n_draws: int,
    n_vars: int,
    *,
    kind: str = "halton",
    seed: int = 0,
    drop: int = 100,
    shuffle: bool = False,
    primes: Sequence[int] = XLOGIT_PRIMES,
) -> FloatArray:
    """Uniform draws per unit, variable and draw, identical to xlogit's.

    Parameters
    ----------
    n_units : int
        Persons (panel) or choice situations.
    n_draws : int
        Draws per unit.
    n_vars : int
        Random coefficients.
    kind : {"halton", "pseudo"}
        Halton sequences, or ``RandomState(seed).uniform``.
    seed : int
        Seed of the shuffle (Halton) or of the pseudo-random draws.
    drop : int
        Leading Halton points discarded.
    shuffle : bool
        Shuffle each Halton sequence (xlogit's ``halton_opts={"shuffle": True}``).
    primes : sequence of int
        Bases, one per variable (cycled).

    Returns
    -------
    ndarray, shape (n_units, n_vars, n_draws)
        Values in [0, 1).
    """
    # RandomState, not Generator: it is what xlogit draws with, and matching its draws is the
    # point of this module.
    rng = np.random.RandomState(seed)
    if kind == "pseudo":
        return rng.uniform(size=(n_units, n_vars, n_draws))
    if kind != "halton":
        raise ValueError(f"unknown kind of draws {kind!r}; expected 'halton' or 'pseudo'")
    out = np.empty((n_units, n_vars, n_draws), dtype=np.float64)
    for k in range(n_vars):
        seq = halton_sequence(n_units * n_draws, primes[k % len(primes)], drop)
        if shuffle:
            rng.shuffle(seq)
        out[:, k, :] = seq.reshape(n_units, n_draws)
    return out


def standard_draws(uniforms: FloatArray, distributions: Sequence[str]) -> FloatArray:
    """Map uniforms to standard draws of each coefficient's mixing distribution (as xlogit).

    Parameters
    ----------
    uniforms : ndarray, shape (n_units, n_vars, n_draws)
        Values in (0, 1).
    distributions : sequence of str, length n_vars
        ``normal`` or ``lognormal`` (standard normal), ``triangular`` (symmetric on [-1, 1]),
        ``uniform`` (on [-1, 1]).

    Returns
    -------
    ndarray, shape (n_units, n_vars, n_draws)
        A new array; the coefficient is ``mean + sd * draw`` (exponentiated for lognormal).
    """
    out = np.empty_like(uniforms)
    for k, dist in enumerate(distributions):
        u = uniforms[:, k, :]
        if dist in ("normal", "lognormal"):
            out[:, k, :] = special.ndtri(u)
        elif dist == "triangular":
            out[:, k, :] = np.where(u <= 0.5, np.sqrt(2 * u) - 1, 1 - np.sqrt(2 * (1 - u)))
        elif dist == "uniform":
            out[:, k, :] = 2 * u - 1
        else:
            raise ValueError(f"unknown mixing distribution {dist!r}")
    return out
