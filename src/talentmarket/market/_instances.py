"""Plain market instances as JSON-like dictionaries: validation and compilation to arrays.

Two layouts, the ones users of ``matching`` already have:

- matching instance (ordinal)::

    {"researchers": {id: [lab ids, best first]},
     "labs": {id: {"capacity": k, "preferences": [researcher ids, best first]}}}

  Lists may be incomplete on both sides: a pair is acceptable only if each ranks the other.

- assignment game (cardinal; Shapley & Shubik 1971, Kelso & Crawford 1982)::

    {"labs": {id: {"capacity": k, "budget_usd": b (optional)}},
     "values": {lab id: {researcher id: value_usd}},
     "step_usd": d, "step_relative": r (optional), "researchers": [ids] (optional)}

The pydantic models below are the declared schema (frozen, unknown keys forbidden). Compiling a
large instance through them costs ~0.3 s per million ids, so :func:`compile_matching_instance`
first tries a fast path that checks the same structure with a few whole-list operations and
maps ids to indices in compiled code; anything unusual falls back to the models, which report
every problem with its field path.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from itertools import chain
from pathlib import Path
from typing import Annotated, Any, TypeVar

import numpy as np
from numba import njit
from numpy.typing import NDArray
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictFloat,
    StrictInt,
    StrictStr,
    ValidationError,
)

from talentmarket._errors import InputError, Issue
from talentmarket.market._compiled import I64, Market, Rankings, Valuations, _both_ranks

__all__ = [
    "AssignmentInstance",
    "AssignmentLab",
    "MatchingInstance",
    "MatchingLab",
    "compile_assignment_instance",
    "compile_matching_instance",
    "read_instance",
]

_MAX_ISSUES = 50
_SEP = "\x00"  # separates ids in the byte buffer handed to the compiled look-up

U8 = NDArray[np.uint8]


# --------------------------------------------------------------------------------------------
# schema


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class MatchingLab(_Frozen):
    """A lab of a matching instance: seats and its ranking of researchers (best first)."""

    capacity: Annotated[StrictInt, Field(ge=0, description="Seats; 0 hires nobody.")]
    preferences: tuple[StrictStr, ...] = Field(
        default=(), description="Researcher ids, best first; unranked means unacceptable."
    )


class MatchingInstance(_Frozen):
    """A many-to-one matching instance (researchers rank labs, labs rank researchers)."""

    researchers: dict[StrictStr, tuple[StrictStr, ...]] = Field(
        description="Researcher id -> lab ids, best first; unranked means unacceptable."
    )
    labs: dict[StrictStr, MatchingLab]

    @classmethod
    def parse(cls, data: object, source: str = "<instance>") -> MatchingInstance:
        """Validate ``data``; raise :class:`InputError` listing every problem with its path."""
        return _parse(cls, data, source)

    def compile(self, source: str = "<instance>") -> Market:
        """Compile to a :class:`Market` with :class:`Rankings`; checks ids and duplicates."""
        return _compile_rankings(
            self.researchers,
            {k: (v.capacity, v.preferences) for k, v in self.labs.items()},
            source,
        )


class AssignmentLab(_Frozen):
    """A lab of an assignment game: seats and an optional salary budget (USD)."""

    capacity: Annotated[StrictInt, Field(ge=0, description="Seats; 0 hires nobody.")]
    budget_usd: Annotated[float, Field(ge=0, allow_inf_nan=False)] | None = Field(
        default=None, description="Most the lab may commit in salaries (USD); none if absent."
    )


class AssignmentInstance(_Frozen):
    """An assignment game: labs' values of researchers (USD), researchers care about salary."""

    labs: dict[StrictStr, AssignmentLab]
    values: dict[
        StrictStr,
        dict[StrictStr, Annotated[StrictInt | StrictFloat, Field(allow_inf_nan=False)]],
    ] = Field(description="Lab id -> researcher id -> value (USD); absent means unacceptable.")
    step_usd: Annotated[float, Field(gt=0, allow_inf_nan=False)] = Field(
        description="Smallest salary raise (USD); the surplus is optimal to within hires x step."
    )
    step_relative: Annotated[float, Field(ge=0, allow_inf_nan=False)] = Field(
        default=0.0, description="A raise is max(step_usd, step_relative x current salary)."
    )
    researchers: tuple[StrictStr, ...] | None = Field(
        default=None, description="All researcher ids (default: every id in values)."
    )

    @classmethod
    def parse(cls, data: object, source: str = "<instance>") -> AssignmentInstance:
        """Validate ``data``; raise :class:`InputError` listing every problem with its path."""
        return _parse(cls, data, source)

    def compile(self, source: str = "<instance>") -> Market:
        """Compile to a :class:`Market` with :class:`Valuations`; checks every id."""
        issues: list[Issue] = []
        if self.researchers is None:
            res_ids = sorted(set(chain.from_iterable(self.values.values())))
        else:
            res_ids = sorted(set(self.researchers))
            seen: set[str] = set()
            for pos, r in enumerate(self.researchers):
                if r in seen:
                    issues.append(
                        Issue(source, f"researchers[{pos}]", f"duplicate researcher id {r!r}")
                    )
                seen.add(r)
        lab_ids = sorted(self.labs)
        r_index = {r: i for i, r in enumerate(res_ids)}
        l_index = {lab: j for j, lab in enumerate(lab_ids)}
        counts = np.zeros(len(lab_ids), np.int64)
        rows: list[int] = []
        cols: list[int] = []
        vals: list[float] = []
        for lab, row in self.values.items():
            j = l_index.get(lab)
            if j is None:
                issues.append(
                    Issue(source, f"values.{lab}", f"unknown lab id {lab!r}{_known(lab_ids)}")
                )
                continue
            for r, v in row.items():
                i = r_index.get(r)
                if i is None:
                    issues.append(
                        Issue(
                            source,
                            f"values.{lab}.{r}",
                            f"unknown researcher id {r!r} (not in researchers)",
                        )
                    )
                    continue
                rows.append(j)
                cols.append(i)
                vals.append(float(v))
                counts[j] += 1
        if issues:
            raise InputError(_cap(issues))
        order = np.lexsort((np.asarray(cols, np.int64), np.asarray(rows, np.int64)))
        indptr = np.concatenate(([0], np.cumsum(counts))).astype(np.int64)
        budget = np.array(
            [
                np.inf if self.labs[k].budget_usd is None else self.labs[k].budget_usd
                for k in lab_ids
            ],
            np.float64,
        )
        valuations = Valuations.from_csr(
            indptr,
            np.asarray(cols, np.int64)[order],
            np.asarray(vals, np.float64)[order],
            len(res_ids),
            budget_usd=budget,
            step_usd=self.step_usd,
            step_relative=self.step_relative,
            source=source,
        )
        capacity = np.array([self.labs[k].capacity for k in lab_ids], np.int64)
        return Market(
            tuple(res_ids), tuple(lab_ids), capacity, valuations=valuations, source=source
        )


