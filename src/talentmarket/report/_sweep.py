"""The HTML report of a sweep: outcome distributions, fan charts, response curves, flows.

Every figure is built from the tidy tables of :func:`talentmarket.runs.load_sweep` (completed
runs only) and is also written as a PNG for slides. Intervals are empirical quantiles over the
runs they summarize (seeds at one grid point, or every run at one value of a parameter).
"""

from __future__ import annotations

import html
import itertools
import json
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import plotly.graph_objects as go
from plotly.offline import get_plotlyjs
from plotly.subplots import make_subplots

from talentmarket.report._html import _CSS, _fig_html, _table
from talentmarket.scenario._amounts import format_usd

if TYPE_CHECKING:
    import pandas as pd

    from talentmarket.runs._sweep import SweepData

#: Lab colours, in lab order (Tableau 10, then the darker Tableau 20 tones).
PALETTE = (
    "#4E79A7",
    "#F28E2B",
    "#59A14F",
    "#E15759",
    "#B07AA1",
    "#76B7B2",
    "#EDC948",
    "#9C755F",
    "#FF9DA7",
    "#BAB0AC",
    "#1F77B4",
    "#8C564B",
)
#: Largest number of grid points drawn as separate series; beyond it runs are pooled.
MAX_SERIES = 8
LOW, HIGH = 0.05, 0.95


