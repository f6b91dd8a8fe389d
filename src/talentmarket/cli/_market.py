"""CLI commands for markets (match, simulate)."""

from __future__ import annotations
