"""What-if page (``/what-if``): choose what fails, run the daily simulation, read the impact, save and compare.

What fails: sites clicked or lasso-selected on the map, countries, regions, operators, or a circle (click the map
for its centre in circle mode, or type it; radius in km; drawn as a dashed line). How: severity (capacity lost),
start day, duration, recovery profile (step or linear ramp), horizon. Run gives the time to survive, lost units,
markets short, each market's supplied fraction and stock over time, and the hit markets on the map. Scenarios are
saved by name in the database, with the dataset version, their author, parameters and key figures (users who may
``scenario``; :mod:`dashboard.auth`); any two saved scenarios of the version shown can be compared side by side.
"Report" buttons download the last run as HTML, PDF or Excel (:mod:`dashboard.report_downloads`).

The simulation is :func:`riskmodel.simulate.simulate` (through :mod:`dashboard.scenarios`, which caches runs);
saved scenarios are :meth:`riskmodel.store.Store.save_scenario` rows (through :mod:`dashboard.state`); callbacks here
only turn controls into a scenario and results into figures.
"""

from __future__ import annotations

import logging

import dash
import dash_bootstrap_components as dbc
import numpy as np
from dash import Input, Output, State, callback, ctx, dcc, html, no_update
from dash.exceptions import PreventUpdate

from dashboard import auth, report_downloads, scenarios, state
from dashboard.charts import affected_markets, stock_chart, supply_chart, total_supply_chart
from dashboard.components import card, clicked_site, empty_figure, grid, kpi, loading, selected_sites
from dashboard.maps import GEO_CONFIG, REGION_VIEWS, network_map
from dashboard.theme import days, pct, units
from riskmodel.countries import country_name
from riskmodel.disruption import DisruptionError

dash.register_page(__name__, path="/what-if", name="What-if", title="What-if · Supply-chain risk", order=2)
report_downloads.register()  # the report buttons' callbacks (once per app, shared with the Overview page)
log = logging.getLogger(__name__)

CONTROLS = ["wi-sites", "wi-countries", "wi-regions", "wi-operators", "wi-lat", "wi-lon", "wi-km", "wi-severity",
            "wi-start", "wi-duration", "wi-recovery", "wi-horizon"]
MARKET_COLUMNS = [
    {"field": "market_id", "headerName": "Market", "minWidth": 130, "flex": 1},
    {"field": "name", "headerName": "Name", "minWidth": 220, "flex": 2},
    {"field": "lost", "headerName": "Lost units", "type": "rightAligned", "filter": "agNumberColumnFilter",
     "valueFormatter": {"function": "d3.format(',.0f')(params.value)"}, "sort": "desc", "width": 120},
    {"field": "lost_share", "headerName": "Lost share", "type": "rightAligned", "filter": "agNumberColumnFilter",
     "valueFormatter": {"function": "d3.format('.1%')(params.value)"}, "width": 110,
     "headerTooltip": "units lost as a share of the market's demand over the horizon"},
    {"field": "first_short", "headerName": "Short from day", "type": "rightAligned", "filter": "agNumberColumnFilter",
     "width": 125},
    {"field": "days_short", "headerName": "Days short", "type": "rightAligned", "filter": "agNumberColumnFilter",
     "width": 105},
    {"field": "min_supplied", "headerName": "Lowest supply", "type": "rightAligned", "filter": "agNumberColumnFilter",
     "valueFormatter": {"function": "d3.format('.0%')(params.value)"}, "width": 120},
]


def _options(ds) -> dict[str, list[dict]]:
    t = ds.site_table
    sup = t[t["kind"] != "market"]
    sites = [{"label": f"{n} ({c})", "value": s, "search": f"{s} {n}"}
             for s, n, c in sorted(zip(sup["site_id"], sup["name"].astype(str), sup["country"], strict=True),
                                   key=lambda r: r[1].lower())]
    countries = [{"label": f"{country_name(c) or c} ({c})", "value": c}
                 for c in sorted(set(sup["country"]), key=lambda c: country_name(c) or c)]
    regions = [{"label": r, "value": r} for r in sorted(set(sup["region"].astype(str))) if r]
    operators = [{"label": o, "value": o} for o in sorted(set(sup["operator"].astype(str)), key=str.lower) if o]
    return {"sites": sites, "countries": countries, "regions": regions, "operators": operators}


