"""Single points of failure page (``/spof``): every supply site ranked by exposure, on a table linked to the map.

* The table (AG Grid: sortable, filterable, every column) lists each supply site's exposure, SPOF and critical flags,
  the markets its failure hits, its time to survive (TTS) and time to recover (TTR). Filters above it narrow it down.
* Selecting rows rings those sites on the map and on the TTS/TTR chart; clicking or lasso-selecting sites on the map
  filters the table to them (a chip shows the map filter; its × clears it).
* TTS against TTR (Simchi-Levi): sites below the diagonal run out of downstream stock before they recover.
* Concentration by country per tier: a choropleth of one tier's supply by country and stacked bars for every tier,
  for all markets (each weighs the same) or one market, with the Herfindahl-Hirschman index of
  :func:`riskmodel.concentration.concentration`.
"""

from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
import numpy as np
import pandas as pd
from dash import Input, Output, State, callback, ctx, dcc, html, no_update

from dashboard import state
from dashboard.charts import tier_country_bars, tts_ttr_chart
from dashboard.components import card, clicked_site, grid, loading, selected_sites
from dashboard.maps import GEO_CONFIG, REGION_VIEWS, country_choropleth, network_map
from dashboard.theme import kind_label
from riskmodel.concentration import TIERS
from riskmodel.export import to_csv_bytes

dash.register_page(__name__, path="/spof", name="Single points of failure",
                   title="Single points of failure · Supply-chain risk", order=1)

_num = {"type": "rightAligned", "filter": "agNumberColumnFilter"}
COLUMNS = [
    {"field": "name", "headerName": "Site", "minWidth": 230, "flex": 2, "pinned": "left", "tooltipField": "site_id"},
    {"field": "kind", "headerName": "Kind", "width": 115},
    {"field": "country", "headerName": "Country", "width": 100},
    {"field": "region", "headerName": "Region", "width": 150},
    {"field": "operator", "headerName": "Operator", "width": 180, "tooltipField": "operator"},
    {"field": "exposure", "headerName": "Exposure", "width": 112, "sort": "desc", **_num,
     "valueFormatter": {"function": "params.value == null ? '' : d3.format('.2%')(params.value)"},
     "headerTooltip": "share of all market demand lost when this site alone fails"},
    {"field": "lost", "headerName": "Lost units/wk", "width": 130, **_num,
     "valueFormatter": {"function": "params.value == null ? '' : d3.format(',.0f')(params.value)"}},
    {"field": "spof", "headerName": "SPOF", "width": 85, "headerTooltip": "its failure alone cuts a market to zero",
     "tooltipField": "spof_markets"},
    {"field": "critical", "headerName": "Critical for", "width": 115, **_num, "tooltipField": "critical_markets",
     "headerTooltip": "markets that lose at least half their supply when it fails"},
    {"field": "markets_hit", "headerName": "Markets hit", "width": 115, **_num,
     "headerTooltip": "markets that lose anything when it fails"},
    {"field": "tts", "headerName": "TTS days", "width": 105, **_num,
     "headerTooltip": "time to survive: days until the first market shortfall when this site is lost for its TTR",
     "valueFormatter": {"function": "params.value == null ? 'none' : d3.format(',.0f')(params.value)"}},
    {"field": "ttr", "headerName": "TTR days", "width": 105, **_num,
     "headerTooltip": "time to recover after a full loss (ttr_weeks)",
     "valueFormatter": {"function": "params.value == null ? '' : d3.format(',.0f')(params.value)"}},
    {"field": "gap", "headerName": "TTR − TTS", "width": 112, **_num,
     "headerTooltip": "positive: the site's loss outlasts the stock downstream (needs a mitigation)",
     "valueFormatter": {"function": "params.value == null ? '' : d3.format(',.0f')(params.value)"},
     "cellClassRules": {"text-danger fw-semibold": "params.value > 0"}},
    {"field": "site_id", "headerName": "Site id", "width": 210},
]


def _table(ds) -> pd.DataFrame:
    t = ds.site_table_with_tts()
    return t[t["kind"] != "market"]


def _rows(t: pd.DataFrame) -> list[dict]:
    def num(v):
        return None if v is None or not np.isfinite(v) else float(v)

    return [{"site_id": r.site_id, "name": r.name, "kind": kind_label(r.kind), "country": r.country,
             "region": r.region, "operator": r.operator, "exposure": num(r.exposure), "lost": num(r.lost_weekly_units),
             "spof": "SPOF" if r.spof else "", "spof_markets": ", ".join(r.spof_markets),
             "critical": int(r.n_critical_markets), "critical_markets": ", ".join(r.critical_markets),
             "markets_hit": int(r.markets_hit), "tts": num(r.tts_days), "ttr": num(r.ttr_days),
             "gap": num(r.gap_days)} for r in t.itertuples(index=False)]


