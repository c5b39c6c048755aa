"""Placeholder for the /what-if page: its issue builds it (the navigation already has its place)."""

import dash
from dash import html

dash.register_page(__name__, path="/what-if", name="what-if")

layout = html.Div([html.H4("what-if"), html.P("This page comes with its issue.", className="text-muted")])
