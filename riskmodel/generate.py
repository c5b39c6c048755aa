"""Synthetic supply-network generator: the engine behind ``riskmodel generate``.

This module owns the making of realistic, fictitious pharmaceutical supply networks of any size, written in the raw
input format of PRODUCT.md section 2 (``sites.csv`` and ``links.csv``). It is used for benchmarks, tests and demos;
the command-line wrapper lives in :mod:`riskmodel.cli`.

Structure of a generated network
--------------------------------
Tier proportions (share of all sites; exact counts by largest remainder, every kind at least one site):

==============  =====  =========================================================================================
kind            share  what it makes / where it is
==============  =====  =========================================================================================
raw_material    15 %   key starting materials ``KSM-0001`` (57 %, China and India heavy), excipients (15 %),
                       primary packaging (18 %: ``vial glass``, ``stoppers``, ``BFS resin`` ...), secondary
                       packaging (10 %: ``cartons``, ``labels``, ``blister foil``)
api            12 %   ``API-0001`` from 1-3 KSMs (India, China, EU, US, Puerto Rico, Singapore/Korea/Japan)
cmo            10 %   bulk drug product ``DP-0001`` from the API plus 1-3 excipients (technology ``oral_solid`` or
                       ``sterile_bulk``)
fill_finish     8 %   filled product ``FP-0001`` from the bulk (or directly from a sterile API) plus the primary
                       packaging of its technology (``aseptic_vial``, ``lyophilized``, ``prefilled_syringe``,
                       ``bfs``, ``lvp_bag``)
packaging       8 %   packaged product ``PK-0001`` from the filled product (sterile) or bulk (oral) plus
                       secondary packaging
logistics       2 %   chokepoint hubs (ports, air hubs) passing ``PK-0001`` on to distributors
distribution   15 %   wholesalers in the cities of their product's markets, spread over the regions where it
                       sells; ``PK-0001`` from logistics, packaging (or, rarely, fill-finish)
market         30 %   demand of one product in one city/country; heavy-tailed ``weekly_demand``
==============  =====  =========================================================================================

Products (molecules) number about ``n_sites / 20``; about half are sterile injectables (each with one fill-finish
technology), half oral solids. Every product has at least one API, packaging, distribution and market site, plus a
CMO (oral) or fill-finish site (sterile), so every market can be supplied. A site handles one product, so its inputs
(AND) are the product input from the tier below plus its raw materials, and each input has 1-3 suppliers (OR).

Links go only from a lower tier to a higher one (``raw_material < api < cmo < fill_finish < packaging < logistics <
distribution < market``), possibly skipping tiers, so the active links form a DAG. Popularity of suppliers is
heavy-tailed (Pareto for raw materials, so a few KSM, glass or stopper makers serve very many customers), KSMs are
shared by many APIs (Zipf), and downstream tiers prefer suppliers in their own region (markets strongly: about two
thirds of distributor-to-market links stay within a region, while manufacturing links are mostly global; about 60 % of
inputs are single-sourced, as with sterile injectables, so SPOFs are common). About 3 % of links are
``backup`` links with ``qualification_weeks`` (mostly 26). Shares are given as whole percentages summing to 1 for
most (customer, material) groups, left empty (equal split) for about a quarter, and deliberately off by up to 20 % for
about 2 % (the importer then warns). Lead times follow the great-circle distance class of the link: < 100 km 1-2
days, < 1,000 km 2-4, < 5,000 km 3-8, < 10,000 km 14-30, farther 21-45 (sea freight). Inventory days, recovery
times and surge are filled for about 90 % of sites (the rest exercise the importer's defaults); the annual disruption
probability is left empty (defaults come from country and kind).

Geography: every site is placed at a real hub city (coordinates from REFERENCE-FACTS.md or approximate city centres,
coastal anchors moved a few km inland) with a jitter uniform in a disc whose radius is set per hub (0.008-0.2
degrees), so that sites stay on land in the hub's country (no site of a 100,000-site network fell outside its country
in Natural Earth 1:50m or 1:10m polygons): no geocoding is needed. The city column holds the hub's name. Company names
are invented; site ids are ``RM-000001``, ``API-000001``, ... ``MKT-000001``.

The output is a pure function of ``(n_sites, seed)``: all randomness comes from one ``numpy.random.default_rng(seed)``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from riskmodel.regions import REGIONS, region_of

__all__ = [
    "KIND_ORDER", "KIND_SHARES", "LINK_COLUMNS", "MIN_SITES", "SITE_COLUMNS", "generate_network", "write_dataset",
]

#: Tier order; links only go from a lower to a higher tier.
KIND_ORDER: tuple[str, ...] = (
    "raw_material", "api", "cmo", "fill_finish", "packaging", "logistics", "distribution", "market",
)
#: Target share of each kind among all sites.
KIND_SHARES: dict[str, float] = {
    "raw_material": 0.15, "api": 0.12, "cmo": 0.10, "fill_finish": 0.08,
    "packaging": 0.08, "logistics": 0.02, "distribution": 0.15, "market": 0.30,
}
#: Smallest network this generator makes (below it not every tier can be filled).
MIN_SITES = 20

#: Columns of the generated tables (the raw input format of PRODUCT.md section 2).
SITE_COLUMNS = [
    "site_id", "name", "kind", "country", "city", "lat", "lon", "operator", "technology", "weekly_demand",
    "inventory_days", "ttr_weeks", "surge", "annual_disruption_prob",
]
LINK_COLUMNS = ["supplier_id", "customer_id", "material", "share", "lead_time_days", "status", "qualification_weeks"]

RAW, API, CMO, FF, PKG, LOG, DIST, MKT = range(8)
_ID_PREFIX = ("RM", "API", "CMO", "FF", "PKG", "LOG", "DIST", "MKT")

_NREG = len(REGIONS)  # regions (riskmodel.regions) index the local-sourcing blocks

# Hub cities: key -> (city, ISO alpha-3, lat, lon, jitter radius in degrees). Coordinates are those of
# REFERENCE-FACTS.md or approximate city centres; for coastal cities (and Rome, beside the Vatican) the anchor is moved
# up to about 6 km inland, and jitter radii are small for coastal and border cities, so that every jittered site falls
# inside its hub's country in Natural Earth 1:50m and 1:10m country polygons (checked for 100,000 sites when the
# table was written).
_HUBS: dict[str, tuple[str, str, float, float, float]] = {
    # India (API, KSM, CMO, fill-finish)
    "ahmedabad": ("Ahmedabad", "IND", 23.02, 72.57, 0.15),
    "vadodara": ("Vadodara", "IND", 22.31, 73.18, 0.15),
    "ankleshwar": ("Ankleshwar", "IND", 21.61, 73.02, 0.08),
    "hyderabad": ("Hyderabad", "IND", 17.39, 78.49, 0.2),
    "visakhapatnam": ("Visakhapatnam", "IND", 17.69, 83.20, 0.04),
    "baddi": ("Baddi", "IND", 30.96, 76.79, 0.08),
    "mumbai": ("Mumbai", "IND", 19.08, 72.88, 0.03),
    "bengaluru": ("Bengaluru", "IND", 12.97, 77.59, 0.15),
    "delhi": ("Delhi", "IND", 28.61, 77.21, 0.1),
    # China (KSM, raw materials, API)
    "taizhou": ("Taizhou", "CHN", 28.64, 121.39, 0.04),
    "shijiazhuang": ("Shijiazhuang", "CHN", 38.04, 114.51, 0.2),
    "shanghai": ("Shanghai", "CHN", 31.22, 121.54, 0.05),
    "changzhou": ("Changzhou", "CHN", 31.80, 119.96, 0.15),
    "jinan": ("Jinan", "CHN", 36.65, 117.12, 0.2),
    "hangzhou": ("Hangzhou", "CHN", 30.32, 120.12, 0.1),
    "wuhan": ("Wuhan", "CHN", 30.59, 114.31, 0.15),
    "beijing": ("Beijing", "CHN", 39.90, 116.41, 0.15),
    "guangzhou": ("Guangzhou", "CHN", 23.13, 113.26, 0.1),
    "chengdu": ("Chengdu", "CHN", 30.66, 104.07, 0.15),
    "hongkong": ("Hong Kong", "HKG", 22.35, 114.18, 0.015),
    # Europe
    "cork": ("Cork", "IRL", 51.81, -8.39, 0.03),
    "castlebar": ("Castlebar", "IRL", 53.86, -9.30, 0.05),
    "dublin": ("Dublin", "IRL", 53.35, -6.27, 0.03),
    "basel": ("Basel", "CHE", 47.56, 7.59, 0.008),
    "visp": ("Visp", "CHE", 46.29, 7.88, 0.04),
    "zurich": ("Zurich", "CHE", 47.37, 8.54, 0.04),
    "ludwigshafen": ("Ludwigshafen", "DEU", 49.48, 8.44, 0.05),
    "leverkusen": ("Leverkusen", "DEU", 51.03, 6.98, 0.05),
    "frankfurt": ("Frankfurt", "DEU", 50.11, 8.68, 0.08),
    "mainz": ("Mainz", "DEU", 50.00, 8.27, 0.05),
    "munich": ("Munich", "DEU", 48.14, 11.58, 0.1),
    "berlin": ("Berlin", "DEU", 52.52, 13.40, 0.1),
    "hamburg": ("Hamburg", "DEU", 53.55, 9.99, 0.08),
    "milan": ("Milan", "ITA", 45.46, 9.19, 0.1),
    "padua": ("Padua", "ITA", 45.41, 11.88, 0.08),
    "latina": ("Latina", "ITA", 41.47, 12.90, 0.05),
    "rome": ("Rome", "ITA", 41.88, 12.54, 0.05),
    "barcelona": ("Barcelona", "ESP", 41.40, 2.17, 0.03),
    "madrid": ("Madrid", "ESP", 40.42, -3.70, 0.1),
    "lyon": ("Lyon", "FRA", 45.76, 4.84, 0.1),
    "paris": ("Paris", "FRA", 48.86, 2.35, 0.1),
    "puurs": ("Puurs", "BEL", 51.08, 4.29, 0.04),
    "brussels": ("Brussels", "BEL", 50.85, 4.35, 0.04),
    "antwerp": ("Antwerp", "BEL", 51.22, 4.40, 0.03),
    "rotterdam": ("Rotterdam", "NLD", 51.92, 4.48, 0.03),
    "amsterdam": ("Amsterdam", "NLD", 52.37, 4.90, 0.03),
    "kalundborg": ("Kalundborg", "DNK", 55.69, 11.10, 0.02),
    "copenhagen": ("Copenhagen", "DNK", 55.69, 12.53, 0.02),
    "kundl": ("Kundl", "AUT", 47.47, 11.99, 0.04),
    "vienna": ("Vienna", "AUT", 48.21, 16.37, 0.05),
    "ljubljana": ("Ljubljana", "SVN", 46.06, 14.51, 0.05),
    "budapest": ("Budapest", "HUN", 47.50, 19.04, 0.08),
    "london": ("London", "GBR", 51.51, -0.13, 0.1),
    "warsaw": ("Warsaw", "POL", 52.23, 21.01, 0.1),
    "stockholm": ("Stockholm", "SWE", 59.29, 18.07, 0.03),
    "lisbon": ("Lisbon", "PRT", 38.77, -9.17, 0.03),
    "athens": ("Athens", "GRC", 37.98, 23.73, 0.03),
    "prague": ("Prague", "CZE", 50.08, 14.44, 0.1),
    "bucharest": ("Bucharest", "ROU", 44.43, 26.10, 0.1),
    "helsinki": ("Helsinki", "FIN", 60.20, 24.92, 0.03),
    "oslo": ("Oslo", "NOR", 59.93, 10.75, 0.03),
    # United States and Puerto Rico
    "rtp": ("Research Triangle NC", "USA", 35.90, -78.86, 0.1),
    "rockymount": ("Rocky Mount NC", "USA", 35.99, -77.82, 0.1),
    "marion": ("Marion NC", "USA", 35.77, -82.03, 0.08),
    "mcpherson": ("McPherson KS", "USA", 38.37, -97.66, 0.15),
    "newbrunswick": ("New Brunswick NJ", "USA", 40.49, -74.45, 0.05),
    "westcolumbia": ("West Columbia SC", "USA", 33.99, -81.07, 0.1),
    "indianapolis": ("Indianapolis", "USA", 39.77, -86.16, 0.1),
    "chicago": ("Chicago", "USA", 41.88, -87.63, 0.03),
    "memphis": ("Memphis", "USA", 35.15, -90.05, 0.05),
    "louisville": ("Louisville", "USA", 38.25, -85.76, 0.05),
    "newyork": ("New York", "USA", 40.67, -73.98, 0.02),
    "losangeles": ("Los Angeles", "USA", 34.05, -118.24, 0.05),
    "houston": ("Houston", "USA", 29.76, -95.37, 0.1),
    "atlanta": ("Atlanta", "USA", 33.75, -84.39, 0.1),
    "philadelphia": ("Philadelphia", "USA", 39.95, -75.19, 0.04),
    "dallas": ("Dallas", "USA", 32.78, -96.80, 0.1),
    "boston": ("Boston", "USA", 42.36, -71.08, 0.02),
    "miami": ("Miami", "USA", 25.77, -80.23, 0.02),
    "barceloneta": ("Barceloneta", "PRI", 18.45, -66.54, 0.015),
    "jayuya": ("Jayuya", "PRI", 18.22, -66.59, 0.03),
    "aibonito": ("Aibonito", "PRI", 18.14, -66.27, 0.03),
    "guayama": ("Guayama", "PRI", 17.98, -66.11, 0.015),
    "juncos": ("Juncos", "PRI", 18.23, -65.92, 0.03),
    "sanjuan": ("San Juan", "PRI", 18.41, -66.06, 0.015),
    "toronto": ("Toronto", "CAN", 43.65, -79.38, 0.03),
    "montreal": ("Montreal", "CAN", 45.52, -73.61, 0.04),
    # Latin America
    "mexicocity": ("Mexico City", "MEX", 19.43, -99.13, 0.1),
    "guadalajara": ("Guadalajara", "MEX", 20.67, -103.35, 0.1),
    "saopaulo": ("Sao Paulo", "BRA", -23.55, -46.63, 0.1),
    "rio": ("Rio de Janeiro", "BRA", -22.93, -43.22, 0.02),
    "buenosaires": ("Buenos Aires", "ARG", -34.62, -58.39, 0.03),
    "bogota": ("Bogota", "COL", 4.71, -74.07, 0.1),
    "santiago": ("Santiago", "CHL", -33.45, -70.67, 0.1),
    "lima": ("Lima", "PER", -12.05, -77.04, 0.03),
    # Middle East and Africa
    "istanbul": ("Istanbul", "TUR", 41.04, 28.95, 0.02),
    "riyadh": ("Riyadh", "SAU", 24.71, 46.68, 0.1),
    "dubai": ("Dubai", "ARE", 25.17, 55.28, 0.03),
    "telaviv": ("Tel Aviv", "ISR", 32.07, 34.78, 0.015),
    "cairo": ("Cairo", "EGY", 30.04, 31.24, 0.1),
    "johannesburg": ("Johannesburg", "ZAF", -26.20, 28.05, 0.1),
    "lagos": ("Lagos", "NGA", 6.52, 3.37, 0.03),
    "nairobi": ("Nairobi", "KEN", -1.29, 36.82, 0.1),
    "casablanca": ("Casablanca", "MAR", 33.57, -7.59, 0.03),
    # South Asia (besides India)
    "karachi": ("Karachi", "PAK", 24.86, 67.01, 0.03),
    "dhaka": ("Dhaka", "BGD", 23.81, 90.41, 0.08),
    "colombo": ("Colombo", "LKA", 6.93, 79.87, 0.015),
    # East and Southeast Asia, Oceania
    "tokyo": ("Tokyo", "JPN", 35.68, 139.69, 0.04),
    "osaka": ("Osaka", "JPN", 34.69, 135.50, 0.03),
    "seoul": ("Seoul", "KOR", 37.57, 126.98, 0.05),
    "songdo": ("Incheon Songdo", "KOR", 37.43, 126.71, 0.015),
    "taipei": ("Taipei", "TWN", 25.03, 121.57, 0.04),
    "tuas": ("Singapore Tuas", "SGP", 1.33, 103.67, 0.008),
    "singapore": ("Singapore", "SGP", 1.35, 103.82, 0.02),
    "jakarta": ("Jakarta", "IDN", -6.21, 106.85, 0.03),
    "manila": ("Manila", "PHL", 14.60, 120.98, 0.02),
    "hochiminh": ("Ho Chi Minh City", "VNM", 10.82, 106.63, 0.08),
    "bangkok": ("Bangkok", "THA", 13.76, 100.50, 0.08),
    "kualalumpur": ("Kuala Lumpur", "MYS", 3.14, 101.69, 0.08),
    "sydney": ("Sydney", "AUS", -33.87, 151.21, 0.03),
    "melbourne": ("Melbourne", "AUS", -37.81, 144.96, 0.03),
    "auckland": ("Auckland", "NZL", -36.87, 174.76, 0.015),
}

# Hub groups used by the manufacturing tiers.
_G_CN = ("taizhou", "shijiazhuang", "shanghai", "changzhou", "jinan", "hangzhou", "wuhan")
_G_IN = ("ahmedabad", "vadodara", "ankleshwar", "hyderabad", "visakhapatnam", "baddi", "mumbai", "bengaluru")
_G_EU_CHEM = ("ludwigshafen", "leverkusen", "basel", "visp", "milan", "barcelona", "lyon", "ljubljana", "kundl",
              "budapest")
_G_EU_PHARMA = ("cork", "castlebar", "dublin", "basel", "visp", "frankfurt", "milan", "latina", "barcelona", "lyon",
                "puurs", "kalundborg", "ljubljana", "budapest", "kundl", "munich")
_G_US = ("rtp", "rockymount", "marion", "mcpherson", "newbrunswick", "westcolumbia", "indianapolis", "chicago")
_G_PR = ("barceloneta", "jayuya", "aibonito", "guayama", "juncos")
_G_ASIA = ("tuas", "songdo", "tokyo", "osaka", "taipei")
_G_PACK_MAT = ("mainz", "padua", "milan", "lyon", "newbrunswick", "chicago", "shanghai", "changzhou", "ahmedabad",
               "mumbai", "hyderabad", "kundl")
_G_LOGISTICS = ("rotterdam", "antwerp", "hamburg", "frankfurt", "memphis", "louisville", "miami", "singapore",
                "dubai", "shanghai", "hongkong", "mumbai")

# Market cities and a rough relative market size (used for markets and distributors).
_MARKET_CITIES: dict[str, float] = {
    "newyork": 5.0, "losangeles": 4.0, "chicago": 3.0, "houston": 3.0, "atlanta": 2.0, "philadelphia": 2.0,
    "dallas": 2.0, "boston": 2.0, "miami": 1.5, "sanjuan": 0.3, "toronto": 1.5, "montreal": 1.0,
    "mexicocity": 1.0, "guadalajara": 0.5, "saopaulo": 2.0, "rio": 1.0, "buenosaires": 0.8, "bogota": 0.6,
    "santiago": 0.5, "lima": 0.4,
    "london": 3.5, "berlin": 2.0, "munich": 1.5, "hamburg": 1.5, "paris": 3.5, "rome": 1.5, "milan": 1.5,
    "madrid": 1.5, "barcelona": 1.0, "amsterdam": 1.0, "brussels": 0.8, "zurich": 1.0, "warsaw": 1.0,
    "stockholm": 0.7, "vienna": 0.6, "dublin": 0.4, "lisbon": 0.5, "athens": 0.5, "prague": 0.5, "budapest": 0.4,
    "bucharest": 0.5, "copenhagen": 0.5, "helsinki": 0.3, "oslo": 0.4,
    "istanbul": 1.0, "riyadh": 1.0, "dubai": 0.6, "telaviv": 0.5, "cairo": 0.8, "johannesburg": 0.8,
    "lagos": 0.6, "nairobi": 0.3, "casablanca": 0.4,
    "delhi": 2.0, "mumbai": 1.0, "bengaluru": 1.0, "karachi": 0.6, "dhaka": 0.5, "colombo": 0.2,
    "beijing": 4.0, "shanghai": 4.0, "guangzhou": 2.0, "chengdu": 2.0, "hongkong": 0.4, "tokyo": 4.0,
    "osaka": 2.0, "seoul": 2.0, "taipei": 1.2,
    "singapore": 0.4, "jakarta": 1.0, "manila": 0.6, "hochiminh": 0.7, "bangkok": 0.7, "kualalumpur": 0.5,
    "sydney": 1.2, "melbourne": 0.8, "auckland": 0.3,
}

# Raw materials other than KSMs: (name, category, relative number of makers). Categories: 1 excipient,
# 2 primary packaging, 3 secondary packaging (0 is KSM).
_OTHER_RAW: tuple[tuple[str, int], ...] = (
    ("microcrystalline cellulose", 1), ("lactose monohydrate", 1), ("magnesium stearate", 1), ("povidone", 1),
    ("croscarmellose sodium", 1), ("mannitol", 1), ("sodium chloride", 1), ("polysorbate 80", 1),
    ("vial glass", 2), ("stoppers", 2), ("syringe barrels", 2), ("plunger stoppers", 2), ("BFS resin", 2),
    ("bag film", 2), ("bag ports", 2),
    ("cartons", 3), ("labels", 3), ("blister foil", 3),
)
_ORAL_EXCIPIENTS = (0, 1, 2, 3, 4)  # indices into _OTHER_RAW
_ORAL_EXCIPIENT_W = (3.0, 3.0, 2.0, 1.0, 1.0)
_STERILE_EXCIPIENTS = (5, 6, 7)
_STERILE_EXCIPIENT_W = (1.0, 2.0, 1.0)
_TECHS = ("aseptic_vial", "lyophilized", "prefilled_syringe", "bfs", "lvp_bag")
_TECH_P = (0.35, 0.15, 0.15, 0.15, 0.20)
_TECH_PRIMARY = ((8, 9), (8, 9), (10, 11), (12, -1), (13, 14))  # primary packaging per technology
_ORAL_SECONDARY = (17, 15)  # blister foil, cartons
_STERILE_SECONDARY = (15, 16)  # cartons, labels
# Share of raw-material sites by category: KSM, excipient, primary packaging, secondary packaging.
_RAW_CATEGORY_SHARES = (0.57, 0.15, 0.18, 0.10)

# Hub choice per kind: list of (group, weight); raw materials by category.
_KIND_HUBS = {
    "ksm": ((_G_CN, 0.55), (_G_IN, 0.25), (_G_EU_CHEM, 0.12), (_G_US, 0.04), (_G_ASIA, 0.04)),
    "excipient": ((_G_EU_CHEM, 0.35), (_G_US, 0.25), (_G_IN, 0.2), (_G_CN, 0.2)),
    "pack_mat": ((_G_PACK_MAT, 1.0),),
    API: ((_G_IN, 0.30), (_G_CN, 0.22), (_G_EU_PHARMA, 0.22), (_G_US, 0.12), (_G_PR, 0.04), (_G_ASIA, 0.10)),
    CMO: ((_G_EU_PHARMA, 0.30), (_G_IN, 0.25), (_G_US, 0.18), (_G_PR, 0.08), (_G_CN, 0.07), (_G_ASIA, 0.12)),
    FF: ((_G_EU_PHARMA, 0.30), (_G_US, 0.22), (_G_IN, 0.18), (_G_PR, 0.10), (_G_ASIA, 0.12), (_G_CN, 0.08)),
    PKG: ((_G_EU_PHARMA, 0.30), (_G_US, 0.22), (_G_IN, 0.20), (_G_PR, 0.08), (_G_CN, 0.08), (_G_ASIA, 0.12)),
    LOG: ((_G_LOGISTICS, 1.0),),
}

# Product input of each kind: supplier kinds in order of preference (the first one present for the product is used),
# and per kind the chance to skip it for the next present one (e.g. fill-finish straight from a sterile API, a
# distributor buying from the packager rather than through a logistics hub, or large-volume bags sent from the
# fill-finish plant straight to distributors).
_PRODUCT_INPUT = {
    CMO: ((API,), {}),
    FF: ((CMO, API), {CMO: 0.35}),
    PKG: ((FF, CMO, API), {}),
    LOG: ((PKG, FF), {}),
    DIST: ((LOG, PKG, FF), {LOG: 0.5, PKG: 0.05}),
    MKT: ((DIST, LOG, PKG), {DIST: 0.04}),
}
# Chance that a draw of a supplier for the product input stays within the customer's region (when possible).
_P_LOCAL = {CMO: 0.1, FF: 0.25, PKG: 0.5, LOG: 0.3, DIST: 0.5, MKT: 0.85}
# Distribution of the number of supplier draws (1, 2, 3) per input; duplicates collapse, so some get fewer.
_N_DRAW_P_PRODUCT = (0.5, 0.33, 0.17)
_N_DRAW_P_MARKET = (0.4, 0.35, 0.25)
_N_DRAW_P_RAW = (0.45, 0.35, 0.2)

# Lead time by distance class (great-circle km): local, regional truck, continental truck/rail or air,
# intercontinental (sea or air mix), far intercontinental sea freight. Days drawn uniformly in [low, high].
_DISTANCE_CLASS_KM = np.array([100.0, 1000.0, 5000.0, 10000.0])
_LEAD_DAYS_LOW = np.array([1, 2, 3, 14, 21])
_LEAD_DAYS_HIGH = np.array([2, 4, 8, 30, 45])

# Per kind: (inventory_days low, high), (ttr_weeks low, high), surge chance and (low, high).
_DEFAULTS_BY_KIND = {
    RAW: ((30, 90), (8, 26), 0.4, (0.1, 0.5)),
    API: ((30, 60), (26, 78), 0.3, (0.1, 0.3)),
    CMO: ((20, 45), (16, 52), 0.3, (0.1, 0.3)),
    FF: ((15, 40), (16, 52), 0.25, (0.1, 0.25)),
    PKG: ((10, 30), (4, 16), 0.4, (0.1, 0.4)),
    LOG: ((3, 10), (1, 8), 0.2, (0.1, 0.3)),
    DIST: ((14, 30), (2, 8), 0.5, (0.1, 0.5)),
    MKT: ((15, 60), None, 0.0, None),
}

_NAME_HEADS = (
    "Brak", "Bor", "Cal", "Dov", "Elm", "Fen", "Gal", "Hal", "Ist", "Jor", "Kel", "Lum", "Mar", "Nov", "Orv", "Pel",
    "Qar", "Ros", "Sil", "Tav", "Ulm", "Ves", "Wyn", "Xan", "Yar", "Zel", "Cor", "Brev", "Lys", "Tor",
)
_NAME_TAILS = (
    "ara", "ence", "ivo", "ora", "anta", "ex", "ium", "edo", "ina", "ova", "una", "eon", "imo", "yx", "eris", "ola",
    "anth", "ica", "oro", "ys",
)
_OPERATOR_SUFFIX = {  # key 8: makers of primary and secondary packaging materials
    RAW: ("Fine Chemicals", "Chemical", "Synthesis", "Chem Industries"),
    8: ("Glass & Closures", "Polymers", "Packaging Materials", "Pharma Glass"),
    API: ("Pharmaceuticals", "Chem", "Life Sciences", "API"),
    CMO: ("Pharma Services", "CDMO", "Pharma", "Laboratories"),
    FF: ("Sterile", "Biologics", "Parenterals", "Pharma"),
    PKG: ("Packaging", "Pack Services", "Pharma Packaging", "Clinical Supply"),
    LOG: ("Logistics", "Freight", "Cold Chain", "Air Cargo"),
    DIST: ("Healthcare Distribution", "Wholesale", "Medical Supply", "Pharma Distribution"),
}
_SITE_LABEL = {RAW: "plant", API: "API plant", CMO: "formulation site", FF: "fill-finish site",
               PKG: "packaging site", LOG: "hub", DIST: "distribution centre"}


def _kind_counts(n_sites: int) -> np.ndarray:
    """Split ``n_sites`` over the kinds by largest remainder, each kind at least one site."""
    shares = np.array([KIND_SHARES[k] for k in KIND_ORDER])
    raw = shares * n_sites
    counts = np.maximum(np.floor(raw).astype(np.int64), 1)
    rest = n_sites - counts.sum()
    order = np.argsort(-(raw - np.floor(raw)), kind="stable")
    i = 0
    while rest > 0:
        counts[order[i % len(order)]] += 1
        rest -= 1
        i += 1
    while rest < 0:  # only when the floor of 1 pushed the total over n
        j = int(np.argmax(counts))
        counts[j] -= 1
        rest += 1
    return counts


def _split(total: int, shares) -> np.ndarray:
    """Split ``total`` into integer parts proportional to ``shares`` (largest remainder)."""
    raw = np.asarray(shares, dtype=float) / np.sum(shares) * total
    parts = np.floor(raw).astype(np.int64)
    order = np.argsort(-(raw - parts), kind="stable")
    parts[order[: total - parts.sum()]] += 1
    return parts


def _assign(rng: np.random.Generator, count: int, must: np.ndarray, eligible: np.ndarray,
            weights: np.ndarray) -> np.ndarray:
    """Assign ``count`` sites to items: every item of ``must`` first (as far as count allows), the rest by weight."""
    must = rng.permutation(must)[:count]
    extra = count - len(must)
    if extra > 0 and len(eligible):
        p = weights / weights.sum()
        more = eligible[rng.choice(len(eligible), size=extra, p=p)]
    else:
        more = np.empty(0, dtype=np.int64)
    return rng.permutation(np.concatenate([must, more]).astype(np.int64))


def _pick_hubs(rng: np.random.Generator, spec, count: int, hub_index: dict[str, int]) -> np.ndarray:
    """Draw ``count`` hub indices from a list of (hub group, weight)."""
    keys, weights = [], []
    for group, w in spec:
        for key in group:
            keys.append(hub_index[key])
            weights.append(w / len(group))
    weights = np.asarray(weights)
    return np.asarray(keys, dtype=np.int64)[rng.choice(len(keys), size=count, p=weights / weights.sum())]


def _draw_suppliers(rng, req_cust, req_group, n_draw, p_local, cand_site, cand_group, cand_weight, site_region,
                    n_total):
    """Draw suppliers for requirements, weighted by popularity, preferring the customer's region.

    Candidates are sorted by (group, region); a draw samples the cumulative weights over the customer's own
    (group, region) block with chance ``p_local`` (when that block is not empty), else over the whole group block.
    Repeated draws of one supplier collapse. Returns (requirement index, supplier site) arrays.
    """
    key = cand_group.astype(np.int64) * _NREG + site_region[cand_site]
    order = np.argsort(key, kind="stable")
    key_s = key[order]
    site_s = cand_site[order]
    cum = np.concatenate([[0.0], np.cumsum(cand_weight[order])])
    r = np.repeat(np.arange(len(req_cust), dtype=np.int64), n_draw)
    g = req_group[r].astype(np.int64) * _NREG
    a = np.searchsorted(key_s, g, "left")
    b = np.searchsorted(key_s, g + _NREG, "left")
    reg_key = g + site_region[req_cust[r]]
    la = np.searchsorted(key_s, reg_key, "left")
    lb = np.searchsorted(key_s, reg_key, "right")
    local = (lb > la) & (rng.random(len(r)) < p_local[r])
    a = np.where(local, la, a)
    b = np.where(local, lb, b)
    ok = b > a
    r, a, b = r[ok], a[ok], b[ok]
    u = cum[a] + rng.random(len(r)) * (cum[b] - cum[a])
    pos = np.clip(np.searchsorted(cum, u, "right") - 1, a, b - 1)
    pair = np.unique(r * n_total + site_s[pos])
    return pair // n_total, pair % n_total


def _first_present(options, present: np.ndarray, products: np.ndarray, skip_p: dict, rng) -> np.ndarray:
    """For each product, the first supplier kind of ``options`` present for it; skipped with ``skip_p[kind]``."""
    n = len(products)
    first = np.full(n, -1, dtype=np.int64)
    second = np.full(n, -1, dtype=np.int64)
    for k in options:
        has = present[k, products]
        second = np.where((first >= 0) & (second < 0) & has, k, second)
        first = np.where((first < 0) & has, k, first)
    p_skip = np.zeros(n)
    for k, p in skip_p.items():
        p_skip[first == k] = p
    skip = (second >= 0) & (rng.random(n) < p_skip)
    return np.where(skip, second, first)


def _operator_names(count: int, kind: int) -> np.ndarray:
    """Invented operator names for ``count`` operators of one pool (a kind, or 8 for packaging-material makers)."""
    heads, tails, sufs = len(_NAME_HEADS), len(_NAME_TAILS), _OPERATOR_SUFFIX[kind]
    names = []
    for i in range(count):
        j = (i * 7919 + kind * 104729) % (heads * tails)  # spread the stems, different start per kind
        word = _NAME_HEADS[j % heads] + _NAME_TAILS[j // heads]
        extra = "" if i < heads * tails else f" {i // (heads * tails) + 1}"
        names.append(f"{word}{extra} {sufs[i % len(sufs)]}")
    return np.array(names, dtype=object)


@dataclass
class _Net:
    """Arrays of a network under construction (site index = row in the final sites table)."""

    n_sites: int
    counts: np.ndarray  # sites per kind, in KIND_ORDER
    start: np.ndarray  # first site index of each kind (sites are laid out by tier)
    kind: np.ndarray
    n_prod: int = 0
    sterile: np.ndarray | None = None  # per product
    tech: np.ndarray | None = None  # per product: index into _TECHS, -1 for oral
    pop: np.ndarray | None = None  # per product popularity (lognormal)
    present: np.ndarray | None = None  # (kind, product) -> has sites
    product: np.ndarray | None = None  # per site, -1 for raw-material sites
    n_ksm: int = 0
    n_rawmat: int = 0  # KSMs plus the other raw materials
    raw_mat: np.ndarray | None = None  # material of each raw-material site
    hub: np.ndarray | None = None
    lat: np.ndarray | None = None
    lon: np.ndarray | None = None
    region: np.ndarray | None = None

    def sites_of(self, k: int) -> np.ndarray:
        return np.arange(self.start[k], self.start[k + 1])

    def product_group(self, k, p):
        """Candidate group of the sites of kind ``k`` making product ``p`` (raw materials use their material id)."""
        return self.n_rawmat + k * self.n_prod + p


def _make_products(rng: np.random.Generator, net: _Net) -> dict[int, np.ndarray]:
    """Products (about n/20, half sterile) and the product of every site of the API+ tiers."""
    _, n_api, n_cmo, n_ff, n_pkg, n_log, n_dist, n_mkt = (int(c) for c in net.counts)
    n_prod = max(1, min(round(net.n_sites / 20), n_api, n_pkg, n_dist, n_mkt, n_cmo + n_ff))
    n_sterile = int(np.clip(round(0.5 * n_prod), max(1, n_prod - n_cmo), min(n_ff, n_prod)))
    sterile = np.zeros(n_prod, dtype=bool)
    sterile[rng.permutation(n_prod)[:n_sterile]] = True
    net.n_prod, net.sterile = n_prod, sterile
    net.tech = np.where(sterile, rng.choice(len(_TECHS), size=n_prod, p=_TECH_P), -1)
    pop = net.pop = rng.lognormal(0.0, 1.0, size=n_prod)
    all_p = np.arange(n_prod, dtype=np.int64)
    oral_p, sterile_p = all_p[~sterile], all_p[sterile]
    # every product gets the kinds it needs (API, CMO if oral, fill-finish if sterile, packaging, distribution,
    # market); further sites go to popular products
    site_product = {
        API: _assign(rng, n_api, all_p, all_p, pop),
        CMO: _assign(rng, n_cmo, oral_p, all_p, pop * np.where(sterile, 0.5, 1.0)),
        FF: _assign(rng, n_ff, sterile_p, sterile_p, pop[sterile_p]),
        PKG: _assign(rng, n_pkg, all_p, all_p, pop),
        LOG: _assign(rng, n_log, np.empty(0, np.int64), all_p, pop),
        DIST: _assign(rng, n_dist, all_p, all_p, pop),
        MKT: _assign(rng, n_mkt, all_p, all_p, pop),
    }
    net.present = np.zeros((8, n_prod), dtype=bool)
    net.product = np.full(net.n_sites, -1, dtype=np.int64)
    for k, prods in site_product.items():
        net.present[k, prods] = True
        net.product[net.start[k]:net.start[k + 1]] = prods
    return site_product


def _make_ksm_sets(rng: np.random.Generator, n_prod: int, n_ksm_sites: int) -> tuple[int, np.ndarray, np.ndarray]:
    """KSMs used by each product (1-3): every KSM used at least once, then Zipf popularity (a few in many APIs).

    Returns the number of KSMs and (product, KSM) pairs sorted by product.
    """
    nk_per_p = rng.choice([1, 2, 3], size=n_prod, p=[0.3, 0.45, 0.25])
    n_slots = int(nk_per_p.sum())
    n_ksm = max(1, min(round(n_ksm_sites / 1.8), n_slots, max(n_ksm_sites, 1)))
    zipf = 1.0 / np.arange(1, n_ksm + 1) ** 1.0
    zipf = zipf[rng.permutation(n_ksm)]
    slot_ksm = np.concatenate([rng.permutation(n_ksm), rng.choice(n_ksm, size=n_slots - n_ksm, p=zipf / zipf.sum())])
    slot_ksm = rng.permutation(slot_ksm)
    slot_prod = np.repeat(np.arange(n_prod, dtype=np.int64), nk_per_p)
    pk = np.unique(slot_prod * n_ksm + slot_ksm)
    return n_ksm, pk // n_ksm, pk % n_ksm


def _raw_requirements(rng: np.random.Generator, net: _Net, site_tech: np.ndarray, prod_ksm_p: np.ndarray,
                      prod_ksm_k: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(customer site, raw material id) pairs: KSMs of APIs, excipients, primary and secondary packaging."""
    n_ksm, n_rawmat, product, sterile = net.n_ksm, net.n_rawmat, net.product, net.sterile
    req_c, req_m = [], []
    api_sites = net.sites_of(API)
    all_p = np.arange(net.n_prod)
    ksm_start = np.searchsorted(prod_ksm_p, all_p, "left")
    ksm_count = np.searchsorted(prod_ksm_p, all_p, "right") - ksm_start
    ap = product[api_sites]
    reps = ksm_count[ap]
    c = np.repeat(api_sites, reps)
    offs = np.arange(len(c)) - np.repeat(np.cumsum(reps) - reps, reps)
    req_c.append(c)
    req_m.append(prod_ksm_k[np.repeat(ksm_start[ap], reps) + offs])

    def pick_from(sites_, choices, weights, n_pick):
        """1..n_pick distinct materials per site drawn from ``choices`` (indices into _OTHER_RAW)."""
        if len(sites_) == 0:
            return
        w = np.asarray(weights, float)
        draws = np.asarray(choices)[rng.choice(len(choices), size=(len(sites_), 3), p=w / w.sum())]
        keep = (np.arange(3)[None, :] < n_pick[:, None]).ravel()
        pair = np.unique(np.repeat(sites_, 3)[keep] * n_rawmat + (n_ksm + draws.ravel()[keep]))
        req_c.append(pair // n_rawmat)
        req_m.append(pair % n_rawmat)

    cmo_sites = net.sites_of(CMO)
    cmo_sterile = sterile[product[cmo_sites]]
    n_pick = rng.choice([1, 2, 3], size=int((~cmo_sterile).sum()), p=[0.3, 0.4, 0.3])
    pick_from(cmo_sites[~cmo_sterile], _ORAL_EXCIPIENTS, _ORAL_EXCIPIENT_W, n_pick)
    n_pick = rng.choice([1, 2], size=int(cmo_sterile.sum()), p=[0.6, 0.4])
    pick_from(cmo_sites[cmo_sterile], _STERILE_EXCIPIENTS, _STERILE_EXCIPIENT_W, n_pick)
    ff_sites = net.sites_of(FF)
    prim = np.array(_TECH_PRIMARY)[site_tech[ff_sites]]
    for j in range(2):
        ok = prim[:, j] >= 0
        req_c.append(ff_sites[ok])
        req_m.append(n_ksm + prim[ok, j])
    with_exc = rng.random(len(ff_sites)) < 0.3
    pick_from(ff_sites[with_exc], _STERILE_EXCIPIENTS, _STERILE_EXCIPIENT_W, np.ones(int(with_exc.sum()), np.int64))
    pkg_sites = net.sites_of(PKG)
    sec = np.where(sterile[product[pkg_sites]][:, None], np.array(_STERILE_SECONDARY)[None, :],
                   np.array(_ORAL_SECONDARY)[None, :])
    for j in range(2):
        req_c.append(pkg_sites)
        req_m.append(n_ksm + sec[:, j])
    return np.concatenate(req_c).astype(np.int64), np.concatenate(req_m).astype(np.int64)


def _raw_makers(rng: np.random.Generator, need: np.ndarray, raw_cat: np.ndarray, cat_sizes) -> np.ndarray:
    """Material of each raw-material site: only needed materials, each covered, more makers where more need."""
    parts = []
    for cat, n_cat in enumerate(cat_sizes):
        ids = np.flatnonzero((raw_cat == cat) & (need > 0))
        if len(ids) == 0:
            ids = np.flatnonzero(need > 0)  # (tiny networks) a category nobody needs makes something needed
        must = ids[np.argsort(-need[ids], kind="stable")][:n_cat]
        extra = n_cat - len(must)
        w = need[ids] ** 0.8
        more = ids[rng.choice(len(ids), size=extra, p=w / w.sum())] if extra > 0 else np.empty(0, np.int64)
        parts.append(np.concatenate([must, more]))
    return rng.permutation(np.concatenate(parts).astype(np.int64))


def _place_sites(rng: np.random.Generator, net: _Net, raw_cat: np.ndarray) -> None:
    """Hub city of every site, then jittered lat/lon and the region used for local sourcing."""
    hub_keys = list(_HUBS)
    hub_index = {k: i for i, k in enumerate(hub_keys)}
    hub_lat = np.array([_HUBS[k][2] for k in hub_keys])
    hub_lon = np.array([_HUBS[k][3] for k in hub_keys])
    hub_jit = np.array([_HUBS[k][4] for k in hub_keys])
    hub_region = np.array([REGIONS.index(region_of(_HUBS[k][1])) for k in hub_keys], dtype=np.int64)
    n_sites, start, product = net.n_sites, net.start, net.product
    hub = np.empty(n_sites, dtype=np.int64)
    raw_sites = net.sites_of(RAW)
    cat_of_raw = raw_cat[net.raw_mat]
    for cat, spec in enumerate((_KIND_HUBS["ksm"], _KIND_HUBS["excipient"], _KIND_HUBS["pack_mat"],
                                _KIND_HUBS["pack_mat"])):
        sel = raw_sites[cat_of_raw == cat]
        hub[sel] = _pick_hubs(rng, spec, len(sel), hub_index)
    for k in (API, CMO, FF, PKG, LOG):
        hub[start[k]:start[k + 1]] = _pick_hubs(rng, _KIND_HUBS[k], int(net.counts[k]), hub_index)
    market_hubs = np.asarray([hub_index[h] for h in _MARKET_CITIES], dtype=np.int64)
    market_w = np.array(list(_MARKET_CITIES.values()))
    hub[start[MKT]:] = market_hubs[rng.choice(len(market_w), size=int(net.counts[MKT]), p=market_w / market_w.sum())]
    # distributors of a product sit in the cities of that product's markets, spread round-robin over the regions
    # where the product has markets, so most markets find a distributor in their own region
    mk_sites = net.sites_of(MKT)
    pr_key = product[mk_sites] * _NREG + hub_region[hub[mk_sites]]
    mk_order = np.argsort(pr_key, kind="stable")
    pr_sorted = pr_key[mk_order]
    pairs = np.unique(pr_key)
    dist_sites = net.sites_of(DIST)
    dp = product[dist_sites]
    by_p = np.argsort(dp, kind="stable")
    rank = np.empty(len(dp), dtype=np.int64)
    rank[by_p] = np.arange(len(dp)) - np.searchsorted(dp[by_p], dp[by_p], "left")
    pa = np.searchsorted(pairs // _NREG, dp, "left")
    pn = np.searchsorted(pairs // _NREG, dp, "right") - pa
    offset = rng.integers(0, _NREG, size=net.n_prod)[dp]
    chosen = pairs[pa + (rank + offset) % pn]
    ca = np.searchsorted(pr_sorted, chosen, "left")
    cb = np.searchsorted(pr_sorted, chosen, "right")
    hub[dist_sites] = hub[mk_sites[mk_order[ca + np.floor(rng.random(len(dp)) * (cb - ca)).astype(np.int64)]]]
    # uniform in a disc of the hub's jitter radius (degrees of latitude; longitude scaled by 1/cos(lat))
    radius = hub_jit[hub] * np.sqrt(rng.random(n_sites))
    angle = rng.random(n_sites) * 2 * np.pi
    net.hub = hub
    net.lat = np.round(hub_lat[hub] + radius * np.sin(angle), 5)
    net.lon = np.round(hub_lon[hub] + radius * np.cos(angle) / np.cos(np.radians(hub_lat[hub])), 5)
    net.region = hub_region[hub]


def _repair_idle(rng: np.random.Generator, net: _Net, l_sup, rq_c, rq_g, cand_group):
    """Links that give every non-market site without a customer one (PRODUCT.md section 2 rule).

    An idle site becomes an extra supplier of a random requirement of its own candidate group (a customer already
    buying that material from that tier). When no customer takes its product from its tier (every one skipped it),
    it supplies a random site of the lowest higher tier that takes its kind as product input.
    """
    start, kind, product = net.start, net.kind, net.product
    used = np.zeros(net.n_sites, dtype=bool)
    used[l_sup] = True
    idle = np.flatnonzero(~used[: start[MKT]])
    order = np.argsort(rq_g, kind="stable")
    g_sorted = rq_g[order]
    a = np.searchsorted(g_sorted, cand_group[idle], "left")
    b = np.searchsorted(g_sorted, cand_group[idle], "right")
    has = b > a
    pick = a + np.floor(rng.random(len(idle)) * (b - a)).astype(np.int64)
    r_fix = order[np.minimum(pick[has], len(order) - 1)]
    fix_sup, fix_cust, fix_grp = [idle[has]], [rq_c[r_fix]], [rq_g[r_fix]]
    orphan = idle[~has]
    if len(orphan):
        # sites of the product tiers sorted by (kind, product), to draw a random site of one (kind, product)
        pk_key = kind[start[API]:] * net.n_prod + product[start[API]:]
        by_key = np.argsort(pk_key, kind="stable")
        key_sorted = pk_key[by_key]
        o_kind, o_prod = kind[orphan], product[orphan]
        target = np.full(len(orphan), -1, dtype=np.int64)
        for k in range(MKT, CMO - 1, -1):  # lowest tier above the orphan that takes its kind as product input
            can = (k > o_kind) & np.isin(o_kind, _PRODUCT_INPUT[k][0]) & net.present[k, o_prod]
            target = np.where(can, k, target)
        if (target < 0).any():  # cannot happen by construction; kept as a guard for future edits
            raise RuntimeError("generator could not find a customer for some sites")
        tk = target * net.n_prod + o_prod
        ta = np.searchsorted(key_sorted, tk, "left")
        tb = np.searchsorted(key_sorted, tk, "right")
        fix_sup.append(orphan)
        fix_cust.append(start[API] + by_key[ta + np.floor(rng.random(len(tk)) * (tb - ta)).astype(np.int64)])
        fix_grp.append(cand_group[orphan])
    return np.concatenate(fix_sup), np.concatenate(fix_cust), np.concatenate(fix_grp)


def _shares(rng: np.random.Generator, new_group: np.ndarray) -> np.ndarray:
    """Shares of links sorted by (customer, material); ``new_group`` marks the first link of each group.

    About 25 % of groups are left empty (equal split), 73 % get whole percentages (each >= 1 %) summing to exactly
    1, and 2 % are scaled by 0.8-1.2 so that they do not sum to 1 (the importer normalises them and warns).
    """
    gid = np.cumsum(new_group) - 1
    gsize = np.bincount(gid)
    mode = rng.choice(3, size=len(gsize), p=[0.25, 0.73, 0.02])  # 0 empty, 1 exact, 2 off
    mode = np.where(gsize > 90, 0, mode)
    w = rng.gamma(2.0, size=len(gid))
    frac = w / np.bincount(gid, w)[gid]
    pct = 1 + np.floor(frac * (100 - gsize[gid])).astype(np.int64)
    pct[new_group] += 100 - np.bincount(gid, pct).astype(np.int64)  # the first supplier takes the remainder
    share = pct / 100.0
    factor = rng.uniform(0.8, 1.2, size=len(gsize))[gid]
    share = np.where(mode[gid] == 2, np.clip(np.round(share * factor, 2), 0.01, 1.0), share)
    return np.where(mode[gid] == 0, np.nan, share)


def _lead_times(rng: np.random.Generator, lat, lon, sup, cust) -> np.ndarray:
    """Lead time in whole days by the great-circle distance class of each link."""
    la1, lo1, la2, lo2 = (np.radians(x) for x in (lat[sup], lon[sup], lat[cust], lon[cust]))
    h = np.sin((la2 - la1) / 2) ** 2 + np.cos(la1) * np.cos(la2) * np.sin((lo2 - lo1) / 2) ** 2
    dist_km = 2 * 6371.0 * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0)))
    cls = np.searchsorted(_DISTANCE_CLASS_KM, dist_km)
    lo_days, hi_days = _LEAD_DAYS_LOW[cls], _LEAD_DAYS_HIGH[cls]
    return (lo_days + np.floor(rng.random(len(cls)) * (hi_days - lo_days + 1))).astype(float)