def _options_note(options) -> list:
    """The regionalization options in force (from the Regionalization page's link), with a button to drop them."""
    if not options:
        return []
    return [html.Div([html.B("With regionalization option" + ("s" if len(options) > 1 else "") + " in force: "),
                      html.Code(", ".join(options)),
                      dbc.Button("run without", id={"type": "wi-options-drop", "i": 0}, size="sm", color="link",
                                 className="p-0 ms-2")],
                     className="hint mt-2 p-2 border rounded bg-light")]


def _query_list(value) -> list[str]:
    return [v.strip() for v in str(value or "").split(",") if v.strip()][:200]


def _label(text: str) -> html.Label:
    return html.Label(text, className="control-label")


def _controls(ds, sites=(), weeks=None, options=()) -> dbc.Card:
    o = _options(ds)
    d = scenarios.DEFAULTS
    return card("Scenario", *[
        _label("Pick on the map"),
        dbc.RadioItems(id="wi-mode", value="sites", className="small", options=[
            {"label": "sites: click a site to add or remove it; lasso for many", "value": "sites"},
            {"label": "circle: click the map for its centre", "value": "circle"}]),
        _label("Sites"),
        dcc.Dropdown(id="wi-sites", options=o["sites"], multi=True, placeholder="click sites on the map, or type",
                     maxHeight=260, optionHeight=32, value=list(sites)),
        _label("Countries"),
        dcc.Dropdown(id="wi-countries", options=o["countries"], multi=True, placeholder="e.g. an export ban"),
        _label("Regions"),
        dcc.Dropdown(id="wi-regions", options=o["regions"], multi=True, placeholder="a region"),
        _label("Operators"),
        dcc.Dropdown(id="wi-operators", options=o["operators"], multi=True, placeholder="a company"),
        _label("Circle (centre, radius)"),
        dbc.InputGroup([dbc.Input(id="wi-lat", type="number", placeholder="lat", min=-90, max=90, step="any",
                                  debounce=True),
                        dbc.Input(id="wi-lon", type="number", placeholder="lon", min=-180, max=180, step="any",
                                  debounce=True),
                        dbc.Input(id="wi-km", type="number", value=250, min=1, max=5000, step="any", debounce=True),
                        dbc.InputGroupText("km"),
                        dbc.Button("×", id="wi-circle-clear", color="secondary", outline=True,
                                   title="remove the circle")], size="sm"),
        html.Div(id="wi-selection", className="hint mt-2"),
        html.Hr(className="my-2"),
        _label("Severity: capacity lost"),
        dcc.Slider(id="wi-severity", min=0, max=100, step=5, value=100, allow_direct_input=False,
                   marks={0: "0%", 25: "25%", 50: "50%", 75: "75%", 100: "100%"},
                   tooltip={"placement": "bottom", "always_visible": False, "template": "{value}%"}),
        dbc.Row([
            dbc.Col([_label("Start day"), dbc.Input(id="wi-start", type="number", value=d["start_day"], min=0,
                                                    step=1, size="sm")], width=4),
            dbc.Col([_label("Weeks"), dbc.Input(id="wi-duration", type="number", value=weeks or d["duration_weeks"],
                                                min=0.1, step="any", size="sm")], width=4),
            dbc.Col([_label("Horizon wk"), dbc.Input(id="wi-horizon", type="number", value=d["horizon_weeks"],
                                                     min=4, max=520, step=1, size="sm")], width=4),
        ], className="g-2"),
        _label("Recovery"),
        dbc.RadioItems(id="wi-recovery", value="step", inline=True, className="small", options=[
            {"label": "step at the end", "value": "step"}, {"label": "linear ramp", "value": "linear"}]),
        html.Div(_options_note(options), id="wi-options-note"),
        html.Div([dbc.Button("Run", id="wi-run", color="primary", className="px-4"),
                  dbc.Button("Clear", id="wi-clear", color="secondary", outline=True)],
                 className="d-flex gap-2 mt-3"),
        html.Hr(className="my-2"),
        _label("Save this scenario"),
        dbc.InputGroup([dbc.Input(id="wi-name", placeholder="name, e.g. India export ban", maxLength=60),
                        dbc.Button("Save", id="wi-save", color="secondary")], size="sm"),
        html.Div(id="wi-save-msg", className="hint mt-1"),
    ])


