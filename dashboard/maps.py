"""Offline world maps of the network (plotly geo; country outlines served from ``assets/topojson``).

Every map here is a ``scattergeo``/``choropleth`` figure meant for a ``dcc.Graph`` with :data:`GEO_CONFIG`: plotly.js
then loads the outlines from the app's own assets instead of its CDN, so maps draw with no internet. Sites are
markers (coloured by exposure or by kind, sized by weekly throughput), supply links are thin great-circle lines
coloured by the supplier's tier, and each site marker carries its id as ``customdata[0]`` so that clicks and
lasso selections name sites.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from dashboard.theme import (
    EXPOSURE_SCALE,
    FAILED_COLOUR,
    HIGHLIGHT_COLOUR,
    KIND_COLOURS,
    MARKET_COLOUR,
    days,
    kind_label,
    pct,
    units,
)
from riskmodel.schema import KINDS

#: dcc.Graph config: plotly.js loads country outlines from the app's own assets, never from a CDN
GEO_CONFIG = {"topojsonURL": "/assets/topojson/", "displaylogo": False, "scrollZoom": True,
              "modeBarButtonsToRemove": ["toImage"]}

#: map views: "World" plus one box (lon range, lat range) per region of PRODUCT.md section 3.5
REGION_VIEWS: dict[str, tuple[tuple[float, float], tuple[float, float]] | None] = {
    "World": None,
    "North America": ((-135.0, -55.0), (10.0, 62.0)),
    "Latin America": ((-115.0, -30.0), (-50.0, 30.0)),
    "Europe": ((-15.0, 35.0), (34.0, 66.0)),
    "Middle East and Africa": ((-20.0, 62.0), (-36.0, 40.0)),
    "South Asia": ((60.0, 98.0), (3.0, 37.0)),
    "East Asia": ((95.0, 148.0), (18.0, 50.0)),
    "Southeast Asia and Oceania": ((92.0, 180.0), (-48.0, 22.0)),
}
#: most links drawn on a map (the largest flows first): a 100k-site network stays responsive
MAX_LINKS = 4000


def geo_layout(region: str | None, height: int, uirevision: str) -> dict:
    """The layout of a world map: outlines, colours, world view (or a region's box), legend under the map."""
    geo = {"showcountries": True, "countrycolor": "#aab3bd", "countrywidth": 0.5, "showcoastlines": True,
           "coastlinecolor": "#aab3bd", "coastlinewidth": 0.5, "showland": True, "landcolor": "#f1f2f4",
           "showocean": True, "oceancolor": "#e4edf5", "showlakes": False, "showframe": False,
           "projection": {"type": "natural earth"}, "fitbounds": False, "resolution": 110,
           "lataxis": {"range": [-58, 84]}, "bgcolor": "rgba(0,0,0,0)"}
    view = REGION_VIEWS.get(region or "World")
    if view is not None:
        (lon0, lon1), (lat0, lat1) = view
        geo.update(lonaxis={"range": [lon0, lon1]}, lataxis={"range": [lat0, lat1]}, resolution=50,
                   projection={"type": "mercator"})
    return {"geo": geo, "height": height, "margin": {"l": 0, "r": 0, "t": 0, "b": 0},
            "uirevision": f"{uirevision}:{region}", "template": "riskmodel", "dragmode": "pan",
            "hovermode": "closest", "clickmode": "event",
            "legend": {"orientation": "h", "yanchor": "top", "y": -0.005, "x": 0.01, "font": {"size": 11},
                       "itemsizing": "constant", "traceorder": "normal", "itemwidth": 30}}


def _geo_layout(fig: go.Figure, region: str | None, height: int, uirevision: str) -> go.Figure:
    """Apply :func:`geo_layout` to a figure."""
    fig.update_layout(geo_layout(region, height, uirevision))
    return fig


def _marker_size(values: np.ndarray, lo: float = 5.0, hi: float = 22.0) -> np.ndarray:
    """Marker diameters by the square root of a volume (area proportional to volume)."""
    v = np.sqrt(np.clip(np.nan_to_num(np.asarray(values, dtype=float)), 0, None))
    top = v.max() if len(v) and v.max() > 0 else 1.0
    return lo + (hi - lo) * v / top


def link_traces(ds, max_links: int = MAX_LINKS, opacity: float = 0.35, legend: bool = True) -> list[dict]:
    """Active supply links as thin lines, one trace (a dict) per supplier tier (Okabe-Ito colour of the tier)."""
    net = ds.network
    s = net.sites
    lat, lon = s["lat"].to_numpy(float), s["lon"].to_numpy(float)
    sup = net.link_supplier
    cus = net.links["customer"].to_numpy(np.int64)
    keep = np.arange(len(sup))
    if len(sup) > max_links:  # the largest flows: share of the customer's need x the customer's throughput
        weight = net.link_share * ds.throughput[cus]
        keep = np.sort(np.argsort(-weight, kind="stable")[:max_links])
    kinds = s["kind"].to_numpy()[sup[keep]]
    traces = []
    for kind in KINDS:
        m = keep[kinds == kind]
        if not m.size:
            continue
        a, b = sup[m], cus[m]
        traces.append({
            "type": "scattergeo", "lat": np.column_stack([lat[a], lat[b], np.full(len(m), np.nan)]).ravel(),
            "lon": np.column_stack([lon[a], lon[b], np.full(len(m), np.nan)]).ravel(),
            "mode": "lines", "line": {"width": 0.7, "color": KIND_COLOURS[kind]}, "opacity": opacity,
            "hoverinfo": "skip", "name": f"{kind_label(kind)} →", "legendgroup": "links", "legendrank": 900,
            "showlegend": legend,
        })
    return traces


def _hover(t: pd.DataFrame) -> tuple[np.ndarray, str]:
    """customdata and hovertemplate for site markers (customdata[0] is the site id)."""
    tts = t["tts_days"] if "tts_days" in t else pd.Series(np.nan, index=t.index)
    ttr = t["ttr_days"] if "ttr_days" in t else t["ttr_weeks"] * 7.0
    place = [", ".join(p for p in (str(c or ""), str(k)) if p) for c, k in zip(t["city"], t["country"], strict=True)]
    spof = [("SPOF for " + ", ".join(m[:3]) + (f" +{len(m) - 3}" if len(m) > 3 else "")) if len(m) else ""
            for m in t["spof_markets"]]
    market = (t["kind"] == "market").to_numpy()
    line3 = np.where(market, "weekly demand " + t["weekly_demand"].map(units),
                     "exposure " + t["exposure"].map(pct) + " of all demand · "
                     + t["throughput"].map(units) + " units/wk through it")
    line4 = np.where(market, "", "TTS " + tts.map(days) + " · TTR " + ttr.map(days))
    custom = np.column_stack([t["site_id"].to_numpy(), t["name"].astype(str).to_numpy(),
                              [kind_label(k) for k in t["kind"]], place, t["operator"].astype(str).to_numpy(),
                              line3, line4, spof])
    template = ("<b>%{customdata[1]}</b><br>%{customdata[0]} · %{customdata[2]}<br>%{customdata[3]} · "
                "%{customdata[4]}<br>%{customdata[5]}<br>%{customdata[6]}<br><b>%{customdata[7]}</b><extra></extra>")
    return custom, template


def network_map(ds, *, region: str | None = "World", color_by: str = "exposure", highlight=(), failed=(),
                market_loss: dict | None = None, circle: tuple[float, float, float] | None = None,
                height: int = 540, links: bool = True, uirevision: str = "map", table: pd.DataFrame | None = None,
                colorbar: bool = True, spof: bool = False) -> go.Figure:
    """The world map of a dataset's network.

    Parameters
    ----------
    ds : dashboard.state.Dataset
        The dataset version.
    region : str
        ``"World"`` or a region name of :data:`REGION_VIEWS`: the map zooms to it.
    color_by : {"exposure", "kind"}
        Supply-site marker colour: exposure (sequential, colour-blind safe) or kind (Okabe-Ito).
    highlight : iterable of str
        Site ids drawn with a blue ring (selected rows).
    failed : iterable of str
        Site ids that fail in a what-if scenario: a vermillion ring and cross.
    market_loss : dict, optional
        Market id -> share of its demand lost (what-if result): the markets it names are coloured by it (the
        others stay dark).
    circle : (lat, lon, km), optional
        A circle drawn as a line (geodesic).
    table : DataFrame, optional
        The site table to draw (default ``ds.sites_full``: facts, exposure, TTS and TTR).
    spof : bool
        Ring the single points of failure (black).

    Examples
    --------
    >>> fig = network_map(ds, region="Europe", highlight=["API-1"])  # doctest: +SKIP
    """
    t = ds.sites_full if table is None else table
    traces: list[dict] = link_traces(ds, legend=color_by == "exposure") if links else []
    custom, template = _hover(t)
    market = (t["kind"] == "market").to_numpy()
    size = _marker_size(t["throughput"].to_numpy())
    lat, lon = t["lat"].to_numpy(float), t["lon"].to_numpy(float)
    sup = np.flatnonzero(~market)

    def add(idx, **kw):
        traces.append({"type": "scattergeo", "lat": lat[idx], "lon": lon[idx], "mode": "markers",
                       "customdata": custom[idx], "hovertemplate": template, **kw})

    if color_by == "exposure":
        exp = np.nan_to_num(t["exposure"].to_numpy(float))
        top = float(exp[sup].max()) if sup.size else 1.0
        order = sup[np.argsort(exp[sup], kind="stable")]  # the most exposed drawn last (on top)
        add(order, name="supply sites", legendgroup="sites", marker={
            "size": size[order], "color": exp[order], "colorscale": EXPOSURE_SCALE, "cmin": 0,
            "cmax": max(top, 1e-9), "line": {"width": 0.6, "color": "#4a4a4a"}, "opacity": 0.95,
            "showscale": colorbar, **({"colorbar": {
                "title": {"text": "exposure<br>(share of<br>all demand)", "font": {"size": 11}}, "tickformat": ".0%",
                "thickness": 12, "len": 0.55, "x": 1.0, "y": 0.55}} if colorbar else {})})
    else:
        kinds = t["kind"].to_numpy()
        for kind in KINDS[:-1]:
            idx = sup[kinds[sup] == kind]
            if idx.size:
                add(idx, name=kind_label(kind), legendgroup="sites", marker={
                    "size": size[idx], "color": KIND_COLOURS[kind], "line": {"width": 0.6, "color": "white"}})
    mk = np.flatnonzero(market)
    msize = _marker_size(t["weekly_demand"].to_numpy(), 7, 20)
    if market_loss is None:
        plain, hit, lost = mk, mk[:0], np.zeros(0)
    else:
        loss = np.array([float(market_loss.get(sid, -1.0)) for sid in t["site_id"].to_numpy()[mk]])
        plain, hit, lost = mk[loss < 0], mk[loss >= 0], loss[loss >= 0]
    if plain.size:
        add(plain, name="markets", legendgroup="markets", marker={"size": msize[plain], "symbol": "diamond",
                                                                  "color": MARKET_COLOUR,
                                                                  "line": {"width": 0.8, "color": "white"}})
    if hit.size:  # markets a what-if reaches, coloured by the share of their demand lost
        add(hit, name="markets reached", legendgroup="markets", marker={
            "size": msize[hit] + 2, "symbol": "diamond", "color": lost, "colorscale": EXPOSURE_SCALE, "cmin": 0,
            "cmax": max(float(lost.max()), 1e-9), "line": {"width": 1, "color": "#1f2d3d"},
            "colorbar": {"title": {"text": "market<br>demand lost", "font": {"size": 11}}, "tickformat": ".0%",
                         "thickness": 12, "len": 0.55, "x": 1.0, "y": 0.55}})
    if spof:
        _overlay(traces, t, t.loc[t["spof"].astype(bool), "site_id"], size, custom, template, "#000000",
                 "single points of failure", width=1.8)
    _overlay(traces, t, failed, size, custom, template, FAILED_COLOUR, "failing sites", cross=True)
    _overlay(traces, t, highlight, size, custom, template, HIGHLIGHT_COLOUR, "selected")
    if circle is not None:
        traces.append(circle_trace(*circle))
    return go.Figure(data=traces, layout=geo_layout(region, height, uirevision))


def _overlay(traces: list, t: pd.DataFrame, ids, size, custom, template, colour: str, name: str,
             cross: bool = False, width: float = 2.5) -> None:
    """Rings (and crosses) around some sites, drawn over the markers."""
    ids = [] if ids is None else list(ids)
    if not ids:
        return
    pos = np.flatnonzero(t["site_id"].isin(ids).to_numpy())
    if not pos.size:
        return
    lat, lon = t["lat"].to_numpy(float)[pos], t["lon"].to_numpy(float)[pos]
    traces.append({"type": "scattergeo", "lat": lat, "lon": lon, "mode": "markers", "name": f"{name} ({pos.size})",
                   "marker": {"size": np.asarray(size)[pos] + 9, "symbol": "circle-open", "color": colour,
                              "line": {"width": width}},
                   "customdata": custom[pos], "hovertemplate": template})
    if cross:
        traces.append({"type": "scattergeo", "lat": lat, "lon": lon, "mode": "markers", "showlegend": False,
                       "marker": {"size": 7, "symbol": "x-thin", "line": {"width": 2, "color": colour}},
                       "customdata": custom[pos], "hovertemplate": template})


def circle_points(lat: float, lon: float, km: float, n: int = 121) -> tuple[np.ndarray, np.ndarray]:
    """Points of the circle of radius ``km`` around (lat, lon) on a sphere of radius 6371 km (closed ring).

    Examples
    --------
    >>> la, lo = circle_points(0.0, 0.0, 111.19, n=5)
    >>> [round(float(v), 2) + 0.0 for v in la], [round(float(v), 2) + 0.0 for v in lo]
    ([1.0, 0.0, -1.0, 0.0, 1.0], [0.0, 1.0, 0.0, -1.0, 0.0])
    """
    r = float(km) / 6371.0
    phi1, lam1 = np.radians(lat), np.radians(lon)
    theta = np.linspace(0.0, 2 * np.pi, n)
    phi2 = np.arcsin(np.sin(phi1) * np.cos(r) + np.cos(phi1) * np.sin(r) * np.cos(theta))
    lam2 = lam1 + np.arctan2(np.sin(theta) * np.sin(r) * np.cos(phi1), np.cos(r) - np.sin(phi1) * np.sin(phi2))
    lon2 = (np.degrees(lam2) + 540.0) % 360.0 - 180.0
    return np.degrees(phi2), lon2


def circle_trace(lat: float, lon: float, km: float) -> dict:
    """The disruption circle as a line (a scattergeo trace dict), with its centre marked."""
    la, lo = circle_points(lat, lon, km)
    return {"type": "scattergeo", "lat": np.append(la, [np.nan, lat]), "lon": np.append(lo, [np.nan, lon]),
            "mode": "lines+markers", "line": {"width": 2, "color": FAILED_COLOUR, "dash": "dash"},
            "marker": {"size": [0] * len(la) + [0, 8], "color": FAILED_COLOUR, "symbol": "cross"},
            "name": f"circle {km:,.0f} km", "hoverinfo": "skip"}


def country_choropleth(shares: pd.DataFrame, title: str, height: int = 360) -> go.Figure:
    """Countries coloured by their share (``country`` ISO alpha-3, ``share`` 0-1)."""
    fig = go.Figure(go.Choropleth(
        locations=shares["country"], z=shares["share"], locationmode="ISO-3", zmin=0,
        zmax=max(float(shares["share"].max()) if len(shares) else 1.0, 1e-9), colorscale=EXPOSURE_SCALE,
        marker={"line": {"width": 0.5, "color": "#6b7580"}},
        colorbar={"title": {"text": "share", "font": {"size": 11}}, "tickformat": ".0%", "thickness": 12, "len": 0.7},
        hovertemplate="<b>%{location}</b><br>%{z:.1%} of " + title + "<extra></extra>",
    ))
    _geo_layout(fig, "World", height, "choropleth")
    fig.update_geos(lataxis_range=[-56, 80])
    return fig


def contribution_map(sites: pd.DataFrame, ds=None, *, region: str | None = "World", height: int = 430,
                     uirevision: str = "mc") -> go.Figure:
    """Supply sites sized and coloured by their contribution to the expected annual loss (a Monte Carlo run).

    Parameters
    ----------
    sites : DataFrame
        ``site_id, name, kind, country, lat, lon, events_per_year, expected_loss_contribution,
        share_of_expected_loss`` (``MonteCarloResult.contributions``). Sites that contribute nothing (or less than
        nothing: overlapping events) are small grey dots.
    ds : dashboard.state.Dataset, optional
        The dataset version of the run: its supply links are drawn faintly and its markets as diamonds.
    region : str
        ``"World"`` or a region of :data:`REGION_VIEWS`.

    Examples
    --------
    >>> fig = contribution_map(result.contributions, ds)  # doctest: +SKIP
    """
    traces: list[dict] = link_traces(ds, opacity=0.15, legend=False) if ds is not None else []
    t = sites.reset_index(drop=True)
    contrib = np.nan_to_num(pd.to_numeric(t["expected_loss_contribution"], errors="coerce").to_numpy(float))
    share = np.nan_to_num(pd.to_numeric(t["share_of_expected_loss"], errors="coerce").to_numpy(float))
    events = np.nan_to_num(pd.to_numeric(t["events_per_year"], errors="coerce").to_numpy(float))
    lat, lon = t["lat"].to_numpy(float), t["lon"].to_numpy(float)
    custom = np.column_stack([t["site_id"].astype(str).to_numpy(), t["name"].astype(str).to_numpy(),
                              [kind_label(k) for k in t["kind"]], t["country"].astype(str).to_numpy(),
                              [units(v) for v in contrib], [pct(v) for v in share],
                              [f"{v:.3f}" for v in events]]) if len(t) else np.empty((0, 7))
    template = ("<b>%{customdata[1]}</b><br>%{customdata[0]} · %{customdata[2]} · %{customdata[3]}<br>"
                "%{customdata[4]} units a year expected lost through it (%{customdata[5]} of the expected loss)<br>"
                "%{customdata[6]} events a year<extra></extra>")
    zero = np.flatnonzero(contrib <= 0)
    some = np.flatnonzero(contrib > 0)
    some = some[np.argsort(contrib[some], kind="stable")]  # the largest drawn last (on top)
    if zero.size:
        traces.append({"type": "scattergeo", "lat": lat[zero], "lon": lon[zero], "mode": "markers",
                       "name": "none or negative", "customdata": custom[zero], "hovertemplate": template,
                       "marker": {"size": 4, "color": "#b8c0c8", "line": {"width": 0}}})
    if ds is not None:
        m = ds.site_table[ds.site_table["kind"] == "market"]
        traces.append({"type": "scattergeo", "lat": m["lat"].to_numpy(float), "lon": m["lon"].to_numpy(float),
                       "mode": "markers", "name": "markets", "hoverinfo": "text",
                       "text": [f"{n} ({i}): market" for n, i in zip(m["name"], m["site_id"], strict=True)],
                       "marker": {"size": 7, "symbol": "diamond", "color": MARKET_COLOUR,
                                  "line": {"width": 0.8, "color": "white"}}})
    if some.size:
        top = float(share[some].max())
        traces.append({"type": "scattergeo", "lat": lat[some], "lon": lon[some], "mode": "markers",
                       "name": "contributing sites", "customdata": custom[some], "hovertemplate": template,
                       "marker": {"size": _marker_size(contrib[some], 6, 28), "color": share[some],
                                  "colorscale": EXPOSURE_SCALE, "cmin": 0, "cmax": max(top, 1e-9),
                                  "line": {"width": 0.6, "color": "#4a4a4a"}, "opacity": 0.95,
                                  "colorbar": {"title": {"text": "share of<br>expected<br>loss",
                                                         "font": {"size": 11}},
                                               "tickformat": ".0%", "thickness": 12, "len": 0.55, "x": 1.0,
                                               "y": 0.55}}})
    return go.Figure(data=traces, layout=geo_layout(region, height, uirevision))
