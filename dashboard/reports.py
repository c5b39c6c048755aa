"""Reports: the overview or a what-if scenario as a self-contained HTML page, a PDF and an Excel workbook.

This module owns what a report shows and its three renderings. It is a view: every number comes from results
already computed by :mod:`riskmodel` (through the cached analyses of :class:`dashboard.state.Dataset` and
:func:`dashboard.scenarios.run`); the maps and charts are the dashboard's own figures (:mod:`dashboard.maps`,
:mod:`dashboard.charts`); the workbook is :func:`riskmodel.export.to_xlsx_bytes` (formula cells neutralised).

* :func:`overview_report` and :func:`whatif_report` build a :class:`Report` (title, sections with headline numbers,
  tables and figures, the sheets of the workbook).
* :func:`to_html` renders it as one HTML file with nothing outside it: inline CSS, figures as base64 images (maps
  as PNG, charts as SVG) drawn by kaleido with the country outlines of ``assets/topojson`` (``file://`` URL, so no
  CDN), and a Content-Security-Policy that lets the page load nothing from anywhere.
* :func:`to_pdf` prints that HTML to an A4 PDF with headless Chromium (the browser kaleido uses too), sections
  starting on new pages where they are marked to.
* :func:`to_xlsx` writes the result tables as a workbook.

Images: kaleido 1.x draws figures in a Chromium it starts itself. :func:`figure_image` starts kaleido's sync server
once per process (lazily, behind a lock: about 4 s, then about 0.4 s an image) and falls back to one browser per
image when that API is missing or the server died. Chromium is required for HTML and PDF (not for Excel): without it
:class:`ReportError` says how to install it.
"""

from __future__ import annotations

import asyncio
import base64
import html
import logging
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from dashboard import scenarios
from dashboard.charts import affected_markets, country_exposure_bars, stock_chart, supply_chart
from dashboard.maps import network_map
from dashboard.theme import FONT, days, kind_label, pct, units
from riskmodel.concentration import TIERS
from riskmodel.export import exposure_table, simulation_tables, to_xlsx_bytes
from riskmodel.paths import TOPOJSON_DIR

__all__ = [
    "CHROMIUM_MISSING",
    "Figure",
    "Number",
    "Report",
    "ReportError",
    "Section",
    "Table",
    "figure_image",
    "find_chromium",
    "overview_figures",
    "overview_report",
    "render",
    "short_error",
    "start_renderer",
    "to_html",
    "to_pdf",
    "to_xlsx",
    "whatif_report",
]

log = logging.getLogger(__name__)

#: the message every report (HTML, PDF) gives when no Chromium is installed
CHROMIUM_MISSING = "PDF and HTML reports need Chromium: apt-get install chromium"
#: seconds one figure image may take (the first one starts the browser: about 4 s)
IMAGE_TIMEOUT = 120.0
#: seconds the PDF print may take
PDF_TIMEOUT = 120.0
#: rows of the long tables in the HTML/PDF (the workbook has every row)
MAX_ROWS = 25
TOP_EXPOSURES = 15
#: maps: layout width (px) and PNG scale (1.5: about 200 dpi across an A4 page); charts: SVG width
MAP_WIDTH, MAP_HEIGHT, MAP_SCALE = 1000, 520, 1.5
CHART_WIDTH = 820

# Chromium flags for printing: no first-run work, no background traffic; every host name resolves to nothing, so the
# print is offline by construction (the page itself loads nothing either: see the CSP in to_html)
_CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic", "--no-first-run",
    "--no-default-browser-check", "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-extensions", "--disable-default-apps", "--disable-domain-reliability", "--metrics-recording-only",
    "--disable-client-side-phishing-detection", "--mute-audio", "--hide-scrollbars",
    "--disable-features=NetworkTimeServiceQuerying,AutofillServerCommunication,OptimizationHints,MediaRouter,"
    "Translate",
    "--host-resolver-rules=MAP * ~NOTFOUND", "--no-pdf-header-footer", "--print-to-pdf-no-header",
]
_CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")
_CHROMIUM_PATHS = ("/usr/lib/chromium/chromium", "/usr/bin/chromium", "/snap/bin/chromium")


class ReportError(RuntimeError):
    """A report cannot be made; the message is for the user (no traceback)."""


# ---------------------------------------------------------------------------------------------- the report
@dataclass
class Number:
    """A headline number: a label, the value as shown, a line under it, and the raw value (for the workbook).

    ``key`` names it in the HTML (``data-key``) so that tests and scripts can find it.
    """

    key: str
    label: str
    value: str
    note: str = ""
    raw: object = None
    tone: str = ""


@dataclass
class Table:
    """A table as shown: display strings, the columns to right-align (numbers), a note under it, the columns kept
    on one line."""

    title: str
    frame: pd.DataFrame
    numeric: tuple[str, ...] = ()
    note: str = ""
    nowrap: tuple[str, ...] = ()


@dataclass
class Figure:
    """A plotly figure and how it becomes a static image (``png`` for maps, ``svg`` for charts).

    ``image`` keeps the rendered bytes, so rendering a report as HTML and then as PDF draws each figure once.
    """

    title: str
    figure: go.Figure
    width: int
    height: int
    caption: str = ""
    format: str = "svg"
    scale: float = 1.0
    key: str = ""
    image: bytes | None = field(default=None, repr=False)


