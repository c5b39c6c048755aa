"""Write the shipped sample dataset ``data/sample/`` (``sites.csv``, ``links.csv``) and sanity-check it.

The network is fictitious: real hub cities and approximate real coordinates, invented company names. It covers six
products (0.9% saline bags, heparin injection, cisplatin injection, paracetamol tablets, albuterol inhalation solution
and a monoclonal antibody) from key starting materials and primary packaging to one market row per product and
country. Sources for the numbers are in ``data/sample/README.md`` (facts from ``REFERENCE-FACTS.md``).

Everything is written out literally below; there is no randomness, so the output is byte-for-byte reproducible::

    .venv/bin/python scripts/make_sample.py              # write data/sample/ and run the self-check
    .venv/bin/python scripts/make_sample.py --check-only # only check the files already there

The self-check (:func:`check`) uses plain pandas and networkx, independent of ``riskmodel``: structural rules of
PRODUCT.md section 2 and a naive version of the AND/OR propagation of section 3.1 that lists single points of failure
(SPOF) and critical sites, so a maintainer can see at once that the data stay interesting after an edit.

Modelling note: the static model treats all of a site's inbound materials as needed together (AND across materials).
A warehouse or port that handled two products would therefore stop shipping product A when product B ran out. So every
distribution centre, port and packager here carries exactly one product, and fill-finish and tablet sites make one
product each; raw-material and primary-packaging sites may serve several products.
"""

from __future__ import annotations

import argparse
import csv
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

import networkx as nx
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
OUT_DIR = ROOT / "data" / "sample"

SITE_COLUMNS = [
    "site_id", "name", "kind", "country", "city", "lat", "lon", "operator", "technology",
    "weekly_demand", "inventory_days", "ttr_weeks", "surge", "annual_disruption_prob",
]
LINK_COLUMNS = ["supplier_id", "customer_id", "material", "share", "lead_time_days", "status", "qualification_weeks"]

# Qualification of a new source for a US generic: prior-approval supplement, FDA review goal 6 months without an
# inspection, 10 months with one (GDUFA; REFERENCE-FACTS "Stock, lead times, qualification").
PAS_WEEKS = 26
PAS_INSPECTION_WEEKS = 43

# Recovery times (REFERENCE-FACTS "How long recovery takes").
TTR_HURRICANE = 17  # Puerto Rico 2017: about 4 months back to normal output
TTR_FLOOD = 17  # North Carolina flood 2024: 2.5-4 months to restart (upper end)
TTR_TORNADO = 12  # North Carolina tornado 2023: 2.5-4 months to restart (lower end)
TTR_QUALITY = 52  # India 2022-23 quality shutdown: about 12 months to restart

# Finished-product materials (what distribution centres and markets receive) and the unit of weekly_demand.
PRODUCTS = {
    "SAL": ("0.9% sodium chloride 100 mL bag", "bags"),
    "HEP": ("heparin sodium 5,000 IU/mL 1 mL vial", "vials"),
    "CIS": ("cisplatin 1 mg/mL 50 mL vial", "vials"),
    "PCM": ("paracetamol 500 mg tablets, pack of 100", "packs of 100 tablets"),
    "ALB": ("albuterol 2.5 mg/3 mL inhalation solution ampoule", "ampoules"),
    "MAB": ("mAb-X 40 mg prefilled syringe, packed", "syringes"),
}
MAB_LYO = "mAb-X 100 mg lyophilized vial"  # the presentation sold in Japan and Canada (same product, other format)
PRODUCT_NAMES = {
    "SAL": "0.9% saline 100 mL bags",
    "HEP": "heparin injection",
    "CIS": "cisplatin injection",
    "PCM": "paracetamol 500 mg tablets",
    "ALB": "albuterol inhalation solution",
    "MAB": "mAb-X (fictitious monoclonal antibody)",
}

# Each market is drawn at its capital: (city, lat, lon, adjective for names).
CAPITALS = {
    "USA": ("Washington", 38.90, -77.04, "US"),
    "CAN": ("Ottawa", 45.42, -75.70, "Canadian"),
    "DEU": ("Berlin", 52.52, 13.40, "German"),
    "FRA": ("Paris", 48.86, 2.35, "French"),
    "GBR": ("London", 51.51, -0.13, "UK"),
    "ITA": ("Rome", 41.90, 12.50, "Italian"),
    "ESP": ("Madrid", 40.42, -3.70, "Spanish"),
    "IND": ("New Delhi", 28.61, 77.21, "Indian"),
    "JPN": ("Tokyo", 35.68, 139.69, "Japanese"),
    "BRA": ("Brasilia", -15.79, -47.88, "Brazilian"),
    "KOR": ("Seoul", 37.57, 126.98, "Korean"),
}

# Two wholesalers per market country (fictitious); each runs one distribution centre per product line.
WHOLESALERS = {
    "USA": ("Keystone Health Distribution", "Pinnacle Drug Wholesale"),
    "CAN": ("Maple Health Logistics", "Laurentian Pharma Distribution"),
    "DEU": ("Rhein-Main Pharmahandel GmbH", "Hanse Pharma-Grosshandel GmbH"),
    "FRA": ("Hexagone Repartition SA", "Loire Pharma Distribution SAS"),
    "GBR": ("Albion Healthcare Supply Ltd", "Pennine Pharma Wholesale Ltd"),
    "ITA": ("Padana Farmaceutici SpA", "Tirrenia Distribuzione Srl"),
    "ESP": ("Meseta Distribucion Farmaceutica SA", "Levante Farma SL"),
    "IND": ("Indus Pharma Distributors Pvt Ltd", "Ganga Medical Supplies Pvt Ltd"),
    "JPN": ("Kanto Iyaku Ryutsu KK", "Kansai Medical Trading KK"),
    "BRA": ("Paulista Distribuidora Farmaceutica Ltda", "Minas Farma Logistica Ltda"),
    "KOR": ("Han River Pharma Logistics Co.", "Han River Pharma Logistics Co."),
}

SITE_ID_RE = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")


@dataclass
class DC:
    """One distribution centre feeding one market: where it is, who runs it, whom it buys from.

    ``sources`` are ``(supplier_id, share or None, lead_time_days)``; ``market_share`` is the share of the market's
    need bought from this centre (None = equal split). ``wholesaler`` is 0 or 1 (index into :data:`WHOLESALERS`).
    Leave ``lat``/``lon`` as None to have the importer geocode ``city`` offline.
    """

    city: str
    lat: float | None
    lon: float | None
    wholesaler: int
    sources: list[tuple[str, float | None, float]]
    market_share: float | None = None
    country: str | None = None  # spelling of the country in this row (default: the market's alpha-3)


@dataclass
class Builder:
    """Collects site and link rows in the order they are declared."""

    sites: list[dict] = field(default_factory=list)
    links: list[dict] = field(default_factory=list)

    def site(self, site_id, name, kind, country, city, lat, lon, operator="", technology="", **extra):
        """Add one site row; ``extra`` holds the optional numeric columns (weekly_demand, ttr_weeks, ...)."""
        unknown = set(extra) - set(SITE_COLUMNS)
        assert not unknown, f"unknown site columns {unknown}"
        row = {"site_id": site_id, "name": name, "kind": kind, "country": country, "city": city, "lat": lat,
               "lon": lon, "operator": operator, "technology": technology}
        row.update(extra)
        self.sites.append(row)
        return site_id

    def link(self, supplier, customer, material, share=None, lead=None):
        """Add an active supply link (share None = equal split among the customer's suppliers of ``material``)."""
        self.links.append({"supplier_id": supplier, "customer_id": customer, "material": material, "share": share,
                           "lead_time_days": lead, "status": "active", "qualification_weeks": None})

    def backup(self, supplier, customer, material, share, weeks, lead=None):
        """Add a backup link: a known alternate that may ship ``weeks`` after a disruption starts, up to ``share``."""
        self.links.append({"supplier_id": supplier, "customer_id": customer, "material": material, "share": share,
                           "lead_time_days": lead, "status": "backup", "qualification_weeks": weeks})

    def market(self, code, iso3, weekly_demand, dcs, inventory_days=None, material=None):
        """Add the market of product ``code`` in ``iso3``, its distribution centres and all their links."""
        material = material or PRODUCTS[code][0]
        city, lat, lon, adjective = CAPITALS[iso3]
        market_id = f"MKT-{iso3}-{code}"
        for dc in dcs:
            operator = WHOLESALERS[iso3][dc.wholesaler]
            dc_id = f"DIST-{iso3}-{code}-{slug(dc.city)}"
            self.site(dc_id, f"{operator} {dc.city} DC ({PRODUCT_NAMES[code]})", "distribution",
                      dc.country or iso3, dc.city, dc.lat, dc.lon, operator)
            for supplier, share, lead in dc.sources:
                self.link(supplier, dc_id, material, share, lead)
            self.link(dc_id, market_id, material, dc.market_share, 1)
        self.site(market_id, f"{adjective} market: {PRODUCT_NAMES[code]}", "market", iso3, city, lat, lon,
                  weekly_demand=weekly_demand, inventory_days=inventory_days)


def slug(text: str) -> str:
    """Upper-case ASCII letters only, for ids: ``slug("Belo Horizonte") == "BELOHORIZONTE"``."""
    return re.sub(r"[^A-Z]", "", text.upper())


# ---------------------------------------------------------------------------------------------------------------
# Shared primary packaging: glass tubing, vials, stoppers, syringe barrels, BFS resin
# ---------------------------------------------------------------------------------------------------------------
TUBING = "Type I borosilicate glass tubing"
VIALS = "Type I glass vials (tubular)"
STOPPERS = "coated elastomer vial stoppers"
PLUNGERS = "elastomer plunger stoppers"
BARRELS = "glass syringe barrels, 1 mL long, staked needle"
LDPE = "medical-grade LDPE resin (BFS)"


def add_primary_packaging(b: Builder) -> None:
    """Glass and elastomer components shared by the sterile products; the coated-stopper plant is the only one."""
    b.site("RM-TUBING-MITTERTEICH-DE", "Fichtelgebirge Glas - tubing tank", "raw_material", "DEU", "Mitterteich",
           49.96, 12.24, "Fichtelgebirge Glas AG", ttr_weeks=26)
    b.site("RM-TUBING-OTSU-JP", "Biwako Glass - tubing plant", "raw_material", "JP", "Otsu", 35.00, 135.87,
           "Biwako Glass KK")
    b.site("RM-VIAL-VINELAND-US", "Delaware Valley Vials - converting plant", "raw_material", "USA", "Vineland",
           39.49, -75.03, "Delaware Valley Vials Inc.")
    b.site("RM-VIAL-JAMBUSAR-IN", "Narmada Pharma Glass - vial plant", "raw_material", "IND", "Jambusar", 22.05, 72.80,
           "Narmada Pharma Glass Ltd")
    b.site("RM-VIAL-BERGAMO-IT", "Orobica Vetri - vial plant", "raw_material", "ITA", "Bergamo", 45.70, 9.67,
           "Orobica Vetri Farmaceutici SpA")
    b.site("RM-VIAL-ZIBO-CN", "Zibo Medical Glass - vial plant", "raw_material", "CHN", "Zibo", 36.79, 118.05,
           "Zibo Medical Glass Co.")
    # The only maker of the fluoropolymer-coated stoppers every vial fill line below is validated with.
    b.site("RM-STOPPER-SANO-JP", "Kanto Elastomer - coated stopper plant", "raw_material", "JPN", "Sano", 36.31,
           139.58, "Kanto Elastomer KK", inventory_days=60, ttr_weeks=26)
    b.site("RM-STOPPER-ESCHWEILER-DE", "Rheinland Closures - elastomer plant", "raw_material", "DEU", "Eschweiler",
           50.82, 6.27, "Rheinland Closures GmbH")
    b.site("RM-SYRINGE-MUELLHEIM-DE", "Markgraefler Syringe - barrel plant", "raw_material", "DEU", "Muellheim",
           47.81, 7.63, "Markgraefler Syringe GmbH")
    b.site("RM-SYRINGE-PONTDECLAIX-FR", "Isere Medical Glass - syringe plant", "raw_material", "FRA",
           "Le Pont-de-Claix", 45.12, 5.70, "Isere Medical Glass SAS")
    b.site("RM-LDPE-BAYTOWN-US", "Gulf Coast Polymers - medical LDPE line", "raw_material", "USA", "Baytown", 29.74,
           -94.98, "Gulf Coast Polymers LLC", ttr_weeks=TTR_HURRICANE)
    b.site("RM-LDPE-WESSELING-DE", "Rheinische Polyolefine - medical LDPE line", "raw_material", "DEU", "Wesseling",
           50.83, 6.98, "Rheinische Polyolefine GmbH")
    b.site("RM-LDPE-DAHEJ-IN", "Gandhar Polymers - LDPE plant", "raw_material", "IND", "Dahej", 21.71, 72.59,
           "Gandhar Polymers Ltd")

    # Tubing into the vial converters (sea freight Europe/Japan -> US/India 25-40 days, road 2-3 days).
    b.link("RM-TUBING-MITTERTEICH-DE", "RM-VIAL-VINELAND-US", TUBING, 0.6, 35)
    b.link("RM-TUBING-OTSU-JP", "RM-VIAL-VINELAND-US", TUBING, 0.4, 40)
    b.link("RM-TUBING-MITTERTEICH-DE", "RM-VIAL-JAMBUSAR-IN", TUBING, 0.7, 32)
    b.link("RM-TUBING-OTSU-JP", "RM-VIAL-JAMBUSAR-IN", TUBING, 0.3, 25)
    b.link("RM-TUBING-MITTERTEICH-DE", "RM-VIAL-BERGAMO-IT", TUBING, 1.0, 3)
    b.link("RM-TUBING-MITTERTEICH-DE", "RM-VIAL-ZIBO-CN", TUBING, None, 38)  # equal split
    b.link("RM-TUBING-OTSU-JP", "RM-VIAL-ZIBO-CN", TUBING, None, 7)


