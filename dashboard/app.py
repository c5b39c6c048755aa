"""The Dash application: ``create_app(report)`` builds the multi-page app on a validated dataset.

Pages live in ``dashboard/pages`` (one module per page, ``dash.register_page``, its layout and its callbacks with
``@callback``). The app's own layout is the navigation bar, the page container and three stores the pages share:
``active-version`` (the dataset version the app shows, set by the Data page), ``scenarios`` (saved what-if
scenarios) and ``last-run`` (the last what-if run, for export). Everything is served from the app itself
(Bootstrap CSS, AG Grid, plotly.js and the map outlines in ``assets/``): no CDN, no internet.
"""

from __future__ import annotations

from pathlib import Path

import dash
import dash_bootstrap_components as dbc
from dash import Dash, Input, Output, dcc, html

from dashboard import state
from dashboard import theme as _theme  # noqa: F401 - registers the plotly template "riskmodel"
from riskmodel.paths import ASSETS_DIR
from riskmodel.readers import MAX_FILE_BYTES
from riskmodel.validate import ValidationReport

NAV = [("Overview", "/"), ("Single points of failure", "/spof"), ("What-if", "/what-if"),
       ("Regionalization", "/regionalization"), ("Data", "/data")]


def create_app(report: ValidationReport, name: str = "sample", *, home: Path | None = None) -> Dash:
    """A Dash app showing ``report``'s dataset (which must be valid).

    Parameters
    ----------
    report : ValidationReport
        A valid report (:func:`riskmodel.validate.validate_dataset`): the dataset the app opens on.
    name : str
        Its display name.
    home : Path, optional
        Where uploaded dataset versions are kept (default ``$RISKMODEL_HOME`` or ``~/.riskmodel``).

    Examples
    --------
    >>> app = create_app(validate_dataset("data/sample"))  # doctest: +SKIP
    >>> app.run(host="127.0.0.1", port=8050)  # doctest: +SKIP
    """
    state.set_active(report, name, home=home)
    app = Dash(
        __name__,
        use_pages=True,
        pages_folder=str(Path(__file__).parent / "pages"),
        assets_folder=str(ASSETS_DIR),
        serve_locally=True,
        title="Supply-chain risk",
        suppress_callback_exceptions=True,
        update_title=None,
        external_stylesheets=[],
    )
    # uploads arrive base64-encoded in one callback request: room for two files at the size limit, no more
    app.server.config["MAX_CONTENT_LENGTH"] = int(MAX_FILE_BYTES * 2 * 4 / 3) + 2 * 1024 * 1024
    navbar = dbc.Navbar(
        dbc.Container([
            dbc.NavbarBrand([html.Span("●", className="brand-dot"), "Pharma supply-chain risk"], href="/"),
            dbc.Nav([dbc.NavItem(dbc.NavLink(label, href=href, active="exact")) for label, href in NAV],
                    navbar=True, className="me-auto"),
            dcc.Link(html.Span(id="dataset-badge", className="dataset-badge"), href="/data",
                     title="dataset version shown (change it on the Data page)"),
        ], fluid=True),
        color="dark", dark=True, className="py-1",
    )
    app.layout = html.Div([
        dcc.Location(id="url", refresh="callback-nav"),
        dcc.Store(id="active-version", storage_type="memory"),
        dcc.Store(id="scenarios", storage_type="session", data=[]),
        dcc.Store(id="last-run", storage_type="session"),
        navbar,
        dcc.Loading(html.Div(dash.page_container, className="page"), type="dot", color="#0072B2", delay_show=300,
                    target_components={"_pages_content": "children"}),
    ])

    @app.callback(Output("dataset-badge", "children"), Input("url", "pathname"), Input("active-version", "data"))
    def show_dataset(_path, _version):
        ds = state.active()
        c = ds.report.counts
        return [html.Span("dataset ", className="text-white-50"), html.B(ds.name),
                html.Span(f" · {c.get('sites', 0):,} sites · "
                          + ("as started" if ds.id.startswith("start") else f"version {ds.id}"),
                          className="text-white-50")]

    return app
