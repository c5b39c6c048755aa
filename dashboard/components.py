"""Building blocks the pages share: key-figure cards, titled cards, data grids, loading wrappers, the site panel.

Nothing here computes a result: the site panel reads the dataset's cached analyses (:mod:`dashboard.state`) and the
network's own tables (``SupplyNetwork.inputs``, ``links``, ``backup_links``).
"""

from __future__ import annotations

import dash_ag_grid as dag
import dash_bootstrap_components as dbc
import numpy as np
import pandas as pd
import plotly.graph_objects as go
from dash import dcc, html

from dashboard.theme import days, kind_label, pct, units


def kpi(label: str, value: str, sub: str | None = None, *, id: str | None = None, tone: str | None = None,
        title: str | None = None) -> dbc.Card:
    """A key-figure card: a big value, a label, an optional line below."""
    value_props = {"id": id} if id else {}
    sub_props = {"id": f"{id}-sub"} if id else {}
    return dbc.Card(dbc.CardBody([
        html.Div(label, className="kpi-label"),
        html.Div(value, className=f"kpi-value{' text-' + tone if tone else ''}", title=title or value,
                 **value_props),
        html.Div(sub or "", className="kpi-sub", title=sub or "", **sub_props),
    ]), className="kpi-card h-100")


def card(title, *children, right=None, className: str = "", body_class: str = "", id: str | None = None):
    """A card with a header line (title, optional controls on the right)."""
    header = dbc.CardHeader(html.Div([html.Span(title, className="card-title-text"),
                                      html.Div(right, className="ms-auto d-flex gap-2 align-items-center")
                                      if right is not None else None],
                                     className="d-flex align-items-center gap-2"))
    props = {"id": id} if id else {}
    return dbc.Card([header, dbc.CardBody(list(children), className=body_class)], className=f"mb-3 {className}",
                    **props)


def loading(*children, id: str | None = None, min_height: str | None = None):
    """A loading indicator shown over its content while a callback updates it (after a short delay)."""
    props = {"id": id} if id else {}
    return dcc.Loading(list(children), type="circle", delay_show=250, color="#0072B2",
                       parent_style={"minHeight": min_height} if min_height else None,
                       overlay_style={"visibility": "visible", "opacity": 0.55, "backgroundColor": "white"}, **props)


def grid(id: str, rows: list[dict], columns: list[dict], *, height: str = "420px", selectable: str | None = None,
         row_id: str | None = None, quick_filter: bool = False, **kwargs) -> dag.AgGrid:
    """An AG Grid with the dashboard's defaults: sortable, filterable, resizable columns."""
    options = {"animateRows": False, "tooltipShowDelay": 300, "enableCellTextSelection": True,
               "ensureDomOrder": True, "suppressMenuHide": False}
    if selectable:
        options["rowSelection"] = {"mode": "multiRow" if selectable == "multiple" else "singleRow",
                                   "enableClickSelection": True, "checkboxes": selectable == "multiple",
                                   "headerCheckbox": False}
    options.update(kwargs.pop("dashGridOptions", {}))
    return dag.AgGrid(
        id=id, rowData=rows, columnDefs=columns,
        defaultColDef={"sortable": True, "filter": True, "resizable": True, "floatingFilter": True,
                       "minWidth": 70, **kwargs.pop("defaultColDef", {})},
        dashGridOptions=options, getRowId=f"params.data.{row_id}" if row_id else None,
        style={"height": height, "width": "100%"} if height != "auto" else {"width": "100%"},
        className="ag-theme-quartz", **kwargs)


def empty_figure(message: str, height: int = 300) -> go.Figure:
    """A blank figure with a centred message (before a run, when there is nothing to show)."""
    fig = go.Figure()
    fig.add_annotation(text=message, showarrow=False, font={"size": 14, "color": "#6b7580"}, x=0.5, y=0.5,
                       xref="paper", yref="paper")
    fig.update_layout(template="riskmodel", height=height, xaxis={"visible": False}, yaxis={"visible": False},
                      margin={"l": 10, "r": 10, "t": 10, "b": 10})
    return fig


def badge(text: str, color: str = "secondary", className: str = "", **kw) -> dbc.Badge:
    return dbc.Badge(text, color=color, className=f"me-1 {className}".strip(), **kw)