# ---------------------------------------------------------------------------------------------------------------
# 0.9% saline 100 mL bags (large-volume parenteral bags, technology lvp_bag)
# ---------------------------------------------------------------------------------------------------------------
NACL = "sodium chloride USP (pharma grade)"
FILM = "multilayer IV bag film"


def add_saline(b: Builder) -> None:
    """US supply: one maker about 60%, the next about 23%, two others the rest (REFERENCE-FACTS)."""
    b.site("RM-NACL-HUTCHINSON-US", "Great Plains Salt - Hutchinson works", "raw_material", "USA", "Hutchinson",
           38.06, -97.93, "Great Plains Salt Co.")
    b.site("RM-NACL-MANISTEE-US", "Lakeshore Salt Works - Manistee", "raw_material", "USA", "Manistee", 44.24, -86.32,
           "Lakeshore Salt Works Inc.")
    b.site("RM-NACL-BADFRIEDRICHSHALL-DE", "Neckar Salinen - pharma salt", "raw_material", "DEU",
           "Bad Friedrichshall", 49.23, 9.21, "Neckar Salinen AG")
    b.site("RM-NACL-TORREVIEJA-ES", "Salinas del Segura - refined salt", "raw_material", "ESP", "Torrevieja", 37.98,
           -0.69, "Salinas del Segura SA")
    b.site("RM-NACL-GANDHIDHAM-IN", "Kutch Pure Salt - refinery", "raw_material", "IND", "Gandhidham", 23.08, 70.13,
           "Kutch Pure Salt Ltd")
    b.site("RM-NACL-DAMPIER-AU", "Pilbara Solar Salt - Dampier", "raw_material", "AUS", "Dampier", -20.66, 116.71,
           "Pilbara Solar Salt Pty Ltd")
    b.site("RM-NACL-MOSSORO-BR", "Potiguar Sal Refinado - Mossoro", "raw_material", "BRA", "Mossoro", -5.19, -37.34,
           "Potiguar Sal Refinado Ltda")
    b.site("RM-FILM-ROUNDLAKE-US", "Fox Lake Polyfilms - IV film plant", "raw_material", "USA", "Round Lake", 42.35,
           -88.09, "Fox Lake Polyfilms Inc.")
    b.site("RM-FILM-KORTRIJK-BE", "Flanders Medical Films - film plant", "raw_material", "BEL", "Kortrijk", 50.83,
           3.26, "Flanders Medical Films NV")
    b.site("RM-FILM-MORIYAMA-JP", "Omi Medical Films - film plant", "raw_material", "JPN", "Moriyama", 35.06,
           135.99, "Omi Medical Films KK")
    b.site("RM-FILM-SILVASSA-IN", "Dadra Flexibles - medical film", "raw_material", "IND", "Silvassa", 20.27, 73.02,
           "Dadra Flexibles Pvt Ltd")

    lvp = "lvp_bag"
    b.site("FF-SAL-MARION-US", "Blue Ridge Infusion - North Cove plant", "fill_finish", "USA", "Marion", 35.77,
           -82.03, "Blue Ridge Infusion Co.", lvp, ttr_weeks=TTR_FLOOD, annual_disruption_prob=0.15)
    b.site("FF-SAL-MCPHERSON-US", "Heartland Parenterals - McPherson plant", "fill_finish", "USA", "McPherson", 38.37,
           -97.66, "Heartland Parenterals Inc.", lvp, surge=0.2)
    b.site("FF-SAL-AIBONITO-PR", "Caribe Sterile Solutions - Aibonito", "fill_finish", "Puerto Rico", "Aibonito",
           18.14, -66.27, "Caribe Sterile Solutions LLC", lvp, ttr_weeks=TTR_HURRICANE, annual_disruption_prob=0.2)
    b.site("FF-SAL-IRVINE-US", "Pacific Fluids - Irvine plant", "fill_finish", "USA", "Irvine", 33.68, -117.83,
           "Pacific Fluids Corp.", lvp, surge=0.3)
    b.site("FF-SAL-CASTLEBAR-IE", "Blue Ridge Infusion - Castlebar plant", "fill_finish", "IRL", "Castlebar", 53.86,
           -9.30, "Blue Ridge Infusion Co.", lvp, surge=0.15)
    b.site("FF-SAL-ALLISTON-CA", "Blue Ridge Infusion - Alliston plant", "fill_finish", "CAN", "Alliston", 44.15,
           -79.87, "Blue Ridge Infusion Co.", lvp)
    b.site("FF-SAL-MELSUNGEN-DE", "Fulda Infusion - Melsungen plant", "fill_finish", "DEU", "Melsungen", 51.13, 9.55,
           "Fulda Infusion GmbH", lvp)
    b.site("FF-SAL-RUBI-ES", "Iberinfus - Rubi plant", "fill_finish", "ESP", "Rubi", 41.49, 2.03, "Iberinfus SA", lvp)
    b.site("FF-SAL-BADDI-IN", "Shivalik Healthcare - Baddi parenterals", "fill_finish", "IND", "Baddi", 30.96, 76.79,
           "Shivalik Healthcare Ltd", lvp)
    b.site("FF-SAL-AURANGABAD-IN", "Deccan Infusions - Aurangabad", "fill_finish", "IND", "Aurangabad", 19.88, 75.34,
           "Deccan Infusions Pvt Ltd", lvp)
    b.site("FF-SAL-TOKUSHIMA-JP", "Awa Infusion - Tokushima plant", "fill_finish", "JPN", "Tokushima", 34.07, 134.55,
           "Awa Infusion KK", lvp)
    b.site("FF-SAL-SHIZUOKA-JP", "Suruga Infusion - Shizuoka plant", "fill_finish", "JPN", "Shizuoka", 34.98, 138.38,
           "Suruga Infusion KK", lvp)
    b.site("FF-SAL-ITAPIRA-BR", "Paulista Solucoes Parenterais - Itapira", "fill_finish", "Brazil", "Itapira",
           -22.44, -46.82, "Paulista Solucoes Parenterais Ltda", lvp)
    b.site("FF-SAL-ANAPOLIS-BR", "Goias Parenterais - Anapolis", "fill_finish", "BRA", "Anapolis", -16.33, -48.95,
           "Goias Parenterais SA", lvp)

    for plant, salt, film in [
        # plant, [(salt supplier, share, lead)], [(film supplier, share, lead)]
        ("FF-SAL-MARION-US", [("RM-NACL-HUTCHINSON-US", 0.7, 4), ("RM-NACL-MANISTEE-US", 0.3, 3)],
         [("RM-FILM-ROUNDLAKE-US", 0.5, 3), ("RM-FILM-KORTRIJK-BE", 0.5, 35)]),
        ("FF-SAL-MCPHERSON-US", [("RM-NACL-HUTCHINSON-US", 0.7, 1), ("RM-NACL-MANISTEE-US", 0.3, 4)],
         [("RM-FILM-ROUNDLAKE-US", 0.6, 3), ("RM-FILM-KORTRIJK-BE", 0.4, 40)]),
        ("FF-SAL-AIBONITO-PR", [("RM-NACL-HUTCHINSON-US", None, 10), ("RM-NACL-MANISTEE-US", None, 10)],
         [("RM-FILM-ROUNDLAKE-US", 0.6, 10), ("RM-FILM-KORTRIJK-BE", 0.4, 30)]),
        ("FF-SAL-IRVINE-US", [("RM-NACL-HUTCHINSON-US", 0.6, 4), ("RM-NACL-MANISTEE-US", 0.4, 5)],
         [("RM-FILM-ROUNDLAKE-US", 0.6, 4), ("RM-FILM-KORTRIJK-BE", 0.4, 40)]),
        ("FF-SAL-CASTLEBAR-IE", [("RM-NACL-BADFRIEDRICHSHALL-DE", None, 5), ("RM-NACL-TORREVIEJA-ES", None, 6)],
         [("RM-FILM-KORTRIJK-BE", 0.7, 3), ("RM-FILM-ROUNDLAKE-US", 0.3, 14)]),
        ("FF-SAL-ALLISTON-CA", [("RM-NACL-MANISTEE-US", 1.0, 3)],
         [("RM-FILM-ROUNDLAKE-US", 0.7, 3), ("RM-FILM-KORTRIJK-BE", 0.3, 14)]),
        ("FF-SAL-MELSUNGEN-DE", [("RM-NACL-BADFRIEDRICHSHALL-DE", 1.0, 2)],
         [("RM-FILM-KORTRIJK-BE", 0.6, 2), ("RM-FILM-ROUNDLAKE-US", 0.4, 40)]),
        ("FF-SAL-RUBI-ES", [("RM-NACL-TORREVIEJA-ES", 1.0, 2)],
         [("RM-FILM-KORTRIJK-BE", 0.6, 3), ("RM-FILM-ROUNDLAKE-US", 0.4, 14)]),
        ("FF-SAL-BADDI-IN", [("RM-NACL-GANDHIDHAM-IN", 1.0, 5)],
         [("RM-FILM-SILVASSA-IN", 0.7, 4), ("RM-FILM-KORTRIJK-BE", 0.3, 30)]),
        ("FF-SAL-AURANGABAD-IN", [("RM-NACL-GANDHIDHAM-IN", 0.7, 3), ("RM-NACL-DAMPIER-AU", 0.3, 20)],
         [("RM-FILM-SILVASSA-IN", 1.0, 2)]),
        ("FF-SAL-TOKUSHIMA-JP", [("RM-NACL-DAMPIER-AU", 0.6, 14), ("RM-NACL-GANDHIDHAM-IN", 0.4, 25)],
         [("RM-FILM-MORIYAMA-JP", 0.6, 2), ("RM-FILM-KORTRIJK-BE", 0.4, 40)]),
        ("FF-SAL-SHIZUOKA-JP", [("RM-NACL-DAMPIER-AU", 1.0, 14)],
         [("RM-FILM-MORIYAMA-JP", 0.7, 2), ("RM-FILM-ROUNDLAKE-US", 0.3, 30)]),
        ("FF-SAL-ITAPIRA-BR", [("RM-NACL-MOSSORO-BR", 1.0, 5)],
         [("RM-FILM-ROUNDLAKE-US", None, 30), ("RM-FILM-KORTRIJK-BE", None, 30)]),
        ("FF-SAL-ANAPOLIS-BR", [("RM-NACL-MOSSORO-BR", 0.6, 5), ("RM-NACL-TORREVIEJA-ES", 0.4, 20)],
         [("RM-FILM-ROUNDLAKE-US", 0.5, 30), ("RM-FILM-KORTRIJK-BE", 0.5, 30)]),
    ]:
        for supplier, share, lead in salt:
            b.link(supplier, plant, NACL, share, lead)
        for supplier, share, lead in film:
            b.link(supplier, plant, FILM, share, lead)

    # US: 60% / 23% / 10% / 7% by maker; Irish plant of the market leader is a known alternate (import approval).
    us_mix = [("FF-SAL-MARION-US", 0.60, 2), ("FF-SAL-MCPHERSON-US", 0.23, 4), ("FF-SAL-AIBONITO-PR", 0.10, 7),
              ("FF-SAL-IRVINE-US", 0.07, 5)]
    b.market("SAL", "USA", 3_500_000, [
        DC("Mechanicsville", 37.61, -77.37, 0, us_mix, 0.55),
        DC("Joliet", 41.53, -88.08, 1, us_mix, 0.45),
    ], inventory_days=18)
    for dc in ("DIST-USA-SAL-MECHANICSVILLE", "DIST-USA-SAL-JOLIET"):
        b.backup("FF-SAL-CASTLEBAR-IE", dc, PRODUCTS["SAL"][0], 0.3, PAS_WEEKS, 12)
    b.market("SAL", "CAN", 380_000, [
        DC("Mississauga", 43.59, -79.64, 0, [("FF-SAL-ALLISTON-CA", 0.7, 1), ("FF-SAL-MARION-US", 0.3, 3)], 0.6),
        DC("Laval", 45.61, -73.71, 1, [("FF-SAL-ALLISTON-CA", 0.6, 2), ("FF-SAL-MCPHERSON-US", 0.4, 4)], 0.4),
    ])
    b.market("SAL", "DEU", 900_000, [
        DC("Frankfurt", 50.11, 8.68, 0, [("FF-SAL-MELSUNGEN-DE", 0.7, 1), ("FF-SAL-CASTLEBAR-IE", 0.3, 4)]),
        DC("Hamburg", 53.55, 9.99, 1, [("FF-SAL-MELSUNGEN-DE", 1.0, 2)]),
    ], inventory_days=42)
    b.market("SAL", "FRA", 700_000, [
        DC("Orleans", 47.90, 1.91, 0, [("FF-SAL-CASTLEBAR-IE", 0.5, 4), ("FF-SAL-RUBI-ES", 0.5, 3)], 0.5),
        DC("Lyon", 45.76, 4.84, 1, [("FF-SAL-MELSUNGEN-DE", 0.4, 3), ("FF-SAL-RUBI-ES", 0.6, 2)], 0.5),
    ], inventory_days=60)
    b.market("SAL", "GBR", 650_000, [
        DC("Daventry", 52.26, -1.16, 0, [("FF-SAL-CASTLEBAR-IE", 0.8, 3), ("FF-SAL-MELSUNGEN-DE", 0.2, 4)], 0.6),
        DC("Leeds", 53.80, -1.55, 1, [("FF-SAL-CASTLEBAR-IE", 1.0, 3)], 0.4),
    ])
    b.market("SAL", "ESP", 480_000, [
        DC("Zaragoza", 41.65, -0.88, 0, [("FF-SAL-RUBI-ES", 1.0, 1)], 0.5),
        DC("Valencia", 39.47, -0.38, 1, [("FF-SAL-RUBI-ES", 0.7, 1), ("FF-SAL-CASTLEBAR-IE", 0.3, 5)], 0.5),
    ])
    b.market("SAL", "IND", 1_600_000, [
        DC("Gurugram", 28.46, 77.03, 0, [("FF-SAL-BADDI-IN", 0.6, 1), ("FF-SAL-AURANGABAD-IN", 0.4, 3)]),
        DC("Pune", 18.52, 73.86, 1, [("FF-SAL-BADDI-IN", None, 4), ("FF-SAL-AURANGABAD-IN", None, 1)]),
    ])
    b.market("SAL", "JPN", 1_000_000, [
        DC("Saitama", 35.86, 139.65, 0, [("FF-SAL-TOKUSHIMA-JP", 0.8, 2), ("FF-SAL-SHIZUOKA-JP", 0.2, 1)], 0.55),
        DC("Nagoya", 35.18, 136.91, 1, [("FF-SAL-TOKUSHIMA-JP", 0.6, 1), ("FF-SAL-SHIZUOKA-JP", 0.4, 1)], 0.45),
    ])
    b.market("SAL", "BRA", 750_000, [
        DC("Guarulhos", -23.46, -46.53, 0, [("FF-SAL-ITAPIRA-BR", 0.6, 1), ("FF-SAL-ANAPOLIS-BR", 0.4, 3)], 0.6),
        DC("Belo Horizonte", -19.92, -43.94, 1, [("FF-SAL-ANAPOLIS-BR", 0.7, 2), ("FF-SAL-ITAPIRA-BR", 0.3, 2)], 0.4),
    ])


