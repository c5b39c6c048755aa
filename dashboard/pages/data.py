"""Data page (``/data``): upload a dataset, read its validation report, switch versions, download templates, export.

* Upload ``sites.csv`` + ``links.csv`` or one ``.xlsx`` workbook (drag and drop, several files at once). The files
  are read and validated exactly as the command line does (:mod:`dashboard.uploads`,
  :func:`riskmodel.validate.validate_tables`). Errors appear in a table by file, row (as a spreadsheet numbers it)
  and column, with warnings below; a dataset with any error is not loaded and the active one stays. A valid upload
  becomes a new dataset version in the database, in one transaction (:meth:`dashboard.state.Versions.add_upload`),
  and the whole app switches to it; a write that fails leaves the versions and the active one as they were.
* Versions: every version in the database, with who uploaded it; each stays selectable (nothing is overwritten);
  switching sets the installation's active version (every user and worker process sees it).
* Who may: uploading needs the ``upload`` role, switching ``activate`` (:mod:`dashboard.auth`); the callbacks check it
  themselves (a hidden widget is not a check) and say so in the page, with nothing written.
* Templates: the empty and example workbooks and CSV files (:mod:`riskmodel.template`).
* Export: the exposure table and the last what-if result, as CSV or Excel (:mod:`riskmodel.export`: cells that a
  spreadsheet would run as formulas are neutralised).
"""

from __future__ import annotations

import logging
import re
import threading

import dash
import dash_bootstrap_components as dbc
import pandas as pd
from dash import Input, Output, State, callback, dcc, html, no_update
from dash.exceptions import PreventUpdate

from dashboard import auth, scenarios, state
from dashboard.components import card, grid, loading
from dashboard.uploads import decode_contents, read_upload
from riskmodel.disruption import DisruptionError
from riskmodel.export import exposure_table, simulation_tables, to_csv_bytes, to_xlsx_bytes
from riskmodel.limits import safe_label
from riskmodel.readers import MAX_FILE_BYTES
from riskmodel.schema import TABLES
from riskmodel.store import NotFound, checksum
from riskmodel.template import column_descriptions, example_tables, workbook_bytes
from riskmodel.validate import validate_tables

dash.register_page(__name__, path="/data", name="Data", title="Data · Supply-chain risk", order=4)
log = logging.getLogger(__name__)

ISSUE_COLUMNS = [
    {"field": "file", "headerName": "File", "width": 170},
    {"field": "row", "headerName": "Row", "width": 90, "type": "rightAligned", "filter": "agNumberColumnFilter"},
    {"field": "column", "headerName": "Column", "width": 150},
    {"field": "message", "headerName": "Problem", "flex": 1, "minWidth": 300, "wrapText": True, "autoHeight": True,
     "tooltipField": "message"},
]
VERSION_COLUMNS = [
    {"field": "active", "headerName": "", "width": 80, "cellClass": "fw-semibold text-success"},
    {"field": "name", "headerName": "Name", "flex": 1, "minWidth": 140},
    {"field": "created", "headerName": "Created (UTC)", "width": 160},
    {"field": "uploader", "headerName": "Uploader", "width": 120},
    {"field": "sites", "headerName": "Sites", "width": 80, "type": "rightAligned"},
    {"field": "links", "headerName": "Links", "width": 80, "type": "rightAligned"},
    {"field": "countries", "headerName": "Countries", "width": 100, "type": "rightAligned"},
    {"field": "source", "headerName": "Source files", "flex": 1, "minWidth": 160, "tooltipField": "source"},
    {"field": "checksum", "headerName": "Checksum", "width": 130,
     "headerTooltip": "SHA-256 of the uploaded files (first 12 characters); of the tables for a start-up dataset"},
    {"field": "id", "headerName": "Version", "width": 90},
]


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "-", str(text)).strip("-")[:40] or "dataset"


def _issue_rows(issues) -> list[dict]:
    return [{"file": i.file, "row": i.row, "column": i.column or "", "message": i.message} for i in issues]