@dataclass
class Section:
    """A part of the report: a title, text paragraphs, headline numbers, figures, tables, code lines.

    ``new_page`` starts it on a new page in the PDF.
    """

    key: str
    title: str
    text: list[str] = field(default_factory=list)
    numbers: list[Number] = field(default_factory=list)
    figures: list[Figure] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    code: list[str] = field(default_factory=list)
    new_page: bool = False


@dataclass
class Report:
    """A report: what it is about, its sections, and the result tables of its Excel workbook.

    Parameters
    ----------
    kind : {"overview", "what-if"}
    title, subtitle : str
    dataset : str
        The dataset and its version, as shown under the title.
    created : str
        When the report was made (UTC, ISO 8601 to the minute).
    sections : list of Section
    sheets : dict of str to DataFrame
        The workbook: sheet name to table (the full results, not the shortened tables of the sections).
    filename : str
        A safe file name stem (no extension).
    """

    kind: str
    title: str
    subtitle: str
    dataset: str
    created: str
    sections: list[Section]
    sheets: dict[str, pd.DataFrame]
    filename: str

    def numbers(self) -> dict[str, Number]:
        """Every headline number by key."""
        return {n.key: n for s in self.sections for n in s.numbers}

    def figures(self) -> list[Figure]:
        return [f for s in self.sections for f in s.figures]


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "-", str(text)).strip("-")[:40] or "dataset"


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _dataset_line(ds, version_label: str | None) -> str:
    c = ds.report.counts
    version = version_label or f"version {ds.id}"
    return f"{ds.name} · {version} · {c.get('sites', 0):,} sites, {c.get('links', 0):,} links"


# ---------------------------------------------------------------------------------------------- overview
def overview_figures(ds) -> dict:
    """The key figures of the Overview (page and report), from the dataset's cached analyses.

    Parameters
    ----------
    ds : dashboard.state.Dataset

    Returns
    -------
    dict
        ``sites, supply_sites, markets, links, backup_links, countries, regions, operators, total_weekly_demand``
        (counts of the validation report), ``spof_demand`` (weekly demand of the markets some single site can cut to
        zero) and ``spof_demand_share``, ``spof_markets``, ``n_spof`` (single points of failure), ``n_critical``
        (sites critical for a market that are not SPOFs), ``worst`` (the most exposed site: a row of
        ``ds.exposure.sites`` as a dict, or None), ``shortest_tts`` (the row of ``ds.sites_full`` whose loss causes
        a shortage soonest, as a dict; None when no single loss does; ``"n/a"`` without the TTS analysis) and
        ``needs_mitigation`` (sites whose TTS is below their TTR; None without the TTS analysis).

    Examples
    --------
    >>> overview_figures(ds)["n_spof"]  # doctest: +SKIP
    8
    """
    c = ds.report.counts
    res = ds.exposure
    s, m = res.sites, res.markets
    total = float(res.total_weekly_demand)
    spof_demand = float(m.loc[m["n_spof_sites"] > 0, "weekly_demand"].sum())
    worst = s.iloc[0].to_dict() if len(s) else None
    shortest: dict | str | None = "n/a"
    needs = None
    if ds.tts is not None:
        t = ds.sites_full
        t = t[np.isfinite(t["tts_days"].to_numpy(float))]
        shortest = (None if t.empty else
                    t.sort_values(["tts_days", "gap_days"], ascending=[True, False]).iloc[0].to_dict())
        needs = int(ds.tts["needs_mitigation"].astype(bool).sum()) if "needs_mitigation" in ds.tts else None
    return {
        "sites": int(c["sites"]), "supply_sites": int(c["sites"] - c["markets"]), "markets": int(c["markets"]),
        "links": int(c.get("links", 0)), "backup_links": int(c.get("backup_links", 0)),
        "countries": int(c["countries"]), "regions": len([k for k, v in (c.get("regions") or {}).items() if v]),
        "operators": int(c.get("operators", 0)), "total_weekly_demand": total,
        "spof_demand": spof_demand, "spof_demand_share": spof_demand / total if total else 0.0,
        "spof_markets": int((m["n_spof_sites"] > 0).sum()), "n_markets": len(m),
        "n_spof": int(s["spof"].sum()), "n_critical": int(((s["critical_markets"].map(len) > 0) & ~s["spof"]).sum()),
        "worst": worst, "shortest_tts": shortest, "needs_mitigation": needs,
    }


def _site_rows(t: pd.DataFrame) -> pd.DataFrame:
    """Display rows of supply sites: exposure, lost units, SPOF, TTS against TTR."""
    return pd.DataFrame({
        "#": np.arange(1, len(t) + 1),
        "Site": t["name"].astype(str).to_numpy(),
        "Kind, country": [f"{kind_label(k)}, {c}" for k, c in zip(t["kind"], t["country"].astype(str), strict=True)],
        "Exposure": [pct(v) for v in t["exposure"]],
        "Units/wk lost": [units(v) for v in t["lost_weekly_units"]],
        "SPOF for": [f"{len(v)} mkt" if len(v) else "—" for v in t["spof_markets"]],
        "TTS": [f"{v:,.0f} d" if np.isfinite(v) else "none" for v in t["tts_days"].to_numpy(float)],
        "TTR": [f"{v:,.0f} d" if np.isfinite(v) else "—" for v in t["ttr_days"].to_numpy(float)],
        "TTR − TTS": [("+" if g > 0 else "") + f"{g:,.0f} d" if np.isfinite(g) else "—"
                      for g in t["gap_days"].to_numpy(float)],
    })


