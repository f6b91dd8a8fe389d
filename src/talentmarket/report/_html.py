"""The HTML report of a run: figures (plotly, inlined so the file works offline) and tables."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any

import numpy as np
import plotly.graph_objects as go
from plotly.offline import get_plotlyjs
from plotly.subplots import make_subplots

from talentmarket.scenario._amounts import format_usd

if TYPE_CHECKING:
    from talentmarket.runs._single import RunResult

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;
max-width:1100px;color:#1f2933;line-height:1.45;padding:0 1rem}
h1{font-size:1.7rem;margin-bottom:.2rem}h2{margin-top:2.2rem;border-bottom:1px solid #d9e2ec}
.meta{color:#627d98;font-size:.9rem}.finding{background:#f0f4f8;border-left:4px solid #334e68;
padding:.6rem 1rem;margin:.6rem 0}table{border-collapse:collapse;font-size:.88rem;margin:.8rem 0}
th,td{padding:.3rem .6rem;border-bottom:1px solid #e4e7eb;text-align:right}
th:first-child,td:first-child,td:last-child,th:last-child{text-align:left}.figure{margin:1rem 0}
"""


def _fig_html(fig: go.Figure, div_id: str) -> str:
    fig.update_layout(template="plotly_white", margin={"l": 60, "r": 30, "t": 60, "b": 50})
    return str(
        fig.to_html(
            full_html=False,
            include_plotlyjs=False,
            div_id=div_id,
            config={"displaylogo": False, "responsive": True},
        )
    )


def value_distribution_figure(result: RunResult) -> go.Figure:
    """Histogram of each offer's realized (undiscounted) value with its headline marked."""
    scenario = result.scenario
    offers = list(scenario.offers)
    fig = make_subplots(
        rows=max(len(offers), 1),
        cols=1,
        subplot_titles=[f"{oid}: realized value vs headline" for oid in offers] or ["no offers"],
    )
    for k, oid in enumerate(offers, start=1):
        value = result.valuation.package_value(scenario.offers[oid].to, oid)
        fig.add_trace(
            go.Histogram(
                x=value.nominal / 1e6,
                nbinsx=80,
                name=f"{oid} realized (USD M)",
                marker_color="#486581",
                opacity=0.85,
                showlegend=False,
            ),
            row=k,
            col=1,
        )
        fig.add_vline(
            x=value.headline / 1e6,
            line_color="#d64545",
            line_dash="dash",
            row=k,
            col=1,
            annotation_text=f"headline {format_usd(value.headline)}",
            annotation_position="top right",
        )
        fig.add_vline(
            x=float(np.mean(value.pv)) / 1e6,
            line_color="#27ab83",
            row=k,
            col=1,
            annotation_text=f"E[PV] {format_usd(value.expected_pv)}",
            annotation_position="bottom right",
        )
        hi = float(np.quantile(value.nominal, 0.995)) / 1e6
        fig.update_xaxes(
            title_text="USD millions over the horizon (axis cut at the 99.5th percentile)",
            range=[0, max(hi, 1.05 * value.headline / 1e6)],
            row=k,
            col=1,
        )
        fig.update_yaxes(title_text="paths", row=k, col=1)
    fig.update_layout(
        height=320 * max(len(offers), 1),
        title="Distribution of each offer's realized value against its headline",
    )
    return fig


