"""Figures other than maps: time series of a what-if run, the TTS against TTR chart, concentration bars.

Each function takes results already computed by :mod:`riskmodel` (through :mod:`dashboard.state` or
:mod:`dashboard.scenarios`) and only draws them, with the dashboard's template and colour-blind safe colours.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from dashboard.components import empty_figure
from dashboard.theme import FAILED_COLOUR, KIND_COLOURS, REGION_COLOURS, kind_label, pct, units
from riskmodel.schema import KINDS

LINE_COLOURS = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#999999"]
LINE_DASHES = ["solid", "solid", "solid", "solid", "dash", "dash", "dot", "dot"]


def affected_markets(result, top: int = 8) -> np.ndarray:
    """Columns of the markets to draw: most units lost first, then the deepest inflow dip (at most ``top``)."""
    lost = np.asarray(result.market_lost, dtype=float)
    dip = 1.0 - np.nanmin(result.inflow_fraction, axis=0) if result.inflow_fraction is not None else np.zeros_like(lost)
    order = np.lexsort((-dip, -lost))
    keep = [j for j in order if lost[j] > 0 or dip[j] > 1e-9]
    return np.asarray(keep[:top], dtype=np.int64)


def _window(spec: dict) -> tuple[list[dict], list[dict]]:
    """The disruption period as a shaded band (layout shapes and annotations, set once: add_vrect is slow)."""
    start = int(spec.get("start_day", 0))
    end = start + max(1, round(7 * float(spec.get("duration_weeks", 1))))
    shape = {"type": "rect", "xref": "x", "yref": "paper", "x0": start, "x1": end, "y0": 0, "y1": 1,
             "fillcolor": FAILED_COLOUR, "opacity": 0.08, "line": {"width": 0}, "layer": "below"}
    note = {"x": start, "y": 1, "xref": "x", "yref": "paper", "text": "disruption", "showarrow": False,
            "xanchor": "left", "yanchor": "top", "font": {"size": 11, "color": FAILED_COLOUR}}
    return [shape], [note]


def _names(result) -> dict[str, str]:
    return {str(m): str(n) for m, n in zip(result.market_ids, result.market_names, strict=True)}


def _series_chart(result, spec: dict, values, top: int, height: int, yaxis: dict, hover: str,
                  empty: str) -> go.Figure:
    """Lines of the most affected markets over the horizon (one figure built in one call: fast)."""
    cols = affected_markets(result, top)
    if not len(cols):
        return empty_figure(empty, height)
    names = _names(result)
    days = np.arange(result.horizon_days)
    traces = []
    for i, j in enumerate(cols):
        mid = str(result.market_ids[j])
        traces.append({"type": "scatter", "x": days, "y": values(j), "mode": "lines", "name": mid,
                       "line": {"color": LINE_COLOURS[i % 8], "dash": LINE_DASHES[i % 8], "width": 2},
                       "hovertemplate": f"<b>{names.get(mid, mid)}</b><br>day %{{x}}: {hover}<extra></extra>"})
    shapes, notes = _window(spec)
    return go.Figure(data=traces, layout={
        "template": "riskmodel", "height": height, "margin": {"l": 55, "r": 10, "t": 20, "b": 40},
        "yaxis": yaxis, "xaxis": {"title": {"text": "day"}, "range": [0, result.horizon_days - 1]},
        "hovermode": "x unified", "legend": {"orientation": "v", "x": 1.01, "y": 1, "font": {"size": 10.5}},
        "shapes": shapes, "annotations": notes})


def supply_chart(result, spec: dict, top: int = 8, height: int = 330) -> go.Figure:
    """Share of each market's daily demand that patients get, over the horizon (the most affected markets)."""
    if result.supplied_fraction is None:
        return empty_figure("no daily series in this result", height)
    return _series_chart(result, spec, lambda j: result.supplied_fraction[:, j], top, height,
                         {"title": {"text": "demand supplied"}, "tickformat": ".0%", "range": [-0.02, 1.12],
                          "tickvals": [0, 0.2, 0.4, 0.6, 0.8, 1.0]}, "%{y:.1%} of demand supplied",
                         "No market's supply drops: stock and other sources cover this disruption")


def stock_chart(result, spec: dict, top: int = 8, height: int = 330) -> go.Figure:
    """Each affected market's stock over time, in days of its demand."""
    if result.stock_units is None:
        return empty_figure("no daily series in this result", height)
    demand = np.asarray(result.daily_demand, dtype=float)

    def cover(j):
        return result.stock_units[:, j] / demand[j] if demand[j] > 0 else np.zeros(result.horizon_days)

    return _series_chart(result, spec, cover, top, height, {"title": {"text": "stock (days of demand)"},
                                                             "rangemode": "tozero"},
                         "%{y:.1f} days of stock", "No market draws on its stock")


