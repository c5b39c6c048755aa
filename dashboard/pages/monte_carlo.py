"""Monte Carlo page (``/monte-carlo``): many simulated years of random disruptions, run in the background.

Controls: the number of simulated years (:data:`MIN_YEARS` to :data:`MAX_YEARS`, default 1,000) and the seed
(default 0; shown with the results and in the equivalent command line, so any run can be made again). Run starts a
**background callback** (Dash ``DiskcacheManager``, :mod:`dashboard.jobs`): the analysis runs in a child process of
the web server, a progress bar follows the years done, Cancel stops it. Then: key figures (expected annual loss in
units and as a share of annual demand, the 95th percentile, CVaR95, the probability of a year with a loss), the loss
distribution (histogram and exceedance curve, with the expected loss, p95 and CVaR95 marked), the per-market table,
each site's contribution to the expected loss (table and map) and the same run as a ``riskmodel montecarlo`` command.

The analysis is :func:`riskmodel.montecarlo.run_montecarlo`; this module only turns its result into plain data
(:func:`payload_from`, JSON) and that data into figures and tables (:func:`result_view`). Finished runs are kept on
disk (:class:`dashboard.jobs.ResultCache`) by dataset tables, years, seed and the ``riskmodel`` code, so a second
visit (any user, any worker process) shows the last run of the version at once and the same run again is not
computed twice.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import math
import re
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import dash
import dash_bootstrap_components as dbc
import numpy as np
import pandas as pd
from dash import Input, Output, State, callback, dcc, html, no_update
from dash.exceptions import PreventUpdate

from dashboard import jobs, state
from dashboard.charts import exceedance_curve, loss_histogram
from dashboard.components import card, grid, kpi
from dashboard.maps import GEO_CONFIG, REGION_VIEWS, contribution_map
from dashboard.theme import kind_label, pct, units
from riskmodel.montecarlo import MonteCarloError

dash.register_page(__name__, path="/monte-carlo", name="Monte Carlo", title="Monte Carlo · Supply-chain risk",
                   order=2.5)
log = logging.getLogger(__name__)

MIN_YEARS, MAX_YEARS, DEFAULT_YEARS = 100, 20_000, 1000
#: weeks in a year, for the annual demand a loss is a share of
WEEKS_PER_YEAR = 365.0 / 7.0
#: version of the payload format kept in the result cache (a change makes old entries misses)
PAYLOAD_FORMAT = 1
#: how often the job writes its progress (seconds): the page polls every POLL_MS
PROGRESS_EVERY = 0.25
POLL_MS = 500

_num = {"type": "rightAligned", "filter": "agNumberColumnFilter"}
_units = {"function": "params.value == null ? '' : d3.format(',.0f')(params.value)"}
_pct = {"function": "params.value == null ? '' : d3.format('.2%')(params.value)"}
MARKET_COLUMNS = [
    {"field": "market_id", "headerName": "Market", "width": 120, "pinned": "left"},
    {"field": "name", "headerName": "Name", "minWidth": 200, "flex": 2},
    {"field": "annual_demand", "headerName": "Demand/yr", "width": 120, **_num, "valueFormatter": _units},
    {"field": "expected_loss", "headerName": "Expected loss/yr", "width": 145, **_num, "valueFormatter": _units,
     "sort": "desc", "headerTooltip": "mean units lost per simulated year"},
    {"field": "loss_share", "headerName": "Share of demand", "width": 135, **_num, "valueFormatter": _pct,
     "headerTooltip": "expected annual loss as a share of the market's annual demand"},
    {"field": "p95", "headerName": "p95", "width": 110, **_num, "valueFormatter": _units,
     "headerTooltip": "95th percentile of the units lost in a year: at most one year in twenty loses more"},
    {"field": "cvar95", "headerName": "CVaR95", "width": 110, **_num, "valueFormatter": _units,
     "headerTooltip": "mean loss of the worst 5% of years"},
    {"field": "prob_loss", "headerName": "P(loss year)", "width": 120, **_num, "valueFormatter": _pct,
     "headerTooltip": "share of simulated years in which the market lost any units"},
]
SITE_COLUMNS = [
    {"field": "name", "headerName": "Site", "minWidth": 190, "flex": 2, "pinned": "left", "tooltipField": "site_id"},
    {"field": "share_of_expected_loss", "headerName": "Share", "width": 95, **_num, "valueFormatter": _pct,
     "sort": "desc", "headerTooltip": "share of the expected annual loss (all markets)"},
    {"field": "expected_loss_contribution", "headerName": "Loss/yr", "width": 105, **_num,
     "valueFormatter": _units, "headerTooltip": "units a year of the expected loss attributed to this site"},
    {"field": "events_per_year", "headerName": "Events/yr", "width": 100, **_num,
     "valueFormatter": {"function": "params.value == null ? '' : d3.format('.3f')(params.value)"},
     "headerTooltip": "simulated events a year that hit the site (its own, its country's, hazards)"},
    {"field": "kind", "headerName": "Kind", "width": 105},
    {"field": "country", "headerName": "Country", "width": 95},
    {"field": "site_id", "headerName": "Site id", "width": 200},
]
SOURCE_COLUMNS = [
    {"field": "label", "headerName": "Event source", "minWidth": 220, "flex": 2, "pinned": "left"},
    {"field": "share_of_expected_loss", "headerName": "Share", "width": 95, **_num, "valueFormatter": _pct,
     "sort": "desc"},
    {"field": "expected_loss_contribution", "headerName": "Loss/yr", "width": 105, **_num, "valueFormatter": _units,
     "headerTooltip": "units a year of the expected loss that go without the events of this source"},
    {"field": "events_per_year", "headerName": "Events/yr", "width": 100, **_num,
     "valueFormatter": {"function": "params.value == null ? '' : d3.format('.3f')(params.value)"}},
    {"field": "type", "headerName": "Type", "width": 120},
]


# ---------------------------------------------------------------------------------------------- plain data
def _clean(value):
    """A JSON-safe scalar: numpy numbers to Python, NaN and infinities to None."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _records(frame: pd.DataFrame, columns: list[str]) -> list[dict]:
    cols = [c for c in columns if c in frame.columns]
    return [{c: _clean(v) for c, v in zip(cols, row, strict=True)}
            for row in frame[cols].itertuples(index=False, name=None)]