def _report_view(report, ds=None) -> html.Div:
    """The validation report of an upload: a summary line, the errors table, the warnings table."""
    n_err, n_warn = len(report.errors), len(report.warnings)
    if report.valid and ds is not None:
        c = report.counts
        head = dbc.Alert([html.B("Valid: "), f"{c.get('sites', 0):,} sites, {c.get('links', 0):,} active links, "
                          f"{c.get('markets', 0)} markets in {c.get('countries', 0)} countries. It is now the active "
                          f"dataset (version {ds.id}, '{ds.name}'); every page shows it.",
                          html.Span(f" {n_warn} warning(s) below." if n_warn else "")],
                         color="success", id="data-result", className="py-2")
    else:
        files = sorted({e.file for e in report.errors})
        active = state.active()
        head = dbc.Alert([html.B(f"{n_err} error{'s' if n_err != 1 else ''} "),
                          f"in {', '.join(files)}: nothing was loaded. The active dataset is still '{active.name}'. "
                          "Fix the rows below and upload again (all errors are listed, not just the first)."],
                         color="danger", id="data-result", className="py-2")
    parts = [head]
    if n_err:
        parts += [html.H6(f"Errors ({n_err})", className="mt-2"), _issue_grid("data-errors", report.errors, 420)]
    if n_warn:
        parts += [html.H6(f"Warnings ({n_warn})", className="mt-3"), _issue_grid("data-warnings", report.warnings, 300)]
    return html.Div(parts)


def _issue_grid(id: str, issues, max_height: int):
    """Issues by file, row and column; a short list takes its own height, a long one scrolls (and can be filtered)."""
    if len(issues) <= 10:
        return grid(id, _issue_rows(issues), ISSUE_COLUMNS, height="auto",
                    dashGridOptions={"domLayout": "autoHeight"}, defaultColDef={"floatingFilter": False})
    return grid(id, _issue_rows(issues), ISSUE_COLUMNS, height=f"{max_height}px")


def _upload_widget() -> list:
    """The drop zone and the name field; for a user who may not upload, a note instead (the callback checks too)."""
    if not auth.may("upload"):
        return [dbc.Alert([state.refusal("upload", auth.current_user()), " An analyst or an administrator can."],
                          color="secondary", className="py-2 mb-0", id="data-upload-refused")]
    limit = MAX_FILE_BYTES / 2**20
    return [
        dcc.Upload(id="data-upload", multiple=True, max_size=MAX_FILE_BYTES,
                   accept=".csv,.txt,.tsv,.xlsx,.xlsm", className="upload-zone", children=html.Div([
                       html.Div([html.B("Drag and drop"), " sites.csv + links.csv, or one .xlsx workbook"]),
                       html.Div(["or ", html.U("choose files")], className="small"),
                       html.Div(f"UTF-8, UTF-16 or Windows-1252; , ; or tab separated; up to {limit:.0f} "
                                "MiB per file", className="small mt-1")])),
        dbc.InputGroup([dbc.InputGroupText("Name"),
                        dbc.Input(id="data-name", placeholder="for the new version (optional)", maxLength=60)],
                       size="sm", className="mt-2"),
        html.Div("The format of every column is in the templates (columns sheet) and in docs/data-format.md.",
                 className="hint mt-2"),
    ]


def _failed(text: str) -> dbc.Alert:
    return dbc.Alert(text, color="danger", id="data-result", className="py-2")


def _active_name() -> str:
    """The active version's name, quoted, for a message after a failed write (which may mean the database is down)."""
    try:
        return f"'{state.active().name}'"
    except Exception:  # the message must still reach the user
        log.exception("reading the active dataset failed")
        return "the one it was"


