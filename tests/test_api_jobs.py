"""Background jobs: they run in worker processes, persist in DuckDB and survive a restart."""

from __future__ import annotations

import copy
import time
import warnings
from pathlib import Path
from typing import Any

import yaml

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # starlette's deprecation notice about httpx
    from fastapi.testclient import TestClient

from talentmarket.api import create_app
from talentmarket.api._jobs import market_flows
from talentmarket.api._schemas import Job
from talentmarket.api._store import Store
from talentmarket.scenario import scenario_from_dict

DESIGN = yaml.safe_load((Path(__file__).parent / "scenarios" / "design_example.yaml").read_text())
TIMEOUT_S = 240.0


def design(name: str = "design-example") -> dict[str, Any]:
    data = copy.deepcopy(DESIGN)
    data["name"] = name
    data["settings"]["paths"] = 300
    return data


def wait(client: TestClient, job_id: str) -> dict[str, Any]:
    """Poll a job until it is done or failed."""
    deadline = time.monotonic() + TIMEOUT_S
    while time.monotonic() < deadline:
        response = client.get(f"/api/jobs/{job_id}")
        assert response.status_code == 200, response.text
        job = response.json()
        Job.model_validate(job)
        if job["status"] in {"done", "failed"}:
            return dict(job)
        time.sleep(0.25)
    raise AssertionError(f"job {job_id} did not finish in {TIMEOUT_S} s")


def test_jobs_run_persist_and_survive_a_restart(tmp_path: Path) -> None:
    db = tmp_path / "jobs.duckdb"
    with TestClient(create_app(db=db, job_workers=2)) as c:
        assert c.post("/api/scenarios", json=design()).status_code == 201
        run = c.post("/api/jobs", json={"kind": "run", "scenario": "design-example", "seed": 4})
        assert run.status_code == 202, run.text
        assert run.json()["status"] in {"queued", "running"}
        assert run.json()["scenario"] == "design-example"
        assert run.headers["location"] == f"/api/jobs/{run.json()['id']}"
        sweep = c.post(
            "/api/jobs",
            json={
                "kind": "sweep",
                "scenario": "design-example",
                "seeds": 1,
                "paths": 200,
                "set": {"researchers.ada.preferences.money": [0.5, 2.0]},
            },
        )
        assert sweep.status_code == 202, sweep.text

        done = wait(c, run.json()["id"])
        assert done["status"] == "done", done["error"]
        assert done["params"]["seed"] == 4 and done["result"]["seed"] == 4
        assert done["result"]["scenario"] == "design-example"
        assert "ada" in done["summary"]["what_it_takes"]
        swept = wait(c, sweep.json()["id"])
        assert swept["status"] == "done", swept["error"]
        assert swept["result"]["runs"] == 2 and swept["result"]["completed"] == 2
        listing = c.get("/api/jobs?scenario=design-example").json()["jobs"]
        assert {j["id"] for j in listing} == {run.json()["id"], sweep.json()["id"]}
        assert all("result" not in j for j in listing)  # listings leave results out
        assert c.get("/health").json()["jobs"]["done"] == 2
        # A job still running when the service stops is queued again at the next start
        # (test_a_failing_job_records_its_error runs such a job to its end).
        late = c.post("/api/jobs", json={"kind": "run", "scenario": design("inline"), "seed": 9})
        assert late.status_code == 202
    stopped = Store(db)
    assert stopped.get_job(late.json()["id"]).status in {"queued", "running"}  # type: ignore[union-attr]
    stopped.close()
    with TestClient(create_app(db=db)) as c:
        assert c.get("/api/scenarios/design-example").json()["data"] == design()
        again = c.get(f"/api/jobs/{run.json()['id']}").json()
        assert again["status"] == "done" and again["result"] == done["result"]
        requeued = c.get(f"/api/jobs/{late.json()['id']}").json()
        assert requeued["status"] in {"queued", "running"} and requeued["params"]["seed"] == 9


def test_a_failing_job_records_its_error(tmp_path: Path) -> None:
    """A job whose worker fails ends ``failed`` with the error body (here: its stored input
    is not a valid scenario; it was queued before a restart)."""
    db = tmp_path / "f.duckdb"
    store = Store(db)
    store.create_job("f" * 32, "run", "broken", None, {"seed": 1}, {"name": 3})
    store.close()
    with TestClient(create_app(db=db)) as c:
        job = wait(c, "f" * 32)
        assert job["status"] == "failed"
        assert job["error"]["error"] == "invalid_scenario"
        assert job["error"]["field"] == "scenario.name"
        assert job["result"] is None


def test_market_flows_from_a_result() -> None:
    scenario = scenario_from_dict(design())
    result = {
        "flows": {"small-lab": {"big-lab": 3}},
        "labs": [
            {"lab": "big-lab", "headcount_start": 0},
            {"lab": "small-lab", "headcount_start": 31},
        ],
    }
    assert market_flows(result, scenario, None) == [
        {"from": "small-lab", "to": "big-lab", "count": 3.0},
        {"from": "small-lab", "to": "small-lab", "count": 28.0},
    ]
    listed = {
        "flows": [{"from": "a", "to": "b", "count": 2}, {"source": "b", "target": "a", "value": 1}]
    }
    assert market_flows(listed, scenario, None) == [
        {"from": "a", "to": "b", "count": 2.0},
        {"from": "b", "to": "a", "count": 1.0},
    ]
    assigned = {
        "assignment": {"big-lab": ["ada"], "small-lab": []},
        "unmatched": ["small-lab-staff-001"],
    }
    assert market_flows(assigned, scenario, None) == [
        {"from": "small-lab", "to": "big-lab", "count": 1.0},
        {"from": "small-lab", "to": "unmatched", "count": 1.0},
    ]


def test_simulate_job_when_the_library_has_it(tmp_path: Path) -> None:
    import talentmarket.market as market

    with TestClient(create_app(db=tmp_path / "s.duckdb")) as c:
        body = {"kind": "simulate", "scenario": "meta-tml-2025", "paths": 300, "rounds": 2}
        response = c.post("/api/jobs", json=body)
        if not hasattr(market, "simulate_scenario"):
            assert response.status_code == 400 and response.json()["error"] == "not_available"
            assert "talentmarket.market.simulate_scenario" in response.json()["message"]
            return
        assert response.status_code == 202, response.text
        job = wait(c, response.json()["id"])
        assert job["status"] == "done", job["error"]
        assert job["result"]["scenario"] == "meta-tml-2025"
        flows = job["summary"]["flows"]
        assert sum(f["count"] for f in flows) == job["result"]["researchers"]