def payload_from(result, ds=None, seconds: float | None = None) -> dict:
    """A :class:`riskmodel.montecarlo.MonteCarloResult` as plain data (JSON-safe): what the page shows, nothing else.

    Parameters
    ----------
    result : MonteCarloResult
        A finished run.
    ds : dashboard.state.Dataset, optional
        The dataset version it ran on (recorded: id, name, the ``DATA`` of the command line).
    seconds : float, optional
        How long the run took.

    Returns
    -------
    dict
        ``years``, ``seed``, ``total`` (units lost per simulated year), ``all`` (the summary row ``market_id ==
        "ALL"``), ``markets`` (the other summary rows), ``sites`` (contributions, largest first), ``sources`` (the
        same by event source), ``events`` (count and count by type), ``seconds``, ``created``, ``version``,
        ``dataset``, ``cli_data``.
    """
    summary = result.summary
    columns = ["market_id", "name", "weekly_demand", "expected_loss", "p95", "cvar95", "prob_loss", "max_loss"]
    is_all = summary["market_id"].astype(str) == "ALL"
    events = result.events
    by_type = events["type"].astype(str).value_counts() if len(events) else pd.Series(dtype=int)
    sources = getattr(result, "event_sources", None)
    return {
        "format": PAYLOAD_FORMAT,
        "years": int(result.years), "seed": int(result.seed),
        "total": [_clean(float(v)) for v in np.asarray(result.total, dtype=float)],
        "all": (_records(summary[is_all], columns) or [{}])[0],
        "markets": _records(summary[~is_all], columns),
        "sites": _records(result.contributions, ["site_id", "name", "kind", "country", "lat", "lon",
                                                 "events_per_year", "expected_loss_contribution",
                                                 "share_of_expected_loss"]),
        "sources": [] if sources is None else _records(sources, ["type", "label", "events_per_year",
                                                                 "expected_loss_contribution",
                                                                 "share_of_expected_loss"]),
        "events": {"count": len(events), "by_type": {str(k): int(v) for k, v in by_type.items() if v > 0}},
        "seconds": None if seconds is None else round(float(seconds), 3),
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "version": getattr(ds, "id", None), "dataset": getattr(ds, "name", None),
        "cli_data": getattr(ds, "cli_data", "DATA"),
    }