def _empty_results() -> tuple:
    msg = "Choose what fails, then Run"
    return (_kpis(None), empty_figure(msg, 330), empty_figure(msg, 330), [])


def _kpis(r) -> list:
    if r is None:
        vals = [("Time to survive", "—", "run a scenario", "wi-tts"), ("Lost units", "—", "", "wi-lost"),
                ("Markets short", "—", "", "wi-short"), ("Peak shortfall", "—", "", "wi-peak"),
                ("Full recovery", "—", "", "wi-recovery-day"), ("Sites failing", "—", "", "wi-nsites")]
    else:
        res = r.result
        s = scenarios.summary(res)
        horizon_demand = float(np.sum(res.daily_demand)) * res.horizon_days
        tts = s["time_to_survive_days"]
        vals = [
            ("Time to survive", "no shortage" if tts is None else days(tts),
             "days from the start to the first market short" if tts is not None else "within the horizon",
             "wi-tts"),
            ("Lost units", units(s["lost_units"]), f"{pct(s['lost_units'] / horizon_demand if horizon_demand else 0)}"
                                                   " of demand over the horizon", "wi-lost"),
            ("Markets short", f"{s['markets_short']} of {len(res.market_ids)}", "", "wi-short"),
            ("Peak shortfall", pct(s["peak_shortfall_fraction"]),
             "of daily demand" + (f", day {res.peak_shortfall_day}" if res.peak_shortfall_day is not None else ""),
             "wi-peak"),
            ("Full recovery", "none" if s["full_recovery_day"] is None else f"day {s['full_recovery_day']}",
             "not within the horizon" if s["full_recovery_day"] is None else "every market back to normal",
             "wi-recovery-day"),
            ("Sites failing", str(s["disrupted_sites"]),
             f"server time {r.seconds * 1000:,.0f} ms" + (" (cached)" if r.cached else ""), "wi-nsites"),
        ]
    tone = {"wi-tts": "danger"} if (r is not None and r.result.time_to_survive_days is not None) else {}
    return [dbc.Col(kpi(label, value, sub, id=i, tone=tone.get(i)), xs=6, md=4, xl=2) for label, value, sub, i in vals]


def market_rows(result) -> list[dict]:
    horizon = result.horizon_days
    rows = []
    for j, mid in enumerate(result.market_ids):
        lost = float(result.market_lost[j])
        first = int(result.market_first_shortfall[j])
        inflow_dip = (result.inflow_fraction is not None and float(np.min(result.inflow_fraction[:, j])) < 1 - 1e-9)
        if lost <= 0 and not inflow_dip:
            continue
        demand = float(result.daily_demand[j]) * horizon
        rows.append({"market_id": str(mid), "name": str(result.market_names[j]), "lost": lost,
                     "lost_share": lost / demand if demand else 0.0, "first_short": first if first >= 0 else None,
                     "days_short": int(result.market_days_short[j]),
                     "min_supplied": float(np.min(result.supplied_fraction[:, j]))
                     if result.supplied_fraction is not None else None})
    return sorted(rows, key=lambda r: (-r["lost"], r["market_id"]))


