"""Overview page (``/``): key figures of the active dataset, the world map of its network, the top exposures.

Key figures: sites by kind, countries, the demand sitting behind a single point of failure, the SPOF count, the
worst site and the shortest time to survive (TTS of the site whose loss causes a shortage soonest), all from
:func:`dashboard.reports.overview_figures` (the report shows the same). The map colours supply sites by exposure and
sizes them by weekly throughput; clicking a site (or a row of the top-exposure table) opens its detail panel. The
"Report" buttons download this overview as HTML, PDF or Excel (:mod:`dashboard.report_downloads`).
"""

from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, callback, ctx, dcc, html, no_update

from dashboard import report_downloads, state
from dashboard.charts import country_exposure_bars
from dashboard.components import card, clicked_site, grid, kpi, loading, site_detail
from dashboard.maps import GEO_CONFIG, REGION_VIEWS, network_map
from dashboard.reports import overview_figures
from dashboard.theme import KIND_COLOURS, days, kind_label, pct, units

dash.register_page(__name__, path="/", name="Overview", title="Overview · Supply-chain risk", order=0)
report_downloads.register()  # the report buttons' callbacks (this module runs once per app)

TOP_N = 15


def _key_figures(ds) -> list:
    f = overview_figures(ds)
    worst = f["worst"]
    cols = [
        kpi("Sites", f"{f['sites']:,}", f"{f['supply_sites']:,} supply sites · {f['markets']} markets"),
        kpi("Countries", str(f["countries"]), f"in {f['regions']} regions · {f['operators']} operators"),
        kpi("Demand behind a SPOF", pct(f["spof_demand_share"]),
            f"{units(f['spof_demand'])} units/wk in {f['spof_markets']} of {f['n_markets']} markets", tone="danger"),
        kpi("Single points of failure", str(f["n_spof"]), f"+{f['n_critical']} sites critical (≥50% of a market)"),
        kpi("Worst site", pct(worst["exposure"]) if worst is not None else "—",
            f"{worst['name']} ({worst['country']})" if worst is not None else "", title=None),
        kpi("Min. time to survive", "…", "", id="ov-tts"),
    ]
    return [dbc.Col(x, xs=6, md=4, xl=2) for x in cols]


def _kinds_line(ds) -> html.Div:
    by = ds.report.counts.get("by_kind", {})
    parts = []
    for k, v in by.items():
        if v:
            parts.append(html.Span([html.Span("●", style={"color": KIND_COLOURS[k]}, className="me-1"),
                                    f"{v} {kind_label(k)}"], className="me-3 text-nowrap"))
    return html.Div([html.Span("Sites by kind: ", className="text-muted me-2"), *parts], className="small mb-2")


def _top_rows(ds) -> list[dict]:
    s = ds.site_table
    s = s[s["kind"] != "market"].sort_values(["exposure", "site_id"], ascending=[False, True]).head(TOP_N)
    return [{"rank": i + 1, "site_id": r.site_id, "name": r.name, "kind": kind_label(r.kind), "country": r.country,
             "exposure": float(r.exposure), "lost": float(r.lost_weekly_units), "spof": "SPOF" if r.spof else "",
             "markets": ", ".join(r.critical_markets[:4]) + (f" +{len(r.critical_markets) - 4}"
                                                            if len(r.critical_markets) > 4 else "")}
            for i, r in enumerate(s.itertuples(index=False))]


TOP_COLUMNS = [
    {"field": "rank", "headerName": "#", "width": 50},
    {"field": "name", "headerName": "Site", "flex": 3, "minWidth": 220, "tooltipField": "name"},
    {"field": "kind", "headerName": "Kind", "width": 100},
    {"field": "country", "headerName": "Country", "width": 88},
    {"field": "exposure", "headerName": "Exposure", "width": 96,
     "valueFormatter": {"function": "d3.format('.1%')(params.value)"}, "type": "rightAligned"},
    {"field": "lost", "headerName": "Lost units/wk", "width": 118, "type": "rightAligned",
     "valueFormatter": {"function": "d3.format(',.0f')(params.value)"}},
    {"field": "spof", "headerName": "SPOF", "width": 68},
    {"field": "markets", "headerName": "Markets losing ≥ 50%", "flex": 2, "minWidth": 130, "tooltipField": "markets"},
]