# ---------------------------------------------------------------------------------------------------------------
# Heparin injection (API from pig intestinal mucosa; crude heparin mostly from China)
# ---------------------------------------------------------------------------------------------------------------
CRUDE_HEP = "crude heparin (porcine intestinal mucosa)"
HEP_API = "heparin sodium API (porcine)"


def add_heparin(b: Builder) -> None:
    """Crude heparin workshops -> API -> aseptic vial fill; Chinese API reaches the US and EU through two ports."""
    b.site("RM-CRUDEHEP-JINAN-CN", "Qilu Porcine Extracts - crude heparin", "raw_material", "CHN", "Jinan", 36.65,
           117.12, "Qilu Porcine Extracts Co.")
    b.site("RM-CRUDEHEP-LINYI-CN", "Yimeng Biochem - crude heparin", "raw_material", "CHN", "Linyi", 35.10, 118.36,
           "Yimeng Biochem Co.")
    b.site("RM-CRUDEHEP-YANCHENG-CN", "Subei Casing and Mucosa - crude heparin", "raw_material", "CHN", "Yancheng",
           33.35, 120.16, "Subei Casing and Mucosa Co.")
    b.site("RM-CRUDEHEP-SIOUXCITY-US", "Missouri Valley Bioproducts - crude heparin", "raw_material", "USA",
           "Sioux City", 42.50, -96.40, "Missouri Valley Bioproducts Inc.")
    b.site("RM-CRUDEHEP-VIC-ES", "Osona Porcine Extracts - crude heparin", "raw_material", "ESP", "Vic", 41.93, 2.25,
           "Osona Porcine Extracts SL")
    b.site("API-HEP-CHANGZHOU-CN", "Longcheng Heparin Biochem - API plant", "api", "CHN", "Changzhou", 31.81, 119.97,
           "Longcheng Heparin Biochem Co.", ttr_weeks=TTR_QUALITY)
    b.site("API-HEP-SHENZHEN-CN", "Pearl River Heparin - API plant", "api", "CHN", "Shenzhen", 22.55, 114.06,
           "Pearl River Heparin Co.")
    b.site("API-HEP-WAUNAKEE-US", "Badger Biologics - heparin API", "api", "USA", "Waunakee", 43.19, -89.46,
           "Badger Biologics Inc.")
    b.site("API-HEP-PALAFOLLS-ES", "Catalana de Heparinas - API plant", "api", "ESP", "Palafolls", 41.67, 2.75,
           "Catalana de Heparinas SA")
    b.site("LOG-SHANGHAI-CN", "Port of Shanghai - Waigaoqiao container terminal", "logistics", "CHN", "Shanghai",
           31.35, 121.59, "Huangpu Container Terminals Co.", inventory_days=0, ttr_weeks=2)
    b.site("LOG-ROTTERDAM-NL", "Port of Rotterdam - Maasvlakte pharma hub", "logistics", "NLD", "Rotterdam", 51.95,
           4.05, "Maasvlakte Pharma Hub BV", inventory_days=0, ttr_weeks=2)
    b.site("LOG-SANJUAN-PR", "Port of San Juan - container terminal", "logistics", "PRI", "San Juan", 18.46, -66.08,
           "Isla Freight Terminals Inc.", inventory_days=0, ttr_weeks=4)  # port reopening: assumption

    vial = "aseptic_vial"
    b.site("FF-HEP-ROCKYMOUNT-US", "Tar River Injectables - Rocky Mount", "fill_finish", "USA", "Rocky Mount", 35.99,
           -77.82, "Tar River Injectables Inc.", vial, ttr_weeks=TTR_TORNADO)
    b.site("FF-HEP-JAYUYA-PR", "Caribe Sterile Solutions - Jayuya", "fill_finish", "PR", "Jayuya", 18.22, -66.59,
           "Caribe Sterile Solutions LLC", vial, ttr_weeks=TTR_HURRICANE, annual_disruption_prob=0.2)
    b.site("FF-HEP-HAMELN-DE", "Weser Injektabilia - Hameln", "fill_finish", "Germany", "Hameln", 52.10, 9.36,
           "Weser Injektabilia GmbH", vial, surge=0.15)
    b.site("FF-HEP-LATINA-IT", "Pontina Sterile - Latina", "fill_finish", "ITA", "Latina", 41.47, 12.90,
           "Pontina Sterile Srl", vial)
    b.site("FF-HEP-KADOMA-JP", "Naniwa Pharma - Kadoma injectables", "fill_finish", "JPN", "Kadoma", 34.74, 135.59,
           "Naniwa Pharma KK", vial)

    for api, crude_mix in [
        ("API-HEP-CHANGZHOU-CN", [("RM-CRUDEHEP-JINAN-CN", 0.5, 3), ("RM-CRUDEHEP-LINYI-CN", 0.3, 2),
                                  ("RM-CRUDEHEP-YANCHENG-CN", 0.2, 2)]),
        ("API-HEP-SHENZHEN-CN", [("RM-CRUDEHEP-JINAN-CN", 0.4, 5), ("RM-CRUDEHEP-LINYI-CN", 0.6, 5)]),
        ("API-HEP-WAUNAKEE-US", [("RM-CRUDEHEP-SIOUXCITY-US", 1.0, 2)]),
        ("API-HEP-PALAFOLLS-ES", [("RM-CRUDEHEP-VIC-ES", None, 1)]),
    ]:
        for supplier, share, lead in crude_mix:
            b.link(supplier, api, CRUDE_HEP, share, lead)

    # API flows; sea freight China -> US/EU 35-40 days.
    b.link("API-HEP-CHANGZHOU-CN", "LOG-SHANGHAI-CN", HEP_API, 1.0, 1)
    b.link("LOG-SHANGHAI-CN", "FF-HEP-ROCKYMOUNT-US", HEP_API, 0.6, 38)
    b.link("API-HEP-WAUNAKEE-US", "FF-HEP-ROCKYMOUNT-US", HEP_API, 0.4, 3)
    b.link("LOG-SHANGHAI-CN", "FF-HEP-JAYUYA-PR", HEP_API, 0.7, 40)
    b.link("API-HEP-WAUNAKEE-US", "FF-HEP-JAYUYA-PR", HEP_API, 0.3, 7)
    b.link("LOG-SHANGHAI-CN", "LOG-ROTTERDAM-NL", HEP_API, 0.6, 35)
    b.link("API-HEP-SHENZHEN-CN", "LOG-ROTTERDAM-NL", HEP_API, 0.4, 38)
    b.link("LOG-ROTTERDAM-NL", "FF-HEP-HAMELN-DE", HEP_API, 0.5, 3)
    b.link("API-HEP-PALAFOLLS-ES", "FF-HEP-HAMELN-DE", HEP_API, 0.5, 4)
    b.link("LOG-ROTTERDAM-NL", "FF-HEP-LATINA-IT", HEP_API, 0.7, 4)
    b.link("API-HEP-PALAFOLLS-ES", "FF-HEP-LATINA-IT", HEP_API, 0.3, 3)
    b.link("API-HEP-SHENZHEN-CN", "FF-HEP-KADOMA-JP", HEP_API, 0.6, 7)
    b.link("API-HEP-CHANGZHOU-CN", "FF-HEP-KADOMA-JP", HEP_API, 0.4, 5)

    # Vials and stoppers. Every vial line uses the Sano coated stopper; Eschweiler is qualifying as an alternate.
    for plant, vial_mix, stopper_lead in [
        ("FF-HEP-ROCKYMOUNT-US", [("RM-VIAL-VINELAND-US", 0.7, 2), ("RM-VIAL-BERGAMO-IT", 0.3, 30)], 35),
        ("FF-HEP-JAYUYA-PR", [("RM-VIAL-VINELAND-US", 1.0, 7)], 40),
        ("FF-HEP-HAMELN-DE", [("RM-VIAL-BERGAMO-IT", 0.6, 3), ("RM-VIAL-VINELAND-US", 0.4, 30)], 35),
        ("FF-HEP-LATINA-IT", [("RM-VIAL-BERGAMO-IT", 1.0, 2)], 35),
        ("FF-HEP-KADOMA-JP", [("RM-VIAL-ZIBO-CN", 1.0, 7)], 2),
    ]:
        for supplier, share, lead in vial_mix:
            b.link(supplier, plant, VIALS, share, lead)
        b.link("RM-STOPPER-SANO-JP", plant, STOPPERS, 1.0, stopper_lead)
    b.backup("RM-STOPPER-ESCHWEILER-DE", "FF-HEP-HAMELN-DE", STOPPERS, 1.0, PAS_WEEKS, 2)
    b.backup("RM-STOPPER-ESCHWEILER-DE", "FF-HEP-ROCKYMOUNT-US", STOPPERS, 0.6, PAS_WEEKS, 30)

    b.link("FF-HEP-JAYUYA-PR", "LOG-SANJUAN-PR", PRODUCTS["HEP"][0], 1.0, 1)
    b.market("HEP", "USA", 420_000, [
        DC("Memphis", None, None, 0, [("FF-HEP-ROCKYMOUNT-US", 0.55, 2), ("LOG-SANJUAN-PR", 0.45, 5)], 0.6,
           country="United States"),
        DC("Columbus", 39.96, -83.00, 1, [("FF-HEP-ROCKYMOUNT-US", None, 2), ("LOG-SANJUAN-PR", None, 5)], 0.4),
    ], inventory_days=18)
    b.backup("FF-HEP-HAMELN-DE", "DIST-USA-HEP-MEMPHIS", PRODUCTS["HEP"][0], 0.5, PAS_WEEKS, 10)
    b.market("HEP", "CAN", 45_000, [
        DC("Brampton", 43.73, -79.76, 0, [("FF-HEP-ROCKYMOUNT-US", 0.5, 3), ("FF-HEP-HAMELN-DE", 0.5, 14)], 0.5),
        DC("Boucherville", 45.59, -73.44, 1, [("FF-HEP-HAMELN-DE", 1.0, 14)], 0.5),
    ])
    b.market("HEP", "DEU", 110_000, [
        DC("Mannheim", 49.49, 8.47, 0, [("FF-HEP-HAMELN-DE", 0.7, 1), ("FF-HEP-LATINA-IT", 0.3, 3)]),
        DC("Bremen", 53.08, 8.80, 1, [("FF-HEP-HAMELN-DE", None, 1), ("FF-HEP-LATINA-IT", None, 4)]),
    ], inventory_days=42)
    b.market("HEP", "FRA", 85_000, [
        DC("Lille", 50.63, 3.06, 0, [("FF-HEP-LATINA-IT", 0.6, 3), ("FF-HEP-HAMELN-DE", 0.4, 2)], 0.6),
        DC("Toulouse", 43.60, 1.44, 1, [("FF-HEP-LATINA-IT", 1.0, 3)], 0.4),
    ], inventory_days=60)
    b.market("HEP", "ITA", 80_000, [
        DC("Milano", 45.46, 9.19, 0, [("FF-HEP-LATINA-IT", 0.8, 2), ("FF-HEP-HAMELN-DE", 0.2, 3)], 0.5),
        DC("Napoli", 40.85, 14.27, 1, [("FF-HEP-LATINA-IT", 1.0, 1)], 0.5),
    ])
    b.market("HEP", "GBR", 75_000, [
        DC("Birmingham", 52.49, -1.89, 0, [("FF-HEP-HAMELN-DE", 0.5, 3), ("FF-HEP-LATINA-IT", 0.5, 4)], 0.6),
        DC("Bristol", 51.45, -2.59, 1, [("FF-HEP-HAMELN-DE", 1.0, 3)], 0.4),
    ])
    b.market("HEP", "JPN", 95_000, [
        DC("Yokohama", 35.44, 139.64, 0, [("FF-HEP-KADOMA-JP", 0.7, 1), ("FF-HEP-HAMELN-DE", 0.3, 35)], 0.6),
        DC("Osaka", None, None, 1, [("FF-HEP-KADOMA-JP", 1.0, 1)], 0.4, country="JP"),
    ])