def _known(ids: Sequence[str]) -> str:
    shown = ", ".join(repr(x) for x in ids[:8])
    return f"; known: {shown}{' ...' if len(ids) > 8 else ''}" if ids else "; no labs defined"


def _field(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if part == "[key]":  # pydantic's marker: the problem is the mapping key itself
            out += " (key)"
        elif isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


_M = TypeVar("_M", bound=BaseModel)


def _parse(cls: type[_M], data: object, source: str) -> _M:
    try:
        return cls.model_validate(data)
    except ValidationError as exc:
        issues = []
        for err in exc.errors(include_url=False):
            loc = tuple(p for p in err["loc"] if p not in _UNION_TAGS)
            got = "" if err["type"] == "missing" else f"; got {_short(err.get('input'))}"
            issues.append(Issue(source, _field(loc), f"{err['msg']}{got}"))
        if cls is MatchingInstance:
            # Report wrong ids too, as far as the structure allows: all errors at once.
            seen = {i.field for i in issues}
            issues += [i for i in _raw_id_issues(data, source) if i.field not in seen]
        raise InputError(_cap(issues)) from None


def _raw_id_issues(data: object, source: str) -> list[Issue]:
    """Unknown and duplicate ids in a matching instance whose structure may be broken."""
    if not isinstance(data, dict):
        return []
    raw_r, raw_l = data.get("researchers"), data.get("labs")
    if not isinstance(raw_r, dict) or not isinstance(raw_l, dict):
        return []
    researchers = {
        k: [x for x in v if isinstance(x, str)]
        for k, v in raw_r.items()
        if isinstance(k, str) and isinstance(v, list | tuple)
    }
    labs: dict[str, tuple[int, Sequence[str]]] = {}
    for k, spec in raw_l.items():
        prefs = spec.get("preferences", ()) if isinstance(spec, dict) else ()
        if isinstance(k, str) and isinstance(prefs, list | tuple):
            labs[k] = (0, [x for x in prefs if isinstance(x, str)])
    return _id_issues(researchers, labs, sorted(researchers), sorted(labs), source)


# pydantic names the branch of a union in the error location; users never wrote those.
_UNION_TAGS = frozenset({"int", "float", "str", "function-after[...]", "constrained-int"})


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _cap(issues: list[Issue]) -> list[Issue]:
    if len(issues) <= _MAX_ISSUES:
        return issues
    more = len(issues) - _MAX_ISSUES
    return [*issues[:_MAX_ISSUES], Issue(issues[0].source, "", f"... and {more} more problems")]


# --------------------------------------------------------------------------------------------
# ids -> indices in compiled code


@njit(cache=True, inline="always")
def _mix(w1: np.uint64, w2: np.uint64, n: int) -> np.uint64:  # pragma: no cover
    h = (w1 * np.uint64(0x9E3779B97F4A7C15)) ^ ((w2 ^ np.uint64(n)) * np.uint64(0xC2B2AE3D27D4EB4F))
    return h ^ (h >> np.uint64(29))


# An id is hashed from its length, its first 8 bytes (w1) and its last 8 bytes (w2). Those
# three identify any id of up to 16 bytes exactly, so most look-ups compare three words and
# never touch the key bytes; longer ids also compare their middle bytes.


@njit(cache=True)
def _build_table(kbuf: U8, kstart: I64) -> NDArray[np.uint64]:  # pragma: no cover - compiled
    """Open-addressing table over keys kbuf[kstart[i]:kstart[i+1]-1]; rows (w1, w2, len|i+1)."""
    n = kstart.shape[0] - 1
    size = 2
    while size < 2 * n + 2:
        size *= 2
    table = np.zeros((size, 3), np.uint64)
    for i in range(n):
        a = kstart[i]
        b = kstart[i + 1] - 1
        w1 = np.uint64(0)
        w2 = np.uint64(0)
        for q in range(a, b):
            c = np.uint64(kbuf[q])
            if q - a < 8:
                w1 = (w1 << np.uint64(8)) | c
            w2 = (w2 << np.uint64(8)) | c
        slot = np.int64(_mix(w1, w2, b - a) & np.uint64(size - 1))
        while table[slot, 2] != 0:
            slot = (slot + 1) & (size - 1)
        table[slot, 0] = w1
        table[slot, 1] = w2
        table[slot, 2] = (np.uint64(b - a) << np.uint64(32)) | np.uint64(i + 1)
    return table


@njit(cache=True)
def _lookup(
    buf: U8, table: NDArray[np.uint64], kbuf: U8, kstart: I64, count: int
) -> tuple[I64, int]:  # pragma: no cover - compiled
    """Index of each of ``count`` separator-delimited ids in ``buf`` (-1 if unknown).

    Returns (index (count,), n_parsed): n_parsed != count when ``buf`` holds another number of
    ids (an id contained the separator), which the caller treats as "use the slow path".
    """
    out = np.full(count, -1, np.int64)
    size = table.shape[0]
    low = np.uint64(0xFFFFFFFF)
    nbuf = buf.shape[0]
    pos = 0
    for t in range(count):
        if pos > nbuf:
            return out, t
        w1 = np.uint64(0)
        w2 = np.uint64(0)
        end = pos
        while end < nbuf:
            c = buf[end]
            if c == 0:
                break
            cc = np.uint64(c)
            if end - pos < 8:
                w1 = (w1 << np.uint64(8)) | cc
            w2 = (w2 << np.uint64(8)) | cc
            end += 1
        n = end - pos
        slot = np.int64(_mix(w1, w2, n) & np.uint64(size - 1))
        while True:
            e = table[slot, 2]
            if e == 0:
                break
            if table[slot, 0] == w1 and table[slot, 1] == w2 and np.int64(e >> np.uint64(32)) == n:
                j = np.int64(e & low) - 1
                same = True
                k0 = kstart[j]
                for q in range(8, n - 8):
                    if kbuf[k0 + q] != buf[pos + q]:
                        same = False
                        break
                if same:
                    out[t] = j
                    break
            slot = (slot + 1) & (size - 1)
        pos = end + 1
    if pos < nbuf:
        return out, -1
    return out, count


def _encode_keys(ids: Sequence[str]) -> U8:
    text = _SEP.join(ids) + _SEP
    return np.frombuffer(text.encode("utf-8", "surrogatepass"), np.uint8)


def _encode_lists(lists: list[Any]) -> U8:
    # Join each non-empty list, then the joined lists: two C-level joins, no per-id Python.
    text = _SEP.join(map(_SEP.join, filter(None, lists)))
    return np.frombuffer(text.encode("utf-8", "surrogatepass"), np.uint8)


class _IdIndex:
    """Maps ids (sorted, unique) to their index; bulk look-ups run in compiled code."""

    def __init__(self, ids: Sequence[str]) -> None:
        self.table: NDArray[np.uint64] | None = None
        try:
            self.kbuf = _encode_keys(ids)
        except TypeError:  # a non-string id: the slow path reports it
            return
        seps = np.flatnonzero(self.kbuf == 0)
        self.kstart = np.concatenate(([0], seps + 1)).astype(np.int64)
        if seps.shape[0] == len(ids):  # else an id contains the separator
            self.table = _build_table(self.kbuf, self.kstart)

    def lookup(self, lists: list[Any], count: int) -> I64 | None:
        """Indices of the ids in the concatenated ``lists`` (-1: unknown); None: use slow path."""
        if self.table is None:
            return None
        if count == 0:
            return np.zeros(0, np.int64)
        try:
            buf = _encode_lists(lists)
        except TypeError:  # a non-string item
            return None
        out, parsed = _lookup(buf, self.table, self.kbuf, self.kstart, count)
        return out if parsed == count else None


def _compile_rankings(
    researchers: Mapping[str, Sequence[str]],
    labs: Mapping[str, tuple[int, Sequence[str]]],
    source: str,
) -> Market:
    """Both sides' lists -> :class:`Market`; raises :class:`InputError` on unknown ids/duplicates.

    ``labs`` maps lab id -> (capacity, ranking). Structure (types, capacity >= 0) must already
    hold; this checks the ids, in compiled code, and only on a problem walks the lists in
    Python to name every offending field.
    """
    res_ids = sorted(researchers)
    lab_ids = sorted(labs)
    r_lists = [researchers[r] for r in res_ids]
    l_lists = [labs[lab][1] for lab in lab_ids]
    r_len = np.fromiter(map(len, r_lists), np.int64, len(r_lists))
    l_len = np.fromiter(map(len, l_lists), np.int64, len(l_lists))
    r_ptr = np.concatenate(([0], np.cumsum(r_len))).astype(np.int64)
    l_ptr = np.concatenate(([0], np.cumsum(l_len))).astype(np.int64)
    r_items = _IdIndex(lab_ids).lookup(r_lists, int(r_ptr[-1]))
    l_items = _IdIndex(res_ids).lookup(l_lists, int(l_ptr[-1]))
    if r_items is None:
        r_items = _slow_lookup(lab_ids, r_lists)
    if l_items is None:
        l_items = _slow_lookup(res_ids, l_lists)
    ok = r_items.size == 0 or r_items.min() >= 0
    ok = ok and (l_items.size == 0 or l_items.min() >= 0)
    if ok:
        r_rank, l_rank, dup = _both_ranks(r_ptr, r_items, l_ptr, l_items)
        ok = not dup
    if not ok:
        raise InputError(_cap(_id_issues(researchers, labs, res_ids, lab_ids, source)))
    rankings = Rankings(r_ptr, r_items, r_rank, l_ptr, l_items, l_rank)
    capacity = np.fromiter((labs[lab][0] for lab in lab_ids), np.int64, len(lab_ids))
    # ids were sorted here, so the market need not re-check their order
    return Market(
        tuple(res_ids), tuple(lab_ids), capacity, rankings=rankings, source=source, check_ids=False
    )


def _slow_lookup(ids: Sequence[str], lists: list[Any]) -> I64:
    index = {k: i for i, k in enumerate(ids)}
    flat = [index.get(x, -1) if isinstance(x, str) else -1 for x in chain.from_iterable(lists)]
    return np.asarray(flat, np.int64)


def _id_issues(
    researchers: Mapping[str, Sequence[str]],
    labs: Mapping[str, tuple[int, Sequence[str]]],
    res_ids: Sequence[str],
    lab_ids: Sequence[str],
    source: str,
) -> list[Issue]:
    issues: list[Issue] = []
    lab_set, res_set = set(lab_ids), set(res_ids)
    for r in res_ids:
        seen: set[str] = set()
        for pos, lab in enumerate(researchers[r]):
            where = f"researchers.{r}[{pos}]"
            if lab not in lab_set:
                issues.append(Issue(source, where, f"unknown lab id {lab!r}{_known(lab_ids)}"))
            elif lab in seen:
                issues.append(Issue(source, where, f"duplicate lab id {lab!r} in the ranking"))
            seen.add(lab)
    for lab in lab_ids:
        seen = set()
        for pos, r in enumerate(labs[lab][1]):
            where = f"labs.{lab}.preferences[{pos}]"
            if r not in res_set:
                issues.append(
                    Issue(source, where, f"unknown researcher id {r!r} (not in researchers)")
                )
            elif r in seen:
                issues.append(Issue(source, where, f"duplicate researcher id {r!r} in the ranking"))
            seen.add(r)
    return issues


def _fast_structure(data: object) -> tuple[dict[str, Any], dict[str, tuple[int, Any]]] | None:
    """The instance's parts if its structure is exactly what the schema accepts, else None.

    Cheap whole-collection checks only (the ids themselves are checked by the compiled
    look-up, and a non-string id makes it return None); anything unusual -> None, and the
    pydantic models then produce the precise messages.
    """
    if type(data) is not dict or data.keys() != {"researchers", "labs"}:
        return None
    researchers, labs = data["researchers"], data["labs"]
    if type(researchers) is not dict or type(labs) is not dict:
        return None
    if not set(map(type, researchers)) <= {str} or not set(map(type, labs)) <= {str}:
        return None
    if not set(map(type, researchers.values())) <= {list, tuple}:
        return None
    compiled: dict[str, tuple[int, Any]] = {}
    for lab, spec in labs.items():
        if type(spec) is not dict or not spec.keys() <= {"capacity", "preferences"}:
            return None
        cap, prefs = spec.get("capacity"), spec.get("preferences", ())
        if type(cap) is not int or cap < 0 or not (type(prefs) is list or type(prefs) is tuple):
            return None
        compiled[lab] = (cap, prefs)
    return researchers, compiled


def compile_matching_instance(data: object, source: str = "<instance>") -> Market:
    """Validate a matching instance (dictionary layout) and compile it to a :class:`Market`.

    Parameters
    ----------
    data
        ``{"researchers": {id: [lab ids]}, "labs": {id: {"capacity": k, "preferences":
        [researcher ids]}}}``, lists best first, possibly incomplete.
    source
        Name used in error messages (the file name).

    Returns
    -------
    Market
        With :class:`Rankings`; ids in stable (sorted) order.

    Raises
    ------
    InputError
        Every problem, each with ``source`` and its field path (unknown id, duplicate in a
        list, capacity < 0, wrong type, unknown key).
    """
    parts = _fast_structure(data)
    if parts is not None:
        try:
            return _compile_rankings(parts[0], parts[1], source)
        except InputError as exc:
            # Ids are wrong; the schema may have more to say (e.g. a non-string id).
            try:
                MatchingInstance.parse(data, source)
            except InputError as schema_exc:
                raise schema_exc from None
            raise exc from None
    return MatchingInstance.parse(data, source).compile(source)


def compile_assignment_instance(data: object, source: str = "<instance>") -> Market:
    """Validate an assignment-game instance (dictionary layout) and compile it.

    Parameters
    ----------
    data
        ``{"labs": {id: {"capacity": k, "budget_usd": b?}}, "values": {lab: {researcher:
        value_usd}}, "step_usd": d, "step_relative": r?, "researchers": [ids]?}``.
    source
        Name used in error messages (the file name).

    Returns
    -------
    Market
        With :class:`Valuations` (quasi-linear utility: researchers care only about salary).

    Raises
    ------
    InputError
        Every problem with its field path (unknown lab or researcher id, capacity < 0,
        step <= 0, non-finite value, unknown key).
    """
    return AssignmentInstance.parse(data, source).compile(source)


def read_instance(path: str | Path, *, salaries: bool = False) -> Market:
    """Read a JSON instance file and compile it.

    Parameters
    ----------
    path
        JSON file in the matching layout, or the assignment-game layout if ``salaries``.
    salaries
        Read an assignment game (values in USD) instead of preference lists.

    Raises
    ------
    InputError
        Not JSON, or invalid; messages name the file and the field.
    OSError
        The file cannot be read.
    """
    source = str(path)
    text = Path(path).read_text(encoding="utf-8")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(
            [
                Issue(
                    source, "", f"not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
                )
            ]
        ) from None
    if salaries:
        return compile_assignment_instance(data, source)
    return compile_matching_instance(data, source)
