"""Reports for people: self-contained HTML with plots."""

from __future__ import annotations

from talentmarket.report._html import (
    acceptance_curve_figure,
    render_report,
    value_distribution_figure,
    waterfall_figure,
)

__all__ = [
    "acceptance_curve_figure",
    "render_report",
    "value_distribution_figure",
    "waterfall_figure",
]