# ---------------------------------------------------------------------------------------------------------------
# Cisplatin injection (oncology fill-finish; about half of US supply from one plant in Ahmedabad)
# ---------------------------------------------------------------------------------------------------------------
PT_SALT = "potassium tetrachloroplatinate"
CIS_API = "cisplatin API"


def add_cisplatin(b: Builder) -> None:
    """One Indian API plant feeds every fill line that serves the US; its sister fill plant ships half of US demand."""
    b.site("RM-PT-RUSTENBURG-ZA", "Bushveld Platinum Refiners - Rustenburg", "raw_material", "ZAF", "Rustenburg",
           -25.67, 27.24, "Bushveld Platinum Refiners (Pty) Ltd")
    b.site("RM-PT-HANAU-DE", "Main Edelmetall - Hanau", "raw_material", "DEU", "Hanau", 50.13, 8.92,
           "Main Edelmetall GmbH")
    # Placed by offline geocoding (no lat/lon given).
    b.site("API-CIS-AHMEDABAD-IN", "Sabarmati Oncology - API unit", "api", "IN", "Ahmedabad", None, None,
           "Sabarmati Oncology Ltd", ttr_weeks=TTR_QUALITY)
    b.site("API-CIS-HYDERABAD-IN", "Deccan Onco APIs - Hyderabad", "api", "IND", "Hyderabad", 17.39, 78.49,
           "Deccan Onco APIs Pvt Ltd")
    b.site("API-CIS-LODI-IT", "Lombarda Platinum Chemicals - Lodi", "api", "ITA", "Lodi", 45.31, 9.50,
           "Lombarda Platinum Chemicals SpA")
    b.site("LOG-MUMBAI-AIRCARGO-IN", "Mumbai airport air cargo complex", "logistics", "IND", "Mumbai", 19.09, 72.87,
           "Sahar Air Cargo Services Pvt Ltd", inventory_days=0, ttr_weeks=1)

    vial = "aseptic_vial"
    b.site("FF-CIS-AHMEDABAD-IN", "Sabarmati Oncology - injectables unit", "fill_finish", "IND", "Ahmedabad", 23.02,
           72.57, "Sabarmati Oncology Ltd", vial, ttr_weeks=TTR_QUALITY, annual_disruption_prob=0.1)
    b.site("FF-CIS-NEWBRUNSWICK-US", "Raritan Oncology Fill - New Brunswick", "fill_finish", "USA", "New Brunswick",
           40.49, -74.45, "Raritan Oncology Fill LLC", vial, surge=0.25)
    b.site("FF-CIS-BEDFORD-US", "Cuyahoga Sterile - Bedford", "fill_finish", "USA", "Bedford", 41.39, -81.54,
           "Cuyahoga Sterile Inc.", vial)
    b.site("FF-CIS-KUNDL-AT", "Tirol Onkologie - Kundl", "fill_finish", "AUT", "Kundl", 47.47, 11.99,
           "Tirol Onkologie GmbH", vial)
    b.site("FF-CIS-VIZAG-IN", "Coromandel Injectables - Visakhapatnam", "fill_finish", "IND", "Visakhapatnam", 17.69,
           83.22, "Coromandel Injectables Ltd", vial, surge=0.1)
    b.site("FF-CIS-TAKASAKI-JP", "Jomo Pharma - Takasaki", "fill_finish", "JPN", "Takasaki", 36.32, 139.00,
           "Jomo Pharma KK", vial)

    b.link("RM-PT-RUSTENBURG-ZA", "API-CIS-AHMEDABAD-IN", PT_SALT, 0.7, 30)
    b.link("RM-PT-HANAU-DE", "API-CIS-AHMEDABAD-IN", PT_SALT, 0.3, 7)
    b.link("RM-PT-RUSTENBURG-ZA", "API-CIS-HYDERABAD-IN", PT_SALT, 1.0, 30)
    b.link("RM-PT-HANAU-DE", "API-CIS-LODI-IT", PT_SALT, 0.6, 2)
    b.link("RM-PT-RUSTENBURG-ZA", "API-CIS-LODI-IT", PT_SALT, 0.4, 35)

    b.link("API-CIS-AHMEDABAD-IN", "FF-CIS-AHMEDABAD-IN", CIS_API, 1.0, 1)
    b.link("API-CIS-AHMEDABAD-IN", "FF-CIS-NEWBRUNSWICK-US", CIS_API, 1.0, 7)
    b.link("API-CIS-AHMEDABAD-IN", "FF-CIS-BEDFORD-US", CIS_API, 1.0, 7)
    b.link("API-CIS-AHMEDABAD-IN", "FF-CIS-VIZAG-IN", CIS_API, 0.3, 3)
    b.link("API-CIS-HYDERABAD-IN", "FF-CIS-VIZAG-IN", CIS_API, 0.7, 2)
    b.link("API-CIS-LODI-IT", "FF-CIS-KUNDL-AT", CIS_API, 0.6, 2)
    b.link("API-CIS-HYDERABAD-IN", "FF-CIS-KUNDL-AT", CIS_API, 0.4, 7)
    b.link("API-CIS-LODI-IT", "FF-CIS-TAKASAKI-JP", CIS_API, 1.0, 7)
    # Second API sources filed with FDA but not yet approved.
    b.backup("API-CIS-HYDERABAD-IN", "FF-CIS-NEWBRUNSWICK-US", CIS_API, 0.5, PAS_WEEKS, 7)
    b.backup("API-CIS-LODI-IT", "FF-CIS-BEDFORD-US", CIS_API, 1.0, PAS_INSPECTION_WEEKS, 7)

    for plant, vial_mix, stopper_lead in [
        ("FF-CIS-AHMEDABAD-IN", [("RM-VIAL-JAMBUSAR-IN", 0.6, 1), ("RM-VIAL-ZIBO-CN", 0.4, 20)], 30),
        ("FF-CIS-NEWBRUNSWICK-US", [("RM-VIAL-VINELAND-US", 1.0, 1)], 35),
        ("FF-CIS-BEDFORD-US", [("RM-VIAL-VINELAND-US", 1.0, 2)], 35),
        ("FF-CIS-KUNDL-AT", [("RM-VIAL-BERGAMO-IT", None, 2), ("RM-VIAL-JAMBUSAR-IN", None, 30)], 35),
        ("FF-CIS-VIZAG-IN", [("RM-VIAL-JAMBUSAR-IN", 1.0, 4)], 25),
        ("FF-CIS-TAKASAKI-JP", [("RM-VIAL-ZIBO-CN", 0.5, 7), ("RM-VIAL-BERGAMO-IT", 0.5, 35)], 1),
    ]:
        for supplier, share, lead in vial_mix:
            b.link(supplier, plant, VIALS, share, lead)
        b.link("RM-STOPPER-SANO-JP", plant, STOPPERS, 1.0, stopper_lead)
    b.backup("RM-STOPPER-ESCHWEILER-DE", "FF-CIS-NEWBRUNSWICK-US", STOPPERS, 0.5, PAS_WEEKS, 30)

    cis = PRODUCTS["CIS"][0]
    b.link("FF-CIS-AHMEDABAD-IN", "LOG-MUMBAI-AIRCARGO-IN", cis, 1.0, 2)
    us_mix = [("LOG-MUMBAI-AIRCARGO-IN", 0.5, 4), ("FF-CIS-NEWBRUNSWICK-US", 0.3, 2), ("FF-CIS-BEDFORD-US", 0.2, 2)]
    b.market("CIS", "USA", 9_500, [
        DC("Louisville", 38.25, -85.76, 0, us_mix, 0.5),
        DC("Dallas", 32.78, -96.80, 1, us_mix, 0.5),
    ])
    b.market("CIS", "CAN", 1_100, [
        DC("Vaughan", 43.84, -79.51, 0, [("FF-CIS-NEWBRUNSWICK-US", 0.6, 2), ("FF-CIS-KUNDL-AT", 0.4, 10)], 0.5),
        DC("Montreal", 45.50, -73.57, 1, [("FF-CIS-NEWBRUNSWICK-US", None, 2), ("FF-CIS-KUNDL-AT", None, 10)], 0.5),
    ])
    b.market("CIS", "DEU", 2_400, [
        DC("Stuttgart", 48.78, 9.18, 0, [("FF-CIS-KUNDL-AT", 0.7, 1), ("FF-CIS-VIZAG-IN", 0.3, 7)], 0.6),
        DC("Hannover", 52.37, 9.73, 1, [("FF-CIS-KUNDL-AT", 1.0, 2)], 0.4),
    ], inventory_days=42)
    b.market("CIS", "FRA", 1_900, [
        DC("Rennes", 48.11, -1.68, 0, [("FF-CIS-KUNDL-AT", 0.6, 3), ("FF-CIS-VIZAG-IN", 0.4, 7)], 0.5),
        DC("Marseille", 43.30, 5.37, 1, [("FF-CIS-VIZAG-IN", 0.5, 7), ("FF-CIS-KUNDL-AT", 0.5, 3)], 0.5),
    ], inventory_days=60)
    b.market("CIS", "GBR", 1_800, [
        DC("Manchester", 53.48, -2.24, 0, [("FF-CIS-VIZAG-IN", 0.5, 7), ("FF-CIS-KUNDL-AT", 0.5, 3)], 0.6),
        DC("Glasgow", 55.86, -4.25, 1, [("FF-CIS-VIZAG-IN", 1.0, 7)], 0.4),
    ])
    b.market("CIS", "IND", 7_500, [
        DC("Kolkata", 22.57, 88.36, 0, [("FF-CIS-AHMEDABAD-IN", 0.6, 4), ("FF-CIS-VIZAG-IN", 0.4, 2)], 0.5),
        DC("Chennai", 13.08, 80.27, 1, [("FF-CIS-VIZAG-IN", 0.7, 2), ("FF-CIS-AHMEDABAD-IN", 0.3, 4)], 0.5),
    ])
    b.market("CIS", "JPN", 3_000, [
        DC("Chiba", 35.61, 140.12, 0, [("FF-CIS-TAKASAKI-JP", 0.8, 1), ("FF-CIS-KUNDL-AT", 0.2, 7)], 0.6),
        DC("Kobe", 34.69, 135.20, 1, [("FF-CIS-TAKASAKI-JP", 1.0, 1)], 0.4),
    ])
    b.market("CIS", "BRA", 2_600, [
        DC("Campinas", -22.91, -47.06, 0, [("LOG-MUMBAI-AIRCARGO-IN", 0.5, 5), ("FF-CIS-VIZAG-IN", 0.5, 7)], 0.6),
        DC("Rio de Janeiro", -22.92, -43.20, 1, [("FF-CIS-VIZAG-IN", 1.0, 7)], 0.4),
    ])