_SITE_NUMERIC = ("#", "Exposure", "Units/wk lost", "SPOF for", "TTS", "TTR", "TTR − TTS")
_SITE_NOWRAP = ("Kind, country",)


def _concentration_rows(ds) -> pd.DataFrame:
    """One row per tier: its top country (share of the tier's supply, mean over markets) and the median HHI."""
    conc = ds.concentration
    rows = []
    for tier in TIERS:
        c = conc[conc["tier"] == tier]
        if c.empty:
            continue
        shares = ds.tier_country_shares(tier)
        hhi = float(c["hhi_country"].median())
        level = "high" if hhi > 2500 else "moderate" if hhi >= 1500 else "low"
        rows.append({
            "Tier": kind_label(tier),
            "Top country": str(shares["country"].iat[0]) if len(shares) else "—",
            "Its share": pct(shares["share"].iat[0]) if len(shares) else "—",
            "HHI by country (median)": f"{hhi:,.0f} ({level})",
            "From outside the region": pct(float(c["outside_region_share"].median()), 0),
            "Sole-source inputs": f"{int(c['sole_source_inputs'].sum()):,}",
        })
    return pd.DataFrame(rows)


def overview_report(ds, *, version_label: str | None = None) -> Report:
    """The overview of a dataset as a report: key figures, the exposure map, single points of failure,
    concentration.

    Parameters
    ----------
    ds : dashboard.state.Dataset
        The dataset version.
    version_label : str, optional
        How the version is named under the title (default ``"version <id>"``).

    Returns
    -------
    Report

    Examples
    --------
    >>> pdf = to_pdf(overview_report(ds))  # doctest: +SKIP
    """
    f = overview_figures(ds)
    c = ds.report.counts
    by = c.get("by_kind", {})
    kinds = ", ".join(f"{v} {kind_label(k)}" for k, v in by.items() if v)
    dataset = Section("dataset", "Dataset", text=[f"Sites by kind: {kinds}." if kinds else "",
                                                  f"Source: {ds.source}." if ds.source else ""], numbers=[
        Number("sites", "Sites", f"{f['sites']:,}", f"{f['supply_sites']:,} supply sites · {f['markets']} markets",
               f["sites"]),
        Number("links", "Supply links", f"{f['links']:,}", f"+{f['backup_links']} backup links", f["links"]),
        Number("countries", "Countries", str(f["countries"]), f"in {f['regions']} regions · {f['operators']} "
                                                               "operators", f["countries"]),
        Number("weekly_demand", "Weekly demand", units(f["total_weekly_demand"]), "units, all markets",
               f["total_weekly_demand"]),
    ])
    dataset.text = [t for t in dataset.text if t]

    worst = f["worst"]
    tts = f["shortest_tts"]
    if tts == "n/a":
        tts_num = Number("shortest_tts", "Min. time to survive", "—", "time-to-survive analysis not available")
    elif tts is None:
        tts_num = Number("shortest_tts", "Min. time to survive", "no shortage",
                         "no single site's loss causes a shortage")
    else:
        tts_num = Number("shortest_tts", "Min. time to survive", days(tts["tts_days"]),
                         f"if {tts['name']} fails ({tts['country']})", float(tts["tts_days"]), "danger")
    key = Section("key", "Key figures", numbers=[
        Number("spof_demand", "Demand behind a SPOF", pct(f["spof_demand_share"]),
               f"{units(f['spof_demand'])} units/wk in {f['spof_markets']} of {f['n_markets']} markets",
               f["spof_demand_share"], "danger"),
        Number("spof_sites", "Single points of failure", str(f["n_spof"]),
               f"+{f['n_critical']} sites critical (≥50% of a market)", f["n_spof"]),
        Number("worst_site", "Worst site", pct(worst["exposure"]) if worst else "—",
               f"{worst['name']} ({worst['country']})" if worst else "", float(worst["exposure"]) if worst else None),
        tts_num,
    ], text=["Exposure of a site: the share of all market demand lost when that site alone fails. A single point of "
             "failure (SPOF) cuts some market to zero on its own."])
    if f["needs_mitigation"] is not None:
        key.numbers.append(Number("needs_mitigation", "TTS < TTR", str(f["needs_mitigation"]),
                                  "sites whose loss outlasts the stock downstream", f["needs_mitigation"]))

    fig = network_map(ds, spof=True, height=MAP_HEIGHT, uirevision="report")
    fig.update_layout(dragmode=False, width=MAP_WIDTH)
    key.figures.append(Figure(
        "Network map", fig, MAP_WIDTH, MAP_HEIGHT,
        "Supply sites coloured by exposure and sized by weekly volume; black rings mark the single points of failure; "
        "markets as diamonds; lines are supply links, coloured by the supplier's kind.",
        format="png", scale=MAP_SCALE, key="map"))

    t = ds.sites_full
    supply = t[t["kind"] != "market"]
    spof_sites = supply[supply["spof"]].sort_values(["exposure", "site_id"], ascending=[False, True])
    top = supply.sort_values(["exposure", "site_id"], ascending=[False, True]).head(TOP_EXPOSURES)
    spof = Section("spof", "Single points of failure", new_page=True, text=[
        "TTS: time to survive, the days (d) from the site's loss to the first market short (none: no shortage at all); "
        "TTR: its time to recover. A positive TTR − TTS means the loss outlasts the stock downstream: the site needs "
        "a mitigation. SPOF for: the number of markets (mkt) the site alone cuts to zero (the Excel workbook names "
        "them)."])
    if len(spof_sites):
        more = len(spof_sites) - MAX_ROWS
        spof.tables.append(Table(f"The {len(spof_sites)} single points of failure, most exposed first",
                                 _site_rows(spof_sites.head(MAX_ROWS)), _SITE_NUMERIC,
                                 f"+{more} more in the Excel workbook" if more > 0 else "", _SITE_NOWRAP))
    else:
        spof.text.append("No single site cuts any market to zero.")
    spof.tables.append(Table(f"Top {TOP_EXPOSURES} exposures", _site_rows(top), _SITE_NUMERIC,
                             nowrap=_SITE_NOWRAP))

    groups = ds.group_exposure("country")
    bars = country_exposure_bars(groups, height=400)
    bars.update_layout(width=CHART_WIDTH)
    conc = Section("concentration", "Concentration", new_page=True, text=[
        "Exposure of a country: the share of all demand lost when all its sites fail together (e.g. an export ban). "
        "Per tier: the country supplying most of it (mean share over markets), the Herfindahl-Hirschman index by "
        "country (median over markets; above 2,500 is highly concentrated), the share from outside the market's "
        "region and the number of sole-source inputs."])
    conc.figures.append(Figure("Exposure by country", bars, CHART_WIDTH, 400, "The 12 most exposed countries.",
                               key="countries"))
    rows = _concentration_rows(ds)
    if len(rows):
        conc.tables.append(Table("Concentration by tier", rows, ("Its share", "HHI by country (median)",
                                                                 "From outside the region", "Sole-source inputs")))

    summary = pd.DataFrame([{"section": s.title, "item": n.label, "value": n.raw if n.raw is not None else n.value,
                             "shown as": n.value, "note": n.note} for s in (dataset, key) for n in s.numbers])
    sheets = {"summary": summary, "exposure": exposure_table(ds.exposure, ds.tts),
              "markets": ds.exposure.markets.copy(), "countries": groups.copy(), "concentration": ds.concentration}
    return Report("overview", f"Supply-chain risk overview: {ds.name}",
                  "Where the network is, what is exposed, how bad it could get", _dataset_line(ds, version_label),
                  _now(), [dataset, key, spof, conc], sheets, f"overview-{_slug(ds.name)}-{_slug(ds.id)}")


