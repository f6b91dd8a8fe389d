"""JSON encoding of results: numpy values to plain ones, NaN and infinities to null."""

from __future__ import annotations

import json
import math
from typing import Any

from talentmarket._json import jsonable

__all__ = ["dumps", "jsonable", "non_finite_paths"]


def dumps(obj: Any) -> bytes:
    """Compact UTF-8 JSON of ``jsonable(obj)`` (never NaN: strict JSON)."""
    return json.dumps(jsonable(obj), separators=(",", ":"), allow_nan=False).encode()


def non_finite_paths(data: Any, prefix: str = "") -> list[str]:
    """Dotted paths of every NaN or infinite number inside parsed JSON ``data``."""
    out: list[str] = []
    if isinstance(data, dict):
        for key, value in data.items():
            out.extend(non_finite_paths(value, f"{prefix}.{key}" if prefix else str(key)))
    elif isinstance(data, list):
        for i, value in enumerate(data):
            out.extend(non_finite_paths(value, f"{prefix}[{i}]"))
    elif isinstance(data, float) and not math.isfinite(data):
        out.append(prefix)
    return out
