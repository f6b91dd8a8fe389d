"""Reading and validating a long-format decisions table.

One row per choice situation x alternative. The structural columns are named in the spec's
``columns`` (situation, alternative, chosen 0/1, optional available 0/1, optional person); the
other columns hold attributes. A situation may omit rows of alternatives it did not offer: they
count as unavailable.

Every problem is reported at once in one :class:`~talentmarket.InputError`; each issue names the
file, the spec field whose column is wrong (``columns.chosen``, ``coefficients.B_TIME`` ...) and
what is wrong with which rows.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from talentmarket._errors import InputError, Issue
from talentmarket.estimation._spec import ModelSpec

__all__ = ["DecisionTable", "read_decisions", "validate_decisions"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.intp]
BoolArray = NDArray[np.bool_]


def read_decisions(path: str | Path) -> pd.DataFrame:
    """Read a decisions table from CSV (``.csv``, ``.csv.gz``, ``.txt``) or Parquet.

    Parameters
    ----------
    path : str or Path
        The file.

    Returns
    -------
    pandas.DataFrame
        One row per situation x alternative.

    Raises
    ------
    InputError
        If the file cannot be read or its format is unknown.
    """
    source = str(path)
    name = Path(path).name.lower()
    try:
        if name.endswith((".parquet", ".pq")):
            return pd.read_parquet(path)
        if name.endswith((".csv", ".csv.gz", ".txt", ".tsv", ".dat")):
            sep = "\t" if name.endswith((".tsv", ".dat")) else ","
            return pd.read_csv(path, sep=sep)
    except FileNotFoundError:
        raise InputError([Issue(source, "", "file not found")]) from None
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        raise InputError([Issue(source, "", f"cannot read the decisions table: {exc}")]) from None
    raise InputError(
        [Issue(source, "", "unknown format; expected .csv, .csv.gz, .tsv or .parquet")]
    )


@dataclass(frozen=True, eq=False)
class DecisionTable:
    """A validated decisions table laid out as situations x alternatives.

    Attributes
    ----------
    source : str
        File name (for messages).
    frame : pandas.DataFrame
        The table as given, rows in their original order.
    alternatives : tuple of str, length J
        Alternative labels, sorted by their values.
    situations : ndarray, shape (N,)
        Situation ids in design order (sorted).
    chosen : ndarray of intp, shape (N,)
        Index (0..J-1) of the chosen alternative of each situation.
    available : ndarray of bool, shape (N, J), or None
        Availability; None when every alternative is available in every situation.
    person_ids : ndarray, shape (n_persons,), or None
        Sorted unique person ids.
    person_index : ndarray of intp, shape (N,), or None
        Position in ``person_ids`` of each situation's person.
    """

    source: str
    frame: pd.DataFrame
    alternatives: tuple[str, ...]
    situations: NDArray[np.generic]
    chosen: IntArray
    available: BoolArray | None
    person_ids: NDArray[np.generic] | None
    person_index: IntArray | None
    _rows: IntArray | None  # (N, J) row of the frame per cell, -1 if absent; None: rectangular

    @property
    def n_situations(self) -> int:
        """N, the number of choice situations."""
        return int(self.chosen.shape[0])

    @property
    def n_alternatives(self) -> int:
        """J, the number of alternatives."""
        return len(self.alternatives)

    def wide(self, column: str, *, fill: float | None = None) -> FloatArray:
        """A numeric column as situations x alternatives.

        Parameters
        ----------
        column : str
            Column of ``frame``.
        fill : float or None
            Value of cells whose alternative is unavailable (absent rows included). None keeps
            the given values there, except non-finite ones, which become 0: the likelihood
            weighs unavailable cells by zero, and only NaN or inf could leak through.

        Returns
        -------
        ndarray, shape (N, J)
            A read-only view of the frame's column when the table is rectangular and sorted,
            the column is float64 and nothing needs filling (no copy); a new array otherwise.
        """
        series = self.frame[column]
        if series.dtype == np.float64:
            values = series.to_numpy()
        else:
            values = series.to_numpy(dtype=np.float64, na_value=np.nan)
        n, j = self.n_situations, self.n_alternatives
        if self._rows is None:
            out = values.reshape(n, j)
        else:
            out = np.full((n, j), 0.0 if fill is None else fill, dtype=np.float64)
            present = self._rows >= 0
            out[present] = values[self._rows[present]]
        if self.available is not None:
            unavailable = ~self.available
            if fill is None:
                bad = unavailable & ~np.isfinite(out)
                if np.any(bad):
                    out = out.copy() if out.base is not None else out
                    out[bad] = 0.0
            else:
                out = out.copy() if out.base is not None else out
                out[unavailable] = fill
        if out.base is not None:
            out = out.view()
            out.flags.writeable = False
        return out


def _codes(values: NDArray[np.generic]) -> tuple[NDArray[np.generic], IntArray]:
    """Sorted unique values and each value's position among them (hash-based, O(n))."""
    codes, uniques = pd.factorize(values, sort=True)
    return np.asarray(uniques), codes.astype(np.intp, copy=False)