# ---------------------------------------------------------------------------------------------- what-if
def _market_rows(res) -> pd.DataFrame:
    """The markets a what-if reaches: lost units and share of their demand over the horizon, first day short, days
    short, lowest supply."""
    cols = affected_markets(res, top=len(res.market_ids))
    demand = np.asarray(res.daily_demand, dtype=float) * res.horizon_days
    rows = []
    for j in sorted(cols, key=lambda j: (-float(res.market_lost[j]), str(res.market_ids[j]))):
        first = int(res.market_first_shortfall[j])
        low = float(np.min(res.supplied_fraction[:, j])) if res.supplied_fraction is not None else float("nan")
        rows.append({"Market": str(res.market_ids[j]), "Name": str(res.market_names[j]),
                     "Lost units": units(float(res.market_lost[j])),
                     "Share of its demand": pct(float(res.market_lost[j]) / demand[j] if demand[j] > 0 else 0.0),
                     "First day short": f"day {first}" if first >= 0 else "—",
                     "Days short": f"{int(res.market_days_short[j]):,}", "Lowest supply": pct(low, 0)})
    return pd.DataFrame(rows, columns=["Market", "Name", "Lost units", "Share of its demand", "First day short",
                                       "Days short", "Lowest supply"])


def whatif_report(ds, spec: dict, *, data: str | None = None, version_label: str | None = None) -> Report:
    """A what-if scenario as a report: what fails and how, its key figures, the map of failing sites and markets
    reached, supply and stock over time, the markets table.

    Parameters
    ----------
    ds : dashboard.state.Dataset
        The dataset version.
    spec : dict
        The scenario (:mod:`dashboard.scenarios`); it runs through :func:`dashboard.scenarios.run` (cached).
    data : str, optional
        The ``DATA`` of the equivalent ``riskmodel simulate`` command (default: the dataset's file, else ``DATA``).
    version_label : str, optional
        How the version is named under the title (default ``"version <id>"``).

    Returns
    -------
    Report

    Raises
    ------
    riskmodel.disruption.DisruptionError
        The scenario cannot run (nothing chosen, an unknown site, an empty selection); the message is for the user.

    Examples
    --------
    >>> html_bytes = to_html(whatif_report(ds, {"countries": ["IND"], "duration_weeks": 12}))  # doctest: +SKIP
    """
    r = scenarios.run(ds, spec)
    s, res = r.spec, r.result
    sm = scenarios.summary(res)
    data = data or getattr(ds, "cli_data", None) or "DATA"
    names = dict(zip(ds.site_table["site_id"].astype(str), ds.site_table["name"].astype(str), strict=True))
    failed = [str(x) for x in res.disrupted_sites]
    shown = ", ".join(f"{names.get(x, x)} ({x})" for x in failed[:6])
    shown += f" and {len(failed) - 6} more (the workbook lists them all)" if len(failed) > 6 else ""
    what = scenarios.describe(s).split(" · ")[0]
    scenario = Section("scenario", "Scenario", numbers=[
        Number("sites_failing", "Sites failing", f"{len(failed):,}", what, len(failed)),
        Number("severity", "Severity", pct(s["severity"], 0), "of capacity lost", s["severity"]),
        Number("start_day", "Start", f"day {s['start_day']}", "", s["start_day"]),
        Number("duration", "Duration", f"{s['duration_weeks']:g} weeks", f"{s['recovery']} recovery",
               s["duration_weeks"]),
        Number("horizon", "Horizon", f"{s['horizon_weeks']:g} weeks", f"{res.horizon_days} days simulated",
               s["horizon_weeks"]),
    ], text=[f"Failing sites: {shown}." if failed else "No supply site fails."],
        code=[scenarios.cli_command(s, data)])
    if s["options"]:
        scenario.text.append("Run on the network with the regionalization options " + ", ".join(s["options"])
                             + " in force; the command line has no form for them yet (the command runs without).")

    horizon_demand = float(np.sum(res.daily_demand)) * res.horizon_days
    tts = sm["time_to_survive_days"]
    results = Section("results", "Results", numbers=[
        Number("time_to_survive", "Time to survive", "no shortage" if tts is None else days(tts),
               "days from the start to the first market short" if tts is not None else "within the horizon", tts,
               "danger" if tts is not None else ""),
        Number("lost_units", "Lost units", units(sm["lost_units"]),
               f"{pct(sm['lost_units'] / horizon_demand if horizon_demand else 0)} of demand over the horizon",
               sm["lost_units"]),
        Number("markets_short", "Markets short", f"{sm['markets_short']} of {len(res.market_ids)}", "",
               sm["markets_short"]),
        Number("peak_shortfall", "Peak shortfall", pct(sm["peak_shortfall_fraction"]),
               "of daily demand" + (f", day {res.peak_shortfall_day}" if res.peak_shortfall_day is not None else ""),
               sm["peak_shortfall_fraction"]),
        Number("days_in_shortage", "Days in shortage", f"{sm['days_in_shortage']:,}", "some market short",
               sm["days_in_shortage"]),
        Number("full_recovery_day", "Full recovery", "none" if sm["full_recovery_day"] is None
               else f"day {sm['full_recovery_day']}",
               "not within the horizon" if sm["full_recovery_day"] is None else "every market back to normal",
               sm["full_recovery_day"]),
    ])
    demand = np.asarray(res.daily_demand, dtype=float) * res.horizon_days
    loss = {str(res.market_ids[j]): float(res.market_lost[j] / demand[j]) if demand[j] > 0 else 0.0
            for j in affected_markets(res, top=len(res.market_ids))}
    circle = (s["circle"]["lat"], s["circle"]["lon"], s["circle"]["km"]) if s["circle"] else None
    fig = network_map(ds, color_by="kind", failed=failed, market_loss=loss, circle=circle, height=MAP_HEIGHT,
                      uirevision="report")
    fig.update_layout(dragmode=False, width=MAP_WIDTH)
    results.figures.append(Figure(
        "Map: failing sites and markets reached", fig, MAP_WIDTH, MAP_HEIGHT,
        "Failing sites ringed and crossed in vermillion; markets reached coloured by the share of their demand lost "
        "over the horizon; other sites coloured by kind.", format="png", scale=MAP_SCALE, key="map"))

    series = Section("series", "Supply over time", text=[
        "The most affected markets (at most 8), day by day; the disruption is shaded."])
    for key, title, chart in (("supply", "Share of each market's demand supplied", supply_chart),
                              ("stock", "Stock, in days of demand", stock_chart)):
        figure = chart(res, s, height=330)
        figure.update_layout(width=CHART_WIDTH)
        series.figures.append(Figure(title, figure, CHART_WIDTH, 330, key=key))
    rows = _market_rows(res)
    markets = Section("markets", "Markets")
    if len(rows):
        more = len(rows) - MAX_ROWS * 2
        markets.tables.append(Table(f"The {len(rows)} markets the disruption reaches, most units lost first",
                                    rows.head(MAX_ROWS * 2), ("Lost units", "Share of its demand", "First day short",
                                                              "Days short", "Lowest supply"),
                                    f"+{more} more in the Excel workbook" if more > 0 else "", ("Market",)))
    else:
        markets.text.append("No market's supply drops: stock and other sources cover this disruption.")

    info = {"dataset": ds.name, "version": str(ds.id), "what_fails": scenarios.describe(s),
            "command": scenarios.cli_command(s, data)}
    sheets = simulation_tables(res.to_json(), scenario=info)
    return Report("what-if", "What-if scenario", scenarios.describe(s), _dataset_line(ds, version_label), _now(),
                  [scenario, results, series, markets], sheets, f"what-if-{_slug(ds.name)}-{_slug(ds.id)}")


