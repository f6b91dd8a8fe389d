"""Money amounts as scenario files write them: 750k, 200M, 1.5B, $1,000,000 or plain numbers."""

from __future__ import annotations

import math
import re

_SUFFIX = {"": 1.0, "k": 1e3, "m": 1e6, "b": 1e9, "t": 1e12}
_AMOUNT = re.compile(
    r"^\s*(-?)\s*\$?\s*([0-9][0-9_,]*\.?[0-9]*(?:e[+-]?[0-9]+)?)\s*([kmbt]?)\s*$", re.I
)


def parse_amount(value: object) -> float:
    """Return a USD amount from a number or a string such as ``"200M"``, ``"1.5B"``, ``"750k"``.

    Raises ``ValueError`` with the received value for anything else (the scenario layer turns it
    into a message naming the file and field).
    """
    if isinstance(value, bool):
        raise ValueError(f"expected an amount such as 750k, 200M or 1.5B, got {value!r}")
    if isinstance(value, int | float):
        amount = float(value)
    elif isinstance(value, str):
        match = _AMOUNT.match(value)
        if match is None:
            raise ValueError(f"expected an amount such as 750k, 200M or 1.5B, got {value!r}")
        sign = -1.0 if match.group(1) else 1.0
        digits = match.group(2).replace(",", "").replace("_", "")
        amount = sign * float(digits) * _SUFFIX[match.group(3).lower()]
    else:
        raise ValueError(f"expected an amount such as 750k, 200M or 1.5B, got {value!r}")
    if not math.isfinite(amount):
        raise ValueError(f"amount must be finite, got {value!r}")
    if amount < 0:
        raise ValueError(f"amount must not be negative, got {value!r}")
    return amount


def format_usd(amount: float) -> str:
    """Short human form of a USD amount: $1.2B, $350M, $40k (sign kept)."""
    if not math.isfinite(amount):
        return "n/a"
    sign = "-" if amount < 0 else ""
    a = abs(amount)
    for div, suffix in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "k")):
        if a >= div:
            value = a / div
            digits = 2 if value < 10 else 1 if value < 100 else 0
            return f"{sign}${value:.{digits}f}{suffix}"
    return f"{sign}${a:.0f}"
