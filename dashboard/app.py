"""The Dash application: ``create_app(report, store=...)`` builds the multi-page app on the installation's database.

Pages live in ``dashboard/pages`` (one module per page, ``dash.register_page``, its layout and its callbacks with
``@callback``). The app's own layout is the navigation bar, the page container and two stores the pages share:
``active-version`` (the dataset version the app shows, set by the Data page) and ``last-run`` (the last what-if run,
for export). Dataset versions and saved scenarios live in the database (:class:`riskmodel.store.Store`, through
:mod:`dashboard.state`); sign-in and roles are :mod:`dashboard.auth`. Everything is served from the app itself
(Bootstrap CSS, AG Grid, plotly.js and the map outlines in ``assets/``): no CDN, no internet.
"""

from __future__ import annotations

import threading
from pathlib import Path

import dash
import dash_bootstrap_components as dbc
from dash import Dash, Input, Output, dcc, html

from dashboard import auth, jobs, state
from dashboard import theme as _theme  # noqa: F401 - registers the plotly template "riskmodel"
from riskmodel.paths import ASSETS_DIR
from riskmodel.readers import MAX_FILE_BYTES
from riskmodel.store import Store
from riskmodel.validate import ValidationReport

NAV = [("Overview", "/"), ("Single points of failure", "/spof"), ("What-if", "/what-if"),
       ("Monte Carlo", "/monte-carlo"), ("Regionalization", "/regionalization"), ("Data", "/data")]


def create_app(report: ValidationReport | None = None, name: str = "sample", *, store: Store | None = None,
               home: Path | None = None, auth_required: bool | None = None) -> Dash:
    """The dashboard on the installation's database, opening on ``report``'s dataset or on the active version.

    Parameters
    ----------
    report : ValidationReport, optional
        A valid report (:func:`riskmodel.validate.validate_dataset`): it becomes the active version (stored once:
        :func:`dashboard.state.ensure_version` reuses a version with the same tables). None: the active version.
    name : str
        The display name of a new version made from ``report``.
    store : Store, optional
        The database (dataset versions, scenarios, users, audit log). Default: ``Store()`` (``DATABASE_URL`` or
        ``$RISKMODEL_HOME/riskmodel.db``), or with ``home`` the SQLite file ``riskmodel.db`` in that folder.
    home : Path, optional
        A data directory for the default store (tests use a temporary one).
    auth_required : bool, optional
        Passed to :func:`dashboard.auth.install`: None signs users in as soon as accounts exist, True always.

    Raises
    ------
    dashboard.state.NoDataset
        ``report`` is None and the database holds no dataset version.

    Notes
    -----
    With several worker processes, store ``report`` once before they start (:func:`dashboard.state.ensure_version`)
    and create each worker's app with ``report=None``.

    Examples
    --------
    >>> app = create_app(validate_dataset("data/sample"))  # doctest: +SKIP
    >>> app.run(host="127.0.0.1", port=8050)  # doctest: +SKIP
    """
    if store is None:
        home = Path(home).expanduser().resolve() if home is not None else None
        store = Store(f"sqlite:///{home / 'riskmodel.db'}") if home is not None else Store()
    if report is not None:
        state.ensure_version(store, report, name, report.source)
    versions = state.Versions(store)
    first = versions.active()  # NoDataset when the database is empty
    threading.Thread(target=first.warm, name="warm-caches", daemon=True).start()
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
        # background callbacks (Monte Carlo): jobs in child processes, results on disk for every worker
        background_callback_manager=jobs.background_manager(jobs.cache_dir(home) / "callbacks"),
    )
    # uploads arrive base64-encoded in one callback request: room for two files at the size limit, no more
    app.server.config["MAX_CONTENT_LENGTH"] = int(MAX_FILE_BYTES * 2 * 4 / 3) + 2 * 1024 * 1024
    state.attach(app.server, versions)
    jobs.attach(app.server, jobs.cache_dir(home) / "results")
    navbar = dbc.Navbar(
        dbc.Container([
            dbc.NavbarBrand([html.Span("●", className="brand-dot"), "Pharma supply-chain risk"], href="/"),
            dbc.Nav([dbc.NavItem(dbc.NavLink(label, href=href, active="exact")) for label, href in NAV],
                    navbar=True, className="me-auto"),
            dcc.Link(html.Span(id="dataset-badge", className="dataset-badge"), href="/data",
                     title="dataset version shown (change it on the Data page)"),
            auth.navbar_item(),
        ], fluid=True),
        color="dark", dark=True, className="py-1",
    )
    app.layout = html.Div([
        dcc.Location(id="url", refresh="callback-nav"),
        dcc.Store(id="active-version", storage_type="memory"),
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
                html.Span(f" · {c.get('sites', 0):,} sites · version {ds.id}", className="text-white-50")]

    auth.install(app, store, required=auth_required)
    return app