# ---------------------------------------------------------------------------------------------- images
_render_lock = threading.Lock()
_server: dict = {"mode": None}  # None: not started; "server": kaleido's sync server; "oneshot": a browser per image


def find_chromium() -> str:
    """The Chromium (or Chrome) executable: ``$RISKMODEL_CHROMIUM`` if set, else the first on ``PATH``, else
    Debian's ``/usr/lib/chromium/chromium``.

    Raises
    ------
    ReportError
        None is installed (:data:`CHROMIUM_MISSING`).
    """
    wanted = os.environ.get("RISKMODEL_CHROMIUM")
    if wanted:
        if os.path.isfile(wanted) and os.access(wanted, os.X_OK):
            return wanted
        raise ReportError(f"{CHROMIUM_MISSING} (RISKMODEL_CHROMIUM={wanted} is not an executable file)")
    for name in _CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    for path in _CHROMIUM_PATHS:
        if os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    raise ReportError(CHROMIUM_MISSING)


def topojson_url() -> str:
    """``file://`` URL of the shipped country outlines (``assets/topojson/``), for kaleido."""
    return TOPOJSON_DIR.resolve().as_uri() + "/"


def _wait(fn, timeout: float, server_thread=None):
    """Run ``fn`` in a helper thread; give up after ``timeout`` s, or at once if kaleido's server thread died
    (kaleido's sync calls would then wait forever)."""
    box: dict = {}

    def work():
        try:
            box["value"] = fn()
        except BaseException as exc:  # handed to the caller
            box["error"] = exc

    worker = threading.Thread(target=work, name="report-image", daemon=True)
    worker.start()
    deadline = time.monotonic() + timeout
    while worker.is_alive():
        worker.join(0.1)
        if worker.is_alive() and server_thread is not None and not server_thread.is_alive():
            raise ReportError("the image renderer (kaleido's browser) stopped")
        if time.monotonic() > deadline:
            raise ReportError(f"drawing a figure took more than {timeout:g} s")
    if "error" in box:
        raise box["error"]
    return box["value"]