def _site_table(rng: np.random.Generator, net: _Net, site_ids, site_tech, mat_names, pk_base: int,
                raw_cat: np.ndarray) -> pd.DataFrame:
    """The sites table: names, operators, technology, demand and the optional stock/recovery columns."""
    n_sites, start, counts, hub, product = net.n_sites, net.start, net.counts, net.hub, net.product
    hub_keys = list(_HUBS)
    city = np.array([_HUBS[k][0] for k in hub_keys], dtype=object)[hub]
    operator = np.full(n_sites, "", dtype=object)
    names = np.empty(n_sites, dtype=object)
    raw_sites = net.sites_of(RAW)
    pack_mat = raw_cat[net.raw_mat] >= 2
    pools = [(RAW, raw_sites[~pack_mat]), (8, raw_sites[pack_mat])] + [(k, net.sites_of(k)) for k in range(API, MKT)]
    for pool, sel in pools:
        n_ops = max(3, round(3 * np.sqrt(len(sel))))
        ops = _operator_names(n_ops, pool)
        zw = 1.0 / np.arange(1, n_ops + 1) ** 0.8  # a few big operators own many sites
        operator[sel] = ops[rng.choice(n_ops, size=len(sel), p=zw / zw.sum())]
        label = _SITE_LABEL[RAW if pool == 8 else pool]
        names[sel] = [f"{o} {c} {label}" for o, c in zip(operator[sel], city[sel], strict=True)]
    mk = net.sites_of(MKT)
    prod_names = mat_names[pk_base + product[mk]]
    names[mk] = [f"{p} demand {c}" for p, c in zip(prod_names, city[mk], strict=True)]
    occurrence = pd.Series(names).groupby(names).cumcount().to_numpy()  # "X Basel API plant 2" for repeats
    names = np.where(occurrence > 0, names + " " + (occurrence + 1).astype(str).astype(object), names)
    technology = np.full(n_sites, "", dtype=object)
    ff_sl = slice(start[FF], start[FF + 1])
    technology[ff_sl] = np.array(_TECHS, dtype=object)[site_tech[ff_sl]]
    cmo_sl = slice(start[CMO], start[CMO + 1])
    technology[cmo_sl] = np.where(net.sterile[product[cmo_sl]], "sterile_bulk", "oral_solid")

    mkt_w = np.asarray([_MARKET_CITIES.get(k, 0.5) for k in hub_keys])[hub[mk]]
    weekly_demand = np.full(n_sites, np.nan)
    weekly_demand[mk] = np.maximum(1.0, np.round(200.0 * net.pop[product[mk]] * mkt_w
                                                 * rng.lognormal(0, 1.0, len(mk))))
    inventory = np.full(n_sites, np.nan)
    ttr = np.full(n_sites, np.nan)
    surge = np.full(n_sites, np.nan)
    for k in range(8):
        (il, ih), ttr_rng, surge_p, surge_rng = _DEFAULTS_BY_KIND[k]
        sl = slice(start[k], start[k + 1])
        m = int(counts[k])
        inventory[sl] = rng.integers(il, ih + 1, size=m)
        if ttr_rng is not None:
            ttr[sl] = rng.integers(ttr_rng[0], ttr_rng[1] + 1, size=m)
            surge[sl] = np.where(rng.random(m) < surge_p, np.round(rng.uniform(*surge_rng, size=m), 2), 0.0)
    blank = rng.random((3, n_sites)) < 0.1  # leave about 10 % to the importer's defaults
    inventory[blank[0]] = np.nan
    ttr[blank[1]] = np.nan
    surge[blank[2]] = np.nan
    return pd.DataFrame({
        "site_id": site_ids,
        "name": names,
        "kind": np.array(KIND_ORDER, dtype=object)[net.kind],
        "country": np.array([_HUBS[k][1] for k in hub_keys], dtype=object)[hub],
        "city": city,
        "lat": net.lat,
        "lon": net.lon,
        "operator": operator,
        "technology": technology,
        "weekly_demand": weekly_demand,
        "inventory_days": inventory,
        "ttr_weeks": ttr,
        "surge": surge,
        "annual_disruption_prob": np.full(n_sites, np.nan),
    })