# ---------------------------------------------------------------------------------------------- cache keys
@functools.lru_cache(maxsize=1)
def code_tag() -> str:
    """A digest of the ``riskmodel`` package's source and of the default event model's tables (``data/hazards``):
    cached results of other code or other event probabilities are never shown."""
    import riskmodel
    from riskmodel.paths import data_path

    h = hashlib.sha256()
    files = [*Path(riskmodel.__file__).parent.rglob("*.py"), *data_path("hazards").glob("*")]
    for path in sorted(files):
        h.update(path.name.encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:16]


_digests: dict[str, str] = {}
_digest_lock = threading.Lock()


def dataset_digest(ds) -> str:
    """:func:`dashboard.state.table_checksum` of a dataset version (computed once per loaded version)."""
    with _digest_lock:
        hit = _digests.get(ds.cache_key)
    if hit is None:
        hit = state.table_checksum(ds.report)
        with _digest_lock:
            _digests[ds.cache_key] = hit
    return hit


def scope(ds) -> str:
    """The result cache's scope of a dataset version (its latest run is shown on a visit)."""
    return f"montecarlo:{dataset_digest(ds)}"


#: what a result key looks like: scope (tables checksum), years, seed, payload format, code digest
KEY_PATTERN = re.compile(r"montecarlo:[0-9a-f]{64}:\d{1,6}:\d{1,10}:\d{1,3}:[0-9a-f]{16}")


def result_key(ds, years: int, seed: int) -> str:
    """The result cache key of a run: dataset tables, years, seed, payload format and ``riskmodel`` code."""
    return f"{scope(ds)}:{int(years)}:{int(seed)}:{PAYLOAD_FORMAT}:{code_tag()}"


# ---------------------------------------------------------------------------------------------- inputs
def check_inputs(years, seed) -> tuple[int | None, int | None, str | None]:
    """The years and seed typed in, as integers, or a message saying what is wrong.

    Examples
    --------
    >>> check_inputs(1000, 0), check_inputs("200", "7")
    ((1000, 0, None), (200, 7, None))
    >>> check_inputs(50, 0)[2]
    'Simulated years: a whole number from 100 to 20,000.'
    """
    def whole(v):
        try:
            f = float(v)
        except (TypeError, ValueError):
            return None
        return int(f) if math.isfinite(f) and f == int(f) else None

    y, s = whole(years), whole(seed)
    if y is None or not MIN_YEARS <= y <= MAX_YEARS:
        return None, None, f"Simulated years: a whole number from {MIN_YEARS:,} to {MAX_YEARS:,}."
    if s is None or not 0 <= s < 2**32:
        return None, None, "Seed: a whole number from 0 to 4,294,967,295."
    return y, s, None


def command(years: int, seed: int, data: str = "DATA") -> str:
    """The same run from the command line.

    Examples
    --------
    >>> command(1000, 0, "data/sample")
    'riskmodel montecarlo data/sample --years 1000 --seed 0'
    """
    return f"riskmodel montecarlo {data} --years {int(years)} --seed {int(seed)}"


# ---------------------------------------------------------------------------------------------- running
def _network(ds):
    """The network of ``ds``. In a forked job process the cached one is reused; one not built yet is built directly
    (not through ``Dataset.network``, whose lock another thread of the parent may have held at the fork)."""
    net = ds.__dict__.get("network")
    return net if net is not None else ds.report.network()


