"""CLI commands for estimation (fit)."""

from __future__ import annotations
