"""The dashboard's look: colour-blind safe colours, number formats and the plotly template every figure uses.

Colours: categorical colours are the Okabe-Ito palette (safe for the common colour-vision deficiencies); the
sequential scale for exposure and loss is ColorBrewer YlOrRd (colour-blind safe, light = little, dark = much),
trimmed at its pale end so that small values stay visible on a light map. Fonts are the system's (nothing loads from
the internet).
"""

from __future__ import annotations

import math

import plotly.graph_objects as go
import plotly.io as pio

from riskmodel.schema import KINDS

FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif"

OKABE_ITO = ["#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7", "#000000", "#999999"]
#: one colour per site kind (Okabe-Ito)
KIND_COLOURS = dict(zip(KINDS, ["#E69F00", "#D55E00", "#CC79A7", "#0072B2", "#56B4E9", "#999999", "#009E73",
                                "#1f2d3d"], strict=True))
KIND_LABELS = {k: k.replace("_", " ") for k in KINDS} | {"api": "API", "cmo": "CMO"}
#: sequential scale for exposure / loss (ColorBrewer YlOrRd, pale end trimmed)
EXPOSURE_SCALE = [[0.0, "#fed976"], [0.25, "#feb24c"], [0.45, "#fd8d3c"], [0.65, "#f03b20"], [0.85, "#bd0026"],
                  [1.0, "#67000d"]]
#: one colour per region (Okabe-Ito)
REGION_COLOURS = {"North America": "#0072B2", "Latin America": "#009E73", "Europe": "#56B4E9",
                  "Middle East and Africa": "#F0E442", "South Asia": "#E69F00", "East Asia": "#D55E00",
                  "Southeast Asia and Oceania": "#CC79A7"}
FAILED_COLOUR = "#D55E00"  # vermillion
HIGHLIGHT_COLOUR = "#0072B2"  # blue
MARKET_COLOUR = "#1f2d3d"
OK_COLOUR = "#009E73"

TEMPLATE = go.layout.Template(layout=go.Layout(
    font={"family": FONT, "size": 12, "color": "#2b3440"},
    paper_bgcolor="white",
    plot_bgcolor="white",
    colorway=OKABE_ITO,
    margin={"l": 50, "r": 20, "t": 30, "b": 40},
    xaxis={"gridcolor": "#e6e9ed", "zerolinecolor": "#c9ced6", "linecolor": "#c9ced6"},
    yaxis={"gridcolor": "#e6e9ed", "zerolinecolor": "#c9ced6", "linecolor": "#c9ced6"},
    hoverlabel={"font": {"family": FONT, "size": 12}},
    legend={"font": {"size": 11}},
))
pio.templates["riskmodel"] = TEMPLATE


def kind_label(kind: str) -> str:
    """``fill_finish`` -> ``fill finish``; ``api`` -> ``API``."""
    return KIND_LABELS.get(kind, str(kind).replace("_", " "))


def pct(value, digits: int = 1) -> str:
    """A fraction as a percentage (``—`` when missing).

    Examples
    --------
    >>> pct(0.2483), pct(None), pct(0.00004)
    ('24.8%', '—', '<0.1%')
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    v = float(value) * 100.0
    if 0 < v < 10 ** -digits:
        return f"<{10 ** -digits:g}%"
    return f"{v:.{digits}f}%"


def units(value) -> str:
    """A unit count, compact (``1.2M``, ``45k``, ``950``; ``—`` when missing).

    Examples
    --------
    >>> units(4400160), units(45200), units(950.4), units(float("nan"))
    ('4.4M', '45.2k', '950', '—')
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    v = float(value)
    for div, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(v) >= div:
            return f"{v / div:.1f}{suffix}"
    return f"{v:,.0f}"


def days(value) -> str:
    """A number of days (``—`` when missing).

    Examples
    --------
    >>> days(12.0), days(None), days(1)
    ('12 days', '—', '1 day')
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    v = float(value)
    return "1 day" if round(v) == 1 else f"{v:,.0f} days"
