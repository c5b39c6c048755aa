"""Report downloads in the dashboard: a "Report: HTML · PDF · Excel" button group and the callbacks behind it.

This module owns the dashboard side of :mod:`dashboard.reports`: :func:`buttons` is the component a page places
(three buttons, a spinner shown while the report is made, a message line and a ``dcc.Download``), :func:`register`
adds the callbacks, and :func:`download` is what they do (build the report, render it, hand the bytes over, or say
why not: never a traceback). Two kinds:

* ``"overview"`` - the dataset version the page rendered (kept in the group's own store);
* ``"what-if"`` - the last what-if run of the session (the ``last-run`` store of the app: ``{"spec", "version"}``),
  on the version it ran on; a run on another version than the page shows is refused with a message.

Callbacks: Dash runs each page module once per app (``use_pages``), while this module is imported once per process.
So the page modules call :func:`register` when they are imported; it adds the callbacks of both kinds unless the app
being built has them already (the Overview page registers them, so the What-if page only needs to place
``buttons("what-if")``; calling :func:`register` there too does no harm).
"""

from __future__ import annotations

import logging

import dash_bootstrap_components as dbc
from dash import Input, Output, State, callback, ctx, dcc, html, no_update
from dash.exceptions import PreventUpdate

from dashboard import reports, state
from riskmodel.disruption import DisruptionError

__all__ = ["FORMATS", "KINDS", "buttons", "download", "ids", "register"]

log = logging.getLogger(__name__)

KINDS = ("overview", "what-if")
#: button label per report format
FORMATS = {"html": "HTML", "pdf": "PDF", "xlsx": "Excel"}


def ids(kind: str) -> dict[str, str]:
    """The component ids of a kind's group: ``store``, ``download``, ``msg``, ``busy`` and one per format."""
    if kind not in KINDS:
        raise ValueError(f"unknown report kind {kind!r}: one of {', '.join(KINDS)}")
    base = f"report-{kind}"
    return {"store": f"{base}-version", "download": f"{base}-download", "msg": f"{base}-msg",
            "busy": f"{base}-busy", **{fmt: f"{base}-{fmt}" for fmt in FORMATS}}


def buttons(kind: str, version=None) -> html.Div:
    """The report download group of a page: "Report: HTML · PDF · Excel", a spinner, a message line.

    Parameters
    ----------
    kind : {"overview", "what-if"}
        What the report is about.
    version : optional
        The dataset version id the page shows (default: the active version, as the page renders it).

    Returns
    -------
    dash.html.Div

    Examples
    --------
    >>> report_downloads.buttons("what-if")  # doctest: +SKIP
    """
    i = ids(kind)
    if version is None:
        version = state.active().id
    what = "this overview" if kind == "overview" else "the last what-if run"
    group = dbc.ButtonGroup([dbc.Button(label, id=i[fmt], size="sm", color="secondary", outline=True,
                                        title=f"Download {what} as {label}")
                             for fmt, label in FORMATS.items()], size="sm")
    return html.Div([
        dcc.Store(id=i["store"], data=version),
        html.Span("Report:", className="text-muted small"),
        group,
        html.Span(dbc.Spinner(size="sm", color="primary", spinner_class_name="ms-1"), id=i["busy"],
                  style={"display": "none"}, title="making the report…"),
        html.Span(id=i["msg"], className="small"),
        dcc.Download(id=i["download"]),
    ], className="report-downloads d-flex align-items-center gap-2 flex-wrap")


def _error(text: str) -> html.Span:
    return html.Span(text, className="text-danger")


def download(kind: str, fmt: str, version, last_run: dict | None = None) -> tuple[dict | None, object]:
    """Make a report and return ``(download data for dcc.Download or None, message)``.

    Parameters
    ----------
    kind : {"overview", "what-if"}
    fmt : {"html", "pdf", "xlsx"}
    version
        The dataset version id the page shows.
    last_run : dict, optional
        The ``last-run`` store (``{"spec": scenario, "version": id}``); needed for ``"what-if"``.

    Returns
    -------
    tuple
        ``dcc.send_bytes`` data (or None) and a message (an empty string, or a component saying why not).
    """
    try:
        ds = state.get(version)
        if kind == "what-if":
            if not last_run or not last_run.get("spec"):
                return None, _error("Run a what-if scenario first.")
            if str(last_run.get("version")) != str(ds.id):
                return None, _error("The last what-if run was on another dataset version: run it again on this one.")
            report = reports.whatif_report(ds, last_run["spec"])
        else:
            report = reports.overview_report(ds)
        data = reports.render(report, fmt)
    except (reports.ReportError, DisruptionError) as exc:
        return None, _error(str(exc))
    except Exception:  # never a traceback in the page; the server log has it
        log.exception("making the %s report (%s) failed", kind, fmt)
        return None, _error("The report could not be made (the server log has the details).")
    ext = reports.FORMATS[fmt][1]
    return dcc.send_bytes(data, f"{report.filename}.{ext}", type=reports.FORMATS[fmt][2]), ""


def _callback_for(kind: str):
    i = ids(kind)

    def make(*args):
        which = ctx.triggered_id
        if which is None or not ctx.triggered[0].get("value"):
            raise PreventUpdate
        fmt = next((f for f in FORMATS if i[f] == which), None)
        if fmt is None:
            raise PreventUpdate
        version, last_run = args[len(FORMATS)], args[len(FORMATS) + 1]
        data, message = download(kind, fmt, version, last_run)
        return (data if data is not None else no_update), message

    make.__name__ = f"report_{kind.replace('-', '_')}"
    make.__doc__ = f"Make the {kind} report in the format of the button clicked."
    return callback(
        Output(i["download"], "data"), Output(i["msg"], "children"),
        *[Input(i[fmt], "n_clicks") for fmt in FORMATS], State(i["store"], "data"), State("last-run", "data"),
        running=[*[(Output(i[fmt], "disabled"), True, False) for fmt in FORMATS],
                 (Output(i["busy"], "style"), {"display": "inline-block"}, {"display": "none"})],
        prevent_initial_call=True,
    )(make)


def register() -> None:
    """Add the callbacks of both kinds for the app being built (once: a second call for the same app does nothing).

    Call it at import of a page module that places :func:`buttons` (page modules run once per app).
    """
    from dash import _callback

    pending = " ".join(_callback.GLOBAL_CALLBACK_MAP)
    for kind in KINDS:
        if f"{ids(kind)['download']}.data" not in pending:
            _callback_for(kind)
