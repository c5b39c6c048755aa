"""Placeholder for the /data page: its issue builds it (the navigation already has its place)."""

import dash
from dash import html

dash.register_page(__name__, path="/data", name="data")

layout = html.Div([html.H4("data"), html.P("This page comes with its issue.", className="text-muted")])