def filter_table(t: pd.DataFrame, search: str | None, kinds, regions, flags, ids) -> pd.DataFrame:
    """The rows the filters keep (text search over name, id, operator, country; kinds; regions; flags; map ids)."""
    keep = np.ones(len(t), dtype=bool)
    if search:
        text = (t["name"].astype(str) + " " + t["site_id"] + " " + t["operator"].astype(str) + " " + t["country"]
                + " " + t["city"].astype(str)).str.lower()
        for word in str(search).lower().split():
            keep &= text.str.contains(word, regex=False).to_numpy()
    if kinds:
        keep &= t["kind"].isin(kinds).to_numpy()
    if regions:
        keep &= t["region"].isin(regions).to_numpy()
    flags = set(flags or [])
    if "spof" in flags:
        keep &= t["spof"].to_numpy(bool)
    if "critical" in flags:
        keep &= (t["n_critical_markets"] > 0).to_numpy()
    if "tts" in flags:
        keep &= (t["tts_days"] < t["ttr_days"]).fillna(False).to_numpy(bool)
    if ids:
        keep &= t["site_id"].isin(ids).to_numpy()
    return t[keep]


def _market_options(ds) -> list[dict]:
    m = ds.exposure.markets
    return [{"label": "All markets (each weighs the same)", "value": "__all__"}] + [
        {"label": f"{n} ({i})", "value": i} for i, n in sorted(zip(m["market_id"], m["name"], strict=True))]


def layout(**_):
    ds = state.active()
    t = _table(ds)
    kinds = [k for k in TIERS if (t["kind"] == k).any()]
    spof_ids = t.loc[t["spof"], "site_id"].tolist()
    return html.Div([
        dcc.Store(id="spof-version", data=ds.id),
        dcc.Store(id="spof-map-ids", data=[]),
        dcc.Download(id="spof-download"),
        html.Div([html.H4("Single points of failure"),
                  html.Span(f"{len(spof_ids)} sites whose failure alone cuts a market to zero; "
                            f"{int((t['n_critical_markets'] > 0).sum())} critical for some market (≥ 50% of its "
                            "supply)", className="lead-text")], className="page-title"),
        dbc.Card(dbc.CardBody(html.Div([
            dbc.Input(id="spof-search", placeholder="search name, id, operator…", debounce=True,
                      size="sm", style={"width": "14rem"}),
            dcc.Dropdown(id="spof-kinds", options=[{"label": kind_label(k), "value": k} for k in kinds], multi=True,
                         placeholder="all kinds", style={"minWidth": "11rem"}),
            dcc.Dropdown(id="spof-regions", options=[{"label": r, "value": r} for r in sorted(set(t["region"]))],
                         multi=True, placeholder="all regions", style={"minWidth": "11rem"}),
            dbc.Checklist(id="spof-flags", inline=True, switch=True, value=[], options=[
                {"label": "SPOFs only", "value": "spof"}, {"label": "critical only", "value": "critical"},
                {"label": "TTS < TTR only", "value": "tts"}]),
            html.Div(id="spof-map-chip"),
            html.Span(f"{len(t)} of {len(t)} sites", id="spof-count", className="hint ms-auto"),
        ], className="filter-bar"), className="py-2"), className="mb-3"),
        dbc.Row([
            dbc.Col(card("Map",
                         html.Div("Click sites, or lasso them with the tool at the top right, to filter the table. "
                                  "Black rings: single points of failure. Lines: supply links by supplier kind (→).",
                                  className="hint px-3 pt-2"),
                         loading(dcc.Graph(id="spof-map", config={**GEO_CONFIG,
                                                                  "modeBarButtonsToAdd": ["lasso2d", "select2d"]},
                                           figure=network_map(ds, height=430, uirevision="spof", spof=True),
                                           style={"height": "430px"})),
                         right=dbc.Select(id="spof-view", options=[{"label": r, "value": r} for r in REGION_VIEWS],
                                          value="World", size="sm", style={"width": "12rem"}),
                         body_class="p-0"), lg=7),
            dbc.Col(card("Time to survive against time to recover",
                         loading(dcc.Graph(id="spof-tts", figure=tts_ttr_chart(t, height=430),
                                           config={"displaylogo": False}))), lg=5),
        ], className="g-3"),
        card("Every supply site (select rows to ring them on the map and the chart)",
             grid("spof-grid", _rows(t), COLUMNS, height="470px", selectable="multiple", row_id="site_id",
                  dashGridOptions={"tooltipShowDelay": 200, "pagination": False}),
             right=dbc.Button("Download CSV", id="spof-csv", size="sm", color="secondary", outline=True)),
        card("Concentration by country, per tier",
             dbc.Row([
                 dbc.Col([html.Div(id="spof-hhi", className="hint mb-1"),
                          loading(dcc.Graph(id="spof-choropleth", config=GEO_CONFIG, style={"height": "380px"}))],
                         lg=7),
                 dbc.Col(loading(dcc.Graph(id="spof-bars", config={"displaylogo": False})), lg=5),
             ], className="g-3"),
             right=[dbc.Select(id="spof-tier", value="api" if "api" in kinds else kinds[0], size="sm",
                               options=[{"label": kind_label(k), "value": k} for k in kinds],
                               style={"width": "10rem"}),
                    dcc.Dropdown(id="spof-market", options=_market_options(ds), value="__all__", clearable=False,
                                 style={"width": "22rem"})]),
    ])


