"""Placeholder for the /spof page: its issue builds it (the navigation already has its place)."""

import dash
from dash import html

dash.register_page(__name__, path="/spof", name="spof")

layout = html.Div([html.H4("spof"), html.P("This page comes with its issue.", className="text-muted")])