# ---------------------------------------------------------------------------------------------- site panel
def _facts(rows: list[tuple[str, object]]) -> html.Table:
    return html.Table([html.Tbody([html.Tr([html.Th(k), html.Td(v)]) for k, v in rows if v not in (None, "", "—")])],
                      className="table table-sm facts mb-2")


def _partner_list(entries: list[tuple[str, str, str]], names: dict[str, str]) -> html.Ul:
    """entries: (site id, share text, note)."""
    return html.Ul([html.Li([html.Span(names.get(sid, sid), title=sid), html.Span(f" {share}", className="text-muted"),
                             html.Span(f" {note}", className="text-muted fst-italic") if note else None])
                    for sid, share, note in entries], className="partners mb-1")


def _by_material(title: str, groups: dict[str, list[tuple[str, str, str]]], names: dict[str, str], limit: int = 8):
    if not groups:
        return html.Div([html.H6(title, className="panel-h"), html.P("none", className="text-muted small mb-2")])
    items = []
    for material, entries in sorted(groups.items()):
        shown = entries[:limit]
        more = len(entries) - len(shown)
        items.append(html.Div([html.Div(material, className="material"), _partner_list(shown, names),
                               html.Div(f"+{more} more", className="text-muted small") if more > 0 else None]))
    return html.Div([html.H6(title, className="panel-h"), *items])


