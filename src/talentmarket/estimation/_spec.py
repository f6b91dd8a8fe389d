"""The model specification (SPEC YAML) of an estimation: which columns, which parameters.

A specification names the columns of a long-format decisions table and the terms of the
utility. The keys below are normative; every mapping forbids unknown keys::

    columns: {situation: sit, alternative: alt, chosen: chosen, available: av, person: pid}
    constants: {reference: SM}                 # ASC_<alt> for every other alternative
    coefficients: {B_TIME: time, B_COST: cost} # generic: name -> column
    specific: {B_TIME_CAR: {CAR: time}}        # alternative-specific: name -> {alt: column}
    random: {B_TIME: normal}                   # normal | lognormal | triangular | uniform
    draws: {kind: halton, count: 100, seed: 0} # halton (as in xlogit) or pseudo
    money: {alpha: ALPHA, eta: ETA, wealth: wealth, value: pv}
    start: {B_TIME: -1.0}                      # optional starting values

Every problem found is reported at once as an :class:`~talentmarket.InputError` whose issues
name the file and the dotted field path.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic_core import PydanticCustomError

from talentmarket._errors import InputError, Issue

__all__ = [
    "ColumnsSpec",
    "ConstantsSpec",
    "DrawsSpec",
    "ModelSpec",
    "MoneySpec",
    "load_spec",
    "parse_spec",
]

Distribution = Literal["normal", "lognormal", "triangular", "uniform"]

_CONFIG = ConfigDict(frozen=True, extra="forbid", coerce_numbers_to_str=True)


class ColumnsSpec(BaseModel):
    """Names of the structural columns of the decisions table."""

    model_config = _CONFIG

    situation: str = "situation"
    alternative: str = "alternative"
    chosen: str = "chosen"
    available: str | None = None
    person: str | None = None


class ConstantsSpec(BaseModel):
    """Alternative-specific constants: ``ASC_<alt>`` for every alternative but ``reference``."""

    model_config = _CONFIG

    reference: str


class DrawsSpec(BaseModel):
    """Simulation draws of a mixed logit.

    ``halton`` reproduces xlogit's Halton draws (primes 2, 3, 5, ... per random coefficient,
    the first ``drop`` points discarded, optionally shuffled with ``seed``); ``pseudo`` draws
    uniforms with ``numpy.random.RandomState(seed)`` exactly as xlogit does.
    """

    model_config = _CONFIG

    kind: Literal["halton", "pseudo"] = "halton"
    count: int = Field(100, gt=0, le=100_000)
    seed: int = Field(0, ge=0)
    drop: int = Field(100, ge=0)
    shuffle: bool = False


class MoneySpec(BaseModel):
    """The CRRA money term ``alpha * u((W0 + PV) / W0; eta)`` of DESIGN.md.

    ``alpha`` and ``eta`` name the estimated parameters; ``wealth`` (W0, USD, > 0) and
    ``value`` (PV, USD) name columns of the decisions table.
    """

    model_config = _CONFIG

    alpha: str = "ALPHA"
    eta: str = "ETA"
    wealth: str
    value: str


class ModelSpec(BaseModel):
    """A validated, immutable estimation specification (see the module docstring)."""

    model_config = _CONFIG

    columns: ColumnsSpec = ColumnsSpec()
    constants: ConstantsSpec | None = None
    coefficients: dict[str, str] = Field(default_factory=dict)
    specific: dict[str, dict[str, str]] = Field(default_factory=dict)
    random: dict[str, Distribution] = Field(default_factory=dict)
    draws: DrawsSpec = DrawsSpec()
    money: MoneySpec | None = None
    start: dict[str, float] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _check_names(self) -> ModelSpec:
        # Cross-field rules; the error carries its field path in ``ctx`` (see parse_spec).
        def fail(field: str, message: str) -> PydanticCustomError:
            return PydanticCustomError("model_spec", "{message}", {"message": message, "at": field})

        linear = [*self.coefficients, *self.specific]
        paths = {n: f"coefficients.{n}" for n in self.coefficients}
        paths.update({n: f"specific.{n}" for n in self.specific})
        if self.money is not None:
            linear.append(self.money.alpha)
            paths.setdefault(self.money.alpha, "money.alpha")
        seen: set[str] = set()
        names = [*linear, *([self.money.eta] if self.money else [])]
        for name in names:
            where = paths.get(name, "money.eta")
            if name in seen:
                raise fail(where, f"parameter name {name!r} is used twice")
            if name.startswith("ASC_") and self.constants is not None:
                raise fail(where, f"parameter name {name!r} clashes with the constants' names")
            if name.startswith("sd."):
                raise fail(where, f"parameter name {name!r} is reserved (sd. prefix)")
            seen.add(name)
        for name, columns in self.specific.items():
            if not columns:
                raise fail(f"specific.{name}", "names no alternative")
        if not names and self.constants is None:
            raise fail(
                "", "the model has no parameter: give constants, coefficients, specific or money"
            )
        for name in self.random:
            if name not in linear and not name.startswith("ASC_"):
                known = ", ".join(linear) or "(none)"
                raise fail(f"random.{name}", f"not a coefficient of the model; known: {known}")
        for name in self.start:
            if name not in names and not name.startswith(("ASC_", "sd.")):
                raise fail(f"start.{name}", "not a parameter of the model")
        return self

    @property
    def is_mixed(self) -> bool:
        """Whether some coefficient is random (mixed logit)."""
        return bool(self.random)


def _field_path(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in loc)


def parse_spec(data: Mapping[str, Any] | ModelSpec, *, source: str = "<spec>") -> ModelSpec:
    """Validate a specification mapping (as read from YAML).

    Parameters
    ----------
    data : mapping or ModelSpec
        The specification; a ``ModelSpec`` is returned unchanged.
    source : str
        File name used in error messages.

    Returns
    -------
    ModelSpec

    Raises
    ------
    InputError
        With one issue per problem, each naming ``source`` and the dotted field path.
    """
    if isinstance(data, ModelSpec):
        return data
    if not isinstance(data, Mapping):
        raise InputError(
            [Issue(source, "", f"expected a mapping of model keys, got {type(data).__name__}")]
        )
    try:
        return ModelSpec.model_validate(dict(data))
    except ValidationError as exc:
        issues = []
        for err in exc.errors():
            message = str(err["msg"])
            loc = _field_path(tuple(err["loc"]))
            if err["type"] == "extra_forbidden":
                message = "unknown key"
            elif err["type"] == "model_spec":
                loc = str(err.get("ctx", {}).get("at", loc))
            issues.append(Issue(source, loc, message))
        raise InputError(issues) from None


def load_spec(path: str | Path) -> ModelSpec:
    """Read and validate a SPEC YAML file.

    Parameters
    ----------
    path : str or Path
        The YAML file.

    Returns
    -------
    ModelSpec

    Raises
    ------
    InputError
        If the file cannot be read or parsed, or does not validate.
    """
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError([Issue(source, "", f"cannot read the file: {exc.strerror}")]) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InputError([Issue(source, "", f"not valid YAML: {exc}")]) from None
    if data is None:
        data = {}
    return parse_spec(data, source=source)