def compute(ds, years: int, seed: int, progress=None) -> tuple[str, dict, bool]:
    """The run of ``years`` and ``seed`` on ``ds``: from the result cache, else run and stored there.

    Parameters
    ----------
    ds : dashboard.state.Dataset
        The dataset version.
    years, seed : int
        As checked by :func:`check_inputs`.
    progress : callable, optional
        ``progress(done_years, total_years)``, passed to :func:`riskmodel.montecarlo.run_montecarlo`.

    Returns
    -------
    (key, payload, cached)
        The cache key, the plain data of the run (:func:`payload_from`) and whether it came from the cache.

    Raises
    ------
    riskmodel.montecarlo.MonteCarloError
        The run cannot be made (the message is for people).
    dashboard.jobs.NotStored
        The result could not be written to the cache.
    """
    from riskmodel.montecarlo import run_montecarlo

    cache = jobs.results()
    key = result_key(ds, years, seed)
    hit = cache.get(key)
    if hit is not None:
        return key, hit, True
    result = run_montecarlo(_network(ds), years, seed=seed, progress=progress)
    payload = payload_from(result, ds, result.elapsed_s)
    cache.put(key, payload, scope=scope(ds))  # raises jobs.NotStored: the page reads it from there
    return key, payload, False


def _reporter(set_progress):
    """``progress(done, total)`` for the analysis: writes the progress bar's value and label, at most every
    :data:`PROGRESS_EVERY` seconds (and at the end)."""
    last = [0.0]

    def report(done, total):
        now = time.monotonic()
        if done < total and now - last[0] < PROGRESS_EVERY:
            return
        last[0] = now
        share = 100.0 * float(done) / float(total) if total else 100.0
        set_progress((round(share, 1), f"{int(done):,} of {int(total):,} years"))

    return report


# ---------------------------------------------------------------------------------------------- views
def _kpis(payload: dict | None) -> list:
    if payload is None:
        vals = [("Expected annual loss", "—", "run the simulation", "mc-expected", None),
                ("p95 annual loss", "—", "", "mc-p95", None), ("CVaR95", "—", "", "mc-cvar", None),
                ("Probability of a loss year", "—", "", "mc-prob", None), ("Worst year", "—", "", "mc-worst", None),
                ("Events simulated", "—", "", "mc-events", None)]
    else:
        a = payload["all"]
        annual = (a.get("weekly_demand") or 0.0) * WEEKS_PER_YEAR
        exp = a.get("expected_loss")
        ev = payload["events"]
        n = max(int(payload["years"]), 1)
        vals = [
            ("Expected annual loss", units(exp), (pct(exp / annual, 2) + " of annual demand") if annual and
             exp is not None else "", "mc-expected", f"{exp:,.1f} units" if exp is not None else None),
            ("p95 annual loss", units(a.get("p95")), "at most one year in 20 loses more", "mc-p95", None),
            ("CVaR95", units(a.get("cvar95")), "mean of the worst 5% of years", "mc-cvar", None),
            ("Probability of a loss year", pct(a.get("prob_loss")), "years in which any market lost units",
             "mc-prob", None),
            ("Worst year", units(a.get("max_loss")), f"of {payload['years']:,} simulated years", "mc-worst", None),
            ("Events simulated", f"{ev['count']:,}", f"{ev['count'] / n:,.2f} a year", "mc-events", None),
        ]
    return [dbc.Col(kpi(label, value, sub, id=i, title=title), xs=6, md=4, xl=2)
            for label, value, sub, i, title in vals]


def market_rows(payload: dict) -> list[dict]:
    """The per-market table (the "ALL" row is pinned on top separately)."""
    rows = []
    for r in payload["markets"]:
        annual = (r.get("weekly_demand") or 0.0) * WEEKS_PER_YEAR
        exp = r.get("expected_loss")
        rows.append({**{k: r.get(k) for k in ("market_id", "name", "expected_loss", "p95", "cvar95", "prob_loss")},
                     "annual_demand": annual, "loss_share": (exp / annual) if annual and exp is not None else None})
    return rows


