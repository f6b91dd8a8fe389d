"""The serve command: the web service and the what-if dashboard (FastAPI under uvicorn)."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import typer

from talentmarket.cli._app import app, err_console, handle_errors

HOST_OPTION = typer.Option(
    "127.0.0.1", "--host", help="Address to bind (loopback by default; 0.0.0.0 for all)."
)
PORT_OPTION = typer.Option(8000, "--port", min=0, max=65535, help="TCP port (0: any free).")
DB_OPTION = typer.Option(
    Path("talentmarket.duckdb"),
    "--db",
    help="Results database: saved scenarios and jobs (DuckDB; created if missing).",
)
TOKEN_OPTION = typer.Option(
    None,
    "--token",
    envvar="TALENTMARKET_TOKEN",
    help="Require this token on every request (or set TALENTMARKET_TOKEN).",
)
JOBS_OPTION = typer.Option(1, "--jobs", min=1, max=64, help="Background jobs run at once.")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@app.command()
@handle_errors
def serve(
    host: str = HOST_OPTION,
    port: int = PORT_OPTION,
    db: Path = DB_OPTION,
    token: str | None = TOKEN_OPTION,
    jobs: int = JOBS_OPTION,
) -> None:
    """Start the web service (JSON API, OpenAPI at /openapi.json) and the dashboard at /."""
    import uvicorn

    from talentmarket.api import create_app

    application = create_app(db=db, token=token, job_workers=jobs)
    if not _is_loopback(host) and token is None:
        err_console.print(
            f"[bold yellow]warning:[/] serving on {host} without --token: anyone who can reach "
            "this address can use the service",
            highlight=False,
        )
    shown = f"[{host}]" if ":" in host else host
    query = "/?token=…" if token else "/"
    err_console.print(
        f"talentmarket service on http://{shown}:{port}{query} (database {db}); Ctrl+C stops",
        highlight=False,
    )
    uvicorn.run(application, host=host, port=port, log_level="warning", access_log=False)