def waterfall_figure(result: RunResult, offer: str) -> go.Figure:
    """Per-factor utility of ``offer`` relative to staying (cohorts: mean over members)."""
    d = result.decisions
    rows = [i for i, alts in enumerate(d.alternatives) if offer in alts]
    a_idx = [d.alternatives[i].index(offer) for i in rows]
    comps = np.array([d.components[i, a] for i, a in zip(rows, a_idx, strict=True)])
    mean = comps.mean(axis=0)
    labels = [("colleagues" if f == "peers" else f) for f in d.factors]
    text = []
    for k in range(len(d.factors)):
        none = all(d.no_amount[i, a, k] for i, a in zip(rows, a_idx, strict=True))
        if len(rows) == 1:
            me = d.money_equivalent[rows[0], a_idx[0], k]
            text.append("no amount" if none else format_usd(float(me)))
        else:
            text.append(f"{mean[k]:+.2f}")
    who = d.people[rows[0]] if len(rows) == 1 else f"{len(rows)} recipients (mean)"
    p = float(np.mean([d.probability[i, a] for i, a in zip(rows, a_idx, strict=True)]))
    fig = go.Figure(
        go.Waterfall(
            x=[*labels, "total"],
            y=[*mean.tolist(), 0.0],
            measure=["relative"] * len(labels) + ["total"],
            text=[*text, f"{mean.sum():+.2f}"],
            textposition="outside",
            decreasing={"marker": {"color": "#d64545"}},
            increasing={"marker": {"color": "#27ab83"}},
            totals={"marker": {"color": "#334e68"}},
        )
    )
    fig.update_layout(
        title=f"Why {who} decides as they do on {offer} (P(accept) = {p:.2g})<br>"
        "<sup>utility of the offer minus staying, by factor; labels: money equivalents"
        "</sup>",
        yaxis_title="utility difference (utils)",
        height=460,
        showlegend=False,
    )
    return fig


def acceptance_curve_figure(result: RunResult) -> go.Figure:
    """P(accept) as each offer's amounts are scaled from 0.1x to 100x (log axis)."""
    fig = go.Figure()
    for curve in result.curves:
        y = curve.probability.mean(axis=1)
        fig.add_trace(
            go.Scatter(
                x=curve.scales,
                y=y,
                mode="lines+markers",
                name=curve.offer,
                customdata=np.column_stack([curve.headline_usd / 1e6]),
                hovertemplate="scale %{x:.2f}x<br>headline $%{customdata[0]:,.0f}M"
                "<br>P(accept) %{y:.4f}<extra>%{fullData.name}</extra>",
            )
        )
    fig.add_vline(x=1.0, line_dash="dot", line_color="#829ab1", annotation_text="as offered")
    fig.update_xaxes(type="log", title_text="offer scale (every amount multiplied; log axis)")
    top = max((float(c.probability.mean(axis=1).max()) for c in result.curves), default=1.0)
    if 0 < top < 0.05:  # tiny probabilities: a log axis keeps every curve readable
        fig.update_yaxes(type="log", title_text="P(accept) (mean over recipients; log axis)")
    else:
        fig.update_yaxes(title_text="P(accept) (mean over recipients)", rangemode="tozero")
    fig.update_layout(
        title="Probability of accepting as the offer grows from 0.1x to 100x", height=440
    )
    return fig


def tornado_figure(result: RunResult) -> go.Figure | None:
    """Mean P(accept) of the largest offer at the low and high end of every varied input."""
    if result.sensitivity is None or not result.sensitivity.inputs:
        return None
    bars = result.sensitivity.tornado()[::-1]  # widest on top
    base = bars[0]["baseline"] if bars else 0.0
    labels = [b["input"] for b in bars]
    fig = go.Figure()
    for end, color in (("low", "#829ab1"), ("high", "#334e68")):
        fig.add_trace(
            go.Bar(
                y=labels,
                x=[b[f"p_{end}"] - base for b in bars],
                base=base,
                orientation="h",
                name=f"{end} end",
                marker_color=color,
                customdata=[[str(b[end]), b[f"p_{end}"]] for b in bars],
                hovertemplate="%{y}<br>" + end + " = %{customdata[0]}<br>P(accept) "
                "%{customdata[1]:.3g}<extra></extra>",
            )
        )
    fig.add_vline(
        x=base, line_color="#d64545", line_dash="dash", annotation_text=f"as reported: {base:.3g}"
    )
    fig.update_layout(
        barmode="overlay",
        height=140 + 32 * len(bars),
        title=f"Tornado: what moves P(accept) of {result.sensitivity.largest_offer} "
        "(each input alone at its low and high end)",
        xaxis_title="mean P(accept)",
        margin={"l": 380},
    )
    return fig


