"""The service as users meet it: `talentmarket serve` on loopback, with a token.

- A bounded load test: a few hundred requests from 8 concurrent clients, zero errors, nothing
  lost from the saved scenarios.
- A browser test: headless Chromium (Debian's, through Playwright) loads the dashboard, moves
  the offer scale, sees P(accept) and the waterfall change, no console errors; the screenshot
  is kept in ``test-artifacts/``.
"""

from __future__ import annotations

import copy
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

pytestmark = pytest.mark.xdist_group("api-live")  # one server per module under pytest -n

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = Path("/usr/bin/chromium")
TOKEN = "live-test-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
DESIGN = yaml.safe_load((Path(__file__).parent / "scenarios" / "design_example.yaml").read_text())


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``talentmarket serve`` in a subprocess on a free loopback port; stopped at the end."""
    root = tmp_path_factory.mktemp("live")
    port = free_port()
    log = (root / "server.log").open("w")
    env = {**os.environ, "TALENTMARKET_TOKEN": TOKEN}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "talentmarket",
            "serve",
            "--port",
            str(port),
            "--db",
            str(root / "service.duckdb"),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
        cwd=root,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    try:
        while True:
            if proc.poll() is not None:
                raise AssertionError(f"the server exited: {(root / 'server.log').read_text()}")
            try:
                if httpx.get(f"{url}/health", headers=AUTH, timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "the server did not answer within 120 s"
            time.sleep(0.2)
        assert httpx.get(f"{url}/health", timeout=5).status_code == 401  # the token is required
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
        log.close()


def test_load_eight_clients_no_errors_nothing_lost(server: str) -> None:
    clients, rounds = 8, 10

    def client_work(k: int) -> tuple[list[str], dict[str, dict[str, Any]]]:
        problems: list[str] = []
        sent: dict[str, dict[str, Any]] = {}
        with httpx.Client(base_url=server, headers=AUTH, timeout=120) as http:
            for r in range(rounds):
                data = copy.deepcopy(DESIGN)
                data["name"] = f"load-{k}-{r}"
                data["settings"]["paths"] = 200 + 10 * r
                data["researchers"]["ada"]["wealth_usd"] = f"{10 + k + r}M"
                calls = [
                    ("POST", "/api/scenarios", data),
                    (
                        "POST",
                        "/api/decide",
                        {
                            "scenario": "meta-tml-2025",
                            "paths": 1000,
                            "researcher": "andrew-tulloch",
                        },
                    ),
                    (
                        "POST",
                        "/api/whatif",
                        {
                            "scenario": "meta-tml-2025",
                            "paths": 1000,
                            "scale": 0.5 + 0.1 * r + 0.01 * k,
                        },
                    ),
                    ("POST", "/api/decide", {"scenario": data["name"]}),
                ]
                for method, path, body in calls:
                    response = http.request(method, path, json=body)
                    if response.status_code >= 300:
                        problems.append(f"{method} {path}: {response.status_code} {response.text}")
                if http.get(f"/api/scenarios/{data['name']}").status_code != 200:
                    problems.append(f"GET /api/scenarios/{data['name']}")
                sent[data["name"]] = data
        return problems, sent

    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        outcomes = list(pool.map(client_work, range(clients)))
    elapsed = time.perf_counter() - started
    problems = [p for out, _ in outcomes for p in out]
    assert problems == [], problems[:5]
    sent = {name: data for _, s in outcomes for name, data in s.items()}
    assert len(sent) == clients * rounds  # 400 requests in all
    with httpx.Client(base_url=server, headers=AUTH, timeout=60) as http:
        listed = {s["name"] for s in http.get("/api/scenarios").json()["scenarios"]}
        assert set(sent) <= listed
        for name, data in sent.items():
            assert http.get(f"/api/scenarios/{name}").json()["data"] == data, name
    print(f"load: {5 * clients * rounds} requests in {elapsed:.1f} s")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip(
            "BROWSER TEST SKIPPED: /usr/bin/chromium is missing (Debian's chromium package; "
            "`make test` installs it with apt-get where it can)"
        )
    playwright_api = pytest.importorskip("playwright.sync_api")
    with playwright_api.sync_playwright() as p:
        chromium = p.chromium.launch(
            executable_path=str(CHROMIUM),
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-background-networking",
                "--disable-dev-shm-usage",
                "--disable-component-update",
                "--no-first-run",
            ],
        )
        try:
            yield chromium
        finally:
            chromium.close()


def test_dashboard_moves_with_the_offer_scale(server: str, browser: Any) -> None:
    page = browser.new_page(viewport={"width": 1440, "height": 1500})
    errors: list[str] = []
    requests: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("request", lambda r: requests.append(r.url))
    # A researcher for whom money is not bounded (log utility): P(accept) moves with the scale.
    demo = copy.deepcopy(DESIGN)
    demo["name"] = "browser-demo"
    demo["researchers"]["ada"]["risk_aversion"] = 1.0
    saved = httpx.post(f"{server}/api/scenarios", json=demo, headers=AUTH, timeout=60)
    assert saved.status_code == 201, saved.text
    page.goto(f"{server}/?token={TOKEN}&scenario=browser-demo&researcher=ada&paths=2000")
    page.wait_for_function(
        "document.getElementById('p-accept').textContent.includes('%')", timeout=90_000
    )
    page.wait_for_function("document.getElementById('waterfall').data !== undefined")
    before = page.inner_text("#p-accept")
    money_before = page.evaluate("document.getElementById('waterfall').data[0].y[0]")
    assert "To win ada" in page.inner_text("#takes-text")

    page.eval_on_selector(
        "#scale",
        "el => { el.value = '1.3'; el.dispatchEvent(new Event('input', {bubbles: true})); }",
    )  # 10^1.3: about 20x the offer
    page.wait_for_function(
        "prev => document.getElementById('p-accept').textContent !== prev",
        arg=before,
        timeout=60_000,
    )
    page.wait_for_function(
        "prev => document.getElementById('waterfall').data[0].y[0] !== prev",
        arg=money_before,
        timeout=60_000,
    )
    after = page.inner_text("#p-accept")
    money_after = page.evaluate("document.getElementById('waterfall').data[0].y[0]")
    assert after != before and money_after > money_before
    assert float(after.rstrip("%")) > float(before.rstrip("%"))
    assert "scale=19.95" in (page.get_attribute("#permalink", "href") or "")
    page.wait_for_timeout(500)  # let the charts settle before the picture
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "dashboard.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    assert errors == []
    assert all(url.startswith(server) or url.startswith("data:") for url in requests), requests
    # The link reproduces the what-if.
    link = page.get_attribute("#permalink", "href")
    page.goto(f"{server}{link}")
    page.wait_for_function(
        "document.getElementById('p-accept').textContent.includes('%')", timeout=60_000
    )
    assert page.inner_text("#p-accept") == after
    assert errors == []
    page.close()


def test_chromium_skip_reason_is_loud() -> None:
    """Where Chromium is missing, the browser test says so (and `make test` tries to install)."""
    if CHROMIUM.exists():
        assert shutil.which("chromium") or CHROMIUM.exists()
    else:
        pytest.skip("BROWSER TEST SKIPPED: /usr/bin/chromium is missing")