def spec_from(values: list, version: str, name: str | None = None, options=None) -> dict:
    """A scenario dict from the control values, in the order of :data:`CONTROLS` (and option ids in force)."""
    v = dict(zip(CONTROLS, values, strict=True))
    circle = None
    if v["wi-lat"] is not None and v["wi-lon"] is not None and v["wi-km"]:
        circle = {"lat": v["wi-lat"], "lon": v["wi-lon"], "km": v["wi-km"]}
    spec = {"sites": v["wi-sites"] or [], "countries": v["wi-countries"] or [], "regions": v["wi-regions"] or [],
            "operators": v["wi-operators"] or [], "circle": circle,
            "severity": (v["wi-severity"] if v["wi-severity"] is not None else 100) / 100.0,
            "start_day": v["wi-start"] or 0, "duration_weeks": v["wi-duration"] or scenarios.DEFAULTS["duration_weeks"],
            "recovery": v["wi-recovery"] or "step", "horizon_weeks": v["wi-horizon"] or 52,
            "options": list(options or [])}
    out = scenarios.normalise(spec)
    out["version"] = version
    if name:
        out["name"] = name
    return out


def run_view(ds, spec: dict) -> tuple:
    """Run a scenario and build what the page shows: KPIs, supply and stock charts, market rows, map colouring.

    This is the whole server-side work of the Run button (the test times it against the 300 ms budget).
    Raises DisruptionError for a scenario that cannot run.
    """
    r = scenarios.run(ds, spec)
    res = r.result
    horizon_demand = np.asarray(res.daily_demand, dtype=float) * res.horizon_days
    loss_share = {str(m): float(lost / d) if d > 0 else 0.0
                  for m, lost, d in zip(res.market_ids, res.market_lost, horizon_demand, strict=True) if lost > 0}
    if res.inflow_fraction is not None:
        for j in affected_markets(res, top=len(res.market_ids)):
            loss_share.setdefault(str(res.market_ids[j]), 0.0)
    stored = {"spec": r.spec, "version": ds.id, "market_loss": loss_share, "failed": list(res.disrupted_sites)}
    return (_kpis(r), supply_chart(res, r.spec), stock_chart(res, r.spec), market_rows(res), stored)


def layout(sites=None, weeks=None, options=None, **_):
    """The page; ``/what-if?sites=A,B&weeks=12&options=ID`` opens it with those sites, duration and
    regionalization options (the Regionalization page links here to test an option)."""
    ds = state.active()
    supply = set(ds.site_table.loc[ds.site_table["kind"] != "market", "site_id"])
    sites = [s for s in _query_list(sites) if s in supply]
    try:
        weeks = float(weeks) if weeks is not None and 0 < float(weeks) <= 520 else None
    except ValueError:
        weeks = None
    options = _query_list(options)
    return html.Div([
        dcc.Store(id="wi-version", data=ds.id),
        dcc.Store(id="wi-options", data=options),
        dcc.Store(id="wi-geo-click"),
        dcc.Store(id="wi-result"),
        dcc.Store(id="wi-saved"),  # the id of the scenario just saved: refreshes the compare choices
        html.Div([html.H4("What-if"), html.Span("a disruption over time: stock, transit, spare capacity and backup "
                                                "sources, day by day", className="lead-text")], className="page-title"),
        dbc.Row([
            dbc.Col(_controls(ds, sites, weeks, options), lg=3),
            dbc.Col([
                card("Map: what fails",
                     html.Div("Sites and their supply links coloured by kind. Failing sites have a vermillion ring; "
                              "after a run, the markets reached are coloured by the share of their demand lost.",
                              className="hint px-3 pt-2"),
                     html.Div(loading(dcc.Graph(id="wi-map", config={**GEO_CONFIG,
                                                                     "modeBarButtonsToAdd": ["lasso2d", "select2d"]},
                                                figure=network_map(ds, color_by="kind", height=430, uirevision="wi"),
                                                style={"height": "430px"})),
                              **{"data-geo-click": "wi-geo-click"}),
                     right=dbc.Select(id="wi-view", options=[{"label": r, "value": r} for r in REGION_VIEWS],
                                      value="World", size="sm", style={"width": "14rem"}), body_class="p-0"),
                dbc.Alert(id="wi-error", color="warning", is_open=False, className="py-2"),
                loading(dbc.Row(_kpis(None), id="wi-kpis", className="g-2 mb-3 results-kpis")),
                card("Results", dbc.Tabs([
                    dbc.Tab(loading(dcc.Graph(id="wi-supply", figure=_empty_results()[1],
                                              config={"displaylogo": False})),
                            label="Supply over time", tab_id="supply"),
                    dbc.Tab(loading(dcc.Graph(id="wi-stock", figure=_empty_results()[2],
                                              config={"displaylogo": False})),
                            label="Stock over time", tab_id="stock"),
                    dbc.Tab(grid("wi-markets", [], MARKET_COLUMNS, height="330px"), label="Markets",
                            tab_id="markets"),
                    dbc.Tab(html.Div([
                        dbc.Row([dbc.Col([_label("Scenario A"), dcc.Dropdown(id="wi-cmp-a", clearable=False)], md=6),
                                 dbc.Col([_label("Scenario B"), dcc.Dropdown(id="wi-cmp-b", clearable=False)], md=6)],
                                className="g-3 mb-2"),
                        loading(html.Div(id="wi-compare")),
                    ], className="pt-2"), label="Compare scenarios", tab_id="compare"),
                ], id="wi-tabs", active_tab="supply"),
                     html.Div(id="wi-command", className="hint mt-2"),
                     html.Div(report_downloads.buttons("what-if", ds.id), className="mt-2")),
            ], lg=9),
        ], className="g-3"),
    ])


