"""Schemathesis against the service's own OpenAPI spec: no 5xx, answers conform to the schema.

Requests generated from the spec (valid and invalid) go over HTTP to a live server on loopback
(uvicorn in a thread, a fresh database); every answer is checked for server errors, documented
status codes and content types, and against the documented response schema.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
import uvicorn
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from talentmarket.api import create_app

CONFIG = schemathesis.config.SchemathesisConfig.from_str(
    """
[generation]
mode = "all"
[phases.coverage]
enabled = false
[phases.stateful]
enabled = false
"""
)
# The spec, read from an app that never serves (each test run serves a fresh one below).
SPEC = create_app(db=":memory:").openapi()
schema = schemathesis.openapi.from_dict(SPEC, config=CONFIG)
# One pytest item per operation (distinct ids, so that pytest -n schedules every one).
OPERATIONS = sorted((m.upper(), p) for p, methods in SPEC["paths"].items() for m in methods)
pytestmark = pytest.mark.xdist_group("api-schemathesis")  # one server per module under -n
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


def body_examples(method: str, path: str) -> list[Any]:
    """The request examples the spec documents for an operation (successful requests)."""
    body = SPEC["paths"][path][method.lower()].get("requestBody")
    if body is None:
        return []
    media = body["content"]["application/json"]
    found = list(media.get("examples", {}).values()) + list(media["schema"].get("examples", []))
    ref = media["schema"].get("$ref")
    if ref is not None:
        found += SPEC["components"]["schemas"][ref.rsplit("/", 1)[-1]].get("examples", [])
    for branch in media["schema"].get("oneOf", []):
        name = branch.get("$ref", "").rsplit("/", 1)[-1]
        found += SPEC["components"]["schemas"].get(name, {}).get("examples", [])
    return [e.get("value", e) if isinstance(e, dict) and "value" in e else e for e in found]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    db: Path = tmp_path_factory.mktemp("schemathesis") / "service.duckdb"
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(db=db), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(30)


@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_api_conforms_to_its_spec(method: str, path: str, base_url: str) -> None:
    operation = schema[path][method]
    for body in body_examples(method, path):
        operation.Case(body=body).call_and_validate(base_url=base_url, checks=CHECKS, timeout=120)
    if "{name}" in path:
        operation.Case(path_parameters={"name": "meta-tml-2025"}).call_and_validate(
            base_url=base_url, checks=CHECKS
        )
    strategies = [operation.as_strategy(GenerationMode.POSITIVE)]
    if any(SPEC["paths"][path][method.lower()].get(k) for k in ("parameters", "requestBody")):
        strategies.append(operation.as_strategy(GenerationMode.NEGATIVE))

    @settings(
        max_examples=30,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
    )
    @given(case=st.one_of(strategies))
    def check(case: schemathesis.Case) -> None:
        case.call_and_validate(base_url=base_url, checks=CHECKS, timeout=120)

    check()
