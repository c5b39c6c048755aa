"""Placeholder for the /regionalization page: its issue builds it (the navigation already has its place)."""

import dash
from dash import html

dash.register_page(__name__, path="/regionalization", name="regionalization")

layout = html.Div([html.H4("regionalization"), html.P("This page comes with its issue.", className="text-muted")])