# ---------------------------------------------------------------------------------------------------------------
# Paracetamol 500 mg tablets (Chinese key starting material into Indian API)
# ---------------------------------------------------------------------------------------------------------------
PAP = "p-aminophenol (KSM)"
ACAN = "acetic anhydride"
PCM_API = "paracetamol API"
STARCH = "pregelatinised maize starch"
PCM_BULK = "paracetamol 500 mg tablets, bulk"


def add_paracetamol(b: Builder) -> None:
    """Every paracetamol API plant here depends on p-aminophenol from Taizhou or Shijiazhuang."""
    b.site("RM-PAP-TAIZHOU-CN", "Jiaojiang Fine Chemicals - p-aminophenol", "raw_material", "CHN", "Taizhou", 28.66,
           121.42, "Jiaojiang Fine Chemicals Co.")
    b.site("RM-PAP-SHIJIAZHUANG-CN", "Jizhou Aromatics - p-aminophenol", "raw_material", "CHN", "Shijiazhuang",
           38.04, 114.51, "Jizhou Aromatics Co.")
    b.site("RM-ACAN-DAHEJ-IN", "Bharuch Acetyls - acetic anhydride", "raw_material", "IND", "Dahej", 21.70, 72.55,
           "Bharuch Acetyls Ltd")
    b.site("RM-ACAN-NANJING-CN", "Jinling Acetyls - acetic anhydride", "raw_material", "CHN", "Nanjing", 32.06,
           118.80, "Jinling Acetyls Co.")
    b.site("RM-ACAN-HULL-GB", "Humber Acetyls - acetic anhydride", "raw_material", "GB", "Hull", 53.74, -0.33,
           "Humber Acetyls Ltd")
    b.site("RM-STARCH-LESTREM-FR", "Flandre Amidon - pharma starch", "raw_material", "FRA", "Lestrem", 50.62, 2.69,
           "Flandre Amidon SA")
    b.site("RM-STARCH-DECATUR-US", "Prairie Starch - pharma starch", "raw_material", "USA", "Decatur", 39.84, -88.95,
           "Prairie Starch Co.")
    b.site("RM-STARCH-AHMEDNAGAR-IN", "Deccan Starch - pharma starch", "raw_material", "IND", "Ahmednagar", 19.09,
           74.74, "Deccan Starch Pvt Ltd")

    b.site("API-PCM-VADODARA-IN", "Baroda Analgesics - paracetamol API", "api", "IND", "Vadodara", 22.31, 73.18,
           "Baroda Analgesics Ltd", ttr_weeks=TTR_QUALITY)
    b.site("API-PCM-ANKLESHWAR-IN", "Narmada Chem Pharma - paracetamol API", "api", "IND", "Ankleshwar", 21.63, 73.00,
           "Narmada Chem Pharma Ltd")
    # Placed by offline geocoding (no lat/lon given); country written as an English name.
    b.site("API-PCM-HYDERABAD-IN", "Golconda Fine Chem - paracetamol API", "api", "India", "Hyderabad", None, None,
           "Golconda Fine Chem Ltd")
    b.site("API-PCM-SHIJIAZHUANG-CN", "Hebei Hengyuan Pharmaceutical - paracetamol API", "api", "CHN", "Shijiazhuang",
           38.00, 114.47, "Hebei Hengyuan Pharmaceutical Co.")
    b.site("API-PCM-ROUSSILLON-FR", "Rhodanienne Synthese - paracetamol API", "api", "FRA", "Roussillon", 45.37, 4.81,
           "Rhodanienne Synthese SAS", surge=0.2)

    b.site("CMO-PCM-BADDI-IN", "Shivalik Healthcare - Baddi oral solids", "cmo", "IND", "Baddi", 30.93, 76.80,
           "Shivalik Healthcare Ltd")
    b.site("CMO-PCM-THANE-IN", "Konkan Generics - Thane tablet plant", "cmo", "IND", "Thane", 19.22, 72.98,
           "Konkan Generics Ltd")
    b.site("CMO-PCM-BARCELONETA-PR", "Norte Solid Dose - Barceloneta", "cmo", "PRI", "Barceloneta", 18.45, -66.54,
           "Norte Solid Dose LLC", ttr_weeks=TTR_HURRICANE, annual_disruption_prob=0.2)
    b.site("CMO-PCM-ULM-DE", "Donau Generika - Ulm tablet plant", "cmo", "DEU", "Ulm", 48.40, 9.99,
           "Donau Generika GmbH")
    b.site("CMO-PCM-AGEN-FR", "Garonne Comprimes - Agen", "cmo", "FRA", "Agen", 44.20, 0.62, "Garonne Comprimes SAS")
    b.site("LOG-NHAVASHEVA-IN", "Jawaharlal Nehru Port (Nhava Sheva)", "logistics", "IND", "Nhava Sheva", 18.93,
           72.98, "Sheva Gateway Terminals Pvt Ltd", inventory_days=0, ttr_weeks=2)
    b.site("LOG-SAVANNAH-US", "Port of Savannah - Garden City terminal", "logistics", "USA", "Savannah", 32.12,
           -81.14, "Coastal Empire Terminals LLC", inventory_days=0, ttr_weeks=2)
    b.site("PKG-PCM-POOLER-US", "Coastal Pack Solutions - bottling and labelling", "packaging", "USA", "Pooler",
           32.12, -81.25, "Coastal Pack Solutions LLC")

    # Key starting material: each Indian API plant buys p-aminophenol from exactly one Chinese plant.
    b.link("RM-PAP-TAIZHOU-CN", "API-PCM-VADODARA-IN", PAP, 1.0, 20)
    b.link("RM-PAP-TAIZHOU-CN", "API-PCM-ANKLESHWAR-IN", PAP, 1.0, 20)
    b.link("RM-PAP-SHIJIAZHUANG-CN", "API-PCM-HYDERABAD-IN", PAP, 1.0, 25)
    b.link("RM-PAP-SHIJIAZHUANG-CN", "API-PCM-SHIJIAZHUANG-CN", PAP, 1.0, 1)
    b.link("RM-PAP-TAIZHOU-CN", "API-PCM-ROUSSILLON-FR", PAP, 0.6, 38)
    b.link("RM-PAP-SHIJIAZHUANG-CN", "API-PCM-ROUSSILLON-FR", PAP, 0.4, 40)
    b.backup("RM-PAP-SHIJIAZHUANG-CN", "API-PCM-VADODARA-IN", PAP, 0.5, PAS_WEEKS, 25)
    b.link("RM-ACAN-DAHEJ-IN", "API-PCM-VADODARA-IN", ACAN, 1.0, 1)
    b.link("RM-ACAN-DAHEJ-IN", "API-PCM-ANKLESHWAR-IN", ACAN, 0.6, 1)
    b.link("RM-ACAN-NANJING-CN", "API-PCM-ANKLESHWAR-IN", ACAN, 0.4, 20)
    b.link("RM-ACAN-DAHEJ-IN", "API-PCM-HYDERABAD-IN", ACAN, 1.0, 4)
    b.link("RM-ACAN-NANJING-CN", "API-PCM-SHIJIAZHUANG-CN", ACAN, 1.0, 3)
    b.link("RM-ACAN-HULL-GB", "API-PCM-ROUSSILLON-FR", ACAN, 1.0, 4)

    b.link("API-PCM-VADODARA-IN", "CMO-PCM-BADDI-IN", PCM_API, 0.6, 4)
    b.link("API-PCM-HYDERABAD-IN", "CMO-PCM-BADDI-IN", PCM_API, 0.4, 5)
    b.link("API-PCM-ANKLESHWAR-IN", "CMO-PCM-THANE-IN", PCM_API, None, 1)  # equal split
    b.link("API-PCM-VADODARA-IN", "CMO-PCM-THANE-IN", PCM_API, None, 1)
    b.link("API-PCM-VADODARA-IN", "CMO-PCM-BARCELONETA-PR", PCM_API, 0.4, 40)
    b.link("API-PCM-ANKLESHWAR-IN", "CMO-PCM-BARCELONETA-PR", PCM_API, 0.3, 40)
    b.link("API-PCM-SHIJIAZHUANG-CN", "CMO-PCM-BARCELONETA-PR", PCM_API, 0.3, 42)
    b.link("API-PCM-ROUSSILLON-FR", "CMO-PCM-ULM-DE", PCM_API, 0.5, 2)
    b.link("API-PCM-ANKLESHWAR-IN", "CMO-PCM-ULM-DE", PCM_API, 0.5, 38)
    b.link("API-PCM-ROUSSILLON-FR", "CMO-PCM-AGEN-FR", PCM_API, 1.0, 2)
    b.backup("API-PCM-VADODARA-IN", "CMO-PCM-AGEN-FR", PCM_API, 0.5, PAS_WEEKS, 38)

    b.link("RM-STARCH-AHMEDNAGAR-IN", "CMO-PCM-BADDI-IN", STARCH, 1.0, 4)
    b.link("RM-STARCH-AHMEDNAGAR-IN", "CMO-PCM-THANE-IN", STARCH, 0.6, 1)
    b.link("RM-STARCH-DECATUR-US", "CMO-PCM-THANE-IN", STARCH, 0.4, 35)
    b.link("RM-STARCH-DECATUR-US", "CMO-PCM-BARCELONETA-PR", STARCH, 1.0, 10)
    b.link("RM-STARCH-LESTREM-FR", "CMO-PCM-ULM-DE", STARCH, 0.7, 2)
    b.link("RM-STARCH-DECATUR-US", "CMO-PCM-ULM-DE", STARCH, 0.3, 30)
    b.link("RM-STARCH-LESTREM-FR", "CMO-PCM-AGEN-FR", STARCH, 1.0, 2)

    # Bulk tablets from Thane go by sea through Nhava Sheva and Savannah to a US bottler.
    b.link("CMO-PCM-THANE-IN", "LOG-NHAVASHEVA-IN", PCM_BULK, 1.0, 1)
    b.link("LOG-NHAVASHEVA-IN", "LOG-SAVANNAH-US", PCM_BULK, 1.0, 35)
    b.link("LOG-SAVANNAH-US", "PKG-PCM-POOLER-US", PCM_BULK, 1.0, 1)

    b.market("PCM", "USA", 1_200_000, [
        DC("Reno", 39.53, -119.81, 0, [("PKG-PCM-POOLER-US", 0.5, 4), ("CMO-PCM-BARCELONETA-PR", 0.5, 10)], 0.5),
        DC("Harrisburg", 40.27, -76.88, 1, [("PKG-PCM-POOLER-US", 0.4, 2), ("CMO-PCM-BARCELONETA-PR", 0.6, 7)], 0.5),
    ])
    b.market("PCM", "DEU", 220_000, [
        DC("Koeln", 50.94, 6.96, 0, [("CMO-PCM-ULM-DE", 0.8, 1), ("CMO-PCM-AGEN-FR", 0.2, 3)], 0.6),
        DC("Leipzig", 51.34, 12.37, 1, [("CMO-PCM-ULM-DE", 1.0, 1)], 0.4),
    ], inventory_days=14)
    b.market("PCM", "FRA", 380_000, [
        DC("Nantes", 47.22, -1.55, 0, [("CMO-PCM-AGEN-FR", 0.6, 1), ("CMO-PCM-ULM-DE", 0.4, 3)], 0.5),
        DC("Strasbourg", 48.57, 7.75, 1, [("CMO-PCM-AGEN-FR", None, 2), ("CMO-PCM-ULM-DE", None, 1)], 0.5),
    ])
    b.market("PCM", "ITA", 180_000, [
        DC("Bologna", 44.49, 11.34, 0, [("CMO-PCM-ULM-DE", 0.7, 2), ("CMO-PCM-AGEN-FR", 0.3, 3)], 0.6),
        DC("Firenze", 43.77, 11.26, 1, [("CMO-PCM-ULM-DE", 0.5, 2), ("CMO-PCM-THANE-IN", 0.5, 30)], 0.4),
    ])
    b.market("PCM", "ESP", 160_000, [
        DC("Sevilla", 37.39, -5.98, 0, [("CMO-PCM-ULM-DE", 0.6, 4), ("CMO-PCM-AGEN-FR", 0.4, 2)], 0.5),
        DC("Bilbao", 43.26, -2.93, 1, [("CMO-PCM-AGEN-FR", 1.0, 1)], 0.5),
    ])
    b.market("PCM", "GBR", 200_000, [
        DC("Nottingham", 52.95, -1.15, 0, [("CMO-PCM-THANE-IN", 0.6, 30), ("CMO-PCM-ULM-DE", 0.4, 3)], 0.6),
        DC("Leicester", 52.64, -1.13, 1, [("CMO-PCM-THANE-IN", 1.0, 30)], 0.4),
    ])
    b.market("PCM", "IND", 900_000, [
        DC("Nagpur", 21.15, 79.09, 0, [("CMO-PCM-BADDI-IN", 0.7, 3), ("CMO-PCM-THANE-IN", 0.3, 2)], 0.5),
        DC("Lucknow", 26.85, 80.95, 1, [("CMO-PCM-BADDI-IN", 1.0, 2)], 0.5),
    ])
    b.market("PCM", "BRA", 300_000, [
        DC("Curitiba", -25.43, -49.27, 0, [("CMO-PCM-BADDI-IN", 0.5, 35), ("CMO-PCM-THANE-IN", 0.5, 32)], 0.6),
        DC("Contagem", -19.93, -44.05, 1, [("CMO-PCM-THANE-IN", 1.0, 32)], 0.4),
    ])


