"""Addressing scenario fields by path: ``offers.meta-to-tml.package.grants[0].value_usd``.

Used by sensitivity ranges (``assumptions``) and by sweeps (``--set PATH=V1,V2``). Paths walk
the parsed YAML (plain dicts and lists), so every edit is validated again as a whole scenario.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from talentmarket._errors import Issue, ScenarioError

_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def split_path(path: str) -> list[str | int]:
    """``a.b[0].c`` -> ["a", "b", 0, "c"]; raises ValueError on an empty or malformed path."""
    parts: list[str | int] = []
    pos = 0
    for match in _PART.finditer(path):
        if match.start() != pos and path[pos : match.start()] != ".":
            raise ValueError(f"malformed path {path!r}")
        parts.append(match.group(1) if match.group(1) is not None else int(match.group(2)))
        pos = match.end()
    if not parts or pos != len(path):
        raise ValueError(f"malformed path {path!r}")
    return parts


def get_path(data: Any, path: str, source: str = "<scenario>") -> Any:
    """The value at ``path`` in parsed scenario data; ScenarioError naming the path if absent."""
    node = data
    for part in _walk(data, path, source, create_last=False):
        node = part
    return node


def _walk(data: Any, path: str, source: str, create_last: bool) -> list[Any]:
    try:
        parts = split_path(path)
    except ValueError as exc:
        raise ScenarioError([Issue(source, path, str(exc))]) from None
    nodes: list[Any] = []
    node = data
    for depth, part in enumerate(parts):
        last = depth == len(parts) - 1
        where = _fmt(parts[: depth + 1])
        if isinstance(part, int):
            if not isinstance(node, list) or not 0 <= part < len(node):
                size = len(node) if isinstance(node, list) else 0
                raise ScenarioError([Issue(source, path, f"no item {where} (there are {size})")])
            node = node[part]
        else:
            if not isinstance(node, dict):
                raise ScenarioError(
                    [Issue(source, path, f"{_fmt(parts[:depth]) or 'scenario'} is not a mapping")]
                )
            if part not in node:
                if last and create_last:
                    nodes.append(None)
                    break
                known = ", ".join(sorted(map(str, node))) or "(none)"
                raise ScenarioError([Issue(source, path, f"no field {where}; there: {known}")])
            node = node[part]
        nodes.append(node)
    return nodes


def _fmt(parts: list[str | int]) -> str:
    out = ""
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else ("." if out else "") + p
    return out


def set_path(data: Any, path: str, value: Any, source: str = "<scenario>") -> Any:
    """A deep copy of ``data`` with ``value`` at ``path``.

    The parent must exist; the last key may be new where its mapping allows it (the scenario's
    validation says whether it does). Raises ScenarioError naming the path otherwise.
    """
    out = copy.deepcopy(data)
    parts = split_path(path)
    _walk(out, path, source, create_last=True)
    node = out
    for part in parts[:-1]:
        node = node[part]
    node[parts[-1]] = value
    return out