# ---------------------------------------------------------------------------------------------- callbacks
@callback(Output("wi-sites", "value"), Output("wi-lat", "value"), Output("wi-lon", "value"),
          Output("wi-countries", "value"), Output("wi-regions", "value"), Output("wi-operators", "value"),
          Input("wi-map", "clickData"), Input("wi-map", "selectedData"), Input("wi-geo-click", "data"),
          Input("wi-circle-clear", "n_clicks"), Input("wi-clear", "n_clicks"),
          State("wi-mode", "value"), State("wi-sites", "value"), State("wi-version", "data"),
          prevent_initial_call=True)
def pick_on_map(click, selection, geo_click, _clear_circle, _clear, mode, sites, version):
    """Map clicks and lasso selections become sites (sites mode) or the circle's centre (circle mode)."""
    trig = ctx.triggered_id
    keep = (no_update,) * 3
    if trig == "wi-clear":
        return [], None, None, [], [], []
    if trig == "wi-circle-clear":
        return no_update, None, None, *keep
    sites = list(sites or [])
    if mode == "circle":
        if trig == "wi-geo-click" and geo_click:
            return no_update, geo_click["lat"], geo_click["lon"], *keep
        if trig == "wi-map" and ctx.triggered[0]["prop_id"].endswith("clickData") and click:
            p = click["points"][0]
            if "lat" in p and "lon" in p:
                return no_update, round(float(p["lat"]), 3), round(float(p["lon"]), 3), *keep
        return (no_update,) * 6
    ds = state.get(version)
    supply = set(ds.site_table.loc[ds.site_table["kind"] != "market", "site_id"])
    prop = ctx.triggered[0]["prop_id"]
    if prop.endswith("clickData"):
        sid = clicked_site(click)
        if sid is None or sid not in supply:
            return (no_update,) * 6
        sites = [s for s in sites if s != sid] if sid in sites else [*sites, sid]
        return sites, no_update, no_update, *keep
    if prop.endswith("selectedData"):
        picked = [s for s in selected_sites(selection) if s in supply]
        if not picked:
            return (no_update,) * 6
        return list(dict.fromkeys(sites + picked)), no_update, no_update, *keep
    return (no_update,) * 6


@callback(Output("wi-map", "figure"), Output("wi-selection", "children"),
          *[Input(c, "value") for c in ("wi-sites", "wi-countries", "wi-regions", "wi-operators", "wi-lat", "wi-lon",
                                        "wi-km", "wi-view")],
          Input("wi-result", "data"), State("wi-version", "data"), prevent_initial_call=True)
