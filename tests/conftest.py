"""Shared test helpers: a small valid dataset and writers that save it the messy ways risk teams send files."""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path

import pytest
from browser import app_page, browser, dash_server, module_page, page  # noqa: F401 - fixtures for every module

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "sample"

SITE_HEADER = ["site_id", "name", "kind", "country", "city", "lat", "lon", "operator", "technology",
               "weekly_demand", "inventory_days", "ttr_weeks", "surge", "annual_disruption_prob"]
LINK_HEADER = ["supplier_id", "customer_id", "material", "share", "lead_time_days", "status", "qualification_weeks"]


def base_sites() -> list[dict]:
    """Seven sites: KSM -> two APIs (60/40) -> fill-finish (+ sole glass) -> distributor -> two markets."""
    rows = [
        ("KSM-1", "KSM plant", "raw_material", "CHN", "Taizhou", "28.66", "121.42", "Chem A", "", "", "", "", "", ""),
        ("API-1", "API plant one", "api", "IND", "Ahmedabad", "23.02", "72.57", "API Co", "", "", "", "", "", ""),
        ("API-2", "API plant two", "api", "IND", "Hyderabad", "17.39", "78.49", "API Co", "", "", "", "", "", ""),
        ("GLASS-1", "Vial glass", "raw_material", "DEU", "Mainz", "50.0", "8.27", "Glass Co", "", "", "", "", "", ""),
        ("FF-1", "Fill-finish", "fill_finish", "PRI", "Barceloneta", "18.45", "-66.54", "CDMO", "aseptic_vial", "",
         "21", "", "0.2", ""),
        ("DIST-1", "Wholesaler", "distribution", "USA", "Memphis", "35.15", "-90.05", "Whole", "", "", "", "", "",
         ""),
        ("MKT-US", "US market", "market", "USA", "", "38.9", "-77.04", "", "", "1000", "20", "", "", ""),
        ("MKT-PR", "PR market", "market", "PRI", "", "18.40", "-66.06", "", "", "100", "", "", "", ""),
    ]
    return [dict(zip(SITE_HEADER, r, strict=True)) for r in rows]


def base_links() -> list[dict]:
    rows = [
        ("KSM-1", "API-1", "KSM", "", "30", "", ""),
        ("KSM-1", "API-2", "KSM", "", "30", "", ""),
        ("API-1", "FF-1", "API", "0.6", "35", "active", ""),
        ("API-2", "FF-1", "API", "0.4", "35", "active", ""),
        ("GLASS-1", "FF-1", "vial glass", "", "40", "", ""),
        ("FF-1", "DIST-1", "drug vial", "", "5", "", ""),
        ("DIST-1", "MKT-US", "drug vial", "", "2", "", ""),
        ("FF-1", "MKT-PR", "drug vial", "", "1", "", ""),
        ("API-2", "DIST-1", "API", "0.5", "20", "backup", "26"),
    ]
    return [dict(zip(LINK_HEADER, r, strict=True)) for r in rows]


def to_csv(rows: list[dict], header: list[str] | None = None, delimiter: str = ",", newline: str = "\n",
           quoting: int = csv.QUOTE_MINIMAL) -> str:
    header = header or list(rows[0])
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=delimiter, lineterminator=newline, quoting=quoting)
    w.writerow(header)
    for r in rows:
        w.writerow([r.get(h, "") for h in header])
    return buf.getvalue()


def write_dataset(folder: Path, sites: list[dict] | None = None, links: list[dict] | None = None, *,
                  encoding: str = "utf-8", delimiter: str = ",", newline: str = "\n",
                  site_header: list[str] | None = None, link_header: list[str] | None = None) -> Path:
    """Write sites.csv and links.csv to ``folder`` with the given encoding/delimiter/line ends."""
    folder.mkdir(parents=True, exist_ok=True)
    sites = base_sites() if sites is None else sites
    links = base_links() if links is None else links
    (folder / "sites.csv").write_bytes(
        to_csv(sites, site_header or SITE_HEADER, delimiter, newline).encode(encoding))
    (folder / "links.csv").write_bytes(
        to_csv(links, link_header or LINK_HEADER, delimiter, newline).encode(encoding))
    return folder


@pytest.fixture
def dataset(tmp_path):
    """A writer bound to a fresh folder: ``dataset(sites=..., links=..., encoding=...)``."""
    counter = iter(range(1000))

    def make(**kwargs) -> Path:
        return write_dataset(tmp_path / f"d{next(counter)}", **kwargs)

    return make


@pytest.fixture(scope="session")
def cli_env():
    """Environment for running the real ``riskmodel`` entry point in a subprocess."""
    env = dict(os.environ)
    env.setdefault("PYTHONIOENCODING", "utf-8")
    return env