def _kaleido():
    """kaleido and the Chromium it is to use (ReportError when either is missing)."""
    try:
        import kaleido
    except ImportError as exc:
        raise ReportError("PDF and HTML reports need kaleido: pip install kaleido") from exc
    return kaleido, find_chromium()


def _start(kaleido, chromium: str) -> None:
    """Start kaleido's sync server once (call with the lock held); it returns at once, the browser starts in the
    server's thread."""
    if _server["mode"] is not None:
        return
    _server["mode"] = "oneshot"
    if hasattr(kaleido, "start_sync_server"):
        try:
            kaleido.start_sync_server(path=chromium, mathjax=False, silence_warnings=True)
            _server["mode"] = "server"
        except Exception:  # an old kaleido: one browser per image
            log.warning("kaleido's sync server did not start; drawing each image with its own browser",
                        exc_info=True)


def _stop_server(kaleido) -> None:
    """Stop a sync server whose browser died (stopping one that hangs would wait for it: that one is left alone;
    later images start their own browser either way)."""
    try:
        thread = getattr(getattr(kaleido, "_global_server", None), "_thread", None)
        if thread is None or not thread.is_alive():
            kaleido.stop_sync_server(silence_warnings=True)
    except Exception:  # it is gone either way
        log.debug("stopping kaleido's sync server failed", exc_info=True)


def start_renderer() -> bool:
    """Start the image renderer now, in the background (it takes about 4 s), so that the first figure of a report
    does not wait for it. Returns False (and does nothing) when kaleido or Chromium is missing; the report then says
    so."""
    try:
        kaleido, chromium = _kaleido()
    except ReportError:
        return False
    with _render_lock:
        _start(kaleido, chromium)
    return True


def figure_image(fig: go.Figure, fmt: str = "png", width: int = 1000, height: int = 500, scale: float = 1.0) -> bytes:
    """A figure as a static image (PNG or SVG bytes), drawn by kaleido with the local country outlines.

    The first call starts kaleido's sync server (one Chromium for the process, about 4 s); later calls take about
    0.4 s. Calls are serialised by a lock (kaleido's server takes one task at a time). When the server API is
    missing (kaleido < 1.1) or the server died, each image starts its own browser.

    Raises
    ------
    ReportError
        No Chromium, kaleido missing, or the drawing failed (the message is for the user; the log has the details).
    """
    kaleido, chromium = _kaleido()
    import plotly.io as pio

    url = topojson_url()
    pio.defaults.topojson = url  # the shipped outlines, never the CDN
    spec = fig.to_plotly_json()
    opts = {"format": fmt, "width": int(width), "height": int(height), "scale": float(scale)}
    with _render_lock:
        _start(kaleido, chromium)
        if _server["mode"] == "server":
            thread = getattr(getattr(kaleido, "_global_server", None), "_thread", None)
            try:
                return _wait(lambda: kaleido.calc_fig_sync(spec, opts=opts, topojson=url), IMAGE_TIMEOUT, thread)
            except ReportError as exc:
                log.warning("kaleido's sync server failed (%s); drawing each image with its own browser", exc)
                _server["mode"] = "oneshot"
                _stop_server(kaleido)
            except Exception as exc:
                log.exception("drawing a report figure failed")
                raise ReportError(f"could not draw a figure: {short_error(exc)}") from exc
        try:
            if hasattr(kaleido, "calc_fig"):  # its own browser, whatever state the sync server is in
                kopts = {"path": chromium, "mathjax": False}
                return _wait(lambda: asyncio.run(kaleido.calc_fig(spec, opts=opts, topojson=url, kopts=kopts)),
                             IMAGE_TIMEOUT)
            return _wait(lambda: pio.to_image(fig, format=fmt, width=width, height=height, scale=scale),
                         IMAGE_TIMEOUT)
        except ReportError:
            raise
        except Exception as exc:
            log.exception("drawing a report figure failed")
            raise ReportError(f"could not draw a figure: {short_error(exc)}") from exc