def layout(**_):
    ds = state.active()
    may_switch = auth.may("activate")
    return html.Div([
        dcc.Store(id="data-version", data=ds.id),
        html.Div([html.H4("Data"), html.Span("upload supplier data, check it row by row, keep every version, export "
                                             "results", className="lead-text")], className="page-title"),
        dbc.Row([
            dbc.Col([
                card("Upload a dataset", *_upload_widget()),
                card("Templates", html.Div([
                    dbc.Button("Empty template (.xlsx)", id="data-tpl-empty", size="sm", color="secondary",
                               outline=True),
                    dbc.Button("Example (.xlsx)", id="data-tpl-example", size="sm", color="secondary", outline=True),
                    dbc.Button("Example sites.csv", id="data-tpl-sites", size="sm", color="secondary", outline=True),
                    dbc.Button("Example links.csv", id="data-tpl-links", size="sm", color="secondary", outline=True),
                    dbc.Button("Column guide (.csv)", id="data-tpl-columns", size="sm", color="secondary",
                               outline=True),
                ], className="d-flex flex-wrap gap-2")),
                card("Export results", html.Div([
                    html.Div([html.Span("Exposure of every site", className="me-2"),
                              dbc.Button("CSV", id="data-exp-csv", size="sm", color="primary", outline=True),
                              dbc.Button("Excel", id="data-exp-xlsx", size="sm", color="primary", outline=True)],
                             className="d-flex align-items-center gap-2 mb-2"),
                    html.Div([html.Span("Last what-if run", className="me-2"),
                              dbc.Button("Markets CSV", id="data-sim-csv", size="sm", color="primary", outline=True),
                              dbc.Button("Daily CSV", id="data-sim-daily", size="sm", color="primary", outline=True),
                              dbc.Button("Excel", id="data-sim-xlsx", size="sm", color="primary", outline=True)],
                             className="d-flex align-items-center gap-2"),
                    loading(dcc.Download(id="data-download"), html.Div(id="data-export-msg", className="hint mt-2")),
                    html.Div("Text cells starting with = + - @ get a leading apostrophe, so a spreadsheet shows them "
                             "and never runs them.", className="hint mt-1"),
                ])),
            ], lg=5),
            dbc.Col([
                card("Validation report", loading(html.Div(
                    html.P("Upload files to see their validation report here.", className="text-muted mb-0"),
                    id="data-report"), min_height="4rem")),
                card("Dataset versions", *[
                    grid("data-versions", state.versions().rows(), VERSION_COLUMNS, height="auto",
                         selectable="single", row_id="id", defaultColDef={"floatingFilter": False, "filter": False},
                         dashGridOptions={"domLayout": "autoHeight"}),
                    html.Div([dbc.Button("Switch to the selected version", id="data-switch", size="sm",
                                         color="primary", className="mt-2", disabled=not may_switch,
                                         title=None if may_switch else state.refusal("activate",
                                                                                     auth.current_user())),
                              html.Span(id="data-switch-msg", className="hint ms-2")],
                             className="d-flex align-items-center"),
                    html.Div("Versions are kept in the database and never overwritten: each valid upload is a new "
                             "version. Switching sets the active version for every user.", className="hint mt-1"),
                ]),
            ], lg=7),
        ], className="g-3"),
    ])


@callback(Output("data-report", "children"), Output("active-version", "data", allow_duplicate=True),
          Output("data-versions", "rowData", allow_duplicate=True), Output("data-version", "data"),
          Input("data-upload", "contents"), State("data-upload", "filename"), State("data-name", "value"),
          prevent_initial_call=True)
def upload(contents, filenames, name):
    """Validate the dropped files; when valid, store them as a new version and make it active.

    Refused (nothing read, nothing written) unless the user may ``upload``. A report with errors, or a write that
    fails, leaves the versions and the active one as they were.
    """
    if not contents:
        raise PreventUpdate
    try:
        auth.require("upload")
    except PermissionError:
        return _failed(state.refusal("upload", auth.current_user())), no_update, no_update, no_update
    contents = contents if isinstance(contents, list) else [contents]
    filenames = filenames if isinstance(filenames, list) else [filenames]
    files = []
    for fname, body in zip(filenames, contents, strict=False):
        data = decode_contents(body)
        files.append((str(fname or "file"), data if data is not None else b""))
    up = read_upload(files)
    report = validate_tables(up.tables, read_errors=up.errors, source=up.source)
    if not report.valid:
        return _report_view(report), no_update, no_update, no_update
    first = safe_label(files[0][0]).rsplit(".", 1)[0] if len(files) == 1 else "upload"
    labels = [safe_label(fname) for fname, _ in files]
    versions = state.versions()
    try:
        ds = versions.add_upload(report, state.display_name(name or first, "upload"), auth.current_user(), labels,
                                 checksum(up.files))
    except PermissionError:
        return _failed(state.refusal("upload", auth.current_user())), no_update, no_update, no_update
    except Exception:  # the store rolled back: say so, never show a traceback (it is in the server log)
        log.exception("storing an uploaded dataset failed")
        return (_failed("The files are valid, but storing them failed (the error is in the server log): nothing was "
                        f"changed, the active dataset is still {_active_name()}. Try again."),
                no_update, no_update, no_update)
    threading.Thread(target=ds.warm, name="warm-caches", daemon=True).start()
    return _report_view(report, ds), ds.id, versions.rows(), ds.id


@callback(Output("active-version", "data", allow_duplicate=True),
          Output("data-versions", "rowData", allow_duplicate=True), Output("data-switch-msg", "children"),
          Output("data-version", "data", allow_duplicate=True),
          Input("data-switch", "n_clicks"), State("data-versions", "selectedRows"), prevent_initial_call=True)
