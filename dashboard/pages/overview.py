"""Overview page: key figures of the active dataset and the world map of its network."""

from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import dcc, html

from dashboard import state
from dashboard.maps import GEO_CONFIG, network_map

dash.register_page(__name__, path="/", name="Overview", title="Overview · Supply-chain risk")


def _kpi(label: str, value: str) -> dbc.Col:
    return dbc.Col(dbc.Card(dbc.CardBody([html.Div(value, className="kpi-value"),
                                          html.Div(label, className="kpi-label")]), className="kpi-card"), md=2)


def layout(**_):
    data = state.active()
    c = data.report.counts
    kinds = ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in c["by_kind"].items() if v)
    return html.Div([
        dbc.Row([
            _kpi("sites", f"{c['sites']:,}"),
            _kpi("countries", str(c["countries"])),
            _kpi("markets", str(c["markets"])),
            _kpi("active links", f"{c['links']:,}"),
            _kpi("backup links", str(c["backup_links"])),
            _kpi("weekly demand (units)", f"{c['total_weekly_demand']:,.0f}"),
        ], className="g-2 mb-2"),
        html.P(f"Sites by kind: {kinds}.", className="text-muted small"),
        dbc.Card(dcc.Graph(id="overview-map", figure=network_map(data.network), config=GEO_CONFIG)),
    ])
