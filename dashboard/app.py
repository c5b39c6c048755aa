"""The Dash application: ``create_app(report)`` builds the multi-page app on a validated dataset.

Pages live in ``dashboard/pages`` (one module per page, ``dash.register_page``, its layout and callbacks).
Everything is served from the app itself (Bootstrap CSS and map outlines in ``assets/``): no CDN, no internet.
"""

from __future__ import annotations

from pathlib import Path

import dash
import dash_bootstrap_components as dbc
from dash import Dash, html

from dashboard import state
from riskmodel.paths import ASSETS_DIR
from riskmodel.validate import ValidationReport

NAV = [("Overview", "/"), ("Single points of failure", "/spof"), ("What-if", "/what-if"),
       ("Regionalization", "/regionalization"), ("Data", "/data")]


def create_app(report: ValidationReport, name: str = "sample") -> Dash:
    """A Dash app showing ``report``'s dataset (which must be valid)."""
    state.set_active(report, name)
    app = Dash(
        __name__,
        use_pages=True,
        pages_folder=str(Path(__file__).parent / "pages"),
        assets_folder=str(ASSETS_DIR),
        serve_locally=True,
        title="Supply-chain risk",
        suppress_callback_exceptions=True,
    )
    navbar = dbc.Navbar(
        dbc.Container([
            dbc.NavbarBrand("Pharma supply-chain risk", href="/"),
            dbc.Nav([dbc.NavItem(dbc.NavLink(label, href=href, active="exact")) for label, href in NAV], navbar=True),
            html.Span(f"dataset: {name}", className="text-light small"),
        ], fluid=True),
        color="dark", dark=True,
    )
    app.layout = html.Div([navbar, html.Div(dash.page_container, className="page")])
    return app