# ---------------------------------------------------------------------------------------------------------------
# Albuterol inhalation solution (Blow-Fill-Seal ampoules, technology bfs)
# ---------------------------------------------------------------------------------------------------------------
ALB_KSM = "albuterol key starting material"
ALB_API = "albuterol sulfate API"


def add_albuterol(b: Builder) -> None:
    """Both US BFS lines run on one qualified LDPE resin grade from a single Gulf Coast plant."""
    b.site("RM-ALBKSM-TAIZHOU-CN", "Huangyan Pharmachem - albuterol KSM", "raw_material", "CHN", "Taizhou", 28.65,
           121.26, "Huangyan Pharmachem Co.")
    b.site("API-ALB-VIZAG-IN", "Vizag Respiratory APIs - Parawada", "api", "IND", "Parawada", 17.62, 83.08,
           "Vizag Respiratory APIs Ltd")
    b.site("API-ALB-RINGASKIDDY-IE", "Lee Valley Chemicals - Ringaskiddy", "api", "IRL", "Ringaskiddy", 51.83, -8.35,
           "Lee Valley Chemicals Ltd")
    bfs = "bfs"
    b.site("FF-ALB-WESTCOLUMBIA-US", "Congaree Respiratory - BFS plant", "fill_finish", "USA", "West Columbia", 33.99,
           -81.07, "Congaree Respiratory Inc.", bfs, surge=0.2)
    b.site("FF-ALB-MANATI-PR", "Caribe Sterile Solutions - Manati BFS", "fill_finish", "PRI", "Manati", 18.43,
           -66.49, "Caribe Sterile Solutions LLC", bfs, ttr_weeks=TTR_HURRICANE, annual_disruption_prob=0.2)
    b.site("FF-ALB-ABTSGMUEND-DE", "Ostalb BFS - Abtsgmuend", "fill_finish", "DEU", "Abtsgmuend", 48.90, 10.00,
           "Ostalb BFS GmbH", bfs)
    b.site("FF-ALB-VAPI-IN", "Konkan Generics - Vapi BFS", "fill_finish", "IND", "Vapi", 20.37, 72.90,
           "Konkan Generics Ltd", bfs)

    b.link("RM-ALBKSM-TAIZHOU-CN", "API-ALB-VIZAG-IN", ALB_KSM, 1.0, 20)
    b.link("API-ALB-VIZAG-IN", "FF-ALB-WESTCOLUMBIA-US", ALB_API, 0.7, 35)
    b.link("API-ALB-RINGASKIDDY-IE", "FF-ALB-WESTCOLUMBIA-US", ALB_API, 0.3, 12)
    b.link("API-ALB-VIZAG-IN", "FF-ALB-MANATI-PR", ALB_API, 1.0, 35)
    b.link("API-ALB-RINGASKIDDY-IE", "FF-ALB-ABTSGMUEND-DE", ALB_API, 0.6, 5)
    b.link("API-ALB-VIZAG-IN", "FF-ALB-ABTSGMUEND-DE", ALB_API, 0.4, 35)
    b.link("API-ALB-VIZAG-IN", "FF-ALB-VAPI-IN", ALB_API, 1.0, 4)

    b.link("RM-LDPE-BAYTOWN-US", "FF-ALB-WESTCOLUMBIA-US", LDPE, 1.0, 5)
    b.link("RM-LDPE-BAYTOWN-US", "FF-ALB-MANATI-PR", LDPE, 1.0, 8)
    b.link("RM-LDPE-WESSELING-DE", "FF-ALB-ABTSGMUEND-DE", LDPE, 1.0, 2)
    b.link("RM-LDPE-DAHEJ-IN", "FF-ALB-VAPI-IN", LDPE, 0.7, 1)
    b.link("RM-LDPE-WESSELING-DE", "FF-ALB-VAPI-IN", LDPE, 0.3, 30)
    b.backup("RM-LDPE-WESSELING-DE", "FF-ALB-WESTCOLUMBIA-US", LDPE, 0.6, PAS_WEEKS, 30)
    b.backup("RM-LDPE-WESSELING-DE", "FF-ALB-MANATI-PR", LDPE, 1.0, PAS_WEEKS, 30)

    b.market("ALB", "USA", 1_800_000, [
        DC("Ontario", 34.06, -117.65, 0, [("FF-ALB-WESTCOLUMBIA-US", 0.65, 4), ("FF-ALB-MANATI-PR", 0.35, 10)], 0.55),
        DC("Atlanta", 33.75, -84.39, 1, [("FF-ALB-WESTCOLUMBIA-US", 0.7, 1), ("FF-ALB-MANATI-PR", 0.3, 7)], 0.45),
    ])
    b.market("ALB", "CAN", 150_000, [
        DC("Winnipeg", 49.90, -97.14, 0, [("FF-ALB-WESTCOLUMBIA-US", None, 4), ("FF-ALB-MANATI-PR", None, 10)]),
    ])
    b.market("ALB", "GBR", 260_000, [
        DC("Sheffield", 53.38, -1.47, 0, [("FF-ALB-ABTSGMUEND-DE", 0.7, 3), ("FF-ALB-VAPI-IN", 0.3, 30)], 0.6),
        DC("Coventry", 52.41, -1.51, 1, [("FF-ALB-ABTSGMUEND-DE", 1.0, 3)], 0.4),
    ])
    b.market("ALB", "DEU", 140_000, [
        DC("Nuernberg", 49.45, 11.08, 0, [("FF-ALB-ABTSGMUEND-DE", 1.0, 1)], 0.5),
        DC("Potsdam", 52.39, 13.06, 1, [("FF-ALB-ABTSGMUEND-DE", 0.8, 2), ("FF-ALB-VAPI-IN", 0.2, 30)], 0.5),
    ], inventory_days=14)
    b.market("ALB", "IND", 600_000, [
        DC("Bengaluru", 12.97, 77.59, 0, [("FF-ALB-VAPI-IN", 1.0, 3)], 0.5),
        DC("Jaipur", 26.91, 75.79, 1, [("FF-ALB-VAPI-IN", 0.7, 2), ("FF-ALB-ABTSGMUEND-DE", 0.3, 30)], 0.5),
    ])
    b.market("ALB", "BRA", 220_000, [
        DC("Porto Alegre", -30.03, -51.23, 0, [("FF-ALB-WESTCOLUMBIA-US", 0.5, 20), ("FF-ALB-VAPI-IN", 0.5, 32)], 0.6),
        DC("Recife", -8.05, -34.88, 1, [("FF-ALB-VAPI-IN", 1.0, 30)], 0.4),
    ])


# ---------------------------------------------------------------------------------------------------------------
# mAb-X: a fictitious monoclonal antibody (biologics CDMOs in Songdo, Cork and Puerto Rico; fill in Switzerland)
# ---------------------------------------------------------------------------------------------------------------
MEDIA = "chemically defined cell culture medium"
SUB = "single-use bioreactor bags"
PROTA = "Protein A affinity resin"
MAB_DS = "mAb-X drug substance"
MAB_PFS = "mAb-X 40 mg prefilled syringe, unlabelled"


