"""The typer application and what every command shares: JSON output, error rendering, exit codes.

The CLI is a thin shell: parse, call the library, render. Commands live in one module per
concept (``_core.py``, ``_fit.py``, ``_market.py`` ...) and register themselves on ``app``.
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from typing import Any, NoReturn, ParamSpec, TypeVar

import typer
from rich.console import Console

from talentmarket._errors import InputError, TalentMarketError
from talentmarket._json import jsonable

app = typer.Typer(
    name="talentmarket",
    help="Model the market for scarce AI talent: value offers, predict decisions, price people.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

console = Console()
err_console = Console(stderr=True)

EXIT_INPUT = 2

P = ParamSpec("P")
R = TypeVar("R")

JSON_OPTION = typer.Option(False, "--json", help="Machine output on stdout (JSON), nothing else.")
SEED_OPTION = typer.Option(None, "--seed", help="Random seed; defaults to the scenario's seed.")


def emit_json(payload: Any) -> None:
    """Write ``payload`` as JSON on stdout (numpy values converted, NaN/inf as null)."""
    sys.stdout.write(json.dumps(jsonable(payload), indent=2, allow_nan=False) + "\n")
    sys.stdout.flush()


def show(result: Any, json_out: bool) -> None:
    """A result object on stdout: ``result.to_dict()`` as JSON, or its rich ``summary()``."""
    if json_out:
        emit_json(result.to_dict())
    else:
        console.print(result.summary())


def fail(message: str, code: int = EXIT_INPUT) -> NoReturn:
    """Print ``message`` on stderr and exit with ``code`` (2: bad input)."""
    err_console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def handle_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Render library errors as one clear message on stderr with exit status 2, no traceback."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except InputError as exc:
            for issue in exc.issues:
                err_console.print(f"[bold red]error:[/] {issue}", highlight=False, soft_wrap=True)
            raise typer.Exit(EXIT_INPUT) from None
        except TalentMarketError as exc:
            fail(str(exc))
        except OSError as exc:
            fail(f"{getattr(exc, 'filename', '') or ''}: {exc.strerror or exc}")

    return wrapper