def sankey_figure(market: Any) -> go.Figure:
    """Flows of researchers between labs (movers only)."""
    labs = list(market.lab_ids)
    src, dst, val = [], [], []
    for a, tos in market.flows_dict().items():
        for b, k in tos.items():
            src.append(labs.index(a))
            dst.append(len(labs) + labs.index(b))
            val.append(k)
    fig = go.Figure(
        go.Sankey(
            node={
                "label": [f"{x} (before)" for x in labs] + [f"{x} (after)" for x in labs],
                "pad": 14,
                "thickness": 14,
            },
            link={"source": src, "target": dst, "value": val},
        )
    )
    if not val:
        fig.add_annotation(
            text="Nobody moved: every offer was refused",
            showarrow=False,
            x=0.5,
            y=0.5,
            xref="paper",
            yref="paper",
            font={"size": 16},
        )
    fig.update_layout(
        title=f"Who moved where ({market.engine}, {len(market.movers):,} of "
        f"{len(market.researcher_ids):,} researchers)",
        height=520,
    )
    return fig


def spend_figure(market: Any) -> go.Figure:
    """Spend (hires and counter-offers) against budget, per lab."""
    rows = market.labs_table()
    labs = [r["lab"] for r in rows]
    fig = go.Figure()
    fig.add_trace(
        go.Bar(
            x=labs,
            y=[(r["spend_usd"] - r["counter_offers_usd"]) / 1e6 for r in rows],
            name="hires (USD M)",
        )
    )
    fig.add_trace(
        go.Bar(
            x=labs, y=[r["counter_offers_usd"] / 1e6 for r in rows], name="counter-offers (USD M)"
        )
    )
    fig.add_trace(
        go.Scatter(
            x=labs,
            y=[None if r["budget_usd"] is None else r["budget_usd"] / 1e6 for r in rows],
            mode="markers",
            name="budget (USD M)",
            marker={"symbol": "line-ew-open", "size": 28, "color": "#d64545"},
        )
    )
    fig.update_layout(
        barmode="stack", title="Spend and budget per lab", yaxis_title="USD millions", height=420
    )
    return fig


def rounds_figure(market: Any) -> go.Figure:
    """Offers, moves and counter-offers per round; headcount per lab over rounds."""
    hist = market.history
    rounds = [h["round"] for h in hist]
    fig = make_subplots(rows=1, cols=2, subplot_titles=["activity per round", "headcount"])
    for key, name in (
        ("offers", "offers made"),
        ("moves", "moves"),
        ("counters_accepted", "counter-offers that kept someone"),
    ):
        fig.add_trace(
            go.Scatter(x=rounds, y=[h[key] for h in hist], mode="lines+markers", name=name),
            row=1,
            col=1,
        )
    for j, lab in enumerate(market.lab_ids):
        fig.add_trace(
            go.Scatter(
                x=rounds,
                y=[h["headcount"][j] for h in hist],
                mode="lines",
                name=lab,
                showlegend=True,
            ),
            row=1,
            col=2,
        )
    fig.update_xaxes(title_text="round")
    fig.update_layout(title="Rounds history", height=420)
    return fig