def _rgba(hex_color: str, alpha: float) -> str:
    h = hex_color.lstrip("#")
    if len(h) == 3:
        h = "".join(c * 2 for c in h)
    r, g, b = (int(h[i : i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r},{g},{b},{alpha})"


def _color(labs: Sequence[str], lab: str) -> str:
    return PALETTE[list(labs).index(lab) % len(PALETTE)]


def _short(path: str) -> str:
    """The last two parts of a field path: enough to tell swept parameters apart."""
    return ".".join(path.split(".")[-2:])


def format_value(path: str, value: Any) -> str:
    """A swept value for people: amounts as $200M, numbers compactly, text as is."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return value if isinstance(value, str) else json.dumps(value)
    if path.endswith("_usd") or abs(value) >= 1e5:
        return format_usd(float(value))
    return f"{value:g}"


def _varied(data: SweepData) -> list[str]:
    """The swept paths that take more than one value (the others are constants)."""
    return [p for p, values in data.info["grid"] if len(values) > 1]


def _label(paths: Sequence[str], values: Sequence[Any]) -> str:
    return (
        ", ".join(f"{_short(p)}={format_value(p, v)}" for p, v in zip(paths, values, strict=True))
        or "all runs"
    )


def _point_order(data: SweepData) -> list[str]:
    """Labels of the grid points in grid order (first path varies slowest)."""
    grid = [(p, v) for p, v in data.info["grid"] if len(v) > 1]
    paths = [p for p, _ in grid]
    return [_label(paths, combo) for combo in itertools.product(*(v for _, v in grid))]


def _point_labels(data: SweepData) -> pd.Series:
    """Per run id: a short label of its grid point (``grants[0].value_usd=$200M, ...``)."""
    import pandas as pd

    paths = _varied(data)
    labels = {}
    for rid, params in zip(data.runs["run_id"], data.runs["parameters"], strict=True):
        values = json.loads(params)
        labels[rid] = _label(paths, [values.get(p) for p in paths])
    return pd.Series(labels, name="point")


def _completed(data: SweepData) -> pd.DataFrame:
    runs: pd.DataFrame = data.runs
    return runs[runs["status"] == "completed"]


def _lab_order(data: SweepData) -> list[str]:
    return list(dict.fromkeys(data.labs["lab"]))


def _quantiles(values: pd.Series) -> tuple[float, float, float]:
    v = values.to_numpy(dtype=float)
    return float(v.mean()), float(np.quantile(v, LOW)), float(np.quantile(v, HIGH))


# --- figures ------------------------------------------------------------------------------


def distribution_figure(data: SweepData) -> go.Figure:
    """Hires and spend per lab: mean and 90% interval over seeds, one series per grid point."""
    labs = data.labs.join(_point_labels(data), on="run_id")
    present = set(labs["point"])
    points = [p for p in _point_order(data) if p in present]
    if len(points) > MAX_SERIES:
        labs = labs.assign(point="all runs")
        points = ["all runs"]
    order = _lab_order(data)
    fig = make_subplots(
        rows=2,
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.12,
        subplot_titles=("hires per run", "spend per run (USD millions)"),
    )
    for k, point in enumerate(points):
        rows = labs[labs["point"] == point]
        for r, (column, scale) in enumerate((("hires", 1.0), ("spend_usd", 1e-6)), start=1):
            stats = [_quantiles(rows.loc[rows["lab"] == lab, column] * scale) for lab in order]
            mean = np.array([s[0] for s in stats])
            fig.add_trace(
                go.Scatter(
                    x=order,
                    y=mean,
                    mode="markers",
                    name=point,
                    legendgroup=point,
                    showlegend=r == 1,
                    marker={"size": 10, "color": PALETTE[k % len(PALETTE)]},
                    error_y={
                        "type": "data",
                        "symmetric": False,
                        "array": [s[2] - s[0] for s in stats],
                        "arrayminus": [s[0] - s[1] for s in stats],
                        "thickness": 1.5,
                    },
                    hovertemplate="%{x}<br>mean %{y:,.2f}<extra>" + html.escape(point) + "</extra>",
                ),
                row=r,
                col=1,
            )
    fig.update_layout(
        title="Hires and spend per lab: mean and 90% interval over seeds",
        scattermode="group",
        height=560,
        legend={"title": {"text": "grid point"}},
    )
    fig.update_yaxes(rangemode="tozero")
    return fig


def fan_chart_figure(data: SweepData) -> go.Figure:
    """Headcount change per lab over rounds: median, 50% and 90% bands across all runs."""
    rounds = data.rounds
    order = _lab_order(data)
    # A market that settles early stops reporting rounds: carry its last state forward, so
    # that every round summarizes every run.
    wide = rounds.pivot_table(index=["run_id", "lab"], columns="round", values="headcount")
    wide = wide.ffill(axis=1)
    # Change since the start: labs of 40 and of 1,500 people share one readable axis.
    wide = wide.sub(wide.iloc[:, 0], axis=0)
    fig = go.Figure()
    for lab in order:
        grouped = wide.xs(lab, level="lab")
        x = grouped.columns.to_numpy()
        color = _color(order, lab)
        bands = ((LOW, HIGH, 0.15), (0.25, 0.75, 0.3))
        for lo_q, hi_q, alpha in bands:
            lo = grouped.quantile(lo_q).to_numpy()
            hi = grouped.quantile(hi_q).to_numpy()
            fig.add_trace(
                go.Scatter(
                    x=np.concatenate([x, x[::-1]]),
                    y=np.concatenate([hi, lo[::-1]]),
                    mode="lines",
                    fill="toself",
                    fillcolor=_rgba(color, alpha),
                    line={"width": 0},
                    hoverinfo="skip",
                    legendgroup=lab,
                    showlegend=False,
                    name=f"{lab} {int(100 * lo_q)}-{int(100 * hi_q)}%",
                )
            )
        fig.add_trace(
            go.Scatter(
                x=x,
                y=grouped.median().to_numpy(),
                mode="lines+markers",
                line={"color": color, "width": 2},
                name=lab,
                legendgroup=lab,
                hovertemplate="round %{x}<br>median change %{y:+}<extra>" + lab + "</extra>",
            )
        )
    n_rounds = int(rounds["round"].max()) if len(rounds) else 0
    note = (
        "the decision model has one round: before and after the offers"
        if n_rounds <= 1
        else "market rounds"
    )
    fig.update_layout(
        title=f"Headcount change per lab over rounds: median, 50% and 90% bands over "
        f"{rounds['run_id'].nunique()} runs<br><sup>{note}</sup>",
        xaxis={"title": "round", "dtick": 1},
        yaxis={"title": "headcount change since round 0", "zeroline": True},
        height=440,
    )
    return fig


def response_curve_figure(data: SweepData, path: str) -> go.Figure:
    """Hires and spend per lab as one swept parameter varies (other parameters pooled)."""
    params = data.parameters[data.parameters["path"] == path][["run_id", "value"]]
    grid_values = next(v for p, v in data.info["grid"] if p == path)
    keys = [json.dumps(v, sort_keys=True, separators=(",", ":")) for v in grid_values]
    numeric = all(isinstance(v, int | float) and not isinstance(v, bool) for v in grid_values)
    # Amounts read better in millions; other numbers as they are; text as categories.
    usd = numeric and (path.endswith("_usd") or max(abs(float(v)) for v in grid_values) >= 1e5)
    x_of = {
        k: (float(v) / 1e6 if usd else v) if numeric else format_value(path, v)
        for k, v in zip(keys, grid_values, strict=True)
    }
    labs = data.labs.merge(params, on="run_id")
    order = _lab_order(data)
    fig = make_subplots(
        rows=1,
        cols=2,
        horizontal_spacing=0.1,
        subplot_titles=("hires per run", "spend per run (USD millions)"),
    )
    for lab in order:
        color = _color(order, lab)
        rows = labs[labs["lab"] == lab]
        for c, (column, scale) in enumerate((("hires", 1.0), ("spend_usd", 1e-6)), start=1):
            stats = [_quantiles(rows.loc[rows["value"] == k, column] * scale) for k in keys]
            x = [x_of[k] for k in keys]
            lo = [s[1] for s in stats]
            hi = [s[2] for s in stats]
            fig.add_trace(
                go.Scatter(
                    x=[*x, *x[::-1]],
                    y=[*hi, *lo[::-1]],
                    mode="lines",
                    fill="toself",
                    fillcolor=_rgba(color, 0.15),
                    line={"width": 0},
                    hoverinfo="skip",
                    showlegend=False,
                    legendgroup=lab,
                ),
                row=1,
                col=c,
            )
            fig.add_trace(
                go.Scatter(
                    x=x,
                    y=[s[0] for s in stats],
                    mode="lines+markers",
                    line={"color": color},
                    name=lab,
                    legendgroup=lab,
                    showlegend=c == 1,
                ),
                row=1,
                col=c,
            )
    title = path + (" (USD millions)" if usd else "")
    fig.update_xaxes(title_text=title, type=None if numeric else "category")
    fig.update_yaxes(rangemode="tozero")
    fig.update_layout(
        title=f"Response to {html.escape(path)}: mean and 90% interval over runs",
        height=420,
    )
    return fig


def flow_figure(data: SweepData) -> go.Figure:
    """Sankey diagram of where researchers end up: mean people per run, employer -> lab."""
    r = data.researchers
    n_runs = max(r["run_id"].nunique(), 1)
    flows = r.groupby(["employer", "final_lab"]).size().reset_index(name="people")
    order = _lab_order(data)
    left = {lab: i for i, lab in enumerate(order)}
    right = {lab: len(order) + i for i, lab in enumerate(order)}
    fig = go.Figure(
        go.Sankey(
            arrangement="snap",
            node={
                "label": [f"{lab} (before)" for lab in order] + [f"{lab} (after)" for lab in order],
                "color": [_color(order, lab) for lab in order] * 2,
                "pad": 18,
            },
            link={
                "source": [left[e] for e in flows["employer"]],
                "target": [right[f] for f in flows["final_lab"]],
                "value": (flows["people"] / n_runs).round(3).tolist(),
                "color": [
                    _rgba(_color(order, f), 0.35 if e != f else 0.12)
                    for e, f in zip(flows["employer"], flows["final_lab"], strict=True)
                ],
                "hovertemplate": "%{source.label} → %{target.label}: %{value:.2f} people "
                "per run<extra></extra>",
            },
        )
    )
    fig.update_layout(
        title=f"Where researchers end up: mean people per run over {n_runs} runs", height=420
    )
    return fig


# --- summary ------------------------------------------------------------------------------


def sweep_summary(data: SweepData) -> list[str]:
    """A few sentences: outcome, who hired most, and what changed the outcome most.

    A parameter's effect is the largest change, over labs, of a lab's mean hires or spend
    across the parameter's values (other parameters and seeds pooled), measured in standard
    errors of the seed-to-seed spread within a grid point; parameters are ranked by it.
    """
    done = _completed(data)
    failed = int((data.runs["status"] == "failed").sum())
    n_points = max(len(set(done["parameters"])), 1)
    out = [
        f"{len(done)} completed runs of {data.info['scenario_name']} ({n_points} grid "
        f"point{'s' if n_points != 1 else ''} x {len(data.info['seeds'])} seeds)"
        + (f"; {failed} failed runs are left out" if failed else "")
        + "."
    ]
    if done.empty:
        return out
    per_run = data.labs.groupby("run_id").agg(moves=("hires", "sum"), spend=("spend_usd", "sum"))
    people = float(data.researchers.groupby("run_id").size().mean())
    mean, lo, hi = _quantiles(per_run["moves"])
    out.append(
        f"On average {mean:,.1f} of {people:,.0f} researchers moved per run (90% of runs: "
        f"{lo:,.0f} to {hi:,.0f}); labs committed {format_usd(per_run['spend'].mean())} per "
        "run to the contracts signed."
    )
    by_lab = data.labs.groupby("lab").agg(hires=("hires", "mean"), spend=("spend_usd", "mean"))
    top = by_lab.sort_values(["hires", "spend"], ascending=False, kind="stable")
    if top["hires"].iloc[0] > 0:
        lab = str(top.index[0])
        out.append(
            f"{lab} hired most: {top['hires'].iloc[0]:.2f} per run, spending "
            f"{format_usd(float(top['spend'].iloc[0]))} per run."
        )
    if not _varied(data):
        out.append("No parameter was swept: the spread above is seed-to-seed noise alone.")
        return out
    effects = sorted(
        (e for path in _varied(data) if (e := _effect(data, path)) is not None),
        key=lambda e: (-e.z, -e.relative, e.path),
    )
    if not effects or effects[0].relative <= 0:
        out.append("No swept parameter changed any lab's hires or spend.")
        return out
    best = effects[0]
    fmt = best.format
    strength = f" ({best.z:.1f} standard errors)" if np.isfinite(best.z) else ""
    out.append(
        f"What changed the outcome most: {best.path}. {best.lab} {best.metric} per run "
        f"{fmt(best.low)} at {format_value(best.path, best.at_low)} and {fmt(best.high)} at "
        f"{format_value(best.path, best.at_high)}{strength}."
    )
    for e in effects[1:3]:
        strength = f", {e.z:.1f} standard errors" if np.isfinite(e.z) else ""
        out.append(
            f"Next: {e.path} ({e.lab} {e.metric} per run from {e.format(e.low)} to "
            f"{e.format(e.high)}{strength})."
        )
    if np.isfinite(best.z) and best.z < 2:
        out.append(
            "Seed-to-seed noise is large here: differences under about 2 standard errors may "
            "be chance; add seeds to tell."
        )
    return out


@dataclass(frozen=True)
class _Effect:
    """The largest change one swept parameter makes to one lab's hires or spend."""

    path: str
    lab: str
    metric: str  # "hires" or "spend"
    low: float  # lowest mean over the parameter's values (other parameters pooled)
    high: float
    at_low: Any
    at_high: Any
    z: float  # (high - low) in standard errors of a difference of means (inf: no noise)
    relative: float  # (high - low) / mean

    def format(self, value: float) -> str:
        return format_usd(value) if self.metric == "spend" else f"{value:.2f}"


def _effect(data: SweepData, path: str) -> _Effect | None:
    """The strongest effect of ``path`` over labs and metrics (z first, then relative size)."""
    done = _completed(data)
    point_of = done.set_index("run_id")["parameters"]
    params = data.parameters[data.parameters["path"] == path].set_index("run_id")["value"]
    best: _Effect | None = None
    for metric, column in (("hires", "hires"), ("spend", "spend_usd")):
        wide = data.labs.pivot(index="run_id", columns="lab", values=column)
        # Seed-to-seed sd within a grid point, pooled over points.
        noise = np.sqrt(wide.join(point_of).groupby("parameters").var(ddof=1).fillna(0).mean())
        by_value = wide.join(params).groupby("value")
        means, runs = by_value.mean(), int(by_value.size().min())
        if len(means) < 2:
            return None
        for lab in sorted(wide.columns):
            col = means[lab]
            spread = float(col.max() - col.min())
            se = float(noise[lab]) * float(np.sqrt(2.0 / runs))
            z = spread / se if se > 0 else (float("inf") if spread > 0 else 0.0)
            scale = float(np.abs(col).mean())
            effect = _Effect(
                path,
                str(lab),
                metric,
                float(col.min()),
                float(col.max()),
                json.loads(str(col.idxmin())),
                json.loads(str(col.idxmax())),
                z,
                spread / scale if scale > 0 else 0.0,
            )
            if best is None or (effect.z, effect.relative) > (best.z, best.relative):
                best = effect
    return best


def _points_table(data: SweepData) -> str:
    done = _completed(data)
    if done.empty:
        return ""
    per_run = data.labs.groupby("run_id").agg(moves=("hires", "sum"), spend=("spend_usd", "sum"))
    labels = _point_labels(data)
    frame = per_run.join(labels)
    rows = []
    for point in _point_order(data):
        group = frame[frame["point"] == point]
        if group.empty:
            continue
        mean, lo, hi = _quantiles(group["moves"])
        rows.append(
            [
                str(point),
                str(len(group)),
                f"{mean:.2f}",
                f"{lo:.0f} to {hi:.0f}",
                format_usd(float(group["spend"].mean())),
            ]
        )
    return _table(["grid point", "runs", "mean moves", "90% of runs", "mean spend"], rows[:200])


def _failures_table(data: SweepData) -> str:
    failed = data.runs[data.runs["status"] == "failed"]
    if failed.empty:
        return ""
    rows = [
        [str(r.run_id), str(r.seed), str(r.parameters), str(r.error)] for r in failed.itertuples()
    ]
    return "<h2>Failed runs</h2>" + _table(["run", "seed", "parameters", "error"], rows[:100])


# --- the document -------------------------------------------------------------------------


def sweep_figures(data: SweepData) -> list[tuple[str, str, go.Figure]]:
    """Every figure of the report as (div id, section heading, figure), in report order."""
    if _completed(data).empty:
        return []
    figures = [
        ("fig-distribution", "Outcomes per lab", distribution_figure(data)),
        ("fig-fan", "Over rounds", fan_chart_figure(data)),
    ]
    for k, path in enumerate(_varied(data), start=1):
        figures.append(
            (f"fig-response-{k}", f"Response to {path}", response_curve_figure(data, path))
        )
    figures.append(("fig-flows", "Flows between labs", flow_figure(data)))
    return figures


def render_sweep_report(
    data: SweepData, figures: Sequence[tuple[str, str, go.Figure]] | None = None
) -> str:
    """The sweep report as one self-contained HTML document (plotly.js inlined).

    Parameters
    ----------
    data : SweepData
        From :func:`talentmarket.runs.load_sweep`.
    figures : sequence of (div id, heading, figure), optional
        Figures already built by :func:`sweep_figures` (built here if not given).

    Returns
    -------
    str
        The HTML: summary, figures, a table per grid point and the failed runs.
    """
    figures = sweep_figures(data) if figures is None else figures
    info = data.info
    base_hash = html.escape(str(info["base_scenario_hash"]))
    grid = "; ".join(
        f"{p} = {', '.join(format_value(p, v) for v in values)}" for p, values in info["grid"]
    )
    seeds = info["seeds"]
    seed_text = f"{seeds[0]}..{seeds[-1]}" if len(seeds) > 2 else ", ".join(map(str, seeds))
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>talentmarket sweep {html.escape(data.sweep_id)}</title>",
        f"<style>{_CSS}</style><script>{get_plotlyjs()}</script></head><body>",
        f"<h1>Sweep of {html.escape(str(info['scenario_name']))}</h1>",
        f"<p class='meta'>sweep {html.escape(data.sweep_id)} · scenario "
        f"{html.escape(str(info['scenario_source']))} (hash {base_hash})"
        f" · {len(seeds)} seeds ({html.escape(seed_text)}) · grid: "
        f"{html.escape(grid) or 'none'} · talentmarket {html.escape(info['package_version'])}</p>",
        "<h2>Summary</h2>",
        *(f"<div class='finding'>{html.escape(s)}</div>" for s in sweep_summary(data)),
    ]
    heading = None
    for div_id, section, fig in figures:
        if section != heading:
            parts.append(f"<h2>{html.escape(section)}</h2>")
            heading = section
        parts.append(f"<div class='figure'>{_fig_html(fig, div_id)}</div>")
    parts += [
        "<h2>Grid points</h2>" if _varied(data) else "<h2>All runs</h2>",
        _points_table(data),
        _failures_table(data),
        "</body></html>",
    ]
    return "\n".join(parts)