def _first(values: NDArray[np.generic], limit: int = 5) -> str:
    shown = ", ".join(str(v) for v in values[:limit])
    return shown + (" ..." if len(values) > limit else "")


def _structural_fields(spec: ModelSpec) -> Iterator[tuple[str, str]]:
    cols = spec.columns
    yield "columns.situation", cols.situation
    yield "columns.alternative", cols.alternative
    yield "columns.chosen", cols.chosen
    if cols.available is not None:
        yield "columns.available", cols.available
    if cols.person is not None:
        yield "columns.person", cols.person


def attribute_fields(spec: ModelSpec) -> Iterator[tuple[str, str, str | None]]:
    """(spec field path, column, alternative or None) of every attribute column of the spec."""
    for name, column in spec.coefficients.items():
        yield f"coefficients.{name}", column, None
    for name, per_alt in spec.specific.items():
        for alt, column in per_alt.items():
            yield f"specific.{name}.{alt}", column, alt
    if spec.money is not None:
        yield "money.wealth", spec.money.wealth, None
        yield "money.value", spec.money.value, None


def _binary(
    values: pd.Series, field: str, column: str, source: str
) -> tuple[BoolArray, Issue | None]:
    raw = values.to_numpy()
    if raw.dtype == np.bool_:
        return raw, None
    numeric = pd.to_numeric(values, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    ok = (numeric == 0.0) | (numeric == 1.0)
    if ok.all():
        return numeric == 1.0, None
    bad = np.flatnonzero(~ok)
    shown = _first(values.iloc[bad[:5]].to_numpy())
    message = (
        f"column {column!r} must hold 0 or 1; {bad.size} row(s) do not "
        f"(first at row {bad[0]}: {shown})"
    )
    return numeric == 1.0, Issue(source, field, message)


def validate_decisions(frame: pd.DataFrame, spec: ModelSpec, *, source: str) -> DecisionTable:
    """Check a decisions table against a spec and lay it out as situations x alternatives.

    Parameters
    ----------
    frame : pandas.DataFrame
        Long format: one row per situation x alternative.
    spec : ModelSpec
        Names the columns.
    source : str
        File name for messages.

    Returns
    -------
    DecisionTable

    Raises
    ------
    InputError
        Listing every problem: missing columns, unknown alternatives, non-0/1 chosen or
        available, non-numeric or missing attributes, duplicate rows, situations with zero or
        several chosen alternatives, chosen-but-unavailable rows, a person that changes within a
        situation, non-positive wealth.
    """
    issues: list[Issue] = []
    columns = set(frame.columns)
    listing = ", ".join(str(c) for c in list(frame.columns)[:20])
    wanted = [*_structural_fields(spec), *((f, c) for f, c, _ in attribute_fields(spec))]
    for field, column in wanted:
        if column not in columns:
            issues.append(
                Issue(source, field, f"column {column!r} is not in the table (columns: {listing})")
            )
    if issues:
        raise InputError(issues)
    if len(frame) == 0:
        raise InputError([Issue(source, "", "the decisions table has no rows")])
    cols = spec.columns

    # Alternatives: labels sorted by value; every spec reference must exist.
    alt_values = frame[cols.alternative].to_numpy()
    if alt_values.dtype == object:
        alt_values = alt_values.astype(str)
    labels, alt_code = _codes(alt_values)
    alternatives = tuple(str(v) for v in labels)
    known = ", ".join(alternatives)
    if spec.constants is not None and spec.constants.reference not in alternatives:
        issues.append(
            Issue(
                source,
                "constants.reference",
                f"alternative {spec.constants.reference!r} does not occur in column "
                f"{cols.alternative!r} (alternatives: {known})",
            )
        )
    for name, per_alt in spec.specific.items():
        for alt in per_alt:
            if alt not in alternatives:
                issues.append(
                    Issue(
                        source,
                        f"specific.{name}.{alt}",
                        f"alternative {alt!r} does not occur in column {cols.alternative!r} "
                        f"(alternatives: {known})",
                    )
                )

    chosen_rows, issue = _binary(frame[cols.chosen], "columns.chosen", cols.chosen, source)
    if issue:
        issues.append(issue)
    avail_rows: BoolArray | None = None
    if cols.available is not None:
        avail_rows, issue = _binary(
            frame[cols.available], "columns.available", cols.available, source
        )
        if issue:
            issues.append(issue)

    for field, column, _ in attribute_fields(spec):
        if not (
            pd.api.types.is_numeric_dtype(frame[column])
            or pd.api.types.is_bool_dtype(frame[column])
        ):
            issues.append(
                Issue(
                    source, field, f"column {column!r} must be numeric, got {frame[column].dtype}"
                )
            )
    if issues:
        raise InputError(issues)

    # Layout. Fast path: rows already sorted by situation with every alternative in order.
    sit_values = frame[cols.situation].to_numpy()
    n_rows, J = len(frame), len(alternatives)
    rows: IntArray | None = None
    rectangular = False
    if n_rows % J == 0:
        block = alt_code.reshape(-1, J)
        sit_block = sit_values.reshape(-1, J)
        try:
            rectangular = bool(
                np.all(block == np.arange(J))
                and np.all(sit_block == sit_block[:, :1])
                and np.all(sit_block[1:, 0] > sit_block[:-1, 0])
            )
        except TypeError:  # ids of mixed types do not order
            rectangular = False
    if rectangular:
        situations = sit_values[::J]
    else:
        try:
            situations, sit_code = _codes(sit_values)
        except TypeError:
            situations, sit_code = _codes(sit_values.astype(str))
        N = situations.shape[0]
        rows = np.full((N, J), -1, dtype=np.intp)
        flat = sit_code * J + alt_code
        counts = np.bincount(flat, minlength=N * J)
        if np.any(counts > 1):
            dup = np.flatnonzero(counts > 1)
            pairs = [f"({situations[d // J]}, {alternatives[d % J]})" for d in dup[:5]]
            issues.append(
                Issue(
                    source,
                    "columns.alternative",
                    f"{dup.size} (situation, alternative) pair(s) occur on several rows: "
                    + ", ".join(pairs),
                )
            )
            raise InputError(issues)
        rows.reshape(-1)[flat] = np.arange(n_rows)
    N = situations.shape[0]

    def wide_bool(values: BoolArray, fill: bool) -> BoolArray:
        if rows is None:
            return values.reshape(N, J)
        out = np.full((N, J), fill, dtype=np.bool_)
        present = rows >= 0
        out[present] = values[rows[present]]
        return out

    chosen_wide = wide_bool(chosen_rows, False)
    available: BoolArray | None = None
    if avail_rows is not None:
        available = wide_bool(avail_rows, False)
    elif rows is not None and np.any(rows < 0):
        available = rows >= 0
    if available is not None and bool(available.all()):
        available = None

    n_chosen = chosen_wide.sum(axis=1)
    for wrong_count, what in (
        (n_chosen == 0, "no chosen alternative"),
        (n_chosen > 1, "more than one chosen row"),
    ):
        if np.any(wrong_count):
            bad = situations[np.flatnonzero(wrong_count)]
            issues.append(
                Issue(
                    source,
                    "columns.chosen",
                    f"every situation needs exactly one chosen alternative; {bad.size} situation(s)"
                    f" of column {cols.situation!r} have {what} (first: {_first(bad)})",
                )
            )
    if available is not None:
        wrong = chosen_wide & ~available
        if np.any(wrong):
            bad = situations[np.flatnonzero(wrong.any(axis=1))]
            field = "columns.available" if cols.available is not None else "columns.chosen"
            issues.append(
                Issue(
                    source,
                    field,
                    f"{bad.size} situation(s) chose an unavailable alternative "
                    f"(first: {_first(bad)})",
                )
            )
    avail_all = np.ones((N, J), dtype=np.bool_) if available is None else available

    # Attributes: finite wherever the alternative is available.
    table = DecisionTable(source, frame, alternatives, situations, np.zeros(N, np.intp), available,
                          None, None, rows)  # fmt: skip
    for field, column, alt_name in attribute_fields(spec):
        values = table.wide(column)
        if alt_name is not None:
            j = alternatives.index(alt_name)
            wrong = np.asarray(avail_all[:, j] & ~np.isfinite(values[:, j]))
        else:
            wrong = np.asarray((avail_all & ~np.isfinite(values)).any(axis=1))
        bad_s = situations[np.flatnonzero(wrong)]
        if bad_s.size:
            issues.append(
                Issue(
                    source,
                    field,
                    f"column {column!r} is missing or not finite for an available alternative in "
                    f"{bad_s.size} situation(s) (first: {_first(bad_s)})",
                )
            )
    if spec.money is not None and not issues:
        wealth = table.wide(spec.money.wealth, fill=1.0)
        value = table.wide(spec.money.value, fill=0.0)
        bad_w = situations[np.flatnonzero((avail_all & ~(wealth > 0)).any(axis=1))]
        if bad_w.size:
            issues.append(
                Issue(
                    source,
                    "money.wealth",
                    f"column {spec.money.wealth!r} must be positive; it is not in {bad_w.size} "
                    f"situation(s) (first: {_first(bad_w)})",
                )
            )
        bad_v = situations[np.flatnonzero((avail_all & ~(wealth + value > 0)).any(axis=1))]
        if bad_v.size and not bad_w.size:
            issues.append(
                Issue(
                    source,
                    "money.value",
                    f"wealth + {spec.money.value!r} must be positive; it is not in {bad_v.size} "
                    f"situation(s) (first: {_first(bad_v)})",
                )
            )

    person_ids = person_index = None
    if cols.person is not None:
        person_rows = frame[cols.person].to_numpy()
        if person_rows.dtype == object:
            person_rows = person_rows.astype(str)
        pid_unique, pid_code = _codes(person_rows)
        if rows is None:
            code_wide = pid_code.reshape(N, J)
        else:
            code_wide = np.full((N, J), -1, dtype=np.intp)
            present = rows >= 0
            code_wide[present] = pid_code[rows[present]]
        first = code_wide.max(axis=1)
        varies = np.any((code_wide != first[:, None]) & (code_wide >= 0), axis=1)
        if np.any(varies):
            bad = situations[np.flatnonzero(varies)]
            issues.append(
                Issue(
                    source,
                    "columns.person",
                    f"column {cols.person!r} changes within {bad.size} situation(s) "
                    f"(first: {_first(bad)})",
                )
            )
        person_ids, person_index = pid_unique, first.astype(np.intp)
    if issues:
        raise InputError(issues)

    chosen = np.argmax(chosen_wide, axis=1).astype(np.intp)
    return DecisionTable(
        source, frame, alternatives, situations, chosen, available, person_ids, person_index, rows
    )