def preview(sites, countries, regions, operators, lat, lon, km, view, result, version):
    """The map shows what would fail (and the last run's hit markets); the text says how many sites."""
    ds = state.get(version)
    spec = spec_from([sites, countries, regions, operators, lat, lon, km, 100, 0, 1, "step", 52], version)
    ids, problems = scenarios.preview(ds.network, spec)
    circle = (spec["circle"]["lat"], spec["circle"]["lon"], spec["circle"]["km"]) if spec["circle"] else None
    loss = result.get("market_loss") if result and result.get("version") == version else None
    fig = network_map(ds, region=view, color_by="kind", failed=ids, circle=circle, market_loss=loss, height=430,
                      uirevision="wi")
    names = dict(zip(ds.site_table["site_id"], ds.site_table["name"].astype(str), strict=True))
    if ids:
        shown = ", ".join(names.get(s, s) for s in ids[:4]) + (f" and {len(ids) - 4} more" if len(ids) > 4 else "")
        info = [html.B(f"{len(ids)} supply site{'s' if len(ids) > 1 else ''} fail: "), shown]
    else:
        info = [html.Span("Nothing chosen yet.")]
    if problems:
        info += [html.Div(p, className="text-danger") for p in problems]
    return fig, info


@callback(Output("wi-kpis", "children"), Output("wi-supply", "figure"), Output("wi-stock", "figure"),
          Output("wi-markets", "rowData"), Output("wi-result", "data"), Output("last-run", "data"),
          Output("wi-error", "children"), Output("wi-error", "is_open"), Output("wi-command", "children"),
          Input("wi-run", "n_clicks"), *[State(c, "value") for c in CONTROLS], State("wi-version", "data"),
          State("wi-options", "data"), prevent_initial_call=True)
def run(n_clicks, *values):
    """Run the scenario: the simulation (cached) and the figures."""
    if not n_clicks:  # the page was just rendered (its outputs include an app-level store, so Dash calls it)
        raise PreventUpdate
    *controls, version, options = values
    ds = state.get(version)
    spec = spec_from(list(controls), version, options=options)
    try:
        kpis, supply, stock, rows, stored = run_view(ds, spec)
    except DisruptionError as exc:
        return (no_update,) * 6 + (str(exc), True, no_update)
    command = ["Same run from the command line: ", html.Code(scenarios.cli_command(spec, ds.cli_data))]
    if spec["options"]:
        command = ["Run on the network with the regionalization options in force (the command line has no form for "
                   "them yet); without them: ", html.Code(scenarios.cli_command(spec, ds.cli_data))]
    return kpis, supply, stock, rows, stored, {"spec": spec, "version": ds.id}, "", False, command


@callback(Output("wi-saved", "data"), Output("wi-save-msg", "children"),
          Input("wi-save", "n_clicks"), State("wi-name", "value"), *[State(c, "value") for c in CONTROLS],
          State("wi-version", "data"), State("wi-options", "data"), prevent_initial_call=True)
def save(n_clicks, name, *values):
    """Save the current scenario in the database for the version shown, with its key figures.

    Refused (nothing run, nothing written) unless the user may save scenarios. Saving under a name used before adds
    another scenario (nothing is overwritten; the compare choices show their authors and times).
    """
    if not n_clicks:
        raise PreventUpdate
    try:
        auth.require("scenario")
    except PermissionError:
        return no_update, _error(state.refusal("scenario", auth.current_user()))
    *controls, version, options = values
    name = " ".join(str(name or "").split())[:60]
    if not name:
        return no_update, _error("Give the scenario a name first.")
    ds = state.get(version)
    spec = spec_from(list(controls), ds.id, name, options=options)
    try:
        r = scenarios.run(ds, spec)
    except DisruptionError as exc:
        return no_update, _error(str(exc))
    versions = state.versions()
    try:
        saved = versions.save_scenario(ds.id, name, auth.current_user(), scenarios.normalise(spec),
                                       scenarios.summary(r.result))
    except PermissionError:
        return no_update, _error(state.refusal("scenario", auth.current_user()))
    except Exception:  # never a traceback in the page (it is in the server log)
        log.exception("saving a scenario failed")
        return no_update, _error("Saving failed (the error is in the server log): nothing was saved.")
    n = len(versions.scenarios(ds.id))
    return saved.id, f"Saved '{name}'. {n} scenario(s) saved for this dataset: compare them in the last tab."


def _error(text: str) -> html.Span:
    return html.Span(text, className="text-danger")