def layout(**_):
    ds = state.active()
    region_options = [{"label": r, "value": r} for r in REGION_VIEWS]
    ex = ds.exposure.sites
    worst = str(ex["site_id"].iat[0]) if len(ex) else None  # the detail panel opens on the most exposed site
    return html.Div([
        dcc.Store(id="ov-version", data=ds.id),
        dcc.Store(id="ov-selected", data=worst),
        html.Div([html.H4("Overview"), html.Span(f"{ds.name}: where the network is, what is exposed, how bad it could "
                                                 "get", className="lead-text"),
                  html.Div(report_downloads.buttons("overview", ds.id), className="ms-auto")],
                 className="page-title"),
        dbc.Row(_key_figures(ds), className="g-2 mb-2"),
        _kinds_line(ds),
        dbc.Row([
            dbc.Col(card(
                "Network map",
                html.Div("Supply sites coloured by exposure and sized by weekly volume; markets as diamonds; lines are "
                         "supply links, coloured by the supplier's kind (→). Scroll to zoom, drag to pan, click a site "
                         "for its detail.",
                         className="hint px-3 pt-2"),
                loading(dcc.Graph(id="ov-map", figure=network_map(ds, uirevision="ov", height=460,
                                                                  highlight=[worst] if worst else ()),
                                  config=GEO_CONFIG, style={"height": "460px"})),
                right=[dbc.Select(id="ov-region", options=region_options, value="World", size="sm",
                                  style={"width": "14rem"}),
                       dbc.RadioItems(id="ov-colour", options=[{"label": "exposure", "value": "exposure"},
                                                               {"label": "kind", "value": "kind"}],
                                      value="exposure", inline=True, className="small")],
                body_class="p-0"), lg=8),
            dbc.Col(card("Site detail", html.Div(site_detail(ds, worst), id="ov-detail", className="detail-scroll")),
                    lg=4),
        ], className="g-3"),
        dbc.Row([
            dbc.Col(card(f"Top {TOP_N} exposures: share of all market demand lost when the site alone fails",
                         grid("ov-top", _top_rows(ds), TOP_COLUMNS, height="400px", selectable="single",
                              row_id="site_id", defaultColDef={"floatingFilter": False, "filter": False,
                                                               "sortable": True})), lg=8),
            dbc.Col(card("Exposure by country: all its sites failing together (e.g. an export ban)",
                         dcc.Graph(id="ov-countries", figure=country_exposure_bars(ds.group_exposure("country")),
                                   config={"displaylogo": False})),
                    lg=4),
        ], className="g-3"),
    ])


@callback(Output("ov-tts", "children"), Output("ov-tts-sub", "children"), Input("ov-version", "data"))
def shortest_tts(version):
    """The shortest time to survive over all sites (the time-to-survive analysis, cached per dataset)."""
    r = overview_figures(state.get(version))["shortest_tts"]
    if r == "n/a":
        return "—", "time-to-survive analysis not available"
    if r is None:
        return "no shortage", "no single site's loss causes a shortage"
    name = str(r["name"])
    return days(r["tts_days"]), f"if {name if len(name) <= 44 else name[:43] + '…'} fails ({r['country']})"


@callback(Output("ov-selected", "data"), Output("ov-detail", "children"),
          Input("ov-map", "clickData"), Input("ov-top", "selectedRows"), State("ov-version", "data"),
          prevent_initial_call=True)
def select_site(click, rows, version):
    ds = state.get(version)
    if ctx.triggered_id == "ov-map":
        sid = clicked_site(click)
    else:
        sid = rows[0]["site_id"] if rows else None
    if sid is None:
        return no_update, no_update
    return sid, site_detail(ds, sid)


@callback(Output("ov-map", "figure"), Input("ov-region", "value"), Input("ov-colour", "value"),
          Input("ov-selected", "data"), State("ov-version", "data"), prevent_initial_call=True)
def redraw_map(region, colour, selected, version):
    ds = state.get(version)
    return network_map(ds, region=region, color_by=colour, highlight=[selected] if selected else (), uirevision="ov",
                       height=460)