def switch(n, rows):
    """Make the selected version the installation's active one (refused unless the user may ``activate``)."""
    if not n:
        raise PreventUpdate
    try:
        auth.require("activate")
    except PermissionError:
        return no_update, no_update, _error(state.refusal("activate", auth.current_user())), no_update
    if not rows:
        return no_update, no_update, "Select a version in the table first.", no_update
    versions = state.versions()
    try:
        ds = versions.activate(rows[0].get("id"), auth.current_user())
    except PermissionError:
        return no_update, no_update, _error(state.refusal("activate", auth.current_user())), no_update
    except NotFound as exc:
        return no_update, no_update, _error(str(exc)), no_update
    except Exception:  # never a traceback in the page (it is in the server log)
        log.exception("switching the active dataset failed")
        return no_update, no_update, _error("Switching failed (the error is in the server log): nothing changed."), \
            no_update
    threading.Thread(target=ds.warm, name="warm-caches", daemon=True).start()
    return ds.id, versions.rows(), f"'{ds.name}' (version {ds.id}) is now active.", ds.id


def _error(text: str) -> html.Span:
    return html.Span(text, className="text-danger")


@callback(Output("data-download", "data"),
          Input("data-tpl-empty", "n_clicks"), Input("data-tpl-example", "n_clicks"),
          Input("data-tpl-sites", "n_clicks"), Input("data-tpl-links", "n_clicks"),
          Input("data-tpl-columns", "n_clicks"), prevent_initial_call=True)
def template(*_):
    which = dash.ctx.triggered_id
    if which == "data-tpl-empty":
        empty = {name: pd.DataFrame(columns=t.names) for name, t in TABLES.items()}
        return dcc.send_bytes(workbook_bytes(empty), "riskmodel-template.xlsx")
    if which == "data-tpl-example":
        return dcc.send_bytes(workbook_bytes(example_tables()), "riskmodel-example.xlsx")
    if which in ("data-tpl-sites", "data-tpl-links"):
        table = "sites" if which == "data-tpl-sites" else "links"
        return dcc.send_bytes(example_tables()[table].to_csv(index=False).encode("utf-8"), f"{table}.csv")
    if which == "data-tpl-columns":
        return dcc.send_bytes(column_descriptions().to_csv(index=False).encode("utf-8"), "columns.csv")
    raise PreventUpdate


@callback(Output("data-download", "data", allow_duplicate=True), Output("data-export-msg", "children"),
          Input("data-exp-csv", "n_clicks"), Input("data-exp-xlsx", "n_clicks"), Input("data-sim-csv", "n_clicks"),
          Input("data-sim-daily", "n_clicks"), Input("data-sim-xlsx", "n_clicks"),
          State("data-version", "data"), State("last-run", "data"), prevent_initial_call=True)
def export(_a, _b, _c, _d, _e, version, last_run):
    which = dash.ctx.triggered_id
    if which is None or not dash.ctx.triggered[0].get("value"):
        raise PreventUpdate
    ds = state.get(version)
    stem = f"{_slug(ds.name)}-{ds.id}"
    if which in ("data-exp-csv", "data-exp-xlsx"):
        table = exposure_table(ds.exposure, ds.tts)
        if which == "data-exp-csv":
            return dcc.send_bytes(to_csv_bytes(table), f"exposure-{stem}.csv"), ""
        markets = ds.exposure.markets.copy()
        return dcc.send_bytes(to_xlsx_bytes({"exposure": table, "markets": markets,
                                             "concentration": ds.concentration}), f"exposure-{stem}.xlsx"), ""
    if not last_run or not last_run.get("spec"):
        return no_update, html.Span("Run a what-if scenario first (What-if page).", className="text-danger")
    if last_run.get("version") != ds.id:
        return no_update, html.Span("The last what-if run was on another dataset version: run it again on this one.",
                                    className="text-danger")
    spec = last_run["spec"]
    try:
        r = scenarios.run(ds, spec)
    except DisruptionError as exc:
        return no_update, html.Span(str(exc), className="text-danger")
    info = {"dataset": ds.name, "version": ds.id, "what_fails": scenarios.describe(spec),
            "command": scenarios.cli_command(spec)}
    tables = simulation_tables(r.result.to_json(), scenario=info)
    if which == "data-sim-csv":
        return dcc.send_bytes(to_csv_bytes(tables["markets"]), f"what-if-markets-{stem}.csv"), ""
    if which == "data-sim-daily":
        return dcc.send_bytes(to_csv_bytes(tables["daily"]), f"what-if-daily-{stem}.csv"), ""
    return dcc.send_bytes(to_xlsx_bytes(tables), f"what-if-{stem}.xlsx"), ""