def site_detail(ds, site_id: str | None) -> html.Div:
    """The detail panel of one site: facts, exposure, TTS/TTR, suppliers and customers by material, markets hit."""
    if not site_id:
        return html.Div([html.P("Click a site on the map (or a row of a table) to see its suppliers, customers, "
                                "the markets its failure hits, and its time to survive.", className="text-muted")],
                        className="site-panel-empty")
    t = ds.site_table
    hit = t.index[t["site_id"] == site_id]
    if not len(hit):
        return html.Div(html.P(f"Site {site_id} is not in this dataset version.", className="text-muted"))
    r = t.loc[hit[0]]
    net = ds.network
    names = dict(zip(t["site_id"], t["name"].astype(str), strict=True))
    is_market = r["kind"] == "market"

    suppliers: dict[str, list[tuple[str, str, str]]] = {}
    for material, links in net.inputs(site_id).items():
        suppliers[material] = [(lk.supplier_id, f"{lk.share:.0%}", f"{lk.lead_time_days:g} d transit")
                               for lk in sorted(links, key=lambda x: -x.share)]
    bk = net.backup_links
    if len(bk):
        for b in bk[bk["customer_id"].astype(str) == site_id].itertuples(index=False):
            suppliers.setdefault(str(b.material), []).append(
                (str(b.supplier_id), f"up to {float(b.share):.0%}",
                 f"backup, ready after {float(b.qualification_weeks):g} wk"))
    customers: dict[str, list[tuple[str, str, str]]] = {}
    out = net.links[net.links["supplier_id"].astype(str) == site_id].sort_values("share", ascending=False)
    for lk in out.itertuples(index=False):
        customers.setdefault(str(lk.material), []).append((str(lk.customer_id), f"{float(lk.share):.0%} of its need",
                                                           ""))
    if len(bk):
        for b in bk[bk["supplier_id"].astype(str) == site_id].itertuples(index=False):
            customers.setdefault(str(b.material), []).append((str(b.customer_id), f"up to {float(b.share):.0%}",
                                                              "backup"))

    place = ", ".join(p for p in (str(r.get("city") or ""), str(r["country"]), str(r.get("region") or "")) if p)
    header = html.Div([
        html.H5(str(r["name"]), className="mb-1"),
        html.Div([badge(kind_label(r["kind"]), "dark"),
                  badge("single point of failure", "danger") if r["spof"] else None,
                  badge(f"critical for {int(r['n_critical_markets'])} markets", "warning", text_color="dark")
                  if (not r["spof"] and r["n_critical_markets"]) else None,
                  html.Code(site_id, className="small ms-1")]),
    ], className="mb-2")

    if is_market:
        m = ds.exposure.markets.set_index("market_id").loc[site_id]
        facts = _facts([("Location", place), ("Weekly demand", f"{r['weekly_demand']:,.0f} units"),
                        ("Stock", f"{r['inventory_days']:g} days of demand"),
                        ("Single points of failure", ", ".join(names.get(s, s) for s in m["spof_sites"][:5]) or "none"),
                        ("Sites critical for it", str(int(m["n_critical_sites"]))),
                        ("Worst single failure", f"{names.get(m['worst_site_id'], m['worst_site_id'])} "
                                                 f"({pct(m['worst_site_loss'])} of its supply)"
                         if m["worst_site_id"] else "—")])
        return html.Div([header, facts, _by_material("Suppliers by material", suppliers, names)],
                        className="site-panel")

    tts = ds.tts
    tts_days = ttr_days = np.nan
    if tts is not None:
        x = tts[tts["site_id"] == site_id]
        if len(x):
            tts_days, ttr_days = float(x["tts_days"].iloc[0]), float(x["ttr_days"].iloc[0])
    if np.isnan(ttr_days):
        ttr_days = float(r["ttr_weeks"]) * 7.0
    tts_line = html.Div([
        html.Span("Time to survive ", className="text-muted"), html.B(days(tts_days) if tts is not None else "—"),
        html.Span(" · time to recover ", className="text-muted"), html.B(days(ttr_days)),
        badge("needs mitigation: TTS < TTR", "danger", className="ms-2")
        if (np.isfinite(tts_days) and tts_days < ttr_days) else None,
    ], className="mb-2")
    facts = _facts([
        ("Location", place), ("Operator", str(r.get("operator") or "")), ("Technology", str(r.get("technology") or "")),
        ("Throughput", f"{units(r['throughput'])} units/week (demand it serves)"),
        ("Exposure", f"{pct(r['exposure'])} of all demand ({units(r['lost_weekly_units'])} units/week) lost if it "
                     "fails"),
        ("Stock", f"{r['inventory_days']:g} days of output"), ("Surge", pct(r["surge"], 0)),
    ])
    losses = ds.exposure.losses_of(site_id)
    demand = pd.Series(net.demand, index=net.site_ids)
    if len(losses):
        lf = pd.DataFrame({"lost": losses, "share": losses / demand.reindex(losses.index).to_numpy()})
        lf = lf.sort_values(["share", "lost"], ascending=False).head(8)
        rows = [html.Tr([html.Td(names.get(mid, mid), title=mid), html.Td(units(v.lost), className="num"),
                         html.Td(html.Div(html.Div(style={"width": f"{min(100, v.share * 100):.0f}%"},
                                                   className="bar-fill"), className="bar"), className="bar-cell"),
                         html.Td(pct(v.share, 0), className="num")]) for mid, v in lf.iterrows()]
        more = len(losses) - len(lf)
        market_table = html.Div([
            html.H6("Markets hit if it fails (units/week, share of the market)", className="panel-h"),
            html.Table(html.Tbody(rows), className="table table-sm markets-hit mb-1"),
            html.Div(f"+{more} more markets", className="text-muted small") if more > 0 else None])
    else:
        market_table = html.Div([html.H6("Markets hit if it fails", className="panel-h"),
                                 html.P("none: its customers have other sources", className="text-muted small")])
    return html.Div([header, tts_line, facts, market_table,
                     _by_material("Suppliers by material", suppliers, names),
                     _by_material("Customers by material", customers, names)], className="site-panel")


def clicked_site(click_data) -> str | None:
    """The site id of a map/graph click (``customdata[0]`` of the point), or None."""
    try:
        point = (click_data or {}).get("points", [])[0]
    except (IndexError, AttributeError):
        return None
    cd = point.get("customdata")
    if isinstance(cd, list | tuple) and cd:
        return str(cd[0])
    if isinstance(cd, str):
        return cd
    return None


def selected_sites(selected_data) -> list[str]:
    """Site ids of a lasso/box selection on a map (points carrying ``customdata[0]``)."""
    out = []
    for p in (selected_data or {}).get("points", []) or []:
        cd = p.get("customdata")
        if isinstance(cd, list | tuple) and cd:
            out.append(str(cd[0]))
    return list(dict.fromkeys(out))
