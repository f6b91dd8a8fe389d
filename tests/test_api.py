"""The web service's routes: answers equal the command line's JSON, every error path is a 4xx
JSON body naming the field, caps and the token hold, nothing reaches a file."""

from __future__ import annotations

import copy
import json
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # starlette's deprecation notice about httpx
    from fastapi.testclient import TestClient

import talentmarket as tm
from talentmarket.api import Limits, create_app
from talentmarket.api._jobs import _KINDS, JobKind, run_simulate
from talentmarket.api._schemas import (
    DecideResponse,
    DesignResponse,
    ErrorBody,
    PriceResponse,
    ScenarioDocument,
    ScenarioList,
    ValueResponse,
    WhatIfResponse,
)
from talentmarket.cli import app as cli_app

B = "meta-tml-2025"
PATHS = 500
DESIGN = yaml.safe_load((Path(__file__).parent / "scenarios" / "design_example.yaml").read_text())
runner = CliRunner()


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    db = tmp_path_factory.mktemp("api") / "service.duckdb"
    with TestClient(create_app(db=db)) as c:
        yield c


def small_design() -> dict[str, Any]:
    data = copy.deepcopy(DESIGN)
    data["settings"]["paths"] = PATHS
    return data


def error(response: Any, status: int, field: str | None, contains: str = "") -> dict[str, Any]:
    """Assert a 4xx JSON error body naming ``field`` (and a message containing ``contains``)."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    ErrorBody.model_validate(body)
    assert body["field"] == field, body
    assert contains.lower() in body["message"].lower(), body
    assert "Traceback" not in response.text
    return dict(body)


def cli_json(*args: str) -> Any:
    result = runner.invoke(cli_app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


# --- service, scenarios ----------------------------------------------------------------------


def test_health_and_openapi_document_every_route(client: TestClient) -> None:
    health = client.get("/health").json()
    assert health["status"] == "ok" and health["version"] == tm.__version__
    assert set(health["job_kinds"]) >= {"simulate", "sweep", "run"}
    spec = client.get("/openapi.json").json()
    routes = {(m.upper(), p) for p, ops in spec["paths"].items() for m in ops}
    for route in [
        ("GET", "/health"),
        ("GET", "/api/scenarios"),
        ("POST", "/api/scenarios"),
        ("GET", "/api/scenarios/{name}"),
        ("POST", "/api/value"),
        ("POST", "/api/decide"),
        ("POST", "/api/price"),
        ("POST", "/api/counter"),
        ("POST", "/api/design"),
        ("POST", "/api/whatif"),
        ("POST", "/api/jobs"),
        ("GET", "/api/jobs/{job_id}"),
    ]:
        assert route in routes, route
    decide = spec["paths"]["/api/decide"]["post"]
    assert {"401", "404", "413", "422"} <= set(decide["responses"])
    assert client.get("/api/schema").json()["title"] == "Scenario"


def test_list_fetch_and_save_scenarios(client: TestClient) -> None:
    listing = ScenarioList.model_validate(client.get("/api/scenarios").json())
    assert B in {s.name for s in listing.scenarios if s.source == "builtin"}
    doc = ScenarioDocument.model_validate(client.get(f"/api/scenarios/{B}").json())
    assert doc.source == "builtin" and doc.data["name"] == B
    assert client.get(f"/api/scenarios/builtin:{B}").json()["hash"] == doc.hash

    data = small_design()
    data["name"] = "design-example"
    first = client.post("/api/scenarios", json=data)
    assert first.status_code == 201, first.text
    assert first.json()["name"] == "design-example" and first.json()["created"] is True
    assert first.json()["researchers"] == 31
    again = client.post("/api/scenarios", json=data)
    assert again.status_code == 201 and again.json()["created"] is False
    saved = client.get("/api/scenarios/design-example").json()
    assert saved["source"] == "saved" and saved["data"] == data
    assert "design-example" in {s["name"] for s in client.get("/api/scenarios").json()["scenarios"]}
    # A saved scenario is used by name like a built-in.
    decided = client.post("/api/decide", json={"scenario": "design-example"})
    assert decided.status_code == 200 and decided.json()["decisions"][0]["researcher"] == "ada"


def test_save_errors_name_the_field(client: TestClient) -> None:
    data = small_design()
    data["name"] = "bad-capacity"
    data["labs"]["big-lab"]["capacity"] = -3
    body = error(client.post("/api/scenarios", json=data), 422, "scenario.labs.big-lab.capacity")
    assert body["error"] == "invalid_scenario"
    data["settings"]["paths"] = 5  # every problem at once
    body = error(client.post("/api/scenarios", json=data), 422, "scenario.settings.paths")
    assert {e["field"] for e in body["errors"]} == {
        "scenario.labs.big-lab.capacity",
        "scenario.settings.paths",
    }
    cross = small_design()
    cross["offers"]["big-offer"]["from"] = "nowhere"
    error(
        client.post("/api/scenarios", json=cross),
        422,
        "scenario.offers.big-offer.from",
        "unknown lab",
    )
    for name in ("../../etc/passwd", "a/b", "", ".hidden", "x" * 65):
        bad = small_design()
        bad["name"] = name
        error(client.post("/api/scenarios", json=bad), 422, "scenario.name")
    builtin = small_design()
    builtin["name"] = B
    error(client.post("/api/scenarios", json=builtin), 409, "scenario.name", "built-in")
    error(client.post("/api/scenarios", json=[1, 2]), 422, "body")
    error(
        client.post(
            "/api/scenarios", content=b"{not json", headers={"content-type": "application/json"}
        ),
        422,
        "body",
        "JSON",
    )
    nan = json.dumps(small_design()).replace('"capacity": 70', '"capacity": NaN')
    error(
        client.post("/api/scenarios", content=nan, headers={"content-type": "application/json"}),
        422,
        "scenario.labs.big-lab.capacity",
        "finite",
    )
    error(client.get("/api/scenarios/nothing-here"), 404, "name")
    error(client.get("/api/scenarios/..%2F..%2Fetc%2Fpasswd"), 404, None)
    error(client.get("/api/scenarios/bad name!"), 422, "name")


def test_scenario_references_never_reach_files(client: TestClient, tmp_path: Path) -> None:
    secret = tmp_path / "secret.yaml"
    secret.write_text(yaml.safe_dump(small_design()))
    for ref in (
        str(secret),
        "/etc/passwd",
        "../pyproject.toml",
        "builtin:../../pyproject",
        "builtin:/etc/passwd",
        "file:///etc/passwd",
    ):
        response = client.post("/api/decide", json={"scenario": ref})
        error(response, 422, "scenario", "not a scenario name")
    error(client.post("/api/decide", json={"scenario": "missing"}), 404, "scenario", "no scenario")
    error(client.post("/api/decide", json={"scenario": "builtin:missing"}), 404, "scenario")
    for path in ("/static/../pyproject.toml", "/static/%2e%2e/%2e%2e/pyproject.toml"):
        response = client.get(path)
        assert response.status_code == 404 and "build-system" not in response.text


# --- the commands: the command line's JSON -------------------------------------------------------


def test_value_matches_the_command_line(client: TestClient) -> None:
    response = client.post("/api/value", json={"scenario": B, "paths": PATHS})
    assert response.status_code == 200
    ValueResponse.model_validate(response.json())
    assert response.json() == cli_json("value", f"builtin:{B}", "--paths", str(PATHS))
    one = client.post(
        "/api/value", json={"scenario": B, "paths": PATHS, "offer": "meta-to-tulloch"}
    ).json()
    assert [o["id"] for o in one["offers"]] == ["meta-to-tulloch"]
    assert one == cli_json(
        "value", f"builtin:{B}", "--paths", str(PATHS), "--offer", "meta-to-tulloch"
    )
    error(client.post("/api/value", json={"scenario": B, "offer": "nope"}), 422, "offer", "nope")
    error(
        client.post("/api/value", json={"scenario": B, "researcher": "x", "paths": PATHS}),
        422,
        "researcher",
    )


def test_decide_matches_the_command_line_and_the_library(client: TestClient) -> None:
    body = {"scenario": B, "researcher": "andrew-tulloch", "paths": PATHS, "seed": 3}
    response = client.post("/api/decide", json=body)
    assert response.status_code == 200
    DecideResponse.model_validate(response.json())
    expected = cli_json(
        "decide",
        f"builtin:{B}",
        "--researcher",
        "andrew-tulloch",
        "--paths",
        str(PATHS),
        "--seed",
        "3",
    )
    assert response.json() == expected
    everyone = client.post("/api/decide", json={"scenario": B, "paths": PATHS}).json()
    assert len(everyone["decisions"]) == 13
    inline = client.post("/api/decide", json={"scenario": small_design()})
    assert inline.status_code == 200 and inline.json()["seed"] == 7


def test_decide_errors(client: TestClient) -> None:
    error(
        client.post("/api/decide", json={"scenario": B, "researcher": "nobody"}),
        422,
        "researcher",
        "unknown researcher",
    )
    error(client.post("/api/decide", json={"scenario": B, "paths": 50}), 422, "paths")
    error(client.post("/api/decide", json={"scenario": B, "paths": 10**6}), 422, "paths")
    error(client.post("/api/decide", json={"scenario": B, "seed": -1}), 422, "seed")
    error(client.post("/api/decide", json={"scenario": B, "paths": "many"}), 422, "paths")
    error(client.post("/api/decide", json={"scenario": B, "bogus": 1}), 422, "bogus", "unknown")
    error(client.post("/api/decide", json={}), 422, "scenario", "required")
    error(client.post("/api/decide", json={"scenario": 3}), 422, "scenario")
    bad = small_design()
    bad["researchers"]["ada"]["wealth_usd"] = "lots"
    error(
        client.post("/api/decide", json={"scenario": bad}),
        422,
        "scenario.researchers.ada.wealth_usd",
        "amount",
    )
    big = small_design()
    big["settings"]["paths"] = 200_000
    error(client.post("/api/decide", json={"scenario": big}), 422, "paths", "at most")
    huge = small_design()
    huge["cohorts"]["small-lab-staff"]["size"] = 50_000
    error(
        client.post("/api/decide", json={"scenario": huge, "paths": 100}),
        422,
        "scenario.cohorts",
        "researchers",
    )


def test_price_counter_design_match_the_command_line(client: TestClient) -> None:
    base = {"scenario": B, "paths": PATHS, "offer": "meta-to-tml-staff"}
    price = client.post("/api/price", json={**base, "target": 0.3})
    assert price.status_code == 200
    PriceResponse.model_validate(price.json())
    assert price.json() == cli_json(
        "price",
        f"builtin:{B}",
        "--offer",
        "meta-to-tml-staff",
        "--target",
        "0.3",
        "--paths",
        str(PATHS),
    )
    counter = client.post("/api/counter", json={**base, "cash_fraction": 0.2, "vesting_months": 24})
    assert counter.status_code == 200
    assert counter.json() == cli_json(
        "counter",
        f"builtin:{B}",
        "--offer",
        "meta-to-tml-staff",
        "--cash-fraction",
        "0.2",
        "--vesting-months",
        "24",
        "--paths",
        str(PATHS),
    )
    design = client.post("/api/design", json={**base, "budget": "300M"})
    assert design.status_code == 200
    DesignResponse.model_validate(design.json())
    assert design.json()["budget_usd"] == 3e8
    assert client.post("/api/design", json={**base, "budget": 3e8}).json() == design.json()


def test_price_counter_design_errors(client: TestClient) -> None:
    base = {"scenario": B, "paths": PATHS}
    error(client.post("/api/price", json=base), 422, "offer", "required")
    error(client.post("/api/price", json={**base, "offer": "x"}), 422, "offer", "unknown offer")
    for target in (0, 1, 1.5, -0.1):
        error(
            client.post("/api/price", json={**base, "offer": "meta-to-tulloch", "target": target}),
            422,
            "target",
        )
    error(
        client.post(
            "/api/price", json={**base, "offer": "meta-to-tulloch", "researcher": "tml-staff-001"}
        ),
        422,
        "researcher",
        "recipient",
    )
    error(
        client.post(
            "/api/counter", json={**base, "offer": "meta-to-tulloch", "cash_fraction": 1.5}
        ),
        422,
        "cash_fraction",
    )
    error(
        client.post("/api/counter", json={**base, "offer": "meta-to-tulloch", "vesting_months": 0}),
        422,
        "vesting_months",
    )
    for budget in ("abc", "0", 0, -5, "-5M"):
        error(
            client.post("/api/design", json={**base, "offer": "meta-to-tulloch", "budget": budget}),
            422,
            "budget",
        )


# --- the what-if ---------------------------------------------------------------------------


def whatif(client: TestClient, **extra: Any) -> dict[str, Any]:
    response = client.post("/api/whatif", json={"scenario": B, "paths": PATHS, **extra})
    assert response.status_code == 200, response.text
    WhatIfResponse.model_validate(response.json())
    return dict(response.json())


def test_whatif_is_decide_at_the_scale(client: TestClient) -> None:
    base = whatif(client, researcher="andrew-tulloch")
    assert base["offer"] == "meta-to-tulloch" and base["edited"] is False
    scenario = tm.load_scenario(f"builtin:{B}")
    valuation = tm.value_scenario(tm.compile_scenario(scenario), paths=PATHS)
    for scale in (1.0, 4.0):
        answer = whatif(client, researcher="andrew-tulloch", scale=scale)
        d = tm.decide(valuation, people=["andrew-tulloch"], scale={"meta-to-tulloch": scale})
        assert answer["probability"] == pytest.approx(
            d.probability_of("andrew-tulloch", "meta-to-tulloch")
        )
        money = answer["waterfall"][0]
        assert money["factor"] == "money"
        assert money["utility"] == pytest.approx(float(d.components[0, 1, 0]))
    bigger = whatif(client, researcher="andrew-tulloch", scale=4.0)
    assert bigger["probability"] > base["probability"]
    assert bigger["value"]["headline_usd"] > base["value"]["headline_usd"]
    assert bigger["curve"] == base["curve"]  # the curve does not depend on the slider
    assert sum(bigger["value"]["histogram"]["share"]) == pytest.approx(
        1 - bigger["value"]["histogram"]["share_above"]
    )
    assert bigger["what_it_takes"]["status"] == "unattainable"
    assert bigger["what_it_takes"]["sentence"].startswith("No amount of money would win")


def test_whatif_edits_mix_leader_and_mission(client: TestClient) -> None:
    who = {"researcher": "tml-staff-002", "offer": "meta-to-tml-staff"}
    base = whatif(client, **who)
    written = base["options"]["as_written"]
    assert 0 < written["cash_fraction"] < 1
    mixed = whatif(client, **who, cash_fraction=0.8, front_loading=0.3)
    assert mixed["edited"] and mixed["scenario_hash"] != base["scenario_hash"]
    own = base["value"]["headline_usd"] - base["make_whole_headline_usd"]
    # The same headline (amounts are written with 6 significant digits).
    assert mixed["value"]["headline_usd"] - mixed["make_whole_headline_usd"] == pytest.approx(
        own, rel=1e-5
    )
    grant = mixed["package"]["grants"][0]
    assert grant["value_usd"] == pytest.approx(0.2 * own, rel=1e-4)
    weights = grant["vesting"]["year_weights"]
    assert weights[1] / weights[0] == pytest.approx(0.7)
    assert mixed["probability"] != base["probability"]

    def factor(answer: dict[str, Any], name: str) -> float:
        return float(next(r["utility"] for r in answer["waterfall"] if r["factor"] == name))

    assert factor(base, "leadership") < 0
    led = whatif(client, **who, leader="mira-murati")
    assert factor(led, "leadership") == pytest.approx(0.0)  # the same leader as at home
    assert led["probability"] > base["probability"]
    research = whatif(client, **who, mission={"frontier_research": 1.0})
    assert factor(research, "mission") > factor(base, "mission")
    options = base["options"]
    assert "mira-murati" in options["leaders"] and "frontier_research" in options["mission_areas"]
    assert options["lab"]["id"] == "meta-msl" and options["researchers_total"] == 13


def test_whatif_errors(client: TestClient) -> None:
    base = {"scenario": B, "paths": PATHS}
    error(client.post("/api/whatif", json={**base, "researcher": "nobody"}), 422, "researcher")
    error(client.post("/api/whatif", json={**base, "offer": "nope"}), 422, "offer")
    error(
        client.post(
            "/api/whatif",
            json={**base, "researcher": "andrew-tulloch", "offer": "meta-to-tml-staff"},
        ),
        422,
        "offer",
        "goes to",
    )
    for field, value in (
        ("scale", 0),
        ("scale", -1),
        ("scale", 1e6),
        ("cash_fraction", 1.1),
        ("front_loading", 0.95),
        ("target", 1),
    ):
        error(client.post("/api/whatif", json={**base, field: value}), 422, field)
    error(client.post("/api/whatif", json={**base, "mission": {"../x": 1.0}}), 422, "mission.../x")
    error(client.post("/api/whatif", json={**base, "mission": {"a": "high"}}), 422, "mission.a")
    design = small_design()
    error(
        client.post("/api/whatif", json={"scenario": design, "researcher": "small-lab-staff-001"}),
        422,
        "researcher",
        "holds no offer",
    )


# --- jobs (submission and errors; running them: test_api_jobs.py) ---------------------------------


def test_job_submission_errors(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    error(client.post("/api/jobs", json={"kind": "dance", "scenario": B}), 422, "kind")
    error(client.post("/api/jobs", json={"scenario": B}), 422, "kind")
    error(
        client.post("/api/jobs", json={"kind": "simulate", "scenario": B, "rounds": 0}),
        422,
        "rounds",
    )
    error(
        client.post("/api/jobs", json={"kind": "simulate", "scenario": B, "engine": "magic"}),
        422,
        "engine",
    )
    error(client.post("/api/jobs", json={"kind": "run", "scenario": "missing"}), 404, "scenario")
    error(
        client.post(
            "/api/jobs",
            json={
                "kind": "sweep",
                "scenario": small_design(),
                "set": {"offers.big-offer.package.nope": [1, 2]},
            },
        ),
        422,
        "scenario.offers.big-offer.package.nope",
    )
    unavailable = JobKind("simulate", run_simulate, available=lambda: "not in this version")
    monkeypatch.setitem(_KINDS, "simulate", unavailable)
    body = error(
        client.post("/api/jobs", json={"kind": "simulate", "scenario": B}),
        400,
        "kind",
        "not in this version",
    )
    assert body["error"] == "not_available"
    error(client.get("/api/jobs/not-an-id"), 422, "job_id")
    error(client.get("/api/jobs/" + "0" * 32), 404, "job_id")
    error(client.get("/api/jobs?status=lost"), 422, "status")
    error(client.get("/api/jobs?limit=0"), 422, "limit")
    assert client.get("/api/jobs?kind=run").json() == {"jobs": []}


def test_caps_on_jobs_and_sizes(tmp_path: Path) -> None:
    limits = Limits(
        max_saved_scenarios=1,
        max_pending_jobs=0,
        max_simulation_size=1000,
        max_sweep_runs=3,
        max_researcher_paths=13 * 1000,
        max_body_bytes=10_000,
    )
    with TestClient(create_app(db=tmp_path / "caps.duckdb", limits=limits)) as c:
        first, second = small_design(), small_design()
        second["name"] = "another"
        assert c.post("/api/scenarios", json=first).status_code == 201
        assert c.post("/api/scenarios", json=first).status_code == 201  # replacing is fine
        error(c.post("/api/scenarios", json=second), 409, "scenario.name", "at most 1 saved")
        error(
            c.post("/api/jobs", json={"kind": "run", "scenario": B, "paths": 500}),
            429,
            None,
            "at most 0",
        )
        if c.get("/health").json()["job_kinds"]["simulate"]["available"]:
            error(
                c.post("/api/jobs", json={"kind": "simulate", "scenario": B, "paths": 500}),
                422,
                "rounds",
                "at most 1,000",
            )
        error(
            c.post(
                "/api/jobs",
                json={"kind": "sweep", "scenario": small_design(), "seeds": 4, "paths": 100},
            ),
            422,
            "set",
            "at most 3",
        )
        error(
            c.post("/api/decide", json={"scenario": B, "paths": 2000}),
            422,
            "paths",
            "13 researchers x 2,000 paths",
        )
        assert c.post("/api/decide", json={"scenario": B, "paths": 1000}).status_code == 200
        big = json.dumps({"scenario": B, "pad": "x" * 20_000})
        error(
            c.post("/api/decide", content=big, headers={"content-type": "application/json"}),
            413,
            "body",
            "larger than 10,000 bytes",
        )

        def chunks() -> Iterator[bytes]:
            yield b'{"scenario": "meta-tml-2025", "pad": "'
            for _ in range(20):
                yield b"y" * 1000
            yield b'"}'

        error(
            c.post("/api/decide", content=chunks(), headers={"content-type": "application/json"}),
            413,
            "body",
        )


def test_serve_reports_a_database_it_cannot_open(tmp_path: Path) -> None:
    result = runner.invoke(cli_app, ["serve", "--db", str(tmp_path / "missing" / "x.duckdb")])
    assert result.exit_code == 2
    assert "cannot open the database" in result.output


def test_unknown_routes_and_methods_answer_json(client: TestClient) -> None:
    error(client.get("/api/nothing"), 404, None)
    error(client.get("/api/decide"), 405, None)


def test_token_is_required_everywhere_when_set(tmp_path: Path) -> None:
    with TestClient(create_app(db=tmp_path / "t.duckdb", token="s3cret")) as c:
        for path in ("/health", "/", "/openapi.json", "/static/app.js", "/api/scenarios"):
            error(c.get(path), 401, "token")
        error(c.post("/api/decide", json={"scenario": B}), 401, "token")
        error(c.get("/health", headers={"Authorization": "Bearer wrong"}), 401, "token")
        assert c.get("/health", headers={"Authorization": "Bearer s3cret"}).status_code == 200
        assert c.get("/health", headers={"X-Talentmarket-Token": "s3cret"}).status_code == 200
        page = c.get("/?token=s3cret")
        assert page.status_code == 200 and "talentmarket_token=s3cret" in page.headers["set-cookie"]
        assert "HttpOnly" in page.headers["set-cookie"]
        c.cookies.set("talentmarket_token", "s3cret")
        assert c.get("/static/vendor/plotly.min.js").status_code == 200


def test_dashboard_assets_are_served_by_the_app(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200 and "<title>talentmarket" in page.text
    assert "http://" not in page.text and "https://" not in page.text  # no CDN
    for asset in ("/static/app.js", "/static/app.css", "/static/vendor/plotly.min.js"):
        response = client.get(asset)
        assert response.status_code == 200, asset
        assert "https://cdn" not in response.text[:2000]
    assert client.get("/docs").status_code == 404  # Swagger UI would load from a CDN


def test_public_surface_is_pinned() -> None:
    import talentmarket.api as api

    assert sorted(api.__all__) == [
        "DEFAULT_LIMITS",
        "JOB_KINDS",
        "JobKind",
        "Limits",
        "create_app",
        "register_job_kind",
    ]
    assert all(hasattr(api, name) for name in api.__all__)