def total_supply_chart(runs: list[tuple[str, object, dict]], height: int = 300) -> go.Figure:
    """Scenarios side by side: share of all markets (each weighs the same) whose demand is met in full, per day."""
    fig = go.Figure()
    for i, (label, result, _spec) in enumerate(runs):
        if result.supplied_fraction is None:
            continue
        mean = result.supplied_fraction.mean(axis=1)
        fig.add_trace(go.Scatter(x=np.arange(result.horizon_days), y=mean, mode="lines", name=label,
                                 line={"color": LINE_COLOURS[i % 8], "width": 2.5, "dash": LINE_DASHES[i % 8]},
                                 hovertemplate=label + "<br>day %{x}: %{y:.1%}<extra></extra>"))
    fig.update_layout(template="riskmodel", height=height, margin={"l": 55, "r": 10, "t": 20, "b": 40},
                      yaxis={"title": "demand supplied (mean of markets)", "tickformat": ".0%"},
                      xaxis={"title": "day"}, hovermode="x unified",
                      legend={"orientation": "h", "y": 1.12, "x": 0})
    return fig


# ---------------------------------------------------------------------------------------------- SPOF page
def tts_ttr_chart(table: pd.DataFrame, highlight=(), height: int = 420) -> go.Figure:
    """Each supply site's time to survive (y) against its time to recover (x), days; below the diagonal (TTS < TTR)
    a site's loss outlasts the stock downstream: those sites need a mitigation (Simchi-Levi)."""
    t = table[table["kind"] != "market"].copy()
    if t["tts_days"].isna().all():
        return empty_figure("Time to survive is not available yet for this dataset", height)
    ttr = t["ttr_days"].to_numpy(float)
    tts = t["tts_days"].to_numpy(float)
    finite = np.isfinite(tts)
    top = float(np.nanmax(np.r_[ttr, tts[finite]])) if len(t) else 100.0
    cap = top * 1.1  # sites whose loss never causes a shortage are drawn on this line
    t["y"] = np.where(finite, tts, cap)
    t["y_text"] = np.where(finite, [f"{v:,.0f} days" for v in np.nan_to_num(tts)], "no shortage at all")
    lim = cap * 1.06
    traces: list[dict] = [
        {"type": "scatter", "x": [0, lim, lim, 0], "y": [0, lim, 0, 0], "fill": "toself", "mode": "none",
         "fillcolor": "rgba(213,94,0,0.08)", "hoverinfo": "skip", "showlegend": False},
        {"type": "scatter", "x": [0, lim], "y": [0, lim], "mode": "lines", "hoverinfo": "skip", "showlegend": False,
         "line": {"color": "#6b7580", "dash": "dash", "width": 1}},
        {"type": "scatter", "x": [0, lim], "y": [cap, cap], "mode": "lines", "hoverinfo": "skip", "showlegend": False,
         "line": {"color": "#9aa5b1", "dash": "dot", "width": 1}},
    ]
    size = 6 + 18 * np.sqrt(np.clip(t["exposure"].fillna(0).to_numpy(float), 0, None)
                            / max(float(t["exposure"].max() or 1e-9), 1e-9))
    custom = np.column_stack([t["site_id"], t["name"], t["y_text"], t["exposure"].map(pct)])
    kinds = t["kind"].to_numpy()
    for kind in KINDS[:-1]:
        m = kinds == kind
        if not m.any():
            continue
        traces.append({
            "type": "scatter", "x": ttr[m], "y": t["y"].to_numpy()[m], "mode": "markers", "name": kind_label(kind),
            "marker": {"color": KIND_COLOURS[kind], "size": size[m], "line": {"width": 0.6, "color": "white"},
                       "symbol": np.where(finite[m], "circle", "triangle-up")},
            "customdata": custom[m],
            "hovertemplate": "<b>%{customdata[1]}</b><br>%{customdata[0]}<br>TTS %{customdata[2]} · TTR %{x:,.0f} "
                             "days<br>exposure %{customdata[3]}<extra></extra>"})
    sel = np.isin(t["site_id"].to_numpy(), list(highlight or ()))
    if sel.any():
        traces.append({"type": "scatter", "x": ttr[sel], "y": t["y"].to_numpy()[sel], "mode": "markers",
                       "name": "selected", "hoverinfo": "skip",
                       "marker": {"size": 20, "symbol": "circle-open", "color": "#0072B2", "line": {"width": 2.5}}})
    notes = [
        {"x": lim * 0.98, "y": cap, "text": "▲ no shortage at all", "showarrow": False, "xanchor": "right",
         "yanchor": "bottom", "font": {"color": "#4a5560", "size": 10.5}},
        {"x": lim * 0.97, "y": lim * 0.04, "text": "TTS < TTR: needs mitigation", "showarrow": False,
         "xanchor": "right", "font": {"color": "#a04000", "size": 11}},
        {"x": lim * 0.03, "y": cap * 0.93, "text": "TTS > TTR: stock outlasts the outage", "showarrow": False,
         "xanchor": "left", "font": {"color": "#4a5560", "size": 11}},
    ]
    return go.Figure(data=traces, layout={
        "template": "riskmodel", "height": height, "margin": {"l": 60, "r": 10, "t": 15, "b": 45},
        "xaxis": {"title": {"text": "time to recover, TTR (days)"}, "range": [0, lim]},
        "yaxis": {"title": {"text": "time to survive, TTS (days)"}, "range": [0, lim]},
        "legend": {"orientation": "h", "y": -0.18, "x": 0, "font": {"size": 10.5}}, "clickmode": "event",
        "annotations": notes})


