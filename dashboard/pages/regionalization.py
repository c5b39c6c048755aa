"""Regionalization page (``/regionalization``): self-sufficiency, options, the cost-risk frontier, the chosen portfolio.

* Self-sufficiency by market (supply kept if every site outside the market's region is lost): bars before and after
  the chosen portfolio, and a choropleth of countries (demand-weighted over their markets).
* The map: supply links coloured in-region against cross-region, markets coloured by self-sufficiency, the chosen
  portfolio drawn on top (new or qualified sources as thick dashed lines, stock sites ringed); the option selected in
  the table in black.
* The cost against risk frontier (exact risk after the portfolio chosen within each budget; the additive estimate
  dashed) and the budget control; the options table (every option, its cost, lead time and exact scores).
* Testing an option against a disruption: the suggested lone failure (the source it backs up), simulated with and
  without the option, and a link that opens the same test on the what-if page
  (``/what-if?sites=...&weeks=...&options=...``, see docs/regionalization.md).

The analysis is :class:`riskmodel.regionalize.Regionalization`, computed once per dataset version (kept here, a few
seconds on the sample) and asked again for each budget; callbacks only draw its results.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from urllib.parse import urlencode

import dash
import dash_bootstrap_components as dbc
import numpy as np
import pandas as pd
import plotly.graph_objects as go
from dash import Input, Output, State, callback, ctx, dcc, html, no_update

from dashboard import state
from dashboard.components import card, empty_figure, grid, kpi, loading
from dashboard.maps import GEO_CONFIG, MAX_LINKS, REGION_VIEWS, geo_layout, network_map
from dashboard.theme import FAILED_COLOUR, HIGHLIGHT_COLOUR, OK_COLOUR, pct, units

dash.register_page(__name__, path="/regionalization", name="Regionalization",
                   title="Regionalization · Supply-chain risk", order=3)

#: self-sufficiency colour scale (cividis: readable with every common colour-vision deficiency; dark = 0, light = 1)
SS_SCALE = "Cividis"
TYPE_LABELS = {"qualify_backup": "qualify backup", "new_site": "new site", "stock": "stock"}
_num = {"type": "rightAligned", "filter": "agNumberColumnFilter"}
COLUMNS = [
    {"field": "chosen", "headerName": "In portfolio", "width": 120, "headerTooltip": "chosen for the budget"},
    {"field": "type", "headerName": "Type", "width": 125},
    {"field": "title", "headerName": "Option", "minWidth": 300, "flex": 3, "tooltipField": "description"},
    {"field": "region", "headerName": "Region", "width": 140},
    {"field": "cost", "headerName": "Cost", "width": 110, **_num,
     "headerTooltip": "one-off cost plus yearly costs over the horizon",
     "valueFormatter": {"function": "d3.format('.3~s')(params.value)"}},
    {"field": "weeks", "headerName": "Lead wk", "width": 100, **_num,
     "valueFormatter": {"function": "d3.format(',.0f')(params.value)"}},
    {"field": "risk_reduction", "headerName": "Risk cut/yr", "width": 120, **_num,
     "headerTooltip": "expected lost units avoided per year (exact, the option alone)",
     "valueFormatter": {"function": "d3.format('.3~s')(params.value)"}},
    {"field": "score", "headerName": "Cut per 1M", "width": 115, **_num, "sort": "desc",
     "headerTooltip": "risk cut per year per million of cost",
     "valueFormatter": {"function": "d3.format('.3~s')(params.value)"}},
    {"field": "ss_gain", "headerName": "Self-suff. +", "width": 120, **_num,
     "headerTooltip": "largest gain in a market's self-sufficiency",
     "valueFormatter": {"function": "params.value ? d3.format('+.0%')(params.value) : ''"}},
    {"field": "exposure_reduction", "headerName": "Exposure cut", "width": 125, **_num,
     "headerTooltip": "change in total exposure (sum over sites of the share of all demand lost when each fails "
                      "alone), in points of demand",
     "valueFormatter": {"function": "params.value ? d3.format('.2~%')(params.value) : ''"}},
    {"field": "worst_case_reduction", "headerName": "Worst what-if cut", "width": 150, **_num,
     "headerTooltip": "units the worst single-site what-if (simulated) loses less",
     "valueFormatter": {"function": "params.value == null ? 'n/a' : d3.format('.3~s')(params.value)"}},
    {"field": "option_id", "headerName": "Id", "width": 260},
]

_analyses: OrderedDict[str, object] = OrderedDict()
_results: OrderedDict[tuple, object] = OrderedDict()
_lock = threading.Lock()
_building: dict[str, threading.Lock] = {}


def analysis(ds):
    """The :class:`~riskmodel.regionalize.Regionalization` of a dataset version (computed once, kept for 4)."""
    from riskmodel.regionalize import Regionalization

    with _lock:
        hit = _analyses.get(ds.cache_key)
        build = _building.setdefault(ds.cache_key, threading.Lock())
    if hit is not None:
        return hit
    with build:  # one thread builds it; the others wait for it
        with _lock:
            hit = _analyses.get(ds.cache_key)
        if hit is None:
            hit = Regionalization(ds.network)
            with _lock:
                _analyses[ds.cache_key] = hit
                while len(_analyses) > 4:
                    _analyses.popitem(last=False)
    return hit


def result(ds, budget: float | None):
    """The portfolio result for a budget (None: the default budget), cached per dataset version and budget."""
    key = (ds.cache_key, None if budget is None else round(float(budget), 2))
    with _lock:
        hit = _results.get(key)
    if hit is None:
        hit = analysis(ds).result(budget)
        with _lock:
            _results[key] = hit
            while len(_results) > 16:
                _results.popitem(last=False)
    return hit


def money(v: float, currency: str = "") -> str:
    """A cost, compact: ``233.1M``; with the currency when given.

    Examples
    --------
    >>> money(233_137_500, "USD"), money(750_000), money(0)
    ('233.1M USD', '750.0k', '0')
    """
    for size, unit in ((1e9, "bn"), (1e6, "M"), (1e3, "k")):
        if abs(v) >= size:
            return f"{v / size:,.1f}{unit}" + (f" {currency}" if currency else "")
    return f"{v:,.0f}" + (f" {currency}" if currency else "")


def _title(o) -> str:
    if o.type == "stock":
        return f"+{o.stock_days:g} days of stock at {o.site_id}"
    if o.type == "new_site":
        return f"new site {o.site_id}"
    target = ", ".join(o.customers[:2]) + (" …" if len(o.customers) > 2 else "")
    return f"{o.site_id} → {target}"


def option_rows(res) -> list[dict]:
    """Rows of the options table (best score first)."""
    t = res.option_table()
    rows = []
    by_id = {o.option_id: o for o in res.options}
    for r in t.itertuples(index=False):
        gain = max(r.self_sufficiency_gain.values(), default=0.0)
        rows.append({"option_id": r.option_id, "type": TYPE_LABELS.get(r.type, r.type),
                     "title": _title(by_id[r.option_id]), "description": r.description, "region": r.region,
                     "cost": float(r.cost), "weeks": float(r.lead_time_weeks),
                     "risk_reduction": float(r.risk_reduction), "score": float(r.score) * 1e6, "ss_gain": float(gain),
                     "exposure_reduction": float(r.exposure_reduction),
                     "worst_case_reduction": None if r.worst_case_reduction is None or
                     (isinstance(r.worst_case_reduction, float) and np.isnan(r.worst_case_reduction))
                     else float(r.worst_case_reduction),
                     "chosen": "✓ chosen" if r.chosen else ""})
    return rows


# ---------------------------------------------------------------------------------------------- figures
def _ss_frame(res) -> pd.DataFrame:
    m = res.markets.copy()
    m["after"] = res.after.self_sufficiency
    return m


def self_sufficiency_bars(res, height_per: int = 17) -> go.Figure:
    """Horizontal bars per market: self-sufficiency today (dark) and after the portfolio (light, behind)."""
    m = _ss_frame(res).sort_values(["self_sufficiency", "after", "market_id"], ascending=[True, True, False])
    fig = go.Figure()
    fig.add_trace(go.Bar(y=m["market_id"], x=m["after"], orientation="h", name="after the portfolio",
                         marker={"color": "#56B4E9", "line": {"width": 0}},
                         customdata=np.column_stack([m["name"], m["region"], m["self_sufficiency"]]),
                         hovertemplate="<b>%{y}</b> · %{customdata[1]}<br>after the portfolio: %{x:.0%} "
                                       "(today %{customdata[2]:.0%})<extra></extra>"))
    fig.add_trace(go.Bar(y=m["market_id"], x=m["self_sufficiency"], orientation="h", name="today",
                         marker={"color": HIGHLIGHT_COLOUR, "line": {"width": 0}}, width=0.45,
                         customdata=np.column_stack([m["name"], m["region"], m["out_of_region_share"]]),
                         hovertemplate="<b>%{y}</b> · %{customdata[1]}<br>self-sufficiency today: %{x:.0%}<br>"
                                       "largest outside-region share of a tier: %{customdata[2]:.0%}<extra></extra>"))
    fig.update_layout(template="riskmodel", barmode="overlay", height=max(260, height_per * len(m) + 60),
                      margin={"l": 110, "r": 10, "t": 34, "b": 30}, bargap=0.25,
                      xaxis={"tickformat": ".0%", "range": [0, 1.02], "dtick": 0.25},
                      yaxis={"tickfont": {"size": 10}, "automargin": True},
                      legend={"orientation": "h", "y": 0.995, "yanchor": "top", "yref": "container", "x": 0,
                              "font": {"size": 10.5}})
    return fig


def country_self_sufficiency(res, when: str = "before") -> pd.DataFrame:
    """Per country: demand-weighted self-sufficiency of its markets (``country, self_sufficiency, markets``)."""
    m = _ss_frame(res)
    value = m["after"] if when == "after" else m["self_sufficiency"]
    w = m["weekly_demand"].clip(lower=0)
    g = pd.DataFrame({"country": m["country"], "v": value * w, "w": w, "n": 1}).groupby("country").sum()
    out = pd.DataFrame({"country": g.index, "self_sufficiency": (g["v"] / g["w"].where(g["w"] > 0)).fillna(0.0),
                        "markets": g["n"].astype(int)})
    return out.reset_index(drop=True)


def self_sufficiency_choropleth(res, when: str = "before", height: int = 360) -> go.Figure:
    c = country_self_sufficiency(res, when)
    fig = go.Figure(go.Choropleth(
        locations=c["country"], z=c["self_sufficiency"], locationmode="ISO-3", zmin=0, zmax=1, colorscale=SS_SCALE,
        marker={"line": {"width": 0.5, "color": "#6b7580"}}, customdata=c[["markets"]].to_numpy(),
        colorbar={"title": {"text": "self-<br>sufficiency", "font": {"size": 11}}, "tickformat": ".0%",
                  "thickness": 12, "len": 0.7},
        hovertemplate="<b>%{location}</b><br>%{z:.0%} of supply kept in a trade cut-off<br>(demand-weighted over "
                      "%{customdata[0]} markets)<extra></extra>"))
    fig.update_layout(geo_layout("World", height, "rg-choropleth"))
    fig.update_geos(lataxis_range=[-56, 80])
    return fig


def frontier_chart(res, height: int = 360) -> go.Figure:
    """Exact risk against budget (the frontier), the additive estimate, and the chosen portfolio."""
    doc = res.to_json()
    f = pd.DataFrame(doc["frontier"])
    p = doc["portfolio"]
    cur = p["currency"]
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=f["budget"], y=f["risk_estimate"], mode="lines", name="additive estimate",
                             line={"dash": "dot", "color": "#999999", "width": 1.5, "shape": "hv"},
                             hovertemplate="budget %{x:.3~s}: estimate %{y:.3~s} units/yr<extra></extra>"))
    fig.add_trace(go.Scatter(x=f["budget"], y=f["risk"], mode="lines+markers", name="exact risk after",
                             line={"color": HIGHLIGHT_COLOUR, "width": 2.5, "shape": "hv"}, marker={"size": 7},
                             customdata=np.column_stack([f["cost"], [len(c) for c in f["chosen"]]]),
                             hovertemplate="budget %{x:.3~s} " + cur + "<br>risk %{y:.3~s} lost units/yr<br>"
                                           "%{customdata[1]} options costing %{customdata[0]:.3~s}<extra></extra>"))
    fig.add_trace(go.Scatter(x=[p["cost"]], y=[p["risk_after"]], mode="markers", name="chosen portfolio",
                             marker={"symbol": "star", "size": 16, "color": FAILED_COLOUR,
                                     "line": {"width": 1, "color": "white"}},
                             hovertemplate="chosen: cost %{x:.3~s}, risk %{y:.3~s}<extra></extra>"))
    fig.add_vline(x=p["budget"], line={"dash": "dash", "color": FAILED_COLOUR, "width": 1},
                  annotation_text="budget", annotation_position="top right", annotation_font={"size": 11})
    fig.update_layout(template="riskmodel", height=height, margin={"l": 60, "r": 15, "t": 20, "b": 45},
                      xaxis={"title": f"budget ({cur}, one-off + yearly costs over the horizon)", "tickformat": ".2~s",
                             "rangemode": "tozero"},
                      yaxis={"title": "expected lost units per year", "tickformat": ".2~s", "rangemode": "tozero"},
                      legend={"orientation": "h", "y": 1.08, "x": 0}, hovermode="closest")
    return fig


def _line_coords(lat_a, lon_a, lat_b, lon_b):
    n = len(lat_a)
    return (np.column_stack([lat_a, lat_b, np.full(n, np.nan)]).ravel(),
            np.column_stack([lon_a, lon_b, np.full(n, np.nan)]).ravel())


def flow_traces(ds) -> list[go.Scattergeo]:
    """Active supply links coloured in-region (both ends in one region) or cross-region, largest flows first."""
    net = ds.network
    s = net.sites
    lat, lon = s["lat"].to_numpy(float), s["lon"].to_numpy(float)
    region = s["region"].astype(str).to_numpy()
    sup, cus = net.link_supplier, net.links["customer"].to_numpy(np.int64)
    keep = np.arange(len(sup))
    if len(sup) > MAX_LINKS:
        weight = net.link_share * ds.throughput[cus]
        keep = np.sort(np.argsort(-weight, kind="stable")[:MAX_LINKS])
    same = region[sup[keep]] == region[cus[keep]]
    traces = []
    for mask, name, colour, width in ((same, "in-region flow", OK_COLOUR, 0.8),
                                      (~same, "cross-region flow", FAILED_COLOUR, 0.9)):
        m = keep[mask]
        la, lo = _line_coords(lat[sup[m]], lon[sup[m]], lat[cus[m]], lon[cus[m]])
        traces.append(go.Scattergeo(lat=la, lon=lo, mode="lines", line={"width": width, "color": colour},
                                    opacity=0.45, hoverinfo="skip", name=f"{name} ({len(m)})",
                                    legendgroup="flows", legendrank=1))
    return traces


def _option_lines(ds, res, idx: list[int], name: str, colour: str, width: float, dash_style: str):
    net = ds.network
    pos = dict(zip(net.site_ids.tolist(), zip(net.sites["lat"].astype(float), net.sites["lon"].astype(float),
                                              strict=True), strict=True))
    for i in idx:
        o = res.options[i]
        if o.site is not None:
            pos[o.site_id] = (float(o.site.get("lat") or np.nan), float(o.site.get("lon") or np.nan))
    lat, lon, ring, new = [], [], set(), []
    for i in idx:
        o = res.options[i]
        if o.type == "stock":
            ring.add(o.site_id)
        if o.site is not None and o.site_id in pos:
            new.append(o.site_id)
        for lk in o.links:
            if lk.supplier_id in pos and lk.customer_id in pos:
                (a, b), (c, d) = pos[lk.supplier_id], pos[lk.customer_id]
                lat += [a, c, np.nan]
                lon += [b, d, np.nan]
    out = []
    if lat:
        out.append(go.Scattergeo(lat=lat, lon=lon, mode="lines", name=f"{name}: new or qualified sources",
                                 line={"width": width, "color": colour, "dash": dash_style}, hoverinfo="skip"))
    if new:
        out.append(go.Scattergeo(lat=[pos[s][0] for s in new], lon=[pos[s][1] for s in new], mode="markers",
                                 name=f"{name}: new sites", marker={"symbol": "star", "size": 15, "color": colour,
                                                                    "line": {"width": 1, "color": "white"}},
                                 text=new, hovertemplate="new site %{text}<extra></extra>"))
    return out, sorted(ring)


def regionalization_map(ds, res, view: str = "World", selected: str | None = None, height: int = 480) -> go.Figure:
    """Sites by kind, flows in-region against cross-region, markets by self-sufficiency, the portfolio on top."""
    t = ds.sites_full
    sup = t[t["kind"] != "market"].reset_index(drop=True)  # network_map sizes overlays by position
    chosen = list(res.chosen)
    sel = [i for i, o in enumerate(res.options) if o.option_id == selected]
    stock_ring = sorted({res.options[i].site_id for i in chosen + sel if res.options[i].type == "stock"})
    fig = network_map(ds, region=view, color_by="kind", links=False, table=sup, height=height, uirevision="rg",
                      colorbar=False)
    for tr in flow_traces(ds):
        fig.add_trace(tr)
    m = _ss_frame(res)
    mk = t[t["kind"] == "market"].set_index("site_id").reindex(m["market_id"])
    fig.add_trace(go.Scattergeo(
        lat=mk["lat"], lon=mk["lon"], mode="markers", name="markets (self-sufficiency)",
        marker={"size": 11, "symbol": "diamond", "color": m["after"], "cmin": 0, "cmax": 1, "colorscale": SS_SCALE,
                "line": {"width": 0.8, "color": "white"},
                "colorbar": {"title": {"text": "market self-<br>sufficiency<br>(after)", "font": {"size": 11}},
                             "tickformat": ".0%", "thickness": 12, "len": 0.55, "x": 1.0, "y": 0.55}},
        customdata=np.column_stack([m["market_id"], m["name"], m["self_sufficiency"], m["after"]]),
        hovertemplate="<b>%{customdata[1]}</b><br>%{customdata[0]}<br>self-sufficiency %{customdata[2]:.0%} today, "
                      "%{customdata[3]:.0%} after the portfolio<extra></extra>"))
    lines, _ = _option_lines(ds, res, chosen, "portfolio", HIGHLIGHT_COLOUR, 3.0, "dash")
    for tr in lines:
        fig.add_trace(tr)
    ring = t[t["site_id"].isin(stock_ring)]
    if len(ring):
        fig.add_trace(go.Scattergeo(lat=ring["lat"], lon=ring["lon"], mode="markers",
                                    name=f"extra stock ({len(ring)})", text=ring["site_id"],
                                    marker={"size": 17, "symbol": "circle-open", "color": HIGHLIGHT_COLOUR,
                                            "line": {"width": 2.2}},
                                    hovertemplate="extra stock at %{text}<extra></extra>"))
    if sel:
        lines, _ = _option_lines(ds, res, sel, "selected option", "#000000", 4.0, "solid")
        for tr in lines:
            fig.add_trace(tr)
    return fig


def test_chart(base, with_option, height: int = 300) -> go.Figure:
    """Supplied fraction of the most affected markets, without (dashed) and with the option (solid)."""
    if base.supplied_fraction is None:
        return empty_figure("no daily series", height)
    lost = np.asarray(base.market_lost, float)
    cols = [j for j in np.argsort(-lost, kind="stable")[:4] if lost[j] > 0]
    if not cols:
        return empty_figure("No market runs short in this disruption, with or without the option", height)
    colours = ["#0072B2", "#D55E00", "#009E73", "#CC79A7"]
    days = np.arange(base.horizon_days)
    fig = go.Figure()
    for k, j in enumerate(cols):
        mid = str(base.market_ids[j])
        fig.add_trace(go.Scatter(x=days, y=base.supplied_fraction[:, j], mode="lines", name=f"{mid} without",
                                 line={"color": colours[k], "dash": "dot", "width": 1.5},
                                 hovertemplate=f"{mid} without: %{{y:.0%}} on day %{{x}}<extra></extra>"))
        fig.add_trace(go.Scatter(x=days, y=with_option.supplied_fraction[:, j], mode="lines", name=f"{mid} with",
                                 line={"color": colours[k], "width": 2.2},
                                 hovertemplate=f"{mid} with the option: %{{y:.0%}} on day %{{x}}<extra></extra>"))
    fig.update_layout(template="riskmodel", height=height, margin={"l": 55, "r": 10, "t": 15, "b": 40},
                      yaxis={"title": "demand supplied", "tickformat": ".0%", "range": [-0.02, 1.05]},
                      xaxis={"title": "day"}, legend={"orientation": "v", "x": 1.01, "y": 1, "font": {"size": 10}})
    return fig


# ---------------------------------------------------------------------------------------------- layout
def _kpis(res) -> list:
    if res is None:
        items = [("Risk", "…", "expected lost units/yr", "rg-k-risk"), ("Portfolio", "…", "", "rg-k-cost"),
                 ("Options", "…", "", "rg-k-options"), ("Markets at 0%", "…", "self-sufficiency", "rg-k-zero"),
                 ("Worst what-if", "…", "", "rg-k-worst"), ("Total exposure", "…", "", "rg-k-exposure")]
    else:
        doc = res.to_json()
        p = doc["portfolio"]
        ss0 = np.asarray([m["self_sufficiency"] for m in doc["markets"]])
        ss1 = np.asarray([m["self_sufficiency_after"] for m in doc["markets"]])
        cut = 1 - p["risk_after"] / p["risk_before"] if p["risk_before"] else 0.0
        n_useful = sum(1 for o in doc["options"] if o["risk_reduction"] > 0)
        items = [
            ("Risk", f"{units(p['risk_before'])} → {units(p['risk_after'])}",
             f"expected lost units/yr: −{pct(cut, 0)} (estimate {units(p['risk_after_estimate'])})", "rg-k-risk"),
            ("Portfolio", money(p["cost"], p["currency"]), f"{len(p['chosen'])} options; budget "
                                                           f"{money(p['budget'])}", "rg-k-cost"),
            ("Options", str(len(doc["options"])), f"{n_useful} cut risk", "rg-k-options"),
            ("Markets at 0%", f"{int((ss0 <= 1e-9).sum())} → {int((ss1 <= 1e-9).sum())}",
             f"of {len(ss0)}: nothing left in a trade cut-off", "rg-k-zero"),
            ("Worst what-if", f"{units(p['worst_case_before'])} → {units(p['worst_case_after'])}",
             f"units lost if {p['worst_case_site']} fails (simulated)", "rg-k-worst"),
            ("Total exposure", f"{p['exposure_before']:.2f} → {p['exposure_after']:.2f}",
             "sum of single-site exposures", "rg-k-exposure"),
        ]
    return [dbc.Col(kpi(label, value, sub, id=i), xs=6, md=4, xl=2) for label, value, sub, i in items]


def layout(**_):
    ds = state.active()
    return html.Div([
        dcc.Store(id="rg-version", data=ds.id),
        dcc.Store(id="rg-state"),
        dcc.Download(id="rg-download"),
        html.Div([html.H4("Regionalization"),
                  html.Span("self-sufficiency of each market, options that raise resilience, what they cost and "
                            "which to choose within a budget", className="lead-text")], className="page-title"),
        dbc.Card(dbc.CardBody(html.Div([
            html.Label("Budget", className="control-label mb-0"),
            dbc.InputGroup([dbc.Input(id="rg-budget", type="number", min=0, step="any", debounce=True,
                                      placeholder="default", style={"width": "11rem"}),
                            dbc.InputGroupText("USD")], size="sm", style={"width": "auto"}),
            dbc.Button("Apply", id="rg-apply", size="sm", color="primary"),
            dbc.Button("Default budget", id="rg-default", size="sm", color="secondary", outline=True,
                       title="the cheapest portfolio reaching 80% of the largest achievable risk reduction"),
            html.Span(id="rg-rule", className="hint"),
            dbc.Button("Download options (CSV)", id="rg-csv", size="sm", color="secondary", outline=True,
                       className="ms-auto"),
        ], className="filter-bar"), className="py-2"), className="mb-3"),
        dbc.Alert(id="rg-error", color="warning", is_open=False, className="py-2"),
        loading(dbc.Row(_kpis(None), id="rg-kpis", className="g-2 mb-3")),
        dbc.Row([
            dbc.Col(card("Supply flows: in-region against cross-region, and the chosen portfolio",
                         html.Div("Green: both ends in one region; vermillion: crossing regions. Markets (diamonds) "
                                  "by self-sufficiency after the portfolio; blue dashes: sources the portfolio adds; "
                                  "blue rings: its extra stock. Select an option in the table to draw it in black.",
                                  className="hint px-3 pt-2"),
                         loading(dcc.Graph(id="rg-map", config=GEO_CONFIG, figure=empty_figure("computing…", 480),
                                           style={"height": "480px"})),
                         right=dbc.Select(id="rg-view", options=[{"label": r, "value": r} for r in REGION_VIEWS],
                                          value="World", size="sm", style={"width": "12rem"}),
                         body_class="p-0"), lg=8),
            dbc.Col(card("Self-sufficiency by market",
                         html.Div("Supply each market keeps if every site outside its region is lost (a trade "
                                  "cut-off).", className="hint mb-1"),
                         html.Div(loading(dcc.Graph(id="rg-bars", figure=empty_figure("computing…", 440),
                                                    config={"displaylogo": False})),
                                  style={"maxHeight": "468px", "overflowY": "auto"})), lg=4),
        ], className="g-3"),
        dbc.Row([
            dbc.Col(card("Cost against risk",
                         html.Div("Exact risk after the portfolio chosen within each budget; dotted: what the "
                                  "additive model promised.", className="hint mb-1"),
                         loading(dcc.Graph(id="rg-frontier", figure=empty_figure("computing…", 360),
                                           config={"displaylogo": False}))), lg=6),
            dbc.Col(card("Self-sufficiency by country",
                         loading(dcc.Graph(id="rg-choropleth", config=GEO_CONFIG,
                                           figure=empty_figure("computing…", 360), style={"height": "360px"})),
                         right=dbc.RadioItems(id="rg-when", value="before", inline=True, className="small",
                                              options=[{"label": "today", "value": "before"},
                                                       {"label": "after the portfolio", "value": "after"}]),
                         body_class="p-0"), lg=6),
        ], className="g-3"),
        card("Options (select one to draw it on the map and test it against a disruption)",
             grid("rg-grid", [], COLUMNS, height="430px", selectable="single", row_id="option_id",
                  dashGridOptions={"tooltipShowDelay": 200})),
        card("Test the selected option against a disruption",
             html.Div(id="rg-test-what", className="mb-2", children=html.Span(
                 "Select an option in the table above.", className="text-muted")),
             dbc.Row([
                 dbc.Col([html.Label("Site that fails", className="control-label"),
                          dcc.Dropdown(id="rg-test-site", placeholder="the site the option backs up")], md=5),
                 dbc.Col([html.Label("Weeks", className="control-label"),
                          dbc.Input(id="rg-test-weeks", type="number", min=0.1, step="any", size="sm")], md=2),
                 dbc.Col(html.Div([dbc.Button("Run with and without", id="rg-test-run", color="primary", size="sm"),
                                   html.A("open in the what-if page", id="rg-test-link", href="/what-if",
                                          className="small ms-3")], className="d-flex align-items-end h-100"),
                         md=5),
             ], className="g-2 mb-2"),
             html.Div(id="rg-test-summary", className="mb-1"),
             loading(dcc.Graph(id="rg-test-chart", figure=empty_figure("Select an option, then Run", 300),
                               config={"displaylogo": False}))),
    ])


# ---------------------------------------------------------------------------------------------- callbacks
@callback(Output("rg-kpis", "children"), Output("rg-bars", "figure"), Output("rg-frontier", "figure"),
          Output("rg-grid", "rowData"), Output("rg-state", "data"), Output("rg-rule", "children"),
          Output("rg-budget", "value"), Output("rg-error", "children"), Output("rg-error", "is_open"),
          Input("rg-version", "data"), Input("rg-apply", "n_clicks"), Input("rg-default", "n_clicks"),
          Input("rg-budget", "n_submit"), State("rg-budget", "value"))
def compute(version, _apply, _default, _submit, budget):
    """The analysis (once per dataset version) and the portfolio for the budget: key figures, bars, frontier, table."""
    ds = state.get(version)
    use = None if ctx.triggered_id in (None, "rg-version", "rg-default") or budget in (None, "") else budget
    try:
        res = result(ds, use)
    except ValueError as exc:
        return (no_update,) * 7 + (str(exc), True)
    doc_budget = float(res.budget)
    rule = ("default budget: the cheapest portfolio reaching 80% of the largest achievable risk reduction"
            if res.budget_rule != "given" else "")
    st = {"version": ds.id, "budget": doc_budget if res.budget_rule == "given" else None}
    return (_kpis(res), self_sufficiency_bars(res), frontier_chart(res), option_rows(res), st, rule,
            round(doc_budget, 2), "", False)


def _current(st):
    ds = state.get((st or {}).get("version"))
    return ds, result(ds, (st or {}).get("budget"))


@callback(Output("rg-map", "figure"), Input("rg-state", "data"), Input("rg-view", "value"),
          Input("rg-grid", "selectedRows"), prevent_initial_call=True)
def draw_map(st, view, rows):
    if not st:
        return no_update
    ds, res = _current(st)
    selected = (rows or [{}])[0].get("option_id") if rows else None
    return regionalization_map(ds, res, view or "World", selected)


@callback(Output("rg-choropleth", "figure"), Input("rg-state", "data"), Input("rg-when", "value"),
          prevent_initial_call=True)
def draw_choropleth(st, when):
    if not st:
        return no_update
    _, res = _current(st)
    return self_sufficiency_choropleth(res, when or "before")


def what_if_link(option_id: str, site: str | None, weeks: float) -> str:
    """The what-if page's address for testing an option against a lone site failure (docs/regionalization.md).

    Examples
    --------
    >>> what_if_link("S:MKT-USA-SAL+14d", "FF-SAL-MARION-US", 17)
    '/what-if?options=S%3AMKT-USA-SAL%2B14d&sites=FF-SAL-MARION-US&weeks=17'
    """
    q = {"options": option_id}
    if site:
        q |= {"sites": site, "weeks": f"{float(weeks):g}"}
    return "/what-if?" + urlencode(q)


@callback(Output("rg-test-what", "children"), Output("rg-test-site", "options"), Output("rg-test-site", "value"),
          Output("rg-test-weeks", "value"), Input("rg-grid", "selectedRows"), State("rg-state", "data"),
          prevent_initial_call=True)
def choose_option(rows, st):
    """Selecting an option proposes the disruption it is meant to offset (the source it backs up, its TTR)."""
    if not rows or not st:
        return html.Span("Select an option in the table above.", className="text-muted"), [], None, None
    ds, _res = _current(st)
    oid = rows[0]["option_id"]
    site, weeks = analysis(ds).suggested_disruption(oid)
    t = ds.site_table
    sup = t[t["kind"] != "market"]
    opts = [{"label": f"{n} ({s})", "value": s} for s, n in sorted(zip(sup["site_id"], sup["name"].astype(str),
                                                                       strict=True), key=lambda r: r[1].lower())]
    what = [html.B(rows[0]["title"]), html.Div(rows[0]["description"], className="hint")]
    return what, opts, site, weeks or 12


@callback(Output("rg-test-link", "href"), Input("rg-grid", "selectedRows"), Input("rg-test-site", "value"),
          Input("rg-test-weeks", "value"), prevent_initial_call=True)
def link(rows, site, weeks):
    if not rows:
        return "/what-if"
    return what_if_link(rows[0]["option_id"], site, weeks or 12)


@callback(Output("rg-test-chart", "figure"), Output("rg-test-summary", "children"), Input("rg-test-run", "n_clicks"),
          State("rg-grid", "selectedRows"), State("rg-test-site", "value"), State("rg-test-weeks", "value"),
          State("rg-state", "data"), prevent_initial_call=True)
def run_test(n, rows, site, weeks, st):
    """Simulate the disruption on the network as it is and with the option in force (section 3.2)."""
    from riskmodel.disruption import Disruption, DisruptionError
    from riskmodel.network import SupplyNetwork
    from riskmodel.options import apply_options
    from riskmodel.regionalize import _tables
    from riskmodel.simulate import simulate

    if not n or not rows or not st:
        return no_update, html.Span("Select an option and a site that fails first.", className="text-danger")
    if not site:
        return no_update, html.Span("Choose the site that fails.", className="text-danger")
    ds, res = _current(st)
    a = analysis(ds)
    option = next((o for o in res.options if o.option_id == rows[0]["option_id"]), None)
    if option is None:
        return no_update, html.Span("That option is not in this analysis any more.", className="text-danger")
    try:
        shock = Disruption(f"site:{site}", duration_weeks=float(weeks or 12))
        base = simulate(ds.network, shock)
        sites, links = _tables(ds.network)
        thr = dict(zip(ds.network.site_ids.tolist(), a.ctx.throughput.tolist(), strict=True))
        s2, l2 = apply_options(sites, links, [option], throughput=thr)
        with_option = simulate(SupplyNetwork(s2, l2), shock)
    except (DisruptionError, ValueError) as exc:
        return no_update, html.Span(str(exc), className="text-danger")
    tts0, tts1 = base.time_to_survive_days, with_option.time_to_survive_days
    saved = base.lost_units - with_option.lost_units
    summary = html.Div([
        html.Span(f"{site} lost for {float(weeks or 12):g} weeks: ", className="text-muted"),
        html.B(f"{units(base.lost_units)} → {units(with_option.lost_units)} units lost"),
        html.Span(f" ({units(saved)} fewer); time to survive "
                  f"{'none' if tts0 is None else f'{tts0} days'} → {'none' if tts1 is None else f'{tts1} days'}",
                  className="text-muted"),
        html.Span(" (a new site has no capacity in the simulation yet: see docs/regionalization.md)",
                  className="hint") if option.type == "new_site" else None,
    ], id="rg-test-result")
    return test_chart(base, with_option), summary


@callback(Output("rg-download", "data"), Input("rg-csv", "n_clicks"), State("rg-state", "data"),
          prevent_initial_call=True)
def download(n, st):
    if not n or not st:
        return no_update
    from riskmodel.export import to_csv_bytes

    ds, res = _current(st)
    table = res.option_table().drop(columns=["links"])
    for c in ("customers", "requires", "excludes"):
        table[c] = table[c].map(lambda v: "; ".join(v))
    table["self_sufficiency_gain"] = table["self_sufficiency_gain"].map(
        lambda d: "; ".join(f"{k} {v:+.1%}" for k, v in d.items()))
    return dcc.send_bytes(to_csv_bytes(table), f"regionalization-options-{ds.id}.csv")