def generate_network(n_sites: int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Generate a realistic synthetic pharmaceutical supply network.

    Parameters
    ----------
    n_sites : int
        Number of sites; the result has exactly this many (at least :data:`MIN_SITES`).
    seed : int
        Seed of ``numpy.random.default_rng``; equal ``(n_sites, seed)`` give identical tables.

    Returns
    -------
    sites, links : pandas.DataFrame
        Raw tables in the input format of PRODUCT.md section 2 (columns :data:`SITE_COLUMNS` and
        :data:`LINK_COLUMNS`). Empty text is ``""``, empty numbers are ``NaN``. Country is ISO alpha-3; every site has
        lat/lon and the name of its hub city. Sites are ordered by tier, links by (customer, material, supplier)
        with the backup links last.

    Raises
    ------
    ValueError
        If ``n_sites`` is below :data:`MIN_SITES` or ``seed`` is negative.

    Examples
    --------
    >>> sites, links = generate_network(200, seed=1)
    >>> len(sites), sorted(sites["kind"].unique())[:2]
    (200, ['api', 'cmo'])
    >>> bool((links["status"] == "active").mean() > 0.9)
    True
    """
    n_sites = int(n_sites)
    if n_sites < MIN_SITES:
        raise ValueError(f"n_sites must be at least {MIN_SITES}, got {n_sites}")
    if int(seed) < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed}")
    rng = np.random.default_rng(int(seed))
    counts = _kind_counts(n_sites)
    net = _Net(n_sites=n_sites, counts=counts, start=np.concatenate([[0], np.cumsum(counts)]),
               kind=np.repeat(np.arange(8, dtype=np.int64), counts))
    start, kind = net.start, net.kind

    # --- products and raw materials -----------------------------------------------------------------------------
    site_product = _make_products(rng, net)
    n_prod = net.n_prod
    site_tech = np.full(n_sites, -1, dtype=np.int64)
    site_tech[start[FF]:start[FF + 1]] = net.tech[site_product[FF]]
    cat_sizes = [int(x) for x in _split(int(counts[RAW]), _RAW_CATEGORY_SHARES)]
    net.n_ksm, prod_ksm_p, prod_ksm_k = _make_ksm_sets(rng, n_prod, cat_sizes[0])
    n_ksm = net.n_ksm
    n_rawmat = net.n_rawmat = n_ksm + len(_OTHER_RAW)
    # material ids: KSMs, other raw materials, then API/DP/FP/PK per product
    mat_base = np.array([-1, n_rawmat, n_rawmat + n_prod, n_rawmat + 2 * n_prod, n_rawmat + 3 * n_prod,
                         n_rawmat + 3 * n_prod, n_rawmat + 3 * n_prod, -1])  # logistics, distribution pass PK on
    width = max(4, len(str(max(n_ksm, n_prod))))
    mat_names = np.array(
        [f"KSM-{i + 1:0{width}d}" for i in range(n_ksm)] + [m for m, _ in _OTHER_RAW]
        + [f"{pre}-{i + 1:0{width}d}" for pre in ("API", "DP", "FP", "PK") for i in range(n_prod)],
        dtype=object,
    )
    n_mat = len(mat_names)
    raw_cat = np.concatenate([np.zeros(n_ksm, np.int64), np.array([c for _, c in _OTHER_RAW], np.int64)])
    raw_req_c, raw_req_m = _raw_requirements(rng, net, site_tech, prod_ksm_p, prod_ksm_k)
    need = np.bincount(raw_req_m, minlength=n_rawmat).astype(float)
    net.raw_mat = _raw_makers(rng, need, raw_cat, cat_sizes)
    _place_sites(rng, net, raw_cat)

    # --- candidate suppliers: raw sites grouped by material, product sites by (kind, product) ----------------------
    cand_site = np.arange(start[MKT], dtype=np.int64)  # every non-market site
    cand_group = np.empty(len(cand_site), dtype=np.int64)
    cand_group[net.sites_of(RAW)] = net.raw_mat
    nonraw = np.arange(start[API], start[MKT])
    cand_group[nonraw] = net.product_group(kind[nonraw], net.product[nonraw])
    pareto = (1.0 - rng.random(len(cand_site))) ** (-1.0 / 1.2)  # heavy tail for raw materials
    logn = rng.lognormal(0.0, 0.7, size=len(cand_site))
    cand_weight = np.where(kind[cand_site] == RAW, pareto, logn)

    # --- requirements (customer, candidate group): raw ones, then the product input of every CMO+ site ---------------
    rq_c, rq_g = [raw_req_c], [raw_req_m]
    rq_n, rq_pl = [rng.choice([1, 2, 3], size=len(raw_req_c), p=_N_DRAW_P_RAW)], [np.zeros(len(raw_req_c))]
    for k in (CMO, FF, PKG, LOG, DIST, MKT):
        sites_k = net.sites_of(k)
        options, skip_p = _PRODUCT_INPUT[k]
        sup_kind = _first_present(options, net.present, net.product[sites_k], skip_p, rng)
        ok = sup_kind >= 0
        sites_k, sup_kind = sites_k[ok], sup_kind[ok]
        rq_c.append(sites_k)
        rq_g.append(net.product_group(sup_kind, net.product[sites_k]))
        rq_n.append(rng.choice([1, 2, 3], size=len(sites_k), p=_N_DRAW_P_MARKET if k == MKT else _N_DRAW_P_PRODUCT))
        rq_pl.append(np.full(len(sites_k), _P_LOCAL[k]))
    rq_c, rq_g, rq_n, rq_pl = (np.concatenate(x) for x in (rq_c, rq_g, rq_n, rq_pl))

    # --- active links, repaired so that every non-market site has a customer ----------------------------------------
    r_idx, l_sup = _draw_suppliers(rng, rq_c, rq_g, rq_n, rq_pl, cand_site, cand_group, cand_weight, net.region,
                                   n_sites)
    fix_sup, fix_cust, fix_grp = _repair_idle(rng, net, l_sup, rq_c, rq_g, cand_group)
    l_sup = np.concatenate([l_sup, fix_sup])
    l_cust = np.concatenate([rq_c[r_idx], fix_cust])
    l_grp = np.concatenate([rq_g[r_idx], fix_grp])

    def group_material(g):
        """Material of a candidate group: the raw material id, or the output material of (kind, product)."""
        prod_g = g >= n_rawmat
        kp = g - n_rawmat
        return np.where(prod_g, mat_base[np.where(prod_g, kp // n_prod, 0)] + kp % n_prod, g)

    # one row per (supplier, customer, material), sorted by (customer, material, supplier)
    key = np.unique((l_cust * n_mat + group_material(l_grp)) * n_sites + l_sup)
    l_sup, cm = key % n_sites, key // n_sites
    l_cust, l_mat = cm // n_mat, cm % n_mat
    n_links = len(key)
    share = _shares(rng, np.concatenate([[True], cm[1:] != cm[:-1]]))

    # --- backup links (~3 % of links): an alternate from the same candidate group -----------------------------------
    n_bk = round(0.03 * n_links)
    br = rng.choice(len(rq_c), size=min(3 * n_bk, len(rq_c)), replace=False)
    b_idx, b_sup = _draw_suppliers(rng, rq_c[br], rq_g[br], np.ones(len(br), np.int64), np.full(len(br), 0.5),
                                   cand_site, cand_group, cand_weight, net.region, n_sites)
    b_cust = rq_c[br][b_idx]
    b_mat = group_material(rq_g[br][b_idx])
    fresh = np.flatnonzero(~np.isin((b_cust * n_mat + b_mat) * n_sites + b_sup, key))
    fresh = np.sort(fresh[rng.permutation(len(fresh))[:n_bk]])
    b_sup, b_cust, b_mat = b_sup[fresh], b_cust[fresh], b_mat[fresh]
    b_share = np.where(rng.random(len(b_sup)) < 0.4, np.nan,
                       rng.choice(np.arange(0.3, 1.01, 0.1).round(2), size=len(b_sup)))
    b_qual = rng.choice([13.0, 26.0, 39.0, 52.0], size=len(b_sup), p=[0.15, 0.5, 0.15, 0.2])

    all_sup = np.concatenate([l_sup, b_sup])
    all_cust = np.concatenate([l_cust, b_cust])
    lead = _lead_times(rng, net.lat, net.lon, all_sup, all_cust)

    site_ids = np.empty(n_sites, dtype=object)
    for k in range(8):
        site_ids[start[k]:start[k + 1]] = [f"{_ID_PREFIX[k]}-{i + 1:06d}" for i in range(int(counts[k]))]
    sites = _site_table(rng, net, site_ids, site_tech, mat_names, int(mat_base[PKG]), raw_cat)
    links = pd.DataFrame({
        "supplier_id": site_ids[all_sup],
        "customer_id": site_ids[all_cust],
        "material": mat_names[np.concatenate([l_mat, b_mat])],
        "share": np.concatenate([share, b_share]),
        "lead_time_days": lead,
        "status": np.where(np.arange(len(all_sup)) < n_links, "active", "backup").astype(object),
        "qualification_weeks": np.concatenate([np.full(n_links, np.nan), b_qual]),
    })
    return sites, links


def write_dataset(sites: pd.DataFrame, links: pd.DataFrame, out_dir: str | os.PathLike) -> Path:
    """Write ``sites.csv`` and ``links.csv`` (UTF-8, comma, header row) into ``out_dir``.

    The folder is created if missing; existing files of these names are replaced. Empty values are written as empty
    fields. The bytes written depend only on the tables, so equal tables give identical files.

    Parameters
    ----------
    sites, links : pandas.DataFrame
        Tables as returned by :func:`generate_network`.
    out_dir : str or os.PathLike
        Target folder.

    Returns
    -------
    pathlib.Path
        The folder written.

    Examples
    --------
    >>> import tempfile
    >>> sites, links = generate_network(100, seed=0)
    >>> out = write_dataset(sites, links, tempfile.mkdtemp())
    >>> sorted(p.name for p in out.iterdir())
    ['links.csv', 'sites.csv']
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for table, name in ((sites, "sites.csv"), (links, "links.csv")):
        tmp = out / f".{name}.tmp"
        table.to_csv(tmp, index=False, encoding="utf-8", lineterminator="\n")
        os.replace(tmp, out / name)
    return out