def _table(headers: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>" for r in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _findings(result: RunResult, payload: dict[str, Any]) -> list[str]:
    d = result.decisions
    out = []
    for oid, info in payload["offers"].items():
        out.append(
            f"<b>{html.escape(oid)}</b>: expected acceptances "
            f"{info['expected_acceptances']:.3f} of {info['recipients']} approached."
        )
    largest = result.largest_offer
    if largest:
        group = result.scenario.offers[largest].to
        people = [
            p
            for p in d.people
            if p == group or (group in result.scenario.cohorts and p.startswith(group + "-"))
        ]
        if people:
            reasons = d.top_reasons(people[0], largest)
            words = ", ".join(
                f"{'colleagues' if r['factor'] == 'peers' else r['factor']} ({r['utility']:+.2f})"
                for r in reasons
            )
            out.append(
                f"Largest offer <b>{html.escape(largest)}</b> to "
                f"{html.escape(people[0])}: P(accept) = "
                f"{d.probability_of(people[0], largest):.4f}; top reasons: {words}."
            )
    return out


def _mix(c: Any) -> str:
    if c.cash_fraction is None:
        return "as written"
    return (
        f"{c.cash_fraction:.0%} cash ({c.sign_on_fraction:.0%} of it sign-on), front-loading "
        f"{c.front_loading:.2f}, make-whole {'yes' if c.make_whole else 'no'}"
    )


def _price_table(p: Any) -> str:
    side = "accept" if p.kind == "price" else "stay"
    rows = []
    for i, person in enumerate(p.people[:50]):
        ok = p.status[i] != "unattainable"
        rows.append(
            [
                person,
                p.status[i],
                f"{p.scale[i]:.3g}x" if ok else "-",
                format_usd(p.headline_usd[i]) if ok else "-",
                format_usd(p.employer_cost_usd[i]) if ok else "-",
                f"{p.sup_probability[i]:.3g}",
                p.reason(i),
            ]
        )
    caption = (
        f"<p><b>{html.escape(p.offer)}</b>: P({side}) &ge; {p.target:g}; unattainable "
        f"for {p.n_unattainable} of {len(p.people)}</p>"
    )
    return caption + _table(
        [
            "researcher",
            "status",
            "scale",
            "headline",
            "employer cost",
            f"sup P({side})",
            "what it takes",
        ],
        rows,
    )


def _market_section(market: Any) -> list[str]:
    rows = [
        [
            r["lab"],
            f"{r['headcount_start']:,}",
            f"{r['headcount_end']:,}",
            f"{r['hires']:,}",
            format_usd(r["spend_usd"]),
            "unlimited"
            if r["remaining_budget_usd"] is None
            else format_usd(r["remaining_budget_usd"]),
        ]
        for r in market.labs_table()
    ]
    refusals = [
        [
            r["lab"],
            f"{r['refused']:,}",
            ", ".join(
                f"{'colleagues' if k == 'peers' else k} {v}" for k, v in r["top_reasons"].items()
            ),
        ]
        for r in market.refusals
    ]
    parts = [
        "<h2>The market</h2>",
        f"<div class='finding'>{market.engine}: {len(market.movers):,} of "
        f"{len(market.researcher_ids):,} researchers moved; blocking pairs: "
        f"{market.blocking:,}; rounds: {market.rounds_run}</div>",
        _table(["lab", "start", "end", "hires", "spend", "budget left"], rows),
        f"<div class='figure'>{_fig_html(sankey_figure(market), 'fig-sankey')}</div>",
        f"<div class='figure'>{_fig_html(spend_figure(market), 'fig-spend')}</div>",
    ]
    if market.history:
        parts.append(f"<div class='figure'>{_fig_html(rounds_figure(market), 'fig-rounds')}</div>")
    if refusals:
        parts += [
            "<h3>Refused offers and their top reasons</h3>",
            _table(["lab", "refused", "top reason (how often)"], refusals),
        ]
    return parts


def render_report(result: RunResult) -> str:
    """The whole report as one self-contained HTML document (plotly.js inlined)."""
    payload = result.to_dict()
    s = result.scenario
    figs = [_fig_html(value_distribution_figure(result), "fig-values")]
    if result.largest_offer:
        figs.append(_fig_html(waterfall_figure(result, result.largest_offer), "fig-waterfall"))
    figs.append(_fig_html(acceptance_curve_figure(result), "fig-curve"))
    tornado = tornado_figure(result)
    val_rows = []
    for item in payload["valuation"]["offers"] + payload["valuation"]["current"]:
        q = item["pv_quantiles_usd"]
        val_rows.append(
            [
                item["id"],
                item["researcher"] or f"cohort {item['cohort']}",
                format_usd(item["headline_usd"]),
                format_usd(item["expected_pv_usd"]),
                f"{format_usd(q['p05'])} / {format_usd(q['p50'])} / {format_usd(q['p95'])}",
                f"{item['p_realize_headline']:.2f}",
                format_usd(item["employer_cost_usd"]),
                "-"
                if item["certainty_equivalent_usd"] is None
                else format_usd(item["certainty_equivalent_usd"]),
            ]
        )
    dec_rows = []
    d = result.decisions
    for i, person in enumerate(d.people):
        for o in d.alternatives[i][1:]:
            reasons = "; ".join(
                f"{'colleagues' if r['factor'] == 'peers' else r['factor']} {r['utility']:+.2f}"
                f" ({'no amount' if r['no_amount'] else format_usd(r['money_equivalent_usd'])})"
                for r in d.top_reasons(person, o)
            )
            dec_rows.append([person, o, f"{d.probability_of(person, o):.4f}", reasons])
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>talentmarket report: {html.escape(s.name)}</title>",
        f"<style>{_CSS}</style><script>{get_plotlyjs()}</script></head><body>",
        f"<h1>{html.escape(s.name)}</h1><p>{html.escape(s.description)}</p>",
        f"<p class='meta'>seed {result.seed} · {result.paths:,} paths · scenario hash "
        f"{result.scenario_hash} · talentmarket {payload['talentmarket_version']}</p>",
        "<h2>Findings</h2>",
        *(f"<div class='finding'>{f}</div>" for f in _findings(result, payload)),
        "<h2>What the offers are worth</h2>",
        _table(
            [
                "package",
                "researcher",
                "headline",
                "E[PV]",
                "PV p05 / p50 / p95",
                "P(≥ headline)",
                "employer cost",
                "certainty equiv.",
            ],
            val_rows,
        ),
        f"<div class='figure'>{figs[0]}</div>",
        "<h2>Why they decide as they do</h2>",
        _table(
            ["researcher", "offer", "P(accept)", "top reasons: utility (money equivalent)"],
            dec_rows,
        ),
        *(f"<div class='figure'>{f}</div>" for f in figs[1:]),
        "<h2>What it would take</h2>",
        *(f"<div class='finding'>{html.escape(t)}</div>" for t in [result.what_it_takes()] if t),
        *(_price_table(p) for p in result.prices),
        "<h3>Counter-offers: keeping them</h3>",
        *(_price_table(c) for c in result.counters),
        "<h3>Package design at the same cost</h3>",
        _table(
            ["offer", "budget", "P as written", "P recommended", "gain", "recommended mix"],
            [
                [
                    d.offer,
                    format_usd(d.budget_usd),
                    f"{d.original.probability:.4g}",
                    f"{d.best.probability:.4g}",
                    f"{d.gain:+.3g}",
                    _mix(d.best),
                ]
                for d in result.designs
            ],
        ),
        "<h2>How robust is the verdict?</h2>",
        _table(
            ["researcher", "offer", "P(accept)", "verdict", "flipped by"],
            [
                [
                    v["researcher"],
                    v["offer"],
                    f"{v['probability']:.3g}",
                    v["verdict"],
                    "robust" if v["robust"] else ", ".join(v["flipped_by"]),
                ]
                for v in (result.sensitivity.verdicts() if result.sensitivity else [])
            ],
        ),
        *([f"<div class='figure'>{_fig_html(tornado, 'fig-tornado')}</div>"] if tornado else []),
        *(_market_section(result.market) if result.market is not None else []),
        "</body></html>",
    ]
    return "\n".join(parts)
