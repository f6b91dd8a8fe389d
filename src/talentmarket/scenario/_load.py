"""Reading scenarios: YAML files, ``builtin:NAME`` references and dictionaries.

Every problem is reported at once as a ``ScenarioError`` whose issues name the file, the field
path (``offers.big-offer.package.grants[0].value_usd``) and what is wrong.
"""

from __future__ import annotations

import difflib
import hashlib
import json
from collections.abc import Iterable, Mapping
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from talentmarket._errors import Issue, ScenarioError
from talentmarket.scenario import _models as m

BUILTIN_PREFIX = "builtin:"


# --- YAML ---------------------------------------------------------------------------------


class _UniqueKeyLoader(yaml.SafeLoader):
    """A safe loader that refuses duplicate mapping keys (YAML would silently keep the last)."""


def _construct_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False) -> Any:
    seen: dict[Any, int] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None,
                None,
                f"duplicate key {key!r} (first at line {seen[key] + 1})",
                key_node.start_mark,
            )
        seen[key] = key_node.start_mark.line
    return loader.construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
    _construct_mapping,
)


def _read_yaml(path: Path, source: str) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioError([Issue(source, "", "file not found")]) from None
    except IsADirectoryError:
        raise ScenarioError([Issue(source, "", "is a directory, not a scenario file")]) from None
    except UnicodeDecodeError:
        raise ScenarioError([Issue(source, "", "is not UTF-8 text")]) from None
    try:
        return yaml.load(text, Loader=_UniqueKeyLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ScenarioError([Issue(source, where, f"YAML syntax: {exc.problem}")]) from None
    except yaml.YAMLError as exc:
        raise ScenarioError([Issue(source, "", f"YAML syntax: {exc}")]) from None


# --- error rendering ----------------------------------------------------------------------


def _format_path(parts: Iterable[str | int]) -> str:
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + part
    return out


def _data_path(data: Any, loc: tuple[str | int, ...]) -> tuple[list[str | int], Any, bool]:
    """Keep the parts of a pydantic ``loc`` that index the data (drop union/validator tags).

    Returns the kept path, the value found there and whether the whole loc was data.
    """
    kept: list[str | int] = []
    node = data
    complete = True
    for part in loc:
        if isinstance(node, Mapping) and part in node:
            kept.append(part)
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            kept.append(part)
            node = node[part]
        elif isinstance(part, str) and part in {"from_", "raise_"}:
            alias = part.rstrip("_")
            if isinstance(node, Mapping) and alias in node:
                kept.append(alias)
                node = node[alias]
        else:
            complete = False
    return kept, node, complete


def _model_fields(model: type[BaseModel]) -> set[str]:
    return {f.alias or name for name, f in model.model_fields.items()}


_ALL_MODELS: tuple[type[BaseModel], ...] = tuple(
    obj
    for obj in vars(m).values()
    if isinstance(obj, type) and issubclass(obj, BaseModel) and obj.__module__ == m.__name__
)


def _allowed_keys(siblings: set[str]) -> list[str]:
    """Guess the allowed keys of a mapping from the keys that were accepted beside a bad one."""
    best: set[str] | None = None
    for model in _ALL_MODELS:
        fields = _model_fields(model)
        if siblings <= fields and (best is None or len(fields) < len(best)):
            best = fields
    return sorted(best or [])


def _describe(value: Any) -> str:
    text = json.dumps(value, default=str) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _pydantic_issues(exc: ValidationError, data: Any, source: str) -> list[Issue]:
    grouped: dict[str, list[tuple[Any, bool, Any]]] = {}
    err: Any
    for err in exc.errors(include_url=False):
        loc = tuple(err["loc"])
        if err["type"] == "extra_forbidden":
            path, node, _ = _data_path(data, loc[:-1])
            bad = str(loc[-1])
            siblings = {str(k) for k in node} - {bad} if isinstance(node, Mapping) else set()
            allowed = _allowed_keys(siblings)
            close = difflib.get_close_matches(bad, allowed, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            shown = f" (allowed: {', '.join(allowed)})" if allowed else ""
            grouped.setdefault(_format_path([*path, bad]), []).append(
                ({"msg": f"unknown key {bad!r}{hint}{shown}", "type": "extra"}, True, None)
            )
            continue
        if err["type"] == "missing":
            path, node, complete = _data_path(data, loc[:-1])
            path = [*path, loc[-1]]
        else:
            path, node, complete = _data_path(data, loc)
        grouped.setdefault(_format_path(path), []).append((err, complete, node))
    issues: list[Issue] = []
    for field, errs in grouped.items():
        # Prefer errors from a union branch that went deepest into the data; collapse the rest.
        messages: list[str] = []
        for err, _complete, _node in errs:
            msg = str(err["msg"]).removeprefix("Value error, ")
            if err.get("type") == "missing":
                msg = "required field is missing"
            if msg not in messages:
                messages.append(msg)
        received = errs[0][2]
        if len(messages) > 1:
            msg = "expected " + " or ".join(
                sorted({_expectation(e[0]) for e in errs}, key=str.lower)
            )
        else:
            msg = messages[0]
        first = errs[0][0]
        if first.get("type") == "union_tag_invalid":
            ctx = first.get("ctx", {})
            msg = f"{ctx.get('discriminator', 'type')} must be one of {ctx.get('expected_tags')}"
            received = ctx.get("tag")
        if (
            first.get("type") not in {"extra", "missing"}
            and received is not None
            and "got " not in msg
        ):
            msg += f" (got {_describe(received)})"
        issues.append(Issue(source, field, msg))
    return issues


def _expectation(err: Mapping[str, Any]) -> str:
    kind = str(err.get("type", ""))
    loc = err.get("loc", ())
    tag = str(loc[-1]) if loc else ""
    if kind.startswith(("float", "int")):
        return "a number"
    if kind in {"model_type", "dict_type"} or tag in {"LogNormal", "Normal", "Uniform"}:
        if tag in {"LogNormal", "Normal", "Uniform"}:
            return (
                "a distribution ({lognormal: {median, sigma}}, {normal: {mean, sd}} or "
                "{uniform: {low, high}})"
            )
        return "a mapping"
    if kind == "list_type":
        return "a list"
    return str(err.get("msg", "")).removeprefix("Value error, ")


# --- cross-references ---------------------------------------------------------------------


def member_ids(cohort_id: str, size: int) -> list[str]:
    """Stable ids of a cohort's members: ``COHORT-001`` ... (width grows with the size)."""
    width = max(3, len(str(size)))
    return [f"{cohort_id}-{i:0{width}d}" for i in range(1, size + 1)]


def _is_distribution(value: Any) -> bool:
    return isinstance(value, m.LogNormal | m.Normal | m.Uniform)


def cross_check(s: m.Scenario, source: str) -> list[Issue]:
    """Problems that span fields: ids, equity types, individual parameters given as draws."""
    issues: list[Issue] = []

    def add(field: str, message: str) -> None:
        issues.append(Issue(source, field, message))

    for i, factor in enumerate(s.factors):
        if factor not in m.FACTORS:
            add(f"factors[{i}]", f"unknown factor {factor!r}; known: {', '.join(m.FACTORS)}")
    if len(set(s.factors)) != len(s.factors):
        add("factors", "lists a factor twice")
    if not s.labs:
        add("labs", "a scenario needs at least one lab")
    for lab_id, lab in s.labs.items():
        for key in lab.attributes:
            if key not in m.ATTRIBUTE_FACTORS:
                why = (
                    "is computed per person from the lab's leader and mission"
                    if key in {"leadership", "mission"}
                    else "is not a factor"
                )
                add(
                    f"labs.{lab_id}.attributes.{key}",
                    f"{key!r} {why}; attributes are {', '.join(m.ATTRIBUTE_FACTORS)}",
                )
            elif key not in s.factors:
                add(f"labs.{lab_id}.attributes.{key}", f"{key!r} is not listed in factors")

    people: dict[str, str] = {}
    for rid in s.researchers:
        people[rid] = f"researchers.{rid}"
    for cid, cohort in s.cohorts.items():
        if cid in s.researchers:
            add(f"cohorts.{cid}", f"id {cid!r} is also a researcher id")
        for mid in member_ids(cid, cohort.size):
            if mid in people:
                add(f"cohorts.{cid}", f"member id {mid!r} collides with {people[mid]}")
            people.setdefault(mid, f"cohorts.{cid}")

    def check_package(pkg: m.Package, lab_id: str | None, field: str) -> None:
        lab = s.labs.get(lab_id) if lab_id else None
        if lab is None:
            return
        for g, grant in enumerate(pkg.grants):
            gfield = f"{field}.grants[{g}]"
            if lab.equity is None:
                add(gfield, f"lab {lab_id!r} has no equity section, so it cannot grant equity")
                continue
            public = lab.equity.type == "public"
            if grant.type == "rsu" and not public:
                add(
                    f"{gfield}.type",
                    f"rsu needs a public company; {lab_id!r} is private: use units",
                )
            if grant.type == "units" and public:
                add(f"{gfield}.type", f"units are private equity; {lab_id!r} is public: use rsu")
            if grant.shares is not None and not public:
                add(f"{gfield}.shares", "give value_usd for a private company (no share price)")
            if grant.strike_usd is not None and not public:
                add(f"{gfield}.strike_usd", "use strike_fraction for a private company")
        if pkg.refresh_usd_per_year > 0 and lab.equity is None:
            add(f"{field}.refresh_usd_per_year", f"lab {lab_id!r} has no equity section")

    for rid, r in s.researchers.items():
        base = f"researchers.{rid}"
        if r.employer not in s.labs:
            add(f"{base}.employer", f"unknown lab {r.employer!r}; labs: {', '.join(s.labs)}")
        check_package(r.package, r.employer, f"{base}.package")
        for name, value in _preference_params(r.preferences):
            if _is_distribution(value):
                add(
                    f"{base}.preferences.{name}",
                    "a researcher's weight must be a number (distributions are for cohorts)",
                )
        for c, other in enumerate(r.collaborators):
            if other == rid:
                add(f"{base}.collaborators[{c}]", "a researcher cannot be their own collaborator")
            elif other not in people:
                add(f"{base}.collaborators[{c}]", f"unknown researcher {other!r}")
    for cid, cohort in s.cohorts.items():
        base = f"cohorts.{cid}"
        if cohort.employer not in s.labs:
            add(f"{base}.employer", f"unknown lab {cohort.employer!r}; labs: {', '.join(s.labs)}")
        check_package(cohort.package, cohort.employer, f"{base}.package")
        if cohort.collaborators.within_cohort >= cohort.size and cohort.size > 1:
            add(
                f"{base}.collaborators.within_cohort",
                f"{cohort.collaborators.within_cohort} colleagues cannot be drawn from a cohort "
                f"of {cohort.size}",
            )
    for oid, offer in s.offers.items():
        base = f"offers.{oid}"
        if offer.from_ not in s.labs:
            add(f"{base}.from", f"unknown lab {offer.from_!r}; labs: {', '.join(s.labs)}")
        target = s.researchers.get(offer.to) or s.cohorts.get(offer.to)
        if target is None:
            add(f"{base}.to", f"unknown researcher or cohort {offer.to!r}")
        elif target.employer == offer.from_:
            add(f"{base}.from", f"{offer.from_!r} already employs {offer.to!r}")
        check_package(offer.package, offer.from_, f"{base}.package")
    if s.market is not None:
        for lab_id, ml in s.market.labs.items():
            if lab_id not in s.labs:
                add(f"market.labs.{lab_id}", f"unknown lab {lab_id!r}; labs: {', '.join(s.labs)}")
                continue
            if ml.package is not None:
                check_package(ml.package, lab_id, f"market.labs.{lab_id}.package")
            has_offer = any(o.from_ == lab_id for o in s.offers.values())
            if ml.strategy in {"posted", "bid-to-price", "match-competitor"} and not (
                ml.package is not None or has_offer
            ):
                add(f"market.labs.{lab_id}.package",
                    f"strategy {ml.strategy!r} needs an offer template: give a package or an "
                    f"offer from {lab_id!r}")
    if s.assumptions:
        from talentmarket.scenario._paths import get_path

        dumped = s.model_dump(mode="json", by_alias=True)
        for path in s.assumptions:
            try:
                get_path(dumped, path, source)
            except ScenarioError as exc:
                for issue in exc.issues:
                    add(f"assumptions.{path}", issue.message)
    return issues


def _preference_params(p: m.Preferences) -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    for name in ("money", "culture", "ethics", "compute", "autonomy", "prestige", "peers"):
        out.append((name, getattr(p, name)))
    for name in ("leadership", "mission"):
        value = getattr(p, name)
        out.append((f"{name}.weight", value.weight) if hasattr(value, "weight") else (name, value))
    return out


# --- entry points -------------------------------------------------------------------------


def builtin_dir() -> Path:
    """The folder holding the built-in scenario files."""
    return Path(str(resources.files("talentmarket.scenario") / "builtin"))


def builtin_names() -> list[str]:
    """Names of the built-in scenarios, sorted."""
    return sorted(p.stem for p in builtin_dir().glob("*.yaml"))


def resolve_path(ref: str | Path) -> tuple[Path, str]:
    """Map ``builtin:NAME`` or a path to (file path, display name for messages)."""
    text = str(ref)
    if text.startswith(BUILTIN_PREFIX):
        name = text[len(BUILTIN_PREFIX) :]
        path = builtin_dir() / f"{name}.yaml"
        if not path.is_file():
            raise ScenarioError(
                [
                    Issue(
                        text,
                        "",
                        f"no built-in scenario {name!r}; built-ins: {', '.join(builtin_names())}",
                    )
                ]
            )
        return path, text
    return Path(text), text


def scenario_from_dict(data: Any, source: str = "<scenario>") -> m.Scenario:
    """Validate a parsed scenario mapping; raises ``ScenarioError`` listing every problem."""
    if not isinstance(data, Mapping):
        kind = "empty" if data is None else type(data).__name__
        raise ScenarioError([Issue(source, "", f"a scenario must be a mapping, got {kind}")])
    try:
        scenario = m.Scenario.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(_pydantic_issues(exc, data, source)) from None
    issues = cross_check(scenario, source)
    if issues:
        raise ScenarioError(issues)
    return scenario


def load_scenario(ref: str | Path) -> m.Scenario:
    """Load and validate a scenario from a YAML path or ``builtin:NAME``."""
    path, source = resolve_path(ref)
    return scenario_from_dict(_read_yaml(path, source), source)


def read_scenario_data(ref: str | Path) -> tuple[Any, str]:
    """The raw parsed YAML of a scenario reference and its display name (for editing)."""
    path, source = resolve_path(ref)
    return _read_yaml(path, source), source


def scenario_hash(scenario: m.Scenario) -> str:
    """A stable content hash of a validated scenario (16 hex digits)."""
    canonical = json.dumps(scenario.model_dump(mode="json", by_alias=True), sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def scenario_json_schema() -> dict[str, Any]:
    """JSON Schema of the scenario format."""
    return m.Scenario.model_json_schema(by_alias=True)