def add_mab(b: Builder) -> None:
    """Drug substance from two CDMOs, prefilled syringes (EU, US, Korea) and lyophilized vials (Japan, Canada)."""
    b.site("RM-MEDIA-GRANDISLAND-US", "Niagara Cell Media - Grand Island", "raw_material", "USA", "Grand Island",
           43.03, -78.96, "Niagara Cell Media Inc.")
    b.site("RM-MEDIA-PAISLEY-GB", "Clyde Bioprocess - Paisley", "raw_material", "GBR", "Paisley", 55.85, -4.42,
           "Clyde Bioprocess Ltd")
    b.site("RM-SUB-LOGAN-US", "Cache Valley Bioprocess - Logan", "raw_material", "USA", "Logan", 41.74, -111.83,
           "Cache Valley Bioprocess Inc.")
    b.site("RM-SUB-GOETTINGEN-DE", "Leine Bioprocess - Goettingen", "raw_material", "DEU", "Goettingen", 51.54, 9.93,
           "Leine Bioprocess GmbH")
    b.site("RM-PROTA-UPPSALA-SE", "Fyris Chromatography - Protein A resin", "raw_material", "SWE", "Uppsala", 59.86,
           17.64, "Fyris Chromatography AB", inventory_days=90)
    b.site("RM-PROTA-SHUNAN-JP", "Suo Separations - Protein A resin", "raw_material", "JPN", "Shunan", 34.05, 131.81,
           "Suo Separations KK")

    b.site("API-MAB-SONGDO1-KR", "Yellow Sea Biologics - Songdo Plant 1", "api", "KOR", "Incheon", 37.41, 126.70,
           "Yellow Sea Biologics Co.", ttr_weeks=26)
    b.site("API-MAB-SONGDO2-KR", "Yellow Sea Biologics - Songdo Plant 2", "api", "KOR", "Incheon", 37.42, 126.69,
           "Yellow Sea Biologics Co.", ttr_weeks=26)
    b.site("API-MAB-RINGASKIDDY-IE", "Atlantic Biologics CDMO - Ringaskiddy", "api", "IRL", "Ringaskiddy", 51.82,
           -8.37, "Atlantic Biologics CDMO", ttr_weeks=26)
    b.site("API-MAB-JUNCOS-PR", "Atlantic Biologics CDMO - Juncos", "api", "PRI", "Juncos", 18.23, -65.92,
           "Atlantic Biologics CDMO", ttr_weeks=TTR_HURRICANE, annual_disruption_prob=0.2)
    b.site("API-MAB-TUAS-SG", "Lion City Biologics - Tuas drug substance", "api", "SGP", "Singapore", 1.33, 103.66,
           "Lion City Biologics Pte Ltd", ttr_weeks=26)

    b.site("FF-MAB-BASEL-CH", "Rhine Aseptics - Basel syringe line", "fill_finish", "Switzerland", "Basel", 47.56,
           7.59, "Rhine Aseptics AG", "prefilled_syringe", ttr_weeks=26)
    b.site("FF-MAB-VISP-CH", "Valais Biologics Fill - Visp lyophilisation", "fill_finish", "CHE", "Visp", 46.29, 7.88,
           "Valais Biologics Fill AG", "lyophilized")
    b.site("FF-MAB-GUAYAMA-PR", "Atlantic Biologics CDMO - Guayama fill-finish", "fill_finish", "PRI", "Guayama",
           17.98, -66.11, "Atlantic Biologics CDMO", "prefilled_syringe", ttr_weeks=TTR_HURRICANE,
           annual_disruption_prob=0.2)
    b.site("FF-MAB-SONGDO-KR", "Yellow Sea Biologics - Songdo fill-finish", "fill_finish", "KOR", "Incheon", 37.40,
           126.71, "Yellow Sea Biologics Co.", "prefilled_syringe", surge=0.3)
    b.site("FF-MAB-TUAS-SG", "Lion City Biologics - Tuas fill-finish", "fill_finish", "SGP", "Singapore", 1.34,
           103.67, "Lion City Biologics Pte Ltd", "lyophilized")
    b.site("PKG-MAB-LOERRACH-DE", "Dreiland Pack - Loerrach", "packaging", "DEU", "Loerrach", 47.61, 7.66,
           "Dreiland Pack GmbH")
    b.site("PKG-MAB-MULHOUSE-FR", "Alsace Conditionnement - Mulhouse", "packaging", "FRA", "Mulhouse", 47.75, 7.34,
           "Alsace Conditionnement SAS")
    b.site("DIST-EU-MAB-VENLO-NL", "Maas Specialty Logistics - Venlo EU hub", "distribution", "NLD", "Venlo", 51.37,
           6.17, "Maas Specialty Logistics BV")
    b.site("DIST-EU-MAB-BORNEM-BE", "Scheldt BioDistribution - Bornem EU hub", "distribution", "BEL", "Bornem", 51.10,
           4.24, "Scheldt BioDistribution NV")

    # Drug-substance inputs. Protein A resin comes from Uppsala for every plant but Tuas.
    for plant, media, bags, resin in [
        ("API-MAB-SONGDO1-KR", [("RM-MEDIA-GRANDISLAND-US", None, 14), ("RM-MEDIA-PAISLEY-GB", None, 14)],
         [("RM-SUB-LOGAN-US", 0.6, 30), ("RM-SUB-GOETTINGEN-DE", 0.4, 35)], [("RM-PROTA-UPPSALA-SE", 1.0, 7)]),
        ("API-MAB-SONGDO2-KR", [("RM-MEDIA-GRANDISLAND-US", None, 14), ("RM-MEDIA-PAISLEY-GB", None, 14)],
         [("RM-SUB-LOGAN-US", 0.6, 30), ("RM-SUB-GOETTINGEN-DE", 0.4, 35)], [("RM-PROTA-UPPSALA-SE", 1.0, 7)]),
        ("API-MAB-RINGASKIDDY-IE", [("RM-MEDIA-PAISLEY-GB", 0.7, 3), ("RM-MEDIA-GRANDISLAND-US", 0.3, 12)],
         [("RM-SUB-GOETTINGEN-DE", 0.7, 4), ("RM-SUB-LOGAN-US", 0.3, 14)], [("RM-PROTA-UPPSALA-SE", 1.0, 4)]),
        ("API-MAB-JUNCOS-PR", [("RM-MEDIA-GRANDISLAND-US", 1.0, 7)], [("RM-SUB-LOGAN-US", 1.0, 7)],
         [("RM-PROTA-UPPSALA-SE", 1.0, 7)]),
        ("API-MAB-TUAS-SG", [("RM-MEDIA-PAISLEY-GB", None, 10), ("RM-MEDIA-GRANDISLAND-US", None, 10)],
         [("RM-SUB-GOETTINGEN-DE", 0.5, 35), ("RM-SUB-LOGAN-US", 0.5, 30)], [("RM-PROTA-SHUNAN-JP", 1.0, 7)]),
    ]:
        for material, mix in ((MEDIA, media), (SUB, bags), (PROTA, resin)):
            for supplier, share, lead in mix:
                b.link(supplier, plant, material, share, lead)
    # A second Protein A resin is being validated at the Korean plants (process change with inspection).
    b.backup("RM-PROTA-SHUNAN-JP", "API-MAB-SONGDO1-KR", PROTA, 1.0, PAS_INSPECTION_WEEKS, 5)
    b.backup("RM-PROTA-SHUNAN-JP", "API-MAB-SONGDO2-KR", PROTA, 1.0, PAS_INSPECTION_WEEKS, 5)

    # Drug substance to fill-finish (frozen, by air: 3-5 days).
    b.link("API-MAB-RINGASKIDDY-IE", "FF-MAB-BASEL-CH", MAB_DS, 0.5, 3)
    b.link("API-MAB-SONGDO1-KR", "FF-MAB-BASEL-CH", MAB_DS, 0.5, 5)
    b.backup("API-MAB-SONGDO2-KR", "FF-MAB-BASEL-CH", MAB_DS, 0.5, PAS_WEEKS, 5)
    b.link("API-MAB-JUNCOS-PR", "FF-MAB-GUAYAMA-PR", MAB_DS, 0.7, 1)
    b.link("API-MAB-RINGASKIDDY-IE", "FF-MAB-GUAYAMA-PR", MAB_DS, 0.3, 5)
    b.link("API-MAB-SONGDO1-KR", "FF-MAB-SONGDO-KR", MAB_DS, None, 1)
    b.link("API-MAB-SONGDO2-KR", "FF-MAB-SONGDO-KR", MAB_DS, None, 1)
    b.link("API-MAB-SONGDO2-KR", "FF-MAB-VISP-CH", MAB_DS, 0.6, 5)
    b.link("API-MAB-TUAS-SG", "FF-MAB-VISP-CH", MAB_DS, 0.4, 5)
    b.link("API-MAB-TUAS-SG", "FF-MAB-TUAS-SG", MAB_DS, 1.0, 1)

    # Primary components of the syringes and vials.
    b.link("RM-SYRINGE-MUELLHEIM-DE", "FF-MAB-BASEL-CH", BARRELS, 0.6, 1)
    b.link("RM-SYRINGE-PONTDECLAIX-FR", "FF-MAB-BASEL-CH", BARRELS, 0.4, 2)
    b.link("RM-SYRINGE-PONTDECLAIX-FR", "FF-MAB-GUAYAMA-PR", BARRELS, 1.0, 30)
    b.link("RM-SYRINGE-MUELLHEIM-DE", "FF-MAB-SONGDO-KR", BARRELS, 0.5, 35)
    b.link("RM-SYRINGE-PONTDECLAIX-FR", "FF-MAB-SONGDO-KR", BARRELS, 0.5, 35)
    b.link("RM-STOPPER-ESCHWEILER-DE", "FF-MAB-BASEL-CH", PLUNGERS, 0.7, 2)
    b.link("RM-STOPPER-SANO-JP", "FF-MAB-BASEL-CH", PLUNGERS, 0.3, 35)
    b.link("RM-STOPPER-ESCHWEILER-DE", "FF-MAB-GUAYAMA-PR", PLUNGERS, 1.0, 30)
    b.link("RM-STOPPER-SANO-JP", "FF-MAB-SONGDO-KR", PLUNGERS, 1.0, 4)
    b.link("RM-VIAL-BERGAMO-IT", "FF-MAB-VISP-CH", VIALS, 1.0, 2)
    b.link("RM-STOPPER-SANO-JP", "FF-MAB-VISP-CH", STOPPERS, 1.0, 35)
    b.link("RM-VIAL-ZIBO-CN", "FF-MAB-TUAS-SG", VIALS, 1.0, 10)
    b.link("RM-STOPPER-ESCHWEILER-DE", "FF-MAB-TUAS-SG", STOPPERS, 1.0, 35)

    # Europe: Basel fills, two packagers label, two EU hubs distribute to all five EU markets.
    packed = PRODUCTS["MAB"][0]
    b.link("FF-MAB-BASEL-CH", "PKG-MAB-LOERRACH-DE", MAB_PFS, 1.0, 1)
    b.link("FF-MAB-BASEL-CH", "PKG-MAB-MULHOUSE-FR", MAB_PFS, 1.0, 1)
    for hub in ("DIST-EU-MAB-VENLO-NL", "DIST-EU-MAB-BORNEM-BE"):
        b.link("PKG-MAB-LOERRACH-DE", hub, packed, None, 2)
        b.link("PKG-MAB-MULHOUSE-FR", hub, packed, None, 2)
        b.backup("FF-MAB-SONGDO-KR", hub, packed, 0.5, PAS_WEEKS, 5)
    for iso3, demand, venlo_share, inventory_days in [
        ("DEU", 12_000, 0.6, 42), ("FRA", 9_500, None, 60), ("GBR", 8_500, 0.5, None), ("ITA", 7_500, 0.7, None),
        ("ESP", 6_000, 0.4, None),
    ]:
        market_id = f"MKT-{iso3}-MAB"
        bornem_share = None if venlo_share is None else round(1 - venlo_share, 2)
        b.link("DIST-EU-MAB-VENLO-NL", market_id, packed, venlo_share, 2)
        b.link("DIST-EU-MAB-BORNEM-BE", market_id, packed, bornem_share, 3)
        city, lat, lon, adjective = CAPITALS[iso3]
        b.site(market_id, f"{adjective} market: {PRODUCT_NAMES['MAB']}", "market", iso3, city, lat, lon,
               weekly_demand=demand, inventory_days=inventory_days)

    b.market("MAB", "USA", 52_000, [
        DC("Indianapolis", 39.77, -86.16, 0, [("FF-MAB-GUAYAMA-PR", 0.6, 5), ("FF-MAB-SONGDO-KR", 0.4, 5)], 0.5),
        DC("Fort Worth", 32.76, -97.33, 1, [("FF-MAB-GUAYAMA-PR", 0.6, 5), ("FF-MAB-SONGDO-KR", 0.4, 5)], 0.5),
    ])
    b.market("MAB", "KOR", 2_200, [DC("Icheon", 37.28, 127.44, 0, [("FF-MAB-SONGDO-KR", 1.0, 1)], 1.0)])
    b.market("MAB", "JPN", 6_500, [
        DC("Kawasaki", 35.53, 139.70, 0, [("FF-MAB-VISP-CH", 0.5, 5), ("FF-MAB-TUAS-SG", 0.5, 5)], 0.5),
        DC("Fukuoka", 33.59, 130.40, 1, [("FF-MAB-TUAS-SG", 1.0, 5)], 0.5),
    ], material=MAB_LYO)
    b.market("MAB", "CAN", 4_000, [
        DC("Calgary", 51.05, -114.07, 0, [("FF-MAB-VISP-CH", 0.5, 5), ("FF-MAB-TUAS-SG", 0.5, 7)], 0.6),
        DC("Quebec City", 46.79, -71.20, 1, [("FF-MAB-VISP-CH", 1.0, 5)], 0.4),
    ], material=MAB_LYO)