def tier_country_bars(shares_by_tier: dict[str, pd.DataFrame], region_of: dict[str, str], top: int = 5,
                      height: int = 360) -> go.Figure:
    """Stacked bars: for each tier, the share of supply of its largest countries (coloured by region, labelled by
    country code); the rest as 'other countries'."""
    tiers = [t for t in shares_by_tier if len(shares_by_tier[t])]
    if not tiers:
        return empty_figure("no supply", height)
    labels = [kind_label(t) for t in tiers]
    fig = go.Figure()
    for k in range(top):
        x, colour, text, hover = [], [], [], []
        for t in tiers:
            s = shares_by_tier[t]
            if k < len(s):
                c, v = str(s["country"].iat[k]), float(s["share"].iat[k])
                region = region_of.get(c, "")
                x.append(v)
                colour.append(REGION_COLOURS.get(region, "#999999"))
                text.append(c if v >= 0.06 else "")
                hover.append(f"<b>{c}</b> ({region}) · {kind_label(t)}: {v:.1%}")
            else:
                x.append(0.0)
                colour.append("#ffffff")
                text.append("")
                hover.append("")
        fig.add_trace(go.Bar(y=labels, x=x, orientation="h", marker={"color": colour, "line": {"width": 1,
                                                                                                "color": "white"}},
                             text=text, textposition="inside", insidetextanchor="middle",
                             textfont={"size": 10, "color": "#1b1b1b"}, hovertext=hover,
                             hovertemplate="%{hovertext}<extra></extra>", showlegend=False))
    other = [max(0.0, 1.0 - float(shares_by_tier[t]["share"].head(top).sum())) for t in tiers]
    fig.add_trace(go.Bar(y=labels, x=other, name="other countries", orientation="h", marker={"color": "#d5d9de"},
                         hovertemplate="other countries · %{y}: %{x:.1%}<extra></extra>"))
    used = sorted({region_of.get(str(c), "") for t in tiers for c in shares_by_tier[t]["country"].head(top)} - {""},
                  key=list(REGION_COLOURS).index)
    for region in used:
        fig.add_trace(go.Scatter(x=[None], y=[None], mode="markers", name=region, hoverinfo="skip",
                                 marker={"symbol": "square", "size": 11, "color": REGION_COLOURS[region]}))
    fig.update_layout(template="riskmodel", barmode="stack", height=height,
                      margin={"l": 95, "r": 10, "t": 10, "b": 40},
                      xaxis={"tickformat": ".0%", "range": [0, 1], "title": "share of the tier's supply, by country"},
                      yaxis={"autorange": "reversed"}, legend={"orientation": "h", "y": -0.22, "x": 0},
                      uniformtext={"minsize": 9, "mode": "hide"})
    return fig


# ---------------------------------------------------------------------------------------------- overview
def country_exposure_bars(groups: pd.DataFrame, top: int = 12, height: int = 400) -> go.Figure:
    """Horizontal bars: the exposure of the ``top`` most exposed countries (all their sites failing together), from
    :func:`riskmodel.exposure.group_exposure` by country (``country, n_sites, exposure, lost_weekly_units``)."""
    g = groups.head(top).iloc[::-1]
    fig = go.Figure(go.Bar(
        x=g["exposure"], y=g["country"], orientation="h", marker={"color": "#f03b20"},
        customdata=np.column_stack([g["n_sites"], g["lost_weekly_units"].map(units)]),
        hovertemplate="<b>%{y}</b>: %{x:.1%} of all demand lost if its %{customdata[0]} sites fail together"
                      " (%{customdata[1]} units/wk)<extra></extra>",
        text=[pct(v, 0) for v in g["exposure"]], textposition="outside", cliponaxis=False,
    ))
    fig.update_layout(template="riskmodel", height=height, margin={"l": 50, "r": 40, "t": 10, "b": 35},
                      xaxis={"tickformat": ".0%", "title": "share of all demand lost", "rangemode": "tozero"},
                      yaxis={"title": None}, bargap=0.25)
    return fig
