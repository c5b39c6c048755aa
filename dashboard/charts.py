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


# ---------------------------------------------------------------------------------------------- Monte Carlo page
#: the marks of the loss distribution: (key in ``marks``, label, colour, dash)
LOSS_MARKS = [("expected", "expected", "#0072B2", "dash"), ("p95", "p95", "#E69F00", "solid"),
              ("cvar95", "CVaR95", "#D55E00", "solid")]


def _loss_marks(marks: dict, y_top: float, yref: str = "paper") -> tuple[list[dict], list[dict]]:
    """Vertical lines (shapes) and their labels at the given loss values (set once: add_vline is slow)."""
    shapes, notes = [], []
    for i, (key, label, colour, dash) in enumerate(LOSS_MARKS):
        value = marks.get(key)
        if value is None or not np.isfinite(value):
            continue
        shapes.append({"type": "line", "xref": "x", "yref": yref, "x0": value, "x1": value, "y0": 0, "y1": y_top,
                       "line": {"color": colour, "width": 2, "dash": dash}})
        notes.append({"x": value, "y": y_top - 0.09 * i, "xref": "x", "yref": yref, "showarrow": False,
                      "xanchor": "left", "yanchor": "top", "text": f" {label} {units(value)}",
                      "font": {"size": 11, "color": colour}, "bgcolor": "rgba(255,255,255,0.75)"})
    return shapes, notes


def loss_histogram(total, marks: dict, height: int = 340, bins: int = 50) -> go.Figure:
    """Histogram of the total units lost per simulated year (all markets), with the expected loss, the 95th
    percentile and CVaR95 marked as vertical lines.

    Parameters
    ----------
    total : array-like
        Units lost in each simulated year (``MonteCarloResult.total``).
    marks : dict
        ``expected``, ``p95``, ``cvar95``: the values to mark (from the run's summary, not recomputed here).
    bins : int
        Number of bars over the range of the losses (years with no loss fall in the first bar; the hover says how
        many lost nothing at all).
    """
    total = np.asarray(total, dtype=float)
    if not total.size:
        return empty_figure("no simulated years", height)
    top = float(total.max())
    if top <= 0:
        return empty_figure(f"No unit lost in any of the {total.size:,} simulated years", height)
    counts, edges = np.histogram(total, bins=bins, range=(0.0, top))
    zero = int((total <= 0).sum())
    mids, widths = (edges[:-1] + edges[1:]) / 2, np.diff(edges)
    hover = [f"{units(a)} to {units(b)} units: {c:,} years ({c / total.size:.1%})"
             for a, b, c in zip(edges[:-1], edges[1:], counts, strict=True)]
    if zero:
        hover[0] += f"<br>of which {zero:,} years lost nothing"
    shapes, notes = _loss_marks(marks, 1.0)
    return go.Figure(data=[{"type": "bar", "x": mids, "y": counts, "width": widths, "marker": {"color": "#9aa5b1",
                                                                                             "line": {"width": 0}},
                            "hovertext": hover, "hovertemplate": "%{hovertext}<extra></extra>", "name": "years"}],
                     layout={"template": "riskmodel", "height": height, "bargap": 0.02, "showlegend": False,
                             "margin": {"l": 60, "r": 15, "t": 15, "b": 45},
                             "xaxis": {"title": {"text": "units lost in a year (all markets)"}, "rangemode": "tozero"},
                             "yaxis": {"title": {"text": "simulated years"}, "rangemode": "tozero"},
                             "shapes": shapes, "annotations": notes})


def exceedance_curve(total, marks: dict, height: int = 340, points: int = 400) -> go.Figure:
    """The exceedance curve: the share of simulated years that lose more than x units (log scale), with the expected
    loss, p95 and CVaR95 marked. At most ``points`` points are drawn (evenly spread on the log-probability axis)."""
    total = np.sort(np.asarray(total, dtype=float))[::-1]
    n = total.size
    if not n or total[0] <= 0:
        return empty_figure("No unit lost in any simulated year" if n else "no simulated years", height)
    losing = int((total > 0).sum())
    rank = np.arange(1, losing + 1)  # the k-th largest loss is reached or exceeded in k of n years
    if losing > points:
        keep = np.unique(np.geomspace(1, losing, points).round().astype(np.int64)) - 1
    else:
        keep = np.arange(losing)
    x, p = total[keep], rank[keep] / n
    shapes, notes = _loss_marks(marks, 1.0)
    return go.Figure(data=[{"type": "scatter", "x": x, "y": p, "mode": "lines", "line": {"shape": "hv",
                                                                                      "color": "#0072B2", "width": 2},
                            "hovertemplate": "%{y:.2%} of years lose at least %{x:,.0f} units<extra></extra>",
                            "name": "exceedance"}],
                     layout={"template": "riskmodel", "height": height, "showlegend": False,
                             "margin": {"l": 60, "r": 15, "t": 15, "b": 45},
                             "xaxis": {"title": {"text": "units lost in a year (all markets)"}, "rangemode": "tozero"},
                             "yaxis": {"title": {"text": "share of years losing at least x"}, "type": "log",
                                       "tickformat": "~%", "range": [np.log10(1 / n) - 0.1, 0.05]},
                             "shapes": shapes, "annotations": notes})