def build() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Build the sample network as raw ``sites`` and ``links`` tables (columns of PRODUCT.md section 2).

    Examples
    --------
    >>> sites, links = build()
    >>> len(sites) >= 150 and set(links["status"]) == {"active", "backup"}
    True
    """
    b = Builder()
    add_primary_packaging(b)
    add_saline(b)
    add_heparin(b)
    add_cisplatin(b)
    add_paracetamol(b)
    add_albuterol(b)
    add_mab(b)
    sites = pd.DataFrame(b.sites).reindex(columns=SITE_COLUMNS)
    links = pd.DataFrame(b.links).reindex(columns=LINK_COLUMNS)
    return sites, links


def _cell(value) -> str:
    """CSV text of one cell: empty for missing, integers without '.0', other floats as the shortest repr."""
    if value is None or (isinstance(value, float) and value != value):
        return ""
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    return str(value)


def write(sites: pd.DataFrame, links: pd.DataFrame, out_dir: Path) -> None:
    """Write ``sites.csv`` and ``links.csv`` (UTF-8, comma, ``\\n`` line ends, minimal quoting)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, table in (("sites.csv", sites), ("links.csv", links)):
        with open(out_dir / name, "w", encoding="utf-8", newline="") as fh:
            writer = csv.writer(fh, lineterminator="\n")
            writer.writerow(table.columns)
            for row in table.itertuples(index=False):
                writer.writerow([_cell(v) for v in row])


# ---------------------------------------------------------------------------------------------------------------
# Self-check: structural rules and a naive AND/OR propagation (PRODUCT.md sections 2 and 3.1)
# ---------------------------------------------------------------------------------------------------------------
def normalised_shares(active: pd.DataFrame) -> pd.Series:
    """Shares per link, normalised per (customer, material); all empty -> equal split."""
    group = active.groupby(["customer_id", "material"])["share"]
    count = group.transform("size")
    total = group.transform("sum")
    given = active["share"].notna()
    return active["share"].where(given, 1.0 / count).where(~given | (total == 0), active["share"] / total)


def supply_fractions(graph: nx.DiGraph, order: list[str], inputs: dict, failed: set[str]) -> dict[str, float]:
    """x_v of PRODUCT.md 3.1 for sites ``failed`` at capacity 0 and all others intact.

    ``inputs[v]`` maps each input material of v to ``[(supplier, share), ...]``.
    """
    x: dict[str, float] = {}
    for v in order:
        c = 0.0 if v in failed else 1.0
        materials = inputs.get(v)
        if not materials:
            x[v] = c
            continue
        a = min(min(1.0, sum(share * x[u] for u, share in suppliers)) for suppliers in materials.values())
        x[v] = c * a
    return x


def check(sites: pd.DataFrame, links: pd.DataFrame, verbose: bool = True) -> dict:
    """Assert the structural rules and return (and print) a sanity report with SPOFs and critical sites."""
    ids = sites["site_id"]
    assert ids.is_unique, f"duplicate site ids: {sorted(ids[ids.duplicated()])}"
    bad_ids = [s for s in ids if not SITE_ID_RE.match(s)]
    assert not bad_ids, f"bad site ids: {bad_ids}"
    kinds = {"raw_material", "api", "cmo", "fill_finish", "packaging", "logistics", "distribution", "market"}
    assert set(sites["kind"]) <= kinds, set(sites["kind"]) - kinds
    known = set(ids)
    for column in ("supplier_id", "customer_id"):
        missing = set(links[column]) - known
        assert not missing, f"links.{column} not in sites: {sorted(missing)}"
    assert not (links["supplier_id"] == links["customer_id"]).any(), "self-loop"
    assert not links.duplicated(["supplier_id", "customer_id", "material"]).any(), "duplicate link"
    assert set(links["status"]) <= {"active", "backup"}

    placed = sites["lat"].notna() & sites["lon"].notna()
    geocoded = sites.loc[~placed]
    assert 3 <= len(geocoded) <= 5, f"{len(geocoded)} sites without coordinates"
    assert (geocoded["city"].fillna("") != "").all(), "a site needs lat/lon or a city"
    assert sites.loc[placed, "lat"].between(-90, 90).all() and sites.loc[placed, "lon"].between(-180, 180).all()

    is_market = sites["kind"] == "market"
    markets = set(ids[is_market])
    assert (sites.loc[is_market, "weekly_demand"] > 0).all(), "every market needs weekly_demand > 0"
    assert sites.loc[~is_market, "weekly_demand"].isna().all(), "weekly_demand is for markets only"
    active = links[links["status"] == "active"].copy()
    backup = links[links["status"] == "backup"]
    assert not (set(links["supplier_id"]) & markets), "a market supplies someone"
    assert markets <= set(active["customer_id"]), f"markets without suppliers: {markets - set(active['customer_id'])}"
    idle = known - markets - set(active["supplier_id"])
    assert not idle, f"sites supplying nobody: {sorted(idle)}"

    # Shares: per (customer, material) all given or all empty; given ones sum to 1 (no normalisation warning).
    for (customer, material), grp in active.groupby(["customer_id", "material"]):
        given = grp["share"].notna()
        assert given.all() or not given.any(), f"mixed empty/given shares: {customer} / {material}"
        if given.all():
            assert ((grp["share"] > 0) & (grp["share"] <= 1)).all(), (customer, material)
            assert abs(grp["share"].sum() - 1) <= 0.01, f"shares of {customer} / {material} sum to {grp['share'].sum()}"
    assert backup["share"].between(0, 1, inclusive="right").all() and (backup["qualification_weeks"] > 0).all()
    active_inputs = set(zip(active["customer_id"], active["material"], strict=True))
    for row in backup.itertuples():
        assert (row.customer_id, row.material) in active_inputs, f"backup for an unknown input: {row}"
        assert not ((active["supplier_id"] == row.supplier_id) & (active["customer_id"] == row.customer_id)).any()

    graph = nx.DiGraph()
    graph.add_nodes_from(ids)
    graph.add_edges_from(zip(active["supplier_id"], active["customer_id"], strict=True))
    assert nx.is_directed_acyclic_graph(graph), f"cycle: {nx.find_cycle(graph)}"
    all_links = nx.DiGraph(list(zip(links["supplier_id"], links["customer_id"], strict=True)))
    assert nx.is_directed_acyclic_graph(all_links), "backup links close a cycle"
    no_demand = [s for s in known - markets if not (nx.descendants(graph, s) & markets)]
    assert not no_demand, f"sites that reach no market: {no_demand}"

    products = {m.split("-")[2] for m in markets}
    countries = {country_code(c) for c in sites["country"]}
    assert len(sites) >= 150 and len(products) >= 6 and len(countries) >= 15, (len(sites), products, countries)
    fills = sites[sites["kind"] == "fill_finish"]
    assert "bfs" in set(fills["technology"]), "no Blow-Fill-Seal site"
    assert (sites["country"].map(country_code) == "PRI").sum() >= 4, "no Puerto Rico cluster"
    assert len(backup) >= 3

    # Naive static propagation (PRODUCT.md 3.1) for every single-site failure.
    active["norm_share"] = normalised_shares(active)
    inputs: dict[str, dict[str, list]] = {}
    for row in active.itertuples():
        inputs.setdefault(row.customer_id, {}).setdefault(row.material, []).append((row.supplier_id, row.norm_share))
    order = list(nx.topological_sort(graph))
    demand = sites.set_index("site_id").loc[sorted(markets), "weekly_demand"]
    base = supply_fractions(graph, order, inputs, set())
    assert all(abs(base[m] - 1) < 1e-9 for m in markets), "intact network does not supply every market fully"

    spof: dict[str, list[str]] = {}
    critical: dict[str, list[str]] = {}
    exposure: dict[str, float] = {}
    for site in sorted(known - markets):
        x = supply_fractions(graph, order, inputs, {site})
        lost = {m: 1 - x[m] for m in markets}
        exposure[site] = sum(demand[m] * lost[m] for m in markets) / demand.sum()
        if cut := sorted(m for m in markets if x[m] <= 1e-9):
            spof[site] = cut
        if crit := sorted(m for m in markets if lost[m] >= 0.5 - 1e-9):
            critical[site] = crit
    country_of = dict(zip(ids, sites["country"].map(country_code), strict=True))
    groups = {}
    for code in ("CHN", "IND", "PRI"):
        members = {s for s, c in country_of.items() if c == code and s not in markets}
        x = supply_fractions(graph, order, inputs, members)
        groups[code] = {m: round(1 - x[m], 3) for m in sorted(markets) if 1 - x[m] >= 0.5 - 1e-9}

    report = {
        "sites": len(sites), "links": len(links), "backup_links": len(backup), "markets": len(markets),
        "products": sorted(products), "countries": sorted(countries),
        "by_kind": sites["kind"].value_counts().to_dict(), "spof": spof, "critical": critical,
        "exposure_top": sorted(exposure.items(), key=lambda kv: -kv[1])[:10], "country_failures": groups,
    }
    if verbose:
        print(f"{len(sites)} sites, {len(links)} links ({len(backup)} backup), {len(markets)} markets, "
              f"{len(products)} products, {len(countries)} countries: {', '.join(sorted(countries))}")
        print("by kind:", ", ".join(f"{k}={v}" for k, v in sorted(report["by_kind"].items())))
        print(f"\nSPOFs (failure alone cuts a market to 0): {len(spof)} of {len(known - markets)} non-market sites")
        for site, cut in spof.items():
            print(f"  {site:28s} -> {', '.join(cut)}")
        only_critical = {s: m for s, m in critical.items() if s not in spof}
        print(f"\ncritical but not SPOF (costs some market >= 50%): {len(only_critical)} sites")
        for site, cut in only_critical.items():
            print(f"  {site:28s} -> {', '.join(cut)}")
        print("\nlargest exposures (share of all weekly demand lost when the site alone fails):")
        for site, value in report["exposure_top"]:
            print(f"  {site:28s} {value:.3f}")
        for code, lost in groups.items():
            print(f"\nall {code} sites lost -> markets losing >= 50%: " +
                  (", ".join(f"{m} {v:.0%}" for m, v in lost.items()) or "none"))
    return report


def check_coordinates(sites: pd.DataFrame, polygons: Path = ROOT / "data" / "geo" / "countries.gpkg") -> list[str]:
    """Sites whose lat/lon fall outside their stated country in the shipped polygons (needs geopandas; else skipped).

    Coastal plants and ports are nudged a few km inland so that a spatial join cannot move them to the sea or to a
    neighbour (Shenzhen / Hong Kong).
    """
    try:
        import geopandas as gpd
    except ImportError:
        return []
    if not polygons.exists():
        return []
    placed = sites[sites["lat"].notna() & sites["lon"].notna()].copy()
    placed["alpha3"] = placed["country"].map(country_code)
    points = gpd.GeoDataFrame(placed, geometry=gpd.points_from_xy(placed["lon"], placed["lat"]), crs=4326)
    shapes = gpd.read_file(polygons)[["iso_a3", "geometry"]].rename(columns={"iso_a3": "polygon"})
    joined = gpd.sjoin(points, shapes.to_crs(4326), how="left", predicate="within")
    wrong = joined[joined["polygon"] != joined["alpha3"]]
    return [f"{r.site_id} ({r.alpha3}) lies in {r.polygon}" for r in wrong.itertuples()]


def country_code(value: str) -> str:
    """Alpha-3 code of an alpha-2, alpha-3 or English country name (pycountry; 'United States' accepted)."""
    import pycountry

    aliases = {"UNITED STATES": "USA"}
    if str(value).upper() in aliases:
        return aliases[str(value).upper()]
    return pycountry.countries.lookup(value).alpha_3


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--out", type=Path, default=OUT_DIR, help="output folder (default data/sample)")
    parser.add_argument("--check-only", action="store_true", help="check the CSV files in --out, write nothing")
    parser.add_argument("--quiet", action="store_true", help="no report, only assertion errors")
    args = parser.parse_args(argv)
    if args.check_only:
        read = {"keep_default_na": False, "na_values": [""]}
        sites = pd.read_csv(args.out / "sites.csv", dtype={"site_id": str, "city": str}, **read)
        links = pd.read_csv(args.out / "links.csv", **read)
    else:
        sites, links = build()
        write(sites, links, args.out)
        print(f"wrote {args.out / 'sites.csv'} and {args.out / 'links.csv'}")
        # Check what was written, as a reader will see it.
        return main([*(["--quiet"] if args.quiet else []), "--check-only", "--out", str(args.out)])
    check(sites, links, verbose=not args.quiet)
    misplaced = check_coordinates(sites)
    assert not misplaced, "sites outside their country: " + "; ".join(misplaced)
    return 0


if __name__ == "__main__":
    sys.exit(main())
