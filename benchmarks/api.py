"""Web service benchmark: `decide` on meta-tml-2025 from 8 concurrent clients.

2,000 requests (300 with ``--quick``) to ``POST /api/decide`` on the built-in
``meta-tml-2025`` at the scenario's own 20,000 paths, cycling over every researcher and the
whole scenario (14 distinct bodies), from 8 concurrent keep-alive clients. The server is the
one at ``--url`` or, without it, ``talentmarket serve`` started here on a free loopback port
with a temporary database (and stopped at the end).

The service caches valuations and answers (both are deterministic in the scenario hash and the
options), so after the first request of each body it answers from memory; ``cold_ms`` is the
median latency of the first request of each body (the decision computed; the valuation is
computed by the first and shared), and ``uncached_ms`` the median of a few requests with fresh
seeds (a new 20,000-path valuation each), sent one at a time after the run.

Target: p99 under 200 ms, zero errors.

The last line is JSON: ``p50_ms``, ``p99_ms``, ``requests_per_s``, ``errors`` (and context).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

SCENARIO = "meta-tml-2025"
PEOPLE = [None, "andrew-tulloch", *(f"tml-staff-{k:03d}" for k in range(1, 13))]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def _server(url: str | None, token: str | None) -> Iterator[str]:
    """The server to measure: ``url``, or one started here (stopped on exit)."""
    if url is not None:
        yield url.rstrip("/")
        return
    port = _free_port()
    with tempfile.TemporaryDirectory(prefix="tm-bench-") as tmp:
        env = dict(os.environ)
        if token:
            env["TALENTMARKET_TOKEN"] = token
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "talentmarket",
                "serve",
                "--port",
                str(port),
                "--db",
                str(Path(tmp) / "bench.duckdb"),
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        base = f"http://127.0.0.1:{port}"
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        try:
            deadline = time.monotonic() + 120
            while True:
                try:
                    if httpx.get(f"{base}/health", headers=headers, timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit("the server did not start")
                time.sleep(0.2)
            yield base
        finally:
            proc.terminate()
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()


def _body(k: int, paths: int | None) -> dict[str, Any]:
    body: dict[str, Any] = {"scenario": SCENARIO}
    person = PEOPLE[k % len(PEOPLE)]
    if person is not None:
        body["researcher"] = person
    if paths is not None:
        body["paths"] = paths
    return body


def run(base: str, n: int, clients: int, token: str | None, paths: int | None) -> dict[str, Any]:
    """Send ``n`` decide requests from ``clients`` threads; latencies and errors."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    cold: list[float] = []
    with httpx.Client(base_url=base, headers=headers, timeout=120) as http:
        for k in range(len(PEOPLE)):  # the first request of each body computes
            t0 = time.perf_counter()
            response = http.post("/api/decide", json=_body(k, paths))
            cold.append(time.perf_counter() - t0)
            response.raise_for_status()

    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    counter = iter(range(n))

    def client() -> None:
        nonlocal errors
        mine: list[float] = []
        bad = 0
        with httpx.Client(base_url=base, headers=headers, timeout=120) as http:
            while True:
                with lock:
                    k = next(counter, None)
                if k is None:
                    break
                t0 = time.perf_counter()
                try:
                    response = http.post("/api/decide", json=_body(k, paths))
                    ok = response.status_code == 200 and response.json()["decisions"]
                except (httpx.HTTPError, ValueError, KeyError):
                    ok = False
                mine.append(time.perf_counter() - t0)
                bad += not ok
        with lock:
            latencies.extend(mine)
            errors += bad

    threads = [threading.Thread(target=client) for _ in range(clients)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0

    uncached: list[float] = []
    with httpx.Client(base_url=base, headers=headers, timeout=120) as http:
        for seed in range(3 if n <= 300 else 8):  # fresh seeds: a new valuation each
            t1 = time.perf_counter()
            http.post("/api/decide", json={**_body(1, paths), "seed": 10_000 + seed})
            uncached.append(time.perf_counter() - t1)

    ms = sorted(1000 * x for x in latencies)
    return {
        "p50_ms": round(statistics.median(ms), 2),
        "p99_ms": round(ms[min(len(ms) - 1, int(0.99 * len(ms)))], 2),
        "requests_per_s": round(len(ms) / wall, 1),
        "errors": errors,
        "requests": len(ms),
        "clients": clients,
        "distinct_bodies": len(PEOPLE),
        "paths": paths or 20_000,
        "cold_ms": round(1000 * statistics.median(cold), 1),
        "uncached_ms": round(1000 * statistics.median(uncached), 1),
        "max_ms": round(ms[-1], 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="300 requests instead of 2,000")
    parser.add_argument("--url", default=None, help="a running server (default: start one)")
    parser.add_argument("--token", default=os.environ.get("TALENTMARKET_TOKEN"))
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--requests", type=int, default=None)
    parser.add_argument("--paths", type=int, default=None, help="default: the scenario's")
    args = parser.parse_args()
    n = args.requests or (300 if args.quick else 2000)
    with _server(args.url, args.token) as base:
        result = run(base, n, args.clients, args.token, args.paths)
    print(
        f"decide x {result['requests']} from {result['clients']} clients: p50 "
        f"{result['p50_ms']} ms, p99 {result['p99_ms']} ms, {result['requests_per_s']} req/s, "
        f"{result['errors']} errors (first request per body {result['cold_ms']} ms; fresh "
        f"seed {result['uncached_ms']} ms)",
        file=sys.stderr,
        flush=True,
    )
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
