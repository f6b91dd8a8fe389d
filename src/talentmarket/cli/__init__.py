"""Command-line interface: ``talentmarket COMMAND``; see ``talentmarket --help``."""

from __future__ import annotations

from talentmarket.cli import _core, _fit, _market, _pricing, _serve, _simulate, _sweep  # noqa: F401
from talentmarket.cli._app import app

__all__ = ["app", "main"]


def main() -> None:
    """Entry point of the ``talentmarket`` script."""
    app()