def _saved(version) -> dict[int, dict]:
    """The saved scenarios of a version by id: parameters plus ``name``, ``author`` and ``created``, oldest first."""
    return {s.id: {**s.parameters, "name": s.name, "author": s.author, "created": s.created_at}
            for s in state.versions().scenarios(version)}


@callback(Output("wi-cmp-a", "options"), Output("wi-cmp-b", "options"), Output("wi-cmp-a", "value"),
          Output("wi-cmp-b", "value"), Input("wi-saved", "data"), Input("wi-version", "data"),
          State("wi-cmp-a", "value"), State("wi-cmp-b", "value"))
def compare_options(just_saved, version, a, b):
    """The compare choices: the saved scenarios of the version shown (from the database), the newest as B."""
    mine = _saved(version)
    opts = [{"label": f"{s['name']} · {s['author']}, {s['created']:%Y-%m-%d %H:%M}", "value": sid}
            for sid, s in mine.items()]
    ids = list(mine)
    if not ids:
        return opts, opts, None, None
    if just_saved in ids and ctx.triggered_id == "wi-saved":
        b = just_saved
    elif b not in ids:
        b = ids[-1]
    if a not in ids or a == b:
        a = next((i for i in reversed(ids) if i != b), b)
    return opts, opts, a, b


def _scenario_column(label: str, s: dict, r) -> dbc.Col:
    sm = scenarios.summary(r.result)
    tts = sm["time_to_survive_days"]
    rows = [("Time to survive", "no shortage" if tts is None else days(tts)),
            ("Lost units", units(sm["lost_units"])), ("Markets short", str(sm["markets_short"])),
            ("Peak shortfall", pct(sm["peak_shortfall_fraction"])), ("Days in shortage", str(sm["days_in_shortage"])),
            ("Full recovery",
             "not in horizon" if sm["full_recovery_day"] is None else f"day {sm['full_recovery_day']}"),
            ("Sites failing", str(sm["disrupted_sites"]))]
    return dbc.Col(html.Div([
        html.H6([html.Span(label, className="badge bg-secondary me-2"), s["name"]], className="mb-1"),
        html.Div(scenarios.describe(s), className="hint mb-2"),
        html.Table(html.Tbody([html.Tr([html.Th(k, className="fw-normal text-muted"), html.Td(v, className="num")])
                               for k, v in rows]), className="table table-sm table-compact mb-2"),
        dcc.Graph(figure=supply_chart(r.result, r.spec, top=5, height=240), config={"displaylogo": False}),
    ], className="scenario-col"), md=6)


@callback(Output("wi-compare", "children"), Input("wi-cmp-a", "value"), Input("wi-cmp-b", "value"),
          State("wi-version", "data"))
def compare(a, b, version):
    """Two saved scenarios side by side: key figures, the most affected markets, and both on one chart."""
    mine = _saved(version)
    if len(mine) < 1 or a not in mine or b not in mine:
        return html.P("Save two scenarios (name + Save, under the controls) to compare them here.",
                      className="text-muted")
    ds = state.get(version)
    cols, runs = [], []
    for label, sid in (("A", a), ("B", b)):
        name = mine[sid]["name"]
        try:
            r = scenarios.run(ds, mine[sid])
        except DisruptionError as exc:
            return dbc.Alert(f"{name}: {exc}", color="warning")
        cols.append(_scenario_column(label, mine[sid], r))
        runs.append((f"{label}: {name}", r.result, r.spec))
    return html.Div([dbc.Row(cols, className="g-3"),
                     html.H6("Both scenarios: mean share of demand supplied over all markets", className="mt-3"),
                     dcc.Graph(figure=total_supply_chart(runs, height=260), config={"displaylogo": False})])


@callback(Output("wi-options", "data"), Output("wi-options-note", "children"),
          Input({"type": "wi-options-drop", "i": dash.ALL}, "n_clicks"), prevent_initial_call=True)
def drop_options(clicks):
    """'run without': the next runs use the plain network."""
    if not any(clicks or []):
        raise PreventUpdate
    return [], []