def short_error(exc: BaseException | None) -> str:
    """The first line of an exception's message (its first argument when that is text), for a user.

    Examples
    --------
    >>> short_error(RuntimeError("The browser closed.", "details"))
    'The browser closed.'
    """
    if exc is None:
        return "unknown error"
    first = exc.args[0] if exc.args and isinstance(exc.args[0], str) else str(exc)
    lines = first.strip().splitlines()
    return (lines[0] if lines else type(exc).__name__)[:300]


def _image(f: Figure) -> bytes:
    if f.image is None:
        f.image = figure_image(f.figure, f.format, f.width, f.height, f.scale)
    return f.image


# ---------------------------------------------------------------------------------------------- HTML
_CSS = """
:root { --ink: #2b3440; --muted: #5c6670; --line: #dde1e6; --accent: #0072B2; --danger: #b34700; }
* { box-sizing: border-box; }
html { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
body { margin: 0; background: #f4f5f7; color: var(--ink); font: 14px/1.45 FONT; }
main { max-width: 1040px; margin: 0 auto; padding: 24px 28px 40px; background: #fff; }
header { border-bottom: 3px solid var(--accent); padding-bottom: 10px; margin-bottom: 8px; }
h1 { font-size: 24px; margin: 0 0 4px; font-weight: 650; }
h2 { font-size: 18px; margin: 22px 0 8px; padding-bottom: 4px; border-bottom: 1px solid var(--line);
     font-weight: 600; break-after: avoid; }
h3 { font-size: 14px; margin: 14px 0 6px; font-weight: 600; break-after: avoid; }
.subtitle { font-size: 15px; margin: 0 0 4px; }
.meta { color: var(--muted); font-size: 12.5px; margin: 0; }
p { margin: 6px 0; }
.numbers { display: grid; grid-template-columns: repeat(auto-fit, minmax(105px, 1fr)); gap: 8px;
           margin: 8px 0 10px; }
.num { border: 1px solid var(--line); border-radius: 6px; padding: 7px 10px; break-inside: avoid; }
.num .label { color: var(--muted); font-size: 11.5px; text-transform: uppercase; letter-spacing: .03em; }
.num .value { font-size: 21px; font-weight: 650; line-height: 1.25; overflow-wrap: anywhere; }
.num .value.danger { color: var(--danger); }
.num .note { color: var(--muted); font-size: 12px; overflow-wrap: anywhere; }
figure { margin: 10px 0 14px; break-inside: avoid; }
figure img { display: block; width: 100%; height: auto; border: 1px solid var(--line); border-radius: 4px; }
figcaption { color: var(--muted); font-size: 12px; margin-top: 4px; }
table { border-collapse: collapse; width: 100%; font-size: 12px; margin: 4px 0 6px; }
thead { display: table-header-group; }
th, td { border-bottom: 1px solid var(--line); padding: 3px 6px; text-align: left; vertical-align: top; }
th { background: #f1f3f5; font-weight: 600; }
td.n, th.n { text-align: right; white-space: nowrap; }
td.k { white-space: nowrap; }
tr { break-inside: avoid; }
.note { color: var(--muted); font-size: 12px; }
pre { background: #f6f8fa; border: 1px solid var(--line); border-radius: 4px; padding: 8px 10px; font-size: 12px;
      white-space: pre-wrap; overflow-wrap: anywhere; }
footer { margin-top: 24px; color: var(--muted); font-size: 11.5px; border-top: 1px solid var(--line);
         padding-top: 6px; }
@page { size: A4; margin: 12mm 11mm 13mm; }
@media print {
  body { background: #fff; font-size: 12.5px; }
  .num .value { font-size: 17px; }
  table { font-size: 11px; }
  main { max-width: none; padding: 0; }
  section.new-page { break-before: page; }
  h2 { margin-top: 10px; }
}
""".replace("FONT", FONT)

#: the page may load nothing: images only from data: URLs, styles only inline, no scripts at all
_CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"


def _e(text) -> str:
    return html.escape(str(text), quote=True)


def _table_html(t: Table) -> str:
    cols = list(t.frame.columns)
    head = "".join(f'<th class="n">{_e(c)}</th>' if c in t.numeric else f"<th>{_e(c)}</th>" for c in cols)
    cls = {c: ' class="n"' if c in t.numeric else ' class="k"' if c in t.nowrap else "" for c in cols}
    body = []
    for row in t.frame.itertuples(index=False, name=None):
        cells = "".join(f"<td{cls[c]}>{_e(v)}</td>" for c, v in zip(cols, row, strict=True))
        body.append(f"<tr>{cells}</tr>")
    note = f'<p class="note">{_e(t.note)}</p>' if t.note else ""
    return (f"<h3>{_e(t.title)}</h3><table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
            f"{note}")