def all_row(payload: dict) -> dict:
    a = payload["all"]
    annual = (a.get("weekly_demand") or 0.0) * WEEKS_PER_YEAR
    exp = a.get("expected_loss")
    return {"market_id": "ALL", "name": a.get("name") or "All markets", "annual_demand": annual, "expected_loss": exp,
            "loss_share": (exp / annual) if annual and exp is not None else None, "p95": a.get("p95"),
            "cvar95": a.get("cvar95"), "prob_loss": a.get("prob_loss")}


def site_rows(payload: dict) -> list[dict]:
    """The site contributions table (largest first, as the analysis ranks them)."""
    return [{**r, "kind": kind_label(str(r.get("kind", "")))} for r in payload["sites"]]


def source_rows(payload: dict) -> list[dict]:
    """The contributions by event source (site event types, each country event, each hazard zone)."""
    return [{**r, "type": str(r.get("type", "")).replace("_", " ")} for r in payload.get("sources", [])]


def marks(payload: dict) -> dict:
    """The values the loss distribution marks: expected loss, p95 and CVaR95 of all markets."""
    a = payload["all"]
    return {k: (float(a[k2]) if a.get(k2) is not None else None)
            for k, k2 in (("expected", "expected_loss"), ("p95", "p95"), ("cvar95", "cvar95"))}


def _events_line(payload: dict) -> str:
    ev = payload["events"]
    parts = ", ".join(f"{t.replace('_', ' ')} {n:,}" for t, n in sorted(ev["by_type"].items(), key=lambda x: -x[1]))
    return f"{ev['count']:,} events in {payload['years']:,} simulated years" + (f": {parts}" if parts else "")


def _header(payload: dict, ds, cached: bool) -> html.Div:
    took = payload.get("seconds")
    when = str(payload.get("created") or "").replace("T", " ").replace("+00:00", " UTC")
    text = (f"{payload['years']:,} simulated years · seed {payload['seed']} · {ds.label} · computed {when}"
            + (f" in {took:,.1f} s" if took is not None else "") + (" · from the cache" if cached else ""))
    return html.Div(text, id="mc-run-info", className="hint mb-2")


def _sites_frame(payload: dict) -> pd.DataFrame:
    return pd.DataFrame(payload["sites"], columns=["site_id", "name", "kind", "country", "lat", "lon",
                                                   "events_per_year", "expected_loss_contribution",
                                                   "share_of_expected_loss"])


def result_view(payload: dict, ds, cached: bool = False, region: str = "World") -> list:
    """What the page shows of a run: header, key figures, loss distribution, site contributions, markets, command."""
    total = [v or 0.0 for v in payload["total"]]
    m = marks(payload)
    sites = _sites_frame(payload)
    return [
        _header(payload, ds, cached),
        dbc.Row(_kpis(payload), className="g-2 mb-3 results-kpis"),
        card("Loss distribution: units lost in a simulated year, all markets", dbc.Tabs([
            dbc.Tab(dcc.Graph(id="mc-hist", figure=loss_histogram(total, m), config={"displaylogo": False}),
                    label="Histogram", tab_id="hist"),
            dbc.Tab(dcc.Graph(id="mc-exceed", figure=exceedance_curve(total, m), config={"displaylogo": False}),
                    label="Exceedance curve", tab_id="exceed"),
        ], id="mc-dist-tabs", active_tab="hist"),
             html.Div(_events_line(payload), className="hint mt-1")),
        dbc.Row([
            dbc.Col(card("Where the expected loss comes from",
                         html.Div("Supply sites sized and coloured by their contribution to the expected annual loss;"
                                  " grey: none (or negative); diamonds: markets.", className="hint px-3 pt-2"),
                         dcc.Graph(id="mc-map", figure=contribution_map(sites, ds, region=region),
                                   config=GEO_CONFIG, style={"height": "430px"}),
                         right=dbc.Select(id="mc-view", options=[{"label": r, "value": r} for r in REGION_VIEWS],
                                          value=region, size="sm", style={"width": "12rem"}),
                         body_class="p-0"), lg=7),
            dbc.Col(card("Contributions to the expected annual loss", dbc.Tabs([
                dbc.Tab(grid("mc-sites", site_rows(payload), SITE_COLUMNS, height="410px", row_id="site_id"),
                        label="Sites", tab_id="sites"),
                dbc.Tab(grid("mc-sources", source_rows(payload), SOURCE_COLUMNS, height="410px"),
                        label="Event sources", tab_id="sources"),
            ], id="mc-contrib-tabs", active_tab="sites"),
                html.Div("A site's contribution: the expected loss that goes when its own shutdowns, fires and "
                         "accidents are taken out (shared events kept). Events that overlap make contributions not "
                         "add up to the expected loss, and can make one negative.", className="hint mt-1")),
                    lg=5),
        ], className="g-3"),
        card("Markets", grid("mc-markets", market_rows(payload), MARKET_COLUMNS, height="320px",
                             dashGridOptions={"pinnedTopRowData": [all_row(payload)]})),
        html.Div(["Same run from the command line: ",
                  html.Code(command(payload["years"], payload["seed"], ds.cli_data), id="mc-command")],
                 className="hint"),
    ]


