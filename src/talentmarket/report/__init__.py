"""Reports for people: self-contained HTML with plots."""

from __future__ import annotations

from talentmarket.report._html import (
    acceptance_curve_figure,
    render_report,
    value_distribution_figure,
    waterfall_figure,
)
from talentmarket.report._sweep import (
    SweepReport,
    render_sweep_report,
    sweep_figures,
    sweep_summary,
    write_sweep_report,
)

__all__ = [
    "SweepReport",
    "acceptance_curve_figure",
    "render_report",
    "render_sweep_report",
    "sweep_figures",
    "sweep_summary",
    "value_distribution_figure",
    "waterfall_figure",
    "write_sweep_report",
]