@dataclass(frozen=True)
class SweepReport:
    """Files written by :func:`write_sweep_report` and the written summary."""

    html: Path
    images: tuple[Path, ...]
    summary: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON shape of ``talentmarket report --json``."""
        return {
            "html": str(self.html),
            "images": [str(p) for p in self.images],
            "summary": list(self.summary),
        }


def write_sweep_report(
    sweep_id: str,
    *,
    out: str | Path | None = None,
    db: str | Path = "talentmarket.duckdb",
    png: bool = True,
) -> SweepReport:
    """Write the HTML report of a sweep and, with ``png``, each figure as a PNG beside it.

    Parameters
    ----------
    sweep_id : str
        Sweep id (or a unique prefix).
    out : str or Path, optional
        HTML file (default ``sweep-ID.html`` in the working directory). PNGs go to the folder
        ``<stem>-figures`` next to it, one per figure (``fig-distribution.png`` ...).
    db : str or Path
        The sweep database.
    png : bool
        Export PNGs (needs kaleido and a Chrome/Chromium); a failure warns and skips them.

    Returns
    -------
    SweepReport
        Paths written and the summary sentences.
    """
    from talentmarket.runs._sweep import load_sweep

    data = load_sweep(sweep_id, db=db)
    html_path = Path(out) if out is not None else Path(f"sweep-{data.sweep_id}.html")
    figures = sweep_figures(data)
    text = render_sweep_report(data, figures)
    html_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = html_path.with_name(f".{html_path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(html_path)
    images: list[Path] = []
    if png and figures:
        folder = html_path.with_name(f"{html_path.stem}-figures")
        folder.mkdir(parents=True, exist_ok=True)
        targets = [folder / f"{div_id}.png" for div_id, _, _ in figures]
        try:
            import plotly.io as pio

            pio.write_images([fig for _, _, fig in figures], targets, width=1100, scale=2)
            images = targets
        except Exception as exc:  # kaleido or the browser missing: the HTML still stands
            warnings.warn(f"PNG export skipped: {exc}", RuntimeWarning, stacklevel=2)
    return SweepReport(html_path, tuple(images), tuple(sweep_summary(data)))