def _empty_view(message: str | None = None) -> list:
    return [dbc.Row(_kpis(None), className="g-2 mb-3 results-kpis"),
            html.Div(message or "Choose how many years to simulate and a seed, then Run. Each simulated year draws "
                                "random disruptions (site shutdowns and fires, export bans and lockdowns, hurricanes "
                                "and earthquakes) from their yearly probabilities and durations, and counts the units "
                                "each market loses.", className="text-muted p-3 border rounded bg-light")]


def _progress_done(payload: dict, cached: bool) -> tuple[float, str]:
    n = int(payload["years"])
    return 100, f"{n:,} of {n:,} years" + (" (cached)" if cached else "")


# ---------------------------------------------------------------------------------------------- layout
def _controls(years: int, seed: int) -> dbc.Card:
    label = "control-label"
    return card("Run", *[
        html.Label("Simulated years", className=label, htmlFor="mc-years"),
        dbc.Input(id="mc-years", type="number", value=years, min=MIN_YEARS, max=MAX_YEARS, step=1, size="sm"),
        html.Div(f"{MIN_YEARS:,} to {MAX_YEARS:,}; more years give steadier tails (p95, CVaR95)", className="hint"),
        html.Label("Seed", className=label + " mt-2", htmlFor="mc-seed"),
        dbc.Input(id="mc-seed", type="number", value=seed, min=0, step=1, size="sm"),
        html.Div("the same seed and years give the same result", className="hint"),
        html.Div([dbc.Button("Run", id="mc-run", color="primary", className="px-4"),
                  dbc.Button("Cancel", id="mc-cancel", color="secondary", outline=True, disabled=True)],
                 className="d-flex gap-2 mt-3"),
        dbc.Progress(id="mc-progress", value=0, label="", className="mt-3", style={"height": "1.25rem"},
                     color="info"),
        html.Div(id="mc-status", className="hint mt-2", role="status"),
    ])


def layout(**_):
    ds = state.active()
    key = {}
    years, seed = DEFAULT_YEARS, 0
    latest = jobs.results().latest(scope(ds))
    if latest is not None and KEY_PATTERN.fullmatch(latest):  # the version's last run (any user, any worker) ...
        y, s = (int(x) for x in latest.split(":")[2:4])
        if latest == result_key(ds, y, s):  # ... made by this code
            years, seed, key = y, s, {"version": ds.id, "key": latest, "cached": True}
    return html.Div([
        dcc.Store(id="mc-version", data=ds.id),
        dcc.Store(id="mc-key", data=key),
        html.Div([html.H4("Monte Carlo"),
                  html.Span("many simulated years of random disruptions: how much a year could lose, and where the "
                            "loss comes from", className="lead-text")], className="page-title"),
        dbc.Row([
            dbc.Col(_controls(years, seed), lg=3),
            dbc.Col(html.Div(_empty_view("Loading the last run…") if key else _empty_view(), id="mc-results"), lg=9),
        ], className="g-3"),
    ])


