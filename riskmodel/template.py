"""Templates users fill in: an empty and an example dataset, as CSV files and as an Excel workbook.

The column descriptions come from :mod:`riskmodel.schema`, so the templates always match what validation
accepts. The example is a small, valid network (a cisplatin-like oncology chain with a sole API source,
a 60/40 dual-sourced vial-glass material and a backup fill-finish site awaiting qualification).
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import pandas as pd

from riskmodel.schema import LINKS, SITES, TABLES

__all__ = ["column_descriptions", "example_tables", "workbook_bytes", "write_templates"]

_EXAMPLE_SITES = [
    # site_id, name, kind, country, city, lat, lon, operator, technology, weekly_demand, inventory_days,
    # ttr_weeks, surge
    ("KSM-CN-TZ-01", "Example KSM plant Taizhou", "raw_material", "CN", "Taizhou", "28.66", "121.42", "Example Chem",
     "", "", "", "", ""),
    ("GLASS-DE-01", "Example vial glass plant", "raw_material", "Germany", "Mainz", "", "", "Example Glass", "", "",
     "", "", "0.1"),
    ("GLASS-US-01", "Example vial glass plant NJ", "raw_material", "USA", "Vineland", "39.49", "-75.03",
     "Example Glass", "", "", "", "", ""),
    ("API-IN-AHM-01", "Example API plant Ahmedabad", "api", "IND", "Ahmedabad", "23.02", "72.57", "Example API Ltd",
     "", "", "60", "52", ""),
    ("FF-IN-AHM-02", "Example oncology fill-finish", "fill_finish", "IN", "Ahmedabad", "23.05", "72.60",
     "Example API Ltd", "aseptic_vial", "", "21", "52", ""),
    ("FF-PR-BAR-01", "Example CDMO Barceloneta", "fill_finish", "Puerto Rico", "Barceloneta", "18.45", "-66.54",
     "Example CDMO", "aseptic_vial", "", "", "", "0.2"),
    ("DIST-US-01", "Example wholesaler", "distribution", "US", "Memphis", "35.15", "-90.05", "Example Wholesale",
     "", "", "14", "", ""),
    ("MKT-US-CISPLATIN", "US cisplatin 50 mg vial", "market", "USA", "", "38.90", "-77.04", "", "", "12000", "20",
     "", ""),
]
_EXAMPLE_LINKS = [
    # supplier_id, customer_id, material, share, lead_time_days, status, qualification_weeks
    ("KSM-CN-TZ-01", "API-IN-AHM-01", "cisplatin KSM", "", "30", "", ""),
    ("API-IN-AHM-01", "FF-IN-AHM-02", "cisplatin API", "", "2", "active", ""),
    ("GLASS-DE-01", "FF-IN-AHM-02", "type I vial glass", "0.6", "35", "active", ""),
    ("GLASS-US-01", "FF-IN-AHM-02", "type I vial glass", "0.4", "40", "active", ""),
    ("FF-IN-AHM-02", "DIST-US-01", "cisplatin 50 mg vial", "1", "40", "active", ""),
    ("API-IN-AHM-01", "FF-PR-BAR-01", "cisplatin API", "", "35", "backup", ""),
    ("GLASS-US-01", "FF-PR-BAR-01", "type I vial glass", "", "5", "active", ""),
    ("FF-PR-BAR-01", "DIST-US-01", "cisplatin 50 mg vial", "0.5", "7", "backup", "26"),
    ("DIST-US-01", "MKT-US-CISPLATIN", "cisplatin 50 mg vial", "", "2", "", ""),
]


def example_tables() -> dict[str, pd.DataFrame]:
    """The example dataset as text tables (``sites``, ``links``) in the input format."""
    site_cols = [c for c in SITES.names if c != "annual_disruption_prob"]
    sites = pd.DataFrame(_EXAMPLE_SITES, columns=site_cols).assign(annual_disruption_prob="")
    links = pd.DataFrame(_EXAMPLE_LINKS, columns=LINKS.names)
    return {"sites": sites[SITES.names], "links": links}


def column_descriptions() -> pd.DataFrame:
    """One row per column of both tables: table, column, required, default, description, example."""
    rows = [
        {
            "table": t.name,
            "column": c.name,
            "required": "yes" if c.required else ("markets only" if c.name == "weekly_demand" else "no"),
            "default": c.default,
            "allowed": ", ".join(c.choices) if c.choices else (c.range_text() if c.kind == "number" else ""),
            "description": c.description,
            "example": c.example,
        }
        for t in TABLES.values()
        for c in t.columns
    ]
    return pd.DataFrame(rows)


def workbook_bytes(tables: dict[str, pd.DataFrame]) -> bytes:
    """An ``.xlsx`` workbook with sheets ``sites``, ``links`` and a ``columns`` sheet describing each column."""
    buf = io.BytesIO()
    with pd.ExcelWriter(buf, engine="openpyxl") as xl:
        for name, frame in tables.items():
            frame.to_excel(xl, sheet_name=name, index=False)
            sheet = xl.sheets[name]
            for row in sheet.iter_rows(min_row=2):
                for cell in row:
                    if cell.data_type == "f":  # text such as "=HYPERLINK(...)" stays text, never a formula
                        cell.data_type = "s"
            for i, col in enumerate(frame.columns, start=1):
                sheet.column_dimensions[sheet.cell(1, i).column_letter].width = max(12, len(col) + 2)
        column_descriptions().to_excel(xl, sheet_name="columns", index=False)
    return buf.getvalue()


def write_templates(out: str | os.PathLike) -> list[Path]:
    """Write ``empty/`` and ``example/`` CSV folders, ``template.xlsx``, ``example.xlsx`` and ``columns.csv``.

    Examples
    --------
    >>> paths = write_templates("/tmp/riskmodel-templates")   # doctest: +SKIP
    """
    out = Path(out)
    example = example_tables()
    empty = {name: pd.DataFrame(columns=t.names) for name, t in TABLES.items()}
    written: list[Path] = []
    for label, tables in (("empty", empty), ("example", example)):
        folder = out / label
        folder.mkdir(parents=True, exist_ok=True)
        for name, frame in tables.items():
            path = folder / f"{name}.csv"
            frame.to_csv(path, index=False)
            written.append(path)
        book = out / ("template.xlsx" if label == "empty" else "example.xlsx")
        book.write_bytes(workbook_bytes(tables))
        written.append(book)
    desc = out / "columns.csv"
    column_descriptions().to_csv(desc, index=False)
    written.append(desc)
    return written
