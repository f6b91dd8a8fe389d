"""Errors as 4xx JSON bodies: ``{"error": CODE, "field": "scenario.labs.x.capacity", ...}``.

The library's errors carry their context (file, field path, ids); here they become one body
shape with the request field at fault, so that a client can point at it. A scenario's issues
are prefixed with ``scenario.``; a command option keeps its long name (``target``, ``budget``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from talentmarket._errors import (
    ConvergenceError,
    InputError,
    Issue,
    ScenarioError,
    TalentMarketError,
    UnknownIdError,
)


class ServiceError(Exception):
    """A request the service refuses: HTTP status, error code, field and message."""

    def __init__(
        self,
        status: int,
        error: str,
        field: str | None,
        message: str,
        errors: Sequence[tuple[str | None, str]] = (),
    ) -> None:
        super().__init__(message)
        self.status = status
        self.error = error
        self.field = field
        self.message = message
        self.errors = tuple(errors) or ((field, message),)

    def body(self) -> dict[str, Any]:
        """The JSON body of the answer."""
        return error_body(self.error, self.field, self.message, self.errors)


def error_body(
    error: str,
    field: str | None,
    message: str,
    errors: Sequence[tuple[str | None, str]] = (),
) -> dict[str, Any]:
    """``{"error", "field", "message", "errors": [{"field", "message"}, ...]}``."""
    items = list(errors) or [(field, message)]
    return {
        "error": error,
        "field": field,
        "message": message,
        "errors": [{"field": f, "message": m} for f, m in items],
    }


#: Option names the library uses in issues, mapped to the request's long names.
_OPTION_FIELDS = {"budget_usd": "budget", "--budget": "budget", "--out": "out"}


def _issue_field(issue: Issue, scenario: bool) -> str:
    if scenario:
        return f"scenario.{issue.field}" if issue.field else "scenario"
    raw = issue.field or issue.source
    raw = _OPTION_FIELDS.get(raw, raw)
    return raw.lstrip("-").replace("-", "_")


def _unknown_field(kind: str) -> str:
    if kind.startswith("recipient of"):
        return "researcher"
    if kind.startswith("offer"):
        return "offer"
    return {"researcher": "researcher", "lab": "lab", "engine": "engine"}.get(kind, kind)


def from_library(exc: TalentMarketError) -> ServiceError:
    """The 4xx answer for an error the library raised on purpose."""
    if isinstance(exc, ScenarioError):
        items: list[tuple[str | None, str]] = [
            (_issue_field(i, True), i.message) for i in exc.issues
        ]
        field, message = items[0] if items else ("scenario", str(exc))
        return ServiceError(422, "invalid_scenario", field, message, items)
    if isinstance(exc, InputError):
        items = [(_issue_field(i, False), i.message) for i in exc.issues]
        field, message = items[0] if items else (None, str(exc))
        return ServiceError(422, "invalid_input", field, message, items)
    if isinstance(exc, UnknownIdError):
        return ServiceError(422, "unknown_id", _unknown_field(exc.kind), str(exc))
    if isinstance(exc, ConvergenceError):
        return ServiceError(422, "not_converged", None, str(exc))
    return ServiceError(422, "invalid_input", None, str(exc))


_UNION_TAGS = {"str", "int", "float", "bool", "dict", "list", "none", "simulate", "sweep", "run"}


def _loc_field(loc: Sequence[Any]) -> str:
    parts: list[str] = []
    for k, part in enumerate(loc):
        if k == 0 and part in {"body", "query", "path", "header", "cookie"}:
            continue
        text = str(part)
        if isinstance(part, str) and (
            text in _UNION_TAGS
            or "[" in text
            or text.startswith(("function-", "constrained-", "json-or-python"))
        ):
            continue
        parts.append(f"[{text}]" if isinstance(part, int) else text)
    out = ""
    for p in parts:
        out += p if p.startswith("[") else ("." if out else "") + p
    return out or "body"


def from_validation(errors: Sequence[Any]) -> ServiceError:
    """The 422 answer for a request that does not fit its model (FastAPI/pydantic errors)."""
    items: list[tuple[str | None, str]] = []
    for err in errors:
        loc = tuple(err.get("loc", ()))
        kind = str(err.get("type", ""))
        field: str | None = _loc_field(loc)
        message = str(err.get("msg", "invalid")).removeprefix("Value error, ")
        if kind == "extra_forbidden":
            message = "unknown field"
        elif kind == "missing":
            message = "required field is missing"
        elif kind in {"union_tag_invalid", "union_tag_not_found"}:
            ctx = err.get("ctx", {})
            tag = str(ctx.get("discriminator", "kind")).strip("'\"")
            field = tag if field == "body" else f"{field}.{tag}"
            expected = ctx.get("expected_tags", "")
            message = (
                f"must be one of {expected}"
                if kind == "union_tag_invalid"
                else f"required field is missing (one of {expected})"
                if expected
                else "required field is missing"
            )
        elif kind == "json_invalid":
            field = "body"
            message = f"not valid JSON: {err.get('ctx', {}).get('error', message)}"
        if (field, message) not in items:
            items.append((field, message))
    first, text = items[0] if items else ("body", "invalid request")
    return ServiceError(422, "invalid_request", first, text, items)