@callback(Output("spof-map-ids", "data"), Input("spof-map", "selectedData"), Input("spof-map", "clickData"),
          Input({"type": "spof-chip-clear", "i": dash.ALL}, "n_clicks"), State("spof-map-ids", "data"),
          prevent_initial_call=True)
def map_selection(selection, click, clear, current):
    """A lasso/box selection or a click on the map becomes the table's map filter (a click adds or removes)."""
    trig = ctx.triggered_id
    if isinstance(trig, dict):
        return [] if any(clear) else no_update
    prop = ctx.triggered[0]["prop_id"]
    if prop.endswith("selectedData"):
        ids = selected_sites(selection)
        return ids if ids else no_update
    sid = clicked_site(click)
    if sid is None:
        return no_update
    current = list(current or [])
    return [s for s in current if s != sid] if sid in current else [*current, sid]


@callback(Output("spof-grid", "rowData"), Output("spof-count", "children"), Output("spof-map-chip", "children"),
          Input("spof-search", "value"), Input("spof-kinds", "value"), Input("spof-regions", "value"),
          Input("spof-flags", "value"), Input("spof-map-ids", "data"), State("spof-version", "data"),
          prevent_initial_call=True)
def filter_rows(search, kinds, regions, flags, ids, version):
    t = _table(state.get(version))
    kept = filter_table(t, search, kinds, regions, flags, ids)
    chip = (dbc.Badge([f"map selection: {len(ids)} site{'s' if len(ids) != 1 else ''} ",
                       html.Span("×", id={"type": "spof-chip-clear", "i": 0}, n_clicks=0, role="button",
                                 title="clear the map selection", className="ms-1 fw-bold")],
                      color="primary", className="p-2") if ids else None)
    return _rows(kept), f"{len(kept)} of {len(t)} sites", chip


@callback(Output("spof-map", "figure"), Output("spof-tts", "figure"), Input("spof-grid", "selectedRows"),
          Input("spof-view", "value"), State("spof-version", "data"), prevent_initial_call=True)
def highlight(rows, view, version):
    ds = state.get(version)
    ids = [r["site_id"] for r in rows or []]
    return (network_map(ds, region=view, highlight=ids, height=430, uirevision="spof", spof=True),
            tts_ttr_chart(_table(ds), highlight=ids, height=430))


@callback(Output("spof-grid", "selectedRows"), Input("spof-tts", "clickData"), State("spof-grid", "selectedRows"),
          prevent_initial_call=True)
def select_from_chart(click, rows):
    """Clicking a site on the TTS/TTR chart selects (or unselects) its row."""
    pt = (click or {}).get("points", [{}])[0]
    cd = pt.get("customdata")
    if not cd:
        return no_update
    sid = str(cd[0])
    ids = [r["site_id"] for r in rows or []]
    ids = [s for s in ids if s != sid] if sid in ids else [*ids, sid]
    return {"ids": ids}


@callback(Output("spof-choropleth", "figure"), Output("spof-bars", "figure"), Output("spof-hhi", "children"),
          Input("spof-tier", "value"), Input("spof-market", "value"), State("spof-version", "data"))
def concentration_view(tier, market, version):
    ds = state.get(version)
    market = None if market in (None, "__all__") else market
    scope = "all markets" if market is None else market
    shares = ds.tier_country_shares(tier, market)
    tiers = [k for k in TIERS if (ds.site_table["kind"] == k).any()]
    region_of = dict(zip(ds.site_table["country"], ds.site_table["region"].astype(str), strict=True))
    bars = tier_country_bars({k: ds.tier_country_shares(k, market) for k in tiers}, region_of, height=400)
    choro = country_choropleth(shares, f"{kind_label(tier)} supply ({scope})", height=380)
    c = ds.concentration
    c = c[c["tier"] == tier] if market is None else c[(c["tier"] == tier) & (c["market_id"] == market)]
    if c.empty:
        text = f"No {kind_label(tier)} supply reaches {scope}."
    else:
        hhi = float(c["hhi_country"].median())
        level = ("highly concentrated" if hhi > 2500 else
                 "moderately concentrated" if hhi >= 1500 else "unconcentrated")
        what = "median over markets of the " if market is None else ""
        text = [html.B(f"{kind_label(tier)}: "), f"{what}HHI by country {hhi:,.0f} ({level}); ",
                f"top country {c['top_country'].mode().iat[0]}; "
                f"{float(c['outside_region_share'].median()):.0%} from outside the market's region; "
                f"{int(c['sole_source_inputs'].sum())} sole-source inputs."]
    return choro, bars, text


@callback(Output("spof-download", "data"), Input("spof-csv", "n_clicks"), State("spof-grid", "rowData"),
          State("spof-version", "data"), prevent_initial_call=True)
def download(n, rows, version):
    if not n:
        return no_update
    ds = state.get(version)
    frame = pd.DataFrame(rows or [])
    return dcc.send_bytes(to_csv_bytes(frame), f"single-points-of-failure-{ds.id}.csv")