def _figure_html(f: Figure) -> str:
    data = _image(f)
    mime = "image/svg+xml" if f.format == "svg" else f"image/{f.format}"
    src = f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"
    cap = f"<figcaption>{_e(f.caption)}</figcaption>" if f.caption else ""
    return (f'<figure data-key="{_e(f.key)}"><h3>{_e(f.title)}</h3><img src="{src}" alt="{_e(f.title)}" '
            f'width="{f.width}" height="{f.height}">{cap}</figure>')


def _section_html(s: Section) -> str:
    parts = [f"<h2>{_e(s.title)}</h2>"]
    if s.numbers:
        cards = []
        for n in s.numbers:
            tone = f" {n.tone}" if n.tone else ""
            cards.append(f'<div class="num" data-key="{_e(n.key)}"><div class="label">{_e(n.label)}</div>'
                         f'<div class="value{tone}">{_e(n.value)}</div><div class="note">{_e(n.note)}</div></div>')
        parts.append(f'<div class="numbers">{"".join(cards)}</div>')
    parts += [f"<p>{_e(t)}</p>" for t in s.text]
    parts += [f'<p class="note">Same run from the command line:</p><pre>{_e(c)}</pre>' for c in s.code]
    parts += [_figure_html(f) for f in s.figures]
    parts += [_table_html(t) for t in s.tables]
    cls = ' class="new-page"' if s.new_page else ""
    return f'<section id="{_e(s.key)}"{cls}>{"".join(parts)}</section>'


def to_html(report: Report) -> bytes:
    """The report as one self-contained HTML file (UTF-8): inline CSS, figures as base64 images, no script, no
    reference to anything outside the file (a Content-Security-Policy forbids loading anything).

    Raises
    ------
    ReportError
        The figures cannot be drawn (no Chromium: :data:`CHROMIUM_MISSING`).
    """
    body = "".join(_section_html(s) for s in report.sections)
    doc = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{_CSP}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{_e(report.title)}</title>
<style>{_CSS}</style></head>
<body><main>
<header><h1>{_e(report.title)}</h1><p class="subtitle">{_e(report.subtitle)}</p>
<p class="meta">{_e(report.dataset)} · made {_e(report.created)} by riskmodel</p></header>
{body}
<footer>riskmodel report, made offline on this machine from the dataset above. Supplier networks are confidential:
share this file as you would the data.</footer>
</main></body></html>
"""
    return doc.encode("utf-8")


# ---------------------------------------------------------------------------------------------- PDF
def to_pdf(report: Report) -> bytes:
    """The report as an A4 PDF: its HTML printed by headless Chromium (offline; sections marked ``new_page``
    start on a new page).

    Raises
    ------
    ReportError
        No Chromium (:data:`CHROMIUM_MISSING`), or the print failed or took more than :data:`PDF_TIMEOUT` s.
    """
    chromium = find_chromium()
    page = to_html(report)
    with tempfile.TemporaryDirectory(prefix="riskmodel-report-") as tmp:
        folder = Path(tmp)
        (folder / "report.html").write_bytes(page)
        out = folder / "report.pdf"
        cmd = [chromium, *_CHROMIUM_FLAGS, f"--user-data-dir={folder / 'profile'}", f"--print-to-pdf={out}",
               (folder / "report.html").as_uri()]
        try:
            proc = subprocess.run(cmd, capture_output=True, timeout=PDF_TIMEOUT, check=False,
                                  stdin=subprocess.DEVNULL)
        except FileNotFoundError as exc:
            raise ReportError(CHROMIUM_MISSING) from exc
        except subprocess.TimeoutExpired as exc:
            raise ReportError(f"printing the PDF took more than {PDF_TIMEOUT:g} s") from exc
        data = out.read_bytes() if out.is_file() else b""
        if not data.startswith(b"%PDF"):
            err = proc.stderr.decode("utf-8", "replace").strip().splitlines()
            log.error("chromium --print-to-pdf failed (exit %s): %s", proc.returncode, "\n".join(err[-20:]))
            raise ReportError("Chromium could not print the PDF" + (f": {err[-1][:200]}" if err else ""))
        return data


# ---------------------------------------------------------------------------------------------- Excel
def to_xlsx(report: Report) -> bytes:
    """The report's result tables as an Excel workbook (:func:`riskmodel.export.to_xlsx_bytes`: text cells that a
    spreadsheet would run as formulas are neutralised). Needs no browser."""
    return to_xlsx_bytes(report.sheets)


#: renderer, file extension and MIME type of each format
FORMATS = {"html": (to_html, "html", "text/html"), "pdf": (to_pdf, "pdf", "application/pdf"),
           "xlsx": (to_xlsx, "xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")}


def render(report: Report, fmt: str) -> bytes:
    """The report in one of :data:`FORMATS` (``html``, ``pdf``, ``xlsx``)."""
    if fmt not in FORMATS:
        raise ReportError(f"unknown report format {fmt!r}: use html, pdf or xlsx")
    return FORMATS[fmt][0](report)