# ---------------------------------------------------------------------------------------------- callbacks
@callback(Output("mc-key", "data"), Output("mc-status", "children"),
          Input("mc-run", "n_clicks"), State("mc-version", "data"), State("mc-years", "value"),
          State("mc-seed", "value"),
          background=True, interval=POLL_MS, prevent_initial_call=True,
          running=[(Output("mc-run", "disabled"), True, False), (Output("mc-cancel", "disabled"), False, True),
                   (Output("mc-progress", "animated"), True, False), (Output("mc-progress", "striped"), True, False),
                   (Output("mc-years", "disabled"), True, False), (Output("mc-seed", "disabled"), True, False)],
          progress=[Output("mc-progress", "value"), Output("mc-progress", "label")],
          cancel=[Input("mc-cancel", "n_clicks")])
def run(set_progress, n_clicks, version, years, seed):
    """Run the simulation in the background job process (or find it in the result cache); the page then shows it.

    Runs in a child process of the web server (:mod:`dashboard.jobs`): it reads the dataset version through
    :mod:`dashboard.state` as a request would. Any error becomes a message (the traceback goes to the server log).
    """
    if not n_clicks:
        raise PreventUpdate
    years, seed, problem = check_inputs(years, seed)
    if problem:
        return no_update, html.Span(problem, className="text-danger")
    try:
        ds = state.get(version)
        set_progress((0, "starting…"))
        key, payload, cached = compute(ds, years, seed, progress=_reporter(set_progress))
        set_progress(_progress_done(payload, cached))
        return {"version": ds.id, "key": key, "cached": cached}, ""
    except MonteCarloError as exc:  # a run that cannot be made: the analysis says why, for people
        return no_update, html.Span(str(exc), className="text-danger")
    except jobs.NotStored:
        log.exception("the Monte Carlo run (%s years, seed %s) could not be stored", years, seed)
        return no_update, html.Span("The run finished but its result could not be kept on disk (the error is in the "
                                    "server log).", className="text-danger")
    except Exception:  # never a traceback in the page: it is in the server log
        log.exception("the Monte Carlo run (%s years, seed %s) failed", years, seed)
        return no_update, html.Span("The simulation failed (the error is in the server log). Nothing was stored.",
                                    className="text-danger")


@callback(Output("mc-results", "children"), Output("mc-progress", "value", allow_duplicate=True),
          Output("mc-progress", "label", allow_duplicate=True),
          Input("mc-key", "data"), prevent_initial_call="initial_duplicate")
def show(key):
    """Show a finished run: read its plain data from the result cache (by the key the job stored it under) and draw
    it."""
    if not key:
        raise PreventUpdate
    ds, payload = _stored(key)
    if payload is None:
        return _empty_view("This run is no longer in the cache: Run it again."), 0, ""
    cached = bool(key.get("cached"))
    return (result_view(payload, ds, cached), *_progress_done(payload, cached))


def _stored(key: dict) -> tuple:
    """The dataset version and the stored plain data of a run named by the page (``mc-key``); None if not there.
    The page sends the key: only a well-formed result key is looked up (results are the same for every user)."""
    ds = state.get(key.get("version"))
    text = key.get("key")
    if not isinstance(text, str) or not KEY_PATTERN.fullmatch(text):
        return ds, None
    return ds, jobs.results().get(text)


@callback(Output("mc-status", "children", allow_duplicate=True), Input("mc-cancel", "n_clicks"),
          prevent_initial_call=True)
def cancelled(n_clicks):
    """Say that the run was cancelled (Dash stops the job process itself)."""
    if not n_clicks:
        raise PreventUpdate
    return "Run cancelled: nothing was stored."


@callback(Output("mc-map", "figure"), Input("mc-view", "value"), State("mc-key", "data"),
          prevent_initial_call=True)
def zoom(region, key):
    """The contribution map zoomed to a region."""
    if not key:
        raise PreventUpdate
    ds, payload = _stored(key)
    if payload is None:
        raise PreventUpdate
    return contribution_map(_sites_frame(payload), ds, region=region if region in REGION_VIEWS else "World")
