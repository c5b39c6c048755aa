"""Offline world maps of the network (plotly geo, outlines served from ``assets/topojson``)."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from riskmodel.network import SupplyNetwork
from riskmodel.schema import KINDS

#: dcc.Graph config: plotly.js loads country outlines from the app's own assets, never from a CDN
GEO_CONFIG = {"topojsonURL": "/assets/topojson/", "displaylogo": False}

# Okabe-Ito colour-blind safe palette, one colour per site kind
KIND_COLOURS = dict(zip(KINDS, ["#E69F00", "#D55E00", "#CC79A7", "#0072B2", "#56B4E9", "#999999", "#009E73",
                                "#000000"], strict=True))


def network_map(net: SupplyNetwork, height: int = 560) -> go.Figure:
    """Sites as markers coloured by kind, active supply links as thin lines, on a world view."""
    s = net.sites
    fig = go.Figure()
    lat, lon = s["lat"].to_numpy(), s["lon"].to_numpy()
    sup, cus = net.link_supplier, net.links["customer"].to_numpy()
    line_lat = np.column_stack([lat[sup], lat[cus], np.full(len(sup), np.nan)]).ravel()
    line_lon = np.column_stack([lon[sup], lon[cus], np.full(len(sup), np.nan)]).ravel()
    fig.add_trace(go.Scattergeo(lat=line_lat, lon=line_lon, mode="lines", line={"width": 0.6, "color": "#8a94a0"},
                                opacity=0.45, hoverinfo="skip", name="supply links"))
    for kind in KINDS:
        part = s[s["kind"] == kind]
        if part.empty:
            continue
        fig.add_trace(go.Scattergeo(
            lat=part["lat"], lon=part["lon"], mode="markers", name=kind.replace("_", " "),
            marker={"size": 8, "color": KIND_COLOURS[kind], "line": {"width": 0.5, "color": "white"}},
            customdata=np.column_stack([part["site_id"], part["name"], part["country"], part["operator"]]),
            hovertemplate="<b>%{customdata[1]}</b><br>%{customdata[0]}<br>%{customdata[2]} · %{customdata[3]}"
                          "<extra>" + kind + "</extra>",
        ))
    fig.update_geos(showcountries=True, countrycolor="#b8c0c8", showland=True, landcolor="#eef0f2",
                    showocean=True, oceancolor="#dfe9f3", projection_type="natural earth", fitbounds=False,
                    resolution=110)
    fig.update_layout(height=height, margin={"l": 0, "r": 0, "t": 0, "b": 0}, legend={"orientation": "h", "y": -0.02})
    return fig
